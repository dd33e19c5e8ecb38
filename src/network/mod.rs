//! A Fabric network on Docker: the topology, its state directory and the engine.

pub mod down;
pub mod status;
mod up;

pub use down::DownOutcome;
pub use status::{ChannelInfo, NetworkStatus, NodeStatus};
pub use up::UpOutcome;

use crate::commands::{OsnadminCommand, PeerCli, PeerCommand};
use crate::docker::{Engine, ExecOutput};
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::topology::{Node, Topology};

#[derive(Clone)]
pub struct Network {
    pub topology: Topology,
    pub layout: Layout,
    pub engine: Engine,
}

impl Network {
    pub fn new(engine: Engine, topology: Topology, layout: Layout) -> Network {
        Network {
            topology,
            layout,
            engine,
        }
    }

    /// Runs a command in a container; a non-zero exit is an error carrying its last line.
    pub async fn exec_checked(
        &self,
        container: &str,
        args: Vec<String>,
        env: Vec<String>,
    ) -> Result<ExecOutput> {
        let output = self.engine.exec(container, &args, &env).await?;
        if output.success() {
            Ok(output)
        } else {
            Err(Error::Command {
                container: container.to_string(),
                command: args.join(" "),
                message: output.last_error_line(),
            })
        }
    }

    /// Runs a `peer` command as the org admin inside the peer's own container.
    pub async fn peer(&self, peer: &Node, command: &impl PeerCli) -> Result<ExecOutput> {
        let container = self.topology.container_name(&peer.host);
        self.exec_checked(&container, command.args(), PeerCommand::env(peer))
            .await
    }

    /// Like [`Network::peer`], with the CLI logging at INFO (some results are only
    /// logged), and without turning a non-zero exit into an error.
    pub async fn peer_logged(&self, peer: &Node, command: &impl PeerCli) -> Result<ExecOutput> {
        let container = self.topology.container_name(&peer.host);
        let mut env = PeerCommand::env(peer);
        env.retain(|e| !e.starts_with("FABRIC_LOGGING_SPEC="));
        // Fabric 3.x logs every gRPC connection at INFO; keep those out.
        env.push("FABRIC_LOGGING_SPEC=grpc=error:info".into());
        Ok(self.engine.exec(&container, &command.args(), &env).await?)
    }

    /// Runs an `osnadmin` command against an orderer from the tools container.
    pub async fn osnadmin(&self, orderer: &Node, command: &OsnadminCommand) -> Result<ExecOutput> {
        self.exec_checked(
            &self.topology.tools_container(),
            command.args(orderer),
            vec![],
        )
        .await
    }
}
