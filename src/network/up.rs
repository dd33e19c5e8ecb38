//! `up`: from nothing to every orderer and peer joined to its channels.
//!
//! The steps: check images, their Fabric release and host ports (nothing created yet);
//! generate the crypto material and the channel's genesis block in process, read
//! core.yaml from the peer image, create the Docker network; then each node starts,
//! becomes ready and joins on its own (orderers through their admin API, peers with
//! `peer channel join`); last, wait for consensus (a raft leader or BFT's first view)
//! and gossip membership. Any failure after the first object was created removes
//! everything again. No tools container is involved.

use super::{down, Network};
use crate::artifacts::channel_config::{self, FabricMajor};
use crate::artifacts::core_yaml::{patch_core_yaml, BUILDER_SCRIPTS, IMAGE_CORE_YAML};
use crate::artifacts::{configtx, crypto};
use crate::engine::spec::{LABEL_MANAGED, LABEL_NETWORK, LABEL_STATE_DIR, MANAGED};
use crate::engine::wait::{await_log, consensus_ready, ORDERER_READY, PEER_READY};
use crate::engine::{EngineKind, NodeService, WorkloadSpec};
use crate::network::calls::retrying;
use crate::network::error::{Error, Result};
use crate::network::lock::{entries_but_lock, remove_entries, StateLock, LOCK_WAIT};
use crate::network::specs::{labels, node_spec};
use crate::support::gate::Gate;
use crate::support::profile::timed;
use crate::support::reporter::{step, step_with, Reporter};
use crate::topology::{couchdb_host, Consensus, Node, NodeKind, Topology};
use fabx_fabric::participation::ParticipationClient;
use futures_util::future::{join3, join_all, try_join_all};
use std::collections::HashMap;
use std::path::Path;

use std::time::{Duration, Instant};

/// Each channel's genesis block, by channel name.
type ChannelBlocks = std::collections::BTreeMap<String, Vec<u8>>;

/// How long a node may take to start, and raft to elect a leader.
pub const READY_TIMEOUT: Duration = Duration::from_secs(90);

#[derive(Debug, Clone, PartialEq)]
pub enum UpOutcome {
    Started {
        nodes: usize,
        elapsed: Duration,
    },
    AlreadyUp {
        containers: usize,
    },
    /// Stopped containers were started again and are ready, with their ledgers.
    Restarted {
        containers: Vec<String>,
        elapsed: Duration,
    },
}

impl Network {
    /// Starts the network. A network that is already up is left as it is; one whose
    /// containers stopped (a reboot, a Docker restart) is started again with its ledgers.
    pub async fn up(&self, reporter: &dyn Reporter) -> Result<UpOutcome> {
        let started = Instant::now();
        self.topology.validate("the topology")?;
        let _lock = StateLock::acquire(self.layout.root(), "up", LOCK_WAIT, reporter).await?;
        self.check_owner(false).await?;
        let name = &self.topology.network;
        let existing = self
            .engine
            .workloads(&[format!("{LABEL_NETWORK}={name}")])
            .await?;
        if !existing.is_empty() {
            return self.resume(&existing, reporter).await;
        }
        match self.engine.space_labels(name).await? {
            Some(labels) if labels.get(LABEL_MANAGED).map(String::as_str) != Some(MANAGED) => {
                return Err(self.engine.foreign_space(name).into())
            }
            // Ours but empty: left over from an interrupted run.
            Some(_) => self.engine.remove_space(name).await?,
            None => {}
        }
        let (topology, fabric) = self.preflight(reporter).await?;
        // The same network with the host ports it will really publish.
        let network = Network {
            topology,
            ..self.clone()
        };
        if let Err(e) = network.create(fabric, reporter).await {
            let _ = down::teardown(&*self.engine, name, Some(self.layout.root())).await;
            return Err(e);
        }
        Ok(UpOutcome::Started {
            nodes: self.topology.nodes().len(),
            elapsed: started.elapsed(),
        })
    }

    /// Checks that need nothing created: images present (pulled if possible), their
    /// Fabric release fit for the consensus type, host ports free. Returns the topology
    /// with the host ports to publish (a taken port that the topology did not pin is
    /// replaced by a free one) and the Fabric release the channel is made for.
    pub(super) async fn preflight(
        &self,
        reporter: &dyn Reporter,
    ) -> Result<(Topology, FabricMajor)> {
        let images = &self.topology.images;
        let mut wanted = vec![images.orderer.as_str(), images.peer.as_str()];
        if !self.topology.couchdbs().is_empty() {
            wanted.push(self.topology.couchdb_image());
        }
        let cas = self.topology.certificate_authorities();
        if !cas.is_empty() {
            if self.engine.kind() == EngineKind::Kubernetes {
                return Err(Error::BadInput {
                    problem: format!(
                        "Fabric CA servers ({}) run on Docker only for now",
                        cas.iter()
                            .map(|c| c.host.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    fix:
                        "leave certificate_authorities out of the topology, or use --engine docker"
                            .into(),
                });
            }
            wanted.push(self.topology.ca_image());
        }
        wanted.dedup();
        step_with(reporter, "check images", |id| async move {
            try_join_all(wanted.into_iter().map(|image| async move {
                let mut progress = |line: &str| reporter.step_detail(id, line);
                self.engine.ensure_image(image, &mut progress).await
            }))
            .await
        })
        .await?;
        let (fabric, version) = self.fabric_major().await?;
        if self.topology.orderer.consensus == Consensus::Bft && fabric < FabricMajor(3) {
            return Err(Error::BftNeedsFabric3 {
                image: images.orderer.clone(),
                version: version.map_or("not Fabric 3".into(), |v| format!("Fabric {v}")),
            });
        }
        let topology = step(reporter, "check host ports", async {
            self.free_host_ports()
        })
        .await?;
        Ok((topology, fabric))
    }

    fn free_host_ports(&self) -> Result<Topology> {
        let mut topology = self.topology.clone();
        if self.engine.kind() == EngineKind::Kubernetes {
            // Nothing is published on this machine: fabx reaches pods by port forwards.
            return Ok(topology);
        }
        let ip = self.topology.host_ip().to_string();
        let pinned = self.topology.host_ports_pinned;
        // Held until every port is chosen, so no two nodes get the same free port.
        let mut held = Vec::new();
        let mut choose = |port: &mut Option<u16>, host: String| -> Result<()> {
            let Some(wanted) = *port else { return Ok(()) };
            if let Ok(listener) = std::net::TcpListener::bind((ip.as_str(), wanted)) {
                held.push(listener);
                return Ok(());
            }
            if pinned {
                return Err(Error::PortTaken {
                    port: wanted,
                    node: host,
                });
            }
            let listener = std::net::TcpListener::bind((ip.as_str(), 0))
                .map_err(|source| Error::io("bind a free port on", Path::new(&ip), source))?;
            *port = Some(
                listener
                    .local_addr()
                    .map_err(|source| Error::io("read the port of", Path::new(&ip), source))?
                    .port(),
            );
            held.push(listener);
            Ok(())
        };
        let domain = topology.orderer_org.domain.clone();
        for o in &mut topology.orderer_org.orderers {
            let host = format!("{}.{domain}", o.name);
            choose(&mut o.host_port, host.clone())?;
            choose(&mut o.admin_host_port, host)?;
        }
        for org in &mut topology.orgs {
            for p in &mut org.peers {
                let host = format!("{}.{}", p.name, org.domain);
                choose(&mut p.host_port, host.clone())?;
                choose(&mut p.couchdb_host_port, couchdb_host(&host))?;
            }
        }
        let with_ca: Vec<String> = self
            .topology
            .certificate_authorities()
            .into_iter()
            .map(|ca| ca.msp_id)
            .collect();
        for org in topology
            .orgs
            .iter_mut()
            .filter(|o| with_ca.contains(&o.msp_id))
        {
            let host = format!("ca.{}", org.domain);
            choose(&mut org.ca_host_port, host)?;
        }
        Ok(topology)
    }

    async fn create(&self, fabric: FabricMajor, reporter: &dyn Reporter) -> Result<()> {
        let root = self.layout.root();
        clear_state_dir(root)?;
        let marker = root.join(down::STATE_MARKER);
        crypto::write_file(
            &marker,
            "generated by fabx; removed by `fabx down`\n",
            false,
        )?;
        // Parallel steps that create objects all run to their end before an error is
        // returned: a dropped request may still create its object after the rollback.
        // On a cluster core.yaml is read by a pod, which needs the namespace first.
        let space_first = self.engine.kind() == EngineKind::Kubernetes;
        if space_first {
            step(reporter, "create namespace", self.create_space()).await?;
        }
        let (files, core, network) = join3(
            step(
                reporter,
                "generate crypto and channel block",
                self.write_files(fabric),
            ),
            step(reporter, "patch core.yaml", self.write_core_yaml()),
            async {
                match space_first {
                    true => Ok(()),
                    false => step(reporter, "create network", self.create_space()).await,
                }
            },
        )
        .await;
        let blocks = files.and_then(|blocks| core.and(network).map(|_| blocks))?;
        let participation = &self.participation()?;

        // Each node goes its own way: start, wait until it is ready, join its channels.
        let blocks = &blocks;
        let orderer_count = self.topology.orderers().len();
        // Per channel: opened once its first peer has joined, and once every orderer has
        // joined it; see `join_peer`.
        let first_joined: HashMap<&String, Gate> =
            blocks.keys().map(|c| (c, Gate::after(1))).collect();
        let orderers_joined: HashMap<&String, Gate> = blocks
            .keys()
            .map(|c| (c, Gate::after(orderer_count)))
            .collect();
        // Opened once every orderer serves; see `await_orderers_serving`.
        let orderers_serving = Gate::after(orderer_count);
        let (first_joined, orderers_joined, orderers_serving) =
            (&first_joined, &orderers_joined, &orderers_serving);
        let fail_all = || {
            first_joined
                .values()
                .chain(orderers_joined.values())
                .chain(std::iter::once(orderers_serving))
                .for_each(Gate::fail);
        };
        let nodes = self.topology.nodes().into_iter().map(|node| async move {
            let result = async {
                // A peer's CouchDB serves before the peer starts: the peer opens its
                // state database at start and gives up after a few tries.
                if let Some(couchdb) = self.topology.couchdb_of(&node) {
                    let name = format!("start {}", couchdb.host);
                    step(reporter, &name, self.run_couchdb(&couchdb)).await?;
                }
                let spec = self.node_workload(&node)?;
                step(
                    reporter,
                    &format!("start {}", node.host),
                    self.run_node(&spec),
                )
                .await?;
                if node.kind == NodeKind::Orderer
                    && !self.await_orderers_serving(&node, orderers_serving).await?
                {
                    // Another orderer failed; its error is the one reported.
                    return Ok(());
                }
                let channels = match node.kind {
                    NodeKind::Orderer => blocks.keys().cloned().collect(),
                    NodeKind::Peer => self.topology.org_channels(&node.msp_id),
                };
                let joins = channels.into_iter().map(|channel| {
                    let node = node.clone();
                    async move {
                        let name = format!("join {} to {channel}", node.host);
                        let block = &blocks[&channel];
                        match node.kind {
                            NodeKind::Orderer => {
                                let join = self.join_orderer(node, participation, block);
                                step(reporter, &name, join).await?;
                                orderers_joined[&channel].arrive();
                                Ok(())
                            }
                            NodeKind::Peer => {
                                let gates = (&orderers_joined[&channel], &first_joined[&channel]);
                                let join = self.join_peer(node, &channel, block, gates);
                                step(reporter, &name, join).await
                            }
                        }
                    }
                });
                join_all(joins).await.into_iter().try_for_each(|r| r)
            }
            .await;
            if result.is_err() {
                fail_all();
            }
            result
        });
        // Each org's CA server starts beside its nodes; nothing waits for it but `up`.
        let cas = self.topology.certificate_authorities();
        let cas = join_all(cas.iter().map(|ca| async move {
            let name = format!("start {}", ca.host);
            step(reporter, &name, self.run_ca(ca)).await
        }));
        let (nodes, cas) = futures_util::future::join(join_all(nodes), cas).await;
        nodes.into_iter().chain(cas).try_for_each(|r| r)?;
        if self.engine.kind() == EngineKind::Docker {
            // The profiles name published host ports; a cluster publishes none.
            step(
                reporter,
                "write connection profiles",
                self.write_connection_profiles(),
            )
            .await?;
        }

        // Consensus among the orderers and gossip among the peers form independently.
        let consensus = consensus_ready(self.topology.orderer.consensus).name;
        let (consensus, gossip) = futures_util::future::join(
            step(
                reporter,
                &format!("wait for {consensus}"),
                self.await_consensus(),
            ),
            step(
                reporter,
                "wait for gossip membership",
                self.await_gossip_membership(),
            ),
        )
        .await;
        consensus.and(gossip)
    }

    /// Crypto material, TLS CA bundle, each channel's genesis block (made in process, and
    /// returned by channel), its configtx.yaml (for users' own channel updates) and the
    /// builder scripts.
    async fn write_files(&self, fabric: FabricMajor) -> Result<ChannelBlocks> {
        let topology = self.topology.clone();
        let layout = self.layout.clone();
        tokio::task::spawn_blocking(move || -> Result<ChannelBlocks> {
            crypto::generate(&topology, &layout)?;
            if !topology.couchdbs().is_empty() {
                super::couchdb::create_admin(&layout)?;
            }
            super::fabric_ca::write_ca_files(&layout, &topology.certificate_authorities())?;
            let mut blocks = ChannelBlocks::new();
            for spec in topology.channels() {
                let view = topology
                    .channel_view(&spec.name)
                    .expect("a listed channel has a view");
                let block = channel_config::genesis_block(&view, &layout, fabric)?;
                let path = layout.channel_block(&spec.name);
                std::fs::create_dir_all(path.parent().expect("block path has a parent"))
                    .and_then(|_| std::fs::write(&path, &block))
                    .map_err(|source| io(&path, source))?;
                let configtx = layout.configtx_of(&spec.name).join("configtx.yaml");
                crypto::write_file(&configtx, &configtx::render(&view, fabric), false)?;
                blocks.insert(spec.name, block);
            }
            let packages = layout.packages();
            std::fs::create_dir_all(&packages).map_err(|source| io(&packages, source))?;
            for (name, script) in BUILDER_SCRIPTS {
                let path = layout.builders().join("bin").join(name);
                crypto::write_file(&path, script, false)?;
                set_mode(&path, 0o755)?;
            }
            Ok(blocks)
        })
        .await
        .expect("file generation does not panic")
    }

    /// Takes core.yaml out of the peer image and writes the patched copy.
    async fn write_core_yaml(&self) -> Result<()> {
        let name = self
            .topology
            .container_name(&format!("core-yaml.{}", self.topology.network));
        let original = self
            .engine
            .read_image_file(
                &self.topology.images.peer,
                IMAGE_CORE_YAML,
                labels(&self.topology, "tools"),
                &name,
            )
            .await?;
        let patched = patch_core_yaml(&String::from_utf8_lossy(&original))?;
        let path = self.layout.peer_config().join("core.yaml");
        crypto::write_file(&path, &patched, false)?;
        Ok(())
    }

    /// A node's workload: its spec (a peer's with its CouchDB settings), and on Docker a
    /// peer reads the packages fabx writes.
    pub(super) fn node_workload(&self, node: &Node) -> Result<WorkloadSpec> {
        let mut spec = node_spec(&self.topology, &self.layout, node);
        if let Some(couchdb) = self.topology.couchdb_of(node) {
            spec.env.extend(super::couchdb::peer_env(
                &super::couchdb::load_admin(&self.layout)?,
                &couchdb,
            ));
        }
        if node.kind == NodeKind::Peer && self.engine.kind() == EngineKind::Docker {
            spec.binds.push(crate::engine::Bind {
                host: self.layout.packages().display().to_string(),
                container: crate::artifacts::layout::container::PACKAGES.into(),
                read_only: true,
            });
        }
        Ok(spec)
    }

    /// The Docker network, or the namespace with a Service per node (and CouchDB).
    pub(super) async fn create_space(&self) -> Result<()> {
        let mut labels = labels(&self.topology, "network");
        let root = super::owner::state_dir_identity(self.layout.root());
        labels.insert(LABEL_STATE_DIR.into(), root.display().to_string());
        let services: Vec<NodeService> = self
            .topology
            .nodes()
            .iter()
            .map(|node| NodeService {
                workload: self.topology.container_name(&node.host),
                host: node.host.clone(),
                ports: node_spec(&self.topology, &self.layout, node).ports,
            })
            .chain(self.topology.couchdbs().into_iter().map(|c| NodeService {
                workload: self.topology.container_name(&c.host),
                host: c.host,
                ports: vec![crate::topology::ports::COUCHDB],
            }))
            .collect();
        Ok(self
            .engine
            .create_space(&self.topology.network, labels, &services)
            .await?)
    }

    async fn run_node(&self, spec: &WorkloadSpec) -> Result<()> {
        self.engine.create(spec).await?;
        Ok(self.engine.start(&spec.name).await?)
    }

    /// Waits until `orderer` serves, then until every orderer does; false if another
    /// failed. An orderer that joins a channel dials the channel's other orderers at
    /// once, and gRPC dials one that refused again only after a second; a consensus
    /// message sent meanwhile is dropped. SmartBFT recovers from a dropped proposal only
    /// by a view change, 20 s later: a deploy's first approval was seen to wait that long.
    async fn await_orderers_serving(&self, orderer: &Node, serving: &Gate) -> Result<bool> {
        let container = self.topology.container_name(&orderer.host);
        await_log(&*self.engine, &container, ORDERER_READY, READY_TIMEOUT).await?;
        serving.arrive();
        Ok(serving.passed().await)
    }

    /// Joins an orderer, which serves, through its channel participation API.
    async fn join_orderer(
        &self,
        orderer: Node,
        participation: &ParticipationClient,
        block: &[u8],
    ) -> Result<()> {
        let endpoint = self.admin_endpoint(&orderer).await?;
        timed(
            || format!("admin API join on {}", orderer.host),
            retrying(|| participation.join(&endpoint, block.to_vec())),
        )
        .await?;
        Ok(())
    }

    /// Joins a peer. Gossip between orgs authenticates a peer only once the other side
    /// has joined the channel (its config holds the other org's MSP and TLS CA), and a
    /// failed anchor-peer probe is retried only after gossip's reconnect interval: two
    /// peers joining at the same moment both fail their probes, and a Gateway then cannot
    /// plan endorsements across orgs for seconds (25 s with Fabric's defaults). So the
    /// first peer joins alone; every other peer joins after it, and its probe of the
    /// first peer (an anchor) succeeds; membership spreads from there.
    ///
    /// The first peer also waits until every orderer has joined the channel: a peer
    /// pulls blocks from an orderer of the channel's config, and one asked before it
    /// joined fails the request; the peer then tries again only after a pause, and the
    /// first transactions (a deploy's approvals) were seen to wait seconds for it.
    async fn join_peer(
        &self,
        peer: Node,
        channel: &str,
        block: &[u8],
        (orderers_joined, first_joined): (&Gate, &Gate),
    ) -> Result<()> {
        let container = self.topology.container_name(&peer.host);
        await_log(&*self.engine, &container, PEER_READY, READY_TIMEOUT).await?;
        let first = self.channel_peers(channel)?.first() == Some(&peer);
        let gate = if first { orderers_joined } else { first_joined };
        if !gate.passed().await {
            // An orderer or the first peer failed; its error is the one reported.
            return Ok(());
        }
        // From fabx over gRPC, as the org's admin: no peer CLI started in the container.
        self.join_channel(&peer, block).await?;
        if first {
            first_joined.arrive();
        }
        Ok(())
    }

    /// Waits until every orderer's consensus is working: a raft leader, or BFT's
    /// first view.
    pub(super) async fn await_consensus(&self) -> Result<()> {
        let condition = consensus_ready(self.topology.orderer.consensus);
        try_join_all(self.topology.orderers().iter().map(|o| {
            let container = self.topology.container_name(&o.host);
            async move { await_log(&*self.engine, &container, condition, READY_TIMEOUT).await }
        }))
        .await?;
        Ok(())
    }
}

/// Empties a state directory left from an earlier network (only one fabx marked as its
/// own), keeping the lock this command holds.
fn clear_state_dir(root: &Path) -> Result<()> {
    let entries = entries_but_lock(root)?;
    if entries.is_empty() {
        return Ok(());
    }
    if !root.join(down::STATE_MARKER).is_file() {
        return Err(Error::StateDirNotOurs {
            path: root.to_path_buf(),
        });
    }
    remove_entries(entries)
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::io("write", path, source)
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|source| io(path, source))
}
