//! The objects of a network on a cluster, one file per kind: its namespace, a Service per
//! node, each workload's Secrets and ConfigMaps, and its StatefulSet or Deployment.

mod files;
mod namespace;
mod services;
mod workloads;

use super::names::labels_and_annotation;
use super::{LABEL_WORKLOAD, MANAGED_BY};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// How long a pod may take to stop; Fabric's processes stop at once on SIGTERM.
const GRACE_SECONDS: i64 = 2;
/// How long deleting the namespace (pods, volumes) may take.
const DELETE_TIMEOUT: Duration = Duration::from_secs(180);
/// Size asked for each node's ledger.
const LEDGER_SIZE: &str = "1Gi";
/// The container's name in every pod.
pub const CONTAINER: &str = "main";
/// Label with the workload's name as fabx gave it (a container name, dots and all).
const LABEL_CONTAINER: &str = "fabx.container";
/// Label on the Services that name the nodes (their cluster IPs go into hostAliases).
const LABEL_NODE_HOST: &str = "fabx.node-host";

fn meta(name: &str, labels: &HashMap<String, String>, workload: Option<&str>) -> ObjectMeta {
    let (mut selectable, annotations) = labels_and_annotation(labels);
    selectable.insert(MANAGED_BY.into(), "fabx".into());
    if let Some(w) = workload {
        selectable.insert(LABEL_WORKLOAD.into(), w.to_string());
    }
    ObjectMeta {
        name: Some(name.to_string()),
        labels: Some(selectable),
        annotations: Some(annotations),
        ..Default::default()
    }
}

fn selector_of(workload: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(LABEL_WORKLOAD.to_string(), workload.to_string())])
}
