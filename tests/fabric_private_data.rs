//! Private data, transient data, range queries, composite keys and the creator's MSP ID
//! on real Fabric images, with `chaincode/privatecc`: three orgs, `c12` with Org1 and
//! Org2, `c23` with Org2 and Org3. Prints SKIPPED without the images.

mod common;

use fabx::harness::TestNetwork;
use fabx::network::deploy::{DeployRequest, Source};
use fabx::network::invoke::CallOptions;
use fabx::Error;
use sha2::{Digest, Sha256};

const PRIVATECC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/chaincode/privatecc");

const C12_COLLECTIONS: &str = r#"[{"name": "shared12", "policy": "OR('Org1MSP.member','Org2MSP.member')",
  "requiredPeerCount": 0, "maxPeerCount": 1, "blockToLive": 0,
  "memberOnlyRead": true, "memberOnlyWrite": false}]"#;
// Readable by anyone on the channel, held by Org2 alone: Org3's peer must not have it.
const C23_COLLECTIONS: &str = r#"[{"name": "org2only", "policy": "OR('Org2MSP.member')",
  "requiredPeerCount": 0, "maxPeerCount": 1, "blockToLive": 0,
  "memberOnlyRead": false, "memberOnlyWrite": false}]"#;

fn privatecc(channel: &str, collections: &std::path::Path) -> DeployRequest {
    let mut request = DeployRequest::new("privatecc", Source::Directory(PRIVATECC.into()));
    request.channel = Some(channel.into());
    request.collections = Some(collections.to_path_buf());
    request
}

fn hex_sha256(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

#[tokio::test]
async fn private_data_stays_with_the_collection_members() {
    let builder = TestNetwork::builder()
        .orgs(3)
        .orderers(1)
        .channel_of("c12", &["Org1MSP", "Org2MSP"])
        .channel_of("c23", &["Org2MSP", "Org3MSP"]);
    let topology = builder.build().unwrap();
    if let Some(reason) = common::missing_fabric_images(&topology).await {
        common::skipped("private_data_stays_with_the_collection_members", &reason);
        return;
    }
    let files = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = files.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let c12_file = write("c12.json", C12_COLLECTIONS);
    let c23_file = write("c23.json", C23_COLLECTIONS);
    let outside = write(
        "outside.json",
        &C12_COLLECTIONS.replace("Org2MSP.member", "Org3MSP.member"),
    );

    let net = builder.start().await.unwrap();
    // A collection naming an org outside the channel: refused before anything is sent.
    let err = net.deploy(&privatecc("c12", &outside)).await.unwrap_err();
    assert!(
        err.to_string().contains(
            "collection \"shared12\": policy: names Org3MSP, which is not on the channel"
        ),
        "{err}"
    );
    net.deploy(&privatecc("c12", &c12_file)).await.unwrap();
    net.deploy(&privatecc("c23", &c23_file)).await.unwrap();

    let call = |channel: &str, peer: &str| CallOptions::default().channel(channel).peer(peer);
    let query = |function: &'static str, args: &'static [&'static str], options: CallOptions| {
        let net = &net;
        async move { net.query_with("privatecc", function, args, &options).await }
    };

    // c12: written with transient data, endorsed by Org1 and Org2 (both members).
    net.invoke_with(
        "privatecc",
        "putprivate",
        &["shared12", "k1"],
        &CallOptions::default()
            .channel("c12")
            .transient("value", "secret12"),
    )
    .await
    .unwrap();
    for org in ["Org1MSP", "Org2MSP"] {
        let value = query("getprivate", &["shared12", "k1"], call("c12", org)).await;
        assert_eq!(value.unwrap(), "secret12", "{org}");
    }
    let err = query("getprivate", &["shared12", "k1"], call("c12", "Org3MSP"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotOnChannel { .. }), "{err}");
    // Without the transient value the chaincode says what is missing.
    let err = net
        .invoke_with(
            "privatecc",
            "putprivate",
            &["shared12", "k2"],
            &CallOptions::default().channel("c12"),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("transient field \"value\" is missing"),
        "{err}"
    );

    // c23: Org2 holds the collection; Org3 endorses the write too (the default policy
    // needs both orgs) but keeps only the hash.
    net.invoke_with(
        "privatecc",
        "putprivate",
        &["org2only", "k2"],
        &CallOptions::default()
            .channel("c23")
            .transient("value", "secret23"),
    )
    .await
    .unwrap();
    assert_eq!(
        query("getprivate", &["org2only", "k2"], call("c23", "Org2MSP"))
            .await
            .unwrap(),
        "secret23"
    );
    // Org3's peer is outside the collection: it has the hash, not the value, and says so.
    let err = query("getprivate", &["org2only", "k2"], call("c23", "Org3MSP"))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("private data matching public hash version is not available"),
        "{err}"
    );
    assert_eq!(
        query("privatehash", &["org2only", "k2"], call("c23", "Org3MSP"))
            .await
            .unwrap(),
        hex_sha256("secret23"),
        "every peer of the channel has the hash"
    );
    // c23 does not see c12's collection data.
    let err = query("getprivate", &["shared12", "k1"], call("c23", "Org2MSP"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("shared12"), "{err}");

    // Range queries, pages and composite keys on the world state; the creator's MSP.
    for (key, value) in [("k1", "v1"), ("k2", "v2"), ("k3", "v3"), ("k4", "v4")] {
        net.invoke_with(
            "privatecc",
            "put",
            &[key, value],
            &CallOptions::default().channel("c12"),
        )
        .await
        .unwrap();
    }
    for (owner, id, value) in [("alice", "1", "x"), ("bob", "1", "y"), ("alice", "2", "z")] {
        net.invoke_with(
            "privatecc",
            "putasset",
            &[owner, id, value],
            &CallOptions::default().channel("c12"),
        )
        .await
        .unwrap();
    }
    let json = |text: String| serde_json::from_str::<serde_json::Value>(&text).unwrap();
    let range = json(
        query("range", &["k1", "k4"], call("c12", "Org2MSP"))
            .await
            .unwrap(),
    );
    assert_eq!(
        range,
        serde_json::json!([{"key":"k1","value":"v1"},{"key":"k2","value":"v2"},{"key":"k3","value":"v3"}])
    );
    let first = json(
        query("page", &["k1", "k9", "3"], call("c12", "Org1MSP"))
            .await
            .unwrap(),
    );
    assert_eq!(first["fetched"], 3, "{first}");
    let bookmark = first["bookmark"].as_str().unwrap().to_string();
    assert!(!bookmark.is_empty(), "{first}");
    let second = net
        .query_with(
            "privatecc",
            "page",
            &["k1", "k9", "3", &bookmark],
            &call("c12", "Org1MSP"),
        )
        .await
        .unwrap();
    let second = json(second);
    assert_eq!(
        second["records"],
        serde_json::json!([{"key":"k4","value":"v4"}]),
        "{second}"
    );
    let assets = json(
        query("assetsof", &["alice"], call("c12", "Org1MSP"))
            .await
            .unwrap(),
    );
    assert_eq!(
        assets,
        serde_json::json!([{"owner":"alice","id":"1","value":"x"},{"owner":"alice","id":"2","value":"z"}])
    );
    assert_eq!(
        query("whoami", &[], call("c12", "Org2MSP")).await.unwrap(),
        "Org2MSP"
    );

    net.teardown().await.unwrap();
}
