//! Fabric CLI invocations as values: each renders the argument list that runs inside a
//! container with docker exec, plus the environment it needs.

use crate::layout::container;
use crate::topology::{ports, Node};

/// Anything run with the `peer` CLI inside a peer's own container, as its org admin.
pub trait PeerCli {
    fn args(&self) -> Vec<String>;
    /// Whether the CLI must log at INFO: some results (install's package ID, invoke's
    /// payload) are only logged.
    fn result_is_logged(&self) -> bool {
        false
    }
}

/// Channel commands of the `peer` CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerCommand {
    ChannelJoin { block: String },
    ChannelList,
    ChannelGetInfo { channel: String },
}

impl PeerCli for PeerCommand {
    fn args(&self) -> Vec<String> {
        let words: Vec<&str> = match self {
            PeerCommand::ChannelJoin { block } => vec!["peer", "channel", "join", "-b", block],
            PeerCommand::ChannelList => vec!["peer", "channel", "list"],
            PeerCommand::ChannelGetInfo { channel } => {
                vec!["peer", "channel", "getinfo", "-c", channel]
            }
        };
        words.into_iter().map(String::from).collect()
    }
}

/// How long the `peer` CLI may take to connect to a peer or an orderer.
pub const DIAL_TIMEOUT: &str = "10s";

/// Environment that makes the `peer` CLI act as the org admin against `peer`, over TLS.
pub fn peer_env(peer: &Node, command: &impl PeerCli) -> Vec<String> {
    let logging = if command.result_is_logged() {
        // Fabric 3.x logs every gRPC connection at INFO; keep those out.
        "grpc=error:info"
    } else {
        "error"
    };
    vec![
        format!("CORE_PEER_LOCALMSPID={}", peer.msp_id),
        format!("CORE_PEER_MSPCONFIGPATH={}", container::ADMIN_MSP),
        format!("CORE_PEER_ADDRESS={}:{}", peer.host, ports::PEER),
        format!("CORE_PEER_TLS_ROOTCERT_FILE={}/tls/ca.crt", container::NODE),
        format!("FABRIC_LOGGING_SPEC={logging}"),
        // The CLI dials peers with core.yaml's 3 s; a busy machine needs more, and a
        // dial that still fails is retried (see crate::transient).
        format!("CORE_PEER_CLIENT_CONNTIMEOUT={DIAL_TIMEOUT}"),
    ]
}
