//! `tx ID [--channel C]`: one transaction decoded whole (with `--json`, as one object).

use super::output::Output;
use anyhow::Result;
use clap::Args;
use fabx::ledger::{NamespaceRwSet, Party, TxView};
use fabx::Network;

#[derive(Debug, Args)]
pub struct TxArgs {
    /// The transaction ID (as `fabx blocks` and `fabx invoke --json` print it)
    pub tx_id: String,
    /// Channel (default: the topology's default channel)
    #[arg(long)]
    pub channel: Option<String>,
}

pub async fn run(network: &Network, args: TxArgs, output: &Output) -> Result<()> {
    let channel = args.channel.as_deref();
    let tx = output.finish_steps(network.transaction(channel, &args.tx_id).await)?;
    if output.json() {
        println!("{}", serde_json::to_string(&tx)?);
    } else {
        print!("{}", describe(&tx));
    }
    Ok(())
}

/// The transaction as indented text: header fields, then what it read and wrote.
pub fn describe(tx: &TxView) -> String {
    let mut out = format!("transaction {}\n", tx.tx_id);
    let mut field = |name: &str, value: String| out.push_str(&format!("  {name:<11} {value}\n"));
    field("channel", tx.channel.clone());
    field("block", format!("{}, transaction {}", tx.block, tx.index));
    field("type", tx.kind.clone());
    field(
        "timestamp",
        tx.timestamp.clone().unwrap_or_else(|| "-".into()),
    );
    field("validation", tx.validation_or_dash().to_string());
    field("creator", party(&tx.creator));
    if let Some(chaincode) = &tx.chaincode {
        field("chaincode", chaincode.clone());
        let args: Vec<String> = tx.args.iter().map(|a| a.to_string()).collect();
        field("arguments", args.join(" "));
    }
    for (i, endorser) in tx.endorsers.iter().enumerate() {
        field(if i == 0 { "endorsers" } else { "" }, party(endorser));
    }
    if let Some(response) = &tx.response {
        let message = match response.message.as_str() {
            "" => String::new(),
            message => format!(" ({message})"),
        };
        field(
            "response",
            format!("{}{message} {}", response.status, response.payload),
        );
    }
    if let Some(event) = &tx.event {
        field("event", format!("{} {}", event.name, event.payload));
    }
    for ns in &tx.rwsets {
        out.push_str(&namespace(ns));
    }
    out
}

fn party(party: &Party) -> String {
    match &party.name {
        Some(name) => format!("{} {name}", party.msp_id),
        None => party.msp_id.clone(),
    }
}

/// A key as typed, or quoted with escapes when it holds control characters (Fabric's
/// own keys and composite keys start with U+0000).
fn key(key: &str) -> String {
    match key.chars().any(char::is_control) {
        true => format!("{key:?}"),
        false => key.to_string(),
    }
}

fn namespace(ns: &NamespaceRwSet) -> String {
    let mut out = format!("  namespace {}\n", ns.namespace);
    for read in &ns.reads {
        let version = match read.version {
            Some((block, tx)) => format!("version {block}:{tx}"),
            None => "absent".into(),
        };
        out.push_str(&format!("    read    {} ({version})\n", key(&read.key)));
    }
    if ns.range_queries > 0 {
        out.push_str(&format!("    range queries: {}\n", ns.range_queries));
    }
    for write in &ns.writes {
        match write.deleted {
            true => out.push_str(&format!("    delete  {}\n", key(&write.key))),
            false => out.push_str(&format!(
                "    write   {} = {}\n",
                key(&write.key),
                write.value
            )),
        }
    }
    for collection in &ns.collections {
        out.push_str(&format!(
            "    collection {} (hashes)\n",
            collection.collection
        ));
        for key_hash in &collection.reads {
            out.push_str(&format!("      read    {key_hash}\n"));
        }
        for write in &collection.writes {
            match write.deleted {
                true => out.push_str(&format!("      delete  {}\n", write.key_hash)),
                false => out.push_str(&format!(
                    "      write   {} = {}\n",
                    write.key_hash, write.value_hash
                )),
            }
        }
    }
    out
}
