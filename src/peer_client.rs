//! fabx's own client of a peer's Endorser and Deliver services and an orderer's
//! Broadcast service: what `peer channel join`, `peer chaincode query` and `peer chaincode
//! invoke` do, from the host over gRPC with TLS, as the org's admin. No CLI process in a
//! container per call; the lifecycle (`peer lifecycle ...`) stays in the containers.
//!
//! Messages are built as Fabric's `protoutil` builds them: a proposal's transaction ID is
//! the SHA-256 of its nonce and creator, the transaction carries the proposal payload
//! without the transient map, and every endorser must have returned the same payload.

use crate::channel_config::{nonce, tx_id};
use crate::discovery_client::{tls_channel, ClientIdentity};
use crate::fabric_protos::common::{self, HeaderType};
use crate::fabric_protos::orderer::{self, atomic_broadcast_client::AtomicBroadcastClient};
use crate::fabric_protos::protos::{
    self, deliver_client::DeliverClient, deliver_response, endorser_client::EndorserClient,
    TxValidationCode,
};
use futures_util::StreamExt;
use prost::Message;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;
use tonic::transport::Channel;

/// How long one call may take: an endorsement runs the chaincode, a join creates a ledger.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// gRPC codes that say "ask again later".
const TRANSIENT_CODES: [tonic::Code; 2] = [tonic::Code::Unavailable, tonic::Code::DeadlineExceeded];

/// Why a call to a peer or orderer failed. Each names the node.
#[derive(Debug, thiserror::Error)]
pub enum PeerClientError {
    #[error("cannot connect to {server_name} at {address}: {message}")]
    Connect {
        address: SocketAddr,
        server_name: String,
        message: String,
    },
    /// The gRPC call failed; `status` is the code's name and the message.
    #[error("{what} on {server_name} failed: {status}")]
    Rpc {
        server_name: String,
        what: String,
        status: String,
        transient: bool,
    },
    /// The peer answered the proposal with an error status (the chaincode failed, or the
    /// request was refused); `message` is the peer's.
    #[error("{server_name} answered {status}: {message}")]
    Refused {
        server_name: String,
        status: i32,
        message: String,
    },
    /// The endorsing peers computed different results.
    #[error(
        "the endorsements of {first} and {other} differ (their ledgers or chaincode disagree)"
    )]
    Mismatch { first: String, other: String },
    /// The orderer did not accept the transaction.
    #[error("{server_name} did not order transaction {tx_id}: {status} {info}")]
    NotOrdered {
        server_name: String,
        tx_id: String,
        status: String,
        info: String,
    },
    /// Something came back that is not what Fabric sends; `detail` shows it.
    #[error("cannot read {what} from {server_name}: {detail}")]
    Unparseable {
        server_name: String,
        what: String,
        detail: String,
    },
}

impl PeerClientError {
    /// Whether the same call may succeed later: the node could not be reached or was busy.
    /// An orderer without a leader answers SERVICE_UNAVAILABLE.
    pub fn is_transient(&self) -> bool {
        match self {
            PeerClientError::Connect { .. } => true,
            PeerClientError::Rpc { transient, .. } => *transient,
            PeerClientError::NotOrdered { status, .. } => status == "SERVICE_UNAVAILABLE",
            _ => false,
        }
    }
}

/// A TLS connection to one peer or orderer.
#[derive(Clone)]
pub struct NodeConnection {
    channel: Channel,
    server_name: String,
}

impl NodeConnection {
    /// Connects to `address`, checking that the node's TLS certificate is for
    /// `server_name` and issued by `tls_ca_pem`.
    pub async fn connect(
        address: SocketAddr,
        server_name: &str,
        tls_ca_pem: &[u8],
        identity: &ClientIdentity,
    ) -> Result<Self, PeerClientError> {
        let channel = tls_channel(address, server_name, tls_ca_pem, identity)
            .await
            .map_err(|message| PeerClientError::Connect {
                address,
                server_name: server_name.to_string(),
                message,
            })?;
        Ok(NodeConnection {
            channel,
            server_name: server_name.to_string(),
        })
    }

    pub fn server_name(&self) -> &str {
        &self.server_name
    }

    fn rpc_error(&self, what: &str, status: &tonic::Status) -> PeerClientError {
        rpc_error(&self.server_name, what, status)
    }

    fn timeout_error(&self, what: &str) -> PeerClientError {
        PeerClientError::Rpc {
            server_name: self.server_name.clone(),
            what: what.to_string(),
            status: format!("no answer within {}s", CALL_TIMEOUT.as_secs()),
            transient: true,
        }
    }

    /// Sends a signed proposal; an answer with an error status is [`PeerClientError::Refused`].
    pub async fn endorse(
        &self,
        proposal: &Proposal,
    ) -> Result<protos::ProposalResponse, PeerClientError> {
        let what = "a proposal";
        let mut client = EndorserClient::new(self.channel.clone());
        let response = tokio::time::timeout(
            CALL_TIMEOUT,
            client.process_proposal(proposal.signed.clone()),
        )
        .await
        .map_err(|_| self.timeout_error(what))?
        .map_err(|s| self.rpc_error(what, &s))?
        .into_inner();
        let answer = response.response.clone().unwrap_or_default();
        // Fabric's shim.ERRORTHRESHOLD: 400 and above is an error.
        if answer.status >= 400 || answer.status == 0 {
            return Err(PeerClientError::Refused {
                server_name: self.server_name.clone(),
                status: answer.status,
                message: answer.message,
            });
        }
        Ok(response)
    }

    /// Hands a transaction to this orderer; Ok once it accepted it for ordering.
    pub async fn broadcast(
        &self,
        envelope: common::Envelope,
        tx_id: &str,
    ) -> Result<(), PeerClientError> {
        let what = "broadcast";
        let mut client = AtomicBroadcastClient::new(self.channel.clone());
        let request = futures_util::stream::iter([envelope]);
        let call = async {
            let mut answers = client
                .broadcast(request)
                .await
                .map_err(|s| self.rpc_error(what, &s))?
                .into_inner();
            answers
                .message()
                .await
                .map_err(|s| self.rpc_error(what, &s))?
                .ok_or_else(|| PeerClientError::Unparseable {
                    server_name: self.server_name.clone(),
                    what: "the broadcast answer".into(),
                    detail: "the stream ended without one".into(),
                })
        };
        let answer = tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .map_err(|_| self.timeout_error(what))??;
        if answer.status == common::Status::Success as i32 {
            return Ok(());
        }
        Err(PeerClientError::NotOrdered {
            server_name: self.server_name.clone(),
            tx_id: tx_id.to_string(),
            status: common::Status::try_from(answer.status)
                .map(|s| s.as_str_name().to_string())
                .unwrap_or_else(|_| answer.status.to_string()),
            info: answer.info,
        })
    }

    /// Opens a stream of this peer's committed blocks from its newest on, and returns once
    /// the peer has sent that first block: a transaction submitted after this is seen.
    pub async fn commits(
        &self,
        identity: &ClientIdentity,
        channel: &str,
    ) -> Result<CommitStream, PeerClientError> {
        let what = "block delivery";
        let seek = orderer::SeekInfo {
            start: Some(position(orderer::seek_position::Type::Newest(
                orderer::SeekNewest {},
            ))),
            stop: Some(position(orderer::seek_position::Type::Specified(
                orderer::SeekSpecified { number: u64::MAX },
            ))),
            behavior: orderer::seek_info::SeekBehavior::BlockUntilReady as i32,
            ..Default::default()
        };
        let header = header(
            identity,
            HeaderType::DeliverSeekInfo,
            channel,
            String::new(),
            nonce(),
            Vec::new(),
        );
        let envelope = signed_envelope(identity, header, seek.encode_to_vec());
        // The request side stays open: the peer serves one envelope at a time.
        let request = futures_util::stream::iter([envelope]).chain(futures_util::stream::pending());
        let mut client = DeliverClient::new(self.channel.clone());
        let blocks = tokio::time::timeout(CALL_TIMEOUT, client.deliver_filtered(request))
            .await
            .map_err(|_| self.timeout_error(what))?
            .map_err(|s| self.rpc_error(what, &s))?
            .into_inner();
        let mut stream = CommitStream {
            blocks,
            server_name: self.server_name.clone(),
            seen: HashMap::new(),
        };
        stream.next_block().await?;
        Ok(stream)
    }
}

/// Blocks as a peer commits them, filtered to their transactions' IDs and validation codes.
pub struct CommitStream {
    blocks: tonic::Streaming<protos::DeliverResponse>,
    server_name: String,
    seen: HashMap<String, i32>,
}

impl CommitStream {
    async fn next_block(&mut self) -> Result<(), PeerClientError> {
        let unparseable = |detail: String| PeerClientError::Unparseable {
            server_name: self.server_name.clone(),
            what: "delivered blocks".into(),
            detail,
        };
        let answer = self
            .blocks
            .message()
            .await
            .map_err(|s| rpc_error(&self.server_name, "block delivery", &s))?
            .ok_or_else(|| unparseable("the stream ended".into()))?;
        match answer.r#type {
            Some(deliver_response::Type::FilteredBlock(block)) => {
                for tx in block.filtered_transactions {
                    // A duplicate of a transaction is invalid; the first one counts.
                    self.seen.entry(tx.txid).or_insert(tx.tx_validation_code);
                }
                Ok(())
            }
            Some(deliver_response::Type::Status(status)) => Err(unparseable(format!(
                "status {} instead of a block (is the identity a reader of the channel?)",
                common::Status::try_from(status)
                    .map(|s| s.as_str_name().to_string())
                    .unwrap_or_else(|_| status.to_string())
            ))),
            other => Err(unparseable(format!("{other:?}"))),
        }
    }

    /// Waits until the peer commits `tx_id`; returns its validation code.
    pub async fn committed(
        &mut self,
        tx_id: &str,
        within: Duration,
    ) -> Result<TxValidationCode, PeerClientError> {
        let wait = async {
            loop {
                if let Some(code) = self.seen.get(tx_id) {
                    return Ok(TxValidationCode::try_from(*code)
                        .unwrap_or(TxValidationCode::InvalidOtherReason));
                }
                self.next_block().await?;
            }
        };
        tokio::time::timeout(within, wait)
            .await
            .map_err(|_| PeerClientError::Rpc {
                server_name: self.server_name.clone(),
                what: format!("waiting for transaction {tx_id}"),
                status: format!("not committed within {}s", within.as_secs()),
                transient: false,
            })?
    }
}

/// A failed call; Unavailable and DeadlineExceeded may succeed when asked again.
fn rpc_error(server_name: &str, what: &str, status: &tonic::Status) -> PeerClientError {
    PeerClientError::Rpc {
        server_name: server_name.to_string(),
        what: what.to_string(),
        status: format!("{:?}: {}", status.code(), status.message()),
        transient: TRANSIENT_CODES.contains(&status.code()),
    }
}

fn position(kind: orderer::seek_position::Type) -> orderer::SeekPosition {
    orderer::SeekPosition { r#type: Some(kind) }
}

/// A signed proposal and what the transaction made from it needs.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub tx_id: String,
    signed: protos::SignedProposal,
    header: common::Header,
    /// The proposal payload as the transaction carries it: without the transient map.
    payload_for_tx: Vec<u8>,
}

/// What a chaincode is called with.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    pub chaincode: String,
    pub args: Vec<Vec<u8>>,
    pub is_init: bool,
    pub transient: HashMap<String, Vec<u8>>,
}

impl Proposal {
    /// A chaincode proposal on `channel` (`peer chaincode invoke/query`).
    pub fn chaincode(identity: &ClientIdentity, channel: &str, call: &Invocation) -> Proposal {
        Proposal::build(identity, HeaderType::EndorserTransaction, channel, call)
    }

    /// `peer channel join`: the configuration system chaincode's JoinChain with the
    /// channel's genesis block, on no channel.
    pub fn join_channel(identity: &ClientIdentity, genesis_block: &[u8]) -> Proposal {
        let call = Invocation {
            chaincode: "cscc".into(),
            args: vec![b"JoinChain".to_vec(), genesis_block.to_vec()],
            ..Default::default()
        };
        Proposal::build(identity, HeaderType::Config, "", &call)
    }

    fn build(
        identity: &ClientIdentity,
        kind: HeaderType,
        channel: &str,
        call: &Invocation,
    ) -> Proposal {
        let chaincode_id = protos::ChaincodeId {
            name: call.chaincode.clone(),
            ..Default::default()
        };
        let spec = protos::ChaincodeInvocationSpec {
            chaincode_spec: Some(protos::ChaincodeSpec {
                r#type: protos::chaincode_spec::Type::Golang as i32,
                chaincode_id: Some(chaincode_id.clone()),
                input: Some(protos::ChaincodeInput {
                    args: call.args.clone(),
                    is_init: call.is_init,
                    ..Default::default()
                }),
                ..Default::default()
            }),
        };
        let extension = protos::ChaincodeHeaderExtension {
            chaincode_id: Some(chaincode_id),
        }
        .encode_to_vec();
        let nonce = nonce();
        let tx_id = tx_id(&nonce, &identity.serialized());
        let header = header(identity, kind, channel, tx_id.clone(), nonce, extension);
        let input = spec.encode_to_vec();
        let payload = protos::ChaincodeProposalPayload {
            input: input.clone(),
            transient_map: call.transient.clone(),
        };
        let proposal = protos::Proposal {
            header: header.encode_to_vec(),
            payload: payload.encode_to_vec(),
            ..Default::default()
        };
        let proposal_bytes = proposal.encode_to_vec();
        Proposal {
            tx_id,
            signed: protos::SignedProposal {
                signature: identity.sign(&proposal_bytes),
                proposal_bytes,
            },
            header,
            payload_for_tx: protos::ChaincodeProposalPayload {
                input,
                transient_map: HashMap::new(),
            }
            .encode_to_vec(),
        }
    }

    /// The signed transaction from the endorsements (`protoutil.CreateSignedTx`): each
    /// endorser must have computed the same result.
    pub fn transaction(
        &self,
        identity: &ClientIdentity,
        endorsed: &[(String, protos::ProposalResponse)],
    ) -> Result<common::Envelope, PeerClientError> {
        let Some((first_peer, first)) = endorsed.first() else {
            return Err(PeerClientError::Unparseable {
                server_name: "(no peer)".into(),
                what: "endorsements".into(),
                detail: "none were given".into(),
            });
        };
        if let Some((other, _)) = endorsed.iter().find(|(_, r)| r.payload != first.payload) {
            return Err(PeerClientError::Mismatch {
                first: first_peer.clone(),
                other: other.clone(),
            });
        }
        let action = protos::ChaincodeActionPayload {
            chaincode_proposal_payload: self.payload_for_tx.clone(),
            action: Some(protos::ChaincodeEndorsedAction {
                proposal_response_payload: first.payload.clone(),
                endorsements: endorsed
                    .iter()
                    .filter_map(|(_, r)| r.endorsement.clone())
                    .collect(),
            }),
        };
        let transaction = protos::Transaction {
            actions: vec![protos::TransactionAction {
                header: self.header.signature_header.clone(),
                payload: action.encode_to_vec(),
            }],
        };
        Ok(signed_envelope(
            identity,
            self.header.clone(),
            transaction.encode_to_vec(),
        ))
    }
}

fn header(
    identity: &ClientIdentity,
    kind: HeaderType,
    channel: &str,
    tx_id: String,
    nonce: Vec<u8>,
    extension: Vec<u8>,
) -> common::Header {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let channel_header = common::ChannelHeader {
        r#type: kind as i32,
        timestamp: Some(prost_types::Timestamp {
            seconds: now.as_secs() as i64,
            nanos: now.subsec_nanos() as i32,
        }),
        channel_id: channel.to_string(),
        tx_id,
        extension,
        tls_cert_hash: identity.tls_cert_hash().to_vec(),
        ..Default::default()
    };
    let signature_header = common::SignatureHeader {
        creator: identity.serialized(),
        nonce,
    };
    common::Header {
        channel_header: channel_header.encode_to_vec(),
        signature_header: signature_header.encode_to_vec(),
    }
}

fn signed_envelope(
    identity: &ClientIdentity,
    header: common::Header,
    data: Vec<u8>,
) -> common::Envelope {
    let payload = common::Payload {
        header: Some(header),
        data,
    }
    .encode_to_vec();
    common::Envelope {
        signature: identity.sign(&payload),
        payload,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transaction_id_is_the_hex_sha256_of_nonce_and_creator() {
        // sha256("ab") = fb8e20fc...
        assert_eq!(
            tx_id(b"a", b"b"),
            "fb8e20fc2e4c3f248c60c39bd652f3c1347298bb977b8b4d5903b85055620603"
        );
    }

    #[test]
    fn only_node_unreachable_busy_and_leaderless_failures_are_transient() {
        let rpc = |transient| PeerClientError::Rpc {
            server_name: "peer0".into(),
            what: "a proposal".into(),
            status: "x".into(),
            transient,
        };
        assert!(rpc(true).is_transient());
        assert!(!rpc(false).is_transient());
        let ordered = |status: &str| PeerClientError::NotOrdered {
            server_name: "orderer".into(),
            tx_id: "t".into(),
            status: status.into(),
            info: String::new(),
        };
        assert!(ordered("SERVICE_UNAVAILABLE").is_transient());
        assert!(!ordered("BAD_REQUEST").is_transient());
        assert!(!PeerClientError::Refused {
            server_name: "peer0".into(),
            status: 500,
            message: "chaincode failed".into()
        }
        .is_transient());
    }
}
