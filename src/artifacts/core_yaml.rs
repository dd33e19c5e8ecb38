//! The peer's core.yaml and the external builder it points at.
//!
//! core.yaml is taken from the peer image itself (so 2.5 and 3.x each get their own) and
//! patched: our builder goes first in `chaincode.externalBuilders`, the image's own
//! builders stay after it.

use crate::artifacts::layout::container;
use serde_norway::{Mapping, Value};

/// Name of our builder in core.yaml.
pub const BUILDER_NAME: &str = "fabx-ccaas";

/// The builder scripts, embedded so the binary works from any directory.
pub const BUILDER_SCRIPTS: [(&str, &str); 3] = [
    ("detect", include_str!("../../builders/bin/detect")),
    ("build", include_str!("../../builders/bin/build")),
    ("release", include_str!("../../builders/bin/release")),
];

/// Where core.yaml sits in the official peer image.
pub const IMAGE_CORE_YAML: &str = "/etc/hyperledger/fabric/core.yaml";

#[derive(Debug, thiserror::Error)]
#[error("the peer image's core.yaml {0} (is the peer image a Fabric peer?)")]
pub struct CoreYamlError(String);

/// Returns core.yaml with our builder first in `chaincode.externalBuilders`.
pub fn patch_core_yaml(original: &str) -> Result<String, CoreYamlError> {
    let mut doc: Value = serde_norway::from_str(original)
        .map_err(|e| CoreYamlError(format!("cannot be parsed: {e}")))?;
    let chaincode = doc
        .get_mut("chaincode")
        .and_then(Value::as_mapping_mut)
        .ok_or_else(|| CoreYamlError("has no chaincode section".into()))?;
    let mut ours = Mapping::new();
    ours.insert("name".into(), BUILDER_NAME.into());
    ours.insert("path".into(), container::BUILDERS.into());
    ours.insert(
        "propagateEnvironment".into(),
        Value::Sequence(vec!["CORE_PEER_LOCALMSPID".into()]),
    );
    let mut builders = vec![Value::Mapping(ours)];
    if let Some(Value::Sequence(existing)) = chaincode.get("externalBuilders") {
        builders.extend(
            existing
                .iter()
                .filter(|b| b.get("name").and_then(Value::as_str) != Some(BUILDER_NAME))
                .cloned(),
        );
    }
    chaincode.insert("externalBuilders".into(), Value::Sequence(builders));
    serde_norway::to_string(&doc).map_err(|e| CoreYamlError(format!("cannot be written: {e}")))
}
