//! The one error type of Fabric's protocols as fabx speaks them, and the one rule that
//! says which failures may succeed when tried again ([`FabricError::is_transient`]).

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why a request to a peer or an orderer, or the identity it is made with, failed. Each
/// variant names the node or the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum FabricError {
    /// A file of a client identity is missing or unreadable.
    #[error("cannot read {}: {source}", .path.display())]
    ReadIdentity {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A key or certificate is not what Fabric expects.
    #[error("{} cannot be used: {problem}", .path.display())]
    BadKey { path: PathBuf, problem: String },
    /// No TLS connection (refused, timed out, or the node's certificate not trusted).
    #[error("cannot connect to {server_name} at {address}: {message}")]
    Connect {
        address: SocketAddr,
        server_name: String,
        message: String,
    },
    /// A gRPC call failed with `code`.
    #[error("{what} on {server_name} failed: {code:?}: {message}")]
    Rpc {
        server_name: String,
        what: String,
        code: tonic::Code,
        message: String,
    },
    /// The peer answered a proposal with an error status (the chaincode failed, or the
    /// request was refused); `message` is the peer's.
    #[error("{server_name} answered {status}: {message}")]
    Refused {
        server_name: String,
        status: i32,
        message: String,
    },
    /// The endorsing peers computed different results.
    #[error(
        "the endorsements of {first} and {other} differ (their ledgers or chaincode disagree)"
    )]
    Mismatch { first: String, other: String },
    /// The orderer did not accept the transaction.
    #[error("{server_name} did not order transaction {tx_id}: {status} {info}")]
    NotOrdered {
        server_name: String,
        tx_id: String,
        status: String,
        info: String,
    },
    /// The transaction was ordered, but the peer did not commit it in time: it may still
    /// commit, so it is never sent again.
    #[error("{server_name} did not commit transaction {tx_id} within {}s", .waited.as_secs())]
    NotCommitted {
        server_name: String,
        tx_id: String,
        waited: std::time::Duration,
    },
    /// Something came back that is not what Fabric sends; `detail` shows it.
    #[error("cannot read {what} from {server_name}: {detail}")]
    Unparseable {
        server_name: String,
        what: String,
        detail: String,
    },
    /// The admin client's TLS material cannot be used.
    #[error("cannot set up the orderer admin client with {}: {message}", .path.display())]
    AdminTls { path: PathBuf, message: String },
    /// An orderer's admin endpoint could not be asked; `connect` when no connection was made.
    #[error("orderer {orderer} admin endpoint ({address}): {message}")]
    AdminRequest {
        orderer: String,
        address: SocketAddr,
        message: String,
        connect: bool,
    },
    /// A Fabric CA server could not be asked; `connect` when no connection was made.
    #[error("Fabric CA {ca}: {what}: {message}")]
    CaRequest {
        ca: String,
        what: String,
        message: String,
        connect: bool,
    },
    /// A Fabric CA server refused a request with its own errors.
    #[error("Fabric CA {ca} refused {what} (HTTP {status}): {message}")]
    CaRefused {
        ca: String,
        what: String,
        status: u16,
        message: String,
    },
    /// The admin endpoint answered with an HTTP error.
    #[error("orderer {orderer} answered {method} {path} with HTTP {status}: {body}")]
    AdminStatus {
        orderer: String,
        method: &'static str,
        path: String,
        status: u16,
        body: String,
    },
}

impl FabricError {
    /// Whether the same request may succeed later: the node could not be reached, was
    /// busy or starting (gRPC `Unavailable`, a deadline, HTTP 503), or an orderer had no
    /// leader yet (`SERVICE_UNAVAILABLE`). Everything else is permanent, and anything
    /// that may have been ordered is never sent twice.
    pub fn is_transient(&self) -> bool {
        match self {
            FabricError::Connect { .. } => true,
            FabricError::CaRequest { connect, .. } => *connect,
            FabricError::Rpc { code, .. } => crate::transient::code_is_transient(*code),
            FabricError::NotOrdered { status, .. } => status == "SERVICE_UNAVAILABLE",
            FabricError::AdminRequest { connect, .. } => *connect,
            FabricError::AdminStatus { status, .. } => *status == 503,
            _ => false,
        }
    }

    /// A failed gRPC call of `what` on `server_name`.
    pub fn rpc(server_name: &str, what: &str, status: &tonic::Status) -> FabricError {
        FabricError::Rpc {
            server_name: server_name.to_string(),
            what: what.to_string(),
            code: status.code(),
            message: status.message().to_string(),
        }
    }
}

/// An error with its causes (transport errors say little on their own: "transport
/// error", "error sending request"), each cause once.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(&format!(": {cause_text}"));
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unreachable_busy_and_leaderless_failures_are_transient() {
        let rpc = |code| FabricError::Rpc {
            server_name: "peer0".into(),
            what: "a proposal".into(),
            code,
            message: "x".into(),
        };
        assert!(rpc(tonic::Code::Unavailable).is_transient());
        assert!(rpc(tonic::Code::DeadlineExceeded).is_transient());
        assert!(!rpc(tonic::Code::PermissionDenied).is_transient());
        assert!(!rpc(tonic::Code::Unknown).is_transient());
        let ordered = |status: &str| FabricError::NotOrdered {
            server_name: "orderer".into(),
            tx_id: "t".into(),
            status: status.into(),
            info: String::new(),
        };
        assert!(ordered("SERVICE_UNAVAILABLE").is_transient());
        assert!(!ordered("BAD_REQUEST").is_transient());
        assert!(!FabricError::Refused {
            server_name: "peer0".into(),
            status: 500,
            message: "chaincode failed".into()
        }
        .is_transient());
        assert!(!FabricError::NotCommitted {
            server_name: "peer0".into(),
            tx_id: "t".into(),
            waited: std::time::Duration::from_secs(30),
        }
        .is_transient());
        let admin = |status| FabricError::AdminStatus {
            orderer: "orderer".into(),
            method: "POST",
            path: "/participation/v1/channels".into(),
            status,
            body: String::new(),
        };
        assert!(admin(503).is_transient());
        assert!(!admin(405).is_transient());
    }
}
