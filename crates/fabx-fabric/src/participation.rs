//! The orderers' channel participation API (`/participation/v1/channels`), spoken by fabx
//! itself over HTTPS with mutual TLS as the orderer org's admin, where `osnadmin` needed a
//! tools container. The admin endpoint is reached through its published host port; the
//! TLS server name is the orderer's host name, as in its certificate. Each call is one
//! request; an endpoint still starting is a transient [`FabricError`] the caller retries.

use crate::{error_chain, FabricError};
use reqwest::{Certificate, Client, Identity};
use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A channel as an orderer reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ChannelInfo {
    pub name: String,
    #[serde(rename = "consensusRelation")]
    pub consensus_relation: String,
    pub status: String,
    pub height: u64,
}

#[derive(Deserialize)]
struct ChannelList {
    channels: Option<Vec<ChannelEntry>>,
}

#[derive(Deserialize)]
struct ChannelEntry {
    name: String,
}

/// One orderer's admin endpoint: its host name (TLS server name) and where it listens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AdminEndpoint {
    pub orderer: String,
    pub address: SocketAddr,
}

/// A client of the participation API with the orderer org admin's TLS identity.
#[derive(Clone)]
pub struct ParticipationClient {
    ca: Certificate,
    identity: Identity,
    identity_path: PathBuf,
    clients: Arc<Mutex<HashMap<AdminEndpoint, Client>>>,
}

impl ParticipationClient {
    /// `tls_ca`: the orderer org's TLS CA; `admin_tls`: the admin's `tls/` directory
    /// (client.crt, client.key).
    pub fn new(tls_ca: &Path, admin_tls: &Path) -> Result<Self, FabricError> {
        let read = |path: PathBuf| {
            std::fs::read(&path).map_err(|source| FabricError::ReadIdentity { path, source })
        };
        let ca = read(tls_ca.to_path_buf())?;
        let mut identity = read(admin_tls.join("client.crt"))?;
        identity.extend(read(admin_tls.join("client.key"))?);
        let tls = |path: &Path, e: reqwest::Error| FabricError::AdminTls {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        Ok(ParticipationClient {
            ca: Certificate::from_pem(&ca).map_err(|e| tls(tls_ca, e))?,
            identity: Identity::from_pem(&identity).map_err(|e| tls(admin_tls, e))?,
            identity_path: admin_tls.to_path_buf(),
            clients: Arc::default(),
        })
    }

    /// Joins the orderer to the channel of `block` (a genesis or config block).
    pub async fn join(
        &self,
        endpoint: &AdminEndpoint,
        block: Vec<u8>,
    ) -> Result<ChannelInfo, FabricError> {
        let path = "/participation/v1/channels".to_string();
        let body = self
            .send(endpoint, "POST", &path, |http, url| {
                let part = reqwest::multipart::Part::bytes(block.clone())
                    .file_name("config.block")
                    .mime_str("application/octet-stream")
                    .expect("a valid MIME type");
                http.post(url)
                    .multipart(reqwest::multipart::Form::new().part("config-block", part))
            })
            .await?;
        parse(endpoint, &path, &body)
    }

    /// The channels the orderer is a member of.
    pub async fn list(&self, endpoint: &AdminEndpoint) -> Result<Vec<String>, FabricError> {
        let path = "/participation/v1/channels".to_string();
        let body = self.send(endpoint, "GET", &path, |h, u| h.get(u)).await?;
        let list: ChannelList = parse(endpoint, &path, &body)?;
        Ok(list
            .channels
            .unwrap_or_default()
            .into_iter()
            .map(|c| c.name)
            .collect())
    }

    /// One channel's status and height on the orderer.
    pub async fn info(
        &self,
        endpoint: &AdminEndpoint,
        channel: &str,
    ) -> Result<ChannelInfo, FabricError> {
        let path = format!("/participation/v1/channels/{channel}");
        let body = self.send(endpoint, "GET", &path, |h, u| h.get(u)).await?;
        parse(endpoint, &path, &body)
    }

    /// Removes the orderer from the channel (its ledger of it is deleted).
    pub async fn remove(&self, endpoint: &AdminEndpoint, channel: &str) -> Result<(), FabricError> {
        let path = format!("/participation/v1/channels/{channel}");
        self.send(endpoint, "DELETE", &path, |h, u| h.delete(u))
            .await
            .map(|_| ())
    }

    /// Sends one request; any HTTP status other than 2xx is an error with its body.
    async fn send(
        &self,
        endpoint: &AdminEndpoint,
        method: &'static str,
        path: &str,
        build: impl Fn(&Client, String) -> reqwest::RequestBuilder,
    ) -> Result<String, FabricError> {
        // The URL names the orderer (TLS server name) at the published port; the
        // connection goes to the published address.
        let url = format!(
            "https://{}:{}{path}",
            endpoint.orderer,
            endpoint.address.port()
        );
        let http = self.resolving(endpoint)?;
        let response = build(&http, url)
            .send()
            .await
            .map_err(|e| FabricError::AdminRequest {
                orderer: endpoint.orderer.clone(),
                address: endpoint.address,
                message: error_chain(&e),
                connect: e.is_connect(),
            })?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if status.is_success() {
            return Ok(body);
        }
        Err(FabricError::AdminStatus {
            orderer: endpoint.orderer.clone(),
            method,
            path: path.to_string(),
            status: status.as_u16(),
            body: error_text(&body),
        })
    }

    /// A client that resolves the orderer's host name to its published address (reqwest
    /// overrides resolution per client), built once per endpoint.
    fn resolving(&self, endpoint: &AdminEndpoint) -> Result<Client, FabricError> {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = clients.get(endpoint) {
            return Ok(client.clone());
        }
        let client = Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(self.ca.clone())
            .identity(self.identity.clone())
            .resolve(&endpoint.orderer, endpoint.address)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .no_proxy()
            .build()
            .map_err(|e| FabricError::AdminTls {
                path: self.identity_path.clone(),
                message: error_chain(&e),
            })?;
        clients.insert(endpoint.clone(), client.clone());
        Ok(client)
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    endpoint: &AdminEndpoint,
    path: &str,
    body: &str,
) -> Result<T, FabricError> {
    serde_json::from_str(body).map_err(|e| FabricError::Unparseable {
        server_name: endpoint.orderer.clone(),
        what: format!("the answer to {path}"),
        detail: format!("{e}: {}", body.chars().take(500).collect::<String>()),
    })
}

/// The orderer's `{"error": "..."}` text, or the body as it is.
fn error_text(body: &str) -> String {
    #[derive(Deserialize)]
    struct ErrorBody {
        error: String,
    }
    serde_json::from_str::<ErrorBody>(body)
        .map(|e| e.error)
        .unwrap_or_else(|_| body.trim().chars().take(500).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> AdminEndpoint {
        AdminEndpoint {
            orderer: "orderer.example.com".into(),
            address: "127.0.0.1:7053".parse().unwrap(),
        }
    }

    #[test]
    fn answers_are_read_strictly() {
        let list = r#"{"systemChannel":null,"channels":[{"name":"channel1","url":"/participation/v1/channels/channel1"}]}"#;
        let list: ChannelList = parse(&endpoint(), "/p", list).unwrap();
        let names: Vec<String> = list.channels.unwrap().into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["channel1"]);
        let none: ChannelList = parse(&endpoint(), "/p", r#"{"channels":null}"#).unwrap();
        assert!(none.channels.is_none());

        let info = r#"{"name":"channel1","url":"/x","consensusRelation":"consenter","status":"active","height":3}"#;
        let info: ChannelInfo = parse(&endpoint(), "/p", info).unwrap();
        assert_eq!((info.height, info.status.as_str()), (3, "active"));

        let err = parse::<ChannelInfo>(&endpoint(), "/p/c", "<html>bad gateway</html>")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("orderer.example.com")
                && err.contains("/p/c")
                && err.contains("bad gateway"),
            "{err}"
        );
    }

    #[test]
    fn error_bodies_give_the_orderers_message() {
        assert_eq!(
            error_text(r#"{"error":"channel already exists"}"#),
            "channel already exists"
        );
        assert_eq!(error_text("  plain text \n"), "plain text");
    }
}
