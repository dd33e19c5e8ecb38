//! Building a key's endorsement policy (Go's `pkg/statebased`): a set of orgs that must
//! all endorse a change, each as a `PEER` or `MEMBER` of its MSP, written as the
//! `common.SignaturePolicyEnvelope` Fabric validates against.

use std::collections::BTreeMap;

use prost::Message;

use crate::proto::common::{signature_policy, SignaturePolicy, SignaturePolicyEnvelope};
use crate::proto::msp::{msp_principal, msp_role, MspPrincipal, MspRole};
use crate::ShimError;

/// Which identities of an org may endorse (Go's `statebased.RoleType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleType {
    /// Any member of the org.
    Member,
    /// A peer of the org.
    Peer,
}

impl RoleType {
    fn proto(self) -> msp_role::MspRoleType {
        match self {
            RoleType::Member => msp_role::MspRoleType::Member,
            RoleType::Peer => msp_role::MspRoleType::Peer,
        }
    }
}

/// A key-level endorsement policy: every org in it must endorse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyEndorsementPolicy {
    orgs: BTreeMap<String, msp_role::MspRoleType>,
}

impl KeyEndorsementPolicy {
    /// Reads a policy from a key's validation parameter (empty: no orgs yet).
    pub fn new(policy: &[u8]) -> Result<Self, ShimError> {
        let envelope =
            SignaturePolicyEnvelope::decode(policy).map_err(|source| ShimError::Decode {
                what: "the key's SignaturePolicyEnvelope",
                source,
            })?;
        let mut orgs = BTreeMap::new();
        for identity in envelope.identities {
            if identity.principal_classification() != msp_principal::Classification::Role {
                return Err(ShimError::InvalidArgument(format!(
                    "invalid principal type {}",
                    identity.principal_classification
                )));
            }
            let role = MspRole::decode(identity.principal.as_slice()).map_err(|source| {
                ShimError::Decode {
                    what: "an MSPRole of the key's policy",
                    source,
                }
            })?;
            orgs.insert(role.msp_identifier.clone(), role.role());
        }
        Ok(KeyEndorsementPolicy { orgs })
    }

    /// Requires an endorsement of each of `msp_ids` in the role `role`.
    pub fn add_orgs(&mut self, role: RoleType, msp_ids: &[&str]) {
        for msp_id in msp_ids {
            self.orgs.insert(msp_id.to_string(), role.proto());
        }
    }

    /// No longer requires an endorsement of `msp_ids`.
    pub fn del_orgs(&mut self, msp_ids: &[&str]) {
        for msp_id in msp_ids {
            self.orgs.remove(*msp_id);
        }
    }

    /// The orgs that must endorse, sorted.
    pub fn list_orgs(&self) -> Vec<String> {
        self.orgs.keys().cloned().collect()
    }

    /// The policy as Go writes it: an N-out-of-N over the orgs in MSP ID order.
    pub fn policy(&self) -> Vec<u8> {
        let identities = self
            .orgs
            .iter()
            .map(|(msp_id, role)| MspPrincipal {
                principal_classification: msp_principal::Classification::Role as i32,
                principal: MspRole {
                    msp_identifier: msp_id.clone(),
                    role: *role as i32,
                }
                .encode_to_vec(),
            })
            .collect::<Vec<_>>();
        let rules = (0..identities.len())
            .map(|index| SignaturePolicy {
                r#type: Some(signature_policy::Type::SignedBy(index as i32)),
            })
            .collect::<Vec<_>>();
        SignaturePolicyEnvelope {
            version: 0,
            rule: Some(SignaturePolicy {
                r#type: Some(signature_policy::Type::NOutOf(signature_policy::NOutOf {
                    n: rules.len() as i32,
                    rules,
                })),
            }),
            identities,
        }
        .encode_to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_reads_back_with_its_orgs() {
        let mut policy = KeyEndorsementPolicy::new(&[]).unwrap();
        assert!(policy.list_orgs().is_empty());
        policy.add_orgs(RoleType::Peer, &["Org2MSP", "Org1MSP"]);
        policy.add_orgs(RoleType::Member, &["Org3MSP"]);
        policy.del_orgs(&["Org3MSP"]);
        let bytes = policy.policy();
        let read = KeyEndorsementPolicy::new(&bytes).unwrap();
        assert_eq!(read.list_orgs(), ["Org1MSP", "Org2MSP"]);
        assert_eq!(read, policy);

        let envelope = SignaturePolicyEnvelope::decode(bytes.as_slice()).unwrap();
        let Some(signature_policy::Type::NOutOf(all)) = envelope.rule.unwrap().r#type else {
            panic!("not an n-out-of");
        };
        assert_eq!(all.n, 2);
        assert_eq!(all.rules.len(), 2);
        let first = MspRole::decode(envelope.identities[0].principal.as_slice()).unwrap();
        assert_eq!(first.msp_identifier, "Org1MSP");
        assert_eq!(first.role(), msp_role::MspRoleType::Peer);
    }

    #[test]
    fn a_principal_that_is_not_a_role_is_refused() {
        let envelope = SignaturePolicyEnvelope {
            identities: vec![MspPrincipal {
                principal_classification: msp_principal::Classification::Identity as i32,
                principal: b"cert".to_vec(),
            }],
            ..Default::default()
        };
        let error = KeyEndorsementPolicy::new(&envelope.encode_to_vec()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid argument: invalid principal type 2"
        );
    }
}
