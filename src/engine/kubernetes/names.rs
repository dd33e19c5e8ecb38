//! Kubernetes names and labels from fabx's names, and kube errors as one line.

use super::{KubeError, ANNOTATION_LABELS};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Longest object name fabx uses: a StatefulSet's pods carry a
/// `controller-revision-hash` label of its name plus 11 characters, at most 63.
const MAX_NAME: usize = 52;

/// A DNS-1123 label from a container or host name: lowercase, dots and underscores as
/// dashes; names too long keep a hash of the whole.
pub fn object_name(name: &str) -> String {
    let mut out: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    out = out.trim_matches('-').to_string();
    if out.len() > MAX_NAME {
        let hash = hex8(name);
        out.truncate(MAX_NAME - 9);
        out = format!("{}-{hash}", out.trim_end_matches('-'));
    }
    out
}

fn hex8(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..4])
}

/// Whether `value` may be a label value (63 characters of `[A-Za-z0-9._-]`, alphanumeric
/// at both ends).
pub fn label_value_ok(value: &str) -> bool {
    value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && value
            .chars()
            .next()
            .is_none_or(|c| c.is_ascii_alphanumeric())
        && value
            .chars()
            .last()
            .is_none_or(|c| c.is_ascii_alphanumeric())
}

/// The fabx labels to put on an object: those whose values are valid label values
/// (for selection), and all of them exactly in an annotation.
pub fn labels_and_annotation(
    labels: &HashMap<String, String>,
) -> (
    std::collections::BTreeMap<String, String>,
    std::collections::BTreeMap<String, String>,
) {
    let selectable = labels
        .iter()
        .filter(|(_, v)| label_value_ok(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let sorted: std::collections::BTreeMap<_, _> = labels.clone().into_iter().collect();
    let annotation = std::collections::BTreeMap::from([(
        ANNOTATION_LABELS.to_string(),
        serde_json::to_string(&sorted).expect("a map of strings serializes"),
    )]);
    (selectable, annotation)
}

/// The fabx labels of an object, exactly as written.
pub fn fabx_labels(meta: &ObjectMeta) -> HashMap<String, String> {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_LABELS))
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_else(|| {
            meta.labels
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect()
        })
}

/// Whether `labels` (exact values) carry every filter (`key=value` or `key`).
pub fn matches(labels: &HashMap<String, String>, filters: &[String]) -> bool {
    filters.iter().all(|f| match f.split_once('=') {
        Some((k, v)) => labels.get(k).map(String::as_str) == Some(v),
        None => labels.contains_key(f.as_str()),
    })
}

/// The label selector for the filters a label can express; the rest is checked with
/// [`matches`].
pub fn selector(filters: &[String]) -> String {
    let mut parts = vec![format!("{}=fabx", super::MANAGED_BY)];
    parts.extend(
        filters
            .iter()
            .filter(|f| f.split_once('=').is_none_or(|(_, v)| label_value_ok(v)))
            .cloned(),
    );
    parts.join(",")
}

/// `hyperledger/fabric-peer:2.5` and `docker.io/hyperledger/fabric-peer:2.5` alike.
pub fn normalize_image(image: &str) -> String {
    let (name, tag) = match image.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') => (n, t),
        _ => (image, "latest"),
    };
    let first = name.split('/').next().unwrap_or_default();
    let has_registry = name.contains('/') && (first.contains('.') || first.contains(':'));
    let name = match (has_registry, name.contains('/')) {
        (true, _) => name.to_string(),
        (false, true) => format!("docker.io/{name}"),
        (false, false) => format!("docker.io/library/{name}"),
    };
    format!("{name}:{tag}")
}

/// What a kube error says, without the Rust wrapping.
pub fn reason(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => status.message.clone(),
        other => {
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
        }
    }
}

/// A failed API call as one line; RBAC's refusal names the verb and resource.
pub fn api_error(
    namespace: &str,
    action: &str,
    resource: &str,
    object: &str,
    e: kube::Error,
) -> KubeError {
    if let kube::Error::Api(status) = &e {
        if status.code == 403 {
            return KubeError::Forbidden {
                verb: action.to_string(),
                resource: resource.to_string(),
                namespace: namespace.to_string(),
                message: status.message.clone(),
            };
        }
    }
    KubeError::Api {
        action: action.to_string(),
        object: object.to_string(),
        reason: reason(&e),
    }
}

/// Whether an error is the API's "not found".
pub fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

/// Whether an error is the API's "already exists".
pub fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_are_dns_labels() {
        assert_eq!(
            object_name("peer0.org1.example.com"),
            "peer0-org1-example-com"
        );
        assert_eq!(object_name("Fabx_Test.peer0"), "fabx-test-peer0");
        let long = "a-very-long-prefix-for-a-test-network-peer0.org1.example.com";
        let name = object_name(long);
        assert!(name.len() <= MAX_NAME, "{name}");
        assert_ne!(name, object_name(&long.replace("org1", "org2")));
    }

    #[test]
    fn label_values() {
        assert!(label_value_ok("peer0.org1.example.com"));
        assert!(!label_value_ok("/tmp/state"));
        assert!(!label_value_ok("examplecc_1.0:abc"));
        assert!(!label_value_ok(&"a".repeat(64)));
    }

    #[test]
    fn selectors_leave_unlabelable_values_to_the_client() {
        let filters = vec![
            "fabx.network=n1".to_string(),
            "fabx.package-id=cc_1.0:ab12".to_string(),
        ];
        assert_eq!(
            selector(&filters),
            "app.kubernetes.io/managed-by=fabx,fabx.network=n1"
        );
        let labels = HashMap::from([
            ("fabx.network".to_string(), "n1".to_string()),
            ("fabx.package-id".to_string(), "cc_1.0:ab12".to_string()),
        ]);
        assert!(matches(&labels, &filters));
        assert!(!matches(&labels, &["fabx.network=n2".to_string()]));
    }

    #[test]
    fn images_normalize_like_the_nodes_list_them() {
        assert_eq!(
            normalize_image("hyperledger/fabric-peer:2.5"),
            "docker.io/hyperledger/fabric-peer:2.5"
        );
        assert_eq!(
            normalize_image("busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(
            normalize_image("localhost:5000/cc:1"),
            "localhost:5000/cc:1"
        );
    }
}
