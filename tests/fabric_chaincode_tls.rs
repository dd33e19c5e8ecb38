//! Chaincode as a service over TLS, on real Fabric images: examplecc (built by fabx)
//! deploys with mutual TLS by default; the peer's release directory holds the TLS
//! connection.json; the chaincode server refuses a client without the peers' certificate;
//! an image that serves plain text fails a `--tls mutual` deploy quickly with nothing
//! committed, and works with `--tls off`.

mod common;

use fabx::artifacts::chaincode_tls::TlsMode;
use fabx::engine::UploadFile;
use fabx::harness::TestNetwork;
use fabx::network::deploy::{DeployRequest, Source};
use fabx::{Error, Topology};
use fabx_fabric::cli::lifecycle::LifecycleCommand;
use fabx_fabric::cli::{peer_env, PeerCli};
use std::time::{Duration, Instant};

const EXAMPLECC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/chaincode/examplecc");

/// examplecc's image made to ignore the TLS settings it is given: it serves plain text.
async fn plain_text_image(engine: &fabx::DockerEngine) -> &'static str {
    const TAG: &str = "fabx-test/examplecc-plain:1";
    let dockerfile = "FROM fabx/examplecc:1.0\n\
        COPY busybox /bin/busybox\n\
        ENTRYPOINT [\"/bin/busybox\", \"env\", \"CHAINCODE_TLS_DISABLED=true\", \"/examplecc\"]\n";
    common::build_with_busybox(engine, dockerfile, TAG).await;
    TAG
}

/// `peer channel list` against the chaincode server from the peer's container, over TLS
/// with the network's chaincode CA, with or without the peers' client certificate. A
/// server that completed the handshake answers "Unimplemented" (it serves chaincode,
/// not channels).
async fn handshake(net: &TestNetwork, with_client_cert: bool) -> String {
    let topology = net.topology();
    let peer = &topology.peers()[0];
    let container = topology.container_name(&peer.host);
    let engine = &net.network().engine;
    let tls = net.network().layout.chaincode_tls();
    let read = |p: std::path::PathBuf| {
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    let files = [
        ("ca.crt", read(tls.join("ca.crt"))),
        ("client.crt", read(tls.join("clients/Org1MSP/client.crt"))),
        ("client.key", read(tls.join("clients/Org1MSP/client.key"))),
    ]
    .map(|(name, contents)| UploadFile {
        name: format!("tmp/probe/{name}"),
        contents,
        mode: 0o600,
    });
    engine.upload(&container, "/", &files).await.unwrap();
    let mut env: Vec<String> = peer_env(
        &fabx::network::cli_admin(peer),
        &LifecycleCommand::QueryInstalled,
    )
    .into_iter()
    .filter(|e| {
        !e.starts_with("CORE_PEER_ADDRESS=") && !e.starts_with("CORE_PEER_TLS_ROOTCERT_FILE=")
    })
    .collect();
    env.extend([
        "CORE_PEER_ADDRESS=examplecc.org1.example.com:9999".to_string(),
        "CORE_PEER_TLS_ENABLED=true".into(),
        "CORE_PEER_TLS_ROOTCERT_FILE=/tmp/probe/ca.crt".into(),
        format!("CORE_PEER_TLS_CLIENTAUTHREQUIRED={with_client_cert}"),
        "CORE_PEER_TLS_CLIENTCERT_FILE=/tmp/probe/client.crt".into(),
        "CORE_PEER_TLS_CLIENTKEY_FILE=/tmp/probe/client.key".into(),
        "CORE_PEER_CLIENT_CONNTIMEOUT=3s".into(),
    ]);
    let args = ["peer", "channel", "list"].map(String::from);
    engine
        .exec(&container, &args, &env)
        .await
        .unwrap()
        .printed()
}

#[tokio::test]
async fn examplecc_over_mutual_tls_and_a_plain_text_image_refused() {
    const TEST: &str = "examplecc_over_mutual_tls_and_a_plain_text_image_refused";
    if let Some(reason) = common::missing_fabric_images(&Topology::default_topology()).await {
        return common::skipped(TEST, &reason);
    }
    let net = TestNetwork::start().await.unwrap();
    net.deploy_dir("examplecc", EXAMPLECC, &["Init", "a", "100", "b", "200"])
        .await
        .unwrap();
    net.invoke("examplecc", "invoke", &["a", "b", "20"])
        .await
        .unwrap();
    assert_eq!(net.query("examplecc", "query", &["a"]).await.unwrap(), "80");
    assert!(net
        .logs("examplecc.org1.example.com")
        .await
        .unwrap()
        .contains("(mutual TLS)"));

    // `fabx logs examplecc`: both orgs' servers, each line with its org.
    use futures_util::StreamExt;
    let lines: Vec<_> = net
        .network()
        .logs("examplecc", None, false)
        .await
        .unwrap()
        .map(|l| l.unwrap())
        .collect()
        .await;
    for org in ["Org1MSP", "Org2MSP"] {
        assert!(
            lines
                .iter()
                .any(|l| l.source == org && l.line.contains("(mutual TLS)")),
            "{lines:?}"
        );
    }

    // What the peer released: Fabric's connection.json with mutual TLS.
    let peer = net.topology().container_name("peer0.org1.example.com");
    let cat = [
        "sh".to_string(),
        "-c".into(),
        "cat /var/hyperledger/production/externalbuilder/builds/examplecc_1.0-*/release/chaincode/server/connection.json".into(),
    ];
    let released = net.network().engine.exec(&peer, &cat, &[]).await.unwrap();
    let connection: serde_json::Value = serde_json::from_str(&released.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", released.printed()));
    assert_eq!(connection["tls_required"], true);
    assert_eq!(connection["client_auth_required"], true);
    assert!(connection["root_cert"]
        .as_str()
        .unwrap()
        .contains("BEGIN CERTIFICATE"));

    // The server refuses a client without the peers' certificate, and takes one with it.
    let with = handshake(&net, true).await;
    assert!(with.contains("code = Unimplemented"), "{with}");
    let without = handshake(&net, false).await;
    assert!(!without.contains("Unimplemented"), "{without}");

    // An image serving plain text, forced to mutual TLS: fails fast, nothing committed.
    let plain = plain_text_image(&common::engine().await).await;
    let mut request = DeployRequest::new("plaincc", Source::Image(plain.to_string()));
    request.tls = Some(TlsMode::Mutual);
    request.init = Some(["Init", "a", "1", "b", "2"].map(String::from).to_vec());
    let started = Instant::now();
    let err = net.deploy(&request).await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, Error::ChaincodeTlsHandshake { .. }), "{err}");
    assert!(err.to_string().contains("--tls off"), "{err}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    common::report(&format!(
        "{TEST}: the plain-text server failed the deploy in {took:?}"
    ));
    let committed = net.query("plaincc", "query", &["a"]).await.unwrap_err();
    assert!(committed.to_string().contains("plaincc"), "{committed}");
    // Nor approved: fabx waits for a server it cannot vouch for before approving.
    for peer in net.topology().peers() {
        let query = LifecycleCommand::QueryApproved {
            channel: "channel1".into(),
            name: "plaincc".into(),
            sequence: 1,
        };
        let container = net.topology().container_name(&peer.host);
        let env = peer_env(&fabx::network::cli_admin(&peer), &query);
        let output = net
            .network()
            .engine
            .exec(&container, &query.args(), &env)
            .await
            .unwrap();
        assert!(
            !output.success(),
            "{} approved: {}",
            peer.msp_id,
            output.printed()
        );
    }

    // The default for an image is plain text: it works.
    request.tls = None;
    net.deploy(&request).await.unwrap();
    assert_eq!(net.query("plaincc", "query", &["a"]).await.unwrap(), "1");
    net.teardown().await.unwrap();
}
