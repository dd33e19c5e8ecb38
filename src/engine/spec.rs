//! What fabx asks of an engine, in the engine's neutral terms: a workload's spec, files
//! put into it, what a command run in it printed, and the labels every object carries.

pub use crate::support::tar::TarFile as UploadFile;
use std::collections::HashMap;

/// Present (value "true") on every object fabx creates.
pub const LABEL_MANAGED: &str = "fabx.managed";
/// The Docker network name of the fabx network the object belongs to.
pub const LABEL_NETWORK: &str = "fabx.network";
/// `orderer`, `peer`, `tools` (a short-lived helper) or `chaincode`.
pub const LABEL_ROLE: &str = "fabx.role";
/// The role value of chaincode server containers.
pub const ROLE_CHAINCODE: &str = "chaincode";
/// The node's host name in the network.
pub const LABEL_HOST: &str = "fabx.host";
/// The node's MSP ID.
pub const LABEL_MSP: &str = "fabx.msp";
/// On the network's space: the host state directory, so `down` can remove it.
pub const LABEL_STATE_DIR: &str = "fabx.state-dir";

/// The value of [`LABEL_MANAGED`].
pub const MANAGED: &str = "true";

/// The last lines of some output, for error messages.
pub(crate) struct Tail {
    lines: std::collections::VecDeque<String>,
    max: usize,
}

impl Tail {
    pub(crate) fn new(max: usize) -> Tail {
        Tail {
            lines: std::collections::VecDeque::with_capacity(max),
            max,
        }
    }

    pub(crate) fn push(&mut self, line: &str) {
        if self.lines.len() == self.max {
            self.lines.pop_front();
        }
        self.lines.push_back(line.trim_end().to_string());
    }

    /// The lines, each after `indent`, joined by newlines.
    pub(crate) fn text(&self, indent: &str) -> String {
        let indented: Vec<String> = self.lines.iter().map(|l| format!("{indent}{l}")).collect();
        indented.join("\n")
    }
}

/// A bind mount.
#[derive(Debug, Clone)]
pub struct Bind {
    pub host: String,
    pub container: String,
    pub read_only: bool,
}

/// Everything needed to create one workload (a Docker container, a Kubernetes pod).
#[derive(Debug, Clone, Default)]
pub struct WorkloadSpec {
    pub name: String,
    pub image: String,
    pub cmd: Option<Vec<String>>,
    pub env: Vec<String>,
    pub labels: HashMap<String, String>,
    pub binds: Vec<Bind>,
    pub network: String,
    pub aliases: Vec<String>,
    /// (container port, host port)
    pub host_ports: Vec<(u16, u16)>,
    /// The host address published ports bind to.
    pub host_ip: String,
    /// `name:address` entries for /etc/hosts (`host.docker.internal:host-gateway`).
    pub extra_hosts: Vec<String>,
    pub working_dir: Option<String>,
    /// Ports the workload serves to other workloads (Kubernetes gives them a Service;
    /// Docker needs nothing for them).
    pub ports: Vec<u16>,
    /// Files put into the workload before it starts (TLS material of a chaincode server).
    pub files: Vec<(String, UploadFile)>,
    /// A directory whose data outlives the workload (the ledger); Docker keeps it in the
    /// image's volume, Kubernetes in a PersistentVolumeClaim when it can.
    pub data_dir: Option<String>,
}

/// What an image says about how it runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageConfig {
    /// `KEY=value` entries.
    pub env: Vec<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
}

impl ImageConfig {
    /// The program the image starts: the entrypoint's first word, else the command's.
    pub fn program(&self) -> Option<&str> {
        self.entrypoint
            .first()
            .or_else(|| self.cmd.first())
            .map(String::as_str)
    }
}

/// What a command run inside a workload printed, and how it ended.
#[derive(Debug, Clone, Default)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
}

impl ExecOutput {
    pub fn success(&self) -> bool {
        self.exit_code == 0
    }

    /// Everything the command printed: stdout, then stderr.
    pub fn printed(&self) -> String {
        format!("{}\n{}", self.stdout.trim_end(), self.stderr.trim_end())
    }

    /// The last non-empty line of stderr (or stdout): what a one-line error should show.
    pub fn last_error_line(&self) -> String {
        let pick = |s: &str| {
            s.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(str::to_string)
        };
        pick(&self.stderr)
            .or_else(|| pick(&self.stdout))
            .unwrap_or_else(|| format!("exit code {}", self.exit_code))
    }
}

/// The host of a published binding as a client names it: `localhost` for loopback and
/// every-interface bindings (the nodes' TLS certificates name it), else the address.
pub fn client_host(ip: &str) -> String {
    match ip {
        "127.0.0.1" | "0.0.0.0" | "::" | "::1" | "" => "localhost".to_string(),
        ip if ip.contains(':') => format!("[{ip}]"),
        ip => ip.to_string(),
    }
}
