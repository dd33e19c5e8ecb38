//! `dev NAME`: deploy, then rebuild and replace the chaincode on every saved change,
//! one line per reload, until Ctrl-C (the network and the last good chaincode stay).

use super::deploy::DefinitionArgs;
use super::output::Output;
use anyhow::Result;
use clap::Args;
use fabx::network::deploy::image::BuildProfile;
use fabx::network::dev::{DevEvent, DevMode, ReloadReport};
use fabx::Network;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct DevArgs {
    /// Chaincode name; its code is chaincode/<NAME> unless --path is given
    pub name: String,
    /// Chaincode directory to build and watch (a Rust crate, or a directory with a
    /// Dockerfile; with --run, the directory the command runs in)
    #[arg(long)]
    pub path: Option<PathBuf>,
    /// Serve the chaincode with this command on the host instead of a container (any
    /// language, a debugger), restarted on each change; it gets the CCaaS environment
    /// (CHAINCODE_ID, CHAINCODE_SERVER_ADDRESS, TLS files) and the peers dial it at
    /// host.docker.internal:PORT. E.g. --run "cargo run", --run "go run ."
    #[arg(long, value_name = "COMMAND")]
    pub run: Option<String>,
    /// With --run: a build command run on each change while the previous process still
    /// serves; a failure keeps it serving. E.g. --build "cargo build"
    #[arg(long, value_name = "COMMAND", requires = "run")]
    pub build: Option<String>,
    /// With --run: the port your process listens on
    #[arg(long, default_value_t = 9999)]
    pub port: u16,
    /// Build a Rust chaincode with the release profile (default: the dev profile, whose
    /// incremental builds take seconds)
    #[arg(long, conflicts_with = "run")]
    pub release: bool,
    #[command(flatten)]
    pub definition: DefinitionArgs,
}

pub async fn run(network: &Network, args: DevArgs, output: &Output) -> Result<()> {
    let dir = args
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from("chaincode").join(&args.name));
    let mode = match args.run {
        Some(command) => DevMode::Run {
            command,
            build: args.build,
            port: args.port,
        },
        None => DevMode::Image,
    };
    let name = args.name.clone();
    let mut request = args.definition.request(
        args.name,
        fabx::network::deploy::Source::Directory(dir.clone()),
    );
    request.build = match args.release {
        true => BuildProfile::Release,
        false => BuildProfile::Dev,
    };
    let prefix = format!("[{name}] ");
    let sink = Arc::new(move |line: &str| eprintln!("{prefix}{line}"));
    let mut session = output.finish_steps(network.dev(request, &dir, mode, sink))?;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    // The first deploy; a build error (or a server that will not start) waits for an edit.
    let report = loop {
        let deployed = session.deploy(output).await;
        match output.finish_steps(deployed) {
            Ok(report) => break report,
            Err(e) if fixed_by_an_edit(&e) => {
                output.error(&e);
                eprintln!("waiting for a change to {} (Ctrl-C stops)", dir.display());
                tokio::select! {
                    changed = session.changed() => if changed.is_none() { return Ok(()) },
                    _ = &mut ctrl_c => return Ok(()),
                }
            }
            Err(e) => return Err(e),
        }
    };
    output.summary(
        &format!(
            "{name} sequence {} {} on {}; watching {} (Ctrl-C stops watching; the chaincode keeps serving{})",
            report.sequence,
            super::deploy::committed_what(&report),
            report.channel,
            dir.display(),
            if session_mode_is_run(&session) { " until your command stops" } else { "" },
        ),
        json!({ "command": "dev", "event": "deployed", "report": report }),
    );
    loop {
        tokio::select! {
            event = session.next() => match event {
                Some(event) => print_event(output, &event),
                None => break,
            },
            _ = &mut ctrl_c => break,
        }
    }
    session.stop().await;
    Ok(())
}

fn session_mode_is_run(session: &fabx::network::dev::DevSession<'_>) -> bool {
    matches!(
        session.request().source,
        fabx::network::deploy::Source::Address(_)
    )
}

/// Errors a save can fix: the code does not build, or its server does not start.
fn fixed_by_an_edit(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<fabx::Error>(),
        Some(
            fabx::Error::ChaincodeImage(_)
                | fabx::Error::DevCommand(_)
                | fabx::Error::ChaincodeExited { .. }
                | fabx::Error::ChaincodeUnreachable { .. }
                | fabx::Error::ChaincodeNotAnswering { .. }
        )
    )
}

fn print_event(output: &Output, event: &DevEvent) {
    match event {
        DevEvent::Reloaded(report) => output.summary(
            &reload_line(report),
            json!({ "command": "dev", "event": "reloaded", "reload": report }),
        ),
        DevEvent::Failed {
            reload,
            files,
            error,
        } => {
            if output.json() {
                println!(
                    "{}",
                    json!({ "command": "dev", "event": "failed", "reload": reload,
                            "files": files, "error": error.to_string() })
                );
            }
            eprintln!(
                "reload {reload} failed; the previous code serves on (save again to retry):\n{error}"
            );
        }
        DevEvent::NeedsDeploy { file, command } => {
            if output.json() {
                println!(
                    "{}",
                    json!({ "command": "dev", "event": "needs_deploy", "file": file, "next": command })
                );
            }
            eprintln!(
                "{} is part of the committed definition, which a reload does not change: {command}",
                file.display()
            );
        }
    }
}

/// `reloaded examplecc (#2, src/example02.rs): build 1.84s, image 0.21s, ... = 2.31s`
fn reload_line(report: &ReloadReport) -> String {
    let phases = report
        .phases
        .iter()
        .map(|p| format!("{} {:.2}s", p.name, p.took.as_secs_f64()))
        .collect::<Vec<_>>()
        .join(", ");
    let files = report
        .files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "reloaded {} (#{}, {files}): {phases} = {:.2}s",
        report.chaincode,
        report.reload,
        report.total().as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabx::network::dev::Phase;
    use std::time::Duration;

    #[test]
    fn a_reload_is_one_line_with_its_phases() {
        let report = ReloadReport {
            chaincode: "examplecc".into(),
            reload: 2,
            files: vec![PathBuf::from("src/example02.rs")],
            phases: vec![
                Phase {
                    name: "build",
                    took: Duration::from_millis(1840),
                },
                Phase {
                    name: "image",
                    took: Duration::from_millis(210),
                },
            ],
        };
        assert_eq!(
            reload_line(&report),
            "reloaded examplecc (#2, src/example02.rs): build 1.84s, image 0.21s = 2.05s"
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["phases"][0], json!({ "name": "build", "ms": 1840 }));
    }

    #[test]
    fn build_needs_run_and_release_excludes_it() {
        use crate::cli::Cli;
        use clap::Parser;
        assert!(Cli::try_parse_from(["fabx", "dev", "cc", "--build", "make"]).is_err());
        assert!(
            Cli::try_parse_from(["fabx", "dev", "cc", "--run", "cargo run", "--release"]).is_err()
        );
        assert!(Cli::try_parse_from([
            "fabx",
            "dev",
            "cc",
            "--run",
            "cargo run",
            "--build",
            "cargo build",
            "--init",
            "Init"
        ])
        .is_ok());
    }
}
