//! `status`: every node of the network as its engine sees it, with the channels it has
//! joined and their heights, asked of the nodes themselves over gRPC (a peer's system
//! chaincodes, an orderer's channel participation API).

use super::calls::retrying;
use super::chaincodes::ChannelChaincodes;
use super::Network;
use crate::engine::spec::{LABEL_HOST, LABEL_MSP, LABEL_NETWORK, LABEL_ROLE};
use crate::network::deploy::servers::LABEL_PACKAGE_ID;
use crate::network::error::{Error, Result};
use crate::network::specs::ROLE_COUCHDB;
use crate::topology::{couchdb_host, Node, NodeKind, StateDatabase};
use fabx_fabric::system;
use futures_util::future::join_all;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChannelInfo {
    pub name: String,
    pub height: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NodeStatus {
    pub host: String,
    pub kind: NodeKind,
    pub msp_id: String,
    pub container: String,
    /// Docker's state: `running`, `exited`, ...
    pub state: String,
    /// Where applications and host CLIs reach it: published `host:port`s.
    pub addresses: Vec<String>,
    pub channels: Vec<ChannelInfo>,
    /// A peer's world state database (None for an orderer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_database: Option<StateDbStatus>,
    /// Why channels could not be read, if they could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Where a peer keeps its world state, and for CouchDB its container.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StateDbStatus {
    pub database: StateDatabase,
    /// The CouchDB container (None for LevelDB, inside the peer; or when it is missing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// The CouchDB container's state, `missing` when the topology has one and the
    /// engine does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Published `host:port` of CouchDB, when the topology asks for one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
}

/// The network as a whole.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum NetworkState {
    /// No node exists.
    Absent,
    /// Every node runs.
    Running,
    /// No node runs (`fabx stop`, a Docker restart): `fabx start` starts it again.
    Stopped,
    /// Some nodes run, some do not.
    PartlyRunning,
}

impl NetworkState {
    /// From each node's state, and each CouchDB's.
    fn of(nodes: &[NodeStatus]) -> NetworkState {
        let states: Vec<&str> = nodes
            .iter()
            .map(|n| n.state.as_str())
            .chain(
                nodes
                    .iter()
                    .filter_map(|n| n.state_database.as_ref()?.state.as_deref()),
            )
            .collect();
        let running = states.iter().filter(|s| **s == "running").count();
        match (nodes.len(), running) {
            (0, _) => NetworkState::Absent,
            (_, running) if running == states.len() => NetworkState::Running,
            (_, 0) => NetworkState::Stopped,
            _ => NetworkState::PartlyRunning,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NetworkState::Absent => "absent",
            NetworkState::Running => "running",
            NetworkState::Stopped => "stopped",
            NetworkState::PartlyRunning => "partly running",
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NetworkStatus {
    pub network: String,
    /// Whether the network's nodes exist (running or not); see `state`.
    pub up: bool,
    pub state: NetworkState,
    pub nodes: Vec<NodeStatus>,
    /// Other containers of the network: chaincode servers.
    pub others: Vec<OtherContainer>,
    /// Each channel's committed chaincodes (empty when the network is not up).
    pub channels: Vec<ChannelChaincodes>,
    /// `docker` or `kubernetes`, and where (a Docker endpoint, a context and namespace).
    pub engine: String,
    /// Where the ledgers are kept, when the engine has a choice (Kubernetes: volume
    /// claims, or emptyDir without a default StorageClass).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct OtherContainer {
    pub container: String,
    /// `chaincode` or `ca`.
    pub role: String,
    pub state: String,
    /// For a chaincode container: the package it serves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_id: Option<String>,
    /// The org it belongs to (a CA server's), if labelled so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msp_id: Option<String>,
    /// Published `host:port`s (a CA server's REST API).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
}

impl Network {
    pub async fn status(&self) -> Result<NetworkStatus> {
        let name = &self.topology.network;
        let containers = self
            .engine
            .workloads(&[format!("{LABEL_NETWORK}={name}")])
            .await?;
        let mut nodes = Vec::new();
        let mut others = Vec::new();
        let couchdbs: Vec<&crate::engine::Workload> = containers
            .iter()
            .filter(|c| c.labels.get(LABEL_ROLE).map(String::as_str) == Some(ROLE_COUCHDB))
            .collect();
        let state_database = |peer: &Node| {
            let database = self.topology.state_database_of(&peer.msp_id);
            let host = couchdb_host(&peer.host);
            let container = couchdbs
                .iter()
                .find(|c| c.labels.get(LABEL_HOST) == Some(&host));
            StateDbStatus {
                database,
                container: container.map(|c| c.name.clone()),
                state: match (database, container) {
                    (StateDatabase::Leveldb, None) => None,
                    (_, Some(c)) => Some(c.state.clone()),
                    (StateDatabase::Couchdb, None) => Some("missing".into()),
                },
                addresses: container
                    .map(|c| published_addresses(c))
                    .unwrap_or_default(),
            }
        };
        for c in containers.iter().filter(|c| !couchdbs.contains(c)) {
            let labels = c.labels.clone();
            let container = c.name.clone();
            let state = c.state.clone();
            let kind = match labels.get(LABEL_ROLE).map(String::as_str) {
                Some("orderer") => NodeKind::Orderer,
                Some("peer") => NodeKind::Peer,
                role => {
                    others.push(OtherContainer {
                        container,
                        role: role.unwrap_or("unknown").to_string(),
                        state,
                        package_id: labels.get(LABEL_PACKAGE_ID).cloned(),
                        msp_id: labels.get(LABEL_MSP).cloned(),
                        addresses: published_addresses(c),
                    });
                    continue;
                }
            };
            let host = labels.get(LABEL_HOST).cloned().unwrap_or_default();
            let domain = host.split_once('.').map(|(_, d)| d).unwrap_or_default();
            let node = Node {
                kind,
                name: host.split('.').next().unwrap_or_default().to_string(),
                host: host.clone(),
                msp_id: labels.get(LABEL_MSP).cloned().unwrap_or_default(),
                domain: domain.to_string(),
                host_ports: vec![],
            };
            let addresses = published_addresses(c);
            nodes.push((node, container, state, addresses));
        }
        let state_database = &state_database;
        let statuses = join_all(nodes.into_iter().map(
            |(node, container, state, addresses)| async move {
                let channels = if state == "running" {
                    self.channels_of(&node).await
                } else {
                    Ok(vec![])
                };
                let (channels, error) = match channels {
                    Ok(c) => (c, None),
                    Err(e) => (vec![], Some(e.to_string())),
                };
                let state_database = (node.kind == NodeKind::Peer).then(|| state_database(&node));
                NodeStatus {
                    host: node.host,
                    kind: node.kind,
                    msp_id: node.msp_id,
                    container,
                    state,
                    addresses,
                    channels,
                    state_database,
                    error,
                }
            },
        ))
        .await;
        let mut statuses = statuses;
        statuses.sort_by(|a, b| {
            (a.kind != NodeKind::Orderer, &a.host).cmp(&(b.kind != NodeKind::Orderer, &b.host))
        });
        others.sort();
        let peers_running = statuses
            .iter()
            .any(|n| n.kind == NodeKind::Peer && n.state == "running");
        let channels = if peers_running {
            self.channel_chaincodes(&others).await
        } else {
            vec![]
        };
        let storage = match statuses.is_empty() {
            true => None,
            false => self.engine.storage().await?,
        };
        Ok(NetworkStatus {
            network: name.clone(),
            up: !statuses.is_empty(),
            state: NetworkState::of(&statuses),
            nodes: statuses,
            others,
            channels,
            engine: format!(
                "{} ({})",
                self.engine.kind().as_str(),
                self.engine.endpoint()
            ),
            storage,
        })
    }

    /// The channels a node has joined and their heights; output that cannot be read is
    /// an error (a node is never shown as having no channels because of it).
    pub(super) async fn channels_of(&self, node: &Node) -> Result<Vec<ChannelInfo>> {
        if node.kind == NodeKind::Orderer {
            return self.orderer_channels(node).await;
        }
        let payload = self
            .evaluate_system(node, system::joined_channels())
            .await?;
        let names = system::read_joined_channels(&node.host, &payload)?;
        let infos = names.into_iter().map(|name| async move {
            let payload = self
                .evaluate_system(node, system::chain_info(&name))
                .await?;
            let height = system::read_height(&node.host, &payload)?;
            Ok::<_, Error>(ChannelInfo { name, height })
        });
        join_all(infos).await.into_iter().collect()
    }

    /// An orderer's channels and heights, from its channel participation API.
    async fn orderer_channels(&self, orderer: &Node) -> Result<Vec<ChannelInfo>> {
        let client = self.participation()?;
        let endpoint = self.admin_endpoint(orderer).await?;
        let names = retrying(|| client.list(&endpoint)).await?;
        let infos = names.into_iter().map(|name| {
            let (client, endpoint) = (&client, &endpoint);
            async move {
                let info = retrying(|| client.info(endpoint, &name)).await?;
                Ok::<_, Error>(ChannelInfo {
                    name,
                    height: info.height,
                })
            }
        });
        join_all(infos).await.into_iter().collect()
    }
}

/// The workload's published ports as `host_ip:port`, sorted.
fn published_addresses(c: &crate::engine::Workload) -> Vec<String> {
    let mut addresses: Vec<String> = c
        .published
        .iter()
        // Docker lists an IPv6 twin of each binding on some hosts.
        .filter(|(_, ip, _)| !ip.contains(':'))
        .map(|(_, ip, port)| format!("{ip}:{port}"))
        .collect();
    addresses.sort();
    addresses.dedup();
    addresses
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(state: &str) -> NodeStatus {
        NodeStatus {
            host: "peer0.org1.example.com".into(),
            kind: NodeKind::Peer,
            msp_id: "Org1MSP".into(),
            container: "c".into(),
            state: state.into(),
            addresses: vec![],
            channels: vec![],
            state_database: None,
            error: None,
        }
    }

    #[test]
    fn a_network_is_stopped_only_when_no_node_runs() {
        let of =
            |states: &[&str]| NetworkState::of(&states.iter().map(|s| node(s)).collect::<Vec<_>>());
        assert_eq!(of(&[]), NetworkState::Absent);
        assert_eq!(of(&["running", "running"]), NetworkState::Running);
        assert_eq!(of(&["exited", "created"]), NetworkState::Stopped);
        assert_eq!(of(&["running", "exited"]), NetworkState::PartlyRunning);
        // A stopped CouchDB under running peers: partly running.
        let mut peer = node("running");
        peer.state_database = Some(StateDbStatus {
            database: StateDatabase::Couchdb,
            container: Some("couch".into()),
            state: Some("exited".into()),
            addresses: vec![],
        });
        assert_eq!(
            NetworkState::of(&[peer.clone()]),
            NetworkState::PartlyRunning
        );
        peer.state_database.as_mut().unwrap().state = Some("running".into());
        assert_eq!(NetworkState::of(&[peer]), NetworkState::Running);
        assert_eq!(
            serde_json::to_value(NetworkState::PartlyRunning).unwrap(),
            "partly_running"
        );
    }
}
