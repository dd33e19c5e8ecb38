//! Private data calls: GET/PUT/DEL_STATE with the collection set, and
//! GET_PRIVATE_DATA_HASH, played message by message.

mod common;

use common::api_cc::{failed, ok, setup};
use fabx_shim::proto::chaincode_message::Type;
use fabx_shim::proto::{DelState, GetState, PutState};
use prost::Message;

#[tokio::test]
async fn private_data_calls_carry_the_collection() {
    let (_server, mut peer) = setup().await;
    let tx = Type::Transaction;

    peer.start_tx(tx, "t1", &["putpriv", "secrets", "k", "v1"])
        .await;
    let put: PutState = peer.request(Type::PutState, "t1").await;
    assert_eq!(
        (
            put.collection.as_str(),
            put.key.as_str(),
            put.value.as_slice()
        ),
        ("secrets", "k", &b"v1"[..])
    );
    peer.send(Type::Response, "t1", vec![]).await;
    ok(&mut peer, "t1").await;

    peer.start_tx(tx, "t2", &["getpriv", "secrets", "k"]).await;
    let get: GetState = peer.request(Type::GetState, "t2").await;
    assert_eq!(
        (get.collection.as_str(), get.key.as_str()),
        ("secrets", "k")
    );
    peer.send(Type::Response, "t2", b"v1".to_vec()).await;
    assert_eq!(ok(&mut peer, "t2").await, "v1");

    // An empty answer is a missing key.
    peer.start_tx(tx, "t3", &["getpriv", "secrets", "gone"])
        .await;
    peer.recv(Type::GetState).await;
    peer.send(Type::Response, "t3", vec![]).await;
    assert_eq!(ok(&mut peer, "t3").await, "<none>");

    peer.start_tx(tx, "t4", &["delpriv", "secrets", "k"]).await;
    let del: DelState = peer.request(Type::DelState, "t4").await;
    assert_eq!(
        (del.collection.as_str(), del.key.as_str()),
        ("secrets", "k")
    );
    peer.send(Type::Response, "t4", vec![]).await;
    ok(&mut peer, "t4").await;

    // GET_PRIVATE_DATA_HASH is type 22 with a GetState payload.
    assert_eq!(Type::GetPrivateDataHash as i32, 22);
    peer.start_tx(tx, "t5", &["privhash", "secrets", "k"]).await;
    let msg = peer.recv(Type::GetPrivateDataHash).await;
    assert_eq!(msg.r#type, 22);
    let get = GetState::decode(msg.payload.as_slice()).unwrap();
    assert_eq!(
        (get.collection.as_str(), get.key.as_str()),
        ("secrets", "k")
    );
    peer.send(Type::Response, "t5", b"#hash#".to_vec()).await;
    assert_eq!(ok(&mut peer, "t5").await, "#hash#");

    peer.start_tx(tx, "t6", &["privhash", "secrets", "gone"])
        .await;
    peer.recv(Type::GetPrivateDataHash).await;
    peer.send(Type::Response, "t6", vec![]).await;
    assert_eq!(ok(&mut peer, "t6").await, "<none>");

    // A peer ERROR names the collection and key.
    peer.start_tx(tx, "t7", &["getpriv", "secrets", "k"]).await;
    peer.recv(Type::GetState).await;
    peer.send(Type::Error, "t7", b"collection not found".to_vec())
        .await;
    let message = failed(&mut peer, "t7").await;
    assert!(message.contains("GET_STATE \"secrets/k\""), "{message}");
    assert!(message.contains("collection not found"), "{message}");
}

#[tokio::test]
async fn private_data_calls_need_a_collection_and_key() {
    let (_server, mut peer) = setup().await;
    // Each fails in the shim: the next message is COMPLETED, not a request.
    for (n, args) in [
        &["putpriv", "", "k", "v"][..],
        &["getpriv", "", "k"],
        &["delpriv", "", "k"],
        &["privhash", "", "k"],
    ]
    .iter()
    .enumerate()
    {
        let txid = format!("t{n}");
        peer.start_tx(Type::Transaction, &txid, args).await;
        let message = failed(&mut peer, &txid).await;
        assert_eq!(
            message,
            "invalid argument: collection must not be an empty string"
        );
    }
    peer.start_tx(Type::Transaction, "k", &["putpriv", "c", "", "v"])
        .await;
    let message = failed(&mut peer, "k").await;
    assert_eq!(message, "invalid argument: key must not be an empty string");
}
