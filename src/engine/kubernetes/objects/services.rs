//! A Service per node, named after its host name, and the hostAliases made of them.

use super::super::names::{self, fabx_labels, object_name};
use super::super::KubeEngine;
use super::{meta, selector_of, LABEL_NODE_HOST};
use crate::engine::NodeService;
use crate::engine::Result;
use k8s_openapi::api::core::v1::{HostAlias, Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, ListParams, PostParams};
use std::collections::HashMap;

impl KubeEngine {
    /// One Service per node, named after its host name, before any pod exists: their
    /// cluster IPs go into every pod's hostAliases.
    pub(in crate::engine::kubernetes) async fn create_node_services(
        &self,
        nodes: &[NodeService],
    ) -> Result<()> {
        let creates = nodes.iter().map(|node| async move {
            let labels = HashMap::from([(LABEL_NODE_HOST.to_string(), node.host.clone())]);
            let (name, workload) = (object_name(&node.host), object_name(&node.workload));
            self.create_service(&name, &workload, &node.ports, labels)
                .await
        });
        futures_util::future::try_join_all(creates).await?;
        Ok(())
    }

    pub(super) async fn create_service(
        &self,
        name: &str,
        workload: &str,
        ports: &[u16],
        labels: HashMap<String, String>,
    ) -> Result<()> {
        let services: Api<Service> = Api::namespaced(self.client.clone(), &self.namespace);
        let service = Service {
            metadata: meta(name, &labels, Some(workload)),
            spec: Some(ServiceSpec {
                selector: Some(selector_of(workload)),
                ports: Some(
                    ports
                        .iter()
                        .map(|p| ServicePort {
                            name: Some(format!("p{p}")),
                            port: i32::from(*p),
                            target_port: Some(IntOrString::Int(i32::from(*p))),
                            ..Default::default()
                        })
                        .collect(),
                ),
                // Nodes are dialled while they start (no readiness probes).
                publish_not_ready_addresses: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        };
        crate::support::profile::timed(|| format!("create service {name}"), async {
            match services.create(&PostParams::default(), &service).await {
                Ok(_) => Ok(()),
                Err(e) if names::is_conflict(&e) => Ok(()),
                Err(e) => Err(self.fail("create", "services", name, e).into()),
            }
        })
        .await
    }

    /// Host name to cluster IP of every node Service.
    pub(super) async fn host_aliases(&self) -> Result<Vec<HostAlias>> {
        let services: Api<Service> = Api::namespaced(self.client.clone(), &self.namespace);
        let list = services
            .list(&ListParams::default().labels(LABEL_NODE_HOST))
            .await
            .map_err(|e| self.fail("list", "services", "services", e))?;
        let mut aliases: Vec<HostAlias> = list
            .items
            .iter()
            .filter_map(|s| {
                let host = fabx_labels(&s.metadata).get(LABEL_NODE_HOST)?.clone();
                let ip = s.spec.as_ref()?.cluster_ip.clone()?;
                Some(HostAlias {
                    hostnames: Some(vec![host]),
                    ip,
                })
            })
            .collect();
        aliases.sort_by(|a, b| a.hostnames.cmp(&b.hostnames));
        Ok(aliases)
    }
}
