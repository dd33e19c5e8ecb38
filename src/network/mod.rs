//! A Fabric network on Docker: the topology, its state directory and the engine.

mod client_env;
pub mod down;
pub mod logs;
mod owner;
mod resume;
pub mod status;
mod up;

pub use down::DownOutcome;
pub use status::{ChannelInfo, NetworkStatus, NodeStatus};
pub use up::UpOutcome;

use crate::commands::{peer_env, OsnadminCommand, PeerCli};
use crate::docker::{Engine, ExecOutput};
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::topology::{Node, Topology};
use crate::transient::{self, Backoff, Failure, RETRY_BOUND};

#[derive(Clone)]
pub struct Network {
    pub topology: Topology,
    pub layout: Layout,
    pub engine: Engine,
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
    pub fn new(engine: Engine, topology: Topology, layout: Layout) -> Network {
        Network {
            topology,
            layout,
            engine,
        }
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

    /// Runs an `osnadmin` command against an orderer from the tools container.
    pub(crate) async fn osnadmin(
        &self,
        orderer: &Node,
        command: &OsnadminCommand,
    ) -> Result<ExecOutput> {
        self.run_cli(
            &self.topology.tools_container(),
            command.args(orderer),
            vec![],
            Check::Checked,
        )
        .await
    }
}
