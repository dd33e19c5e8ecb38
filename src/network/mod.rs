//! A Fabric network: the topology, its state directory and the engine it runs on.

pub mod chaincodes;
mod client_env;
pub mod connection_profile;
pub mod down;
pub mod logs;
mod owner;
mod peer_calls;
mod resume;
pub mod status;
mod up;

pub use down::DownOutcome;
pub use status::{ChannelInfo, NetworkStatus, NodeStatus};
pub use up::UpOutcome;

use crate::channel_config::FabricMajor;
use crate::commands::{peer_env, PeerCli};
use crate::docker::{ExecOutput, LABEL_NETWORK, LABEL_ROLE};
use crate::engine::EngineRef;
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::participation::{AdminEndpoint, ParticipationClient};
use crate::topology::{ports, Node, NodeKind, Topology};
use crate::transient::{self, Backoff, Failure, RETRY_BOUND};
use std::collections::HashSet;
use std::net::SocketAddr;

#[derive(Clone)]
pub struct Network {
    pub topology: Topology,
    pub layout: Layout,
    pub engine: EngineRef,
}

/// Whether a failed command is an error or an answer the caller reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// A non-zero exit (after transient failures were retried) is [`Error::Command`].
    Checked,
    /// A non-zero exit is returned as output: the caller reads its meaning (a 404 from
    /// querycommitted, a chaincode's error message).
    Unchecked,
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

    /// The one way a Fabric CLI runs in a container: transient failures (see
    /// [`crate::transient`]) are tried again with backoff within a bound; a permanent
    /// one fails at once, or is returned as output with [`Check::Unchecked`].
    pub(crate) async fn run_cli(
        &self,
        container: &str,
        args: Vec<String>,
        env: Vec<String>,
        check: Check,
    ) -> Result<ExecOutput> {
        let mut backoff = Backoff::new(RETRY_BOUND);
        loop {
            let output = self.engine.exec(container, &args, &env).await?;
            if output.success() {
                return Ok(output);
            }
            let transient = matches!(
                transient::classify(&output.printed()),
                Failure::Transient(_)
            );
            if transient && backoff.wait().await {
                continue;
            }
            return match check {
                Check::Unchecked => Ok(output),
                Check::Checked => Err(Error::Command {
                    container: container.to_string(),
                    command: args.join(" "),
                    message: output.last_error_line(),
                }),
            };
        }
    }

    /// Runs a `peer` command as the org admin inside the peer's own container.
    pub(crate) async fn peer(&self, peer: &Node, command: &impl PeerCli) -> Result<ExecOutput> {
        self.peer_with(peer, command, Check::Checked).await
    }

    pub(crate) async fn peer_with(
        &self,
        peer: &Node,
        command: &impl PeerCli,
        check: Check,
    ) -> Result<ExecOutput> {
        let container = self.topology.container_name(&peer.host);
        self.run_cli(&container, command.args(), peer_env(peer, command), check)
            .await
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
            .map_err(|e| self.missing_is_not_up(e))
    }

    /// `host:port` where a client on this machine reaches `port` of `node`.
    pub(crate) async fn published_address(&self, node: &Node, port: u16) -> Result<String> {
        let name = self.topology.container_name(&node.host);
        self.engine
            .client_address(&name, port)
            .await
            .map_err(|e| self.missing_is_not_up(e))
    }

    fn missing_is_not_up(&self, e: Error) -> Error {
        match e {
            Error::NoWorkload { .. } => Error::NotUp {
                network: self.topology.network.clone(),
            },
            e => e,
        }
    }

    /// Fabric's major release of the orderer image: its `FABRIC_VER` (set by Fabric's
    /// Dockerfiles), else the tag (`:3.1`); 2 when neither tells.
    pub(crate) async fn fabric_major(&self) -> Result<(FabricMajor, Option<String>)> {
        let image = &self.topology.images.orderer;
        let env = self.engine.image_env(image).await?.unwrap_or_default();
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

/// The host of a published binding as a client names it: `localhost` for loopback and
/// every-interface bindings (the nodes' TLS certificates name it), else the address.
pub(crate) fn client_host(ip: &str) -> String {
    match ip {
        "127.0.0.1" | "0.0.0.0" | "::" | "::1" | "" => "localhost".to_string(),
        ip if ip.contains(':') => format!("[{ip}]"),
        ip => ip.to_string(),
    }
}
