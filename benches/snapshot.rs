//! Benchmark: a restore from a snapshot against `up` + `deploy` of the same chaincode, on
//! the default topology with examplecc after 100 invokes, on real Fabric images.
//!
//! `cargo bench --bench snapshot -- [--rounds N] [--invokes N]`
//!
//! Once: up, deploy examplecc (with init), the invokes, a snapshot (its size, and how
//! long the nodes were paused), down. Then N rounds of each: restore until the first
//! query answers, and up + deploy until the first query answers; each network is
//! removed after its round (not timed). Prints each phase's median and spread.

use fabx::harness::{isolate, missing_images};
use fabx::network::deploy::{DeployRequest, Source};
use fabx::network::invoke::Call;
use fabx::network::snapshot::{restore, RestoreOptions};
use fabx::{EngineChoice, Layout, Network, Topology};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

mod common;

use common::{flag, secs, stats, StepTimes};

const EXAMPLECC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/chaincode/examplecc");

fn examplecc() -> DeployRequest {
    let mut request = DeployRequest::new("examplecc", Source::Directory(EXAMPLECC.into()));
    request.init = Some(
        ["Init", "a", "100000", "b", "200"]
            .map(String::from)
            .to_vec(),
    );
    request
}

async fn fresh(state: &std::path::Path) -> Network {
    let topology = isolate(Topology::default_topology());
    let engine = fabx::engine::connect(&EngineChoice::default(), &topology.network)
        .await
        .unwrap();
    Network::on(engine, topology, Layout::new(state.join("s")))
}

async fn query_a(network: &Network) -> String {
    network
        .query("examplecc", &Call::new("query", &["a".to_string()]), None)
        .await
        .unwrap()
}

#[tokio::main]
async fn main() {
    let rounds: usize = flag("--rounds").map_or(3, |r| r.parse().unwrap());
    let invokes: usize = flag("--invokes").map_or(100, |r| r.parse().unwrap());
    let topology = Topology::default_topology();
    if let Some(reason) = missing_images(&topology).await.unwrap() {
        println!("SKIPPED: {reason}");
        return;
    }
    let reporter = StepTimes::default();
    let files = tempfile::tempdir().unwrap();
    let snapshot = files.path().join("net.tar.gz");

    // The network to keep: up, deploy, invokes, snapshot.
    let seed_dir = tempfile::tempdir().unwrap();
    let seed = fresh(seed_dir.path()).await;
    seed.up(&reporter).await.unwrap();
    seed.deploy(&examplecc(), &reporter).await.unwrap();
    let started = Instant::now();
    for _ in 0..invokes {
        let call = Call::new("invoke", &["a", "b", "1"].map(String::from));
        seed.invoke("examplecc", &call).await.unwrap();
    }
    let invoking = started.elapsed();
    let expected = query_a(&seed).await;
    let started = Instant::now();
    let report = seed.snapshot(&snapshot, false, &reporter).await.unwrap();
    let snapshot_took = started.elapsed();
    seed.down(&reporter).await.unwrap();

    let mut phases: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    for _ in 0..rounds {
        let dir = tempfile::tempdir().unwrap();
        let options = RestoreOptions {
            network: None,
            state_dir: Some(dir.path().join("s")),
            isolate: true,
        };
        let engine = fabx::engine::connect(&EngineChoice::default(), "bench")
            .await
            .unwrap();
        let started = Instant::now();
        let (network, _) = restore(engine, &snapshot, &options, &reporter)
            .await
            .unwrap();
        assert_eq!(query_a(&network).await, expected, "restored state");
        phases
            .entry("restore to first query")
            .or_default()
            .push(started.elapsed());
        network.down(&reporter).await.unwrap();

        let dir = tempfile::tempdir().unwrap();
        let network = fresh(dir.path()).await;
        let started = Instant::now();
        network.up(&reporter).await.unwrap();
        let up = started.elapsed();
        network.deploy(&examplecc(), &reporter).await.unwrap();
        query_a(&network).await;
        let total = started.elapsed();
        phases.entry("up").or_default().push(up);
        phases
            .entry("deploy to first query")
            .or_default()
            .push(total - up);
        phases
            .entry("up + deploy to first query")
            .or_default()
            .push(total);
        network.down(&reporter).await.unwrap();
    }

    println!(
        "snapshot after {invokes} invokes ({:.1}s of invokes): {:.2} MB, written in {:.2}s, nodes paused {:.3}s",
        invoking.as_secs_f64(),
        report.bytes as f64 / 1e6,
        snapshot_took.as_secs_f64(),
        report.paused.as_secs_f64()
    );
    println!(
        "{:<28} {:>8} {:>8} {:>8}  ({rounds} rounds)",
        "phase", "median", "min", "max"
    );
    for (phase, samples) in &phases {
        let s = stats(&secs(samples));
        println!(
            "{phase:<28} {:>7.2}s {:>7.2}s {:>7.2}s",
            s.median, s.min, s.max
        );
    }
    println!("\nsteps (median):");
    let steps = reporter.0.lock().unwrap();
    for (step, samples) in steps.iter().filter(|(s, _)| {
        [
            "read snapshot",
            "write state directory",
            "copy ledgers",
            "write snapshot",
            "check images",
            "wait for gossip membership",
        ]
        .iter()
        .any(|p| s.starts_with(p))
            || s.starts_with("create ")
            || s.starts_with("start ")
            || s.starts_with("run ")
            || s.starts_with("wait for endorsement")
    }) {
        println!("  {step:<50} {:>7.2}s", stats(&secs(samples)).median);
    }
}
