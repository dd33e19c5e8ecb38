//! Chaincode proposals and the transactions made from their endorsements, built as
//! Fabric's `protoutil` builds them: a proposal's transaction ID is the SHA-256 of its
//! nonce and creator, the transaction carries the proposal payload without the transient
//! map, and every endorser must have returned the same payload.

use crate::envelope::{header, nonce, signed_envelope, tx_id};
use crate::protos::common::{self, HeaderType};
use crate::protos::protos;
use crate::{ClientIdentity, FabricError};
use prost::Message;
use std::collections::HashMap;

/// A signed proposal and what the transaction made from it needs.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub tx_id: String,
    signed: protos::SignedProposal,
    header: common::Header,
    /// The proposal payload as the transaction carries it: without the transient map.
    payload_for_tx: Vec<u8>,
}

/// What a chaincode is called with.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    pub chaincode: String,
    pub args: Vec<Vec<u8>>,
    pub is_init: bool,
    pub transient: HashMap<String, Vec<u8>>,
}

impl Proposal {
    /// A chaincode proposal on `channel` (`peer chaincode invoke/query`).
    pub fn chaincode(identity: &ClientIdentity, channel: &str, call: &Invocation) -> Proposal {
        Proposal::build(identity, HeaderType::EndorserTransaction, channel, call)
    }

    /// `peer channel join`: the configuration system chaincode's JoinChain with the
    /// channel's genesis block, on no channel.
    pub fn join_channel(identity: &ClientIdentity, genesis_block: &[u8]) -> Proposal {
        let call = Invocation {
            chaincode: "cscc".into(),
            args: vec![b"JoinChain".to_vec(), genesis_block.to_vec()],
            ..Default::default()
        };
        Proposal::build(identity, HeaderType::Config, "", &call)
    }

    fn build(
        identity: &ClientIdentity,
        kind: HeaderType,
        channel: &str,
        call: &Invocation,
    ) -> Proposal {
        let chaincode_id = protos::ChaincodeId {
            name: call.chaincode.clone(),
            ..Default::default()
        };
        let spec = protos::ChaincodeInvocationSpec {
            chaincode_spec: Some(protos::ChaincodeSpec {
                r#type: protos::chaincode_spec::Type::Golang as i32,
                chaincode_id: Some(chaincode_id.clone()),
                input: Some(protos::ChaincodeInput {
                    args: call.args.clone(),
                    is_init: call.is_init,
                    ..Default::default()
                }),
                ..Default::default()
            }),
        };
        let extension = protos::ChaincodeHeaderExtension {
            chaincode_id: Some(chaincode_id),
        }
        .encode_to_vec();
        let nonce = nonce();
        let tx_id = tx_id(&nonce, &identity.serialized());
        let header = header(identity, kind, channel, tx_id.clone(), nonce, extension);
        let input = spec.encode_to_vec();
        let payload = protos::ChaincodeProposalPayload {
            input: input.clone(),
            transient_map: call.transient.clone(),
        };
        let proposal = protos::Proposal {
            header: header.encode_to_vec(),
            payload: payload.encode_to_vec(),
            ..Default::default()
        };
        let proposal_bytes = proposal.encode_to_vec();
        Proposal {
            tx_id,
            signed: protos::SignedProposal {
                signature: identity.sign(&proposal_bytes),
                proposal_bytes,
            },
            header,
            payload_for_tx: protos::ChaincodeProposalPayload {
                input,
                transient_map: HashMap::new(),
            }
            .encode_to_vec(),
        }
    }

    /// The signed transaction from the endorsements (`protoutil.CreateSignedTx`): each
    /// endorser must have computed the same result.
    pub fn transaction(
        &self,
        identity: &ClientIdentity,
        endorsed: &[(String, protos::ProposalResponse)],
    ) -> Result<common::Envelope, FabricError> {
        let Some((first_peer, first)) = endorsed.first() else {
            return Err(FabricError::Unparseable {
                server_name: "(no peer)".into(),
                what: "endorsements".into(),
                detail: "none were given".into(),
            });
        };
        if let Some((other, _)) = endorsed.iter().find(|(_, r)| r.payload != first.payload) {
            return Err(FabricError::Mismatch {
                first: first_peer.clone(),
                other: other.clone(),
            });
        }
        let action = protos::ChaincodeActionPayload {
            chaincode_proposal_payload: self.payload_for_tx.clone(),
            action: Some(protos::ChaincodeEndorsedAction {
                proposal_response_payload: first.payload.clone(),
                endorsements: endorsed
                    .iter()
                    .filter_map(|(_, r)| r.endorsement.clone())
                    .collect(),
            }),
        };
        let transaction = protos::Transaction {
            actions: vec![protos::TransactionAction {
                header: self.header.signature_header.clone(),
                payload: action.encode_to_vec(),
            }],
        };
        Ok(signed_envelope(
            identity,
            self.header.clone(),
            transaction.encode_to_vec(),
        ))
    }
}

impl Proposal {
    /// The signed proposal, as endorsers take it.
    pub fn signed(&self) -> &protos::SignedProposal {
        &self.signed
    }
}
