//! Opens the page in the person's browser without putting its key on a command line (where
//! every local user reads it in the process list): as Jupyter does, the opener is given a file
//! that redirects to the address with the key, written 0600 in the runs' own 0700 folder, and
//! removed once the key is used or the server ends.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes the redirect file for `url` in `dir` and hands it to the platform's opener; the
/// file, which the caller removes when done with it. `None` (and a warning) when it cannot.
pub(super) fn open(url: &str, dir: &Path, port: u16) -> Option<PathBuf> {
    let file = dir.join(format!("open-{port}.html"));
    if let Err(e) = write(&file, url) {
        tracing::warn!("could not open a browser ({e}): open the link on the first line yourself");
        return None;
    }
    let mut command = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        let mut command = std::process::Command::new("cmd");
        command.args(["/C", "start", ""]);
        command
    } else {
        std::process::Command::new("xdg-open")
    };
    let opened = command
        .arg(&file)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match opened {
        Ok(mut child) => {
            // Reaped when it ends, so no zombie stays behind.
            std::thread::spawn(move || child.wait());
        }
        Err(_) => tracing::warn!("could not open a browser: open the link on the first line yourself"),
    }
    Some(file)
}

/// The redirect page: a refresh to `url` and a link to it, readable by its owner only. `url`
/// is the server's own (digits and hex), so it needs no escaping.
fn write(file: &Path, url: &str) -> std::io::Result<()> {
    // A file left by an earlier server on this port goes first: a new one is never written
    // through whatever stands at its name.
    match std::fs::remove_file(file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(file)?;
    write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"0; url={url}\"><title>tallyfy-guests</title></head>\n\
         <body><p>Opening <a href=\"{url}\">the page</a>…</p></body></html>\n"
    )?;
    out.flush()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_redirect_file_is_its_owners_only_and_leads_to_the_url() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("open-1.html");
        std::fs::write(&file, "an old one").unwrap();
        super::write(&file, "http://127.0.0.1:1/?key=abc").unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains("content=\"0; url=http://127.0.0.1:1/?key=abc\""),
            "{text}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
}
