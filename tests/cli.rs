//! The `fabx` binary on bad input: one-line errors naming cause and fix, non-zero exit,
//! no panic, nothing created.

use std::process::Command;

fn fabx(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fabx"));
    cmd.args(args)
        .current_dir(dir.path())
        .env_remove("FABX_CONFIG")
        .env_remove("FABX_STATE_DIR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let created: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(
        created.is_empty(),
        "a failed command left files behind: {created:?}"
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_one_line_error(stderr: &str, expected: &[&str]) {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    for text in expected {
        assert!(lines[0].contains(text), "{text:?} missing from: {stderr}");
    }
    assert!(!stderr.contains("panicked"));
}

/// Like [`assert_one_line_error`], after the failed step's line of a command that
/// reports steps.
fn assert_step_then_one_line_error(stderr: &str, expected: &[&str]) {
    let rest: String = stderr
        .lines()
        .skip_while(|l| l.starts_with('✗') || l.starts_with('✓'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_one_line_error(&rest, expected);
}

#[test]
fn missing_config_file() {
    let (code, _, stderr) = fabx(&["up", "--config", "/nonexistent/net.yaml"], &[]);
    assert_eq!(code, 1);
    assert_one_line_error(&stderr, &["/nonexistent/net.yaml", "--config"]);
}

#[test]
fn malformed_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.yaml");
    std::fs::write(&path, "network: [unclosed\n").unwrap();
    let (code, _, stderr) = fabx(&["up", "--config", path.to_str().unwrap()], &[]);
    assert_eq!(code, 1);
    assert_one_line_error(
        &stderr,
        &["net.yaml", "malformed topology", "network/default.yaml"],
    );
}

#[test]
fn invalid_config_names_field_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.yaml");
    let text = fabx::topology::DEFAULT_TOPOLOGY.replace("msp_id: Org2MSP", "msp_id: Org1MSP");
    std::fs::write(&path, text).unwrap();
    let (code, _, stderr) = fabx(&["status", "--config", path.to_str().unwrap()], &[]);
    assert_eq!(code, 1);
    assert_one_line_error(
        &stderr,
        &[
            "net.yaml",
            "orgs[1].msp_id",
            "used twice",
            "give each organization its own msp_id",
        ],
    );
}

#[test]
fn unreachable_docker_names_the_socket() {
    let (code, _, stderr) = fabx(
        &["up"],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert_eq!(code, 1);
    assert_one_line_error(&stderr, &["unix:///nonexistent/docker.sock", "DOCKER_HOST"]);
}

#[test]
fn json_errors_end_with_a_failed_summary() {
    let (code, stdout, _) = fabx(
        &["--json", "down"],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert_eq!(code, 1);
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["status"], "failed");
    assert!(last["error"]
        .as_str()
        .unwrap()
        .contains("cannot reach the Docker engine"));
}

#[test]
fn unknown_command_is_a_usage_error() {
    let (code, _, stderr) = fabx(&["launch"], &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("unrecognized subcommand 'launch'"),
        "{stderr}"
    );
}

#[test]
fn deploy_options_that_cannot_go_together_are_usage_errors() {
    let (code, _, stderr) = fabx(&["deploy", "cc", "--tls", "sometimes"], &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("unknown TLS mode \"sometimes\" (use off, server or mutual)"),
        "{stderr}"
    );
    for other in [["--image", "some/image:1"], ["--path", "chaincode/cc"]] {
        let mut args = vec!["deploy", "cc", "--address", "host.docker.internal:9999"];
        args.extend(other);
        let (code, _, stderr) = fabx(&args, &[]);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("cannot be used with"), "{stderr}");
    }
}

/// A small snapshot as `fabx snapshot` writes it (a state directory and one ledger),
/// in format `format`.
fn snapshot_file(dir: &std::path::Path, format: u32) -> std::path::PathBuf {
    use fabx::network::snapshot::archive::{Manifest, SnapshotWriter};
    let topology = fabx::harness::isolate(fabx::Topology::default_topology());
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join(".fabx-state"), "generated by fabx\n").unwrap();
    let manifest = Manifest {
        format,
        fabx_version: "0.1.0".into(),
        created: 0,
        topology: serde_norway::to_string(&topology).unwrap(),
        host_ports_pinned: false,
        built_in: false,
        ledgers: vec!["orderer.example.com".into()],
        deployments: vec![],
        images: vec![],
    };
    let path = dir.join(format!("format{format}.tar.gz"));
    let mut writer = SnapshotWriter::create(&path, &manifest).unwrap();
    writer.append_dir(&state, &[]).unwrap();
    writer
        .append("ledgers/orderer.example.com.tar", 0o600, &[7u8; 4096])
        .unwrap();
    writer.finish().unwrap();
    path
}

#[test]
fn restore_refuses_bad_archives_with_one_line_and_creates_nothing() {
    let files = tempfile::tempdir().unwrap();
    let networks_before = docker_networks();
    let newer = snapshot_file(files.path(), fabx::network::snapshot::FORMAT + 1);
    let (code, _, stderr) = fabx(&["restore", newer.to_str().unwrap()], &[]);
    assert_ne!(code, 0);
    assert_step_then_one_line_error(&stderr, &["newer than this fabx reads", "upgrade fabx"]);

    let good = snapshot_file(files.path(), fabx::network::snapshot::FORMAT);
    let bytes = std::fs::read(&good).unwrap();
    let truncated = files.path().join("truncated.tar.gz");
    std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let (code, _, stderr) = fabx(&["restore", truncated.to_str().unwrap()], &[]);
    assert_ne!(code, 0);
    assert_step_then_one_line_error(&stderr, &["truncated or corrupt", "take a new snapshot"]);

    let garbage = files.path().join("notes.txt");
    std::fs::write(&garbage, "not an archive").unwrap();
    let (code, _, stderr) = fabx(&["restore", garbage.to_str().unwrap()], &[]);
    assert_ne!(code, 0);
    assert_step_then_one_line_error(&stderr, &["notes.txt cannot be read"]);

    let (code, _, stderr) = fabx(&["restore", "/nonexistent/net.tar.gz"], &[]);
    assert_ne!(code, 0);
    assert_step_then_one_line_error(&stderr, &["is not a fabx snapshot"]);
    assert_eq!(
        docker_networks(),
        networks_before,
        "a failed restore left a network"
    );
}

#[test]
fn stop_start_and_snapshot_of_a_network_that_is_not_up_say_so() {
    let files = tempfile::tempdir().unwrap();
    let target = files.path().join("net.tar.gz");
    for args in [
        vec!["stop"],
        vec!["start"],
        vec!["snapshot", target.to_str().unwrap()],
    ] {
        let mut args = args.clone();
        args.extend(["--network", "fabx-cli-never-up"]);
        let (code, _, stderr) = fabx(&args, &[]);
        assert_ne!(code, 0, "{args:?}");
        assert_one_line_error(&stderr, &["network fabx-cli-never-up is not up"]);
    }
    assert!(!target.exists());
}

#[test]
fn identity_commands_name_the_bad_input_and_create_nothing() {
    let never_up = ["--network", "fabx-cli-never-up"];
    let cases: [(Vec<&str>, Vec<&str>); 5] = [
        (
            vec![
                "identity",
                "add",
                "Org1MSP",
                "auditor1",
                "--attr",
                "role=auditor",
            ],
            vec!["network fabx-cli-never-up is not up", "fabx up"],
        ),
        (
            vec!["identity", "add", "Org9MSP", "auditor1"],
            vec!["unknown organization Org9MSP", "Org1MSP, Org2MSP"],
        ),
        (
            vec!["identity", "add", "Org1MSP", "auditor1", "--attr", "role"],
            vec!["--attr \"role\" is not NAME=VALUE", "--attr role=auditor"],
        ),
        (
            vec!["identity", "add", "Org1MSP", "../x"],
            vec!["\"../x\" cannot name an identity", "letters, digits"],
        ),
        (
            vec!["identity", "list"],
            vec!["network fabx-cli-never-up is not up"],
        ),
    ];
    for (args, expected) in cases {
        let mut args = args.clone();
        args.extend(never_up);
        let (code, _, stderr) = fabx(&args, &[]);
        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert_one_line_error(&stderr, &expected);
    }
}

/// Names of the Docker networks, through the engine.
fn docker_networks() -> Vec<String> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let engine = fabx::DockerEngine::connect().await.unwrap();
        let mut names: Vec<String> = engine
            .client()
            .list_networks(None::<bollard::query_parameters::ListNetworksOptions>)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|n| n.name)
            .collect();
        names.sort();
        names
    })
}

#[test]
fn an_unknown_state_database_is_one_line_naming_the_choices() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.yaml");
    let text =
        fabx::topology::DEFAULT_TOPOLOGY.replace("images:", "state_database: postgres\nimages:");
    std::fs::write(&path, text).unwrap();
    let (code, _, stderr) = fabx(&["up", "--config", path.to_str().unwrap()], &[]);
    assert_eq!(code, 1);
    assert_one_line_error(
        &stderr,
        &[
            "net.yaml",
            "state_database",
            "postgres",
            "leveldb",
            "couchdb",
        ],
    );
    assert!(!dir.path().join(".fabx").exists());
}
