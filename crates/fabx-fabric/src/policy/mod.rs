//! Policies as Fabric encodes them: signature policies from Fabric's policy language
//! (`OR('Org1MSP.peer', AND('Org2MSP.admin', 'Org3MSP.member'))`, `OutOf(2, ...)`) and
//! implicit-meta policies (`MAJORITY Admins`). Encoded exactly as Fabric's `policydsl`
//! does: one principal per occurrence, in order of appearance, never deduplicated.

pub mod collections;
pub mod endorsement;

use crate::protos::common::{
    implicit_meta_policy, msp_principal, msp_role, policy, signature_policy, ImplicitMetaPolicy,
    MspPrincipal, MspRole, Policy, SignaturePolicy, SignaturePolicyEnvelope,
};
use prost::Message;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy {rule:?}: {problem}")]
pub struct PolicyError {
    pub rule: String,
    pub problem: String,
}

/// A signature policy rule in Fabric's syntax, as a `Policy` of type SIGNATURE.
pub fn signature(rule: &str) -> Result<Policy, PolicyError> {
    Ok(Policy {
        r#type: policy::PolicyType::Signature as i32,
        value: signature_envelope(rule)?.encode_to_vec(),
    })
}

/// `ANY Readers`, `ALL Writers`, `MAJORITY Admins`, as a `Policy` of type IMPLICIT_META.
pub fn implicit_meta(rule: &str) -> Result<Policy, PolicyError> {
    let err = |problem: &str| PolicyError {
        rule: rule.to_string(),
        problem: problem.to_string(),
    };
    let mut words = rule.split_whitespace();
    let (Some(kind), Some(sub_policy), None) = (words.next(), words.next(), words.next()) else {
        return Err(err("expected '<ANY|ALL|MAJORITY> <policy name>'"));
    };
    let kind = match kind.to_ascii_uppercase().as_str() {
        "ANY" => implicit_meta_policy::Rule::Any,
        "ALL" => implicit_meta_policy::Rule::All,
        "MAJORITY" => implicit_meta_policy::Rule::Majority,
        _ => return Err(err("the rule must start with ANY, ALL or MAJORITY")),
    };
    let meta = ImplicitMetaPolicy {
        sub_policy: sub_policy.to_string(),
        rule: kind as i32,
    };
    Ok(Policy {
        r#type: policy::PolicyType::ImplicitMeta as i32,
        value: meta.encode_to_vec(),
    })
}

/// Parses a signature policy rule into Fabric's envelope.
pub fn signature_envelope(rule: &str) -> Result<SignaturePolicyEnvelope, PolicyError> {
    let err = |problem: String| PolicyError {
        rule: rule.to_string(),
        problem,
    };
    let mut parser = Parser {
        text: rule.as_bytes(),
        at: 0,
        identities: Vec::new(),
    };
    let expr = parser.expression().map_err(err)?;
    parser.skip_space();
    if parser.at != parser.text.len() {
        return Err(err(format!("unexpected text at offset {}", parser.at)));
    }
    let rule = match expr {
        // A bare principal is not a policy in Fabric's language.
        Expr::Principal(_) => {
            return Err(err(
                "wrap principals in OR(...), AND(...) or OutOf(n, ...)".into()
            ))
        }
        Expr::Policy(p) => p,
    };
    Ok(SignaturePolicyEnvelope {
        version: 0,
        rule: Some(rule),
        identities: parser.identities,
    })
}

enum Expr {
    Principal(i32),
    Policy(SignaturePolicy),
}

impl Expr {
    fn into_policy(self) -> SignaturePolicy {
        match self {
            Expr::Principal(index) => SignaturePolicy {
                r#type: Some(signature_policy::Type::SignedBy(index)),
            },
            Expr::Policy(p) => p,
        }
    }
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
    identities: Vec<MspPrincipal>,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self.text.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.text.get(self.at).copied()
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!("expected '{}' at offset {}", byte as char, self.at))
        }
    }

    fn word(&mut self) -> String {
        self.skip_space();
        let start = self.at;
        while self
            .text
            .get(self.at)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            self.at += 1;
        }
        String::from_utf8_lossy(&self.text[start..self.at]).into_owned()
    }

    fn expression(&mut self) -> Result<Expr, String> {
        match self.peek() {
            Some(quote @ (b'\'' | b'"')) => self.principal(quote),
            Some(_) => self.gate(),
            None => Err("empty rule".into()),
        }
    }

    fn gate(&mut self) -> Result<Expr, String> {
        let at = self.at;
        let name = self.word();
        let threshold = match name.to_ascii_lowercase().as_str() {
            "and" => None,
            "or" => Some(1),
            "outof" => Some(-1),
            "" => {
                return Err(format!(
                    "expected OR, AND, OutOf or a quoted principal at offset {at}"
                ))
            }
            other => return Err(format!("unknown function {other:?} (use OR, AND or OutOf)")),
        };
        self.expect(b'(')?;
        let threshold = if threshold == Some(-1) {
            let digits = self.word();
            let n: i32 = digits
                .parse()
                .map_err(|_| format!("OutOf needs a number first, found {digits:?}"))?;
            self.expect(b',')?;
            Some(n)
        } else {
            threshold
        };
        let mut rules = vec![self.expression()?.into_policy()];
        while self.peek() == Some(b',') {
            self.at += 1;
            rules.push(self.expression()?.into_policy());
        }
        self.expect(b')')?;
        let n = threshold.unwrap_or(rules.len() as i32);
        if n < 0 || n as usize > rules.len() + 1 {
            return Err(format!(
                "invalid t-out-of-n predicate, t {n}, n {}",
                rules.len()
            ));
        }
        Ok(Expr::Policy(SignaturePolicy {
            r#type: Some(signature_policy::Type::NOutOf(signature_policy::NOutOf {
                n,
                rules,
            })),
        }))
    }

    fn principal(&mut self, quote: u8) -> Result<Expr, String> {
        self.at += 1;
        let start = self.at;
        while self.text.get(self.at).is_some_and(|b| *b != quote) {
            self.at += 1;
        }
        if self.at == self.text.len() {
            return Err("unterminated principal".into());
        }
        let text = String::from_utf8_lossy(&self.text[start..self.at]).into_owned();
        self.at += 1;
        let (msp, role) = text
            .rsplit_once('.')
            .filter(|(msp, _)| !msp.is_empty())
            .ok_or_else(|| format!("principal {text:?} is not 'MSPID.role'"))?;
        let role = match role {
            "member" => msp_role::MspRoleType::Member,
            "admin" => msp_role::MspRoleType::Admin,
            "client" => msp_role::MspRoleType::Client,
            "peer" => msp_role::MspRoleType::Peer,
            "orderer" => msp_role::MspRoleType::Orderer,
            other => {
                return Err(format!(
                    "role {other:?} in {text:?} is not member, admin, client, peer or orderer"
                ))
            }
        };
        let principal = MspRole {
            msp_identifier: msp.to_string(),
            role: role as i32,
        };
        self.identities.push(MspPrincipal {
            principal_classification: msp_principal::Classification::Role as i32,
            principal: principal.encode_to_vec(),
        });
        Ok(Expr::Principal(self.identities.len() as i32 - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(p: &MspPrincipal) -> (String, i32) {
        let r = MspRole::decode(p.principal.as_slice()).unwrap();
        (r.msp_identifier, r.role)
    }

    #[test]
    fn or_of_roles_lists_each_principal_in_order() {
        let env =
            signature_envelope("OR('Org1MSP.admin', 'Org1MSP.peer', 'Org1MSP.client')").unwrap();
        let ids: Vec<_> = env.identities.iter().map(role).collect();
        assert_eq!(
            ids,
            [
                ("Org1MSP".into(), 1),
                ("Org1MSP".into(), 3),
                ("Org1MSP".into(), 2)
            ]
        );
        let Some(signature_policy::Type::NOutOf(n)) = env.rule.unwrap().r#type else {
            panic!("not n-out-of")
        };
        assert_eq!(n.n, 1);
        assert_eq!(n.rules.len(), 3);
    }

    #[test]
    fn nested_and_outof_and_duplicates() {
        let env = signature_envelope("OutOf(2, 'A.member', AND('B.peer', \"A.member\"))").unwrap();
        // Not deduplicated, as in Fabric's policydsl.
        assert_eq!(env.identities.len(), 3);
        let Some(signature_policy::Type::NOutOf(top)) = env.rule.unwrap().r#type else {
            panic!()
        };
        assert_eq!(top.n, 2);
        let Some(signature_policy::Type::NOutOf(inner)) = &top.rules[1].r#type else {
            panic!()
        };
        assert_eq!(inner.n, 2);
    }

    #[test]
    fn bad_rules_name_the_problem() {
        for (rule, problem) in [
            ("OR('Org1MSP.boss')", "role \"boss\""),
            ("XOR('A.member')", "unknown function"),
            ("OR('A.member'", "expected ')'"),
            ("'A.member'", "wrap principals"),
            ("OutOf(x, 'A.member')", "OutOf needs a number"),
            ("OR('A.member') extra", "unexpected text"),
        ] {
            let e = signature_envelope(rule).unwrap_err();
            assert!(e.to_string().contains(problem), "{rule}: {e}");
        }
        assert!(implicit_meta("MOST Admins").is_err());
        assert!(implicit_meta("ANY").is_err());
        assert!(implicit_meta("MAJORITY Admins").is_ok());
    }
}
