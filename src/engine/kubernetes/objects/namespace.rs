//! The network's namespace: created, emptied and deleted with its volumes.

use super::super::names::{self};
use super::super::{KubeEngine, KubeError, MANAGED_BY};
use super::{meta, DELETE_TIMEOUT};
use crate::engine::Result;
use crate::support::retry::{poll_until, Backoff, Poll};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{
    ConfigMap, Namespace, PersistentVolume, PersistentVolumeClaim, Pod, Secret, Service,
};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use std::collections::HashMap;

impl KubeEngine {
    pub(in crate::engine::kubernetes) async fn create_namespace(
        &self,
        labels: HashMap<String, String>,
    ) -> Result<()> {
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
    pub(super) async fn empty_namespace(&self) -> Result<()> {
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
    pub(in crate::engine::kubernetes) async fn delete_namespace(&self) -> Result<()> {
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
    pub(super) async fn await_volumes_released(&self) -> Result<()> {
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
}
