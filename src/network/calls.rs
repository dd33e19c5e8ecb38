//! Chaincode calls and channel joins from fabx itself, over gRPC to the nodes' published
//! ports as the org's admin ([`fabx_fabric::node`]): no peer CLI started in a container
//! per call. Failures that mean "not reachable yet" are retried within [`RETRY_BOUND`],
//! as for CLI commands; a transaction is never sent to the orderer twice unless the
//! orderer said it could not take it.

use super::Network;
use crate::network::deploy::chaincode_error;
use crate::network::error::{Error, Result};
use crate::network::invoke::InvokeResult;
use crate::support::profile::timed;
use crate::support::retry::{retry, retry_judged, Backoff, Judged, RETRY_BOUND};
use crate::topology::{ports, Node};
use fabx_fabric::ledger;
use fabx_fabric::protos::protos::{ProposalResponse, TxValidationCode};
use fabx_fabric::system::SystemQuery;
use fabx_fabric::transient::DIAL_FAILURES;
use fabx_fabric::{ClientIdentity, FabricError, Invocation, NodeConnection, Proposal};
use futures_util::future::try_join_all;
use std::future::Future;
use std::time::Duration;

/// How long an invoke waits for its transaction to be committed (the CLI's default).
const COMMIT_WAIT: Duration = Duration::from_secs(30);

impl Network {
    /// The org admin of `node`'s org, as fabx's gRPC client identity.
    pub(super) fn admin_identity(&self, node: &Node) -> Result<ClientIdentity> {
        let dir = self.layout.user_dir(node.kind, &node.domain, "Admin");
        Ok(ClientIdentity::from_user_dir(&node.msp_id, &dir)?)
    }

    /// A TLS connection to `node`'s `port` (its published address), trusting its org's
    /// TLS CA; retried while the node cannot be reached.
    pub(super) async fn connect_to(
        &self,
        node: &Node,
        port: u16,
        identity: &ClientIdentity,
    ) -> Result<NodeConnection> {
        let ca_path = self
            .layout
            .tlsca_bundle()
            .join(format!("{}.pem", node.domain));
        let ca = std::fs::read(&ca_path).map_err(|source| Error::io("read", &ca_path, source))?;
        let address = self.published_socket(node, port).await?;
        retrying(|| NodeConnection::connect(address, &node.host, &ca, identity)).await
    }

    /// Endorses `proposal` on every peer, at once; each answer with its peer's host name.
    async fn endorse_on(
        &self,
        peers: &[(Node, NodeConnection)],
        proposal: &Proposal,
    ) -> Result<Vec<(String, ProposalResponse)>> {
        try_join_all(peers.iter().map(|(peer, connection)| async move {
            let what = format!("endorse on {}", peer.host);
            let response = timed(|| what, self.endorse_launched(connection, proposal)).await?;
            Ok::<_, Error>((peer.host.clone(), response))
        }))
        .await
    }

    /// Endorses `proposal`, asking again while the peer fails to dial a chaincode server
    /// of this network that is running. A peer dials a server as soon as its definition is
    /// committed, perhaps before the server listens (deploy starts servers and commits at
    /// once, and `up` restarts servers beside the peers); every call meanwhile waits for
    /// that attempt and gets its failure. A failed endorsement ordered nothing.
    ///
    /// A server replaced by `fabx dev` ends the peer's stream to it; a call in flight on
    /// that stream fails ("chaincode stream terminated") and is asked again, a few times
    /// at most: the peer dials the new server for it. A server that crashed is not
    /// running, so the next attempt fails to dial it and that failure is final.
    async fn endorse_launched(
        &self,
        connection: &NodeConnection,
        proposal: &Proposal,
    ) -> Result<ProposalResponse> {
        let stream_ends = &std::sync::atomic::AtomicU32::new(0);
        retry_judged(Backoff::new(LAUNCH_RETRY_BOUND), || async {
            let result = retrying(|| connection.endorse(proposal)).await;
            let refusal = match &result {
                Err(Error::Fabric(FabricError::Refused { message, .. })) => Some(message.clone()),
                _ => None,
            };
            let e = match result {
                Ok(response) => return Ok(response),
                Err(e) => e,
            };
            let Some(message) = refusal else {
                return Err(Judged::Permanent(e));
            };
            if message.contains(STREAM_TERMINATED)
                && stream_ends.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                    < STREAM_END_RETRIES
            {
                return Err(Judged::Transient(e));
            }
            let Some(package) = undialled_package(&message) else {
                return Err(Judged::Permanent(e));
            };
            if self.server_restarting(package) {
                return Err(Judged::Transient(e));
            }
            match self.server_running(package).await {
                Ok(true) => Err(Judged::Transient(e)),
                Ok(false) => Err(Judged::Permanent(e)),
                Err(other) => Err(Judged::Permanent(other)),
            }
        })
        .await
    }

    /// Whether a chaincode container of this network serving `package_id` is running.
    async fn server_running(&self, package_id: &str) -> Result<bool> {
        let found = self
            .engine
            .workloads(&[
                format!(
                    "{}={}",
                    crate::engine::spec::LABEL_NETWORK,
                    self.topology.network
                ),
                format!(
                    "{}={package_id}",
                    crate::network::deploy::servers::LABEL_PACKAGE_ID
                ),
            ])
            .await?;
        Ok(found.iter().any(|w| w.state == "running"))
    }

    /// `peer channel join`: the peer creates the channel's ledger from its genesis block.
    pub(crate) async fn join_channel(&self, peer: &Node, genesis_block: &[u8]) -> Result<()> {
        let admin = self.admin_identity(peer)?;
        let connection = self.connect_to(peer, ports::PEER, &admin).await?;
        let proposal = Proposal::join_channel(&admin, genesis_block);
        timed(
            || format!("join channel on {}", peer.host),
            retrying(|| connection.endorse(&proposal)),
        )
        .await?;
        Ok(())
    }

    /// Evaluates a chaincode function on one peer (nothing is ordered) as user
    /// `identity` of its org (default its admin); its payload.
    pub(crate) async fn evaluate(
        &self,
        peer: &Node,
        channel: &str,
        call: &Invocation,
        identity: Option<&str>,
    ) -> Result<Vec<u8>> {
        let admin = self.signer(peer, identity)?;
        let connection = self.connect_to(peer, ports::PEER, &admin).await?;
        let proposal = Proposal::chaincode(&admin, channel, call);
        let endorsed = self
            .endorse_on(&[(peer.clone(), connection)], &proposal)
            .await
            .map_err(|e| chaincode_failure(&call.chaincode, e))?;
        Ok(endorsed[0].1.response.clone().unwrap_or_default().payload)
    }

    /// Asks one of `peer`'s system chaincodes a question; the answer's payload.
    pub(crate) async fn evaluate_system(&self, peer: &Node, query: SystemQuery) -> Result<Vec<u8>> {
        self.evaluate(peer, &query.channel, &query.call, None).await
    }

    /// Endorses on every peer of `endorsers`, orders the transaction and waits until the
    /// first endorser committed it, as user `identity` of the first endorser's org (default
    /// its admin). An invalidated transaction is an error; one the endorsement policy
    /// invalidated names the policy.
    pub(crate) async fn submit(
        &self,
        endorsers: &[Node],
        channel: &str,
        call: &Invocation,
        identity: Option<&str>,
    ) -> Result<InvokeResult> {
        let submitter = endorsers.first().ok_or(Error::NoEndorsers)?;
        for peer in endorsers {
            self.check_on_channel(peer, channel)?;
        }
        let orderer = self.ordering_node().await?;
        let admin = self.signer(submitter, identity)?;
        let peers = try_join_all(endorsers.iter().map(|peer| async {
            let connection = self.connect_to(peer, ports::PEER, &admin).await?;
            Ok::<_, Error>((peer.clone(), connection))
        }));
        let orderer_connection = self.connect_to(&orderer, ports::ORDERER, &admin);
        let (peers, orderer_connection) =
            futures_util::future::try_join(peers, orderer_connection).await?;
        let proposal = Proposal::chaincode(&admin, channel, call);
        // The commit stream opens beside the endorsements, before anything is ordered.
        let (endorsed, commits) = futures_util::future::join(
            self.endorse_on(&peers, &proposal),
            timed(
                || format!("open block delivery on {}", submitter.host),
                peers[0].1.commits(&admin, channel),
            ),
        )
        .await;
        let endorsed = endorsed.map_err(|e| chaincode_failure(&call.chaincode, e))?;
        let mut commits = commits?;
        let envelope = proposal.transaction(&admin, &endorsed)?;
        timed(
            || format!("broadcast to {}", orderer.host),
            retrying(|| orderer_connection.broadcast(envelope.clone(), &proposal.tx_id)),
        )
        .await?;
        let code = timed(
            || format!("wait for the commit on {}", submitter.host),
            commits.committed(&proposal.tx_id, COMMIT_WAIT),
        )
        .await?;
        match code {
            TxValidationCode::Valid => {
                let response = endorsed[0].1.response.clone().unwrap_or_default();
                Ok(InvokeResult {
                    status: response.status as u32,
                    payload: String::from_utf8_lossy(&response.payload).into_owned(),
                    tx_id: proposal.tx_id.clone(),
                    event: ledger::endorsed_event(&submitter.host, &endorsed[0].1)?,
                })
            }
            TxValidationCode::EndorsementPolicyFailure => Err(self
                .policy_not_met(channel, &call.chaincode, endorsers, &proposal.tx_id)
                .await),
            other => Err(Error::ChaincodeFailed {
                name: call.chaincode.clone(),
                message: format!(
                    "transaction {} invalidated with status ({})",
                    proposal.tx_id,
                    other.as_str_name()
                ),
            }),
        }
    }
}

/// A peer's refusal of a chaincode proposal is the chaincode's error (or its being down).
fn chaincode_failure(chaincode: &str, e: Error) -> Error {
    match e {
        Error::Fabric(FabricError::Refused { message, .. }) => chaincode_error(chaincode, &message),
        e => e,
    }
}

/// How long a chaincode call is asked again while a peer cannot dial a running server:
/// the attempt it waits for gives up after the package's dial timeout (10 s).
const LAUNCH_RETRY_BOUND: Duration = Duration::from_secs(25);

/// What a peer answers for a call in flight when its chaincode's stream ends.
const STREAM_TERMINATED: &str = "chaincode stream terminated";
/// How often a call whose stream ended is asked again.
const STREAM_END_RETRIES: u32 = 3;

/// The package a peer could not launch because it could not reach its server, from the
/// peer's message ("could not launch chaincode <package ID>: ... connection refused").
/// Other launch failures (a TLS handshake refused, the chaincode exiting) are not retried.
fn undialled_package(message: &str) -> Option<&str> {
    let (_, rest) = message.split_once("could not launch chaincode ")?;
    let package = rest.split_once(": ").map_or(rest, |(p, _)| p).trim();
    let dial = DIAL_FAILURES.iter().any(|f| rest.contains(f));
    (dial && !package.is_empty()).then_some(package)
}

/// Runs a call to a node again while it fails transiently, within [`RETRY_BOUND`].
pub(crate) async fn retrying<T, Fut>(call: impl FnMut() -> Fut) -> Result<T>
where
    Fut: Future<Output = std::result::Result<T, FabricError>>,
{
    Ok(retry(Backoff::new(RETRY_BOUND), FabricError::is_transient, call).await?)
}

#[cfg(test)]
mod tests {
    use super::undialled_package;

    const PACKAGE: &str =
        "examplecc_2.0:9b44ea075924aa05b5972df89e9984bfd209e197db510aec07b23bd8180c57b4";

    #[test]
    fn a_server_the_peer_could_not_dial_names_its_package() {
        // As a peer said it in CI: its dial timed out on a server that had just started.
        let deadline = format!("error in simulation: failed to execute transaction b22f: could not launch chaincode {PACKAGE}: chaincode registration failed: connection to {PACKAGE} failed: error cannot create connection for {PACKAGE}: error creating grpc connection to examplecc.org1.example.com:9999: failed to create new connection: context deadline exceeded");
        assert_eq!(undialled_package(&deadline), Some(PACKAGE));
        let refused = format!("error in simulation: failed to execute transaction 1f0c: could not launch chaincode {PACKAGE}: connection to {PACKAGE} failed: error cannot create connection for {PACKAGE}: error creating grpc connection to examplecc.org1.example.com:9999: failed to create new connection: connection error: desc = \"transport: error while dialing: dial tcp 172.18.0.9:9999: connect: connection refused\"");
        assert_eq!(undialled_package(&refused), Some(PACKAGE));
    }

    #[test]
    fn other_failures_are_not_dial_failures() {
        let handshake = format!("could not launch chaincode {PACKAGE}: error creating grpc connection to examplecc.org1.example.com:9999: failed to create new connection: connection error: desc = \"transport: authentication handshake failed: x509: certificate signed by unknown authority\"");
        assert_eq!(undialled_package(&handshake), None);
        assert_eq!(
            undialled_package("transaction returned with failure: Incorrect number of arguments"),
            None
        );
        assert_eq!(
            undialled_package("chaincode definition for 'examplecc' exists, but chaincode is not installed; connection refused"),
            None
        );
    }
}
