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

pub(crate) fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}
