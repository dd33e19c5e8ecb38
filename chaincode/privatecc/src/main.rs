//! privatecc: an example chaincode for what examplecc does not touch: private data
//! collections, transient data, the creator's identity, range queries (with
//! pagination) and composite keys. Run as chaincode-as-a-service: see README.md
//! for the functions and the environment variables.

mod contract;
mod ledger;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match fabx_shim::serve_from_env(contract::PrivateCc).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("privatecc: {e}");
            ExitCode::FAILURE
        }
    }
}
