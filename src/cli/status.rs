use super::output::Output;
use anyhow::Result;
use fabx::Network;

pub async fn run(network: &Network, output: &Output) -> Result<()> {
    let status = network.status().await?;
    if output.json() {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(());
    }
    if !status.up {
        println!("network {} is not up", status.network);
        return Ok(());
    }
    let state = match status.state {
        fabx::network::NetworkState::Stopped => "stopped (`fabx start` starts it again)",
        fabx::network::NetworkState::PartlyRunning => {
            "partly running (`fabx start` starts the rest)"
        }
        other => other.as_str(),
    };
    println!("network {} on {}: {state}", status.network, status.engine);
    if let Some(storage) = &status.storage {
        println!("ledgers in {storage}");
    }
    println!(
        "{:<32} {:<8} {:<12} {:<9} {:<34} CHANNELS",
        "NODE", "KIND", "MSP", "STATE", "ADDRESSES"
    );
    for node in &status.nodes {
        let channels = match &node.error {
            Some(e) => format!("(unknown: {e})"),
            None if node.channels.is_empty() => "-".to_string(),
            None => node
                .channels
                .iter()
                .map(|c| format!("{} (height {})", c.name, c.height))
                .collect::<Vec<_>>()
                .join(", "),
        };
        let addresses = if node.addresses.is_empty() {
            "-".to_string()
        } else {
            node.addresses.join(" ")
        };
        println!(
            "{:<32} {:<8} {:<12} {:<9} {addresses:<34} {channels}",
            node.host,
            node.kind.as_str(),
            node.msp_id,
            node.state
        );
        // A peer's CouchDB on the line after it; LevelDB lives inside the peer.
        if let Some(db) = &node.state_database {
            if db.database == fabx::topology::StateDatabase::Couchdb {
                let addresses = match db.addresses.is_empty() {
                    true => "-".to_string(),
                    false => db.addresses.join(" "),
                };
                println!(
                    "{:<32} {:<8} {:<12} {:<9} {addresses:<34} state database of {}",
                    db.container.as_deref().unwrap_or("-"),
                    "couchdb",
                    node.msp_id,
                    db.state.as_deref().unwrap_or("-"),
                    node.host
                );
            }
        }
    }
    for other in &status.others {
        println!(
            "{:<32} {:<8} {:<12} {:<9} {}",
            other.container,
            other.role,
            other.msp_id.as_deref().unwrap_or("-"),
            other.state,
            other.addresses.join(" ")
        );
    }
    for channel in &status.channels {
        println!();
        println!("channel {} ({})", channel.channel, channel.orgs.join(", "));
        if let Some(e) = &channel.error {
            println!("  chaincodes unknown: {e}");
        } else if channel.chaincodes.is_empty() {
            println!("  no chaincode committed");
        }
        for cc in &channel.chaincodes {
            println!(
                "  {} version {} sequence {}{}, endorsement policy {}",
                cc.name,
                cc.version,
                cc.sequence,
                if cc.init_required {
                    " (init required)"
                } else {
                    ""
                },
                cc.endorsement_policy.as_deref().unwrap_or("(unreadable)")
            );
            for package in &cc.packages {
                let containers = package
                    .containers
                    .iter()
                    .map(|c| format!("{} {}", c.container, c.state))
                    .collect::<Vec<_>>()
                    .join(", ");
                println!(
                    "    {:<10} {} {}",
                    package.msp_id,
                    package
                        .package_id
                        .as_deref()
                        .unwrap_or("(no package installed)"),
                    if containers.is_empty() {
                        "(no container)".to_string()
                    } else {
                        format!("({containers})")
                    }
                );
            }
        }
    }
    Ok(())
}
