//! `deploy`: the whole CCaaS lifecycle as named steps.
//!
//! check network → three branches at once: (image → run the chaincode servers and wait
//! until they accept connections), (install on every peer of the channel), (read the
//! committed definition → approve for every org → commit) →
//! init, once all three are done. A redeploy of the same definition and packages runs no
//! lifecycle transaction; a changed one bumps the sequence by itself.

mod external;
pub mod image;
pub(crate) mod servers;
mod steps;

use crate::artifacts::chaincode_tls::ChaincodeTls;
use crate::artifacts::statedb::statedb_files;
use crate::network::error::{Error, Result};
use crate::network::lock::{StateLock, LOCK_WAIT};
use crate::network::Network;
use crate::support::gate::Gate;
use crate::support::reporter::{skipped, step, step_with, Reporter};
use fabx_fabric::cli::lifecycle::{ctor, Definition};
use fabx_fabric::cli::output::{chaincode_failure, ChaincodeFailure};
use fabx_fabric::policy::collections::CollectionsConfig;
use futures_util::future::join_all;
use serde::Serialize;
use std::path::PathBuf;

pub use crate::artifacts::chaincode_tls::TlsMode;
pub use fabx_fabric::cli::output::Committed;
pub use fabx_fabric::policy::endorsement::EndorsementPolicy;
pub use servers::ChaincodeServer;

/// Where the chaincode comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A directory with a Cargo.toml (built as a static binary) or a Dockerfile.
    Directory(PathBuf),
    /// An existing CCaaS image following the Fabric samples' env convention.
    Image(String),
    /// A chaincode the user runs themselves (a debugger, a host process) at `host:port`;
    /// fabx starts no container and waits until it answers.
    Address(String),
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
    /// TLS between peers and the chaincode servers; default `mutual` for chaincode fabx
    /// builds (it controls both ends), `off` for an image (fabx cannot know whether it
    /// reads the TLS settings).
    pub tls: Option<TlsMode>,
    /// With [`Source::Address`]: how long to wait for the chaincode to answer.
    pub wait: std::time::Duration,
    /// Who must endorse: the channel's default, a signature policy or a channel policy.
    pub endorsement: EndorsementPolicy,
    /// Fabric's private data collection JSON.
    pub collections: Option<PathBuf>,
    /// How a Rust chaincode directory is compiled (release by default).
    pub build: image::BuildProfile,
    /// A META-INF directory whose `statedb/couchdb` (CouchDB indexes) goes into the
    /// package; default: the chaincode directory's `META-INF`.
    pub meta_inf: Option<PathBuf>,
}

/// How long `deploy --address` waits for the user's chaincode by default.
pub const EXTERNAL_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

impl DeployRequest {
    /// A request with the defaults: version 1.0, automatic sequence, no init, one
    /// chaincode container per org.
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
            tls: None,
            wait: EXTERNAL_WAIT,
            endorsement: EndorsementPolicy::ChannelDefault,
            collections: None,
            build: image::BuildProfile::Release,
            meta_inf: None,
        }
    }

    /// The META-INF directory whose CouchDB indexes the package carries, if any.
    pub fn meta_inf_dir(&self) -> Option<PathBuf> {
        match (&self.meta_inf, &self.source) {
            (Some(dir), _) => Some(dir.clone()),
            (None, Source::Directory(dir)) => Some(dir.join("META-INF")),
            (None, _) => None,
        }
    }

    /// The package label: as given, or `<name>_<version>`.
    pub fn label(&self) -> String {
        self.label
            .clone()
            .unwrap_or_else(|| format!("{}_{}", self.name, self.version))
    }

    /// The TLS mode this request deploys with.
    pub fn tls_mode(&self) -> TlsMode {
        self.tls.unwrap_or(match self.source {
            Source::Directory(_) => TlsMode::Mutual,
            // fabx does not control what the image or the user's process reads.
            Source::Image(_) | Source::Address(_) => TlsMode::Off,
        })
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
    /// How the committed definition differs from the one before it (empty for the
    /// first one, or when nothing was committed).
    pub changes: Vec<DefinitionChange>,
    pub initialized: bool,
    /// Chaincode containers started by this deploy (kept ones are not listed).
    pub containers_started: Vec<String>,
}

/// A way a new definition differs from the committed one: the reason for its sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefinitionChange {
    Version {
        from: String,
        to: String,
    },
    /// Whether init is required now.
    InitRequired(bool),
    EndorsementPolicy,
    /// fabx does not compare collection configurations: any is a change.
    Collections,
    /// Another sequence was asked for (`--sequence`).
    Sequence,
    /// The package (where the servers are, their TLS) differs.
    Package,
}

impl std::fmt::Display for DefinitionChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DefinitionChange::Version { from, to } => write!(f, "version {from} -> {to}"),
            DefinitionChange::InitRequired(true) => f.write_str("init now required"),
            // The common surprise: a redeploy without the --init it was deployed with.
            DefinitionChange::InitRequired(false) => {
                f.write_str("init no longer required (give --init to keep it)")
            }
            DefinitionChange::EndorsementPolicy => f.write_str("endorsement policy"),
            DefinitionChange::Collections => f.write_str("collections"),
            DefinitionChange::Sequence => f.write_str("sequence asked for"),
            DefinitionChange::Package => f.write_str("package"),
        }
    }
}

impl serde::Serialize for DefinitionChange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The image the chaincode servers run: as named, and its ID (to tell a changed image).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChaincodeImage {
    pub(crate) reference: String,
    pub(crate) id: String,
}

/// A peer's refusal of a chaincode call as fabx reports it: the chaincode's own message,
/// or that the peer cannot reach its server.
pub fn chaincode_error(name: &str, line: &str) -> Error {
    match chaincode_failure(line) {
        ChaincodeFailure::Unreachable { cause } => Error::ChaincodeDown {
            name: name.to_string(),
            cause,
        },
        ChaincodeFailure::Failed { message } => Error::ChaincodeFailed {
            name: name.to_string(),
            message,
        },
    }
}

impl Network {
    /// The chaincode servers of a request and the package each serves.
    pub(crate) fn plan_servers(
        &self,
        request: &DeployRequest,
        channel: &str,
        label: &str,
    ) -> Result<Vec<ChaincodeServer>> {
        // The servers of the channel's orgs.
        self.channel_orgs(channel)?;
        let view = self
            .topology
            .channel_view(channel)
            .expect("a channel with orgs has a view");
        let tls = ChaincodeTls::new(self.layout.chaincode_tls());
        let external = match &request.source {
            Source::Address(address) => Some(external::parse_address(address)?),
            _ => None,
        };
        if let Some(dir) = request.meta_inf.as_ref().filter(|d| !d.is_dir()) {
            return Err(Error::BadInput {
                problem: format!("--meta-inf {} is not a directory", dir.display()),
                fix: "give the chaincode's META-INF directory (with statedb/couchdb/indexes)"
                    .into(),
            });
        }
        let statedb = match request.meta_inf_dir() {
            Some(dir) => statedb_files(&dir)?,
            None => Vec::new(),
        };
        servers::plan(
            &view,
            &request.name,
            &servers::PackageContents {
                label,
                statedb: &statedb,
            },
            request.shared_container,
            (&tls, request.tls_mode()),
            external.as_ref().map(|(h, p)| (h.as_str(), *p)),
            &|host| self.engine.service_host(host),
        )
    }

    /// The image and the chaincode servers (or the user's own process), up and answering.
    async fn servers_branch(
        &self,
        request: &DeployRequest,
        servers: &[ChaincodeServer],
        reporter: &dyn Reporter,
    ) -> Result<(ChaincodeImage, Vec<bool>)> {
        if let Source::Address(address) = &request.source {
            let server = servers.first().ok_or_else(|| Error::BadInput {
                problem: format!("--address {address} names no server"),
                fix: "give HOST:PORT".into(),
            })?;
            reporter.chaincode_env(address, &self.external_env(server)?);
            step(
                reporter,
                &format!("wait for your chaincode at {address}"),
                self.await_external(server, request.wait),
            )
            .await?;
            let external = ChaincodeImage {
                reference: format!("(your process at {address})"),
                id: String::new(),
            };
            return Ok::<_, Error>((external, vec![false]));
        }
        let image_step = match request.source {
            Source::Image(_) => "check image",
            _ => "build image",
        };
        let image = step_with(reporter, image_step, |id| {
            self.chaincode_image(request, reporter, id)
        })
        .await?;
        let image_ref = &image;
        let runs = servers.iter().map(|server| {
            let name = format!("run {}", server.host);
            let init_follows = request.init.is_some();
            async move {
                let run = self.run_server(server, image_ref, init_follows);
                step(reporter, &name, run).await
            }
        });
        let started = join_all(runs)
            .await
            .into_iter()
            .collect::<Result<Vec<bool>>>()?;
        Ok::<_, Error>((image, started))
    }

    pub async fn deploy(
        &self,
        request: &DeployRequest,
        reporter: &dyn Reporter,
    ) -> Result<DeployReport> {
        let (channel, collections) = self.check_request(request)?;
        let _lock = StateLock::acquire(self.layout.root(), "deploy", LOCK_WAIT, reporter).await?;
        self.check_owner(false).await?;
        step(reporter, "check network", self.check_up()).await?;
        let servers = self.plan_servers(request, &channel, &request.label())?;
        if let (Source::Address(_), Some(server)) = (&request.source, servers.first()) {
            step(reporter, "check address", self.check_resolvable(server)).await?;
        }
        let collections_path = match &collections {
            Some(config) => Some(
                step(
                    reporter,
                    "upload collections config",
                    self.upload_collections(&channel, &request.name, config),
                )
                .await?,
            ),
            None => None,
        };
        let done = self
            .branches(request, &channel, &servers, collections_path, reporter)
            .await?;
        if done.unchanged {
            skipped(
                reporter,
                "approve and commit",
                "definition and packages already committed",
            );
        }
        let mut report = self.report(request, &channel, &servers, &done)?;
        // Before init: the servers run, and a snapshot taken now can run them again.
        self.record_deployment(&crate::network::deployments::Deployment::of(
            request,
            &channel,
            &done.image,
            &done.image_id,
        ))?;
        if let Some((function, args)) = request.init.as_ref().and_then(|i| i.split_first()) {
            let call = ctor(function, args);
            report.initialized = step(reporter, "init", self.init(&done.definition, &call)).await?;
        }
        step(
            reporter,
            "wait for endorsement plans",
            self.await_endorsement_plans(&channel, &request.name),
        )
        .await?;
        Ok(report)
    }

    /// Checks what can be checked before anything is touched: the request itself, its
    /// channel, its endorsement policy and collections against the channel's orgs.
    /// Returns the channel and the collections config.
    fn check_request(
        &self,
        request: &DeployRequest,
    ) -> Result<(String, Option<CollectionsConfig>)> {
        validate(request)?;
        let channel = self.topology.channel_or_default(request.channel.as_deref());
        let members: Vec<String> = self
            .channel_orgs(&channel)?
            .iter()
            .map(|o| o.msp_id.clone())
            .collect();
        request
            .endorsement
            .check(&members)
            .map_err(|problem| Error::BadInput {
                problem: format!("the endorsement policy cannot be used: {problem}"),
                fix: "give a policy over the channel's orgs in Fabric's syntax, e.g. \"AND('Org1MSP.peer','Org2MSP.peer')\"".into(),
            })?;
        let collections = request
            .collections
            .as_deref()
            .map(|path| read_collections(path, &members))
            .transpose()?;
        Ok((channel, collections))
    }

    /// Three branches that need nothing from each other: the image and its servers; the
    /// installs; the definition (sequence), its approvals and the commit. Init, the only
    /// step that runs the chaincode, waits for all three.
    ///
    /// Servers fabx cannot vouch for (an image forced to TLS, the user's own process) are
    /// waited for before anything is approved: a server that never answers, or answers in
    /// plain text, leaves no approval behind. Chaincode fabx builds is approved and
    /// committed meanwhile (it reads the settings fabx gives it); if its server fails, the
    /// deploy fails, and running it again finds the definition committed and only starts
    /// the servers.
    async fn branches(
        &self,
        request: &DeployRequest,
        channel: &str,
        servers: &[ChaincodeServer],
        collections_path: Option<String>,
        reporter: &dyn Reporter,
    ) -> Result<BranchesDone> {
        let approve_after_servers = match &request.source {
            Source::Directory(_) => false,
            Source::Image(_) => request.tls_mode() != TlsMode::Off,
            Source::Address(_) => true,
        };
        let servers_ready = &Gate::after(1);
        let servers_branch = async {
            let result = self.servers_branch(request, servers, reporter).await;
            match &result {
                Ok(_) => servers_ready.arrive(),
                Err(_) => servers_ready.fail(),
            }
            result
        };
        // The installs are needed only by init, and the committed definition heads the
        // longest chain (read, approve, commit): they start once it is read, so that
        // their CLIs do not slow the read down (on 23 nodes it took 4 s beside 18 installs).
        let definition_read = &Gate::after(1);
        let installs = self.channel_peers(channel)?.into_iter().map(|peer| {
            let name = format!("install on {}", peer.host);
            async move {
                let server = servers::serving(servers, &peer.msp_id)?;
                // A failed read fails the deploy; installing meanwhile is harmless.
                definition_read.passed().await;
                step(reporter, &name, self.install(&peer, &server.package)).await
            }
        });
        let definition_branch = async {
            let committed = step(
                reporter,
                "read committed definition",
                self.committed(channel, &request.name),
            )
            .await;
            definition_read.arrive();
            let (definition, unchanged, changes) = self
                .definition(request, channel, committed?, servers, collections_path)
                .await?;
            let servers_up = !approve_after_servers || servers_ready.passed().await;
            // When the servers failed, their error is the one reported.
            if unchanged || !servers_up {
                return Ok::<_, Error>((definition, unchanged, false, changes));
            }
            self.approve_all(&definition, servers, reporter).await?;
            step(
                reporter,
                "commit",
                self.commit_approved(&definition, reporter),
            )
            .await?;
            Ok((definition, unchanged, true, changes))
        };
        let (servers_done, installed, definition_done) =
            futures_util::future::join3(servers_branch, join_all(installs), definition_branch)
                .await;
        let (image, started) = servers_done?;
        installed.into_iter().collect::<Result<Vec<_>>>()?;
        let (definition, unchanged, committed, changes) = definition_done?;
        Ok(BranchesDone {
            image: image.reference,
            image_id: image.id,
            started,
            definition,
            unchanged,
            committed,
            changes,
        })
    }

    /// What the deploy did, before init.
    fn report(
        &self,
        request: &DeployRequest,
        channel: &str,
        servers: &[ChaincodeServer],
        done: &BranchesDone,
    ) -> Result<DeployReport> {
        Ok(DeployReport {
            name: request.name.clone(),
            channel: channel.to_string(),
            sequence: done.definition.sequence,
            package_ids: self
                .channel_orgs(channel)?
                .iter()
                .map(|o| {
                    let server = servers::serving(servers, &o.msp_id)?;
                    Ok((o.msp_id.clone(), server.package.id()))
                })
                .collect::<Result<_>>()?,
            image: done.image.clone(),
            committed: done.committed,
            changes: done.changes.clone(),
            initialized: false,
            containers_started: servers
                .iter()
                .zip(&done.started)
                .filter(|(_, started)| **started)
                .map(|(server, _)| server.container.clone())
                .collect(),
        })
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
        collections: Option<String>,
    ) -> Result<(Definition, bool, Vec<DefinitionChange>)> {
        let init_required = request.init.is_some();
        let validation_parameter =
            request
                .endorsement
                .validation_parameter()
                .map_err(|e| {
                    Error::BadInput {
                problem: format!("the endorsement policy cannot be read: {e}"),
                fix: "give a policy in Fabric's syntax, e.g. \"OR('Org1MSP.peer','Org2MSP.peer')\""
                    .into(),
            }
                })?;
        let was_committed = committed.is_some();
        let (sequence, changes) = match committed {
            None => (request.sequence.unwrap_or(1), Vec::new()),
            Some(c) => {
                let mut changes = Vec::new();
                if c.version != request.version {
                    changes.push(DefinitionChange::Version {
                        from: c.version.clone(),
                        to: request.version.clone(),
                    });
                }
                if c.init_required != init_required {
                    changes.push(DefinitionChange::InitRequired(init_required));
                }
                if c.validation_parameter != validation_parameter {
                    changes.push(DefinitionChange::EndorsementPolicy);
                }
                // fabx does not compare collection configurations: a definition with
                // collections is always deployed again as a new sequence.
                if c.has_collections || collections.is_some() {
                    changes.push(DefinitionChange::Collections);
                }
                if request.sequence.is_some_and(|s| s != c.sequence) {
                    changes.push(DefinitionChange::Sequence);
                }
                if changes.is_empty()
                    && !self
                        .approved_packages_match(channel, &request.name, c.sequence, servers)
                        .await?
                {
                    changes.push(DefinitionChange::Package);
                }
                let next = match changes.is_empty() {
                    true => c.sequence,
                    false => request.sequence.unwrap_or(c.sequence + 1),
                };
                (next, changes)
            }
        };
        let unchanged = was_committed && changes.is_empty();
        let definition = Definition {
            channel: channel.to_string(),
            name: request.name.clone(),
            version: request.version.clone(),
            sequence,
            init_required,
            policy: request.endorsement.clone(),
            collections,
        };
        Ok((definition, unchanged, changes))
    }

    /// Calls the init function; false if this version was already initialized (Fabric
    /// tracks initialization per version, so a new sequence may need none).
    async fn init(&self, definition: &Definition, call: &str) -> Result<bool> {
        let invocation = fabx_fabric::Invocation {
            chaincode: definition.name.clone(),
            args: crate::network::invoke::ctor_args(call)?,
            is_init: true,
            ..Default::default()
        };
        let endorsers = self.default_endorsers(&definition.channel)?;
        // A peer that cannot yet dial a server just seen accepting is asked again by
        // `submit` itself, within a bound.
        match self
            .submit(&endorsers, &definition.channel, &invocation, None)
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
}

/// Reads and checks a collection configuration file for a channel of `members`.
fn read_collections(path: &std::path::Path, members: &[String]) -> Result<CollectionsConfig> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::io("read", path, source))?;
    fabx_fabric::policy::collections::parse(&text, members).map_err(|problem| Error::BadInput {
        problem: format!("--collections-config {} cannot be used: {problem}", path.display()),
        fix: "fix the file (Fabric's collection JSON: name, policy, requiredPeerCount, maxPeerCount, blockToLive, memberOnlyRead, memberOnlyWrite, endorsementPolicy)".into(),
    })
}

fn validate(request: &DeployRequest) -> Result<()> {
    // Fabric's chaincode name rule.
    let name_ok = !request.name.is_empty()
        && request
            .name
            .split(['-', '_'])
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()));
    if !name_ok {
        return Err(Error::BadInput {
            problem: format!(
                "chaincode name {:?} is not one Fabric accepts",
                request.name
            ),
            fix: "use letters and digits, with single '-' or '_' between them".into(),
        });
    }
    if request.version.is_empty() || request.version.chars().any(char::is_whitespace) {
        return Err(Error::BadInput {
            problem: format!("version {:?} is empty or has spaces", request.version),
            fix: "give a version such as 1.0".into(),
        });
    }
    if let Source::Address(address) = &request.source {
        external::parse_address(address)?;
        if request.wait.is_zero() {
            return Err(Error::BadInput {
                problem: "--wait 0 would not wait for your chaincode at all".into(),
                fix: "give the seconds to wait for your chaincode, e.g. --wait 120".into(),
            });
        }
        if request.shared_container {
            return Err(Error::BadInput {
                problem: "--shared-container and --address do not go together".into(),
                fix: "leave --shared-container out: with --address fabx runs no container".into(),
            });
        }
    }
    if request.sequence == Some(0) {
        return Err(Error::BadInput {
            problem: "sequence 0 is not a sequence".into(),
            fix: "sequences start at 1; leave --sequence out to choose automatically".into(),
        });
    }
    if request.init.as_ref().is_some_and(|i| i.is_empty()) {
        return Err(Error::BadInput {
            problem: "--init was given without a function".into(),
            fix: "give the function and its arguments, e.g. --init Init a 100 b 200".into(),
        });
    }
    if let Some(label) = &request.label {
        crate::artifacts::package::validate_label(label)?;
    }
    Ok(())
}

impl Network {
    /// The image a chaincode built from a directory is tagged with.
    pub(crate) fn chaincode_tag(&self, request: &DeployRequest) -> String {
        format!(
            "fabx/{}:{}",
            request.name.to_ascii_lowercase(),
            docker_tag(&request.version)
        )
    }
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

/// What the three branches of a deploy left.
struct BranchesDone {
    /// The image the servers run, as reported, and its ID (empty for the user's process).
    image: String,
    image_id: String,
    /// For each server, whether this deploy started it.
    started: Vec<bool>,
    definition: Definition,
    /// The definition and packages were already committed: nothing was approved.
    unchanged: bool,
    committed: bool,
    changes: Vec<DefinitionChange>,
}
