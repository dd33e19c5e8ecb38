use super::*;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::VerifyingKey;
use p256::pkcs8::DecodePrivateKey;

fn registrar() -> Registrar {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["admin".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    Registrar {
        cert_pem: cert.pem().into_bytes(),
        key: SigningKey::from_pkcs8_pem(&key.serialize_pem()).unwrap(),
    }
}

#[test]
fn a_token_is_the_certificate_and_a_signature_over_method_uri_body_and_certificate() {
    let registrar = registrar();
    let body = br#"{"id":"user1"}"#;
    let token = registrar.token("POST", "/api/v1/register", body);
    let (cert, signature) = token.split_once('.').unwrap();
    assert_eq!(BASE64.decode(cert).unwrap(), registrar.cert_pem);
    let payload = format!(
        "POST.{}.{}.{cert}",
        BASE64.encode("/api/v1/register"),
        BASE64.encode(body)
    );
    let signature = Signature::from_der(&BASE64.decode(signature).unwrap()).unwrap();
    assert!(signature.normalize_s().is_none(), "S is in the lower half");
    VerifyingKey::from(&registrar.key)
        .verify(payload.as_bytes(), &signature)
        .unwrap();
    // Another body is another token: the signature covers it.
    assert_ne!(token, registrar.token("POST", "/api/v1/register", b"{}"));
}
