use super::*;
use rcgen::{CertificateParams, CustomExtension, DistinguishedName, DnType, KeyPair};

/// A certificate signed by a CA named `ca.org1.example.com`, with `subject` and, when
/// given, Fabric CA's attribute extension holding `attrs_json`.
fn creator(subject: DistinguishedName, attrs_json: Option<&str>) -> Vec<u8> {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::default();
    let mut ca_name = DistinguishedName::new();
    ca_name.push(DnType::CountryName, "US");
    ca_name.push(DnType::OrganizationName, "org1.example.com");
    ca_name.push(DnType::CommonName, "ca.org1.example.com");
    ca_params.distinguished_name = ca_name;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let issuer = rcgen::Issuer::new(ca_params, ca_key);

    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name = subject;
    if let Some(json) = attrs_json {
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(
                &[1, 2, 3, 4, 5, 6, 7, 8, 1],
                json.as_bytes().to_vec(),
            ));
    }
    let cert = params.signed_by(&key, &issuer).unwrap();
    SerializedIdentity {
        mspid: "Org1MSP".into(),
        id_bytes: cert.pem().into_bytes(),
    }
    .encode_to_vec()
}

fn user_subject() -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CountryName, "US");
    name.push(DnType::StateOrProvinceName, "California");
    name.push(DnType::OrganizationalUnitName, "client");
    // rcgen keeps one value per type: a second OU goes in under the OU's OID as a custom type.
    name.push(DnType::CustomDnType(vec![2, 5, 4, 11]), "org1");
    name.push(DnType::CommonName, "auditor1");
    name
}

#[test]
fn reads_msp_id_id_units_and_attributes() {
    let json = r#"{"attrs":{"hf.EnrollmentID":"auditor1","hf.Type":"client","role":"auditor"}}"#;
    let identity = ClientIdentity::from_creator(&creator(user_subject(), Some(json))).unwrap();
    assert_eq!(identity.msp_id(), "Org1MSP");
    let id = base64::engine::general_purpose::STANDARD
        .decode(identity.id())
        .unwrap();
    assert_eq!(
        String::from_utf8(id).unwrap(),
        "x509::CN=auditor1,OU=client+OU=org1,ST=California,C=US::\
         CN=ca.org1.example.com,O=org1.example.com,C=US"
    );
    assert_eq!(identity.organizational_units(), ["client", "org1"]);
    assert!(identity.has_ou_value("client"));
    assert!(!identity.has_ou_value("admin"));
    assert_eq!(identity.attribute_value("role"), Some("auditor"));
    assert_eq!(identity.attribute_value("hf.Type"), Some("client"));
    assert_eq!(identity.attribute_value("department"), None);
    assert!(identity.assert_attribute_value("role", "auditor").is_ok());
    assert_eq!(
        identity
            .assert_attribute_value("role", "admin")
            .unwrap_err()
            .to_string(),
        "Attribute 'role' equals 'auditor', not 'admin'"
    );
    assert_eq!(
        identity
            .assert_attribute_value("department", "x")
            .unwrap_err()
            .to_string(),
        "Attribute 'department' was not found"
    );
    let (_, cert) = X509Certificate::from_der(identity.certificate_der()).unwrap();
    let common_name = cert.subject().iter_common_name().next().unwrap();
    assert_eq!(common_name.as_str().unwrap(), "auditor1");
}

#[test]
fn a_certificate_without_the_extension_has_no_attributes() {
    let identity = ClientIdentity::from_creator(&creator(user_subject(), None)).unwrap();
    assert!(identity.attributes().is_empty());
    assert_eq!(identity.attribute_value("role"), None);
}

#[test]
fn a_malformed_attribute_extension_is_an_error() {
    let error = ClientIdentity::from_creator(&creator(user_subject(), Some("role=auditor")))
        .unwrap_err()
        .to_string();
    assert!(error.contains("attribute extension is not JSON"), "{error}");
}

#[test]
fn a_creator_without_a_certificate_is_an_error() {
    let creator = SerializedIdentity {
        mspid: "Org1MSP".into(),
        id_bytes: b"not a certificate".to_vec(),
    }
    .encode_to_vec();
    let error = ClientIdentity::from_creator(&creator)
        .unwrap_err()
        .to_string();
    assert!(error.contains("PEM block not found"), "{error}");
    assert!(ClientIdentity::from_creator(&[]).is_err());
}

#[test]
fn names_are_escaped_and_ordered_as_go_writes_them() {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "first");
    name.push(DnType::OrganizationName, "Acme, Inc.");
    name.push(DnType::CustomDnType(vec![2, 5, 4, 3]), " #last+one ");
    name.push(DnType::LocalityName, "#1 <a>;b\"c\\");
    let mut params = CertificateParams::default();
    params.distinguished_name = name;
    let cert = params.self_signed(&KeyPair::generate().unwrap()).unwrap();
    let (_, parsed) = X509Certificate::from_der(cert.der()).unwrap();
    assert_eq!(
        distinguished_name(parsed.subject()),
        r##"CN=\ #last\+one\ ,O=Acme\, Inc.,L=\#1 \<a\>\;b\"c\\"##
    );
}

/// A certificate openssl made with a multi-valued OU, two CNs and a comma, and the ID Go
/// 1.23's crypto/x509 writes for it (`x509::` + Subject.String() + `::` + Issuer.String(),
/// as cid does).
#[test]
fn the_id_is_what_go_writes() {
    let pem = "-----BEGIN CERTIFICATE-----\nMIIChDCCAimgAwIBAgIUE7R6RZJzPZaV10ZfsCPVi0xneaAwCgYIKoZIzj0EAwIw\ngZYxCzAJBgNVBAYTAlVTMRMwEQYDVQQIDApDYWxpZm9ybmlhMRYwFAYDVQQHDA1T\nYW4gRnJhbmNpc2NvMRMwEQYDVQQKDApBY21lLCBJbmMuMRwwCwYDVQQLDARvcmcx\nMA0GA1UECwwGY2xpZW50MRQwEgYDVQQDDAsgI29kZDtuYW1lIDERMA8GA1UEAwwI\nYXVkaXRvcjEwHhcNMjYxMjA0MTI0NzM2WhcNMjYxMjA1MTI0NzM2WjCBljELMAkG\nA1UEBhMCVVMxEzARBgNVBAgMCkNhbGlmb3JuaWExFjAUBgNVBAcMDVNhbiBGcmFu\nY2lzY28xEzARBgNVBAoMCkFjbWUsIEluYy4xHDALBgNVBAsMBG9yZzEwDQYDVQQL\nDAZjbGllbnQxFDASBgNVBAMMCyAjb2RkO25hbWUgMREwDwYDVQQDDAhhdWRpdG9y\nMTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNLr34bfSQCgMMq36pRHDUNOTTZM\nN0PcVL1OAttCTJT00I8AICIusAVK26rcExdTkN6z3LWHlgiZNQZjRuZKuUujUzBR\nMB0GA1UdDgQWBBQ2Gf6Mj32XIC7FpA/PHLAdQx79NjAfBgNVHSMEGDAWgBQ2Gf6M\nj32XIC7FpA/PHLAdQx79NjAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kA\nMEYCIQCwotEw3ESl4zbn7rQ9VPXACzoFX5zF5qdFe8bdwYhoqgIhALvn0enedGcZ\nLtCxnZSPQEIZyyhfi+wKgXOe8t6jHKW8\n-----END CERTIFICATE-----\n";
    let creator = SerializedIdentity {
        mspid: "Org1MSP".into(),
        id_bytes: pem.as_bytes().to_vec(),
    }
    .encode_to_vec();
    let identity = ClientIdentity::from_creator(&creator).unwrap();
    let id = base64::engine::general_purpose::STANDARD
        .decode(identity.id())
        .unwrap();
    let name = r"CN=auditor1,OU=org1+OU=client,O=Acme\, Inc.,L=San Francisco,ST=California,C=US";
    assert_eq!(
        String::from_utf8(id).unwrap(),
        format!("x509::{name}::{name}")
    );
}
