//! The chaincode edit loop on real Fabric images, through the `fabx` binary as a user
//! runs it: `fabx dev` deploys, a saved change answers without a lifecycle transaction
//! (the sequence stays), a change that does not compile leaves the previous code
//! answering; the same with the developer's own `--run` command; and a crate made by
//! `fabx new` builds, passes its own tests and serves under `fabx dev`.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The first build of a crate in the dev profile compiles its dependencies.
const FIRST_DEPLOY: Duration = Duration::from_secs(900);
const RELOAD: Duration = Duration::from_secs(300);

/// An isolated default network: its own topology file and state directory.
struct Run {
    state: PathBuf,
    config: PathBuf,
    target: PathBuf,
}

impl Run {
    fn env(&self) -> Vec<(&'static str, &std::ffi::OsStr)> {
        vec![
            ("FABX_STATE_DIR", self.state.as_os_str()),
            ("FABX_CONFIG", self.config.as_os_str()),
            // One target directory for every crate here: the shim builds once.
            ("CARGO_TARGET_DIR", self.target.as_os_str()),
        ]
    }

    fn fabx(&self, args: &[&str]) -> (bool, String, String) {
        common::run_fabx(Path::new(ROOT), &self.env(), args)
    }

    fn query(&self, chaincode: &str, key: &str) -> String {
        let (ok, stdout, stderr) = self.fabx(&["query", chaincode, "query", key]);
        assert!(ok, "query {chaincode} {key}: {stderr}");
        stdout.trim().to_string()
    }

    fn sequence(&self, chaincode: &str) -> u64 {
        let (ok, stdout, stderr) = self.fabx(&["status", "--json"]);
        assert!(ok, "{stderr}");
        let status: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        status["channels"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|c| c["chaincodes"].as_array().into_iter().flatten())
            .find(|cc| cc["name"] == chaincode)
            .and_then(|cc| cc["sequence"].as_u64())
            .unwrap_or_else(|| panic!("no {chaincode} in status: {stdout}"))
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(ROOT).join("target"))
}

/// `fabx dev` running, its output lines as they come.
struct Dev {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Dev {
    fn start(run: &Run, args: &[&str]) -> Dev {
        let mut command = Command::new(env!("CARGO_BIN_EXE_fabx"));
        command
            .arg("dev")
            .args(args)
            .current_dir(ROOT)
            .env_remove("FABX_NETWORK")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in run.env() {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap();
        let (send, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let send = send.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if send.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Dev {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The first line from now on that contains `text`; panics with everything seen
    /// when `fabx dev` ends or `within` passes first.
    fn wait_for(&mut self, text: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no line with {text:?} within {within:?} (fabx dev {}); it printed:\n{}",
                    match self.child.try_wait() {
                        Ok(Some(status)) => format!("ended: {status}"),
                        _ => "still runs".into(),
                    },
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Ctrl-C, as a user stops it; its exit status.
    fn interrupt(mut self) -> std::process::ExitStatus {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        self.child.wait().unwrap()
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// chaincode/examplecc copied to `to` as a crate of its own, as a user's crate is.
fn copy_examplecc(to: &Path) {
    copy_dir(&Path::new(ROOT).join("chaincode/examplecc"), to);
    let manifest = to.join("Cargo.toml");
    let shim = Path::new(ROOT).join("chaincode/shim");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("../shim", shim.to_str().unwrap());
    std::fs::write(&manifest, format!("{text}\n[workspace]\n")).unwrap();
    // The workspace's lock file: the same dependency versions, nothing to resolve.
    std::fs::copy(Path::new(ROOT).join("Cargo.lock"), to.join("Cargo.lock")).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Rewrites `file` with `from` replaced by `to` (as an editor saves it).
fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(from), "{} has no {from:?}", file.display());
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

/// An isolated copy of the default topology in `dir`, brought up through the binary.
async fn up(dir: &Path) -> (Run, common::Cleanup) {
    let topology = fabx::harness::isolate(fabx::Topology::default_topology());
    let config = dir.join("topology.yaml");
    std::fs::write(&config, serde_norway::to_string(&topology).unwrap()).unwrap();
    let run = Run {
        state: dir.join("state"),
        config,
        target: target_dir(),
    };
    let cleanup = common::Cleanup {
        engine: common::engine().await,
        network: topology.network.clone(),
    };
    let (ok, _, stderr) = run.fabx(&["up"]);
    assert!(ok, "fabx up: {stderr}");
    (run, cleanup)
}

const QUERY_OUTPUT: &str = "Response::success(value)";

// Blocking waits on fabx's output: a worker thread of its own.
#[tokio::test(flavor = "multi_thread")]
async fn dev_reloads_a_saved_change_and_keeps_serving_through_a_broken_one() {
    const TEST: &str = "dev_reloads_a_saved_change";
    let topology = fabx::Topology::default_topology();
    if let Some(reason) = common::missing_fabric_images(&topology).await {
        return common::skipped(TEST, &reason);
    }
    let tmp = tempfile::tempdir().unwrap();
    let (run, _cleanup) = up(tmp.path()).await;

    // Image mode: the crate is built in the dev profile into an image.
    let crate_dir = tmp.path().join("examplecc");
    copy_examplecc(&crate_dir);
    let source = crate_dir.join("src/example02.rs");
    let path = crate_dir.to_str().unwrap();
    let mut dev = Dev::start(
        &run,
        &[
            "examplecc",
            "--path",
            path,
            "--init",
            "Init",
            "a",
            "100",
            "b",
            "200",
        ],
    );
    let deployed = dev.wait_for("examplecc sequence 1 committed", FIRST_DEPLOY);
    common::report(&format!("{TEST}: {deployed}"));
    assert_eq!(run.query("examplecc", "a"), "100");

    edit(
        &source,
        QUERY_OUTPUT,
        "Response::success(format!(\"a={}\", String::from_utf8_lossy(&value)))",
    );
    let reloaded = dev.wait_for("reloaded examplecc (#1", RELOAD);
    common::report(&format!("{TEST}: {reloaded}"));
    assert!(reloaded.contains("src/example02.rs"), "{reloaded}");
    // Only the binary changed: it goes into new containers of the running image.
    for phase in ["build", "start", "ready", "switch"] {
        assert!(reloaded.contains(phase), "{reloaded}");
    }
    assert!(!reloaded.contains("image"), "{reloaded}");
    assert_eq!(run.query("examplecc", "a"), "a=100");
    assert_eq!(run.sequence("examplecc"), 1, "a reload commits nothing");
    // The swapped server holds the canonical name and no `-next` is left.
    let (ok, status, _) = run.fabx(&["status"]);
    assert!(ok && !status.contains("-next"), "{status}");

    // A Dockerfile change builds the image again.
    let dockerfile = crate_dir.join("Dockerfile");
    let recipe = std::fs::read_to_string(&dockerfile).unwrap();
    std::fs::write(&dockerfile, format!("{recipe}LABEL edited=yes\n")).unwrap();
    let reloaded = dev.wait_for("reloaded examplecc (#2", RELOAD);
    common::report(&format!("{TEST}: {reloaded}"));
    assert!(reloaded.contains("image"), "{reloaded}");
    assert_eq!(run.query("examplecc", "b"), "a=200");

    // A change that does not compile: the error is shown, the previous code answers.
    edit(&source, "format!(", "format!(missing_argument ");
    dev.wait_for("reload 3 failed", RELOAD);
    // The compiler's own words follow.
    let compiler = dev.wait_for("error", Duration::from_secs(10));
    common::report(&format!("{TEST}: the broken edit printed: {compiler}"));
    assert_eq!(run.query("examplecc", "a"), "a=100");

    // Fixed: the next save is taken.
    edit(&source, "format!(missing_argument ", "format!(");
    edit(&source, "\"a={}\"", "\"v3:{}\"");
    let reloaded = dev.wait_for("reloaded examplecc (#4", RELOAD);
    common::report(&format!("{TEST}: {reloaded}"));
    assert_eq!(run.query("examplecc", "b"), "v3:200");

    // A server that crashes at start: its last lines are shown, the previous one serves.
    let main = crate_dir.join("src/main.rs");
    edit(
        &main,
        "async fn main() -> ExitCode {",
        "async fn main() -> ExitCode {\n    panic!(\"boom at start\");",
    );
    dev.wait_for("reload 5 failed", RELOAD);
    let crashed = dev.wait_for("boom at start", Duration::from_secs(10));
    common::report(&format!("{TEST}: the crashing server printed: {crashed}"));
    assert_eq!(run.query("examplecc", "a"), "v3:100");
    edit(&main, "\n    panic!(\"boom at start\");", "");
    dev.wait_for("reloaded examplecc (#6", RELOAD);
    let (ok, status, _) = run.fabx(&["status"]);
    assert!(
        ok && !status.contains("-next"),
        "the crashed server was left: {status}"
    );

    // Ctrl-C ends the watch; the chaincode keeps serving.
    assert!(dev.interrupt().success());
    assert_eq!(run.query("examplecc", "a"), "v3:100");

    // --run: the developer's command on the host, rebuilt and restarted on each save.
    let host_dir = tmp.path().join("hostcc");
    copy_examplecc(&host_dir);
    let port = std::net::TcpListener::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let mut dev = Dev::start(
        &run,
        &[
            "hostcc",
            "--path",
            host_dir.to_str().unwrap(),
            "--run",
            "cargo run --quiet",
            "--build",
            "cargo build --quiet",
            "--port",
            &port,
            "--init",
            "Init",
            "a",
            "1",
            "b",
            "2",
        ],
    );
    // The process's own lines, prefixed (the shim says where it listens).
    let own = dev.wait_for("[hostcc] fabx-shim:", FIRST_DEPLOY);
    assert!(own.contains("listening"), "{own}");
    dev.wait_for("hostcc sequence 1 committed", FIRST_DEPLOY);
    assert_eq!(run.query("hostcc", "a"), "1");
    let source = host_dir.join("src/example02.rs");
    edit(
        &source,
        QUERY_OUTPUT,
        "Response::success(format!(\"host:{}\", String::from_utf8_lossy(&value)))",
    );
    let reloaded = dev.wait_for("reloaded hostcc (#1", RELOAD);
    common::report(&format!("{TEST}: {reloaded}"));
    assert_eq!(run.query("hostcc", "b"), "host:2");
    assert_eq!(run.sequence("hostcc"), 1);
    edit(&source, "format!(", "format!(missing_argument ");
    dev.wait_for("reload 2 failed", RELOAD);
    assert_eq!(run.query("hostcc", "b"), "host:2");
    // Ctrl-C stops the developer's process too: nothing listens on the port after.
    assert!(dev.interrupt().success());
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).is_err(),
        "the --run process outlived fabx dev"
    );

    let (ok, _, stderr) = run.fabx(&["down"]);
    assert!(ok, "{stderr}");
}

// Blocking waits on fabx's output: a worker thread of its own.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_crate_builds_passes_its_tests_and_serves_under_dev() {
    const TEST: &str = "a_new_crate_serves_under_dev";
    let topology = fabx::Topology::default_topology();
    if let Some(reason) = common::missing_fabric_images(&topology).await {
        return common::skipped(TEST, &reason);
    }
    let tmp = tempfile::tempdir().unwrap();
    let crate_dir = tmp.path().join("assets");
    let (ok, stdout, stderr) = common::run_fabx(
        tmp.path(),
        &[],
        &["new", "assets", "--path", crate_dir.to_str().unwrap()],
    );
    assert!(ok, "{stderr}");
    assert!(stdout.contains("made chaincode assets"), "{stdout}");

    // Its own tests: the contract against the shim's peer double, and the network test
    // on real Fabric (which the images here let run: it must not skip).
    std::fs::copy(
        Path::new(ROOT).join("Cargo.lock"),
        crate_dir.join("Cargo.lock"),
    )
    .unwrap();
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["test", "--quiet"])
        .current_dir(&crate_dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .env(fabx::harness::REQUIRE_FABRIC_ENV, "1")
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "cargo test in the new crate:\n{printed}"
    );
    assert!(!printed.contains("SKIPPED"), "{printed}");
    assert!(printed.contains("test result: ok"), "{printed}");

    let (run, _cleanup) = up(tmp.path()).await;
    let mut dev = Dev::start(&run, &["assets", "--path", crate_dir.to_str().unwrap()]);
    dev.wait_for("assets sequence 1 committed", FIRST_DEPLOY);
    let (ok, _, stderr) = run.fabx(&["invoke", "assets", "CreateAsset", "asset1", "ann", "5"]);
    assert!(ok, "{stderr}");
    let (ok, stdout, stderr) = run.fabx(&["query", "assets", "ReadAsset", "asset1"]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), r#"{"id":"asset1","owner":"ann","value":5}"#);
    assert!(dev.interrupt().success());
    let (ok, _, stderr) = run.fabx(&["down"]);
    assert!(ok, "{stderr}");
}

#[tokio::test]
async fn the_harness_redeploys_changed_code_and_keeps_the_definition() {
    const TEST: &str = "the_harness_redeploys_changed_code";
    if let Some(reason) = common::missing_fabric_images(&fabx::Topology::default_topology()).await {
        return common::skipped(TEST, &reason);
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("examplecc");
    copy_examplecc(&dir);
    let net = fabx::harness::TestNetwork::start().await.unwrap();
    net.deploy_dir("examplecc", &dir, &["Init", "a", "100", "b", "200"])
        .await
        .unwrap();
    let committed = |status: fabx::network::status::NetworkStatus| {
        status.channels[0]
            .chaincodes
            .iter()
            .find(|cc| cc.name == "examplecc")
            .map(|cc| (cc.sequence, cc.init_required))
    };
    let before = committed(net.network().status().await.unwrap());
    assert_eq!(before, Some((1, true)));

    edit(
        &dir.join("src/example02.rs"),
        QUERY_OUTPUT,
        "Response::success(format!(\"new:{}\", String::from_utf8_lossy(&value)))",
    );
    let phases = net.redeploy_code("examplecc", &dir).await.unwrap();
    let names: Vec<&str> = phases.iter().map(|p| p.name).collect();
    common::report(&format!("{TEST}: {phases:?}"));
    assert_eq!(names, ["build", "image", "start", "ready", "switch"]);
    assert_eq!(
        net.query("examplecc", "query", &["a"]).await.unwrap(),
        "new:100"
    );
    // Invokes still work, and the definition is the one committed (init still required).
    net.invoke("examplecc", "invoke", &["a", "b", "1"])
        .await
        .unwrap();
    assert_eq!(
        net.query("examplecc", "query", &["b"]).await.unwrap(),
        "new:201"
    );
    assert_eq!(committed(net.network().status().await.unwrap()), before);

    // A deploy that leaves --init out changes the definition, and says so.
    let report = net.deploy_dir("examplecc", &dir, &[]).await.unwrap();
    assert_eq!(report.sequence, 2);
    assert_eq!(
        report.changes,
        [fabx::network::deploy::DefinitionChange::InitRequired(false)]
    );
    assert_eq!(
        report.changes[0].to_string(),
        "init no longer required (give --init to keep it)"
    );
    net.teardown().await.unwrap();
}
