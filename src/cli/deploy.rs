use super::output::Output;
use anyhow::Result;
use clap::Args;
use fabx::network::deploy::{DeployRequest, EndorsementPolicy, Source, TlsMode};
use fabx::Network;
use serde_json::json;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Chaincode name; its code is chaincode/<NAME> unless --path or --image is given
    pub name: String,
    /// Chaincode directory (a Rust crate, or any directory with a Dockerfile)
    #[arg(long, conflicts_with_all = ["image", "address"])]
    pub path: Option<PathBuf>,
    /// Run this existing CCaaS image instead of building one
    #[arg(long, conflicts_with = "address")]
    pub image: Option<String>,
    /// Chaincode you run yourself (a debugger, a host process) at HOST:PORT: no
    /// container; fabx prints its environment and waits for it
    /// (host.docker.internal:PORT is this machine)
    #[arg(long, value_name = "HOST:PORT")]
    pub address: Option<String>,
    /// With --address: seconds to wait for the chaincode to answer
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub wait: u64,
    #[command(flatten)]
    pub definition: DefinitionArgs,
}

/// What the committed definition and the servers are made of: shared by `deploy` and `dev`.
#[derive(Debug, Args)]
pub struct DefinitionArgs {
    #[arg(long, default_value = "1.0")]
    pub version: String,
    /// Package label (default <NAME>_<VERSION>)
    #[arg(long)]
    pub label: Option<String>,
    /// Channel (default: the topology's)
    #[arg(long)]
    pub channel: Option<String>,
    /// Definition sequence (default: automatic)
    #[arg(long)]
    pub sequence: Option<u64>,
    /// Require init and call FUNCTION [ARGS...] after commit, e.g. --init Init a 100 b 200
    #[arg(long, num_args = 1.., value_name = "FUNCTION [ARGS]", allow_negative_numbers = true)]
    pub init: Option<Vec<String>>,
    /// One chaincode container for every org instead of one per org
    #[arg(long)]
    pub shared_container: bool,
    /// TLS between peers and chaincode: off, server or mutual (default: mutual for
    /// chaincode fabx builds, off for --image and --address)
    #[arg(long, value_parser = parse_tls)]
    pub tls: Option<TlsMode>,
    /// Endorsement policy in Fabric's syntax, e.g. "AND('Org1MSP.peer','Org2MSP.peer')"
    /// (default: the channel's Endorsement policy, a majority of its orgs)
    #[arg(long, value_name = "POLICY", conflicts_with = "channel_config_policy")]
    pub signature_policy: Option<String>,
    /// Endorsement policy by the name of a channel policy, e.g. /Channel/Application/Admins
    #[arg(long, value_name = "NAME")]
    pub channel_config_policy: Option<String>,
    /// Private data collections: Fabric's collection configuration JSON
    #[arg(long, value_name = "FILE")]
    pub collections_config: Option<PathBuf>,
    /// A META-INF directory whose statedb/couchdb/indexes/*.json (CouchDB indexes) go
    /// into the package (default: the chaincode directory's META-INF)
    #[arg(long, value_name = "DIR")]
    pub meta_inf: Option<PathBuf>,
}

impl DefinitionArgs {
    /// A deploy request of chaincode `name` from `source` with these settings.
    pub fn request(self, name: String, source: Source) -> DeployRequest {
        let mut request = DeployRequest::new(&name, source);
        request.version = self.version;
        request.label = self.label;
        request.channel = self.channel;
        request.sequence = self.sequence;
        request.init = self.init;
        request.shared_container = self.shared_container;
        request.tls = self.tls;
        request.endorsement = match (self.signature_policy, self.channel_config_policy) {
            (Some(rule), _) => EndorsementPolicy::Signature(rule),
            (None, Some(name)) => EndorsementPolicy::ChannelConfig(name),
            (None, None) => EndorsementPolicy::ChannelDefault,
        };
        request.collections = self.collections_config;
        request.meta_inf = self.meta_inf;
        request
    }
}

fn parse_tls(text: &str) -> Result<TlsMode, String> {
    text.parse()
}

pub async fn run(network: &Network, args: DeployArgs, output: &Output) -> Result<()> {
    let source = match (args.address, args.image, args.path) {
        (Some(address), _, _) => Source::Address(address),
        (None, Some(image), _) => Source::Image(image),
        (None, None, Some(path)) => Source::Directory(path),
        (None, None, None) => Source::Directory(PathBuf::from("chaincode").join(&args.name)),
    };
    let mut request = args.definition.request(args.name, source);
    request.wait = std::time::Duration::from_secs(args.wait);
    let report = output.finish_steps(network.deploy(&request, output).await)?;
    let packages = report
        .package_ids
        .iter()
        .map(|(msp, id)| format!("{msp} {id}"))
        .collect::<Vec<_>>()
        .join("; ");
    output.summary(
        &format!(
            "{} sequence {} {} on {} (image {}; packages: {packages})",
            report.name,
            report.sequence,
            committed_what(&report),
            report.channel,
            report.image
        ),
        json!({ "command": "deploy", "status": "ok", "report": report }),
    );
    Ok(())
}

/// "committed", with what changed from the definition before it, or "unchanged".
pub fn committed_what(report: &fabx::network::deploy::DeployReport) -> String {
    match (report.committed, report.changes.as_slice()) {
        (false, _) => "unchanged".into(),
        (true, []) => "committed".into(),
        (true, changes) => format!(
            "committed (changed: {})",
            changes
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::cli::{Cli, Command};
    use clap::Parser;
    use fabx::network::deploy::{DefinitionChange, DeployReport};

    #[test]
    fn the_summary_says_what_changed_the_definition() {
        let mut report = DeployReport {
            name: "examplecc".into(),
            channel: "channel1".into(),
            sequence: 2,
            package_ids: vec![],
            image: "fabx/examplecc".into(),
            committed: true,
            changes: vec![
                DefinitionChange::Version {
                    from: "1.0".into(),
                    to: "1.1".into(),
                },
                DefinitionChange::InitRequired(false),
            ],
            initialized: false,
            containers_started: vec![],
        };
        assert_eq!(
            super::committed_what(&report),
            "committed (changed: version 1.0 -> 1.1, init no longer required (give --init to keep it))"
        );
        report.changes.clear();
        assert_eq!(super::committed_what(&report), "committed");
        report.committed = false;
        assert_eq!(super::committed_what(&report), "unchanged");
    }

    fn init_of(args: &[&str]) -> (Option<Vec<String>>, bool) {
        let cli = Cli::try_parse_from(args).unwrap();
        match cli.command {
            Command::Deploy(deploy) => (deploy.definition.init, cli.global.quiet),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn init_takes_the_values_up_to_the_next_flag() {
        let (init, quiet) = init_of(&[
            "fabx", "deploy", "cc", "--init", "Init", "a", "-100", "b", "200", "-q",
        ]);
        assert_eq!(init.unwrap(), ["Init", "a", "-100", "b", "200"]);
        assert!(quiet);
        let (init, _) = init_of(&["fabx", "deploy", "cc", "--init", "Init"]);
        assert_eq!(init.unwrap(), ["Init"]);
        assert_eq!(init_of(&["fabx", "deploy", "cc"]).0, None);
    }

    #[test]
    fn path_and_image_exclude_each_other() {
        assert!(
            Cli::try_parse_from(["fabx", "deploy", "cc", "--path", "d", "--image", "i:1"]).is_err()
        );
    }
}
