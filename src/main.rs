//! Thin entry point: parse flags, start logging and the runtime, run, map the outcome to an
//! exit code. Everything else is in the library.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tallyfy_guests::RunError;
use tallyfy_guests::cli::Cli;
use tallyfy_guests::error::exit;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ui = tallyfy_guests::logging::init(cli.log_format, cli.quiet);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::PROBLEMS);
        }
    };
    let result = runtime.block_on(tallyfy_guests::run(cli, ui));
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(RunError::OutputClosed) => ExitCode::SUCCESS,
        Err(error) => {
            let code = error.exit_code();
            eprintln!("error: {:#}", anyhow::Error::from(error));
            ExitCode::from(code)
        }
    }
}
