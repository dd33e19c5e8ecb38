//! A chaincode definition's endorsement policy: the channel's default, a signature
//! policy in Fabric's language, or a named channel config policy. Encoded as Fabric's
//! lifecycle stores it (the definition's `validation_parameter`, an `ApplicationPolicy`),
//! so fabx can tell whether a committed definition has it, and read it back into
//! Fabric's syntax when an invoke does not satisfy it.

use super::{signature_envelope, PolicyError};
use crate::protos::common::{
    application_policy, msp_principal, msp_role, signature_policy, ApplicationPolicy, MspRole,
    SignaturePolicy, SignaturePolicyEnvelope,
};
use prost::Message;

/// The channel policy a definition uses when it names none.
pub const DEFAULT_ENDORSEMENT: &str = "/Channel/Application/Endorsement";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum EndorsementPolicy {
    /// The channel's `Endorsement` policy (by default a majority of the channel's orgs).
    #[default]
    ChannelDefault,
    /// `AND('Org1MSP.peer','Org2MSP.peer')` and the like.
    Signature(String),
    /// A policy of the channel configuration, e.g. `/Channel/Application/Admins`.
    ChannelConfig(String),
}

impl EndorsementPolicy {
    /// Checks the policy: a signature policy must parse and name only `members` (a
    /// principal of an org outside the channel could never sign).
    pub fn check(&self, members: &[String]) -> Result<(), String> {
        match self {
            EndorsementPolicy::ChannelDefault => Ok(()),
            EndorsementPolicy::ChannelConfig(name) if name.trim().is_empty() => {
                Err("--channel-config-policy is empty".into())
            }
            EndorsementPolicy::ChannelConfig(_) => Ok(()),
            EndorsementPolicy::Signature(rule) => {
                let orgs = signature_policy_orgs(rule)?;
                match orgs.iter().find(|org| !members.contains(org)) {
                    Some(outside) => Err(format!(
                        "policy {rule:?} names {outside}, which is not on the channel (its orgs: {})",
                        members.join(", ")
                    )),
                    None => Ok(()),
                }
            }
        }
    }

    /// The `peer lifecycle chaincode` flags that give this policy.
    pub fn args(&self) -> Vec<String> {
        match self {
            EndorsementPolicy::ChannelDefault => vec![],
            EndorsementPolicy::Signature(rule) => {
                vec!["--signature-policy".into(), rule.clone()]
            }
            EndorsementPolicy::ChannelConfig(name) => {
                vec!["--channel-config-policy".into(), name.clone()]
            }
        }
    }

    /// The definition's `validation_parameter` as Fabric's lifecycle stores it.
    pub fn validation_parameter(&self) -> Result<Vec<u8>, PolicyError> {
        let policy = match self {
            EndorsementPolicy::ChannelDefault => {
                application_policy::Type::ChannelConfigPolicyReference(
                    DEFAULT_ENDORSEMENT.to_string(),
                )
            }
            EndorsementPolicy::ChannelConfig(name) => {
                application_policy::Type::ChannelConfigPolicyReference(name.clone())
            }
            EndorsementPolicy::Signature(rule) => {
                application_policy::Type::SignaturePolicy(signature_envelope(rule)?)
            }
        };
        #[allow(deprecated)]
        let encoded = ApplicationPolicy {
            r#type: Some(policy),
        }
        .encode_to_vec();
        Ok(encoded)
    }
}

/// A committed `validation_parameter` in Fabric's syntax: the signature policy
/// (`AND('Org1MSP.peer', 'Org2MSP.peer')`) or the channel policy's name. None if the
/// bytes are not an `ApplicationPolicy`.
pub fn describe_validation_parameter(bytes: &[u8]) -> Option<String> {
    #[allow(deprecated)]
    let policy = ApplicationPolicy::decode(bytes).ok()?;
    match policy.r#type? {
        application_policy::Type::ChannelConfigPolicyReference(name) => Some(name),
        application_policy::Type::SignaturePolicy(envelope) => describe_envelope(&envelope),
    }
}

/// A signature policy envelope in Fabric's language.
pub fn describe_envelope(envelope: &SignaturePolicyEnvelope) -> Option<String> {
    let names: Vec<String> = envelope
        .identities
        .iter()
        .map(|p| principal_name(p).unwrap_or_else(|| "'<unreadable principal>'".into()))
        .collect();
    describe_rule(envelope.rule.as_ref()?, &names)
}

fn describe_rule(rule: &SignaturePolicy, names: &[String]) -> Option<String> {
    match rule.r#type.as_ref()? {
        signature_policy::Type::SignedBy(index) => names.get(*index as usize).cloned(),
        signature_policy::Type::NOutOf(gate) => {
            let parts = gate
                .rules
                .iter()
                .map(|r| describe_rule(r, names))
                .collect::<Option<Vec<_>>>()?
                .join(", ");
            let n = gate.n as usize;
            Some(if n == 1 {
                format!("OR({parts})")
            } else if n == gate.rules.len() {
                format!("AND({parts})")
            } else {
                format!("OutOf({n}, {parts})")
            })
        }
    }
}

/// `'Org1MSP.peer'` for a role principal.
fn principal_name(principal: &crate::protos::common::MspPrincipal) -> Option<String> {
    let (msp, role) = role_of(principal)?;
    Some(format!("'{msp}.{role}'"))
}

fn role_of(principal: &crate::protos::common::MspPrincipal) -> Option<(String, String)> {
    if principal.principal_classification != msp_principal::Classification::Role as i32 {
        return None;
    }
    let role = MspRole::decode(principal.principal.as_slice()).ok()?;
    let name = match msp_role::MspRoleType::try_from(role.role).ok()? {
        msp_role::MspRoleType::Member => "member",
        msp_role::MspRoleType::Admin => "admin",
        msp_role::MspRoleType::Client => "client",
        msp_role::MspRoleType::Peer => "peer",
        msp_role::MspRoleType::Orderer => "orderer",
    };
    Some((role.msp_identifier, name.to_string()))
}

/// The MSP IDs a signature policy in Fabric's language names, in order, each once.
pub fn signature_policy_orgs(rule: &str) -> Result<Vec<String>, String> {
    let envelope = signature_envelope(rule).map_err(|e| e.to_string())?;
    let mut orgs: Vec<String> = Vec::new();
    for (msp_id, _) in envelope.identities.iter().filter_map(role_of) {
        if !orgs.contains(&msp_id) {
            orgs.push(msp_id);
        }
    }
    Ok(orgs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_policies_read_back_in_fabric_syntax() {
        for (rule, described) in [
            (
                "AND('Org1MSP.peer','Org2MSP.peer')",
                "AND('Org1MSP.peer', 'Org2MSP.peer')",
            ),
            ("OR('Org1MSP.peer')", "OR('Org1MSP.peer')"),
            (
                "OutOf(2, 'A.member', 'B.admin', OR('C.client', 'C.peer'))",
                "OutOf(2, 'A.member', 'B.admin', OR('C.client', 'C.peer'))",
            ),
        ] {
            let policy = EndorsementPolicy::Signature(rule.into());
            let bytes = policy.validation_parameter().unwrap();
            assert_eq!(
                describe_validation_parameter(&bytes).as_deref(),
                Some(described)
            );
        }
        let default = EndorsementPolicy::ChannelDefault
            .validation_parameter()
            .unwrap();
        assert_eq!(
            describe_validation_parameter(&default).as_deref(),
            Some(DEFAULT_ENDORSEMENT)
        );
        assert_eq!(describe_validation_parameter(b"\xff\xff"), None);
    }

    #[test]
    fn a_signature_policy_names_only_channel_orgs() {
        let members = ["Org1MSP".to_string(), "Org2MSP".to_string()];
        let ok = EndorsementPolicy::Signature("AND('Org1MSP.peer','Org2MSP.peer')".into());
        assert_eq!(ok.check(&members), Ok(()));
        let outside = EndorsementPolicy::Signature("OR('Org3MSP.peer')".into());
        let err = outside.check(&members).unwrap_err();
        assert!(
            err.contains("names Org3MSP, which is not on the channel"),
            "{err}"
        );
        let broken = EndorsementPolicy::Signature("AND('Org1MSP.peer'".into());
        assert!(broken.check(&members).is_err());
        assert_eq!(
            EndorsementPolicy::ChannelConfig("/Channel/Application/Admins".into()).args(),
            ["--channel-config-policy", "/Channel/Application/Admins"]
        );
    }
}
