//! A client for a peer's discovery service (`discovery.Discovery/Discover`), in place of
//! Fabric's `discover` CLI: what the channel's members are, as gossip has told the peer, and
//! which peers can endorse for a chaincode.
//!
//! Fabric authenticates a discovery request twice: the request is signed by the user's
//! enrollment key (ECDSA P-256, low-S), and it names the SHA-256 of the TLS client
//! certificate the connection presents, so the signature cannot be replayed over another
//! connection (see Fabric's `discovery/service.go`, `validateStructure`).

use crate::connection::tls_channel;
use crate::protos::discovery::{
    self, discovery_client::DiscoveryClient, query, query_result, QueryResult,
};
use crate::protos::{gossip, msp, protos};
use crate::{ClientIdentity, FabricError};
use prost::Message;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;
use tonic::transport::Channel;

/// How long a peer may take to answer one request; discovery answers from memory.
pub const RPC_TIMEOUT: Duration = Duration::from_secs(30);

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
    ) -> Result<Self, FabricError> {
        let channel = tls_channel(address, server_name, tls_ca_pem, &identity).await?;
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
    ) -> Result<Answer<Vec<DiscoveredPeer>>, FabricError> {
        let query = query::Query::PeerQuery(discovery::PeerMembershipQuery { filter: None });
        let what = format!("the channel members of {channel}");
        let response = self.ask(channel, query).await?;
        read_answer(response, &self.server_name, what, peers_answer)
    }

    /// An endorsement plan for `chaincode` on the channel (`discover endorsers`).
    pub async fn endorsers(
        &mut self,
        channel: &str,
        chaincode: &str,
    ) -> Result<Answer<EndorsementPlan>, FabricError> {
        let query = query::Query::CcQuery(discovery::ChaincodeQuery {
            interests: vec![protos::ChaincodeInterest {
                chaincodes: vec![protos::ChaincodeCall {
                    name: chaincode.to_string(),
                    ..Default::default()
                }],
            }],
        });
        let what = format!("the endorsers of {chaincode} on {channel}");
        let response = self.ask(channel, query).await?;
        read_answer(response, &self.server_name, what, |result| {
            endorsers_answer(result, chaincode)
        })
    }

    /// Sends one signed query and returns the response.
    async fn ask(
        &mut self,
        channel: &str,
        query: query::Query,
    ) -> Result<discovery::Response, FabricError> {
        let request = self.identity.signed_request(vec![discovery::Query {
            channel: channel.to_string(),
            query: Some(query),
        }]);
        let what = "discovery request";
        let response = tokio::time::timeout(RPC_TIMEOUT, self.client.discover(request))
            .await
            .map_err(|_| {
                let message = format!("no answer within {}s", RPC_TIMEOUT.as_secs());
                FabricError::rpc(
                    &self.server_name,
                    what,
                    &tonic::Status::deadline_exceeded(message),
                )
            })?
            .map_err(|status| FabricError::rpc(&self.server_name, what, &status))?;
        Ok(response.into_inner())
    }
}

/// Reads the one result of `response` with `read`; what cannot be read is Unparseable as
/// `what` from `server_name`, never a guess.
fn read_answer<T>(
    response: discovery::Response,
    server_name: &str,
    what: String,
    read: impl FnOnce(query_result::Result) -> Result<Answer<T>, String>,
) -> Result<Answer<T>, FabricError> {
    only_result(response)
        .and_then(read)
        .map_err(|detail| FabricError::Unparseable {
            server_name: server_name.to_string(),
            what,
            detail,
        })
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
    use crate::identity::tests::{cert_and_key, identity};
    use gossip::gossip_message::Content;

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
        assert!(matches!(error, FabricError::Connect { .. }), "{error}");
        assert!(error.is_transient());
        assert!(
            error.to_string().contains("peer0.org1.example.com"),
            "{error}"
        );
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
        let what = "an answer".to_string();
        read_answer(response, "peer0.org1.example.com", what, read).map_err(|error| {
            assert!(
                error.to_string().contains("peer0.org1.example.com"),
                "{error}"
            );
            match error {
                FabricError::Unparseable { detail, .. } => detail,
                other => panic!("not Unparseable: {other}"),
            }
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
