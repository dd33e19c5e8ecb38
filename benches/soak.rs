//! Soak and load: whole cycles on real Fabric images, counting failures and leaks.
//!
//! `cargo bench --bench soak -- [--cycles N] [--topology FILE] [--load]`
//!
//! Each cycle: up, deploy examplecc with init, invoke, query (checked), down. A failed
//! cycle is recorded with its error and torn down, and the run goes on. After each cycle
//! the program checks that nothing of it is left: no container labelled with its
//! network, none of its containers' volumes, not its Docker network. `--load` keeps
//! both cores busy with two spinning threads for the whole run. Exits non-zero on any
//! failure or leak.

use fabx::harness::{isolate, missing_images};
use fabx::network::deploy::{DeployRequest, Source};
use fabx::network::invoke::Call;
use fabx::reporter::{Reporter, Silent, StepEnd, StepId};
use fabx::{DockerEngine, Layout, Network, Topology};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

const EXAMPLECC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/chaincode/examplecc");

/// What one cycle left behind.
#[derive(Default)]
struct Leaks {
    containers: Vec<String>,
    volumes: Vec<String>,
    networks: Vec<String>,
}

impl Leaks {
    fn count(&self) -> usize {
        self.containers.len() + self.volumes.len() + self.networks.len()
    }
}

/// Every step of a cycle with its duration, to show where a slow cycle spent its time.
#[derive(Default)]
struct Steps(std::sync::Mutex<Vec<(String, Duration)>>);

impl Reporter for Steps {
    fn step_finished(&self, _id: StepId, step: &str, end: &StepEnd) {
        if let Ok(mut steps) = self.0.lock() {
            steps.push((step.to_string(), end.duration));
        }
    }
}

impl Steps {
    /// The three longest steps, as `name 1.23s`.
    fn slowest(&self) -> String {
        let mut steps = self.0.lock().map(|s| s.clone()).unwrap_or_default();
        steps.sort_by_key(|s| std::cmp::Reverse(s.1));
        steps
            .iter()
            .take(3)
            .map(|(name, d)| format!("{name} {:.2}s", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Phases of one cycle; the first error ends it.
async fn run_cycle(
    docker: &DockerEngine,
    network: &Network,
    volumes: &mut Vec<String>,
    steps: &Steps,
) -> Result<(), String> {
    let phase = |name: &'static str| move |e: fabx::Error| format!("{name}: {e}");
    network.up(steps).await.map_err(phase("up"))?;
    let mut request = DeployRequest::new("examplecc", Source::Directory(EXAMPLECC.into()));
    request.init = Some(["Init", "a", "100", "b", "200"].map(String::from).to_vec());
    network
        .deploy(&request, steps)
        .await
        .map_err(phase("deploy"))?;
    let invoke = Call::new("invoke", &["a".into(), "b".into(), "20".into()]);
    network
        .invoke("examplecc", &invoke)
        .await
        .map_err(phase("invoke"))?;
    let query = Call::new("query", &["a".into()]);
    let a = network
        .query("examplecc", &query, None)
        .await
        .map_err(phase("query"))?;
    if a != "80" {
        return Err(format!("query: a is {a:?}, expected \"80\""));
    }
    *volumes = volumes_of(docker, network).await;
    network.down(steps).await.map_err(phase("down"))?;
    Ok(())
}

/// The named volumes mounted by the network's containers.
async fn volumes_of(docker: &DockerEngine, network: &Network) -> Vec<String> {
    let label = format!("fabx.network={}", network.topology.network);
    let containers = docker
        .containers_labelled(&[label])
        .await
        .unwrap_or_default();
    containers
        .into_iter()
        .flat_map(|c| c.mounts.unwrap_or_default())
        .filter_map(|m| m.name)
        .collect()
}

async fn leaks(engine: &DockerEngine, network: &Network, volumes: &[String]) -> Leaks {
    let name = &network.topology.network;
    let containers = engine
        .containers_labelled(&[format!("fabx.network={name}")])
        .await
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| c.names?.first().cloned())
        .collect();
    let mut left_volumes = Vec::new();
    for v in volumes {
        if engine.client().inspect_volume(v).await.is_ok() {
            left_volumes.push(v.clone());
        }
    }
    let networks = match engine.network_labels(name).await {
        Ok(Some(_)) => vec![name.clone()],
        _ => vec![],
    };
    Leaks {
        containers,
        volumes: left_volumes,
        networks,
    }
}

/// Two threads spinning until dropped: both cores of the development machine busy.
struct BusyLoops {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<u64>>,
}

impl BusyLoops {
    fn start(count: usize) -> BusyLoops {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..count)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut n: u64 = 0;
                    while !stop.load(Ordering::Relaxed) {
                        n = std::hint::black_box(
                            n.wrapping_mul(6364136223846793005).wrapping_add(1),
                        );
                    }
                    n
                })
            })
            .collect();
        BusyLoops { stop, threads }
    }
}

impl Drop for BusyLoops {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[tokio::main]
async fn main() {
    let value = common::flag;
    let cycles: usize = value("--cycles")
        .map(|v| v.parse().expect("--cycles takes a number"))
        .unwrap_or(50);
    let topology = match value("--topology") {
        Some(file) => Topology::load(file.as_ref()).unwrap_or_else(|e| panic!("{e}")),
        None => Topology::default_topology(),
    };
    let load = std::env::args().any(|a| a == "--load");

    let engine = DockerEngine::connect()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(reason) = missing_images(&topology).await.expect("Docker answers") {
        println!("SKIPPED: soak: {reason}");
        return;
    }
    let nodes = topology.nodes().len();
    let _busy = load.then(|| BusyLoops::start(2));
    eprintln!(
        "soak: {cycles} cycles of up, deploy with init, invoke, query, down on {nodes} nodes{}",
        if load {
            ", both cores held by busy loops"
        } else {
            ""
        }
    );

    let started = Instant::now();
    let mut failures = Vec::new();
    let mut leaked = Leaks::default();
    let mut durations = Vec::new();
    for i in 1..=cycles {
        let state = tempfile::tempdir().expect("a temporary directory");
        let network = Network::new(
            engine.clone(),
            isolate(topology.clone()),
            Layout::new(state.path().join("s")),
        );
        let cycle_started = Instant::now();
        let mut volumes = Vec::new();
        let steps = Steps::default();
        let outcome = run_cycle(&engine, &network, &mut volumes, &steps).await;
        let elapsed = cycle_started.elapsed();
        if let Err(e) = &outcome {
            failures.push(format!(
                "cycle {i}: {}",
                e.lines().next().unwrap_or_default()
            ));
            // The cycle failed: clean up as a user would, then count what is left.
            volumes.extend(volumes_of(&engine, &network).await);
            if let Err(e) = network.down(&Silent).await {
                failures.push(format!("cycle {i}: down after the failure: {e}"));
            }
        }
        let left = leaks(&engine, &network, &volumes).await;
        eprintln!(
            "cycle {i}/{cycles}: {} in {:.2}s, {} objects left (slowest: {})",
            if outcome.is_ok() { "ok" } else { "FAILED" },
            elapsed.as_secs_f64(),
            left.count(),
            steps.slowest()
        );
        durations.push(elapsed);
        leaked.containers.extend(left.containers);
        leaked.volumes.extend(left.volumes);
        leaked.networks.extend(left.networks);
    }

    durations.sort();
    let median = durations
        .get(durations.len() / 2)
        .copied()
        .unwrap_or(Duration::ZERO);
    println!("\nfabx soak summary");
    println!("cycles                {cycles}");
    println!("nodes per network     {nodes}");
    println!(
        "load                  {}",
        if load { "2 busy loops" } else { "none" }
    );
    println!("failures              {}", failures.len());
    println!("leaked containers     {}", leaked.containers.len());
    println!("leaked volumes        {}", leaked.volumes.len());
    println!("leaked networks       {}", leaked.networks.len());
    println!("median cycle          {:.2}s", median.as_secs_f64());
    println!(
        "total                 {:.1}s",
        started.elapsed().as_secs_f64()
    );
    for f in &failures {
        println!("  {f}");
    }
    for leak in leaked
        .containers
        .iter()
        .chain(&leaked.volumes)
        .chain(&leaked.networks)
    {
        println!("  leaked: {leak}");
    }
    if !failures.is_empty() || leaked.count() > 0 {
        std::process::exit(1);
    }
}
