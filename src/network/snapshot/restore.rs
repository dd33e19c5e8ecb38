//! `restore`: the network of a snapshot, brought up from it.
//!
//! The archive is read whole and checked before anything is created. Then: the state
//! directory is written, each node's container is created with its ledger copied in
//! before it first starts, the nodes start and are waited for as a stopped network's
//! are (see [`super::super::resume`]), and the chaincode servers run again from their
//! image (loaded from the snapshot, present here, or built from their directory). Any
//! failure after the first object was created removes everything again.

use super::archive::{self, Staged};
use crate::engine::spec::{LABEL_MANAGED, LABEL_NETWORK, MANAGED};
use crate::engine::EngineRef;
use crate::network::deploy::{ChaincodeImage, ChaincodeServer, DeployRequest};
use crate::network::deployments::{Deployment, DeploymentSource};
use crate::network::down::{teardown, STATE_MARKER};
use crate::network::error::{Error, Result};
use crate::network::lock::{entries_but_lock, remove_entries, StateLock, LOCK_WAIT};
use crate::network::specs::{couchdb_spec, COUCHDB_DATA_DIR, DATA_DIR};
use crate::network::Network;
use crate::support::reporter::{step, step_with, Reporter};
use crate::topology::Topology;
use crate::Layout;
use futures_util::future::try_join_all;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where and under what name to restore.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// Another network name (containers get it as their prefix), as `--network` for `up`.
    pub network: Option<String>,
    /// The state directory (default: `.fabx/<network>` in the current directory).
    pub state_dir: Option<PathBuf>,
    /// Makes the topology private (the test harness): a unique name, no host ports.
    pub isolate: bool,
}

/// What `restore` brought back.
#[derive(Debug, Clone, PartialEq)]
pub struct RestoreReport {
    pub network: String,
    pub state_dir: PathBuf,
    pub nodes: usize,
    /// Each chaincode and how its servers run again.
    pub chaincodes: Vec<(String, String)>,
    pub elapsed: Duration,
    /// The restored topology, written for later commands (`--config`); None when it is
    /// the built-in one, which they read anyway.
    pub topology_file: Option<PathBuf>,
}

/// Where restore writes the topology in the state directory.
pub const TOPOLOGY_FILE: &str = "topology.yaml";

/// Restores the snapshot at `path` on `engine`; returns the running network.
pub async fn restore(
    engine: EngineRef,
    path: &Path,
    options: &RestoreOptions,
    reporter: &dyn Reporter,
) -> Result<(Network, RestoreReport)> {
    let started = Instant::now();
    let staged = step(reporter, "read snapshot", async {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || archive::stage(&path))
            .await
            .expect("reading a snapshot does not panic")
            .map_err(Error::from)
    })
    .await?;
    let network = target(engine, &staged, options)?;
    network.docker_only("fabx restore")?;
    let root = network.layout.root().to_path_buf();
    let root_existed = root.exists();
    let lock = StateLock::acquire(&root, "restore", LOCK_WAIT, reporter).await?;
    // Nothing is created until these pass; a failure leaves only what was there.
    let checked = async {
        network.check_free().await?;
        let (topology, _) = network.preflight(reporter).await?;
        let network = Network {
            topology,
            ..network.clone()
        };
        let images = network.chaincode_images(&staged, reporter).await?;
        Ok::<_, Error>((network, images))
    }
    .await;
    let (network, images) = match checked {
        Ok(checked) => checked,
        Err(e) => {
            drop(lock);
            remove_if_new(&root, root_existed);
            return Err(e);
        }
    };
    let name = network.topology.network.clone();
    let network = &network;
    let restored = async {
        step(reporter, "write state directory", async {
            copy_state(&staged.state(), &root)?;
            let text = serde_norway::to_string(&network.topology).expect("a topology serializes");
            crate::artifacts::crypto::write_file(&root.join(TOPOLOGY_FILE), &text, false)?;
            Ok::<_, Error>(())
        })
        .await?;
        network.create_restored(&staged, reporter).await?;
        // The servers start beside the nodes (they need nothing from them to start);
        // whether the peers reach them is checked once the peers run.
        let servers = network.plan_restored_servers(&images)?;
        let created = network
            .engine
            .workloads(&[format!("{LABEL_NETWORK}={}", network.topology.network)])
            .await?;
        let (resumed, started) = futures_util::future::join(
            network.resume(&created, reporter),
            try_join_all(servers.iter().map(|(server, image)| async move {
                let name = format!("run {}", server.host);
                step(reporter, &name, network.start_server(server, image)).await
            })),
        )
        .await;
        resumed?;
        started?;
        try_join_all(servers.iter().map(|(server, _)| async {
            let name = format!("wait for {}", server.host);
            step(reporter, &name, network.await_accepting(server, false)).await
        }))
        .await?;
        Ok::<_, Error>(network.served_by(&images))
    }
    .await;
    match restored {
        Ok(chaincodes) => Ok((
            Network::clone(network),
            RestoreReport {
                network: name,
                state_dir: root.clone(),
                nodes: network.topology.nodes().len(),
                chaincodes,
                elapsed: started.elapsed(),
                topology_file: (!staged.manifest.built_in).then(|| root.join(TOPOLOGY_FILE)),
            },
        )),
        Err(e) => {
            let _ = teardown(&*network.engine, &name, Some(&root)).await;
            // Files written before the marker was: not removed by teardown.
            let _ = entries_but_lock(&root).and_then(remove_entries);
            drop(lock);
            remove_if_new(&root, root_existed);
            Err(e)
        }
    }
}

/// Removes the state directory (and an emptied `.fabx`) when this restore made it.
fn remove_if_new(root: &Path, existed: bool) {
    if existed {
        return;
    }
    let _ = std::fs::remove_dir(root);
    if let Some(parent) = root.parent().filter(|p| p.ends_with(".fabx")) {
        let _ = std::fs::remove_dir(parent);
    }
}

/// The network the snapshot describes, under the name and in the directory asked for.
fn target(engine: EngineRef, staged: &Staged, options: &RestoreOptions) -> Result<Network> {
    let mut topology = Topology::parse(&staged.manifest.topology, "the snapshot's topology")?;
    topology.host_ports_pinned = staged.manifest.host_ports_pinned;
    if options.isolate {
        topology = topology.isolated();
    }
    if let Some(name) = &options.network {
        topology = topology.renamed(name, "--network")?;
    }
    let layout = match &options.state_dir {
        Some(dir) => Layout::new(dir),
        None => Layout::default_for(
            &std::env::current_dir().map_err(|source| Error::io("read", Path::new("."), source))?,
            &topology.network,
        ),
    };
    Ok(Network::on(engine, topology, layout))
}

impl Network {
    /// Nothing of this network exists here: no containers, no Docker network, an empty
    /// state directory.
    async fn check_free(&self) -> Result<()> {
        let name = &self.topology.network;
        let containers = self
            .engine
            .workloads(&[format!("{LABEL_NETWORK}={name}")])
            .await?;
        let space = self.engine.space_labels(name).await?;
        if let Some(labels) = &space {
            if labels.get(LABEL_MANAGED).map(String::as_str) != Some(MANAGED) {
                return Err(self.engine.foreign_space(name).into());
            }
        }
        if !containers.is_empty() || space.is_some() {
            return Err(Error::BadInput {
                problem: format!("network {name} already exists on this machine"),
                fix: "`fabx down` removes it, or restore beside it with --network OTHER_NAME"
                    .into(),
            });
        }
        let root = self.layout.root();
        if !entries_but_lock(root)?.is_empty() {
            return Err(Error::BadInput {
                problem: format!("state directory {} is not empty", root.display()),
                fix: "restore into a new directory with --state-dir DIR (or `fabx down` the network that was there)".into(),
            });
        }
        Ok(())
    }

    /// The image each recorded chaincode's servers run, found before anything is
    /// created: loaded from the snapshot, present here with the recorded ID, or built
    /// from its directory; none for a chaincode the user runs.
    async fn chaincode_images(
        &self,
        staged: &Staged,
        reporter: &dyn Reporter,
    ) -> Result<Vec<(Deployment, Option<ChaincodeImage>)>> {
        if let Some(images) = staged.images() {
            step(reporter, "load chaincode images", async {
                let archive =
                    std::fs::read(&images).map_err(|source| Error::io("read", &images, source))?;
                Ok::<_, Error>(self.engine.load_images(archive).await?)
            })
            .await?;
        }
        let mut found = Vec::new();
        for deployment in &staged.manifest.deployments {
            let image = match &deployment.source {
                DeploymentSource::Address(_) => None,
                _ => Some(self.image_for(deployment, reporter).await?),
            };
            found.push((deployment.clone(), image));
        }
        Ok(found)
    }

    async fn image_for(
        &self,
        deployment: &Deployment,
        reporter: &dyn Reporter,
    ) -> Result<ChaincodeImage> {
        let present = self.engine.image_id(&deployment.image).await?;
        if present.as_deref() == Some(deployment.image_id.as_str()) {
            return Ok(ChaincodeImage {
                reference: deployment.image.clone(),
                id: deployment.image_id.clone(),
            });
        }
        let request = deployment.request()?;
        match (&deployment.source, present) {
            (DeploymentSource::Directory(dir), _) if dir.is_dir() => {
                step_with(reporter, &format!("build {}", deployment.name), |id| {
                    self.chaincode_image(&request, reporter, id)
                })
                .await
            }
            // An image deployed by name: whatever that name is here.
            (DeploymentSource::Image(_), Some(id)) => Ok(ChaincodeImage {
                reference: deployment.image.clone(),
                id,
            }),
            (source, _) => Err(Error::BadInput {
                problem: format!(
                    "chaincode {} runs image {}, which is not on this machine{}",
                    deployment.name,
                    deployment.image,
                    match source {
                        DeploymentSource::Directory(dir) =>
                            format!(", and its directory {} is not either", dir.display()),
                        _ => String::new(),
                    }
                ),
                fix: "take the snapshot with --with-images, or load the image here first".into(),
            }),
        }
    }

    /// Creates every node's container with its ledger copied in, and each CouchDB's
    /// with its databases, none started.
    async fn create_restored(&self, staged: &Staged, reporter: &dyn Reporter) -> Result<()> {
        step(reporter, "create network", self.create_space()).await?;
        let mut specs = Vec::new();
        for node in self.topology.nodes() {
            specs.push((node.host.clone(), self.node_workload(&node)?, DATA_DIR));
        }
        let couchdbs = self.topology.couchdbs();
        if !couchdbs.is_empty() {
            let admin = crate::network::couchdb::load_admin(&self.layout)?;
            for couchdb in couchdbs {
                let spec = couchdb_spec(&self.topology, &couchdb, &admin);
                specs.push((couchdb.host, spec, COUCHDB_DATA_DIR));
            }
        }
        for ca in self.topology.certificate_authorities() {
            let spec = self.ca_workload(&ca)?;
            specs.push((ca.host, spec, crate::network::specs::CA_HOME));
        }
        try_join_all(specs.iter().map(|(host, spec, data_dir)| async move {
            let ledger = staged.ledger(host);
            step(reporter, &format!("create {host} with its data"), async {
                let archive =
                    std::fs::read(&ledger).map_err(|source| Error::io("read", &ledger, source))?;
                self.engine.create(spec).await?;
                // Beside the data directory: the archive's top entry is its name.
                let parent = Path::new(data_dir)
                    .parent()
                    .expect("a data directory has a parent");
                self.engine
                    .upload_tar(&spec.name, &parent.display().to_string(), archive)
                    .await?;
                Ok::<_, Error>(())
            })
            .await
        }))
        .await?;
        Ok(())
    }

    /// Every recorded chaincode's servers with the image they run.
    fn plan_restored_servers<'i>(
        &self,
        images: &'i [(Deployment, Option<ChaincodeImage>)],
    ) -> Result<Vec<(ChaincodeServer, &'i ChaincodeImage)>> {
        let mut servers = Vec::new();
        for (deployment, image) in images {
            let Some(image) = image else { continue };
            let request: DeployRequest = deployment.request()?;
            for server in self.plan_servers(&request, &deployment.channel, &deployment.label)? {
                servers.push((server, image));
            }
        }
        Ok(servers)
    }

    /// How each chaincode's servers run again.
    fn served_by(&self, images: &[(Deployment, Option<ChaincodeImage>)]) -> Vec<(String, String)> {
        images
            .iter()
            .map(|(deployment, image)| {
                let how = match (image, &deployment.source) {
                    (_, DeploymentSource::Address(address)) => {
                        format!("your process at {address} (start it again)")
                    }
                    (image, _) => format!(
                        "image {}",
                        image.as_ref().map_or(&deployment.image, |i| &i.reference)
                    ),
                };
                (deployment.name.clone(), how)
            })
            .collect()
    }
}

/// Copies the staged state directory's files into `root`, modes kept.
fn copy_state(from: &Path, root: &Path) -> Result<()> {
    if !from.join(STATE_MARKER).is_file() {
        return Err(Error::BadInput {
            problem: "the snapshot holds no fabx state directory".into(),
            fix: "give a file `fabx snapshot` wrote".into(),
        });
    }
    copy_tree(from, root)
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    for entry in from
        .read_dir()
        .map_err(|source| Error::io("read", from, source))?
        .filter_map(|e| e.ok())
    {
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        if source.is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| Error::io("create", &target, e))?;
            copy_tree(&source, &target)?;
        } else {
            // std::fs::copy keeps the permission bits: keys stay 0600.
            std::fs::copy(&source, &target).map_err(|e| Error::io("write", &target, e))?;
        }
    }
    Ok(())
}
