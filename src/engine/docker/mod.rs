//! The Docker engine, through bollard: one method per operation fabx needs, one error
//! variant per operation with the object it was about. Every object fabx creates carries
//! the labels of [`crate::engine::spec`], so teardown finds them by label, never by name
//! guessing.

mod engine;

use crate::engine::spec::{ExecOutput, ImageConfig, Tail, UploadFile, WorkloadSpec};
use crate::support::profile::{short, timed};
use crate::support::tar::tar_of;
use bollard::models::{
    ContainerCreateBody, ContainerSummary, EndpointSettings, HostConfig, NetworkCreateRequest,
    PortBinding,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, DownloadFromContainerOptionsBuilder,
    InspectContainerOptions, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, RenameContainerOptionsBuilder,
    StopContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::{Stream, StreamExt, TryStreamExt};
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error("cannot reach the Docker engine at {endpoint}: {reason} (start Docker, or point DOCKER_HOST at a running engine)")]
    Unreachable { endpoint: String, reason: String },
    #[error("image {image} is not available locally and could not be pulled: {reason} (load or build the image, or name another one in the topology's images section)")]
    ImageUnavailable { image: String, reason: String },
    #[error("building image {tag} failed: {reason}; last build lines:\n{tail}")]
    Build {
        tag: String,
        reason: String,
        tail: String,
    },
    #[error("cannot inspect {object}: {source}")]
    Inspect {
        object: String,
        source: bollard::errors::Error,
    },
    #[error("cannot list {what}: {source}")]
    List {
        what: String,
        source: bollard::errors::Error,
    },
    #[error("cannot create network {name}: {source}")]
    CreateNetwork {
        name: String,
        source: bollard::errors::Error,
    },
    #[error("cannot remove network {name}: {source}")]
    RemoveNetwork {
        name: String,
        source: bollard::errors::Error,
    },
    #[error("cannot create container {name}: {source}")]
    CreateContainer {
        name: String,
        source: bollard::errors::Error,
    },
    #[error("cannot start container {name}: {reason}")]
    StartContainer { name: String, reason: String },
    #[error("cannot remove container {name}: {source}")]
    RemoveContainer {
        name: String,
        source: bollard::errors::Error,
    },
    #[error("cannot stop container {name}: {source}")]
    StopContainer {
        name: String,
        source: bollard::errors::Error,
    },
    #[error("cannot {action} container {name}: {source}")]
    Pause {
        action: &'static str,
        name: String,
        source: bollard::errors::Error,
    },
    #[error("cannot save images {images}: {reason}")]
    SaveImages { images: String, reason: String },
    #[error("cannot load images into Docker: {reason}")]
    LoadImages { reason: String },
    #[error("cannot rename container {from} to {to}: {source}")]
    RenameContainer {
        from: String,
        to: String,
        source: bollard::errors::Error,
    },
    #[error("cannot run {command:?} in {container}: {source}")]
    Exec {
        container: String,
        command: String,
        source: bollard::errors::Error,
    },
    #[error("cannot copy files into {container}:{path}: {source}")]
    Upload {
        container: String,
        path: String,
        source: bollard::errors::Error,
    },
    #[error("cannot copy {path} out of {container}: {reason}")]
    Download {
        container: String,
        path: String,
        reason: String,
    },
    #[error("cannot read the logs of {container}: {source}")]
    Logs {
        container: String,
        source: bollard::errors::Error,
    },
}

#[derive(Clone)]
pub struct DockerEngine {
    docker: Docker,
    endpoint: String,
}

fn is_not_found(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

fn server_message(err: &bollard::errors::Error) -> String {
    match err {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

impl DockerEngine {
    /// Connects to DOCKER_HOST, or the local socket, and checks the engine answers.
    pub async fn connect() -> Result<DockerEngine, DockerError> {
        let endpoint = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string());
        let unreachable = |reason: String| DockerError::Unreachable {
            endpoint: endpoint.clone(),
            reason,
        };
        let docker = Docker::connect_with_defaults().map_err(|e| unreachable(e.to_string()))?;
        docker
            .ping()
            .await
            .map_err(|e| unreachable(server_message(&e)))?;
        Ok(DockerEngine { docker, endpoint })
    }

    pub fn client(&self) -> &Docker {
        &self.docker
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub async fn image_present(&self, image: &str) -> Result<bool, DockerError> {
        Ok(self.image_id(image).await?.is_some())
    }

    /// How a local image runs (its environment, entrypoint and command); None if there
    /// is no such image.
    pub async fn image_config(&self, image: &str) -> Result<Option<ImageConfig>, DockerError> {
        timed(|| format!("docker inspect image {image}"), async move {
            match self.docker.inspect_image(image).await {
                Ok(info) => {
                    let config = info.config.unwrap_or_default();
                    Ok(Some(ImageConfig {
                        env: config.env.unwrap_or_default(),
                        entrypoint: config.entrypoint.unwrap_or_default(),
                        cmd: config.cmd.unwrap_or_default(),
                    }))
                }
                Err(e) if is_not_found(&e) => Ok(None),
                Err(source) => Err(DockerError::Inspect {
                    object: format!("image {image}"),
                    source,
                }),
            }
        })
        .await
    }

    /// The ID of a local image, or None if there is no such image.
    pub async fn image_id(&self, image: &str) -> Result<Option<String>, DockerError> {
        timed(|| format!("docker inspect image {image}"), async move {
            match self.docker.inspect_image(image).await {
                Ok(info) => Ok(Some(info.id.unwrap_or_default())),
                Err(e) if is_not_found(&e) => Ok(None),
                Err(source) => Err(DockerError::Inspect {
                    object: format!("image {image}"),
                    source,
                }),
            }
        })
        .await
    }

    /// Makes sure an image is present, pulling it if needed; `progress` gets pull status lines.
    pub async fn ensure_image(
        &self,
        image: &str,
        progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<(), DockerError> {
        if self.image_present(image).await? {
            return Ok(());
        }
        let options = CreateImageOptionsBuilder::default()
            .from_image(image)
            .build();
        let mut stream = self.docker.create_image(Some(options), None, None);
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                        return Err(DockerError::ImageUnavailable {
                            image: image.to_string(),
                            reason: detail,
                        });
                    }
                    let line = [info.id, info.status]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" ");
                    progress(&line);
                }
                Err(e) => {
                    return Err(DockerError::ImageUnavailable {
                        image: image.to_string(),
                        reason: server_message(&e),
                    })
                }
            }
        }
        Ok(())
    }

    /// Builds an image from a tar build context (Dockerfile at its root) and returns its
    /// ID; `log` gets each line of build output. Build errors arrive inside the stream.
    pub async fn build_image(
        &self,
        context: Vec<u8>,
        tag: &str,
        labels: HashMap<String, String>,
        log: &mut (dyn FnMut(&str) + Send),
    ) -> Result<String, DockerError> {
        timed(|| format!("docker build {tag}"), async move {
            let options = bollard::query_parameters::BuildImageOptions {
                dockerfile: "Dockerfile".into(),
                t: Some(tag.to_string()),
                rm: true,
                forcerm: true,
                labels: Some(labels),
                ..Default::default()
            };
            let mut tail = Tail::new(10);
            let fail = |reason: String, tail: &Tail| DockerError::Build {
                tag: tag.to_string(),
                reason,
                tail: tail.text("    "),
            };
            let mut stream =
                self.docker
                    .build_image(options, None, Some(bollard::body_full(context.into())));
            while let Some(item) = stream.next().await {
                let info = item.map_err(|e| fail(server_message(&e), &tail))?;
                if let Some(message) = info.error_detail.and_then(|d| d.message) {
                    return Err(fail(message, &tail));
                }
                for line in info.stream.iter().flat_map(|s| s.lines()) {
                    let line = line.trim_end();
                    if line.is_empty() {
                        continue;
                    }
                    log(line);
                    tail.push(line);
                }
            }
            self.image_id(tag).await?.ok_or_else(|| DockerError::Build {
                tag: tag.to_string(),
                reason: "the engine reported no error, but the image is not there".into(),
                tail: tail.text("    "),
            })
        })
        .await
    }

    /// Labels of a network, or None if there is no such network.
    pub async fn network_labels(
        &self,
        name: &str,
    ) -> Result<Option<HashMap<String, String>>, DockerError> {
        timed(|| format!("docker list networks {name}"), async move {
            let filters = HashMap::from([("name".to_string(), vec![name.to_string()])]);
            let options = ListNetworksOptionsBuilder::default()
                .filters(&filters)
                .build();
            let networks = self
                .docker
                .list_networks(Some(options))
                .await
                .map_err(|source| DockerError::List {
                    what: "networks".into(),
                    source,
                })?;
            // The name filter matches substrings; keep the exact one.
            Ok(networks
                .into_iter()
                .find(|n| n.name.as_deref() == Some(name))
                .map(|n| n.labels.unwrap_or_default()))
        })
        .await
    }

    pub async fn create_network(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<(), DockerError> {
        timed(|| format!("docker create network {name}"), async move {
            let request = NetworkCreateRequest {
                name: name.to_string(),
                driver: Some("bridge".into()),
                labels: Some(labels),
                ..Default::default()
            };
            self.docker
                .create_network(request)
                .await
                .map(|_| ())
                .map_err(|source| DockerError::CreateNetwork {
                    name: name.to_string(),
                    source,
                })
        })
        .await
    }

    /// Removes a network; a missing one is not an error.
    pub async fn remove_network(&self, name: &str) -> Result<(), DockerError> {
        timed(|| format!("docker remove network {name}"), async move {
            match self.docker.remove_network(name).await {
                Err(e) if !is_not_found(&e) => Err(DockerError::RemoveNetwork {
                    name: name.to_string(),
                    source: e,
                }),
                _ => Ok(()),
            }
        })
        .await
    }

    pub async fn create_container(&self, spec: &WorkloadSpec) -> Result<(), DockerError> {
        timed(|| format!("docker create {}", spec.name), async move {
            let binds = spec
                .binds
                .iter()
                .map(|b| {
                    let mode = if b.read_only { ":ro" } else { "" };
                    format!("{}:{}{mode}", b.host, b.container)
                })
                .collect();
            let port_bindings: HashMap<String, Option<Vec<PortBinding>>> = spec
                .host_ports
                .iter()
                .map(|(inner, host)| {
                    // Host port 0: Docker chooses a free one.
                    let host_port = if *host == 0 {
                        String::new()
                    } else {
                        host.to_string()
                    };
                    let binding = PortBinding {
                        host_ip: Some(spec.host_ip.clone()),
                        host_port: Some(host_port),
                    };
                    (format!("{inner}/tcp"), Some(vec![binding]))
                })
                .collect();
            let exposed: Vec<String> = port_bindings.keys().cloned().collect();
            let endpoint = EndpointSettings {
                aliases: Some(spec.aliases.clone()),
                ..Default::default()
            };
            let body = ContainerCreateBody {
                image: Some(spec.image.clone()),
                cmd: spec.cmd.clone(),
                env: Some(spec.env.clone()),
                labels: Some(spec.labels.clone()),
                working_dir: spec.working_dir.clone(),
                hostname: spec.aliases.first().cloned(),
                exposed_ports: Some(exposed),
                host_config: Some(HostConfig {
                    binds: Some(binds),
                    port_bindings: Some(port_bindings),
                    extra_hosts: (!spec.extra_hosts.is_empty()).then(|| spec.extra_hosts.clone()),
                    network_mode: Some(spec.network.clone()),
                    ..Default::default()
                }),
                networking_config: Some(bollard::models::NetworkingConfig {
                    endpoints_config: Some(HashMap::from([(spec.network.clone(), endpoint)])),
                }),
                ..Default::default()
            };
            let options = CreateContainerOptionsBuilder::default()
                .name(&spec.name)
                .build();
            self.docker
                .create_container(Some(options), body)
                .await
                .map(|_| ())
                .map_err(|source| DockerError::CreateContainer {
                    name: spec.name.clone(),
                    source,
                })
        })
        .await
    }

    pub async fn start_container(&self, name: &str) -> Result<(), DockerError> {
        timed(|| format!("docker start {name}"), async move {
            self.docker
                .start_container(name, None)
                .await
                .map_err(|e| DockerError::StartContainer {
                    name: name.to_string(),
                    reason: server_message(&e),
                })
        })
        .await
    }

    /// Removes a container with its anonymous volumes; a missing one is not an error.
    pub async fn remove_container(&self, name: &str) -> Result<(), DockerError> {
        timed(|| format!("docker remove {name}"), async move {
            let options = RemoveContainerOptionsBuilder::default()
                .force(true)
                .v(true)
                .build();
            match self.docker.remove_container(name, Some(options)).await {
                Err(e)
                    if !is_not_found(&e) && !server_message(&e).contains("already in progress") =>
                {
                    Err(DockerError::RemoveContainer {
                        name: name.to_string(),
                        source: e,
                    })
                }
                _ => Ok(()),
            }
        })
        .await
    }

    /// Stops a container (SIGTERM, then SIGKILL after `grace_secs`); a missing or
    /// stopped one is not an error.
    pub async fn stop_container(&self, name: &str, grace_secs: i32) -> Result<(), DockerError> {
        timed(|| format!("docker stop {name}"), async move {
            let options = StopContainerOptionsBuilder::default().t(grace_secs).build();
            match self.docker.stop_container(name, Some(options)).await {
                Ok(()) => Ok(()),
                // 304: already stopped.
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 304, ..
                }) => Ok(()),
                Err(e) if is_not_found(&e) => Ok(()),
                Err(source) => Err(DockerError::StopContainer {
                    name: name.to_string(),
                    source,
                }),
            }
        })
        .await
    }

    /// Freezes (`pause`) or thaws every process of a running container.
    pub async fn set_paused(&self, name: &str, paused: bool) -> Result<(), DockerError> {
        let action = if paused { "pause" } else { "unpause" };
        timed(|| format!("docker {action} {name}"), async move {
            let result = match paused {
                true => self.docker.pause_container(name).await,
                false => self.docker.unpause_container(name).await,
            };
            result.map_err(|source| DockerError::Pause {
                action,
                name: name.to_string(),
                source,
            })
        })
        .await
    }

    /// The images in Docker's save format (`docker save`), one archive for all.
    pub async fn save_images(&self, images: &[String]) -> Result<Vec<u8>, DockerError> {
        let names: Vec<&str> = images.iter().map(String::as_str).collect();
        timed(|| format!("docker save {}", names.join(" ")), async {
            self.docker
                .export_images(&names)
                .map_ok(|bytes| bytes.to_vec())
                .try_concat()
                .await
                .map_err(|e| DockerError::SaveImages {
                    images: names.join(", "),
                    reason: server_message(&e),
                })
        })
        .await
    }

    /// Loads images from an archive in Docker's save format (`docker load`).
    pub async fn load_images(&self, archive: Vec<u8>) -> Result<(), DockerError> {
        timed(|| "docker load".to_string(), async move {
            let options = bollard::query_parameters::ImportImageOptionsBuilder::default()
                .quiet(true)
                .build();
            let fail = |reason: String| DockerError::LoadImages { reason };
            let mut stream =
                self.docker
                    .import_image(options, bollard::body_full(archive.into()), None);
            while let Some(item) = stream.next().await {
                let info = item.map_err(|e| fail(server_message(&e)))?;
                if let Some(error) = info.error_detail.and_then(|d| d.message) {
                    return Err(fail(error));
                }
            }
            Ok(())
        })
        .await
    }

    /// Renames a container, running or not; its network aliases stay.
    pub async fn rename_container(&self, from: &str, to: &str) -> Result<(), DockerError> {
        timed(|| format!("docker rename {from} {to}"), async move {
            let options = RenameContainerOptionsBuilder::default().name(to).build();
            self.docker
                .rename_container(from, options)
                .await
                .map_err(|source| DockerError::RenameContainer {
                    from: from.to_string(),
                    to: to.to_string(),
                    source,
                })
        })
        .await
    }

    /// Containers (running or not) carrying all the given labels (`key=value` or `key`).
    pub async fn containers_labelled(
        &self,
        labels: &[String],
    ) -> Result<Vec<ContainerSummary>, DockerError> {
        timed(
            || format!("docker list containers {}", labels.join(",")),
            async move {
                let filters = HashMap::from([("label".to_string(), labels.to_vec())]);
                let options = ListContainersOptionsBuilder::default()
                    .all(true)
                    .filters(&filters)
                    .build();
                self.docker
                    .list_containers(Some(options))
                    .await
                    .map_err(|source| DockerError::List {
                        what: "containers".into(),
                        source,
                    })
            },
        )
        .await
    }

    /// `running`, `exited`, ... or None if the container does not exist.
    pub async fn container_state(&self, name: &str) -> Result<Option<String>, DockerError> {
        timed(|| format!("docker inspect {name}"), async move {
            match self
                .docker
                .inspect_container(name, None::<InspectContainerOptions>)
                .await
            {
                Ok(info) => Ok(Some(
                    info.state
                        .and_then(|s| s.status)
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "unknown".into()),
                )),
                Err(e) if is_not_found(&e) => Ok(None),
                Err(source) => Err(DockerError::Inspect {
                    object: format!("container {name}"),
                    source,
                }),
            }
        })
        .await
    }

    /// Resolves when the container stops (or is gone).
    pub async fn await_exit(&self, name: &str) {
        let mut stream = self.docker.wait_container(
            name,
            None::<bollard::query_parameters::WaitContainerOptions>,
        );
        // Ends with the exit status, or with an error for a non-zero exit or a missing container.
        let _ = stream.next().await;
    }

    /// Runs a command in a running container and collects its output and exit code.
    pub async fn exec(
        &self,
        container: &str,
        cmd: &[String],
        env: &[String],
    ) -> Result<ExecOutput, DockerError> {
        timed(|| format!("exec {container}: {}", short(cmd)), async move {
            let fail = |source| DockerError::Exec {
                container: container.to_string(),
                command: cmd.join(" "),
                source,
            };
            let options = bollard::exec::CreateExecOptions {
                cmd: Some(cmd.to_vec()),
                env: Some(env.to_vec()),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..Default::default()
            };
            let exec = self
                .docker
                .create_exec(container, options)
                .await
                .map_err(fail)?;
            let mut output = ExecOutput::default();
            if let bollard::exec::StartExecResults::Attached {
                output: mut stream, ..
            } = self.docker.start_exec(&exec.id, None).await.map_err(fail)?
            {
                // Output arrives in multiplexed chunks, not lines.
                while let Some(chunk) = stream.next().await {
                    match chunk.map_err(fail)? {
                        bollard::container::LogOutput::StdErr { message } => {
                            output.stderr.push_str(&String::from_utf8_lossy(&message))
                        }
                        other => output
                            .stdout
                            .push_str(&String::from_utf8_lossy(&other.into_bytes())),
                    }
                }
            }
            let info = self.docker.inspect_exec(&exec.id).await.map_err(fail)?;
            output.exit_code = info.exit_code.unwrap_or(-1);
            Ok(output)
        })
        .await
    }

    /// Puts files into a directory of a container (created or running) as a tar archive.
    pub async fn upload(
        &self,
        container: &str,
        dir: &str,
        files: &[UploadFile],
    ) -> Result<(), DockerError> {
        self.upload_tar(container, dir, tar_of(files)).await
    }

    /// Puts a tar archive's tree into a directory of a container (created, stopped or
    /// running; a volume mounted there receives it).
    pub async fn upload_tar(
        &self,
        container: &str,
        dir: &str,
        archive: Vec<u8>,
    ) -> Result<(), DockerError> {
        timed(|| format!("docker upload {container}:{dir}"), async move {
            let options = UploadToContainerOptionsBuilder::default().path(dir).build();
            self.docker
                .upload_to_container(container, Some(options), bollard::body_full(archive.into()))
                .await
                .map_err(|source| DockerError::Upload {
                    container: container.to_string(),
                    path: dir.to_string(),
                    source,
                })
        })
        .await
    }

    /// A directory of a container (paused, stopped or running) as a tar archive whose
    /// top entry is the directory's own name.
    pub async fn download_tar(&self, container: &str, path: &str) -> Result<Vec<u8>, DockerError> {
        timed(
            || format!("docker download {container}:{path}"),
            async move {
                let options = DownloadFromContainerOptionsBuilder::default()
                    .path(path)
                    .build();
                self.docker
                    .download_from_container(container, Some(options))
                    .map_ok(|bytes| bytes.to_vec())
                    .try_concat()
                    .await
                    .map_err(|e| DockerError::Download {
                        container: container.to_string(),
                        path: path.to_string(),
                        reason: server_message(&e),
                    })
            },
        )
        .await
    }

    /// Copies one file out of a container (created or running).
    pub async fn download_file(&self, container: &str, path: &str) -> Result<Vec<u8>, DockerError> {
        let archive = self.download_tar(container, path).await?;
        let fail = |reason: String| DockerError::Download {
            container: container.to_string(),
            path: path.to_string(),
            reason,
        };
        let mut tar = tar::Archive::new(archive.as_slice());
        let mut entries = tar.entries().map_err(|e| fail(e.to_string()))?;
        let mut entry = entries
            .next()
            .ok_or_else(|| fail("empty archive".into()))?
            .map_err(|e| fail(e.to_string()))?;
        let mut contents = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut contents).map_err(|e| fail(e.to_string()))?;
        Ok(contents)
    }

    /// The last `lines` lines a container printed (stdout and stderr).
    pub async fn logs_tail(&self, container: &str, lines: usize) -> Result<String, DockerError> {
        timed(|| format!("docker logs {container}"), async move {
            let options = LogsOptionsBuilder::default()
                .stdout(true)
                .stderr(true)
                .tail(&lines.to_string())
                .build();
            let chunks: Vec<_> = self
                .docker
                .logs(container, Some(options))
                .try_collect()
                .await
                .map_err(|source| DockerError::Logs {
                    container: container.to_string(),
                    source,
                })?;
            Ok(chunks
                .into_iter()
                .map(|c| String::from_utf8_lossy(&c.into_bytes()).into_owned())
                .collect())
        })
        .await
    }

    /// Everything a container has printed so far and, with `follow`, what it prints next,
    /// as raw chunks; the stream ends when the container stops.
    pub fn log_stream(
        &self,
        container: &str,
        follow: bool,
    ) -> impl Stream<Item = Result<String, bollard::errors::Error>> + Send + 'static {
        self.log_stream_tail(container, follow, None)
    }

    /// Like [`DockerEngine::log_stream`], from the last `tail` lines (all with None).
    pub fn log_stream_tail(
        &self,
        container: &str,
        follow: bool,
        tail: Option<usize>,
    ) -> impl Stream<Item = Result<String, bollard::errors::Error>> + Send + 'static {
        let tail = tail.map_or_else(|| "all".to_string(), |n| n.to_string());
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .follow(follow)
            .tail(&tail)
            .build();
        self.docker
            .logs(container, Some(options))
            .map_ok(|c| String::from_utf8_lossy(&c.into_bytes()).into_owned())
    }
}
