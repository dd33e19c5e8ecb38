//! Fabric's protocols as fabx speaks them, and nothing else: no container engine, no
//! network, no state directory. Protos; a client identity; one gRPC channel builder; one
//! error type with one transient rule; proposals and envelopes; the Endorser, Deliver and
//! Broadcast clients; discovery; the orderers' channel participation API; policies and
//! private data collections; the `peer` CLI's commands and what it prints.
//!
//! A crate of its own so that the protos and tonic code compile once, not with every edit
//! of fabx, and so that the compiler keeps this layer from reaching up into fabx.

pub mod ca;
pub mod cli;
pub mod connection;
pub mod discovery;
pub mod envelope;
mod error;
pub mod identity;
pub mod ledger;
pub mod node;
pub mod participation;
pub mod policy;
pub mod proposal;
pub mod protos;
pub mod system;
pub mod transient;

pub use error::{error_chain, FabricError};
pub use identity::ClientIdentity;
pub use node::{CommitStream, NodeConnection};
pub use proposal::{Invocation, Proposal};
