//! `fabx-shim`: a small Hyperledger Fabric chaincode shim for chaincode-as-a-service.
//!
//! Implement [`Chaincode`] and call [`serve_from_env`]; the peer connects to the
//! chaincode's gRPC server (`protos.Chaincode/Connect`) and drives transactions.
//!
//! ```no_run
//! use fabx_shim::{Chaincode, Response, Stub};
//!
//! struct Hello;
//! impl Chaincode for Hello {
//!     async fn init(&self, _stub: &Stub) -> Response {
//!         Response::success(Vec::new())
//!     }
//!     async fn invoke(&self, stub: &Stub) -> Response {
//!         let (function, _params) = stub.function_and_parameters();
//!         Response::success(function.into_bytes())
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), fabx_shim::ShimError> {
//!     fabx_shim::serve_from_env(Hello).await
//! }
//! ```

mod composite_key;
mod error;
mod handler;
mod identity;
pub mod mock_peer;
mod proposal;
mod response;
mod server;
mod statebased;
mod stub;
mod timestamp;

/// Generated protobuf types: a minimal subset of Fabric's `protos` package, with
/// the few messages of its `common`, `msp` and `queryresult` packages the shim reads.
#[allow(clippy::all)]
pub mod proto {
    tonic::include_proto!("protos");

    /// Fabric's `common` package (proposal headers, signature policies).
    pub mod common {
        tonic::include_proto!("common");
    }

    /// Fabric's `msp` package (the creator's identity, policy principals).
    pub mod msp {
        tonic::include_proto!("msp");
    }

    /// Fabric's `queryresult` package (query and history records).
    pub mod queryresult {
        tonic::include_proto!("queryresult");
    }
}

pub use composite_key::{create_composite_key, split_composite_key};
pub use error::ShimError;
pub use identity::{ClientIdentity, ATTRIBUTES_OID};
pub use response::{Response, ERROR, ERROR_THRESHOLD, OK};
pub use server::{serve, serve_from_env, serve_with_listener, ServerConfig, TlsConfig};
pub use statebased::{KeyEndorsementPolicy, RoleType};
pub use stub::{KeyModification, KeyValue, Page, Stub, VALIDATION_PARAMETER};

/// Fabric's gRPC message limit (the Go shim and peer use 100 MiB both ways).
pub const MAX_MESSAGE_SIZE: usize = 100 * 1024 * 1024;

/// A chaincode: `init` handles INIT messages, `invoke` handles TRANSACTION messages.
///
/// Implementations may use `async fn`; the futures must be `Send` because each
/// transaction runs on its own task.
pub trait Chaincode: Send + Sync + 'static {
    fn init(&self, stub: &Stub) -> impl std::future::Future<Output = Response> + Send;
    fn invoke(&self, stub: &Stub) -> impl std::future::Future<Output = Response> + Send;
}
