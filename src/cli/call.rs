//! `invoke` and `query`: a chaincode function with arguments, or the peer CLI's --ctor JSON.

use super::output::Output;
use anyhow::Result;
use clap::Args;
use fabx::network::invoke::{parse_transient, Call, CallOptions};
use fabx::Network;
use serde_json::json;

#[derive(Debug, Args)]
pub struct CallArgs {
    /// Chaincode name
    pub name: String,
    /// Function, then its arguments
    #[arg(required_unless_present = "ctor", conflicts_with = "ctor")]
    pub function: Option<String>,
    /// Arguments of the function (negative numbers are fine; put others that start
    /// with '-' after `--`)
    #[arg(allow_negative_numbers = true)]
    pub args: Vec<String>,
    /// The call as the peer CLI's JSON, e.g. '{"Args":["query","a"]}'
    #[arg(short = 'c', long)]
    pub ctor: Option<String>,
    /// Channel (default: the topology's first, or its `channel`)
    #[arg(long)]
    pub channel: Option<String>,
    /// Peer by host name or org MSP ID (repeatable). Invoke: the endorsers, the first
    /// submits (default: one peer of every org on the channel). Query: where it runs.
    #[arg(long = "peer", value_name = "PEER")]
    pub peers: Vec<String>,
    /// Transient data KEY=VALUE for the chaincode, never written to the ledger (repeatable)
    #[arg(long = "transient", value_name = "KEY=VALUE")]
    pub transient: Vec<String>,
    /// Act as this user of the submitting (or queried) peer's org, made with `fabx
    /// identity add` (default: the org's Admin)
    #[arg(long, value_name = "NAME")]
    pub identity: Option<String>,
}

impl CallArgs {
    fn options(&self, org: Option<String>) -> fabx::Result<CallOptions> {
        Ok(CallOptions {
            channel: self.channel.clone(),
            peers: org.into_iter().chain(self.peers.iter().cloned()).collect(),
            transient: self
                .transient
                .iter()
                .map(|t| parse_transient(t))
                .collect::<fabx::Result<_>>()?,
            identity: self.identity.clone(),
        })
    }

    fn call(&self) -> fabx::Result<Call> {
        match (&self.ctor, &self.function) {
            (Some(json), _) => Call::from_ctor(json),
            (None, Some(function)) => Ok(Call::new(function, &self.args)),
            (None, None) => unreachable!("clap requires a function or --ctor"),
        }
    }
}

pub async fn invoke(network: &Network, args: CallArgs, output: &Output) -> Result<()> {
    let call = args.call()?;
    let options = args.options(None)?;
    let result = output.finish_steps(network.invoke_with(&args.name, &call, &options).await)?;
    if output.json() {
        println!(
            "{}",
            json!({ "command": "invoke", "status": "ok", "chaincode_status": result.status, "payload": result.payload, "tx_id": result.tx_id, "event": result.event })
        );
        return Ok(());
    }
    output.note(&format!("committed transaction {}", result.tx_id));
    if let Some(event) = &result.event {
        output.note(&format!("event {} {}", event.name, event.payload));
    }
    if !result.payload.is_empty() {
        println!("{}", result.payload);
    }
    Ok(())
}

pub async fn query(
    network: &Network,
    args: CallArgs,
    org: Option<String>,
    output: &Output,
) -> Result<()> {
    let call = args.call()?;
    let options = args.options(org)?;
    let payload = output.finish_steps(network.query_with(&args.name, &call, &options).await)?;
    if output.json() {
        println!(
            "{}",
            json!({ "command": "query", "status": "ok", "payload": payload })
        );
    } else {
        println!("{payload}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::cli::{Cli, Command};
    use clap::Parser;

    #[test]
    fn query_arguments_and_flags() {
        let cli = Cli::try_parse_from([
            "fabx", "query", "cc", "query", "a", "-5", "--org", "Org2MSP", "-q",
        ])
        .unwrap();
        let Command::Query { call, org } = cli.command else {
            panic!("not a query")
        };
        assert_eq!(
            (call.function.as_deref(), call.args.as_slice()),
            (Some("query"), &["a".to_string(), "-5".to_string()][..])
        );
        assert_eq!(org.as_deref(), Some("Org2MSP"));
        assert!(cli.global.quiet);
        let cli = Cli::try_parse_from(["fabx", "invoke", "cc", "-c", r#"{"Args":["f"]}"#]).unwrap();
        let Command::Invoke(call) = cli.command else {
            panic!("not an invoke")
        };
        assert_eq!(
            (call.function, call.ctor.as_deref()),
            (None, Some(r#"{"Args":["f"]}"#))
        );
        assert!(
            Cli::try_parse_from(["fabx", "invoke", "cc"]).is_err(),
            "a function or --ctor is required"
        );
    }
}
