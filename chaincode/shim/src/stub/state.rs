//! Single-key reads and writes: the public world state, and private data
//! collections (the same GET/PUT/DEL_STATE messages with `collection` set).

use crate::proto::{chaincode_message::Type, DelState, GetState, PutState};
use crate::{ShimError, Stub};

use super::{require_collection, require_key};

impl Stub {
    /// The value of `key`, or `None` if the key does not exist.
    pub async fn get_state(&self, key: &str) -> Result<Option<Vec<u8>>, ShimError> {
        self.get("", key).await
    }

    /// Writes `key` (non-empty) in the transaction's write set.
    pub async fn put_state(&self, key: &str, value: impl Into<Vec<u8>>) -> Result<(), ShimError> {
        require_key(key)?;
        self.put("", key, value.into()).await
    }

    /// Deletes `key` in the transaction's write set.
    pub async fn del_state(&self, key: &str) -> Result<(), ShimError> {
        self.del("", key).await
    }

    /// The value of `key` in the private data `collection`, or `None` if the key
    /// does not exist. Only peers of organisations in the collection have it.
    pub async fn get_private_data(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, ShimError> {
        require_collection(collection)?;
        self.get(collection, key).await
    }

    /// Writes `key` (non-empty) in the private data `collection`. The value stays
    /// off the ledger; only its hash goes in the transaction.
    pub async fn put_private_data(
        &self,
        collection: &str,
        key: &str,
        value: impl Into<Vec<u8>>,
    ) -> Result<(), ShimError> {
        require_collection(collection)?;
        require_key(key)?;
        self.put(collection, key, value.into()).await
    }

    /// Deletes `key` from the private data `collection`.
    pub async fn del_private_data(&self, collection: &str, key: &str) -> Result<(), ShimError> {
        require_collection(collection)?;
        self.del(collection, key).await
    }

    /// The hash of the value of `key` in the private data `collection` (SHA-256 in
    /// Fabric), or `None` if the key does not exist. Works on every peer of the
    /// channel, also those of organisations outside the collection.
    pub async fn get_private_data_hash(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, ShimError> {
        require_collection(collection)?;
        let payload = GetState {
            key: key.to_string(),
            collection: collection.to_string(),
        };
        let target = target(collection, key);
        let hash = self
            .call(
                Type::GetPrivateDataHash,
                payload,
                "GET_PRIVATE_DATA_HASH",
                &target,
            )
            .await?;
        Ok((!hash.is_empty()).then_some(hash))
    }

    async fn get(&self, collection: &str, key: &str) -> Result<Option<Vec<u8>>, ShimError> {
        let payload = GetState {
            key: key.to_string(),
            collection: collection.to_string(),
        };
        let target = target(collection, key);
        let value = self
            .call(Type::GetState, payload, "GET_STATE", &target)
            .await?;
        // The peer answers an empty payload for a missing key (Go returns nil).
        Ok((!value.is_empty()).then_some(value))
    }

    async fn put(&self, collection: &str, key: &str, value: Vec<u8>) -> Result<(), ShimError> {
        let payload = PutState {
            key: key.to_string(),
            value,
            collection: collection.to_string(),
        };
        let target = target(collection, key);
        self.call(Type::PutState, payload, "PUT_STATE", &target)
            .await?;
        Ok(())
    }

    async fn del(&self, collection: &str, key: &str) -> Result<(), ShimError> {
        let payload = DelState {
            key: key.to_string(),
            collection: collection.to_string(),
        };
        let target = target(collection, key);
        self.call(Type::DelState, payload, "DEL_STATE", &target)
            .await?;
        Ok(())
    }
}

/// How errors name a key: `key` for public state, `collection/key` for private data.
fn target(collection: &str, key: &str) -> String {
    match collection {
        "" => key.to_string(),
        _ => format!("{collection}/{key}"),
    }
}
