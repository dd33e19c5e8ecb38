//! The chaincode API beyond state: the client identity with Fabric CA attributes, key
//! history, the transaction timestamp, calls to other chaincodes, key-level endorsement
//! policies and the signed proposal, through the real shim and the mock peer.

mod common;

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fabx_shim::mock_peer::{signed_proposal, MockPeer};
use fabx_shim::{Chaincode, KeyEndorsementPolicy, Response, RoleType, ShimError, Stub};
use rcgen::{CertificateParams, CustomExtension, DistinguishedName, DnType, KeyPair};

/// Each function returns text built from one part of the API.
struct ClientApiCc;

impl Chaincode for ClientApiCc {
    async fn init(&self, _stub: &Stub) -> Response {
        Response::success(Vec::new())
    }

    async fn invoke(&self, stub: &Stub) -> Response {
        let (function, p) = stub.function_and_parameters();
        let result: Result<String, ShimError> = async {
            Ok(match (function.as_str(), p.as_slice()) {
                ("whoami", [attribute]) => {
                    let id = stub.client_identity()?;
                    format!(
                        "{} {} {:?} {}",
                        id.msp_id(),
                        id.organizational_units().join("+"),
                        id.attribute_value(attribute),
                        id.id()
                    )
                }
                ("assert", [name, value]) => {
                    stub.client_identity()?
                        .assert_attribute_value(name, value)?;
                    "yes".into()
                }
                ("put", [key, value]) => {
                    stub.put_state(key, value.as_bytes()).await?;
                    String::new()
                }
                ("del", [key]) => {
                    stub.del_state(key).await?;
                    String::new()
                }
                ("history", [key]) => stub
                    .get_history_for_key(key)
                    .await?
                    .iter()
                    .map(|m| match m.is_delete {
                        true => format!("{}:deleted", m.tx_id),
                        false => format!("{}:{}", m.tx_id, String::from_utf8_lossy(&m.value)),
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                ("time", []) => {
                    let since = stub.tx_timestamp()?.duration_since(UNIX_EPOCH).unwrap();
                    since.as_secs().to_string()
                }
                ("call", [name, args @ ..]) => {
                    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
                    let r = stub.invoke_chaincode(name, &args, "").await?;
                    format!(
                        "{} {} {}",
                        r.status,
                        r.message,
                        String::from_utf8_lossy(&r.payload)
                    )
                }
                ("owned", [key, orgs @ ..]) => {
                    let mut policy = KeyEndorsementPolicy::new(
                        &stub.get_state_validation_parameter(key).await?,
                    )?;
                    let orgs: Vec<&str> = orgs.iter().map(String::as_str).collect();
                    policy.add_orgs(RoleType::Peer, &orgs);
                    stub.set_state_validation_parameter(key, policy.policy())
                        .await?;
                    String::new()
                }
                ("owners", [key]) => {
                    let policy = stub.get_state_validation_parameter(key).await?;
                    KeyEndorsementPolicy::new(&policy)?.list_orgs().join(",")
                }
                ("proposal", []) => format!(
                    "{} {}",
                    stub.signed_proposal().is_some(),
                    stub.decorations().len()
                ),
                _ => {
                    return Err(ShimError::InvalidArgument(format!(
                        "no function {function}"
                    )))
                }
            })
        }
        .await;
        match result {
            Ok(text) => Response::success(text.into_bytes()),
            Err(e) => Response::error(e.to_string()),
        }
    }
}

/// A user certificate of Org1 with Fabric CA's attribute extension.
fn user_with(attrs: &str) -> Vec<u8> {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, "ca.org1.example.com");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationalUnitName, "client");
    name.push(DnType::CommonName, "auditor1");
    params.distinguished_name = name;
    params
        .custom_extensions
        .push(CustomExtension::from_oid_content(
            &[1, 2, 3, 4, 5, 6, 7, 8, 1],
            attrs.as_bytes().to_vec(),
        ));
    let key = KeyPair::generate().unwrap();
    params.signed_by(&key, &issuer).unwrap().pem().into_bytes()
}

async fn connect() -> (common::PlainServer, MockPeer) {
    let server = common::serve_plain(ClientApiCc).await;
    let peer = MockPeer::connect(common::plain_channel(server.addr).await)
        .await
        .unwrap();
    (server, peer)
}

async fn ok(peer: &MockPeer, txid: &str, args: &[&str]) -> String {
    let cert = user_with(r#"{"attrs":{"role":"auditor"}}"#);
    let proposal = signed_proposal("Org1MSP", &cert, HashMap::new());
    let r = peer
        .invoke_with_proposal(common::CHANNEL, txid, args, proposal)
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{args:?}: {}", r.message);
    String::from_utf8(r.payload).unwrap()
}

#[tokio::test]
async fn the_client_identity_carries_msp_units_attributes_and_id() {
    let (_server, peer) = connect().await;
    let text = ok(&peer, "t1", &["whoami", "role"]).await;
    let mut parts = text.split(' ');
    assert_eq!(parts.next(), Some("Org1MSP"));
    assert_eq!(parts.next(), Some("client"));
    assert_eq!(parts.next(), Some("Some(\"auditor\")"));
    let id = base64_decode(parts.next().unwrap());
    assert_eq!(id, "x509::CN=auditor1,OU=client::CN=ca.org1.example.com");
    assert_eq!(ok(&peer, "t2", &["assert", "role", "auditor"]).await, "yes");

    let cert = user_with(r#"{"attrs":{"role":"clerk"}}"#);
    let proposal = signed_proposal("Org1MSP", &cert, HashMap::new());
    let refused = peer
        .invoke_with_proposal(
            common::CHANNEL,
            "t3",
            &["assert", "role", "auditor"],
            proposal,
        )
        .await
        .unwrap();
    assert_eq!(refused.status, 500);
    assert_eq!(
        refused.message,
        "Attribute 'role' equals 'clerk', not 'auditor'"
    );

    // Without a proposal there is no creator to read.
    let bare = peer
        .invoke(common::CHANNEL, "t4", &["whoami", "role"])
        .await
        .unwrap();
    assert!(bare.message.contains("no creator"), "{}", bare.message);
}

#[tokio::test]
async fn history_lists_writes_newest_first_with_deletes() {
    let (_server, peer) = connect().await;
    ok(&peer, "w1", &["put", "car1", "tom"]).await;
    ok(&peer, "w2", &["put", "car1", "ann"]).await;
    ok(&peer, "w3", &["del", "car1"]).await;
    ok(&peer, "w4", &["put", "car2", "bob"]).await;
    assert_eq!(
        ok(&peer, "h1", &["history", "car1"]).await,
        "w3:deleted,w2:ann,w1:tom"
    );
    assert_eq!(ok(&peer, "h2", &["history", "none"]).await, "");
    assert!(peer.open_queries().is_empty());
}

#[tokio::test]
async fn the_timestamp_is_the_proposal_s() {
    let (_server, peer) = connect().await;
    let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let seconds: u64 = ok(&peer, "t1", &["time"]).await.parse().unwrap();
    let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(1);
    assert!(before.as_secs() <= seconds && seconds <= after.as_secs());
    let bare = peer.invoke(common::CHANNEL, "t2", &["time"]).await.unwrap();
    assert!(bare.message.contains("no timestamp"), "{}", bare.message);
    assert_eq!(ok(&peer, "t3", &["proposal"]).await, "true 0");
}

#[tokio::test]
async fn a_call_to_another_chaincode_returns_its_response() {
    let (_server, peer) = connect().await;
    peer.answer_calls_to("examplecc", Response::success(b"100".to_vec()));
    assert_eq!(
        ok(&peer, "c1", &["call", "examplecc", "query", "a"]).await,
        "200  100"
    );
    assert_eq!(
        peer.chaincode_calls(),
        [(
            "examplecc".to_string(),
            vec![b"query".to_vec(), b"a".to_vec()]
        )]
    );
    let missing = ok(&peer, "c2", &["call", "nosuchcc", "query"]).await;
    assert_eq!(missing, "500 chaincode nosuchcc not found ");
}

#[tokio::test]
async fn a_key_endorsement_policy_is_written_and_read_back() {
    let (_server, peer) = connect().await;
    ok(&peer, "p1", &["put", "car1", "tom"]).await;
    assert_eq!(ok(&peer, "e0", &["owners", "car1"]).await, "");
    ok(&peer, "e1", &["owned", "car1", "Org2MSP"]).await;
    ok(&peer, "e2", &["owned", "car1", "Org1MSP"]).await;
    assert_eq!(
        ok(&peer, "e3", &["owners", "car1"]).await,
        "Org1MSP,Org2MSP"
    );
    let metadata = peer.state_metadata("", "car1");
    let policy = metadata.get(fabx_shim::VALIDATION_PARAMETER).unwrap();
    let read = KeyEndorsementPolicy::new(policy).unwrap();
    assert_eq!(read.list_orgs(), ["Org1MSP", "Org2MSP"]);
}

fn base64_decode(text: &str) -> String {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap();
    String::from_utf8(bytes).unwrap()
}
