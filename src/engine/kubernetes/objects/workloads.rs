//! Workloads: a StatefulSet (with its ledger's claim) or a Deployment per node or
//! chaincode server, their pods, and the default StorageClass they use.

use super::super::names::{self, fabx_labels, object_name};
use super::super::{KubeEngine, KubeError, ANNOTATION_STORAGE, LABEL_WORKLOAD, MANAGED_BY};
use super::{
    meta, selector_of, CONTAINER, DELETE_TIMEOUT, GRACE_SECONDS, LABEL_CONTAINER, LABEL_NODE_HOST,
    LEDGER_SIZE,
};
use crate::engine::spec::{LABEL_ROLE, ROLE_CHAINCODE};
use crate::engine::Result;
use crate::engine::{Workload, WorkloadSpec};
use crate::support::retry::{poll_until, Backoff, Poll};
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, StatefulSet, StatefulSetSpec,
};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, Pod, PodSpec, PodTemplateSpec, Secret, Service, Volume, VolumeMount,
    VolumeResourceRequirements,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use std::collections::{BTreeMap, HashMap};

impl KubeEngine {
    /// The pod template of a workload.
    pub(super) async fn pod_template(
        &self,
        workload: &str,
        spec: &WorkloadSpec,
        grace: i64,
    ) -> Result<(PodTemplateSpec, Option<String>)> {
        let (mut volumes, mut mounts) = self.config_volumes(workload, spec).await?;
        let mut storage = None;
        if let Some(dir) = &spec.data_dir {
            let class = self.default_storage_class().await?;
            if class.is_none() {
                volumes.push(Volume {
                    name: "data".into(),
                    empty_dir: Some(EmptyDirVolumeSource::default()),
                    ..Default::default()
                });
            }
            storage = Some(class.map_or("emptyDir".to_string(), |c| format!("pvc:{c}")));
            mounts.push(VolumeMount {
                name: "data".into(),
                mount_path: dir.clone(),
                ..Default::default()
            });
        }
        let env = spec
            .env
            .iter()
            .map(|e| {
                let (name, value) = e.split_once('=').unwrap_or((e, ""));
                EnvVar {
                    name: name.to_string(),
                    value: Some(value.to_string()),
                    ..Default::default()
                }
            })
            .collect();
        let container = Container {
            name: CONTAINER.into(),
            image: Some(spec.image.clone()),
            image_pull_policy: Some("IfNotPresent".into()),
            args: spec.cmd.clone(),
            env: Some(env),
            working_dir: spec.working_dir.clone(),
            ports: Some(
                spec.ports
                    .iter()
                    .map(|p| ContainerPort {
                        container_port: i32::from(*p),
                        ..Default::default()
                    })
                    .collect(),
            ),
            volume_mounts: Some(mounts),
            ..Default::default()
        };
        let mut labels = meta(workload, &spec.labels, Some(workload));
        labels.name = None;
        let template = PodTemplateSpec {
            metadata: Some(labels),
            spec: Some(PodSpec {
                containers: vec![container],
                volumes: Some(volumes),
                host_aliases: Some(self.host_aliases().await?),
                termination_grace_period_seconds: Some(grace),
                // No Kubernetes API token in Fabric's or the chaincode's containers.
                automount_service_account_token: Some(false),
                enable_service_links: Some(false),
                ..Default::default()
            }),
        };
        Ok((template, storage))
    }

    /// A node (orderer, peer) as a StatefulSet of one; anything else (a chaincode server)
    /// as a Deployment with a Service named after its alias.
    pub(in crate::engine::kubernetes) async fn create_workload(
        &self,
        spec: &WorkloadSpec,
    ) -> Result<()> {
        let workload = object_name(&spec.name);
        let is_node = spec.data_dir.is_some();
        if !is_node {
            for alias in &spec.aliases {
                self.create_service(&object_name(alias), &workload, &spec.ports, HashMap::new())
                    .await?;
            }
        }
        let grace = if spec.labels.get(LABEL_ROLE).map(String::as_str) == Some(ROLE_CHAINCODE) {
            1
        } else {
            GRACE_SECONDS
        };
        let (template, storage) = self.pod_template(&workload, spec, grace).await?;
        let mut labels = spec.labels.clone();
        labels.insert(LABEL_CONTAINER.into(), spec.name.clone());
        let mut metadata = meta(&workload, &labels, Some(&workload));
        if let Some(storage) = &storage {
            metadata
                .annotations
                .get_or_insert_with(Default::default)
                .insert(ANNOTATION_STORAGE.into(), storage.clone());
        }
        let selector = LabelSelector {
            match_labels: Some(selector_of(&workload)),
            ..Default::default()
        };
        let created = if is_node {
            let claims = storage
                .as_deref()
                .and_then(|s| s.strip_prefix("pvc:"))
                .map(|class| {
                    vec![PersistentVolumeClaim {
                        metadata: ObjectMeta {
                            name: Some("data".into()),
                            labels: Some(BTreeMap::from([
                                (MANAGED_BY.to_string(), "fabx".to_string()),
                                (LABEL_WORKLOAD.to_string(), workload.clone()),
                            ])),
                            ..Default::default()
                        },
                        spec: Some(PersistentVolumeClaimSpec {
                            access_modes: Some(vec!["ReadWriteOnce".into()]),
                            storage_class_name: Some(class.to_string()),
                            resources: Some(VolumeResourceRequirements {
                                requests: Some(BTreeMap::from([(
                                    "storage".to_string(),
                                    Quantity(LEDGER_SIZE.into()),
                                )])),
                                ..Default::default()
                            }),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }]
                });
            let set = StatefulSet {
                metadata,
                spec: Some(StatefulSetSpec {
                    replicas: Some(1),
                    selector,
                    service_name: None,
                    template,
                    volume_claim_templates: claims,
                    ..Default::default()
                }),
                ..Default::default()
            };
            let api: Api<StatefulSet> = Api::namespaced(self.client.clone(), &self.namespace);
            crate::support::profile::timed(|| format!("create statefulset {workload}"), async {
                api.create(&PostParams::default(), &set)
                    .await
                    .map(|_| ())
                    .map_err(|e| self.fail("create", "statefulsets", &workload, e))
            })
            .await
        } else {
            let deployment = Deployment {
                metadata,
                spec: Some(DeploymentSpec {
                    replicas: Some(1),
                    selector,
                    template,
                    // One server per org: the old one goes before the new one comes.
                    strategy: Some(DeploymentStrategy {
                        type_: Some("Recreate".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let api: Api<Deployment> = Api::namespaced(self.client.clone(), &self.namespace);
            crate::support::profile::timed(|| format!("create deployment {workload}"), async {
                api.create(&PostParams::default(), &deployment)
                    .await
                    .map(|_| ())
                    .map_err(|e| self.fail("create", "deployments", &workload, e))
            })
            .await
        };
        Ok(created?)
    }

    /// Deletes a workload, its pods, files and Service, and waits until its pods are gone.
    pub(in crate::engine::kubernetes) async fn remove_workload(&self, name: &str) -> Result<()> {
        let workload = object_name(name);
        let params = DeleteParams::foreground();
        let by_label = ListParams::default().labels(&format!("{LABEL_WORKLOAD}={workload}"));
        let sets: Api<StatefulSet> = Api::namespaced(self.client.clone(), &self.namespace);
        let deployments: Api<Deployment> = Api::namespaced(self.client.clone(), &self.namespace);
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
        let maps: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.namespace);
        let ignore_missing = |r: std::result::Result<(), kube::Error>, resource: &str| match r {
            Err(e) if !names::is_not_found(&e) => Err(self.fail("delete", resource, &workload, e)),
            _ => Ok(()),
        };
        ignore_missing(
            sets.delete(&workload, &params).await.map(|_| ()),
            "statefulsets",
        )?;
        ignore_missing(
            deployments.delete(&workload, &params).await.map(|_| ()),
            "deployments",
        )?;
        ignore_missing(
            secrets
                .delete_collection(&DeleteParams::default(), &by_label)
                .await
                .map(|_| ()),
            "secrets",
        )?;
        ignore_missing(
            maps.delete_collection(&DeleteParams::default(), &by_label)
                .await
                .map(|_| ()),
            "configmaps",
        )?;
        // Chaincode Services go with their server; node Services live with the namespace.
        let services: Api<Service> = Api::namespaced(self.client.clone(), &self.namespace);
        let owned = services
            .list(&by_label)
            .await
            .map_err(|e| self.fail("list", "services", &workload, e))?;
        for service in owned.items {
            if fabx_labels(&service.metadata).contains_key(LABEL_NODE_HOST) {
                continue;
            }
            let name = service.metadata.name.unwrap_or_default();
            ignore_missing(
                services
                    .delete(&name, &DeleteParams::default())
                    .await
                    .map(|_| ()),
                "services",
            )?;
        }
        self.await_pods_gone(&workload).await
    }

    /// Waits until no pod of the workload is left (a new one may then take its name).
    pub(super) async fn await_pods_gone(&self, workload: &str) -> Result<()> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace);
        let by_label = ListParams::default().labels(&format!("{LABEL_WORKLOAD}={workload}"));
        let gone = poll_until(Backoff::polling(DELETE_TIMEOUT), || async {
            let left = pods
                .list(&by_label)
                .await
                .map_err(|e| self.fail("list", "pods", workload, e))?;
            Ok::<_, KubeError>(match left.items.is_empty() {
                true => Poll::Ready(()),
                false => Poll::NotYet(()),
            })
        })
        .await?;
        match gone {
            Poll::Ready(()) => Ok(()),
            Poll::NotYet(()) => Err(KubeError::Api {
                action: "delete".into(),
                object: format!("the pods of {workload}"),
                reason: "still terminating".into(),
            }
            .into()),
        }
    }

    /// The network's workloads with every label filter, with the state of their pods.
    pub(in crate::engine::kubernetes) async fn list_workloads(
        &self,
        filters: &[String],
    ) -> Result<Vec<Workload>> {
        let params = ListParams::default().labels(&names::selector(filters));
        let sets: Api<StatefulSet> = Api::namespaced(self.client.clone(), &self.namespace);
        let deployments: Api<Deployment> = Api::namespaced(self.client.clone(), &self.namespace);
        let (sets, deployments) =
            futures_util::future::join(sets.list(&params), deployments.list(&params)).await;
        let mut metas: Vec<ObjectMeta> = Vec::new();
        match sets {
            Ok(list) => metas.extend(list.items.into_iter().map(|s| s.metadata)),
            Err(e) if names::is_not_found(&e) => {}
            Err(e) => return Err(self.fail("list", "statefulsets", &self.namespace, e).into()),
        }
        match deployments {
            Ok(list) => metas.extend(list.items.into_iter().map(|d| d.metadata)),
            Err(e) if names::is_not_found(&e) => {}
            Err(e) => return Err(self.fail("list", "deployments", &self.namespace, e).into()),
        }
        let mut found = Vec::new();
        let pods = self.pods_by_workload().await?;
        for meta in metas {
            let labels = fabx_labels(&meta);
            if !names::matches(&labels, filters) {
                continue;
            }
            let workload = meta.name.clone().unwrap_or_default();
            let state = super::super::pods::state_of(pods.get(&workload).map(Vec::as_slice));
            let name = labels.get(LABEL_CONTAINER).cloned().unwrap_or(workload);
            found.push(Workload {
                name,
                state,
                labels,
                published: vec![],
            });
        }
        Ok(found)
    }

    /// The name of the default StorageClass, asked once per engine (every node's pod
    /// template needs it).
    pub(super) async fn default_storage_class(&self) -> Result<Option<String>> {
        self.storage_class
            .get_or_try_init(|| self.find_default_storage_class())
            .await
            .cloned()
    }

    pub(super) async fn find_default_storage_class(&self) -> Result<Option<String>> {
        let classes: Api<StorageClass> = Api::all(self.client.clone());
        let list = match classes.list(&ListParams::default()).await {
            Ok(list) => list,
            // Without permission to read classes, emptyDir is the safe choice.
            Err(kube::Error::Api(s)) if s.code == 403 => return Ok(None),
            Err(e) => {
                return Err(self
                    .fail("list", "storageclasses", "storageclasses", e)
                    .into())
            }
        };
        Ok(list.items.into_iter().find_map(|c| {
            let default = c
                .metadata
                .annotations
                .as_ref()?
                .get("storageclass.kubernetes.io/is-default-class")?
                == "true";
            default.then(|| c.metadata.name.unwrap_or_default())
        }))
    }

    /// Where the ledgers are kept, for `status`.
    pub async fn storage(&self) -> Result<String> {
        Ok(match self.default_storage_class().await? {
            Some(class) => format!("PersistentVolumeClaims of StorageClass {class}"),
            None => {
                "emptyDir (the cluster has no default StorageClass: a ledger is lost with its pod)"
                    .into()
            }
        })
    }

    /// Reads one file of an image with a pod that only prints it.
    pub(in crate::engine::kubernetes) async fn cat_in_pod(
        &self,
        image: &str,
        path: &str,
        labels: HashMap<String, String>,
        name: &str,
    ) -> Result<Vec<u8>> {
        let pod_name = object_name(name);
        let pod = Pod {
            metadata: meta(&pod_name, &labels, Some(&pod_name)),
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: CONTAINER.into(),
                    image: Some(image.to_string()),
                    image_pull_policy: Some("IfNotPresent".into()),
                    command: Some(vec!["cat".into(), path.to_string()]),
                    ..Default::default()
                }],
                restart_policy: Some("Never".into()),
                automount_service_account_token: Some(false),
                ..Default::default()
            }),
            ..Default::default()
        };
        let pods = self.pods();
        pods.create(&PostParams::default(), &pod)
            .await
            .map_err(|e| self.fail("create", "pods", &pod_name, e))?;
        let read = self.await_finished_and_read(&pod_name, image, path).await;
        let _ = pods
            .delete(&pod_name, &DeleteParams::default().grace_period(0))
            .await;
        read
    }
}
