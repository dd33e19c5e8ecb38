//! fabx's own client of a peer's Endorser and Deliver services and an orderer's
//! Broadcast service: what `peer channel join`, `peer chaincode query` and `peer chaincode
//! invoke` do, over gRPC with TLS. No CLI process in a container per call; the lifecycle
//! (`peer lifecycle ...`) stays in the containers.

use crate::connection::tls_channel;
use crate::envelope::{header, nonce, signed_envelope};
use crate::protos::common::{self, HeaderType};
use crate::protos::orderer::{self, atomic_broadcast_client::AtomicBroadcastClient};
use crate::protos::protos::{
    self, deliver_client::DeliverClient, deliver_response, endorser_client::EndorserClient,
    TxValidationCode,
};
use crate::{ClientIdentity, FabricError, Proposal};
use futures_util::{StreamExt, TryStreamExt};
use prost::Message;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;
use tonic::transport::Channel;

/// How long one call may take: an endorsement runs the chaincode, a join creates a ledger.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

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
    ) -> Result<Self, FabricError> {
        let channel = tls_channel(address, server_name, tls_ca_pem, identity).await?;
        Ok(NodeConnection {
            channel,
            server_name: server_name.to_string(),
        })
    }

    pub fn server_name(&self) -> &str {
        &self.server_name
    }

    fn rpc_error(&self, what: &str, status: &tonic::Status) -> FabricError {
        FabricError::rpc(&self.server_name, what, status)
    }

    fn timeout_error(&self, what: &str) -> FabricError {
        let message = format!("no answer within {}s", CALL_TIMEOUT.as_secs());
        self.rpc_error(what, &tonic::Status::deadline_exceeded(message))
    }

    /// Sends a signed proposal; an answer with an error status is [`FabricError::Refused`].
    pub async fn endorse(
        &self,
        proposal: &Proposal,
    ) -> Result<protos::ProposalResponse, FabricError> {
        let what = "a proposal";
        let mut client = EndorserClient::new(self.channel.clone());
        let response = tokio::time::timeout(
            CALL_TIMEOUT,
            client.process_proposal(proposal.signed().clone()),
        )
        .await
        .map_err(|_| self.timeout_error(what))?
        .map_err(|s| self.rpc_error(what, &s))?
        .into_inner();
        let answer = response.response.clone().unwrap_or_default();
        // Fabric's shim.ERRORTHRESHOLD: 400 and above is an error.
        if answer.status >= 400 || answer.status == 0 {
            return Err(FabricError::Refused {
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
    ) -> Result<(), FabricError> {
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
                .ok_or_else(|| FabricError::Unparseable {
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
        Err(FabricError::NotOrdered {
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
    ) -> Result<CommitStream, FabricError> {
        let what = "block delivery";
        let request = seek(identity, channel, newest(), forever());
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

    /// Opens a stream of this peer's whole blocks of `channel` from block `from`: up to
    /// its newest, or with `follow` on as it commits them.
    pub fn blocks(
        &self,
        identity: &ClientIdentity,
        channel: &str,
        from: u64,
        follow: bool,
    ) -> BlockStream {
        let request = seek(
            identity,
            channel,
            specified(from),
            if follow { forever() } else { newest() },
        );
        // The call is answered with the first block: while following from a block not
        // committed yet, that is the wait itself, so the stream opens lazily.
        let mut client = DeliverClient::new(self.channel.clone());
        let opened = async move { client.deliver(request).await.map(|r| r.into_inner()) };
        BlockStream {
            blocks: Box::pin(futures_util::stream::once(opened).try_flatten()),
            server_name: self.server_name.clone(),
        }
    }
}

/// A peer's blocks, whole, in order.
pub struct BlockStream {
    blocks: std::pin::Pin<
        Box<dyn futures_util::Stream<Item = Result<protos::DeliverResponse, tonic::Status>> + Send>,
    >,
    server_name: String,
}

impl BlockStream {
    /// The next block; `None` once the peer has sent the last one asked for.
    pub async fn next(&mut self) -> Result<Option<common::Block>, FabricError> {
        let answer = self.blocks.try_next().await;
        match delivered(&self.server_name, answer)? {
            None => Ok(None),
            Some(deliver_response::Type::Block(block)) => Ok(Some(block)),
            Some(other) => Err(unparseable(&self.server_name, format!("{other:?}"))),
        }
    }
}

/// One answer of a Deliver stream: a block of either kind, or `None` for the status
/// SUCCESS that ends a bounded request. Any other status, an RPC error or a stream that
/// ends without a status is an error.
fn delivered(
    server_name: &str,
    answer: Result<Option<protos::DeliverResponse>, tonic::Status>,
) -> Result<Option<deliver_response::Type>, FabricError> {
    let answer = answer.map_err(|s| FabricError::rpc(server_name, "block delivery", &s))?;
    match answer.and_then(|a| a.r#type) {
        Some(deliver_response::Type::Status(status))
            if status == common::Status::Success as i32 =>
        {
            Ok(None)
        }
        Some(deliver_response::Type::Status(status)) => Err(unparseable(
            server_name,
            format!(
                "status {} instead of a block (is the identity a reader of the channel?)",
                common::Status::try_from(status)
                    .map(|s| s.as_str_name().to_string())
                    .unwrap_or_else(|_| status.to_string())
            ),
        )),
        None => Err(unparseable(
            server_name,
            "the stream ended without a status".into(),
        )),
        block => Ok(block),
    }
}

fn unparseable(server_name: &str, detail: String) -> FabricError {
    FabricError::Unparseable {
        server_name: server_name.to_string(),
        what: "delivered blocks".into(),
        detail,
    }
}

/// A Deliver request for blocks `start` to `stop` of `channel`. The request side stays
/// open: the peer serves one envelope at a time.
fn seek(
    identity: &ClientIdentity,
    channel: &str,
    start: orderer::SeekPosition,
    stop: orderer::SeekPosition,
) -> impl futures_util::Stream<Item = common::Envelope> {
    let seek = orderer::SeekInfo {
        start: Some(start),
        stop: Some(stop),
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
    futures_util::stream::iter([envelope]).chain(futures_util::stream::pending())
}

fn newest() -> orderer::SeekPosition {
    position(orderer::seek_position::Type::Newest(orderer::SeekNewest {}))
}

fn specified(number: u64) -> orderer::SeekPosition {
    position(orderer::seek_position::Type::Specified(
        orderer::SeekSpecified { number },
    ))
}

/// Blocks that do not exist yet: the stream stays open.
fn forever() -> orderer::SeekPosition {
    specified(u64::MAX)
}

/// Blocks as a peer commits them, filtered to their transactions' IDs and validation codes.
pub struct CommitStream {
    blocks: tonic::Streaming<protos::DeliverResponse>,
    server_name: String,
    seen: HashMap<String, i32>,
}

impl CommitStream {
    async fn next_block(&mut self) -> Result<(), FabricError> {
        let answer = self.blocks.message().await;
        match delivered(&self.server_name, answer)? {
            Some(deliver_response::Type::FilteredBlock(block)) => {
                for tx in block.filtered_transactions {
                    // A duplicate of a transaction is invalid; the first one counts.
                    self.seen.entry(tx.txid).or_insert(tx.tx_validation_code);
                }
                Ok(())
            }
            // It asked for blocks without end: SUCCESS would end it early.
            other => Err(unparseable(&self.server_name, format!("{other:?}"))),
        }
    }

    /// Waits until the peer commits `tx_id`; returns its validation code.
    pub async fn committed(
        &mut self,
        tx_id: &str,
        within: Duration,
    ) -> Result<TxValidationCode, FabricError> {
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
            .map_err(|_| FabricError::NotCommitted {
                server_name: self.server_name.clone(),
                tx_id: tx_id.to_string(),
                waited: within,
            })?
    }
}

fn position(kind: orderer::seek_position::Type) -> orderer::SeekPosition {
    orderer::SeekPosition { r#type: Some(kind) }
}
