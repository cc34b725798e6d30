//! One run at a time per results file, and one writing run at a time per organization. Two
//! runs writing one results file would interleave their rows and each would create what the
//! other is creating; two runs writing to one organization would each claim guests the other
//! made, or delete and disable on a reading the other is changing. The second run refuses at
//! once and says which run holds the lock.
//!
//! A results file is locked by the real file: the lock file sits beside the path with every
//! symlink resolved (`.NAME.lock`), and a file that exists is also locked by its device and
//! inode in the per-user lock folder, so a symlink, another relative path or a hard link to
//! the same file meets the same lock. The organization's lock is keyed by its id alone (one
//! organization reached as `localhost` and as `127.0.0.1` is one organization). Locks are OS
//! advisory locks, which the OS releases however the process ends: a killed run leaves no
//! stale lock, only a file that the next run takes over.
//!
//! Nothing here can be turned against the user (issue 30): the lock folder is made with a plain
//! `mkdir` and used only when it is a real folder of this user's that no one else can enter,
//! and a lock file is opened without following a symlink and written only when it is a regular
//! file of ours. Whatever is wrong is a set-up problem (`RunError::Lock`, exit 2), said with
//! its fix; another run holding the lock is `Busy`/`OrgBusy` (exit 3).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use chrono::Local;

use crate::error::{RunError, io_words};
use crate::files::output::real_path;

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

/// The lock file beside the real file `results` names.
pub(super) fn lock_path(results: &Path) -> PathBuf {
    let results = real_path(results);
    let name = results
        .file_name()
        .map_or("results".into(), |name| name.to_string_lossy().into_owned());
    results.with_file_name(format!(".{name}.lock"))
}

/// Whether the output `path` is one of this run's lock files: the results' `.NAME.lock`, or
/// any file in the lock folder. Written there, it would break the lock (and go with it).
pub(super) fn names_a_lock(path: &Path, results: Option<&Path>, lock_dir: &Path) -> bool {
    let path = real_path(path);
    let beside_results = results.is_some_and(|results| lockable(results) && path == lock_path(results));
    let in_folder = std::fs::canonicalize(lock_dir).is_ok_and(|dir| path.parent() == Some(dir.as_path()));
    beside_results || in_folder
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
    let cannot = |e: std::io::Error| {
        RunError::Lock(format!(
            "cannot lock the results file {}: {}",
            results.display(),
            io_words(&e)
        ))
    };
    let busy = |holder: String| RunError::Busy {
        results: results.display().to_string(),
        holder,
    };
    let mut lock = RunLock::default();
    let holder = holder(&format!("writing {}", results.display()));
    lock.held.push(take(&lock_path(results), &holder, cannot, busy)?);
    if let Some(key) = inode_key(results) {
        folder(lock_dir)?;
        let path = lock_dir.join(format!("file-{key}.lock"));
        lock.held.push(take(&path, &holder, cannot, busy)?);
    }
    Ok(lock)
}

/// Takes the lock of one organization (by its id alone, whatever host reached it) for a run
/// that writes there, or says which run holds it (`RunError::OrgBusy`, exit 3). `via` (the
/// API reached) and `results` only tell a person who holds it.
pub(super) fn acquire_org(
    lock: &mut RunLock,
    org: &str,
    via: &str,
    results: &str,
    lock_dir: &Path,
) -> Result<(), RunError> {
    let cannot = |e: std::io::Error| RunError::Lock(format!("cannot lock organization {org}: {}", io_words(&e)));
    let busy = |holder: String| RunError::OrgBusy {
        org: org.to_string(),
        holder,
    };
    folder(lock_dir)?;
    let path = lock_dir.join(format!("org-{}.lock", file_safe(org)));
    let holder = holder(&format!("results {results}, at {via}"));
    lock.held.push(take(&path, &holder, cannot, busy)?);
    Ok(())
}

/// How to get past a lock folder that is refused.
const FOLDER_FIX: &str = "remove it, or set TALLYFY_LOCK_DIR to a folder of your own";

/// The lock folder, made if missing with a plain `mkdir` (mode 0700; never its parents, which
/// someone else could have made), and used only when it is a real folder (not a symlink) owned
/// by this user with no access for anyone else: a folder another user made first could hold
/// links into our files or locks we can never take.
fn folder(dir: &Path) -> Result<(), RunError> {
    let shown = dir.display();
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(RunError::Lock(format!(
                "cannot make the lock folder {shown}: {}; set TALLYFY_LOCK_DIR to a folder of your own",
                io_words(&e)
            )));
        }
    }
    let meta = std::fs::symlink_metadata(dir)
        .map_err(|e| RunError::Lock(format!("cannot read the lock folder {shown}: {}", io_words(&e))))?;
    if meta.file_type().is_symlink() {
        return Err(RunError::Lock(format!(
            "the lock folder {shown} is a symbolic link, not a folder: {FOLDER_FIX}"
        )));
    }
    if !meta.is_dir() {
        return Err(RunError::Lock(format!(
            "the lock folder {shown} is not a folder: {FOLDER_FIX}"
        )));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.uid() != euid() {
            return Err(RunError::Lock(format!(
                "the lock folder {shown} belongs to another user (uid {}): {FOLDER_FIX}",
                meta.uid()
            )));
        }
        let mode = meta.mode() & 0o777;
        if mode != 0o700 {
            return Err(RunError::Lock(format!(
                "the lock folder {shown} is open to other users (mode {mode:04o}): make it yours alone with chmod 700 {shown}"
            )));
        }
    }
    Ok(())
}

/// This process's effective user id: whose files the lock folder and lock files must be.
#[cfg(unix)]
fn euid() -> u32 {
    // SAFETY: a plain system call that cannot fail and touches no memory of ours.
    unsafe { libc::geteuid() }
}

/// Who holds a lock, in words: the process, when it started, and what it is doing.
fn holder(doing: &str) -> String {
    format!(
        "pid {}, started {}, {doing}",
        std::process::id(),
        Local::now().format("%Y-%m-%d %H:%M:%S %:z")
    )
}

/// Opens the lock file at `path` (made if missing) without following a symlink there and
/// without blocking on a FIFO planted there, and never truncates it on opening.
fn open(path: &Path, write: bool) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(write).create(write).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW | libc::O_NONBLOCK);
    options.open(path)
}

/// The owner of a lock file we opened, when it is not this user.
fn foreign_owner(file: &File) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let uid = file.metadata().ok()?.uid();
        (uid != euid()).then_some(uid)
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        None
    }
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
        let mut file = match open(path, true) {
            Ok(file) => file,
            #[cfg(unix)]
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(RunError::Lock(format!(
                    "the lock file {} is a symbolic link (a lock file never is one, and it was not followed): remove it, then run this again",
                    path.display()
                )));
            }
            Err(e) => return Err(cannot(e)),
        };
        if !file.metadata().is_ok_and(|meta| meta.is_file()) {
            return Err(RunError::Lock(format!(
                "the lock file {} is not a regular file: remove it, then run this again",
                path.display()
            )));
        }
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                // Whoever holds it (another user's run in a shared folder included) is busy.
                let mut held_by = String::new();
                let _ = file.read_to_string(&mut held_by);
                return Err(busy(held_by.trim().to_string()));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(cannot(e)),
        }
        // Not ours: never truncated nor written (it could be a file of theirs, hard-linked
        // there). Theirs and held was `busy` above; theirs and free is left for them to clear.
        if let Some(uid) = foreign_owner(&file) {
            return Err(RunError::Lock(format!(
                "the lock file {} belongs to another user (uid {uid}) and no run holds it: remove it, then run this again",
                path.display()
            )));
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
    let file = open(&lock_path(results), false).ok()?;
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
        match (file.metadata(), std::fs::symlink_metadata(path)) {
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
    fn one_organization_is_locked_once_whatever_host_reached_it() {
        let dir = tempfile::tempdir().unwrap();
        let locks = dir.path().join("locks");
        let mut first = RunLock::default();
        acquire_org(&mut first, "abc", "http://localhost:9/api", "a.csv", &locks).unwrap();
        let mut second = RunLock::default();
        let err = acquire_org(&mut second, "abc", "http://127.0.0.1:9/api", "b.csv", &locks).unwrap_err();
        assert!(matches!(err, RunError::OrgBusy { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains("results a.csv, at http://localhost:9/api"), "{text}");
        acquire_org(&mut second, "other", "http://localhost:9/api", "b.csv", &locks).unwrap();
        drop(first);
        acquire_org(&mut second, "abc", "http://127.0.0.1:9/api", "b.csv", &locks).unwrap();
    }

    /// The set-up error `result` must be (exit 2), as text.
    #[cfg(unix)]
    fn refusal<T: std::fmt::Debug>(result: Result<T, RunError>) -> String {
        let err = result.unwrap_err();
        assert!(matches!(err, RunError::Lock(_)), "{err:?}");
        assert_eq!(err.exit(), crate::error::Exit::Usage);
        err.to_string()
    }

    #[cfg(unix)]
    #[test]
    fn the_lock_folder_is_made_ours_alone_and_only_such_a_folder_is_used() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let locks = dir.path().join("locks");
        folder(&locks).unwrap();
        let mode = std::fs::symlink_metadata(&locks).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        folder(&locks).expect("made once, used again");
        // Never its parents: a folder someone could have made is not made for them.
        let text = refusal(folder(&dir.path().join("missing/locks")));
        assert!(text.contains("cannot make the lock folder"), "{text}");
        assert!(!dir.path().join("missing").exists());
        std::fs::set_permissions(&locks, std::fs::Permissions::from_mode(0o755)).unwrap();
        let text = refusal(folder(&locks));
        assert!(text.contains("open to other users (mode 0755)"), "{text}");
        assert!(text.contains("chmod 700"), "{text}");
        std::fs::set_permissions(&locks, std::fs::Permissions::from_mode(0o700)).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&locks, &link).unwrap();
        let text = refusal(folder(&link));
        assert!(text.contains("is a symbolic link"), "{text}");
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        let text = refusal(folder(&file));
        assert!(text.contains("is not a folder"), "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn a_lock_folder_of_another_user_is_refused() {
        if euid() != 0 {
            eprintln!("skipped: giving a folder to another user needs root (CI runs as root)");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let locks = dir.path().join("locks");
        folder(&locks).unwrap();
        std::os::unix::fs::chown(&locks, Some(65534), Some(65534)).unwrap();
        let text = refusal(folder(&locks));
        assert!(text.contains("belongs to another user (uid 65534)"), "{text}");
        assert!(text.contains("TALLYFY_LOCK_DIR"), "{text}");
        let mut lock = RunLock::default();
        refusal(acquire_org(&mut lock, "abc", "api", "r.csv", &locks));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_where_a_lock_file_goes_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let locks = dir.path().join("locks");
        folder(&locks).unwrap();
        let target = dir.path().join("precious.txt");
        std::fs::write(&target, "keep me").unwrap();
        std::os::unix::fs::symlink(&target, locks.join("org-abc.lock")).unwrap();
        let mut lock = RunLock::default();
        let text = refusal(acquire_org(&mut lock, "abc", "api", "r.csv", &locks));
        assert!(text.contains("is a symbolic link"), "{text}");
        // Beside the results too, and a link to nothing is not made into a file either.
        let results = dir.path().join("r.csv");
        let nowhere = dir.path().join("nowhere");
        std::os::unix::fs::symlink(&nowhere, lock_path(&results)).unwrap();
        refusal(acquire(&results, &locks));
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
        assert!(!nowhere.exists());
        assert!(unfinished_writer(&results).is_none(), "a link is no mark of a run");
    }

    #[cfg(unix)]
    #[test]
    fn a_lock_file_that_is_not_a_regular_file_of_ours_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let locks = dir.path().join("locks");
        folder(&locks).unwrap();
        std::fs::create_dir(locks.join("org-abc.lock")).unwrap();
        let mut lock = RunLock::default();
        // A folder cannot even be opened as one; a FIFO opens (without blocking) and is refused.
        refusal(acquire_org(&mut lock, "abc", "api", "r.csv", &locks));
        let fifo = std::process::Command::new("mkfifo")
            .arg(locks.join("org-fifo.lock"))
            .status()
            .unwrap();
        assert!(fifo.success());
        let text = refusal(acquire_org(&mut lock, "fifo", "api", "r.csv", &locks));
        assert!(text.contains("is not a regular file"), "{text}");
        if euid() != 0 {
            eprintln!("skipped the other user's lock file: it needs root (CI runs as root)");
            return;
        }
        let results = dir.path().join("r.csv");
        std::fs::write(lock_path(&results), "theirs").unwrap();
        std::os::unix::fs::chown(lock_path(&results), Some(65534), None).unwrap();
        let text = refusal(acquire(&results, &locks));
        assert!(text.contains("belongs to another user (uid 65534)"), "{text}");
        assert_eq!(std::fs::read_to_string(lock_path(&results)).unwrap(), "theirs");
    }
}
