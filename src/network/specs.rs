//! Container specifications for orderers and peers.

use crate::artifacts::layout::{container, Layout};
use crate::engine::spec::{
    Bind, WorkloadSpec, LABEL_HOST, LABEL_MANAGED, LABEL_MSP, LABEL_NETWORK, LABEL_ROLE, MANAGED,
};
use crate::network::couchdb::CouchDbAdmin;
use crate::topology::{ports, CertificateAuthority, CouchDb, Node, NodeKind, Topology};
use std::collections::HashMap;
use std::path::Path;

/// Where Fabric's images keep a node's ledger (a VOLUME in their Dockerfiles).
pub const DATA_DIR: &str = "/var/hyperledger/production";
/// Where CouchDB's image keeps its databases (a VOLUME in its Dockerfile).
pub const COUCHDB_DATA_DIR: &str = "/opt/couchdb/data";
/// The role label of CouchDB containers.
pub const ROLE_COUCHDB: &str = "couchdb";

/// The label role of a Fabric CA server.
pub const ROLE_CA: &str = "ca";

/// Where a CA server keeps its database and keystore (its FABRIC_CA_HOME), in the
/// container: registrations survive `stop` and `start`. Not the image's default
/// `/etc/hyperledger/fabric-ca-server`: a restore puts a snapshot's database into the new
/// container before it first runs, and `/var/lib` exists in it then, `/etc/hyperledger` not.
pub const CA_HOME: &str = "/var/lib/fabric-ca-server";

/// Labels every object of the network carries.
pub fn labels(topology: &Topology, role: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_MANAGED.to_string(), MANAGED.to_string()),
        (LABEL_NETWORK.to_string(), topology.network.clone()),
        (LABEL_ROLE.to_string(), role.to_string()),
    ])
}

fn ro(host: &Path, inside: &str) -> Bind {
    Bind {
        host: host.display().to_string(),
        container: inside.to_string(),
        read_only: true,
    }
}

fn node_labels(topology: &Topology, node: &Node) -> HashMap<String, String> {
    let mut labels = labels(topology, node.kind.as_str());
    labels.insert(LABEL_HOST.into(), node.host.clone());
    labels.insert(LABEL_MSP.into(), node.msp_id.clone());
    labels
}

pub fn node_spec(topology: &Topology, layout: &Layout, node: &Node) -> WorkloadSpec {
    match node.kind {
        NodeKind::Orderer => orderer_spec(topology, layout, node),
        NodeKind::Peer => peer_spec(topology, layout, node),
    }
}

fn orderer_spec(topology: &Topology, layout: &Layout, node: &Node) -> WorkloadSpec {
    let tls = format!("{}/tls", container::NODE);
    let env = [
        ("FABRIC_LOGGING_SPEC", "INFO".to_string()),
        ("ORDERER_GENERAL_LISTENADDRESS", "0.0.0.0".into()),
        ("ORDERER_GENERAL_LISTENPORT", ports::ORDERER.to_string()),
        ("ORDERER_GENERAL_LOCALMSPID", node.msp_id.clone()),
        (
            "ORDERER_GENERAL_LOCALMSPDIR",
            format!("{}/msp", container::NODE),
        ),
        ("ORDERER_GENERAL_TLS_ENABLED", "true".into()),
        (
            "ORDERER_GENERAL_TLS_PRIVATEKEY",
            format!("{tls}/server.key"),
        ),
        (
            "ORDERER_GENERAL_TLS_CERTIFICATE",
            format!("{tls}/server.crt"),
        ),
        ("ORDERER_GENERAL_TLS_ROOTCAS", format!("[{tls}/ca.crt]")),
        (
            "ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE",
            format!("{tls}/server.crt"),
        ),
        (
            "ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY",
            format!("{tls}/server.key"),
        ),
        ("ORDERER_GENERAL_CLUSTER_ROOTCAS", format!("[{tls}/ca.crt]")),
        // No system channel: channels are joined through the participation API.
        ("ORDERER_GENERAL_BOOTSTRAPMETHOD", "none".into()),
        ("ORDERER_CHANNELPARTICIPATION_ENABLED", "true".into()),
        ("ORDERER_ADMIN_TLS_ENABLED", "true".into()),
        ("ORDERER_ADMIN_TLS_CERTIFICATE", format!("{tls}/server.crt")),
        ("ORDERER_ADMIN_TLS_PRIVATEKEY", format!("{tls}/server.key")),
        ("ORDERER_ADMIN_TLS_ROOTCAS", format!("[{tls}/ca.crt]")),
        ("ORDERER_ADMIN_TLS_CLIENTROOTCAS", format!("[{tls}/ca.crt]")),
        (
            "ORDERER_ADMIN_LISTENADDRESS",
            format!("0.0.0.0:{}", ports::ORDERER_ADMIN),
        ),
        (
            "ORDERER_OPERATIONS_LISTENADDRESS",
            format!("0.0.0.0:{}", ports::ORDERER_OPERATIONS),
        ),
        ("ORDERER_METRICS_PROVIDER", "prometheus".into()),
    ];
    WorkloadSpec {
        name: topology.container_name(&node.host),
        image: topology.images.orderer.clone(),
        cmd: None,
        env: env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        labels: node_labels(topology, node),
        binds: vec![
            ro(&layout.node_dir(node), container::NODE),
            ro(&layout.tlsca_bundle(), container::TLSCA),
        ],
        network: topology.network.clone(),
        aliases: vec![node.host.clone()],
        host_ports: node.host_ports.clone(),
        host_ip: topology.host_ip().to_string(),
        extra_hosts: vec![],
        working_dir: None,
        ports: vec![
            ports::ORDERER,
            ports::ORDERER_ADMIN,
            ports::ORDERER_OPERATIONS,
        ],
        files: vec![],
        data_dir: Some(DATA_DIR.into()),
    }
}

/// How often a peer pushes its state info: every 100 ms on a small network (up waits for
/// it), every 500 ms beyond 4 peers. Every peer checks the signature of every other
/// peer's message, so the work grows with the square of the peers; on 11 nodes 200 ms
/// made membership no faster than 500 ms, and cost CPU the starts needed.
fn state_info_interval(peers: usize) -> &'static str {
    if peers <= 4 {
        "100ms"
    } else {
        "500ms"
    }
}

/// Every other peer of `node`'s org (or itself when alone).
fn org_bootstrap(topology: &Topology, node: &Node) -> String {
    let others: Vec<String> = topology
        .peers()
        .iter()
        .filter(|p| p.msp_id == node.msp_id && p.host != node.host)
        .map(Node::address)
        .collect();
    if others.is_empty() {
        node.address()
    } else {
        others.join(" ")
    }
}

fn peer_spec(topology: &Topology, layout: &Layout, node: &Node) -> WorkloadSpec {
    let tls = format!("{}/tls", container::NODE);
    let address = node.address();
    let env = [
        ("FABRIC_LOGGING_SPEC", "INFO".to_string()),
        ("FABRIC_CFG_PATH", container::PEER_CONFIG.to_string()),
        ("CORE_PEER_ID", node.host.clone()),
        ("CORE_PEER_ADDRESS", address.clone()),
        (
            "CORE_PEER_LISTENADDRESS",
            format!("0.0.0.0:{}", ports::PEER),
        ),
        (
            "CORE_PEER_CHAINCODEADDRESS",
            format!("{}:{}", node.host, ports::PEER_CHAINCODE),
        ),
        (
            "CORE_PEER_CHAINCODELISTENADDRESS",
            format!("0.0.0.0:{}", ports::PEER_CHAINCODE),
        ),
        ("CORE_PEER_GOSSIP_BOOTSTRAP", org_bootstrap(topology, node)),
        ("CORE_PEER_GOSSIP_EXTERNALENDPOINT", address),
        // A static org leader gets its blocks at once; leader election costs ~5 s per join.
        ("CORE_PEER_GOSSIP_USELEADERELECTION", "false".into()),
        ("CORE_PEER_GOSSIP_ORGLEADER", "true".into()),
        // Discovery (what a Gateway plans endorsements with) knows a peer as a channel
        // member, and its chaincodes, only from its state info, pushed every 4 s by
        // default: a joined peer or a new chaincode would wait that long. A failed gossip
        // probe is retried after 25 s by default (`up` orders the joins so that probes do
        // not fail; this bounds the wait if one still does).
        (
            "CORE_PEER_GOSSIP_PUBLISHSTATEINFOINTERVAL",
            state_info_interval(topology.peers().len()).into(),
        ),
        ("CORE_PEER_GOSSIP_REQUESTSTATEINFOINTERVAL", "1s".into()),
        ("CORE_PEER_GOSSIP_RECONNECTINTERVAL", "2s".into()),
        // A peer learns of the channel's other peers from their alive messages, sent
        // every 5 s by default: with many peers, membership waited for several rounds.
        ("CORE_PEER_GOSSIP_ALIVETIMEINTERVAL", "1s".into()),
        ("CORE_PEER_LOCALMSPID", node.msp_id.clone()),
        (
            "CORE_PEER_MSPCONFIGPATH",
            format!("{}/msp", container::NODE),
        ),
        ("CORE_PEER_TLS_ENABLED", "true".into()),
        ("CORE_PEER_TLS_CERT_FILE", format!("{tls}/server.crt")),
        ("CORE_PEER_TLS_KEY_FILE", format!("{tls}/server.key")),
        // Every org's TLS CA, not only its own: a peer that has just joined dials the
        // other orgs' anchor peers before the channel config has taught it their CAs,
        // and gossip retries a rejected probe only after its reconnect interval.
        (
            "CORE_PEER_TLS_ROOTCERT_FILE",
            format!(
                "{}/{}",
                container::TLSCA,
                crate::artifacts::crypto::ALL_TLSCAS
            ),
        ),
        ("CORE_PEER_PROFILE_ENABLED", "false".into()),
        (
            "CORE_OPERATIONS_LISTENADDRESS",
            format!("0.0.0.0:{}", ports::PEER_OPERATIONS),
        ),
        ("CORE_METRICS_PROVIDER", "prometheus".into()),
        // No Docker socket is mounted: chaincode runs as an external service only.
        ("CORE_VM_ENDPOINT", String::new()),
    ];
    WorkloadSpec {
        name: topology.container_name(&node.host),
        image: topology.images.peer.clone(),
        cmd: None,
        env: env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        labels: node_labels(topology, node),
        binds: vec![
            ro(&layout.node_dir(node), container::NODE),
            ro(
                &layout.admin_msp(NodeKind::Peer, &node.domain),
                container::ADMIN_MSP,
            ),
            ro(&layout.tlsca_bundle(), container::TLSCA),
            ro(&layout.peer_config(), container::PEER_CONFIG),
            ro(&layout.builders(), container::BUILDERS),
            // Each channel's configtx.yaml, for an admin's own channel updates from the
            // peer (a ConfigMap on Kubernetes).
            ro(&layout.configtx(), container::CONFIGTX),
        ],
        network: topology.network.clone(),
        aliases: vec![node.host.clone()],
        host_ports: node.host_ports.clone(),
        host_ip: topology.host_ip().to_string(),
        // Chaincode run on the host (`deploy --address host.docker.internal:PORT`), as
        // Docker Desktop provides on its own.
        extra_hosts: vec!["host.docker.internal:host-gateway".into()],
        working_dir: None,
        ports: vec![ports::PEER, ports::PEER_CHAINCODE, ports::PEER_OPERATIONS],
        files: vec![],
        data_dir: Some(DATA_DIR.into()),
    }
}

/// The CouchDB container of a peer: labelled with the peer's org, reachable in the
/// network under its host name, published on the host only when the topology asks.
pub fn couchdb_spec(topology: &Topology, couchdb: &CouchDb, admin: &CouchDbAdmin) -> WorkloadSpec {
    let mut labels = labels(topology, ROLE_COUCHDB);
    labels.insert(LABEL_HOST.into(), couchdb.host.clone());
    labels.insert(LABEL_MSP.into(), couchdb.peer.msp_id.clone());
    WorkloadSpec {
        name: topology.container_name(&couchdb.host),
        image: topology.couchdb_image().to_string(),
        env: crate::network::couchdb::server_env(admin),
        labels,
        network: topology.network.clone(),
        aliases: vec![couchdb.host.clone()],
        host_ports: couchdb
            .host_port
            .map(|port| vec![(ports::COUCHDB, port)])
            .unwrap_or_default(),
        host_ip: topology.host_ip().to_string(),
        ports: vec![ports::COUCHDB],
        data_dir: Some(COUCHDB_DATA_DIR.into()),
        ..WorkloadSpec::default()
    }
}

/// An org's Fabric CA server: started with the org's CA key and certificate (read-only),
/// TLS from the org's TLS CA, the bootstrap registrar `admin`, published on the host.
pub fn ca_spec(
    topology: &Topology,
    layout: &Layout,
    ca: &CertificateAuthority,
    registrar_password: &str,
) -> WorkloadSpec {
    let mut labels = labels(topology, ROLE_CA);
    labels.insert(LABEL_HOST.into(), ca.host.clone());
    labels.insert(LABEL_MSP.into(), ca.msp_id.clone());
    let org = layout.org_dir(NodeKind::Peer, &ca.domain);
    let env = [
        ("FABRIC_CA_HOME", CA_HOME.to_string()),
        ("FABRIC_CA_SERVER_CA_NAME", ca.name.clone()),
        ("FABRIC_CA_SERVER_PORT", ports::CA.to_string()),
        (
            "FABRIC_CA_SERVER_CA_CERTFILE",
            format!("/fabx/ca/ca.{}-cert.pem", ca.domain),
        ),
        ("FABRIC_CA_SERVER_CA_KEYFILE", "/fabx/ca/priv_sk".into()),
        ("FABRIC_CA_SERVER_TLS_ENABLED", "true".into()),
        (
            "FABRIC_CA_SERVER_TLS_CERTFILE",
            "/fabx/tls/server.crt".into(),
        ),
        (
            "FABRIC_CA_SERVER_TLS_KEYFILE",
            "/fabx/tls/server.key".into(),
        ),
        // Attributes and NodeOU types as Fabric CA writes them: registered users may
        // have any type, and any affiliation (fabx registers with the root one).
        ("FABRIC_CA_SERVER_REGISTRY_MAXENROLLMENTS", "-1".into()),
    ];
    WorkloadSpec {
        name: topology.container_name(&ca.host),
        image: topology.ca_image().to_string(),
        cmd: Some(vec![
            "fabric-ca-server".into(),
            "start".into(),
            "-b".into(),
            format!("admin:{registrar_password}"),
        ]),
        env: env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        labels,
        binds: vec![
            ro(&org.join("ca"), "/fabx/ca"),
            ro(&layout.fabric_ca(&ca.domain).join("tls"), "/fabx/tls"),
        ],
        network: topology.network.clone(),
        aliases: vec![ca.host.clone()],
        // Always published (Docker picks the port when the topology does not): fabx and
        // applications reach the CA from the host.
        host_ports: vec![(ports::CA, ca.host_port.unwrap_or(0))],
        host_ip: topology.host_ip().to_string(),
        ports: vec![ports::CA],
        data_dir: Some(CA_HOME.into()),
        ..WorkloadSpec::default()
    }
}
