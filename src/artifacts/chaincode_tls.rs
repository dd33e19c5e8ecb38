//! TLS between peers and chaincode servers (Fabric's chaincode-as-a-service chapter):
//! `off`, `server` (the peer verifies the server) or `mutual` (the server also verifies
//! the peer's client certificate).
//!
//! One chaincode TLS CA per network, under `<state>/chaincode-tls/`: fabx plays every org
//! on one machine, and the shared-container mode (one server dialled by every org) needs a
//! root every org's peers trust; separate per-org CAs would add keys without adding
//! separation where one user holds them all. Under it: a server certificate per chaincode
//! host (its SAN is the name the peers dial) and a client certificate per group of orgs
//! dialling one server. Everything is made once and kept, so that a redeploy makes the
//! same package (the certificates are inside connection.json) and so the same package ID.

use crate::artifacts::crypto::{self, CryptoError};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use std::path::{Path, PathBuf};

/// How a chaincode server and its peers talk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain text.
    Off,
    /// TLS; the peer verifies the server's certificate.
    Server,
    /// TLS; each side verifies the other's certificate.
    #[default]
    Mutual,
}

impl TlsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Off => "off",
            TlsMode::Server => "server",
            TlsMode::Mutual => "mutual",
        }
    }
}

impl std::str::FromStr for TlsMode {
    type Err = String;

    fn from_str(text: &str) -> Result<TlsMode, String> {
        match text {
            "off" => Ok(TlsMode::Off),
            "server" => Ok(TlsMode::Server),
            "mutual" => Ok(TlsMode::Mutual),
            other => Err(format!(
                "unknown TLS mode {other:?} (use off, server or mutual)"
            )),
        }
    }
}

/// PEM contents for one chaincode server and the peers that dial it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTls {
    pub mode: TlsMode,
    pub ca_cert: String,
    pub server_cert: String,
    pub server_key: String,
    /// The dialling peers' client certificate and key (`mutual` only).
    pub client: Option<(String, String)>,
}

/// The chaincode TLS material of one network.
pub struct ChaincodeTls {
    dir: PathBuf,
}

impl ChaincodeTls {
    pub fn new(dir: impl Into<PathBuf>) -> ChaincodeTls {
        ChaincodeTls { dir: dir.into() }
    }

    pub fn ca_cert_path(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// The material for a server reached as `host`, dialled by peers of `client_group`
    /// (an org's MSP ID, or several joined by `+`); None for [`TlsMode::Off`].
    pub fn for_server(
        &self,
        mode: TlsMode,
        host: &str,
        client_group: &str,
    ) -> Result<Option<ServerTls>, CryptoError> {
        if mode == TlsMode::Off {
            return Ok(None);
        }
        let ca = self.ca()?;
        let (server_cert, server_key) = self.leaf(
            &ca,
            &self.dir.join("servers").join(host),
            "server",
            host,
            ExtendedKeyUsagePurpose::ServerAuth,
        )?;
        let client = match mode {
            TlsMode::Mutual => Some(self.leaf(
                &ca,
                &self.dir.join("clients").join(client_group),
                "client",
                &format!("peers.{client_group}"),
                ExtendedKeyUsagePurpose::ClientAuth,
            )?),
            _ => None,
        };
        Ok(Some(ServerTls {
            mode,
            ca_cert: ca.cert_pem.clone(),
            server_cert,
            server_key,
            client,
        }))
    }

    /// Paths of a server's files on the host (for a chaincode run outside Docker).
    pub fn server_paths(&self, host: &str) -> (PathBuf, PathBuf) {
        let dir = self.dir.join("servers").join(host);
        (dir.join("server.crt"), dir.join("server.key"))
    }

    /// The network's chaincode CA, made on first use.
    fn ca(&self) -> Result<LoadedCa, CryptoError> {
        let (cert_path, key_path) = (self.ca_cert_path(), self.dir.join("ca.key"));
        if let (Some(cert_pem), Some(key_pem)) = (read_kept(&cert_path)?, read_kept(&key_path)?) {
            let key = KeyPair::from_pem(&key_pem).map_err(|e| unusable(&key_path, e))?;
            let issuer =
                Issuer::from_ca_cert_pem(&cert_pem, key).map_err(|e| unusable(&cert_path, e))?;
            return Ok(LoadedCa { cert_pem, issuer });
        }
        let name = "chaincode-tlsca";
        let key = new_key(name)?;
        let mut params = crypto::base_params(&key);
        params.distinguished_name = dn(name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
        ];
        let cert = params
            .self_signed(&key)
            .map_err(|source| generate(name, source))?;
        crypto::write_file(&key_path, &key.serialize_pem(), true)?;
        crypto::write_file(&cert_path, &cert.pem(), false)?;
        Ok(LoadedCa {
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// A leaf certificate and key in `dir` (`<stem>.crt`, `<stem>.key`), made on first use.
    fn leaf(
        &self,
        ca: &LoadedCa,
        dir: &Path,
        stem: &str,
        name: &str,
        usage: ExtendedKeyUsagePurpose,
    ) -> Result<(String, String), CryptoError> {
        let (cert_path, key_path) = (
            dir.join(format!("{stem}.crt")),
            dir.join(format!("{stem}.key")),
        );
        if let (Some(cert), Some(key)) = (read_kept(&cert_path)?, read_kept(&key_path)?) {
            return Ok((cert, key));
        }
        let key = new_key(name)?;
        let sans = if usage == ExtendedKeyUsagePurpose::ServerAuth {
            vec![name.to_string()]
        } else {
            vec![]
        };
        let mut params = CertificateParams::new(sans).map_err(|source| generate(name, source))?;
        let base = crypto::base_params(&key);
        params.not_before = base.not_before;
        params.not_after = base.not_after;
        params.key_identifier_method = base.key_identifier_method;
        params.serial_number = base.serial_number;
        params.distinguished_name = dn(name);
        params.is_ca = IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![usage];
        let cert = params
            .signed_by(&key, &ca.issuer)
            .map_err(|source| generate(name, source))?;
        crypto::write_file(&key_path, &key.serialize_pem(), true)?;
        crypto::write_file(&cert_path, &cert.pem(), false)?;
        Ok((cert.pem(), key.serialize_pem()))
    }
}

/// A file made earlier: None if it is not there, an error if it is there but unreadable
/// (never silently replaced: a new certificate would change the package ID).
fn read_kept(path: &Path) -> Result<Option<String>, CryptoError> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.contains("-----BEGIN") => Ok(Some(text)),
        Ok(_) => Err(CryptoError::Read {
            path: path.to_path_buf(),
            reason: "not a PEM file".into(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CryptoError::Read {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

fn unusable(path: &Path, error: rcgen::Error) -> CryptoError {
    CryptoError::Read {
        path: path.to_path_buf(),
        reason: error.to_string(),
    }
}

struct LoadedCa {
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn new_key(name: &str) -> Result<KeyPair, CryptoError> {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|source| generate(name, source))
}

fn generate(subject: &str, source: rcgen::Error) -> CryptoError {
    CryptoError::Generate {
        subject: subject.to_string(),
        source,
    }
}

fn dn(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "fabx chaincode TLS");
    dn.push(DnType::CommonName, common_name);
    dn
}
