//! Stop, start, snapshot and restore on real Fabric images. Through the `fabx` binary as
//! a user runs it: a network with examplecc and state changed by invokes is snapshotted,
//! removed, restored in another directory, answers what it answered and commits new
//! invokes; a restore over the running network and a corrupt archive are refused and
//! leave Docker as it was; stop and start keep the ledger. Through the harness: private
//! data comes back for both orgs of the collection. Prints SKIPPED without the images.

mod common;

use fabx::harness::TestNetwork;
use fabx::network::deploy::{DeployRequest, Source};
use fabx::network::invoke::CallOptions;
use std::io::Read;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

struct Project {
    dir: PathBuf,
    config: PathBuf,
}

impl Project {
    fn fabx(&self, args: &[&str]) -> (bool, String, String) {
        common::run_fabx(&self.dir, &[("FABX_CONFIG", self.config.as_os_str())], args)
    }

    fn ok(&self, args: &[&str]) -> String {
        let (ok, stdout, stderr) = self.fabx(args);
        assert!(ok, "fabx {args:?} in {}: {stderr}", self.dir.display());
        stdout
    }

    fn query(&self, key: &str) -> String {
        self.ok(&["query", "examplecc", "query", key])
            .trim()
            .to_string()
    }

    fn status(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["status", "--json"])).unwrap()
    }
}

/// Every member of a snapshot with its mode.
fn members(path: &Path) -> Vec<(String, u32)> {
    let file = std::fs::File::open(path).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().display().to_string();
            let mode = e.header().mode().unwrap();
            let mut sink = Vec::new();
            e.read_to_end(&mut sink).unwrap();
            (name, mode)
        })
        .collect()
}

#[tokio::test]
async fn a_snapshot_restored_elsewhere_answers_as_before_and_commits() {
    let topology = fabx::harness::isolate(fabx::Topology::default_topology());
    if let Some(reason) = common::missing_fabric_images(&topology).await {
        common::skipped(
            "a_snapshot_restored_elsewhere_answers_as_before_and_commits",
            &reason,
        );
        return;
    }
    // It compares every object on Docker before and after: the other test must not run.
    let _exclusive = common::docker_exclusive().await;
    let engine = common::engine().await;
    let _cleanup = common::Cleanup {
        engine: engine.clone(),
        network: topology.network.clone(),
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("topology.yaml");
    std::fs::write(&config, serde_norway::to_string(&topology).unwrap()).unwrap();
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    std::fs::create_dir_all(&first).unwrap();
    std::fs::create_dir_all(&second).unwrap();
    let here = Project {
        dir: first,
        config: config.clone(),
    };
    let there = Project {
        dir: second,
        config,
    };

    here.ok(&["up"]);
    let examplecc = format!("{ROOT}/chaincode/examplecc");
    here.ok(&[
        "deploy",
        "examplecc",
        "--path",
        &examplecc,
        "--init",
        "Init",
        "a",
        "100",
        "b",
        "200",
    ]);
    for _ in 0..3 {
        here.ok(&["invoke", "examplecc", "invoke", "a", "b", "10"]);
    }
    assert_eq!(here.query("a"), "70");

    let snapshot = dir.path().join("net.tar.gz");
    let out = here.ok(&["snapshot", snapshot.to_str().unwrap()]);
    assert!(out.contains("snapshot of network"), "{out}");
    println!("{}", out.trim());
    let members = members(&snapshot);
    assert_eq!(members[0].0, "fabx-snapshot.json");
    assert_eq!(members.last().unwrap().0, "SHA256SUMS");
    let keys: Vec<&(String, u32)> = members
        .iter()
        .filter(|(name, _)| name.ends_with("_sk") || name.ends_with(".key"))
        .collect();
    assert!(!keys.is_empty(), "no keys in {members:?}");
    for (name, mode) in keys {
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
    for node in [
        "orderer.example.com",
        "peer0.org1.example.com",
        "peer0.org2.example.com",
    ] {
        let ledger = format!("ledgers/{node}.tar");
        assert!(members.iter().any(|(n, _)| *n == ledger), "{ledger}");
    }
    // A snapshot never overwrites a file.
    let (ok, _, stderr) = here.fabx(&["snapshot", snapshot.to_str().unwrap()]);
    assert!(!ok && stderr.contains("already exists"), "{stderr}");
    // The network ran on after the snapshot.
    here.ok(&["invoke", "examplecc", "invoke", "a", "b", "1"]);
    assert_eq!(here.query("a"), "69");

    // A restore over the running network is refused and changes nothing.
    let before = common::docker_objects(&engine).await;
    let (ok, _, stderr) = there.fabx(&["restore", snapshot.to_str().unwrap()]);
    assert!(!ok, "restore over a running network succeeded");
    assert!(
        stderr.contains("already exists on this machine"),
        "{stderr}"
    );
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        stderr.trim_end().ends_with(errors[0]),
        "one line, last: {stderr}"
    );
    assert_eq!(common::docker_objects(&engine).await, before);
    assert!(!there.dir.join(".fabx").exists());

    // Beside the running network, under another name.
    let beside = format!("{}-b", topology.network);
    let _cleanup_beside = common::Cleanup {
        engine: engine.clone(),
        network: beside.clone(),
    };
    there.ok(&["restore", snapshot.to_str().unwrap(), "--network", &beside]);
    let (ok, a, stderr) = there.fabx(&["query", "examplecc", "query", "a", "--network", &beside]);
    assert!(ok, "{stderr}");
    assert_eq!(a.trim(), "70", "the restored copy has the snapshot's state");
    assert_eq!(
        here.query("a"),
        "69",
        "the original network runs on as it was"
    );
    there.ok(&["down", "--network", &beside]);
    assert_eq!(common::docker_objects(&engine).await, before);

    here.ok(&["down"]);
    let after_down = common::docker_objects(&engine).await;

    // A corrupt copy: refused, Docker as it was, no state directory.
    let corrupt = dir.path().join("corrupt.tar.gz");
    let mut bytes = std::fs::read(&snapshot).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 64] {
        *b ^= 0x5a;
    }
    std::fs::write(&corrupt, &bytes).unwrap();
    let (ok, _, stderr) = there.fabx(&["restore", corrupt.to_str().unwrap()]);
    assert!(!ok, "a corrupt snapshot was restored");
    assert!(
        stderr.contains("truncated or corrupt") || stderr.contains("is corrupt"),
        "{stderr}"
    );
    assert_eq!(common::docker_objects(&engine).await, after_down);
    assert!(!there.dir.join(".fabx").exists());

    // Restored in another directory: the same answers, and new invokes commit.
    let out = there.ok(&["restore", snapshot.to_str().unwrap()]);
    assert!(out.contains("restored from"), "{out}");
    println!("{}", out.trim());
    let state = there.dir.join(".fabx").join(&topology.network);
    // Not the built-in topology: later commands are told where it is.
    let written = state.join("topology.yaml");
    assert!(
        out.contains(&format!("--config {}", written.display())),
        "{out}"
    );
    let restored = fabx::Topology::load(&written).unwrap();
    assert_eq!(restored.orgs, topology.orgs);
    assert_eq!(
        there.query("a"),
        "70",
        "the state when the snapshot was taken"
    );
    assert_eq!(there.query("b"), "230");
    there.ok(&["invoke", "examplecc", "invoke", "a", "b", "5"]);
    assert_eq!(there.query("a"), "65");
    assert_eq!(there.status()["state"], "running");

    // Stop and start keep the ledger.
    let out = there.ok(&["stop"]);
    assert!(out.contains("stopped"), "{out}");
    let status = there.status();
    assert_eq!(status["state"], "stopped", "{status}");
    let text = there.ok(&["status"]);
    assert!(
        text.contains("stopped (`fabx start` starts it again)"),
        "{text}"
    );
    let (ok, _, stderr) = there.fabx(&["query", "examplecc", "query", "a"]);
    assert!(!ok, "a stopped network answered a query");
    assert!(!stderr.is_empty());
    // A stopped network is copied as it is, nothing paused.
    let stopped = dir.path().join("stopped.tar.gz");
    let out = there.ok(&["snapshot", stopped.to_str().unwrap()]);
    assert!(out.contains("copied from the stopped nodes"), "{out}");
    assert_eq!(
        there.status()["state"],
        "stopped",
        "a snapshot starts nothing"
    );
    there.ok(&["start"]);
    assert_eq!(there.query("a"), "65");
    there.ok(&["invoke", "examplecc", "invoke", "a", "b", "5"]);
    assert_eq!(there.query("a"), "60");
    there.ok(&["down"]);
}

const C12_COLLECTIONS: &str = r#"[{"name": "shared12", "policy": "OR('Org1MSP.member','Org2MSP.member')",
  "requiredPeerCount": 0, "maxPeerCount": 1, "blockToLive": 0,
  "memberOnlyRead": true, "memberOnlyWrite": false}]"#;

#[tokio::test]
async fn private_data_comes_back_for_both_orgs_from_a_snapshot() {
    let builder = TestNetwork::builder().orgs(2).orderers(1);
    let topology = builder.build().unwrap();
    if let Some(reason) = common::missing_fabric_images(&topology).await {
        common::skipped(
            "private_data_comes_back_for_both_orgs_from_a_snapshot",
            &reason,
        );
        return;
    }
    let _exclusive = common::docker_exclusive().await;
    let files = tempfile::tempdir().unwrap();
    let collections = files.path().join("c12.json");
    std::fs::write(&collections, C12_COLLECTIONS).unwrap();
    let seed = builder.start().await.unwrap();
    let mut request = DeployRequest::new(
        "privatecc",
        Source::Directory(format!("{ROOT}/chaincode/privatecc").into()),
    );
    request.collections = Some(collections);
    seed.deploy(&request).await.unwrap();
    seed.invoke_with(
        "privatecc",
        "putprivate",
        &["shared12", "k1"],
        &CallOptions::default().transient("value", "secret12"),
    )
    .await
    .unwrap();
    seed.invoke("privatecc", "put", &["pub", "v1"])
        .await
        .unwrap();
    let snapshot = files.path().join("seeded.tar.gz");
    let report = seed.snapshot(&snapshot).await.unwrap();
    assert_eq!(report.chaincodes, ["privatecc"]);
    seed.teardown().await.unwrap();

    // Two networks from one snapshot, side by side: each test of a suite gets its own.
    let (a, b) = tokio::join!(
        TestNetwork::from_snapshot(&snapshot),
        TestNetwork::from_snapshot(&snapshot)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.topology().network, b.topology().network);
    for org in ["Org1MSP", "Org2MSP"] {
        let options = CallOptions::default().peer(org);
        let value = a
            .query_with("privatecc", "getprivate", &["shared12", "k1"], &options)
            .await
            .unwrap();
        assert_eq!(value, "secret12", "{org}");
    }
    assert_eq!(b.query("privatecc", "get", &["pub"]).await.unwrap(), "v1");
    // New private writes commit and reach both orgs.
    a.invoke_with(
        "privatecc",
        "putprivate",
        &["shared12", "k2"],
        &CallOptions::default().transient("value", "after"),
    )
    .await
    .unwrap();
    for org in ["Org1MSP", "Org2MSP"] {
        let options = CallOptions::default().peer(org);
        let value = a
            .query_with("privatecc", "getprivate", &["shared12", "k2"], &options)
            .await
            .unwrap();
        assert_eq!(value, "after", "{org}");
    }
    // b is its own network: a's write is not there.
    let err = b
        .query_with(
            "privatecc",
            "getprivate",
            &["shared12", "k2"],
            &CallOptions::default().peer("Org1MSP"),
        )
        .await;
    assert!(
        err.as_deref().map_or(true, |v| v.is_empty()),
        "b sees a's write: {err:?}"
    );
    a.teardown().await.unwrap();
    b.teardown().await.unwrap();
}
