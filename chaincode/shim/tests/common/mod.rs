//! The peer's side of a Connect stream, played message by message, shared by
//! the protocol tests.
#![allow(dead_code)] // each test file uses a part

pub mod api_cc;

use std::net::SocketAddr;
use std::time::Duration;

use fabx_shim::proto::chaincode_client::ChaincodeClient;
use fabx_shim::proto::chaincode_message::Type;
use fabx_shim::proto::{self, ChaincodeId, ChaincodeInput, ChaincodeMessage, SignedProposal};
use fabx_shim::{Chaincode, ServerConfig};
use prost::Message;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, Endpoint};
use tonic::Streaming;

pub const CC_ID: &str =
    "testcc_1.0:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
pub const CHANNEL: &str = "mychannel";

/// The peer's side of one Connect stream, message by message.
pub struct RawPeer {
    out: mpsc::Sender<ChaincodeMessage>,
    inbound: Streaming<ChaincodeMessage>,
}

impl RawPeer {
    pub async fn open(channel: Channel) -> Result<Self, tonic::Status> {
        let (out, rx) = mpsc::channel(16);
        let inbound = ChaincodeClient::new(channel)
            .max_decoding_message_size(fabx_shim::MAX_MESSAGE_SIZE)
            .max_encoding_message_size(fabx_shim::MAX_MESSAGE_SIZE)
            .connect(ReceiverStream::new(rx))
            .await?
            .into_inner();
        Ok(RawPeer { out, inbound })
    }

    pub async fn next(&mut self) -> Result<Option<ChaincodeMessage>, tonic::Status> {
        tokio::time::timeout(Duration::from_secs(10), self.inbound.message())
            .await
            .expect("timed out waiting for the chaincode")
    }

    pub async fn recv(&mut self, expected: Type) -> ChaincodeMessage {
        let msg = self
            .next()
            .await
            .expect("stream error")
            .expect("stream ended");
        let ty = msg.r#type();
        assert_eq!(
            ty,
            expected,
            "unexpected message: {:?}",
            String::from_utf8_lossy(&msg.payload)
        );
        msg
    }

    /// Receives a `expected` request for `txid` and decodes its payload.
    pub async fn request<M: Message + Default>(&mut self, expected: Type, txid: &str) -> M {
        let msg = self.recv(expected).await;
        assert_eq!(
            (msg.txid.as_str(), msg.channel_id.as_str()),
            (txid, CHANNEL)
        );
        M::decode(msg.payload.as_slice()).expect("request payload")
    }

    pub async fn send(&self, ty: Type, txid: &str, payload: Vec<u8>) {
        let msg = ChaincodeMessage {
            r#type: ty as i32,
            payload,
            txid: txid.into(),
            channel_id: CHANNEL.into(),
            ..Default::default()
        };
        self.out.send(msg).await.expect("send");
    }

    /// Answers the pending request of `txid` with RESPONSE and `payload`.
    pub async fn respond(&self, txid: &str, payload: impl Message) {
        self.send(Type::Response, txid, payload.encode_to_vec())
            .await;
    }

    pub async fn handshake(&mut self) {
        let register = self.recv(Type::Register).await;
        let id = ChaincodeId::decode(register.payload.as_slice()).unwrap();
        assert_eq!(id.name, CC_ID);
        self.send(Type::Registered, "", vec![]).await;
        self.send(Type::Ready, "", vec![]).await;
    }

    pub async fn start_tx(&self, ty: Type, txid: &str, args: &[&str]) {
        self.start_tx_with(ty, txid, args, None).await;
    }

    /// Starts a transaction whose message carries `proposal`.
    pub async fn start_tx_with(
        &self,
        ty: Type,
        txid: &str,
        args: &[&str],
        proposal: Option<SignedProposal>,
    ) {
        let input = ChaincodeInput {
            args: args.iter().map(|a| a.as_bytes().to_vec()).collect(),
            ..Default::default()
        };
        let msg = ChaincodeMessage {
            r#type: ty as i32,
            payload: input.encode_to_vec(),
            txid: txid.into(),
            channel_id: CHANNEL.into(),
            proposal,
            ..Default::default()
        };
        self.out.send(msg).await.expect("send");
    }

    /// Expects COMPLETED for `txid` and returns the decoded response.
    pub async fn completed(&mut self, txid: &str) -> proto::Response {
        let msg = self.recv(Type::Completed).await;
        assert_eq!(
            (msg.txid.as_str(), msg.channel_id.as_str()),
            (txid, CHANNEL)
        );
        proto::Response::decode(msg.payload.as_slice()).unwrap()
    }
}

/// A chaincode served over plain gRPC until the returned sender is dropped.
pub struct PlainServer {
    pub addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

pub async fn serve_plain<C: Chaincode>(cc: C) -> PlainServer {
    let config = ServerConfig {
        chaincode_id: CC_ID.into(),
        address: "127.0.0.1:0".into(),
        tls: None,
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        fabx_shim::serve_with_listener(cc, config, listener, shutdown)
            .await
            .expect("server failed");
    });
    PlainServer { addr, _stop: stop }
}

pub async fn plain_channel(addr: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .expect("connect")
}

/// A RawPeer connected to `server` and past the handshake.
pub async fn raw_peer(server: &PlainServer) -> RawPeer {
    let mut peer = RawPeer::open(plain_channel(server.addr).await)
        .await
        .expect("open stream");
    peer.handshake().await;
    peer
}
