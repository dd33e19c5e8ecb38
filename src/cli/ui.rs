//! `ui [--port P] [--bind ADDR]`: serve the network's page until Ctrl-C.

use super::output::Output;
use anyhow::{Context, Result};
use clap::Args;
use fabx::Network;
use std::net::IpAddr;

#[derive(Debug, Args)]
pub struct UiArgs {
    /// The port to serve on (0: any free one)
    #[arg(long, default_value_t = 7070)]
    pub port: u16,
    /// The address to bind: this machine only by default
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
}

pub async fn run(network: Network, args: UiArgs, output: &Output) -> Result<()> {
    let listener = tokio::net::TcpListener::bind((args.bind, args.port))
        .await
        .with_context(|| {
            format!(
                "cannot serve on {}:{} (is another fabx ui or program using it? give --port N, or --port 0 for any free one)",
                args.bind, args.port
            )
        })?;
    let address = listener.local_addr()?;
    let url = format!("http://{address}/");
    output.summary(
        &format!(
            "fabx ui serves {} on {url} (Ctrl-C stops it)",
            network.topology.network
        ),
        serde_json::json!({ "command": "ui", "status": "serving", "url": url }),
    );
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    fabx::ui::serve(network, listener, stop).await?;
    Ok(())
}
