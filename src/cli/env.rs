//! `env ORG [--peer NAME] [--user NAME]`: `export` lines for a host `peer` CLI.

use super::output::Output;
use anyhow::Result;
use clap::Args;
use fabx::Network;

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// The org's MSP ID, e.g. Org1MSP
    pub org: String,
    /// One of its peers (host or short name; default its first)
    #[arg(long)]
    pub peer: Option<String>,
    /// The identity to act as: Admin, User1, or one made with `fabx identity add`
    #[arg(long, visible_alias = "identity", default_value = "Admin")]
    pub user: String,
}

pub async fn run(network: &Network, args: EnvArgs, output: &Output) -> Result<()> {
    let env = output.finish_steps(
        network
            .client_env(&args.org, args.peer.as_deref(), &args.user)
            .await,
    )?;
    if output.json() {
        let object: serde_json::Map<String, serde_json::Value> = env
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
        println!("{}", serde_json::Value::Object(object));
    } else {
        for (key, value) in env {
            println!("export {key}={value}");
        }
    }
    Ok(())
}
