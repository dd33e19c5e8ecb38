//! One machine, many projects, through the `fabx` binary: a network belongs to the
//! directory that created it; another directory's `up`/`down` on it is refused naming the
//! owner; a second network runs beside the first with `--network`, its taken host ports
//! replaced by free ones that `status` reports; `down --force` removes a network whose
//! owner directory is gone.

mod common;

use std::path::Path;

const EXAMPLECC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/chaincode/examplecc");

/// Runs fabx in `project` on `network`; (success, stdout, stderr).
fn fabx(project: &Path, network: &str, args: &[&str]) -> (bool, String, String) {
    common::run_fabx(project, &[("FABX_NETWORK", network.as_ref())], args)
}

/// Every published address of the network's nodes, from `status --json`.
fn addresses(project: &Path, network: &str) -> Vec<String> {
    let (ok, stdout, stderr) = fabx(project, network, &["status", "--json"]);
    assert!(ok, "{stderr}");
    let status: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let mut all: Vec<String> = status["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|n| n["addresses"].as_array().unwrap().clone())
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    all.sort();
    all
}

#[tokio::test]
async fn two_projects_side_by_side_and_neither_touches_the_others_network() {
    const TEST: &str = "two_projects_side_by_side_and_neither_touches_the_others_network";
    if let Some(reason) = common::missing_fabric_images(&fabx::Topology::default_topology()).await {
        return common::skipped(TEST, &reason);
    }
    let engine = common::engine().await;
    let a_net = common::unique("fabx-proj-a");
    let b_net = common::unique("fabx-proj-b");
    let c_net = common::unique("fabx-proj-c");
    let _cleanup: Vec<common::Cleanup> = [&a_net, &b_net, &c_net]
        .map(|n| common::Cleanup {
            engine: engine.clone(),
            network: n.clone(),
        })
        .into();
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let (a, b, c) = (a.path(), b.path(), c.path());

    let (ok, _, stderr) = fabx(a, &a_net, &["up"]);
    assert!(ok, "{stderr}");
    let a_addresses = addresses(a, &a_net);
    assert_eq!(a_addresses.len(), 3 * 2 + 2, "{a_addresses:?}");
    assert!(a_addresses.iter().all(|x| x.starts_with("127.0.0.1:")));

    // Project B cannot take down or re-up A's network; A's owner directory is named.
    let owner = a.canonicalize().unwrap().join(".fabx").join(&a_net);
    for command in ["down", "up"] {
        let (ok, _, stderr) = fabx(b, &a_net, &[command]);
        assert!(!ok, "{command} on another project's network must fail");
        assert!(
            stderr.contains(&owner.display().to_string()) && stderr.contains("--network"),
            "{command}: {stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    }
    assert!(
        !b.join(".fabx").exists(),
        "a refused command leaves nothing"
    );

    // B's own network beside A's: A holds the default host ports, B gets free ones.
    let (ok, _, stderr) = fabx(b, &b_net, &["up"]);
    assert!(ok, "{stderr}");
    let b_addresses = addresses(b, &b_net);
    assert_eq!(b_addresses.len(), a_addresses.len());
    assert!(
        b_addresses.iter().all(|x| !a_addresses.contains(x)),
        "{a_addresses:?} {b_addresses:?}"
    );

    for (project, network) in [(a, &a_net), (b, &b_net)] {
        let (ok, _, stderr) = fabx(
            project,
            network,
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
        assert!(ok, "{stderr}");
    }
    let (ok, _, stderr) = fabx(
        a,
        &a_net,
        &["invoke", "examplecc", "invoke", "a", "b", "10"],
    );
    assert!(ok, "{stderr}");
    // `fabx env` gives B's chosen port.
    let (ok, stdout, stderr) = fabx(b, &b_net, &["--json", "env", "Org1MSP"]);
    assert!(ok, "{stderr}");
    let env: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let port = env["CORE_PEER_ADDRESS"]
        .as_str()
        .unwrap()
        .strip_prefix("localhost:")
        .unwrap()
        .to_string();
    assert!(
        b_addresses.contains(&format!("127.0.0.1:{port}")),
        "{env} {b_addresses:?}"
    );
    let (ok, _, stderr) = fabx(b, &b_net, &["down"]);
    assert!(ok, "{stderr}");
    // A host `peer` CLI with exactly what `fabx env` printed queries A's chaincode.
    let (ok, exports, stderr) = fabx(a, &a_net, &["env", "Org1MSP", "--user", "User1"]);
    assert!(ok, "{stderr}");
    assert_eq!(
        host_peer_query(&engine, a, &exports).await,
        "90",
        "with {exports}"
    );
    // A still answers, with its own ledger.
    let (ok, stdout, stderr) = fabx(a, &a_net, &["query", "examplecc", "query", "a"]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), "90");
    let (ok, _, stderr) = fabx(a, &a_net, &["down"]);
    assert!(ok, "{stderr}");

    // A network whose owner directory is gone: refused without --force, removed with it.
    let (ok, _, stderr) = fabx(c, &c_net, &["up"]);
    assert!(ok, "{stderr}");
    std::fs::remove_dir_all(c.join(".fabx")).unwrap();
    let (ok, _, stderr) = fabx(b, &c_net, &["down"]);
    assert!(!ok && stderr.contains("--force"), "{stderr}");
    let (ok, _, stderr) = fabx(b, &c_net, &["down", "--force"]);
    assert!(ok, "{stderr}");
    assert!(engine.network_labels(&c_net).await.unwrap().is_none());
    assert!(common::containers_of(&c_net).await.is_empty());
}

/// Runs `peer chaincode query` in a container of the peer image (it has the `peer` CLI)
/// on the host's network, with the `export` lines `fabx env` printed and the project
/// directory mounted read-only at its own path: as a `peer` CLI on the host would.
async fn host_peer_query(engine: &fabx::DockerEngine, project: &Path, exports: &str) -> String {
    use bollard::models::{ContainerCreateBody, HostConfig};
    use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
    let env: Vec<String> = exports
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .map(String::from)
        .collect();
    let dir = project.canonicalize().unwrap().display().to_string();
    let name = common::unique("fabx-host-cli");
    let docker = engine.client();
    docker
        .create_container(
            Some(CreateContainerOptionsBuilder::default().name(&name).build()),
            ContainerCreateBody {
                image: Some("hyperledger/fabric-peer:2.5".into()),
                cmd: Some(
                    [
                        "peer",
                        "chaincode",
                        "query",
                        "-C",
                        "channel1",
                        "-n",
                        "examplecc",
                        "-c",
                        r#"{"Args":["query","a"]}"#,
                    ]
                    .map(String::from)
                    .to_vec(),
                ),
                env: Some(env),
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
    let output = engine.logs_tail(&name, 50).await.unwrap();
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    docker.remove_container(&name, Some(options)).await.unwrap();
    output.trim().to_string()
}
