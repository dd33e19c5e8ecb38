//! The chaincode servers: one container per org (each org's peers dial their own), or
//! one shared by every org. Each is labelled so `down` removes it.

use super::package::{Package, CHAINCODE_PORT};
use super::ChaincodeImage;
use crate::containers::labels;
use crate::docker::{ContainerSpec, LABEL_MSP, ROLE_CHAINCODE};
use crate::error::{Error, Result};
use crate::network::Network;
use crate::topology::Topology;
use crate::wait::{await_reachable, Reachable};
use std::time::Duration;

/// Label with the package label (`<name>_<version>` by default) on chaincode containers.
pub const LABEL_CHAINCODE: &str = "fabx.chaincode";
/// Label with the package ID a chaincode container serves.
pub const LABEL_PACKAGE_ID: &str = "fabx.package-id";
/// Label with the image ID a chaincode container runs.
pub const LABEL_IMAGE_ID: &str = "fabx.image-id";

/// How long a chaincode server may take to accept connections.
pub const SERVER_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct ChaincodeServer {
    /// Host name in the Docker network.
    pub host: String,
    pub container: String,
    /// Orgs whose peers dial this server.
    pub msp_ids: Vec<String>,
    pub package: Package,
}

impl ChaincodeServer {
    /// The (first) org whose peers dial this server; `plan` gives every server one.
    pub fn dialled_by(&self) -> &str {
        self.msp_ids.first().map(String::as_str).unwrap_or_default()
    }
}

/// The servers of a chaincode and the package each serves.
pub fn plan(
    topology: &Topology,
    name: &str,
    label: &str,
    shared: bool,
) -> Result<Vec<ChaincodeServer>> {
    let server = |host: String, msp_ids: Vec<String>| -> Result<ChaincodeServer> {
        let address = format!("{host}:{CHAINCODE_PORT}");
        Ok(ChaincodeServer {
            container: topology.container_name(&host),
            package: Package::ccaas(label, &address)?,
            host,
            msp_ids,
        })
    };
    let host_name = name.to_ascii_lowercase().replace('_', "-");
    if shared {
        let all = topology.orgs.iter().map(|o| o.msp_id.clone()).collect();
        return Ok(vec![server(
            format!("{host_name}.{}", topology.orderer_org.domain),
            all,
        )?]);
    }
    topology
        .orgs
        .iter()
        .map(|o| server(format!("{host_name}.{}", o.domain), vec![o.msp_id.clone()]))
        .collect()
}

/// The server an org's peers dial.
pub fn serving<'a>(servers: &'a [ChaincodeServer], msp_id: &str) -> Result<&'a ChaincodeServer> {
    servers
        .iter()
        .find(|s| s.msp_ids.iter().any(|m| m == msp_id))
        .ok_or_else(|| Error::UnknownOrg {
            msp_id: msp_id.to_string(),
            known: servers
                .iter()
                .flat_map(|s| s.msp_ids.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(", "),
        })
}

impl Network {
    /// Runs a server unless the same image already serves the same package; waits until
    /// it accepts connections. Returns whether a container was started.
    pub(super) async fn run_server(
        &self,
        server: &ChaincodeServer,
        image: &ChaincodeImage,
    ) -> Result<bool> {
        let package_id = server.package.id();
        if self
            .server_is_current(server, &image.id, &package_id)
            .await?
        {
            return Ok(false);
        }
        self.engine.remove_container(&server.container).await?;
        let mut labels = labels(&self.topology, ROLE_CHAINCODE);
        labels.insert(LABEL_CHAINCODE.into(), server.package.label.clone());
        labels.insert(LABEL_PACKAGE_ID.into(), package_id.clone());
        labels.insert(LABEL_IMAGE_ID.into(), image.id.clone());
        labels.insert(LABEL_MSP.into(), server.msp_ids.join(","));
        let spec = ContainerSpec {
            name: server.container.clone(),
            image: image.reference.clone(),
            env: vec![
                format!("CHAINCODE_ID={package_id}"),
                format!("CHAINCODE_SERVER_ADDRESS=0.0.0.0:{CHAINCODE_PORT}"),
                // The peer does not pass its MSP ID to external chaincode; GetMSPID needs it.
                format!("CORE_PEER_LOCALMSPID={}", server.dialled_by()),
                "CHAINCODE_TLS_DISABLED=true".into(),
            ],
            labels,
            network: self.topology.network.clone(),
            aliases: vec![server.host.clone()],
            ..Default::default()
        };
        self.engine.create_container(&spec).await?;
        self.engine.start_container(&spec.name).await?;
        if let Err(e) = self.await_accepting(server).await {
            let _ = self.engine.remove_container(&server.container).await;
            return Err(e);
        }
        Ok(true)
    }

    async fn server_is_current(
        &self,
        server: &ChaincodeServer,
        image_id: &str,
        package_id: &str,
    ) -> Result<bool> {
        let found = self
            .engine
            .containers_labelled(&[
                format!("{LABEL_PACKAGE_ID}={package_id}"),
                format!("{LABEL_IMAGE_ID}={image_id}"),
            ])
            .await?;
        Ok(found.iter().any(|c| {
            let running = c.state.map(|s| s.to_string()) == Some("running".into());
            let named = c
                .names
                .iter()
                .flatten()
                .any(|n| n.trim_start_matches('/') == server.container);
            running && named
        }))
    }

    /// Waits until a peer that dials the server can open a TCP connection to it, or the
    /// container exits.
    async fn await_accepting(&self, server: &ChaincodeServer) -> Result<()> {
        let peer = self.org_peer(server.dialled_by())?;
        let target = Reachable {
            from: self.topology.container_name(&peer.host),
            host: server.host.clone(),
            port: CHAINCODE_PORT,
        };
        let tail = |engine: crate::docker::Engine, container: String| async move {
            engine.logs_tail(&container, 12).await.unwrap_or_default()
        };
        tokio::select! {
            reached = await_reachable(&self.engine, &target, SERVER_TIMEOUT) => {
                if reached? {
                    return Ok(());
                }
                Err(Error::ChaincodeUnreachable {
                    container: server.container.clone(),
                    address: format!("{}:{CHAINCODE_PORT}", server.host),
                    tail: tail(self.engine.clone(), server.container.clone()).await,
                })
            }
            _ = self.engine.await_exit(&server.container) => Err(Error::ChaincodeExited {
                container: server.container.clone(),
                tail: tail(self.engine.clone(), server.container.clone()).await,
            }),
        }
    }
}
