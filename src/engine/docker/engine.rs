//! [`Engine`] on Docker: each workload is one container on the network's Docker network.

use super::{DockerEngine, DockerError};
use crate::engine::spec::{client_host, ExecOutput, ImageConfig, UploadFile, WorkloadSpec};
use crate::engine::{
    Engine, EngineError as Error, EngineKind, LogChunks, NodeService, Result, Workload,
};
use async_trait::async_trait;
use bollard::models::ContainerSummary;
use bollard::query_parameters::InspectContainerOptions;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

fn workload(c: &ContainerSummary) -> Workload {
    let mut published: Vec<(u16, String, u16)> = c
        .ports
        .iter()
        .flatten()
        .filter_map(|p| {
            let public = p.public_port?;
            let ip = p.ip.clone().unwrap_or_else(|| "127.0.0.1".into());
            Some((p.private_port, ip, public))
        })
        .collect();
    published.sort();
    Workload {
        name: c
            .names
            .iter()
            .flatten()
            .next()
            .map(|n| n.trim_start_matches('/').to_string())
            .unwrap_or_default(),
        state: c.state.map(|s| s.to_string()).unwrap_or_default(),
        labels: c.labels.clone().unwrap_or_default(),
        published,
    }
}

impl DockerEngine {
    /// The host address and port `port` of container `name` is published on.
    async fn published_binding(&self, name: &str, port: u16) -> Result<(String, u16)> {
        let info = self
            .client()
            .inspect_container(name, None::<InspectContainerOptions>)
            .await;
        let info = match info {
            Ok(info) => info,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {
                return Err(Error::NoWorkload {
                    name: name.to_string(),
                })
            }
            Err(source) => {
                return Err(DockerError::Inspect {
                    object: format!("container {name}"),
                    source,
                }
                .into())
            }
        };
        let bindings = info
            .network_settings
            .and_then(|n| n.ports)
            .and_then(|ports| ports.get(&format!("{port}/tcp")).cloned().flatten())
            .unwrap_or_default();
        let binding = bindings
            .iter()
            .find(|b| !b.host_ip.as_deref().unwrap_or_default().contains(':'))
            .or(bindings.first());
        match binding.and_then(|b| Some((b.host_ip.clone(), b.host_port.as_ref()?.parse().ok()?))) {
            Some((ip, host_port)) => Ok((ip.unwrap_or_else(|| "127.0.0.1".into()), host_port)),
            None => Err(Error::NoHostPort {
                name: name.to_string(),
                port,
            }),
        }
    }
}

#[async_trait]
impl Engine for DockerEngine {
    fn kind(&self) -> EngineKind {
        EngineKind::Docker
    }

    fn endpoint(&self) -> String {
        DockerEngine::endpoint(self).to_string()
    }

    fn service_host(&self, alias: &str) -> String {
        alias.to_string()
    }

    fn space(&self) -> String {
        "the Docker network".into()
    }

    fn foreign_space(&self, network: &str) -> Error {
        Error::ForeignNetwork {
            network: network.to_string(),
        }
    }

    async fn space_labels(&self, network: &str) -> Result<Option<HashMap<String, String>>> {
        Ok(self.network_labels(network).await?)
    }

    async fn create_space(
        &self,
        network: &str,
        labels: HashMap<String, String>,
        _nodes: &[NodeService],
    ) -> Result<()> {
        // Network aliases name the nodes; nothing else is needed.
        Ok(self.create_network(network, labels).await?)
    }

    async fn remove_space(&self, network: &str) -> Result<()> {
        Ok(self.remove_network(network).await?)
    }

    async fn ensure_image(
        &self,
        image: &str,
        progress: &mut (dyn for<'s> FnMut(&'s str) + Send),
    ) -> Result<()> {
        Ok(DockerEngine::ensure_image(self, image, progress).await?)
    }

    async fn image_config(&self, image: &str) -> Result<Option<ImageConfig>> {
        Ok(DockerEngine::image_config(self, image).await?)
    }

    async fn image_id(&self, image: &str) -> Result<Option<String>> {
        Ok(DockerEngine::image_id(self, image).await?)
    }

    async fn build_image(
        &self,
        context: Vec<u8>,
        tag: &str,
        labels: HashMap<String, String>,
        log: &mut (dyn for<'s> FnMut(&'s str) + Send),
    ) -> Result<String> {
        Ok(DockerEngine::build_image(self, context, tag, labels, log).await?)
    }

    async fn read_image_file(
        &self,
        image: &str,
        path: &str,
        labels: HashMap<String, String>,
        name: &str,
    ) -> Result<Vec<u8>> {
        // A created (never started) container: its files can be copied out.
        let spec = WorkloadSpec {
            name: name.to_string(),
            image: image.to_string(),
            labels,
            network: "none".into(),
            ..Default::default()
        };
        self.create_container(&spec).await?;
        let contents = self.download_file(name, path).await;
        self.remove_container(name).await?;
        Ok(contents?)
    }

    async fn create(&self, spec: &WorkloadSpec) -> Result<()> {
        self.create_container(spec).await?;
        // Through the Docker API, not a bind mount: works with a remote DOCKER_HOST.
        // One upload per directory: each costs a round trip into the container's layer.
        let mut by_dir: Vec<(&str, Vec<UploadFile>)> = Vec::new();
        for (dir, file) in &spec.files {
            match by_dir.iter_mut().find(|(d, _)| d == dir) {
                Some((_, files)) => files.push(file.clone()),
                None => by_dir.push((dir, vec![file.clone()])),
            }
        }
        for (dir, files) in &by_dir {
            self.upload(&spec.name, dir, files).await?;
        }
        Ok(())
    }

    async fn start(&self, name: &str) -> Result<()> {
        Ok(self.start_container(name).await?)
    }

    async fn remove(&self, name: &str) -> Result<()> {
        Ok(self.remove_container(name).await?)
    }

    async fn rename(&self, from: &str, to: &str) -> Result<()> {
        Ok(self.rename_container(from, to).await?)
    }

    async fn workloads(&self, labels: &[String]) -> Result<Vec<Workload>> {
        Ok(self
            .containers_labelled(labels)
            .await?
            .iter()
            .map(workload)
            .collect())
    }

    async fn state(&self, name: &str) -> Result<Option<String>> {
        Ok(self.container_state(name).await?)
    }

    async fn await_exit(&self, name: &str) {
        DockerEngine::await_exit(self, name).await
    }

    async fn stop(&self, name: &str) -> Result<()> {
        // Fabric's nodes close their ledgers on SIGTERM within a second or two.
        Ok(self.stop_container(name, 10).await?)
    }

    async fn set_paused(&self, name: &str, paused: bool) -> Result<()> {
        Ok(DockerEngine::set_paused(self, name, paused).await?)
    }

    async fn download_tar(&self, name: &str, path: &str) -> Result<Vec<u8>> {
        Ok(DockerEngine::download_tar(self, name, path).await?)
    }

    async fn upload_tar(&self, name: &str, dir: &str, archive: Vec<u8>) -> Result<()> {
        Ok(DockerEngine::upload_tar(self, name, dir, archive).await?)
    }

    async fn save_images(&self, images: &[String]) -> Result<Vec<u8>> {
        Ok(DockerEngine::save_images(self, images).await?)
    }

    async fn load_images(&self, archive: Vec<u8>) -> Result<()> {
        Ok(DockerEngine::load_images(self, archive).await?)
    }

    async fn exec(&self, name: &str, cmd: &[String], env: &[String]) -> Result<ExecOutput> {
        Ok(DockerEngine::exec(self, name, cmd, env).await?)
    }

    async fn upload(&self, name: &str, dir: &str, files: &[UploadFile]) -> Result<()> {
        Ok(DockerEngine::upload(self, name, dir, files).await?)
    }

    async fn logs_tail(&self, name: &str, lines: usize) -> Result<String> {
        Ok(DockerEngine::logs_tail(self, name, lines).await?)
    }

    fn log_stream(&self, name: &str, follow: bool, tail: Option<usize>) -> LogChunks {
        self.log_stream_tail(name, follow, tail)
            .map(|chunk| chunk.map_err(|e| e.to_string()))
            .boxed()
    }

    async fn storage(&self) -> Result<Option<String>> {
        // The images' volumes, removed with the containers by `down`.
        Ok(None)
    }

    async fn reach(&self, name: &str, port: u16) -> Result<SocketAddr> {
        let (ip, host_port) = self.published_binding(name, port).await?;
        // Every-interface bindings are reached through loopback.
        let ip = match ip.parse::<IpAddr>() {
            Ok(ip) if !ip.is_unspecified() => ip,
            _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
        };
        Ok(SocketAddr::new(ip, host_port))
    }

    async fn client_address(&self, name: &str, port: u16) -> Result<String> {
        let (ip, host_port) = self.published_binding(name, port).await?;
        Ok(format!("{}:{host_port}", client_host(&ip)))
    }
}
