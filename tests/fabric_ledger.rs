//! The ledger decoded on real Fabric (`Network::blocks`, `Network::transaction`, and the
//! `fabx blocks` / `fabx tx` commands): the genesis config block, lifecycle
//! transactions, an init and an invoke with their read and write sets, a private write
//! as hashes, a transaction the endorsement policy invalidates and one that loses a
//! read conflict, and blocks followed as they are committed. Fabric 2.5 with etcdraft,
//! and 3.1 with BFT. Prints SKIPPED without the images.

mod common;

use fabx::harness::{missing_images, TestNetwork, TopologyBuilder};
use fabx::ledger::TxView;
use fabx::network::deploy::{DeployRequest, Source};
use fabx::network::invoke::CallOptions;
use sha2::{Digest, Sha256};
use std::time::Duration;

const EXAMPLECC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/chaincode/examplecc");
const PRIVATECC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/chaincode/privatecc");
const COLLECTIONS: &str = r#"[{"name": "secrets", "policy": "OR('Org1MSP.member','Org2MSP.member')",
  "requiredPeerCount": 0, "maxPeerCount": 1, "blockToLive": 0,
  "memberOnlyRead": true, "memberOnlyWrite": false}]"#;

/// Every transaction of the default channel, checking that blocks come in order.
async fn all_transactions(net: &TestNetwork) -> Vec<TxView> {
    let mut blocks = net.network().blocks(None, 0, false).await.unwrap();
    let mut transactions = Vec::new();
    let mut expected = 0;
    while let Some(block) = blocks.next().await.unwrap() {
        assert_eq!(block.number, expected);
        expected += 1;
        transactions.extend(block.transactions);
    }
    transactions
}

fn args(tx: &TxView) -> Vec<String> {
    tx.args
        .iter()
        .map(|a| a.text().unwrap_or("<binary>").to_string())
        .collect()
}

/// Deploys examplecc, moves 20 from a to b, makes two invalid transactions on purpose,
/// and checks what the blocks say about each. Returns the network and the move's ID.
async fn examplecc_ledger(test: &str, builder: TopologyBuilder) -> Option<(TestNetwork, String)> {
    let topology = builder.build().unwrap();
    if let Some(reason) = missing_images(&topology).await.unwrap() {
        common::skipped(test, &reason);
        return None;
    }
    let net = TestNetwork::start_with(topology, &fabx::reporter::Silent)
        .await
        .unwrap();
    let genesis = all_transactions(&net).await;
    assert_eq!(genesis.len(), 1, "{genesis:?}");
    assert_eq!((genesis[0].block, genesis[0].kind.as_str()), (0, "config"));
    assert!(genesis[0].chaincode.is_none());

    net.deploy_dir("examplecc", EXAMPLECC, &["Init", "a", "100", "b", "200"])
        .await
        .unwrap();
    let moved = net
        .invoke("examplecc", "invoke", &["a", "b", "20"])
        .await
        .unwrap();
    // Org1 alone cannot satisfy the default policy (a majority of two orgs).
    let refused = net
        .invoke_with(
            "examplecc",
            "invoke",
            &["a", "b", "1"],
            &CallOptions::default().peer("Org1MSP"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(refused, fabx::Error::EndorsementPolicyNotMet(_)),
        "{refused}"
    );
    // Both read a and b before either commits (the orderer batches for 2 s): the
    // second in the block loses.
    let (one, two) = tokio::join!(
        net.invoke("examplecc", "invoke", &["a", "b", "5"]),
        net.invoke("examplecc", "invoke", &["b", "a", "7"]),
    );
    let conflict = match (&one, &two) {
        (Ok(_), Err(e)) | (Err(e), Ok(_)) => e.to_string(),
        _ => panic!("expected one commit and one conflict: {one:?} {two:?}"),
    };
    assert!(conflict.contains("MVCC_READ_CONFLICT"), "{conflict}");

    let transactions = all_transactions(&net).await;
    let lifecycle: Vec<&TxView> = transactions
        .iter()
        .filter(|t| t.kind == "lifecycle")
        .collect();
    let approvals: Vec<&str> = lifecycle
        .iter()
        .filter(|t| t.function.as_deref() == Some("ApproveChaincodeDefinitionForMyOrg"))
        .map(|t| t.creator.msp_id.as_str())
        .collect();
    assert_eq!(approvals.len(), 2, "{lifecycle:?}");
    assert!(approvals.contains(&"Org1MSP") && approvals.contains(&"Org2MSP"));
    assert!(lifecycle
        .iter()
        .any(|t| t.function.as_deref() == Some("CommitChaincodeDefinition")));
    assert!(lifecycle.iter().all(|t| t.is_valid()), "{lifecycle:?}");
    let init = transactions
        .iter()
        .find(|t| t.function.as_deref() == Some("Init"))
        .expect("the init transaction");
    assert_eq!(args(init), ["Init", "a", "100", "b", "200"]);
    assert!(init.is_valid());

    // The move, by ID, whole; the same as in the listing.
    let tx = net.network().transaction(None, &moved.tx_id).await.unwrap();
    assert_eq!(
        Some(&tx),
        transactions.iter().find(|t| t.tx_id == moved.tx_id)
    );
    assert_eq!(tx.validation.as_deref(), Some("VALID"));
    assert_eq!(tx.kind, "invoke");
    assert_eq!(tx.chaincode.as_deref(), Some("examplecc"));
    assert_eq!(args(&tx), ["invoke", "a", "b", "20"]);
    assert_eq!(tx.creator.msp_id, "Org1MSP");
    assert_eq!(tx.creator.name.as_deref(), Some("Admin@org1.example.com"));
    let endorsers: Vec<_> = tx.endorsers.iter().map(|e| e.msp_id.as_str()).collect();
    assert_eq!(endorsers.len(), 2);
    assert!(endorsers.contains(&"Org1MSP") && endorsers.contains(&"Org2MSP"));
    assert_eq!(tx.response.as_ref().map(|r| r.status), Some(200));
    let ns = tx
        .rwsets
        .iter()
        .find(|ns| ns.namespace == "examplecc")
        .expect("examplecc's read-write set");
    // The peer reads the key that records a chaincode needing Init was initialized.
    let reads: Vec<&str> = ns.reads.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(reads, ["\0\u{10ffff}initialized", "a", "b"]);
    assert!(ns.reads.iter().all(|r| r.version.is_some()));
    let writes: Vec<(&str, Option<&str>)> = ns
        .writes
        .iter()
        .map(|w| (w.key.as_str(), w.value.text()))
        .collect();
    assert_eq!(writes, [("a", Some("80")), ("b", Some("220"))]);

    let invalid = |code: &str| -> Vec<&TxView> {
        transactions
            .iter()
            .filter(|t| t.validation.as_deref() == Some(code))
            .collect()
    };
    let policy = invalid("ENDORSEMENT_POLICY_FAILURE");
    assert_eq!(policy.len(), 1, "{transactions:?}");
    assert_eq!(args(policy[0]), ["invoke", "a", "b", "1"]);
    assert_eq!(policy[0].endorsers.len(), 1);
    assert_eq!(policy[0].endorsers[0].msp_id, "Org1MSP");
    let mvcc = invalid("MVCC_READ_CONFLICT");
    assert_eq!(mvcc.len(), 1, "{transactions:?}");
    assert!(conflict.contains(&mvcc[0].tx_id), "{conflict}");

    // Bad input: one line naming the cause and what to do.
    let missing = net
        .network()
        .transaction(None, "0000")
        .await
        .unwrap_err()
        .to_string();
    assert!(missing.contains("has no transaction 0000"), "{missing}");
    assert!(missing.contains("fabx blocks"), "{missing}");
    let height = transactions.last().unwrap().block + 1;
    let beyond = net
        .network()
        .blocks(None, height + 5, false)
        .await
        .err()
        .expect("no blocks beyond the height")
        .to_string();
    assert!(beyond.contains(&format!("has {height} blocks")), "{beyond}");

    // Following: a block committed after the stream opened arrives on it.
    let mut follow = net.network().blocks(None, height, true).await.unwrap();
    let later = net
        .invoke("examplecc", "invoke", &["b", "a", "1"])
        .await
        .unwrap();
    let block = tokio::time::timeout(Duration::from_secs(30), follow.next())
        .await
        .expect("the followed block within 30 s")
        .unwrap()
        .unwrap();
    assert_eq!(block.number, height);
    assert_eq!(block.transactions[0].tx_id, later.tx_id);
    common::report(&format!(
        "{test}: {} transactions in {} blocks decoded; move {} VALID, one ENDORSEMENT_POLICY_FAILURE, one MVCC_READ_CONFLICT",
        transactions.len(),
        height,
        moved.tx_id
    ));
    Some((net, moved.tx_id))
}

#[tokio::test]
async fn blocks_and_transactions_of_fabric_2_5_through_the_library_and_the_cli() {
    const TEST: &str = "blocks_and_transactions_of_fabric_2_5";
    let builder = TestNetwork::builder();
    let Some((net, moved)) = examplecc_ledger(TEST, builder).await else {
        return;
    };

    // A private write: on the ledger as the collection's name and hashes only.
    let files = tempfile::tempdir().unwrap();
    let collections = files.path().join("collections.json");
    std::fs::write(&collections, COLLECTIONS).unwrap();
    let mut request = DeployRequest::new("privatecc", Source::Directory(PRIVATECC.into()));
    request.collections = Some(collections);
    net.deploy(&request).await.unwrap();
    let private = net
        .invoke_with(
            "privatecc",
            "putprivate",
            &["secrets", "k1"],
            &CallOptions::default().transient("value", "hush-hush"),
        )
        .await
        .unwrap();
    let tx = net
        .network()
        .transaction(None, &private.tx_id)
        .await
        .unwrap();
    let ns = tx
        .rwsets
        .iter()
        .find(|ns| ns.namespace == "privatecc")
        .unwrap();
    let hashes = &ns.collections[0];
    assert_eq!(hashes.collection, "secrets");
    let hex = |text: &str| hex::encode(Sha256::digest(text.as_bytes()));
    assert_eq!(hashes.writes[0].key_hash, hex("k1"));
    assert_eq!(hashes.writes[0].value_hash, hex("hush-hush"));
    let json = serde_json::to_string(&tx).unwrap();
    assert!(!json.contains("hush-hush"), "{json}");

    // A chaincode event: returned by the invoke and recorded in the transaction.
    net.invoke("privatecc", "createasset", &["car1", "tom", "red", "4"])
        .await
        .unwrap();
    let transfer = net
        .invoke("privatecc", "transferasset", &["car1", "ann"])
        .await
        .unwrap();
    let event = transfer.event.clone().expect("the transfer's event");
    assert_eq!(event.name, "AssetTransferred");
    assert_eq!(
        event.payload.text(),
        Some(r#"{"from":"tom","id":"car1","to":"ann"}"#)
    );
    let tx = net
        .network()
        .transaction(None, &transfer.tx_id)
        .await
        .unwrap();
    assert_eq!(tx.event, Some(event));

    // The commands, on the same network (its topology and state directory).
    let topology_file = files.path().join("topology.yaml");
    std::fs::write(
        &topology_file,
        serde_norway::to_string(net.topology()).unwrap(),
    )
    .unwrap();
    let state = net.network().layout.root().to_path_buf();
    let env = [
        ("FABX_CONFIG", topology_file.as_os_str()),
        ("FABX_STATE_DIR", state.as_os_str()),
    ];
    let fabx = |args: &[&str]| {
        let (ok, stdout, stderr) = common::run_fabx(files.path(), &env, args);
        assert!(ok, "fabx {args:?}: {stdout}{stderr}");
        stdout
    };
    let listing = fabx(&["blocks"]);
    let line = listing
        .lines()
        .find(|l| l.ends_with(&moved))
        .unwrap_or_else(|| panic!("{listing}"));
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        cells[2..7],
        ["invoke", "Org1MSP", "examplecc", "invoke", "VALID"],
        "{line}"
    );
    assert!(listing.contains("MVCC_READ_CONFLICT"), "{listing}");
    assert!(
        listing.contains("ApproveChaincodeDefinitionForMyOrg"),
        "{listing}"
    );
    let json_lines = fabx(&["--json", "blocks", "--from", "1"]);
    let first: serde_json::Value =
        serde_json::from_str(json_lines.lines().next().unwrap()).unwrap();
    assert_eq!(first["block"], 1, "{json_lines}");
    let text = fabx(&["tx", &moved]);
    assert!(text.contains("validation  VALID"), "{text}");
    assert!(text.contains("write   a = \"80\""), "{text}");
    assert!(text.contains("write   b = \"220\""), "{text}");
    let text = fabx(&["tx", &private.tx_id]);
    assert!(text.contains("collection secrets (hashes)"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&fabx(&["--json", "tx", &moved])).unwrap();
    let examplecc = json["rwsets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|ns| ns["namespace"] == "examplecc")
        .unwrap_or_else(|| panic!("{json}"));
    assert_eq!(examplecc["writes"][0]["value"], "80", "{json}");
    let text = fabx(&["tx", &transfer.tx_id]);
    assert!(
        text.contains(r#"event       AssetTransferred "{\"from\":\"tom\""#),
        "{text}"
    );
    let (ok, _, stderr) = common::run_fabx(
        files.path(),
        &env,
        &["invoke", "privatecc", "transferasset", "car1", "bob"],
    );
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains(
            r#"event AssetTransferred "{\"from\":\"ann\",\"id\":\"car1\",\"to\":\"bob\"}""#
        ),
        "{stderr}"
    );
    let (ok, _, stderr) = common::run_fabx(files.path(), &env, &["tx", "0000"]);
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("has no transaction 0000"), "{stderr}");

    // `blocks --follow` prints a block committed while it runs.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fabx"))
        .args(["blocks", "--follow", "--from", "1"])
        .current_dir(files.path())
        .env("FABX_CONFIG", &topology_file)
        .env("FABX_STATE_DIR", &state)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            if lines.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    // Blocks already there come first: the move is among them.
    let wait_for = |needle: &str| loop {
        let line = seen
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no line with {needle} within 30 s"));
        if line.ends_with(needle) {
            return line;
        }
    };
    wait_for(&moved);
    let later = net
        .invoke("examplecc", "invoke", &["a", "b", "2"])
        .await
        .unwrap();
    let line = wait_for(&later.tx_id);
    assert!(line.contains("VALID"), "{line}");
    child.kill().unwrap();
    child.wait().unwrap();
    net.teardown().await.unwrap();
}

#[tokio::test]
async fn blocks_and_transactions_of_fabric_3_1_with_bft() {
    const TEST: &str = "blocks_and_transactions_of_fabric_3_1_with_bft";
    let builder = common::fabric_3_1_bft();
    if let Some((net, _)) = examplecc_ledger(TEST, builder).await {
        net.teardown().await.unwrap();
    }
}
