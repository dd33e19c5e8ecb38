//! The `peer` CLI as values: each command renders the argument list that runs inside a
//! peer's container (the lifecycle stays a CLI, as the design says), with the environment
//! that makes the CLI act as an org admin, and parsers of what it prints.

pub mod lifecycle;
pub mod output;

/// Anything run with the `peer` CLI inside a peer's own container, as its org admin.
pub trait PeerCli {
    fn args(&self) -> Vec<String>;
    /// Whether the CLI must log at INFO: some results (install's package ID) are only
    /// logged.
    fn result_is_logged(&self) -> bool {
        false
    }
}

/// How long the `peer` CLI may take to connect to a peer or an orderer.
pub const DIAL_TIMEOUT: &str = "10s";

/// Who the `peer` CLI acts as, and against which peer, inside a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliAdmin {
    pub msp_id: String,
    /// The admin's MSP directory inside the container.
    pub msp_dir: String,
    /// The peer's `host:port`.
    pub peer_address: String,
    /// The peer's TLS CA certificate file inside the container.
    pub tls_root_cert: String,
}

/// Environment that makes the `peer` CLI act as `admin` over TLS.
pub fn peer_env(admin: &CliAdmin, command: &impl PeerCli) -> Vec<String> {
    let logging = if command.result_is_logged() {
        // Fabric 3.x logs every gRPC connection at INFO; keep those out.
        "grpc=error:info"
    } else {
        "error"
    };
    vec![
        format!("CORE_PEER_LOCALMSPID={}", admin.msp_id),
        format!("CORE_PEER_MSPCONFIGPATH={}", admin.msp_dir),
        format!("CORE_PEER_ADDRESS={}", admin.peer_address),
        format!("CORE_PEER_TLS_ROOTCERT_FILE={}", admin.tls_root_cert),
        format!("FABRIC_LOGGING_SPEC={logging}"),
        // The CLI dials peers with core.yaml's 3 s; a busy machine needs more, and a
        // dial that still fails is retried (see crate::transient).
        format!("CORE_PEER_CLIENT_CONNTIMEOUT={DIAL_TIMEOUT}"),
    ]
}

/// A TLS handshake with a chaincode server, made by the `peer` CLI from a peer's
/// container with the files the peers dial it with: `peer channel list` against the
/// server, which does not serve that service, so "unimplemented" is the answer of a
/// server whose handshake succeeded; a failed handshake never gets that far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsHandshakeProbe {
    /// Who asks (any MSP the CLI can load will do: the server checks no Fabric identity).
    pub msp_id: String,
    pub msp_dir: String,
    /// The server's `host:port`, as the peers dial it.
    pub address: String,
    /// Where `ca.crt`, `client.crt` and `client.key` are inside the container.
    pub tls_dir: String,
    /// Whether the server asks for the client certificate.
    pub mutual: bool,
}

/// How long the handshake probe waits for the server's TLS answer.
pub const HANDSHAKE_TIMEOUT: &str = "5s";

impl PeerCli for TlsHandshakeProbe {
    fn args(&self) -> Vec<String> {
        strings(&["peer", "channel", "list"])
    }
}

impl TlsHandshakeProbe {
    /// The CLI's environment: TLS to the server with the peers' files.
    pub fn env(&self) -> Vec<String> {
        let dir = &self.tls_dir;
        vec![
            format!("CORE_PEER_LOCALMSPID={}", self.msp_id),
            format!("CORE_PEER_MSPCONFIGPATH={}", self.msp_dir),
            format!("CORE_PEER_ADDRESS={}", self.address),
            "CORE_PEER_TLS_ENABLED=true".into(),
            format!("CORE_PEER_TLS_ROOTCERT_FILE={dir}/ca.crt"),
            format!("CORE_PEER_TLS_CLIENTAUTHREQUIRED={}", self.mutual),
            format!("CORE_PEER_TLS_CLIENTCERT_FILE={dir}/client.crt"),
            format!("CORE_PEER_TLS_CLIENTKEY_FILE={dir}/client.key"),
            format!("CORE_PEER_CLIENT_CONNTIMEOUT={HANDSHAKE_TIMEOUT}"),
            "FABRIC_LOGGING_SPEC=error".into(),
        ]
    }

    /// Whether what the probe printed says the handshake succeeded.
    pub fn succeeded(printed: &str) -> bool {
        printed.contains("Unimplemented") || printed.contains("unknown service")
    }
}

pub(crate) fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}
