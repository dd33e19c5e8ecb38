//! JSON assets queried by content: each asset is a JSON document under its ID,
//! `{"docType":"asset","id","owner","color","size"}`, found by owner with a CouchDB
//! rich query that uses the index the chaincode ships
//! (`META-INF/statedb/couchdb/indexes/indexOwner.json`). Needs CouchDB as the peers'
//! state database; on LevelDB the queries fail with the shim's error saying so.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{page_size, to_json, Failure, Outcome};
use crate::ledger::Ledger;

/// The design document and index of `indexOwner.json`.
const OWNER_INDEX: [&str; 2] = ["_design/indexOwnerDoc", "indexOwner"];
const DOC_TYPE: &str = "asset";

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct JsonAsset {
    doc_type: String,
    id: String,
    owner: String,
    color: String,
    size: u64,
}

/// One page of assets.
#[derive(Serialize)]
struct AssetPage {
    records: Vec<Value>,
    fetched: i32,
    bookmark: String,
}

/// `createasset ID OWNER COLOR SIZE`: a new asset; an existing ID is an error.
pub(super) async fn create(
    ledger: &impl Ledger,
    id: &str,
    owner: &str,
    color: &str,
    size: &str,
) -> Outcome {
    if ledger.get(id).await?.is_some() {
        return Err(Failure(format!("asset {id} already exists")));
    }
    let size = size
        .parse()
        .map_err(|_| Failure(format!("SIZE must be a whole number, got {size:?}")))?;
    let asset = JsonAsset {
        doc_type: DOC_TYPE.into(),
        id: id.into(),
        owner: owner.into(),
        color: color.into(),
        size,
    };
    ledger.put(id, to_json(&asset)?).await?;
    Ok(Vec::new())
}

/// `transferasset ID NEWOWNER`; emits the event `AssetTransferred` with
/// `{"id", "from", "to"}`.
pub(super) async fn transfer(ledger: &impl Ledger, id: &str, owner: &str) -> Outcome {
    let stored = ledger
        .get(id)
        .await?
        .ok_or_else(|| Failure(format!("asset {id} does not exist")))?;
    let mut asset: JsonAsset = serde_json::from_slice(&stored)
        .map_err(|e| Failure(format!("asset {id} is not a JSON asset: {e}")))?;
    let event = json!({ "id": id, "from": asset.owner, "to": owner });
    asset.owner = owner.into();
    ledger.put(id, to_json(&asset)?).await?;
    ledger.set_event(TRANSFERRED, event.to_string().into_bytes())?;
    Ok(Vec::new())
}

/// The event a transfer emits.
pub const TRANSFERRED: &str = "AssetTransferred";

/// The Mango query for OWNER's assets, answered from the owner index.
fn owner_query(owner: &str) -> String {
    json!({
        "selector": {"docType": DOC_TYPE, "owner": owner},
        "use_index": OWNER_INDEX,
    })
    .to_string()
}

/// `assetsbyowner OWNER`: `[asset...]`.
pub(super) async fn by_owner(ledger: &impl Ledger, owner: &str) -> Outcome {
    query(ledger, &owner_query(owner)).await
}

/// `assetsbyownerpage OWNER PAGESIZE [BOOKMARK]`:
/// `{"records":[asset...],"fetched":N,"bookmark":"..."}`; pass the bookmark back for the
/// next page (a page with fewer than PAGESIZE records is the last). Fabric allows this in
/// queries only, not in submitted transactions.
pub(super) async fn by_owner_page(
    ledger: &impl Ledger,
    owner: &str,
    size: &str,
    bookmark: &str,
) -> Outcome {
    let page = ledger
        .rich_page(&owner_query(owner), page_size(size)?, bookmark)
        .await?;
    to_json(&AssetPage {
        records: documents(&page.records)?,
        fetched: page.fetched_records_count,
        bookmark: page.bookmark,
    })
}

/// `richquery QUERY`: the documents any Mango query selects.
pub(super) async fn query(ledger: &impl Ledger, query: &str) -> Outcome {
    let records = ledger.rich(query).await?;
    to_json(&documents(&records)?)
}

/// Each record's value as the JSON document it is.
fn documents(records: &[fabx_shim::KeyValue]) -> Result<Vec<Value>, Failure> {
    records
        .iter()
        .map(|kv| {
            serde_json::from_slice(&kv.value)
                .map_err(|e| Failure(format!("{} does not hold JSON: {e}", kv.key)))
        })
        .collect()
}
