//! The Kubernetes engine on a real cluster: the README's main job through the `fabx`
//! binary, the harness, CouchDB beside each peer (its image on the nodes too), and bad input (no cluster, a user without permission, a namespace
//! that is not fabx's, an image the nodes do not have). Needs a kubeconfig in
//! `FABX_KUBECONFIG` (or `KUBECONFIG`) whose cluster's nodes have the Fabric 2.5 images;
//! without one each test prints `SKIPPED: <reason>`. A cluster that cannot pull the
//! chaincode image fabx builds needs `FABX_IMAGE_LOAD` (e.g. `kind load docker-image
//! {image}`). The unreachable-cluster case needs no cluster and always runs.

mod common;

use fabx::engine::kubernetes::KubeEngine;
use fabx::engine::{EngineChoice, EngineKind};
use fabx::harness::{kubeconfig_from_env, TestNetwork};
use fabx::Topology;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolume, Pod, ServiceAccount};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One network at a time on the cluster: the CLI test compares the whole cluster before
/// and after.
static CLUSTER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const EXAMPLECC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/chaincode/examplecc");

/// Runs fabx from the repository root with the Kubernetes engine and `kubeconfig`.
fn fabx(state: &Path, kubeconfig: &Path, args: &[&str]) -> (bool, String, String) {
    let project = Path::new(env!("CARGO_MANIFEST_DIR"));
    common::run_fabx(
        project,
        &[
            ("FABX_STATE_DIR", state.as_os_str()),
            ("FABX_ENGINE", "kubernetes".as_ref()),
            ("FABX_KUBECONFIG", kubeconfig.as_os_str()),
        ],
        args,
    )
}

/// Runs `fabx down` for the CLI test's network when dropped before the test's own `down`
/// (a failed assertion midway), so a failing run leaves no namespace behind.
struct DownOnDrop {
    state: PathBuf,
    kubeconfig: PathBuf,
    network: String,
    armed: bool,
}

impl Drop for DownOnDrop {
    fn drop(&mut self) {
        if self.armed {
            let args = ["down", "--network", self.network.as_str()];
            let (ok, _, stderr) = fabx(&self.state, &self.kubeconfig, &args);
            if !ok {
                eprintln!(
                    "cleanup: fabx down --network {} failed: {stderr}",
                    self.network
                );
            }
        }
    }
}

async fn client(kubeconfig: &Path) -> kube::Client {
    let config = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(config, &Default::default())
        .await
        .unwrap();
    kube::Client::try_from(config).unwrap()
}

/// The cluster to test on, or why there is none (printed as SKIPPED by the caller).
async fn cluster() -> Result<(PathBuf, kube::Client), String> {
    let Some(path) = kubeconfig_from_env() else {
        return Err(
            "no Kubernetes cluster: set FABX_KUBECONFIG (or KUBECONFIG) to a kubeconfig".into(),
        );
    };
    let client = client(&path).await;
    let engine = KubeEngine::connect(Some(&path), None, "default")
        .await
        .map_err(|e| format!("the cluster of {} does not answer: {e}", path.display()))?;
    let topology = Topology::default_topology();
    for image in [&topology.images.peer, &topology.images.orderer] {
        if !engine
            .image_on_nodes(image)
            .await
            .map_err(|e| e.to_string())?
        {
            return Err(format!(
                "Fabric image {image} is not on the cluster's nodes"
            ));
        }
    }
    Ok((path, client))
}

/// What `down` must leave as it was: namespaces, persistent volumes, pods (by name).
async fn cluster_objects(client: &kube::Client) -> Vec<String> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    let pods: Api<Pod> = Api::all(client.clone());
    let lp = ListParams::default();
    let mut names: Vec<String> = namespaces
        .list(&lp)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|n| format!("namespace/{}", n.metadata.name.unwrap_or_default()))
        .collect();
    names.extend(
        volumes
            .list(&lp)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|v| format!("pv/{}", v.metadata.name.unwrap_or_default())),
    );
    names.extend(pods.list(&lp).await.unwrap().items.into_iter().map(|p| {
        format!(
            "pod/{}/{}",
            p.metadata.namespace.unwrap_or_default(),
            p.metadata.name.unwrap_or_default()
        )
    }));
    // The local-path provisioner's own short-lived helpers come and go.
    names.retain(|n| !n.starts_with("pod/local-path-storage/helper-pod-"));
    names.sort();
    names
}

#[tokio::test]
async fn main_job_on_kubernetes_through_the_cli() {
    const TEST: &str = "main_job_on_kubernetes_through_the_cli";
    let _one_at_a_time = CLUSTER.lock().await;
    let (kubeconfig, client) = match cluster().await {
        Ok(c) => c,
        Err(reason) => return common::skipped_without_cluster(TEST, &reason),
    };
    let before = cluster_objects(&client).await;
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let network = format!("fabx-k8s-cli-{}", std::process::id());
    let net = ["--network", network.as_str()];
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(net);
        let started = Instant::now();
        let result = fabx(&state, &kubeconfig, &all);
        (result, started.elapsed())
    };

    let mut cleanup = DownOnDrop {
        state: state.clone(),
        kubeconfig: kubeconfig.clone(),
        network: network.clone(),
        armed: true,
    };
    let ((ok, _, stderr), up) = run(&["up"]);
    assert!(ok, "fabx up failed: {stderr}");
    let ((ok, _, stderr), deploy) = run(&[
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
    ]);
    assert!(ok, "fabx deploy failed: {stderr}");
    let ((ok, _, stderr), invoke) = run(&["invoke", "examplecc", "invoke", "a", "b", "20"]);
    assert!(ok, "fabx invoke failed: {stderr}");
    let ((ok, a, stderr), query) = run(&["query", "examplecc", "query", "a"]);
    assert!(ok, "fabx query failed: {stderr}");
    assert_eq!(a.trim(), "80");
    let ((ok, b, stderr), _) = run(&["query", "examplecc", "query", "b", "--org", "Org2MSP"]);
    assert!(ok, "fabx query --org failed: {stderr}");
    assert_eq!(b.trim(), "220");

    // The ledger over the peer's Deliver service and qscc, as on Docker.
    let ((ok, json, stderr), _) = run(&["--json", "invoke", "examplecc", "invoke", "b", "a", "1"]);
    assert!(ok, "fabx invoke --json failed: {stderr}");
    let invoked: serde_json::Value = serde_json::from_str(&json).unwrap();
    let tx_id = invoked["tx_id"].as_str().unwrap().to_string();
    let ((ok, listing, stderr), _) = run(&["blocks"]);
    assert!(ok, "fabx blocks failed: {stderr}");
    let line = listing
        .lines()
        .find(|l| l.ends_with(&tx_id))
        .unwrap_or_else(|| panic!("{tx_id} not in {listing}"));
    assert!(
        line.contains("examplecc") && line.contains("VALID"),
        "{line}"
    );
    let ((ok, text, stderr), _) = run(&["tx", &tx_id]);
    assert!(ok, "fabx tx failed: {stderr}");
    assert!(text.contains("write   a = \"81\""), "{text}");

    // status: every node running and joined, the chaincode committed and served.
    let ((ok, json, stderr), _) = run(&["status", "--json"]);
    assert!(ok, "fabx status failed: {stderr}");
    let status: serde_json::Value = serde_json::from_str(&json).unwrap();
    let nodes = status["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 5, "{status}");
    for node in nodes {
        assert_eq!(node["state"], "running", "{node}");
        assert_eq!(node["channels"][0]["name"], "channel1", "{node}");
        assert!(
            node["channels"][0]["height"].as_u64().unwrap() >= 6,
            "{node}"
        );
    }
    let storage = status["storage"].as_str().unwrap_or_default();
    assert!(
        storage.contains("PersistentVolumeClaims") || storage.contains("emptyDir"),
        "{status}"
    );
    let committed = &status["channels"][0]["chaincodes"][0];
    assert_eq!(committed["name"], "examplecc", "{status}");
    let ((ok, logs, stderr), _) = run(&["logs", "examplecc"]);
    assert!(ok, "fabx logs failed: {stderr}");
    assert!(
        logs.contains("[Org1MSP]") && logs.contains("[Org2MSP]"),
        "{logs}"
    );

    let ((ok, _, stderr), down) = run(&["down"]);
    cleanup.armed = false;
    assert!(ok, "fabx down failed: {stderr}");
    assert!(!state.exists(), "down leaves the state directory");
    assert_eq!(
        cluster_objects(&client).await,
        before,
        "down left the cluster changed"
    );
    common::report(&format!(
        "{TEST}: up {:.2}s, deploy examplecc with init {:.2}s, invoke {:.2}s, query {:.2}s, down {:.2}s (each a fabx process)",
        up.as_secs_f64(),
        deploy.as_secs_f64(),
        invoke.as_secs_f64(),
        query.as_secs_f64(),
        down.as_secs_f64()
    ));
}

#[tokio::test]
async fn harness_runs_a_test_network_on_kubernetes() {
    const TEST: &str = "harness_runs_a_test_network_on_kubernetes";
    let _one_at_a_time = CLUSTER.lock().await;
    let (kubeconfig, client) = match cluster().await {
        Ok(c) => c,
        Err(reason) => return common::skipped_without_cluster(TEST, &reason),
    };
    let choice = EngineChoice {
        kind: EngineKind::Kubernetes,
        kubeconfig: Some(kubeconfig),
        ..Default::default()
    };
    let net = TestNetwork::start_on(
        &choice,
        Topology::default_topology(),
        &fabx::reporter::Silent,
    )
    .await
    .unwrap();
    let namespace = fabx::engine::kubernetes::object_name(&net.topology().network);
    let namespaces: Api<Namespace> = Api::all(client.clone());
    assert!(namespaces.get_opt(&namespace).await.unwrap().is_some());
    common::examplecc_main_job(&net).await;
    let logs = net.logs("peer0.org1.example.com").await.unwrap();
    assert!(logs.contains("Started peer with ID"), "{logs}");
    // What a wait error names: the workload, its pod and the namespace.
    let container = net.topology().container_name("peer0.org1.example.com");
    let described = net.network().engine.describe(&container).await;
    let pod = format!("{}-0", fabx::engine::kubernetes::object_name(&container));
    assert_eq!(
        described,
        format!("{container} (pod {pod}, namespace {namespace})")
    );
    let outcome = net.teardown().await.unwrap();
    assert!(outcome.network_removed, "{outcome:?}");
    assert!(namespaces.get_opt(&namespace).await.unwrap().is_none());
}

#[tokio::test]
async fn an_unreachable_cluster_is_named() {
    // Needs no cluster: a kubeconfig whose server does not answer.
    let tmp = tempfile::tempdir().unwrap();
    let kubeconfig = tmp.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: nowhere\nclusters:\n- name: nowhere\n  cluster:\n    server: https://127.0.0.1:1\ncontexts:\n- name: nowhere\n  context:\n    cluster: nowhere\n    user: nobody\nusers:\n- name: nobody\n  user:\n    token: not-a-token\n",
    )
    .unwrap();
    let state = tmp.path().join("state");
    let (ok, _, stderr) = fabx(&state, &kubeconfig, &["up"]);
    assert!(!ok);
    let line = stderr.lines().last().unwrap_or_default();
    assert!(
        line.contains(
            "cannot reach the Kubernetes cluster of context nowhere at https://127.0.0.1:1"
        ),
        "{stderr}"
    );
    // An unknown context is named with the known ones.
    let (ok, _, stderr) = fabx(&state, &kubeconfig, &["up", "--context", "elsewhere"]);
    assert!(!ok);
    assert!(
        stderr.contains("kubeconfig has no context \"elsewhere\" (known: nowhere"),
        "{stderr}"
    );
    assert!(!state.exists(), "a failed up leaves no state directory");
}

#[tokio::test]
async fn bad_input_on_a_cluster_leaves_nothing() {
    const TEST: &str = "bad_input_on_a_cluster_leaves_nothing";
    let _one_at_a_time = CLUSTER.lock().await;
    let (kubeconfig, client) = match cluster().await {
        Ok(c) => c,
        Err(reason) => return common::skipped_without_cluster(TEST, &reason),
    };
    let tmp = tempfile::tempdir().unwrap();
    let pid = std::process::id();
    let namespaces: Api<Namespace> = Api::all(client.clone());

    // A namespace that is not fabx's is refused, and left as it was.
    let taken = format!("fabx-taken-{pid}");
    let ns = Namespace {
        metadata: kube::api::ObjectMeta {
            name: Some(taken.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let state = tmp.path().join("taken");
    let (ok, _, stderr) = fabx(&state, &kubeconfig, &["up", "--namespace", &taken]);
    let pods: Api<Pod> = Api::namespaced(client.clone(), &taken);
    let left = pods.list(&ListParams::default()).await.unwrap().items.len();
    // A user without permission (a service account that may only read pods there).
    let limited = limited_kubeconfig(&client, &kubeconfig, &taken, tmp.path()).await;
    let state_limited = tmp.path().join("limited");
    let (ok_limited, _, stderr_limited) =
        fabx(&state_limited, &limited, &["up", "--namespace", &taken]);
    namespaces
        .delete(&taken, &DeleteParams::default())
        .await
        .unwrap();
    assert!(!ok);
    assert!(
        stderr.contains(&format!(
            "namespace {taken} already exists and was not created by fabx"
        )),
        "{stderr}"
    );
    assert_eq!(left, 0, "fabx created pods in a namespace not its own");
    assert!(!ok_limited);
    assert!(
        stderr_limited.contains(&format!(
            "not allowed to get namespaces in namespace {taken}"
        )),
        "{stderr_limited}"
    );

    // An image the nodes do not have: the pod and the image are named; nothing is left.
    let mut topology = Topology::default_topology();
    topology.images.peer = "fabx-test/no-such-peer:2.5".into();
    let file = tmp.path().join("missing-image.yaml");
    std::fs::write(&file, serde_norway::to_string(&topology).unwrap()).unwrap();
    let network = format!("fabx-k8s-noimage-{pid}");
    let state = tmp.path().join("noimage");
    let (ok, _, stderr) = fabx(
        &state,
        &kubeconfig,
        &[
            "up",
            "--config",
            file.to_str().unwrap(),
            "--network",
            &network,
        ],
    );
    assert!(!ok);
    let line = stderr.lines().last().unwrap_or_default();
    assert!(
        line.contains("image fabx-test/no-such-peer:2.5")
            && (line.contains("ErrImagePull")
                || line.contains("ImagePullBackOff")
                || line.contains("ErrImageNeverPull"))
            && line.contains(&format!("pod {network}-")),
        "{stderr}"
    );
    assert!(
        namespaces.get_opt(&network).await.unwrap().is_none(),
        "a failed up left namespace {network}"
    );
}

/// A kubeconfig for a service account that may only get and list pods in `namespace`.
async fn limited_kubeconfig(
    client: &kube::Client,
    admin: &Path,
    namespace: &str,
    dir: &Path,
) -> PathBuf {
    let name = "fabx-limited";
    let meta = |n: &str| kube::api::ObjectMeta {
        name: Some(n.to_string()),
        namespace: Some(namespace.to_string()),
        ..Default::default()
    };
    let pp = PostParams::default();
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    accounts
        .create(
            &pp,
            &ServiceAccount {
                metadata: meta(name),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let roles: Api<Role> = Api::namespaced(client.clone(), namespace);
    roles
        .create(
            &pp,
            &Role {
                metadata: meta(name),
                rules: Some(vec![PolicyRule {
                    api_groups: Some(vec![String::new()]),
                    resources: Some(vec!["pods".into()]),
                    verbs: vec!["get".into(), "list".into()],
                    ..Default::default()
                }]),
            },
        )
        .await
        .unwrap();
    let bindings: Api<RoleBinding> = Api::namespaced(client.clone(), namespace);
    bindings
        .create(
            &pp,
            &RoleBinding {
                metadata: meta(name),
                role_ref: RoleRef {
                    api_group: "rbac.authorization.k8s.io".into(),
                    kind: "Role".into(),
                    name: name.into(),
                },
                subjects: Some(vec![Subject {
                    kind: "ServiceAccount".into(),
                    name: name.into(),
                    namespace: Some(namespace.into()),
                    ..Default::default()
                }]),
            },
        )
        .await
        .unwrap();
    let request = k8s_openapi::api::authentication::v1::TokenRequest {
        spec: k8s_openapi::api::authentication::v1::TokenRequestSpec {
            audiences: vec![],
            expiration_seconds: Some(600),
            ..Default::default()
        },
        ..Default::default()
    };
    let token = accounts
        .create_token_request(name, &pp, &request)
        .await
        .unwrap()
        .status
        .unwrap()
        .token;
    let mut config = kube::config::Kubeconfig::read_from(admin).unwrap();
    let context = config.current_context.clone().unwrap();
    let named = config
        .contexts
        .iter_mut()
        .find(|c| c.name == context)
        .unwrap();
    let user = named.context.as_mut().unwrap();
    user.user = Some(name.into());
    config.auth_infos = vec![kube::config::NamedAuthInfo {
        name: name.into(),
        auth_info: Some(kube::config::AuthInfo {
            token: Some(token.into()),
            ..Default::default()
        }),
        other: Default::default(),
    }];
    let path = dir.join("limited-kubeconfig");
    std::fs::write(&path, serde_norway::to_string(&config).unwrap()).unwrap();
    path
}

#[tokio::test]
async fn couchdb_beside_each_peer_answers_rich_queries_on_kubernetes() {
    const TEST: &str = "couchdb_beside_each_peer_answers_rich_queries_on_kubernetes";
    const PRIVATECC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/chaincode/privatecc");
    let _one_at_a_time = CLUSTER.lock().await;
    let (kubeconfig, client) = match cluster().await {
        Ok(c) => c,
        Err(reason) => return common::skipped_without_cluster(TEST, &reason),
    };
    let topology = TestNetwork::builder()
        .orderers(1)
        .state_database(fabx::topology::StateDatabase::Couchdb)
        .build()
        .unwrap();
    let engine = KubeEngine::connect(Some(&kubeconfig), None, "default")
        .await
        .unwrap();
    let couchdb = topology.couchdb_image().to_string();
    if !engine.image_on_nodes(&couchdb).await.unwrap() {
        return common::skipped_without_cluster(
            TEST,
            &format!("CouchDB image {couchdb} is not on the cluster's nodes"),
        );
    }
    let choice = EngineChoice {
        kind: EngineKind::Kubernetes,
        kubeconfig: Some(kubeconfig),
        ..Default::default()
    };
    let net = TestNetwork::start_on(&choice, topology, &fabx::reporter::Silent)
        .await
        .unwrap();
    let status = net.network().status().await.unwrap();
    for peer in status
        .nodes
        .iter()
        .filter(|n| n.kind == fabx::topology::NodeKind::Peer)
    {
        let db = peer.state_database.as_ref().unwrap();
        assert_eq!(db.state.as_deref(), Some("running"), "{peer:?}");
    }
    net.deploy_dir("privatecc", PRIVATECC, &[]).await.unwrap();
    for (id, owner) in [("a1", "tom"), ("a2", "ann"), ("a3", "tom")] {
        net.invoke("privatecc", "createasset", &[id, owner, "red", "1"])
            .await
            .unwrap();
    }
    let toms = net
        .query("privatecc", "assetsbyowner", &["tom"])
        .await
        .unwrap();
    let toms: serde_json::Value = serde_json::from_str(&toms).unwrap();
    let ids: Vec<&str> = toms
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a1", "a3"]);
    let namespace = fabx::engine::kubernetes::object_name(&net.topology().network);
    let outcome = net.teardown().await.unwrap();
    assert!(outcome.network_removed, "{outcome:?}");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    assert!(namespaces.get_opt(&namespace).await.unwrap().is_none());
}
