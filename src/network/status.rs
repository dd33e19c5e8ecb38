//! `status`: every node of the network as Docker sees it, with the channels it has
//! joined and their heights (asked of the nodes themselves).

use super::Network;
use crate::commands::{OsnadminCommand, PeerCommand};
use crate::docker::{LABEL_HOST, LABEL_MSP, LABEL_NETWORK, LABEL_ROLE};
use crate::error::Result;
use crate::topology::{Node, NodeKind};
use futures_util::future::join_all;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChannelInfo {
    pub name: String,
    pub height: Option<u64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NodeStatus {
    pub host: String,
    pub kind: NodeKind,
    pub msp_id: String,
    pub container: String,
    /// Docker's state: `running`, `exited`, ...
    pub state: String,
    pub channels: Vec<ChannelInfo>,
    /// Why channels could not be read, if they could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NetworkStatus {
    pub network: String,
    pub up: bool,
    pub nodes: Vec<NodeStatus>,
    /// Other containers of the network: the tools container and chaincode servers.
    pub others: Vec<OtherContainer>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct OtherContainer {
    pub container: String,
    /// `tools` or `chaincode`.
    pub role: String,
    pub state: String,
}

impl Network {
    pub async fn status(&self) -> Result<NetworkStatus> {
        let name = &self.topology.network;
        let containers = self
            .engine
            .containers_labelled(&[format!("{LABEL_NETWORK}={name}")])
            .await?;
        let mut nodes = Vec::new();
        let mut others = Vec::new();
        for c in &containers {
            let labels = c.labels.clone().unwrap_or_default();
            let container = c
                .names
                .as_ref()
                .and_then(|n| n.first())
                .map(|n| n.trim_start_matches('/').to_string())
                .unwrap_or_default();
            let state = c.state.map(|s| s.to_string()).unwrap_or_default();
            let kind = match labels.get(LABEL_ROLE).map(String::as_str) {
                Some("orderer") => NodeKind::Orderer,
                Some("peer") => NodeKind::Peer,
                role => {
                    others.push(OtherContainer {
                        container,
                        role: role.unwrap_or("unknown").to_string(),
                        state,
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
            nodes.push((node, container, state));
        }
        let statuses = join_all(
            nodes
                .into_iter()
                .map(|(node, container, state)| async move {
                    let channels = if state == "running" {
                        self.channels_of(&node).await
                    } else {
                        Ok(vec![])
                    };
                    let (channels, error) = match channels {
                        Ok(c) => (c, None),
                        Err(e) => (vec![], Some(e.to_string())),
                    };
                    NodeStatus {
                        host: node.host,
                        kind: node.kind,
                        msp_id: node.msp_id,
                        container,
                        state,
                        channels,
                        error,
                    }
                }),
        )
        .await;
        let mut statuses = statuses;
        statuses.sort_by(|a, b| {
            (a.kind != NodeKind::Orderer, &a.host).cmp(&(b.kind != NodeKind::Orderer, &b.host))
        });
        others.sort();
        Ok(NetworkStatus {
            network: name.clone(),
            up: !statuses.is_empty(),
            nodes: statuses,
            others,
        })
    }

    pub(super) async fn channels_of(&self, node: &Node) -> Result<Vec<ChannelInfo>> {
        match node.kind {
            NodeKind::Peer => {
                let list = self.peer(node, &PeerCommand::ChannelList).await?;
                let names = parse_peer_channel_list(&list.stdout);
                let infos = join_all(names.into_iter().map(|name| async move {
                    let info = PeerCommand::ChannelGetInfo {
                        channel: name.clone(),
                    };
                    let height = self
                        .peer(node, &info)
                        .await
                        .ok()
                        .and_then(|o| parse_peer_height(&o.stdout));
                    ChannelInfo { name, height }
                }));
                Ok(infos.await)
            }
            NodeKind::Orderer => {
                let list = self.osnadmin(node, &OsnadminCommand::List).await?;
                let names = parse_osnadmin_list(&list.stdout);
                let infos = join_all(names.into_iter().map(|name| async move {
                    let info = OsnadminCommand::Info {
                        channel: name.clone(),
                    };
                    let height = self
                        .osnadmin(node, &info)
                        .await
                        .ok()
                        .and_then(|o| json_body(&o.stdout))
                        .and_then(|v| v["height"].as_u64());
                    ChannelInfo { name, height }
                }));
                Ok(infos.await)
            }
        }
    }
}

/// `peer channel list` prints a header line, then one channel per line.
pub fn parse_peer_channel_list(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .skip_while(|l| !l.contains("has joined"))
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// `peer channel getinfo` prints `Blockchain info: {"height":3,...}`.
pub fn parse_peer_height(stdout: &str) -> Option<u64> {
    let json = stdout.split_once("Blockchain info:")?.1.trim();
    serde_json::from_str::<serde_json::Value>(json).ok()?["height"].as_u64()
}

/// osnadmin prints `Status: 200` and then a JSON body.
fn json_body(stdout: &str) -> Option<serde_json::Value> {
    let start = stdout.find('{')?;
    serde_json::from_str(&stdout[start..]).ok()
}

/// The channel names in `osnadmin channel list` output.
pub fn parse_osnadmin_list(stdout: &str) -> Vec<String> {
    json_body(stdout)
        .and_then(|v| v["channels"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c["name"].as_str().map(String::from))
        .collect()
}
