//! Drives builders/bin/{detect,build,release} under dash (the peer images' /bin/sh)
//! and busybox sh (with busybox's own tr/sed/grep/cp), on fixture packages.
//! CI must have `dash` and `busybox` installed: the tests fail without them.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

const SCRIPTS: [&str; 3] = ["detect", "build", "release"];

fn builder_bin(script: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("builders/bin")
        .join(script)
}

fn find_in_path(program: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("`{program}` is not installed; the builder tests need it (apt-get install -y dash busybox)")
        })
}

/// A shell to run the scripts with, and the PATH their commands come from.
struct Shell {
    name: &'static str,
    argv: Vec<PathBuf>,
    path: String,
    _applets: Option<TempDir>,
}

fn shells() -> Vec<Shell> {
    let dash = Shell {
        name: "dash",
        argv: vec![find_in_path("dash")],
        path: std::env::var("PATH").unwrap_or_default(),
        _applets: None,
    };
    // A PATH holding only busybox applets, so no GNU tool can hide a portability bug.
    let busybox = find_in_path("busybox");
    let applets = TempDir::new().unwrap();
    for applet in ["sh", "tr", "sed", "grep", "cp", "mkdir", "cat", "printf"] {
        symlink(&busybox, applets.path().join(applet)).unwrap();
    }
    let busybox_sh = Shell {
        name: "busybox sh",
        argv: vec![applets.path().join("sh")],
        path: applets.path().display().to_string(),
        _applets: Some(applets),
    };
    vec![dash, busybox_sh]
}

impl Shell {
    fn run(&self, script: &str, args: &[&Path]) -> Output {
        Command::new(&self.argv[0])
            .args(&self.argv[1..])
            .arg(builder_bin(script))
            .args(args)
            .env_clear()
            .env("PATH", &self.path)
            .output()
            .unwrap_or_else(|e| panic!("{}: cannot run {script}: {e}", self.name))
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[track_caller]
fn assert_ok(shell: &Shell, what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "[{}] {what} failed ({}): {}",
        shell.name,
        out.status,
        stderr(out)
    );
}

#[track_caller]
fn assert_fails_with(shell: &Shell, what: &str, out: &Output, code: i32, needle: &str) {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "[{}] {what}: {err}",
        shell.name
    );
    assert!(
        err.contains(needle),
        "[{}] {what}: stderr should mention {needle:?}, got: {err}",
        shell.name
    );
}

/// A fixture package: SOURCE (code.tar.gz contents) and METADATA dirs, with a
/// space in the path to catch quoting bugs.
struct Fixture {
    dir: TempDir,
}

impl Fixture {
    fn new(metadata: Option<&str>, connection: Option<&str>) -> Self {
        let dir = TempDir::new().unwrap();
        let f = Fixture { dir };
        fs::create_dir_all(f.source()).unwrap();
        fs::create_dir_all(f.metadata()).unwrap();
        if let Some(m) = metadata {
            fs::write(f.metadata().join("metadata.json"), m).unwrap();
        }
        if let Some(c) = connection {
            fs::write(f.source().join("connection.json"), c).unwrap();
        }
        f
    }
    fn source(&self) -> PathBuf {
        self.dir.path().join("src dir")
    }
    fn metadata(&self) -> PathBuf {
        self.dir.path().join("meta")
    }
    fn output(&self) -> PathBuf {
        self.dir.path().join("bld")
    }
    fn release(&self) -> PathBuf {
        self.dir.path().join("release")
    }
}

const CONNECTION: &str = r#"{
  "address": "examplecc:9999",
  "dial_timeout": "10s",
  "tls_required": false
}"#;

#[test]
fn scripts_are_executable_posix_sh() {
    for script in SCRIPTS {
        let path = builder_bin(script);
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert!(
            mode & 0o111 == 0o111,
            "{script} is not executable: {mode:o}"
        );
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("#!/bin/sh\n"),
            "{script}: shebang must be #!/bin/sh"
        );
        for bashism in ["pipefail", "[[ ", "jq ", "local ", "function "] {
            assert!(!text.contains(bashism), "{script} uses {bashism:?}");
        }
        let check = Command::new(find_in_path("dash"))
            .arg("-n")
            .arg(&path)
            .output()
            .unwrap();
        assert_ok(&shells()[0], &format!("dash -n {script}"), &check);
    }
}

#[test]
fn scripts_run_through_their_shebang() {
    let f = Fixture::new(Some(r#"{"type":"ccaas","label":"x","path":""}"#), None);
    let out = Command::new(builder_bin("detect"))
        .arg(f.source())
        .arg(f.metadata())
        .output()
        .unwrap();
    assert!(out.status.success(), "detect via shebang: {}", stderr(&out));
}

#[test]
fn detect_accepts_ccaas_and_external() {
    let accepted = [
        r#"{"type":"ccaas","label":"basic_1.0","path":""}"#,
        "{\n  \"label\": \"basic_1.0\",\n  \"type\" : \"external\",\n  \"path\": \"\"\n}\n",
        "{\"path\":\"\",\"type\":\"CCaaS\",\"label\":\"x\"}\r\n",
        r#"{"type": "EXTERNAL", "label": "x"}"#,
    ];
    for shell in shells() {
        for metadata in accepted {
            let f = Fixture::new(Some(metadata), None);
            let out = shell.run("detect", &[&f.source(), &f.metadata()]);
            assert_ok(&shell, &format!("detect {metadata:?}"), &out);
        }
    }
}

#[test]
fn detect_rejects_other_types_and_bad_metadata() {
    let cases = [
        (
            Some(r#"{"type":"golang","label":"x","path":"a/b"}"#),
            "\"golang\"",
        ),
        (Some(r#"{"type":"node","label":"x"}"#), "\"node\""),
        (Some("this is not json"), "not a JSON object"),
        (
            Some(r#"{"label":"x","path":""}"#),
            "no string \"type\" field",
        ),
        (Some(r#"{"type": 7}"#), "no string \"type\" field"),
        (Some(""), "not a JSON object"),
        (None, "metadata.json not found"),
    ];
    for shell in shells() {
        for (metadata, needle) in cases {
            let f = Fixture::new(metadata, None);
            let out = shell.run("detect", &[&f.source(), &f.metadata()]);
            assert_fails_with(&shell, &format!("detect {metadata:?}"), &out, 1, needle);
        }
        let out = shell.run("detect", &[Path::new("/only-one-arg")]);
        assert_fails_with(
            &shell,
            "detect with 1 arg",
            &out,
            2,
            "usage: detect SOURCE METADATA",
        );
    }
}

#[test]
fn build_and_release_without_indexes() {
    for shell in shells() {
        let f = Fixture::new(Some(r#"{"type":"ccaas"}"#), Some(CONNECTION));
        let out = shell.run("build", &[&f.source(), &f.metadata(), &f.output()]);
        assert_ok(&shell, "build", &out);
        let out = shell.run("release", &[&f.output(), &f.release()]);
        assert_ok(&shell, "release", &out);
        let released = f.release().join("chaincode/server/connection.json");
        assert_eq!(
            fs::read_to_string(released).unwrap(),
            CONNECTION,
            "[{}]",
            shell.name
        );
        assert!(
            !f.release().join("statedb").exists(),
            "[{}] no statedb expected",
            shell.name
        );
    }
}

#[test]
fn build_and_release_with_statedb_indexes() {
    let index = r#"{"index":{"fields":["owner"]},"ddoc":"indexOwnerDoc","name":"indexOwner","type":"json"}"#;
    for shell in shells() {
        let f = Fixture::new(Some(r#"{"type":"external"}"#), Some(CONNECTION));
        let indexes = f.source().join("META-INF/statedb/couchdb/indexes");
        fs::create_dir_all(&indexes).unwrap();
        fs::write(indexes.join("indexOwner.json"), index).unwrap();
        let out = shell.run("build", &[&f.source(), &f.metadata(), &f.output()]);
        assert_ok(&shell, "build", &out);
        let built = f
            .output()
            .join("META-INF/statedb/couchdb/indexes/indexOwner.json");
        assert!(built.is_file(), "[{}] build must copy META-INF", shell.name);
        let out = shell.run("release", &[&f.output(), &f.release()]);
        assert_ok(&shell, "release", &out);
        let released = f.release().join("statedb/couchdb/indexes/indexOwner.json");
        assert_eq!(
            fs::read_to_string(released).unwrap(),
            index,
            "[{}]",
            shell.name
        );
        assert!(f
            .release()
            .join("chaincode/server/connection.json")
            .is_file());
    }
}

#[test]
fn build_requires_connection_json_with_address() {
    let cases = [
        (None, "connection.json not found"),
        (
            Some(r#"{"dial_timeout":"10s"}"#),
            "no non-empty \"address\" field",
        ),
        (Some(r#"{"address":""}"#), "no non-empty \"address\" field"),
    ];
    for shell in shells() {
        for (connection, needle) in cases {
            let f = Fixture::new(Some(r#"{"type":"ccaas"}"#), connection);
            let out = shell.run("build", &[&f.source(), &f.metadata(), &f.output()]);
            assert_fails_with(&shell, &format!("build {connection:?}"), &out, 1, needle);
        }
    }
}

#[test]
fn release_requires_a_build_output() {
    for shell in shells() {
        let f = Fixture::new(None, None);
        fs::create_dir_all(f.output()).unwrap();
        let out = shell.run("release", &[&f.output(), &f.release()]);
        assert_fails_with(&shell, "release", &out, 1, "connection.json not found");
        let out = shell.run("release", &[&f.output()]);
        assert_fails_with(
            &shell,
            "release 1 arg",
            &out,
            2,
            "usage: release OUTPUT RELEASE",
        );
        let out = shell.run("build", &[&f.source()]);
        assert_fails_with(
            &shell,
            "build 1 arg",
            &out,
            2,
            "usage: build SOURCE METADATA OUTPUT",
        );
    }
}
