//! `peer lifecycle chaincode ...` as values.

use super::{strings, PeerCli};
use crate::policy::endorsement::EndorsementPolicy;

/// How peer commands reach the ordering service: an orderer's listener and its org's TLS
/// CA inside the peer containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrdererEndpoint {
    pub address: String,
    pub ca_file: String,
}

impl OrdererEndpoint {
    fn args(&self) -> Vec<String> {
        strings(&[
            "-o",
            &self.address,
            "--tls",
            "--cafile",
            &self.ca_file,
            // The orderer dial timeout is only a flag (default 3 s).
            "--connTimeout",
            super::DIAL_TIMEOUT,
        ])
    }
}

/// A peer that endorses: its address and its org's TLS CA inside the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endorser {
    pub address: String,
    pub ca_file: String,
}

fn endorser_args(endorsers: &[Endorser]) -> Vec<String> {
    endorsers
        .iter()
        .flat_map(|e| {
            strings(&[
                "--peerAddresses",
                &e.address,
                "--tlsRootCertFiles",
                &e.ca_file,
            ])
        })
        .collect()
}

/// The parts of a chaincode definition every org approves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    pub channel: String,
    pub name: String,
    pub version: String,
    pub sequence: u64,
    pub init_required: bool,
    pub policy: EndorsementPolicy,
    /// The collection configuration file inside the peer containers.
    pub collections: Option<String>,
}

impl Definition {
    fn args(&self) -> Vec<String> {
        let mut args = strings(&[
            "--channelID",
            &self.channel,
            "--name",
            &self.name,
            "--version",
            &self.version,
            "--sequence",
            &self.sequence.to_string(),
        ]);
        if self.init_required {
            args.push("--init-required".into());
        }
        args.extend(self.policy.args());
        if let Some(path) = &self.collections {
            args.extend(strings(&["--collections-config", path]));
        }
        args
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleCommand {
    Install {
        package: String,
    },
    QueryInstalled,
    Approve {
        orderer: OrdererEndpoint,
        definition: Definition,
        package_id: String,
    },
    CheckCommitReadiness {
        definition: Definition,
    },
    Commit {
        orderer: OrdererEndpoint,
        definition: Definition,
        endorsers: Vec<Endorser>,
    },
    QueryCommitted {
        channel: String,
        name: String,
    },
    QueryApproved {
        channel: String,
        name: String,
        sequence: u64,
    },
}

impl PeerCli for LifecycleCommand {
    fn result_is_logged(&self) -> bool {
        // A fresh install only logs the package ID.
        matches!(self, LifecycleCommand::Install { .. })
    }

    fn args(&self) -> Vec<String> {
        let mut args = strings(&["peer", "lifecycle", "chaincode"]);
        match self {
            LifecycleCommand::Install { package } => args.extend(strings(&["install", package])),
            LifecycleCommand::QueryInstalled => {
                args.extend(strings(&["queryinstalled", "-O", "json"]))
            }
            LifecycleCommand::Approve {
                orderer,
                definition,
                package_id,
            } => {
                args.push("approveformyorg".into());
                args.extend(orderer.args());
                args.extend(definition.args());
                args.extend(strings(&["--package-id", package_id]));
            }
            LifecycleCommand::CheckCommitReadiness { definition } => {
                args.push("checkcommitreadiness".into());
                args.extend(definition.args());
                args.extend(strings(&["-O", "json"]));
            }
            LifecycleCommand::Commit {
                orderer,
                definition,
                endorsers,
            } => {
                args.push("commit".into());
                args.extend(orderer.args());
                args.extend(definition.args());
                args.extend(endorser_args(endorsers));
            }
            LifecycleCommand::QueryCommitted { channel, name } => args.extend(strings(&[
                "querycommitted",
                "--channelID",
                channel,
                "--name",
                name,
                "-O",
                "json",
            ])),
            LifecycleCommand::QueryApproved {
                channel,
                name,
                sequence,
            } => args.extend(strings(&[
                "queryapproved",
                "--channelID",
                channel,
                "--name",
                name,
                "--sequence",
                &sequence.to_string(),
                "-O",
                "json",
            ])),
        }
        args
    }
}

/// The peer CLI's constructor JSON for a function and its arguments.
pub fn ctor(function: &str, args: &[String]) -> String {
    let all: Vec<&str> = std::iter::once(function)
        .chain(args.iter().map(String::as_str))
        .collect();
    serde_json::json!({ "Args": all }).to_string()
}
