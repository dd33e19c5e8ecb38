//! fabx: a local Hyperledger Fabric network in Docker or on Kubernetes, with chaincode as
//! an external service.
//!
//! The library does the work and reports progress through [`Reporter`]; the `fabx`
//! binary only parses arguments and draws the reports. Layers, each depending only on
//! those below it:
//!
//! - [`network`]: the only home of [`Network`]: up, resume, down, status, logs, env,
//!   profiles, readiness, calls, and `deploy`; [`harness`] on top of it for tests.
//! - [`artifacts`]: pure functions from a topology to files and bytes.
//! - [`engine`]: containers and nothing of Fabric (Docker, Kubernetes).
//! - `fabx_fabric` (its own crate): Fabric's protocols and nothing else.
//! - [`topology`]: the user's input.
//! - [`support`]: progress reports, the step timer, the one retry, the gate, the tar writer.

pub mod artifacts;
pub mod engine;
pub mod harness;
pub mod network;
pub mod support;
pub mod topology;
pub mod ui;

pub use artifacts::layout::Layout;
pub use engine::docker::DockerEngine;
pub use engine::{Engine, EngineChoice, EngineError, EngineKind, EngineRef};
/// Blocks and transactions as `fabx blocks` and `fabx tx` show them.
pub use fabx_fabric::ledger;
pub use network::error::{Error, Result};
pub use network::Network;
pub use support::profile;
pub use support::reporter::{self, Reporter};
pub use topology::Topology;
