//! `status`, per channel: the committed chaincodes (name, version, sequence, endorsement
//! policy), the package each org's peer runs for them, and that package's containers.

use super::status::OtherContainer;
use super::Network;
use crate::network::error::{Error, Result};
use crate::topology::Node;
use fabx_fabric::cli::lifecycle::LifecycleCommand;
use fabx_fabric::cli::output::{committed_from_json, Committed};
use fabx_fabric::cli::PeerCli;
use futures_util::future::join_all;
use serde::Serialize;
use serde_json::Value;

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
        let query = LifecycleCommand::QueryCommittedAll {
            channel: channel.to_string(),
        };
        let output = self.peer(&peer, &query).await?;
        let definitions = parse_committed_all(&output.stdout).ok_or_else(|| {
            Error::unparseable(
                &self.topology.container_name(&peer.host),
                &query.args().join(" "),
                "JSON with chaincode_definitions",
                &output.printed(),
            )
        })?;
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
        .collect::<Result<Vec<Value>>>()?;
        Ok(definitions
            .into_iter()
            .map(|(name, d)| {
                let packages = orgs
                    .iter()
                    .zip(&installed)
                    .map(|(org, installed)| {
                        let package_id = package_for(installed, channel, &name, &d.version);
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

    /// `queryinstalled -O json` of a peer.
    async fn installed_packages(&self, peer: &Node) -> Result<Value> {
        let query = LifecycleCommand::QueryInstalled;
        let output = self.peer(peer, &query).await?;
        serde_json::from_str(&output.stdout).map_err(|_| {
            Error::unparseable(
                &self.topology.container_name(&peer.host),
                &query.args().join(" "),
                "JSON with installed_chaincodes",
                &output.printed(),
            )
        })
    }
}

/// The installed package a peer runs for `name` `version` on `channel`: the one whose
/// references name it.
fn package_for(installed: &Value, channel: &str, name: &str, version: &str) -> Option<String> {
    installed["installed_chaincodes"]
        .as_array()?
        .iter()
        .find(|package| {
            package["references"][channel]["chaincodes"]
                .as_array()
                .is_some_and(|ccs| {
                    ccs.iter()
                        .any(|cc| cc["name"] == name && cc["version"] == version)
                })
        })
        .and_then(|package| package["package_id"].as_str().map(String::from))
}

/// `querycommitted -C CHANNEL -O json`: every definition with its name; None if the
/// output is not that.
fn parse_committed_all(stdout: &str) -> Option<Vec<(String, Committed)>> {
    let json: Value = serde_json::from_str(stdout).ok()?;
    let definitions = match &json["chaincode_definitions"] {
        // Fabric leaves an empty list out of its JSON.
        Value::Null if json.is_object() => return Some(vec![]),
        value => value.as_array()?,
    };
    definitions
        .iter()
        .map(|d| Some((d["name"].as_str()?.to_string(), committed_from_json(d)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_definitions_and_installed_packages_are_read() {
        let committed = r#"{"chaincode_definitions":[{"name":"examplecc","sequence":2,"version":"1.0","endorsement_plugin":"escc","validation_plugin":"vscc","validation_parameter":"EiAvQ2hhbm5lbC9BcHBsaWNhdGlvbi9FbmRvcnNlbWVudA==","collections":{},"init_required":true}]}"#;
        let definitions = parse_committed_all(committed).unwrap();
        assert_eq!(
            (
                definitions[0].0.as_str(),
                definitions[0].1.sequence,
                definitions[0].1.init_required
            ),
            ("examplecc", 2, true)
        );
        assert_eq!(
            fabx_fabric::policy::endorsement::describe_validation_parameter(
                &definitions[0].1.validation_parameter
            )
            .as_deref(),
            Some("/Channel/Application/Endorsement")
        );
        assert_eq!(parse_committed_all("{}"), Some(vec![]));
        assert_eq!(parse_committed_all("Error: x"), None);
        assert_eq!(
            parse_committed_all(r#"{"chaincode_definitions":[{"name":"a"}]}"#),
            None
        );

        let installed: Value = serde_json::from_str(
            r#"{"installed_chaincodes":[
                {"package_id":"other:1","label":"other","references":{"c1":{"chaincodes":[{"name":"other","version":"1"}]}}},
                {"package_id":"examplecc_1.0:ab","label":"examplecc_1.0","references":{"c1":{"chaincodes":[{"name":"examplecc","version":"1.0"}]}}}]}"#,
        )
        .unwrap();
        assert_eq!(
            package_for(&installed, "c1", "examplecc", "1.0").as_deref(),
            Some("examplecc_1.0:ab")
        );
        assert_eq!(package_for(&installed, "c2", "examplecc", "1.0"), None);
    }
}
