//! The network model: what `network/default.yaml` (or `--config FILE`) describes.
//!
//! A topology is parsed, then validated as a whole so that every problem names its file,
//! its field and a fix. Everything else (crypto, configtx, containers) is derived from it.

mod validate;

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The built-in default topology, the same file as `network/default.yaml`.
pub const DEFAULT_TOPOLOGY: &str = include_str!("../../network/default.yaml");
/// How the built-in topology is named in messages.
pub const DEFAULT_TOPOLOGY_NAME: &str = "network/default.yaml (built in)";

/// Which engine a network runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    #[default]
    Docker,
    Kubernetes,
}

impl EngineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Docker => "docker",
            EngineKind::Kubernetes => "kubernetes",
        }
    }
}

impl std::str::FromStr for EngineKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "docker" => Ok(EngineKind::Docker),
            "kubernetes" | "k8s" => Ok(EngineKind::Kubernetes),
            other => Err(format!(
                "unknown engine {other:?} (use docker or kubernetes)"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// Docker network name; also the key every label and the state directory use.
    pub network: String,
    /// The channel commands use unless told otherwise. Alone (the older form), it is the
    /// one channel and every org is on it; with `channels`, it names one of them (default:
    /// the first).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub channel: String,
    /// Several channels, each with its member orgs. Orderers serve every channel; a peer
    /// joins the channels of its org.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<ChannelSpec>,
    pub images: Images,
    /// Where peers keep their world state: `leveldb` (the default, inside the peer) or
    /// `couchdb` (a CouchDB container beside each peer, for rich queries). An org may
    /// choose its own.
    #[serde(default, skip_serializing_if = "StateDatabase::is_leveldb")]
    pub state_database: StateDatabase,
    /// A Fabric CA server per peer org (`fabric-ca-server`, started with the org's CA key
    /// and certificate), for applications that register and enroll users; an org may say
    /// otherwise with its own `certificate_authority`. Docker only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub certificate_authorities: bool,
    pub orderer_org: OrdererOrg,
    pub orgs: Vec<PeerOrg>,
    #[serde(default)]
    pub orderer: OrdererSettings,
    /// Prefix for container names, so that several networks can run side by side.
    /// Empty: containers are named after their hosts (`peer0.org1.example.com`).
    #[serde(default)]
    pub container_prefix: String,
    /// Host address the published ports bind to. Default 127.0.0.1: a laptop on a
    /// public network must not expose the orderers' admin endpoints and the peers.
    /// `0.0.0.0` publishes on every interface (another machine's application).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    /// Whether the host ports are the user's (a `--config` file): then a taken port is an
    /// error. The built-in topology's ports are preferences: a taken one is replaced by a
    /// free one, so a second network can run beside the first.
    #[serde(skip)]
    pub host_ports_pinned: bool,
    /// Where the network runs: `docker` (default) or `kubernetes`; `--engine` overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineKind>,
    /// Settings of the Kubernetes engine; `--context` and `--namespace` override them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesSettings>,
}

/// Where on a cluster the network runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesSettings {
    /// kubeconfig context (default: its current context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Namespace fabx creates and owns (default: the network's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Where published ports bind unless the topology says otherwise.
pub const DEFAULT_HOST_IP: &str = "127.0.0.1";

/// A channel and the peer orgs (MSP IDs) on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSpec {
    pub name: String,
    pub orgs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Images {
    pub peer: String,
    pub orderer: String,
    /// No longer used: fabx needs no tools image (the channel block is made in process,
    /// orderers are joined through their admin API). Accepted so older files still load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<String>,
    /// CouchDB for peers whose state database is CouchDB (default `couchdb:3.4`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub couchdb: Option<String>,
    /// Fabric CA for orgs with a CA server (default `hyperledger/fabric-ca:1.5`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
}

/// The Fabric CA image unless `images.ca` says otherwise.
pub const DEFAULT_CA_IMAGE: &str = "hyperledger/fabric-ca:1.5";

/// The CouchDB image peers use unless `images.couchdb` says otherwise.
pub const DEFAULT_COUCHDB_IMAGE: &str = "couchdb:3.4";

/// A peer's world state database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateDatabase {
    /// Fabric's default, embedded in the peer: keys, ranges, no queries by content.
    #[default]
    Leveldb,
    /// A CouchDB container per peer: JSON values queried by content (Mango selectors).
    Couchdb,
}

impl StateDatabase {
    pub fn as_str(self) -> &'static str {
        match self {
            StateDatabase::Leveldb => "leveldb",
            StateDatabase::Couchdb => "couchdb",
        }
    }

    fn is_leveldb(&self) -> bool {
        *self == StateDatabase::Leveldb
    }
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
    /// This org's peers' state database, instead of the network's `state_database`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_database: Option<StateDatabase>,
    /// Whether this org runs a Fabric CA server, instead of the network's
    /// `certificate_authorities`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority: Option<bool>,
    /// The host port of the org's CA server (default: a free one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_host_port: Option<u16>,
}

/// The Fabric CA server of an org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateAuthority {
    /// Host name in the network and in its TLS certificate (`ca.org1.example.com`).
    pub host: String,
    pub msp_id: String,
    pub domain: String,
    /// The CA's name inside the server, as test-network names it (`ca-org1`).
    pub name: String,
    /// Published host port of 7054.
    pub host_port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerNode {
    pub name: String,
    #[serde(default)]
    pub host_port: Option<u16>,
    /// Publishes the peer's CouchDB (port 5984) on the host: Fauxton and curl for the
    /// curious. Left out, CouchDB is reachable only inside the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub couchdb_host_port: Option<u16>,
}

/// The CouchDB container of a peer whose org keeps its state in CouchDB.
#[derive(Debug, Clone, PartialEq)]
pub struct CouchDb {
    /// Host name in the network (`couchdb.peer0.org1.example.com`).
    pub host: String,
    /// The peer it serves.
    pub peer: Node,
    /// Published host port of 5984, when the topology asks.
    pub host_port: Option<u16>,
}

/// The ordering service: its consensus type, block cutting and raft timing (Go
/// durations such as `100ms`, `2s`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrdererSettings {
    /// `etcdraft` (the default) or `bft` (SmartBFT: Fabric 3 and at least 4 orderers).
    #[serde(rename = "type")]
    pub consensus: Consensus,
    pub batch_timeout: String,
    pub max_message_count: u32,
    pub tick_interval: String,
    pub election_tick: u32,
}

impl Default for OrdererSettings {
    /// Fabric's own sample values (production-like).
    fn default() -> Self {
        OrdererSettings {
            consensus: Consensus::Etcdraft,
            batch_timeout: "2s".into(),
            max_message_count: 10,
            tick_interval: "500ms".into(),
            election_tick: 10,
        }
    }
}

/// How the orderers agree on blocks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Consensus {
    /// Raft (crash fault tolerant), Fabric 2.x and 3.x.
    #[default]
    Etcdraft,
    /// SmartBFT (Byzantine fault tolerant), Fabric 3.x with at least 4 orderers.
    Bft,
}

impl Consensus {
    /// The name Fabric's channel configuration gives it (`ConsensusType.type`).
    pub fn name(self) -> &'static str {
        match self {
            Consensus::Etcdraft => "etcdraft",
            Consensus::Bft => "BFT",
        }
    }

    /// How many of `n` orderers must run for blocks to be made: a majority for Raft;
    /// for BFT Fabric's quorum ceil((n + f + 1) / 2) with f = (n - 1) / 3.
    pub fn quorum(self, n: usize) -> usize {
        match self {
            Consensus::Etcdraft => n / 2 + 1,
            Consensus::Bft => (n + n.saturating_sub(1) / 3 + 1).div_ceil(2),
        }
    }

    /// The smallest number of orderers the consensus type works with.
    pub fn min_orderers(self) -> usize {
        match self {
            Consensus::Etcdraft => 1,
            Consensus::Bft => 4,
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
    pub const COUCHDB: u16 = 5984;
    pub const CA: u16 = 7054;
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

    /// Reads and validates a topology file; its host ports are pinned.
    pub fn load(path: &Path) -> Result<Topology, TopologyError> {
        let text = std::fs::read_to_string(path).map_err(|source| TopologyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut topology = Topology::parse(&text, &path.display().to_string())?;
        topology.host_ports_pinned = true;
        Ok(topology)
    }

    /// The same network under another Docker network name (`--network`): containers get
    /// the name as their prefix unless the topology has one, so two networks of one
    /// topology run side by side.
    pub fn renamed(mut self, network: &str, source: &str) -> Result<Topology, TopologyError> {
        // A prefix that is the network's name (an isolated or restored topology) follows
        // the new name: containers of the two networks must not collide.
        if self.container_prefix == self.network {
            self.container_prefix.clear();
        }
        self.network = network.to_string();
        if self.container_prefix.is_empty() {
            self.container_prefix = network.to_string();
        }
        self.validate(source)?;
        Ok(self)
    }

    /// Parses and validates topology text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Topology, TopologyError> {
        let topology: Topology =
            serde_norway::from_str(text).map_err(|e| TopologyError::Parse {
                file: file.to_string(),
                message: e.to_string(),
            })?;
        topology.validate(file)?;
        Ok(topology)
    }

    /// The same network made private (a test's, a restored copy's): a unique network and
    /// container name, no host ports, so it runs beside anything else.
    pub fn isolated(mut self) -> Topology {
        use std::sync::atomic::{AtomicU32, Ordering};
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "fabx-{}-{}-{nanos:x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        self.network = name.clone();
        self.container_prefix = name;
        for o in &mut self.orderer_org.orderers {
            o.host_port = None;
            o.admin_host_port = None;
        }
        for p in self.orgs.iter_mut().flat_map(|o| o.peers.iter_mut()) {
            p.host_port = None;
            p.couchdb_host_port = None;
        }
        self
    }

    /// The state database of `msp_id`'s peers.
    pub fn state_database_of(&self, msp_id: &str) -> StateDatabase {
        self.org(msp_id)
            .and_then(|o| o.state_database)
            .unwrap_or(self.state_database)
    }

    /// The Fabric CA image.
    pub fn ca_image(&self) -> &str {
        self.images.ca.as_deref().unwrap_or(DEFAULT_CA_IMAGE)
    }

    /// The CA server of every org that runs one.
    pub fn certificate_authorities(&self) -> Vec<CertificateAuthority> {
        self.orgs
            .iter()
            .filter(|o| {
                o.certificate_authority
                    .unwrap_or(self.certificate_authorities)
            })
            .map(|o| CertificateAuthority {
                host: format!("ca.{}", o.domain),
                msp_id: o.msp_id.clone(),
                domain: o.domain.clone(),
                name: format!("ca-{}", o.domain.split('.').next().unwrap_or(&o.domain)),
                host_port: o.ca_host_port,
            })
            .collect()
    }

    /// The CA server of org `msp_id`, if it runs one.
    pub fn ca_of(&self, msp_id: &str) -> Option<CertificateAuthority> {
        self.certificate_authorities()
            .into_iter()
            .find(|ca| ca.msp_id == msp_id)
    }

    /// The CouchDB image.
    pub fn couchdb_image(&self) -> &str {
        self.images
            .couchdb
            .as_deref()
            .unwrap_or(DEFAULT_COUCHDB_IMAGE)
    }

    /// A CouchDB per peer of every org that keeps its state in CouchDB.
    pub fn couchdbs(&self) -> Vec<CouchDb> {
        // `peers()` lists the peers org by org, in the order of the orgs' entries.
        let entries = self.orgs.iter().flat_map(|o| o.peers.iter());
        entries
            .zip(self.peers())
            .filter(|(_, peer)| self.state_database_of(&peer.msp_id) == StateDatabase::Couchdb)
            .map(|(entry, peer)| CouchDb {
                host: couchdb_host(&peer.host),
                peer,
                host_port: entry.couchdb_host_port,
            })
            .collect()
    }

    /// The CouchDB of `peer`, if its org keeps its state in CouchDB.
    pub fn couchdb_of(&self, peer: &Node) -> Option<CouchDb> {
        self.couchdbs()
            .into_iter()
            .find(|c| c.peer.host == peer.host)
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
            // Both endpoints are always published (on a port Docker chooses when the
            // topology gives none): fabx joins orderers to channels through the admin
            // endpoint and hands them transactions through the other.
            host_ports: vec![
                (ports::ORDERER, o.host_port.unwrap_or(0)),
                (ports::ORDERER_ADMIN, o.admin_host_port.unwrap_or(0)),
            ],
        });
        let peers = self.orgs.iter().flat_map(|org| {
            org.peers.iter().map(|p| Node {
                kind: NodeKind::Peer,
                name: p.name.clone(),
                host: format!("{}.{}", p.name, org.domain),
                msp_id: org.msp_id.clone(),
                domain: org.domain.clone(),
                // Always published (Docker chooses the port when the topology gives
                // none): fabx asks the peer's discovery service from the host.
                host_ports: vec![(ports::PEER, p.host_port.unwrap_or(0))],
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

    /// The host address published ports bind to.
    pub fn host_ip(&self) -> &str {
        self.host_ip.as_deref().unwrap_or(DEFAULT_HOST_IP)
    }

    /// The channel commands use by default.
    pub fn default_channel(&self) -> &str {
        match self.channels.first() {
            Some(first) if self.channel.is_empty() => &first.name,
            _ => &self.channel,
        }
    }

    /// `channel` if given, else the default channel.
    pub fn channel_or_default(&self, channel: Option<&str>) -> String {
        channel.unwrap_or(self.default_channel()).to_string()
    }

    /// Every channel with its member orgs; the single `channel` form has every org.
    pub fn channels(&self) -> Vec<ChannelSpec> {
        if self.channels.is_empty() {
            vec![ChannelSpec {
                name: self.channel.clone(),
                orgs: self.msp_ids(),
            }]
        } else {
            self.channels.clone()
        }
    }

    pub fn channel_spec(&self, name: &str) -> Option<ChannelSpec> {
        self.channels().into_iter().find(|c| c.name == name)
    }

    /// The orgs on channel `name`, in topology order (None: no such channel).
    pub fn channel_orgs(&self, name: &str) -> Option<Vec<&PeerOrg>> {
        let spec = self.channel_spec(name)?;
        Some(
            self.orgs
                .iter()
                .filter(|o| spec.orgs.contains(&o.msp_id))
                .collect(),
        )
    }

    /// The names of the channels an org is on.
    pub fn org_channels(&self, msp_id: &str) -> Vec<String> {
        self.channels()
            .into_iter()
            .filter(|c| c.orgs.iter().any(|o| o == msp_id))
            .map(|c| c.name)
            .collect()
    }

    /// The topology as one channel sees it: that channel alone, with its member orgs.
    /// What its genesis block and configtx.yaml are made from.
    pub fn channel_view(&self, name: &str) -> Option<Topology> {
        let spec = self.channel_spec(name)?;
        let mut view = self.clone();
        view.orgs.retain(|o| spec.orgs.contains(&o.msp_id));
        view.channel = spec.name;
        view.channels.clear();
        Some(view)
    }

    /// Every peer org's MSP ID, in topology order.
    pub fn msp_ids(&self) -> Vec<String> {
        self.orgs.iter().map(|o| o.msp_id.clone()).collect()
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
}

/// The host name of the CouchDB of the peer `peer_host`.
pub fn couchdb_host(peer_host: &str) -> String {
    format!("couchdb.{peer_host}")
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
