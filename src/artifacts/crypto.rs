//! Crypto material in the layout cryptogen writes, generated in process with rcgen.
//!
//! Per org: a signing CA and a TLS CA; per node and user: an enrollment certificate with
//! a NodeOU (`peer`, `orderer`, `admin`, `client`) and a TLS certificate. Keys are ECDSA P-256
//! in PKCS#8 PEM (`priv_sk`), written with mode 0600.

use crate::artifacts::layout::Layout;
use crate::topology::{Node, NodeKind, Topology};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, SerialNumber, PKCS_ECDSA_P256_SHA256,
};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("cannot generate a certificate for {subject}: {source}")]
    Generate {
        subject: String,
        source: rcgen::Error,
    },
    #[error("cannot use {path}: {reason} (restore or remove the file; `fabx down` then `fabx up` makes fresh material)")]
    Read { path: PathBuf, reason: String },
    #[error("cannot write {path}: {source} (check that the state directory is writable)")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// NodeOU roles, as written into enrollment certificates and `msp/config.yaml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Peer,
    Orderer,
    Admin,
    Client,
}

impl Role {
    pub fn ou(self) -> &'static str {
        match self {
            Role::Peer => "peer",
            Role::Orderer => "orderer",
            Role::Admin => "admin",
            Role::Client => "client",
        }
    }
}

/// A CA: its certificate (PEM) and an issuer to sign with.
pub(crate) struct Ca {
    name: String,
    pub(crate) cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// Generates all crypto material of the topology under `layout.crypto()`, plus the
/// TLS CA bundle under `layout.tlsca_bundle()`.
pub fn generate(topology: &Topology, layout: &Layout) -> Result<(), CryptoError> {
    let bundle = layout.tlsca_bundle();
    let mut every = String::new();
    let orgs = std::iter::once((NodeKind::Orderer, &topology.orderer_org.domain))
        .chain(topology.orgs.iter().map(|o| (NodeKind::Peer, &o.domain)));
    for (kind, domain) in orgs {
        let nodes: Vec<Node> = topology
            .nodes()
            .into_iter()
            .filter(|n| n.kind == kind && &n.domain == domain)
            .collect();
        let tlsca = generate_org(layout, kind, domain, &nodes)?;
        write_file(&bundle.join(format!("{domain}.pem")), &tlsca, false)?;
        every.push_str(&tlsca);
    }
    write_file(&bundle.join(ALL_TLSCAS), &every, false)
}

/// In the TLS CA bundle: every org's TLS CA in one file.
pub const ALL_TLSCAS: &str = "all.pem";

/// One organization; returns its TLS CA certificate.
fn generate_org(
    layout: &Layout,
    kind: NodeKind,
    domain: &str,
    nodes: &[Node],
) -> Result<String, CryptoError> {
    let dir = layout.org_dir(kind, domain);
    let ca = new_ca(&format!("ca.{domain}"), domain)?;
    let tlsca = new_ca(&format!("tlsca.{domain}"), domain)?;
    write_ca(&dir.join("ca"), &ca)?;
    write_ca(&dir.join("tlsca"), &tlsca)?;
    write_msp_public(&dir.join("msp"), &ca, &tlsca)?;

    let node_role = match kind {
        NodeKind::Orderer => Role::Orderer,
        NodeKind::Peer => Role::Peer,
    };
    for node in nodes {
        let node_dir = layout.node_dir(node);
        let sans = vec![
            node.host.clone(),
            node.name.clone(),
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ];
        let leaf = Leaf {
            name: &node.host,
            role: node_role,
            attributes: None,
        };
        write_identity(&node_dir, &ca, &tlsca, &leaf, &sans, true)?;
    }
    let users: &[(&str, Role)] = match kind {
        NodeKind::Orderer => &[("Admin", Role::Admin)],
        NodeKind::Peer => &[("Admin", Role::Admin), ("User1", Role::Client)],
    };
    for (user, role) in users {
        let name = format!("{user}@{domain}");
        let user_dir = layout.user_dir(kind, domain, user);
        let leaf = Leaf {
            name: &name,
            role: *role,
            attributes: None,
        };
        write_identity(
            &user_dir,
            &ca,
            &tlsca,
            &leaf,
            std::slice::from_ref(&name),
            false,
        )?;
    }
    Ok(tlsca.cert_pem)
}

fn new_key(subject: &str) -> Result<KeyPair, CryptoError> {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|source| CryptoError::Generate {
        subject: subject.to_string(),
        source,
    })
}

/// Fabric's key identifier: SHA-256 of the uncompressed public key point.
pub fn subject_key_id(key: &KeyPair) -> Vec<u8> {
    subject_key_id_of_point(key.public_key_raw())
}

/// SHA-256 of an uncompressed EC point, as Fabric computes key identifiers.
pub fn subject_key_id_of_point(point: &[u8]) -> Vec<u8> {
    Sha256::digest(point).to_vec()
}

fn subject(common_name: &str, org: &str, ou: Option<&str>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "US");
    dn.push(DnType::StateOrProvinceName, "California");
    dn.push(DnType::LocalityName, "San Francisco");
    if !org.is_empty() {
        dn.push(DnType::OrganizationName, org);
    }
    if let Some(ou) = ou {
        dn.push(DnType::OrganizationalUnitName, ou);
    }
    dn.push(DnType::CommonName, common_name);
    dn
}

/// Ten years from five minutes ago (clock skew between host and containers), a serial
/// and Fabric's key identifier from the key.
pub(crate) fn base_params(key: &KeyPair) -> CertificateParams {
    let mut params = CertificateParams::default();
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::minutes(5);
    params.not_after = now + Duration::days(3650);
    let ski = subject_key_id(key);
    // A positive 128-bit serial, unique per key.
    let mut serial = ski[..16].to_vec();
    serial[0] &= 0x7f;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    params.key_identifier_method = KeyIdMethod::PreSpecified(ski);
    params
}

fn new_ca(common_name: &str, org: &str) -> Result<Ca, CryptoError> {
    let key = new_key(common_name)?;
    let mut params = base_params(&key);
    params.distinguished_name = subject(common_name, org, None);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ClientAuth,
        ExtendedKeyUsagePurpose::ServerAuth,
    ];
    let cert = params
        .self_signed(&key)
        .map_err(|source| CryptoError::Generate {
            subject: common_name.to_string(),
            source,
        })?;
    Ok(Ca {
        name: common_name.to_string(),
        cert_pem: cert.pem(),
        issuer: Issuer::new(params, key),
    })
}

/// A CA as `up` wrote it into `dir`: `<name>-cert.pem` and `priv_sk`.
pub(crate) fn load_ca(dir: &Path, name: &str) -> Result<Ca, CryptoError> {
    let read = |path: PathBuf| {
        fs::read_to_string(&path).map_err(|e| CryptoError::Read {
            reason: e.to_string(),
            path,
        })
    };
    let cert_path = dir.join(format!("{name}-cert.pem"));
    let key_path = dir.join("priv_sk");
    let cert_pem = read(cert_path.clone())?;
    let key = KeyPair::from_pem(&read(key_path.clone())?).map_err(|e| CryptoError::Read {
        path: key_path,
        reason: e.to_string(),
    })?;
    let issuer = Issuer::from_ca_cert_pem(&cert_pem, key).map_err(|e| CryptoError::Read {
        path: cert_path,
        reason: e.to_string(),
    })?;
    Ok(Ca {
        name: name.to_string(),
        cert_pem,
        issuer,
    })
}

/// A TLS server and client certificate for `name` with `sans`, signed by `tlsca`;
/// returns (cert PEM, key PEM).
pub(crate) fn issue_tls(
    tlsca: &Ca,
    name: &str,
    sans: &[String],
) -> Result<(String, String), CryptoError> {
    issue(tlsca, name, None, sans, true, None)
}

/// Who an enrollment certificate is for.
pub(crate) struct Leaf<'a> {
    /// The subject's common name.
    pub name: &'a str,
    pub role: Role,
    /// Fabric CA's attribute extension, as its JSON.
    pub attributes: Option<&'a str>,
}

/// Fabric CA's attribute extension, OID 1.2.3.4.5.6.7.8.1.
pub const ATTRIBUTES_OID: [u64; 9] = [1, 2, 3, 4, 5, 6, 7, 8, 1];

/// Signs a leaf certificate for a fresh key; returns (cert PEM, key PEM).
fn issue(
    ca: &Ca,
    common_name: &str,
    ou: Option<&str>,
    sans: &[String],
    tls: bool,
    attributes: Option<&str>,
) -> Result<(String, String), CryptoError> {
    let fail = |source| CryptoError::Generate {
        subject: common_name.to_string(),
        source,
    };
    let key = new_key(common_name)?;
    let mut params = if tls {
        CertificateParams::new(sans.to_vec()).map_err(fail)?
    } else {
        CertificateParams::default()
    };
    let base = base_params(&key);
    params.not_before = base.not_before;
    params.not_after = base.not_after;
    params.serial_number = base.serial_number;
    params.key_identifier_method = base.key_identifier_method;
    params.distinguished_name = subject(common_name, "", ou);
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    if tls {
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
    } else {
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    }
    if let Some(json) = attributes {
        params
            .custom_extensions
            .push(rcgen::CustomExtension::from_oid_content(
                &ATTRIBUTES_OID,
                json.as_bytes().to_vec(),
            ));
    }
    let cert = params.signed_by(&key, &ca.issuer).map_err(fail)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// An MSP (`msp/`) and TLS (`tls/`) directory for a node or user.
pub(crate) fn write_identity(
    dir: &Path,
    ca: &Ca,
    tlsca: &Ca,
    leaf: &Leaf<'_>,
    tls_sans: &[String],
    server: bool,
) -> Result<(), CryptoError> {
    let name = leaf.name;
    let msp = dir.join("msp");
    write_msp_public(&msp, ca, tlsca)?;
    let (cert, key) = issue(ca, name, Some(leaf.role.ou()), &[], false, leaf.attributes)?;
    write_file(
        &msp.join("signcerts").join(format!("{name}-cert.pem")),
        &cert,
        false,
    )?;
    write_file(&msp.join("keystore").join("priv_sk"), &key, true)?;

    let tls = dir.join("tls");
    let (cert, key) = issue(tlsca, name, None, tls_sans, true, None)?;
    let stem = if server { "server" } else { "client" };
    write_file(&tls.join("ca.crt"), &tlsca.cert_pem, false)?;
    write_file(&tls.join(format!("{stem}.crt")), &cert, false)?;
    write_file(&tls.join(format!("{stem}.key")), &key, true)?;
    Ok(())
}

/// The public part of an MSP: CA certs and the NodeOU config.
pub(crate) fn write_msp_public(msp: &Path, ca: &Ca, tlsca: &Ca) -> Result<(), CryptoError> {
    let ca_file = format!("{}-cert.pem", ca.name);
    write_file(&msp.join("cacerts").join(&ca_file), &ca.cert_pem, false)?;
    write_file(
        &msp.join("tlscacerts")
            .join(format!("{}-cert.pem", tlsca.name)),
        &tlsca.cert_pem,
        false,
    )?;
    write_file(&msp.join("config.yaml"), &node_ous_config(&ca_file), false)?;
    fs::create_dir_all(msp.join("admincerts")).map_err(|source| CryptoError::Write {
        path: msp.join("admincerts"),
        source,
    })
}

fn write_ca(dir: &Path, ca: &Ca) -> Result<(), CryptoError> {
    write_file(
        &dir.join(format!("{}-cert.pem", ca.name)),
        &ca.cert_pem,
        false,
    )?;
    write_file(&dir.join("priv_sk"), &ca.issuer.key().serialize_pem(), true)
}

/// `msp/config.yaml`: NodeOUs on, each OU identified by the org CA certificate.
pub fn node_ous_config(ca_file: &str) -> String {
    let entry = |ou: &str| {
        format!("    Certificate: cacerts/{ca_file}\n    OrganizationalUnitIdentifier: {ou}\n")
    };
    format!(
        "NodeOUs:\n  Enable: true\n  ClientOUIdentifier:\n{}  PeerOUIdentifier:\n{}  AdminOUIdentifier:\n{}  OrdererOUIdentifier:\n{}",
        entry("client"),
        entry("peer"),
        entry("admin"),
        entry("orderer")
    )
}

/// Writes a file, creating parents; private files get mode 0600 from the start.
pub fn write_file(path: &Path, contents: &str, private: bool) -> Result<(), CryptoError> {
    let fail = |source| CryptoError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(fail)?;
    }
    let mode = if private { 0o600 } else { 0o644 };
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(fail)?;
    file.write_all(contents.as_bytes()).map_err(fail)
}
