//! A Fabric network: the topology, its state directory and the engine it runs on.

mod calls;
pub mod chaincodes;
mod client_env;
pub mod connection_profile;
pub mod couchdb;
pub mod credentials;
pub mod deploy;
pub mod deployments;
pub mod dev;
pub mod down;
pub mod error;
pub mod fabric_ca;
pub mod identities;
pub mod invoke;
pub mod ledger;
pub mod lock;
pub mod logs;
mod owner;
mod peer_cli;
mod readiness;
mod resume;
pub mod snapshot;
pub mod specs;
pub mod status;
pub mod stop;
mod up;

pub use down::DownOutcome;
pub(crate) use peer_cli::Check;
pub use peer_cli::{cli_admin, endorser, orderer_endpoint};
pub use status::{ChannelInfo, NetworkState, NetworkStatus, NodeStatus};
pub use stop::StopOutcome;
pub use up::UpOutcome;

use crate::artifacts::channel_config::FabricMajor;
use crate::artifacts::layout::Layout;
use crate::engine::spec::{LABEL_NETWORK, LABEL_ROLE};
use crate::engine::{EngineError, EngineRef};
use crate::network::error::{Error, Result};
use crate::topology::{ports, Node, NodeKind, Topology};
use fabx_fabric::participation::{AdminEndpoint, ParticipationClient};
use std::collections::HashSet;
use std::net::SocketAddr;

#[derive(Clone)]
pub struct Network {
    pub topology: Topology,
    pub layout: Layout,
    pub engine: EngineRef,
}

impl Network {
    /// A network on `engine` (a [`crate::DockerEngine`], a [`crate::engine::kubernetes::KubeEngine`]).
    pub fn new(engine: impl crate::engine::Engine, topology: Topology, layout: Layout) -> Network {
        Network::on(std::sync::Arc::new(engine), topology, layout)
    }

    /// A network on a shared engine handle.
    pub fn on(engine: EngineRef, topology: Topology, layout: Layout) -> Network {
        Network {
            topology,
            layout,
            engine,
        }
    }

    /// The orgs on `channel`, in topology order.
    pub fn channel_orgs(&self, channel: &str) -> Result<Vec<&crate::topology::PeerOrg>> {
        self.topology
            .channel_orgs(channel)
            .ok_or_else(|| Error::UnknownChannel {
                channel: channel.to_string(),
                known: self
                    .topology
                    .channels()
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Every peer on `channel` (the peers of its orgs).
    pub fn channel_peers(&self, channel: &str) -> Result<Vec<Node>> {
        let members: Vec<String> = self
            .channel_orgs(channel)?
            .iter()
            .map(|o| o.msp_id.clone())
            .collect();
        Ok(self
            .topology
            .peers()
            .into_iter()
            .filter(|p| members.contains(&p.msp_id))
            .collect())
    }

    /// Checks that `peer` is on `channel`; the error names the channel's orgs.
    pub fn check_on_channel(&self, peer: &Node, channel: &str) -> Result<()> {
        let orgs = self.channel_orgs(channel)?;
        if orgs.iter().any(|o| o.msp_id == peer.msp_id) {
            return Ok(());
        }
        Err(Error::NotOnChannel {
            peer: peer.host.clone(),
            msp_id: peer.msp_id.clone(),
            channel: channel.to_string(),
            members: orgs
                .iter()
                .map(|o| o.msp_id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// A peer by host name (`peer0.org1.example.com`), or an org's first peer by MSP ID.
    pub fn find_peer(&self, name: &str) -> Result<Node> {
        let peers = self.topology.peers();
        if let Some(peer) = peers.iter().find(|p| p.host == name) {
            return Ok(peer.clone());
        }
        // Host names have dots; a name without one was meant as an MSP ID.
        if self.topology.org(name).is_some() || !name.contains('.') {
            return self.org_peer(name);
        }
        Err(Error::UnknownPeer {
            peer: name.to_string(),
            known: peers
                .iter()
                .map(|p| p.host.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// Names of the network's containers of `role` that are running, from one list call.
    pub(crate) async fn running_containers(&self, role: &str) -> Result<HashSet<String>> {
        let found = self
            .engine
            .workloads(&[
                format!("{LABEL_NETWORK}={}", self.topology.network),
                format!("{LABEL_ROLE}={role}"),
            ])
            .await?;
        Ok(found
            .into_iter()
            .filter(|w| w.state == "running")
            .map(|w| w.name)
            .collect())
    }

    /// A client of the orderers' channel participation API, as the orderer org admin.
    pub(crate) fn participation(&self) -> Result<ParticipationClient> {
        let oo = &self.topology.orderer_org;
        let tls_ca = self
            .layout
            .tlsca_bundle()
            .join(format!("{}.pem", oo.domain));
        let admin_tls = self
            .layout
            .user_dir(NodeKind::Orderer, &oo.domain, "Admin")
            .join("tls");
        Ok(ParticipationClient::new(&tls_ca, &admin_tls)?)
    }

    /// An orderer's admin endpoint, where fabx reaches it.
    pub(crate) async fn admin_endpoint(&self, orderer: &Node) -> Result<AdminEndpoint> {
        Ok(AdminEndpoint {
            orderer: orderer.host.clone(),
            address: self.published_socket(orderer, ports::ORDERER_ADMIN).await?,
        })
    }

    /// Where fabx, on this machine, reaches `port` of `node` (a published port on
    /// Docker, a port forward on Kubernetes).
    pub(crate) async fn published_socket(&self, node: &Node, port: u16) -> Result<SocketAddr> {
        let name = self.topology.container_name(&node.host);
        self.engine
            .reach(&name, port)
            .await
            .map_err(|e| self.missing_is_not_up(e.into()))
    }

    /// `host:port` where a client on this machine reaches `port` of `node`.
    pub(crate) async fn published_address(&self, node: &Node, port: u16) -> Result<String> {
        let name = self.topology.container_name(&node.host);
        self.engine
            .client_address(&name, port)
            .await
            .map_err(|e| self.missing_is_not_up(e.into()))
    }

    fn missing_is_not_up(&self, e: Error) -> Error {
        match e {
            Error::Engine(EngineError::NoWorkload { .. }) => Error::NotUp {
                network: self.topology.network.clone(),
            },
            e => e,
        }
    }

    /// Fabric's major release of the orderer image: its `FABRIC_VER` (set by Fabric's
    /// Dockerfiles), else the tag (`:3.1`); 2 when neither tells.
    pub(crate) async fn fabric_major(&self) -> Result<(FabricMajor, Option<String>)> {
        let image = &self.topology.images.orderer;
        let env = self
            .engine
            .image_config(image)
            .await?
            .map(|c| c.env)
            .unwrap_or_default();
        let version = env
            .iter()
            .find_map(|e| e.strip_prefix("FABRIC_VER="))
            .map(str::to_string)
            .or_else(|| image.rsplit_once(':').map(|(_, tag)| tag.to_string()));
        let major = version
            .as_deref()
            .map(|v| v.trim_start_matches('v'))
            .and_then(|v| v.split('.').next())
            .and_then(|m| m.parse().ok());
        Ok((FabricMajor(major.unwrap_or(2)), version))
    }
}
