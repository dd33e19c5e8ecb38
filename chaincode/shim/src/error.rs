use std::path::PathBuf;

/// Everything that can go wrong in the shim.
#[derive(Debug, thiserror::Error)]
pub enum ShimError {
    #[error("environment variable {name} is not set ({hint})")]
    MissingEnv {
        name: &'static str,
        hint: &'static str,
    },

    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    InvalidEnv {
        name: &'static str,
        value: String,
        reason: String,
    },

    #[error("cannot read {what} file {path}: {source}")]
    ReadFile {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{what} file {path} does not contain PEM data")]
    NotPem { what: &'static str, path: PathBuf },

    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        #[source]
        source: std::io::Error,
    },

    #[error("invalid TLS configuration: {0}")]
    Tls(#[source] tonic::transport::Error),

    #[error("gRPC server failed: {0}")]
    Transport(#[source] tonic::transport::Error),

    #[error("gRPC stream failed: {0}")]
    Stream(#[from] tonic::Status),

    #[error("protocol error: {0}")]
    Protocol(String),

    #[error("peer answered {op} {key:?} with an error: {message}")]
    Peer {
        op: &'static str,
        key: String,
        message: String,
    },

    #[error("rich queries need CouchDB as the peer's state database, and this peer runs LevelDB (set `state_database: couchdb` in the network's topology); the peer said: {message}")]
    RichQueryUnsupported { message: String },

    #[error("connection to the peer is closed")]
    Disconnected,

    #[error("cannot decode {what}: {source}")]
    Decode {
        what: &'static str,
        #[source]
        source: prost::DecodeError,
    },

    /// The client's certificate lacks an attribute or has another value (Go's
    /// `AssertAttributeValue`).
    #[error("{0}")]
    AttributeMismatch(String),

    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}
