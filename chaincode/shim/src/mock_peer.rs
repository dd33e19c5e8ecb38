//! A peer double for tests: connects to a chaincode server like a Fabric peer,
//! does the handshake, sends INIT/TRANSACTION messages and answers state
//! requests from an in-memory world state.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use prost::Message;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::Streaming;

use crate::proto::chaincode_client::ChaincodeClient;
use crate::proto::chaincode_message::Type;
use crate::proto::{ChaincodeId, ChaincodeInput, ChaincodeMessage, DelState, GetState, PutState};
use crate::{Response, ShimError, MAX_MESSAGE_SIZE};

type Pending = Arc<Mutex<HashMap<(String, String), oneshot::Sender<ChaincodeMessage>>>>;
type WorldState = Arc<Mutex<BTreeMap<String, Vec<u8>>>>;

/// A connected, READY peer double.
pub struct MockPeer {
    out: mpsc::Sender<ChaincodeMessage>,
    pending: Pending,
    state: WorldState,
    chaincode_name: String,
}

impl MockPeer {
    /// Opens the Connect stream and does REGISTER -> REGISTERED -> READY.
    pub async fn connect(channel: Channel) -> Result<Self, ShimError> {
        let mut client = ChaincodeClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE);
        let (out, out_rx) = mpsc::channel(64);
        let mut inbound = client
            .connect(ReceiverStream::new(out_rx))
            .await?
            .into_inner();
        let first = inbound.message().await?.ok_or(ShimError::Disconnected)?;
        if first.r#type() != Type::Register {
            return Err(ShimError::Protocol(format!(
                "expected REGISTER, got {}",
                first.r#type().as_str_name()
            )));
        }
        let id =
            ChaincodeId::decode(first.payload.as_slice()).map_err(|source| ShimError::Decode {
                what: "ChaincodeID",
                source,
            })?;
        for ty in [Type::Registered, Type::Ready] {
            let msg = ChaincodeMessage {
                r#type: ty as i32,
                ..Default::default()
            };
            out.send(msg).await.map_err(|_| ShimError::Disconnected)?;
        }
        let peer = MockPeer {
            out,
            pending: Arc::default(),
            state: Arc::default(),
            chaincode_name: id.name,
        };
        tokio::spawn(serve_requests(
            inbound,
            peer.out.clone(),
            peer.pending.clone(),
            peer.state.clone(),
        ));
        Ok(peer)
    }

    /// The name the chaincode registered with (its package ID).
    pub fn chaincode_name(&self) -> &str {
        &self.chaincode_name
    }

    /// A copy of the world state.
    pub fn world_state(&self) -> BTreeMap<String, Vec<u8>> {
        self.state.lock().expect("state lock").clone()
    }

    /// Sends INIT; returns the chaincode's response, or its ERROR message text.
    pub async fn init(&self, channel: &str, txid: &str, args: &[&str]) -> Result<Response, String> {
        self.execute(Type::Init, channel, txid, args).await
    }

    /// Sends TRANSACTION; returns the chaincode's response, or its ERROR message text.
    pub async fn invoke(
        &self,
        channel: &str,
        txid: &str,
        args: &[&str],
    ) -> Result<Response, String> {
        self.execute(Type::Transaction, channel, txid, args).await
    }

    async fn execute(
        &self,
        ty: Type,
        channel: &str,
        txid: &str,
        args: &[&str],
    ) -> Result<Response, String> {
        let (done_tx, done_rx) = oneshot::channel();
        let key = (channel.to_string(), txid.to_string());
        self.pending
            .lock()
            .expect("pending lock")
            .insert(key, done_tx);
        let input = ChaincodeInput {
            args: args.iter().map(|a| a.as_bytes().to_vec()).collect(),
            is_init: ty == Type::Init,
            ..Default::default()
        };
        let msg = ChaincodeMessage {
            r#type: ty as i32,
            payload: input.encode_to_vec(),
            txid: txid.to_string(),
            channel_id: channel.to_string(),
        };
        self.out
            .send(msg)
            .await
            .map_err(|_| "connection closed".to_string())?;
        let done = done_rx
            .await
            .map_err(|_| "connection closed before the transaction completed".to_string())?;
        match done.r#type() {
            Type::Completed => crate::proto::Response::decode(done.payload.as_slice())
                .map(Response::from)
                .map_err(|e| format!("bad COMPLETED payload: {e}")),
            _ => Err(String::from_utf8_lossy(&done.payload).into_owned()),
        }
    }
}

/// Answers the chaincode's state requests and completes pending transactions.
async fn serve_requests(
    mut inbound: Streaming<ChaincodeMessage>,
    out: mpsc::Sender<ChaincodeMessage>,
    pending: Pending,
    state: WorldState,
) {
    while let Ok(Some(msg)) = inbound.message().await {
        let reply = match msg.r#type() {
            Type::Completed | Type::Error => {
                let key = (msg.channel_id.clone(), msg.txid.clone());
                if let Some(done) = pending.lock().expect("pending lock").remove(&key) {
                    let _ = done.send(msg);
                }
                continue;
            }
            Type::Keepalive => continue,
            Type::GetState => GetState::decode(msg.payload.as_slice()).map(|r| {
                state
                    .lock()
                    .expect("state")
                    .get(&r.key)
                    .cloned()
                    .unwrap_or_default()
            }),
            Type::PutState => PutState::decode(msg.payload.as_slice()).map(|r| {
                state.lock().expect("state").insert(r.key, r.value);
                Vec::new()
            }),
            Type::DelState => DelState::decode(msg.payload.as_slice()).map(|r| {
                state.lock().expect("state").remove(&r.key);
                Vec::new()
            }),
            other => {
                let text = format!("mock peer does not support {}", other.as_str_name());
                let _ = out.send(answer(&msg, Type::Error, text.into_bytes())).await;
                continue;
            }
        };
        let reply = match reply {
            Ok(payload) => answer(&msg, Type::Response, payload),
            Err(e) => answer(&msg, Type::Error, e.to_string().into_bytes()),
        };
        if out.send(reply).await.is_err() {
            break;
        }
    }
    // Dropping `pending` senders wakes waiting transactions with an error.
    pending.lock().expect("pending lock").clear();
}

fn answer(req: &ChaincodeMessage, ty: Type, payload: Vec<u8>) -> ChaincodeMessage {
    ChaincodeMessage {
        r#type: ty as i32,
        payload,
        txid: req.txid.clone(),
        channel_id: req.channel_id.clone(),
    }
}
