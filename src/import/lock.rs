//! One run at a time per results file. Two runs writing one results file would interleave their
//! rows and each would create what the other is creating, so the second refuses at once. The
//! lock is an OS advisory lock on a small file beside the results (`.NAME.lock`), which the OS
//! releases however the process ends: a killed run leaves no stale lock, only a file that the
//! next run takes over.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use chrono::Local;

use crate::error::RunError;

/// Held for the whole run; dropping it removes the lock file and releases the lock.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
    /// Holds the lock while open.
    _file: File,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Removed while still locked: a run waiting on this file finds it gone and starts over
        // with a new one, so two runs never hold two different files for one results path.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The lock file beside `results`.
pub fn lock_path(results: &Path) -> PathBuf {
    let name = results
        .file_name()
        .map_or("results".into(), |name| name.to_string_lossy().into_owned());
    results.with_file_name(format!(".{name}.lock"))
}

/// Takes the lock for `results`, or says which run holds it (`RunError::Busy`, exit 3).
pub fn acquire(results: &Path) -> Result<RunLock, RunError> {
    let path = lock_path(results);
    let cannot = |e: std::io::Error| RunError::io(format!("cannot lock the results file {}", results.display()), e);
    // A few rounds at most: each one lost means another run removed the file we opened.
    for _ in 0..8 {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(cannot)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(RunError::Busy {
                    results: results.display().to_string(),
                    holder: holder.trim().to_string(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(cannot(e)),
        }
        if !same_file(&file, &path) {
            continue;
        }
        let holder = format!(
            "pid {}, started {}",
            std::process::id(),
            Local::now().format("%Y-%m-%d %H:%M:%S %:z")
        );
        file.set_len(0).map_err(cannot)?;
        file.rewind().map_err(cannot)?;
        file.write_all(holder.as_bytes()).map_err(cannot)?;
        return Ok(RunLock { path, _file: file });
    }
    Err(cannot(std::io::Error::other("the lock file kept changing under us")))
}

/// Whether the run that wrote `results` is still running, or ended without finishing (a
/// lock file left behind by a killed run): said in words, or `None` when it finished.
pub fn unfinished_writer(results: &Path) -> Option<String> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(lock_path(results))
        .ok()?;
    match file.try_lock() {
        Err(std::fs::TryLockError::WouldBlock) => Some("another run is still writing it".into()),
        // Unlocked when dropped; the file stays as the mark of the unfinished run.
        Ok(()) => Some("the run that wrote it did not finish (it was killed)".into()),
        Err(std::fs::TryLockError::Error(_)) => None,
    }
}

/// Whether `path` still names the file we locked (and not a new one made after a removal).
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(ours), Ok(named)) => ours.dev() == named.dev() && ours.ino() == named.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_results_file_is_refused_and_names_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("guests.results.csv");
        let first = acquire(&results).unwrap();
        let err = acquire(&results).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&format!("pid {}", std::process::id())), "{text}");
        assert!(text.contains("try again later"), "{text}");
        drop(first);
        assert!(!lock_path(&results).exists(), "the lock file goes with the run");
        let again = acquire(&results).unwrap();
        drop(again);
    }

    #[test]
    fn a_lock_file_left_by_a_killed_run_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("r.csv");
        std::fs::write(lock_path(&results), "pid 1, started long ago").unwrap();
        let lock = acquire(&results).unwrap();
        let holder = std::fs::read_to_string(lock_path(&results)).unwrap();
        assert!(holder.starts_with(&format!("pid {}", std::process::id())), "{holder}");
        drop(lock);
    }
}
