//! The same flow on Fabric 3.x peers and orderers (etcdraft), with no image of Fabric 2.5
//! and no tools image. Skipped, with a SKIPPED line, where the 3.x images are absent.
mod common;

use fabx::harness::{missing_images, TestNetwork};

#[tokio::test]
async fn examplecc_on_fabric_3() {
    let topology = TestNetwork::builder()
        .images(
            "hyperledger/fabric-peer:3.1",
            "hyperledger/fabric-orderer:3.1",
        )
        .build()
        .unwrap();
    if let Some(reason) = missing_images(&topology).await.unwrap() {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: examplecc_on_fabric_3: {reason}"
        );
        return;
    }
    let net = TestNetwork::start_with(topology, &fabx::reporter::Silent)
        .await
        .unwrap();
    let status = net.network().status().await.unwrap();
    assert_eq!(status.nodes.len(), 5);
    assert!(
        status
            .nodes
            .iter()
            .all(|n| n.channels.len() == 1 && n.channels[0].height >= 1),
        "{status:#?}"
    );
    // The stock 3.x peer runs our builder (dash, no jq) and dials the chaincode server.
    common::examplecc_main_job(&net).await;
    let outcome = net.teardown().await.unwrap();
    assert!(outcome.network_removed);
}
