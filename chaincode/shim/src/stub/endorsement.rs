//! Key-level endorsement policies (state-based endorsement): the validation parameter
//! in a key's metadata, as Go's `Get/SetStateValidationParameter` read and write it.
//! Build the policy bytes with [`crate::KeyEndorsementPolicy`].

use prost::Message;

use crate::proto::StateMetadataResult;
use crate::proto::{chaincode_message::Type, GetStateMetadata, PutStateMetadata, StateMetadata};
use crate::{ShimError, Stub};

/// The metadata entry that holds a key's endorsement policy (Fabric's
/// `MetaDataKeys_VALIDATION_PARAMETER`).
pub const VALIDATION_PARAMETER: &str = "VALIDATION_PARAMETER";

impl Stub {
    /// The endorsement policy of `key` (an encoded `common.SignaturePolicyEnvelope`),
    /// empty when the key has none and the chaincode's policy applies.
    pub async fn get_state_validation_parameter(&self, key: &str) -> Result<Vec<u8>, ShimError> {
        self.validation_parameter("", key).await
    }

    /// Sets the endorsement policy of `key`: from this transaction's commit on, a change
    /// to the key is valid only if endorsed as `policy` says.
    pub async fn set_state_validation_parameter(
        &self,
        key: &str,
        policy: Vec<u8>,
    ) -> Result<(), ShimError> {
        self.set_validation_parameter("", key, policy).await
    }

    /// [`Stub::get_state_validation_parameter`] for a key of a private data collection.
    pub async fn get_private_data_validation_parameter(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<Vec<u8>, ShimError> {
        super::require_collection(collection)?;
        self.validation_parameter(collection, key).await
    }

    /// [`Stub::set_state_validation_parameter`] for a key of a private data collection.
    pub async fn set_private_data_validation_parameter(
        &self,
        collection: &str,
        key: &str,
        policy: Vec<u8>,
    ) -> Result<(), ShimError> {
        super::require_collection(collection)?;
        self.set_validation_parameter(collection, key, policy).await
    }

    async fn validation_parameter(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<Vec<u8>, ShimError> {
        super::require_key(key)?;
        let request = GetStateMetadata {
            key: key.to_string(),
            collection: collection.to_string(),
        };
        let answer = self
            .call(Type::GetStateMetadata, request, "GET_STATE_METADATA", key)
            .await?;
        let result =
            StateMetadataResult::decode(answer.as_slice()).map_err(|source| ShimError::Decode {
                what: "StateMetadataResult",
                source,
            })?;
        Ok(result
            .entries
            .into_iter()
            .find(|entry| entry.metakey == VALIDATION_PARAMETER)
            .map(|entry| entry.value)
            .unwrap_or_default())
    }

    async fn set_validation_parameter(
        &self,
        collection: &str,
        key: &str,
        policy: Vec<u8>,
    ) -> Result<(), ShimError> {
        super::require_key(key)?;
        let request = PutStateMetadata {
            key: key.to_string(),
            collection: collection.to_string(),
            metadata: Some(StateMetadata {
                metakey: VALIDATION_PARAMETER.to_string(),
                value: policy,
            }),
        };
        self.call(Type::PutStateMetadata, request, "PUT_STATE_METADATA", key)
            .await
            .map(drop)
    }
}
