//! `env`: what a host `peer` CLI (or an application) needs to use an org over TLS: the
//! published address of one of its peers and of an orderer, and absolute paths of the TLS
//! roots and of a user's MSP in the state directory.

use super::Network;
use crate::network::error::{Error, Result};
use crate::topology::{ports, Node, NodeKind};
use std::path::Path;

impl Network {
    /// `export`-ready variables for org `msp_id`, its peer `peer` (host or short name;
    /// default its first) and user `user` (`Admin`, `User1`, or one `fabx identity add`
    /// made).
    pub async fn client_env(
        &self,
        msp_id: &str,
        peer: Option<&str>,
        user: &str,
    ) -> Result<Vec<(String, String)>> {
        let org = self.topology.org(msp_id).ok_or_else(|| Error::UnknownOrg {
            msp_id: msp_id.to_string(),
            known: self.topology.msp_ids().join(", "),
        })?;
        let peers: Vec<Node> = self
            .topology
            .peers()
            .into_iter()
            .filter(|p| p.msp_id == msp_id)
            .collect();
        let node = match peer {
            None => peers.first(),
            Some(name) => peers.iter().find(|p| p.host == name || p.name == name),
        }
        .ok_or_else(|| Error::BadInput {
            problem: format!("{msp_id} has no peer {:?}", peer.unwrap_or_default()),
            fix: format!(
                "name one of {}",
                peers
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })?;
        let msp = absolute(
            &self
                .layout
                .user_dir(NodeKind::Peer, &org.domain, user)
                .join("msp"),
        );
        if !msp.is_dir() {
            return Err(Error::BadInput {
                problem: format!(
                    "{msp_id} has no user {user:?} ({} is not there)",
                    msp.display()
                ),
                fix: format!("use Admin, User1 or an identity `fabx identity list {msp_id}` shows, on a network that is up"),
            });
        }
        let peer_address = self.published_address(node, ports::PEER).await?;
        let orderers = self.topology.orderers();
        let mut orderer_address = None;
        for orderer in &orderers {
            if let Ok(address) = self.published_address(orderer, ports::ORDERER).await {
                orderer_address = Some(address);
                break;
            }
        }
        let tlsca = |domain: &str| {
            absolute(&self.layout.tlsca_bundle().join(format!("{domain}.pem")))
                .display()
                .to_string()
        };
        let mut env = vec![
            ("CORE_PEER_TLS_ENABLED".to_string(), "true".to_string()),
            ("CORE_PEER_LOCALMSPID".into(), msp_id.to_string()),
            ("CORE_PEER_ADDRESS".into(), peer_address),
            ("CORE_PEER_TLS_ROOTCERT_FILE".into(), tlsca(&org.domain)),
            ("CORE_PEER_MSPCONFIGPATH".into(), msp.display().to_string()),
        ];
        if let Some(address) = orderer_address {
            env.push(("ORDERER_ADDRESS".into(), address));
            env.push((
                "ORDERER_CA".into(),
                tlsca(&self.topology.orderer_org.domain),
            ));
        }
        Ok(env)
    }
}

fn absolute(path: &Path) -> std::path::PathBuf {
    path.canonicalize()
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}
