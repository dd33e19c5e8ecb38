//! assetcc served by the real shim and driven by the shim's mock peer, as users whose
//! certificates carry Fabric CA attributes.

use std::collections::HashMap;

use fabx_shim::mock_peer::{signed_proposal, MockPeer, Serving};
use fabx_shim::{KeyEndorsementPolicy, Response};
use rcgen::{CertificateParams, CustomExtension, DnType, KeyPair};

use super::*;

const CHANNEL: &str = "mychannel";

async fn connected() -> (MockPeer, Serving) {
    MockPeer::serve(AssetContract).await.unwrap()
}

/// A user certificate named `name` with Fabric CA's attribute extension holding `attrs`.
fn user(name: &str, attrs: &[(&str, &str)]) -> Vec<u8> {
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::OrganizationalUnitName, "client");
    params.distinguished_name.push(DnType::CommonName, name);
    let attrs: HashMap<&str, &str> = attrs.iter().copied().collect();
    let json = serde_json::json!({ "attrs": attrs }).to_string();
    params
        .custom_extensions
        .push(CustomExtension::from_oid_content(
            &[1, 2, 3, 4, 5, 6, 7, 8, 1],
            json.into_bytes(),
        ));
    let cert = params.self_signed(&KeyPair::generate().unwrap()).unwrap();
    cert.pem().into_bytes()
}

async fn call(peer: &MockPeer, msp: &str, cert: &[u8], txid: &str, args: &[&str]) -> Response {
    let proposal = signed_proposal(msp, cert, HashMap::new());
    peer.invoke_with_proposal(CHANNEL, txid, args, proposal)
        .await
        .unwrap()
}

fn ok(response: Response) -> String {
    assert_eq!(response.status, 200, "{}", response.message);
    String::from_utf8(response.payload).unwrap()
}

#[tokio::test]
async fn an_asset_is_owned_transferred_and_audited() {
    let (peer, _stop) = connected().await;
    let clerk = user("clerk1", &[]);
    let auditor = user("auditor1", &[("role", "auditor")]);

    let created: Asset = serde_json::from_str(&ok(call(
        &peer,
        "Org1MSP",
        &clerk,
        "c1",
        &["Create", "car1", "blue"],
    )
    .await))
    .unwrap();
    assert_eq!(
        (created.owner.as_str(), created.value.as_str()),
        ("Org1MSP", "blue")
    );
    assert!(created.created > 1_700_000_000, "{created:?}");
    let taken = call(&peer, "Org1MSP", &clerk, "c2", &["Create", "car1", "red"]).await;
    assert_eq!(taken.message, "asset car1 already exists");

    // The key's endorsement policy names the owner org.
    assert_eq!(
        ok(call(&peer, "Org1MSP", &clerk, "o1", &["Owners", "car1"]).await),
        r#"["Org1MSP"]"#
    );
    let metadata = peer.state_metadata("", "car1");
    let policy = KeyEndorsementPolicy::new(&metadata[fabx_shim::VALIDATION_PARAMETER]).unwrap();
    assert_eq!(policy.list_orgs(), ["Org1MSP"]);

    let moved: Asset = serde_json::from_str(&ok(call(
        &peer,
        "Org1MSP",
        &clerk,
        "t1",
        &["Transfer", "car1", "Org2MSP"],
    )
    .await))
    .unwrap();
    assert_eq!(moved.owner, "Org2MSP");
    let (name, payload) = peer.event("t1").unwrap();
    assert_eq!(name, TRANSFERRED);
    let payload: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(
        payload,
        serde_json::json!({"id": "car1", "from": "Org1MSP", "to": "Org2MSP"})
    );
    assert_eq!(
        ok(call(&peer, "Org2MSP", &clerk, "o2", &["Owners", "car1"]).await),
        r#"["Org2MSP"]"#
    );
    let again = call(
        &peer,
        "Org2MSP",
        &clerk,
        "t2",
        &["Transfer", "car1", "Org2MSP"],
    )
    .await;
    assert_eq!(again.message, "asset car1 is already owned by Org2MSP");

    // History is for auditors only.
    let refused = call(&peer, "Org1MSP", &clerk, "h1", &["History", "car1"]).await;
    assert_eq!(refused.status, 500);
    assert_eq!(
        refused.message,
        "only callers with attribute role=auditor may read the history of asset car1 \
         (Attribute 'role' was not found)"
    );
    let history: Vec<Change> = serde_json::from_str(&ok(call(
        &peer,
        "Org1MSP",
        &auditor,
        "h2",
        &["History", "car1"],
    )
    .await))
    .unwrap();
    let txs: Vec<&str> = history.iter().map(|c| c.tx_id.as_str()).collect();
    assert_eq!(txs, ["t1", "c1"]);
    assert_eq!(history[0].asset.as_ref().unwrap().owner, "Org2MSP");
    assert_eq!(history[1].asset.as_ref().unwrap().owner, "Org1MSP");

    let me: serde_json::Value =
        serde_json::from_str(&ok(
            call(&peer, "Org1MSP", &auditor, "w1", &["WhoAmI"]).await
        ))
        .unwrap();
    assert_eq!(me["msp_id"], "Org1MSP");
    assert_eq!(me["attributes"]["role"], "auditor");
    assert_eq!(me["organizational_units"], serde_json::json!(["client"]));
}

#[tokio::test]
async fn a_call_to_another_chaincode_answers_with_its_payload() {
    let (peer, _stop) = connected().await;
    let clerk = user("clerk1", &[]);
    peer.answer_calls_to("examplecc", Response::success(b"80".to_vec()));
    let answer = ok(call(
        &peer,
        "Org1MSP",
        &clerk,
        "x1",
        &["CallOther", "examplecc", "query", "a"],
    )
    .await);
    assert_eq!(answer, "80");
    assert_eq!(
        peer.chaincode_calls(),
        [(
            "examplecc".to_string(),
            vec![b"query".to_vec(), b"a".to_vec()]
        )]
    );
    peer.answer_calls_to("failingcc", Response::error("no such key"));
    let failed = call(
        &peer,
        "Org1MSP",
        &clerk,
        "x2",
        &["CallOther", "failingcc", "query"],
    )
    .await;
    assert_eq!(
        failed.message,
        "calling failingcc failed (500): no such key"
    );
    let unknown = call(&peer, "Org1MSP", &clerk, "x3", &["Fly", "car1"]).await;
    assert!(
        unknown
            .message
            .starts_with("unknown function Fly with 1 arguments"),
        "{}",
        unknown.message
    );
}
