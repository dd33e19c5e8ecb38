//! CouchDB as the peers' state database, on real Fabric 2.5 and 3.1 images and the
//! locally built CouchDB image: a network whose Org1 keeps its state in CouchDB and Org2
//! in LevelDB. privatecc's JSON assets are found by owner through a selector, in pages
//! with a bookmark, answered from the index the chaincode ships (CouchDB's own
//! `_explain` says which index a query uses); Org2's LevelDB peer refuses the query with
//! the chaincode's clear error; stop and start keep the CouchDB state; a malformed index
//! is refused before anything is deployed; `teardown` leaves nothing. And a CouchDB
//! image that does not start fails `up` with its log and leaves nothing. Prints SKIPPED
//! without the images.

mod common;

use fabx::harness::TestNetwork;
use fabx::network::deploy::{DeployRequest, Source};
use fabx::reporter::Silent;
use fabx::topology::StateDatabase;

const PRIVATECC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/chaincode/privatecc");

#[tokio::test]
async fn rich_queries_on_fabric_2_5() {
    rich_queries_on(
        "rich_queries_on_fabric_2_5",
        "hyperledger/fabric-peer:2.5",
        "hyperledger/fabric-orderer:2.5",
    )
    .await;
}

#[tokio::test]
async fn rich_queries_on_fabric_3_1() {
    rich_queries_on(
        "rich_queries_on_fabric_3_1",
        "hyperledger/fabric-peer:3.1",
        "hyperledger/fabric-orderer:3.1",
    )
    .await;
}

/// The IDs of a JSON array of assets.
fn ids(assets: &serde_json::Value) -> Vec<String> {
    assets
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {assets}"))
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

async fn rich_queries_on(test: &str, peer: &str, orderer: &str) {
    let mut topology = TestNetwork::builder()
        .orgs(2)
        .orderers(1)
        .images(peer, orderer)
        .state_database(StateDatabase::Couchdb)
        .build()
        .unwrap();
    // One network for both answers: Org2 keeps LevelDB.
    topology.orgs[1].state_database = Some(StateDatabase::Leveldb);
    if let Some(reason) = common::missing_fabric_images(&topology).await {
        common::skipped(test, &reason);
        return;
    }
    let net = TestNetwork::start_with(topology, &Silent).await.unwrap();
    let engine = common::engine().await;
    let name = net.topology().network.clone();
    let _cleanup = common::Cleanup {
        engine: engine.clone(),
        network: name.clone(),
    };

    let status = net.network().status().await.unwrap();
    let database = |host: &str| {
        let node = status.nodes.iter().find(|n| n.host == host).unwrap();
        serde_json::to_value(node.state_database.as_ref().unwrap()).unwrap()
    };
    let org1 = database("peer0.org1.example.com");
    assert_eq!(org1["database"], "couchdb", "{org1}");
    assert_eq!(org1["state"], "running", "{org1}");
    let couchdb = org1["container"].as_str().unwrap().to_string();
    // `fabx logs` knows a peer's CouchDB by its host name.
    let logs = net.logs("couchdb.peer0.org1.example.com").await.unwrap();
    assert!(logs.contains("Apache CouchDB has started"), "{logs}");
    let org2 = database("peer0.org2.example.com");
    assert_eq!(org2["database"], "leveldb", "{org2}");
    assert!(org2.get("container").is_none(), "{org2}");

    net.deploy(&DeployRequest::new(
        "privatecc",
        Source::Directory(PRIVATECC.into()),
    ))
    .await
    .unwrap();
    for (id, owner) in [
        ("a1", "tom"),
        ("a2", "ann"),
        ("a3", "tom"),
        ("a4", "ann"),
        ("a5", "tom"),
    ] {
        net.invoke("privatecc", "createasset", &[id, owner, "blue", "3"])
            .await
            .unwrap();
    }
    let query = |function: &'static str, args: Vec<String>| {
        let net = &net;
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let text = net
                .query_as("Org1MSP", "privatecc", function, &args)
                .await
                .unwrap();
            serde_json::from_str::<serde_json::Value>(&text)
                .unwrap_or_else(|e| panic!("{function}: {e}: {text}"))
        }
    };
    let toms = query("assetsbyowner", vec!["tom".into()]).await;
    assert_eq!(ids(&toms), ["a1", "a3", "a5"]);
    assert_eq!(toms[0]["owner"], "tom");

    // In pages of two, each bookmark taken to the next page.
    let first = query("assetsbyownerpage", vec!["tom".into(), "2".into()]).await;
    assert_eq!(
        (ids(&first["records"]), &first["fetched"]),
        (vec!["a1".to_string(), "a3".into()], &serde_json::json!(2))
    );
    let bookmark = first["bookmark"].as_str().unwrap().to_string();
    assert!(!bookmark.is_empty(), "{first}");
    let second = query(
        "assetsbyownerpage",
        vec!["tom".into(), "2".into(), bookmark.clone()],
    )
    .await;
    assert_eq!(ids(&second["records"]), ["a5"], "{second}");
    assert_eq!(second["fetched"], 1);

    // CouchDB answers from the index shipped in META-INF.
    let explained = couchdb_explain(
        &engine,
        &net,
        &couchdb,
        &format!("{}_privatecc", net.topology().default_channel()),
        r#"{"selector":{"docType":"asset","owner":"tom"},"use_index":["_design/indexOwnerDoc","indexOwner"]}"#,
    )
    .await;
    assert_eq!(
        explained["index"]["ddoc"], "_design/indexOwnerDoc",
        "{explained}"
    );
    assert_eq!(explained["index"]["name"], "indexOwner", "{explained}");

    // A selector CouchDB rejects: the chaincode's error, with CouchDB's words.
    let rejected = net
        .query_as("Org1MSP", "privatecc", "richquery", &[r#"{"selector":5}"#])
        .await
        .unwrap_err()
        .to_string();
    assert!(rejected.contains("GET_QUERY_RESULT"), "{rejected}");
    assert_eq!(rejected.lines().count(), 1, "{rejected}");

    // LevelDB: the same query refused with the shim's error that names the fix.
    let refused = net
        .query_as("Org2MSP", "privatecc", "assetsbyowner", &["tom"])
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("need CouchDB"), "{refused}");
    assert!(refused.contains("state_database: couchdb"), "{refused}");

    // A malformed index is refused before anything is deployed.
    let bad = tempfile::tempdir().unwrap();
    let indexes = bad.path().join("statedb/couchdb/indexes");
    std::fs::create_dir_all(&indexes).unwrap();
    std::fs::write(indexes.join("broken.json"), r#"{"index":{"fields":[]}}"#).unwrap();
    let before = common::containers_of(&name).await;
    let mut request = DeployRequest::new("privatecc2", Source::Directory(PRIVATECC.into()));
    request.meta_inf = Some(bad.path().to_path_buf());
    let error = net.deploy(&request).await.unwrap_err().to_string();
    assert!(
        error.contains("broken.json: not a CouchDB index definition"),
        "{error}"
    );
    assert_eq!(error.lines().count(), 1, "{error}");
    assert_eq!(common::containers_of(&name).await, before);

    // Stop and start: the CouchDB state comes back with the ledger.
    net.network().stop(&Silent).await.unwrap();
    let stopped = net.network().status().await.unwrap();
    assert_eq!(stopped.state, fabx::network::NetworkState::Stopped);
    net.network().start(&Silent).await.unwrap();
    let toms = query("assetsbyowner", vec!["tom".into()]).await;
    assert_eq!(ids(&toms), ["a1", "a3", "a5"]);
    net.invoke("privatecc", "transferasset", &["a2", "tom"])
        .await
        .unwrap();
    let toms = query("assetsbyowner", vec!["tom".into()]).await;
    assert_eq!(ids(&toms), ["a1", "a2", "a3", "a5"]);

    // Down removes the CouchDB containers and their volumes too.
    let containers = common::containers_of(&name).await;
    assert!(containers.contains(&couchdb), "{containers:?}");
    let volumes = common::volumes_of(&engine, &containers).await;
    net.teardown().await.unwrap();
    assert!(common::containers_of(&name).await.is_empty());
    for v in &volumes {
        assert!(!common::volume_exists(&engine, v).await, "volume {v} left");
    }
}

/// CouchDB's `_explain` of a Mango query on `database`, asked inside its container with
/// the network's admin credentials (bash's /dev/tcp: no curl needed).
async fn couchdb_explain(
    engine: &fabx::DockerEngine,
    net: &TestNetwork,
    container: &str,
    database: &str,
    query: &str,
) -> serde_json::Value {
    use base64::Engine as _;
    let admin = fabx::network::couchdb::load_admin(&net.network().layout).unwrap();
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", admin.user, admin.password));
    let request = format!(
        "POST /{database}/_explain HTTP/1.0\r\nHost: localhost\r\nAuthorization: Basic {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{query}",
        query.len()
    );
    let script = "exec 3<>/dev/tcp/127.0.0.1/5984 && printf '%s' \"$REQUEST\" >&3 && cat <&3";
    let out = engine
        .exec(
            container,
            &["bash".into(), "-c".into(), script.into()],
            &[format!("REQUEST={request}")],
        )
        .await
        .unwrap();
    let body = out
        .stdout
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .unwrap_or_else(|| panic!("no HTTP answer: {}", out.printed()));
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {}", out.printed()))
}

#[tokio::test]
async fn a_couchdb_that_does_not_start_fails_up_with_its_log_and_leaves_nothing() {
    let test = "a_couchdb_that_does_not_start_fails_up_with_its_log_and_leaves_nothing";
    let mut topology = TestNetwork::builder()
        .orgs(1)
        .orderers(1)
        .state_database(StateDatabase::Couchdb)
        .build()
        .unwrap()
        .isolated();
    let engine = common::engine().await;
    // Everything but CouchDB must be there: the broken CouchDB is made here.
    let image = "fabx-test/broken-couchdb:1";
    topology.images.couchdb = Some(image.into());
    common::build_with_busybox(
        &engine,
        "FROM scratch\nCOPY busybox /bin/busybox\n\
         CMD [\"/bin/busybox\", \"sh\", \"-c\", \"echo 'couchdb: cannot read local.ini: bad config'; exit 1\"]\n",
        image,
    )
    .await;
    if let Some(reason) = common::missing_fabric_images(&topology).await {
        common::skipped(test, &reason);
        return;
    }
    common::assert_up_fails_and_leaves_nothing(
        &engine,
        topology,
        &[
            "couchdb.peer0.org1.example.com",
            "stopped before reaching 'CouchDB up'",
            "cannot read local.ini: bad config",
        ],
    )
    .await;
}
