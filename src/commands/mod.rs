//! One file per command, each a `run` that takes the command's checked configuration (and the
//! terminal's `Ui` where it talks to a person) and returns the exit code its outcome calls for:
//! `import` (import and undo: the engine watched from the terminal), `export`, `doctor`,
//! `template`, `sandbox`, `history`, `man`, `completions`; and `refused`, a command line clap refused.
//! The page's command is the page's own (`ui::run`). Commands sit above the engine and the
//! faces; nothing below names them.

pub mod completions;
pub mod doctor;
pub mod export;
pub mod history;
pub mod import;
pub mod man;
pub mod refused;
pub mod sandbox;
pub mod template;
