//! A TestNetwork is torn down when dropped, also when the test using it panics, and a
//! failing deploy leaves the network healthy.

mod common;

use fabx::harness::TestNetwork;
use fabx::{Error, Topology};

#[tokio::test]
async fn a_panicking_test_leaves_nothing_behind() {
    let engine = common::engine().await;
    if let Some(reason) = common::missing_fabric_images(&Topology::default_topology()).await {
        return common::skipped("a_panicking_test_leaves_nothing_behind", &reason);
    }
    let (name_tx, name_rx) = std::sync::mpsc::channel();
    let test = tokio::spawn(async move {
        let net = TestNetwork::start().await.unwrap();
        name_tx.send(net.topology().network.clone()).unwrap();
        panic!("the test under the harness fails");
    });
    let outcome = test.await;
    assert!(outcome.unwrap_err().is_panic());
    let network = name_rx.recv().unwrap();
    let label = format!("fabx.network={network}");
    assert!(engine
        .containers_labelled(&[label])
        .await
        .unwrap()
        .is_empty());
    assert!(engine.network_labels(&network).await.unwrap().is_none());
}

#[tokio::test]
async fn a_chaincode_that_exits_fails_the_deploy_and_leaves_the_network_healthy() {
    let engine = common::engine().await;
    if let Some(reason) = common::missing_fabric_images(&Topology::default_topology()).await {
        return common::skipped("a_chaincode_that_exits", &reason);
    }
    // An image whose process exits at once (a shell with no input).
    let crashing = common::busybox_image(&engine).await;
    let net = TestNetwork::start().await.unwrap();
    let init = ["Init", "a", "1", "b", "2"];
    let err = net
        .deploy_image("crashcc", crashing, &init)
        .await
        .unwrap_err();
    match &err {
        Error::ChaincodeExited { container, .. } => assert!(
            container.ends_with("crashcc.org1.example.com")
                || container.ends_with("crashcc.org2.example.com"),
            "{container}"
        ),
        other => panic!("expected ChaincodeExited, got {other}"),
    }
    assert!(err.to_string().contains("exited during start-up"));
    // The failed server is not left running, and the network still serves a good chaincode.
    let label = "fabx.chaincode=crashcc_1.0".to_string();
    let left = engine.containers_labelled(&[label]).await.unwrap();
    assert!(
        left.iter()
            .all(|c| c.state.map(|s| s.to_string()) != Some("running".into())),
        "{left:?}"
    );
    let examplecc = concat!(env!("CARGO_MANIFEST_DIR"), "/chaincode/examplecc");
    net.deploy_dir("examplecc", examplecc, &init).await.unwrap();
    assert_eq!(net.query("examplecc", "query", &["b"]).await.unwrap(), "2");
    // The failed deploy committed its definition (the commit does not wait for the
    // containers); the same deploy with a working image only starts the servers and inits.
    let again = net
        .deploy_image("crashcc", "fabx/examplecc:1.0", &init)
        .await
        .unwrap();
    assert!(!again.committed && again.initialized, "{again:?}");
    assert_eq!(again.sequence, 1);
    assert_eq!(net.query("crashcc", "query", &["b"]).await.unwrap(), "2");
    net.teardown().await.unwrap();
}

#[tokio::test]
async fn deploy_on_a_network_that_is_not_up_says_so() {
    let engine = common::engine().await;
    let dir = tempfile::tempdir().unwrap();
    let network = fabx::Network::new(
        engine,
        common::isolated_topology(),
        fabx::Layout::new(dir.path()),
    );
    let request = fabx::network::deploy::DeployRequest::new(
        "examplecc",
        fabx::network::deploy::Source::Image("x:1".into()),
    );
    let err = network
        .deploy(&request, &fabx::reporter::Silent)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotUp { .. }), "{err}");
    assert!(err.to_string().ends_with("is not up (run `fabx up` first)"));
}
