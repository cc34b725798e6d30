//! The engine of `import` and `undo`: read → validate → dedupe → create → results, streaming
//! through bounded channels so memory does not grow with the file (beyond the emails seen). Every input record gets
//! exactly one result row; a stop (token rejected, rate-limited beyond `--max-wait`, a signal)
//! turns what is left into `deferred` rows, and re-running the same command continues.
//!
//! This file is the facade and the library's API: it places the children and passes their
//! names on ([`start`], [`Running`], [`Event`], [`Status`], [`Summary`], ...), with no code of
//! its own, and no child names it back. It emits typed events and writes no human text: its
//! faces are `commands::import` (the terminal) and `ui` (the page). The folder shows the pipeline, in the order a run meets it:
//! - `job`: the run, stage by stage, from set-up to the end (what `engine::start` spawns).
//! - `setup`: every check before anything is sent (input, outputs, configuration, where the acts
//!   journal goes), the connection; `lock`: one run at a time per results file (and per
//!   organization for a run that deletes or disables); `options`: what the run's stages read of its configuration.
//! - `pipeline`: the run loop, which asks `confirm`'s question once the file is planned, and
//!   whose `stop` (signals, a rejected token, a long rate limit) every stage obeys.
//! - `plan/`: what each row becomes: `reader` (the file, validated, in batches), `prefetch`
//!   (the organization's guests), `dedupe` against them (`existing`), `sync` (profiles compared).
//! - `act/`: what is sent: `execute` (`create` with read-backs, `update` of members), `undo`
//!   (takes back the guests a results file says were created), `mirror` (`--on-missing`),
//!   `remove` (one guest taken away after reading it back), `journal` (every act, written ahead).
//! - `report/`: what is told: `results` (the results file, and `workbook` for `.xlsx`), `missing`
//!   (`--report-missing`), `summary`, `next` (the command to run next).
//! - `outcome`: what became of a row (`Status`, `Outcome`), shared by all three.
//! - `event`: what a run tells its watchers (`Event`, `Wait`), its question (`Confirm`), and
//!   where it sends them (`Events`): a leaf that the stages send to and the faces read.
//! - `start`: the run as a library (`start`, the `Running` handle, its stop).

mod act;
pub(crate) mod confirm;
pub(crate) mod event;
pub(crate) mod job;
mod link;
mod lock;
mod options;
pub(crate) mod outcome;
mod pipeline;
mod plan;
pub mod report;
pub(crate) mod setup;
mod start;
mod stop;

pub use event::{Confirm, Event, Listing, Wait};
pub use outcome::{NextStep, Status, Tone};
pub use report::summary::{Summary, SummaryFile};
pub(crate) use start::{GRACE, start_with};
pub use start::{Running, Stopper, start, start_on_page};
