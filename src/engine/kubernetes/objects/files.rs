//! A workload's files: private keys in Secrets, the rest in ConfigMaps, and the volumes
//! that mount them.

use super::super::names::{self, object_name};
use super::super::{KubeEngine, KubeError};
use super::meta;
use crate::engine::Result;
use crate::engine::WorkloadSpec;
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, KeyToPath, Secret, SecretVolumeSource, Volume, VolumeMount,
};
use k8s_openapi::ByteString;
use kube::api::{Api, PostParams};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// A file of a Secret or ConfigMap: its path under the mount, contents and mode.
pub(super) type FileEntry = (String, Vec<u8>, u32);

/// Every file under `dir`, by path relative to it, with its mode.
pub(super) fn files_under(dir: &Path) -> std::io::Result<Vec<FileEntry>> {
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
pub(super) fn is_secret(files: &[FileEntry]) -> bool {
    files.iter().any(|(path, _, _)| {
        path.contains("keystore/") || path.ends_with(".key") || path.ends_with("_sk")
    })
}

impl KubeEngine {
    /// Secrets and ConfigMaps for the workload's files, and the volumes mounting them.
    pub(super) async fn config_volumes(
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

    pub(super) async fn create_files_object(
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
}
