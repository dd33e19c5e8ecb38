//! `up`: from nothing to every orderer and peer joined to the channel.
//!
//! The steps: check images and host ports (nothing created yet); generate files, read
//! core.yaml from the peer image, create the Docker network and start the tools container;
//! then each node starts, becomes ready and joins on its own while the channel block is
//! made; last, wait for a raft leader. Any failure after the first object was created
//! removes everything again.

use super::{down, Check, Network};
use crate::commands::{configtxgen_block, OsnadminCommand, PeerCommand};
use crate::containers::{labels, node_spec, tools_spec};
use crate::docker::{ContainerSpec, UploadFile, LABEL_MANAGED, LABEL_NETWORK, LABEL_STATE_DIR};
use crate::error::{Error, Result};
use crate::layout::{container, container_channel_block};
use crate::lock::{StateLock, LOCK_FILE, LOCK_WAIT};
use crate::peer_config::{patch_core_yaml, BUILDER_SCRIPTS, IMAGE_CORE_YAML};
use crate::reporter::{step, step_with, Reporter};
use crate::topology::{Node, NodeKind, Topology};
use crate::wait::{await_log, ORDERER_READY, PEER_READY, RAFT_LEADER};
use crate::{configtx, crypto};
use futures_util::future::{join, join3, join_all, try_join_all};
use std::path::Path;
use std::time::{Duration, Instant};

/// Whether peers other than the first may join the channel yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JoinGate {
    Waiting,
    Open,
    /// A node failed; waiters stop (that error is reported).
    Failed,
}

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
            .containers_labelled(&[format!("{LABEL_NETWORK}={name}")])
            .await?;
        if !existing.is_empty() {
            return self.resume(&existing, reporter).await;
        }
        match self.engine.network_labels(name).await? {
            Some(labels) if labels.get(LABEL_MANAGED).map(String::as_str) != Some("true") => {
                return Err(Error::ForeignNetwork {
                    network: name.clone(),
                })
            }
            // Ours but empty: left over from an interrupted run.
            Some(_) => self.engine.remove_network(name).await?,
            None => {}
        }
        let topology = self.preflight(reporter).await?;
        // The same network with the host ports it will really publish.
        let network = Network {
            topology,
            ..self.clone()
        };
        if let Err(e) = network.create(reporter).await {
            let _ = down::teardown(&self.engine, name, Some(self.layout.root())).await;
            return Err(e);
        }
        Ok(UpOutcome::Started {
            nodes: self.topology.nodes().len(),
            elapsed: started.elapsed(),
        })
    }

    /// Checks that need nothing created: images present (pulled if possible), host ports free.
    /// Returns the topology with the host ports to publish: a taken port that the
    /// topology did not pin is replaced by a free one.
    async fn preflight(&self, reporter: &dyn Reporter) -> Result<Topology> {
        let images = &self.topology.images;
        let mut wanted = vec![&images.orderer, &images.peer, &images.tools];
        wanted.dedup();
        step_with(reporter, "check images", |id| async move {
            try_join_all(wanted.into_iter().map(|image| async move {
                let mut progress = |line: &str| reporter.step_detail(id, line);
                self.engine.ensure_image(image, &mut progress).await
            }))
            .await
        })
        .await?;
        step(reporter, "check host ports", async {
            self.free_host_ports()
        })
        .await
    }

    fn free_host_ports(&self) -> Result<Topology> {
        let mut topology = self.topology.clone();
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
                choose(&mut p.host_port, format!("{}.{}", p.name, org.domain))?;
            }
        }
        Ok(topology)
    }

    async fn create(&self, reporter: &dyn Reporter) -> Result<()> {
        let root = self.layout.root();
        clear_state_dir(root)?;
        let marker = root.join(down::STATE_MARKER);
        crypto::write_file(
            &marker,
            "generated by fabx; removed by `fabx down`\n",
            false,
        )?;
        // The tools container starts first, beside file generation, so that the block can
        // be made while the nodes start. Its bind-mount sources must exist before it does.
        for dir in [
            self.layout.crypto(),
            self.layout.configtx(),
            self.layout.tlsca_bundle(),
        ] {
            std::fs::create_dir_all(&dir).map_err(|source| io(&dir, source))?;
        }
        let tools = tools_spec(&self.topology, &self.layout);
        let network_and_tools = async {
            step(reporter, "create network", self.create_docker_network()).await?;
            step(reporter, "start tools", self.start(&tools)).await
        };
        // Parallel steps that create objects all run to their end before an error is
        // returned: a dropped request may still create its object after the rollback.
        let (files, core, network) = join3(
            step(reporter, "generate crypto and configtx", self.write_files()),
            step(reporter, "patch core.yaml", self.write_core_yaml()),
            network_and_tools,
        )
        .await;
        files.and(core).and(network)?;

        // Each node goes its own way: start, wait until it is ready, join. The block is
        // made meanwhile in the tools container; joins wait for it, not for each other.
        let (block_made, block_ready) = tokio::sync::watch::channel(false);
        let block = container_channel_block(&self.topology.channel);
        let block_in_tools = block.clone();
        // `move`: the sender must be dropped when this ends, so that waiters wake on failure.
        let make_block = async move {
            step(
                reporter,
                "create channel block",
                self.make_block(&block_in_tools),
            )
            .await?;
            let _ = block_made.send(true);
            Ok::<(), Error>(())
        };
        // Opened once the first peer has joined; see `join_peer`.
        let (first_joined, _) = tokio::sync::watch::channel(JoinGate::Waiting);
        let first_joined = &first_joined;
        let nodes = self.topology.nodes().into_iter().map(|node| {
            let mut block_ready = block_ready.clone();
            let block = block.clone();
            async move {
                let spec = node_spec(&self.topology, &self.layout, &node);
                let name = format!("join {} to {}", node.host, self.topology.channel);
                let result = async {
                    step(reporter, &format!("start {}", node.host), self.start(&spec)).await?;
                    // A closed channel means making the block failed; that error is reported.
                    if block_ready.wait_for(|made| *made).await.is_err() {
                        return Ok(());
                    }
                    match node.kind {
                        NodeKind::Orderer => {
                            step(reporter, &name, self.join_orderer(node.clone(), block)).await
                        }
                        NodeKind::Peer => {
                            step(reporter, &name, self.join_peer(node.clone(), first_joined)).await
                        }
                    }
                }
                .await;
                if result.is_err() {
                    first_joined.send_replace(JoinGate::Failed);
                }
                result
            }
        });
        let (made, joined) = join(make_block, join_all(nodes)).await;
        made?;
        joined.into_iter().try_for_each(|r| r)?;

        step(reporter, "wait for raft leader", self.await_raft_leader()).await?;
        step(
            reporter,
            "wait for gossip membership",
            self.await_gossip_membership(),
        )
        .await
    }

    /// Crypto material, TLS CA bundle, configtx.yaml and the builder scripts.
    async fn write_files(&self) -> Result<()> {
        let topology = self.topology.clone();
        let layout = self.layout.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            crypto::generate(&topology, &layout)?;
            let configtx = layout.configtx().join("configtx.yaml");
            crypto::write_file(&configtx, &configtx::render(&topology), false)?;
            for (name, script) in BUILDER_SCRIPTS {
                let path = layout.builders().join("bin").join(name);
                crypto::write_file(&path, script, false)?;
                set_mode(&path, 0o755)?;
            }
            Ok(())
        })
        .await
        .expect("file generation does not panic")
    }

    /// Takes core.yaml out of the peer image and writes the patched copy.
    async fn write_core_yaml(&self) -> Result<()> {
        let name = self
            .topology
            .container_name(&format!("core-yaml.{}", self.topology.network));
        let spec = ContainerSpec {
            name: name.clone(),
            image: self.topology.images.peer.clone(),
            labels: labels(&self.topology, "tools"),
            network: "none".into(),
            ..Default::default()
        };
        self.engine.create_container(&spec).await?;
        let original = self.engine.download_file(&name, IMAGE_CORE_YAML).await;
        self.engine.remove_container(&name).await?;
        let patched = patch_core_yaml(&String::from_utf8_lossy(&original?))?;
        let path = self.layout.peer_config().join("core.yaml");
        crypto::write_file(&path, &patched, false)?;
        Ok(())
    }

    async fn create_docker_network(&self) -> Result<()> {
        let mut labels = labels(&self.topology, "network");
        let root = super::owner::state_dir_identity(self.layout.root());
        labels.insert(LABEL_STATE_DIR.into(), root.display().to_string());
        Ok(self
            .engine
            .create_network(&self.topology.network, labels)
            .await?)
    }

    async fn start(&self, spec: &ContainerSpec) -> Result<()> {
        self.engine.create_container(spec).await?;
        Ok(self.engine.start_container(&spec.name).await?)
    }

    /// configtxgen in the tools container; a copy of the block goes to the state directory.
    async fn make_block(&self, block: &str) -> Result<()> {
        let tools = self.topology.tools_container();
        let args = configtxgen_block(configtx::PROFILE, &self.topology.channel, block);
        self.run_cli(&tools, args, vec![], Check::Checked).await?;
        let bytes = self.engine.download_file(&tools, block).await?;
        let path = self.layout.channel_block(&self.topology.channel);
        std::fs::create_dir_all(path.parent().expect("block path has a parent"))
            .and_then(|_| std::fs::write(&path, &bytes))
            .map_err(|source| io(&path, source))
    }

    async fn join_orderer(&self, orderer: Node, block: String) -> Result<()> {
        let container = self.topology.container_name(&orderer.host);
        await_log(&self.engine, &container, ORDERER_READY, READY_TIMEOUT).await?;
        let join = OsnadminCommand::Join {
            channel: self.topology.channel.clone(),
            block,
        };
        self.osnadmin(&orderer, &join).await?;
        Ok(())
    }

    /// Joins a peer. Gossip between orgs authenticates a peer only once the other side
    /// has joined the channel (its config holds the other org's MSP and TLS CA), and a
    /// failed anchor-peer probe is retried only after gossip's reconnect interval: two
    /// peers joining at the same moment both fail their probes, and a Gateway then cannot
    /// plan endorsements across orgs for seconds (25 s with Fabric's defaults). So the
    /// first peer joins alone; every other peer joins after it, and its probe of the
    /// first peer (an anchor) succeeds; membership spreads from there.
    async fn join_peer(
        &self,
        peer: Node,
        first_joined: &tokio::sync::watch::Sender<JoinGate>,
    ) -> Result<()> {
        let container = self.topology.container_name(&peer.host);
        let path = self.layout.channel_block(&self.topology.channel);
        let contents = std::fs::read(&path).map_err(|source| Error::io("read", &path, source))?;
        let file = UploadFile {
            name: format!("{}.block", self.topology.channel),
            contents,
            mode: 0o644,
        };
        await_log(&self.engine, &container, PEER_READY, READY_TIMEOUT).await?;
        let first = self.topology.peers().first() == Some(&peer);
        if !first {
            let gate = first_joined
                .subscribe()
                .wait_for(|g| *g != JoinGate::Waiting)
                .await
                .map(|g| *g);
            if !matches!(gate, Ok(JoinGate::Open)) {
                // The first peer failed; its error is the one reported.
                return Ok(());
            }
        }
        self.engine
            .upload(&container, container::CHANNEL, &[file])
            .await?;
        let join = PeerCommand::ChannelJoin {
            block: container_channel_block(&self.topology.channel),
        };
        self.peer(&peer, &join).await?;
        if first {
            first_joined.send_replace(JoinGate::Open);
        }
        Ok(())
    }

    async fn await_raft_leader(&self) -> Result<()> {
        try_join_all(self.topology.orderers().iter().map(|o| {
            let container = self.topology.container_name(&o.host);
            async move { await_log(&self.engine, &container, RAFT_LEADER, READY_TIMEOUT).await }
        }))
        .await?;
        Ok(())
    }
}

/// Empties a state directory left from an earlier network (only one fabx marked as its
/// own), keeping the lock this command holds.
fn clear_state_dir(root: &Path) -> Result<()> {
    let entries: Vec<_> = root
        .read_dir()
        .map_err(|source| Error::io("read", root, source))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name() != LOCK_FILE)
        .collect();
    if entries.is_empty() {
        return Ok(());
    }
    if !root.join(down::STATE_MARKER).is_file() {
        return Err(Error::StateDirNotOurs {
            path: root.to_path_buf(),
        });
    }
    for entry in entries {
        let path = entry.path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|source| Error::io("remove", &path, source))?;
    }
    Ok(())
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::io("write", path, source)
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|source| io(path, source))
}
