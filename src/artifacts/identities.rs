//! Users an org's CA signs after `up` (`fabx identity add`), in the cryptogen layout beside
//! `Admin` and `User1`: an enrollment certificate as Fabric CA issues one (CN the name, OU
//! the role, and Fabric CA's attribute extension with `hf.EnrollmentID`, `hf.Type`,
//! `hf.Affiliation` and the given attributes) and a TLS client certificate. Pure file work:
//! the caller checks names and the org.

use crate::artifacts::crypto::{self, CryptoError, Leaf, Role};
use crate::artifacts::layout::Layout;
use crate::topology::NodeKind;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use x509_parser::prelude::{FromDer, X509Certificate};

/// Attributes Fabric CA puts in every enrollment certificate; fabx writes them itself.
pub const RESERVED_ATTRIBUTES: [&str; 3] = ["hf.EnrollmentID", "hf.Type", "hf.Affiliation"];

/// An identity of an org, as read back from its enrollment certificate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Identity {
    pub name: String,
    /// The NodeOU of its certificate: `client`, `admin` (or `peer`, `orderer`).
    pub role: String,
    /// Fabric CA attributes (the `hf.` ones included); none for cryptogen's users.
    pub attributes: BTreeMap<String, String>,
    /// Its MSP directory (`signcerts`, `keystore`, ...).
    pub msp: PathBuf,
}

/// Writes user `name` of org `domain`, signed by the org's CA, with `attributes`; returns
/// its directory. Written to a sibling directory first and renamed, so a failure leaves
/// no half-made user.
pub fn add(
    layout: &Layout,
    domain: &str,
    name: &str,
    role: Role,
    attributes: &BTreeMap<String, String>,
) -> Result<PathBuf, CryptoError> {
    let org = layout.org_dir(NodeKind::Peer, domain);
    let ca = crypto::load_ca(&org.join("ca"), &format!("ca.{domain}"))?;
    let tlsca = crypto::load_ca(&org.join("tlsca"), &format!("tlsca.{domain}"))?;
    let mut all = attributes.clone();
    all.insert("hf.EnrollmentID".into(), name.to_string());
    all.insert("hf.Type".into(), role.ou().to_string());
    all.insert("hf.Affiliation".into(), String::new());
    let json = serde_json::json!({ "attrs": all }).to_string();

    let dir = layout.user_dir(NodeKind::Peer, domain, name);
    let staging = begin_staging(&dir);
    let leaf = Leaf {
        name,
        role,
        attributes: Some(&json),
    };
    let sans = [name.to_string()];
    let written = crypto::write_identity(&staging, &ca, &tlsca, &leaf, &sans, false);
    finish_staging(&staging, &dir, written).map(|()| dir)
}

/// A fresh directory beside user directory `dir` to write the user into first (see
/// [`finish_staging`]): a failure midway leaves no half-made user.
pub fn begin_staging(dir: &Path) -> PathBuf {
    let staging = dir.with_extension("partial");
    let _ = fs::remove_dir_all(&staging);
    staging
}

/// Renames `staging` to `dir` when the user was `written` whole; removes it otherwise.
pub fn finish_staging<E: From<CryptoError>>(
    staging: &Path,
    dir: &Path,
    written: Result<(), E>,
) -> Result<(), E> {
    let renamed = written.and_then(|()| {
        fs::rename(staging, dir).map_err(|source| {
            E::from(CryptoError::Write {
                path: dir.to_path_buf(),
                source,
            })
        })
    });
    if renamed.is_err() {
        let _ = fs::remove_dir_all(staging);
    }
    renamed
}

/// What a user directory holds besides the enrollment a Fabric CA made (`msp/signcerts`,
/// `msp/keystore`): the org's MSP public part (CA certificates, NodeOU config) and a TLS
/// client certificate from the org's TLS CA, as for users signed in process.
pub fn write_user_extras(
    layout: &Layout,
    domain: &str,
    name: &str,
    dir: &Path,
) -> Result<(), CryptoError> {
    let org = layout.org_dir(NodeKind::Peer, domain);
    let ca = crypto::load_ca(&org.join("ca"), &format!("ca.{domain}"))?;
    let tlsca = crypto::load_ca(&org.join("tlsca"), &format!("tlsca.{domain}"))?;
    crypto::write_msp_public(&dir.join("msp"), &ca, &tlsca)?;
    let (cert, key) = crypto::issue_tls(&tlsca, name, &[name.to_string()])?;
    let tls = dir.join("tls");
    crypto::write_file(&tls.join("ca.crt"), &tlsca.cert_pem, false)?;
    crypto::write_file(&tls.join("client.crt"), &cert, false)?;
    crypto::write_file(&tls.join("client.key"), &key, true)
}

/// Every user of org `domain` (Admin and User1 included), by name.
pub fn list(layout: &Layout, domain: &str) -> Result<Vec<Identity>, CryptoError> {
    let users = layout.org_dir(NodeKind::Peer, domain).join("users");
    let suffix = format!("@{domain}");
    let entries = match fs::read_dir(&users) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(unreadable(&users, e.to_string())),
    };
    let mut identities = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| unreadable(&users, e.to_string()))?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(name) = file_name.strip_suffix(&suffix) else {
            continue;
        };
        identities.push(read(&entry.path().join("msp"), name)?);
    }
    identities.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(identities)
}

/// User `name` of org `domain`, read back from its enrollment certificate.
pub fn read_user(layout: &Layout, domain: &str, name: &str) -> Result<Identity, CryptoError> {
    let dir = layout.user_dir(NodeKind::Peer, domain, name);
    read(&dir.join("msp"), name)
}

fn unreadable(path: &Path, reason: String) -> CryptoError {
    CryptoError::Read {
        path: path.to_path_buf(),
        reason,
    }
}

/// Reads the enrollment certificate in `msp/signcerts`.
fn read(msp: &Path, name: &str) -> Result<Identity, CryptoError> {
    let signcerts = msp.join("signcerts");
    let cert_path = fs::read_dir(&signcerts)
        .map_err(|e| unreadable(&signcerts, e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "pem"))
        .ok_or_else(|| unreadable(&signcerts, "it holds no certificate".into()))?;
    let pem = fs::read(&cert_path).map_err(|e| unreadable(&cert_path, e.to_string()))?;
    let bad = |reason: String| unreadable(&cert_path, reason);
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).map_err(|e| bad(e.to_string()))?;
    let (_, cert) = X509Certificate::from_der(&pem.contents).map_err(|e| bad(e.to_string()))?;
    let role = cert
        .subject()
        .iter_organizational_unit()
        .filter_map(|ou| ou.as_str().ok())
        .find(|ou| ["client", "admin", "peer", "orderer"].contains(ou))
        .unwrap_or_default()
        .to_string();
    let is_attributes = |oid: &x509_parser::oid_registry::Oid| {
        oid.iter()
            .is_some_and(|arcs| arcs.eq(crypto::ATTRIBUTES_OID))
    };
    let attributes = match cert.extensions().iter().find(|e| is_attributes(&e.oid)) {
        None => BTreeMap::new(),
        Some(extension) => {
            #[derive(serde::Deserialize)]
            struct Attributes {
                attrs: BTreeMap<String, String>,
            }
            serde_json::from_slice::<Attributes>(extension.value)
                .map_err(|e| bad(format!("its attribute extension is not JSON: {e}")))?
                .attrs
        }
    };
    Ok(Identity {
        name: name.to_string(),
        role,
        attributes,
        msp: msp.to_path_buf(),
    })
}

#[cfg(test)]
mod tests;
