//! Private data collections: Fabric's collection configuration JSON (what
//! `peer lifecycle chaincode approveformyorg --collections-config` reads), checked before
//! anything is sent so that a mistake is one line naming the collection and the field.
//!
//! Field names are matched as Go's JSON decoder does (case-insensitively); unknown fields
//! are errors here (Go would ignore a misspelt `memberOnlyRead` silently).

use super::endorsement::signature_policy_orgs;
use serde_json::Value;
use std::collections::HashSet;

/// One checked collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub name: String,
    /// Who holds the data: a signature policy over the channel's orgs.
    pub policy: String,
    /// MSP IDs the policy names.
    pub member_orgs: Vec<String>,
}

/// The collections of a `--collections-config` file: its text (sent to the peers as it
/// is) and what fabx checked in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionsConfig {
    pub json: String,
    pub collections: Vec<Collection>,
}

const FIELDS: [&str; 8] = [
    "name",
    "policy",
    "requiredPeerCount",
    "maxPeerCount",
    "blockToLive",
    "memberOnlyRead",
    "memberOnlyWrite",
    "endorsementPolicy",
];

/// Parses and checks collection JSON for a channel whose orgs are `members`. The error
/// names the collection (or its index) and the field.
pub fn parse(json: &str, members: &[String]) -> Result<CollectionsConfig, String> {
    let value: Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Array(items) = value else {
        return Err(
            "expected a JSON array of collections, [{\"name\": ..., \"policy\": ...}]".into(),
        );
    };
    if items.is_empty() {
        return Err("the array holds no collection".into());
    }
    let mut names = HashSet::new();
    let mut collections = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Value::Object(fields) = item else {
            return Err(format!("collection [{i}]: not a JSON object"));
        };
        let get = |field: &str| {
            fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(field))
                .map(|(_, v)| v)
        };
        let name = match get("name") {
            Some(Value::String(n)) => n.clone(),
            Some(_) => return Err(format!("collection [{i}]: name: not a string")),
            None => return Err(format!("collection [{i}]: name: missing")),
        };
        let at = |field: &str, problem: String| format!("collection {name:?}: {field}: {problem}");
        if let Some(unknown) = fields
            .keys()
            .find(|k| !FIELDS.iter().any(|f| f.eq_ignore_ascii_case(k)))
        {
            return Err(at(
                unknown,
                format!("unknown field (known: {})", FIELDS.join(", ")),
            ));
        }
        // Fabric's rule for collection names.
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            || name.starts_with('_')
        {
            return Err(at(
                "name",
                "use letters, digits, '-' and '_', not starting with '_'".into(),
            ));
        }
        if !names.insert(name.clone()) {
            return Err(at("name", "listed twice".into()));
        }
        let policy =
            match get("policy") {
                Some(Value::String(p)) => p.clone(),
                _ => return Err(at(
                    "policy",
                    "missing or not a string; give e.g. \"OR('Org1MSP.member','Org2MSP.member')\""
                        .into(),
                )),
            };
        let member_orgs = signature_policy_orgs(&policy).map_err(|e| at("policy", e))?;
        if let Some(outside) = member_orgs.iter().find(|m| !members.contains(m)) {
            return Err(at(
                "policy",
                format!(
                    "names {outside}, which is not on the channel (its orgs: {})",
                    members.join(", ")
                ),
            ));
        }
        let count = |field: &str| -> Result<i64, String> {
            match get(field) {
                Some(v) => v
                    .as_i64()
                    .filter(|n| *n >= 0 && *n <= i64::from(i32::MAX))
                    .ok_or_else(|| at(field, format!("{v} is not a count of 0 or more"))),
                None => Err(at(field, "missing (Fabric requires it)".into())),
            }
        };
        let required = count("requiredPeerCount")?;
        let max = count("maxPeerCount")?;
        if max < required {
            return Err(at(
                "maxPeerCount",
                format!("{max} is below requiredPeerCount {required}"),
            ));
        }
        if let Some(v) = get("blockToLive") {
            if v.as_u64().is_none() {
                return Err(at(
                    "blockToLive",
                    format!("{v} is not a block count of 0 or more"),
                ));
            }
        }
        for field in ["memberOnlyRead", "memberOnlyWrite"] {
            if let Some(v) = get(field) {
                if !v.is_boolean() {
                    return Err(at(field, format!("{v} is not true or false")));
                }
            }
        }
        if let Some(v) = get("endorsementPolicy") {
            check_endorsement(v, members).map_err(|e| at("endorsementPolicy", e))?;
        }
        collections.push(Collection {
            name,
            policy,
            member_orgs,
        });
    }
    Ok(CollectionsConfig {
        json: json.to_string(),
        collections,
    })
}

fn check_endorsement(value: &Value, members: &[String]) -> Result<(), String> {
    let Value::Object(fields) = value else {
        return Err("expected {\"signaturePolicy\": ...} or {\"channelConfigPolicy\": ...}".into());
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    match (field("signaturePolicy"), field("channelConfigPolicy")) {
        (Some(Value::String(rule)), None) => {
            let orgs = signature_policy_orgs(rule)?;
            match orgs.iter().find(|o| !members.contains(o)) {
                Some(outside) => Err(format!(
                    "signaturePolicy names {outside}, not on the channel"
                )),
                None => Ok(()),
            }
        }
        (None, Some(Value::String(name))) if !name.is_empty() => Ok(()),
        _ => Err("give exactly one of signaturePolicy or channelConfigPolicy, as a string".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members() -> Vec<String> {
        vec!["Org1MSP".into(), "Org2MSP".into()]
    }

    #[test]
    fn a_fabric_samples_collection_is_accepted() {
        let json = r#"[{"name":"c12","policy":"OR('Org1MSP.member','Org2MSP.member')",
            "requiredPeerCount":0,"maxPeerCount":1,"blockToLive":0,
            "memberOnlyRead":true,"memberOnlyWrite":true,
            "endorsementPolicy":{"signaturePolicy":"OR('Org1MSP.peer')"}}]"#;
        let config = parse(json, &members()).unwrap();
        assert_eq!(config.collections[0].name, "c12");
        assert_eq!(config.collections[0].member_orgs, members());
        assert_eq!(config.json, json);
    }

    #[test]
    fn errors_name_the_collection_and_the_field() {
        let base = |extra: &str| {
            format!(
                r#"[{{"name":"c1","policy":"OR('Org1MSP.member')","requiredPeerCount":0,"maxPeerCount":1{extra}}}]"#
            )
        };
        for (json, expected) in [
            (base(r#","memberOnlyReed":true"#), "collection \"c1\": memberOnlyReed: unknown field"),
            (base(r#","blockToLive":-1"#), "collection \"c1\": blockToLive"),
            (base(r#","memberOnlyRead":"yes""#), "collection \"c1\": memberOnlyRead"),
            (
                r#"[{"name":"c1","policy":"OR('Org3MSP.member')","requiredPeerCount":0,"maxPeerCount":1}]"#.into(),
                "collection \"c1\": policy: names Org3MSP, which is not on the channel",
            ),
            (
                r#"[{"name":"c1","policy":"OR('Org1MSP.member')","requiredPeerCount":2,"maxPeerCount":1}]"#.into(),
                "collection \"c1\": maxPeerCount: 1 is below requiredPeerCount 2",
            ),
            (
                r#"[{"name":"c1","policy":"OR('Org1MSP.member')","maxPeerCount":1}]"#.into(),
                "collection \"c1\": requiredPeerCount: missing",
            ),
            (
                r#"[{"name":"c1","policy":"OR('Org1MSP.member'","requiredPeerCount":0,"maxPeerCount":1}]"#.into(),
                "collection \"c1\": policy:",
            ),
            (base("").replace("]", &format!(",{}]", &base("")[1..base("").len() - 1])), "collection \"c1\": name: listed twice"),
            (r#"[{"policy":"OR('Org1MSP.member')"}]"#.into(), "collection [0]: name: missing"),
            (r#"{"name":"c1"}"#.into(), "expected a JSON array"),
            (base(r#","endorsementPolicy":{}"#), "collection \"c1\": endorsementPolicy: give exactly one"),
        ] {
            let err = parse(&json, &members()).unwrap_err();
            assert!(err.starts_with(expected), "{json}: {err}");
        }
    }
}
