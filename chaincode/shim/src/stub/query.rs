//! Range, rich and history queries over the world state, as the Go shim's iterators do
//! them: GET_STATE_BY_RANGE (or GET_QUERY_RESULT, GET_HISTORY_FOR_KEY), then
//! QUERY_STATE_NEXT while the peer says `has_more`, then QUERY_STATE_CLOSE. Results are
//! collected into a `Vec`.

use prost::Message;

use crate::composite_key::{
    create_composite_key, validate_simple_keys, EMPTY_KEY_SUBSTITUTE, MAX_UNICODE_RUNE,
};
use std::time::SystemTime;

use crate::proto::queryresult::{KeyModification as KeyModificationProto, Kv};
use crate::proto::{
    chaincode_message::Type, GetHistoryForKey, GetQueryResult, GetStateByRange, QueryMetadata,
    QueryResponse, QueryResponseMetadata, QueryStateClose, QueryStateNext,
};
use crate::{ShimError, Stub};

/// One record of a range query (Fabric's `queryresult.KV`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyValue {
    /// The chaincode the key belongs to.
    pub namespace: String,
    pub key: String,
    pub value: Vec<u8>,
}

/// One committed write of a key (Fabric's `queryresult.KeyModification`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyModification {
    /// The transaction that wrote it.
    pub tx_id: String,
    /// The value written (empty for a delete).
    pub value: Vec<u8>,
    /// The transaction's timestamp (its client's proposal time).
    pub timestamp: SystemTime,
    pub is_delete: bool,
}

/// One page of a paginated range query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Page {
    pub records: Vec<KeyValue>,
    /// How many records the peer fetched for this page.
    pub fetched_records_count: i32,
    /// Where the next page starts: pass it back to get that page (empty when
    /// there is none).
    pub bookmark: String,
}

impl Stub {
    /// All keys in `[start_key, end_key)` with their values, in key order.
    ///
    /// An empty `start_key` or `end_key` leaves that end open (the Go shim sends
    /// `"\x01"` for an empty start key, so composite keys are never included).
    /// Neither bound may be a composite key.
    pub async fn get_state_by_range(
        &self,
        start_key: &str,
        end_key: &str,
    ) -> Result<Vec<KeyValue>, ShimError> {
        let start_key = substitute_empty(start_key);
        validate_simple_keys(&[start_key, end_key])?;
        let (records, _) = self.range("", start_key, end_key, Vec::new()).await?;
        Ok(records)
    }

    /// One page of at most `page_size` keys in `[start_key, end_key)`, starting at
    /// `bookmark` (empty for the first page). Bounds as in [`Stub::get_state_by_range`].
    /// Fabric allows paginated queries only in read-only transactions.
    pub async fn get_state_by_range_with_pagination(
        &self,
        start_key: &str,
        end_key: &str,
        page_size: i32,
        bookmark: &str,
    ) -> Result<Page, ShimError> {
        let start_key = substitute_empty(start_key);
        validate_simple_keys(&[start_key, end_key])?;
        let metadata = page_request(page_size, bookmark);
        let answer = self.range("", start_key, end_key, metadata).await?;
        Ok(page_of(answer))
    }

    /// All keys whose composite key starts with `object_type` and `attributes`
    /// (see [`crate::create_composite_key`]), in key order.
    pub async fn get_state_by_partial_composite_key(
        &self,
        object_type: &str,
        attributes: &[&str],
    ) -> Result<Vec<KeyValue>, ShimError> {
        let start_key = create_composite_key(object_type, attributes)?;
        let end_key = format!("{start_key}{MAX_UNICODE_RUNE}");
        let (records, _) = self.range("", &start_key, &end_key, Vec::new()).await?;
        Ok(records)
    }

    /// Every record a rich query selects (Go's `GetQueryResult`): `query` is a CouchDB
    /// Mango query as JSON (`{"selector": {...}, "sort": [...], "use_index": ...}`).
    /// Needs CouchDB as the peer's state database: on LevelDB the answer is
    /// [`ShimError::RichQueryUnsupported`].
    pub async fn get_query_result(&self, query: &str) -> Result<Vec<KeyValue>, ShimError> {
        let (records, _) = self.rich("", query, Vec::new()).await?;
        Ok(records)
    }

    /// One page of at most `page_size` records of a rich query, starting at `bookmark`
    /// (empty for the first page; Go's `GetQueryResultWithPagination`). Fabric allows
    /// paginated queries only in read-only transactions.
    pub async fn get_query_result_with_pagination(
        &self,
        query: &str,
        page_size: i32,
        bookmark: &str,
    ) -> Result<Page, ShimError> {
        let metadata = page_request(page_size, bookmark);
        Ok(page_of(self.rich("", query, metadata).await?))
    }

    /// A rich query over a private data collection (Go's `GetPrivateDataQueryResult`).
    pub async fn get_private_data_query_result(
        &self,
        collection: &str,
        query: &str,
    ) -> Result<Vec<KeyValue>, ShimError> {
        super::require_collection(collection)?;
        let (records, _) = self.rich(collection, query, Vec::new()).await?;
        Ok(records)
    }

    /// Every committed write of `key`, newest first (Go's `GetHistoryForKey`). Needs the
    /// peer's history database (`ledger.history.enableHistoryDatabase`, on by default).
    /// Fabric answers from committed blocks only: this transaction's own writes are not
    /// in it, and the read is not validated at commit.
    pub async fn get_history_for_key(&self, key: &str) -> Result<Vec<KeyModification>, ShimError> {
        super::require_key(key)?;
        let request = GetHistoryForKey {
            key: key.to_string(),
        };
        let first = self
            .query(Type::GetHistoryForKey, request, "GET_HISTORY_FOR_KEY", key)
            .await?;
        let (records, _) = self.iterate(first, key_modification).await?;
        Ok(records)
    }

    /// Same as [`crate::create_composite_key`].
    pub fn create_composite_key(
        &self,
        object_type: &str,
        attributes: &[&str],
    ) -> Result<String, ShimError> {
        create_composite_key(object_type, attributes)
    }

    /// Same as [`crate::split_composite_key`].
    pub fn split_composite_key(
        &self,
        composite_key: &str,
    ) -> Result<(String, Vec<String>), ShimError> {
        crate::split_composite_key(composite_key)
    }

    /// Runs one range query to the end; `metadata` is an encoded QueryMetadata
    /// (empty without pagination). Returns the records and the first answer's
    /// QueryResponseMetadata.
    async fn range(
        &self,
        collection: &str,
        start_key: &str,
        end_key: &str,
        metadata: Vec<u8>,
    ) -> Result<(Vec<KeyValue>, QueryResponseMetadata), ShimError> {
        let request = GetStateByRange {
            start_key: start_key.to_string(),
            end_key: end_key.to_string(),
            collection: collection.to_string(),
            metadata,
        };
        let target = format!("{start_key}..{end_key}");
        let first = self
            .query(
                Type::GetStateByRange,
                request,
                "GET_STATE_BY_RANGE",
                &target,
            )
            .await?;
        self.iterate(first, key_value).await
    }

    /// Runs one rich query to the end, as [`Stub::range`] does a range.
    async fn rich(
        &self,
        collection: &str,
        query: &str,
        metadata: Vec<u8>,
    ) -> Result<(Vec<KeyValue>, QueryResponseMetadata), ShimError> {
        let request = GetQueryResult {
            query: query.to_string(),
            collection: collection.to_string(),
            metadata,
        };
        let first = self
            .query(Type::GetQueryResult, request, "GET_QUERY_RESULT", query)
            .await
            .map_err(unsupported_on_leveldb)?;
        self.iterate(first, key_value).await
    }

    /// The records of a query's first answer and the ones after it, each read by
    /// `read`, then the query closed; with the first answer's QueryResponseMetadata.
    async fn iterate<T>(
        &self,
        first: QueryResponse,
        read: fn(&[u8]) -> Result<T, ShimError>,
    ) -> Result<(Vec<T>, QueryResponseMetadata), ShimError> {
        let id = first.id.clone();
        let metadata = QueryResponseMetadata::decode(first.metadata.as_slice());
        let records = self.drain(first, read).await;
        // Closed even after a failure, as a Go chaincode's `defer iterator.Close()` does.
        let closed = self
            .query(
                Type::QueryStateClose,
                QueryStateClose { id: id.clone() },
                "QUERY_STATE_CLOSE",
                &id,
            )
            .await;
        let records = records?;
        closed?;
        let metadata = metadata.map_err(|source| ShimError::Decode {
            what: "QueryResponseMetadata",
            source,
        })?;
        Ok((records, metadata))
    }

    /// Collects the records of `response` and of the following QUERY_STATE_NEXT
    /// answers while the peer has more.
    async fn drain<T>(
        &self,
        mut response: QueryResponse,
        read: fn(&[u8]) -> Result<T, ShimError>,
    ) -> Result<Vec<T>, ShimError> {
        let mut records = Vec::new();
        loop {
            for result in &response.results {
                records.push(read(&result.result_bytes)?);
            }
            if !response.has_more {
                return Ok(records);
            }
            if response.results.is_empty() {
                // The Go iterator fails here too rather than ask forever.
                return Err(ShimError::Protocol(format!(
                    "query {:?}: the peer has more results but sent none",
                    response.id
                )));
            }
            let id = response.id.clone();
            let next = QueryStateNext { id: id.clone() };
            response = self
                .query(Type::QueryStateNext, next, "QUERY_STATE_NEXT", &id)
                .await?;
        }
    }

    /// A request answered by a QueryResponse.
    async fn query(
        &self,
        ty: Type,
        payload: impl Message,
        op: &'static str,
        target: &str,
    ) -> Result<QueryResponse, ShimError> {
        let answer = self.call(ty, payload, op, target).await?;
        QueryResponse::decode(answer.as_slice()).map_err(|source| ShimError::Decode {
            what: "QueryResponse",
            source,
        })
    }
}

fn key_value(bytes: &[u8]) -> Result<KeyValue, ShimError> {
    let kv = Kv::decode(bytes).map_err(|source| ShimError::Decode {
        what: "query result (queryresult.KV)",
        source,
    })?;
    Ok(KeyValue {
        namespace: kv.namespace,
        key: kv.key,
        value: kv.value,
    })
}

fn key_modification(bytes: &[u8]) -> Result<KeyModification, ShimError> {
    let m = KeyModificationProto::decode(bytes).map_err(|source| ShimError::Decode {
        what: "history result (queryresult.KeyModification)",
        source,
    })?;
    Ok(KeyModification {
        tx_id: m.tx_id,
        value: m.value,
        timestamp: m
            .timestamp
            .as_ref()
            .map_or(std::time::UNIX_EPOCH, crate::timestamp::to_system_time),
        is_delete: m.is_delete,
    })
}

/// The encoded QueryMetadata that asks for one page.
fn page_request(page_size: i32, bookmark: &str) -> Vec<u8> {
    let metadata = QueryMetadata {
        page_size,
        bookmark: bookmark.to_string(),
    };
    metadata.encode_to_vec()
}

/// A paginated query's records with what the peer said of the page.
fn page_of((records, metadata): (Vec<KeyValue>, QueryResponseMetadata)) -> Page {
    Page {
        records,
        fetched_records_count: metadata.fetched_records_count,
        bookmark: metadata.bookmark,
    }
}

/// The peer's refusal of a rich query on LevelDB, made into the error that says so.
fn unsupported_on_leveldb(error: ShimError) -> ShimError {
    match error {
        // The words of Fabric's LevelDB state database (statedb/stateleveldb).
        ShimError::Peer { message, .. } if message.contains("not supported for leveldb") => {
            ShimError::RichQueryUnsupported { message }
        }
        other => other,
    }
}

fn substitute_empty(start_key: &str) -> &str {
    match start_key {
        "" => EMPTY_KEY_SUBSTITUTE,
        key => key,
    }
}
