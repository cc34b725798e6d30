//! The run's options: what the pipeline, planning and the acts read of the job (concurrency,
//! dry run, resends, `--on-existing`, the error budget, undo, the members once read, the acts
//! journal).

use super::plan::prefetch::Members;
use crate::modes::OnExisting;

/// What the pipeline, planning and the acts read of the run's configuration.
pub(super) struct Options {
    pub(super) concurrency: usize,
    pub(super) dry_run: bool,
    pub(super) max_retries: u32,
    pub(super) on_existing: OnExisting,
    /// `--max-errors`, as a number of failed rows.
    pub(super) max_failed: Option<u64>,
    pub(super) report_missing: bool,
    /// `undo`: the results' created guests are taken away so.
    pub(super) undo: Option<crate::modes::Removal>,
    /// `undo --include-used`: guests used since the import are taken away too.
    pub(super) include_used: bool,
    /// `--on-missing disable`: a disabled guest who is in the file is enabled again.
    pub(super) reenable: bool,
    /// About how many rows the file has, to size the email table once.
    pub(super) expected_rows: Option<u64>,
    /// The organization's members, once the pipeline has read them (never offline, nor when
    /// the list was refused): rows the server would refuse are decided with them.
    pub(super) members: std::sync::OnceLock<Members>,
    /// Where every delete, disable and enable is recorded before it is sent.
    pub(super) journal: super::act::journal::Journal,
}
