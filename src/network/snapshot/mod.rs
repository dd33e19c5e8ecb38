//! `snapshot` and `restore`: a network's whole state in one file, and the same network
//! brought back from it, here or on another machine.
//!
//! A snapshot holds the topology, the state directory (crypto, channel artifacts,
//! packages, chaincode TLS material, the record of each deployment), every node's
//! ledger directory, and with `--with-images` the chaincode images (see [`archive`]).
//!
//! The ledgers are copied consistently by freezing every node at once (`docker pause`:
//! no process runs, every write it made is in the files) for as long as the copy takes.
//! Each node's copy is what a crash at that instant would leave, which Fabric recovers
//! from; and as every node is frozen before any is copied, no peer holds a block the
//! orderers' copies lack (an orderer writes a block before any peer can receive it).

pub mod archive;
mod restore;

pub use archive::{Manifest, SnapshotError, FORMAT};
pub use restore::{restore, RestoreOptions, RestoreReport};

use super::Network;
use crate::engine::spec::LABEL_NETWORK;
use crate::network::down::STATE_MARKER;
use crate::network::error::{Error, Result};
use crate::network::lock::{StateLock, LOCK_FILE, LOCK_WAIT};
use crate::network::specs::{COUCHDB_DATA_DIR, DATA_DIR};
use crate::support::reporter::{step, Reporter};
use archive::SnapshotWriter;
use futures_util::future::{join_all, try_join_all};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What `snapshot` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub ledgers: usize,
    /// Chaincodes whose servers a restore runs again, by name.
    pub chaincodes: Vec<String>,
    pub images: Vec<String>,
    /// How long the nodes were frozen for the ledger copy (zero for a stopped network).
    pub paused: Duration,
}

impl Network {
    /// Writes the network's snapshot to `path` (which must not exist). The network runs
    /// on; its nodes are frozen only while their ledgers are copied.
    pub async fn snapshot(
        &self,
        path: &Path,
        with_images: bool,
        reporter: &dyn Reporter,
    ) -> Result<SnapshotReport> {
        self.docker_only("fabx snapshot")?;
        if path.exists() {
            return Err(Error::BadInput {
                problem: format!("{} already exists", path.display()),
                fix: "give the snapshot a new file name, or remove the old file".into(),
            });
        }
        let _lock = StateLock::acquire(self.layout.root(), "snapshot", LOCK_WAIT, reporter).await?;
        self.check_owner(false).await?;
        let containers = self.node_containers().await?;
        let deployments = self.deployments()?;
        let images: Vec<String> = match with_images {
            false => Vec::new(),
            true => {
                let mut images: Vec<String> = deployments
                    .iter()
                    .map(|d| d.image.clone())
                    .filter(|i| !i.is_empty())
                    .collect();
                images.sort();
                images.dedup();
                images
            }
        };
        let manifest = Manifest {
            format: FORMAT,
            fabx_version: env!("CARGO_PKG_VERSION").to_string(),
            created: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            topology: serde_norway::to_string(&self.topology).expect("a topology serializes"),
            host_ports_pinned: self.topology.host_ports_pinned,
            built_in: self.is_built_in(),
            ledgers: containers.iter().map(|c| c.host.clone()).collect(),
            deployments: deployments.clone(),
            images: images.clone(),
        };
        // Written beside the target and renamed at the end: no half-written snapshot.
        let partial = partial_path(path);
        let _ = std::fs::remove_file(&partial);
        let written = async {
            let mut writer = SnapshotWriter::create(&partial, &manifest)?;
            writer.append_dir(self.layout.root(), &[LOCK_FILE, "restarting"])?;
            let (ledgers, paused) =
                step(reporter, "copy ledgers", self.copy_ledgers(&containers)).await?;
            for (host, ledger) in ledgers {
                writer.append(
                    &format!("{}{host}.tar", archive::LEDGER_PREFIX),
                    0o600,
                    &ledger,
                )?;
            }
            if !images.is_empty() {
                let saved = step(reporter, "save chaincode images", async {
                    Ok::<_, Error>(self.engine.save_images(&images).await?)
                })
                .await?;
                writer.append(archive::IMAGES, 0o644, &saved)?;
            }
            let bytes = step(reporter, "write snapshot", async { writer.finish() }).await?;
            Ok::<_, Error>((bytes, paused))
        }
        .await;
        let (bytes, paused) = match written {
            Ok(done) => done,
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                return Err(e);
            }
        };
        std::fs::rename(&partial, path).map_err(|source| Error::io("rename", &partial, source))?;
        Ok(SnapshotReport {
            path: path.to_path_buf(),
            bytes,
            ledgers: manifest.ledgers.len(),
            chaincodes: deployments.into_iter().map(|d| d.name).collect(),
            images,
            paused,
        })
    }

    /// Whether the topology is the built-in one, under this network's name.
    fn is_built_in(&self) -> bool {
        let mut built_in = crate::topology::Topology::default_topology();
        if built_in.network != self.topology.network {
            match built_in.renamed(&self.topology.network, "--network") {
                Ok(renamed) => built_in = renamed,
                Err(_) => return false,
            }
        }
        built_in == self.topology
    }

    /// Each node's container and its state; every node must have one.
    async fn node_containers(&self) -> Result<Vec<NodeContainer>> {
        let found = self
            .engine
            .workloads(&[format!("{LABEL_NETWORK}={}", self.topology.network)])
            .await?;
        if found.is_empty() || !self.layout.root().join(STATE_MARKER).is_file() {
            return Err(Error::NotUp {
                network: self.topology.network.clone(),
            });
        }
        data_holders(&self.topology)
            .into_iter()
            .map(|(host, data_dir)| {
                let container = self.topology.container_name(&host);
                match found.iter().find(|w| w.name == container) {
                    Some(w) => Ok(NodeContainer {
                        running: w.state == "running",
                        host,
                        container,
                        data_dir,
                    }),
                    None => Err(Error::Broken {
                        network: self.topology.network.clone(),
                        what: host,
                        problem: format!("has no container ({container})"),
                    }),
                }
            })
            .collect()
    }

    /// Every node's ledger directory as a tar archive, by host, copied while every
    /// running node is frozen; and how long they were.
    async fn copy_ledgers(
        &self,
        containers: &[NodeContainer],
    ) -> Result<(Vec<(String, Vec<u8>)>, Duration)> {
        let running: Vec<&str> = containers
            .iter()
            .filter(|c| c.running)
            .map(|c| c.container.as_str())
            .collect();
        let frozen = Instant::now();
        let paused = join_all(running.iter().map(|c| self.engine.set_paused(c, true))).await;
        let copies = match paused.iter().find_map(|r| r.as_ref().err()) {
            Some(_) => None,
            None => Some(
                try_join_all(containers.iter().map(|c| async move {
                    let ledger = self.engine.download_tar(&c.container, c.data_dir).await?;
                    Ok::<_, Error>((c.host.clone(), ledger))
                }))
                .await,
            ),
        };
        // Thawed whatever happened: a network is never left frozen.
        let thawed = join_all(
            running
                .iter()
                .zip(&paused)
                .filter(|(_, p)| p.is_ok())
                .map(|(c, _)| self.engine.set_paused(c, false)),
        )
        .await;
        // Stopped nodes are copied as they are: nothing was paused.
        let held = match running.is_empty() {
            true => Duration::ZERO,
            false => frozen.elapsed(),
        };
        for result in paused.into_iter().chain(thawed) {
            result?;
        }
        let copies = copies.expect("a failed pause returned above")?;
        Ok((copies, held))
    }
}

/// A node's (or a CouchDB's) container as a snapshot finds it.
struct NodeContainer {
    host: String,
    container: String,
    running: bool,
    /// The directory copied: the ledger, or CouchDB's databases.
    data_dir: &'static str,
}

/// Every host whose data a snapshot holds, with the directory it is in: each node's
/// ledger, and each CouchDB's databases (the world state of its peer).
fn data_holders(topology: &crate::topology::Topology) -> Vec<(String, &'static str)> {
    let nodes = topology.nodes().into_iter().map(|n| (n.host, DATA_DIR));
    let couchdbs = topology
        .couchdbs()
        .into_iter()
        .map(|c| (c.host, COUCHDB_DATA_DIR));
    // A CA server's database: its registrations.
    let cas = topology
        .certificate_authorities()
        .into_iter()
        .map(|c| (c.host, crate::network::specs::CA_HOME));
    nodes.chain(couchdbs).chain(cas).collect()
}

fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}
