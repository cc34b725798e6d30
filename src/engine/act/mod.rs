//! Acting on the plan: what is sent for each row, and what a run that deletes or disables does
//! to the organization. Nothing here decides what a row becomes (that is `plan`) or writes the
//! results (that is `report`); every act's outcome goes back as an `Outcome`.
//!
//! - `execute`: a planned row carried out: `create` (with read-backs, so a guest is never
//!   created twice), `update` (members, enabling a disabled guest).
//! - `undo`: the rows of a results file taken back (read back, proven ours, then `remove`d).
//! - `mirror`: `--on-missing`, the guests the file does not name taken away (`remove`).
//! - `remove`: deleting or disabling one guest after reading it back; `journal`: every delete,
//!   disable and enable written down before it is sent.

pub(super) mod create;
pub(super) mod execute;
pub(super) mod journal;
pub(super) mod mirror;
pub(super) mod remove;
pub(super) mod undo;
pub(super) mod update;
