//! Credentials fabx makes once per network for a server it runs (a CouchDB admin, a Fabric
//! CA's bootstrap registrar): a user and a random password, kept in a JSON file of the
//! state directory with mode 0600.

use crate::artifacts::crypto;
use crate::network::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl Credentials {
    /// `user` with a new random password, written to `path`.
    pub fn create(path: &Path, user: &str) -> Result<Credentials> {
        let mut bytes = [0u8; 24];
        getrandom::getrandom(&mut bytes)
            .map_err(|e| Error::io("draw random bytes for", path, e.into()))?;
        let credentials = Credentials {
            user: user.to_string(),
            password: hex::encode(bytes),
        };
        let text = serde_json::to_string_pretty(&credentials).expect("plain struct serializes");
        crypto::write_file(path, &text, true)?;
        Ok(credentials)
    }

    /// The credentials [`Credentials::create`] wrote to `path`.
    pub fn load(path: &Path) -> Result<Credentials> {
        let text =
            std::fs::read_to_string(path).map_err(|source| Error::io("read", path, source))?;
        serde_json::from_str(&text).map_err(|e| Error::Credentials {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    }
}
