//! Command-line arguments and dispatch; each command is a small file.

mod blocks;
mod call;
mod deploy;
mod dev;
mod down;
mod env;
mod identity;
mod logs;
mod new;
pub mod output;
mod snapshot;
mod status;
mod stop;
mod tx;
mod ui;
mod up;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use fabx::{EngineChoice, EngineKind, Layout, Network, Topology};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "fabx",
    version,
    about = "A local Hyperledger Fabric network in Docker, with chaincode as an external service"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Topology file (default: the built-in network/default.yaml)
    #[arg(long, global = true, env = "FABX_CONFIG")]
    pub config: Option<PathBuf>,
    /// Docker network name, to run another network beside the first (containers get it
    /// as their name prefix)
    #[arg(long, global = true, env = "FABX_NETWORK")]
    pub network: Option<String>,
    /// Where generated files go (default: .fabx/<network> in the current directory)
    #[arg(long, global = true, env = "FABX_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Print one JSON object per step and a final summary
    #[arg(long, global = true)]
    pub json: bool,
    /// Print only errors (and results such as query payloads)
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print every detail line (pull progress, logs)
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Afterwards, print each step's Docker API calls, in-container commands, log waits
    /// and admin/discovery requests with their start and duration (with --json: as JSON)
    #[arg(long, global = true)]
    pub profile: bool,
    /// Where the network runs: docker (default) or kubernetes (also `engine:` in the
    /// topology)
    #[arg(long, global = true, env = "FABX_ENGINE")]
    pub engine: Option<fabx::EngineKind>,
    /// Kubernetes: the kubeconfig file (default: KUBECONFIG, else ~/.kube/config)
    #[arg(long, global = true, env = "FABX_KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubernetes: the kubeconfig context (default: its current context)
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// Kubernetes: the namespace fabx creates and owns (default: the network's name)
    #[arg(long, global = true)]
    pub namespace: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate crypto and the channel block, start orderers and peers, join them to the channel
    Up,
    /// Remove every container, volume and network of the network, and its generated files
    Down {
        /// Remove the network even if another state directory owns it (when that
        /// directory is gone)
        #[arg(long)]
        force: bool,
    },
    /// Stop every container of the network (chaincode servers included), keeping
    /// ledgers, chaincode and ports; Docker only
    Stop,
    /// Start a stopped network again and wait until it is ready, as `up` does
    Start,
    /// Write the whole network (topology, state directory, every ledger, chaincode
    /// deployments) to one archive, pausing the nodes only while ledgers are copied
    Snapshot(snapshot::SnapshotArgs),
    /// Bring a network back from a snapshot, here or on another machine (--network NAME
    /// and --state-dir DIR restore it beside another)
    Restore(snapshot::RestoreArgs),
    /// Show every node, its container state, its channels and their heights
    Status,
    /// Print `export` lines that make a host `peer` CLI use an org over TLS
    Env(env::EnvArgs),
    /// Users of an org with Fabric CA attributes: `identity add ORG NAME --attr K=V`,
    /// `identity list [ORG]`
    #[command(subcommand)]
    Identity(identity::IdentityCommand),
    /// Print a node's logs, or a chaincode's (every org's container, lines prefixed by org)
    Logs(logs::LogsArgs),
    /// Package, install, run, approve, commit (and init) a chaincode as an external service
    Deploy(deploy::DeployArgs),
    /// Deploy a chaincode, then rebuild and replace its servers on every saved change,
    /// with no lifecycle transaction (the committed definition stays as it is)
    Dev(dev::DevArgs),
    /// Make a new Rust chaincode crate on fabx-shim (an asset contract with tests) that
    /// `fabx dev NAME` serves at once
    New(new::NewArgs),
    /// Invoke a chaincode function, endorsed by every org on the channel, and wait for the commit
    Invoke(call::CallArgs),
    /// List a channel's transactions block by block: type, creator, chaincode and
    /// function, validation code; --follow prints new blocks as they are committed
    Blocks(blocks::BlocksArgs),
    /// Show one transaction whole: creator, arguments, endorsers, read and write sets,
    /// event, response and validation code
    Tx(tx::TxArgs),
    /// Serve a live page of the network on 127.0.0.1: nodes and their state, committed
    /// chaincodes, each channel's blocks as they are committed, a transaction whole
    Ui(ui::UiArgs),
    /// Query a chaincode function on one org's peer and print the payload
    Query {
        #[command(flatten)]
        call: call::CallArgs,
        /// MSP ID of the org whose peer answers (default: the channel's first org)
        #[arg(long, conflicts_with = "peers")]
        org: Option<String>,
    },
}

pub async fn run(cli: Cli, output: &output::Output) -> Result<()> {
    // Needs no network.
    let command = match cli.command {
        Command::New(args) => return new::run(args, output),
        // Its topology is the snapshot's.
        Command::Restore(args) => return snapshot::restore(&cli.global, args, output).await,
        command => command,
    };
    let network = open_network(&cli.global).await?;
    match command {
        Command::Up => up::run(&network, output).await,
        Command::Stop => stop::stop(&network, output).await,
        Command::Start => stop::start(&network, output).await,
        Command::Snapshot(args) => snapshot::snapshot(&network, args, output).await,
        Command::Restore(_) => unreachable!("handled before the network is opened"),
        Command::Down { force } => down::run(&network, force, output).await,
        Command::Status => status::run(&network, output).await,
        Command::Logs(args) => logs::run(&network, args, output).await,
        Command::Env(args) => env::run(&network, args, output).await,
        Command::Identity(command) => identity::run(&network, command, output).await,
        Command::Deploy(args) => deploy::run(&network, args, output).await,
        Command::Dev(args) => dev::run(&network, args, output).await,
        Command::New(_) => unreachable!("handled before the network is opened"),
        Command::Invoke(args) => call::invoke(&network, args, output).await,
        Command::Query { call, org } => call::query(&network, call, org, output).await,
        Command::Blocks(args) => blocks::run(&network, args, output).await,
        Command::Tx(args) => tx::run(&network, args, output).await,
        Command::Ui(args) => ui::run(network, args, output).await,
    }
}

/// The topology, its state directory and a connection to its engine.
async fn open_network(global: &GlobalArgs) -> Result<Network> {
    let mut topology = match &global.config {
        Some(path) => Topology::load(path)?,
        None => Topology::default_topology(),
    };
    if let Some(name) = &global.network {
        topology = topology.renamed(name, "--network")?;
    }
    let layout = match &global.state_dir {
        Some(dir) => Layout::new(dir),
        None => Layout::default_for(&std::env::current_dir()?, &topology.network),
    };
    let choice = EngineChoice {
        kind: global
            .engine
            .or(topology.engine)
            .unwrap_or(EngineKind::Docker),
        kubeconfig: global.kubeconfig.clone(),
        context: global.context.clone(),
        namespace: global.namespace.clone(),
    }
    .over(&topology);
    let engine = fabx::engine::connect(&choice, &topology.network).await?;
    Ok(Network::on(engine, topology, layout))
}
