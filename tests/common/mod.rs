//! Shared by the integration tests: the real Docker engine, a small image built FROM
//! scratch (a static busybox, so it needs no registry), and Fabric image detection.
#![allow(dead_code)]

use fabx::engine::spec::LABEL_MANAGED;
use fabx::support::tar::{tar_of, TarFile};
use fabx::DockerEngine;
use fabx::Topology;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

/// The test image: static busybox, a declared VOLUME (like the Fabric images), and a shell.
pub const BUSYBOX_IMAGE: &str = "fabx-test/busybox:1";

pub async fn engine() -> DockerEngine {
    DockerEngine::connect()
        .await
        .expect("these tests need a running Docker engine (see README: Tests)")
}

/// Builds [`BUSYBOX_IMAGE`] FROM scratch through the Docker API (cached by Docker).
pub async fn busybox_image(engine: &DockerEngine) -> &'static str {
    let dockerfile = "FROM scratch\n\
        COPY busybox /bin/busybox\n\
        RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n\
        VOLUME /data\n\
        CMD [\"sh\"]\n";
    build_with_busybox(engine, dockerfile, BUSYBOX_IMAGE).await;
    BUSYBOX_IMAGE
}

/// Builds `tag` from `dockerfile` with a static busybox (as `busybox`) in the context.
pub async fn build_with_busybox(engine: &DockerEngine, dockerfile: &str, tag: &str) {
    let busybox = std::fs::read("/bin/busybox")
        .or_else(|_| std::fs::read("/usr/bin/busybox"))
        .expect(
            "these tests need a static busybox at /bin/busybox (apt-get install busybox-static)",
        );
    let context = tar_of(&[
        TarFile::new("Dockerfile", dockerfile, 0o644),
        TarFile::new("busybox", busybox, 0o755),
    ]);
    let labels = HashMap::from([(LABEL_MANAGED.to_string(), "test".to_string())]);
    engine
        .build_image(context, tag, labels, &mut |_| {})
        .await
        .unwrap_or_else(|e| panic!("building {tag}: {e}"));
}

/// A name no other test (or earlier run) uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{}-{n}-{nanos:x}", std::process::id())
}

/// None if every Fabric image of the topology is present, else why the test is skipped.
pub async fn missing_fabric_images(topology: &Topology) -> Option<String> {
    fabx::harness::missing_images(topology)
        .await
        .unwrap()
        .map(|reason| format!("{reason} (build or load it to run this test)"))
}

/// The default topology made private: its own Docker network and container names,
/// no host ports, so it runs beside anything else.
pub fn isolated_topology() -> Topology {
    fabx::harness::isolate(Topology::default_topology())
}

/// Held by the tests of one binary that compare Docker-wide object lists: another test of
/// the same binary creating containers meanwhile would show up as a difference.
pub async fn docker_exclusive() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

/// Names of every container, volume and network on the engine.
pub async fn docker_objects(engine: &DockerEngine) -> Vec<String> {
    let docker = engine.client();
    let mut all = Vec::new();
    let containers = docker
        .list_containers(Some(
            bollard::query_parameters::ListContainersOptionsBuilder::default()
                .all(true)
                .build(),
        ))
        .await
        .unwrap();
    all.extend(
        containers
            .into_iter()
            .filter_map(|c| c.id.map(|id| format!("container {id}"))),
    );
    let volumes = docker
        .list_volumes(None::<bollard::query_parameters::ListVolumesOptions>)
        .await
        .unwrap();
    all.extend(
        volumes
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| format!("volume {}", v.name)),
    );
    let networks = docker
        .list_networks(None::<bollard::query_parameters::ListNetworksOptions>)
        .await
        .unwrap();
    all.extend(
        networks
            .into_iter()
            .filter_map(|n| n.name.map(|n| format!("network {n}"))),
    );
    all.sort();
    all
}

/// Anonymous volumes mounted by the given containers.
pub async fn volumes_of(engine: &DockerEngine, containers: &[String]) -> Vec<String> {
    let mut volumes = Vec::new();
    for c in containers {
        let info = engine
            .client()
            .inspect_container(
                c,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .unwrap();
        for m in info.mounts.unwrap_or_default() {
            if let Some(name) = m.name {
                volumes.push(name);
            }
        }
    }
    volumes
}

pub async fn volume_exists(engine: &DockerEngine, name: &str) -> bool {
    engine.client().inspect_volume(name).await.is_ok()
}

/// Tears a network down when dropped, also when the test panics.
pub struct Cleanup {
    pub engine: DockerEngine,
    pub network: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let engine = self.engine.clone();
        let network = self.network.clone();
        // Drop cannot be async, and the test's runtime may be shutting down.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            // The outcome is dropped: a test that already failed has said why.
            let _ = runtime.block_on(fabx::network::down::teardown(&engine, &network, None));
        })
        .join();
    }
}

/// Says, visibly even under libtest's output capture, that a test did not run for lack
/// of Fabric (images, tools) and why; with `FABX_REQUIRE_FABRIC=1` the test fails instead.
pub fn skipped(test: &str, reason: &str) {
    skip_unless_required(fabx::harness::REQUIRE_FABRIC_ENV, test, reason)
}

/// Like [`skipped`], for a test that needs a Kubernetes cluster: with
/// `FABX_REQUIRE_KUBERNETES=1` the test fails instead.
pub fn skipped_without_cluster(test: &str, reason: &str) {
    skip_unless_required(REQUIRE_KUBERNETES_ENV, test, reason)
}

/// Set to `1` where a Kubernetes cluster must be tested: its skips become failures.
pub const REQUIRE_KUBERNETES_ENV: &str = "FABX_REQUIRE_KUBERNETES";

fn skip_unless_required(variable: &str, test: &str, reason: &str) {
    use std::io::Write;
    if fabx::harness::switch_on(variable) {
        panic!("{test} cannot run: {reason}, and {variable}=1 makes that a failure instead of a skip (unset {variable} to skip)");
    }
    let _ = writeln!(std::io::stderr(), "SKIPPED: {test}: {reason}");
}

/// Says something visibly (libtest captures println!; a direct write is not captured).
pub fn report(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn docker() -> bollard::Docker {
    bollard::Docker::connect_with_defaults().expect("a Docker engine")
}

/// Names of every container labelled with the fabx network, sorted.
pub async fn containers_of(network: &str) -> Vec<String> {
    let filters = HashMap::from([("label".to_string(), vec![format!("fabx.network={network}")])]);
    let options = bollard::query_parameters::ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    let mut names: Vec<String> = docker()
        .list_containers(Some(options))
        .await
        .unwrap()
        .into_iter()
        .filter_map(|c| {
            c.names?
                .first()
                .map(|n| n.trim_start_matches('/').to_string())
        })
        .collect();
    names.sort();
    names
}

/// `docker stop`: what a Docker restart or a reboot does to a container.
pub async fn stop(container: &str) {
    let options = bollard::query_parameters::StopContainerOptionsBuilder::default()
        .t(5)
        .build();
    docker()
        .stop_container(container, Some(options))
        .await
        .unwrap_or_else(|e| panic!("stopping {container}: {e}"));
}

/// `docker kill`: a process that dies.
pub async fn kill(container: &str) {
    docker()
        .kill_container(
            container,
            None::<bollard::query_parameters::KillContainerOptions>,
        )
        .await
        .unwrap_or_else(|e| panic!("killing {container}: {e}"));
}

/// `docker start`: what Docker's restart policy, or a user, does to a stopped container.
pub async fn start(container: &str) {
    docker()
        .start_container(
            container,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .unwrap_or_else(|e| panic!("starting {container}: {e}"));
}

/// `docker rm -f -v`: an object removed behind fabx's back.
pub async fn remove(container: &str) {
    let options = bollard::query_parameters::RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    docker()
        .remove_container(container, Some(options))
        .await
        .unwrap_or_else(|e| panic!("removing {container}: {e}"));
}

/// Runs the fabx binary in `dir` with `env` set and the caller's other FABX_* settings
/// removed; (success, stdout, stderr).
pub fn run_fabx(
    dir: &std::path::Path,
    env: &[(&str, &std::ffi::OsStr)],
    args: &[&str],
) -> (bool, String, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_fabx"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("FABX_CONFIG")
        .env_remove("FABX_STATE_DIR")
        .env_remove("FABX_NETWORK");
    for (key, value) in env {
        command.env(key, value);
    }
    let out = command.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The README's main job on a test network: examplecc deployed with Init a=100 b=200,
/// 20 moved from a to b by an invoke, then a is 80 on Org1 and b is 220 on Org2.
pub async fn examplecc_main_job(net: &fabx::harness::TestNetwork) {
    const EXAMPLECC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/chaincode/examplecc");
    net.deploy_dir("examplecc", EXAMPLECC, &["Init", "a", "100", "b", "200"])
        .await
        .unwrap();
    net.invoke("examplecc", "invoke", &["a", "b", "20"])
        .await
        .unwrap();
    assert_eq!(net.query("examplecc", "query", &["a"]).await.unwrap(), "80");
    assert_eq!(
        net.query_as("Org2MSP", "examplecc", "query", &["b"])
            .await
            .unwrap(),
        "220"
    );
}

/// A network on Fabric 3.1 images with four BFT orderers.
pub fn fabric_3_1_bft() -> fabx::harness::TopologyBuilder {
    fabx::harness::TestNetwork::builder()
        .images(
            "hyperledger/fabric-peer:3.1",
            "hyperledger/fabric-orderer:3.1",
        )
        .orderers(4)
        .consensus(fabx::topology::Consensus::Bft)
}

/// A Fabric Gateway client (the `fabric-gateway` crate, as an application on the host)
/// through the first peer of org `msp_id`, signing as the identity of `cert_pem` and
/// `key_pem`.
pub async fn gateway_as(
    net: &fabx::harness::TestNetwork,
    msp_id: &str,
    cert_pem: &str,
    key_pem: &str,
) -> fabric_gateway::Gateway {
    use tonic_gateway::transport::{Certificate, Channel, ClientTlsConfig};
    let topology = net.topology();
    let org = topology.org(msp_id).unwrap();
    let peer = topology
        .peers()
        .into_iter()
        .find(|p| p.msp_id == msp_id)
        .unwrap();
    let env = net
        .network()
        .client_env(msp_id, Some(&peer.host), "User1")
        .await
        .unwrap();
    let address = &env
        .iter()
        .find(|(key, _)| key == "CORE_PEER_ADDRESS")
        .unwrap()
        .1;
    let layout = &net.network().layout;
    let tlsca = std::fs::read(layout.tlsca_bundle().join(format!("{}.pem", org.domain))).unwrap();
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(tlsca))
        .domain_name(peer.host.clone());
    let channel = Channel::from_shared(format!("https://{address}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let identity = fabric_gateway::Identity::new(msp_id, cert_pem.as_bytes().to_vec());
    let signer =
        std::sync::Arc::new(fabric_gateway::identity::EcdsaP256Signer::from_pem(key_pem).unwrap());
    fabric_gateway::Gateway::connect(identity, signer, channel).unwrap()
}

/// Runs `up` of `topology`, which must fail with an error holding every one of `expected`,
/// and leave no container, no Docker network and an emptied state directory.
pub async fn assert_up_fails_and_leaves_nothing(
    engine: &DockerEngine,
    topology: Topology,
    expected: &[&str],
) {
    let name = topology.network.clone();
    let _cleanup = Cleanup {
        engine: engine.clone(),
        network: name.clone(),
    };
    let state = tempfile::tempdir().unwrap();
    let layout = fabx::Layout::new(state.path().join("state"));
    let network = fabx::Network::new(engine.clone(), topology, layout);
    let error = network
        .up(&fabx::reporter::Silent)
        .await
        .unwrap_err()
        .to_string();
    for text in expected {
        assert!(error.contains(text), "{text:?} missing from: {error}");
    }
    assert!(containers_of(&name).await.is_empty());
    assert!(engine.network_labels(&name).await.unwrap().is_none());
    let left: Vec<_> = std::fs::read_dir(state.path().join("state"))
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.iter().all(|f| f == ".lock"),
        "state directory not emptied: {left:?}"
    );
}
