//! What privatecc asks of the peer, as a trait: the real [`Stub`] implements it,
//! and unit tests use an in-memory ledger instead of a peer connection.

use fabx_shim::{KeyValue, Page, ShimError, Stub};

/// The ledger and proposal operations privatecc uses (each maps to one Stub call).
pub(crate) trait Ledger {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ShimError>;
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), ShimError>;
    async fn del(&self, key: &str) -> Result<(), ShimError>;
    /// Keys in `[start, end)`; an empty bound is open.
    async fn range(&self, start: &str, end: &str) -> Result<Vec<KeyValue>, ShimError>;
    async fn page(
        &self,
        start: &str,
        end: &str,
        page_size: i32,
        bookmark: &str,
    ) -> Result<Page, ShimError>;
    /// Keys under the partial composite key `object_type` + `attributes`.
    async fn by_partial_key(
        &self,
        object_type: &str,
        attributes: &[&str],
    ) -> Result<Vec<KeyValue>, ShimError>;
    /// Every record a rich query (a CouchDB Mango query) selects.
    async fn rich(&self, query: &str) -> Result<Vec<KeyValue>, ShimError>;
    /// One page of a rich query.
    async fn rich_page(
        &self,
        query: &str,
        page_size: i32,
        bookmark: &str,
    ) -> Result<Page, ShimError>;
    async fn get_private(&self, collection: &str, key: &str) -> Result<Option<Vec<u8>>, ShimError>;
    async fn put_private(
        &self,
        collection: &str,
        key: &str,
        value: Vec<u8>,
    ) -> Result<(), ShimError>;
    async fn del_private(&self, collection: &str, key: &str) -> Result<(), ShimError>;
    async fn private_hash(&self, collection: &str, key: &str)
        -> Result<Option<Vec<u8>>, ShimError>;
    /// An entry of the proposal's transient map.
    fn transient(&self, name: &str) -> Option<Vec<u8>>;
    fn creator_msp_id(&self) -> Result<String, ShimError>;
    /// The event the transaction emits when it commits.
    fn set_event(&self, name: &str, payload: Vec<u8>) -> Result<(), ShimError>;
}

impl Ledger for Stub {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ShimError> {
        self.get_state(key).await
    }
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), ShimError> {
        self.put_state(key, value).await
    }
    async fn del(&self, key: &str) -> Result<(), ShimError> {
        self.del_state(key).await
    }
    async fn range(&self, start: &str, end: &str) -> Result<Vec<KeyValue>, ShimError> {
        self.get_state_by_range(start, end).await
    }
    async fn page(
        &self,
        start: &str,
        end: &str,
        page_size: i32,
        bookmark: &str,
    ) -> Result<Page, ShimError> {
        self.get_state_by_range_with_pagination(start, end, page_size, bookmark)
            .await
    }
    async fn by_partial_key(
        &self,
        object_type: &str,
        attributes: &[&str],
    ) -> Result<Vec<KeyValue>, ShimError> {
        self.get_state_by_partial_composite_key(object_type, attributes)
            .await
    }
    async fn rich(&self, query: &str) -> Result<Vec<KeyValue>, ShimError> {
        self.get_query_result(query).await
    }
    async fn rich_page(
        &self,
        query: &str,
        page_size: i32,
        bookmark: &str,
    ) -> Result<Page, ShimError> {
        self.get_query_result_with_pagination(query, page_size, bookmark)
            .await
    }
    async fn get_private(&self, collection: &str, key: &str) -> Result<Option<Vec<u8>>, ShimError> {
        self.get_private_data(collection, key).await
    }
    async fn put_private(
        &self,
        collection: &str,
        key: &str,
        value: Vec<u8>,
    ) -> Result<(), ShimError> {
        self.put_private_data(collection, key, value).await
    }
    async fn del_private(&self, collection: &str, key: &str) -> Result<(), ShimError> {
        self.del_private_data(collection, key).await
    }
    async fn private_hash(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, ShimError> {
        self.get_private_data_hash(collection, key).await
    }
    fn transient(&self, name: &str) -> Option<Vec<u8>> {
        Stub::transient(self).get(name).cloned()
    }
    fn creator_msp_id(&self) -> Result<String, ShimError> {
        Stub::creator_msp_id(self)
    }
    fn set_event(&self, name: &str, payload: Vec<u8>) -> Result<(), ShimError> {
        Stub::set_event(self, name, payload)
    }
}
