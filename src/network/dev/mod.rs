//! `fabx dev`: the chaincode edit loop. Deploy once, then on every saved change rebuild
//! and replace the chaincode servers, with no lifecycle transaction: a code change makes
//! the same CCaaS package (it holds only where the servers are and their TLS), so the
//! committed definition (sequence, init flag, policy, collections) stays as it is.
//!
//! Two ways to serve: an image built from the directory, its servers swapped with no
//! moment without one ([`Network::replace_server`]); or the developer's own command on
//! the host (`--run`), stopped and started again. Either way a failed build leaves the
//! previous code serving and the next save tries again.

pub mod host_process;

use crate::engine::EngineKind;
use crate::engine::UploadFile;
use crate::network::deploy::image::{
    binary_context, build_context, build_from_context, build_static_binary, StaticBinary,
};
use crate::network::deploy::servers::{ChaincodeServer, SwapTimes};
use crate::network::deploy::{ChaincodeImage, DeployReport, DeployRequest, Source};
use crate::network::error::{Error, Result};
use crate::network::Network;
use crate::support::reporter::Reporter;
use crate::support::watch::{Change, SourceWatcher};
use host_process::{run_to_end, HostProcess, LineSink};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How the chaincode is served while it is developed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevMode {
    /// Built from its directory into an image (a Rust crate in the dev profile unless
    /// the request says otherwise); each change starts new servers beside the old ones.
    Image,
    /// The developer's command, run on the host in the directory with the CCaaS
    /// environment; `build` (if any) runs first on each change, while the previous
    /// process still serves. The peers dial it at `host.docker.internal:port`.
    Run {
        command: String,
        build: Option<String>,
        port: u16,
    },
}

/// One part of a reload and how long it took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Phase {
    pub name: &'static str,
    #[serde(rename = "ms", serialize_with = "millis")]
    pub took: Duration,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

/// A change the loop applied: the new code serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReloadReport {
    pub chaincode: String,
    /// 1 for the first change after the deploy.
    pub reload: u32,
    /// The files of the change, relative to the chaincode directory.
    pub files: Vec<PathBuf>,
    pub phases: Vec<Phase>,
}

impl ReloadReport {
    /// From the change to the new code serving.
    pub fn total(&self) -> Duration {
        self.phases.iter().map(|p| p.took).sum()
    }
}

/// What became of a change.
#[derive(Debug)]
pub enum DevEvent {
    Reloaded(ReloadReport),
    /// The change was not taken (a build error, a server that would not start): the
    /// previous code serves on, and the next change tries again.
    Failed {
        reload: u32,
        files: Vec<PathBuf>,
        error: Error,
    },
    /// A file that is part of the committed definition changed: no reload can apply it.
    NeedsDeploy {
        file: PathBuf,
        command: String,
    },
}

/// A chaincode under development: its request, its directory and its watcher.
pub struct DevSession<'n> {
    network: &'n Network,
    request: DeployRequest,
    dir: PathBuf,
    mode: DevMode,
    watcher: SourceWatcher,
    process: Option<HostProcess>,
    output: LineSink,
    reloads: u32,
    pending: Change,
}

impl Network {
    /// Starts watching `dir` for `request`'s chaincode. `output` gets the lines of the
    /// developer's command (`--run`) and of failed builds.
    pub fn dev(
        &self,
        mut request: DeployRequest,
        dir: &Path,
        mode: DevMode,
        output: LineSink,
    ) -> Result<DevSession<'_>> {
        if self.engine.kind() != EngineKind::Docker {
            return Err(crate::engine::EngineError::DockerOnly {
                what: "fabx dev".into(),
                instead: format!(
                    "on Kubernetes, run `fabx deploy {}` after each change",
                    request.name
                ),
            }
            .into());
        }
        if !dir.is_dir() {
            return Err(Error::UnknownChaincode {
                name: request.name.clone(),
                dir: dir.to_path_buf(),
            });
        }
        match &mode {
            DevMode::Image => request.source = Source::Directory(dir.to_path_buf()),
            DevMode::Run { port, .. } => {
                request.source = Source::Address(format!("host.docker.internal:{port}"));
            }
        }
        let watcher = SourceWatcher::new(dir).map_err(|e| Error::BadInput {
            problem: e.to_string(),
            fix: "give a directory you can read (and, on Linux, raise fs.inotify.max_user_watches if it is exhausted)".into(),
        })?;
        Ok(DevSession {
            network: self,
            request,
            dir: dir.to_path_buf(),
            mode,
            watcher,
            process: None,
            output,
            reloads: 0,
            pending: Vec::new(),
        })
    }
}

impl DevSession<'_> {
    pub fn request(&self) -> &DeployRequest {
        &self.request
    }

    /// The first deploy, as `fabx deploy` does it with the same request; with `--run`,
    /// the command is built and started first and the deploy waits for it.
    pub async fn deploy(&mut self, reporter: &dyn Reporter) -> Result<DeployReport> {
        if let DevMode::Run { command, build, .. } = self.mode.clone() {
            if let Some(build) = &build {
                run_to_end(build, &self.dir, self.output.clone())
                    .await
                    .map_err(process_error)?;
            }
            if self.process.is_none() {
                let env = self.network.external_chaincode_env(&self.request)?;
                let process = HostProcess::spawn(&command, &self.dir, &env, self.output.clone())
                    .map_err(process_error)?;
                self.process = Some(process);
            }
        }
        let report = self.network.deploy(&self.request, reporter).await;
        if report.is_err() {
            self.stop_process().await;
        }
        // Saves made during the deploy are applied next.
        self.pending = self.watcher.drain();
        report
    }

    /// Waits for the next change to the source (None once the watch has ended).
    pub async fn changed(&mut self) -> Option<Change> {
        if !self.pending.is_empty() {
            return Some(std::mem::take(&mut self.pending));
        }
        self.watcher.next_change().await
    }

    /// Waits for the next change and applies it.
    pub async fn next(&mut self) -> Option<DevEvent> {
        let files = self.changed().await?;
        if let Some(file) = self.definition_file(&files) {
            return Some(DevEvent::NeedsDeploy {
                command: format!(
                    "stop `fabx dev` and run `fabx deploy {}` with the same options: it commits the definition under the next sequence; then `fabx dev` again",
                    self.request.name
                ),
                file,
            });
        }
        self.reloads += 1;
        let reload = self.reloads;
        let result = match self.mode.clone() {
            DevMode::Image => {
                let image_changed = files.iter().any(|f| f == Path::new("Dockerfile"));
                self.network.reload(&self.request, image_changed).await
            }
            DevMode::Run { command, build, .. } => {
                self.restart_process(&command, build.as_deref()).await
            }
        };
        // Saves made during the reload are applied next.
        self.pending = self.watcher.drain();
        Some(match result {
            Ok(phases) => DevEvent::Reloaded(ReloadReport {
                chaincode: self.request.name.clone(),
                reload,
                files,
                phases,
            }),
            Err(error) => DevEvent::Failed {
                reload,
                files,
                error,
            },
        })
    }

    /// Stops the developer's command (`--run`); image servers keep serving.
    pub async fn stop(mut self) {
        self.stop_process().await;
    }

    /// Stops the `--run` process, if one runs, and waits until its port is free.
    async fn stop_process(&mut self) {
        if let Some(process) = self.process.take() {
            process.stop().await;
            if let DevMode::Run { port, .. } = self.mode {
                host_process::await_port_free(port).await;
            }
        }
    }

    /// A changed file that a reload cannot carry: the collections file (part of the
    /// definition), or a CouchDB index (part of the package, so of its ID).
    fn definition_file(&self, files: &[PathBuf]) -> Option<PathBuf> {
        let dir = self.watcher.dir();
        let collections = self.request.collections.as_deref();
        collections
            .and_then(|c| definition_file(c, dir, files))
            .or_else(|| package_file(&self.request.meta_inf_dir()?, dir, files))
    }

    /// Build (if asked), stop the previous process, start the new one, and wait until
    /// every org's peer reaches it. A call that finds it down meanwhile asks again.
    async fn restart_process(&mut self, command: &str, build: Option<&str>) -> Result<Vec<Phase>> {
        let mut phases = Vec::new();
        if let Some(build) = build {
            let timer = Instant::now();
            run_to_end(build, &self.dir, self.output.clone())
                .await
                .map_err(process_error)?;
            phases.push(phase("build", timer));
        }
        let env = self.network.external_chaincode_env(&self.request)?;
        let package_id = env
            .iter()
            .find(|(k, _)| k == "CHAINCODE_ID")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let _restarting = self.network.mark_restarting(&package_id)?;
        let timer = Instant::now();
        self.stop_process().await;
        phases.push(phase("stop", timer));
        let timer = Instant::now();
        let process = HostProcess::spawn(command, &self.dir, &env, self.output.clone())
            .map_err(process_error)?;
        self.process = Some(process);
        phases.push(phase("start", timer));
        let timer = Instant::now();
        self.network.await_external_server(&self.request).await?;
        phases.push(phase("ready", timer));
        Ok(phases)
    }
}

/// `collections` (as given, relative to the working directory or absolute) when it lies in
/// the watched `dir` and is one of the changed `files` (relative to `dir`).
fn definition_file(collections: &Path, dir: &Path, files: &[PathBuf]) -> Option<PathBuf> {
    let collections = std::fs::canonicalize(collections).ok()?;
    let relative = collections.strip_prefix(dir).ok()?;
    files.iter().find(|f| f.as_path() == relative).cloned()
}

/// A changed file (relative to the watched `dir`) under `meta_inf`'s CouchDB indexes,
/// which the package carries.
fn package_file(meta_inf: &Path, dir: &Path, files: &[PathBuf]) -> Option<PathBuf> {
    let meta_inf = std::fs::canonicalize(meta_inf).ok()?;
    let statedb = meta_inf
        .strip_prefix(dir)
        .ok()?
        .join(crate::artifacts::statedb::COUCHDB_DIR);
    files.iter().find(|f| f.starts_with(&statedb)).cloned()
}

fn phase(name: &'static str, since: Instant) -> Phase {
    Phase {
        name,
        took: since.elapsed(),
    }
}

fn process_error(e: host_process::ProcessError) -> Error {
    Error::DevCommand(e)
}

/// What new servers of a reload run.
enum ServedCode {
    /// An image to build from this context.
    Context(Vec<u8>),
    /// The running image with a new binary put over its program before each start:
    /// a copy into the container takes a fraction of a second where an image build
    /// takes seconds (about 2 s for examplecc's 13 MB on fuse-overlayfs, measured).
    BinaryOverImage {
        image: ChaincodeImage,
        file: (String, UploadFile),
    },
}

/// While it lives, calls that find a `--run` server down ask again (see
/// [`Network::server_restarting`]).
pub(crate) struct Restarting {
    path: PathBuf,
}

impl Drop for Restarting {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// How long a restart marker counts: a `fabx dev` killed mid-restart leaves one behind.
pub(crate) const RESTART_MARK_VALID: Duration = Duration::from_secs(60);

impl Network {
    /// Rebuilds a deployed chaincode from its directory and replaces its servers with
    /// the new code, with no lifecycle transaction and no moment without a server: the
    /// committed definition stays as it is. The parts, timed: build (the compiler),
    /// image (skipped when only the binary changed, see [`ServedCode`]), and for the
    /// servers (side by side, each part as long as the slowest) start, ready and switch.
    /// `image_changed` (its Dockerfile was edited) asks for a new image in any case.
    pub async fn reload(&self, request: &DeployRequest, image_changed: bool) -> Result<Vec<Phase>> {
        let Source::Directory(dir) = &request.source else {
            return Err(Error::BadInput {
                problem: format!("chaincode {} is not built from a directory", request.name),
                fix: "reload a chaincode deployed from a directory; for an image, deploy the new image".into(),
            });
        };
        let servers = self.running_servers(request).await?;
        let mut phases = Vec::new();
        let timer = Instant::now();
        let mut log = |_: &str| {};
        let tag = self.chaincode_tag(request);
        let code = if dir.join("Cargo.toml").is_file() {
            let binary = build_static_binary(dir, request.build, &mut log).await?;
            phases.push(phase("build", timer));
            match image_changed {
                false => self.binary_over_image(&tag, &binary).await?,
                true => None,
            }
            .map_or_else(|| binary_context(dir, &binary).map(ServedCode::Context), Ok)?
        } else {
            let context = build_context(dir, request.build, &mut log).await?;
            phases.push(phase("build", timer));
            ServedCode::Context(context)
        };
        let (image, files) = match code {
            ServedCode::Context(context) => {
                let timer = Instant::now();
                let id = build_from_context(&*self.engine, &tag, context, &mut log).await?;
                phases.push(phase("image", timer));
                (ChaincodeImage { reference: tag, id }, Vec::new())
            }
            ServedCode::BinaryOverImage { image, file } => (image, vec![file]),
        };
        let swaps = futures_util::future::try_join_all(
            servers
                .iter()
                .map(|server| self.replace_server(server, &image, &files)),
        )
        .await?;
        // A binary copied over the image is not in the image: a restore builds anew.
        let served_id = match files.is_empty() {
            true => image.id.clone(),
            false => String::new(),
        };
        let channel = self.topology.channel_or_default(request.channel.as_deref());
        self.record_deployment(&crate::network::deployments::Deployment::of(
            request,
            &channel,
            &image.reference,
            &served_id,
        ))?;
        let slowest =
            |part: fn(&SwapTimes) -> Duration| swaps.iter().map(part).max().unwrap_or_default();
        phases.push(Phase {
            name: "start",
            took: slowest(|s| s.start),
        });
        phases.push(Phase {
            name: "ready",
            took: slowest(|s| s.ready),
        });
        phases.push(Phase {
            name: "switch",
            took: slowest(|s| s.switch),
        });
        Ok(phases)
    }

    /// The new binary as a file for containers of the running image `tag`, when that
    /// image starts a program of the binary's name (fabx's `FROM scratch` image, or a
    /// Dockerfile that copies the binary and runs it): then no image is built.
    async fn binary_over_image(
        &self,
        tag: &str,
        binary: &StaticBinary,
    ) -> Result<Option<ServedCode>> {
        let (Some(config), Some(base)) = (
            self.engine.image_config(tag).await?,
            self.engine.image_id(tag).await?,
        ) else {
            return Ok(None);
        };
        let program = config.program().map(Path::new);
        let Some(dir) = program
            .filter(|p| p.is_absolute() && p.file_name() == Some(binary.name.as_ref()))
            .and_then(Path::parent)
        else {
            return Ok(None);
        };
        let data = binary.read()?;
        // The label says which code runs: the image and the binary put over it.
        let id = format!("{base}+sha256:{:x}", Sha256::digest(&data));
        Ok(Some(ServedCode::BinaryOverImage {
            image: ChaincodeImage {
                reference: tag.to_string(),
                id,
            },
            file: (
                dir.display().to_string(),
                UploadFile::new(binary.name.as_str(), data, 0o755),
            ),
        }))
    }

    /// The servers of `request` as deployed, each running: a reload replaces them.
    async fn running_servers(&self, request: &DeployRequest) -> Result<Vec<ChaincodeServer>> {
        let channel = self.topology.channel_or_default(request.channel.as_deref());
        let servers = self.plan_servers(request, &channel, &request.label())?;
        for server in &servers {
            if self.engine.state(&server.container).await?.as_deref() != Some("running") {
                return Err(Error::NotDeployed {
                    name: request.name.clone(),
                    container: server.container.clone(),
                });
            }
        }
        Ok(servers)
    }

    fn mark_restarting(&self, package_id: &str) -> Result<Restarting> {
        let dir = self.layout.restarting();
        std::fs::create_dir_all(&dir).map_err(|source| Error::io("create", &dir, source))?;
        let path = dir.join(package_id.replace([':', '/'], "_"));
        std::fs::write(&path, b"").map_err(|source| Error::io("write", &path, source))?;
        Ok(Restarting { path })
    }

    /// Whether the server of `package_id` is being restarted by `fabx dev --run`.
    pub(crate) fn server_restarting(&self, package_id: &str) -> bool {
        let path = self
            .layout
            .restarting()
            .join(package_id.replace([':', '/'], "_"));
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age < RESTART_MARK_VALID))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_collections_file_is_a_definition_change() {
        let dir = tempfile::tempdir().unwrap();
        let watched = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir(watched.join("config")).unwrap();
        let file = watched.join("config/collections.json");
        std::fs::write(&file, "[]").unwrap();
        let changed = |names: &[&str]| names.iter().map(PathBuf::from).collect::<Vec<_>>();
        assert_eq!(
            definition_file(
                &file,
                &watched,
                &changed(&["src/lib.rs", "config/collections.json"])
            ),
            Some(PathBuf::from("config/collections.json"))
        );
        assert_eq!(
            definition_file(&file, &watched, &changed(&["src/lib.rs"])),
            None
        );
        // A collections file outside the chaincode directory is never among its changes.
        let elsewhere = tempfile::tempdir().unwrap();
        let outside = elsewhere.path().join("collections.json");
        std::fs::write(&outside, "[]").unwrap();
        assert_eq!(
            definition_file(&outside, &watched, &changed(&["collections.json"])),
            None
        );
    }

    #[test]
    fn a_changed_couchdb_index_is_a_package_change() {
        let dir = tempfile::tempdir().unwrap();
        let watched = std::fs::canonicalize(dir.path()).unwrap();
        let indexes = watched.join("META-INF/statedb/couchdb/indexes");
        std::fs::create_dir_all(&indexes).unwrap();
        let changed = |names: &[&str]| names.iter().map(PathBuf::from).collect::<Vec<_>>();
        let meta_inf = watched.join("META-INF");
        assert_eq!(
            package_file(
                &meta_inf,
                &watched,
                &changed(&["src/lib.rs", "META-INF/statedb/couchdb/indexes/owner.json"])
            ),
            Some(PathBuf::from("META-INF/statedb/couchdb/indexes/owner.json"))
        );
        assert_eq!(
            package_file(
                &meta_inf,
                &watched,
                &changed(&["src/lib.rs", "META-INF/notes.txt"])
            ),
            None
        );
        // No META-INF at all: nothing to carry.
        let bare = tempfile::tempdir().unwrap();
        assert_eq!(
            package_file(
                &bare.path().join("META-INF"),
                bare.path(),
                &changed(&["src/x.rs"])
            ),
            None
        );
    }

    #[test]
    fn a_reload_lasts_as_long_as_its_phases() {
        let report = ReloadReport {
            chaincode: "cc".into(),
            reload: 1,
            files: vec![],
            phases: vec![
                Phase {
                    name: "build",
                    took: Duration::from_millis(900),
                },
                Phase {
                    name: "start",
                    took: Duration::from_millis(600),
                },
            ],
        };
        assert_eq!(report.total(), Duration::from_millis(1500));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(
            json["phases"][1],
            serde_json::json!({"name": "start", "ms": 600})
        );
    }
}
