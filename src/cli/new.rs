//! `new NAME [--path DIR]`: a Rust chaincode crate on fabx-shim, ready for `fabx dev NAME`.

use super::output::Output;
use anyhow::Result;
use clap::Args;
use serde_json::json;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct NewArgs {
    /// Chaincode name (also the crate's and its binary's)
    pub name: String,
    /// Where the crate goes (default chaincode/<NAME>, where `fabx dev NAME` looks)
    #[arg(long)]
    pub path: Option<PathBuf>,
}

pub fn run(args: NewArgs, output: &Output) -> Result<()> {
    let dir = args
        .path
        .unwrap_or_else(|| PathBuf::from("chaincode").join(&args.name));
    let files = fabx::artifacts::scaffold::scaffold(&args.name, &dir)?;
    let dev = if dir == PathBuf::from("chaincode").join(&args.name) {
        format!("fabx dev {}", args.name)
    } else {
        format!("fabx dev {} --path {}", args.name, dir.display())
    };
    output.summary(
        &format!(
            "made chaincode {} in {} ({} files); `cargo test` there runs its tests, `{dev}` serves it",
            args.name,
            dir.display(),
            files.len()
        ),
        json!({ "command": "new", "status": "ok", "name": args.name, "dir": dir, "files": files }),
    );
    Ok(())
}
