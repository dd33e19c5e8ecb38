//! `down`: removes every container of the network (chaincode included) with its
//! anonymous volumes, the Docker network, and the generated files.

use super::Network;
use crate::engine::spec::{LABEL_MANAGED, LABEL_NETWORK, LABEL_STATE_DIR, MANAGED};
use crate::engine::{Engine, EngineKind};
use crate::network::error::{Error, Result};
use crate::network::lock::{StateLock, LOCK_WAIT};
use crate::support::reporter::{step, Reporter};
use futures_util::future::try_join_all;
use std::path::{Path, PathBuf};

/// Written into every state directory fabx creates; only such a directory is ever deleted.
pub const STATE_MARKER: &str = ".fabx-state";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DownOutcome {
    pub containers: usize,
    pub network_removed: bool,
    pub state_dir_removed: Option<PathBuf>,
}

impl DownOutcome {
    pub fn removed_nothing(&self) -> bool {
        self.containers == 0 && !self.network_removed && self.state_dir_removed.is_none()
    }
}

impl Network {
    /// Removes the network; a network that is not there is not an error. A network
    /// another state directory owns is refused.
    pub async fn down(&self, reporter: &dyn Reporter) -> Result<DownOutcome> {
        self.down_with(false, reporter).await
    }

    /// Like [`Network::down`]; `force` also removes a network another state directory
    /// owns (for when that directory is gone).
    pub async fn down_with(&self, force: bool, reporter: &dyn Reporter) -> Result<DownOutcome> {
        let _lock = StateLock::acquire(self.layout.root(), "down", LOCK_WAIT, reporter).await?;
        self.check_owner(force).await?;
        step(
            reporter,
            "remove network",
            teardown(
                &*self.engine,
                &self.topology.network,
                Some(self.layout.root()),
            ),
        )
        .await
    }
}

/// Removes everything labelled with `network`. The state directory is the one recorded
/// on the Docker network, else `state_dir`, and only if it carries the marker.
pub async fn teardown(
    engine: &dyn Engine,
    network: &str,
    state_dir: Option<&Path>,
) -> Result<DownOutcome> {
    let containers = engine
        .workloads(&[format!("{LABEL_NETWORK}={network}")])
        .await?;
    if engine.kind() == EngineKind::Docker {
        try_join_all(containers.iter().map(|c| engine.remove(&c.name))).await?;
    }
    // On Kubernetes deleting the namespace deletes everything in it at once.
    let mut outcome = DownOutcome {
        containers: containers.len(),
        ..Default::default()
    };
    let mut dir = state_dir.map(Path::to_path_buf);
    if let Some(labels) = engine.space_labels(network).await? {
        if labels.get(LABEL_MANAGED).map(String::as_str) == Some(MANAGED) {
            if let Some(recorded) = labels.get(LABEL_STATE_DIR) {
                dir = Some(PathBuf::from(recorded));
            }
            engine.remove_space(network).await?;
            outcome.network_removed = true;
        }
    }
    if let Some(dir) = dir.filter(|d| d.join(STATE_MARKER).is_file()) {
        std::fs::remove_dir_all(&dir).map_err(|source| Error::io("remove", &dir, source))?;
        // The default `.fabx/<network>` leaves an empty `.fabx` behind otherwise.
        if let Some(parent) = dir.parent().filter(|p| p.ends_with(".fabx")) {
            let _ = std::fs::remove_dir(parent);
        }
        outcome.state_dir_removed = Some(dir);
    }
    Ok(outcome)
}
