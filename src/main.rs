//! The `fabx` command line: parses arguments, calls the library, draws its reports.

mod cli;

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let output = cli::output::Output::new(&args.global);
    let profile = args.global.profile;
    if profile {
        fabx::profile::enable();
    }
    let result = cli::run(args, &output).await;
    if profile {
        output.profile(&fabx::profile::take());
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            output.error(&e);
            ExitCode::FAILURE
        }
    }
}
