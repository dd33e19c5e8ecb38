//! The engine layer's error: one variant per engine, and the engine-neutral failures.

use super::docker::DockerError;

/// The engines' own errors are boxed: they carry their clients' errors, and every
/// `Result` of fabx would otherwise be as large as the largest of them.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Docker(Box<DockerError>),
    #[cfg(feature = "kubernetes")]
    #[error(transparent)]
    Kubernetes(Box<super::kubernetes::KubeError>),
    #[error("this fabx was built without Kubernetes support (build it with the default features, or use --engine docker)")]
    KubernetesNotBuilt,
    /// A workload fabx looked for is not there (the network is not up, or was changed
    /// behind fabx's back).
    #[error("{name} does not exist (run `fabx up` to create the network's nodes)")]
    NoWorkload { name: String },
    #[error("{name} publishes no host port for {port} (give it a host_port in the topology and run `fabx up`)")]
    NoHostPort { name: String, port: u16 },
    /// What only another engine can do.
    #[error("{what} runs on Docker only ({instead})")]
    DockerOnly { what: String, instead: String },
    #[error("Docker network {network} already exists and was not created by fabx (remove it with `docker network rm {network}`, or set another `network` in the topology)")]
    ForeignNetwork { network: String },
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

impl From<DockerError> for EngineError {
    fn from(e: DockerError) -> EngineError {
        EngineError::Docker(Box::new(e))
    }
}

#[cfg(feature = "kubernetes")]
impl From<super::kubernetes::KubeError> for EngineError {
    fn from(e: super::kubernetes::KubeError) -> EngineError {
        EngineError::Kubernetes(Box::new(e))
    }
}
