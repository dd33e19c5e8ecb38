use super::output::Output;
use anyhow::Result;
use fabx::network::UpOutcome;
use fabx::Network;
use serde_json::json;

pub async fn run(network: &Network, output: &Output) -> Result<()> {
    let outcome = network.up(output).await;
    let outcome = output.finish_steps(outcome)?;
    print(network, outcome, "up", output);
    Ok(())
}

/// The summary of `up` or `start`.
pub fn print(network: &Network, outcome: UpOutcome, command: &str, output: &Output) {
    let topology = &network.topology;
    let channels: Vec<String> = topology.channels().into_iter().map(|c| c.name).collect();
    match outcome {
        UpOutcome::Started { nodes, elapsed } => output.summary(
            &format!(
                "network {} is up: {nodes} nodes joined to {} in {:.1}s (files in {})",
                topology.network,
                channels.join(", "),
                elapsed.as_secs_f64(),
                network.layout.root().display()
            ),
            json!({
                "command": "up", "status": "ok", "network": topology.network,
                "channel": topology.default_channel(), "channels": channels, "nodes": nodes,
                "duration_ms": elapsed.as_millis() as u64,
                "state_dir": network.layout.root(),
            }),
        ),
        UpOutcome::Restarted {
            containers,
            elapsed,
        } => output.summary(
            &format!(
                "network {} is up again: started {} stopped containers ({}) in {:.1}s; ledgers kept",
                topology.network,
                containers.len(),
                containers.join(", "),
                elapsed.as_secs_f64()
            ),
            json!({
                "command": command, "status": "restarted", "network": topology.network,
                "started": containers, "duration_ms": elapsed.as_millis() as u64,
            }),
        ),
        UpOutcome::AlreadyUp { containers } => output.summary(
            &format!(
                "network {} is already up ({containers} containers); `fabx stop` stops it, `fabx down` removes it",
                topology.network
            ),
            json!({
                "command": command, "status": "already_up", "network": topology.network,
                "containers": containers,
            }),
        ),
    }
}
