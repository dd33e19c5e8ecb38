//! Drives the shim the way a Fabric peer does, in-process: a tonic client opens
//! the Connect stream and plays the peer's side message by message, over plain
//! gRPC, TLS and mutual TLS.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{RawPeer, CC_ID, CHANNEL};
use fabx_shim::proto::chaincode_message::Type;
use fabx_shim::proto::{GetState, PutState};
use fabx_shim::{Chaincode, Response, ServerConfig, Stub, TlsConfig};
use prost::Message;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// Test chaincode; reports state-call errors on `log` so tests can see them.
struct TestCc {
    log: mpsc::UnboundedSender<String>,
}

impl Chaincode for TestCc {
    async fn init(&self, stub: &Stub) -> Response {
        let (_, params) = stub.function_and_parameters();
        for pair in params.chunks(2) {
            if let Err(e) = stub.put_state(&pair[0], pair[1].as_bytes()).await {
                return Response::error(e.to_string());
            }
        }
        Response::success(b"init ok".to_vec())
    }

    async fn invoke(&self, stub: &Stub) -> Response {
        let (function, p) = stub.function_and_parameters();
        let result = match function.as_str() {
            // move FROM TO: copy FROM's value to TO, delete FROM, return the value.
            "move" => {
                async {
                    let value = stub.get_state(&p[0]).await?.unwrap_or_default();
                    stub.put_state(&p[1], value.clone()).await?;
                    stub.del_state(&p[0]).await?;
                    Ok(Response::success(value))
                }
                .await
            }
            "get" => stub
                .get_state(&p[0])
                .await
                .map(|v| Response::success(v.unwrap_or_else(|| b"<none>".to_vec()))),
            "whoami" => Ok(Response::success(
                format!("{} {}", stub.channel_id(), stub.tx_id()).into_bytes(),
            )),
            "fail" => Ok(Response::error(p.join(" "))),
            "panic" => panic!("chaincode bug"),
            _ => Ok(Response::error(format!("unknown function {function}"))),
        };
        result.unwrap_or_else(|e: fabx_shim::ShimError| {
            let _ = self.log.send(e.to_string());
            Response::error(e.to_string())
        })
    }
}

#[derive(Clone, Copy, Debug)]
enum Security {
    Plain,
    Tls,
    MutualTls,
}

/// Test PKI: one CA signing the server (SAN localhost) and a client certificate.
struct Pki {
    ca: String,
    server: (String, String),
    client: (String, String),
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf = |name: &str| {
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec![name.to_string()]).unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    Pki {
        ca: ca_cert.pem(),
        server: leaf("localhost"),
        client: leaf("peer0.org1.example.com"),
    }
}

struct Server {
    addr: SocketAddr,
    log: mpsc::UnboundedReceiver<String>,
    _stop: oneshot::Sender<()>,
}

async fn start(security: Security, pki: &Pki) -> Server {
    let tls = match security {
        Security::Plain => None,
        Security::Tls | Security::MutualTls => Some(TlsConfig {
            cert_pem: pki.server.0.clone().into_bytes(),
            key_pem: pki.server.1.clone().into_bytes(),
            client_ca_pem: matches!(security, Security::MutualTls).then(|| pki.ca.clone().into()),
        }),
    };
    let config = ServerConfig {
        chaincode_id: CC_ID.into(),
        address: "127.0.0.1:0".into(),
        tls,
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (log_tx, log) = mpsc::unbounded_channel();
    let (stop, stopped) = oneshot::channel::<()>();
    let cc = TestCc { log: log_tx };
    tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        fabx_shim::serve_with_listener(cc, config, listener, shutdown)
            .await
            .expect("server failed");
    });
    Server {
        addr,
        log,
        _stop: stop,
    }
}

async fn channel(addr: SocketAddr, security: Security, pki: &Pki, with_cert: bool) -> Channel {
    let scheme = if matches!(security, Security::Plain) {
        "http"
    } else {
        "https"
    };
    let mut endpoint = Endpoint::from_shared(format!("{scheme}://{addr}")).unwrap();
    if !matches!(security, Security::Plain) {
        let mut tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&pki.ca))
            .domain_name("localhost");
        if with_cert {
            tls = tls.identity(Identity::from_pem(&pki.client.0, &pki.client.1));
        }
        endpoint = endpoint.tls_config(tls).unwrap();
    }
    endpoint.connect().await.expect("connect")
}

async fn connected(server: &Server, security: Security, pki: &Pki) -> RawPeer {
    let channel = channel(server.addr, security, pki, true).await;
    let mut peer = RawPeer::open(channel).await.expect("open stream");
    peer.handshake().await;
    peer
}

/// The whole happy path plus chaincode errors and keepalive, for one security mode.
async fn full_flow(security: Security) {
    let pki = pki();
    let server = start(security, &pki).await;
    let mut peer = connected(&server, security, &pki).await;

    // INIT with two put_states, each answered by RESPONSE.
    peer.start_tx(Type::Init, "tx1", &["init", "a", "100", "b", "200"])
        .await;
    for (key, value) in [("a", "100"), ("b", "200")] {
        let put = peer.recv(Type::PutState).await;
        assert_eq!(put.txid, "tx1");
        let req = PutState::decode(put.payload.as_slice()).unwrap();
        assert_eq!(
            (req.key.as_str(), req.value.as_slice()),
            (key, value.as_bytes())
        );
        peer.send(Type::Response, "tx1", vec![]).await;
    }
    let r = peer.completed("tx1").await;
    assert_eq!((r.status, r.payload.as_slice()), (200, &b"init ok"[..]));

    // KEEPALIVE is echoed.
    peer.send(Type::Keepalive, "", vec![]).await;
    peer.recv(Type::Keepalive).await;

    // TRANSACTION with get, put and del.
    peer.start_tx(Type::Transaction, "tx2", &["move", "a", "c"])
        .await;
    let get = peer.recv(Type::GetState).await;
    assert_eq!(GetState::decode(get.payload.as_slice()).unwrap().key, "a");
    peer.send(Type::Response, "tx2", b"100".to_vec()).await;
    let put = peer.recv(Type::PutState).await;
    let req = PutState::decode(put.payload.as_slice()).unwrap();
    assert_eq!((req.key.as_str(), req.value.as_slice()), ("c", &b"100"[..]));
    peer.send(Type::Response, "tx2", vec![]).await;
    peer.recv(Type::DelState).await;
    peer.send(Type::Response, "tx2", vec![]).await;
    let r = peer.completed("tx2").await;
    assert_eq!((r.status, r.payload.as_slice()), (200, &b"100"[..]));

    // A chaincode error is a COMPLETED message carrying status 500 (as in the Go shim).
    peer.start_tx(Type::Transaction, "tx3", &["fail", "no", "funds"])
        .await;
    let r = peer.completed("tx3").await;
    assert_eq!((r.status, r.message.as_str()), (500, "no funds"));

    // A peer ERROR answer becomes an error inside the chaincode.
    peer.start_tx(Type::Transaction, "tx4", &["get", "k"]).await;
    peer.recv(Type::GetState).await;
    peer.send(Type::Error, "tx4", b"ledger unavailable".to_vec())
        .await;
    let r = peer.completed("tx4").await;
    assert_eq!(r.status, 500);
    assert!(r.message.contains("ledger unavailable"), "{}", r.message);
}

#[tokio::test]
async fn full_flow_plain() {
    full_flow(Security::Plain).await;
}

#[tokio::test]
async fn full_flow_tls() {
    full_flow(Security::Tls).await;
}

#[tokio::test]
async fn full_flow_mutual_tls() {
    full_flow(Security::MutualTls).await;
}

#[tokio::test]
async fn mutual_tls_rejects_peer_without_client_cert() {
    let pki = pki();
    let server = start(Security::MutualTls, &pki).await;
    let scheme_ok = Endpoint::from_shared(format!("https://{}", server.addr)).unwrap();
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca))
        .domain_name("localhost");
    let result: Result<_, Box<dyn std::error::Error>> = async {
        let channel = scheme_ok.tls_config(tls).unwrap().connect().await?;
        let mut peer = RawPeer::open(channel).await?;
        Ok(peer.next().await?)
    }
    .await;
    assert!(
        !matches!(result, Ok(Some(_))),
        "a peer without client certificate must not get a REGISTER"
    );
}

#[tokio::test]
async fn tls_server_is_not_reachable_in_plain_text() {
    let pki = pki();
    let server = start(Security::Tls, &pki).await;
    let channel = channel(server.addr, Security::Plain, &pki, false).await;
    let result = async { RawPeer::open(channel).await?.next().await }.await;
    assert!(
        result.is_err(),
        "plain client must fail against TLS: {result:?}"
    );
}

#[tokio::test]
async fn wrong_first_message_ends_stream_with_error() {
    let pki = pki();
    let server = start(Security::Plain, &pki).await;
    for wrong in [Type::Ready, Type::Transaction, Type::Completed] {
        let channel = channel(server.addr, Security::Plain, &pki, false).await;
        let mut peer = RawPeer::open(channel).await.unwrap();
        peer.recv(Type::Register).await;
        peer.send(wrong, "tx", vec![]).await;
        let status = peer
            .next()
            .await
            .expect_err("stream must end with an error");
        assert!(
            status.message().contains(wrong.as_str_name()),
            "{wrong:?}: {status:?}"
        );
    }
    // TRANSACTION before READY is also refused.
    let channel = channel(server.addr, Security::Plain, &pki, false).await;
    let mut peer = RawPeer::open(channel).await.unwrap();
    peer.recv(Type::Register).await;
    peer.send(Type::Registered, "", vec![]).await;
    peer.start_tx(Type::Transaction, "early", &["get", "a"])
        .await;
    let status = peer
        .next()
        .await
        .expect_err("stream must end with an error");
    assert!(status.message().contains("Established"), "{status:?}");
    // The server still serves new connections.
    connected(&server, Security::Plain, &pki).await;
}

#[tokio::test]
async fn dropped_stream_fails_pending_transaction_without_hanging() {
    let pki = pki();
    let mut server = start(Security::Plain, &pki).await;
    let mut peer = connected(&server, Security::Plain, &pki).await;
    peer.start_tx(Type::Transaction, "tx1", &["get", "a"]).await;
    peer.recv(Type::GetState).await;
    drop(peer); // the peer goes away without answering
    let logged = tokio::time::timeout(Duration::from_secs(10), server.log.recv())
        .await
        .expect("the pending get_state must fail, not hang")
        .unwrap();
    assert_eq!(logged, "connection to the peer is closed");
    connected(&server, Security::Plain, &pki).await;
}

#[tokio::test]
async fn concurrent_transactions_are_routed_by_txid() {
    let pki = pki();
    let server = start(Security::Plain, &pki).await;
    let mut peer = connected(&server, Security::Plain, &pki).await;
    peer.start_tx(Type::Transaction, "slow", &["get", "k"])
        .await;
    assert_eq!(peer.recv(Type::GetState).await.txid, "slow");
    // tx "slow" is blocked on the peer; "fast" must still run to completion.
    peer.start_tx(Type::Transaction, "fast", &["get", "k"])
        .await;
    assert_eq!(peer.recv(Type::GetState).await.txid, "fast");
    peer.send(Type::Response, "fast", b"fast-value".to_vec())
        .await;
    assert_eq!(peer.completed("fast").await.payload, b"fast-value");
    peer.send(Type::Response, "slow", b"slow-value".to_vec())
        .await;
    assert_eq!(peer.completed("slow").await.payload, b"slow-value");
    // The same txid on another channel is a different transaction.
    peer.start_tx(Type::Transaction, "t", &["whoami"]).await;
    assert_eq!(peer.completed("t").await.payload, b"mychannel t");
}

#[tokio::test]
async fn bad_input_and_panics_answer_error() {
    let pki = pki();
    let server = start(Security::Plain, &pki).await;
    let mut peer = connected(&server, Security::Plain, &pki).await;
    peer.send(Type::Transaction, "bad", vec![0xff, 0xff, 0xff])
        .await;
    let msg = peer.recv(Type::Error).await;
    assert_eq!(msg.txid, "bad");
    assert!(String::from_utf8_lossy(&msg.payload).contains("failed to unmarshal input"));
    peer.start_tx(Type::Transaction, "p", &["panic"]).await;
    let msg = peer.recv(Type::Error).await;
    assert!(String::from_utf8_lossy(&msg.payload).contains("panicked"));
    // The connection survives both.
    peer.start_tx(Type::Transaction, "ok", &["whoami"]).await;
    peer.completed("ok").await;
}

#[tokio::test]
async fn messages_above_tonic_default_limit_pass() {
    let pki = pki();
    let server = start(Security::Plain, &pki).await;
    let mut peer = connected(&server, Security::Plain, &pki).await;
    let big = "x".repeat(6 * 1024 * 1024); // tonic's default limit is 4 MiB
    peer.start_tx(Type::Init, "big", &["init", "k", &big]).await;
    let put = peer.recv(Type::PutState).await;
    assert_eq!(
        PutState::decode(put.payload.as_slice())
            .unwrap()
            .value
            .len(),
        big.len()
    );
    peer.send(Type::Response, "big", vec![]).await;
    assert_eq!(peer.completed("big").await.status, 200);
}

#[tokio::test]
async fn mock_peer_runs_transactions() {
    let pki = pki();
    let server = start(Security::MutualTls, &pki).await;
    let channel = channel(server.addr, Security::MutualTls, &pki, true).await;
    let peer = fabx_shim::mock_peer::MockPeer::connect(channel)
        .await
        .unwrap();
    assert_eq!(peer.chaincode_name(), CC_ID);
    let r = peer.init(CHANNEL, "t1", &["init", "a", "1"]).await.unwrap();
    assert_eq!(r.status, 200);
    let r = peer
        .invoke(CHANNEL, "t2", &["move", "a", "b"])
        .await
        .unwrap();
    assert_eq!(r.payload, b"1");
    assert_eq!(
        peer.world_state().get("b").map(Vec::as_slice),
        Some(&b"1"[..])
    );
    assert!(!peer.world_state().contains_key("a"));
    let err = peer.invoke(CHANNEL, "t3", &["panic"]).await.unwrap_err();
    assert!(err.contains("panicked"), "{err}");
}
