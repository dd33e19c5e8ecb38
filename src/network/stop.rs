//! `stop` and `start`: a network paused on purpose. `stop` stops every container of the
//! network (chaincode servers included) and removes nothing; `start` starts them again
//! and waits as `up` does (see [`super::resume`]). Docker only: a cluster has no stopped
//! pod to start again.

use super::up::UpOutcome;
use super::Network;
use crate::engine::spec::{LABEL_NETWORK, LABEL_ROLE};
use crate::engine::{EngineError, EngineKind, Workload};
use crate::network::error::{Error, Result};
use crate::network::lock::{StateLock, LOCK_WAIT};
use crate::network::specs::ROLE_COUCHDB;
use crate::support::reporter::{step, Reporter};
use futures_util::future::try_join_all;

/// What `stop` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopOutcome {
    /// Containers stopped now.
    pub stopped: Vec<String>,
    /// Containers that were not running already.
    pub already_stopped: usize,
}

impl Network {
    /// Stops every container of the network, keeping containers, ledgers and published
    /// ports; [`Network::start`] (or `up`) starts them again.
    pub async fn stop(&self, reporter: &dyn Reporter) -> Result<StopOutcome> {
        let (_lock, existing) = self.locked_workloads("stop", reporter).await?;
        let (running, stopped): (Vec<_>, Vec<_>) = existing
            .into_iter()
            .partition(|w| matches!(w.state.as_str(), "running" | "paused" | "restarting"));
        // Chaincode servers and peers first: an orderer or a CouchDB stopped under a
        // peer makes the peer log errors until it stops too.
        let (served, others): (Vec<_>, Vec<_>) = running.iter().partition(|w| {
            matches!(
                w.labels.get(LABEL_ROLE).map(String::as_str),
                Some("orderer" | ROLE_COUCHDB)
            )
        });
        for group in [others, served] {
            try_join_all(group.iter().map(|w| async move {
                let name = format!("stop {}", w.name);
                step(reporter, &name, self.engine.stop(&w.name)).await
            }))
            .await?;
        }
        Ok(StopOutcome {
            stopped: running.into_iter().map(|w| w.name).collect(),
            already_stopped: stopped.len(),
        })
    }

    /// Starts a stopped network again with its ledgers, chaincode servers and ports, and
    /// waits until it is ready as after `up`. A running network is left as it is.
    pub async fn start(&self, reporter: &dyn Reporter) -> Result<UpOutcome> {
        let (_lock, existing) = self.locked_workloads("start", reporter).await?;
        self.resume(&existing, reporter).await
    }

    /// For `command` on Docker: the state lock and the network's workloads, which must
    /// exist.
    async fn locked_workloads(
        &self,
        command: &str,
        reporter: &dyn Reporter,
    ) -> Result<(StateLock, Vec<Workload>)> {
        self.docker_only(&format!("fabx {command}"))?;
        let lock = StateLock::acquire(self.layout.root(), command, LOCK_WAIT, reporter).await?;
        self.check_owner(false).await?;
        let existing = self
            .engine
            .workloads(&[format!("{LABEL_NETWORK}={}", self.topology.network)])
            .await?;
        if existing.is_empty() {
            return Err(Error::NotUp {
                network: self.topology.network.clone(),
            });
        }
        Ok((lock, existing))
    }

    /// An error unless the network runs on Docker.
    pub(crate) fn docker_only(&self, command: &str) -> Result<()> {
        match self.engine.kind() {
            EngineKind::Docker => Ok(()),
            EngineKind::Kubernetes => Err(EngineError::DockerOnly {
                what: command.to_string(),
                instead:
                    "on Kubernetes, `fabx down` removes the network and `fabx up` makes it anew"
                        .into(),
            }
            .into()),
        }
    }
}
