//! A peer double for tests: connects to a chaincode server like a Fabric peer,
//! does the handshake, sends INIT/TRANSACTION messages (optionally with a signed
//! proposal, see [`signed_proposal`]) and answers state, private data and range
//! query requests from an in-memory ledger.

mod ledger;
mod proposal;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use prost::Message;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::Streaming;

use crate::proto::chaincode_client::ChaincodeClient;
use crate::proto::chaincode_message::Type;
use crate::proto::{ChaincodeEvent, ChaincodeId, ChaincodeInput, ChaincodeMessage, SignedProposal};
use crate::{Response, ShimError, MAX_MESSAGE_SIZE};
use ledger::Ledger;

pub use proposal::signed_proposal;

type Pending = Arc<Mutex<HashMap<(String, String), oneshot::Sender<ChaincodeMessage>>>>;
type SharedLedger = Arc<Mutex<Ledger>>;

/// Keeps a chaincode served by [`MockPeer::serve`] running; dropping it stops the server.
pub struct Serving {
    _stop: oneshot::Sender<()>,
}

/// A connected, READY peer double.
pub struct MockPeer {
    out: mpsc::Sender<ChaincodeMessage>,
    /// The events completed transactions emitted, by transaction ID.
    events: Mutex<HashMap<String, ChaincodeEvent>>,
    pending: Pending,
    ledger: SharedLedger,
    chaincode_name: String,
}

impl MockPeer {
    /// Serves `chaincode` with the real shim on a free port of 127.0.0.1 (plain text) and
    /// connects a peer double to it, as a unit test of a chaincode wants.
    pub async fn serve<C: crate::Chaincode>(chaincode: C) -> Result<(Self, Serving), ShimError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|source| ShimError::Bind {
                address: "127.0.0.1:0".into(),
                source,
            })?;
        let address = listener.local_addr().map_err(|source| ShimError::Bind {
            address: "127.0.0.1:0".into(),
            source,
        })?;
        let config = crate::ServerConfig {
            chaincode_id: "mockpeer-test:0".into(),
            address: address.to_string(),
            tls: None,
        };
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = crate::serve_with_listener(chaincode, config, listener, shutdown).await
            {
                eprintln!("fabx-shim mock peer: the chaincode server failed: {e}");
            }
        });
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
            .map_err(ShimError::Transport)?
            .connect()
            .await
            .map_err(ShimError::Transport)?;
        Ok((MockPeer::connect(channel).await?, Serving { _stop: stop }))
    }

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
            events: Mutex::default(),
            pending: Arc::default(),
            ledger: Arc::new(Mutex::new(Ledger::new(id.name.clone()))),
            chaincode_name: id.name,
        };
        tokio::spawn(serve_requests(
            inbound,
            peer.out.clone(),
            peer.pending.clone(),
            peer.ledger.clone(),
        ));
        Ok(peer)
    }

    /// The name the chaincode registered with (its package ID).
    pub fn chaincode_name(&self) -> &str {
        &self.chaincode_name
    }

    /// A copy of the world state.
    pub fn world_state(&self) -> BTreeMap<String, Vec<u8>> {
        self.ledger().public.clone()
    }

    /// A copy of private data `collection` (empty if never written).
    pub fn private_data(&self, collection: &str) -> BTreeMap<String, Vec<u8>> {
        let ledger = self.ledger();
        ledger.private.get(collection).cloned().unwrap_or_default()
    }

    /// The event transaction `txid` emitted (name, payload), if it set one.
    pub fn event(&self, txid: &str) -> Option<(String, Vec<u8>)> {
        let events = self.events.lock().expect("events lock");
        events
            .get(txid)
            .map(|e| (e.event_name.clone(), e.payload.clone()))
    }

    /// What a call to chaincode `name` answers (`name/channel` for another channel's);
    /// a call to a chaincode without an answer fails as one that is not installed.
    pub fn answer_calls_to(&self, name: &str, response: Response) {
        self.ledger().called.insert(name.to_string(), response);
    }

    /// The calls the chaincode made to other chaincodes: the name called and the
    /// arguments, in order.
    pub fn chaincode_calls(&self) -> Vec<(String, Vec<Vec<u8>>)> {
        self.ledger().calls.clone()
    }

    /// The metadata entries of `key` in `collection` ("" for the world state).
    pub fn state_metadata(&self, collection: &str, key: &str) -> BTreeMap<String, Vec<u8>> {
        let ledger = self.ledger();
        let entry = (collection.to_string(), key.to_string());
        ledger.metadata.get(&entry).cloned().unwrap_or_default()
    }

    /// How many results each QueryResponse carries at most (default 100, as a
    /// Fabric peer); a smaller size makes the chaincode ask QUERY_STATE_NEXT.
    pub fn set_query_batch_size(&self, size: usize) {
        self.ledger().batch_size = size.max(1);
    }

    /// IDs of the range queries the chaincode has not closed (QUERY_STATE_CLOSE).
    pub fn open_queries(&self) -> Vec<String> {
        self.ledger().open_queries.keys().cloned().collect()
    }

    /// Sends INIT; returns the chaincode's response, or its ERROR message text.
    pub async fn init(&self, channel: &str, txid: &str, args: &[&str]) -> Result<Response, String> {
        self.execute(Type::Init, channel, txid, args, None).await
    }

    /// Sends TRANSACTION; returns the chaincode's response, or its ERROR message text.
    pub async fn invoke(
        &self,
        channel: &str,
        txid: &str,
        args: &[&str],
    ) -> Result<Response, String> {
        self.execute(Type::Transaction, channel, txid, args, None)
            .await
    }

    /// Like [`MockPeer::invoke`], with the client's signed proposal (creator and
    /// transient data), as a real peer sends it.
    pub async fn invoke_with_proposal(
        &self,
        channel: &str,
        txid: &str,
        args: &[&str],
        proposal: SignedProposal,
    ) -> Result<Response, String> {
        self.execute(Type::Transaction, channel, txid, args, Some(proposal))
            .await
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().expect("ledger lock")
    }

    async fn execute(
        &self,
        ty: Type,
        channel: &str,
        txid: &str,
        args: &[&str],
        proposal: Option<SignedProposal>,
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
            proposal,
            ..Default::default()
        };
        self.out
            .send(msg)
            .await
            .map_err(|_| "connection closed".to_string())?;
        let done = done_rx
            .await
            .map_err(|_| "connection closed before the transaction completed".to_string())?;
        if let Some(event) = done.chaincode_event.clone() {
            self.events
                .lock()
                .expect("events lock")
                .insert(txid.to_string(), event);
        }
        match done.r#type() {
            Type::Completed => crate::proto::Response::decode(done.payload.as_slice())
                .map(Response::from)
                .map_err(|e| format!("bad COMPLETED payload: {e}")),
            _ => Err(String::from_utf8_lossy(&done.payload).into_owned()),
        }
    }
}

/// Answers the chaincode's requests and completes pending transactions.
async fn serve_requests(
    mut inbound: Streaming<ChaincodeMessage>,
    out: mpsc::Sender<ChaincodeMessage>,
    pending: Pending,
    ledger: SharedLedger,
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
            _ => ledger.lock().expect("ledger lock").answer(&msg),
        };
        let reply = match reply {
            Ok(payload) => answer(&msg, Type::Response, payload),
            Err(text) => answer(&msg, Type::Error, text.into_bytes()),
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
        ..Default::default()
    }
}
