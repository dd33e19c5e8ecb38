//! Rich queries (CouchDB Mango selectors): GET_QUERY_RESULT, then QUERY_STATE_NEXT and
//! QUERY_STATE_CLOSE as for ranges, played message by message; and the peer's LevelDB
//! refusal made into an error that says what to change.

mod common;

use common::api_cc::{failed, kv, ok, setup};
use fabx_shim::proto::chaincode_message::Type;
use fabx_shim::proto::{
    GetQueryResult, QueryMetadata, QueryResponse, QueryResponseMetadata, QueryStateClose,
    QueryStateNext,
};
use prost::Message;

const BY_OWNER: &str = r#"{"selector":{"owner":"tom"}}"#;

#[tokio::test]
async fn rich_query_sends_the_selector_and_iterates_to_the_end() {
    let (_server, mut peer) = setup().await;
    peer.start_tx(Type::Transaction, "q", &["rich", BY_OWNER])
        .await;
    let req: GetQueryResult = peer.request(Type::GetQueryResult, "q").await;
    assert_eq!(
        req,
        GetQueryResult {
            query: BY_OWNER.into(),
            collection: String::new(),
            metadata: Vec::new(),
        }
    );
    let answer = |results, has_more| QueryResponse {
        results,
        has_more,
        id: "r1".into(),
        metadata: Vec::new(),
    };
    peer.respond("q", answer(vec![kv("a1", "x")], true)).await;
    let next: QueryStateNext = peer.request(Type::QueryStateNext, "q").await;
    assert_eq!(next.id, "r1");
    peer.respond("q", answer(vec![kv("a7", "y")], false)).await;
    let close: QueryStateClose = peer.request(Type::QueryStateClose, "q").await;
    assert_eq!(close.id, "r1");
    peer.respond("q", QueryResponse::default()).await;
    assert_eq!(ok(&mut peer, "q").await, "cc/a1=x;cc/a7=y");
}

#[tokio::test]
async fn paginated_rich_query_round_trips_the_bookmark() {
    let (_server, mut peer) = setup().await;
    peer.start_tx(Type::Transaction, "p", &["richpage", BY_OWNER, "2", "b0"])
        .await;
    let req: GetQueryResult = peer.request(Type::GetQueryResult, "p").await;
    assert_eq!(req.query, BY_OWNER);
    let metadata = QueryMetadata::decode(req.metadata.as_slice()).unwrap();
    assert_eq!((metadata.page_size, metadata.bookmark.as_str()), (2, "b0"));
    let answer = QueryResponse {
        results: vec![kv("a1", "x"), kv("a2", "y")],
        has_more: false,
        id: "r2".into(),
        metadata: QueryResponseMetadata {
            fetched_records_count: 2,
            bookmark: "b1".into(),
        }
        .encode_to_vec(),
    };
    peer.respond("p", answer).await;
    peer.recv(Type::QueryStateClose).await;
    peer.respond("p", QueryResponse::default()).await;
    assert_eq!(ok(&mut peer, "p").await, "cc/a1=x;cc/a2=y|2|b1");
}

#[tokio::test]
async fn private_rich_query_names_its_collection() {
    let (_server, mut peer) = setup().await;
    peer.start_tx(Type::Transaction, "c", &["richpriv", "shared", BY_OWNER])
        .await;
    let req: GetQueryResult = peer.request(Type::GetQueryResult, "c").await;
    assert_eq!(
        (req.collection.as_str(), req.query.as_str()),
        ("shared", BY_OWNER)
    );
    peer.respond("c", QueryResponse::default()).await;
    peer.recv(Type::QueryStateClose).await;
    peer.respond("c", QueryResponse::default()).await;
    assert_eq!(ok(&mut peer, "c").await, "");

    // An empty collection is refused before anything is sent.
    peer.start_tx(Type::Transaction, "e", &["richpriv", "", BY_OWNER])
        .await;
    let message = failed(&mut peer, "e").await;
    assert!(
        message.contains("collection must not be an empty string"),
        "{message}"
    );
}

#[tokio::test]
async fn leveldb_refusal_names_couchdb_and_other_errors_pass_through() {
    let (_server, mut peer) = setup().await;
    peer.start_tx(Type::Transaction, "l", &["rich", BY_OWNER])
        .await;
    peer.recv(Type::GetQueryResult).await;
    // What a Fabric peer on LevelDB answers.
    peer.send(
        Type::Error,
        "l",
        b"ExecuteQuery not supported for leveldb".to_vec(),
    )
    .await;
    let message = failed(&mut peer, "l").await;
    assert!(message.contains("need CouchDB"), "{message}");
    assert!(message.contains("state_database: couchdb"), "{message}");
    assert!(
        message.contains("ExecuteQuery not supported for leveldb"),
        "{message}"
    );

    // A selector CouchDB rejects keeps the peer's words.
    peer.start_tx(Type::Transaction, "b", &["rich", "{bad"])
        .await;
    peer.recv(Type::GetQueryResult).await;
    peer.send(Type::Error, "b", b"invalid query: bad JSON".to_vec())
        .await;
    let message = failed(&mut peer, "b").await;
    assert!(message.contains("GET_QUERY_RESULT"), "{message}");
    assert!(message.contains("invalid query: bad JSON"), "{message}");
    assert!(!message.contains("CouchDB"), "{message}");
}
