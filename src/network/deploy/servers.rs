//! The chaincode servers: one container per org (each org's peers dial their own), or
//! one shared by every org. Each is labelled so `down` removes it.

use super::ChaincodeImage;
use crate::artifacts::chaincode_tls::{ChaincodeTls, ServerTls, TlsMode};
use crate::artifacts::package::{Package, CHAINCODE_PORT};
use crate::engine::spec::{UploadFile, WorkloadSpec, LABEL_MSP, ROLE_CHAINCODE};
use crate::engine::wait::{await_log, await_reachable, Reachable, SHIM_LISTENING};
use crate::network::error::{Error, Result};
use crate::network::specs::labels;
use crate::network::Network;
use crate::topology::Topology;
use fabx_fabric::cli::{PeerCli, TlsHandshakeProbe};
use std::time::Duration;

/// Label with the package label (`<name>_<version>` by default) on chaincode containers.
pub const LABEL_CHAINCODE: &str = "fabx.chaincode";
/// Label with the package ID a chaincode container serves.
pub const LABEL_PACKAGE_ID: &str = "fabx.package-id";
/// Label with the image ID a chaincode container runs.
pub const LABEL_IMAGE_ID: &str = "fabx.image-id";

/// How long each part of a server's replacement took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SwapTimes {
    /// The new container created and started beside the old.
    pub start: Duration,
    /// Until the new one accepted connections (or said it listens).
    pub ready: Duration,
    /// The old one removed, the new one renamed: the peers reach only the new one.
    pub switch: Duration,
}

/// How long a chaincode server may take to accept connections.
pub const SERVER_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct ChaincodeServer {
    /// Host name the peers dial (in the Docker network, or the user's machine).
    pub host: String,
    pub port: u16,
    pub container: String,
    /// Orgs whose peers dial this server.
    pub msp_ids: Vec<String>,
    pub package: Package,
    /// None: plain text.
    pub tls: Option<ServerTls>,
}

impl ChaincodeServer {
    /// `host:port`, what the peers dial.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The (first) org whose peers dial this server; `plan` gives every server one.
    pub fn dialled_by(&self) -> &str {
        self.msp_ids.first().map(String::as_str).unwrap_or_default()
    }
}

/// What every package of a chaincode carries besides its server's address and TLS.
pub struct PackageContents<'a> {
    pub label: &'a str,
    /// CouchDB index definitions (see [`crate::artifacts::statedb`]).
    pub statedb: &'a [crate::support::tar::TarFile],
}

/// The servers of a chaincode and the package each serves.
pub fn plan(
    topology: &Topology,
    name: &str,
    contents: &PackageContents,
    shared: bool,
    tls: (&ChaincodeTls, TlsMode),
    external: Option<(&str, u16)>,
    dial: &dyn Fn(&str) -> String,
) -> Result<Vec<ChaincodeServer>> {
    let PackageContents { label, statedb } = *contents;
    let server_at = |host: String, port: u16, msp_ids: Vec<String>| -> Result<ChaincodeServer> {
        let address = format!("{host}:{port}");
        let material = tls.0.for_server(tls.1, &host, &msp_ids.join("+"))?;
        Ok(ChaincodeServer {
            container: topology.container_name(&host),
            package: Package::ccaas_tls(label, &address, material.as_ref(), statedb)?,
            tls: material,
            host,
            port,
            msp_ids,
        })
    };
    // Our servers are dialled by the name the engine gives them.
    let server =
        |host: String, msp_ids: Vec<String>| server_at(dial(&host), CHAINCODE_PORT, msp_ids);
    // A chaincode the user runs: every org's peers dial the one address.
    if let Some((host, port)) = external {
        let all = topology.orgs.iter().map(|o| o.msp_id.clone()).collect();
        return Ok(vec![server_at(host.to_string(), port, all)?]);
    }
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
    /// it accepts connections (see [`Network::await_accepting`] for `init_follows`).
    /// Returns whether a container was started.
    pub(crate) async fn run_server(
        &self,
        server: &ChaincodeServer,
        image: &ChaincodeImage,
        init_follows: bool,
    ) -> Result<bool> {
        let package_id = server.package.id();
        if self
            .server_is_current(server, &image.id, &package_id)
            .await?
        {
            return Ok(false);
        }
        self.start_server(server, image).await?;
        if let Err(e) = self.await_accepting(server, init_follows).await {
            let _ = self.engine.remove(&server.container).await;
            return Err(e);
        }
        Ok(true)
    }

    /// Starts a server's container (replacing one of its name) without waiting for it;
    /// [`Network::await_accepting`] waits.
    pub(crate) async fn start_server(
        &self,
        server: &ChaincodeServer,
        image: &ChaincodeImage,
    ) -> Result<()> {
        self.engine.remove(&server.container).await?;
        let spec = self.server_spec(server, image, &server.container);
        self.engine.create(&spec).await?;
        Ok(self.engine.start(&spec.name).await?)
    }

    /// The container of a server, named `name`.
    fn server_spec(
        &self,
        server: &ChaincodeServer,
        image: &ChaincodeImage,
        name: &str,
    ) -> WorkloadSpec {
        let package_id = server.package.id();
        let mut labels = labels(&self.topology, ROLE_CHAINCODE);
        labels.insert(LABEL_CHAINCODE.into(), server.package.label.clone());
        labels.insert(LABEL_PACKAGE_ID.into(), package_id.clone());
        labels.insert(LABEL_IMAGE_ID.into(), image.id.clone());
        labels.insert(LABEL_MSP.into(), server.msp_ids.join(","));
        let mut env = vec![
            format!("CHAINCODE_ID={package_id}"),
            format!("CHAINCODE_SERVER_ADDRESS=0.0.0.0:{CHAINCODE_PORT}"),
            // The peer does not pass its MSP ID to external chaincode; GetMSPID needs it.
            format!("CORE_PEER_LOCALMSPID={}", server.dialled_by()),
        ];
        env.extend(tls_env(server.tls.as_ref()));
        WorkloadSpec {
            name: name.to_string(),
            image: image.reference.clone(),
            env,
            labels,
            network: self.topology.network.clone(),
            aliases: vec![server.host.clone()],
            ports: vec![server.port],
            files: server
                .tls
                .iter()
                .flat_map(tls_files)
                .map(|f| ("/".to_string(), f))
                .collect(),
            ..Default::default()
        }
    }

    /// Replaces a running server with one running `image`, so that the peers are never
    /// without one: the new container starts beside the old under the same network alias
    /// (the peers keep their stream to the old one), and once it accepts connections the
    /// old one is removed and the new one takes its name. A peer's stream to the old
    /// server ends with it; its next call dials the alias again and finds only the new
    /// one. If the new server exits or never accepts, it is removed and the old one
    /// serves on. `files` are put into the new container before it starts (a new
    /// binary over the image's). Docker only (a container renamed while it runs).
    pub(crate) async fn replace_server(
        &self,
        server: &ChaincodeServer,
        image: &ChaincodeImage,
        files: &[(String, UploadFile)],
    ) -> Result<SwapTimes> {
        let next = format!("{}-next", server.container);
        // Left by a reload that was interrupted.
        self.engine.remove(&next).await?;
        let started = std::time::Instant::now();
        let mut spec = self.server_spec(server, image, &next);
        spec.files.extend_from_slice(files);
        self.engine.create(&spec).await?;
        self.engine.start(&next).await?;
        let start = started.elapsed();
        // The new container by its own name: the alias may still answer with the old.
        if let Err(e) = self.await_server_at(server, &next, &next, true).await {
            let _ = self.engine.remove(&next).await;
            return Err(e);
        }
        let ready = started.elapsed() - start;
        self.engine.remove(&server.container).await?;
        self.engine.rename(&next, &server.container).await?;
        let switch = started.elapsed() - start - ready;
        Ok(SwapTimes {
            start,
            ready,
            switch,
        })
    }

    async fn server_is_current(
        &self,
        server: &ChaincodeServer,
        image_id: &str,
        package_id: &str,
    ) -> Result<bool> {
        let found = self
            .engine
            .workloads(&[
                format!("{LABEL_PACKAGE_ID}={package_id}"),
                format!("{LABEL_IMAGE_ID}={image_id}"),
            ])
            .await?;
        Ok(found
            .iter()
            .any(|c| c.state == "running" && c.name == server.container))
    }

    /// Waits until a peer that dials the server can open a TCP connection to it, or the
    /// container exits. When init follows and no TLS handshake is checked, fabx's own
    /// shim saying it listens is enough: init's endorsement needs every org's peer to
    /// reach its server and asks again while one cannot yet (a peer's path to a new
    /// container can lag: "no route to host" to an address a removed container had).
    /// Otherwise the probe from the peer's container decides, as deploy's return promises
    /// applications a reachable chaincode.
    pub(crate) async fn await_accepting(
        &self,
        server: &ChaincodeServer,
        init_follows: bool,
    ) -> Result<()> {
        let trust_shim = init_follows && server.tls.is_none();
        self.await_server_at(server, &server.container, &server.host, trust_shim)
            .await?;
        match &server.tls {
            Some(tls) => {
                let peer = self.org_peer(server.dialled_by())?;
                self.check_handshake(server, tls, &peer).await
            }
            None => Ok(()),
        }
    }

    /// Waits until `container`, a server of `server`'s, accepts connections at `host`
    /// from a peer that dials it (or, with `trust_shim`, says it listens), or exits.
    async fn await_server_at(
        &self,
        server: &ChaincodeServer,
        container: &str,
        host: &str,
        trust_shim: bool,
    ) -> Result<()> {
        let peer = self.org_peer(server.dialled_by())?;
        let target = Reachable {
            from: self.topology.container_name(&peer.host),
            host: host.to_string(),
            port: server.port,
        };
        let tail = |engine: crate::engine::EngineRef, container: String| async move {
            engine.logs_tail(&container, 12).await.unwrap_or_default()
        };
        tokio::select! {
            Ok(()) = await_log(&*self.engine, container, SHIM_LISTENING, SERVER_TIMEOUT), if trust_shim => {
                Ok(())
            }
            reached = await_reachable(&*self.engine, &target, SERVER_TIMEOUT) => {
                if reached? {
                    return Ok(());
                }
                Err(Error::ChaincodeUnreachable {
                    container: container.to_string(),
                    address: format!("{host}:{}", server.port),
                    tail: tail(self.engine.clone(), container.to_string()).await,
                })
            }
            _ = self.engine.await_exit(container) => Err(Error::ChaincodeExited {
                container: container.to_string(),
                tail: tail(self.engine.clone(), container.to_string()).await,
            }),
        }
    }
}

impl Network {
    /// A real TLS handshake with the server, from the container of a peer that dials it,
    /// with the client certificate the peers present (`mutual`): see [`TlsHandshakeProbe`].
    pub(crate) async fn check_handshake(
        &self,
        server: &ChaincodeServer,
        tls: &ServerTls,
        peer: &crate::topology::Node,
    ) -> Result<()> {
        let from = &self.topology.container_name(&peer.host);
        let dir = format!("/tmp/fabx-chaincode-tls/{}", server.host);
        let (client_cert, client_key) = tls.client.clone().unwrap_or_default();
        let files = [
            ("ca.crt", &tls.ca_cert),
            ("client.crt", &client_cert),
            ("client.key", &client_key),
        ]
        .into_iter()
        .map(|(name, contents)| crate::engine::UploadFile {
            name: format!("{}/{name}", dir.trim_start_matches('/')),
            contents: contents.as_bytes().to_vec(),
            mode: 0o600,
        })
        .collect::<Vec<_>>();
        self.engine.upload(from, "/", &files).await?;
        let probe = TlsHandshakeProbe {
            msp_id: peer.msp_id.clone(),
            msp_dir: crate::artifacts::layout::container::ADMIN_MSP.to_string(),
            address: server.address(),
            tls_dir: dir,
            mutual: tls.client.is_some(),
        };
        // Once: a failed handshake looks like a dial that timed out, which the CLI runner
        // would try again for a minute.
        let output = self.engine.exec(from, &probe.args(), &probe.env()).await?;
        if output.success() || TlsHandshakeProbe::succeeded(&output.printed()) {
            return Ok(());
        }
        Err(Error::ChaincodeTlsHandshake {
            name: server.package.label.clone(),
            address: server.address(),
            mode: tls.mode.as_str(),
            cause: output.last_error_line(),
        })
    }
}

/// Not a port a chaincode can listen on.
pub const CHAINCODE_PORT_NONE: u16 = 0;

/// Where a chaincode container finds its TLS files.
pub const CONTAINER_TLS_DIR: &str = "/fabx/chaincode-tls";

/// The Fabric samples' env convention for a chaincode server's TLS.
pub fn tls_env(tls: Option<&ServerTls>) -> Vec<String> {
    let Some(tls) = tls else {
        return vec!["CHAINCODE_TLS_DISABLED=true".into()];
    };
    let mut env = vec![
        "CHAINCODE_TLS_DISABLED=false".to_string(),
        format!("CHAINCODE_TLS_KEY={CONTAINER_TLS_DIR}/server.key"),
        format!("CHAINCODE_TLS_CERT={CONTAINER_TLS_DIR}/server.crt"),
    ];
    if tls.client.is_some() {
        env.push(format!(
            "CHAINCODE_CLIENT_CA_CERT={CONTAINER_TLS_DIR}/ca.crt"
        ));
    }
    env
}

/// The files [`tls_env`] names, for an upload to `/`.
fn tls_files(tls: &ServerTls) -> Vec<crate::engine::UploadFile> {
    let dir = CONTAINER_TLS_DIR.trim_start_matches('/');
    // Readable by the chaincode whatever user its image runs as; the container is its own.
    [
        ("server.key", &tls.server_key, 0o644),
        ("server.crt", &tls.server_cert, 0o644),
        ("ca.crt", &tls.ca_cert, 0o644),
    ]
    .into_iter()
    .map(|(name, contents, mode)| crate::engine::UploadFile {
        name: format!("{dir}/{name}"),
        contents: contents.as_bytes().to_vec(),
        mode,
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::CHAINCODE_PORT;
    use crate::engine::wait::SHIM_LISTENING;

    #[test]
    fn the_shim_readiness_line_names_the_address_fabx_gives_its_servers() {
        // As the shim prints it (chaincode/shim/src/server.rs) for the address fabx sets.
        let line = format!(
            "fabx-shim: chaincode examplecc_1.0:9f2a listening on 0.0.0.0:{CHAINCODE_PORT} (plain)"
        );
        assert!(line.contains(SHIM_LISTENING.needle));
        // A shim bound to loopback is not reachable by the peers: not ready.
        let loopback = format!(
            "fabx-shim: chaincode examplecc_1.0:9f2a listening on 127.0.0.1:{CHAINCODE_PORT} (plain)"
        );
        assert!(!loopback.contains(SHIM_LISTENING.needle));
    }
}
