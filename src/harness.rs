//! A Fabric network for other projects' `#[tokio::test]`s.
//!
//! Each [`TestNetwork`] is isolated (its own Docker network, container names, labels and
//! state directory, no host ports; on Kubernetes its own namespace), so tests run in
//! parallel. It is torn down when dropped, also when the test panics. The engine is
//! Docker unless `FABX_ENGINE=kubernetes` (or [`TestNetwork::start_on`]) says otherwise.
//!
//! ```no_run
//! # async fn example() -> fabx::Result<()> {
//! use fabx::harness::TestNetwork;
//! let net = TestNetwork::start().await?;
//! net.deploy_dir("examplecc", "chaincode/examplecc", &["Init", "a", "100", "b", "200"]).await?;
//! net.invoke("examplecc", "invoke", &["a", "b", "20"]).await?;
//! assert_eq!(net.query("examplecc", "query", &["a"]).await?, "80");
//! # Ok(()) }
//! ```

use crate::engine::docker::DockerEngine;
use crate::engine::{EngineChoice, EngineKind};
use crate::network::deploy::{DeployReport, DeployRequest, Source};
use crate::network::error::{Error, Result};
use crate::network::invoke::{Call, CallOptions, InvokeResult};
use crate::network::{DownOutcome, Network};
use crate::support::reporter::{Reporter, Silent};
use crate::topology::{
    ChannelSpec, Images, OrdererNode, OrdererOrg, OrdererSettings, PeerNode, PeerOrg,
    StateDatabase, Topology,
};
use crate::Layout;

/// A running network owned by a test.
pub struct TestNetwork {
    network: Network,
    choice: EngineChoice,
    state: Option<tempfile::TempDir>,
}

/// Chooses the engine of test networks: `docker` unless `FABX_ENGINE=kubernetes`.
pub const ENGINE_ENV: &str = "FABX_ENGINE";
/// The kubeconfig test networks on Kubernetes use (else `KUBECONFIG`).
pub const KUBECONFIG_ENV: &str = "FABX_KUBECONFIG";

/// The engine `FABX_ENGINE` names (Docker by default); on Kubernetes with the kubeconfig
/// of `FABX_KUBECONFIG`, else `KUBECONFIG`, and its context `FABX_KUBE_CONTEXT`.
pub fn engine_from_env() -> Result<EngineChoice> {
    let kind = match std::env::var(ENGINE_ENV) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|e: String| Error::BadInput {
            problem: format!("{ENGINE_ENV} cannot be used: {e}"),
            fix: "set it to docker or kubernetes".into(),
        })?,
        _ => EngineKind::Docker,
    };
    Ok(EngineChoice {
        kind,
        kubeconfig: kubeconfig_from_env(),
        context: std::env::var("FABX_KUBE_CONTEXT")
            .ok()
            .filter(|c| !c.is_empty()),
        namespace: None,
    })
}

/// The kubeconfig file tests may use: `FABX_KUBECONFIG`, else `KUBECONFIG` (None: no
/// cluster to test on).
pub fn kubeconfig_from_env() -> Option<std::path::PathBuf> {
    [KUBECONFIG_ENV, "KUBECONFIG"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.trim().is_empty())
        .map(std::path::PathBuf::from)
}

/// A topology built in code: `orgs` peer orgs of `peers_per_org` peers, `orderers` orderers.
#[derive(Debug, Clone)]
pub struct TopologyBuilder {
    pub orgs: usize,
    pub peers_per_org: usize,
    pub orderers: usize,
    pub channel: String,
    /// Several channels with their member orgs; empty: one channel (`channel`) of every org.
    pub channels: Vec<ChannelSpec>,
    pub images: Images,
    pub orderer: OrdererSettings,
    /// Every org's peers' state database.
    pub state_database: StateDatabase,
    /// A Fabric CA server per org.
    pub certificate_authorities: bool,
}

impl Default for TopologyBuilder {
    /// The default topology's shape: 2 orgs of 1 peer, 3 orderers, development timing.
    fn default() -> Self {
        let default = Topology::default_topology();
        TopologyBuilder {
            orgs: 2,
            peers_per_org: 1,
            orderers: 3,
            channel: default.channel,
            channels: Vec::new(),
            images: default.images,
            orderer: default.orderer,
            state_database: StateDatabase::Leveldb,
            certificate_authorities: false,
        }
    }
}

impl TopologyBuilder {
    /// How many peer orgs (`Org1MSP`, `Org2MSP`, ...).
    pub fn orgs(mut self, orgs: usize) -> Self {
        self.orgs = orgs;
        self
    }

    pub fn peers_per_org(mut self, peers: usize) -> Self {
        self.peers_per_org = peers;
        self
    }

    pub fn orderers(mut self, orderers: usize) -> Self {
        self.orderers = orderers;
        self
    }

    pub fn channel(mut self, channel: &str) -> Self {
        self.channel = channel.to_string();
        self
    }

    /// Adds a channel with these member orgs (MSP IDs such as `Org1MSP`); the first
    /// channel added is the default one.
    pub fn channel_of(mut self, name: &str, orgs: &[&str]) -> Self {
        self.channels.push(ChannelSpec {
            name: name.to_string(),
            orgs: orgs.iter().map(|o| o.to_string()).collect(),
        });
        self
    }

    /// The ordering service's consensus type (`Bft` needs Fabric 3 images and 4 orderers).
    pub fn consensus(mut self, consensus: crate::topology::Consensus) -> Self {
        self.orderer.consensus = consensus;
        self
    }

    /// Where every peer keeps its world state (`Couchdb`: a CouchDB container beside
    /// each peer, for rich queries).
    pub fn state_database(mut self, database: StateDatabase) -> Self {
        self.state_database = database;
        self
    }

    /// A Fabric CA server per org (see `certificate_authorities` in the README).
    pub fn certificate_authorities(mut self, on: bool) -> Self {
        self.certificate_authorities = on;
        self
    }

    /// The peer and orderer images.
    pub fn images(mut self, peer: &str, orderer: &str) -> Self {
        self.images.peer = peer.to_string();
        self.images.orderer = orderer.to_string();
        self
    }

    /// The topology, validated as a `--config` file is: zero orgs, peers or orderers
    /// are errors here, not panics later.
    pub fn build(&self) -> Result<Topology> {
        let orderer_name = |i: usize| {
            if i == 0 {
                "orderer".to_string()
            } else {
                format!("orderer{}", i + 1)
            }
        };
        let topology = Topology {
            network: "fabx-test".into(),
            channel: if self.channels.is_empty() {
                self.channel.clone()
            } else {
                String::new()
            },
            channels: self.channels.clone(),
            engine: None,
            kubernetes: None,
            images: self.images.clone(),
            state_database: self.state_database,
            certificate_authorities: self.certificate_authorities,
            orderer_org: OrdererOrg {
                msp_id: "OrdererMSP".into(),
                domain: "example.com".into(),
                orderers: (0..self.orderers)
                    .map(|i| OrdererNode {
                        name: orderer_name(i),
                        host_port: None,
                        admin_host_port: None,
                    })
                    .collect(),
            },
            orgs: (1..=self.orgs)
                .map(|i| PeerOrg {
                    msp_id: format!("Org{i}MSP"),
                    domain: format!("org{i}.example.com"),
                    peers: (0..self.peers_per_org)
                        .map(|j| PeerNode {
                            name: format!("peer{j}"),
                            host_port: None,
                            couchdb_host_port: None,
                        })
                        .collect(),
                    state_database: None,
                    certificate_authority: None,
                    ca_host_port: None,
                })
                .collect(),
            orderer: self.orderer.clone(),
            container_prefix: String::new(),
            host_ip: None,
            host_ports_pinned: false,
        };
        topology.validate(BUILDER_SOURCE)?;
        Ok(topology)
    }

    /// Builds the topology and starts it as a [`TestNetwork`].
    pub async fn start(&self) -> Result<TestNetwork> {
        TestNetwork::start_with(self.build()?, &Silent).await
    }
}

/// How a topology from [`TopologyBuilder`] is named in validation errors.
const BUILDER_SOURCE: &str = "harness::TopologyBuilder";

/// Set to `1` in CI that must test on Fabric: a test that would skip for lack of
/// Fabric images fails instead.
pub const REQUIRE_FABRIC_ENV: &str = "FABX_REQUIRE_FABRIC";

/// Makes a topology private to one test: unique network and container names, no host ports.
pub fn isolate(topology: Topology) -> Topology {
    topology.isolated()
}

/// None when the topology's Fabric images are present locally, else why not: tests use
/// it to skip with a message where Fabric images cannot be had. With
/// `FABX_REQUIRE_FABRIC=1` a missing image is an error instead, so a CI that must test
/// on Fabric cannot pass by skipping.
pub async fn missing_images(topology: &Topology) -> Result<Option<String>> {
    let engine = DockerEngine::connect().await?;
    let mut images = vec![
        ("Fabric image", topology.images.peer.as_str()),
        ("Fabric image", topology.images.orderer.as_str()),
    ];
    if !topology.couchdbs().is_empty() {
        images.push(("CouchDB image", topology.couchdb_image()));
    }
    if !topology.certificate_authorities().is_empty() {
        images.push(("Fabric CA image", topology.ca_image()));
    }
    for (what, image) in images {
        if !engine.image_present(image).await? {
            if fabric_required() {
                return Err(Error::FabricRequired {
                    image: image.to_string(),
                    variable: REQUIRE_FABRIC_ENV,
                });
            }
            return Ok(Some(format!("{what} {image} is not present locally")));
        }
    }
    Ok(None)
}

/// Whether `FABX_REQUIRE_FABRIC` asks for Fabric (any value but empty, `0` or `false`).
pub fn fabric_required() -> bool {
    switch_on(REQUIRE_FABRIC_ENV)
}

/// Whether an environment switch is on: any value but empty, `0` or `false`.
pub fn switch_on(variable: &str) -> bool {
    std::env::var(variable)
        .map(|v| !matches!(v.trim(), "" | "0" | "false"))
        .unwrap_or(false)
}

impl TestNetwork {
    /// A topology built in code: `TestNetwork::builder().orgs(3).start().await?`.
    pub fn builder() -> TopologyBuilder {
        TopologyBuilder::default()
    }

    /// The default topology, isolated.
    pub async fn start() -> Result<TestNetwork> {
        TestNetwork::start_with(Topology::default_topology(), &Silent).await
    }

    /// Any topology (from a file or a [`TopologyBuilder`]), isolated.
    /// On the engine [`engine_from_env`] chooses.
    pub async fn start_with(topology: Topology, reporter: &dyn Reporter) -> Result<TestNetwork> {
        TestNetwork::start_on(&engine_from_env()?, topology, reporter).await
    }

    /// Any topology, isolated, on the given engine (on Kubernetes in a namespace of its
    /// own, named like the isolated network).
    pub async fn start_on(
        choice: &EngineChoice,
        topology: Topology,
        reporter: &dyn Reporter,
    ) -> Result<TestNetwork> {
        let state = tempfile::tempdir()
            .map_err(|source| Error::io("create", &std::env::temp_dir(), source))?;
        let topology = isolate(topology);
        let engine = crate::engine::connect(choice, &topology.network).await?;
        let layout = Layout::new(state.path().join("state"));
        let network = Network::on(engine, topology, layout);
        network.up(reporter).await?;
        Ok(TestNetwork {
            network,
            choice: choice.clone(),
            state: Some(state),
        })
    }

    /// A network restored from a snapshot (see [`TestNetwork::snapshot`]), isolated like
    /// every test network: a suite deploys its chaincode and seeds its data once, and
    /// every test starts from that state, in parallel. Docker only.
    ///
    /// ```no_run
    /// # async fn example() -> fabx::Result<()> {
    /// use fabx::harness::TestNetwork;
    /// let seed = TestNetwork::start().await?;
    /// seed.deploy_dir("examplecc", "chaincode/examplecc", &["Init", "a", "100", "b", "200"]).await?;
    /// seed.snapshot("seeded.tar.gz").await?;
    /// seed.teardown().await?;
    /// let net = TestNetwork::from_snapshot("seeded.tar.gz").await?;
    /// assert_eq!(net.query("examplecc", "query", &["a"]).await?, "100");
    /// # Ok(()) }
    /// ```
    pub async fn from_snapshot(path: impl AsRef<std::path::Path>) -> Result<TestNetwork> {
        let state = tempfile::tempdir()
            .map_err(|source| Error::io("create", &std::env::temp_dir(), source))?;
        let choice = EngineChoice::default();
        let engine = crate::engine::connect(&choice, "snapshot").await?;
        let options = crate::network::snapshot::RestoreOptions {
            network: None,
            state_dir: Some(state.path().join("state")),
            isolate: true,
        };
        let (network, _) =
            crate::network::snapshot::restore(engine, path.as_ref(), &options, &Silent).await?;
        Ok(TestNetwork {
            network,
            choice,
            state: Some(state),
        })
    }

    /// Writes the network's snapshot to `path` (see [`Network::snapshot`]).
    pub async fn snapshot(
        &self,
        path: impl AsRef<std::path::Path>,
    ) -> Result<crate::network::snapshot::SnapshotReport> {
        self.network.snapshot(path.as_ref(), false, &Silent).await
    }

    pub fn network(&self) -> &Network {
        &self.network
    }

    pub fn topology(&self) -> &Topology {
        &self.network.topology
    }

    /// Deploys a chaincode, as `fabx deploy` does.
    pub async fn deploy(&self, request: &DeployRequest) -> Result<DeployReport> {
        self.network.deploy(request, &Silent).await
    }

    /// Builds and deploys the chaincode in `dir`; `init` (function and args) if not empty.
    pub async fn deploy_dir(
        &self,
        name: &str,
        dir: impl Into<std::path::PathBuf>,
        init: &[&str],
    ) -> Result<DeployReport> {
        self.deploy(&request(name, Source::Directory(dir.into()), init))
            .await
    }

    /// Rebuilds a chaincode deployed from `dir` (with [`TestNetwork::deploy_dir`]) and
    /// replaces its servers with the new code, as `fabx dev` does on a save: no
    /// lifecycle transaction, the committed definition (sequence, init) unchanged.
    pub async fn redeploy_code(
        &self,
        name: &str,
        dir: impl Into<std::path::PathBuf>,
    ) -> Result<Vec<crate::network::dev::Phase>> {
        self.network
            // What changed is not known here: the image is built again too.
            .reload(&request(name, Source::Directory(dir.into()), &[]), true)
            .await
    }

    /// Deploys an existing CCaaS image; `init` (function and args) if not empty.
    pub async fn deploy_image(
        &self,
        name: &str,
        image: &str,
        init: &[&str],
    ) -> Result<DeployReport> {
        self.deploy(&request(name, Source::Image(image.to_string()), init))
            .await
    }

    /// Invokes, endorsed by every org, and waits for the commit.
    pub async fn invoke(&self, name: &str, function: &str, args: &[&str]) -> Result<InvokeResult> {
        self.network.invoke(name, &call(function, args)).await
    }

    /// Queries on the first org's peer.
    pub async fn query(&self, name: &str, function: &str, args: &[&str]) -> Result<String> {
        self.network.query(name, &call(function, args), None).await
    }

    /// Queries on a peer of the org `msp_id`.
    pub async fn query_as(
        &self,
        msp_id: &str,
        name: &str,
        function: &str,
        args: &[&str],
    ) -> Result<String> {
        self.network
            .query(name, &call(function, args), Some(msp_id))
            .await
    }

    /// Invokes as `options` say (channel, endorsing peers, transient data, identity).
    pub async fn invoke_with(
        &self,
        name: &str,
        function: &str,
        args: &[&str],
        options: &CallOptions,
    ) -> Result<InvokeResult> {
        self.network
            .invoke_with(name, &call(function, args), options)
            .await
    }

    /// Queries as `options` say (channel, the peer that answers, identity).
    pub async fn query_with(
        &self,
        name: &str,
        function: &str,
        args: &[&str],
        options: &CallOptions,
    ) -> Result<String> {
        self.network
            .query_with(name, &call(function, args), options)
            .await
    }

    /// Signs user `name` of org `msp_id` with the org's CA, with Fabric CA attributes
    /// (`("role", "auditor")`); calls act as it with [`CallOptions::identity`].
    pub async fn add_identity(
        &self,
        msp_id: &str,
        name: &str,
        attributes: &[(&str, &str)],
    ) -> Result<crate::network::identities::OrgIdentity> {
        let attributes: Vec<(String, String)> = attributes
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.network
            .add_identity(msp_id, name, Default::default(), &attributes, &Silent)
            .await
    }

    /// Everything a node (or chaincode container) has logged, by its host name.
    pub async fn logs(&self, host: &str) -> Result<String> {
        let container = self.network.topology.container_name(host);
        Ok(self
            .network
            .engine
            .logs_tail(&container, usize::MAX)
            .await?)
    }

    /// Tears the network down now and says what was removed.
    pub async fn teardown(mut self) -> Result<DownOutcome> {
        let outcome = self.network.down(&Silent).await;
        self.state.take();
        outcome
    }
}

impl Drop for TestNetwork {
    fn drop(&mut self) {
        if self.state.is_none() {
            return;
        }
        let network = self.network.clone();
        let choice = self.choice.clone();
        // Drop cannot await, and the test's runtime may be unwinding: use a thread of our own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async move {
                // A Kubernetes client's connection tasks live on the runtime that made
                // it, which is blocked here: connect again on this one.
                let network = match choice.kind {
                    EngineKind::Docker => network,
                    EngineKind::Kubernetes => {
                        let engine = crate::engine::connect(&choice, &network.topology.network)
                            .await
                            .ok()?;
                        Network::on(engine, network.topology.clone(), network.layout.clone())
                    }
                };
                network.down(&Silent).await.ok()
            })
        })
        .join();
    }
}

fn request(name: &str, source: Source, init: &[&str]) -> DeployRequest {
    let mut request = DeployRequest::new(name, source);
    if !init.is_empty() {
        request.init = Some(init.iter().map(|s| s.to_string()).collect());
    }
    request
}

fn call(function: &str, args: &[&str]) -> Call {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    Call::new(function, &args)
}
