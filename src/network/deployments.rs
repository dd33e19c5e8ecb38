//! What each deploy left running, kept in the state directory (`deployments/<channel>/
//! <name>.json`) so that a snapshot can say how to run the chaincode servers again: the
//! options of the definition and where the servers' image came from.

use super::deploy::image::BuildProfile;
use super::deploy::{DeployRequest, Source, TlsMode};
use super::Network;
use crate::network::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One deployed chaincode on one channel, as its last deploy ran it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    pub name: String,
    pub channel: String,
    pub version: String,
    pub label: String,
    pub source: DeploymentSource,
    pub shared_container: bool,
    /// `off`, `server` or `mutual`.
    pub tls: String,
    /// Whether a Rust chaincode was built `release` or `dev`.
    pub dev_build: bool,
    /// The image the servers run (empty for a chaincode the user runs) and its ID.
    pub image: String,
    pub image_id: String,
    /// The META-INF directory given with `--meta-inf` (absolute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_inf: Option<PathBuf>,
}

/// Where the servers' code came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentSource {
    /// Built from this directory (absolute).
    Directory(PathBuf),
    Image(String),
    /// The user's own process at `host:port`.
    Address(String),
}

impl Deployment {
    /// The record of `request`, deployed on `channel` with servers running `image`.
    pub fn of(request: &DeployRequest, channel: &str, image: &str, image_id: &str) -> Deployment {
        let source = match &request.source {
            Source::Directory(dir) => DeploymentSource::Directory(
                std::path::absolute(dir).unwrap_or_else(|_| dir.clone()),
            ),
            Source::Image(image) => DeploymentSource::Image(image.clone()),
            Source::Address(address) => DeploymentSource::Address(address.clone()),
        };
        Deployment {
            name: request.name.clone(),
            channel: channel.to_string(),
            version: request.version.clone(),
            label: request.label(),
            source,
            shared_container: request.shared_container,
            tls: request.tls_mode().as_str().to_string(),
            dev_build: request.build == BuildProfile::Dev,
            image: image.to_string(),
            image_id: image_id.to_string(),
            meta_inf: request
                .meta_inf
                .as_ref()
                .map(|d| std::path::absolute(d).unwrap_or_else(|_| d.clone())),
        }
    }

    /// A request that plans the same servers with the same packages.
    pub fn request(&self) -> Result<DeployRequest> {
        let source = match &self.source {
            DeploymentSource::Directory(dir) => Source::Directory(dir.clone()),
            DeploymentSource::Image(image) => Source::Image(image.clone()),
            DeploymentSource::Address(address) => Source::Address(address.clone()),
        };
        let tls: TlsMode = self.tls.parse().map_err(|problem| Error::BadInput {
            problem: format!("the record of chaincode {}: {problem}", self.name),
            fix: "deploy the chaincode again".into(),
        })?;
        let mut request = DeployRequest::new(&self.name, source);
        request.version = self.version.clone();
        request.label = Some(self.label.clone());
        request.channel = Some(self.channel.clone());
        request.shared_container = self.shared_container;
        request.meta_inf = self.meta_inf.clone();
        request.tls = Some(tls);
        request.build = match self.dev_build {
            true => BuildProfile::Dev,
            false => BuildProfile::Release,
        };
        Ok(request)
    }
}

impl Network {
    fn deployments_dir(&self) -> PathBuf {
        self.layout.root().join("deployments")
    }

    /// Records a deploy (the last one of a name on a channel wins).
    pub(crate) fn record_deployment(&self, deployment: &Deployment) -> Result<()> {
        let path = self
            .deployments_dir()
            .join(&deployment.channel)
            .join(format!("{}.json", deployment.name));
        let text = serde_json::to_string_pretty(deployment).expect("a deployment serializes");
        crate::artifacts::crypto::write_file(&path, &text, false)?;
        Ok(())
    }

    /// Every recorded deployment, by channel and name.
    pub fn deployments(&self) -> Result<Vec<Deployment>> {
        read_deployments(&self.deployments_dir())
    }
}

/// The deployments recorded under `dir`, sorted by channel and name.
pub fn read_deployments(dir: &Path) -> Result<Vec<Deployment>> {
    let mut found = Vec::new();
    let channels = match dir.read_dir() {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(source) => return Err(Error::io("read", dir, source)),
    };
    for channel in channels.filter_map(|e| e.ok()) {
        let files = channel
            .path()
            .read_dir()
            .map_err(|source| Error::io("read", &channel.path(), source))?;
        for file in files.filter_map(|e| e.ok()) {
            let path = file.path();
            let text = std::fs::read_to_string(&path)
                .map_err(|source| Error::io("read", &path, source))?;
            let deployment: Deployment =
                serde_json::from_str(&text).map_err(|e| Error::BadInput {
                    problem: format!("{} cannot be read: {e}", path.display()),
                    fix: "deploy the chaincode again, which writes it anew".into(),
                })?;
            found.push(deployment);
        }
    }
    found.sort_by(|a, b| (&a.channel, &a.name).cmp(&(&b.channel, &b.name)));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_deployment_gives_back_the_request_that_plans_the_same_servers() {
        let mut request = DeployRequest::new("examplecc", Source::Directory("cc/x".into()));
        request.version = "2.0".into();
        request.shared_container = true;
        request.build = BuildProfile::Dev;
        let record = Deployment::of(&request, "channel1", "fabx/examplecc:2.0", "sha256:1");
        let DeploymentSource::Directory(dir) = &record.source else {
            panic!("a directory source stays one: {record:?}")
        };
        assert!(dir.is_absolute() && dir.ends_with("cc/x"), "{dir:?}");
        let again = record.request().unwrap();
        assert_eq!(again.label(), "examplecc_2.0");
        assert_eq!(again.channel.as_deref(), Some("channel1"));
        assert_eq!(again.tls_mode(), TlsMode::Mutual);
        assert!(again.shared_container);
        assert_eq!(again.build, BuildProfile::Dev);
    }

    #[test]
    fn no_directory_means_no_deployments_and_a_bad_record_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_deployments(&dir.path().join("none"))
            .unwrap()
            .is_empty());
        std::fs::create_dir_all(dir.path().join("c")).unwrap();
        std::fs::write(dir.path().join("c/x.json"), "{").unwrap();
        let e = read_deployments(dir.path()).unwrap_err().to_string();
        assert!(e.contains("x.json cannot be read"), "{e}");
    }
}
