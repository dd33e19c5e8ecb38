//! assetcc on real Fabric (2.5 etcdraft, 3.1 BFT): the chaincode API beyond state. A user
//! with `role=auditor` (made with `fabx identity add`) reads an asset's history and one
//! without gets the chaincode's refusal; a transfer's event reaches `invoke` and a Gateway
//! client's event stream; the key-level policy (the owner org) invalidates a change the
//! wrong org endorsed and admits the right one; a chaincode-to-chaincode call answers the
//! other chaincode's value. Prints SKIPPED without the images.

mod common;

use fabx::harness::{missing_images, TestNetwork, TopologyBuilder};
use fabx::network::invoke::CallOptions;
use fabx::topology::NodeKind;
use futures_util::StreamExt;
use std::time::Duration;

const ASSETCC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/chaincode/assetcc");
const EXAMPLECC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/chaincode/examplecc");

async fn assets(test: &str, builder: TopologyBuilder) {
    let topology = builder.build().unwrap();
    if let Some(reason) = missing_images(&topology).await.unwrap() {
        common::skipped(test, &reason);
        return;
    }
    let net = TestNetwork::start_with(topology, &fabx::reporter::Silent)
        .await
        .unwrap();
    net.deploy_dir("examplecc", EXAMPLECC, &["Init", "a", "100", "b", "200"])
        .await
        .unwrap();
    net.deploy_dir("assetcc", ASSETCC, &[]).await.unwrap();
    net.add_identity("Org1MSP", "auditor1", &[("role", "auditor")])
        .await
        .unwrap();
    net.add_identity("Org1MSP", "clerk1", &[("role", "clerk")])
        .await
        .unwrap();
    let org1 = CallOptions::default().peer("Org1MSP");
    let org2 = CallOptions::default().peer("Org2MSP");

    // Created by Org1's admin: Org1 owns it, and the key's policy says so.
    let created = net
        .invoke("assetcc", "Create", &["car1", "blue"])
        .await
        .unwrap();
    assert!(
        created.payload.contains(r#""owner":"Org1MSP""#),
        "{}",
        created.payload
    );
    let owners = net.query("assetcc", "Owners", &["car1"]).await.unwrap();
    assert_eq!(owners, r#"["Org1MSP"]"#);

    let created_block = net
        .network()
        .transaction(None, &created.tx_id)
        .await
        .unwrap()
        .block;

    // Org2 alone cannot take it: the key's policy wants Org1's peer.
    let refused = net
        .invoke_with("assetcc", "Transfer", &["car1", "Org2MSP"], &org2)
        .await
        .unwrap_err();
    let fabx::Error::EndorsementPolicyNotMet(failure) = &refused else {
        panic!("{refused}");
    };
    let refused_tx = &failure.tx_id;
    let refused_view = net.network().transaction(None, refused_tx).await.unwrap();
    assert_eq!(
        refused_view.validation.as_deref(),
        Some("ENDORSEMENT_POLICY_FAILURE")
    );
    // Org1 alone can give it away.
    let transferred = net
        .invoke_with("assetcc", "Transfer", &["car1", "Org2MSP"], &org1)
        .await
        .unwrap();
    let event = transferred.event.clone().expect("the transfer's event");
    assert_eq!(event.name, "AssetTransferred");
    let expected = serde_json::json!({"id": "car1", "from": "Org1MSP", "to": "Org2MSP"});
    let payload: serde_json::Value = serde_json::from_str(event.payload.text().unwrap()).unwrap();
    assert_eq!(payload, expected);
    // A Gateway client reads assetcc's events from the block after the creation: the
    // invalidated transfer has none, the first is the transfer's.
    let layout = &net.network().layout;
    let msp = layout
        .user_dir(NodeKind::Peer, "org1.example.com", "User1")
        .join("msp");
    let cert =
        std::fs::read_to_string(msp.join("signcerts/User1@org1.example.com-cert.pem")).unwrap();
    let key = std::fs::read_to_string(msp.join("keystore/priv_sk")).unwrap();
    let gateway = common::gateway_as(&net, "Org1MSP", &cert, &key).await;
    let mut events = gateway
        .get_network(&net.topology().channel)
        .new_chaincode_events_request("assetcc")
        .with_start_block(created_block + 1)
        .build()
        .events()
        .await
        .unwrap();
    let received = tokio::time::timeout(Duration::from_secs(30), events.next())
        .await
        .expect("the Gateway's event within 30 s")
        .expect("an event");
    assert_eq!(received.event_name, "AssetTransferred");
    assert_eq!(received.transaction_id, transferred.tx_id);
    assert_eq!(received.chaincode_name, "assetcc");
    let received_payload: serde_json::Value = serde_json::from_slice(&received.payload).unwrap();
    assert_eq!(received_payload, expected);

    // Now Org2 owns it: Org1 alone can no longer change it, Org2 alone can.
    let stale = net
        .invoke_with("assetcc", "Update", &["car1", "red"], &org1)
        .await
        .unwrap_err();
    assert!(
        matches!(stale, fabx::Error::EndorsementPolicyNotMet(_)),
        "{stale}"
    );
    let updated = net
        .invoke_with("assetcc", "Update", &["car1", "red"], &org2)
        .await
        .unwrap();

    // History: for the auditor, newest first; refused to a clerk by the chaincode.
    let as_auditor = org1.clone().identity("auditor1");
    let history = net
        .query_with("assetcc", "History", &["car1"], &as_auditor)
        .await
        .unwrap();
    let history: Vec<serde_json::Value> = serde_json::from_str(&history).unwrap();
    let txs: Vec<&str> = history
        .iter()
        .map(|c| c["tx_id"].as_str().unwrap())
        .collect();
    assert_eq!(txs, [&updated.tx_id, &transferred.tx_id, &created.tx_id]);
    assert_eq!(history[0]["asset"]["value"], "red");
    assert_eq!(history[1]["asset"]["owner"], "Org2MSP");
    assert!(history[2]["timestamp"].as_u64().unwrap() > 1_700_000_000);
    let as_clerk = org1.clone().identity("clerk1");
    let refusal = net
        .query_with("assetcc", "History", &["car1"], &as_clerk)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refusal.contains("only callers with attribute role=auditor may read the history of asset car1 (Attribute 'role' equals 'clerk', not 'auditor')"),
        "{refusal}"
    );
    let me = net
        .query_with("assetcc", "WhoAmI", &[], &as_auditor)
        .await
        .unwrap();
    let me: serde_json::Value = serde_json::from_str(&me).unwrap();
    assert_eq!(me["attributes"]["role"], "auditor");
    assert_eq!(me["msp_id"], "Org1MSP");

    // Chaincode to chaincode, same channel.
    let a = net
        .query("assetcc", "CallOther", &["examplecc", "query", "a"])
        .await
        .unwrap();
    assert_eq!(a, "100");
    common::report(&format!(
        "{test}: transfer {} VALID with event AssetTransferred at invoke and Gateway; Org2-only transfer {refused_tx} ENDORSEMENT_POLICY_FAILURE; history of {} changes for auditor1, refused to clerk1; CallOther examplecc a = {a}",
        transferred.tx_id,
        history.len()
    ));
    net.teardown().await.unwrap();
}

#[tokio::test]
async fn assets_on_fabric_2_5() {
    assets("assets_on_fabric_2_5", TestNetwork::builder()).await;
}

#[tokio::test]
async fn assets_on_fabric_3_1_with_bft() {
    let builder = common::fabric_3_1_bft();
    assets("assets_on_fabric_3_1_with_bft", builder).await;
}
