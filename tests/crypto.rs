//! The generated crypto material, checked for real: chains verify, SKI/AKI, key usages,
//! extended key usages, SANs, NodeOUs, file layout and key file modes.

use fabx::topology::NodeKind;
use fabx::{Layout, Topology};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::*;

fn generated() -> (tempfile::TempDir, Layout, Topology) {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path().join("state"));
    let topology = Topology::default_topology();
    fabx::artifacts::crypto::generate(&topology, &layout).unwrap();
    (dir, layout, topology)
}

fn pem_der(path: &Path) -> Vec<u8> {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (_, pem) = x509_parser::pem::parse_x509_pem(&text).unwrap();
    pem.contents
}

fn only_file(dir: &Path) -> std::path::PathBuf {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{} should hold one file", dir.display());
    entries.pop().unwrap()
}

struct Checked {
    ski: Vec<u8>,
    aki: Option<Vec<u8>>,
    is_ca: Option<bool>,
    key_usage: Option<KeyUsage>,
    eku: Option<(bool, bool)>,
    sans: Vec<String>,
    ou: Vec<String>,
    cn: String,
}

fn check(der: &[u8]) -> Checked {
    let (_, cert) = X509Certificate::from_der(der).unwrap();
    let spki_point = cert.public_key().subject_public_key.data.to_vec();
    let expected_ski = fabx::artifacts::crypto::subject_key_id_of_point(&spki_point);
    let mut checked = Checked {
        ski: vec![],
        aki: None,
        is_ca: None,
        key_usage: None,
        eku: None,
        sans: vec![],
        ou: cert
            .subject()
            .iter_organizational_unit()
            .map(|a| a.as_str().unwrap().to_string())
            .collect(),
        cn: cert
            .subject()
            .iter_common_name()
            .next()
            .unwrap()
            .as_str()
            .unwrap()
            .to_string(),
    };
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => checked.ski = id.0.to_vec(),
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                checked.aki = aki.key_identifier.as_ref().map(|k| k.0.to_vec())
            }
            ParsedExtension::BasicConstraints(bc) => checked.is_ca = Some(bc.ca),
            ParsedExtension::KeyUsage(ku) => checked.key_usage = Some(*ku),
            ParsedExtension::ExtendedKeyUsage(eku) => {
                checked.eku = Some((eku.client_auth, eku.server_auth))
            }
            ParsedExtension::SubjectAlternativeName(san) => {
                checked.sans = san
                    .general_names
                    .iter()
                    .map(|n| match n {
                        GeneralName::DNSName(d) => d.to_string(),
                        GeneralName::IPAddress(ip) => format!("{ip:?}"),
                        other => format!("{other:?}"),
                    })
                    .collect()
            }
            _ => {}
        }
    }
    if !checked.ski.is_empty() {
        assert_eq!(
            checked.ski, expected_ski,
            "SKI must be SHA-256 of the public key point"
        );
    }
    // Ten years, as cryptogen.
    let days =
        (cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp()) / 86400;
    assert!((3649..=3651).contains(&days), "validity {days} days");
    checked
}

fn verify(child: &[u8], issuer: &[u8]) {
    let (_, child) = X509Certificate::from_der(child).unwrap();
    let (_, issuer) = X509Certificate::from_der(issuer).unwrap();
    child
        .verify_signature(Some(issuer.public_key()))
        .expect("certificate must verify against its CA");
    assert_eq!(child.issuer(), issuer.subject());
}

#[test]
fn cas_are_self_signed_with_fabric_extensions() {
    let (_dir, layout, _) = generated();
    for (kind, domain) in [
        (NodeKind::Orderer, "example.com"),
        (NodeKind::Peer, "org1.example.com"),
    ] {
        for ca in ["ca", "tlsca"] {
            let org = layout.org_dir(kind, domain);
            let der = pem_der(&org.join(ca).join(format!("{ca}.{domain}-cert.pem")));
            verify(&der, &der);
            let c = check(&der);
            assert_eq!(c.cn, format!("{ca}.{domain}"));
            assert_eq!(c.is_ca, Some(true));
            assert_eq!(c.ski.len(), 32);
            let ku = c.key_usage.unwrap();
            assert!(
                ku.digital_signature()
                    && ku.key_encipherment()
                    && ku.key_cert_sign()
                    && ku.crl_sign()
            );
            assert_eq!(c.eku, Some((true, true)));
            // The CA key is the key of the certificate.
            let key = std::fs::read_to_string(org.join(ca).join("priv_sk")).unwrap();
            let key = rcgen::KeyPair::from_pem(&key).unwrap();
            assert_eq!(fabx::artifacts::crypto::subject_key_id(&key), c.ski);
        }
    }
}

#[test]
fn node_and_user_certificates_chain_to_their_org_cas() {
    let (_dir, layout, topology) = generated();
    for node in topology.nodes() {
        let org = layout.org_dir(node.kind, &node.domain);
        let ca = pem_der(&org.join("ca").join(format!("ca.{}-cert.pem", node.domain)));
        let tlsca = pem_der(
            &org.join("tlsca")
                .join(format!("tlsca.{}-cert.pem", node.domain)),
        );
        let ca_ski = check(&ca).ski;
        let tlsca_ski = check(&tlsca).ski;
        let dir = layout.node_dir(&node);

        let sign = pem_der(
            &dir.join("msp/signcerts")
                .join(format!("{}-cert.pem", node.host)),
        );
        verify(&sign, &ca);
        let c = check(&sign);
        assert_eq!(c.cn, node.host);
        assert_eq!(
            c.ou,
            vec![node.kind.as_str().to_string()],
            "NodeOU of {}",
            node.host
        );
        assert_eq!(c.aki.as_deref(), Some(ca_ski.as_slice()));
        assert_eq!(c.is_ca, Some(false));
        assert!(c.key_usage.unwrap().digital_signature());
        assert!(!c.key_usage.unwrap().key_cert_sign());
        let key = std::fs::read_to_string(dir.join("msp/keystore/priv_sk")).unwrap();
        assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8 PEM");
        let key = rcgen::KeyPair::from_pem(&key).unwrap();
        assert_eq!(
            fabx::artifacts::crypto::subject_key_id(&key),
            c.ski,
            "keystore key matches signcert"
        );

        let tls = pem_der(&dir.join("tls/server.crt"));
        verify(&tls, &tlsca);
        let c = check(&tls);
        assert_eq!(c.aki.as_deref(), Some(tlsca_ski.as_slice()));
        assert_eq!(c.eku, Some((true, true)));
        let ku = c.key_usage.unwrap();
        assert!(ku.digital_signature() && ku.key_encipherment());
        assert!(
            c.sans.contains(&node.host) && c.sans.contains(&node.name),
            "{:?}",
            c.sans
        );
        assert!(c.sans.contains(&"localhost".to_string()));
        assert_eq!(
            std::fs::read(dir.join("tls/ca.crt")).unwrap(),
            std::fs::read(
                org.join("tlsca")
                    .join(format!("tlsca.{}-cert.pem", node.domain))
            )
            .unwrap()
        );
    }
    for org in &topology.orgs {
        let ca = pem_der(
            &layout
                .org_dir(NodeKind::Peer, &org.domain)
                .join("ca")
                .join(format!("ca.{}-cert.pem", org.domain)),
        );
        for (user, ou) in [("Admin", "admin"), ("User1", "client")] {
            let dir = layout.user_dir(NodeKind::Peer, &org.domain, user);
            let name = format!("{user}@{}", org.domain);
            let der = pem_der(&dir.join("msp/signcerts").join(format!("{name}-cert.pem")));
            verify(&der, &ca);
            assert_eq!(check(&der).ou, vec![ou.to_string()]);
            assert!(dir.join("tls/client.crt").is_file() && dir.join("tls/client.key").is_file());
        }
    }
}

#[test]
fn msp_config_turns_node_ous_on() {
    let (_dir, layout, topology) = generated();
    let peer = &topology.peers()[0];
    for msp in [
        layout.node_dir(peer).join("msp"),
        layout.org_dir(NodeKind::Peer, &peer.domain).join("msp"),
        layout.admin_msp(NodeKind::Peer, &peer.domain),
    ] {
        let config: serde_norway::Value =
            serde_norway::from_str(&std::fs::read_to_string(msp.join("config.yaml")).unwrap())
                .unwrap();
        assert_eq!(config["NodeOUs"]["Enable"], serde_norway::Value::Bool(true));
        for (key, ou) in [
            ("ClientOUIdentifier", "client"),
            ("PeerOUIdentifier", "peer"),
            ("AdminOUIdentifier", "admin"),
            ("OrdererOUIdentifier", "orderer"),
        ] {
            assert_eq!(
                config["NodeOUs"][key]["OrganizationalUnitIdentifier"].as_str(),
                Some(ou)
            );
            let cert = config["NodeOUs"][key]["Certificate"].as_str().unwrap();
            assert!(
                msp.join(cert).is_file(),
                "{} names {cert}, which must exist",
                msp.display()
            );
        }
        assert!(msp.join("tlscacerts").read_dir().unwrap().count() == 1);
        assert!(only_file(&msp.join("cacerts")).is_file());
    }
}

#[test]
fn private_keys_are_0600_and_certificates_are_readable() {
    let (dir, _layout, _) = generated();
    let mut keys = 0;
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        let text = std::fs::read_to_string(&path).unwrap();
        if text.contains("PRIVATE KEY") {
            keys += 1;
            assert_eq!(mode, 0o600, "{}", path.display());
        } else {
            assert_eq!(mode, 0o644, "{}", path.display());
        }
    }
    // Per org 2 CA keys; per node 2 keys; per user 2 keys.
    // Orderer org: 2 + 3 nodes*2 + 1 user*2 = 10; each peer org: 2 + 2 + 2 users*2 = 8.
    assert_eq!(keys, 10 + 8 + 8);
}

#[test]
fn every_generation_makes_new_keys() {
    let (_d1, a, t) = generated();
    let (_d2, b, _) = generated();
    let node = &t.nodes()[0];
    let key = |l: &Layout| std::fs::read(l.node_dir(node).join("msp/keystore/priv_sk")).unwrap();
    assert_ne!(key(&a), key(&b));
}

#[test]
fn chaincode_tls_certificates_chain_to_the_network_ca_and_are_kept() {
    use fabx::artifacts::chaincode_tls::{ChaincodeTls, TlsMode};
    let dir = tempfile::tempdir().unwrap();
    let tls = ChaincodeTls::new(dir.path().join("chaincode-tls"));
    let host = "examplecc.org1.example.com";
    let mutual = tls
        .for_server(TlsMode::Mutual, host, "Org1MSP")
        .unwrap()
        .unwrap();
    let der = |pem: &str| {
        x509_parser::pem::parse_x509_pem(pem.as_bytes())
            .unwrap()
            .1
            .contents
    };
    let ca = der(&mutual.ca_cert);
    let ca_checked = check(&ca);
    assert_eq!(ca_checked.is_ca, Some(true));
    assert!(ca_checked.key_usage.unwrap().key_cert_sign());

    // The server certificate: the name the peers dial, server auth only.
    let server = der(&mutual.server_cert);
    verify(&server, &ca);
    let s = check(&server);
    assert_eq!(s.sans, [host]);
    assert_eq!(s.eku, Some((false, true)));
    assert_eq!(s.is_ca, Some(false));
    assert_eq!(s.aki.as_deref(), Some(ca_checked.ski.as_slice()));
    // The peers' client certificate: client auth only.
    let (client_cert, client_key) = mutual.client.clone().unwrap();
    let client = der(&client_cert);
    verify(&client, &ca);
    assert_eq!(check(&client).eku, Some((true, false)));
    assert!(client_key.contains("PRIVATE KEY"));

    // Private keys 0600; a second deploy gets the very same material (same package ID).
    for key in [
        "ca.key",
        "servers/examplecc.org1.example.com/server.key",
        "clients/Org1MSP/client.key",
    ] {
        let mode = std::fs::metadata(dir.path().join("chaincode-tls").join(key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{key}");
    }
    let again = ChaincodeTls::new(dir.path().join("chaincode-tls"))
        .for_server(TlsMode::Mutual, host, "Org1MSP")
        .unwrap()
        .unwrap();
    assert_eq!(again, mutual);
    // A new server is signed by the same, reloaded CA.
    let other = tls
        .for_server(TlsMode::Server, "othercc.org2.example.com", "Org2MSP")
        .unwrap()
        .unwrap();
    verify(&der(&other.server_cert), &ca);
    assert!(
        other.client.is_none(),
        "server mode has no client certificate"
    );
    assert!(tls
        .for_server(TlsMode::Off, host, "Org1MSP")
        .unwrap()
        .is_none());
}

#[test]
fn tls_connection_json_carries_the_fabric_fields() {
    use fabx::artifacts::chaincode_tls::{ChaincodeTls, TlsMode};
    use fabx::artifacts::package::Package;
    let dir = tempfile::tempdir().unwrap();
    let tls = ChaincodeTls::new(dir.path())
        .for_server(TlsMode::Mutual, "cc.org1.example.com", "Org1MSP")
        .unwrap();
    let package =
        Package::ccaas_tls("cc_1.0", "cc.org1.example.com:9999", tls.as_ref(), &[]).unwrap();
    let connection = connection_json(&package.bytes);
    let tls = tls.unwrap();
    assert_eq!(connection["address"], "cc.org1.example.com:9999");
    assert_eq!(connection["dial_timeout"], "10s");
    assert_eq!(connection["tls_required"], true);
    assert_eq!(connection["client_auth_required"], true);
    assert_eq!(connection["root_cert"], tls.ca_cert.as_str());
    assert_eq!(
        connection["client_cert"],
        tls.client.as_ref().unwrap().0.as_str()
    );
    assert_eq!(
        connection["client_key"],
        tls.client.as_ref().unwrap().1.as_str()
    );
    let plain = connection_json(&Package::ccaas("cc_1.0", "cc:9999").unwrap().bytes);
    assert_eq!(plain["tls_required"], false);
}

#[test]
fn couchdb_indexes_ride_in_code_tar_gz_and_change_the_package_id() {
    use fabx::artifacts::package::Package;
    use fabx::artifacts::statedb::statedb_files;
    let dir = tempfile::tempdir().unwrap();
    let index = r#"{"index":{"fields":["owner"]},"name":"byOwner","type":"json"}"#;
    let indexes = dir.path().join("statedb/couchdb/indexes");
    std::fs::create_dir_all(&indexes).unwrap();
    std::fs::write(indexes.join("byOwner.json"), index).unwrap();
    let statedb = statedb_files(dir.path()).unwrap();
    let with = Package::ccaas_tls("cc_1.0", "cc:9999", None, &statedb).unwrap();
    let code = read_entry(&with.bytes, "code.tar.gz");
    // Where the peer's package parser and fabx's builder look for them.
    assert_eq!(
        read_entry(&code, "META-INF/statedb/couchdb/indexes/byOwner.json"),
        index.as_bytes()
    );
    let without = Package::ccaas("cc_1.0", "cc:9999").unwrap();
    assert_ne!(with.id(), without.id());
    // Still deterministic: the same files, the same ID.
    let again = Package::ccaas_tls("cc_1.0", "cc:9999", None, &statedb).unwrap();
    assert_eq!(again.id(), with.id());
}

/// The entry `name` of a gzip-compressed tar archive.
fn read_entry(archive: &[u8], name: &str) -> Vec<u8> {
    use std::io::Read;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_str() == Some(name) {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            return bytes;
        }
    }
    panic!("{name} not in the archive");
}

/// connection.json inside a CCaaS package (tar.gz of metadata.json and code.tar.gz).
fn connection_json(package: &[u8]) -> serde_json::Value {
    let code = read_entry(package, "code.tar.gz");
    serde_json::from_slice(&read_entry(&code, "connection.json")).unwrap()
}

#[test]
fn unreadable_chaincode_tls_files_are_errors_not_replaced() {
    use fabx::artifacts::chaincode_tls::{ChaincodeTls, TlsMode};
    let dir = tempfile::tempdir().unwrap();
    let tls = ChaincodeTls::new(dir.path());
    tls.for_server(TlsMode::Mutual, "cc.org1.example.com", "Org1MSP")
        .unwrap();
    let key = dir.path().join("servers/cc.org1.example.com/server.key");
    std::fs::write(&key, "garbage").unwrap();
    let err = tls
        .for_server(TlsMode::Mutual, "cc.org1.example.com", "Org1MSP")
        .unwrap_err()
        .to_string();
    assert!(err.contains(&key.display().to_string()), "{err}");
    assert!(err.contains("fabx down"), "{err}");
    assert_eq!(std::fs::read_to_string(&key).unwrap(), "garbage");
    std::fs::write(
        dir.path().join("ca.key"),
        "-----BEGIN PRIVATE KEY-----\nbad\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let err = tls
        .for_server(TlsMode::Server, "other.org2.example.com", "Org2MSP")
        .unwrap_err()
        .to_string();
    assert!(err.contains("ca.key"), "{err}");
}
