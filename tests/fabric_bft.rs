//! SmartBFT ordering on Fabric 3 with no tools image: four BFT orderers and two orgs,
//! examplecc deployed, invoked and queried; with one orderer stopped the network still
//! orders; with two stopped an invoke fails at once, naming the orderers that are down.
//! Skipped, with a SKIPPED line, where the Fabric 3.1 images are absent.

mod common;

use fabx::harness::{missing_images, TestNetwork};

const EXAMPLECC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/chaincode/examplecc");

#[tokio::test]
async fn bft_orders_with_one_orderer_down_and_says_which_are_down_without_quorum() {
    const TEST: &str = "bft_orders_with_one_orderer_down";
    let topology = common::fabric_3_1_bft().build().unwrap();
    if let Some(reason) = missing_images(&topology).await.unwrap() {
        return common::skipped(TEST, &reason);
    }
    let tools_present = common::engine()
        .await
        .image_present("hyperledger/fabric-tools:2.5")
        .await
        .unwrap();
    common::report(&format!(
        "{TEST}: fabric-tools image present on this machine: {tools_present} (fabx uses none)"
    ));
    let net = TestNetwork::start_with(topology, &fabx::reporter::Silent)
        .await
        .unwrap();
    let network = net.topology().network.clone();
    let containers = common::containers_of(&network).await;
    assert_eq!(
        containers.len(),
        4 + 2,
        "only orderers and peers: {containers:?}"
    );

    net.deploy_dir("examplecc", EXAMPLECC, &["Init", "a", "100", "b", "200"])
        .await
        .unwrap();
    net.invoke("examplecc", "invoke", &["a", "b", "20"])
        .await
        .unwrap();
    assert_eq!(net.query("examplecc", "query", &["a"]).await.unwrap(), "80");

    // One of four down: f = 1, BFT still has its quorum of 3.
    let orderers = net.topology().orderers();
    let container = |i: usize| net.topology().container_name(&orderers[i].host);
    common::stop(&container(3)).await;
    net.invoke("examplecc", "invoke", &["a", "b", "10"])
        .await
        .unwrap();
    assert_eq!(net.query("examplecc", "query", &["a"]).await.unwrap(), "70");
    common::report(&format!(
        "{TEST}: with {} stopped, invoke and query still work (a = 70)",
        orderers[3].host
    ));

    // Two down: no quorum. The invoke fails at once and names them; queries still work.
    common::stop(&container(2)).await;
    let started = std::time::Instant::now();
    let err = net
        .invoke("examplecc", "invoke", &["a", "b", "10"])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{err}"
    );
    assert!(
        err.contains(&orderers[2].host)
            && err.contains(&orderers[3].host)
            && err.contains("BFT needs 3 of 4"),
        "{err}"
    );
    common::report(&format!("{TEST}: with two stopped, invoke fails: {err}"));
    assert_eq!(net.query("examplecc", "query", &["a"]).await.unwrap(), "70");
    net.teardown().await.unwrap();
    assert!(common::containers_of(&network).await.is_empty());
}
