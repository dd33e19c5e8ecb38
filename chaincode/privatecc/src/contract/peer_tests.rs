//! privatecc served by the real shim and driven by the shim's mock peer: every
//! function through the Stub, over gRPC, as a Fabric peer would call it.

use std::collections::HashMap;

use fabx_shim::mock_peer::{signed_proposal, MockPeer, Serving};

use super::PrivateCc;

const CHANNEL: &str = "mychannel";

async fn connected() -> (MockPeer, Serving) {
    MockPeer::serve(PrivateCc).await.unwrap()
}

/// Invokes `args` and returns the payload of a 200 response as text.
async fn ok(peer: &MockPeer, args: &[&str]) -> String {
    let r = peer.invoke(CHANNEL, "tx", args).await.unwrap();
    assert_eq!(r.status, 200, "{args:?}: {}", r.message);
    String::from_utf8(r.payload).unwrap()
}

fn proposal(transient: &[(&str, &str)]) -> fabx_shim::proto::SignedProposal {
    let transient: HashMap<String, Vec<u8>> = transient
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect();
    signed_proposal("Org1MSP", b"-----BEGIN CERTIFICATE-----", transient)
}

#[tokio::test]
async fn every_function_works_through_the_shim() {
    let (peer, _stop) = connected().await;
    peer.set_query_batch_size(2); // ranges of 3+ records need QUERY_STATE_NEXT
    let init = peer.init(CHANNEL, "init", &["Init", "ignored"]).await;
    assert_eq!(init.unwrap().status, 200);

    for k in ["a", "b", "c", "d", "e"] {
        ok(&peer, &["put", k, &k.to_uppercase()]).await;
    }
    assert_eq!(ok(&peer, &["get", "c"]).await, "C");
    ok(&peer, &["del", "e"]).await;
    assert_eq!(ok(&peer, &["get", "e"]).await, "");
    ok(&peer, &["putasset", "alice", "7", "bike"]).await;
    ok(&peer, &["putasset", "bob", "1", "boat"]).await;
    ok(&peer, &["createasset", "car1", "tom", "red", "4"]).await;
    let moved = peer
        .invoke(CHANNEL, "move", &["transferasset", "car1", "ann"])
        .await
        .unwrap();
    assert_eq!(moved.status, 200, "{}", moved.message);
    let (name, payload) = peer.event("move").expect("the transfer's event");
    assert_eq!(name, "AssetTransferred");
    assert_eq!(payload, br#"{"from":"tom","id":"car1","to":"ann"}"#);
    ok(&peer, &["del", "car1"]).await;

    let range = ok(&peer, &["range", "", ""]).await;
    assert_eq!(
        range,
        r#"[{"key":"a","value":"A"},{"key":"b","value":"B"},{"key":"c","value":"C"},{"key":"d","value":"D"}]"#
    );
    let page = ok(&peer, &["page", "a", "", "3"]).await;
    assert_eq!(
        page,
        r#"{"records":[{"key":"a","value":"A"},{"key":"b","value":"B"},{"key":"c","value":"C"}],"fetched":3,"bookmark":"d"}"#
    );
    let page = ok(&peer, &["page", "a", "", "3", "d"]).await;
    assert_eq!(
        page,
        r#"{"records":[{"key":"d","value":"D"}],"fetched":1,"bookmark":""}"#
    );
    assert_eq!(
        ok(&peer, &["assetsof", "alice"]).await,
        r#"[{"owner":"alice","id":"7","value":"bike"}]"#
    );
    assert!(peer.open_queries().is_empty());

    let put = peer
        .invoke_with_proposal(
            CHANNEL,
            "p",
            &["putprivate", "col", "k"],
            proposal(&[("value", "secret")]),
        )
        .await
        .unwrap();
    assert_eq!(put.status, 200, "{}", put.message);
    assert_eq!(
        peer.private_data("col").get("k").map(Vec::as_slice),
        Some(&b"secret"[..])
    );
    assert_eq!(ok(&peer, &["getprivate", "col", "k"]).await, "secret");
    // sha256("secret")
    assert_eq!(
        ok(&peer, &["privatehash", "col", "k"]).await,
        "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"
    );
    ok(&peer, &["delprivate", "col", "k"]).await;
    assert_eq!(ok(&peer, &["getprivate", "col", "k"]).await, "");
    assert_eq!(ok(&peer, &["privatehash", "col", "k"]).await, "");

    let missing = peer
        .invoke_with_proposal(CHANNEL, "m", &["putprivate", "col", "k"], proposal(&[]))
        .await
        .unwrap();
    assert_eq!(missing.message, "transient field \"value\" is missing");

    let who = peer
        .invoke_with_proposal(CHANNEL, "w", &["whoami"], proposal(&[]))
        .await
        .unwrap();
    assert_eq!(who.payload, b"Org1MSP");

    let unknown = peer.invoke(CHANNEL, "u", &["nope"]).await.unwrap();
    assert_eq!(unknown.status, 500);
    assert!(unknown.message.starts_with("Unknown function \"nope\""));
}
