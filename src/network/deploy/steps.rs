//! The deploy steps that talk to peers: reading the committed definition, installing,
//! approving, committing and invoking.

use super::servers::{serving, ChaincodeServer};
use super::{ChaincodeImage, Committed, DeployRequest, Source};
use crate::artifacts::package::Package;
use crate::engine::EngineKind;
use crate::network::error::{Error, PolicyNotMet, Result};
use crate::network::{Check, Network};
use crate::support::reporter::{step, Reporter, StepId};
use crate::support::retry::{poll_until, Backoff, Poll};
use crate::topology::{Node, NodeKind};
use fabx_fabric::cli::lifecycle::{Definition, LifecycleCommand};
use fabx_fabric::cli::output::{
    installed_package_id, parse_approvals, parse_approved_package, parse_committed,
};
use fabx_fabric::cli::PeerCli;
use futures_util::future::join_all;
use std::time::Duration;

impl Network {
    /// Every peer of the topology is running.
    pub(super) async fn check_up(&self) -> Result<()> {
        for peer in self.topology.peers() {
            let container = self.topology.container_name(&peer.host);
            if self.engine.state(&container).await?.as_deref() != Some("running") {
                return Err(Error::NotUp {
                    network: self.topology.network.clone(),
                });
            }
        }
        Ok(())
    }

    /// Builds the image from the source directory, or checks the given image exists;
    /// either way its ID is known once, for every server.
    pub(crate) async fn chaincode_image(
        &self,
        request: &DeployRequest,
        reporter: &dyn Reporter,
        step: StepId,
    ) -> Result<ChaincodeImage> {
        match &request.source {
            Source::Address(address) => Err(Error::BadInput {
                problem: format!("the chaincode at {address} has no image"),
                fix:
                    "with --address fabx runs no image: deploy from a directory or --image instead"
                        .into(),
            }),
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
                let tag = self.chaincode_tag(request);
                let mut log = |line: &str| reporter.step_detail(step, line);
                let id = crate::network::deploy::image::build_chaincode_image(
                    &*self.engine,
                    dir,
                    &tag,
                    request.build,
                    &mut log,
                )
                .await?;
                Ok(ChaincodeImage { reference: tag, id })
            }
        }
    }

    /// The committed definition, or None if the name is not defined on the channel.
    pub(crate) async fn committed(&self, channel: &str, name: &str) -> Result<Option<Committed>> {
        let peer = self.committing_peer(channel)?;
        let query = LifecycleCommand::QueryCommitted {
            channel: channel.to_string(),
            name: name.to_string(),
        };
        let container = self.topology.container_name(&peer.host);
        let output = self.peer_with(&peer, &query, Check::Unchecked).await?;
        if !output.success() {
            let message = output.last_error_line();
            if message.contains("404") || message.contains("not defined") {
                return Ok(None);
            }
            return Err(Error::command(&container, &query.args(), &output));
        }
        parse_committed(&output.stdout)
            .ok_or_else(|| {
                Error::unparseable(
                    &container,
                    &query.args().join(" "),
                    "JSON with sequence, version and init_required",
                    &output.printed(),
                )
            })
            .map(Some)
    }

    /// Whether every org approved, at `sequence`, the package this deploy would approve.
    /// An org with no approval at that sequence answers with an error: not a match.
    pub(super) async fn approved_packages_match(
        &self,
        channel: &str,
        name: &str,
        sequence: u64,
        servers: &[ChaincodeServer],
    ) -> Result<bool> {
        let checks = self
            .channel_orgs(channel)?
            .into_iter()
            .map(|org| async move {
                let peer = self.org_peer(&org.msp_id)?;
                let query = LifecycleCommand::QueryApproved {
                    channel: channel.to_string(),
                    name: name.to_string(),
                    sequence,
                };
                let output = self.peer_with(&peer, &query, Check::Unchecked).await?;
                if !output.success() {
                    return Ok(false);
                }
                let approved = parse_approved_package(&output.stdout).ok_or_else(|| {
                    Error::unparseable(
                        &self.topology.container_name(&peer.host),
                        &query.args().join(" "),
                        "JSON with source.Type.LocalPackage.package_id",
                        &output.printed(),
                    )
                })?;
                Ok::<_, Error>(approved == Some(serving(servers, &org.msp_id)?.package.id()))
            });
        let all = join_all(checks)
            .await
            .into_iter()
            .collect::<Result<Vec<_>>>()?;
        Ok(all.into_iter().all(|same| same))
    }

    /// Installs the package on a peer (an installed one is fine) and checks that the
    /// peer computed the package ID we did.
    /// Puts `package` where `peer` reads it; its path there. On Docker, a network
    /// `up` made has the packages directory mounted in every peer: the file is written
    /// there once, with no copy into each container (on 23 nodes each copy took 1 to 3 s
    /// of Docker's time). Elsewhere, or on a network made before that directory was, it
    /// is copied in.
    async fn put_package(&self, peer: &Node, package: &Package) -> Result<String> {
        let shared = self.layout.packages();
        if self.engine.kind() == EngineKind::Docker && shared.is_dir() {
            let path = shared.join(package.file_name());
            // One file for all peers of an org (its name holds the package's hash),
            // renamed into place whole: the peers installing at once never read a part.
            if !path.is_file() {
                let partial = shared.join(format!("{}.{}", package.file_name(), peer.host));
                // 0600: with mutual TLS, connection.json holds the peers' client key.
                write_private(&partial, &package.bytes)
                    .and_then(|()| std::fs::rename(&partial, &path))
                    .map_err(|source| Error::io("write", &path, source))?;
            }
            return Ok(format!(
                "{}/{}",
                crate::artifacts::layout::container::PACKAGES,
                package.file_name()
            ));
        }
        let file = crate::engine::UploadFile {
            name: package.file_name(),
            contents: package.bytes.clone(),
            mode: 0o644,
        };
        let container = self.topology.container_name(&peer.host);
        self.engine.upload(&container, "/tmp", &[file]).await?;
        Ok(format!("/tmp/{}", package.file_name()))
    }

    pub(super) async fn install(&self, peer: &Node, package: &Package) -> Result<()> {
        let container = self.topology.container_name(&peer.host);
        let install = LifecycleCommand::Install {
            package: self.put_package(peer, package).await?,
        };
        // Unchecked: a repeated install fails, naming the installed package.
        let output = self.peer_with(peer, &install, Check::Unchecked).await?;
        let installed = installed_package_id(&output.stderr).ok_or_else(|| {
            if output.success() {
                Error::unparseable(
                    &container,
                    &install.args().join(" "),
                    "the installed package identifier",
                    &output.printed(),
                )
            } else {
                Error::command(&container, &install.args(), &output)
            }
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
        let orderer = self.orderer_endpoint().await?;
        let approvals = self
            .channel_orgs(&definition.channel)?
            .into_iter()
            .map(|org| {
                let orderer = orderer.clone();
                async move {
                    let peer = self.org_peer(&org.msp_id)?;
                    let approve = LifecycleCommand::Approve {
                        orderer,
                        definition: definition.clone(),
                        package_id: serving(servers, &org.msp_id)?.package.id(),
                    };
                    let name = format!("approve for {}", org.msp_id);
                    step(reporter, &name, self.approve(&peer, &approve)).await
                }
            });
        join_all(approvals)
            .await
            .into_iter()
            .collect::<Result<Vec<_>>>()?;
        Ok(())
    }

    /// Approves; an org that already approved exactly this (a deploy that failed after
    /// its approvals, run again) is done.
    async fn approve(&self, peer: &Node, approve: &LifecycleCommand) -> Result<()> {
        let output = self.peer_with(peer, approve, Check::Unchecked).await?;
        if output.success() || output.stderr.contains(ALREADY_APPROVED) {
            return Ok(());
        }
        Err(Error::command(
            &self.topology.container_name(&peer.host),
            &approve.args(),
            &output,
        ))
    }

    /// Polls commit readiness on the committing peer until every org's approval has
    /// reached it (each org's approval waited on that org's own peer, not this one),
    /// bounded; then names the orgs still missing.
    pub(super) async fn await_commit_readiness(&self, definition: &Definition) -> Result<()> {
        let peer = self.committing_peer(&definition.channel)?;
        let members = self.channel_orgs(&definition.channel)?;
        let container = self.topology.container_name(&peer.host);
        let check = LifecycleCommand::CheckCommitReadiness {
            definition: definition.clone(),
        };
        let ready = poll_until(Backoff::new(COMMIT_READINESS_BOUND), || async {
            let output = self.peer(&peer, &check).await?;
            let approvals = parse_approvals(&output.stdout).ok_or_else(|| {
                Error::unparseable(
                    &container,
                    &check.args().join(" "),
                    "JSON with an approvals object",
                    &output.printed(),
                )
            })?;
            let missing: Vec<String> = members
                .iter()
                .filter(|o| approvals.get(&o.msp_id) != Some(&true))
                .map(|o| o.msp_id.clone())
                .collect();
            Ok::<_, Error>(if missing.is_empty() {
                Poll::Ready(())
            } else {
                Poll::NotYet(missing)
            })
        })
        .await?;
        match ready {
            Poll::Ready(()) => Ok(()),
            Poll::NotYet(missing) => Err(Error::NotApproved {
                name: definition.name.clone(),
                sequence: definition.sequence,
                orgs: missing.join(", "),
                channel: definition.channel.clone(),
            }),
        }
    }

    /// Commits right after the approvals, without polling commit readiness first: each
    /// org's approval waited for its commit on that org's own peer, and exactly those
    /// peers endorse the commit. Only if another org's approval has not yet reached one of
    /// them (their endorsements then differ) is readiness polled, and the commit sent again.
    pub(super) async fn commit_approved(
        &self,
        definition: &Definition,
        reporter: &dyn Reporter,
    ) -> Result<()> {
        match self.commit(definition).await {
            Err(Error::Command { output, .. }) if approvals_still_spreading(&output) => {
                step(
                    reporter,
                    "check commit readiness",
                    self.await_commit_readiness(definition),
                )
                .await?;
                self.commit(definition).await
            }
            other => other,
        }
    }

    pub(super) async fn commit(&self, definition: &Definition) -> Result<()> {
        let commit = LifecycleCommand::Commit {
            orderer: self.orderer_endpoint().await?,
            definition: definition.clone(),
            endorsers: self
                .default_endorsers(&definition.channel)?
                .iter()
                .map(crate::network::peer_cli::endorser)
                .collect(),
        };
        self.peer(&self.committing_peer(&definition.channel)?, &commit)
            .await?;
        Ok(())
    }

    /// One peer of every org on the channel: enough for the default MAJORITY policies
    /// and for any signature policy over the channel's orgs' peers.
    pub(crate) fn default_endorsers(&self, channel: &str) -> Result<Vec<Node>> {
        self.channel_orgs(channel)?
            .iter()
            .map(|o| self.org_peer(&o.msp_id))
            .collect()
    }

    /// Puts the collection configuration into every peer of the channel; returns its
    /// path there.
    pub(super) async fn upload_collections(
        &self,
        channel: &str,
        name: &str,
        config: &fabx_fabric::policy::collections::CollectionsConfig,
    ) -> Result<String> {
        let file_name = format!("collections-{channel}-{name}.json");
        let uploads = self.channel_peers(channel)?.into_iter().map(|peer| {
            let file = crate::engine::UploadFile {
                name: file_name.clone(),
                contents: config.json.clone().into_bytes(),
                mode: 0o644,
            };
            async move {
                let container = self.topology.container_name(&peer.host);
                self.engine.upload(&container, "/tmp", &[file]).await
            }
        });
        for uploaded in join_all(uploads).await {
            uploaded?;
        }
        Ok(format!("/tmp/{file_name}"))
    }

    /// The peer of an org that fabx talks to: its first.
    pub(crate) fn org_peer(&self, msp_id: &str) -> Result<Node> {
        self.topology
            .peers()
            .into_iter()
            .find(|p| p.msp_id == msp_id)
            .ok_or_else(|| Error::UnknownOrg {
                msp_id: msp_id.to_string(),
                known: self.topology.msp_ids().join(", "),
            })
    }

    /// The peer that reads definitions, commits and submits invokes on a channel: the
    /// first peer of its first org.
    pub(crate) fn committing_peer(&self, channel: &str) -> Result<Node> {
        let first = self
            .channel_orgs(channel)?
            .first()
            .map(|o| o.msp_id.clone())
            .ok_or_else(|| Error::BadInput {
                problem: format!("channel {channel} has no member org"),
                fix: "list its member orgs under channels".into(),
            })?;
        self.org_peer(&first)
    }

    /// An orderer to send transactions to: the first one whose container runs, so a
    /// stopped orderer does not stop the network while consensus still has a quorum.
    /// Without a quorum a transaction would never be ordered: that fails at once,
    /// naming the orderers that are down, instead of waiting for a commit.
    pub(crate) async fn ordering_node(&self) -> Result<Node> {
        let orderers = self.topology.orderers();
        let up = self.running_containers(NodeKind::Orderer.as_str()).await?;
        let (running, down): (Vec<&Node>, Vec<&Node>) = orderers
            .iter()
            .partition(|o| up.contains(&self.topology.container_name(&o.host)));
        let down: Vec<String> = down.iter().map(|o| o.host.clone()).collect();
        let names = |hosts: &[String]| hosts.join(", ");
        let Some(first) = running.first() else {
            return Err(Error::OrderersDown {
                orderers: names(&down),
            });
        };
        let consensus = self.topology.orderer.consensus;
        let needed = consensus.quorum(orderers.len());
        if running.len() < needed {
            return Err(Error::NoOrderingQuorum {
                consensus: consensus.name(),
                down: names(&down),
                running: running.len(),
                needed,
                total: orderers.len(),
            });
        }
        Ok((*first).clone())
    }

    /// [`Network::ordering_node`] as the peer CLI's `-o` and `--cafile`.
    pub(crate) async fn orderer_endpoint(
        &self,
    ) -> Result<fabx_fabric::cli::lifecycle::OrdererEndpoint> {
        Ok(crate::network::peer_cli::orderer_endpoint(
            &self.ordering_node().await?,
        ))
    }

    /// The error for transaction `tx_id`, which an endorsement policy invalidated: names
    /// the chaincode's policy (read back from the committed definition; a key-level policy
    /// of a key it writes may be the one that failed) and the orgs that endorsed.
    pub(crate) async fn policy_not_met(
        &self,
        channel: &str,
        name: &str,
        endorsers: &[Node],
        tx_id: &str,
    ) -> Error {
        let policy = match self.committed(channel, name).await {
            Ok(Some(c)) => fabx_fabric::policy::endorsement::describe_validation_parameter(
                &c.validation_parameter,
            )
            .unwrap_or_else(|| "(unreadable policy)".into()),
            Ok(None) => "(no committed definition)".into(),
            Err(e) => format!("(cannot read it: {e})"),
        };
        let mut orgs: Vec<&str> = endorsers.iter().map(|p| p.msp_id.as_str()).collect();
        orgs.dedup();
        Error::EndorsementPolicyNotMet(Box::new(PolicyNotMet {
            name: name.to_string(),
            channel: channel.to_string(),
            policy,
            endorsed_by: orgs.join(", "),
            tx_id: tx_id.to_string(),
        }))
    }
}

/// What the peer answers to an approval it already has.
const ALREADY_APPROVED: &str = "with unchanged content";

/// Whether a commit failed because an approval had not reached every endorsing peer: the
/// peers read different approvals, or one found its own org's approval missing.
fn approvals_still_spreading(message: &str) -> bool {
    message.contains("ProposalResponsePayloads do not match")
        || message.contains("chaincode definition not agreed to by this org")
}

/// How long commit readiness is polled for every org's approval to arrive.
const COMMIT_READINESS_BOUND: Duration = Duration::from_secs(30);

/// Writes `contents` to a new file only its owner can read.
fn write_private(path: &std::path::Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?
        .write_all(contents)
}

#[cfg(test)]
mod tests {
    use super::approvals_still_spreading;

    #[test]
    fn differing_endorsements_and_a_missing_own_approval_mean_approvals_are_spreading() {
        // As Fabric 2.5's CLI and _lifecycle word them.
        assert!(approvals_still_spreading(
            "Error: failed to create signed transaction: ProposalResponsePayloads do not match (base64): 'CiA...' vs 'CiB...'"
        ));
        assert!(approvals_still_spreading(
            "Error: proposal failed with status: 500 - failed to invoke backing implementation of 'CommitChaincodeDefinition': chaincode definition not agreed to by this org (Org2MSP)"
        ));
        assert!(!approvals_still_spreading(
            "Error: proposal failed with status: 500 - requested sequence is 3, but new definition must be sequence 2"
        ));
    }
}
