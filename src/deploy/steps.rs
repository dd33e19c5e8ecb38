//! The deploy steps that talk to peers: reading the committed definition, installing,
//! approving, committing and invoking.

use super::lifecycle::{ChaincodeCommand, Definition, Endorser, LifecycleCommand, OrdererEndpoint};
use super::output::{chaincode_error, installed_package_id};
use super::package::Package;
use super::servers::{serving, ChaincodeServer};
use super::{docker_tag, ChaincodeImage, Committed, DeployRequest, Source};
use crate::commands::PeerCli;
use crate::error::{Error, Result};
use crate::network::Network;
use crate::reporter::{step, Reporter};
use crate::topology::Node;
use futures_util::future::join_all;

impl Network {
    /// Every peer of the topology is running.
    pub(super) async fn check_up(&self) -> Result<()> {
        for peer in self.topology.peers() {
            let container = self.topology.container_name(&peer.host);
            if self.engine.container_state(&container).await?.as_deref() != Some("running") {
                return Err(Error::NotUp {
                    network: self.topology.network.clone(),
                });
            }
        }
        Ok(())
    }

    /// Builds the image from the source directory, or checks the given image exists;
    /// either way its ID is known once, for every server.
    pub(super) async fn chaincode_image(
        &self,
        request: &DeployRequest,
        reporter: &dyn Reporter,
    ) -> Result<ChaincodeImage> {
        match &request.source {
            Source::Image(image) => {
                let id =
                    self.engine
                        .image_id(image)
                        .await?
                        .ok_or_else(|| Error::ImageNotFound {
                            image: image.clone(),
                        })?;
                Ok(ChaincodeImage {
                    reference: image.clone(),
                    id,
                })
            }
            Source::Directory(dir) => {
                if !dir.is_dir() {
                    return Err(Error::UnknownChaincode {
                        name: request.name.clone(),
                        dir: dir.clone(),
                    });
                }
                let tag = format!(
                    "fabx/{}:{}",
                    request.name.to_ascii_lowercase(),
                    docker_tag(&request.version)
                );
                let mut log = |line: &str| reporter.step_detail("build image", line);
                let id = crate::chaincode_image::build_chaincode_image(
                    &self.engine,
                    dir,
                    &tag,
                    &mut log,
                )
                .await?;
                Ok(ChaincodeImage { reference: tag, id })
            }
        }
    }

    /// The committed definition, or None if the name is not defined on the channel.
    pub(super) async fn committed(&self, channel: &str, name: &str) -> Result<Option<Committed>> {
        let peer = &self.topology.peers()[0];
        let query = LifecycleCommand::QueryCommitted {
            channel: channel.to_string(),
            name: name.to_string(),
        };
        let container = self.topology.container_name(&peer.host);
        let output = self
            .engine
            .exec(
                &container,
                &query.args(),
                &crate::commands::PeerCommand::env(peer),
            )
            .await?;
        if !output.success() {
            let message = output.last_error_line();
            if message.contains("404") || message.contains("not defined") {
                return Ok(None);
            }
            return Err(Error::Command {
                container,
                command: query.args().join(" "),
                message,
            });
        }
        let json: serde_json::Value = serde_json::from_str(&output.stdout).unwrap_or_default();
        Ok(Some(Committed {
            sequence: json["sequence"].as_u64().unwrap_or(0),
            version: json["version"].as_str().unwrap_or_default().to_string(),
            init_required: json["init_required"].as_bool().unwrap_or(false),
        }))
    }

    /// Whether every org approved, at `sequence`, the package this deploy would approve.
    pub(super) async fn approved_packages_match(
        &self,
        channel: &str,
        name: &str,
        sequence: u64,
        servers: &[ChaincodeServer],
    ) -> bool {
        let checks = self.topology.orgs.iter().map(|org| async move {
            let peer = self.first_peer(&org.msp_id).expect("every org has a peer");
            let query = LifecycleCommand::QueryApproved {
                channel: channel.to_string(),
                name: name.to_string(),
                sequence,
            };
            let approved = self
                .peer(&peer, &query)
                .await
                .ok()
                .and_then(|o| serde_json::from_str::<serde_json::Value>(&o.stdout).ok())
                .and_then(|v| {
                    v["source"]["Type"]["LocalPackage"]["package_id"]
                        .as_str()
                        .map(String::from)
                });
            approved == Some(serving(servers, &org.msp_id).package.id())
        });
        join_all(checks).await.into_iter().all(|same| same)
    }

    /// Installs the package on a peer (an installed one is fine) and checks that the
    /// peer computed the package ID we did.
    pub(super) async fn install(&self, peer: &Node, package: &Package) -> Result<()> {
        let container = self.topology.container_name(&peer.host);
        let file = crate::docker::UploadFile {
            name: package.file_name(),
            contents: package.bytes.clone(),
            mode: 0o644,
        };
        self.engine.upload(&container, "/tmp", &[file]).await?;
        let install = LifecycleCommand::Install {
            package: format!("/tmp/{}", package.file_name()),
        };
        let output = self.peer_logged(peer, &install).await?;
        let installed = installed_package_id(&output.stderr).ok_or_else(|| Error::Command {
            container,
            command: install.args().join(" "),
            message: output.last_error_line(),
        })?;
        if installed != package.id() {
            return Err(Error::PackageIdMismatch {
                peer: peer.host.clone(),
                label: package.label.clone(),
                expected: package.id(),
                installed,
            });
        }
        Ok(())
    }

    pub(super) async fn approve_all(
        &self,
        definition: &Definition,
        servers: &[ChaincodeServer],
        reporter: &dyn Reporter,
    ) -> Result<()> {
        let approvals = self.topology.orgs.iter().map(|org| async move {
            let peer = self.first_peer(&org.msp_id).expect("every org has a peer");
            let approve = LifecycleCommand::Approve {
                orderer: OrdererEndpoint::of(&self.topology),
                definition: definition.clone(),
                package_id: serving(servers, &org.msp_id).package.id(),
            };
            let name = format!("approve for {}", org.msp_id);
            step(reporter, &name, self.peer(&peer, &approve)).await
        });
        join_all(approvals)
            .await
            .into_iter()
            .collect::<Result<Vec<_>>>()?;
        Ok(())
    }

    pub(super) async fn check_commit_readiness(&self, definition: &Definition) -> Result<()> {
        let peer = &self.topology.peers()[0];
        let check = LifecycleCommand::CheckCommitReadiness {
            definition: definition.clone(),
        };
        let output = self.peer(peer, &check).await?;
        let json: serde_json::Value = serde_json::from_str(&output.stdout).unwrap_or_default();
        let missing: Vec<String> = self
            .topology
            .orgs
            .iter()
            .filter(|o| json["approvals"][&o.msp_id].as_bool() != Some(true))
            .map(|o| o.msp_id.clone())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::NotApproved {
                name: definition.name.clone(),
                sequence: definition.sequence,
                orgs: missing.join(", "),
            })
        }
    }

    pub(super) async fn commit(&self, definition: &Definition) -> Result<()> {
        let commit = LifecycleCommand::Commit {
            orderer: OrdererEndpoint::of(&self.topology),
            definition: definition.clone(),
            endorsers: self.endorsers(),
        };
        self.peer(&self.topology.peers()[0], &commit).await?;
        Ok(())
    }

    /// One peer of every org: enough to satisfy the default MAJORITY/ANY policies.
    pub(crate) fn endorsers(&self) -> Vec<Endorser> {
        self.topology
            .orgs
            .iter()
            .filter_map(|o| self.first_peer(&o.msp_id))
            .map(|p| Endorser::of(&p))
            .collect()
    }

    pub(crate) fn first_peer(&self, msp_id: &str) -> Option<Node> {
        self.topology
            .peers()
            .into_iter()
            .find(|p| p.msp_id == msp_id)
    }

    /// Invokes with a constructor, endorsed by every org, and waits for the commit.
    pub(crate) async fn invoke_ctor(
        &self,
        channel: &str,
        name: &str,
        ctor: &str,
        is_init: bool,
    ) -> Result<String> {
        let invoke = ChaincodeCommand::Invoke {
            orderer: OrdererEndpoint::of(&self.topology),
            channel: channel.to_string(),
            name: name.to_string(),
            ctor: ctor.to_string(),
            endorsers: self.endorsers(),
            is_init,
        };
        // The invoke result is only logged (at INFO).
        let output = self.peer_logged(&self.topology.peers()[0], &invoke).await?;
        if !output.success() {
            return Err(chaincode_error(name, &output.last_error_line()));
        }
        Ok(output.stderr)
    }
}
