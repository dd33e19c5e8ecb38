//! What a transaction's signed proposal tells the chaincode: who created it, when, and
//! its transient data, decoded as the Go shim's `newChaincodeStub` does.
//!
//! SignedProposal.proposal_bytes -> Proposal
//!   .header -> common.Header .channel_header -> common.ChannelHeader .timestamp
//!                            .signature_header -> common.SignatureHeader .creator
//!   .payload -> ChaincodeProposalPayload .TransientMap

use std::collections::HashMap;

use prost::Message;

use crate::proto::common::{ChannelHeader, Header, SignatureHeader, Timestamp};
use crate::proto::{ChaincodeProposalPayload, Proposal, SignedProposal};
use crate::ShimError;

/// common.HeaderType values the Go shim accepts in a chaincode proposal.
const HEADER_TYPE_CONFIG: i32 = 1;
const HEADER_TYPE_ENDORSER_TRANSACTION: i32 = 3;

/// The parts of the proposal a [`crate::Stub`] exposes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ProposalContext {
    /// An encoded msp.SerializedIdentity (empty without a proposal).
    pub creator: Vec<u8>,
    pub transient: HashMap<String, Vec<u8>>,
    /// The client's timestamp in the channel header.
    pub timestamp: Option<Timestamp>,
    /// The proposal as the peer forwarded it (Go's `GetSignedProposal`).
    pub signed: Option<SignedProposal>,
}

impl ProposalContext {
    /// Decodes the proposal of an INIT/TRANSACTION message. Without one (the
    /// peer omits it for some internal calls) creator and transient are empty.
    pub fn decode(signed: Option<&SignedProposal>) -> Result<Self, ShimError> {
        let Some(signed) = signed else {
            return Ok(Self::default());
        };
        let proposal: Proposal = decode(&signed.proposal_bytes, "Proposal")?;
        if proposal.header.is_empty() {
            return Err(ShimError::Protocol("proposal header is nil".into()));
        }
        let header: Header = decode(&proposal.header, "proposal Header")?;
        let channel_header: ChannelHeader = decode(&header.channel_header, "ChannelHeader")?;
        if ![HEADER_TYPE_ENDORSER_TRANSACTION, HEADER_TYPE_CONFIG].contains(&channel_header.r#type)
        {
            return Err(ShimError::Protocol(format!(
                "invalid channel header type. Expected ENDORSER_TRANSACTION (3) or CONFIG (1), \
                 received {}",
                channel_header.r#type
            )));
        }
        let signature_header: SignatureHeader =
            decode(&header.signature_header, "SignatureHeader")?;
        let payload: ChaincodeProposalPayload =
            decode(&proposal.payload, "ChaincodeProposalPayload")?;
        Ok(ProposalContext {
            creator: signature_header.creator,
            transient: payload.transient_map,
            timestamp: channel_header.timestamp,
            signed: Some(signed.clone()),
        })
    }
}

fn decode<M: Message + Default>(bytes: &[u8], what: &'static str) -> Result<M, ShimError> {
    M::decode(bytes).map_err(|source| ShimError::Decode { what, source })
}
