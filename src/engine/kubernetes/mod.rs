//! [`Engine`] on Kubernetes, through kube-rs: the network is a namespace; each orderer
//! and peer a StatefulSet of one with its Service, each chaincode server a Deployment
//! with its Service. Crypto material goes in Secrets, configuration in ConfigMaps.
//!
//! Host names in the certificates (`peer0.org1.example.com`) cannot be Service names (no
//! dots), so every pod gets `hostAliases` mapping them to the nodes' Service cluster IPs:
//! the certificates, the channel's orderer addresses and the gossip endpoints stay exactly
//! as on Docker, and it works without cluster DNS. Chaincode servers are created after
//! the peers, so peers dial them by their Service name through cluster DNS instead.

mod forward;
mod names;
mod objects;
mod pods;

use super::{Engine, EngineKind, LogChunks, NodeService, Workload, WorkloadSpec};
use super::{ExecOutput, ImageConfig, UploadFile};
use crate::engine::{EngineError, Result};
use async_trait::async_trait;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::api::{Api, ListParams};
use kube::Client;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

pub use names::object_name;

/// Label on every object fabx creates on a cluster (`app.kubernetes.io/managed-by`).
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Label naming the workload (a sanitised container name) a pod, Secret or Service belongs to.
pub const LABEL_WORKLOAD: &str = "fabx.workload";
/// Annotation holding every fabx label with its exact value (label values are restricted).
pub const ANNOTATION_LABELS: &str = "fabx.labels";
/// Annotation on node workloads: where the ledger is kept (`pvc` or `emptyDir`).
pub const ANNOTATION_STORAGE: &str = "fabx.storage";
/// Environment variable with a command that makes a locally built image available to
/// the cluster's nodes; `{image}` is replaced (`kind load docker-image {image}`).
pub const IMAGE_LOAD_ENV: &str = "FABX_IMAGE_LOAD";

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("cannot read the kubeconfig ({source}): set KUBECONFIG or create ~/.kube/config, or use --engine docker")]
    Kubeconfig {
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("kubeconfig has no context {context:?} (known: {known}; choose one with --context)")]
    NoContext { context: String, known: String },
    #[error("cannot reach the Kubernetes cluster of context {context} at {server}: {reason} (is the cluster running? check with `kubectl --context {context} get nodes`)")]
    Unreachable {
        context: String,
        server: String,
        reason: String,
    },
    #[error("not allowed to {verb} {resource} in namespace {namespace}: {message} (grant the kubeconfig's user that permission, e.g. with a RoleBinding to the edit ClusterRole, or use another context)")]
    Forbidden {
        verb: String,
        resource: String,
        namespace: String,
        message: String,
    },
    #[error("namespace {namespace} already exists and was not created by fabx (choose another with --namespace, or delete it with `kubectl delete namespace {namespace}`)")]
    NamespaceTaken { namespace: String },
    #[error("cannot {action} {object}: {reason}")]
    Api {
        action: String,
        object: String,
        reason: String,
    },
    #[error("pod {pod} cannot start: image {image} {problem} ({reason}); {fix}")]
    Image {
        pod: String,
        image: String,
        problem: String,
        reason: String,
        fix: String,
    },
    #[error("pod {pod} cannot start its container: {reason}: {message}")]
    PodFailed {
        pod: String,
        reason: String,
        message: String,
    },
    #[error("{workload} has no running pod (state: {state})")]
    NoRunningPod { workload: String, state: String },
    #[error("cannot read {path} from image {image}: {reason}")]
    ImageFile {
        image: String,
        path: String,
        reason: String,
    },
    #[error("building chaincode image {tag} for the kubernetes engine needs a Docker engine on this machine ({reason}); or build it elsewhere and deploy with --image")]
    NoDockerForBuild { tag: String, reason: String },
    #[error("{IMAGE_LOAD_ENV} command `{command}` failed for {image}: {reason}")]
    ImageLoad {
        command: String,
        image: String,
        reason: String,
    },
    #[error("{what} is not available on the kubernetes engine ({fix})")]
    Unsupported { what: String, fix: String },
}

/// A namespace on a cluster, reached through a kubeconfig context.
#[derive(Clone)]
pub struct KubeEngine {
    client: Client,
    namespace: String,
    context: String,
    server: String,
    forwards: Arc<forward::Forwards>,
    /// The cluster's default StorageClass (None: none), once asked.
    storage_class: Arc<tokio::sync::OnceCell<Option<String>>>,
    /// A local Docker engine, for building chaincode images (connected when first needed).
    docker: Arc<tokio::sync::OnceCell<std::result::Result<super::docker::DockerEngine, String>>>,
}

impl KubeEngine {
    /// Reads the kubeconfig (the given file, else `KUBECONFIG`, else `~/.kube/config`),
    /// picks `context` (else the current one) and checks the cluster answers.
    pub async fn connect(
        kubeconfig: Option<&std::path::Path>,
        context: Option<&str>,
        namespace: &str,
    ) -> Result<KubeEngine> {
        let kubeconfig = match kubeconfig {
            Some(path) => kube::config::Kubeconfig::read_from(path),
            None => kube::config::Kubeconfig::read(),
        }
        .map_err(|source| KubeError::Kubeconfig { source })?;
        let context = match context {
            Some(c) => c.to_string(),
            None => kubeconfig.current_context.clone().unwrap_or_default(),
        };
        let Some(named) = kubeconfig.contexts.iter().find(|c| c.name == context) else {
            return Err(KubeError::NoContext {
                context,
                known: kubeconfig
                    .contexts
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }
            .into());
        };
        let cluster = named.context.as_ref().map(|c| c.cluster.clone());
        let server = kubeconfig
            .clusters
            .iter()
            .find(|c| Some(&c.name) == cluster.as_ref())
            .and_then(|c| c.cluster.as_ref()?.server.clone())
            .unwrap_or_else(|| "(no server)".into());
        let options = kube::config::KubeConfigOptions {
            context: Some(context.clone()),
            ..Default::default()
        };
        let unreachable = |reason: String| KubeError::Unreachable {
            context: context.clone(),
            server: server.clone(),
            reason,
        };
        let mut config = kube::Config::from_custom_kubeconfig(kubeconfig.clone(), &options)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        config.connect_timeout = Some(std::time::Duration::from_secs(5));
        let client = Client::try_from(config).map_err(|e| unreachable(e.to_string()))?;
        client
            .apiserver_version()
            .await
            .map_err(|e| unreachable(names::reason(&e)))?;
        Ok(KubeEngine {
            forwards: Arc::new(forward::Forwards::new(client.clone(), namespace)),
            client,
            namespace: namespace.to_string(),
            context,
            server,
            storage_class: Arc::new(tokio::sync::OnceCell::new()),
            docker: Arc::new(tokio::sync::OnceCell::new()),
        })
    }

    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// Maps a kube error to a one-line error naming the operation, or RBAC's refusal.
    fn fail(&self, action: &str, resource: &str, object: &str, e: kube::Error) -> KubeError {
        names::api_error(&self.namespace, action, resource, object, e)
    }

    async fn local_docker(&self) -> std::result::Result<&super::docker::DockerEngine, String> {
        self.docker
            .get_or_init(|| async {
                super::docker::DockerEngine::connect()
                    .await
                    .map_err(|e| e.to_string())
            })
            .await
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Whether any node of the cluster reports having `image`.
    pub async fn image_on_nodes(&self, image: &str) -> Result<bool> {
        let nodes: Api<Node> = Api::all(self.client.clone());
        let list = nodes
            .list(&ListParams::default())
            .await
            .map_err(|e| self.fail("list", "nodes", "nodes", e))?;
        let wanted = names::normalize_image(image);
        Ok(list.items.iter().any(|n| {
            n.status
                .as_ref()
                .and_then(|s| s.images.as_ref())
                .into_iter()
                .flatten()
                .flat_map(|i| i.names.iter().flatten())
                .any(|name| names::normalize_image(name) == wanted)
        }))
    }

    /// Runs the user's image load command (`FABX_IMAGE_LOAD`), if set.
    async fn load_image(
        &self,
        image: &str,
        log: &mut (dyn for<'s> FnMut(&'s str) + Send),
    ) -> Result<()> {
        let Some(template) = std::env::var(IMAGE_LOAD_ENV).ok().filter(|t| !t.is_empty()) else {
            log(&format!(
                "{image} was built with Docker; set {IMAGE_LOAD_ENV} (e.g. 'kind load docker-image {{image}}') to load it onto the cluster's nodes"
            ));
            return Ok(());
        };
        let command = template.replace("{image}", image);
        log(&format!("loading onto the cluster: {command}"));
        let output = tokio::process::Command::new("sh")
            .args(["-c", &command])
            .output()
            .await
            .map_err(|e| KubeError::ImageLoad {
                command: command.clone(),
                image: image.to_string(),
                reason: e.to_string(),
            })?;
        if !output.status.success() {
            let printed = String::from_utf8_lossy(&output.stderr);
            return Err(KubeError::ImageLoad {
                command,
                image: image.to_string(),
                reason: printed
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("no output")
                    .to_string(),
            }
            .into());
        }
        Ok(())
    }
}

#[async_trait]
impl Engine for KubeEngine {
    fn kind(&self) -> EngineKind {
        EngineKind::Kubernetes
    }

    fn endpoint(&self) -> String {
        format!(
            "context {} ({}), namespace {}",
            self.context, self.server, self.namespace
        )
    }

    fn service_host(&self, alias: &str) -> String {
        object_name(alias)
    }

    fn space(&self) -> String {
        format!("namespace {}", self.namespace)
    }

    fn foreign_space(&self, _network: &str) -> crate::engine::EngineError {
        KubeError::NamespaceTaken {
            namespace: self.namespace.clone(),
        }
        .into()
    }

    async fn space_labels(&self, _network: &str) -> Result<Option<HashMap<String, String>>> {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let found = namespaces
            .get_opt(&self.namespace)
            .await
            .map_err(|e| self.fail("get", "namespaces", &self.namespace, e))?;
        Ok(found.map(|ns| names::fabx_labels(&ns.metadata)))
    }

    async fn create_space(
        &self,
        _network: &str,
        labels: HashMap<String, String>,
        nodes: &[NodeService],
    ) -> Result<()> {
        self.create_namespace(labels).await?;
        self.create_node_services(nodes).await
    }

    async fn remove_space(&self, _network: &str) -> Result<()> {
        self.forwards.close();
        self.delete_namespace().await
    }

    async fn ensure_image(
        &self,
        image: &str,
        progress: &mut (dyn for<'s> FnMut(&'s str) + Send),
    ) -> Result<()> {
        // A cluster with a registry pulls it; a local one without reports the pod's
        // ErrImageNeverPull/ImagePullBackOff when it starts.
        if !self.image_on_nodes(image).await? {
            progress(&format!(
                "{image} is on none of the cluster's nodes: they will have to pull it"
            ));
        }
        Ok(())
    }

    async fn image_config(&self, _image: &str) -> Result<Option<ImageConfig>> {
        // The cluster does not say; the tag does (`:3.1`).
        Ok(None)
    }

    async fn image_id(&self, image: &str) -> Result<Option<String>> {
        match self.local_docker().await {
            Ok(docker) => match docker.image_id(image).await? {
                Some(id) => Ok(Some(id)),
                None => Ok(Some(image.to_string())),
            },
            // Without Docker the reference is all there is; the cluster pulls it.
            Err(_) => Ok(Some(image.to_string())),
        }
    }

    async fn build_image(
        &self,
        context: Vec<u8>,
        tag: &str,
        labels: HashMap<String, String>,
        log: &mut (dyn for<'s> FnMut(&'s str) + Send),
    ) -> Result<String> {
        let docker = self
            .local_docker()
            .await
            .map_err(|reason| KubeError::NoDockerForBuild {
                tag: tag.to_string(),
                reason,
            })?;
        let id = docker.build_image(context, tag, labels, log).await?;
        self.load_image(tag, log).await?;
        Ok(id)
    }

    async fn read_image_file(
        &self,
        image: &str,
        path: &str,
        labels: HashMap<String, String>,
        name: &str,
    ) -> Result<Vec<u8>> {
        self.cat_in_pod(image, path, labels, name).await
    }

    async fn create(&self, spec: &WorkloadSpec) -> Result<()> {
        self.create_workload(spec).await
    }

    async fn start(&self, _name: &str) -> Result<()> {
        // Controllers start their pods on their own.
        Ok(())
    }

    async fn remove(&self, name: &str) -> Result<()> {
        self.remove_workload(name).await
    }

    async fn rename(&self, from: &str, _to: &str) -> Result<()> {
        Err(EngineError::DockerOnly {
            what: format!("renaming {from}"),
            instead: "a Deployment's pods are replaced by rolling them".into(),
        })
    }

    async fn workloads(&self, labels: &[String]) -> Result<Vec<Workload>> {
        self.list_workloads(labels).await
    }

    async fn state(&self, name: &str) -> Result<Option<String>> {
        self.workload_state(name).await
    }

    async fn await_exit(&self, name: &str) {
        self.await_pod_exit(name).await
    }

    async fn describe(&self, name: &str) -> String {
        let pods = self.pod_names(&object_name(name)).await;
        match pods.as_slice() {
            [] => format!("{name} (no pod yet, namespace {})", self.namespace),
            pods => format!(
                "{name} (pod {}, namespace {})",
                pods.join(", "),
                self.namespace
            ),
        }
    }

    async fn exec(&self, name: &str, cmd: &[String], env: &[String]) -> Result<ExecOutput> {
        crate::support::profile::timed(
            || format!("exec {name}: {}", crate::support::profile::short(cmd)),
            self.exec_in_pod(name, cmd, env, None),
        )
        .await
    }

    async fn upload(&self, name: &str, dir: &str, files: &[UploadFile]) -> Result<()> {
        let archive = crate::support::tar::tar_of(files);
        let cmd = ["tar", "-x", "-f", "-", "-C", dir].map(String::from);
        let output = crate::support::profile::timed(
            || format!("upload {name}:{dir}"),
            self.exec_in_pod(name, &cmd, &[], Some(archive)),
        )
        .await?;
        if !output.success() {
            return Err(KubeError::Api {
                action: "copy files into".into(),
                object: format!("{name}:{dir}"),
                reason: output.last_error_line(),
            }
            .into());
        }
        Ok(())
    }

    async fn logs_tail(&self, name: &str, lines: usize) -> Result<String> {
        self.pod_logs_tail(name, lines).await
    }

    fn log_stream(&self, name: &str, follow: bool, tail: Option<usize>) -> LogChunks {
        self.pod_log_stream(name, follow, tail)
    }

    async fn storage(&self) -> Result<Option<String>> {
        Ok(Some(KubeEngine::storage(self).await?))
    }

    async fn reach(&self, name: &str, port: u16) -> Result<SocketAddr> {
        self.forwards.local_address(&object_name(name), port).await
    }

    async fn client_address(&self, _name: &str, _port: u16) -> Result<String> {
        Err(KubeError::Unsupported {
            what: "a host address of a node".into(),
            fix: "applications in the cluster dial the nodes' Services; from this machine use `kubectl port-forward`".into(),
        }
        .into())
    }
}
