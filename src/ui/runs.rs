//! Runs kept on disk: a folder per run under `--dir`, so a run outlives the tab and the server.
//! A folder holds the uploaded copy (under a name of the tool's own, `upload.EXT`: no name a
//! person gives a file can be one of the run's files; the person's name is kept for the page),
//! `run.json` (the mapping changes and the cell edits: an overlay by sheet row and column), the
//! corrected copy, and the engine's own outputs: the preview (a dry run's results), the import's
//! results and summary, the undo's. Owns the layout and `run.json`; what the files mean is the
//! engine's. Owns their end too: a run deleted from the page, and the retention (`--keep`).

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A run's `run.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Meta {
    /// The folder's name: the upload's time and a random tail, so runs sort by time.
    pub id: String,
    /// The uploaded copy's name in the folder (`upload.xlsx`).
    pub file: String,
    /// The uploaded file's own name, for the page and the downloads (empty in runs kept
    /// before it was recorded: their `file` is the person's name).
    #[serde(default)]
    pub name: String,
    /// When it was uploaded, RFC 3339 UTC.
    pub uploaded: String,
    /// The person's changes to the detected mapping, as `--map` takes them: column, field (or
    /// `ignore`).
    #[serde(default)]
    pub map: Vec<(String, String)>,
    /// The workbook's sheet the person chose for the guests (`--sheet`); none: as detected.
    #[serde(default)]
    pub sheet: Option<String>,
    /// Cells fixed on the page: applied to the records the engine reads, by the sheet's row
    /// number and the column's position.
    #[serde(default)]
    pub edits: Vec<Edit>,
    /// Rows the person left out (a member's row, a row not meant for import), by the sheet's
    /// row number: not read, as if deleted from the file.
    #[serde(default)]
    pub skipped: Vec<u64>,
    /// The organization the run's import was sent to, for the runs list.
    #[serde(default)]
    pub organization: Option<String>,
    /// Earlier results files of the import (`results-N.csv`, oldest first) whose creates the
    /// current results do not carry: a continuation cut short (the server stopped), or one
    /// that had to start again from the upload. An undo takes back theirs too.
    #[serde(default)]
    pub segments: Vec<String>,
}

/// One fixed cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Edit {
    /// The sheet's row number.
    pub row: u64,
    /// The column's position in the header (0-based).
    pub column: usize,
    /// The field it was fixed as (`email`), for the page.
    pub field: String,
    /// The new value.
    pub value: String,
}

impl Meta {
    /// The file's name as the person knows it.
    pub(super) fn shown(&self) -> &str {
        if self.name.is_empty() { &self.file } else { &self.name }
    }

    /// The page's edits as the input applies them to the records it reads.
    pub(super) fn cell_edits(&self) -> Vec<crate::input::CellEdit> {
        self.edits
            .iter()
            .map(|e| crate::input::CellEdit {
                row: e.row,
                column: e.column,
                value: e.value.clone(),
            })
            .collect()
    }

    /// Leaves the sheet's row out, or puts it back.
    pub(super) fn skip(&mut self, row: u64, out: bool) {
        self.skipped.retain(|r| *r != row);
        if out {
            self.skipped.push(row);
            self.skipped.sort_unstable();
        }
    }

    /// The run's own changes to the file: fixed cells or rows left out.
    pub(super) fn changed(&self) -> bool {
        !self.edits.is_empty() || !self.skipped.is_empty()
    }

    /// Records an edit; a second edit of one cell replaces the first.
    pub(super) fn edit(&mut self, edit: Edit) {
        self.edits.retain(|e| (e.row, e.column) != (edit.row, edit.column));
        self.edits.push(edit);
        self.edits.sort_by_key(|e| (e.row, e.column));
    }
}

/// The folder of all runs.
#[derive(Debug, Clone)]
pub(super) struct Runs {
    dir: PathBuf,
}

/// The files of one run.
#[derive(Debug, Clone)]
pub(super) struct RunDir {
    path: PathBuf,
}

impl Runs {
    /// Opens (creates) the folder; only its owner may read it: it holds people's data.
    pub(super) fn open(dir: &Path) -> io::Result<Runs> {
        private_dir(dir, true)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(Runs { dir: dir.to_path_buf() })
    }

    /// Where the runs are.
    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    /// A new run's folder, with its id.
    pub(super) fn create(&self) -> io::Result<(String, RunDir)> {
        let now = chrono::Utc::now();
        let mut tail = [0u8; 3];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut tail);
        let tail: String = tail.iter().map(|b| format!("{b:02x}")).collect();
        let id = format!("{}-{tail}", now.format("%Y%m%d-%H%M%S"));
        let path = self.dir.join(&id);
        private_dir(&path, false)?;
        Ok((id, RunDir { path }))
    }

    /// A run by id; `None` for anything that is not a run's folder (a path, `..`).
    pub(super) fn get(&self, id: &str) -> Option<RunDir> {
        let valid = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let path = self.dir.join(id);
        (valid && path.join(META).is_file()).then_some(RunDir { path })
    }

    /// Every run, newest first.
    pub(super) fn list(&self) -> Vec<(RunDir, Meta)> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut runs: Vec<(RunDir, Meta)> = entries
            .flatten()
            .filter_map(|entry| {
                let id = entry.file_name().to_string_lossy().into_owned();
                let run = self.get(&id)?;
                let meta = run.meta().ok()?;
                Some((run, meta))
            })
            .collect();
        runs.sort_by(|a, b| b.1.id.cmp(&a.1.id));
        runs
    }
}

const META: &str = "run.json";

impl RunDir {
    /// The folder.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Reads `run.json`.
    pub(super) fn meta(&self) -> io::Result<Meta> {
        let bytes = std::fs::read(self.path.join(META))?;
        serde_json::from_slice(&bytes).map_err(io::Error::other)
    }

    /// Writes `run.json` (whole, by a rename).
    pub(super) fn save(&self, meta: &Meta) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(meta).map_err(io::Error::other)?;
        let temp = self.path.join(".run.json.tmp");
        let _ = std::fs::remove_file(&temp);
        std::io::Write::write_all(&mut private_file(&temp)?, &bytes)?;
        std::fs::rename(temp, self.path.join(META))
    }

    /// The uploaded copy.
    pub(super) fn upload(&self, meta: &Meta) -> PathBuf {
        self.path.join(&meta.file)
    }

    /// The corrected copy of a text upload: with the page's edits, as CSV.
    pub(super) fn corrected(&self) -> PathBuf {
        self.path.join("corrected.csv")
    }

    /// The corrected copy of a workbook: with the page's edits, as a workbook.
    pub(super) fn corrected_xlsx(&self) -> PathBuf {
        self.path.join("corrected.xlsx")
    }

    /// The run in `path`, for tests of what is written in a run's folder.
    #[cfg(test)]
    pub(super) fn at(path: &Path) -> RunDir {
        RunDir {
            path: path.to_path_buf(),
        }
    }

    /// The preview: a dry run's results.
    pub(super) fn preview(&self) -> PathBuf {
        self.path.join("preview.csv")
    }

    /// The preview's summary JSON.
    pub(super) fn preview_summary(&self) -> PathBuf {
        self.path.join("preview.summary.json")
    }

    /// The import's results, as the CLI writes them.
    pub(super) fn results(&self) -> PathBuf {
        self.path.join("results.csv")
    }

    /// The import's results as a workbook.
    pub(super) fn results_xlsx(&self) -> PathBuf {
        self.path.join("results.xlsx")
    }

    /// The import's summary JSON.
    pub(super) fn summary(&self) -> PathBuf {
        self.path.join("summary.json")
    }

    /// A file of the run's folder by name (a name `Meta` keeps).
    pub(super) fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The undo's results.
    pub(super) fn undo(&self) -> PathBuf {
        self.path.join("undo.csv")
    }

    /// The undo's summary JSON.
    pub(super) fn undo_summary(&self) -> PathBuf {
        self.path.join("undo.summary.json")
    }

    /// The offending fields of each row of a job's results (`preview.csv` → `preview.fields.json`),
    /// from the engine's row events: the results file has the message, not the fields.
    pub(super) fn fields(&self, results: &Path) -> PathBuf {
        let name = results
            .file_stem()
            .map_or("results".into(), |s| s.to_string_lossy().into_owned());
        self.path.join(format!("{name}.fields.json"))
    }
}

/// The uploaded copy's name: `upload`, with the extension of the person's file when it has a
/// plain one (`upload.xlsx`). Chosen by the tool, so it is none of the run's own files
/// (`undo.acts.csv`, `corrected.csv.tmp`, ...), whatever the person's file is called.
pub(super) fn upload_name(given: &str) -> String {
    let extension = shown_name(given)
        .rsplit_once('.')
        .map(|(_, extension)| extension.to_ascii_lowercase())
        .filter(|e| (1..=8).contains(&e.len()) && e.bytes().all(|b| b.is_ascii_alphanumeric()));
    match extension {
        Some(extension) => format!("upload.{extension}"),
        None => "upload".into(),
    }
}

/// The person's file name for the page: without any folder, control characters or a leading
/// dot, at most 120 characters.
pub(super) fn shown_name(given: &str) -> String {
    let base = given.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base.chars().map(|c| if c.is_control() { '_' } else { c }).collect();
    let clean = clean.trim().trim_start_matches('.').trim();
    match clean {
        "" => "upload".into(),
        name => name.chars().take(120).collect(),
    }
}

/// A folder for its owner only: made 0700 (with its parents, when `parents`), and made so if
/// it was there already.
fn private_dir(path: &Path, parents: bool) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(parents);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// A new file for its owner only (0600), never written through whatever stands at its name.
pub(super) fn private_file(path: &Path) -> io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_is_kept_under_the_tools_name_and_shown_under_the_persons() {
        for (given, kept, shown) in [
            ("C:\\Users\\ana\\guests.XLSX", "upload.xlsx", "guests.XLSX"),
            ("../../etc/passwd", "upload", "passwd"),
            ("..", "upload", "upload"),
            (".hidden.csv", "upload.csv", "hidden.csv"),
            ("", "upload", "upload"),
            // The run's own files, as a person may name an upload.
            ("results.csv", "upload.csv", "results.csv"),
            ("undo.acts.csv", "upload.csv", "undo.acts.csv"),
            ("corrected.csv.tmp", "upload.tmp", "corrected.csv.tmp"),
            ("run.json", "upload.json", "run.json"),
            ("list.c$v", "upload", "list.c$v"),
            ("a\u{7}b.csv", "upload.csv", "a_b.csv"),
        ] {
            assert_eq!(upload_name(given), kept, "{given}");
            assert_eq!(shown_name(given), shown, "{given}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn folders_are_0700_and_files_0600() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("data").join("runs");
        let runs = Runs::open(&root).unwrap();
        assert_eq!(mode(&root), 0o700);
        let (id, run) = runs.create().unwrap();
        run.save(&Meta { id, ..Meta::default() }).unwrap();
        assert_eq!(mode(run.path()), 0o700);
        assert_eq!(mode(&run.path().join(META)), 0o600);
        private_file(&run.path().join("upload.csv")).unwrap();
        assert_eq!(mode(&run.path().join("upload.csv")), 0o600);
        assert!(
            private_file(&run.path().join("upload.csv")).is_err(),
            "never through a file there"
        );
    }

    #[test]
    fn runs_are_listed_newest_first_and_ids_are_only_folders() {
        let dir = tempfile::tempdir().unwrap();
        let runs = Runs::open(dir.path()).unwrap();
        let (a, run_a) = runs.create().unwrap();
        run_a
            .save(&Meta {
                id: a.clone(),
                file: "a.csv".into(),
                ..Meta::default()
            })
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let (b, run_b) = runs.create().unwrap();
        let mut meta = Meta {
            id: b.clone(),
            file: "b.csv".into(),
            ..Meta::default()
        };
        meta.edit(Edit {
            row: 3,
            column: 0,
            field: "email".into(),
            value: "x@y.com".into(),
        });
        meta.edit(Edit {
            row: 3,
            column: 0,
            field: "email".into(),
            value: "z@y.com".into(),
        });
        run_b.save(&meta).unwrap();
        let listed: Vec<String> = runs.list().into_iter().map(|(_, m)| m.id).collect();
        assert_eq!(listed, [b.clone(), a]);
        assert_eq!(runs.get(&b).unwrap().meta().unwrap().edits.len(), 1);
        assert!(runs.get("..").is_none());
        assert!(runs.get("../x").is_none());
        assert!(runs.get("nope").is_none());
    }
}
