//! Benchmark: N full cycles on real Fabric images, with per-phase timings.
//!
//! `cargo bench --bench cycle -- [--cycles N] [--json FILE] [--state-database couchdb]
//! [--engine kubernetes [--kubeconfig FILE]]`
//!
//! `--state-database couchdb` runs the default topology with a CouchDB beside each peer.
//!
//! On Kubernetes (kubeconfig from `--kubeconfig`, `FABX_KUBECONFIG` or `KUBECONFIG`),
//! each cycle's network gets its own namespace; a cluster that cannot pull the images
//! fabx builds needs `FABX_IMAGE_LOAD` (see the README).
//!
//! Each cycle is the (and the hand-run scripts'): up, deploy from a prebuilt
//! image with init, first invoke, query, down. Beside it, on a second network whose up
//! and down are not timed: deploy of the prebuilt image with mutual TLS and with an image
//! build (both with init), first invoke and query on the TLS chaincode. Prints each phase's median and spread as a
//! table, the median of every step inside the phases, and the same as JSON.

use fabx::artifacts::chaincode_tls::TlsMode;
use fabx::harness::{isolate, kubeconfig_from_env, missing_images};
use fabx::network::deploy::{DeployRequest, Source};
use fabx::network::invoke::Call;
use fabx::{EngineChoice, EngineKind, Layout, Network, Topology};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

mod common;

use common::{secs, stats, StepTimes};

const EXAMPLECC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/chaincode/examplecc");
const PHASES: [&str; 9] = [
    "up",
    "deploy --image",
    "deploy --image --tls mutual",
    "deploy with build",
    "first invoke",
    "first invoke, mutual TLS",
    "query",
    "query, mutual TLS",
    "down",
];

async fn timed<T>(
    phases: &mut BTreeMap<&'static str, Vec<Duration>>,
    phase: &'static str,
    work: impl std::future::Future<Output = fabx::Result<T>>,
) -> T {
    let started = Instant::now();
    let value = work.await.unwrap_or_else(|e| panic!("{phase} failed: {e}"));
    phases.entry(phase).or_default().push(started.elapsed());
    value
}

/// A fresh network of `base` (the default topology) in its own state directory.
async fn network(
    choice: &EngineChoice,
    base: &Topology,
    state: &std::path::Path,
) -> (Network, DownOnPanic) {
    let topology = isolate(base.clone());
    let engine = fabx::engine::connect(choice, &topology.network)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let layout = Layout::new(state.join("s"));
    let guard = DownOnPanic {
        choice: choice.clone(),
        topology: topology.clone(),
        layout: layout.clone(),
    };
    (Network::on(engine, topology, layout), guard)
}

/// Removes a cycle's network when a phase fails, so a failed benchmark leaves nothing
/// running (the next run would be measured beside it).
struct DownOnPanic {
    choice: EngineChoice,
    topology: Topology,
    layout: Layout,
}

impl Drop for DownOnPanic {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let (choice, topology, layout) = (
            self.choice.clone(),
            self.topology.clone(),
            self.layout.clone(),
        );
        // Drop cannot await, and this runtime is unwinding: a runtime of our own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async move {
                let engine = fabx::engine::connect(&choice, &topology.network)
                    .await
                    .ok()?;
                let network = Network::on(engine, topology, layout);
                network.down(&fabx::reporter::Silent).await.ok()
            })
        })
        .join();
    }
}

fn init() -> Option<Vec<String>> {
    Some(["Init", "a", "100", "b", "200"].map(String::from).to_vec())
}

/// The cycle, what the hand-run scripts do: up, deploy of a prebuilt image with
/// init, invoke, query, down (seven containers).
async fn cycle(
    (choice, base): (&EngineChoice, &Topology),
    image: &str,
    phases: &mut BTreeMap<&'static str, Vec<Duration>>,
    steps: &StepTimes,
) {
    let state = tempfile::tempdir().expect("a temporary directory");
    let (network, _down_on_panic) = network(choice, base, state.path()).await;
    timed(phases, "up", network.up(steps)).await;
    let mut prebuilt = DeployRequest::new("prebuiltcc", Source::Image(image.to_string()));
    prebuilt.init = init();
    timed(phases, "deploy --image", network.deploy(&prebuilt, steps)).await;
    call(&network, "prebuiltcc", "first invoke", "query", phases).await;
    timed(phases, "down", network.down(steps)).await;
}

/// The other deploys, on a network of their own so that the cycle's down removes what
/// the scripts' does: deploy of the prebuilt image with mutual TLS, and with an image
/// build (warm after the first cycle). This network's up and down are not timed.
async fn extras(
    (choice, base): (&EngineChoice, &Topology),
    image: &str,
    phases: &mut BTreeMap<&'static str, Vec<Duration>>,
    steps: &StepTimes,
) {
    let state = tempfile::tempdir().expect("a temporary directory");
    let (network, _down_on_panic) = network(choice, base, state.path()).await;
    network
        .up(&fabx::reporter::Silent)
        .await
        .unwrap_or_else(|e| panic!("up for the extra deploys failed: {e}"));
    let mut mutual = DeployRequest::new("tlscc", Source::Image(image.to_string()));
    mutual.init = init();
    mutual.tls = Some(TlsMode::Mutual);
    timed(
        phases,
        "deploy --image --tls mutual",
        network.deploy(&mutual, steps),
    )
    .await;
    let mut built = DeployRequest::new("examplecc", Source::Directory(EXAMPLECC.into()));
    built.init = init();
    timed(phases, "deploy with build", network.deploy(&built, steps)).await;
    call(
        &network,
        "tlscc",
        "first invoke, mutual TLS",
        "query, mutual TLS",
        phases,
    )
    .await;
    network
        .down(&fabx::reporter::Silent)
        .await
        .unwrap_or_else(|e| panic!("down after the extra deploys failed: {e}"));
}

/// The first invoke and a query of examplecc, checked.
async fn call(
    network: &Network,
    chaincode: &str,
    invoke_phase: &'static str,
    query_phase: &'static str,
    phases: &mut BTreeMap<&'static str, Vec<Duration>>,
) {
    let invoke = Call::new("invoke", &["a".into(), "b".into(), "20".into()]);
    let query = Call::new("query", &["a".into()]);
    timed(phases, invoke_phase, network.invoke(chaincode, &invoke)).await;
    let payload = timed(phases, query_phase, network.query(chaincode, &query, None)).await;
    assert_eq!(payload, "80", "examplecc must answer like the Go original");
}

fn scripts_cycle(phases: &BTreeMap<&'static str, Vec<Duration>>, tls: bool) -> Vec<Duration> {
    let parts = if tls {
        [
            "up",
            "deploy --image --tls mutual",
            "first invoke, mutual TLS",
            "query, mutual TLS",
            "down",
        ]
    } else {
        ["up", "deploy --image", "first invoke", "query", "down"]
    };
    (0..phases["up"].len())
        .map(|i| parts.iter().map(|p| phases[p][i]).sum())
        .collect()
}

#[tokio::main]
async fn main() {
    let value = common::flag;
    let cycles: usize = value("--cycles")
        .map(|v| v.parse().expect("--cycles takes a number"))
        .unwrap_or(5);
    let json_file = value("--json");

    let choice = EngineChoice {
        kind: value("--engine")
            .map(|e| e.parse().unwrap_or_else(|e| panic!("--engine: {e}")))
            .unwrap_or(EngineKind::Docker),
        kubeconfig: value("--kubeconfig")
            .map(Into::into)
            .or_else(kubeconfig_from_env),
        ..Default::default()
    };
    let mut base = Topology::default_topology();
    if let Some(database) = value("--state-database") {
        base.state_database = match database.as_str() {
            "couchdb" => fabx::topology::StateDatabase::Couchdb,
            "leveldb" => fabx::topology::StateDatabase::Leveldb,
            other => panic!("--state-database takes leveldb or couchdb, not {other}"),
        };
    }
    if choice.kind == EngineKind::Docker {
        if let Some(reason) = missing_images(&base).await.expect("Docker answers") {
            println!("SKIPPED: benchmark: {reason}");
            return;
        }
    }
    // The prebuilt image, made once before timing (and loaded onto a cluster's nodes).
    let image = "fabx/examplecc-bench:prebuilt";
    let builder = fabx::engine::connect(&choice, "fabx-bench")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    fabx::network::deploy::image::build_chaincode_image(
        &*builder,
        EXAMPLECC.as_ref(),
        image,
        fabx::network::deploy::image::BuildProfile::Release,
        &mut |_| {},
    )
    .await
    .unwrap_or_else(|e| panic!("building the prebuilt image: {e}"));

    let mut phases = BTreeMap::new();
    let steps = StepTimes::default();
    let mut cycle_totals = Vec::new();
    for i in 1..=cycles {
        let started = Instant::now();
        cycle((&choice, &base), image, &mut phases, &steps).await;
        cycle_totals.push(started.elapsed());
        extras((&choice, &base), image, &mut phases, &steps).await;
        eprintln!(
            "cycle {i}/{cycles}: {:.2}s",
            started.elapsed().as_secs_f64()
        );
    }

    println!(
        "\nfabx benchmark: {cycles} cycles on {} with {} and the {} engine (seconds)\n",
        base.images.peer,
        base.state_database.as_str(),
        choice.kind.as_str()
    );
    println!(
        "{:<44} {:>8} {:>8} {:>8} {:>8}",
        "phase", "median", "min", "max", "spread"
    );
    let mut json_phases = serde_json::Map::new();
    let rows = PHASES
        .iter()
        .map(|p| (p.to_string(), phases[p].clone()))
        .chain([
            // What the hand-run scripts do: up, one deploy with init, invoke, query, down.
            (
                "up + deploy --image + invoke + query + down".to_string(),
                scripts_cycle(&phases, false),
            ),
            (
                "the same with mutual TLS".to_string(),
                scripts_cycle(&phases, true),
            ),
            (
                "whole cycle (measured end to end)".to_string(),
                cycle_totals,
            ),
        ]);
    for (name, samples) in rows {
        let s = stats(&secs(&samples));
        println!(
            "{name:<44} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            s.median,
            s.min,
            s.max,
            s.max - s.min
        );
        json_phases.insert(name, serde_json::json!({ "median_s": s.median, "min_s": s.min, "max_s": s.max, "samples": samples.len() }));
    }
    println!("\nsteps inside the phases (median of every run of the step)\n");
    let mut json_steps = serde_json::Map::new();
    for (name, samples) in steps.0.lock().expect("no panics while locked").iter() {
        let s = stats(&secs(samples));
        println!("{name:<44} {:>8.2} {:>8.2} {:>8.2}", s.median, s.min, s.max);
        json_steps.insert(name.clone(), serde_json::json!({ "median_s": s.median, "min_s": s.min, "max_s": s.max, "samples": samples.len() }));
    }
    let json = serde_json::json!({ "cycles": cycles, "phases": json_phases, "steps": json_steps });
    println!("\n{json}");
    if let Some(file) = json_file {
        std::fs::write(&file, serde_json::to_string_pretty(&json).expect("JSON"))
            .expect("writing --json FILE");
    }
}
