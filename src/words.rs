//! Errors from outside in plain words: an I/O error without Rust's `(os error N)`, and an
//! error with its causes on one line. A leaf, so that every layer can use it (the `api`,
//! `input` and `output` modules below `error`, and `error` itself).

use std::io;

/// An I/O error in plain words: what the OS said, without Rust's `(os error N)`.
pub fn io_words(error: &io::Error) -> String {
    use io::ErrorKind::*;
    let words = match error.kind() {
        NotFound => "no such file or folder",
        PermissionDenied => "permission denied",
        AlreadyExists => "it already exists",
        IsADirectory => "it is a folder, not a file",
        NotADirectory => "a part of the path is not a folder",
        StorageFull => "the disk is full",
        ReadOnlyFilesystem => "the file system is read-only",
        QuotaExceeded => "the disk quota is exceeded",
        FileTooLarge => "the file is too large for this file system",
        _ => {
            let text = error.to_string();
            return match text.find(" (os error ") {
                Some(at) => text[..at].to_string(),
                None => text,
            };
        }
    };
    words.to_string()
}

/// The error and its causes on one line, as `main` prints it.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
