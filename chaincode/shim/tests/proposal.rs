//! The transaction's signed proposal: creator and transient map decoded from a
//! SignedProposal encoded in the test, and malformed proposals.

mod common;

use std::collections::HashMap;

use common::api_cc::{failed, ok, setup};
use fabx_shim::mock_peer::signed_proposal;
use fabx_shim::proto::chaincode_message::Type;
use fabx_shim::proto::common::{ChannelHeader, Header, SignatureHeader};
use fabx_shim::proto::msp::SerializedIdentity;
use fabx_shim::proto::{ChaincodeProposalPayload, Proposal, SignedProposal};
use prost::Message;

/// A SignedProposal encoded field by field as a Fabric client builds it.
fn proposal(channel_header_type: i32, transient: &[(&str, &str)]) -> SignedProposal {
    let creator = SerializedIdentity {
        mspid: "Org2MSP".into(),
        id_bytes: b"-----BEGIN CERTIFICATE-----\n...".to_vec(),
    };
    let header = Header {
        channel_header: ChannelHeader {
            r#type: channel_header_type,
            ..Default::default()
        }
        .encode_to_vec(),
        signature_header: SignatureHeader {
            creator: creator.encode_to_vec(),
            nonce: vec![7; 24],
        }
        .encode_to_vec(),
    };
    let payload = ChaincodeProposalPayload {
        input: b"invocation spec".to_vec(),
        transient_map: transient
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect(),
    };
    let proposal = Proposal {
        header: header.encode_to_vec(),
        payload: payload.encode_to_vec(),
        extension: Vec::new(),
    };
    SignedProposal {
        proposal_bytes: proposal.encode_to_vec(),
        signature: vec![1, 2, 3],
    }
}

#[tokio::test]
async fn transient_map_and_creator_come_from_the_signed_proposal() {
    let (_server, mut peer) = setup().await;
    let tx = Type::Transaction;
    let signed = proposal(3, &[("price", "42"), ("value", "secret")]);
    peer.start_tx_with(tx, "w", &["whoami"], Some(signed.clone()))
        .await;
    assert_eq!(ok(&mut peer, "w").await, "Org2MSP price=42,value=secret");

    peer.start_tx_with(tx, "c", &["creator"], Some(signed))
        .await;
    let creator = peer.completed("c").await.payload;
    let identity = SerializedIdentity::decode(creator.as_slice()).unwrap();
    assert_eq!(identity.mspid, "Org2MSP");
    assert!(identity
        .id_bytes
        .starts_with(b"-----BEGIN CERTIFICATE-----"));

    // INIT gets the proposal too; CONFIG headers are accepted as in Go.
    peer.start_tx_with(Type::Init, "i", &["init"], Some(proposal(1, &[])))
        .await;
    ok(&mut peer, "i").await;

    // The mock peer's builder encodes the same structure.
    let built = signed_proposal(
        "Org1MSP",
        b"cert",
        HashMap::from([("k".into(), b"v".to_vec())]),
    );
    peer.start_tx_with(tx, "m", &["whoami"], Some(built)).await;
    assert_eq!(ok(&mut peer, "m").await, "Org1MSP k=v");
}

#[tokio::test]
async fn without_a_proposal_there_is_no_creator() {
    let (_server, mut peer) = setup().await;
    peer.start_tx(Type::Transaction, "w", &["whoami"]).await;
    let message = failed(&mut peer, "w").await;
    assert!(message.contains("no signed proposal"), "{message}");
    peer.start_tx(Type::Transaction, "c", &["creator"]).await;
    assert_eq!(ok(&mut peer, "c").await, "");
}

#[tokio::test]
async fn malformed_proposals_answer_error_like_go() {
    let (_server, mut peer) = setup().await;
    let garbage = SignedProposal {
        proposal_bytes: vec![0xff, 0xff, 0xff],
        signature: vec![],
    };
    let no_header = SignedProposal {
        proposal_bytes: Proposal::default().encode_to_vec(),
        signature: vec![],
    };
    let cases = [
        (garbage, "cannot decode Proposal"),
        (no_header, "proposal header is nil"),
        (proposal(2, &[]), "invalid channel header type"),
    ];
    for (n, (signed, expected)) in cases.into_iter().enumerate() {
        let txid = format!("bad{n}");
        peer.start_tx_with(Type::Transaction, &txid, &["whoami"], Some(signed))
            .await;
        let msg = peer.recv(Type::Error).await;
        assert_eq!(msg.txid, txid);
        let text = String::from_utf8_lossy(&msg.payload);
        assert!(
            text.starts_with("failed to create new ChaincodeStub: "),
            "{text}"
        );
        assert!(text.contains(expected), "{text}");
    }
}
