//! The one way fabx opens a gRPC channel to a Fabric node: TLS, the node's certificate
//! checked against its TLS CA and host name, the client's TLS certificate presented.

use crate::{error_chain, ClientIdentity, FabricError};
use std::net::SocketAddr;
use std::time::Duration;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// How long the TCP connection and TLS handshake with a node may take together.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How often an open connection is pinged: a followed block stream whose node vanished
/// (its container removed, no reset sent) ends within a ping and its timeout instead of
/// waiting forever. Fabric's nodes refuse pings more often than every 60 s
/// (`peer.keepalive.minInterval`, `General.Keepalive.ServerMinInterval`).
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(65);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// A gRPC channel over TLS to `address`, verifying that the server's certificate is for
/// `server_name` and issued by `tls_ca_pem`, and presenting the identity's TLS client
/// certificate (discovery requires it; other services accept it). A failure is
/// [`FabricError::Connect`], which says why.
pub async fn tls_channel(
    address: SocketAddr,
    server_name: &str,
    tls_ca_pem: &[u8],
    identity: &ClientIdentity,
) -> Result<Channel, FabricError> {
    let failed = |message: String| FabricError::Connect {
        address,
        server_name: server_name.to_string(),
        message,
    };
    let tls = ClientTlsConfig::new()
        .domain_name(server_name)
        .ca_certificate(Certificate::from_pem(tls_ca_pem))
        .identity(Identity::from_pem(
            &identity.tls_cert_pem,
            &identity.tls_key_pem,
        ));
    let endpoint = Endpoint::from_shared(format!("https://{address}"))
        .map(|endpoint| {
            endpoint
                .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
                .keep_alive_timeout(KEEPALIVE_TIMEOUT)
                .keep_alive_while_idle(true)
        })
        .and_then(|endpoint| endpoint.tls_config(tls))
        .map_err(|e| failed(error_chain(&e)))?;
    tokio::time::timeout(CONNECT_TIMEOUT, endpoint.connect())
        .await
        .map_err(|_| {
            failed(format!(
                "no connection within {}s",
                CONNECT_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|e| failed(error_chain(&e)))
}
