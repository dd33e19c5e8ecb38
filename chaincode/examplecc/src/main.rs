//! examplecc: Fabric's classic chaincode_example02 (asset transfer between two
//! entities), ported to Rust with the same functions, outputs and error texts.
//! Run as chaincode-as-a-service: see README.md for the environment variables.

mod example02;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match fabx_shim::serve_from_env(example02::Example02).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("examplecc: {e}");
            ExitCode::FAILURE
        }
    }
}
