//! `fabx identity`: users of an org beyond `Admin` and `User1`, signed in process by the
//! org's CA with Fabric CA's attributes; and which identity a call acts as.

use super::lock::{StateLock, LOCK_WAIT};
use super::Network;
use crate::artifacts::crypto::Role;
use crate::artifacts::identities::{self, Identity, RESERVED_ATTRIBUTES};
use crate::network::error::{Error, Result};
use crate::support::reporter::Reporter;
use crate::topology::{Node, NodeKind, PeerOrg};
use fabx_fabric::ClientIdentity;
use std::collections::BTreeMap;

/// What an added identity may do: a NodeOU of its certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdentityRole {
    /// An application user (NodeOU `client`).
    #[default]
    Client,
    /// An admin of its org (NodeOU `admin`): it may approve chaincode, for one.
    Admin,
}

/// An org's identity, with the org's MSP ID.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OrgIdentity {
    pub org: String,
    #[serde(flatten)]
    pub identity: Identity,
}

impl Network {
    /// Makes user `name` of org `msp_id` with `attributes` in Fabric CA's extension and
    /// writes it beside the org's other users: registered and enrolled through the org's
    /// Fabric CA server when it runs one, else signed in process by the org's CA.
    pub async fn add_identity(
        &self,
        msp_id: &str,
        name: &str,
        role: IdentityRole,
        attributes: &[(String, String)],
        reporter: &dyn Reporter,
    ) -> Result<OrgIdentity> {
        let org = self.peer_org(msp_id)?;
        check_name(name)?;
        let attributes = check_attributes(attributes)?;
        // Checked before the lock, which would create the state directory.
        let ca = self.layout.org_dir(NodeKind::Peer, &org.domain).join("ca");
        if !ca.is_dir() {
            return Err(Error::NotUp {
                network: self.topology.network.clone(),
            });
        }
        let _lock =
            StateLock::acquire(self.layout.root(), "identity add", LOCK_WAIT, reporter).await?;
        if self
            .layout
            .user_dir(NodeKind::Peer, &org.domain, name)
            .exists()
        {
            return Err(Error::BadInput {
                problem: format!("{msp_id} already has an identity named {name}"),
                fix: format!(
                    "pick another name (`fabx identity list {msp_id}` shows the names taken)"
                ),
            });
        }
        let role = match role {
            IdentityRole::Client => Role::Client,
            IdentityRole::Admin => Role::Admin,
        };
        match self.topology.ca_of(msp_id) {
            None => {
                identities::add(&self.layout, &org.domain, name, role, &attributes)?;
            }
            Some(ca) => {
                // Staged and renamed, as in process: a failure leaves no half-made user.
                let dir = self.layout.user_dir(NodeKind::Peer, &org.domain, name);
                let staging = identities::begin_staging(&dir);
                let enrolled = self
                    .enroll_through_ca(&ca, name, role, &attributes, &staging)
                    .await;
                identities::finish_staging(&staging, &dir, enrolled)?;
            }
        }
        let identity = identities::read_user(&self.layout, &org.domain, name)?;
        Ok(OrgIdentity {
            org: msp_id.to_string(),
            identity,
        })
    }

    /// The identities of org `msp_id`, or of every peer org.
    pub fn identities(&self, msp_id: Option<&str>) -> Result<Vec<OrgIdentity>> {
        let orgs: Vec<&PeerOrg> = match msp_id {
            Some(msp_id) => vec![self.peer_org(msp_id)?],
            None => self.topology.orgs.iter().collect(),
        };
        let mut all = Vec::new();
        for org in orgs {
            if !self.layout.org_dir(NodeKind::Peer, &org.domain).is_dir() {
                return Err(Error::NotUp {
                    network: self.topology.network.clone(),
                });
            }
            for identity in identities::list(&self.layout, &org.domain)? {
                all.push(OrgIdentity {
                    org: org.msp_id.clone(),
                    identity,
                });
            }
        }
        Ok(all)
    }

    /// Who a call to or through `node` acts as: user `name` of its org, or its admin.
    pub(super) fn signer(&self, node: &Node, name: Option<&str>) -> Result<ClientIdentity> {
        let Some(name) = name else {
            return self.admin_identity(node);
        };
        let dir = self.layout.user_dir(node.kind, &node.domain, name);
        if !dir.is_dir() {
            return Err(Error::BadInput {
                problem: format!("{} has no identity named {name}", node.msp_id),
                fix: format!(
                    "`fabx identity add {} {name}` makes one (an identity acts for the org of the peer it goes through)",
                    node.msp_id
                ),
            });
        }
        Ok(ClientIdentity::from_user_dir(&node.msp_id, &dir)?)
    }

    fn peer_org(&self, msp_id: &str) -> Result<&PeerOrg> {
        self.topology.org(msp_id).ok_or_else(|| Error::UnknownOrg {
            msp_id: msp_id.to_string(),
            known: self.topology.msp_ids().join(", "),
        })
    }
}

/// A name Fabric CA would take as an enrollment ID and fabx as a directory name.
fn check_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    match valid {
        true => Ok(()),
        false => Err(Error::BadInput {
            problem: format!("{name:?} cannot name an identity"),
            fix: "use up to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
                .into(),
        }),
    }
}

/// Attributes as the certificate will hold them: names unique, not Fabric CA's own.
fn check_attributes(attributes: &[(String, String)]) -> Result<BTreeMap<String, String>> {
    let mut checked = BTreeMap::new();
    for (name, value) in attributes {
        if RESERVED_ATTRIBUTES.contains(&name.as_str()) {
            return Err(Error::BadInput {
                problem: format!("attribute {name} is set by the CA itself"),
                fix: "leave it out; fabx writes hf.EnrollmentID, hf.Type and hf.Affiliation".into(),
            });
        }
        if checked.insert(name.clone(), value.clone()).is_some() {
            return Err(Error::BadInput {
                problem: format!("attribute {name} is given twice"),
                fix: "give each --attr name once".into(),
            });
        }
    }
    Ok(checked)
}

/// `NAME=VALUE` of `--attr`.
pub fn parse_attribute(text: &str) -> Result<(String, String)> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() && name.trim() == name => {
            Ok((name.to_string(), value.to_string()))
        }
        _ => Err(Error::BadInput {
            problem: format!("--attr {text:?} is not NAME=VALUE"),
            fix: "give NAME=VALUE, e.g. --attr role=auditor".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_attributes_are_checked() {
        assert!(check_name("auditor1").is_ok());
        assert!(check_name("a.b_c-d").is_ok());
        for bad in ["", "-x", "a/b", "a b", "../x", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_attribute("role=auditor").unwrap(),
            ("role".to_string(), "auditor".to_string())
        );
        assert_eq!(parse_attribute("empty=").unwrap().1, "");
        let error = parse_attribute("role").unwrap_err().to_string();
        assert_eq!(
            error,
            "--attr \"role\" is not NAME=VALUE; give NAME=VALUE, e.g. --attr role=auditor"
        );
        assert!(parse_attribute("=x").is_err());
        let twice = [
            ("a".to_string(), "1".to_string()),
            ("a".to_string(), "2".to_string()),
        ];
        assert!(check_attributes(&twice).is_err());
        let reserved = [("hf.Type".to_string(), "admin".to_string())];
        assert!(check_attributes(&reserved)
            .unwrap_err()
            .to_string()
            .contains("set by the CA itself"));
    }
}
