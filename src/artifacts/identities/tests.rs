use super::*;
use crate::topology::Topology;
use std::os::unix::fs::PermissionsExt;

fn network() -> (tempfile::TempDir, Layout, String) {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    let topology = Topology::default_topology();
    crypto::generate(&topology, &layout).unwrap();
    let domain = topology.orgs[0].domain.clone();
    (dir, layout, domain)
}

#[test]
fn an_added_user_is_signed_by_the_org_ca_with_its_attributes() {
    let (_dir, layout, domain) = network();
    let attributes = BTreeMap::from([("role".to_string(), "auditor".to_string())]);
    let dir = add(&layout, &domain, "auditor1", Role::Client, &attributes).unwrap();
    assert_eq!(dir, layout.user_dir(NodeKind::Peer, &domain, "auditor1"));

    let key = dir.join("msp/keystore/priv_sk");
    assert_eq!(
        fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let tls_key = dir.join("tls/client.key");
    assert_eq!(
        fs::metadata(&tls_key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // fabx (and any Fabric SDK) can sign with it.
    fabx_fabric::ClientIdentity::from_user_dir("Org1MSP", &dir).unwrap();

    // Signed by the org's CA: the signature verifies and the authority key ID is the CA's.
    let org = layout.org_dir(NodeKind::Peer, &domain);
    let ca_pem = fs::read(org.join(format!("ca/ca.{domain}-cert.pem"))).unwrap();
    let (_, ca_pem) = x509_parser::pem::parse_x509_pem(&ca_pem).unwrap();
    let (_, ca) = X509Certificate::from_der(&ca_pem.contents).unwrap();
    let cert_pem = fs::read(dir.join("msp/signcerts/auditor1-cert.pem")).unwrap();
    let (_, cert_pem) = x509_parser::pem::parse_x509_pem(&cert_pem).unwrap();
    let (_, cert) = X509Certificate::from_der(&cert_pem.contents).unwrap();
    cert.verify_signature(Some(ca.public_key())).unwrap();
    let aki = cert
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(a) => {
                a.key_identifier.clone()
            }
            _ => None,
        })
        .unwrap();
    let ski = ca
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(k) => Some(k.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(aki.0, ski.0);

    let listed = list(&layout, &domain).unwrap();
    let names: Vec<&str> = listed.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["Admin", "User1", "auditor1"]);
    let auditor = &listed[2];
    assert_eq!(auditor.role, "client");
    assert_eq!(auditor.msp, dir.join("msp"));
    let expected: BTreeMap<String, String> = [
        ("hf.Affiliation", ""),
        ("hf.EnrollmentID", "auditor1"),
        ("hf.Type", "client"),
        ("role", "auditor"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(auditor.attributes, expected);
    assert_eq!(listed[0].role, "admin");
    assert!(listed[1].attributes.is_empty());
}

#[test]
fn an_admin_role_is_written_as_the_admin_node_ou() {
    let (_dir, layout, domain) = network();
    add(&layout, &domain, "ops", Role::Admin, &BTreeMap::new()).unwrap();
    let ops = list(&layout, &domain)
        .unwrap()
        .into_iter()
        .find(|i| i.name == "ops")
        .unwrap();
    assert_eq!(ops.role, "admin");
    assert_eq!(ops.attributes["hf.Type"], "admin");
}

#[test]
fn without_the_org_ca_nothing_is_written() {
    let (_dir, layout, domain) = network();
    let org = layout.org_dir(NodeKind::Peer, &domain);
    fs::remove_file(org.join("ca/priv_sk")).unwrap();
    let error = add(&layout, &domain, "x", Role::Client, &BTreeMap::new()).unwrap_err();
    assert!(error.to_string().contains("priv_sk"), "{error}");
    let users: Vec<_> = fs::read_dir(org.join("users"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!users.iter().any(|u| u.starts_with("x@")), "{users:?}");
}
