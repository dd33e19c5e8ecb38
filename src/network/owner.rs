//! A network belongs to the state directory that created it (recorded on its Docker
//! network). `up`, `deploy` and `down` from another directory would act on files and a
//! lock that are not the owner's, so they are refused, naming the owner.

use super::down::STATE_MARKER;
use super::Network;
use crate::engine::spec::{LABEL_MANAGED, LABEL_STATE_DIR, MANAGED};
use crate::network::error::{Error, Result};
use std::path::{Path, PathBuf};

/// How a state directory is recorded and compared: canonical when it exists (so a
/// symlinked or relative path names the same directory), else absolute.
pub(crate) fn state_dir_identity(root: &Path) -> PathBuf {
    root.canonicalize()
        .or_else(|_| std::path::absolute(root))
        .unwrap_or_else(|_| root.to_path_buf())
}

impl Network {
    /// Fails when the network exists and another state directory owns it; `force`
    /// accepts that (for `down` when the owner directory is gone).
    pub(crate) async fn check_owner(&self, force: bool) -> Result<()> {
        let name = &self.topology.network;
        let Some(labels) = self.engine.space_labels(name).await? else {
            return Ok(());
        };
        if labels.get(LABEL_MANAGED).map(String::as_str) != Some(MANAGED) || force {
            return Ok(());
        }
        let Some(owner) = labels.get(LABEL_STATE_DIR).map(PathBuf::from) else {
            return Ok(());
        };
        if owner == state_dir_identity(self.layout.root()) {
            return Ok(());
        }
        Err(Error::OwnedElsewhere {
            network: name.clone(),
            gone: !owner.join(STATE_MARKER).is_file(),
            owner,
        })
    }
}
