//! Deterministic CCaaS packages.
//!
//! The package ID is `label:` + SHA-256 of the package bytes, so the same inputs must
//! give the same bytes: fixed entry order, zero mtimes, root owner, fixed modes and a
//! gzip header without time or name. The ID is then known before install.

use crate::artifacts::chaincode_tls::ServerTls;
use crate::support::tar::{tar_of, TarFile};
use flate2::{Compression, GzBuilder};
use sha2::{Digest, Sha256};
use std::io::Write;

/// Port the chaincode server listens on in its container.
pub const CHAINCODE_PORT: u16 = 9999;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub label: String,
    /// What the peer dials (`host:port`).
    pub address: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid chaincode label {0:?} (use letters and digits, then also '_', '.', '+' or '-', e.g. examplecc_1.0)")]
pub struct LabelError(pub String);

/// Fabric's label rule: `^[[:alnum:]][[:alnum:]_.+-]*$`.
pub fn validate_label(label: &str) -> Result<(), LabelError> {
    let mut chars = label.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'));
    ok.then_some(())
        .ok_or_else(|| LabelError(label.to_string()))
}

impl Package {
    /// A `ccaas` package whose connection.json points the peer at `address`, in plain text.
    pub fn ccaas(label: &str, address: &str) -> Result<Package, LabelError> {
        Package::ccaas_tls(label, address, None, &[])
    }

    /// A `ccaas` package whose connection.json points the peer at `address`, with the
    /// TLS fields of Fabric's CCaaS documentation (PEM contents, not paths), and
    /// `statedb` (CouchDB index definitions, see [`crate::artifacts::statedb`]) beside it.
    pub fn ccaas_tls(
        label: &str,
        address: &str,
        tls: Option<&ServerTls>,
        statedb: &[TarFile],
    ) -> Result<Package, LabelError> {
        validate_label(label)?;
        let metadata = serde_json::json!({ "type": "ccaas", "label": label, "path": "" });
        let connection = match tls {
            None => serde_json::json!({
                "address": address,
                "dial_timeout": "10s",
                "tls_required": false,
            }),
            Some(tls) => {
                let (client_cert, client_key) = tls.client.clone().unwrap_or_default();
                serde_json::json!({
                    "address": address,
                    "dial_timeout": "10s",
                    "tls_required": true,
                    "client_auth_required": tls.client.is_some(),
                    "client_key": client_key,
                    "client_cert": client_cert,
                    "root_cert": tls.ca_cert,
                })
            }
        };
        let mut code = vec![TarFile::new("connection.json", pretty(&connection), 0o644)];
        code.extend_from_slice(statedb);
        let code = gzip(&tar_of(&code));
        let bytes = gzip(&tar_of(&[
            TarFile::new("metadata.json", pretty(&metadata), 0o644),
            TarFile::new("code.tar.gz", code, 0o644),
        ]));
        Ok(Package {
            label: label.to_string(),
            address: address.to_string(),
            bytes,
        })
    }

    pub fn id(&self) -> String {
        format!("{}:{:x}", self.label, Sha256::digest(&self.bytes))
    }

    /// File name for the package inside a peer container.
    pub fn file_name(&self) -> String {
        format!("{}-{:x}.tar.gz", self.label, Sha256::digest(&self.bytes))
    }
}

fn pretty(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec_pretty(value).expect("JSON values serialize")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::default());
    encoder
        .write_all(bytes)
        .expect("compressing in memory cannot fail");
    encoder.finish().expect("compressing in memory cannot fail")
}
