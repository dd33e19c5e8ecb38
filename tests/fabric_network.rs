//! On real Fabric images: a network comes up with every node joined, status reads it
//! from the nodes, and down leaves nothing. Skipped (with a SKIPPED line) when the
//! hyperledger/fabric-* images are not present.

mod common;

use common::{engine, isolated_topology, missing_fabric_images, unique, volume_exists, volumes_of};
use fabx::network::UpOutcome;
use fabx::reporter::Silent;
use fabx::topology::NodeKind;
use fabx::{Layout, Network, Topology};

async fn up_and_check(test: &str, topology: Topology, orderers: usize, peers: usize) {
    let engine = engine().await;
    if let Some(reason) = missing_fabric_images(&topology).await {
        return common::skipped(test, &reason);
    }
    let _cleanup = common::Cleanup {
        engine: engine.clone(),
        network: topology.network.clone(),
    };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let network = Network::new(engine.clone(), topology.clone(), Layout::new(&state));

    let outcome = network.up(&Silent).await.unwrap();
    let UpOutcome::Started { nodes, elapsed } = outcome else {
        panic!("expected a fresh start, got {outcome:?}")
    };
    assert_eq!(nodes, orderers + peers);
    common::report(&format!(
        "{test}: up took {:.2}s for {nodes} nodes",
        elapsed.as_secs_f64()
    ));

    let status = network.status().await.unwrap();
    assert!(status.up);
    let count = |kind| status.nodes.iter().filter(|n| n.kind == kind).count();
    assert_eq!(
        (count(NodeKind::Orderer), count(NodeKind::Peer)),
        (orderers, peers),
        "{status:#?}"
    );
    for node in &status.nodes {
        assert_eq!(node.state, "running", "{node:?}");
        assert_eq!(node.error, None, "{node:?}");
        assert_eq!(node.channels.len(), 1, "{node:?}");
        assert_eq!(node.channels[0].name, topology.channel);
        assert!(node.channels[0].height >= 1, "{node:?}");
    }
    assert!(state
        .join("channel")
        .join(format!("{}.block", topology.channel))
        .is_file());

    // A second up on a running network changes nothing.
    assert_eq!(
        network.up(&Silent).await.unwrap(),
        UpOutcome::AlreadyUp {
            containers: orderers + peers
        }
    );

    let containers: Vec<String> = status.nodes.iter().map(|n| n.container.clone()).collect();
    let volumes = volumes_of(&engine, &containers).await;
    assert!(
        volumes.len() >= 2 * containers.len(),
        "the Fabric images declare two VOLUMEs each"
    );

    let down = network.down(&Silent).await.unwrap();
    assert_eq!(down.containers, orderers + peers);
    assert!(down.network_removed);
    assert_eq!(down.state_dir_removed.as_deref(), Some(state.as_path()));
    for v in &volumes {
        assert!(!volume_exists(&engine, v).await, "volume {v} leaked");
    }
    assert!(engine
        .network_labels(&topology.network)
        .await
        .unwrap()
        .is_none());
    assert!(network.down(&Silent).await.unwrap().removed_nothing());
}

#[tokio::test]
async fn default_shaped_network_comes_up_joined_and_goes_away() {
    up_and_check("default_shaped_network", isolated_topology(), 3, 2).await;
}

#[tokio::test]
async fn three_orgs_with_several_peers_and_one_orderer() {
    let name = unique("fabx-it3");
    let text = format!(
        "
network: {name}
container_prefix: {name}
channel: mychannel
images: {{ peer: hyperledger/fabric-peer:2.5, orderer: hyperledger/fabric-orderer:2.5 }}
orderer_org: {{ msp_id: OrdererMSP, domain: example.com, orderers: [ {{ name: orderer }} ] }}
orgs:
  - {{ msp_id: Org1MSP, domain: org1.example.com, peers: [ {{ name: peer0 }}, {{ name: peer1 }} ] }}
  - {{ msp_id: Org2MSP, domain: org2.example.com, peers: [ {{ name: peer0 }} ] }}
  - {{ msp_id: Org3MSP, domain: org3.example.com, peers: [ {{ name: peer0 }} ] }}
orderer: {{ batch_timeout: 100ms, max_message_count: 10, tick_interval: 200ms, election_tick: 10 }}
"
    );
    let topology = Topology::parse(&text, "three-orgs.yaml").unwrap();
    up_and_check("three_orgs_with_several_peers", topology, 1, 4).await;
}

#[tokio::test]
async fn a_node_that_exits_during_start_up_fails_up_and_leaves_nothing() {
    const TEST: &str = "a_node_that_exits_during_start_up";
    let engine = engine().await;
    let mut topology = isolated_topology();
    if let Some(reason) = missing_fabric_images(&topology).await {
        return common::skipped(TEST, &reason);
    }
    let _cleanup = common::Cleanup {
        engine: engine.clone(),
        network: topology.network.clone(),
    };
    // A shell that exits at once without input: an orderer that never serves.
    topology.images.orderer = common::busybox_image(&engine).await.to_string();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let network = Network::new(engine.clone(), topology.clone(), Layout::new(&state));
    let err = network.up(&Silent).await.unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(
            err,
            fabx::Error::Wait(fabx::engine::wait::WaitError::Stopped { .. })
        ),
        "{message}"
    );
    assert!(
        message.contains("orderer")
            && message.contains("stopped before reaching 'serving requests'"),
        "{message}"
    );
    let label = format!("fabx.network={}", topology.network);
    assert!(engine
        .containers_labelled(&[label])
        .await
        .unwrap()
        .is_empty());
    assert!(engine
        .network_labels(&topology.network)
        .await
        .unwrap()
        .is_none());
    assert!(!state.exists());
}
