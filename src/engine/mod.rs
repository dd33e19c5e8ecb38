//! Where the network's processes run: the seam between fabx and a container engine.
//!
//! The network, deploy and harness code speak only to [`Engine`]: workloads (a Docker
//! container, or a Kubernetes StatefulSet or Deployment with its pod) made from a
//! [`WorkloadSpec`], commands run inside them, their logs, and the address where fabx
//! reaches one of their ports. [`docker`] and [`kubernetes`] implement it side by side.

pub mod docker;
mod error;
#[cfg(feature = "kubernetes")]
pub mod kubernetes;
pub mod spec;
pub mod wait;

pub use crate::topology::EngineKind;
use async_trait::async_trait;
pub use error::{EngineError, Result};
use futures_util::stream::BoxStream;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

pub use spec::{Bind, ExecOutput, ImageConfig, UploadFile, WorkloadSpec};

/// A workload as listed by the engine.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Workload {
    /// The name fabx gave it (the container name on Docker).
    pub name: String,
    /// `running`, `exited`, `created`, `pending`, ...
    pub state: String,
    /// The labels fabx put on it, values exactly as written.
    pub labels: HashMap<String, String>,
    /// Ports published on the host: (port inside, host address, host port).
    pub published: Vec<(u16, String, u16)>,
}

/// A port of a node that other workloads dial by the node's host name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeService {
    /// The workload (container name) serving it.
    pub workload: String,
    /// Host name in the certificates (`peer0.org1.example.com`).
    pub host: String,
    pub ports: Vec<u16>,
}

/// Lines of output a workload prints, in chunks as they arrive (not split into lines).
pub type LogChunks = BoxStream<'static, std::result::Result<String, String>>;

/// What fabx needs of a container engine. Names are fabx's container names on every
/// engine; an engine maps them to its own objects.
#[async_trait]
pub trait Engine: Send + Sync + 'static {
    fn kind(&self) -> EngineKind;
    /// Where the engine is, for messages (`unix:///var/run/docker.sock`, a context).
    fn endpoint(&self) -> String;
    /// The host name other workloads dial to reach a workload aliased `alias` (Docker
    /// network aliases may hold dots; Kubernetes Service names may not).
    fn service_host(&self, alias: &str) -> String;

    /// Labels of the network's space (a Docker network, a namespace); None if absent.
    async fn space_labels(&self, network: &str) -> Result<Option<HashMap<String, String>>>;
    /// The network's space as messages name it (`the Docker network`, `namespace N`).
    fn space(&self) -> String;
    /// The error for a space of the network's name that fabx did not create.
    fn foreign_space(&self, network: &str) -> EngineError;
    /// Creates the space and the names the nodes are dialled by.
    async fn create_space(
        &self,
        network: &str,
        labels: HashMap<String, String>,
        nodes: &[NodeService],
    ) -> Result<()>;
    /// Removes the space and waits until it is gone; an absent one is not an error.
    async fn remove_space(&self, network: &str) -> Result<()>;

    /// Makes sure the engine can run `image`; `progress` gets pull lines.
    async fn ensure_image(
        &self,
        image: &str,
        progress: &mut (dyn for<'s> FnMut(&'s str) + Send),
    ) -> Result<()>;
    /// How an image runs (environment, entrypoint), if the engine can read it.
    async fn image_config(&self, image: &str) -> Result<Option<ImageConfig>>;
    /// An ID of the image as the engine will run it (None: not present).
    async fn image_id(&self, image: &str) -> Result<Option<String>>;
    /// Builds an image from a tar context and makes it available to the engine.
    async fn build_image(
        &self,
        context: Vec<u8>,
        tag: &str,
        labels: HashMap<String, String>,
        log: &mut (dyn for<'s> FnMut(&'s str) + Send),
    ) -> Result<String>;
    /// One file of an image, read by running nothing but the image itself.
    async fn read_image_file(
        &self,
        image: &str,
        path: &str,
        labels: HashMap<String, String>,
        name: &str,
    ) -> Result<Vec<u8>>;

    /// Creates a workload; with Docker it stays created until [`Engine::start`].
    async fn create(&self, spec: &WorkloadSpec) -> Result<()>;
    async fn start(&self, name: &str) -> Result<()>;
    /// Removes a workload with its anonymous volumes; an absent one is not an error.
    async fn remove(&self, name: &str) -> Result<()>;
    /// Gives a running workload another name, keeping the names it is dialled by
    /// (`fabx dev` starts a chaincode server beside the one it replaces, then takes its
    /// name). Only Docker can.
    async fn rename(&self, from: &str, to: &str) -> Result<()>;
    /// Workloads carrying every label (`key=value` or `key`).
    async fn workloads(&self, labels: &[String]) -> Result<Vec<Workload>>;
    /// `running`, ... or None if there is no such workload.
    async fn state(&self, name: &str) -> Result<Option<String>>;
    /// Resolves when the workload's process stops (or it is gone).
    async fn await_exit(&self, name: &str);

    /// The workload as an error names it, with what a user looks it up by (a pod).
    async fn describe(&self, name: &str) -> String {
        name.to_string()
    }

    /// Stops a workload's processes, keeping it and its data; a stopped or absent one is
    /// not an error. Only Docker can (a cluster would scale to zero instead).
    async fn stop(&self, name: &str) -> Result<()> {
        Err(docker_only(&format!("stopping {name}")))
    }
    /// Freezes (`paused`) or thaws every process of a running workload. Only Docker can.
    async fn set_paused(&self, name: &str, _paused: bool) -> Result<()> {
        Err(docker_only(&format!("pausing {name}")))
    }
    /// A directory of a workload (running, paused or stopped) as a tar archive.
    async fn download_tar(&self, name: &str, path: &str) -> Result<Vec<u8>> {
        Err(docker_only(&format!("copying {path} out of {name}")))
    }
    /// Unpacks a tar archive into a directory of a created (not yet started) workload.
    async fn upload_tar(&self, name: &str, dir: &str, _archive: Vec<u8>) -> Result<()> {
        Err(docker_only(&format!("copying into {name}:{dir}")))
    }
    /// Images in Docker's save format.
    async fn save_images(&self, _images: &[String]) -> Result<Vec<u8>> {
        Err(docker_only("saving images"))
    }
    /// Loads images saved by [`Engine::save_images`].
    async fn load_images(&self, _archive: Vec<u8>) -> Result<()> {
        Err(docker_only("loading images"))
    }

    async fn exec(&self, name: &str, cmd: &[String], env: &[String]) -> Result<ExecOutput>;
    /// Puts files into a directory of a running workload.
    async fn upload(&self, name: &str, dir: &str, files: &[UploadFile]) -> Result<()>;
    async fn logs_tail(&self, name: &str, lines: usize) -> Result<String>;
    /// What the workload printed (the last `tail` lines, all with None) and, with
    /// `follow`, what it prints next; the stream ends when it stops.
    fn log_stream(&self, name: &str, follow: bool, tail: Option<usize>) -> LogChunks;

    /// Where the nodes keep their ledgers, when it is worth saying (`status`).
    async fn storage(&self) -> Result<Option<String>>;

    /// Where fabx, on this machine, connects to `port` of a node's workload.
    async fn reach(&self, name: &str, port: u16) -> Result<SocketAddr>;
    /// `host:port` where other programs on this machine reach `port` of a workload.
    async fn client_address(&self, name: &str, port: u16) -> Result<String>;
}

fn docker_only(what: &str) -> EngineError {
    EngineError::DockerOnly {
        what: what.to_string(),
        instead: "use --engine docker".into(),
    }
}

/// A shared handle to an engine.
pub type EngineRef = Arc<dyn Engine>;

/// How to connect to an engine: the kind, and for Kubernetes the kubeconfig context and
/// namespace (default: the network's name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineChoice {
    pub kind: EngineKind,
    /// A kubeconfig file (default: `KUBECONFIG`, else `~/.kube/config`).
    pub kubeconfig: Option<std::path::PathBuf>,
    pub context: Option<String>,
    pub namespace: Option<String>,
}

impl EngineChoice {
    /// The topology's choice (`engine:`, `kubernetes:`), with `self`'s fields over it.
    pub fn over(&self, topology: &crate::topology::Topology) -> EngineChoice {
        let settings = topology.kubernetes.clone().unwrap_or_default();
        EngineChoice {
            kind: self.kind,
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone().or(settings.context),
            namespace: self.namespace.clone().or(settings.namespace),
        }
    }
}

/// Connects to the chosen engine for `network`.
#[cfg_attr(not(feature = "kubernetes"), allow(unused_variables))]
pub async fn connect(choice: &EngineChoice, network: &str) -> Result<EngineRef> {
    Ok(match choice.kind {
        EngineKind::Docker => Arc::new(docker::DockerEngine::connect().await?),
        #[cfg(not(feature = "kubernetes"))]
        EngineKind::Kubernetes => return Err(EngineError::KubernetesNotBuilt),
        #[cfg(feature = "kubernetes")]
        EngineKind::Kubernetes => {
            let namespace = choice
                .namespace
                .clone()
                // Namespaces are DNS labels: `net_byfn` becomes `net-byfn`.
                .unwrap_or_else(|| kubernetes::object_name(network));
            Arc::new(
                kubernetes::KubeEngine::connect(
                    choice.kubeconfig.as_deref(),
                    choice.context.as_deref(),
                    &namespace,
                )
                .await?,
            )
        }
    })
}
