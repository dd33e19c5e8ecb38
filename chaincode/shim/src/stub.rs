//! The transaction context handed to a chaincode: arguments, proposal data and
//! the calls to the peer (state in `state.rs`, queries in `query.rs`).

mod endorsement;
mod invoke;
mod query;
mod state;

use std::collections::HashMap;
use std::time::SystemTime;

use prost::Message;
use tokio::sync::{mpsc, Mutex};
use tonic::Status;

use crate::proposal::ProposalContext;
use crate::proto::msp::SerializedIdentity;
use crate::proto::{chaincode_message::Type, ChaincodeEvent, ChaincodeMessage, SignedProposal};
use crate::{ClientIdentity, ShimError};

pub use endorsement::VALIDATION_PARAMETER;
pub use query::{KeyModification, KeyValue, Page};

/// The transaction context a chaincode function gets: its arguments, what the
/// client's proposal carries, and access to the world state through the peer.
pub struct Stub {
    channel_id: String,
    tx_id: String,
    args: Vec<Vec<u8>>,
    decorations: HashMap<String, Vec<u8>>,
    proposal: ProposalContext,
    out: mpsc::Sender<Result<ChaincodeMessage, Status>>,
    // One request in flight per transaction, like the Go shim: answers arrive in order.
    answers: Mutex<mpsc::Receiver<ChaincodeMessage>>,
    event: std::sync::Mutex<Option<ChaincodeEvent>>,
}

impl Stub {
    pub(crate) fn new(
        channel_id: String,
        tx_id: String,
        args: Vec<Vec<u8>>,
        decorations: HashMap<String, Vec<u8>>,
        proposal: ProposalContext,
        out: mpsc::Sender<Result<ChaincodeMessage, Status>>,
        answers: mpsc::Receiver<ChaincodeMessage>,
    ) -> Self {
        Stub {
            channel_id,
            tx_id,
            args,
            decorations,
            proposal,
            out,
            answers: Mutex::new(answers),
            event: std::sync::Mutex::new(None),
        }
    }

    /// Sets the event the transaction emits when it commits (Go's `SetEvent`): clients
    /// see it on the peer's event stream, and it is recorded in the block. One per
    /// transaction; a later call replaces the earlier one.
    pub fn set_event(&self, name: &str, payload: Vec<u8>) -> Result<(), ShimError> {
        if name.is_empty() {
            return Err(ShimError::InvalidArgument(
                "event name can not be empty string".into(),
            ));
        }
        let event = ChaincodeEvent {
            event_name: name.to_string(),
            payload,
            ..Default::default()
        };
        *self.event.lock().expect("no panics while locked") = Some(event);
        Ok(())
    }

    /// The event set with [`Stub::set_event`], for the COMPLETED message.
    pub(crate) fn take_event(&self) -> Option<ChaincodeEvent> {
        self.event.lock().expect("no panics while locked").take()
    }

    pub fn channel_id(&self) -> &str {
        &self.channel_id
    }

    pub fn tx_id(&self) -> &str {
        &self.tx_id
    }

    /// Raw arguments, function name first.
    pub fn args(&self) -> &[Vec<u8>] {
        &self.args
    }

    /// Arguments as strings (invalid UTF-8 replaced), function name first.
    pub fn string_args(&self) -> Vec<String> {
        self.args
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect()
    }

    /// The function name (first argument, empty if none) and the parameters.
    pub fn function_and_parameters(&self) -> (String, Vec<String>) {
        let mut args = self.string_args().into_iter();
        let function = args.next().unwrap_or_default();
        (function, args.collect())
    }

    /// The proposal's transient map (Go's `GetTransient`): data the client passes
    /// to the chaincode that is not recorded on the ledger, typically private data.
    /// Empty when the peer sent no proposal.
    pub fn transient(&self) -> &HashMap<String, Vec<u8>> {
        &self.proposal.transient
    }

    /// The proposal creator's identity as sent (Go's `GetCreator`): an encoded
    /// `msp.SerializedIdentity`. Empty when the peer sent no proposal.
    pub fn creator(&self) -> &[u8] {
        &self.proposal.creator
    }

    /// The MSP ID of the proposal's creator, e.g. `Org1MSP`.
    pub fn creator_msp_id(&self) -> Result<String, ShimError> {
        if self.proposal.creator.is_empty() {
            return Err(ShimError::Protocol(
                "the transaction has no creator (the peer sent no signed proposal)".into(),
            ));
        }
        SerializedIdentity::decode(self.proposal.creator.as_slice())
            .map(|identity| identity.mspid)
            .map_err(|source| ShimError::Decode {
                what: "the creator's SerializedIdentity",
                source,
            })
    }

    /// The creator as Go's `cid` package reads it: MSP ID, certificate, ID, organizational
    /// units and Fabric CA attributes.
    pub fn client_identity(&self) -> Result<ClientIdentity, ShimError> {
        ClientIdentity::from_creator(&self.proposal.creator)
    }

    /// When the client made the proposal, from its channel header (Go's
    /// `GetTxTimestamp`): the same on every endorsing peer, unlike the peer's clock.
    pub fn tx_timestamp(&self) -> Result<SystemTime, ShimError> {
        self.proposal
            .timestamp
            .as_ref()
            .map(crate::timestamp::to_system_time)
            .ok_or_else(|| {
                ShimError::Protocol(
                    "the transaction has no timestamp (the peer sent no signed proposal)".into(),
                )
            })
    }

    /// The signed proposal as the peer forwarded it (Go's `GetSignedProposal`); `None`
    /// when the peer sent none.
    pub fn signed_proposal(&self) -> Option<&SignedProposal> {
        self.proposal.signed.as_ref()
    }

    /// What the peer's decorators added to the input (Go's `GetDecorations`); empty
    /// with the default peer configuration.
    pub fn decorations(&self) -> &HashMap<String, Vec<u8>> {
        &self.decorations
    }

    /// Sends a request for this transaction and waits for the peer's RESPONSE or
    /// ERROR; returns the RESPONSE payload. `key` names the request's target in errors.
    async fn call(
        &self,
        ty: Type,
        payload: impl Message,
        op: &'static str,
        key: &str,
    ) -> Result<Vec<u8>, ShimError> {
        let mut answers = self.answers.lock().await;
        let msg = ChaincodeMessage {
            r#type: ty as i32,
            payload: payload.encode_to_vec(),
            txid: self.tx_id.clone(),
            channel_id: self.channel_id.clone(),
            ..Default::default()
        };
        self.out
            .send(Ok(msg))
            .await
            .map_err(|_| ShimError::Disconnected)?;
        let answer = answers.recv().await.ok_or(ShimError::Disconnected)?;
        match answer.r#type() {
            Type::Response => Ok(answer.payload),
            Type::Error => Err(ShimError::Peer {
                op,
                key: key.to_string(),
                message: String::from_utf8_lossy(&answer.payload).into_owned(),
            }),
            other => Err(ShimError::Protocol(format!(
                "unexpected {} message while waiting for the answer to {op} {key:?}",
                other.as_str_name()
            ))),
        }
    }
}

/// Go's checks that a private data call names its collection.
fn require_collection(collection: &str) -> Result<(), ShimError> {
    match collection.is_empty() {
        true => Err(ShimError::InvalidArgument(
            "collection must not be an empty string".into(),
        )),
        false => Ok(()),
    }
}

fn require_key(key: &str) -> Result<(), ShimError> {
    match key.is_empty() {
        true => Err(ShimError::InvalidArgument(
            "key must not be an empty string".into(),
        )),
        false => Ok(()),
    }
}
