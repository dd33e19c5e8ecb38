//! Example integration tests for other projects: they use only the harness API
//! (`fabx::harness`). The two tests run in parallel, each on its own network.

use fabx::harness::{missing_images, TestNetwork};
use fabx::{DockerEngine, Error, Topology};

const EXAMPLECC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/chaincode/examplecc");

/// Skips (saying so) where the Fabric images are absent.
async fn fabric_available(test: &str, topology: &Topology) -> bool {
    use std::io::Write;
    match missing_images(topology).await.unwrap() {
        None => true,
        Some(reason) => {
            let _ = writeln!(std::io::stderr(), "SKIPPED: {test}: {reason}");
            false
        }
    }
}

/// Nothing labelled with the network is left: containers, volumes, network.
async fn assert_gone(network: &str, volumes: &[String]) {
    let engine = DockerEngine::connect().await.unwrap();
    let label = format!("fabx.network={network}");
    assert!(engine
        .containers_labelled(&[label])
        .await
        .unwrap()
        .is_empty());
    assert!(engine.network_labels(network).await.unwrap().is_none());
    for v in volumes {
        assert!(
            engine.client().inspect_volume(v).await.is_err(),
            "volume {v} leaked"
        );
    }
}

async fn volumes(net: &TestNetwork) -> Vec<String> {
    let engine = DockerEngine::connect().await.unwrap();
    let label = format!("fabx.network={}", net.topology().network);
    let mut names = Vec::new();
    for c in engine.containers_labelled(&[label]).await.unwrap() {
        for m in c.mounts.unwrap_or_default() {
            names.extend(m.name);
        }
    }
    names
}

#[tokio::test]
async fn examplecc_moves_value_between_accounts() {
    if !fabric_available(
        "examplecc_moves_value_between_accounts",
        &Topology::default_topology(),
    )
    .await
    {
        return;
    }
    let net = TestNetwork::start().await.unwrap();
    let report = net
        .deploy_dir("examplecc", EXAMPLECC, &["Init", "a", "100", "b", "200"])
        .await
        .unwrap();
    assert!(report.committed && report.initialized);
    assert_eq!(report.sequence, 1);

    net.invoke("examplecc", "invoke", &["a", "b", "20"])
        .await
        .unwrap();
    assert_eq!(net.query("examplecc", "query", &["a"]).await.unwrap(), "80");
    assert_eq!(
        net.query_as("Org2MSP", "examplecc", "query", &["b"])
            .await
            .unwrap(),
        "220"
    );

    // A chaincode error is an error carrying the chaincode's message.
    match net.invoke("examplecc", "invoke", &["a", "b"]).await {
        Err(Error::ChaincodeFailed { message, .. }) => {
            assert_eq!(message, "Incorrect number of arguments. Expecting 3")
        }
        other => panic!("expected a chaincode error, got {other:?}"),
    }
    assert!(net
        .logs("peer0.org1.example.com")
        .await
        .unwrap()
        .contains("Started peer with ID"));
    assert!(net
        .logs("examplecc.org1.example.com")
        .await
        .unwrap()
        .contains("listening"));

    let network = net.topology().network.clone();
    let volumes = volumes(&net).await;
    let outcome = net.teardown().await.unwrap();
    assert_eq!(outcome.containers, 3 + 2 + 2);
    assert_gone(&network, &volumes).await;
}

#[tokio::test]
async fn a_topology_built_in_code_with_redeploys() {
    let builder = TestNetwork::builder().orgs(3).orderers(1);
    let topology = builder.build().unwrap();
    if !fabric_available("a_topology_built_in_code_with_redeploys", &topology).await {
        return;
    }
    let net = builder.start().await.unwrap();
    let first = net
        .deploy_dir("examplecc", EXAMPLECC, &["Init", "a", "10", "b", "0"])
        .await
        .unwrap();
    assert_eq!(first.package_ids.len(), 3);

    // Same definition, same packages: no lifecycle transaction, no new container.
    let again = net
        .deploy_dir("examplecc", EXAMPLECC, &["Init", "a", "10", "b", "0"])
        .await
        .unwrap();
    assert!(!again.committed && !again.initialized && again.containers_started.is_empty());
    assert_eq!(again.sequence, 1);

    // The same image under another name, one container shared by all orgs.
    let mut shared = fabx::network::deploy::DeployRequest::new(
        "sharedcc",
        fabx::network::deploy::Source::Image(first.image.clone()),
    );
    shared.shared_container = true;
    shared.init = Some(vec![
        "Init".into(),
        "x".into(),
        "1".into(),
        "y".into(),
        "2".into(),
    ]);
    let report = net.deploy(&shared).await.unwrap();
    assert_eq!(report.containers_started.len(), 1);
    let ids: std::collections::HashSet<_> = report.package_ids.iter().map(|(_, id)| id).collect();
    assert_eq!(ids.len(), 1, "one package for every org");
    net.invoke("sharedcc", "invoke", &["y", "x", "2"])
        .await
        .unwrap();
    assert_eq!(
        net.query_as("Org3MSP", "sharedcc", "query", &["x"])
            .await
            .unwrap(),
        "3"
    );

    // A new version bumps the sequence by itself and needs init again.
    let mut upgrade = fabx::network::deploy::DeployRequest::new(
        "examplecc",
        fabx::network::deploy::Source::Image(first.image.clone()),
    );
    upgrade.version = "2.0".into();
    upgrade.init = Some(vec![
        "Init".into(),
        "a".into(),
        "5".into(),
        "b".into(),
        "6".into(),
    ]);
    let upgraded = net.deploy(&upgrade).await.unwrap();
    assert_eq!(upgraded.sequence, 2);
    assert!(upgraded.committed);
    assert_eq!(
        net.query_as("Org2MSP", "examplecc", "query", &["b"])
            .await
            .unwrap(),
        "6"
    );

    let network = net.topology().network.clone();
    let volumes = volumes(&net).await;
    net.teardown().await.unwrap();
    assert_gone(&network, &volumes).await;
}
