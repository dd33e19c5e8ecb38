//! The gRPC server the peer connects to, and its configuration from the
//! environment (same variables as the Fabric samples' CCaaS chaincodes).

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Status, Streaming};

use crate::handler::run_connection;
use crate::proto::chaincode_server::{Chaincode as GrpcChaincode, ChaincodeServer};
use crate::proto::ChaincodeMessage;
use crate::{Chaincode, ShimError, MAX_MESSAGE_SIZE};

/// Server TLS material (PEM contents). With `client_ca_pem` the peer must
/// present a client certificate signed by that CA (mutual TLS).
#[derive(Clone, Debug)]
pub struct TlsConfig {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    pub client_ca_pem: Option<Vec<u8>>,
}

/// Everything `serve` needs.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The package ID the chaincode registers with (`label:hash`).
    pub chaincode_id: String,
    /// `host:port` to listen on, e.g. `0.0.0.0:9999`.
    pub address: String,
    pub tls: Option<TlsConfig>,
}

impl ServerConfig {
    /// Reads CHAINCODE_ID, CHAINCODE_SERVER_ADDRESS, CHAINCODE_TLS_DISABLED,
    /// CHAINCODE_TLS_KEY, CHAINCODE_TLS_CERT, CHAINCODE_CLIENT_CA_CERT.
    pub fn from_env() -> Result<Self, ShimError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`ServerConfig::from_env`] with a custom variable lookup (for tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ShimError> {
        let required = |name: &'static str, hint: &'static str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or(ShimError::MissingEnv { name, hint })
        };
        let chaincode_id = required("CHAINCODE_ID", "the installed package ID, label:hash")?;
        let address = required(
            "CHAINCODE_SERVER_ADDRESS",
            "listen address, e.g. 0.0.0.0:9999",
        )?;
        // As in the Fabric samples, TLS is off unless CHAINCODE_TLS_DISABLED is false.
        let tls_disabled = match lookup("CHAINCODE_TLS_DISABLED") {
            None => true,
            Some(v) => parse_bool(&v).ok_or_else(|| ShimError::InvalidEnv {
                name: "CHAINCODE_TLS_DISABLED",
                value: v.clone(),
                reason: "expected true or false".into(),
            })?,
        };
        let tls = if tls_disabled {
            None
        } else {
            let hint = "a PEM file path, required when CHAINCODE_TLS_DISABLED=false";
            let key = required("CHAINCODE_TLS_KEY", hint)?;
            let cert = required("CHAINCODE_TLS_CERT", hint)?;
            let client_ca = lookup("CHAINCODE_CLIENT_CA_CERT").filter(|v| !v.trim().is_empty());
            Some(TlsConfig {
                key_pem: read_pem("TLS key (CHAINCODE_TLS_KEY)", &key)?,
                cert_pem: read_pem("TLS certificate (CHAINCODE_TLS_CERT)", &cert)?,
                client_ca_pem: client_ca
                    .map(|p| read_pem("client CA (CHAINCODE_CLIENT_CA_CERT)", &p))
                    .transpose()?,
            })
        };
        Ok(ServerConfig {
            chaincode_id,
            address,
            tls,
        })
    }
}

/// Go's strconv.ParseBool spellings.
fn parse_bool(v: &str) -> Option<bool> {
    match v.trim() {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

fn read_pem(what: &'static str, path: &str) -> Result<Vec<u8>, ShimError> {
    let data = std::fs::read(path).map_err(|source| ShimError::ReadFile {
        what,
        path: PathBuf::from(path),
        source,
    })?;
    if !String::from_utf8_lossy(&data).contains("-----BEGIN") {
        return Err(ShimError::NotPem {
            what,
            path: PathBuf::from(path),
        });
    }
    Ok(data)
}

/// Reads the configuration from the environment and serves until SIGTERM/SIGINT.
pub async fn serve_from_env<C: Chaincode>(cc: C) -> Result<(), ShimError> {
    serve(cc, ServerConfig::from_env()?).await
}

/// Listens on `config.address` and serves until SIGTERM/SIGINT.
pub async fn serve<C: Chaincode>(cc: C, config: ServerConfig) -> Result<(), ShimError> {
    let listener = TcpListener::bind(&config.address)
        .await
        .map_err(|source| ShimError::Bind {
            address: config.address.clone(),
            source,
        })?;
    if ["127.", "localhost:", "[::1]:"]
        .iter()
        .any(|p| config.address.starts_with(p))
    {
        eprintln!(
            "fabx-shim: warning: {} is a loopback address; a peer in another container \
             cannot reach it (use 0.0.0.0:PORT)",
            config.address
        );
    }
    eprintln!(
        "fabx-shim: chaincode {} listening on {} ({})",
        config.chaincode_id,
        config.address,
        match &config.tls {
            None => "plain",
            Some(t) if t.client_ca_pem.is_some() => "mutual TLS",
            Some(_) => "TLS",
        }
    );
    serve_with_listener(cc, config, listener, shutdown_signal()).await
}

/// Serves on an already bound listener until `shutdown` resolves (tests bind port 0).
pub async fn serve_with_listener<C: Chaincode>(
    cc: C,
    config: ServerConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ShimError> {
    let service = ChaincodeServer::new(Service {
        cc: Arc::new(cc),
        chaincode_id: config.chaincode_id,
    })
    .max_decoding_message_size(MAX_MESSAGE_SIZE)
    .max_encoding_message_size(MAX_MESSAGE_SIZE);

    let mut builder = Server::builder();
    if let Some(tls) = config.tls {
        // tonic advertises ALPN h2, which the Go peer requires.
        let mut tls_config =
            ServerTlsConfig::new().identity(Identity::from_pem(tls.cert_pem, tls.key_pem));
        if let Some(ca) = tls.client_ca_pem {
            tls_config = tls_config.client_ca_root(Certificate::from_pem(ca));
        }
        builder = builder.tls_config(tls_config).map_err(ShimError::Tls)?;
    }
    builder
        .add_service(service)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await
        .map_err(ShimError::Transport)
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        },
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    eprintln!("fabx-shim: shutting down");
}

struct Service<C> {
    cc: Arc<C>,
    chaincode_id: String,
}

#[tonic::async_trait]
impl<C: Chaincode> GrpcChaincode for Service<C> {
    type ConnectStream = ReceiverStream<Result<ChaincodeMessage, Status>>;

    async fn connect(
        &self,
        request: Request<Streaming<ChaincodeMessage>>,
    ) -> Result<tonic::Response<Self::ConnectStream>, Status> {
        let peer = request.remote_addr();
        let (out, out_rx) = mpsc::channel(64);
        let (cc, id) = (self.cc.clone(), self.chaincode_id.clone());
        tokio::spawn(async move {
            match run_connection(cc, id, request.into_inner(), out).await {
                Ok(()) => eprintln!("fabx-shim: peer {peer:?} disconnected"),
                Err(e) => eprintln!("fabx-shim: connection from {peer:?} ended: {e}"),
            }
        });
        Ok(tonic::Response::new(ReceiverStream::new(out_rx)))
    }
}
