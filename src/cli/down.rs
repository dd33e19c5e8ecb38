use super::output::Output;
use anyhow::Result;
use fabx::{EngineKind, Network};
use serde_json::json;

pub async fn run(network: &Network, force: bool, output: &Output) -> Result<()> {
    let name = &network.topology.network;
    let outcome = output.finish_steps(network.down_with(force, output).await)?;
    let text = if outcome.removed_nothing() {
        format!("network {name} is not up; nothing to remove")
    } else {
        let workloads = match network.engine.kind() {
            EngineKind::Docker => "containers",
            EngineKind::Kubernetes => "workloads",
        };
        let space = format!(", {}", network.engine.space());
        format!(
            "network {name} removed: {} {workloads} with their volumes{}{}",
            outcome.containers,
            if outcome.network_removed {
                space.as_str()
            } else {
                ""
            },
            match &outcome.state_dir_removed {
                Some(dir) => format!(", and {}", dir.display()),
                None => String::new(),
            }
        )
    };
    output.summary(
        &text,
        json!({
            "command": "down", "status": "ok", "network": name,
            "containers_removed": outcome.containers,
            "network_removed": outcome.network_removed,
            "state_dir_removed": outcome.state_dir_removed,
        }),
    );
    Ok(())
}
