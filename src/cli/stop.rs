use super::output::Output;
use anyhow::Result;
use fabx::Network;
use serde_json::json;

pub async fn stop(network: &Network, output: &Output) -> Result<()> {
    let name = &network.topology.network;
    let outcome = output.finish_steps(network.stop(output).await)?;
    let text = match outcome.stopped.len() {
        0 => format!("network {name} was stopped already; `fabx start` starts it again"),
        n => format!(
            "network {name} stopped: {n} containers, ledgers and chaincode kept; `fabx start` starts it again"
        ),
    };
    output.summary(
        &text,
        json!({
            "command": "stop", "status": "ok", "network": name,
            "stopped": outcome.stopped, "already_stopped": outcome.already_stopped,
        }),
    );
    Ok(())
}

pub async fn start(network: &Network, output: &Output) -> Result<()> {
    let outcome = output.finish_steps(network.start(output).await)?;
    super::up::print(network, outcome, "start", output);
    Ok(())
}
