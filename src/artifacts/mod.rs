//! Pure functions from a topology to files and bytes: crypto material, chaincode TLS,
//! the genesis block and channel configuration, configtx.yaml, core.yaml, chaincode
//! packages, and the state directory's layout. Nothing here runs a container or dials a
//! node.

pub mod chaincode_tls;
pub mod channel_config;
pub mod configtx;
pub mod core_yaml;
pub mod crypto;
pub mod fabric_ca;
pub mod identities;
pub mod layout;
pub mod package;
pub mod scaffold;
pub mod statedb;
