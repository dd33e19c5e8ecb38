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
