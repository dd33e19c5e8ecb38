//! Users added with `fabx identity add` on real Fabric 2.5: one with an attribute submits
//! an invoke that commits with it as the creator, queries as it, and the bad cases (a name
//! taken, an identity of another org) are one-line errors. Prints SKIPPED without the
//! images.

mod common;

use fabx::harness::{missing_images, TestNetwork};
use fabx::network::invoke::CallOptions;

#[tokio::test]
async fn an_added_identity_submits_and_is_the_transaction_s_creator() {
    const TEST: &str = "an_added_identity_submits_and_is_the_transaction_s_creator";
    let topology = TestNetwork::builder().build().unwrap();
    if let Some(reason) = missing_images(&topology).await.unwrap() {
        common::skipped(TEST, &reason);
        return;
    }
    let net = TestNetwork::start_with(topology, &fabx::reporter::Silent)
        .await
        .unwrap();
    common::examplecc_main_job(&net).await;

    let added = net
        .add_identity("Org1MSP", "auditor1", &[("role", "auditor")])
        .await
        .unwrap();
    assert_eq!(added.identity.role, "client");
    assert_eq!(added.identity.attributes["role"], "auditor");
    assert_eq!(added.identity.attributes["hf.EnrollmentID"], "auditor1");

    let as_auditor = CallOptions::default().identity("auditor1");
    let invoked = net
        .invoke_with("examplecc", "invoke", &["a", "b", "5"], &as_auditor)
        .await
        .unwrap();
    let tx = net
        .network()
        .transaction(None, &invoked.tx_id)
        .await
        .unwrap();
    assert_eq!(tx.validation.as_deref(), Some("VALID"));
    assert_eq!(tx.creator.msp_id, "Org1MSP");
    assert_eq!(tx.creator.name.as_deref(), Some("auditor1"));
    let a = net
        .query_with("examplecc", "query", &["a"], &as_auditor)
        .await
        .unwrap();
    assert_eq!(a, "75");

    let taken = net
        .add_identity("Org1MSP", "auditor1", &[])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        taken.contains("Org1MSP already has an identity named auditor1"),
        "{taken}"
    );
    // An identity acts for the org of the peer it goes through.
    let on_org2 = as_auditor.clone().peer("Org2MSP");
    let other_org = net
        .query_with("examplecc", "query", &["a"], &on_org2)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        other_org.contains("Org2MSP has no identity named auditor1"),
        "{other_org}"
    );
    let listed = net.network().identities(Some("Org1MSP")).unwrap();
    let names: Vec<&str> = listed.iter().map(|i| i.identity.name.as_str()).collect();
    assert_eq!(names, ["Admin", "User1", "auditor1"]);
    common::report(&format!(
        "{TEST}: auditor1 (role=auditor) committed {} as its creator; a = {a}",
        invoked.tx_id
    ));
    net.teardown().await.unwrap();
}
