//! `deploy`: the whole CCaaS lifecycle as a plain sequence of named steps.
//!
//! check network → image (build or check) → read the committed definition → install on
//! every peer (in parallel, skipped where installed) → run the chaincode server(s) and wait
//! until they accept connections → approve for every org (in parallel) → check commit
//! readiness → commit → init. A redeploy of the same definition and packages runs no
//! lifecycle transaction; a changed one bumps the sequence by itself.

pub mod lifecycle;
pub mod package;
mod servers;

use crate::commands::PeerCli;
use crate::error::{Error, Result};
use crate::network::Network;
use crate::reporter::{skipped, step, Reporter};
use crate::topology::Node;
use futures_util::future::join_all;
use lifecycle::{ctor, ChaincodeCommand, Definition, Endorser, LifecycleCommand, OrdererEndpoint};
use package::Package;
use serde::Serialize;
use std::path::PathBuf;

pub use servers::ChaincodeServer;

/// Where the chaincode comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A directory with a Cargo.toml (built as a static binary) or a Dockerfile.
    Directory(PathBuf),
    /// An existing CCaaS image following the Fabric samples' env convention.
    Image(String),
}

#[derive(Debug, Clone)]
pub struct DeployRequest {
    pub name: String,
    pub source: Source,
    pub version: String,
    /// Default `<name>_<version>`.
    pub label: Option<String>,
    /// Default: the topology's channel.
    pub channel: Option<String>,
    /// Default: automatic (1, the committed one when unchanged, or the committed one + 1).
    pub sequence: Option<u64>,
    /// Function and arguments of the init call; makes the definition require init.
    pub init: Option<Vec<String>>,
    /// One chaincode container for every org, instead of one per org.
    pub shared_container: bool,
}

impl DeployRequest {
    /// Deploy `chaincode/<name>` under `base` with the defaults.
    pub fn new(name: &str, source: Source) -> DeployRequest {
        DeployRequest {
            name: name.to_string(),
            source,
            version: "1.0".into(),
            label: None,
            channel: None,
            sequence: None,
            init: None,
            shared_container: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeployReport {
    pub name: String,
    pub channel: String,
    pub sequence: u64,
    /// (MSP ID, package ID) for every org.
    pub package_ids: Vec<(String, String)>,
    pub image: String,
    /// False when the same definition and packages were already committed.
    pub committed: bool,
    pub initialized: bool,
    /// Chaincode containers started by this deploy (kept ones are not listed).
    pub containers_started: Vec<String>,
}

/// What is committed on the channel for a chaincode name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Committed {
    sequence: u64,
    version: String,
    init_required: bool,
}

impl Network {
    pub async fn deploy(
        &self,
        request: &DeployRequest,
        reporter: &dyn Reporter,
    ) -> Result<DeployReport> {
        validate(request)?;
        let channel = request
            .channel
            .clone()
            .unwrap_or_else(|| self.topology.channel.clone());
        let label = request
            .label
            .clone()
            .unwrap_or_else(|| format!("{}_{}", request.name, request.version));
        step(reporter, "check network", self.check_up()).await?;
        let servers = servers::plan(
            &self.topology,
            &request.name,
            &label,
            request.shared_container,
        )?;

        // Three branches that need nothing from each other: the image and its servers;
        // the installs; the definition (sequence) and its approvals. They meet before the
        // commit, so nothing is committed unless every server accepts connections and
        // every peer has the package.
        let servers_branch = async {
            let image_step = match request.source {
                Source::Image(_) => "check image",
                Source::Directory(_) => "build image",
            };
            let image = step(
                reporter,
                image_step,
                self.chaincode_image(request, reporter),
            )
            .await?;
            let image_ref = &image;
            let runs = servers.iter().map(|server| {
                let name = format!("run {}", server.host);
                async move { step(reporter, &name, self.run_server(server, image_ref)).await }
            });
            let started = join_all(runs)
                .await
                .into_iter()
                .collect::<Result<Vec<bool>>>()?;
            Ok::<_, Error>((image, started))
        };
        let installs = self.topology.peers().into_iter().map(|peer| {
            let server = servers::serving(&servers, &peer.msp_id);
            let name = format!("install on {}", peer.host);
            async move { step(reporter, &name, self.install(&peer, &server.package)).await }
        });
        let definition_branch = async {
            let committed = step(
                reporter,
                "read committed definition",
                self.committed(&channel, &request.name),
            )
            .await?;
            let (definition, unchanged) = self
                .definition(request, &channel, committed, &servers)
                .await;
            if !unchanged {
                self.approve_all(&definition, &servers, reporter).await?;
            }
            Ok::<_, Error>((definition, unchanged))
        };
        let (servers_done, installed, definition_done) =
            futures_util::future::join3(servers_branch, join_all(installs), definition_branch)
                .await;
        let (image, started) = servers_done?;
        installed.into_iter().collect::<Result<Vec<_>>>()?;
        let (definition, unchanged) = definition_done?;

        let mut report = DeployReport {
            name: request.name.clone(),
            channel: channel.clone(),
            sequence: definition.sequence,
            package_ids: self
                .topology
                .orgs
                .iter()
                .map(|o| {
                    (
                        o.msp_id.clone(),
                        servers::serving(&servers, &o.msp_id).package.id(),
                    )
                })
                .collect(),
            image,
            committed: false,
            initialized: false,
            containers_started: servers
                .iter()
                .zip(&started)
                .filter(|(_, started)| **started)
                .map(|(server, _)| server.container.clone())
                .collect(),
        };
        if unchanged {
            skipped(
                reporter,
                "approve and commit",
                "definition and packages already committed",
            );
        } else {
            step(
                reporter,
                "check commit readiness",
                self.check_commit_readiness(&definition),
            )
            .await?;
            step(reporter, "commit", self.commit(&definition)).await?;
            report.committed = true;
        }
        if let Some(init) = &request.init {
            let (function, args) = init.split_first().expect("validated non-empty");
            let call = ctor(function, args);
            report.initialized = step(reporter, "init", self.init(&definition, &call)).await?;
        }
        Ok(report)
    }

    /// The definition to deploy, and whether exactly it (with the same packages) is
    /// already committed. Without `--sequence`: 1 for a new name, the committed one when
    /// unchanged, else the committed one + 1.
    async fn definition(
        &self,
        request: &DeployRequest,
        channel: &str,
        committed: Option<Committed>,
        servers: &[ChaincodeServer],
    ) -> (Definition, bool) {
        let init_required = request.init.is_some();
        let (sequence, unchanged) = match committed {
            None => (request.sequence.unwrap_or(1), false),
            Some(c) => {
                let same = c.version == request.version
                    && c.init_required == init_required
                    && request.sequence.is_none_or(|s| s == c.sequence)
                    && self
                        .approved_packages_match(channel, &request.name, c.sequence, servers)
                        .await;
                let next = if same {
                    c.sequence
                } else {
                    request.sequence.unwrap_or(c.sequence + 1)
                };
                (next, same)
            }
        };
        let definition = Definition {
            channel: channel.to_string(),
            name: request.name.clone(),
            version: request.version.clone(),
            sequence,
            init_required,
        };
        (definition, unchanged)
    }

    /// Calls the init function; false if this version was already initialized (Fabric
    /// tracks initialization per version, so a new sequence may need none).
    async fn init(&self, definition: &Definition, call: &str) -> Result<bool> {
        match self
            .invoke_ctor(&definition.channel, &definition.name, call, true)
            .await
        {
            Ok(_) => Ok(true),
            Err(Error::ChaincodeFailed { message, .. })
                if message.contains("is already initialized") =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Every peer of the topology is running.
    async fn check_up(&self) -> Result<()> {
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

    /// Builds the image from the source directory, or checks the given image exists.
    async fn chaincode_image(
        &self,
        request: &DeployRequest,
        reporter: &dyn Reporter,
    ) -> Result<String> {
        match &request.source {
            Source::Image(image) => {
                if !self.engine.image_present(image).await? {
                    return Err(Error::ImageNotFound {
                        image: image.clone(),
                    });
                }
                Ok(image.clone())
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
                crate::chaincode_image::build_chaincode_image(&self.engine, dir, &tag, &mut log)
                    .await?;
                Ok(tag)
            }
        }
    }

    /// The committed definition, or None if the name is not defined on the channel.
    async fn committed(&self, channel: &str, name: &str) -> Result<Option<Committed>> {
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
    async fn approved_packages_match(
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
            approved == Some(servers::serving(servers, &org.msp_id).package.id())
        });
        join_all(checks).await.into_iter().all(|same| same)
    }

    /// Installs the package on a peer (an installed one is fine) and checks that the
    /// peer computed the package ID we did.
    async fn install(&self, peer: &Node, package: &Package) -> Result<()> {
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

    async fn approve_all(
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
                package_id: servers::serving(servers, &org.msp_id).package.id(),
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

    async fn check_commit_readiness(&self, definition: &Definition) -> Result<()> {
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

    async fn commit(&self, definition: &Definition) -> Result<()> {
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

/// The package ID from `peer lifecycle chaincode install` output: a fresh install logs
/// it, a repeated one names it in the error.
pub fn installed_package_id(stderr: &str) -> Option<String> {
    if let Some((_, rest)) = stderr.split_once("Chaincode code package identifier: ") {
        return rest.split_whitespace().next().map(String::from);
    }
    let (_, rest) = stderr.split_once("already successfully installed (package ID '")?;
    rest.split_once('\'').map(|(id, _)| id.to_string())
}

/// Turns the peer CLI's endorsement failure into the chaincode's own message.
pub fn chaincode_error(name: &str, line: &str) -> Error {
    let message = line
        .split_once("message:")
        .map(|(_, m)| unquote(m.trim()))
        .unwrap_or_else(|| line.trim_start_matches("Error: ").to_string());
    Error::ChaincodeFailed {
        name: name.to_string(),
        message,
    }
}

/// Reads a protobuf text-format string (`"..."` with C escapes) at the start of `text`.
pub fn unquote(text: &str) -> String {
    let Some(body) = text.strip_prefix('"') else {
        return text.to_string();
    };
    let mut bytes = Vec::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some('n') => bytes.push(b'\n'),
                Some('t') => bytes.push(b'\t'),
                Some('r') => bytes.push(b'\r'),
                Some(d @ '0'..='7') => {
                    let mut value = d.to_digit(8).unwrap_or(0);
                    for _ in 0..2 {
                        let rest = chars.as_str();
                        match rest.chars().next().and_then(|c| c.to_digit(8)) {
                            Some(v) => {
                                value = value * 8 + v;
                                chars.next();
                            }
                            None => break,
                        }
                    }
                    bytes.push(value as u8);
                }
                Some(other) => {
                    let mut buf = [0; 4];
                    bytes.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
                }
                None => break,
            },
            other => {
                let mut buf = [0; 4];
                bytes.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn validate(request: &DeployRequest) -> Result<()> {
    // Fabric's chaincode name rule.
    let name_ok = !request.name.is_empty()
        && request
            .name
            .split(['-', '_'])
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()));
    if !name_ok {
        return Err(Error::InvalidArgument {
            what: format!("chaincode name {:?}", request.name),
            fix: "use letters and digits, with single '-' or '_' between them".into(),
        });
    }
    if request.version.is_empty() || request.version.chars().any(char::is_whitespace) {
        return Err(Error::InvalidArgument {
            what: format!("version {:?}", request.version),
            fix: "give a version such as 1.0".into(),
        });
    }
    if request.sequence == Some(0) {
        return Err(Error::InvalidArgument {
            what: "sequence 0".into(),
            fix: "sequences start at 1; leave --sequence out to choose automatically".into(),
        });
    }
    if request.init.as_ref().is_some_and(|i| i.is_empty()) {
        return Err(Error::InvalidArgument {
            what: "--init without a function".into(),
            fix: "give the function and its arguments, e.g. --init Init a 100 b 200".into(),
        });
    }
    if let Some(label) = &request.label {
        package::validate_label(label)?;
    }
    Ok(())
}

/// A Docker tag from a chaincode version.
fn docker_tag(version: &str) -> String {
    version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}
