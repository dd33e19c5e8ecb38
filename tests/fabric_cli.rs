//! The README's main job on real Fabric images: `fabx up`, `fabx status --json` and
//! `fabx down` on the default network, leaving Docker exactly as it was. Alone in its
//! test binary, so nothing else changes Docker while it compares before and after.

mod common;

use std::process::Command;

fn fabx(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fabx"))
        .args(args)
        .current_dir(dir)
        .env_remove("FABX_CONFIG")
        .env_remove("FABX_STATE_DIR")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn default_network_up_status_down_leaves_docker_as_it_was() {
    const TEST: &str = "default_network_up_status_down";
    let engine = common::engine().await;
    let topology = fabx::Topology::default_topology();
    if let Some(reason) = common::missing_fabric_images(&engine, &topology).await {
        return common::skipped(TEST, &reason);
    }
    if engine
        .network_labels(&topology.network)
        .await
        .unwrap()
        .is_some()
    {
        return common::skipped(
            TEST,
            "Docker network net_byfn already exists (a network is up); run `fabx down` first",
        );
    }
    let _cleanup = common::Cleanup {
        engine: engine.clone(),
        network: topology.network.clone(),
    };
    let before = common::docker_objects(&engine).await;
    let dir = tempfile::tempdir().unwrap();

    let (ok, stdout, stderr) = fabx(dir.path(), &["up", "--json"]);
    assert!(ok, "fabx up failed: {stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = lines.last().unwrap();
    assert_eq!(summary["status"], "ok", "{stdout}");
    assert!(lines[..lines.len() - 1]
        .iter()
        .all(|s| s["status"] == "ok" && s["duration_ms"].is_u64()));
    let steps: Vec<&str> = lines.iter().filter_map(|s| s["step"].as_str()).collect();
    assert!(
        steps.contains(&"join peer0.org2.example.com to channel1"),
        "{steps:?}"
    );
    common::report(&format!(
        "{TEST}: fabx up took {} ms",
        summary["duration_ms"]
    ));
    assert!(dir.path().join(".fabx/net_byfn/crypto").is_dir());

    let (ok, stdout, stderr) = fabx(dir.path(), &["status", "--json"]);
    assert!(ok, "{stderr}");
    let status: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let nodes = status["nodes"].as_array().unwrap();
    let of_kind = |k: &str| nodes.iter().filter(|n| n["kind"] == k).count();
    assert_eq!((of_kind("orderer"), of_kind("peer")), (3, 2), "{stdout}");
    for n in nodes {
        assert_eq!(n["state"], "running");
        assert_eq!(n["channels"][0]["name"], "channel1", "{n}");
    }

    let (ok, stdout, _) = fabx(dir.path(), &["up"]);
    assert!(ok && stdout.contains("already up"), "{stdout}");

    let (ok, stdout, stderr) = fabx(dir.path(), &["down"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("removed: 6 containers"), "{stdout}");
    assert!(!dir.path().join(".fabx/net_byfn").exists());
    let (ok, stdout, _) = fabx(dir.path(), &["down"]);
    assert!(ok && stdout.contains("nothing to remove"), "{stdout}");

    assert_eq!(common::docker_objects(&engine).await, before);
}
