//! The objects of a network on a cluster: its namespace, a Service per node, and for each
//! workload its Secrets and ConfigMaps, its StatefulSet or Deployment, and its Service.

use super::names::{self, fabx_labels, labels_and_annotation, object_name};
use super::{KubeEngine, KubeError, ANNOTATION_STORAGE, LABEL_WORKLOAD, MANAGED_BY};
use crate::engine::spec::{LABEL_ROLE, ROLE_CHAINCODE};
use crate::engine::Result;
use crate::engine::{NodeService, Workload, WorkloadSpec};
use crate::support::retry::{poll_until, Backoff, Poll};
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, StatefulSet, StatefulSetSpec,
};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, EnvVar,
    HostAlias, KeyToPath, Namespace, PersistentVolume, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, Pod, PodSpec, PodTemplateSpec, Secret, SecretVolumeSource, Service,
    ServicePort, ServiceSpec, Volume, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::ByteString;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
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

/// A file of a Secret or ConfigMap: its path under the mount, contents and mode.
type FileEntry = (String, Vec<u8>, u32);

/// Every file under `dir`, by path relative to it, with its mode.
fn files_under(dir: &Path) -> std::io::Result<Vec<FileEntry>> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path
                    .strip_prefix(dir)
                    .expect("under dir")
                    .display()
                    .to_string();
                let mode = std::fs::metadata(&path)?.permissions().mode();
                out.push((relative, std::fs::read(&path)?, mode));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Private keys go in Secrets; the rest (certificates, core.yaml, the builders) in ConfigMaps.
fn is_secret(files: &[FileEntry]) -> bool {
    files.iter().any(|(path, _, _)| {
        path.contains("keystore/") || path.ends_with(".key") || path.ends_with("_sk")
    })
}

impl KubeEngine {
    pub(super) async fn create_namespace(&self, labels: HashMap<String, String>) -> Result<()> {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let ns = Namespace {
            metadata: meta(&self.namespace, &labels, None),
            ..Default::default()
        };
        match namespaces.create(&PostParams::default(), &ns).await {
            Ok(_) => Ok(()),
            Err(e) if names::is_conflict(&e) => Err(KubeError::NamespaceTaken {
                namespace: self.namespace.clone(),
            }
            .into()),
            Err(e) => Err(self.fail("create", "namespaces", &self.namespace, e).into()),
        }
    }

    /// Deletes what fabx put in the namespace, at once: the controllers first (so nothing
    /// starts a pod again), then the pods without a grace period (their ledgers are being
    /// deleted anyway), then Secrets, ConfigMaps, claims and Services.
    async fn empty_namespace(&self) -> Result<()> {
        let ours = ListParams::default().labels(&format!("{MANAGED_BY}=fabx"));
        let background = DeleteParams::background();
        let sets: Api<StatefulSet> = Api::namespaced(self.client.clone(), &self.namespace);
        let deployments: Api<Deployment> = Api::namespaced(self.client.clone(), &self.namespace);
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace);
        let (sets, deployments) = futures_util::future::join(
            sets.delete_collection(&background, &ours),
            deployments.delete_collection(&background, &ours),
        )
        .await;
        for (result, resource) in [
            (sets.map(|_| ()), "statefulsets"),
            (deployments.map(|_| ()), "deployments"),
        ] {
            if let Err(e) = result {
                return Err(self
                    .fail("deletecollection", resource, &self.namespace, e)
                    .into());
            }
        }
        pods.delete_collection(&DeleteParams::default().grace_period(0), &ours)
            .await
            .map_err(|e| self.fail("deletecollection", "pods", &self.namespace, e))?;
        // The rest too: the namespace controller takes seconds to start on its content,
        // and finalizes an empty namespace at once.
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
        let maps: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.namespace);
        let claims: Api<PersistentVolumeClaim> =
            Api::namespaced(self.client.clone(), &self.namespace);
        let services: Api<Service> = Api::namespaced(self.client.clone(), &self.namespace);
        let service_names: Vec<String> = services
            .list(&ours)
            .await
            .map_err(|e| self.fail("list", "services", &self.namespace, e))?
            .items
            .into_iter()
            .filter_map(|s| s.metadata.name)
            .collect();
        let background = &background;
        let service_deletes = service_names.iter().map(|name| {
            let services = services.clone();
            async move { services.delete(name, background).await.map(|_| ()) }
        });
        let (secrets, maps, claims, services) = futures_util::future::join4(
            secrets.delete_collection(background, &ours),
            maps.delete_collection(background, &ours),
            claims.delete_collection(background, &ours),
            futures_util::future::join_all(service_deletes),
        )
        .await;
        for (result, resource) in [
            (secrets.map(|_| ()), "secrets"),
            (maps.map(|_| ()), "configmaps"),
            (claims.map(|_| ()), "persistentvolumeclaims"),
        ]
        .into_iter()
        .chain(services.into_iter().map(|r| (r, "services")))
        {
            match result {
                Err(e) if !names::is_not_found(&e) => {
                    return Err(self.fail("delete", resource, &self.namespace, e).into())
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Deletes the namespace and waits until it and everything in it is gone.
    pub(super) async fn delete_namespace(&self) -> Result<()> {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        match namespaces.get_opt(&self.namespace).await {
            Ok(Some(_)) => {
                crate::support::profile::timed(
                    || format!("delete the objects in {}", self.namespace),
                    self.empty_namespace(),
                )
                .await?
            }
            Ok(None) => return Ok(()),
            Err(e) => return Err(self.fail("get", "namespaces", &self.namespace, e).into()),
        }
        let deleted = match namespaces
            .delete(&self.namespace, &DeleteParams::background())
            .await
        {
            Ok(either) => either,
            Err(e) if names::is_not_found(&e) => return Ok(()),
            Err(e) => return Err(self.fail("delete", "namespaces", &self.namespace, e).into()),
        };
        let uid = deleted
            .left()
            .and_then(|ns| ns.metadata.uid)
            .unwrap_or_default();
        let gone = await_condition(namespaces, &self.namespace, conditions::is_deleted(&uid));
        let gone = crate::support::profile::timed(
            || format!("wait for namespace {} to be deleted", self.namespace),
            tokio::time::timeout(DELETE_TIMEOUT, gone),
        );
        match gone.await {
            Ok(Ok(_)) => {
                crate::support::profile::timed(
                    || format!("wait for the volumes of {} to be deleted", self.namespace),
                    self.await_volumes_released(),
                )
                .await
            }
            Ok(Err(e)) => Err(KubeError::Api {
                action: "wait for the deletion of".into(),
                object: format!("namespace {}", self.namespace),
                reason: e.to_string(),
            }
            .into()),
            Err(_) => Err(KubeError::Api {
                action: "delete".into(),
                object: format!("namespace {}", self.namespace),
                reason: format!(
                    "still terminating after {}s (see `kubectl get all -n {}`)",
                    DELETE_TIMEOUT.as_secs(),
                    self.namespace
                ),
            }
            .into()),
        }
    }

    /// Waits until the provisioner has deleted the volumes of the namespace's claims (their
    /// reclaim policy deletes them once the claims are gone).
    async fn await_volumes_released(&self) -> Result<()> {
        let volumes: Api<PersistentVolume> = Api::all(self.client.clone());
        let released = poll_until(Backoff::polling(DELETE_TIMEOUT), || async {
            let list = match volumes.list(&ListParams::default()).await {
                Ok(list) => list.items,
                // Without permission to see volumes there is nothing to wait for.
                Err(kube::Error::Api(s)) if s.code == 403 => return Ok(Poll::Ready(())),
                Err(e) => {
                    return Err(self.fail("list", "persistentvolumes", "persistentvolumes", e))
                }
            };
            let ours = list.iter().filter(|v| {
                let claim = v.spec.as_ref().and_then(|s| s.claim_ref.as_ref());
                let deleting = v
                    .spec
                    .as_ref()
                    .and_then(|s| s.persistent_volume_reclaim_policy.as_deref())
                    == Some("Delete");
                deleting
                    && claim.and_then(|c| c.namespace.as_deref()) == Some(self.namespace.as_str())
            });
            Ok(match ours.count() {
                0 => Poll::Ready(()),
                _ => Poll::NotYet(()),
            })
        })
        .await?;
        match released {
            Poll::Ready(()) => Ok(()),
            Poll::NotYet(()) => Err(KubeError::Api {
                action: "wait for the deletion of".into(),
                object: format!("the volumes of namespace {}", self.namespace),
                reason: "the provisioner has not deleted them".into(),
            }
            .into()),
        }
    }

    /// One Service per node, named after its host name, before any pod exists: their
    /// cluster IPs go into every pod's hostAliases.
    pub(super) async fn create_node_services(&self, nodes: &[NodeService]) -> Result<()> {
        let creates = nodes.iter().map(|node| async move {
            let labels = HashMap::from([(LABEL_NODE_HOST.to_string(), node.host.clone())]);
            let (name, workload) = (object_name(&node.host), object_name(&node.workload));
            self.create_service(&name, &workload, &node.ports, labels)
                .await
        });
        futures_util::future::try_join_all(creates).await?;
        Ok(())
    }

    async fn create_service(
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
    async fn host_aliases(&self) -> Result<Vec<HostAlias>> {
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

    /// The name of the default StorageClass, asked once per engine (every node's pod
    /// template needs it).
    async fn default_storage_class(&self) -> Result<Option<String>> {
        self.storage_class
            .get_or_try_init(|| self.find_default_storage_class())
            .await
            .cloned()
    }

    async fn find_default_storage_class(&self) -> Result<Option<String>> {
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

    /// Secrets and ConfigMaps for the workload's files, and the volumes mounting them.
    async fn config_volumes(
        &self,
        workload: &str,
        spec: &WorkloadSpec,
    ) -> Result<(Vec<Volume>, Vec<VolumeMount>)> {
        // (mount path, files, whether they must be a Secret whatever they hold)
        let mut sets: Vec<(String, Vec<FileEntry>, bool)> = Vec::new();
        for bind in &spec.binds {
            let files = files_under(Path::new(&bind.host)).map_err(|e| KubeError::Api {
                action: "read files for".into(),
                object: format!("{workload} from {}", bind.host),
                reason: e.to_string(),
            })?;
            sets.push((bind.container.clone(), files, false));
        }
        // Files put in before start, grouped by their directory.
        let mut by_dir: BTreeMap<String, Vec<FileEntry>> = BTreeMap::new();
        for (dir, file) in &spec.files {
            let full = Path::new(dir).join(&file.name);
            let parent = full
                .parent()
                .unwrap_or(Path::new("/"))
                .display()
                .to_string();
            let name = full
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            by_dir
                .entry(parent)
                .or_default()
                .push((name, file.contents.clone(), file.mode));
        }
        // Files handed over directly are TLS material: Secrets.
        sets.extend(by_dir.into_iter().map(|(dir, files)| (dir, files, true)));

        let mut volumes = Vec::new();
        let mut mounts = Vec::new();
        let mut creates = Vec::new();
        for (i, (mount, files, force_secret)) in sets.into_iter().enumerate() {
            let name = format!("{}-{i}", names::object_name(workload));
            let items: Vec<KeyToPath> = files
                .iter()
                .enumerate()
                .map(|(k, (path, _, mode))| KeyToPath {
                    key: format!("f{k}"),
                    path: path.clone(),
                    // Files handed over keep their mode (a chaincode may run as any user);
                    // executables (the builders) stay executable; keys only for the owner.
                    mode: Some(if force_secret {
                        (mode & 0o777) as i32
                    } else if mode & 0o111 != 0 {
                        0o755
                    } else if is_secret(std::slice::from_ref(&files[k])) {
                        0o600
                    } else {
                        0o644
                    }),
                })
                .collect();
            let secret = force_secret || is_secret(&files);
            let data: BTreeMap<String, Vec<u8>> = files
                .into_iter()
                .enumerate()
                .map(|(k, (_, contents, _))| (format!("f{k}"), contents))
                .collect();
            let volume_name = format!("v{i}");
            volumes.push(if secret {
                Volume {
                    name: volume_name.clone(),
                    secret: Some(SecretVolumeSource {
                        secret_name: Some(name.clone()),
                        items: Some(items),
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            } else {
                Volume {
                    name: volume_name.clone(),
                    config_map: Some(ConfigMapVolumeSource {
                        name: name.clone(),
                        items: Some(items),
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            });
            mounts.push(VolumeMount {
                name: volume_name,
                mount_path: mount,
                read_only: Some(true),
                ..Default::default()
            });
            creates.push(self.create_files_object(name, workload, secret, data));
        }
        futures_util::future::try_join_all(creates).await?;
        Ok((volumes, mounts))
    }

    async fn create_files_object(
        &self,
        name: String,
        workload: &str,
        secret: bool,
        data: BTreeMap<String, Vec<u8>>,
    ) -> Result<()> {
        let metadata = meta(&name, &HashMap::new(), Some(&object_name(workload)));
        let (resource, created) = if secret {
            let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
            let object = Secret {
                metadata,
                data: Some(data.into_iter().map(|(k, v)| (k, ByteString(v))).collect()),
                ..Default::default()
            };
            (
                "secrets",
                api.create(&PostParams::default(), &object)
                    .await
                    .map(|_| ()),
            )
        } else {
            let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.namespace);
            let object = ConfigMap {
                metadata,
                binary_data: Some(data.into_iter().map(|(k, v)| (k, ByteString(v))).collect()),
                ..Default::default()
            };
            (
                "configmaps",
                api.create(&PostParams::default(), &object)
                    .await
                    .map(|_| ()),
            )
        };
        match created {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail("create", resource, &name, e).into()),
        }
    }

    /// The pod template of a workload.
    async fn pod_template(
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
    pub(super) async fn create_workload(&self, spec: &WorkloadSpec) -> Result<()> {
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
    pub(super) async fn remove_workload(&self, name: &str) -> Result<()> {
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
    async fn await_pods_gone(&self, workload: &str) -> Result<()> {
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
    pub(super) async fn list_workloads(&self, filters: &[String]) -> Result<Vec<Workload>> {
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
            let state = super::pods::state_of(pods.get(&workload).map(Vec::as_slice));
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
    pub(super) async fn cat_in_pod(
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
