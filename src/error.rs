//! The library's error type: one variant per kind of failure, each saying what to do.

use crate::crypto::CryptoError;
use crate::docker::DockerError;
use crate::peer_config::CoreYamlError;
use crate::topology::TopologyError;
use crate::wait::WaitError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Topology(#[from] TopologyError),
    #[error(transparent)]
    Docker(#[from] DockerError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Wait(#[from] WaitError),
    #[error(transparent)]
    CoreYaml(#[from] CoreYamlError),
    #[error("host port {port} for {node} is already in use (stop what uses it, or change or remove that host port in the topology)")]
    PortTaken { port: u16, node: String },
    #[error("Docker network {network} already exists and was not created by fabx (remove it with `docker network rm {network}`, or set another `network` in the topology)")]
    ForeignNetwork { network: String },
    #[error("state directory {path} holds files fabx did not write (choose an empty or new directory with --state-dir)")]
    StateDirNotOurs { path: PathBuf },
    #[error("network {network} is not up (run `fabx up` first)")]
    NotUp { network: String },
    #[error("`{command}` failed in {container}: {message}")]
    Command {
        container: String,
        command: String,
        message: String,
    },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
