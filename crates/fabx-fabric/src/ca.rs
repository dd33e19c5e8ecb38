//! A Fabric CA server's REST API (`/api/v1/...`) as `fabric-ca-client` speaks it: `cainfo`,
//! `enroll` (HTTP basic auth and a certificate signing request) and `register` (a token
//! signed with the registrar's enrollment key), over HTTPS that trusts the CA's TLS CA.

use crate::identity::{key_of, only_pem_in};
use crate::{error_chain, FabricError};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// How long one request may take (a CA answers locally in milliseconds).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// One CA server: where it listens, its TLS server name and the CA's name in it.
#[derive(Clone)]
pub struct CaClient {
    base: String,
    server_name: String,
    ca_name: String,
    client: reqwest::Client,
}

/// An identity that signs register requests: an enrollment certificate and its key.
pub struct Registrar {
    cert_pem: Vec<u8>,
    key: SigningKey,
}

impl Registrar {
    /// From an MSP directory: `signcerts/*.pem` and `keystore/priv_sk`.
    pub fn from_msp_dir(msp: &Path) -> Result<Self, FabricError> {
        let cert_path = only_pem_in(&msp.join("signcerts"))?;
        let cert_pem = crate::identity::read(&cert_path)?;
        let key = key_of(&cert_path, &cert_pem, &msp.join("keystore").join("priv_sk"))?;
        Ok(Registrar { cert_pem, key })
    }

    /// Fabric CA's token for `method` on `uri` with `body`: the certificate, then a
    /// signature over `method.b64(uri).b64(body).b64(cert)` (lib/util's CreateToken).
    pub fn token(&self, method: &str, uri: &str, body: &[u8]) -> String {
        let cert = BASE64.encode(&self.cert_pem);
        let payload = format!(
            "{method}.{}.{}.{cert}",
            BASE64.encode(uri),
            BASE64.encode(body)
        );
        let signature: Signature = self.key.sign(payload.as_bytes());
        // Fabric rejects a high S as malleable, as for every other signature.
        let signature = signature.normalize_s().unwrap_or(signature);
        format!("{cert}.{}", BASE64.encode(signature.to_der().as_bytes()))
    }
}

/// A user to register: its enrollment ID, type (`client`, `admin`, `peer`) and the
/// attributes the CA writes into its enrollment certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub name: String,
    pub secret: String,
    pub kind: String,
    pub attributes: Vec<(String, String)>,
}

/// What an enrollment returns: the certificate and the CA's chain, both PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrollment {
    pub cert_pem: String,
    pub ca_chain_pem: String,
}

/// The CA as `/cainfo` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaInfo {
    pub ca_name: String,
    pub version: String,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    success: bool,
    #[serde(default)]
    result: Value,
    #[serde(default)]
    errors: Vec<AnswerError>,
}

#[derive(Deserialize, Serialize)]
struct AnswerError {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
}

impl CaClient {
    /// A client of the CA `ca_name` listening at `address`, whose TLS certificate is for
    /// `server_name` and signed by `tls_ca_pem`.
    pub fn new(
        address: SocketAddr,
        server_name: &str,
        ca_name: &str,
        tls_ca_pem: &[u8],
    ) -> Result<Self, FabricError> {
        let bad = |message: String| FabricError::CaRequest {
            ca: server_name.to_string(),
            what: "set up the client".into(),
            message,
            connect: false,
        };
        let ca = reqwest::Certificate::from_pem(tls_ca_pem).map_err(|e| bad(e.to_string()))?;
        let client = reqwest::Client::builder()
            .add_root_certificate(ca)
            .resolve(server_name, address)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| bad(error_chain(&e)))?;
        Ok(CaClient {
            base: format!("https://{server_name}:{}", address.port()),
            server_name: server_name.to_string(),
            ca_name: ca_name.to_string(),
            client,
        })
    }

    /// `GET /api/v1/cainfo`: answers once the server is ready.
    pub async fn cainfo(&self) -> Result<CaInfo, FabricError> {
        let uri = format!("/api/v1/cainfo?ca={}", self.ca_name);
        let request = self.client.get(format!("{}{uri}", self.base));
        let result = self.send("cainfo", request).await?;
        Ok(CaInfo {
            ca_name: text(&result, "CAName"),
            version: text(&result, "Version"),
        })
    }

    /// `POST /api/v1/enroll` as `name` with `secret`, for the key of `csr_pem`.
    pub async fn enroll(
        &self,
        name: &str,
        secret: &str,
        csr_pem: &str,
    ) -> Result<Enrollment, FabricError> {
        let body = json!({ "certificate_request": csr_pem, "caname": self.ca_name });
        let request = self
            .client
            .post(format!("{}/api/v1/enroll", self.base))
            .basic_auth(name, Some(secret))
            .json(&body);
        let result = self.send(&format!("enroll {name}"), request).await?;
        let decoded = |field: &str| -> Result<String, FabricError> {
            let value = result
                .get(field)
                .or_else(|| result.get("ServerInfo").and_then(|s| s.get(field)))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let bytes = BASE64
                .decode(value)
                .map_err(|e| self.unparseable(field, e))?;
            String::from_utf8(bytes).map_err(|e| self.unparseable(field, e))
        };
        Ok(Enrollment {
            cert_pem: decoded("Cert")?,
            ca_chain_pem: decoded("CAChain")?,
        })
    }

    /// `POST /api/v1/register` signed by `registrar`; returns the secret to enroll with.
    pub async fn register(
        &self,
        registrar: &Registrar,
        user: &Registration,
    ) -> Result<String, FabricError> {
        let attrs: Vec<Value> = user
            .attributes
            .iter()
            .map(|(name, value)| json!({ "name": name, "value": value, "ecert": true }))
            .collect();
        let body = json!({
            "id": user.name,
            "type": user.kind,
            "secret": user.secret,
            "affiliation": "",
            "max_enrollments": -1,
            "attrs": attrs,
            "caname": self.ca_name,
        })
        .to_string();
        let uri = "/api/v1/register";
        let token = registrar.token("POST", uri, body.as_bytes());
        let request = self
            .client
            .post(format!("{}{uri}", self.base))
            .header("Authorization", token)
            .header("Content-Type", "application/json")
            .body(body);
        let result = self
            .send(&format!("register {}", user.name), request)
            .await?;
        Ok(text(&result, "secret"))
    }

    fn unparseable(&self, field: &str, e: impl std::fmt::Display) -> FabricError {
        FabricError::Unparseable {
            server_name: self.server_name.clone(),
            what: format!("the enrollment's {field}"),
            detail: e.to_string(),
        }
    }

    /// Sends `request`; the answer's `result`, or the CA's own errors.
    async fn send(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Value, FabricError> {
        let response = request.send().await.map_err(|e| FabricError::CaRequest {
            ca: self.server_name.clone(),
            what: what.to_string(),
            connect: e.is_connect() || e.is_timeout(),
            message: error_chain(&e),
        })?;
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        let answer: Answer = serde_json::from_str(&body).map_err(|e| FabricError::Unparseable {
            server_name: self.server_name.clone(),
            what: format!("the answer to {what} (HTTP {status}: {e})"),
            detail: body.clone(),
        })?;
        if answer.success {
            return Ok(answer.result);
        }
        let errors: Vec<String> = answer
            .errors
            .iter()
            .map(|e| format!("{} (code {})", e.message, e.code))
            .collect();
        Err(FabricError::CaRefused {
            ca: self.server_name.clone(),
            what: what.to_string(),
            status,
            message: errors.join("; "),
        })
    }
}

fn text(value: &Value, field: &str) -> String {
    value
        .get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests;
