//! Builds the signed proposal a peer forwards with a transaction.

use std::collections::HashMap;

use prost::Message;

use crate::proto::common::{ChannelHeader, Header, SignatureHeader};
use crate::proto::msp::SerializedIdentity;
use crate::proto::{ChaincodeProposalPayload, Proposal, SignedProposal};

/// common.HeaderType ENDORSER_TRANSACTION.
const ENDORSER_TRANSACTION: i32 = 3;

/// A proposal from a client of MSP `msp_id` with identity `id_bytes` (its
/// certificate in PEM, in Fabric) carrying `transient` data, made now, encoded as a
/// Fabric client does. The signature is a placeholder: chaincode never checks it.
pub fn signed_proposal(
    msp_id: &str,
    id_bytes: &[u8],
    transient: HashMap<String, Vec<u8>>,
) -> SignedProposal {
    let creator = SerializedIdentity {
        mspid: msp_id.to_string(),
        id_bytes: id_bytes.to_vec(),
    };
    let header = Header {
        channel_header: ChannelHeader {
            r#type: ENDORSER_TRANSACTION,
            timestamp: Some(crate::timestamp::now()),
        }
        .encode_to_vec(),
        signature_header: SignatureHeader {
            creator: creator.encode_to_vec(),
            nonce: b"mock-peer-nonce".to_vec(),
        }
        .encode_to_vec(),
    };
    let payload = ChaincodeProposalPayload {
        input: Vec::new(),
        transient_map: transient,
    };
    let proposal = Proposal {
        header: header.encode_to_vec(),
        payload: payload.encode_to_vec(),
        extension: Vec::new(),
    };
    SignedProposal {
        proposal_bytes: proposal.encode_to_vec(),
        signature: b"not checked by chaincode".to_vec(),
    }
}
