//! A Fabric client identity read from a cryptogen-layout user directory: the enrollment
//! certificate and key that sign requests, and the TLS client certificate and key that a
//! connection presents. Keys are checked against their certificates when read: a
//! mismatch would otherwise come back from a peer as a bare "access denied" or a failed
//! handshake.

use crate::protos::{discovery, msp};
use crate::FabricError;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::der::pem;
use p256::pkcs8::DecodePrivateKey;
use prost::Message;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A Fabric client identity: MSP ID, signing certificate and key (PKCS#8 PEM, cryptogen
/// layout), plus the TLS client certificate and key presented on the connection.
#[derive(Clone)]
pub struct ClientIdentity {
    msp_id: String,
    signing_cert_pem: Vec<u8>,
    signing_key: SigningKey,
    pub(crate) tls_cert_pem: Vec<u8>,
    pub(crate) tls_key_pem: Vec<u8>,
    /// SHA-256 of the TLS certificate's DER: what the peer computes from the handshake.
    tls_cert_hash: Vec<u8>,
}

/// Keys stay out of logs.
impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("msp_id", &self.msp_id)
            .finish_non_exhaustive()
    }
}

impl ClientIdentity {
    /// From a cryptogen-layout user directory such as
    /// `<root>/peerOrganizations/org1.example.com/users/User1@org1.example.com`: reads
    /// `msp/signcerts/*.pem` (the only file there), `msp/keystore/priv_sk`, `tls/client.crt`
    /// and `tls/client.key`.
    pub fn from_user_dir(msp_id: &str, dir: &Path) -> Result<Self, FabricError> {
        let cert_path = only_pem_in(&dir.join("msp").join("signcerts"))?;
        let key_path = dir.join("msp").join("keystore").join("priv_sk");
        let tls_cert_path = dir.join("tls").join("client.crt");
        let tls_key_path = dir.join("tls").join("client.key");

        let signing_cert_pem = read(&cert_path)?;
        let signing_key = key_of(&cert_path, &signing_cert_pem, &key_path)?;
        let tls_cert_pem = read(&tls_cert_path)?;
        key_of(&tls_cert_path, &tls_cert_pem, &tls_key_path)?;
        let tls_cert_hash =
            Sha256::digest(certificate_der(&tls_cert_path, &tls_cert_pem)?).to_vec();
        Ok(ClientIdentity {
            msp_id: msp_id.to_string(),
            signing_cert_pem,
            signing_key,
            tls_cert_pem,
            tls_key_pem: read(&tls_key_path)?,
            tls_cert_hash,
        })
    }

    /// The MSP this identity belongs to.
    pub fn msp_id(&self) -> &str {
        &self.msp_id
    }

    /// ECDSA P-256 over SHA-256 of `message`, DER encoded, with S in the lower half of the
    /// curve order: Fabric (`bccsp/sw/ecdsa.go`) rejects a high S as malleable.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature: Signature = self.signing_key.sign(message);
        let signature = signature.normalize_s().unwrap_or(signature);
        signature.to_der().as_bytes().to_vec()
    }

    /// SHA-256 of the TLS client certificate, as channel headers bind a request to it.
    pub fn tls_cert_hash(&self) -> &[u8] {
        &self.tls_cert_hash
    }

    /// `msp.SerializedIdentity`, as Fabric identifies a client: MSP ID and certificate PEM.
    pub fn serialized(&self) -> Vec<u8> {
        msp::SerializedIdentity {
            mspid: self.msp_id.clone(),
            id_bytes: self.signing_cert_pem.clone(),
        }
        .encode_to_vec()
    }

    /// A discovery request with `queries`, bound to this identity and its TLS certificate,
    /// and signed.
    pub(crate) fn signed_request(
        &self,
        queries: Vec<discovery::Query>,
    ) -> discovery::SignedRequest {
        let request = discovery::Request {
            authentication: Some(discovery::AuthInfo {
                client_identity: self.serialized(),
                client_tls_cert_hash: self.tls_cert_hash.clone(),
            }),
            queries,
        };
        let payload = request.encode_to_vec();
        let signature = self.sign(&payload);
        discovery::SignedRequest { payload, signature }
    }
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, FabricError> {
    std::fs::read(path).map_err(|source| FabricError::ReadIdentity {
        path: path.to_path_buf(),
        source,
    })
}

/// The one `.pem` file in `dir`: cryptogen writes exactly one signing certificate, and with
/// several we could not know which one the key belongs to.
pub(crate) fn only_pem_in(dir: &Path) -> Result<PathBuf, FabricError> {
    let unreadable = |source| FabricError::ReadIdentity {
        path: dir.to_path_buf(),
        source,
    };
    let mut pems = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(unreadable)? {
        let path = entry.map_err(unreadable)?.path();
        if path.extension().is_some_and(|ext| ext == "pem") {
            pems.push(path);
        }
    }
    match <[PathBuf; 1]>::try_from(pems) {
        Ok([path]) => Ok(path),
        Err(pems) => Err(unreadable(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "expected one signing certificate (*.pem), found {}",
                pems.len()
            ),
        ))),
    }
}

/// The P-256 key at `key_path`, checked to be the key of the certificate: a mismatch would
/// otherwise come back from the peer as a bare "access denied" or a failed handshake.
pub(crate) fn key_of(
    cert_path: &Path,
    cert_pem: &[u8],
    key_path: &Path,
) -> Result<SigningKey, FabricError> {
    let key = signing_key(key_path, &read(key_path)?)?;
    let cert_der = certificate_der(cert_path, cert_pem)?;
    let (_, cert) =
        x509_parser::parse_x509_certificate(&cert_der).map_err(|e| FabricError::BadKey {
            path: cert_path.to_path_buf(),
            problem: format!("it is not an X.509 certificate ({e})"),
        })?;
    // The certificate's SubjectPublicKeyInfo holds the key's uncompressed point.
    let point = key.verifying_key().to_encoded_point(false);
    if cert.public_key().subject_public_key.data.as_ref() != point.as_bytes() {
        return Err(FabricError::BadKey {
            path: key_path.to_path_buf(),
            problem: format!("it is not the key of {}", cert_path.display()),
        });
    }
    Ok(key)
}

/// A P-256 private key in PEM: PKCS#8 as cryptogen and Fabric CA write it, or SEC1.
fn signing_key(path: &Path, pem_bytes: &[u8]) -> Result<SigningKey, FabricError> {
    let bad = |problem: String| FabricError::BadKey {
        path: path.to_path_buf(),
        problem,
    };
    let text = std::str::from_utf8(pem_bytes).map_err(|_| bad("not PEM text".to_string()))?;
    match SigningKey::from_pkcs8_pem(text) {
        Ok(key) => Ok(key),
        Err(pkcs8) => p256::SecretKey::from_sec1_pem(text)
            .map(SigningKey::from)
            .map_err(|_| bad(format!("not a P-256 private key in PEM ({pkcs8})"))),
    }
}

/// The DER of the first certificate in a PEM file: the one TLS presents, or the signer's.
fn certificate_der(path: &Path, pem_bytes: &[u8]) -> Result<Vec<u8>, FabricError> {
    let bad = |problem: String| FabricError::BadKey {
        path: path.to_path_buf(),
        problem,
    };
    let text = String::from_utf8_lossy(pem_bytes);
    const END: &str = "-----END CERTIFICATE-----";
    let start = text
        .find("-----BEGIN CERTIFICATE-----")
        .ok_or_else(|| bad("no PEM certificate in it".to_string()))?;
    let end = text[start..]
        .find(END)
        .map(|at| start + at + END.len())
        .ok_or_else(|| bad("its PEM certificate has no END line".to_string()))?;
    let (_, der) = pem::decode_vec(text[start..end].as_bytes())
        .map_err(|e| bad(format!("its PEM certificate does not decode ({e})")))?;
    Ok(der)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::VerifyingKey;

    /// Half the order of P-256, big-endian: a signature's S must not exceed it.
    const HALF_ORDER: [u8; 32] = [
        0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31,
        0x92, 0xa8,
    ];

    /// A self-signed certificate and its PKCS#8 key, as PEM.
    pub(crate) fn cert_and_key(name: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
        (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
    }

    fn write(path: &Path, contents: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    /// A cryptogen-layout user directory; returns its TLS certificate PEM.
    fn user_dir(dir: &Path) -> String {
        let (cert, key) = cert_and_key("User1@org1.example.com");
        write(
            &dir.join("msp/signcerts/User1@org1.example.com-cert.pem"),
            &cert,
        );
        write(&dir.join("msp/keystore/priv_sk"), &key);
        let (tls_cert, tls_key) = cert_and_key("User1@org1.example.com");
        write(&dir.join("tls/client.crt"), &tls_cert);
        write(&dir.join("tls/client.key"), &tls_key);
        tls_cert
    }

    pub(crate) fn identity() -> (tempfile::TempDir, ClientIdentity) {
        let dir = tempfile::tempdir().unwrap();
        user_dir(dir.path());
        let identity = ClientIdentity::from_user_dir("Org1MSP", dir.path()).unwrap();
        (dir, identity)
    }

    fn verifying_key(identity: &ClientIdentity) -> VerifyingKey {
        *identity.signing_key.verifying_key()
    }

    #[test]
    fn signatures_verify_and_have_low_s() {
        let (_dir, identity) = identity();
        let verifier = verifying_key(&identity);
        let mut normalized = 0;
        for i in 0..64u32 {
            let message = format!("discovery request {i}");
            let der = identity.sign(message.as_bytes());
            let signature = Signature::from_der(&der).unwrap();
            verifier.verify(message.as_bytes(), &signature).unwrap();
            let s: [u8; 32] = signature.s().to_bytes().into();
            assert!(s <= HALF_ORDER, "high S in signature {i}");
            let raw: Signature = identity.signing_key.sign(message.as_bytes());
            normalized += usize::from(raw != signature);
        }
        // About half of raw ECDSA signatures have a high S: normalization was exercised.
        assert!(normalized > 0);
    }

    #[test]
    fn signed_request_names_the_identity_and_the_tls_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let tls_cert = user_dir(dir.path());
        let identity = ClientIdentity::from_user_dir("Org1MSP", dir.path()).unwrap();
        let signed = identity.signed_request(vec![]);
        let signature = Signature::from_der(&signed.signature).unwrap();
        verifying_key(&identity)
            .verify(&signed.payload, &signature)
            .unwrap();

        let request = discovery::Request::decode(signed.payload.as_slice()).unwrap();
        let auth = request.authentication.unwrap();
        let client = msp::SerializedIdentity::decode(auth.client_identity.as_slice()).unwrap();
        assert_eq!(client.mspid, "Org1MSP");
        let signcert = dir
            .path()
            .join("msp/signcerts/User1@org1.example.com-cert.pem");
        assert_eq!(client.id_bytes, std::fs::read(signcert).unwrap());
        let (_, tls_der) = pem::decode_vec(tls_cert.as_bytes()).unwrap();
        assert_eq!(auth.client_tls_cert_hash, Sha256::digest(&tls_der).to_vec());
    }

    #[test]
    fn a_key_that_is_not_the_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        user_dir(dir.path());
        let (_, other_key) = cert_and_key("someone");
        write(&dir.path().join("msp/keystore/priv_sk"), &other_key);
        let error = ClientIdentity::from_user_dir("Org1MSP", dir.path()).unwrap_err();
        assert!(
            matches!(&error, FabricError::BadKey { path, .. } if path.ends_with("priv_sk")),
            "{error}"
        );
    }

    #[test]
    fn a_tls_key_that_is_not_the_tls_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        user_dir(dir.path());
        let (_, other_key) = cert_and_key("someone");
        write(&dir.path().join("tls/client.key"), &other_key);
        let error = ClientIdentity::from_user_dir("Org1MSP", dir.path()).unwrap_err();
        assert!(
            matches!(&error, FabricError::BadKey { path, .. } if path.ends_with("client.key")),
            "{error}"
        );
    }

    #[test]
    fn two_signing_certificates_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        user_dir(dir.path());
        let (cert, _) = cert_and_key("someone");
        write(&dir.path().join("msp/signcerts/other.pem"), &cert);
        let error = ClientIdentity::from_user_dir("Org1MSP", dir.path()).unwrap_err();
        assert!(matches!(error, FabricError::ReadIdentity { .. }), "{error}");
        assert!(error.to_string().contains("found 2"), "{error}");
    }
}
