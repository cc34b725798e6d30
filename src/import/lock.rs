//! One run at a time per results file, and (for mirror and undo) per organization. Two runs
//! writing one results file would interleave their rows and each would create what the other is
//! creating; two runs deleting or disabling in one organization would each act on a reading
//! the other is changing. The second run refuses at once and says which run holds the lock.
//!
//! A results file is locked by the real file: the lock file sits beside the path with every
//! symlink resolved (`.NAME.lock`), and a file that exists is also locked by its device and
//! inode in the per-user lock directory, so a symlink, another relative path or a hard link to
//! the same file meets the same lock. The organization's lock is keyed by its id and API host.
//! Locks are OS advisory locks, which the OS releases however the process ends: a killed run
//! leaves no stale lock, only a file that the next run takes over.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use chrono::Local;

use crate::error::RunError;

/// Held for the whole run; dropping it removes the lock files and releases the locks.
#[derive(Debug, Default)]
pub(super) struct RunLock {
    held: Vec<Held>,
}

/// One lock file, locked.
#[derive(Debug)]
struct Held {
    path: PathBuf,
    /// Holds the lock while open.
    _file: File,
}

impl Drop for Held {
    fn drop(&mut self) {
        // Removed while still locked: a run waiting on this file finds it gone and starts over
        // with a new one, so two runs never hold two different files for one lock.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The results path with every symlink resolved (a link to a link, a link to a file not yet
/// made, a relative link), so that every name of one file gives one lock path.
pub(super) fn real_path(path: &Path) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(path) {
        return real;
    }
    // The file is not there yet (or a link points at nothing yet): resolve links by hand,
    // then the folder it is in.
    let mut path = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::read_link(&path) {
            Ok(target) => {
                path = match path.parent() {
                    Some(parent) => parent.join(target),
                    None => target,
                }
            }
            Err(_) => break,
        }
    }
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match (std::fs::canonicalize(folder), path.file_name()) {
        (Ok(folder), Some(name)) => folder.join(name),
        _ => path,
    }
}

/// The lock file beside the real file `results` names.
pub(super) fn lock_path(results: &Path) -> PathBuf {
    let results = real_path(results);
    let name = results
        .file_name()
        .map_or("results".into(), |name| name.to_string_lossy().into_owned());
    results.with_file_name(format!(".{name}.lock"))
}

/// Whether `results` is a file to protect with a lock: a regular file or nothing yet, through
/// any symlinks (a device or FIFO given as the results is a stream, not a file).
pub(super) fn lockable(results: &Path) -> bool {
    match std::fs::metadata(results) {
        Ok(meta) => meta.file_type().is_file(),
        Err(_) => true,
    }
}

/// Takes the lock for `results` (by its real path and, when it exists, by its inode in
/// `lock_dir`), or says which run holds it (`RunError::Busy`, exit 3).
pub(super) fn acquire(results: &Path, lock_dir: &Path) -> Result<RunLock, RunError> {
    let cannot = |e: std::io::Error| RunError::io(format!("cannot lock the results file {}", results.display()), e);
    let busy = |holder: String| RunError::Busy {
        results: results.display().to_string(),
        holder,
    };
    let mut lock = RunLock::default();
    let holder = holder(&format!("writing {}", results.display()));
    lock.held.push(take(&lock_path(results), &holder, cannot, busy)?);
    if let Some(key) = inode_key(results) {
        make_dir(lock_dir).map_err(cannot)?;
        let path = lock_dir.join(format!("file-{key}.lock"));
        lock.held.push(take(&path, &holder, cannot, busy)?);
    }
    Ok(lock)
}

/// Takes the lock of one organization (its id at one API host) for a run that deletes or
/// disables there (mirror, undo), or says which run holds it (`RunError::OrgBusy`, exit 3).
pub(super) fn acquire_org(
    lock: &mut RunLock,
    org: &str,
    api: &str,
    results: &str,
    lock_dir: &Path,
) -> Result<(), RunError> {
    let cannot = |e: std::io::Error| RunError::io(format!("cannot lock organization {org}"), e);
    let busy = |holder: String| RunError::OrgBusy {
        org: org.to_string(),
        api: api.to_string(),
        holder,
    };
    make_dir(lock_dir).map_err(cannot)?;
    let path = lock_dir.join(format!("org-{}-{}.lock", file_safe(org), file_safe(api)));
    let holder = holder(&format!("results {results}"));
    lock.held.push(take(&path, &holder, cannot, busy)?);
    Ok(())
}

/// Who holds a lock, in words: the process, when it started, and what it is doing.
fn holder(doing: &str) -> String {
    format!(
        "pid {}, started {}, {doing}",
        std::process::id(),
        Local::now().format("%Y-%m-%d %H:%M:%S %:z")
    )
}

/// Locks the file at `path` (made if missing) and writes `holder` into it.
fn take(
    path: &Path,
    holder: &str,
    cannot: impl Fn(std::io::Error) -> RunError,
    busy: impl Fn(String) -> RunError,
) -> Result<Held, RunError> {
    // A few rounds at most: each one lost means another run removed the file we opened.
    for _ in 0..8 {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(&cannot)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut held_by = String::new();
                let _ = file.read_to_string(&mut held_by);
                return Err(busy(held_by.trim().to_string()));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(cannot(e)),
        }
        if !same_file(&file, path) {
            continue;
        }
        file.set_len(0).map_err(&cannot)?;
        file.rewind().map_err(&cannot)?;
        file.write_all(holder.as_bytes()).map_err(&cannot)?;
        return Ok(Held {
            path: path.to_path_buf(),
            _file: file,
        });
    }
    Err(cannot(std::io::Error::other("the lock file kept changing under us")))
}

/// Whether the run that wrote `results` is still running, or ended without finishing (a
/// lock file left behind by a killed run): said in words, or `None` when it finished.
pub(super) fn unfinished_writer(results: &Path) -> Option<String> {
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

/// `DEV-INODE` of the file `path` names (through symlinks), when it exists: every hard link
/// to one file gives the same key.
fn inode_key(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path).ok().filter(std::fs::Metadata::is_file)?;
        Some(format!("{}-{}", meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// The lock directory, made readable by this user only where the OS can say so.
fn make_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// `text` with anything but letters, digits, `-` and `.` made `_`, for a file name.
fn file_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
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
        let first = acquire(&results, dir.path()).unwrap();
        let err = acquire(&results, dir.path()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&format!("pid {}", std::process::id())), "{text}");
        assert!(text.contains("try again later"), "{text}");
        drop(first);
        assert!(!lock_path(&results).exists(), "the lock file goes with the run");
        let again = acquire(&results, dir.path()).unwrap();
        drop(again);
    }

    #[test]
    fn a_lock_file_left_by_a_killed_run_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("r.csv");
        std::fs::write(lock_path(&results), "pid 1, started long ago").unwrap();
        let lock = acquire(&results, dir.path()).unwrap();
        let holder = std::fs::read_to_string(lock_path(&results)).unwrap();
        assert!(holder.starts_with(&format!("pid {}", std::process::id())), "{holder}");
        drop(lock);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_and_a_hard_link_meet_the_lock_of_the_file_they_name() {
        let dir = tempfile::tempdir().unwrap();
        let locks = dir.path().join("locks");
        let (real, other) = (dir.path().join("real"), dir.path().join("other"));
        std::fs::create_dir_all(&real).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        let results = real.join("r.csv");
        // A link made before the file exists.
        let link = other.join("link.csv");
        std::os::unix::fs::symlink(&results, &link).unwrap();
        assert_eq!(lock_path(&link), lock_path(&results));
        let first = acquire(&results, &locks).unwrap();
        assert!(matches!(acquire(&link, &locks), Err(RunError::Busy { .. })));
        drop(first);
        std::fs::write(&results, "x").unwrap();
        let hard = other.join("hard.csv");
        std::fs::hard_link(&results, &hard).unwrap();
        let first = acquire(&hard, &locks).unwrap();
        assert!(matches!(acquire(&results, &locks), Err(RunError::Busy { .. })));
        drop(first);
        assert!(acquire(&results, &locks).is_ok());
    }

    #[test]
    fn one_organization_is_locked_once_at_one_host() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = RunLock::default();
        acquire_org(&mut first, "abc", "go.tallyfy.com", "a.csv", dir.path()).unwrap();
        let mut second = RunLock::default();
        let err = acquire_org(&mut second, "abc", "go.tallyfy.com", "b.csv", dir.path()).unwrap_err();
        assert!(err.to_string().contains("results a.csv"), "{err}");
        acquire_org(&mut second, "abc", "127.0.0.1:9", "b.csv", dir.path()).unwrap();
        drop(first);
        acquire_org(&mut second, "abc", "go.tallyfy.com", "b.csv", dir.path()).unwrap();
    }
}
