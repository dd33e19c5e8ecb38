//! The README's main job on real Fabric images, through the `fabx` binary on the default
//! network: up, status, deploy examplecc with init, invoke, query (also `--image`), down,
//! leaving Docker exactly as it was. Alone in its test binary, so nothing else changes
//! Docker while it compares before and after.

mod common;

/// Where a run keeps its files, and the topology file it uses instead of the default
/// one, if any.
struct Run {
    state: std::path::PathBuf,
    config: Option<std::path::PathBuf>,
}

/// Runs fabx from the repository root (where chaincode/examplecc is).
fn fabx(run: &Run, args: &[&str]) -> (bool, String, String) {
    let project = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut env = vec![("FABX_STATE_DIR", run.state.as_os_str())];
    if let Some(config) = &run.config {
        env.push(("FABX_CONFIG", config.as_os_str()));
    }
    common::run_fabx(project, &env, args)
}

#[tokio::test]
async fn default_network_up_status_down_leaves_docker_as_it_was() {
    const TEST: &str = "default_network_up_status_down";
    let engine = common::engine().await;
    let mut topology = fabx::Topology::default_topology();
    if let Some(reason) = common::missing_fabric_images(&topology).await {
        return common::skipped(TEST, &reason);
    }
    let tmp = tempfile::tempdir().unwrap();
    // A directory fabx creates itself (its mode is checked).
    let state = tmp.path().join("state");
    let mut run = Run {
        state: state.clone(),
        config: None,
    };
    // The README's first command leaves the default network up: then the default
    // topology runs beside it, under its own name and without fixed host ports.
    if engine
        .network_labels(&topology.network)
        .await
        .unwrap()
        .is_some()
    {
        common::report(&format!(
            "{TEST}: {} is up; the default topology runs beside it, isolated",
            topology.network
        ));
        topology = fabx::harness::isolate(topology);
        let file = tmp.path().join("default-isolated.yaml");
        std::fs::write(&file, serde_norway::to_string(&topology).unwrap()).unwrap();
        run.config = Some(file);
    }
    let _cleanup = common::Cleanup {
        engine: engine.clone(),
        network: topology.network.clone(),
    };
    let before = common::docker_objects(&engine).await;

    let (ok, stdout, stderr) = fabx(&run, &["up", "--json"]);
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
    assert!(state.as_path().join("crypto").is_dir());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(state.as_path())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700, "the state directory holds keys");
    // Every published port listens on localhost only.
    let peer = engine
        .client()
        .inspect_container(
            &topology.container_name("peer0.org1.example.com"),
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .unwrap();
    let bindings = peer.host_config.unwrap().port_bindings.unwrap();
    let published: Vec<_> = bindings.values().flatten().flatten().collect();
    assert!(!published.is_empty());
    assert!(
        published
            .iter()
            .all(|b| b.host_ip.as_deref() == Some("127.0.0.1")),
        "{published:?}"
    );

    let (ok, stdout, stderr) = fabx(&run, &["status", "--json"]);
    assert!(ok, "{stderr}");
    let status: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let nodes = status["nodes"].as_array().unwrap();
    let of_kind = |k: &str| nodes.iter().filter(|n| n["kind"] == k).count();
    assert_eq!((of_kind("orderer"), of_kind("peer")), (3, 2), "{stdout}");
    for n in nodes {
        assert_eq!(n["state"], "running");
        assert_eq!(n["channels"][0]["name"], "channel1", "{n}");
    }

    // A second up finds every node running and joined.
    let (ok, stdout, _) = fabx(&run, &["up"]);
    assert!(ok && stdout.contains("already up"), "{stdout}");

    // Issue 4's flow: deploy with init, invoke, query on both orgs.
    let (ok, stdout, stderr) = fabx(
        &run,
        &[
            "deploy",
            "examplecc",
            "--init",
            "Init",
            "a",
            "100",
            "b",
            "200",
        ],
    );
    assert!(ok, "deploy failed: {stderr}");
    assert!(
        stdout.contains("examplecc sequence 1 committed on channel1"),
        "{stdout}"
    );
    // Each org's package, which its peers install from the mounted packages directory;
    // with mutual TLS it holds the peers' client key, so only its owner reads it.
    let packages: Vec<_> = std::fs::read_dir(state.as_path().join("packages"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(packages.len(), 2, "one package per org: {packages:?}");
    for package in &packages {
        let mode = std::fs::metadata(package).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", package.display());
    }
    let (ok, _, stderr) = fabx(&run, &["invoke", "examplecc", "invoke", "a", "b", "20"]);
    assert!(ok, "{stderr}");
    assert_eq!(fabx(&run, &["query", "examplecc", "query", "a"]).1, "80\n");
    assert_eq!(
        fabx(
            &run,
            &["query", "examplecc", "query", "b", "--org", "Org2MSP"]
        )
        .1,
        "220\n"
    );
    assert_eq!(
        fabx(
            &run,
            &["query", "examplecc", "-c", r#"{"Args":["query","b"]}"#]
        )
        .1,
        "220\n"
    );

    // A chaincode error: non-zero exit with the chaincode's message.
    let (ok, _, stderr) = fabx(&run, &["invoke", "examplecc", "invoke", "a", "b"]);
    assert!(!ok);
    assert_eq!(
        stderr.trim(),
        "error: chaincode examplecc failed: Incorrect number of arguments. Expecting 3"
    );

    // An image built elsewhere, following the Fabric samples' env convention.
    let (ok, _, stderr) = fabx(
        &run,
        &[
            "deploy",
            "imagecc",
            "--image",
            "fabx/examplecc:1.0",
            "--init",
            "Init",
            "x",
            "1",
            "y",
            "2",
        ],
    );
    assert!(ok, "{stderr}");
    assert_eq!(
        fabx(
            &run,
            &["query", "imagecc", "query", "y", "--org", "Org2MSP"]
        )
        .1,
        "2\n"
    );

    // Bad input leaves the network healthy.
    let (ok, _, stderr) = fabx(&run, &["deploy", "nosuchcc"]);
    assert!(
        !ok && stderr.contains("chaincode directory chaincode/nosuchcc not found"),
        "{stderr}"
    );
    let (ok, _, stderr) = fabx(
        &run,
        &["query", "examplecc", "query", "a", "--org", "Org9MSP"],
    );
    assert!(
        !ok && stderr.contains("unknown organization Org9MSP"),
        "{stderr}"
    );
    assert_eq!(fabx(&run, &["query", "examplecc", "query", "a"]).1, "80\n");

    let (ok, stdout, stderr) = fabx(&run, &["down"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("removed: 9 containers"), "{stdout}");
    assert!(!state.as_path().exists());
    let (ok, stdout, _) = fabx(&run, &["down"]);
    assert!(ok && stdout.contains("nothing to remove"), "{stdout}");

    assert_eq!(common::docker_objects(&engine).await, before);
}
