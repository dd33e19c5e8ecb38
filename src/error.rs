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
    #[error(transparent)]
    ChaincodeImage(#[from] crate::chaincode_image::ChaincodeImageError),
    #[error(transparent)]
    Label(#[from] crate::deploy::package::LabelError),
    #[error("chaincode directory {dir} not found (put the chaincode in chaincode/{name}, or give --path DIR or --image IMAGE)")]
    UnknownChaincode { name: String, dir: PathBuf },
    #[error("invalid {what} (fix: {fix})")]
    InvalidArgument { what: String, fix: String },
    #[error("image {image} not found locally (build or load it first, or deploy from a chaincode directory)")]
    ImageNotFound { image: String },
    #[error("chaincode container {container} exited during start-up; its last log lines:\n{tail}")]
    ChaincodeExited { container: String, tail: String },
    #[error("chaincode container {container} does not accept connections on {address} (does it listen on 0.0.0.0 and read CHAINCODE_SERVER_ADDRESS?); its last log lines:\n{tail}")]
    ChaincodeUnreachable {
        container: String,
        address: String,
        tail: String,
    },
    #[error("{peer} has package {installed} installed for label {label}, expected {expected} (the package was re-made; run `fabx down` and `fabx up` for a clean network)")]
    PackageIdMismatch {
        peer: String,
        label: String,
        expected: String,
        installed: String,
    },
    #[error("unknown organization {msp_id} (known: {known})")]
    UnknownOrg { msp_id: String, known: String },
    #[error("chaincode {name} failed: {message}")]
    ChaincodeFailed { name: String, message: String },
    #[error("chaincode definition {name} (sequence {sequence}) is not approved by {orgs} (approve it for those orgs, or check the definition)")]
    NotApproved {
        name: String,
        sequence: u64,
        orgs: String,
    },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
