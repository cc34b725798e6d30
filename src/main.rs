//! Thin entry point: parse flags, start logging and the runtime, run, map the outcome to an
//! exit code. Everything else is in the library.

#![warn(clippy::too_many_lines, clippy::unreachable, clippy::disallowed_methods)]

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tallyfy_guests::RunError;
use tallyfy_guests::cli::{Cli, Command, LogFormat};
use tallyfy_guests::error::Exit;

/// glibc's allocator serialises the reader thread and the pipeline on its arena lock; mimalloc
/// keeps per-thread heaps (measured: see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The sandbox serves many clients at once: a worker per core. Every other command is one
/// client waiting on the network, where a single thread does the same work with a third less
/// CPU than a worker pool, which spends it waking its workers up (measured: BENCHMARKS.md).
/// Reading and validating the file keeps a blocking thread of its own either way.
fn runtime_for(command: &Command) -> std::io::Result<tokio::runtime::Runtime> {
    match command {
        // The page serves its pages and events while its jobs run.
        Command::Sandbox(_) | Command::Ui(_) => tokio::runtime::Builder::new_multi_thread().enable_all().build(),
        _ => tokio::runtime::Builder::new_current_thread().enable_all().build(),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return tallyfy_guests::commands::refused::flag_error(error),
    };
    let ui = tallyfy_guests::logging::init(tallyfy_guests::cli::log_settings(
        cli.log_format == LogFormat::Json,
        cli.quiet,
    ));
    let runtime = match runtime_for(&cli.command) {
        Ok(runtime) => runtime,
        Err(e) => {
            tallyfy_guests::logging::error(ui, &format!("cannot start the async runtime: {e}"));
            return Exit::Problems.into();
        }
    };
    let result = runtime.block_on(tallyfy_guests::run(cli, ui));
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(exit) => exit.into(),
        Err(RunError::OutputClosed) => Exit::Success.into(),
        Err(error) => {
            for line in error.lines() {
                tallyfy_guests::logging::error(ui, &line);
            }
            error.exit().into()
        }
    }
}
