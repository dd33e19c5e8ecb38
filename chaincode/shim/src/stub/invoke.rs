//! Calling another chaincode from this one (Go's `InvokeChaincode`): INVOKE_CHAINCODE,
//! answered by a RESPONSE whose payload is the called chaincode's own message.

use prost::Message;

use crate::proto::{
    chaincode_message::Type, ChaincodeId, ChaincodeInput, ChaincodeMessage, ChaincodeSpec,
};
use crate::{Response, ShimError, Stub};

impl Stub {
    /// Calls chaincode `name` with `args` (function first) in this transaction and returns
    /// its response. On the same channel (`channel` empty or this one) its reads and writes
    /// join this transaction's; on another channel it can only read. As in Go, a failure
    /// of the called chaincode or of the call is a response with status 500.
    pub async fn invoke_chaincode(
        &self,
        name: &str,
        args: &[&[u8]],
        channel: &str,
    ) -> Result<Response, ShimError> {
        let target = match channel {
            "" => name.to_string(),
            channel => format!("{name}/{channel}"),
        };
        let spec = ChaincodeSpec {
            chaincode_id: Some(ChaincodeId {
                name: target.clone(),
                ..Default::default()
            }),
            input: Some(ChaincodeInput {
                args: args.iter().map(|a| a.to_vec()).collect(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let answer = match self
            .call(Type::InvokeChaincode, spec, "INVOKE_CHAINCODE", &target)
            .await
        {
            Ok(answer) => answer,
            Err(ShimError::Peer { message, .. }) => return Ok(Response::error(message)),
            Err(other) => return Err(other),
        };
        let message =
            ChaincodeMessage::decode(answer.as_slice()).map_err(|source| ShimError::Decode {
                what: "the called chaincode's ChaincodeMessage",
                source,
            })?;
        if message.r#type() != Type::Completed {
            return Ok(Response::error(
                String::from_utf8_lossy(&message.payload).into_owned(),
            ));
        }
        crate::proto::Response::decode(message.payload.as_slice())
            .map(Response::from)
            .map_err(|source| ShimError::Decode {
                what: "the called chaincode's Response",
                source,
            })
    }
}
