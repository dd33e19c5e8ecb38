//! ServerConfig::from_lookup: the CHAINCODE_* environment, as in the Fabric samples.

use std::collections::HashMap;
use std::path::Path;

use fabx_shim::{ServerConfig, ShimError};

fn config(vars: &[(&str, &str)]) -> Result<ServerConfig, ShimError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    ServerConfig::from_lookup(|name| vars.get(name).cloned())
}

const BASE: [(&str, &str); 2] = [
    ("CHAINCODE_ID", "cc_1.0:abcd"),
    ("CHAINCODE_SERVER_ADDRESS", "0.0.0.0:9999"),
];

fn with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    BASE.iter().chain(extra).copied().collect()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn tls_is_disabled_unless_explicitly_false() {
    for vars in [with(&[]), with(&[("CHAINCODE_TLS_DISABLED", "true")])] {
        let c = config(&vars).unwrap();
        assert_eq!(c.chaincode_id, "cc_1.0:abcd");
        assert_eq!(c.address, "0.0.0.0:9999");
        assert!(c.tls.is_none());
    }
}

#[test]
fn missing_or_invalid_variables_are_named() {
    let e = config(&BASE[1..]).unwrap_err().to_string();
    assert!(e.contains("CHAINCODE_ID is not set"), "{e}");
    let e = config(&BASE[..1]).unwrap_err().to_string();
    assert!(e.contains("CHAINCODE_SERVER_ADDRESS is not set"), "{e}");
    let e = config(&with(&[("CHAINCODE_TLS_DISABLED", "nope")]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("CHAINCODE_TLS_DISABLED=\"nope\" is invalid"),
        "{e}"
    );
    let e = config(&with(&[("CHAINCODE_TLS_DISABLED", "false")]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("CHAINCODE_TLS_KEY is not set"), "{e}");
}

#[test]
fn tls_files_are_read_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    let key = write(dir.path(), "key.pem", pem);
    let cert = write(dir.path(), "cert.pem", pem);
    let ca = write(dir.path(), "ca.pem", pem);
    let junk = write(dir.path(), "junk.txt", "not a pem");
    let (key, cert, ca, junk) = (key.as_str(), cert.as_str(), ca.as_str(), junk.as_str());

    let tls = [
        ("CHAINCODE_TLS_DISABLED", "false"),
        ("CHAINCODE_TLS_KEY", key),
    ];
    let c = config(&with(&[tls[0], tls[1], ("CHAINCODE_TLS_CERT", cert)])).unwrap();
    assert!(c.tls.unwrap().client_ca_pem.is_none());

    let mtls = [
        tls[0],
        tls[1],
        ("CHAINCODE_TLS_CERT", cert),
        ("CHAINCODE_CLIENT_CA_CERT", ca),
    ];
    let c = config(&with(&mtls)).unwrap();
    assert_eq!(c.tls.unwrap().client_ca_pem.unwrap(), pem.as_bytes());

    let e = config(&with(&[
        tls[0],
        tls[1],
        ("CHAINCODE_TLS_CERT", "/no/such.pem"),
    ]))
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("CHAINCODE_TLS_CERT") && e.contains("/no/such.pem"),
        "{e}"
    );
    let e = config(&with(&[tls[0], tls[1], ("CHAINCODE_TLS_CERT", junk)]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not contain PEM data"), "{e}");
}

#[tokio::test]
async fn invalid_pem_fails_at_serve_time_with_tls_error() {
    let cc = NoopCc;
    let config = ServerConfig {
        chaincode_id: "cc".into(),
        address: "127.0.0.1:0".into(),
        tls: Some(fabx_shim::TlsConfig {
            cert_pem: b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".to_vec(),
            key_pem: b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".to_vec(),
            client_ca_pem: None,
        }),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let result = fabx_shim::serve_with_listener(cc, config, listener, async {}).await;
    assert!(matches!(result, Err(ShimError::Tls(_))), "{result:?}");
}

struct NoopCc;

impl fabx_shim::Chaincode for NoopCc {
    async fn init(&self, _stub: &fabx_shim::Stub) -> fabx_shim::Response {
        fabx_shim::Response::success(Vec::new())
    }
    async fn invoke(&self, _stub: &fabx_shim::Stub) -> fabx_shim::Response {
        fabx_shim::Response::success(Vec::new())
    }
}
