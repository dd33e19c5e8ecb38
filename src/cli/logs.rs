//! `logs NAME [-f] [--tail N]`: a node's logs, or every container of a chaincode with each
//! line prefixed by its org.

use super::output::Output;
use anyhow::Result;
use clap::Args;
use fabx::Network;
use futures_util::StreamExt;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// A node's host name (peer0.org1.example.com) or a deployed chaincode's name
    pub name: String,
    /// Keep printing what it prints next
    #[arg(short, long)]
    pub follow: bool,
    /// Start with the last N lines
    #[arg(long, value_name = "N")]
    pub tail: Option<usize>,
}

pub async fn run(network: &Network, args: LogsArgs, output: &Output) -> Result<()> {
    let mut lines = output.finish_steps(network.logs(&args.name, args.tail, args.follow).await)?;
    while let Some(line) = lines.next().await {
        let line = line?;
        if line.source.is_empty() {
            println!("{}", line.line);
        } else {
            println!("[{}] {}", line.source, line.line);
        }
    }
    Ok(())
}
