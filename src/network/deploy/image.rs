//! Builds chaincode images without any registry.
//!
//! A Rust chaincode (a directory with a Cargo.toml) is compiled on the host into a
//! fully static binary and packed with a `FROM scratch` Dockerfile, so the build
//! needs no base image. Any other directory is sent as the build context of its
//! own Dockerfile. Images are labelled `fabx.managed=true`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::engine::docker::DockerError;
use crate::engine::spec::{Tail, LABEL_MANAGED, MANAGED};
use crate::engine::Engine;
use crate::support::tar::{tar_of, tar_of_dir, TarFile};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// How many output lines an error keeps.
const TAIL_LINES: usize = 30;

#[derive(Debug, thiserror::Error)]
pub enum ChaincodeImageError {
    #[error("{dir} has neither a Dockerfile nor a Cargo.toml: nothing to build an image from")]
    NoDockerfile { dir: PathBuf },

    #[error("cannot run `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },

    #[error("`{command}` failed ({status}):\n{output_tail}")]
    CargoFailed {
        command: String,
        status: String,
        output_tail: String,
    },

    #[error("cannot find the binary to build in {manifest}: {reason}")]
    CargoMetadata { manifest: PathBuf, reason: String },

    #[error("cargo finished but {path} does not exist")]
    BinaryMissing { path: PathBuf },

    #[error("cannot assemble the build context from {path}: {source}")]
    Context {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    Docker(#[from] DockerError),

    #[error("{0}")]
    Engine(crate::engine::EngineError),
}

type Result<T, E = ChaincodeImageError> = std::result::Result<T, E>;

/// How a Rust chaincode is compiled: `release` for `deploy`, `dev` (unoptimized,
/// incremental, seconds instead of tens of seconds for a one-line change) for the edit
/// loop of `fabx dev`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BuildProfile {
    #[default]
    Release,
    Dev,
}

impl BuildProfile {
    /// The directory under the target triple where cargo puts the binary.
    fn output_dir(self) -> &'static str {
        match self {
            BuildProfile::Release => "release",
            BuildProfile::Dev => "debug",
        }
    }
}

/// Builds the chaincode in `dir` into image `tag`; returns the image ID.
/// Progress lines (cargo, docker build) go to `on_log`.
pub async fn build_chaincode_image(
    engine: &dyn Engine,
    dir: &Path,
    tag: &str,
    profile: BuildProfile,
    on_log: &mut (dyn FnMut(&str) + Send),
) -> Result<String> {
    let context = build_context(dir, profile, on_log).await?;
    build_from_context(engine, tag, context, on_log).await
}

/// The build context of the chaincode in `dir`: a Rust crate compiled on the host into
/// a static binary beside its Dockerfile (or a `FROM scratch` one), or the directory
/// with its own Dockerfile.
pub async fn build_context(
    dir: &Path,
    profile: BuildProfile,
    on_log: &mut (dyn FnMut(&str) + Send),
) -> Result<Vec<u8>> {
    let dockerfile = dir.join("Dockerfile");
    let context = if dir.join("Cargo.toml").is_file() {
        let binary = build_static_binary(dir, profile, on_log).await?;
        binary_context(dir, &binary)?
    } else if dockerfile.is_file() {
        tar_of_dir(dir).map_err(|source| context_error(dir, source))?
    } else {
        return Err(ChaincodeImageError::NoDockerfile { dir: dir.into() });
    };
    Ok(context)
}

/// The build context of a compiled Rust chaincode: its Dockerfile (or a `FROM scratch`
/// one) beside the binary.
pub fn binary_context(dir: &Path, binary: &StaticBinary) -> Result<Vec<u8>> {
    let dockerfile = dir.join("Dockerfile");
    let recipe = match dockerfile.is_file() {
        true => read(&dockerfile)?,
        false => scratch_dockerfile(&binary.name).into_bytes(),
    };
    Ok(tar_of(&[
        TarFile::new("Dockerfile", recipe, 0o644),
        TarFile::new(binary.name.as_str(), binary.read()?, 0o755),
    ]))
}

/// A `FROM scratch` Dockerfile running the static binary `name`.
pub fn scratch_dockerfile(name: &str) -> String {
    format!("FROM scratch\nCOPY {name} /{name}\nENTRYPOINT [\"/{name}\"]\n")
}

/// A compiled chaincode binary.
#[derive(Debug, Clone)]
pub struct StaticBinary {
    pub name: String,
    pub path: PathBuf,
}

impl StaticBinary {
    pub fn read(&self) -> Result<Vec<u8>> {
        read(&self.path)
    }
}

/// `cargo build` of the package in `dir` as a static binary for the host's target
/// triple (glibc with crt-static), honouring CARGO_TARGET_DIR.
pub async fn build_static_binary(
    dir: &Path,
    profile: BuildProfile,
    on_log: &mut (dyn FnMut(&str) + Send),
) -> Result<StaticBinary> {
    let manifest = dir.join("Cargo.toml");
    let (package, bin, target_dir) = package_binary(&manifest).await?;
    let triple = host_triple().await?;
    let mut cmd = static_cargo();
    cmd.arg("build");
    match profile {
        BuildProfile::Release => {
            cmd.arg("--release");
        }
        // Every reload sends the binary to Docker: without debuginfo examplecc's is
        // 13 MB instead of 63 MB, and links faster (symbols stay for backtraces).
        BuildProfile::Dev => {
            cmd.env("CARGO_PROFILE_DEV_DEBUG", "0");
        }
    }
    cmd.args(["--target", &triple, "--package", &package])
        .args(["--bin", &bin, "--manifest-path"])
        .arg(&manifest);
    let cmd = Command::from(cmd);
    run_logged(cmd, on_log).await?;
    let path = target_dir
        .join(&triple)
        .join(profile.output_dir())
        .join(&bin);
    if !path.is_file() {
        return Err(ChaincodeImageError::BinaryMissing { path });
    }
    Ok(StaticBinary { name: bin, path })
}

/// `cargo` for static chaincode builds: crt-static for the target only (with `--target`,
/// build scripts are not affected), and the same environment from anywhere.
pub fn static_cargo() -> std::process::Command {
    let mut cmd = std::process::Command::new(cargo());
    let rustflags = std::env::var("RUSTFLAGS").unwrap_or_default();
    cmd.env(
        "RUSTFLAGS",
        format!("{rustflags} -C target-feature=+crt-static"),
    )
    .env_remove("CARGO_ENCODED_RUSTFLAGS");
    // Variables cargo sets for the package that runs us (a test, a bench) would mark build
    // scripts dirty and rebuild everything: the build must see the same env from anywhere.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let per_package = ["CARGO_PKG_", "CARGO_BIN_EXE_"]
            .iter()
            .any(|p| name.starts_with(p))
            || matches!(
                name.as_ref(),
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_TARGET_TMPDIR"
                    | "OUT_DIR"
            );
        if per_package {
            cmd.env_remove(name.as_ref());
        }
    }
    cmd
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Runs a command, streaming its output lines to `on_log`; on failure the error
/// carries the last lines.
async fn run_logged(mut cmd: Command, on_log: &mut (dyn FnMut(&str) + Send)) -> Result<()> {
    let command = format!("{:?}", cmd.as_std()).replace('"', "");
    let spawn_error = |source| ChaincodeImageError::Spawn {
        command: command.clone(),
        source,
    };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(spawn_error)?;
    let mut tail = Tail::new(TAIL_LINES);
    if let Some(stderr) = child.stderr.take() {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            on_log(&line);
            tail.push(&line);
        }
    }
    let status = child.wait().await.map_err(spawn_error)?;
    if !status.success() {
        return Err(ChaincodeImageError::CargoFailed {
            command,
            status: status.to_string(),
            output_tail: tail.text(""),
        });
    }
    Ok(())
}

/// The package at `manifest`, its binary name and the workspace target directory.
async fn package_binary(manifest: &Path) -> Result<(String, String, PathBuf)> {
    let fail = |reason: String| ChaincodeImageError::CargoMetadata {
        manifest: manifest.into(),
        reason,
    };
    let output = Command::new(cargo())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(manifest)
        .output()
        .await
        .map_err(|e| fail(format!("cannot run cargo metadata: {e}")))?;
    if !output.status.success() {
        return Err(fail(String::from_utf8_lossy(&output.stderr).trim().into()));
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|e| fail(e.to_string()))?;
    let wanted = std::fs::canonicalize(manifest).map_err(|e| fail(e.to_string()))?;
    let package = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| {
            p["manifest_path"]
                .as_str()
                .and_then(|m| std::fs::canonicalize(m).ok())
                .is_some_and(|m| m == wanted)
        })
        .ok_or_else(|| fail("no package is defined there (virtual manifest?)".into()))?;
    let name = package["name"].as_str().unwrap_or_default().to_string();
    let bins: Vec<&str> = package["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"))
        })
        .filter_map(|t| t["name"].as_str())
        .collect();
    let bin = match bins.as_slice() {
        [only] => only.to_string(),
        many if many.contains(&name.as_str()) => name.clone(),
        [] => return Err(fail(format!("package {name} has no binary target"))),
        many => {
            return Err(fail(format!(
                "package {name} has several binaries: {many:?}"
            )))
        }
    };
    let target_dir = meta["target_directory"]
        .as_str()
        .ok_or_else(|| fail("no target_directory in cargo metadata".into()))?;
    Ok((name, bin, PathBuf::from(target_dir)))
}

async fn host_triple() -> Result<String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let output = Command::new(&rustc)
        .arg("-vV")
        .output()
        .await
        .map_err(|source| ChaincodeImageError::Spawn {
            command: format!("{rustc} -vV"),
            source,
        })?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_string)
        .ok_or_else(|| ChaincodeImageError::CargoMetadata {
            manifest: PathBuf::from(rustc),
            reason: "`rustc -vV` printed no host triple".into(),
        })
}

/// Sends a build context to the engine, streams the build log to `on_log`, and
/// returns the image ID. Build errors arrive inside the stream.
pub async fn build_from_context(
    engine: &dyn Engine,
    tag: &str,
    context: Vec<u8>,
    on_log: &mut (dyn FnMut(&str) + Send),
) -> Result<String> {
    let labels = HashMap::from([(LABEL_MANAGED.to_string(), MANAGED.to_string())]);
    engine
        .build_image(context, tag, labels, on_log)
        .await
        .map_err(|e| match e {
            crate::engine::EngineError::Docker(e) => ChaincodeImageError::Docker(*e),
            e => ChaincodeImageError::Engine(e),
        })
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| context_error(path, source))
}

fn context_error(path: &Path, source: std::io::Error) -> ChaincodeImageError {
    ChaincodeImageError::Context {
        path: path.into(),
        source,
    }
}
