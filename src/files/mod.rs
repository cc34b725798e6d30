//! Writing files safely: `output` (CSV out, files that appear under their final name only when
//! whole, outputs written in place that never keep a run waiting), `overwrite` (whose file a
//! path is, so a person's spreadsheet is never replaced), `wait` (blocking waits bounded by
//! `--io-timeout` and ended by a signal). What is written is decided elsewhere; how it reaches
//! the disk is decided here.

pub mod output;
pub mod overwrite;
pub mod wait;
