//! Chaincode events (Go's `SetEvent`): the event rides on the COMPLETED message as
//! Fabric's field 6, with its name and payload; none without a call; an empty name is
//! the chaincode's error, as in Go.

mod common;

use common::api_cc::{failed, setup};
use fabx_shim::proto::chaincode_message::Type;
use fabx_shim::proto::Response;
use prost::Message;

#[tokio::test]
async fn set_event_rides_on_completed_and_an_empty_name_is_refused() {
    let (_server, mut peer) = setup().await;
    peer.start_tx(Type::Transaction, "t1", &["event", "Moved", "a->b"])
        .await;
    let done = peer.recv(Type::Completed).await;
    let event = done.chaincode_event.expect("an event on COMPLETED");
    assert_eq!(
        (event.event_name.as_str(), event.payload.as_slice()),
        ("Moved", &b"a->b"[..])
    );
    assert_eq!(
        Response::decode(done.payload.as_slice()).unwrap().status,
        200
    );

    // Another transaction on the same stream starts without one.
    peer.start_tx(Type::Transaction, "t2", &["put", "k", "v"])
        .await;
    peer.recv(Type::PutState).await;
    peer.send(Type::Response, "t2", vec![]).await;
    let done = peer.recv(Type::Completed).await;
    assert_eq!(done.chaincode_event, None);

    peer.start_tx(Type::Transaction, "t3", &["event", "", "x"])
        .await;
    let message = failed(&mut peer, "t3").await;
    assert!(
        message.contains("event name can not be empty string"),
        "{message}"
    );
}
