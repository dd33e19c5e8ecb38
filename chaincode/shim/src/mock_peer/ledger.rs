//! The mock peer's in-memory ledger: answers the chaincode's state, query, history,
//! metadata and chaincode-call requests roughly as a Fabric peer does (no read/write
//! sets, no endorsement policies: writes apply at once, and so are in a key's history
//! at once, where Fabric shows only committed ones).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;

use prost::Message;
use sha2::{Digest, Sha256};

use crate::proto::chaincode_message::Type;
use crate::proto::queryresult::{KeyModification, Kv};
use crate::proto::{
    ChaincodeMessage, ChaincodeSpec, DelState, GetHistoryForKey, GetState, GetStateByRange,
    GetStateMetadata, PutState, PutStateMetadata, QueryMetadata, QueryResponse,
    QueryResponseMetadata, QueryResultBytes, QueryStateClose, QueryStateNext, StateMetadata,
    StateMetadataResult,
};

/// Results per QueryResponse unless set otherwise (Fabric's peer default is 100).
pub(super) const DEFAULT_BATCH_SIZE: usize = 100;

type Keys = BTreeMap<String, Vec<u8>>;

pub(super) struct Ledger {
    /// KV.namespace of query results (the chaincode's name).
    pub namespace: String,
    pub public: Keys,
    pub private: BTreeMap<String, Keys>,
    /// Results not sent yet of the open queries, by query ID.
    pub open_queries: HashMap<String, VecDeque<QueryResultBytes>>,
    pub batch_size: usize,
    queries_started: u64,
    /// Writes of each public key, oldest first.
    pub history: HashMap<String, Vec<KeyModification>>,
    /// Metadata entries by (collection, key).
    pub metadata: HashMap<(String, String), BTreeMap<String, Vec<u8>>>,
    /// What calls to other chaincodes answer, by the name called.
    pub called: HashMap<String, crate::Response>,
    /// The chaincode calls made: name called, then the arguments.
    pub calls: Vec<(String, Vec<Vec<u8>>)>,
}

impl Ledger {
    pub fn new(namespace: String) -> Self {
        Ledger {
            namespace,
            public: Keys::new(),
            private: BTreeMap::new(),
            open_queries: HashMap::new(),
            batch_size: DEFAULT_BATCH_SIZE,
            queries_started: 0,
            history: HashMap::new(),
            metadata: HashMap::new(),
            called: HashMap::new(),
            calls: Vec::new(),
        }
    }

    /// The RESPONSE payload for a request, or the text of an ERROR answer.
    pub fn answer(&mut self, request: &ChaincodeMessage) -> Result<Vec<u8>, String> {
        let payload = request.payload.as_slice();
        match request.r#type() {
            Type::GetState => {
                let r: GetState = decode(payload)?;
                Ok(self
                    .value(&r.collection, &r.key)
                    .cloned()
                    .unwrap_or_default())
            }
            Type::GetPrivateDataHash => {
                let r: GetState = decode(payload)?;
                let value = self.value(&r.collection, &r.key);
                Ok(value
                    .map(|v| Sha256::digest(v).to_vec())
                    .unwrap_or_default())
            }
            Type::PutState => {
                let r: PutState = decode(payload)?;
                self.record(&r.collection, &r.key, &request.txid, Some(&r.value));
                self.keys_mut(&r.collection).insert(r.key, r.value);
                Ok(Vec::new())
            }
            Type::DelState => {
                let r: DelState = decode(payload)?;
                self.record(&r.collection, &r.key, &request.txid, None);
                self.keys_mut(&r.collection).remove(&r.key);
                Ok(Vec::new())
            }
            Type::GetHistoryForKey => {
                let r: GetHistoryForKey = decode(payload)?;
                let writes = self.history.get(&r.key).cloned().unwrap_or_default();
                let results = writes
                    .iter()
                    .rev()
                    .map(|m| QueryResultBytes {
                        result_bytes: m.encode_to_vec(),
                    })
                    .collect();
                Ok(self.open_query(results, Vec::new()).encode_to_vec())
            }
            Type::GetStateMetadata => {
                let r: GetStateMetadata = decode(payload)?;
                let entries = self
                    .metadata
                    .get(&(r.collection, r.key))
                    .into_iter()
                    .flatten()
                    .map(|(metakey, value)| StateMetadata {
                        metakey: metakey.clone(),
                        value: value.clone(),
                    })
                    .collect();
                Ok(StateMetadataResult { entries }.encode_to_vec())
            }
            Type::PutStateMetadata => {
                let r: PutStateMetadata = decode(payload)?;
                let entry = r.metadata.ok_or("PUT_STATE_METADATA without metadata")?;
                self.metadata
                    .entry((r.collection, r.key))
                    .or_default()
                    .insert(entry.metakey, entry.value);
                Ok(Vec::new())
            }
            Type::InvokeChaincode => {
                let r: ChaincodeSpec = decode(payload)?;
                let name = r.chaincode_id.map(|id| id.name).unwrap_or_default();
                let args = r.input.map(|input| input.args).unwrap_or_default();
                self.calls.push((name.clone(), args));
                let response = self
                    .called
                    .get(&name)
                    .cloned()
                    .ok_or_else(|| format!("chaincode {name} not found"))?;
                let completed = ChaincodeMessage {
                    r#type: Type::Completed as i32,
                    payload: crate::proto::Response::from(response).encode_to_vec(),
                    txid: request.txid.clone(),
                    channel_id: request.channel_id.clone(),
                    ..Default::default()
                };
                Ok(completed.encode_to_vec())
            }
            Type::GetStateByRange => self.start_query(decode(payload)?),
            Type::QueryStateNext => {
                let r: QueryStateNext = decode(payload)?;
                if !self.open_queries.contains_key(&r.id) {
                    return Err(format!("query iterator {} not found", r.id));
                }
                Ok(self.next_batch(r.id, Vec::new()).encode_to_vec())
            }
            Type::QueryStateClose => {
                let r: QueryStateClose = decode(payload)?;
                self.open_queries.remove(&r.id);
                Ok(QueryResponse {
                    id: r.id,
                    ..Default::default()
                }
                .encode_to_vec())
            }
            other => Err(format!(
                "mock peer does not support {}",
                other.as_str_name()
            )),
        }
    }

    /// A write of a public key, for its history.
    fn record(&mut self, collection: &str, key: &str, txid: &str, value: Option<&Vec<u8>>) {
        if !collection.is_empty() {
            return;
        }
        self.history
            .entry(key.to_string())
            .or_default()
            .push(KeyModification {
                tx_id: txid.to_string(),
                value: value.cloned().unwrap_or_default(),
                timestamp: Some(crate::timestamp::now()),
                is_delete: value.is_none(),
            });
    }

    /// The public state for collection "", else that private data collection.
    fn keys(&self, collection: &str) -> Option<&Keys> {
        match collection {
            "" => Some(&self.public),
            name => self.private.get(name),
        }
    }

    fn value(&self, collection: &str, key: &str) -> Option<&Vec<u8>> {
        self.keys(collection).and_then(|keys| keys.get(key))
    }

    fn keys_mut(&mut self, collection: &str) -> &mut Keys {
        match collection {
            "" => &mut self.public,
            name => self.private.entry(name.to_string()).or_default(),
        }
    }

    /// GET_STATE_BY_RANGE: `[start, end)`, an empty end is open. With metadata,
    /// one page of `pageSize` keys from the bookmark (the next page's first key).
    fn start_query(&mut self, r: GetStateByRange) -> Result<Vec<u8>, String> {
        let page = match r.metadata.is_empty() {
            true => None,
            false => Some(decode::<QueryMetadata>(&r.metadata)?),
        };
        let start = match &page {
            Some(p) if p.bookmark > r.start_key => p.bookmark.clone(),
            _ => r.start_key.clone(),
        };
        let end = match r.end_key.as_str() {
            "" => Bound::Unbounded,
            end => Bound::Excluded(end.to_string()),
        };
        // An end before the start (or the bookmark) is an empty range.
        let empty = matches!(&end, Bound::Excluded(e) if *e < start);
        let namespace = self.namespace.clone();
        let mut matching = self
            .keys(&r.collection)
            .filter(|_| !empty)
            .into_iter()
            .flat_map(|keys| keys.range((Bound::Included(start.clone()), end.clone())))
            .map(|(key, value)| Kv {
                namespace: namespace.clone(),
                key: key.clone(),
                value: value.clone(),
            });
        let limit = page
            .as_ref()
            .map_or(usize::MAX, |p| usize::try_from(p.page_size).unwrap_or(0));
        let records: Vec<Kv> = matching.by_ref().take(limit).collect();
        let metadata = QueryResponseMetadata {
            fetched_records_count: i32::try_from(records.len()).unwrap_or(i32::MAX),
            bookmark: page
                .and_then(|_| matching.next())
                .map(|next| next.key)
                .unwrap_or_default(),
        }
        .encode_to_vec();
        let results = records
            .iter()
            .map(|kv| QueryResultBytes {
                result_bytes: kv.encode_to_vec(),
            })
            .collect();
        Ok(self.open_query(results, metadata).encode_to_vec())
    }

    /// Opens a query over `results`; returns its first batch.
    fn open_query(
        &mut self,
        results: VecDeque<QueryResultBytes>,
        metadata: Vec<u8>,
    ) -> QueryResponse {
        self.queries_started += 1;
        let id = format!("query{}", self.queries_started);
        self.open_queries.insert(id.clone(), results);
        self.next_batch(id, metadata)
    }

    /// The next `batch_size` results of an open query.
    fn next_batch(&mut self, id: String, metadata: Vec<u8>) -> QueryResponse {
        let batch_size = self.batch_size.max(1);
        let remaining = self.open_queries.entry(id.clone()).or_default();
        let take = batch_size.min(remaining.len());
        let results = remaining.drain(..take).collect();
        QueryResponse {
            results,
            has_more: !remaining.is_empty(),
            id,
            metadata,
        }
    }
}

fn decode<M: Message + Default>(payload: &[u8]) -> Result<M, String> {
    M::decode(payload).map_err(|e| e.to_string())
}
