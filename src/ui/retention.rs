//! How runs end: deleted from the page (never while a job of theirs runs, here or in another
//! process), or past their retention, pruned when the server starts and daily while it runs.
//! A run not used for `--keep` goes, sent or not; without it, a run never sent (a preview, a
//! file that could not be read) goes after [`UNSENT`] unused, and a sent one stays until it is
//! deleted (its results are what an undo reads). A folder whose upload was cut off goes after
//! [`CUT_OFF`]. "Used" is the newest change to the folder or any file in it.

use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::runs::Runs;

/// How long a run never sent is kept unused, without `--keep`.
pub(super) const UNSENT: Duration = Duration::from_secs(30 * 24 * 3600);

/// How long a folder without `run.json` (an upload cut off by the server's end) is kept.
pub(super) const CUT_OFF: Duration = Duration::from_secs(24 * 3600);

/// Why a run was not deleted.
#[derive(Debug)]
pub(super) enum Refused {
    /// No such run.
    Missing,
    /// A job of the run is going (here, or in another process that holds its results).
    Busy,
    /// The folder could not be removed.
    Io(io::Error),
}

/// Deletes the run `id` and its files, unless `busy` says a job of it is going. The folder is
/// first renamed out of the runs (no new job can find it), then removed; a job that started
/// in between puts it back.
pub(super) fn delete(runs: &Runs, id: &str, busy: &dyn Fn() -> bool) -> Result<(), Refused> {
    let run = runs.get(id).ok_or(Refused::Missing)?;
    if busy() || locked(run.path()) {
        return Err(Refused::Busy);
    }
    let trash = runs.dir().join(format!(".deleting-{id}"));
    std::fs::rename(run.path(), &trash).map_err(Refused::Io)?;
    if busy() {
        std::fs::rename(&trash, run.path()).map_err(Refused::Io)?;
        return Err(Refused::Busy);
    }
    std::fs::remove_dir_all(&trash).map_err(Refused::Io)
}

/// Removes the runs past their retention (`keep`: `--keep`), except those `busy` names; the
/// ids removed.
pub(super) fn prune(runs: &Runs, keep: Option<Duration>, busy: &dyn Fn(&str) -> bool) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(runs.dir()) else {
        return Vec::new();
    };
    let now = SystemTime::now();
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let id = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_dir {
            continue;
        }
        let path = entry.path();
        // A deletion the server did not finish.
        if id.starts_with(".deleting-") {
            let _ = std::fs::remove_dir_all(&path);
            continue;
        }
        if !is_run_id(&id) || busy(&id) || locked(&path) {
            continue;
        }
        let limit = match runs.get(&id) {
            None => Some(CUT_OFF),
            Some(run) if run.results().exists() => keep,
            Some(_) => Some(keep.map_or(UNSENT, |keep| keep.min(UNSENT))),
        };
        let unused = now.duration_since(last_used(&path)).unwrap_or_default();
        if limit.is_some_and(|limit| unused > limit) {
            let gone = match runs.get(&id) {
                Some(_) => delete(runs, &id, &|| busy(&id)).is_ok(),
                None => std::fs::remove_dir_all(&path).is_ok(),
            };
            if gone {
                tracing::info!("removed run {id}: not used for {} days", unused.as_secs() / 86_400);
                removed.push(id);
            }
        }
    }
    removed
}

/// A run folder's name: `20261207-101500-a1b2c3` (the time of its upload and a random tail).
fn is_run_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Whether a run in another process (another `ui` on the same folder, or the CLI given a
/// run's results file) holds the lock on a file of the folder: the engine's lock file beside
/// the results, which a run locks for as long as it goes.
fn locked(path: &Path) -> bool {
    let locks = std::fs::read_dir(path).into_iter().flatten().flatten().filter(|entry| {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        name.starts_with('.') && name.ends_with(".lock")
    });
    locks
        .filter_map(|entry| std::fs::File::open(entry.path()).ok())
        .any(|file| matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock)))
}

/// The newest change to the folder or a file in it (a run's folder is flat).
fn last_used(path: &Path) -> SystemTime {
    let modified = |path: &Path| std::fs::symlink_metadata(path).and_then(|m| m.modified()).ok();
    let files = std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| modified(&entry.path()));
    files.chain(modified(path)).max().unwrap_or(SystemTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::runs::Meta;

    /// Sets the folder's and its files' last change `days` ago.
    fn age(path: &Path, days: u64) {
        let then = SystemTime::now() - Duration::from_secs(days * 86_400);
        for entry in std::fs::read_dir(path).unwrap().flatten() {
            let file = std::fs::File::options().write(true).open(entry.path()).unwrap();
            file.set_modified(then).unwrap();
        }
        std::fs::File::open(path).unwrap().set_modified(then).unwrap();
    }

    /// A run, sent or not, last used `days` ago.
    fn run(runs: &Runs, sent: bool, days: u64) -> String {
        let (id, run) = runs.create().unwrap();
        run.save(&Meta {
            id: id.clone(),
            file: "upload.csv".into(),
            ..Meta::default()
        })
        .unwrap();
        std::fs::write(run.path().join("upload.csv"), "email\na@b.co\n").unwrap();
        if sent {
            std::fs::write(run.results(), "email\n").unwrap();
        }
        age(run.path(), days);
        id
    }

    fn kept(runs: &Runs) -> Vec<String> {
        let mut ids: Vec<String> = runs.list().into_iter().map(|(_, meta)| meta.id).collect();
        ids.sort();
        ids
    }

    #[test]
    fn without_keep_only_unsent_runs_and_cut_off_uploads_go() {
        let dir = tempfile::tempdir().unwrap();
        let runs = Runs::open(dir.path()).unwrap();
        let old_sent = run(&runs, true, 400);
        let old_unsent = run(&runs, false, 31);
        let recent_unsent = run(&runs, false, 29);
        let cut = dir.path().join("20200101-000000-abcdef");
        std::fs::create_dir(&cut).unwrap();
        std::fs::write(cut.join("upload.csv"), "email\n").unwrap();
        age(&cut, 2);
        let fresh_cut = dir.path().join("20200101-000000-fedcba");
        std::fs::create_dir(&fresh_cut).unwrap();
        let mut removed = prune(&runs, None, &|_| false);
        removed.sort();
        let mut expected = vec![old_unsent, "20200101-000000-abcdef".to_string()];
        expected.sort();
        assert_eq!(removed, expected);
        let mut left = vec![old_sent, recent_unsent];
        left.sort();
        assert_eq!(kept(&runs), left);
        assert!(fresh_cut.exists(), "an upload may still be arriving");
    }

    #[test]
    fn keep_takes_sent_runs_too_but_never_a_busy_one() {
        let dir = tempfile::tempdir().unwrap();
        let runs = Runs::open(dir.path()).unwrap();
        let old_sent = run(&runs, true, 10);
        let busy = run(&runs, true, 10);
        let recent = run(&runs, true, 6);
        let keep = Some(Duration::from_secs(7 * 86_400));
        assert_eq!(prune(&runs, keep, &|id| id == busy), [old_sent]);
        let mut left = vec![busy, recent];
        left.sort();
        assert_eq!(kept(&runs), left);
    }

    #[test]
    fn a_run_whose_results_another_process_holds_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let runs = Runs::open(dir.path()).unwrap();
        let held = run(&runs, true, 10);
        let folder = dir.path().join(&held);
        // As the engine's lock: a file beside the results, locked while a run goes.
        let lock = std::fs::File::create(folder.join(".results.csv.lock")).unwrap();
        lock.lock().unwrap();
        age(&folder, 10);
        let keep = Some(Duration::from_secs(86_400));
        assert!(prune(&runs, keep, &|_| false).is_empty());
        assert!(matches!(delete(&runs, &held, &|| false), Err(Refused::Busy)));
        lock.unlock().unwrap();
        assert_eq!(prune(&runs, keep, &|_| false), [held]);
    }

    #[test]
    fn a_busy_run_is_not_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let runs = Runs::open(dir.path()).unwrap();
        let id = run(&runs, false, 0);
        assert!(matches!(delete(&runs, &id, &|| true), Err(Refused::Busy)));
        assert!(matches!(delete(&runs, "nope", &|| false), Err(Refused::Missing)));
        assert_eq!(kept(&runs), std::slice::from_ref(&id));
        delete(&runs, &id, &|| false).unwrap();
        assert!(kept(&runs).is_empty());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing left behind");
    }
}
