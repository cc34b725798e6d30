//! Thin entry point: parse flags, start logging and the runtime, run, map the outcome to an
//! exit code. Everything else is in the library.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tallyfy_guests::RunError;
use tallyfy_guests::cli::{Cli, LogFormat};
use tallyfy_guests::error::Exit;

/// glibc's allocator serialises the reader thread and the pipeline on its arena lock; mimalloc
/// keeps per-thread heaps (measured: see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return tallyfy_guests::logging::flag_error(error),
    };
    let ui = tallyfy_guests::logging::init(cli.log_format == LogFormat::Json, cli.quiet);
    // A worker per core: at high concurrency the TLS-free loopback case is bound by the CPU spent
    // in hyper and the kernel, and a second worker measured ~8 % more rows/s than a
    // current-thread runtime (BENCHMARKS.md). The file reader has a blocking thread of its own.
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
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
