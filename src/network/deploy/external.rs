//! `deploy --address HOST:PORT`: chaincode the user runs (in a debugger, as a host
//! process). fabx starts no container; the package points the peers at HOST:PORT, fabx
//! gives the environment the process needs, and waits until every org's peer reaches it.

use super::servers::{ChaincodeServer, CHAINCODE_PORT_NONE};
use super::DeployRequest;
use crate::artifacts::chaincode_tls::ChaincodeTls;
use crate::engine::wait::{await_reachable, Reachable};
use crate::network::error::{Error, Result};
use crate::network::Network;
use futures_util::future::try_join_all;
use std::time::Duration;

/// `host:port` from `--address`, checked.
pub fn parse_address(address: &str) -> Result<(String, u16)> {
    let bad = |why: &str| Error::BadInput {
        problem: format!("--address {address:?} cannot be used: {why}"),
        fix:
            "give HOST:PORT, e.g. --address host.docker.internal:9999 for a process on this machine"
                .into(),
    };
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| bad("it has no port"))?;
    let port: u16 = port.parse().map_err(|_| bad("the port is not a number"))?;
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(bad("it has no host"));
    }
    if port == CHAINCODE_PORT_NONE {
        return Err(bad("port 0 is not a port"));
    }
    Ok((host.to_string(), port))
}

impl Network {
    /// The environment the user's chaincode process needs: the Fabric samples'
    /// convention, with absolute paths of the TLS files fabx wrote.
    pub(super) fn external_env(&self, server: &ChaincodeServer) -> Result<Vec<(String, String)>> {
        let mut env = vec![
            ("CHAINCODE_ID".to_string(), server.package.id()),
            (
                "CHAINCODE_SERVER_ADDRESS".into(),
                format!("0.0.0.0:{}", server.port),
            ),
            (
                "CORE_PEER_LOCALMSPID".into(),
                server.dialled_by().to_string(),
            ),
        ];
        let Some(tls) = &server.tls else {
            env.push(("CHAINCODE_TLS_DISABLED".into(), "true".into()));
            return Ok(env);
        };
        let files = ChaincodeTls::new(absolute(&self.layout.chaincode_tls()));
        let (cert, key) = files.server_paths(&server.host);
        env.push(("CHAINCODE_TLS_DISABLED".into(), "false".into()));
        env.push(("CHAINCODE_TLS_KEY".into(), key.display().to_string()));
        env.push(("CHAINCODE_TLS_CERT".into(), cert.display().to_string()));
        if tls.client.is_some() {
            env.push((
                "CHAINCODE_CLIENT_CA_CERT".into(),
                files.ca_cert_path().display().to_string(),
            ));
        }
        Ok(env)
    }

    /// The environment for `deploy --address` without deploying: what a test or a
    /// script starts its chaincode process with before it calls `deploy`.
    pub fn external_chaincode_env(&self, request: &DeployRequest) -> Result<Vec<(String, String)>> {
        let label = request.label();
        let channel = self.topology.channel_or_default(request.channel.as_deref());
        let servers = self.plan_servers(request, &channel, &label)?;
        let server = servers.first().ok_or_else(|| Error::BadInput {
            problem: "a deploy of a chaincode at an address was given no address".into(),
            fix: "give Source::Address(HOST:PORT)".into(),
        })?;
        self.external_env(server)
    }

    /// Every org's peer resolves the host: checked before any transaction.
    pub(super) async fn check_resolvable(&self, server: &ChaincodeServer) -> Result<()> {
        try_join_all(self.dialling_peers()?.iter().map(|peer| async move {
            let container = self.topology.container_name(&peer.host);
            let resolve = ["getent".to_string(), "hosts".into(), server.host.clone()];
            if self.engine.exec(&container, &resolve, &[]).await?.success() {
                return Ok(());
            }
            Err(Error::BadInput {
                problem: format!(
                    "--address {}: {} cannot resolve {}",
                    server.address(),
                    peer.host,
                    server.host
                ),
                fix: "use host.docker.internal:PORT for a process on this machine, or a name or address the peers can reach".into(),
            })
        }))
        .await?;
        Ok(())
    }

    fn dialling_peers(&self) -> Result<Vec<crate::topology::Node>> {
        self.topology
            .orgs
            .iter()
            .map(|o| self.org_peer(&o.msp_id))
            .collect()
    }

    /// The user's process of `request` (deployed with an address) is reached by every
    /// org's peer, within [`super::servers::SERVER_TIMEOUT`]: after `fabx dev --run`
    /// restarted it. Its TLS files are those the deploy checked.
    pub(crate) async fn await_external_server(&self, request: &DeployRequest) -> Result<()> {
        let channel = self.topology.channel_or_default(request.channel.as_deref());
        let servers = self.plan_servers(request, &channel, &request.label())?;
        let server = servers.first().ok_or_else(|| Error::BadInput {
            problem: "a chaincode at an address was given no address".into(),
            fix: "give Source::Address(HOST:PORT)".into(),
        })?;
        self.await_external_checked(server, super::servers::SERVER_TIMEOUT, false)
            .await
    }

    /// Every org's peer reaches the chaincode and, with TLS, completes a handshake,
    /// within `wait`.
    pub(super) async fn await_external(
        &self,
        server: &ChaincodeServer,
        wait: Duration,
    ) -> Result<()> {
        self.await_external_checked(server, wait, true).await
    }

    async fn await_external_checked(
        &self,
        server: &ChaincodeServer,
        wait: Duration,
        handshake: bool,
    ) -> Result<()> {
        try_join_all(self.dialling_peers()?.iter().map(|peer| async move {
            let container = self.topology.container_name(&peer.host);
            let target = Reachable {
                from: container,
                host: server.host.clone(),
                port: server.port,
            };
            if !await_reachable(&*self.engine, &target, wait).await? {
                return Err(Error::ChaincodeNotAnswering {
                    address: server.address(),
                    peer: peer.host.clone(),
                    waited: wait,
                });
            }
            match &server.tls {
                Some(tls) if handshake => self.check_handshake(server, tls, peer).await,
                _ => Ok(()),
            }
        }))
        .await?;
        Ok(())
    }
}

fn absolute(path: &std::path::Path) -> std::path::PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
