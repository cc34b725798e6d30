//! Telling what happened: the results file (`results`, or a workbook made from it: `workbook`),
//! the run's account (`summary`) and the one next command (`next`), the guests the file does not
//! name (`missing`), and the progress bar and heartbeat while the run goes (`progress`). Nothing
//! here changes what the run does.

pub(super) mod missing;
pub(super) mod next;
pub(crate) mod progress;
pub mod results;
pub(crate) mod summary;
pub mod workbook;
