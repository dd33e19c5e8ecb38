//! Builds the examplecc image offline with `build_chaincode_image`, runs it on a
//! Docker network, and drives it from another container holding a static peer
//! double (chaincode/shim/examples/peer_double.rs), as a Fabric peer would.
//! Needs a Docker engine; it fails (never skips) without one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, NetworkCreateRequest, NetworkingConfig,
};
use bollard::query_parameters::{CreateContainerOptions, LogsOptions, RemoveContainerOptions};
use bollard::Docker;
use fabx::network::deploy::image::{
    build_chaincode_image, build_from_context, scratch_dockerfile, BuildProfile,
};
use futures_util::{FutureExt, StreamExt};

const PACKAGE_ID: &str =
    "examplecc_1.0:6f6a3c1c3b4b5f0d9e2a7c8b1d0e3f4a5b6c7d8e9f00112233445566778899aa";

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn test_labels() -> HashMap<String, String> {
    HashMap::from([("fabx.test".to_string(), "true".to_string())])
}

/// Everything the test created, removed at the end even if the test failed.
struct Created {
    containers: Vec<String>,
    network: Option<String>,
}

async fn cleanup(docker: &Docker, created: &Created) {
    for name in &created.containers {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        if let Err(e) = docker.remove_container(name, Some(options)).await {
            eprintln!("cleanup: cannot remove container {name}: {e}");
        }
    }
    if let Some(network) = &created.network {
        if let Err(e) = docker.remove_network(network).await {
            eprintln!("cleanup: cannot remove network {network}: {e}");
        }
    }
}

#[tokio::test]
async fn examplecc_runs_in_docker_and_serves_a_peer() {
    let docker = Docker::connect_with_local_defaults().expect("Docker client");
    docker
        .ping()
        .await
        .expect("this test needs a running Docker engine (it does not skip)");
    let mut created = Created {
        containers: Vec::new(),
        network: None,
    };
    let outcome = std::panic::AssertUnwindSafe(scenario(&docker, &mut created))
        .catch_unwind()
        .await;
    cleanup(&docker, &created).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn scenario(docker: &Docker, created: &mut Created) {
    let run = format!("fabx-test-{}", std::process::id());
    let mut log = |line: &str| eprintln!("  | {line}");

    let cc_dir = workspace().join("chaincode/examplecc");
    let cc_image = "fabx-test/examplecc:latest";
    let engine = fabx::DockerEngine::connect().await.expect("Docker engine");
    let id = build_chaincode_image(&engine, &cc_dir, cc_image, BuildProfile::Release, &mut log)
        .await
        .unwrap_or_else(|e| panic!("building the examplecc image failed: {e}"));
    assert!(id.starts_with("sha256:"), "image id {id}");
    let inspect = docker.inspect_image(cc_image).await.unwrap();
    let labels = inspect.config.and_then(|c| c.labels).unwrap_or_default();
    assert_eq!(labels.get("fabx.managed").map(String::as_str), Some("true"));

    let peer_image = "fabx-test/peer-double:latest";
    let binary = build_peer_double();
    let context = fabx::support::tar::tar_of(&[
        fabx::support::tar::TarFile::new("Dockerfile", scratch_dockerfile("peer_double"), 0o644),
        fabx::support::tar::TarFile::new("peer_double", std::fs::read(&binary).unwrap(), 0o755),
    ]);
    build_from_context(&engine, peer_image, context, &mut log)
        .await
        .unwrap_or_else(|e| panic!("building the peer double image failed: {e}"));

    let network = docker
        .create_network(NetworkCreateRequest {
            name: run.clone(),
            labels: Some(test_labels()),
            ..Default::default()
        })
        .await
        .expect("create network");
    created.network = Some(network.id);

    let examplecc = format!("{run}-examplecc");
    let env = [
        format!("CHAINCODE_ID={PACKAGE_ID}"),
        "CHAINCODE_SERVER_ADDRESS=0.0.0.0:9999".into(),
        "CORE_PEER_LOCALMSPID=Org1MSP".into(),
    ];
    let spec = Spec {
        name: &examplecc,
        alias: "examplecc",
        image: cc_image,
        env: &env,
        cmd: &[],
    };
    start(docker, created, &run, spec).await;

    // Happy path: Init a 100 b 200, move 20 from a to b, query a -> 80.
    let steps = "init a 100 b 200 -- invoke a b 20 -- query a -- query b";
    let (code, output) = run_peer_double(docker, created, &run, peer_image, "peer1", steps).await;
    assert_eq!(code, 0, "peer double failed:\n{output}");
    assert!(
        output.contains(&format!("registered: {PACKAGE_ID}")),
        "{output}"
    );
    assert!(
        output.contains("query a: status=200 message=\"\" payload=80"),
        "{output}"
    );
    assert!(
        output.contains("query b: status=200 message=\"\" payload=220"),
        "{output}"
    );

    // Errors travel back like the Go original's (a fresh peer double has an empty ledger).
    let steps = "invoke a b 20 -- query a -- transfer a b 1";
    let (code, output) = run_peer_double(docker, created, &run, peer_image, "peer2", steps).await;
    assert_eq!(code, 1, "errors must fail the peer double:\n{output}");
    assert!(
        output.contains(r#"invoke a b 20: status=500 message="Entity not found""#),
        "{output}"
    );
    assert!(output.contains(r#"Nil amount for a"#), "{output}");
    assert!(
        output.contains(r#"Expecting \"invoke\" \"delete\" \"query\""#),
        "{output}"
    );

    let cc_logs = logs(docker, &examplecc).await;
    assert!(
        cc_logs.contains("Aval = 80, Bval = 220"),
        "examplecc logs:\n{cc_logs}"
    );
}

/// A container to start on the test network.
struct Spec<'a> {
    name: &'a str,
    alias: &'a str,
    image: &'a str,
    env: &'a [String],
    cmd: &'a [String],
}

/// Creates (labelled, on `network` under `spec.alias`) and starts a container.
async fn start(docker: &Docker, created: &mut Created, network: &str, spec: Spec<'_>) {
    let Spec {
        name,
        alias,
        image,
        env,
        cmd,
    } = spec;
    let endpoint = EndpointSettings {
        aliases: Some(vec![alias.to_string()]),
        ..Default::default()
    };
    let body = ContainerCreateBody {
        image: Some(image.into()),
        env: Some(env.to_vec()),
        cmd: (!cmd.is_empty()).then(|| cmd.to_vec()),
        labels: Some(test_labels()),
        host_config: Some(HostConfig {
            network_mode: Some(network.into()),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(network.to_string(), endpoint)])),
        }),
        ..Default::default()
    };
    let options = CreateContainerOptions {
        name: Some(name.into()),
        ..Default::default()
    };
    docker
        .create_container(Some(options), body)
        .await
        .unwrap_or_else(|e| panic!("create container {name}: {e}"));
    created.containers.push(name.into());
    docker
        .start_container(name, None)
        .await
        .unwrap_or_else(|e| panic!("start container {name}: {e}"));
}

/// Runs the peer double against examplecc:9999; returns its exit code and output.
async fn run_peer_double(
    docker: &Docker,
    created: &mut Created,
    network: &str,
    image: &str,
    suffix: &str,
    steps: &str,
) -> (i64, String) {
    let name = format!("{network}-{suffix}");
    let mut cmd = vec!["http://examplecc:9999".to_string()];
    cmd.extend(steps.split(' ').map(String::from));
    let spec = Spec {
        name: &name,
        alias: suffix,
        image,
        env: &[],
        cmd: &cmd,
    };
    start(docker, created, network, spec).await;
    let exited = tokio::time::timeout(Duration::from_secs(90), async {
        // bollard reports a non-zero exit as an error item; the code comes from inspect.
        let mut wait = docker.wait_container(&name, None);
        while wait.next().await.is_some() {}
    })
    .await;
    let output = logs(docker, &name).await;
    assert!(
        exited.is_ok(),
        "peer double did not finish in 90 s:\n{output}"
    );
    let state = docker.inspect_container(&name, None).await.unwrap().state;
    let code = state.and_then(|s| s.exit_code).expect("exit code");
    (code, output)
}

async fn logs(docker: &Docker, name: &str) -> String {
    let options = LogsOptions {
        stdout: true,
        stderr: true,
        ..Default::default()
    };
    let mut stream = docker.logs(name, Some(options));
    let mut text = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        text.push_str(&chunk.to_string());
    }
    text
}

/// Builds chaincode/shim/examples/peer_double.rs as a static binary.
fn build_peer_double() -> PathBuf {
    let rustc = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("run rustc");
    let host = String::from_utf8_lossy(&rustc.stdout);
    let triple = host
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("host triple");
    // The same static cargo as chaincode builds, so the two share compiled dependencies.
    let status = fabx::network::deploy::image::static_cargo()
        .current_dir(workspace())
        .args(["build", "--release", "--target", triple, "-p", "fabx-shim"])
        .args(["--example", "peer_double"])
        .status()
        .expect("run cargo");
    assert!(status.success(), "cargo build of peer_double failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    target.join(triple).join("release/examples/peer_double")
}

#[tokio::test]
async fn build_chaincode_image_reports_each_failure() {
    use fabx::network::deploy::image::ChaincodeImageError as E;
    let docker = Docker::connect_with_local_defaults().expect("Docker client");
    docker
        .ping()
        .await
        .expect("this test needs a running Docker engine");
    let engine = fabx::DockerEngine::connect().await.expect("Docker engine");
    let mut log = |line: &str| eprintln!("  | {line}");
    let dir = tempfile::tempdir().unwrap();
    let tag = "fabx-test/context-only:latest";

    // No Dockerfile, no Cargo.toml.
    let err =
        build_chaincode_image(&engine, dir.path(), tag, BuildProfile::Release, &mut log).await;
    assert!(matches!(err, Err(E::NoDockerfile { .. })), "{err:?}");

    // A Dockerfile whose build fails: the error carries the engine's message and log tail.
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM scratch\nCOPY missing.txt /\n",
    )
    .unwrap();
    let err =
        build_chaincode_image(&engine, dir.path(), tag, BuildProfile::Release, &mut log).await;
    match err {
        Err(E::Docker(fabx::engine::docker::DockerError::Build { reason, tail, .. })) => {
            assert!(reason.contains("missing.txt"), "{reason}");
            assert!(tail.contains("COPY missing.txt"), "{tail}");
        }
        other => panic!("expected a build error, got {other:?}"),
    }

    // A plain directory is sent as the context of its own Dockerfile.
    std::fs::write(dir.path().join("missing.txt"), "now here").unwrap();
    let id = build_chaincode_image(&engine, dir.path(), tag, BuildProfile::Release, &mut log)
        .await
        .unwrap();
    let image = docker.inspect_image(&id).await.unwrap();
    let labels = image.config.and_then(|c| c.labels).unwrap_or_default();
    assert_eq!(labels.get("fabx.managed").map(String::as_str), Some("true"));
    let no_options: Option<bollard::query_parameters::RemoveImageOptions> = None;
    docker.remove_image(tag, no_options, None).await.unwrap();

    // A Rust chaincode that does not compile: cargo's error comes back.
    let krate = tempfile::tempdir().unwrap();
    std::fs::create_dir(krate.path().join("src")).unwrap();
    let manifest =
        "[package]\nname = \"brokencc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n";
    std::fs::write(krate.path().join("Cargo.toml"), manifest).unwrap();
    std::fs::write(
        krate.path().join("src/main.rs"),
        "fn main() { let x: u8 = \"no\"; }\n",
    )
    .unwrap();
    let err =
        build_chaincode_image(&engine, krate.path(), tag, BuildProfile::Release, &mut log).await;
    match err {
        Err(E::CargoFailed { output_tail, .. }) => {
            assert!(output_tail.contains("mismatched types"), "{output_tail}")
        }
        other => panic!("expected CargoFailed, got {other:?}"),
    }
}
