//! Against the real Docker engine, with no Fabric image: networks, labels, containers
//! from an image built FROM scratch, exec, file copies, log conditions, and cleanup,
//! including what `up` leaves behind when it fails early.

mod common;

use common::{busybox_image, engine, unique, volume_exists, volumes_of};
use fabx::engine::spec::{UploadFile, WorkloadSpec, LABEL_MANAGED, LABEL_NETWORK};
use fabx::engine::wait::{await_log, LogCondition, WaitError};
use fabx::network::down::teardown;
use fabx::reporter::Silent;
use fabx::{EngineError, Error, Layout, Network};
use std::collections::HashMap;
use std::time::Duration;

const READY: LogCondition = LogCondition {
    name: "ready",
    needle: "service is ready",
};

fn labels(network: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_MANAGED.to_string(), "true".to_string()),
        (LABEL_NETWORK.to_string(), network.to_string()),
    ])
}

fn shell(name: &str, network: &str, image: &str, script: &str) -> WorkloadSpec {
    WorkloadSpec {
        name: name.to_string(),
        image: image.to_string(),
        cmd: Some(vec!["sh".into(), "-c".into(), script.into()]),
        labels: labels(network),
        network: network.to_string(),
        aliases: vec![format!("{name}.example.com")],
        ..Default::default()
    }
}

#[tokio::test]
async fn containers_on_a_labelled_network_exec_copy_and_clean_up() {
    let engine = engine().await;
    let image = busybox_image(&engine).await;
    let net = unique("fabx-t-net");
    engine.create_network(&net, labels(&net)).await.unwrap();
    let _cleanup = common::Cleanup {
        engine: engine.clone(),
        network: net.clone(),
    };
    assert_eq!(
        engine
            .network_labels(&net)
            .await
            .unwrap()
            .unwrap()
            .get(LABEL_NETWORK),
        Some(&net)
    );

    let server = format!("{net}-server");
    let client = format!("{net}-client");
    let serve = "echo booting; sleep 0.2; echo service is ready; nc -ll -p 9999 -e echo pong";
    for spec in [
        shell(&server, &net, image, serve),
        shell(&client, &net, image, "sleep 300"),
    ] {
        engine.create_container(&spec).await.unwrap();
        engine.start_container(&spec.name).await.unwrap();
    }
    await_log(&engine, &server, READY, Duration::from_secs(30))
        .await
        .unwrap();

    // Exec: stdout, stderr and the exit code come back separately.
    let out = engine
        .exec(
            &client,
            &[
                "sh".into(),
                "-c".into(),
                "echo out; echo err >&2; exit 3".into(),
            ],
            &["X=1".into()],
        )
        .await
        .unwrap();
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str(), out.exit_code),
        ("out\n", "err\n", 3)
    );
    assert_eq!(out.last_error_line(), "err");

    // Containers reach each other on the network. (Static busybox cannot resolve names,
    // so this goes by address; names are exercised by the Fabric tests.)
    let info = engine
        .client()
        .inspect_container(
            &server,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .unwrap();
    let ip = info.network_settings.unwrap().networks.unwrap()[&net]
        .ip_address
        .clone()
        .unwrap();
    let script = format!("echo ping | nc -w 5 {ip} 9999");
    let reply = engine
        .exec(&client, &["sh".into(), "-c".into(), script], &[])
        .await
        .unwrap();
    assert_eq!(reply.stdout.trim(), "pong", "{reply:?}");

    // Files go in and come out through the archive API.
    let file = UploadFile {
        name: "greeting.txt".into(),
        contents: b"hello".to_vec(),
        mode: 0o600,
    };
    engine.upload(&client, "/data", &[file]).await.unwrap();
    let mode = engine
        .exec(
            &client,
            &[
                "stat".into(),
                "-c".into(),
                "%a".into(),
                "/data/greeting.txt".into(),
            ],
            &[],
        )
        .await
        .unwrap();
    assert_eq!(mode.stdout.trim(), "600");
    assert_eq!(
        engine
            .download_file(&client, "/data/greeting.txt")
            .await
            .unwrap(),
        b"hello"
    );

    // The image declares a VOLUME, so each container has an anonymous volume.
    let volumes = volumes_of(&engine, &[server.clone(), client.clone()]).await;
    assert_eq!(volumes.len(), 2);

    let outcome = teardown(&engine, &net, None).await.unwrap();
    assert_eq!(outcome.containers, 2);
    assert!(outcome.network_removed);
    assert!(engine
        .containers_labelled(&[format!("{LABEL_NETWORK}={net}")])
        .await
        .unwrap()
        .is_empty());
    assert!(engine.network_labels(&net).await.unwrap().is_none());
    for v in &volumes {
        assert!(!volume_exists(&engine, v).await, "volume {v} leaked");
    }
    // A second teardown finds nothing and is not an error.
    assert!(teardown(&engine, &net, None)
        .await
        .unwrap()
        .removed_nothing());
}

/// One busybox container running `script` on a network of its own; returns the network,
/// the container and the guard that removes both.
async fn lone_shell(
    engine: &fabx::DockerEngine,
    prefix: &str,
    script: &str,
) -> (String, String, common::Cleanup) {
    let image = busybox_image(engine).await;
    let net = unique(prefix);
    engine.create_network(&net, labels(&net)).await.unwrap();
    let cleanup = common::Cleanup {
        engine: engine.clone(),
        network: net.clone(),
    };
    let name = format!("{net}-node");
    engine
        .create_container(&shell(&name, &net, image, script))
        .await
        .unwrap();
    engine.start_container(&name).await.unwrap();
    (net, name, cleanup)
}

#[tokio::test]
async fn waiting_names_a_container_that_stops_and_shows_its_logs() {
    let engine = engine().await;
    let script = "echo loading config; echo 'panic: no genesis block'; exit 2";
    let (net, name, _cleanup) = lone_shell(&engine, "fabx-t-stop", script).await;
    let err = await_log(&engine, &name, READY, Duration::from_secs(30))
        .await
        .unwrap_err();
    teardown(&engine, &net, None).await.unwrap();
    match &err {
        WaitError::Stopped {
            container,
            state,
            tail,
            ..
        } => {
            assert_eq!(container, &name);
            assert_eq!(state, "exited");
            assert!(tail.contains("panic: no genesis block"), "{tail}");
        }
        other => panic!("expected Stopped, got {other:?}"),
    }
    assert!(err
        .to_string()
        .starts_with(&format!("{name} stopped before reaching 'ready'")));
}

#[tokio::test]
async fn waiting_is_bounded_and_shows_the_last_lines() {
    let engine = engine().await;
    let (net, name, _cleanup) =
        lone_shell(&engine, "fabx-t-slow", "echo still starting; sleep 300").await;
    let err = await_log(&engine, &name, READY, Duration::from_secs(1))
        .await
        .unwrap_err();
    teardown(&engine, &net, None).await.unwrap();
    let message = err.to_string();
    assert!(matches!(err, WaitError::Timeout { .. }), "{message}");
    assert!(
        message.starts_with(&format!("{name} did not reach 'ready' within 1s")),
        "{message}"
    );
    assert!(message.contains("still starting"), "{message}");
}

/// A default-shaped topology on its own network, with the given images.
fn topology_with_images(net: &str, image: &str) -> fabx::Topology {
    let mut t = common::isolated_topology();
    t.network = net.to_string();
    t.container_prefix = net.to_string();
    t.images.peer = image.to_string();
    t.images.orderer = image.to_string();
    t
}

async fn assert_nothing_left(engine: &fabx::DockerEngine, net: &str, state: &std::path::Path) {
    assert!(
        engine
            .containers_labelled(&[format!("{LABEL_NETWORK}={net}")])
            .await
            .unwrap()
            .is_empty(),
        "containers left"
    );
    assert!(
        engine.network_labels(net).await.unwrap().is_none(),
        "network left"
    );
    assert!(!state.exists(), "state directory left: {}", state.display());
}

#[tokio::test]
async fn up_with_a_missing_image_fails_in_one_line_and_creates_nothing() {
    let engine = engine().await;
    let net = unique("fabx-t-noimg");
    let _cleanup = common::Cleanup {
        engine: engine.clone(),
        network: net.clone(),
    };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let network = Network::new(
        engine.clone(),
        topology_with_images(&net, "fabx-test/no-such-image:never"),
        Layout::new(&state),
    );
    let err = network.up(&Silent).await.unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(
            &err,
            Error::Engine(EngineError::Docker(e))
                if matches!(**e, fabx::engine::docker::DockerError::ImageUnavailable { .. })
        ),
        "{message}"
    );
    assert!(
        message.contains("fabx-test/no-such-image:never"),
        "{message}"
    );
    assert!(!message.contains('\n'), "one line: {message}");
    assert_nothing_left(&engine, &net, &state).await;
}

#[tokio::test]
async fn bft_on_a_fabric_2_image_fails_in_one_line_and_creates_nothing() {
    let engine = engine().await;
    // An image that says it is Fabric 2.5, as Fabric's own Dockerfiles do (FABRIC_VER).
    let image = "fabx-test/fabric-2-lookalike:1";
    common::build_with_busybox(
        &engine,
        "FROM scratch\nCOPY busybox /bin/busybox\nENV FABRIC_VER=2.5.12\nCMD [\"/bin/busybox\", \"sh\"]\n",
        image,
    )
    .await;
    let net = unique("fabx-t-bft2");
    let _cleanup = common::Cleanup {
        engine: engine.clone(),
        network: net.clone(),
    };
    let mut topology = topology_with_images(&net, image);
    topology.orderer.consensus = fabx::topology::Consensus::Bft;
    topology
        .orderer_org
        .orderers
        .push(fabx::topology::OrdererNode {
            name: "orderer4".into(),
            host_port: None,
            admin_host_port: None,
        });
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let network = Network::new(engine.clone(), topology, Layout::new(&state));
    let err = network.up(&Silent).await.unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::BftNeedsFabric3 { .. }), "{message}");
    assert!(
        message.contains("needs Fabric 3 images") && message.contains("Fabric 2.5.12"),
        "{message}"
    );
    assert!(!message.contains('\n'), "one line: {message}");
    assert_nothing_left(&engine, &net, &state).await;
}

#[tokio::test]
async fn up_with_a_taken_host_port_fails_in_one_line_and_creates_nothing() {
    let engine = engine().await;
    let image = busybox_image(&engine).await;
    let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let net = unique("fabx-t-port");
    let _cleanup = common::Cleanup {
        engine: engine.clone(),
        network: net.clone(),
    };
    let mut topology = topology_with_images(&net, image);
    topology.orgs[1].peers[0].host_port = Some(port);
    // As from a --config file: the user chose this port (the built-in topology's taken
    // ports are replaced by free ones instead).
    topology.host_ports_pinned = true;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let err = Network::new(engine.clone(), topology, Layout::new(&state))
        .up(&Silent)
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::PortTaken { .. }), "{message}");
    assert!(
        message.contains(&format!(
            "host port {port} for peer0.org2.example.com is already in use"
        )),
        "{message}"
    );
    assert!(!message.contains('\n'));
    assert_nothing_left(&engine, &net, &state).await;
}

#[tokio::test]
async fn up_that_fails_after_creating_objects_removes_them_again() {
    let engine = engine().await;
    let image = busybox_image(&engine).await;
    let net = unique("fabx-t-rollback");
    let _cleanup = common::Cleanup {
        engine: engine.clone(),
        network: net.clone(),
    };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    // Busybox is no peer: reading core.yaml out of it fails after the network, the
    // state directory and a helper container were created.
    let network = Network::new(
        engine.clone(),
        topology_with_images(&net, image),
        Layout::new(&state),
    );
    let err = network.up(&Silent).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("/etc/hyperledger/fabric/core.yaml"),
        "{err}"
    );
    assert_nothing_left(&engine, &net, &state).await;
}

#[tokio::test]
async fn up_refuses_a_network_it_did_not_create() {
    let engine = engine().await;
    let net = unique("fabx-t-foreign");
    engine.create_network(&net, HashMap::new()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let network = Network::new(
        engine.clone(),
        topology_with_images(&net, "x:1"),
        Layout::new(dir.path().join("s")),
    );
    let err = network.up(&Silent).await.unwrap_err();
    // Down leaves a foreign network alone too.
    let outcome = network.down(&Silent).await.unwrap();
    let still_there = engine.network_labels(&net).await.unwrap().is_some();
    engine.remove_network(&net).await.unwrap();
    assert!(
        matches!(err, Error::Engine(EngineError::ForeignNetwork { .. })),
        "{err}"
    );
    assert!(err
        .to_string()
        .contains(&format!("docker network rm {net}")));
    assert!(!outcome.network_removed && still_there);
}
