//! What an application on the host gets from a network: per org a connection profile in
//! test-network's format (`connection-org1.json`/`.yaml`) whose peer address and TLS root
//! are those `fabx env` gives, and `export` lines that a `peer` CLI of the Fabric tools
//! image, on the host's network with the state directory mounted read-only, queries with.

mod common;

use std::path::Path;

const EXAMPLECC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/chaincode/examplecc");
const TOOLS_IMAGE: &str = "hyperledger/fabric-tools:2.5";
const TEST: &str = "connection_profile_and_env_serve_a_host_application";

/// Runs fabx in `project` on `network` with its state in `state`; (success, stdout, stderr).
fn fabx(project: &Path, network: &str, state: &Path, args: &[&str]) -> (bool, String, String) {
    let env = [
        ("FABX_NETWORK", network.as_ref()),
        ("FABX_STATE_DIR", state.as_os_str()),
    ];
    common::run_fabx(project, &env, args)
}

#[tokio::test]
async fn connection_profile_and_env_serve_a_host_application() {
    let topology = fabx::Topology::default_topology();
    if let Some(reason) = common::missing_fabric_images(&topology).await {
        return common::skipped(TEST, &reason);
    }
    let engine = common::engine().await;
    if !engine.image_present(TOOLS_IMAGE).await.unwrap() {
        return common::skipped(
            TEST,
            &format!("{TOOLS_IMAGE} is not present (build or load it to run this test)"),
        );
    }
    let net = common::unique("fabx-app");
    let _cleanup = common::Cleanup {
        engine: engine.clone(),
        network: net.clone(),
    };
    let project = tempfile::tempdir().unwrap();
    let project = project.path().canonicalize().unwrap();
    let state = project.join("state");

    // 1. up, deploy, invoke through the binary.
    let (ok, _, stderr) = fabx(&project, &net, &state, &["up"]);
    assert!(ok, "up: {stderr}");
    let (ok, _, stderr) = fabx(
        &project,
        &net,
        &state,
        &[
            "deploy",
            "examplecc",
            "--path",
            EXAMPLECC,
            "--init",
            "Init",
            "a",
            "100",
            "b",
            "200",
        ],
    );
    assert!(ok, "deploy: {stderr}");
    let (ok, _, stderr) = fabx(
        &project,
        &net,
        &state,
        &["invoke", "examplecc", "invoke", "a", "b", "20"],
    );
    assert!(ok, "invoke: {stderr}");

    // 2. The connection profiles.
    // `fabx up` wrote them, with the ports Docker published.
    let org1 = state.join("crypto/peerOrganizations/org1.example.com");
    let org2 = state.join("crypto/peerOrganizations/org2.example.com");
    let written: Vec<_> = [
        org1.join("connection-org1.json"),
        org1.join("connection-org1.yaml"),
        org2.join("connection-org2.json"),
        org2.join("connection-org2.yaml"),
    ]
    .into();
    for file in &written {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "{}", file.display());
    }

    let (ok, stdout, stderr) = fabx(&project, &net, &state, &["--json", "env", "Org1MSP"]);
    assert!(ok, "env --json: {stderr}");
    let env: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let address = env["CORE_PEER_ADDRESS"].as_str().unwrap();
    let port = address.rsplit_once(':').unwrap().1;
    let tls_root =
        std::fs::read_to_string(env["CORE_PEER_TLS_ROOTCERT_FILE"].as_str().unwrap()).unwrap();

    let text = std::fs::read_to_string(org1.join("connection-org1.json")).unwrap();
    let profile: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(profile["name"], "test-network-org1");
    assert_eq!(profile["organizations"]["Org1"]["mspid"], "Org1MSP");
    let peer0 = &profile["peers"]["peer0.org1.example.com"];
    let url = peer0["url"].as_str().unwrap();
    assert_eq!(url, format!("grpcs://localhost:{port}"), "env: {env}");
    assert_eq!(peer0["tlsCACerts"]["pem"].as_str().unwrap(), tls_root);
    assert_eq!(
        peer0["grpcOptions"]["ssl-target-name-override"],
        "peer0.org1.example.com"
    );
    let ca = &profile["certificateAuthorities"]["ca.org1.example.com"];
    let ca_pem = std::fs::read_to_string(org1.join("ca/ca.org1.example.com-cert.pem")).unwrap();
    assert_eq!(ca["tlsCACerts"]["pem"], serde_json::json!([ca_pem]));
    assert!(org1.join("users/User1@org1.example.com/msp").is_dir());

    common::report(&format!(
        "connection-org1.json (PEM bodies elided):\n{}",
        elide_pems(&text)
    ));

    let yaml = std::fs::read_to_string(org1.join("connection-org1.yaml")).unwrap();
    let from_yaml: serde_json::Value = serde_norway::from_str(&yaml).unwrap();
    assert_eq!(from_yaml, profile);

    // 3. A `peer` CLI of the tools image on the host's network, with exactly the
    // `export` lines `fabx env` prints.
    let (ok, exports, stderr) = fabx(&project, &net, &state, &["env", "Org1MSP"]);
    assert!(ok, "env: {stderr}");
    let lines: Vec<&str> = exports.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(
        !lines.is_empty() && lines.iter().all(|l| l.starts_with("export ")),
        "{exports}"
    );
    let script = format!(
        "{}\npeer chaincode query -C {} -n examplecc -c '{{\"Args\":[\"query\",\"a\"]}}'",
        lines.join("\n"),
        topology.channel
    );
    let (code, output) = run_tools(&engine, &state, &script).await;
    assert_eq!(
        (code, output.as_str()),
        (0, "80"),
        "script:\n{script}\nprinted:\n{output}"
    );

    // 4. down leaves nothing of the network.
    let containers = common::containers_of(&net).await;
    let volumes = common::volumes_of(&engine, &containers).await;
    let (ok, _, stderr) = fabx(&project, &net, &state, &["down"]);
    assert!(ok, "down: {stderr}");
    assert!(common::containers_of(&net).await.is_empty());
    assert!(engine.network_labels(&net).await.unwrap().is_none());
    for v in &volumes {
        assert!(!common::volume_exists(&engine, v).await, "volume {v} left");
    }
    let left: Vec<String> = common::docker_objects(&engine)
        .await
        .into_iter()
        .filter(|o| o.contains(&net))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Removes a container when dropped, also when the test panics.
struct RemoveContainer {
    engine: fabx::DockerEngine,
    name: String,
}

impl Drop for RemoveContainer {
    fn drop(&mut self) {
        let engine = self.engine.clone();
        let name = self.name.clone();
        // Drop cannot be async, and the test's runtime may be shutting down.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let options = bollard::query_parameters::RemoveContainerOptionsBuilder::default()
                    .force(true)
                    .v(true)
                    .build();
                let _ = engine.client().remove_container(&name, Some(options)).await;
            })
        })
        .join();
    }
}

/// Runs `sh -c script` in a container of the tools image on the host's network with
/// `state` mounted read-only at its own path; (exit code, what it printed, trimmed).
async fn run_tools(engine: &fabx::DockerEngine, state: &Path, script: &str) -> (i64, String) {
    use bollard::models::{ContainerCreateBody, HostConfig};
    use bollard::query_parameters::CreateContainerOptionsBuilder;
    let dir = state.display().to_string();
    let name = common::unique("fabx-app-cli");
    let docker = engine.client();
    let _remove = RemoveContainer {
        engine: engine.clone(),
        name: name.clone(),
    };
    docker
        .create_container(
            Some(CreateContainerOptionsBuilder::default().name(&name).build()),
            ContainerCreateBody {
                image: Some(TOOLS_IMAGE.into()),
                cmd: Some(vec!["sh".into(), "-c".into(), script.into()]),
                labels: Some([("fabx.managed".to_string(), "test".to_string())].into()),
                host_config: Some(HostConfig {
                    network_mode: Some("host".into()),
                    binds: Some(vec![format!("{dir}:{dir}:ro")]),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    docker.start_container(&name, None).await.unwrap();
    engine.await_exit(&name).await;
    let info = docker
        .inspect_container(
            &name,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .unwrap();
    let code = info.state.and_then(|s| s.exit_code).unwrap_or(-1);
    let output = engine.logs_tail(&name, 50).await.unwrap();
    (code, output.trim().to_string())
}

/// `text` with each PEM's base64 body cut to its first characters, for the test's output.
fn elide_pems(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let body = start + "-----BEGIN CERTIFICATE-----".len();
        let Some(end) = rest[body..].find("-----END CERTIFICATE-----") else {
            break;
        };
        out.push_str(&rest[..body]);
        out.push_str(&rest[body..body + end].chars().take(16).collect::<String>());
        out.push_str("...");
        rest = &rest[body + end..];
    }
    out.push_str(rest);
    out
}
