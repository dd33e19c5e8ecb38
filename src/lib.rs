//! fabx: a local Hyperledger Fabric network in Docker or on Kubernetes, with chaincode as
//! an external service.
//!
//! The library does the work and reports progress through [`reporter::Reporter`]; the `fabx`
//! binary only parses arguments and draws the reports.

pub mod chaincode_image;
pub mod chaincode_tls;
pub mod channel_config;
pub mod collections;
pub mod commands;
pub mod configtx;
pub mod containers;
pub mod crypto;
pub mod deploy;
pub mod discovery;
pub mod discovery_client;
pub mod endorsement;
pub mod engine;
pub mod error;
pub mod fabric_protos;
pub mod harness;
pub mod invoke;
pub mod layout;
pub mod lock;
pub mod network;
pub mod participation;
pub mod peer_client;
pub mod peer_config;
pub mod profile;
pub mod reporter;
pub mod topology;
pub mod transient;
pub mod wait;

pub use engine::docker;
pub use engine::docker::DockerEngine;
pub use engine::{Engine, EngineChoice, EngineKind, EngineRef};
pub use error::{Error, Result};
pub use layout::Layout;
pub use network::Network;
pub use reporter::Reporter;
pub use topology::Topology;
