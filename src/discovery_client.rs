//! A client for a peer's discovery service (`discovery.Discovery/Discover`), in place of
//! Fabric's `discover` CLI: what the channel's members are, as gossip has told the peer, and
//! which peers can endorse for a chaincode.
//!
//! Fabric authenticates a discovery request twice: the request is signed by the user's
//! enrollment key (ECDSA P-256, low-S), and it names the SHA-256 of the TLS client
//! certificate the connection presents, so the signature cannot be replayed over another
//! connection (see Fabric's `discovery/service.go`, `validateStructure`).

use crate::error::error_chain;
use crate::fabric_protos::discovery::{
    self, discovery_client::DiscoveryClient, query, query_result, QueryResult,
};
use crate::fabric_protos::{gossip, msp, protos};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::der::pem;
use p256::pkcs8::DecodePrivateKey;
use prost::Message;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// How long the TCP connection and TLS handshake with a peer may take together.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a peer may take to answer one request; discovery answers from memory.
pub const RPC_TIMEOUT: Duration = Duration::from_secs(30);

/// gRPC codes that say "ask again later": the peer is starting, restarting or overloaded.
const TRANSIENT_CODES: [tonic::Code; 2] = [tonic::Code::Unavailable, tonic::Code::DeadlineExceeded];

/// Why a discovery question got no answer. Each names the file or the peer concerned.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// A file of the client identity is missing or unreadable.
    #[error("cannot read {}: {source}", .path.display())]
    ReadIdentity {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A key or certificate of the client identity is not what Fabric expects.
    #[error("{} cannot be used: {problem}", .path.display())]
    BadKey { path: PathBuf, problem: String },
    /// No TLS connection to the peer (refused, timed out, or its certificate not trusted).
    #[error("cannot connect to {server_name}'s discovery service at {address}: {message}")]
    Connect {
        address: SocketAddr,
        server_name: String,
        message: String,
    },
    /// The call failed; `status` is the gRPC code's name and the message.
    #[error("discovery request to {server_name} failed: {status}")]
    Rpc { server_name: String, status: String },
    /// The peer answered something this client cannot read; `detail` says what was found.
    #[error("cannot read {what}: {detail}")]
    Unparseable { what: String, detail: String },
}

impl DiscoveryError {
    /// Whether asking again later may succeed: the peer could not be reached, or said it is
    /// unavailable, or did not answer in time.
    pub fn is_transient(&self) -> bool {
        match self {
            DiscoveryError::Connect { .. } => true,
            DiscoveryError::Rpc { status, .. } => TRANSIENT_CODES
                .iter()
                .any(|code| status.starts_with(&format!("{code:?}:"))),
            _ => false,
        }
    }
}

/// The `status` of [`DiscoveryError::Rpc`]: the gRPC code's name, then the message.
fn status_text(code: tonic::Code, message: &str) -> String {
    format!("{code:?}: {message}")
}

/// A Fabric client identity: MSP ID, signing certificate and key (PKCS#8 PEM, cryptogen
/// layout), plus the TLS client certificate and key presented on the connection.
#[derive(Clone)]
pub struct ClientIdentity {
    msp_id: String,
    signing_cert_pem: Vec<u8>,
    signing_key: SigningKey,
    tls_cert_pem: Vec<u8>,
    tls_key_pem: Vec<u8>,
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
    pub fn from_user_dir(msp_id: &str, dir: &Path) -> Result<Self, DiscoveryError> {
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
    pub(crate) fn tls_cert_hash(&self) -> &[u8] {
        &self.tls_cert_hash
    }

    /// `msp.SerializedIdentity`, as Fabric identifies a client: MSP ID and certificate PEM.
    pub(crate) fn serialized(&self) -> Vec<u8> {
        msp::SerializedIdentity {
            mspid: self.msp_id.clone(),
            id_bytes: self.signing_cert_pem.clone(),
        }
        .encode_to_vec()
    }

    /// A request with `queries`, bound to this identity and its TLS certificate, and signed.
    fn signed_request(&self, queries: Vec<discovery::Query>) -> discovery::SignedRequest {
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

fn read(path: &Path) -> Result<Vec<u8>, DiscoveryError> {
    std::fs::read(path).map_err(|source| DiscoveryError::ReadIdentity {
        path: path.to_path_buf(),
        source,
    })
}

/// The one `.pem` file in `dir`: cryptogen writes exactly one signing certificate, and with
/// several we could not know which one the key belongs to.
fn only_pem_in(dir: &Path) -> Result<PathBuf, DiscoveryError> {
    let unreadable = |source| DiscoveryError::ReadIdentity {
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
fn key_of(
    cert_path: &Path,
    cert_pem: &[u8],
    key_path: &Path,
) -> Result<SigningKey, DiscoveryError> {
    let key = signing_key(key_path, &read(key_path)?)?;
    if !holds_public_key(&certificate_der(cert_path, cert_pem)?, &key) {
        return Err(DiscoveryError::BadKey {
            path: key_path.to_path_buf(),
            problem: format!("it is not the key of {}", cert_path.display()),
        });
    }
    Ok(key)
}

/// A P-256 private key in PEM: PKCS#8 as cryptogen and Fabric CA write it, or SEC1.
fn signing_key(path: &Path, pem_bytes: &[u8]) -> Result<SigningKey, DiscoveryError> {
    let bad = |problem: String| DiscoveryError::BadKey {
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
fn certificate_der(path: &Path, pem_bytes: &[u8]) -> Result<Vec<u8>, DiscoveryError> {
    let bad = |problem: String| DiscoveryError::BadKey {
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

/// Whether a certificate is for `key`: its SubjectPublicKeyInfo holds the public key's
/// uncompressed point verbatim.
fn holds_public_key(cert_der: &[u8], key: &SigningKey) -> bool {
    let point = key.verifying_key().to_encoded_point(false);
    let point = point.as_bytes();
    cert_der.windows(point.len()).any(|window| window == point)
}

/// What a peer knows about one peer of the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredPeer {
    pub msp_id: String,
    /// The gossip endpoint the peer announces (`host:port`), as `discover` printed it.
    pub endpoint: String,
    pub ledger_height: u64,
    /// Names of the chaincodes the peer has, as its gossip state says.
    pub chaincodes: Vec<String>,
}

/// A discovery answer: either the result, or the service's reason for not having one yet
/// (such as a chaincode whose policy no set of known peers can satisfy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<T> {
    Ready(T),
    NotYet(String),
}

/// Who can endorse for a chaincode: peers by group, and the ways (layouts) of choosing a
/// number of peers from each group that satisfy the endorsement policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndorsementPlan {
    pub chaincode: String,
    pub groups: BTreeMap<String, Vec<DiscoveredPeer>>,
    pub layouts: Vec<BTreeMap<String, u32>>,
}

/// A TLS connection to one peer's discovery service, as one client identity.
pub struct DiscoveryConnection {
    client: DiscoveryClient<Channel>,
    server_name: String,
    identity: ClientIdentity,
}

impl DiscoveryConnection {
    /// Connects to `address` (e.g. a host-published port), verifying that the peer's TLS
    /// certificate is for `server_name` and issued by `tls_ca_pem`, and presenting the
    /// identity's TLS client certificate, which the discovery service requires.
    pub async fn connect(
        address: SocketAddr,
        server_name: &str,
        tls_ca_pem: &[u8],
        identity: ClientIdentity,
    ) -> Result<Self, DiscoveryError> {
        let channel = tls_channel(address, server_name, tls_ca_pem, &identity)
            .await
            .map_err(|message| DiscoveryError::Connect {
                address,
                server_name: server_name.to_string(),
                message,
            })?;
        Ok(DiscoveryConnection {
            client: DiscoveryClient::new(channel),
            server_name: server_name.to_string(),
            identity,
        })
    }

    /// The channel's peers as this peer knows them (`discover peers`), sorted by MSP ID and
    /// endpoint.
    pub async fn peers(
        &mut self,
        channel: &str,
    ) -> Result<Answer<Vec<DiscoveredPeer>>, DiscoveryError> {
        let query = query::Query::PeerQuery(discovery::PeerMembershipQuery { filter: None });
        let what = format!("{}'s channel members of {channel}", self.server_name);
        let response = self.ask(channel, query).await?;
        read_answer(response, what, peers_answer)
    }

    /// An endorsement plan for `chaincode` on the channel (`discover endorsers`).
    pub async fn endorsers(
        &mut self,
        channel: &str,
        chaincode: &str,
    ) -> Result<Answer<EndorsementPlan>, DiscoveryError> {
        let query = query::Query::CcQuery(discovery::ChaincodeQuery {
            interests: vec![protos::ChaincodeInterest {
                chaincodes: vec![protos::ChaincodeCall {
                    name: chaincode.to_string(),
                    ..Default::default()
                }],
            }],
        });
        let what = format!(
            "{}'s endorsers of {chaincode} on {channel}",
            self.server_name
        );
        let response = self.ask(channel, query).await?;
        read_answer(response, what, |result| endorsers_answer(result, chaincode))
    }

    /// Sends one signed query and returns the response.
    async fn ask(
        &mut self,
        channel: &str,
        query: query::Query,
    ) -> Result<discovery::Response, DiscoveryError> {
        let request = self.identity.signed_request(vec![discovery::Query {
            channel: channel.to_string(),
            query: Some(query),
        }]);
        let rpc_error = |status: String| DiscoveryError::Rpc {
            server_name: self.server_name.clone(),
            status,
        };
        let response = tokio::time::timeout(RPC_TIMEOUT, self.client.discover(request))
            .await
            .map_err(|_| {
                let message = format!("no answer within {}s", RPC_TIMEOUT.as_secs());
                rpc_error(status_text(tonic::Code::DeadlineExceeded, &message))
            })?
            .map_err(|status| rpc_error(status_text(status.code(), status.message())))?;
        Ok(response.into_inner())
    }
}

/// A gRPC channel over TLS to `address`, verifying that the server's certificate is for
/// `server_name` and issued by `tls_ca_pem`, and presenting the identity's TLS client
/// certificate (discovery requires it; other services accept it). The error says why.
pub(crate) async fn tls_channel(
    address: SocketAddr,
    server_name: &str,
    tls_ca_pem: &[u8],
    identity: &ClientIdentity,
) -> Result<Channel, String> {
    let tls = ClientTlsConfig::new()
        .domain_name(server_name)
        .ca_certificate(Certificate::from_pem(tls_ca_pem))
        .identity(Identity::from_pem(
            &identity.tls_cert_pem,
            &identity.tls_key_pem,
        ));
    let endpoint = Endpoint::from_shared(format!("https://{address}"))
        .and_then(|endpoint| endpoint.tls_config(tls))
        .map_err(|e| error_chain(&e))?;
    tokio::time::timeout(CONNECT_TIMEOUT, endpoint.connect())
        .await
        .map_err(|_| format!("no connection within {}s", CONNECT_TIMEOUT.as_secs()))?
        .map_err(|e| error_chain(&e))
}

/// Reads the one result of `response` with `read`; what cannot be read is Unparseable as
/// `what` (which names the peer and the question), never a guess.
fn read_answer<T>(
    response: discovery::Response,
    what: String,
    read: impl FnOnce(query_result::Result) -> Result<Answer<T>, String>,
) -> Result<Answer<T>, DiscoveryError> {
    only_result(response)
        .and_then(read)
        .map_err(|detail| DiscoveryError::Unparseable { what, detail })
}

/// The result of a request that held one query.
fn only_result(response: discovery::Response) -> Result<query_result::Result, String> {
    match <[QueryResult; 1]>::try_from(response.results) {
        Ok(
            [QueryResult {
                result: Some(result),
            }],
        ) => Ok(result),
        Ok(_) => Err("an empty result".to_string()),
        Err(results) => Err(format!("{} results to one query", results.len())),
    }
}

/// Names a result for an error message about getting the wrong one.
fn result_kind(result: &query_result::Result) -> &'static str {
    match result {
        query_result::Result::Error(_) => "an error",
        query_result::Result::ConfigResult(_) => "a channel configuration",
        query_result::Result::CcQueryRes(_) => "an endorsement result",
        query_result::Result::Members(_) => "a membership result",
    }
}

fn peers_answer(result: query_result::Result) -> Result<Answer<Vec<DiscoveredPeer>>, String> {
    match result {
        query_result::Result::Error(error) => Ok(Answer::NotYet(error.content)),
        query_result::Result::Members(members) => channel_members(members).map(Answer::Ready),
        other => Err(format!(
            "{} instead of channel members",
            result_kind(&other)
        )),
    }
}

fn channel_members(
    members: discovery::PeerMembershipResult,
) -> Result<Vec<DiscoveredPeer>, String> {
    let mut peers = Vec::new();
    for (msp_id, org_peers) in members.peers_by_org {
        for peer in &org_peers.peers {
            peers.push(discovered_peer(msp_id.clone(), peer)?);
        }
    }
    peers.sort_by(|a, b| (&a.msp_id, &a.endpoint).cmp(&(&b.msp_id, &b.endpoint)));
    Ok(peers)
}

fn endorsers_answer(
    result: query_result::Result,
    chaincode: &str,
) -> Result<Answer<EndorsementPlan>, String> {
    match result {
        query_result::Result::Error(error) => Ok(Answer::NotYet(error.content)),
        query_result::Result::CcQueryRes(found) => {
            endorsement_plan(found, chaincode).map(Answer::Ready)
        }
        other => Err(format!("{} instead of endorsers", result_kind(&other))),
    }
}

/// The plan in the one descriptor asked for, checked as Fabric's client checks it: for the
/// chaincode asked about, and with every layout's groups among the endorser groups.
fn endorsement_plan(
    found: discovery::ChaincodeQueryResult,
    chaincode: &str,
) -> Result<EndorsementPlan, String> {
    let [descriptor] = <[discovery::EndorsementDescriptor; 1]>::try_from(found.content)
        .map_err(|all| format!("{} endorsement descriptors for one chaincode", all.len()))?;
    if descriptor.chaincode != chaincode {
        return Err(format!(
            "an endorsement descriptor for chaincode {:?}",
            descriptor.chaincode
        ));
    }
    let mut groups = BTreeMap::new();
    for (group, peers) in descriptor.endorsers_by_groups {
        let mut endorsers = peers
            .peers
            .iter()
            .map(endorser)
            .collect::<Result<Vec<_>, _>>()?;
        endorsers.sort_by(|a, b| (&a.msp_id, &a.endpoint).cmp(&(&b.msp_id, &b.endpoint)));
        groups.insert(group, endorsers);
    }
    let mut layouts = Vec::new();
    for layout in descriptor.layouts {
        if let Some(group) = layout
            .quantities_by_group
            .keys()
            .find(|group| !groups.contains_key(*group))
        {
            return Err(format!(
                "a layout needs group {group}, which has no endorsers"
            ));
        }
        layouts.push(layout.quantities_by_group.into_iter().collect());
    }
    Ok(EndorsementPlan {
        chaincode: descriptor.chaincode,
        groups,
        layouts,
    })
}

/// An endorser, whose MSP ID is in its serialized identity (groups are not orgs).
fn endorser(peer: &discovery::Peer) -> Result<DiscoveredPeer, String> {
    let identity = msp::SerializedIdentity::decode(peer.identity.as_slice())
        .map_err(|e| format!("an endorser's identity is not a serialized identity ({e})"))?;
    discovered_peer(identity.mspid, peer)
}

/// A peer from its gossip messages: the endpoint from its alive message, ledger height and
/// chaincodes from its channel state.
fn discovered_peer(msp_id: String, peer: &discovery::Peer) -> Result<DiscoveredPeer, String> {
    let whose = |field: &str| format!("{field} of a peer of {msp_id}");
    let endpoint = match gossip_content(peer.membership_info.as_ref(), &whose("membership_info"))? {
        gossip::gossip_message::Content::AliveMsg(gossip::AliveMessage {
            membership: Some(member),
            ..
        }) => member.endpoint,
        _ => {
            return Err(format!(
                "{} is not an alive message with a membership",
                whose("membership_info")
            ))
        }
    };
    let properties = match gossip_content(peer.state_info.as_ref(), &whose("state_info"))? {
        gossip::gossip_message::Content::StateInfo(gossip::StateInfo {
            properties: Some(properties),
            ..
        }) => properties,
        _ => {
            return Err(format!(
                "{} is not a state info message with properties",
                whose("state_info")
            ))
        }
    };
    Ok(DiscoveredPeer {
        msp_id,
        endpoint,
        ledger_height: properties.ledger_height,
        chaincodes: properties
            .chaincodes
            .into_iter()
            .map(|cc| cc.name)
            .collect(),
    })
}

/// The content of the gossip message in an envelope's payload.
fn gossip_content(
    envelope: Option<&gossip::Envelope>,
    what: &str,
) -> Result<gossip::gossip_message::Content, String> {
    let envelope = envelope.ok_or_else(|| format!("{what} is missing"))?;
    gossip::GossipMessage::decode(envelope.payload.as_slice())
        .map_err(|e| format!("{what} is not a gossip message ({e})"))?
        .content
        .ok_or_else(|| format!("{what} is an empty gossip message"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gossip::gossip_message::Content;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::VerifyingKey;

    /// Half the order of P-256, big-endian: a signature's S must not exceed it.
    const HALF_ORDER: [u8; 32] = [
        0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31,
        0x92, 0xa8,
    ];

    /// A self-signed certificate and its PKCS#8 key, as PEM.
    fn cert_and_key(name: &str) -> (String, String) {
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

    fn identity() -> (tempfile::TempDir, ClientIdentity) {
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
            matches!(&error, DiscoveryError::BadKey { path, .. } if path.ends_with("priv_sk")),
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
            matches!(&error, DiscoveryError::BadKey { path, .. } if path.ends_with("client.key")),
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
        assert!(
            matches!(error, DiscoveryError::ReadIdentity { .. }),
            "{error}"
        );
        assert!(error.to_string().contains("found 2"), "{error}");
    }

    #[tokio::test]
    async fn a_closed_port_is_a_transient_connect_error_naming_the_peer() {
        let (_dir, identity) = identity();
        let (ca, _) = cert_and_key("tlsca.org1.example.com");
        let address = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap()
        };
        let error = DiscoveryConnection::connect(
            address,
            "peer0.org1.example.com",
            ca.as_bytes(),
            identity,
        )
        .await
        .err()
        .unwrap();
        assert!(matches!(error, DiscoveryError::Connect { .. }), "{error}");
        assert!(error.is_transient());
        assert!(
            error.to_string().contains("peer0.org1.example.com"),
            "{error}"
        );
    }

    #[test]
    fn unavailable_and_deadline_are_transient_other_statuses_are_not() {
        let rpc = |code| DiscoveryError::Rpc {
            server_name: "peer0.org1.example.com".to_string(),
            status: status_text(code, "message"),
        };
        assert!(rpc(tonic::Code::Unavailable).is_transient());
        assert!(rpc(tonic::Code::DeadlineExceeded).is_transient());
        assert!(!rpc(tonic::Code::Unknown).is_transient());
        assert!(!rpc(tonic::Code::PermissionDenied).is_transient());
    }

    /// A gossip envelope as a peer signs it: the payload is a serialized GossipMessage.
    fn envelope(content: Content) -> gossip::Envelope {
        gossip::Envelope {
            payload: gossip::GossipMessage {
                nonce: 0,
                channel: b"mychannel".to_vec(),
                tag: gossip::gossip_message::Tag::Empty as i32,
                content: Some(content),
            }
            .encode_to_vec(),
            signature: vec![1, 2, 3],
            secret_envelope: None,
        }
    }

    fn peer(msp_id: &str, endpoint: &str, height: u64, chaincodes: &[&str]) -> discovery::Peer {
        let time = gossip::PeerTime {
            inc_num: 1,
            seq_num: 2,
        };
        let alive = Content::AliveMsg(gossip::AliveMessage {
            membership: Some(gossip::Member {
                endpoint: endpoint.to_string(),
                metadata: vec![],
                pki_id: endpoint.as_bytes().to_vec(),
            }),
            timestamp: Some(time),
            identity: vec![],
        });
        let state = Content::StateInfo(gossip::StateInfo {
            timestamp: Some(time),
            pki_id: endpoint.as_bytes().to_vec(),
            channel_mac: vec![],
            properties: Some(gossip::Properties {
                ledger_height: height,
                left_channel: false,
                chaincodes: chaincodes
                    .iter()
                    .map(|name| gossip::Chaincode {
                        name: name.to_string(),
                        version: "1.0".to_string(),
                        metadata: vec![],
                    })
                    .collect(),
            }),
        });
        discovery::Peer {
            state_info: Some(envelope(state)),
            membership_info: Some(envelope(alive)),
            identity: msp::SerializedIdentity {
                mspid: msp_id.to_string(),
                id_bytes: b"-----BEGIN CERTIFICATE-----".to_vec(),
            }
            .encode_to_vec(),
        }
    }

    fn response(result: query_result::Result) -> discovery::Response {
        discovery::Response {
            results: vec![QueryResult {
                result: Some(result),
            }],
        }
    }

    fn members(orgs: Vec<(&str, Vec<discovery::Peer>)>) -> query_result::Result {
        query_result::Result::Members(discovery::PeerMembershipResult {
            peers_by_org: orgs
                .into_iter()
                .map(|(org, peers)| (org.to_string(), discovery::Peers { peers }))
                .collect(),
        })
    }

    /// What [`read_answer`] makes of a response; the detail of an Unparseable error, which
    /// must name the peer.
    fn read<T>(
        response: discovery::Response,
        read: impl FnOnce(query_result::Result) -> Result<Answer<T>, String>,
    ) -> Result<Answer<T>, String> {
        let what = "peer0.org1.example.com's answer".to_string();
        read_answer(response, what, read).map_err(|error| match error {
            DiscoveryError::Unparseable { what, detail } => {
                assert!(what.contains("peer0.org1.example.com"));
                detail
            }
            other => panic!("not Unparseable: {other}"),
        })
    }

    fn decode_peers(response: discovery::Response) -> Result<Answer<Vec<DiscoveredPeer>>, String> {
        read(response, peers_answer)
    }

    fn discovered(
        msp_id: &str,
        endpoint: &str,
        height: u64,
        chaincodes: &[&str],
    ) -> DiscoveredPeer {
        DiscoveredPeer {
            msp_id: msp_id.to_string(),
            endpoint: endpoint.to_string(),
            ledger_height: height,
            chaincodes: chaincodes.iter().map(|c| c.to_string()).collect(),
        }
    }

    #[test]
    fn channel_members_are_read_from_gossip_messages() {
        let result = members(vec![
            (
                "Org2MSP",
                vec![peer("Org2MSP", "peer0.org2.example.com:9051", 5, &[])],
            ),
            (
                "Org1MSP",
                vec![
                    peer("Org1MSP", "peer1.org1.example.com:8051", 4, &["examplecc"]),
                    peer(
                        "Org1MSP",
                        "peer0.org1.example.com:7051",
                        5,
                        &["examplecc", "_lifecycle"],
                    ),
                ],
            ),
        ]);
        assert_eq!(
            decode_peers(response(result)),
            Ok(Answer::Ready(vec![
                discovered(
                    "Org1MSP",
                    "peer0.org1.example.com:7051",
                    5,
                    &["examplecc", "_lifecycle"]
                ),
                discovered("Org1MSP", "peer1.org1.example.com:8051", 4, &["examplecc"]),
                discovered("Org2MSP", "peer0.org2.example.com:9051", 5, &[]),
            ]))
        );
    }

    #[test]
    fn an_error_result_is_not_yet() {
        let error = query_result::Result::Error(discovery::Error {
            content: "access denied".to_string(),
        });
        assert_eq!(
            decode_peers(response(error)),
            Ok(Answer::NotYet("access denied".to_string()))
        );
    }

    #[test]
    fn a_garbage_gossip_payload_is_unparseable() {
        let mut garbage = peer("Org1MSP", "peer0.org1.example.com:7051", 5, &[]);
        garbage.membership_info.as_mut().unwrap().payload = vec![0xff, 0xff, 0xff];
        let detail = decode_peers(response(members(vec![("Org1MSP", vec![garbage])]))).unwrap_err();
        assert!(
            detail.contains("membership_info of a peer of Org1MSP"),
            "{detail}"
        );
    }

    #[test]
    fn swapped_gossip_messages_are_unparseable() {
        let mut swapped = peer("Org1MSP", "peer0.org1.example.com:7051", 5, &[]);
        std::mem::swap(&mut swapped.membership_info, &mut swapped.state_info);
        let detail = decode_peers(response(members(vec![("Org1MSP", vec![swapped])]))).unwrap_err();
        assert!(detail.contains("not an alive message"), "{detail}");
    }

    #[test]
    fn a_response_without_one_result_is_unparseable() {
        let empty = discovery::Response { results: vec![] };
        assert_eq!(
            decode_peers(empty),
            Err("0 results to one query".to_string())
        );
        let hollow = discovery::Response {
            results: vec![QueryResult { result: None }],
        };
        assert_eq!(decode_peers(hollow), Err("an empty result".to_string()));
        let wrong = response(query_result::Result::CcQueryRes(Default::default()));
        assert_eq!(
            decode_peers(wrong),
            Err("an endorsement result instead of channel members".to_string())
        );
    }

    fn descriptor(chaincode: &str, layout_groups: &[&str]) -> discovery::EndorsementDescriptor {
        let group = |name: &str, peers| (name.to_string(), discovery::Peers { peers });
        discovery::EndorsementDescriptor {
            chaincode: chaincode.to_string(),
            endorsers_by_groups: [
                group(
                    "G0",
                    vec![peer(
                        "Org1MSP",
                        "peer0.org1.example.com:7051",
                        7,
                        &["examplecc"],
                    )],
                ),
                group(
                    "G1",
                    vec![peer(
                        "Org2MSP",
                        "peer0.org2.example.com:9051",
                        6,
                        &["examplecc"],
                    )],
                ),
            ]
            .into_iter()
            .collect(),
            layouts: vec![discovery::Layout {
                quantities_by_group: layout_groups.iter().map(|g| (g.to_string(), 1)).collect(),
            }],
        }
    }

    fn decode_endorsers(result: query_result::Result) -> Result<Answer<EndorsementPlan>, String> {
        read(response(result), |result| {
            endorsers_answer(result, "examplecc")
        })
    }

    fn cc_result(content: Vec<discovery::EndorsementDescriptor>) -> query_result::Result {
        query_result::Result::CcQueryRes(discovery::ChaincodeQueryResult { content })
    }

    #[test]
    fn an_endorsement_plan_is_read_with_msp_ids_from_identities() {
        let plan = decode_endorsers(cc_result(vec![descriptor("examplecc", &["G0", "G1"])]));
        let expected = EndorsementPlan {
            chaincode: "examplecc".to_string(),
            groups: [
                (
                    "G0".to_string(),
                    vec![discovered(
                        "Org1MSP",
                        "peer0.org1.example.com:7051",
                        7,
                        &["examplecc"],
                    )],
                ),
                (
                    "G1".to_string(),
                    vec![discovered(
                        "Org2MSP",
                        "peer0.org2.example.com:9051",
                        6,
                        &["examplecc"],
                    )],
                ),
            ]
            .into_iter()
            .collect(),
            layouts: vec![[("G0".to_string(), 1), ("G1".to_string(), 1)]
                .into_iter()
                .collect()],
        };
        assert_eq!(plan, Ok(Answer::Ready(expected)));
    }

    #[test]
    fn no_descriptor_yet_is_not_yet() {
        let text = r#"failed constructing descriptor for chaincodes:<name:"examplecc" >"#;
        let error = query_result::Result::Error(discovery::Error {
            content: text.to_string(),
        });
        assert_eq!(
            decode_endorsers(error),
            Ok(Answer::NotYet(text.to_string()))
        );
    }

    #[test]
    fn inconsistent_endorsement_plans_are_unparseable() {
        let other = decode_endorsers(cc_result(vec![descriptor("othercc", &["G0"])]));
        assert!(other.unwrap_err().contains("\"othercc\""));
        let unknown_group = decode_endorsers(cc_result(vec![descriptor("examplecc", &["G9"])]));
        assert!(unknown_group.unwrap_err().contains("group G9"));
        let none = decode_endorsers(cc_result(vec![]));
        assert_eq!(
            none,
            Err("0 endorsement descriptors for one chaincode".to_string())
        );
        let mut garbage = descriptor("examplecc", &["G0"]);
        let g0 = garbage.endorsers_by_groups.get_mut("G0").unwrap();
        g0.peers[0].identity = vec![0xff, 0xff];
        let garbage = decode_endorsers(cc_result(vec![garbage]));
        assert!(garbage.unwrap_err().contains("not a serialized identity"));
    }
}
