//! The mock peer's ledger: private data, range queries with QUERY_STATE_NEXT
//! batches, pagination and proposals, through the real shim.

mod common;

use std::collections::HashMap;

use common::api_cc::ApiCc;
use common::serve_plain;
use fabx_shim::mock_peer::{signed_proposal, MockPeer};

#[tokio::test]
async fn mock_peer_serves_private_data_and_range_queries() {
    let server = serve_plain(ApiCc).await;
    let peer = MockPeer::connect(common::plain_channel(server.addr).await)
        .await
        .unwrap();
    peer.set_query_batch_size(2); // so 5 records take QUERY_STATE_NEXT twice
    let ch = common::CHANNEL;
    let call = |txid: &'static str, args: &'static [&'static str]| {
        let peer = &peer;
        async move {
            let r = peer.invoke(ch, txid, args).await.unwrap();
            assert_eq!(r.status, 200, "{args:?}: {}", r.message);
            String::from_utf8(r.payload).unwrap()
        }
    };

    call("p1", &["putpriv", "col", "k", "v"]).await;
    assert_eq!(
        peer.private_data("col").get("k").map(Vec::as_slice),
        Some(&b"v"[..])
    );
    assert!(peer.world_state().is_empty());
    assert_eq!(call("g1", &["getpriv", "col", "k"]).await, "v");
    assert_eq!(call("g2", &["getpriv", "other", "k"]).await, "<none>");
    let hash = peer
        .invoke(ch, "h1", &["privhash", "col", "k"])
        .await
        .unwrap()
        .payload;
    // SHA-256("v")
    assert_eq!(hash.len(), 32);
    assert_eq!(&hash[..4], &[0x4c, 0x94, 0x48, 0x5e]);
    call("d1", &["delpriv", "col", "k"]).await;
    assert_eq!(call("h2", &["privhash", "col", "k"]).await, "<none>");

    // Five public keys and two composite ones: open ranges never include the latter.
    for key in ["a", "b", "c", "d", "e"] {
        let r = peer
            .invoke(ch, "put", &["put", key, &key.to_uppercase()])
            .await;
        assert_eq!(r.unwrap().status, 200);
    }
    call("ck1", &["putck", "asset", "alice", "1", "x"]).await;
    call("ck2", &["putck", "asset", "bob", "1", "y"]).await;
    let ns = common::CC_ID;
    let all: Vec<String> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|k| format!("{ns}/{k}={}", k.to_uppercase()))
        .collect();
    assert_eq!(call("r1", &["range", "", ""]).await, all.join(";"));
    assert_eq!(call("r2", &["range", "b", "d"]).await, all[1..3].join(";"));
    assert_eq!(
        call("r3", &["page", "", "", "2", ""]).await,
        format!("{}|2|c", all[..2].join(";"))
    );
    assert_eq!(
        call("r4", &["page", "", "", "2", "c"]).await,
        format!("{}|2|e", all[2..4].join(";"))
    );
    assert_eq!(
        call("r5", &["page", "", "", "2", "e"]).await,
        format!("{}|1|", all[4])
    );
    assert_eq!(
        call("c1", &["partial", "asset"]).await,
        "asset:alice,1=x;asset:bob,1=y"
    );
    assert_eq!(
        call("c2", &["partial", "asset", "bob"]).await,
        "asset:bob,1=y"
    );
    assert!(peer.open_queries().is_empty(), "{:?}", peer.open_queries());

    let signed = signed_proposal(
        "Org1MSP",
        b"cert",
        HashMap::from([("v".into(), b"1".to_vec())]),
    );
    let r = peer
        .invoke_with_proposal(ch, "w", &["whoami"], signed)
        .await
        .unwrap();
    assert_eq!(r.payload, b"Org1MSP v=1");
}
