//! Reading what the peer CLI prints: never guessed at; what cannot be read is None, and
//! the caller shows the output.

/// What is committed on the channel for a chaincode name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub sequence: u64,
    pub version: String,
    pub init_required: bool,
    /// The endorsement policy as Fabric stores it (an encoded `ApplicationPolicy`).
    pub validation_parameter: Vec<u8>,
    pub has_collections: bool,
}

/// What a peer's refusal of a chaincode proposal means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChaincodeFailure {
    /// The peer cannot reach the chaincode's server; `cause` is the dial's error.
    Unreachable { cause: String },
    /// The chaincode answered with an error; `message` is its own.
    Failed { message: String },
}

/// The package ID from `peer lifecycle chaincode install` output: a fresh install logs
/// it, a repeated one names it in the error.
pub fn installed_package_id(stderr: &str) -> Option<String> {
    if let Some((_, rest)) = stderr.split_once("Chaincode code package identifier: ") {
        return rest.split_whitespace().next().map(String::from);
    }
    let (_, rest) = stderr.split_once("already successfully installed (package ID '")?;
    rest.split_once('\'').map(|(id, _)| id.to_string())
}

/// Reads a peer's endorsement failure (as the CLI prints it, or as a proposal response
/// carries it): the chaincode's own message, or that its server cannot be reached.
pub fn chaincode_failure(line: &str) -> ChaincodeFailure {
    if line.contains("could not launch chaincode") {
        let cause = line
            .rsplit_once("desc = ")
            .map(|(_, c)| c.trim_matches(|c| c == '"' || c == '\\'))
            .unwrap_or(line);
        return ChaincodeFailure::Unreachable {
            cause: cause.to_string(),
        };
    }
    let message = line
        .split_once("message:")
        .map(|(_, m)| unquote(m.trim()))
        .unwrap_or_else(|| line.trim_start_matches("Error: ").to_string());
    ChaincodeFailure::Failed { message }
}

/// Reads a protobuf text-format string (`"..."` with C escapes) at the start of `text`.
pub fn unquote(text: &str) -> String {
    let Some(body) = text.strip_prefix('"') else {
        return text.to_string();
    };
    let mut bytes = Vec::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some('n') => bytes.push(b'\n'),
                Some('t') => bytes.push(b'\t'),
                Some('r') => bytes.push(b'\r'),
                Some(d @ '0'..='7') => {
                    let mut value = d.to_digit(8).unwrap_or(0);
                    for _ in 0..2 {
                        let rest = chars.as_str();
                        match rest.chars().next().and_then(|c| c.to_digit(8)) {
                            Some(v) => {
                                value = value * 8 + v;
                                chars.next();
                            }
                            None => break,
                        }
                    }
                    bytes.push(value as u8);
                }
                Some(other) => {
                    let mut buf = [0; 4];
                    bytes.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
                }
                None => break,
            },
            other => {
                let mut buf = [0; 4];
                bytes.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `querycommitted -O json`: sequence, version, init_required.
pub fn parse_committed(stdout: &str) -> Option<Committed> {
    committed_from_json(&serde_json::from_str(stdout).ok()?)
}

/// One committed definition as the peer's JSON gives it (alone, or in a channel's list).
pub fn committed_from_json(json: &serde_json::Value) -> Option<Committed> {
    Some(Committed {
        sequence: json["sequence"].as_u64()?,
        version: json["version"].as_str()?.to_string(),
        // Fabric leaves false fields out of its JSON.
        init_required: match &json["init_required"] {
            serde_json::Value::Null => false,
            value => value.as_bool()?,
        },
        validation_parameter: match &json["validation_parameter"] {
            serde_json::Value::Null => Vec::new(),
            value => {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD
                    .decode(value.as_str()?)
                    .ok()?
            }
        },
        has_collections: json["collections"]["config"]
            .as_array()
            .is_some_and(|c| !c.is_empty()),
    })
}

/// `queryapproved -O json`: the approved package ID, or Some(None) when the definition
/// was approved with no package (`Unavailable`); None when the output is not that.
pub fn parse_approved_package(stdout: &str) -> Option<Option<String>> {
    let json: serde_json::Value = serde_json::from_str(stdout).ok()?;
    let source = &json["source"]["Type"];
    if source.get("Unavailable").is_some() {
        return Some(None);
    }
    source["LocalPackage"]["package_id"]
        .as_str()
        .map(|id| Some(id.to_string()))
}

/// `checkcommitreadiness -O json`: each org's approval.
pub fn parse_approvals(stdout: &str) -> Option<std::collections::BTreeMap<String, bool>> {
    let json: serde_json::Value = serde_json::from_str(stdout).ok()?;
    json["approvals"]
        .as_object()?
        .iter()
        .map(|(org, approved)| Some((org.clone(), approved.as_bool()?)))
        .collect()
}
