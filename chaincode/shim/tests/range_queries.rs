//! Range queries, pagination and composite keys: GET_STATE_BY_RANGE,
//! QUERY_STATE_NEXT and QUERY_STATE_CLOSE, played message by message.

mod common;

use common::api_cc::{failed, kv, ok, setup};
use fabx_shim::proto::chaincode_message::Type;
use fabx_shim::proto::{
    GetStateByRange, QueryMetadata, QueryResponse, QueryResponseMetadata, QueryResultBytes,
    QueryStateClose, QueryStateNext,
};
use prost::Message;

#[tokio::test]
async fn range_query_iterates_until_has_more_is_false_then_closes() {
    let (_server, mut peer) = setup().await;
    peer.start_tx(Type::Transaction, "r", &["range", "a", "z"])
        .await;
    let req: GetStateByRange = peer.request(Type::GetStateByRange, "r").await;
    assert_eq!(
        req,
        GetStateByRange {
            start_key: "a".into(),
            end_key: "z".into(),
            collection: String::new(),
            metadata: Vec::new(),
        }
    );
    let page = |results, has_more| QueryResponse {
        results,
        has_more,
        id: "q1".into(),
        metadata: Vec::new(),
    };
    peer.respond("r", page(vec![kv("a", "1"), kv("b", "2")], true))
        .await;
    let next: QueryStateNext = peer.request(Type::QueryStateNext, "r").await;
    assert_eq!(next.id, "q1");
    peer.respond("r", page(vec![kv("c", "3")], true)).await;
    peer.request::<QueryStateNext>(Type::QueryStateNext, "r")
        .await;
    peer.respond("r", page(vec![kv("d", "4")], false)).await;
    let close: QueryStateClose = peer.request(Type::QueryStateClose, "r").await;
    assert_eq!(close.id, "q1");
    peer.respond("r", page(vec![], false)).await;
    assert_eq!(ok(&mut peer, "r").await, "cc/a=1;cc/b=2;cc/c=3;cc/d=4");
}

#[tokio::test]
async fn range_query_bounds_follow_the_go_shim() {
    let (_server, mut peer) = setup().await;
    // An empty start key is sent as "\x01", an empty end key stays open.
    peer.start_tx(Type::Transaction, "open", &["range", "", ""])
        .await;
    let req: GetStateByRange = peer.request(Type::GetStateByRange, "open").await;
    assert_eq!(
        (req.start_key.as_str(), req.end_key.as_str()),
        ("\u{1}", "")
    );
    peer.respond("open", QueryResponse::default()).await;
    peer.recv(Type::QueryStateClose).await;
    peer.respond("open", QueryResponse::default()).await;
    assert_eq!(ok(&mut peer, "open").await, "");

    // Composite keys are refused as bounds before anything is sent.
    for (txid, start, end) in [("s", "\0asset\0", "z"), ("e", "a", "\0asset\0")] {
        peer.start_tx(Type::Transaction, txid, &["range", start, end])
            .await;
        let message = failed(&mut peer, txid).await;
        assert!(
            message.contains("contains a null character which is not allowed"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn paginated_range_sends_query_metadata_and_round_trips_the_bookmark() {
    let (_server, mut peer) = setup().await;
    let answer = |results, bookmark: &str| QueryResponse {
        results,
        has_more: false,
        id: "p".into(),
        metadata: QueryResponseMetadata {
            fetched_records_count: 2,
            bookmark: bookmark.into(),
        }
        .encode_to_vec(),
    };

    peer.start_tx(Type::Transaction, "p1", &["page", "a", "", "2", ""])
        .await;
    let req: GetStateByRange = peer.request(Type::GetStateByRange, "p1").await;
    assert_eq!((req.start_key.as_str(), req.end_key.as_str()), ("a", ""));
    let metadata = QueryMetadata::decode(req.metadata.as_slice()).unwrap();
    assert_eq!((metadata.page_size, metadata.bookmark.as_str()), (2, ""));
    peer.respond("p1", answer(vec![kv("a", "1"), kv("b", "2")], "c"))
        .await;
    peer.recv(Type::QueryStateClose).await;
    peer.respond("p1", QueryResponse::default()).await;
    let first = ok(&mut peer, "p1").await;
    assert_eq!(first, "cc/a=1;cc/b=2|2|c");

    // The bookmark the chaincode got is what it sends for the next page.
    let bookmark = first.rsplit('|').next().unwrap();
    peer.start_tx(Type::Transaction, "p2", &["page", "a", "", "2", bookmark])
        .await;
    let req: GetStateByRange = peer.request(Type::GetStateByRange, "p2").await;
    let metadata = QueryMetadata::decode(req.metadata.as_slice()).unwrap();
    assert_eq!((metadata.page_size, metadata.bookmark.as_str()), (2, "c"));
    // A page may still arrive in several batches.
    let mut batch = answer(vec![kv("c", "3")], "");
    batch.has_more = true;
    peer.respond("p2", batch).await;
    peer.recv(Type::QueryStateNext).await;
    peer.respond("p2", answer(vec![kv("d", "4")], "ignored"))
        .await;
    peer.recv(Type::QueryStateClose).await;
    peer.respond("p2", QueryResponse::default()).await;
    assert_eq!(ok(&mut peer, "p2").await, "cc/c=3;cc/d=4|2|");
}

#[tokio::test]
async fn partial_composite_key_query_spans_the_prefix() {
    let (_server, mut peer) = setup().await;
    peer.start_tx(Type::Transaction, "c", &["partial", "asset", "alice"])
        .await;
    let req: GetStateByRange = peer.request(Type::GetStateByRange, "c").await;
    assert_eq!(req.start_key, "\0asset\0alice\0");
    assert_eq!(req.end_key, "\0asset\0alice\0\u{10FFFF}");
    assert!(req.metadata.is_empty() && req.collection.is_empty());
    let results = vec![
        kv("\0asset\0alice\0\x31\0", "x"),
        kv("\0asset\0alice\0\x32\0", "y"),
    ];
    peer.respond(
        "c",
        QueryResponse {
            results,
            id: "q".into(),
            ..Default::default()
        },
    )
    .await;
    peer.recv(Type::QueryStateClose).await;
    peer.respond("c", QueryResponse::default()).await;
    assert_eq!(ok(&mut peer, "c").await, "asset:alice,1=x;asset:alice,2=y");

    // Invalid attributes fail before anything is sent.
    peer.start_tx(
        Type::Transaction,
        "bad",
        &["partial", "asset", "a\u{10FFFF}"],
    )
    .await;
    let message = failed(&mut peer, "bad").await;
    assert!(message.contains("U+10FFFF"), "{message}");
}

#[test]
fn composite_keys_encode_and_split_like_go() {
    let key = fabx_shim::create_composite_key("asset", &["alice", "42"]).unwrap();
    assert_eq!(key.as_bytes(), b"\x00asset\x00alice\x0042\x00");
    let (object_type, attributes) = fabx_shim::split_composite_key(&key).unwrap();
    assert_eq!(
        (object_type.as_str(), attributes),
        ("asset", vec!["alice".to_string(), "42".into()])
    );
    assert!(fabx_shim::create_composite_key("a\0b", &[]).is_err());
    assert!(fabx_shim::split_composite_key("simple").is_err());
}

#[tokio::test]
async fn failed_iteration_still_closes_the_query() {
    let (_server, mut peer) = setup().await;
    peer.start_tx(Type::Transaction, "f", &["range", "a", "z"])
        .await;
    peer.recv(Type::GetStateByRange).await;
    let first = QueryResponse {
        results: vec![kv("a", "1")],
        has_more: true,
        id: "q9".into(),
        ..Default::default()
    };
    peer.respond("f", first).await;
    peer.recv(Type::QueryStateNext).await;
    peer.send(Type::Error, "f", b"iterator expired".to_vec())
        .await;
    let close: QueryStateClose = peer.request(Type::QueryStateClose, "f").await;
    assert_eq!(close.id, "q9");
    peer.respond("f", QueryResponse::default()).await;
    let message = failed(&mut peer, "f").await;
    assert!(message.contains("QUERY_STATE_NEXT \"q9\""), "{message}");
    assert!(message.contains("iterator expired"), "{message}");

    // An undecodable record fails the query (and closes it too).
    peer.start_tx(Type::Transaction, "g", &["range", "a", "z"])
        .await;
    peer.recv(Type::GetStateByRange).await;
    let garbage = QueryResultBytes {
        result_bytes: vec![0xff, 0xff],
    };
    peer.respond(
        "g",
        QueryResponse {
            results: vec![garbage],
            ..Default::default()
        },
    )
    .await;
    peer.recv(Type::QueryStateClose).await;
    peer.respond("g", QueryResponse::default()).await;
    let message = failed(&mut peer, "g").await;
    assert!(message.contains("queryresult.KV"), "{message}");
}
