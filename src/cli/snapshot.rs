use super::output::Output;
use super::GlobalArgs;
use anyhow::Result;
use clap::Args;
use fabx::network::snapshot::{self, RestoreOptions};
use fabx::{EngineChoice, EngineKind, Network};
use serde_json::json;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// The archive to write (gzip-compressed tar, e.g. net.tar.gz); must not exist
    pub file: PathBuf,
    /// Also save the chaincode images (Docker's save format), for a machine that has
    /// neither the images nor the chaincode directories
    #[arg(long)]
    pub with_images: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// An archive `fabx snapshot` wrote
    pub file: PathBuf,
}

pub async fn snapshot(network: &Network, args: SnapshotArgs, output: &Output) -> Result<()> {
    let report =
        output.finish_steps(network.snapshot(&args.file, args.with_images, output).await)?;
    output.summary(
        &format!(
            "snapshot of network {} written to {} ({:.1} MB): {} ledgers ({}), chaincode {}{}",
            network.topology.network,
            report.path.display(),
            report.bytes as f64 / 1e6,
            report.ledgers,
            match report.paused.is_zero() {
                true => "copied from the stopped nodes".to_string(),
                false => format!("nodes paused {:.2}s", report.paused.as_secs_f64()),
            },
            match report.chaincodes.is_empty() {
                true => "none".to_string(),
                false => report.chaincodes.join(", "),
            },
            match report.images.is_empty() {
                true => String::new(),
                false => format!(", images {}", report.images.join(", ")),
            }
        ),
        json!({
            "command": "snapshot", "status": "ok", "network": network.topology.network,
            "file": report.path, "bytes": report.bytes, "ledgers": report.ledgers,
            "chaincodes": report.chaincodes, "images": report.images,
            "paused_ms": report.paused.as_millis() as u64,
        }),
    );
    Ok(())
}

pub async fn restore(global: &GlobalArgs, args: RestoreArgs, output: &Output) -> Result<()> {
    // The topology is the snapshot's: --config (or FABX_CONFIG) is not read.
    let kind = global.engine.unwrap_or(EngineKind::Docker);
    let choice = EngineChoice {
        kind,
        ..Default::default()
    };
    let network_name = global.network.clone().unwrap_or_default();
    let engine = fabx::engine::connect(&choice, &network_name).await?;
    let options = RestoreOptions {
        network: global.network.clone(),
        state_dir: global.state_dir.clone(),
        isolate: false,
    };
    let (network, report) =
        output.finish_steps(snapshot::restore(engine, &args.file, &options, output).await)?;
    let chaincodes: Vec<String> = report
        .chaincodes
        .iter()
        .map(|(name, how)| format!("{name} ({how})"))
        .collect();
    output.summary(
        &format!(
            "network {} restored from {} in {:.1}s: {} nodes with their ledgers, chaincode {} (files in {}){}",
            report.network,
            args.file.display(),
            report.elapsed.as_secs_f64(),
            report.nodes,
            match chaincodes.is_empty() {
                true => "none".to_string(),
                false => chaincodes.join(", "),
            },
            report.state_dir.display(),
            match &report.topology_file {
                Some(file) => format!("; give later commands --config {}", file.display()),
                None => String::new(),
            }
        ),
        json!({
            "command": "restore", "status": "ok", "network": report.network,
            "state_dir": report.state_dir, "nodes": report.nodes,
            "chaincodes": report.chaincodes.iter().map(|(n, h)| json!({"name": n, "runs": h})).collect::<Vec<_>>(),
            "duration_ms": report.elapsed.as_millis() as u64,
            "channel": network.topology.default_channel(),
            "topology_file": report.topology_file,
        }),
    );
    Ok(())
}
