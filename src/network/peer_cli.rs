//! The `peer` CLI run inside a peer's own container as its org admin: the lifecycle
//! commands, which the design keeps as CLI calls. Everything else goes over gRPC
//! ([`super::calls`]).

use super::Network;
use crate::artifacts::layout::{container, container_tlsca};
use crate::engine::ExecOutput;
use crate::network::error::{Error, Result};
use crate::support::retry::{retry, Backoff, RETRY_BOUND};
use crate::topology::{ports, Node};
use fabx_fabric::cli::lifecycle::{Endorser, OrdererEndpoint};
use fabx_fabric::cli::{peer_env, CliAdmin, PeerCli};
use fabx_fabric::transient::{classify, Failure};

/// Whether a failed command is an error or an answer the caller reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// A non-zero exit (after transient failures were retried) is [`Error::Command`].
    Checked,
    /// A non-zero exit is returned as output: the caller reads its meaning (a 404 from
    /// querycommitted, a chaincode's error message).
    Unchecked,
}

impl Network {
    /// The one way a Fabric CLI runs in a container: transient failures (see
    /// [`fabx_fabric::transient`]) are tried again with backoff within a bound; a permanent
    /// one fails at once, or is returned as output with [`Check::Unchecked`].
    pub(crate) async fn run_cli(
        &self,
        container: &str,
        args: Vec<String>,
        env: Vec<String>,
        check: Check,
    ) -> Result<ExecOutput> {
        // A failed run is an Err here only so that the one retry sees it.
        let failed = retry(
            Backoff::new(RETRY_BOUND),
            |failed: &Result<ExecOutput>| match failed {
                Ok(output) => matches!(classify(&output.printed()), Failure::Transient(_)),
                Err(_) => false,
            },
            || async {
                match self.engine.exec(container, &args, &env).await {
                    Ok(output) if output.success() => Ok(output),
                    Ok(output) => Err(Ok(output)),
                    Err(e) => Err(Err(e.into())),
                }
            },
        )
        .await;
        let output = match failed {
            Ok(output) => return Ok(output),
            Err(failed) => failed?,
        };
        match check {
            Check::Unchecked => Ok(output),
            Check::Checked => Err(Error::command(container, &args, &output)),
        }
    }

    /// Runs a `peer` command as the org admin inside the peer's own container.
    pub(crate) async fn peer(&self, peer: &Node, command: &impl PeerCli) -> Result<ExecOutput> {
        self.peer_with(peer, command, Check::Checked).await
    }

    pub(crate) async fn peer_with(
        &self,
        peer: &Node,
        command: &impl PeerCli,
        check: Check,
    ) -> Result<ExecOutput> {
        let container = self.topology.container_name(&peer.host);
        let env = peer_env(&cli_admin(peer), command);
        self.run_cli(&container, command.args(), env, check).await
    }
}

/// The org admin of `peer`'s org, as the CLI in `peer`'s container acts.
pub fn cli_admin(peer: &Node) -> CliAdmin {
    CliAdmin {
        msp_id: peer.msp_id.clone(),
        msp_dir: container::ADMIN_MSP.to_string(),
        peer_address: format!("{}:{}", peer.host, ports::PEER),
        tls_root_cert: format!("{}/tls/ca.crt", container::NODE),
    }
}

/// An orderer's listener and its org's TLS CA inside the peer containers.
pub fn orderer_endpoint(orderer: &Node) -> OrdererEndpoint {
    OrdererEndpoint {
        address: orderer.address(),
        ca_file: container_tlsca(&orderer.domain),
    }
}

/// A peer that endorses a commit, as the CLI in another peer's container dials it.
pub fn endorser(peer: &Node) -> Endorser {
    Endorser {
        address: peer.address(),
        ca_file: container_tlsca(&peer.domain),
    }
}
