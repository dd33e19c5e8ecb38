//! Benchmark: the chaincode edit loop (`fabx dev`) on real Fabric images.
//!
//! `cargo bench --bench dev_loop -- [--edits N] [--json FILE]`
//!
//! On a copy of examplecc, deployed once, N one-line edits of the query's answer for
//! each path: the image path (dev-profile build, the binary copied into new servers of
//! the running image beside the old ones, switch) and the `--run` path (`cargo build`,
//! then `cargo run` restarted). Each edit
//! is timed from the file's save to the first query that gets the new answer, beside the
//! reload's own phases. A querier asks all along: its slowest query and its failures
//! are the swap window as an application sees it (fabx retries what lands in it).

use fabx::harness::{isolate, missing_images};
use fabx::network::deploy::{DeployRequest, Source};
use fabx::network::dev::{DevEvent, DevMode};
use fabx::network::invoke::Call;
use fabx::{DockerEngine, Layout, Network, Topology};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

use common::{secs, stats};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The line each edit rewrites: the answer of `query` carries the edit's number.
const ANSWER: &str = "Response::success(value)";

/// chaincode/examplecc as a crate of its own in `to`, answering `e0:<amount>`.
fn copy_examplecc(to: &Path) {
    let from = Path::new(ROOT).join("chaincode/examplecc");
    for entry in walk(&from) {
        let target = to.join(entry.strip_prefix(&from).expect("under examplecc"));
        std::fs::create_dir_all(target.parent().expect("a parent")).expect("mkdir");
        std::fs::copy(&entry, &target).expect("copy");
    }
    let manifest = to.join("Cargo.toml");
    let shim = Path::new(ROOT).join("chaincode/shim");
    let text = std::fs::read_to_string(&manifest)
        .expect("Cargo.toml")
        .replace("../shim", shim.to_str().expect("UTF-8 path"));
    std::fs::write(&manifest, format!("{text}\n[workspace]\n")).expect("write");
    std::fs::copy(Path::new(ROOT).join("Cargo.lock"), to.join("Cargo.lock")).expect("lock");
    edit(
        to,
        ANSWER,
        "Response::success(format!(\"e0:{}\", String::from_utf8_lossy(&value)))",
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            if !path.ends_with("target") {
                files.extend(walk(&path));
            }
        } else {
            files.push(path);
        }
    }
    files
}

fn edit(dir: &Path, from: &str, to: &str) {
    let file = dir.join("src/example02.rs");
    let text = std::fs::read_to_string(&file).expect("example02.rs");
    assert!(text.contains(from), "no {from:?} in {}", file.display());
    std::fs::write(&file, text.replacen(from, to, 1)).expect("save");
}

/// Every query of the background querier: how long it took, and whether it failed.
#[derive(Default)]
struct Probe {
    slowest: Duration,
    failures: Vec<String>,
    count: usize,
}

/// Queries `name` every 20 ms until `stop`; what it saw goes to `probe`.
fn start_querier(
    network: Network,
    name: &'static str,
    probe: Arc<Mutex<Probe>>,
) -> tokio::sync::oneshot::Sender<()> {
    let (stop, mut stopped) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let call = Call::new("query", &["a".into()]);
        while stopped.try_recv().is_err() {
            let started = Instant::now();
            let result = network.query(name, &call, None).await;
            {
                let mut probe = probe.lock().expect("no panics while locked");
                probe.count += 1;
                probe.slowest = probe.slowest.max(started.elapsed());
                if let Err(e) = result {
                    probe.failures.push(e.to_string());
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    stop
}

/// Asks until the answer starts with `prefix`; when it did.
async fn answered(network: &Network, name: &str, prefix: &str) -> Instant {
    let call = Call::new("query", &["a".into()]);
    loop {
        if let Ok(answer) = network.query(name, &call, None).await {
            if answer.starts_with(prefix) {
                return Instant::now();
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One path's samples: each phase's durations, and save-to-answer.
struct Samples {
    phases: BTreeMap<&'static str, Vec<Duration>>,
    save_to_answer: Vec<Duration>,
    probe: Arc<Mutex<Probe>>,
}

async fn run_path(network: &Network, name: &'static str, mode: DevMode, edits: usize) -> Samples {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let dir = tmp.path().join(name);
    copy_examplecc(&dir);
    let mut request = DeployRequest::new(name, Source::Directory(dir.clone()));
    request.init = Some(["Init", "a", "100", "b", "200"].map(String::from).to_vec());
    request.build = fabx::network::deploy::image::BuildProfile::Dev;
    let sink = Arc::new(|_: &str| {});
    let mut session = network
        .dev(request, &dir, mode, sink)
        .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    session
        .deploy(&fabx::reporter::Silent)
        .await
        .unwrap_or_else(|e| panic!("first deploy of {name}: {e}"));
    eprintln!(
        "{name}: first deploy (cold build) {:.2}s",
        started.elapsed().as_secs_f64()
    );
    let probe = Arc::new(Mutex::new(Probe::default()));
    let stop = start_querier(network.clone(), name, probe.clone());
    let mut samples = Samples {
        phases: BTreeMap::new(),
        save_to_answer: Vec::new(),
        probe: probe.clone(),
    };
    for i in 1..=edits {
        edit(&dir, &format!("\"e{}:", i - 1), &format!("\"e{i}:"));
        let saved = Instant::now();
        let prefix = format!("e{i}:");
        let (event, answered_at) = tokio::join!(session.next(), answered(network, name, &prefix));
        match event {
            Some(DevEvent::Reloaded(report)) => {
                for phase in &report.phases {
                    samples
                        .phases
                        .entry(phase.name)
                        .or_default()
                        .push(phase.took);
                }
            }
            Some(DevEvent::Failed { error, .. }) => panic!("reload {i} of {name} failed: {error}"),
            other => panic!("reload {i} of {name}: {other:?}"),
        }
        samples.save_to_answer.push(answered_at - saved);
        eprintln!(
            "{name}: edit {i}/{edits} answered after {:.2}s",
            (answered_at - saved).as_secs_f64()
        );
    }
    let _ = stop.send(());
    session.stop().await;
    samples
}

fn sum_of(samples: &Samples, parts: &[&str]) -> Vec<Duration> {
    let n = samples.save_to_answer.len();
    (0..n)
        .map(|i| {
            parts
                .iter()
                .filter_map(|p| samples.phases.get(p).map(|v| v[i]))
                .sum()
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let value = common::flag;
    let edits: usize = value("--edits")
        .map(|v| v.parse().expect("--edits takes a number"))
        .unwrap_or(10);
    let topology = isolate(Topology::default_topology());
    if let Some(reason) = missing_images(&topology).await.expect("Docker answers") {
        println!("SKIPPED: benchmark: {reason}");
        return;
    }
    // The chaincode copies build into the workspace's target directory: the shim and
    // the dependencies compile once, as in a user's own project after its first build.
    if std::env::var_os("CARGO_TARGET_DIR").is_none() {
        std::env::set_var("CARGO_TARGET_DIR", Path::new(ROOT).join("target"));
    }
    let state = tempfile::tempdir().expect("a temporary directory");
    let engine = DockerEngine::connect().await.expect("Docker");
    let network = Network::on(
        Arc::new(engine),
        topology,
        Layout::new(state.path().join("s")),
    );
    network
        .up(&fabx::reporter::Silent)
        .await
        .unwrap_or_else(|e| panic!("up: {e}"));

    let port = std::net::TcpListener::bind("0.0.0.0:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let image = run_path(&network, "devcc", DevMode::Image, edits).await;
    let run = run_path(
        &network,
        "runcc",
        DevMode::Run {
            command: "cargo run --quiet".into(),
            build: Some("cargo build --quiet".into()),
            port,
        },
        edits,
    )
    .await;
    network
        .down(&fabx::reporter::Silent)
        .await
        .unwrap_or_else(|e| panic!("down: {e}"));

    println!("\nfabx dev: {edits} one-line edits of examplecc per path (seconds)\n");
    println!("{:<44} {:>8} {:>8} {:>8}", "phase", "median", "min", "max");
    let mut json = serde_json::Map::new();
    for (path, samples, swap) in [
        ("image", &image, &["start", "ready", "switch"][..]),
        ("--run", &run, &["stop", "start", "ready"][..]),
    ] {
        let mut rows: Vec<(String, Vec<Duration>)> = samples
            .phases
            .iter()
            .map(|(name, v)| (format!("{path}: {name}"), v.clone()))
            .collect();
        rows.push((
            format!("{path}: {}", swap.join(" + ")),
            sum_of(samples, swap),
        ));
        rows.push((
            format!("{path}: save to new answer"),
            samples.save_to_answer.clone(),
        ));
        let mut json_rows = serde_json::Map::new();
        for (name, v) in rows {
            let s = stats(&secs(&v));
            println!("{name:<44} {:>8.2} {:>8.2} {:>8.2}", s.median, s.min, s.max);
            json_rows.insert(
                name,
                serde_json::json!({ "median_s": s.median, "min_s": s.min, "max_s": s.max }),
            );
        }
        let probe = samples.probe.lock().expect("no panics while locked");
        println!(
            "{path}: {} queries during the reloads, slowest {:.3}s, {} failed{}",
            probe.count,
            probe.slowest.as_secs_f64(),
            probe.failures.len(),
            probe
                .failures
                .first()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        );
        json_rows.insert(
            "querier".into(),
            serde_json::json!({ "queries": probe.count, "slowest_s": probe.slowest.as_secs_f64(), "failed": probe.failures.len() }),
        );
        json.insert(path.into(), json_rows.into());
    }
    let json = serde_json::Value::Object(json);
    println!("\n{json}");
    if let Some(file) = value("--json") {
        std::fs::write(&file, serde_json::to_string_pretty(&json).expect("JSON"))
            .expect("writing --json FILE");
    }
}
