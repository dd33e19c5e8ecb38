//! The library's error type: one variant per kind of failure, each saying what is wrong
//! and what to do. The layers below have their own (engine, Fabric, artifacts, topology);
//! they arrive here whole.

use crate::artifacts::core_yaml::CoreYamlError;
use crate::artifacts::crypto::CryptoError;
use crate::engine::docker::DockerError;
use crate::engine::wait::WaitError;
use crate::engine::{EngineError, ExecOutput};
use crate::topology::TopologyError;
use fabx_fabric::FabricError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Topology(#[from] TopologyError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Fabric(#[from] FabricError),
    #[error("cannot read the logs of {container}: {reason}")]
    Logs { container: String, reason: String },
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Wait(#[from] WaitError),
    #[error(transparent)]
    CoreYaml(#[from] CoreYamlError),
    #[error(transparent)]
    ChannelConfig(#[from] crate::artifacts::channel_config::ConfigError),
    #[error("orderer.type bft needs Fabric 3 images, but {image} is {version} (set images.peer and images.orderer to hyperledger/fabric-peer:3.1 and hyperledger/fabric-orderer:3.1, or use orderer.type etcdraft)")]
    BftNeedsFabric3 { image: String, version: String },
    #[error("host port {port} for {node} is already in use (stop what uses it, or change or remove that host port in the topology)")]
    PortTaken { port: u16, node: String },
    #[error("Docker network {network} already exists and was not created by fabx (remove it with `docker network rm {network}`, or set another `network` in the topology)")]
    ForeignNetwork { network: String },
    #[error("state directory {path} holds files fabx did not write (choose an empty or new directory with --state-dir)")]
    StateDirNotOurs { path: PathBuf },
    #[error("network {network} is not whole: {what} {problem} (run `fabx down`, then `fabx up`, for a fresh network)")]
    Broken {
        network: String,
        what: String,
        problem: String,
    },
    #[error("{peer} is not ready for applications after {}s: no {what} (is the machine overloaded? `fabx status` shows each node)", .waited.as_secs())]
    NotReady {
        peer: String,
        what: String,
        waited: std::time::Duration,
    },
    #[error("network {network} belongs to the project whose state directory is {}{} (run fabx from there, or give this project its own network with --network NAME)", .owner.display(), if *.gone { ", which no longer exists: `fabx down --force` removes the network" } else { "" })]
    OwnedElsewhere {
        network: String,
        owner: PathBuf,
        gone: bool,
    },
    #[error("network {network} is not up (run `fabx up` first)")]
    NotUp { network: String },
    #[error("`{command}` failed in {container}; it printed:\n{output}\n(`fabx status` shows whether every node runs; `fabx logs NODE` shows a node's own side)")]
    Command {
        container: String,
        /// The command's words up to its first flag (`peer lifecycle chaincode commit`).
        command: String,
        /// The last lines it printed, indented.
        output: String,
    },
    #[error("cannot read what `{command}` printed in {container} (expected {expected}); it printed:\n{output}")]
    Unparseable {
        container: String,
        command: String,
        expected: String,
        output: String,
    },
    #[error(transparent)]
    Snapshot(#[from] crate::network::snapshot::SnapshotError),
    #[error(transparent)]
    ChaincodeImage(#[from] crate::network::deploy::image::ChaincodeImageError),
    #[error(transparent)]
    Label(#[from] crate::artifacts::package::LabelError),
    #[error(transparent)]
    Statedb(#[from] crate::artifacts::statedb::StatedbError),
    #[error("{path} does not hold the credentials fabx made for a server of the network ({reason}); run `fabx down`, then `fabx up`, for a fresh network")]
    Credentials { path: PathBuf, reason: String },
    #[error("chaincode directory {dir} not found (put the chaincode in chaincode/{name}, or give --path DIR or --image IMAGE)")]
    UnknownChaincode { name: String, dir: PathBuf },
    /// Input fabx cannot use: `problem` says what is wrong with it, `fix` what to give.
    #[error("{problem}; {fix}")]
    BadInput { problem: String, fix: String },
    #[error("an invoke needs at least one endorsing peer; name one with --peer, or leave --peer out to ask one peer of every org")]
    NoEndorsers,
    #[error("image {image} not found locally (build or load it first, or deploy from a chaincode directory)")]
    ImageNotFound { image: String },
    #[error(
        "Fabric CA server {container} stopped before it answered; its last log lines:\n{tail}"
    )]
    CaExited { container: String, tail: String },
    #[error("chaincode container {container} exited during start-up; its last log lines:\n{tail}")]
    ChaincodeExited { container: String, tail: String },
    #[error("chaincode container {container} does not accept connections on {address} (does it listen on 0.0.0.0 and read CHAINCODE_SERVER_ADDRESS?); its last log lines:\n{tail}")]
    ChaincodeUnreachable {
        container: String,
        address: String,
        tail: String,
    },
    #[error("{peer} has package {installed} installed for label {label}, but this deploy made {expected} (the package changed under the same label); deploy it under a new label, which keeps the ledger: give a new --version, or --label NEW_LABEL")]
    PackageIdMismatch {
        peer: String,
        label: String,
        expected: String,
        installed: String,
    },
    #[error("image {image} is not present locally, and {variable}=1 makes that a failure instead of a skip (build or load the image, or unset {variable})")]
    FabricRequired {
        image: String,
        variable: &'static str,
    },
    #[error("no orderer of the network is running ({orderers}); run `fabx up` to start the stopped nodes again")]
    OrderersDown { orderers: String },
    #[error("the ordering service cannot order transactions: {down} down; {consensus} needs {needed} of {total} orderers running and {running} are (run `fabx up` to start the stopped orderers again)")]
    NoOrderingQuorum {
        consensus: &'static str,
        down: String,
        running: usize,
        needed: usize,
        total: usize,
    },
    #[error("unknown organization {msp_id} (known: {known})")]
    UnknownOrg { msp_id: String, known: String },
    #[error("unknown channel {channel} (channels of this network: {known}); pass one of them with --channel")]
    UnknownChannel { channel: String, known: String },
    #[error("{peer} ({msp_id}) is not on channel {channel}, whose orgs are {members}; use a peer of one of them (--org or --peer)")]
    NotOnChannel {
        peer: String,
        msp_id: String,
        channel: String,
        members: String,
    },
    #[error(transparent)]
    EndorsementPolicyNotMet(Box<PolicyNotMet>),
    #[error("unknown peer {peer} (peers: {known}); name it by host, e.g. peer0.org1.example.com")]
    UnknownPeer { peer: String, known: String },
    #[error("chaincode {name} is not reachable: the peer cannot connect to its server ({cause}); run `fabx deploy {name}` again to restart its containers")]
    ChaincodeDown { name: String, cause: String },
    #[error("chaincode server {address} ({name}) accepts connections but no {mode} TLS handshake with it succeeded ({cause}); if its image serves plain text or does not read CHAINCODE_TLS_*, deploy with --tls off")]
    ChaincodeTlsHandshake {
        name: String,
        address: String,
        mode: &'static str,
        cause: String,
    },
    #[error("your chaincode at {address} did not answer {peer} within {}s (start it with the environment fabx printed, listening on 0.0.0.0, or wait longer with --wait)", .waited.as_secs())]
    ChaincodeNotAnswering {
        address: String,
        peer: String,
        waited: std::time::Duration,
    },
    #[error("chaincode {name} is not deployed: its server {container} is not running (run `fabx deploy {name}`, or `fabx dev {name}`, which deploys first)")]
    NotDeployed { name: String, container: String },
    #[error(transparent)]
    DevCommand(#[from] crate::network::dev::host_process::ProcessError),
    #[error("chaincode {name} failed: {message}")]
    ChaincodeFailed { name: String, message: String },
    #[error("chaincode definition {name} (sequence {sequence}) on {channel} is not approved by {orgs}; run `fabx deploy {name}` again, which approves it for every org that has not (`fabx status` shows whether their peers run)")]
    NotApproved {
        name: String,
        sequence: u64,
        orgs: String,
        channel: String,
    },
    #[error("cannot {operation} {path}: {source}")]
    Io {
        /// What was being done: `create`, `read`, `write`, `remove`, `lock`, ...
        operation: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("another fabx command is changing this network ({holder}); waited {}s for it (let it finish, or end it if it hangs; lock file {path})", .waited.as_secs())]
    Locked {
        path: PathBuf,
        holder: String,
        waited: std::time::Duration,
    },
}

impl Error {
    /// A command run in `container` that failed: its name and the last lines it printed
    /// (the whole command line would bury them).
    pub(crate) fn command(container: &str, args: &[String], output: &ExecOutput) -> Error {
        let name: Vec<&str> = args
            .iter()
            .map(String::as_str)
            .take_while(|a| !a.starts_with('-'))
            .collect();
        let printed = output.printed();
        let lines: Vec<&str> = printed.lines().filter(|l| !l.trim().is_empty()).collect();
        let last = &lines[lines.len().saturating_sub(6)..];
        Error::Command {
            container: container.to_string(),
            command: name.join(" "),
            output: if last.is_empty() {
                format!("    (nothing; exit code {})", output.exit_code)
            } else {
                last.iter()
                    .map(|l| format!("    {l}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            },
        }
    }

    pub(crate) fn io(
        operation: &'static str,
        path: &std::path::Path,
        source: std::io::Error,
    ) -> Error {
        Error::Io {
            operation,
            path: path.to_path_buf(),
            source,
        }
    }

    /// Output a command printed that fabx cannot read: never guessed at, always shown
    /// (its first lines).
    pub(crate) fn unparseable(
        container: &str,
        command: &str,
        expected: &str,
        printed: &str,
    ) -> Error {
        let first: Vec<String> = printed
            .trim()
            .lines()
            .take(12)
            .map(|l| format!("    {l}"))
            .collect();
        Error::Unparseable {
            container: container.to_string(),
            command: command.to_string(),
            expected: expected.to_string(),
            output: if first.is_empty() {
                "    (nothing)".into()
            } else {
                first.join("\n")
            },
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<DockerError> for Error {
    fn from(e: DockerError) -> Error {
        Error::Engine(e.into())
    }
}

#[cfg(feature = "kubernetes")]
impl From<crate::engine::kubernetes::KubeError> for Error {
    fn from(e: crate::engine::kubernetes::KubeError) -> Error {
        Error::Engine(e.into())
    }
}

/// An invoke an endorsement policy invalidated: the chaincode's, or a key-level policy of a
/// key it writes (fabx cannot tell which from the validation code).
#[derive(Debug, thiserror::Error)]
#[error("invoke of {name} on {channel} was rejected (ENDORSEMENT_POLICY_FAILURE, transaction {tx_id}): endorsements from {endorsed_by} do not satisfy its endorsement policy {policy}, or the key-level policy of a key it writes (leave --peer out to ask one peer of every org on the channel, or add peers that satisfy it)")]
pub struct PolicyNotMet {
    pub name: String,
    pub channel: String,
    pub policy: String,
    pub endorsed_by: String,
    pub tx_id: String,
}
