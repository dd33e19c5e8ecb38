//! Faults on real Fabric images: a network stopped as a Docker restart stops it, nodes and
//! chaincode servers killed, two commands at once, and Docker objects removed behind
//! fabx's back. Each test prints SKIPPED without the images.

mod common;

use fabx::harness::TestNetwork;
use fabx::network::deploy::{DeployRequest, Source};
use fabx::network::UpOutcome;
use fabx::reporter::{Reporter, Silent, StepId};
use fabx::{Error, Topology};

const EXAMPLECC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/chaincode/examplecc");

/// A default-shaped test network with examplecc at a=100-20, b=200+20; None (with a
/// SKIPPED line) without Fabric images.
async fn network_with_examplecc(test: &str) -> Option<TestNetwork> {
    if let Some(reason) = common::missing_fabric_images(&Topology::default_topology()).await {
        common::skipped(test, &reason);
        return None;
    }
    let net = TestNetwork::start().await.unwrap();
    net.deploy_dir("examplecc", EXAMPLECC, &["Init", "a", "100", "b", "200"])
        .await
        .unwrap();
    net.invoke("examplecc", "invoke", &["a", "b", "20"])
        .await
        .unwrap();
    Some(net)
}

fn container(net: &TestNetwork, host: &str) -> String {
    net.topology().container_name(host)
}

fn examplecc() -> DeployRequest {
    let mut request = DeployRequest::new("examplecc", Source::Directory(EXAMPLECC.into()));
    request.init = Some(["Init", "a", "100", "b", "200"].map(String::from).to_vec());
    request
}

#[tokio::test]
async fn a_stopped_network_comes_back_with_its_ledger() {
    let Some(net) = network_with_examplecc("a_stopped_network_comes_back_with_its_ledger").await
    else {
        return;
    };
    // What a Docker restart or a reboot does: every container stops, chaincode included.
    let all = common::containers_of(&net.topology().network).await;
    assert_eq!(all.len(), 3 + 2 + 2, "{all:?}");
    for c in &all {
        common::stop(c).await;
    }
    match net.network().up(&Silent).await.unwrap() {
        UpOutcome::Restarted { containers, .. } => {
            assert_eq!(containers.len(), all.len(), "{containers:?}")
        }
        other => panic!("expected the stopped containers to be started, got {other:?}"),
    }
    // The ledger survived: the value from before the stop.
    assert_eq!(net.query("examplecc", "query", &["a"]).await.unwrap(), "80");
    net.invoke("examplecc", "invoke", &["a", "b", "10"])
        .await
        .unwrap();
    assert_eq!(
        net.query_as("Org2MSP", "examplecc", "query", &["b"])
            .await
            .unwrap(),
        "230"
    );
    assert!(matches!(
        net.network().up(&Silent).await.unwrap(),
        UpOutcome::AlreadyUp { .. }
    ));
}

#[tokio::test]
async fn killed_chaincode_servers_and_orderers_and_two_deploys_at_once() {
    let Some(net) =
        network_with_examplecc("killed_chaincode_servers_and_orderers_and_two_deploys_at_once")
            .await
    else {
        return;
    };
    // The chaincode server of Org1 is killed: invoke says so, with the fix.
    let server = container(&net, "examplecc.org1.example.com");
    common::kill(&server).await;
    let err = net
        .invoke("examplecc", "invoke", &["a", "b", "1"])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ChaincodeDown { .. }), "{err}");
    assert!(err.to_string().contains("fabx deploy examplecc"), "{err}");
    // Deploying again restarts it, with no new sequence.
    let again = net.deploy(&examplecc()).await.unwrap();
    assert!(!again.committed, "{again:?}");
    assert_eq!(again.sequence, 1);
    assert_eq!(again.containers_started, [server]);
    net.invoke("examplecc", "invoke", &["a", "b", "1"])
        .await
        .unwrap();

    // The first orderer (the one fabx used to send everything to) is killed: Raft keeps
    // serving with 2 of 3, and invoke still commits.
    common::kill(&container(&net, "orderer.example.com")).await;
    net.invoke("examplecc", "invoke", &["a", "b", "1"])
        .await
        .unwrap();
    // 80, the failed invoke changed nothing, then two of 1.
    assert_eq!(net.query("examplecc", "query", &["a"]).await.unwrap(), "78");

    // Two deploys of a new version at once: one waits for the other's lock, then finds
    // the definition committed and changes nothing.
    let mut v2 = examplecc();
    v2.version = "2.0".into();
    // Without init: a new version would be initialized again, resetting the values.
    v2.init = None;
    let (first, second) = tokio::join!(net.deploy(&v2), net.deploy(&v2));
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!((first.sequence, second.sequence), (2, 2));
    assert!(
        first.committed != second.committed,
        "exactly one commits: {first:?} {second:?}"
    );
    assert_eq!(
        net.query("examplecc", "query", &["b"]).await.unwrap(),
        "222"
    );

    // A server started again behind fabx's back (as Docker's restart policy would) is
    // dialled by its peers only once it listens: the first query right after the start
    // waits for it instead of failing.
    let org2_server = container(&net, "examplecc.org2.example.com");
    common::kill(&org2_server).await;
    common::start(&org2_server).await;
    assert_eq!(
        net.query_as("Org2MSP", "examplecc", "query", &["b"])
            .await
            .unwrap(),
        "222"
    );
}

/// Signals when a step starts.
struct OnStep {
    step: String,
    started: tokio::sync::mpsc::UnboundedSender<()>,
}

impl Reporter for OnStep {
    fn step_started(&self, _id: StepId, step: &str) {
        if step == self.step {
            let _ = self.started.send(());
        }
    }
}

#[tokio::test]
async fn a_peer_killed_during_deploy_fails_it_and_up_heals() {
    if let Some(reason) = common::missing_fabric_images(&Topology::default_topology()).await {
        return common::skipped("a_peer_killed_during_deploy_fails_it_and_up_heals", &reason);
    }
    let net = TestNetwork::start().await.unwrap();
    let peer = container(&net, "peer0.org2.example.com");
    let (started, mut on_install) = tokio::sync::mpsc::unbounded_channel();
    let reporter = OnStep {
        step: "install on peer0.org2.example.com".into(),
        started,
    };
    let killer = async {
        on_install.recv().await;
        common::kill(&peer).await;
    };
    let request = examplecc();
    let (deployed, ()) = tokio::join!(net.network().deploy(&request, &reporter), killer);
    let err = deployed.unwrap_err().to_string();
    assert!(
        err.contains(&peer),
        "the error names the killed peer: {err}"
    );

    // The next up starts it again; the next deploy succeeds.
    match net.network().up(&Silent).await.unwrap() {
        UpOutcome::Restarted { containers, .. } => assert!(containers.contains(&peer)),
        other => panic!("expected the killed peer to be started, got {other:?}"),
    }
    net.deploy(&examplecc()).await.unwrap();
    net.invoke("examplecc", "invoke", &["a", "b", "5"])
        .await
        .unwrap();
    assert_eq!(
        net.query_as("Org2MSP", "examplecc", "query", &["b"])
            .await
            .unwrap(),
        "205"
    );

    // Objects removed behind fabx's back: up names what is missing and touches nothing.
    let removed = container(&net, "peer0.org1.example.com");
    common::remove(&removed).await;
    common::remove(&container(&net, "examplecc.org2.example.com")).await;
    let before = common::containers_of(&net.topology().network).await;
    let err = net.network().up(&Silent).await.unwrap_err();
    assert!(matches!(err, Error::Broken { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("peer0.org1.example.com"), "{message}");
    assert!(message.contains("fabx down"), "{message}");
    assert_eq!(common::containers_of(&net.topology().network).await, before);
    // down still removes the rest and succeeds.
    let network = net.topology().network.clone();
    let outcome = net.teardown().await.unwrap();
    assert_eq!(outcome.containers, before.len());
    assert!(outcome.network_removed);
    assert!(common::containers_of(&network).await.is_empty());
}
