//! `status`, per channel: the committed chaincodes (name, version, sequence, endorsement
//! policy), the package each org's peer runs for them, and that package's containers,
//! asked of the peers' `_lifecycle` over gRPC.

use super::status::OtherContainer;
use super::Network;
use crate::network::error::Result;
use crate::topology::Node;
use fabx_fabric::system::{self, InstalledPackage};
use futures_util::future::join_all;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChannelChaincodes {
    pub channel: String,
    pub orgs: Vec<String>,
    pub chaincodes: Vec<CommittedChaincode>,
    /// Why the chaincodes could not be read, if they could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CommittedChaincode {
    pub name: String,
    pub version: String,
    pub sequence: u64,
    pub init_required: bool,
    /// In Fabric's syntax, or the channel policy's name.
    pub endorsement_policy: Option<String>,
    pub packages: Vec<OrgPackage>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OrgPackage {
    pub msp_id: String,
    /// None: the org's peer has no package installed for this definition.
    pub package_id: Option<String>,
    /// The chaincode containers serving that package, with their state.
    pub containers: Vec<OtherContainer>,
}

impl Network {
    /// Every channel's committed chaincodes; `containers` are the network's chaincode
    /// containers (from `status`).
    pub(super) async fn channel_chaincodes(
        &self,
        containers: &[OtherContainer],
    ) -> Vec<ChannelChaincodes> {
        let channels = self.topology.channels();
        let reads = channels.iter().map(|spec| async move {
            let result = self.read_channel(&spec.name, containers).await;
            let (chaincodes, error) = match result {
                Ok(c) => (c, None),
                Err(e) => (vec![], Some(e.to_string())),
            };
            ChannelChaincodes {
                channel: spec.name.clone(),
                orgs: spec.orgs.clone(),
                chaincodes,
                error,
            }
        });
        join_all(reads).await
    }

    async fn read_channel(
        &self,
        channel: &str,
        containers: &[OtherContainer],
    ) -> Result<Vec<CommittedChaincode>> {
        let peer = self.committing_peer(channel)?;
        let payload = self
            .evaluate_system(&peer, system::committed_definitions(channel))
            .await?;
        let definitions = system::read_committed_definitions(&peer.host, &payload)?;
        if definitions.is_empty() {
            return Ok(vec![]);
        }
        let orgs = self.channel_orgs(channel)?;
        let installed = join_all(orgs.iter().map(|org| async move {
            let peer = self.org_peer(&org.msp_id)?;
            self.installed_packages(&peer).await
        }))
        .await
        .into_iter()
        .collect::<Result<Vec<Vec<InstalledPackage>>>>()?;
        Ok(definitions
            .into_iter()
            .map(|(name, d)| {
                let packages = orgs
                    .iter()
                    .zip(&installed)
                    .map(|(org, installed)| {
                        let package_id = installed
                            .iter()
                            .find(|p| p.serves(channel, &name, &d.version))
                            .map(|p| p.package_id.clone());
                        let containers = containers
                            .iter()
                            .filter(|c| {
                                package_id.is_some() && c.package_id.as_ref() == package_id.as_ref()
                            })
                            .cloned()
                            .collect();
                        OrgPackage {
                            msp_id: org.msp_id.clone(),
                            package_id,
                            containers,
                        }
                    })
                    .collect();
                CommittedChaincode {
                    endorsement_policy:
                        fabx_fabric::policy::endorsement::describe_validation_parameter(
                            &d.validation_parameter,
                        ),
                    name,
                    version: d.version,
                    sequence: d.sequence,
                    init_required: d.init_required,
                    packages,
                }
            })
            .collect())
    }

    /// The packages `peer` has installed.
    async fn installed_packages(&self, peer: &Node) -> Result<Vec<InstalledPackage>> {
        let payload = self
            .evaluate_system(peer, system::installed_chaincodes())
            .await?;
        Ok(system::read_installed(&peer.host, &payload)?)
    }
}
