//! The run's options: what the pipeline, planning and the acts read of the job (concurrency,
//! resends, `--on-existing`, the error budget, undo, the members once read, the acts
//! journal).

use super::plan::prefetch::Members;
use crate::modes::OnExisting;

/// What a run does with each row of its file, chosen once from the job's kind.
pub(super) enum Rows {
    /// Plan it against the organization's guests, then create or update (an import, a retry).
    Import,
    /// Take back the guest it says was created, by these rules (an undo).
    Undo(super::act::undo::Rules),
}

/// What the pipeline, planning and the acts read of the run's configuration.
pub(super) struct Options {
    pub(super) concurrency: usize,
    pub(super) max_retries: u32,
    pub(super) on_existing: OnExisting,
    /// `--max-errors`, as a number of failed rows.
    pub(super) max_failed: Option<u64>,
    pub(super) report_missing: bool,
    /// What the run does with each row, chosen once from the job's kind.
    pub(super) rows: Rows,
    /// `--on-missing disable`: a disabled guest who is in the file is enabled again.
    pub(super) reenable: bool,
    /// About how many rows the file has, to size the email table once.
    pub(super) expected_rows: Option<u64>,
    /// The organization's members, once the pipeline has read them (never offline, nor when
    /// the list was refused): rows the server would refuse are decided with them.
    pub(super) members: std::sync::OnceLock<Members>,
    /// Where every delete, disable and enable is recorded before it is sent.
    pub(super) journal: super::act::journal::Journal,
    /// A plain rerun's guests that an earlier run of the job created (its results file).
    pub(super) earlier: super::plan::earlier::EarlierCreates,
}
