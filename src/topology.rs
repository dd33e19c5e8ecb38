//! The network model: what `network/default.yaml` (or `--config FILE`) describes.
//!
//! A topology is parsed, then validated as a whole so that every problem names its file,
//! its field and a fix. Everything else (crypto, configtx, containers) is derived from it.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The built-in default topology, the same file as `network/default.yaml`.
pub const DEFAULT_TOPOLOGY: &str = include_str!("../network/default.yaml");
/// How the built-in topology is named in messages.
pub const DEFAULT_TOPOLOGY_NAME: &str = "network/default.yaml (built in)";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// Docker network name; also the key every label and the state directory use.
    pub network: String,
    pub channel: String,
    pub images: Images,
    pub orderer_org: OrdererOrg,
    pub orgs: Vec<PeerOrg>,
    #[serde(default)]
    pub orderer: OrdererSettings,
    /// Prefix for container names, so that several networks can run side by side.
    /// Empty: containers are named after their hosts (`peer0.org1.example.com`).
    #[serde(default)]
    pub container_prefix: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Images {
    pub peer: String,
    pub orderer: String,
    pub tools: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdererOrg {
    pub msp_id: String,
    pub domain: String,
    pub orderers: Vec<OrdererNode>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdererNode {
    pub name: String,
    #[serde(default)]
    pub host_port: Option<u16>,
    #[serde(default)]
    pub admin_host_port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerOrg {
    pub msp_id: String,
    pub domain: String,
    pub peers: Vec<PeerNode>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerNode {
    pub name: String,
    #[serde(default)]
    pub host_port: Option<u16>,
}

/// Block cutting and raft timing, as Go durations (`100ms`, `2s`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrdererSettings {
    pub batch_timeout: String,
    pub max_message_count: u32,
    pub tick_interval: String,
    pub election_tick: u32,
}

impl Default for OrdererSettings {
    /// Fabric's own sample values (production-like).
    fn default() -> Self {
        OrdererSettings {
            batch_timeout: "2s".into(),
            max_message_count: 10,
            tick_interval: "500ms".into(),
            election_tick: 10,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    #[error("cannot read topology file {path}: {source} (check the path given to --config)")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: malformed topology: {message} (compare with network/default.yaml)")]
    Parse { file: String, message: String },
    #[error("{file}: {field}: {problem} ({fix})")]
    Invalid {
        file: String,
        field: String,
        problem: String,
        fix: String,
    },
}

/// Ports every node listens on inside the Docker network. Each container has its own
/// address, so they never clash; only host ports (optional) need to be distinct.
pub mod ports {
    pub const ORDERER: u16 = 7050;
    pub const ORDERER_ADMIN: u16 = 7053;
    pub const ORDERER_OPERATIONS: u16 = 9443;
    pub const PEER: u16 = 7051;
    pub const PEER_CHAINCODE: u16 = 7052;
    pub const PEER_OPERATIONS: u16 = 9444;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    Orderer,
    Peer,
}

impl NodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Orderer => "orderer",
            NodeKind::Peer => "peer",
        }
    }
}

/// One orderer or peer, with everything derived from the topology.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    /// Short name in its org (`peer0`).
    pub name: String,
    /// Host name in the Docker network and in certificates (`peer0.org1.example.com`).
    pub host: String,
    pub msp_id: String,
    pub domain: String,
    /// Published host ports: (container port, host port).
    pub host_ports: Vec<(u16, u16)>,
}

impl Node {
    /// `host:port` of the node's main listener inside the Docker network.
    pub fn address(&self) -> String {
        let port = match self.kind {
            NodeKind::Orderer => ports::ORDERER,
            NodeKind::Peer => ports::PEER,
        };
        format!("{}:{port}", self.host)
    }
}

impl Topology {
    /// The built-in default topology.
    pub fn default_topology() -> Topology {
        Topology::parse(DEFAULT_TOPOLOGY, DEFAULT_TOPOLOGY_NAME)
            .expect("the built-in topology is valid")
    }

    /// Reads and validates a topology file.
    pub fn load(path: &Path) -> Result<Topology, TopologyError> {
        let text = std::fs::read_to_string(path).map_err(|source| TopologyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Topology::parse(&text, &path.display().to_string())
    }

    /// Parses and validates topology text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Topology, TopologyError> {
        let topology: Topology = serde_yaml::from_str(text).map_err(|e| TopologyError::Parse {
            file: file.to_string(),
            message: e.to_string(),
        })?;
        topology.validate(file)?;
        Ok(topology)
    }

    /// Orderers first, then peers org by org: the order nodes are started and shown.
    pub fn nodes(&self) -> Vec<Node> {
        let oo = &self.orderer_org;
        let orderers = oo.orderers.iter().map(|o| Node {
            kind: NodeKind::Orderer,
            name: o.name.clone(),
            host: format!("{}.{}", o.name, oo.domain),
            msp_id: oo.msp_id.clone(),
            domain: oo.domain.clone(),
            host_ports: [
                o.host_port.map(|p| (ports::ORDERER, p)),
                o.admin_host_port.map(|p| (ports::ORDERER_ADMIN, p)),
            ]
            .into_iter()
            .flatten()
            .collect(),
        });
        let peers = self.orgs.iter().flat_map(|org| {
            org.peers.iter().map(|p| Node {
                kind: NodeKind::Peer,
                name: p.name.clone(),
                host: format!("{}.{}", p.name, org.domain),
                msp_id: org.msp_id.clone(),
                domain: org.domain.clone(),
                host_ports: p
                    .host_port
                    .map(|hp| (ports::PEER, hp))
                    .into_iter()
                    .collect(),
            })
        });
        orderers.chain(peers).collect()
    }

    pub fn orderers(&self) -> Vec<Node> {
        self.nodes()
            .into_iter()
            .filter(|n| n.kind == NodeKind::Orderer)
            .collect()
    }

    pub fn peers(&self) -> Vec<Node> {
        self.nodes()
            .into_iter()
            .filter(|n| n.kind == NodeKind::Peer)
            .collect()
    }

    pub fn org(&self, msp_id: &str) -> Option<&PeerOrg> {
        self.orgs.iter().find(|o| o.msp_id == msp_id)
    }

    /// Docker container name of a node (or of any other host in the network).
    pub fn container_name(&self, host: &str) -> String {
        if self.container_prefix.is_empty() {
            host.to_string()
        } else {
            format!("{}-{host}", self.container_prefix)
        }
    }

    /// Container name of the long-lived tools container (`cli`, as in the old compose file).
    pub fn tools_container(&self) -> String {
        self.container_name(&format!("cli.{}", self.network))
    }

    fn validate(&self, file: &str) -> Result<(), TopologyError> {
        let bad = |field: String, problem: String, fix: &str| TopologyError::Invalid {
            file: file.to_string(),
            field,
            problem,
            fix: fix.to_string(),
        };
        if !is_docker_name(&self.network) {
            return Err(bad(
                "network".into(),
                format!("{:?} is not a valid Docker network name", self.network),
                "use letters, digits, '_', '.' or '-', starting with a letter or digit",
            ));
        }
        if !is_channel_name(&self.channel) {
            return Err(bad(
                "channel".into(),
                format!("{:?} is not a valid channel name", self.channel),
                "use lowercase letters, digits, '.' and '-', starting with a letter",
            ));
        }
        if !self.container_prefix.is_empty() && !is_docker_name(&self.container_prefix) {
            return Err(bad(
                "container_prefix".into(),
                format!(
                    "{:?} is not valid in a container name",
                    self.container_prefix
                ),
                "use letters, digits, '_', '.' or '-'",
            ));
        }
        for (field, image) in [
            ("images.peer", &self.images.peer),
            ("images.orderer", &self.images.orderer),
            ("images.tools", &self.images.tools),
        ] {
            if image.trim().is_empty() || image.contains(char::is_whitespace) {
                return Err(bad(
                    field.into(),
                    format!("{image:?} is not an image reference"),
                    "give a name such as hyperledger/fabric-peer:2.5",
                ));
            }
        }
        if self.orderer_org.orderers.is_empty() {
            return Err(bad(
                "orderer_org.orderers".into(),
                "no orderer".into(),
                "list at least one orderer, e.g. - { name: orderer }",
            ));
        }
        if self.orgs.is_empty() {
            return Err(bad(
                "orgs".into(),
                "no peer organization".into(),
                "list at least one org with msp_id, domain and peers",
            ));
        }
        let mut msp_ids = HashSet::new();
        let mut domains = HashSet::new();
        let orgs = std::iter::once((
            "orderer_org".to_string(),
            &self.orderer_org.msp_id,
            &self.orderer_org.domain,
        ))
        .chain(
            self.orgs
                .iter()
                .enumerate()
                .map(|(i, o)| (format!("orgs[{i}]"), &o.msp_id, &o.domain)),
        );
        for (at, msp_id, domain) in orgs {
            if !is_msp_id(msp_id) {
                return Err(bad(
                    format!("{at}.msp_id"),
                    format!("{msp_id:?} is not a valid MSP ID"),
                    "use letters, digits, '.', '_' or '-', e.g. Org3MSP",
                ));
            }
            if !msp_ids.insert(msp_id.clone()) {
                return Err(bad(
                    format!("{at}.msp_id"),
                    format!("MSP ID {msp_id:?} is used twice"),
                    "give each organization its own msp_id",
                ));
            }
            if !is_domain(domain) {
                return Err(bad(
                    format!("{at}.domain"),
                    format!("{domain:?} is not a valid domain"),
                    "use lowercase DNS labels separated by dots, e.g. org3.example.com",
                ));
            }
            if !domains.insert(domain.clone()) {
                return Err(bad(
                    format!("{at}.domain"),
                    format!("domain {domain:?} is used twice"),
                    "give each organization its own domain",
                ));
            }
        }
        let named = self
            .orderer_org
            .orderers
            .iter()
            .enumerate()
            .map(|(i, o)| (format!("orderer_org.orderers[{i}]"), &o.name))
            .chain(self.orgs.iter().enumerate().flat_map(|(i, org)| {
                if org.peers.is_empty() {
                    return vec![(format!("orgs[{i}].peers"), &org.msp_id)];
                }
                org.peers
                    .iter()
                    .enumerate()
                    .map(move |(j, p)| (format!("orgs[{i}].peers[{j}]"), &p.name))
                    .collect()
            }));
        for (at, name) in named {
            if at.ends_with(".peers") {
                return Err(bad(
                    at,
                    format!("organization {name} has no peer"),
                    "list at least one peer, e.g. - { name: peer0 }",
                ));
            }
            if !is_dns_label(name) {
                return Err(bad(
                    format!("{at}.name"),
                    format!("{name:?} is not a valid host name"),
                    "use lowercase letters, digits and '-', e.g. peer1",
                ));
            }
        }
        let mut hosts = HashSet::new();
        let mut host_ports = HashSet::new();
        for node in self.nodes() {
            if !hosts.insert(node.host.clone()) {
                return Err(bad(
                    "orgs".into(),
                    format!("host {} appears twice", node.host),
                    "give each node of an organization its own name",
                ));
            }
            for (_, port) in &node.host_ports {
                if *port == 0 || !host_ports.insert(*port) {
                    return Err(bad(
                        format!("{} host port", node.host),
                        format!("host port {port} is zero or used twice"),
                        "give every published port its own non-zero number, or leave it out",
                    ));
                }
            }
        }
        let o = &self.orderer;
        for (field, value) in [
            ("orderer.batch_timeout", &o.batch_timeout),
            ("orderer.tick_interval", &o.tick_interval),
        ] {
            if parse_duration_ms(value).is_none_or(|ms| ms == 0) {
                return Err(bad(
                    field.into(),
                    format!("{value:?} is not a positive duration"),
                    "write a Go duration such as 100ms or 2s",
                ));
            }
        }
        if o.max_message_count == 0 || o.election_tick == 0 {
            return Err(bad(
                "orderer".into(),
                "max_message_count and election_tick must be positive".into(),
                "use e.g. max_message_count: 10, election_tick: 10",
            ));
        }
        Ok(())
    }
}

/// Milliseconds in a simple Go duration (`250ms`, `2s`, `1m`, `1.5s`).
pub fn parse_duration_ms(text: &str) -> Option<u64> {
    let (number, unit_ms) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60_000.0)
    } else {
        return None;
    };
    let value: f64 = number.parse().ok()?;
    (value.is_finite() && value >= 0.0).then(|| (value * unit_ms).round() as u64)
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_domain(s: &str) -> bool {
    s.len() <= 200 && s.split('.').all(is_dns_label)
}

fn is_msp_id(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn is_channel_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    s.len() < 250
        && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'))
}

fn is_docker_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}
