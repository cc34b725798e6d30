//! Telling what happened: the results file (`results`, or a workbook made from it: `workbook`),
//! the run's account (`summary`) and the one next command (`next`), the guests the file does not
//! name (`missing`). Nothing here changes what the run does, and nothing here draws on a
//! terminal (the bar and heartbeat are the terminal face's: `commands::import::progress`).

pub(super) mod missing;
pub(super) mod next;
pub mod results;
pub(crate) mod summary;
pub mod workbook;
