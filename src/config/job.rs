//! The job an `import` or `undo` command line asks for, decided once from the flags: what kind
//! of run it is (an import, a retry of an earlier run's results, an undo; a mirror when
//! `--on-missing` removes; a dry run of each), with only the settings that kind has, and the
//! flag rules that hold across flags. The run takes a [`Job`] and never asks the flags again;
//! library callers (the web page) build one from an argv with [`job_from_args`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{ConfigError, Reach, Transport, lock_dir, transport};
use crate::cli::{ApiArgs, ImportArgs, UndoArgs};
use crate::input::{Encoding, Source, Target};
use crate::modes::{ErrorBudget, OnExisting, OnMissing, Removal};

/// One run of `import` or `undo`: its kind, what it reads and writes, and how it reaches Tallyfy.
/// Configuration problems are kept (in `reach`, `refused`) rather than returned, so that the
/// run reports them together with the problems it finds in the input and the output paths.
#[derive(Debug)]
pub struct Job {
    /// What the run does with each row, with that kind's own settings.
    pub kind: Kind,
    /// The file to read: FILE, or the earlier results of `--retry-from` or `undo`; `-` is stdin.
    /// Made a `Source` here, once per job, for every stage that reads or names it.
    pub file: Source,
    /// `--dry-run`: send no write.
    pub dry_run: bool,
    /// Where the run's account goes.
    pub output: Output,
    /// `--max-errors`: the error budget.
    pub max_errors: Option<ErrorBudget>,
    /// `--concurrency`: rows in flight at once.
    pub concurrency: usize,
    /// `--max-retries`: resends of a request after a transient failure (a create's rounds too).
    pub max_retries: u32,
    /// `--yes`: do not ask before sending.
    pub yes: bool,
    /// `--heartbeat`: how often a run off a terminal logs its progress (zero: never).
    pub heartbeat: Duration,
    /// How the run reaches Tallyfy, or why it cannot.
    pub reach: Result<Reach, ConfigError>,
    /// Flags that contradict each other (`--on-missing delete` without `--report-missing`, ...),
    /// in words; set-up reports them after the problems it finds itself.
    pub refused: Vec<String>,
    /// Where this user's locks live (by organization, by a results file's inode).
    pub lock_dir: PathBuf,
    /// The command line the job was made from (`tallyfy-guests import …`): the fix loop's next
    /// command is this one, retrying the results. The process's own for the CLI; the given
    /// words for `job_from_args` (a page's process has another command line).
    pub argv: Vec<String>,
    /// The run's watchers: the history, `--notify`, `--ping`, `--metrics-file`.
    pub monitor: super::Monitor,
}

/// What a run does with the rows of its file.
#[derive(Debug)]
pub enum Kind {
    /// `import FILE`, or `import --retry-from RESULTS`: rows become guests.
    Import(Import),
    /// `undo RESULTS`: the guests an import's results say were created are taken back.
    Undo(Undo),
}

/// The settings only an import (or a retry) has.
#[derive(Debug)]
pub struct Import {
    /// `--retry-from`: the file is an earlier run's results, whose unfinished rows run again.
    pub retry: bool,
    /// How the file is read beyond what is detected.
    pub read: Reading,
    /// `--on-existing`: what to do with a guest that exists.
    pub on_existing: OnExisting,
    /// `--report-missing`: where the guests absent from the file are listed.
    pub report_missing: Option<PathBuf>,
    /// `--on-missing`: what is done to guests no row names (a mirror when it removes them).
    pub on_missing: OnMissing,
    /// `--max-missing`: the most guests `--on-missing` may touch.
    pub max_missing: ErrorBudget,
    /// `--include-used`: `--on-missing delete` deletes guests with work too.
    pub include_used: bool,
}

/// How an import's file is read, beyond what is detected.
#[derive(Debug, Default)]
pub struct Reading {
    /// `--encoding`.
    pub encoding: Option<&'static Encoding>,
    /// `--delimiter`, when sniffing gets it wrong.
    pub delimiter: Option<u8>,
    /// `--map` column assignments.
    pub map: Vec<(String, Target)>,
    /// `--sheet` of a workbook.
    pub sheet: Option<String>,
    /// `--header-row`: the header's row number (found among the first rows otherwise).
    pub header_row: Option<u64>,
    /// `--limit`: only the first this many data rows.
    pub limit: Option<u64>,
    /// Cells fixed on the page (`ui`), read over the file's own; none from the command line.
    pub edits: Vec<crate::input::CellEdit>,
}

/// The settings only an undo has.
#[derive(Debug, Clone, Copy)]
pub struct Undo {
    /// Deleted, or (`--disable`) disabled.
    pub how: Removal,
    /// `--include-used`: guests used since the import are taken away too.
    pub include_used: bool,
}

/// Where a run's account goes, and how its CSV is written.
#[derive(Debug)]
pub struct Output {
    /// `--results`: where the results go (`-` for stdout).
    pub results: Option<PathBuf>,
    /// `--summary-json`: where the run's account goes.
    pub summary_json: Option<PathBuf>,
    /// `--raw`: no formula guard in the results.
    pub raw: bool,
    /// `--excel`: a byte order mark and CRLF line ends.
    pub excel: bool,
}

impl Kind {
    /// The command's name, as the summary and its log event say it.
    pub fn command(&self) -> &'static str {
        match self {
            Kind::Import(_) => "import",
            Kind::Undo(_) => "undo",
        }
    }

    /// The file is an earlier run's results (`--retry-from`, and every undo).
    pub fn reads_results(&self) -> bool {
        match self {
            Kind::Import(import) => import.retry,
            Kind::Undo(_) => true,
        }
    }

    /// How the run's file is read beyond what is detected (an undo reads a results file as it
    /// is).
    pub fn reading(&self) -> Option<&Reading> {
        match self {
            Kind::Import(import) => Some(&import.read),
            Kind::Undo(_) => None,
        }
    }

    /// The import's settings, if the run is one.
    pub fn import(&self) -> Option<&Import> {
        match self {
            Kind::Import(import) => Some(import),
            Kind::Undo(_) => None,
        }
    }

    /// The undo's settings, if the run is one.
    pub fn undo(&self) -> Option<Undo> {
        match self {
            Kind::Import(_) => None,
            Kind::Undo(undo) => Some(*undo),
        }
    }

    /// What the run does with existing guests, as the summary file says it: an undo updates
    /// none, so it skips them.
    pub fn on_existing(&self) -> OnExisting {
        self.import().map_or(OnExisting::Skip, |import| import.on_existing)
    }

    /// How a mirror (`--on-missing disable|delete`) takes away the guests no row names.
    pub fn mirror(&self) -> Option<Removal> {
        self.import().and_then(|import| import.on_missing.removal())
    }

    /// The run deletes or disables guests: an undo, or a mirror.
    pub fn removes(&self) -> bool {
        self.undo().is_some() || self.mirror().is_some()
    }
}

impl Job {
    /// The quotas on creates (`--invite-rate`), for the progress bar's ETA and the question.
    pub fn invite_rates(&self) -> &[crate::rate::Rate] {
        match &self.reach {
            Ok(Reach::Sandbox(transport)) => &transport.invite_rates,
            Ok(Reach::Api(config)) => &config.transport.invite_rates,
            _ => &[],
        }
    }

    /// `--max-wait` when it was given: it bounds a confirmed plan's waits for the invite cap,
    /// which otherwise lasts as long as the cap's windows.
    pub fn given_max_wait(&self) -> Option<Duration> {
        let transport = match &self.reach {
            Ok(Reach::Sandbox(transport)) => transport,
            Ok(Reach::Api(config)) => &config.transport,
            _ => return None,
        };
        transport.max_wait_given.then_some(transport.max_wait)
    }

    /// `--report-missing`, when the run is an import that asks for it.
    pub fn report_missing(&self) -> Option<&Path> {
        self.kind.import()?.report_missing.as_deref()
    }
}

/// The `import` flags, checked.
pub fn import(args: ImportArgs) -> Job {
    let mut transport = transport(&args.api);
    transport.invite_rates = args.invite_rates.clone();
    let import = Import {
        retry: args.retry_from.is_some(),
        read: Reading {
            encoding: args.encoding,
            delimiter: args.delimiter,
            map: args.map,
            sheet: args.sheet,
            header_row: args.header_row,
            limit: args.limit,
            edits: Vec::new(),
        },
        on_existing: args.on_existing,
        report_missing: args.report_missing,
        on_missing: args.on_missing,
        max_missing: args.max_missing,
        include_used: args.include_used,
    };
    let common = Common {
        file: args
            .retry_from
            .or(args.file)
            .expect("clap requires FILE or --retry-from"),
        dry_run: args.dry_run,
        output: Output {
            results: args.results,
            summary_json: args.summary_json,
            raw: args.style.raw,
            excel: args.style.excel,
        },
        max_errors: args.max_errors,
        concurrency: args.concurrency,
        yes: args.yes,
        heartbeat: args.heartbeat,
        monitor: super::monitor::monitor(&args.monitor, &args.api),
    };
    common.job(Kind::Import(import), &args.api, args.sandbox, transport)
}

/// The `undo` flags, checked: a run whose input is the results file, taking its guests away.
pub fn undo(args: UndoArgs) -> Job {
    let undo = Undo {
        how: if args.disable {
            Removal::Disable
        } else {
            Removal::Delete
        },
        include_used: args.include_used,
    };
    let common = Common {
        file: args.file,
        dry_run: args.dry_run,
        output: Output {
            results: args.results,
            summary_json: args.summary_json,
            raw: args.style.raw,
            excel: args.style.excel,
        },
        max_errors: args.max_errors,
        concurrency: args.concurrency,
        yes: args.yes,
        heartbeat: args.heartbeat,
        monitor: super::monitor::monitor(&args.monitor, &args.api),
    };
    let transport = transport(&args.api);
    common.job(Kind::Undo(undo), &args.api, false, transport)
}

/// Builds a job from an `import …` or `undo …` command line (without the program's name),
/// exactly as the command line tool does: the page is the CLI with a form. A command line clap
/// refuses, or another command, is an error in words.
pub fn job_from_args(argv: &[&str]) -> Result<Job, String> {
    use clap::Parser;
    let words = std::iter::once(env!("CARGO_PKG_NAME")).chain(argv.iter().copied());
    let argv: Vec<String> = words.clone().map(str::to_string).collect();
    let cli = crate::cli::Cli::try_parse_from(words).map_err(|error| error.render().to_string())?;
    let mut job = match cli.command {
        crate::cli::Command::Import(args) => import(args),
        crate::cli::Command::Undo(args) => undo(args),
        _ => return Err("a job is an `import …` or an `undo …` command line".to_string()),
    };
    job.argv = argv;
    Ok(job)
}

/// What the page (`ui`) asks of one job: built directly, with no command line rendered and
/// parsed back (which would also reset process-wide settings such as `--io-timeout`).
#[derive(Debug)]
pub struct PageJob {
    /// The upload, or (`retry`, `undo`) an earlier results file.
    pub file: PathBuf,
    /// Continue an earlier run from its results (`--retry-from`).
    pub retry: bool,
    /// Take back what the results file says was created (`undo`).
    pub undo: bool,
    /// A preview (`--dry-run`).
    pub dry_run: bool,
    /// Where the results go.
    pub results: PathBuf,
    /// Where the run's account goes.
    pub summary_json: PathBuf,
    /// The person's mapping changes.
    pub map: Vec<(String, Target)>,
    /// Cells fixed on the page.
    pub edits: Vec<crate::input::CellEdit>,
    /// How it reaches Tallyfy.
    pub reach: Reach,
    /// The command line that would do the same, for the summary's record only.
    pub argv: Vec<String>,
}

/// The job of a page's run: what `import` or `undo` with the CLI's defaults would be, never
/// `--yes` (a send or an undo asks the engine's question, which the page shows and answers).
pub fn page(spec: PageJob) -> Job {
    let kind = if spec.undo {
        Kind::Undo(Undo {
            how: Removal::Delete,
            include_used: false,
        })
    } else {
        Kind::Import(Import {
            retry: spec.retry,
            read: Reading {
                map: spec.map,
                edits: spec.edits,
                ..Reading::default()
            },
            on_existing: OnExisting::Skip,
            report_missing: None,
            on_missing: OnMissing::Report,
            max_missing: ErrorBudget::Percent(5.0),
            include_used: false,
        })
    };
    let transport = match &spec.reach {
        Reach::Api(config) => Some(&config.transport),
        Reach::Sandbox(transport) => Some(transport),
        Reach::Offline => None,
    };
    let max_retries = transport.map_or(0, |transport| transport.max_retries);
    // The page's runs go in the history as the CLI's do, in the same folder (`ui --state-dir`
    // as the transport carries it, else the user's); the page has no notification or metrics
    // flags of its own.
    let monitor = super::Monitor {
        history_dir: super::history_dir(transport.and_then(|t| t.state_dir.as_deref())),
        ..super::Monitor::default()
    };
    Job {
        kind,
        file: Source::from_arg(&spec.file),
        dry_run: spec.dry_run,
        output: Output {
            results: Some(spec.results),
            summary_json: Some(spec.summary_json),
            raw: false,
            excel: false,
        },
        max_errors: None,
        concurrency: 8,
        max_retries,
        yes: false,
        heartbeat: Duration::ZERO,
        reach: Ok(spec.reach),
        refused: Vec::new(),
        lock_dir: lock_dir(),
        argv: spec.argv,
        monitor,
    }
}

/// The settings every kind of run has, as the flags give them.
struct Common {
    file: PathBuf,
    dry_run: bool,
    output: Output,
    max_errors: Option<ErrorBudget>,
    concurrency: u32,
    yes: bool,
    heartbeat: Duration,
    /// The watchers, and what is wrong with their flags.
    monitor: (super::Monitor, Vec<String>),
}

impl Common {
    /// The job of `kind`, reaching Tallyfy as the flags say, with the flag rules checked.
    fn job(self, kind: Kind, api: &ApiArgs, sandbox: bool, transport: Transport) -> Job {
        crate::files::wait::set_limit(api.io_timeout);
        let reach = super::reach(api, sandbox, self.dry_run, transport);
        let (monitor, monitor_problems) = self.monitor;
        let mut refused = refused(&kind, &reach);
        refused.extend(monitor_problems);
        Job {
            kind,
            file: Source::from_arg(&self.file),
            dry_run: self.dry_run,
            output: self.output,
            max_errors: self.max_errors,
            concurrency: self.concurrency as usize,
            max_retries: api.max_retries,
            yes: self.yes,
            heartbeat: self.heartbeat,
            reach,
            refused,
            lock_dir: lock_dir(),
            argv: std::env::args_os()
                .map(|arg| arg.to_string_lossy().into_owned())
                .collect(),
            monitor,
        }
    }
}

/// The flag rules across flags: what a kind of run cannot do with the others it was given.
fn refused(kind: &Kind, reach: &Result<Reach, ConfigError>) -> Vec<String> {
    let Kind::Import(import) = kind else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    if import.report_missing.is_some() && matches!(reach, Ok(Reach::Offline)) {
        problems.push("--report-missing needs the organization's guest list: give credentials (or --sandbox)".into());
    }
    if let Some(how) = import.on_missing.removal() {
        let flag = format!("--on-missing {}", how.verb());
        if import.report_missing.is_none() {
            problems.push(format!(
                "{flag} records what it does in the --report-missing file: give one, e.g. --report-missing missing.csv"
            ));
        }
        if import.read.limit.is_some() {
            problems.push(format!(
                "{flag} cannot be used with --limit: the guests of the rows not read would look missing"
            ));
        }
    }
    if import.include_used && import.on_missing != crate::modes::OnMissing::Delete {
        problems.push(
            "--include-used is for --on-missing delete (guests with work are kept otherwise); a disable is never held back for it".into(),
        );
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_undo_has_only_an_undos_settings() {
        let job = job_from_args(&["undo", "crm.results.csv", "--disable", "--dry-run", "--sandbox"]);
        // `undo` has no --sandbox: clap refuses it, as the command line does.
        assert!(job.is_err());
        let job = job_from_args(&["undo", "crm.results.csv", "--disable", "--include-used"]).unwrap();
        let Kind::Undo(undo) = job.kind else { panic!("an undo") };
        assert_eq!(undo.how, Removal::Disable);
        assert!(undo.include_used);
        assert!(job.kind.reads_results() && job.kind.removes());
        assert_eq!(job.kind.command(), "undo");
        assert!(job.refused.is_empty());
    }

    #[test]
    fn a_mirror_without_its_report_is_refused_in_words() {
        let job = job_from_args(&["import", "g.csv", "--sandbox", "--on-missing", "delete", "--limit", "3"]).unwrap();
        assert_eq!(job.kind.mirror(), Some(Removal::Delete));
        assert_eq!(job.refused.len(), 2, "{:?}", job.refused);
        assert!(job.refused[0].starts_with("--on-missing delete records what it does"));
        let retry = job_from_args(&["import", "--retry-from", "g.results.csv", "--sandbox"]).unwrap();
        assert!(retry.kind.reads_results() && !retry.kind.removes());
        assert!(job_from_args(&["export", "--sandbox"]).is_err());
    }
}
