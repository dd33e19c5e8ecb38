//! assetcc: assets owned by orgs. Each asset's key carries an endorsement policy naming
//! its owner org (state-based endorsement), transfers emit an event, only callers whose
//! certificate has the attribute `role=auditor` read an asset's history, and one function
//! calls another chaincode. See README.md.

mod contract;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match fabx_shim::serve_from_env(contract::AssetContract).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("assetcc: {e}");
            ExitCode::FAILURE
        }
    }
}
