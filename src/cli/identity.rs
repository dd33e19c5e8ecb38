//! `identity add ORG NAME [--attr K=V]... [--role client|admin]` and `identity list [ORG]`.

use super::output::Output;
use anyhow::Result;
use clap::{Subcommand, ValueEnum};
use fabx::network::identities::{parse_attribute, IdentityRole, OrgIdentity};
use fabx::Network;
use serde_json::json;

#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Sign a new user of an org with its CA, with Fabric CA attributes; invoke, query and
    /// env take it with --identity NAME
    Add {
        /// The org's MSP ID, e.g. Org1MSP
        org: String,
        /// The user's name (its enrollment ID)
        name: String,
        /// An attribute NAME=VALUE in the certificate, for chaincode's attribute checks
        /// (repeatable)
        #[arg(long = "attr", value_name = "NAME=VALUE")]
        attributes: Vec<String>,
        /// What the user may do: client (an application user) or admin (of its org)
        #[arg(long, value_enum, default_value = "client")]
        role: RoleArg,
    },
    /// List the users of one org, or of every org, with their roles and attributes
    List {
        /// The org's MSP ID (default: every org)
        org: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Client,
    Admin,
}

pub async fn run(network: &Network, command: IdentityCommand, output: &Output) -> Result<()> {
    match command {
        IdentityCommand::Add {
            org,
            name,
            attributes,
            role,
        } => {
            let attributes = attributes
                .iter()
                .map(|a| parse_attribute(a))
                .collect::<fabx::Result<Vec<_>>>()?;
            let role = match role {
                RoleArg::Client => IdentityRole::Client,
                RoleArg::Admin => IdentityRole::Admin,
            };
            let added = output.finish_steps(
                network
                    .add_identity(&org, &name, role, &attributes, output)
                    .await,
            )?;
            output.summary(
                &format!(
                    "identity {} of {} ({}) written to {}",
                    added.identity.name,
                    added.org,
                    added.identity.role,
                    added.identity.msp.display()
                ),
                json!({ "command": "identity add", "status": "ok", "identity": added }),
            );
        }
        IdentityCommand::List { org } => {
            let identities = network.identities(org.as_deref())?;
            if output.json() {
                println!("{}", serde_json::to_string(&identities)?);
            } else {
                print_table(&identities);
            }
        }
    }
    Ok(())
}

fn print_table(identities: &[OrgIdentity]) {
    println!("{:<10} {:<16} {:<7} ATTRIBUTES", "ORG", "NAME", "ROLE");
    for entry in identities {
        let attributes: Vec<String> = entry
            .identity
            .attributes
            .iter()
            .filter(|(name, _)| !name.starts_with("hf."))
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        println!(
            "{:<10} {:<16} {:<7} {}",
            entry.org,
            entry.identity.name,
            entry.identity.role,
            attributes.join(",")
        );
    }
}
