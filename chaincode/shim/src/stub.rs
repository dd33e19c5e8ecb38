use prost::Message;
use tokio::sync::{mpsc, Mutex};
use tonic::Status;

use crate::proto::{chaincode_message::Type, ChaincodeMessage, DelState, GetState, PutState};
use crate::ShimError;

/// The transaction context a chaincode function gets: its arguments and access
/// to the world state through the peer.
pub struct Stub {
    channel_id: String,
    tx_id: String,
    args: Vec<Vec<u8>>,
    out: mpsc::Sender<Result<ChaincodeMessage, Status>>,
    // One request in flight per transaction, like the Go shim: answers arrive in order.
    answers: Mutex<mpsc::Receiver<ChaincodeMessage>>,
}

impl Stub {
    pub(crate) fn new(
        channel_id: String,
        tx_id: String,
        args: Vec<Vec<u8>>,
        out: mpsc::Sender<Result<ChaincodeMessage, Status>>,
        answers: mpsc::Receiver<ChaincodeMessage>,
    ) -> Self {
        Stub {
            channel_id,
            tx_id,
            args,
            out,
            answers: Mutex::new(answers),
        }
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

    /// The value of `key`, or `None` if the key does not exist.
    pub async fn get_state(&self, key: &str) -> Result<Option<Vec<u8>>, ShimError> {
        let payload = GetState {
            key: key.to_string(),
            collection: String::new(),
        };
        let value = self.call(Type::GetState, payload, "GET_STATE", key).await?;
        // The peer answers an empty payload for a missing key (Go returns nil).
        Ok((!value.is_empty()).then_some(value))
    }

    pub async fn put_state(&self, key: &str, value: impl Into<Vec<u8>>) -> Result<(), ShimError> {
        if key.is_empty() {
            return Err(ShimError::InvalidArgument(
                "key must not be an empty string".into(),
            ));
        }
        let payload = PutState {
            key: key.to_string(),
            value: value.into(),
            collection: String::new(),
        };
        self.call(Type::PutState, payload, "PUT_STATE", key).await?;
        Ok(())
    }

    pub async fn del_state(&self, key: &str) -> Result<(), ShimError> {
        let payload = DelState {
            key: key.to_string(),
            collection: String::new(),
        };
        self.call(Type::DelState, payload, "DEL_STATE", key).await?;
        Ok(())
    }

    /// Send a request for this transaction and wait for the peer's RESPONSE or ERROR.
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
