//! privatecc's functions, written against [`Ledger`] so unit tests can run them
//! on an in-memory ledger. Arguments are strings; results are the payload
//! (UTF-8 text or JSON); a missing value is an empty payload, not an error.

use fabx_shim::{create_composite_key, split_composite_key, Chaincode, KeyValue, Response};
use fabx_shim::{ShimError, Stub};
use serde::Serialize;

use crate::ledger::Ledger;

/// Object type of the composite keys `putasset` writes.
const ASSET: &str = "asset";
/// The transient map entry `putprivate` stores.
const TRANSIENT_VALUE: &str = "value";

/// Each function with its arguments, in the order the unknown-function error lists them.
const FUNCTIONS: [(&str, &str); 19] = [
    ("Init", "[ARG...]"),
    ("put", "KEY VALUE"),
    ("get", "KEY"),
    ("del", "KEY"),
    ("range", "START END"),
    ("page", "START END PAGESIZE [BOOKMARK]"),
    ("putasset", "OWNER ID VALUE"),
    ("assetsof", "OWNER"),
    ("createasset", "ID OWNER COLOR SIZE"),
    ("readasset", "ID"),
    ("transferasset", "ID NEWOWNER"),
    ("assetsbyowner", "OWNER"),
    ("assetsbyownerpage", "OWNER PAGESIZE [BOOKMARK]"),
    ("richquery", "QUERY"),
    (
        "putprivate",
        "COLLECTION KEY (value in transient field \"value\")",
    ),
    ("getprivate", "COLLECTION KEY"),
    ("delprivate", "COLLECTION KEY"),
    ("privatehash", "COLLECTION KEY"),
    ("whoami", ""),
];

pub struct PrivateCc;

impl Chaincode for PrivateCc {
    /// Does nothing, so the chaincode deploys with or without an init call.
    async fn init(&self, _stub: &Stub) -> Response {
        Response::success(Vec::new())
    }

    async fn invoke(&self, stub: &Stub) -> Response {
        let (function, args) = stub.function_and_parameters();
        invoke(stub, &function, &args).await
    }
}

/// Why a function failed: the response's message.
#[derive(Debug)]
struct Failure(String);

impl From<ShimError> for Failure {
    fn from(e: ShimError) -> Self {
        Failure(e.to_string())
    }
}

type Outcome = Result<Vec<u8>, Failure>;

/// Runs `function` with `args`; status 200 with the payload, or 500 with a message.
pub(crate) async fn invoke(ledger: &impl Ledger, function: &str, args: &[String]) -> Response {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let outcome = match (function, args.as_slice()) {
        ("Init", _) => Ok(Vec::new()),
        ("put", [key, value]) => done(ledger.put(key, value.as_bytes().to_vec()).await),
        ("get", [key]) => value_or_empty(ledger.get(key).await),
        ("del", [key]) => done(ledger.del(key).await),
        ("range", [start, end]) => range(ledger, start, end).await,
        ("page", [start, end, size]) => page(ledger, start, end, size, "").await,
        ("page", [start, end, size, bookmark]) => page(ledger, start, end, size, bookmark).await,
        ("putasset", [owner, id, value]) => put_asset(ledger, owner, id, value).await,
        ("assetsof", [owner]) => assets_of(ledger, owner).await,
        ("createasset", [id, owner, color, size]) => {
            json_asset::create(ledger, id, owner, color, size).await
        }
        ("readasset", [id]) => value_or_empty(ledger.get(id).await),
        ("transferasset", [id, owner]) => json_asset::transfer(ledger, id, owner).await,
        ("assetsbyowner", [owner]) => json_asset::by_owner(ledger, owner).await,
        ("assetsbyownerpage", [owner, size]) => {
            json_asset::by_owner_page(ledger, owner, size, "").await
        }
        ("assetsbyownerpage", [owner, size, bookmark]) => {
            json_asset::by_owner_page(ledger, owner, size, bookmark).await
        }
        ("richquery", [query]) => json_asset::query(ledger, query).await,
        ("putprivate", [collection, key]) => put_private(ledger, collection, key).await,
        ("getprivate", [collection, key]) => {
            value_or_empty(ledger.get_private(collection, key).await)
        }
        ("delprivate", [collection, key]) => done(ledger.del_private(collection, key).await),
        ("privatehash", [collection, key]) => private_hash(ledger, collection, key).await,
        ("whoami", []) => text_or_error(ledger.creator_msp_id()),
        _ => Err(bad_call(function, args.len())),
    };
    match outcome {
        Ok(payload) => Response::success(payload),
        Err(Failure(message)) => Response::error(message),
    }
}

/// A write's outcome: an empty payload.
fn done(result: Result<(), ShimError>) -> Outcome {
    result?;
    Ok(Vec::new())
}

fn text_or_error(text: Result<String, ShimError>) -> Outcome {
    Ok(text?.into_bytes())
}

/// A read's outcome: the value, or an empty payload when there is none.
fn value_or_empty(value: Result<Option<Vec<u8>>, ShimError>) -> Outcome {
    Ok(value?.unwrap_or_default())
}

/// A known function with the wrong number of arguments, or an unknown one.
fn bad_call(function: &str, count: usize) -> Failure {
    match FUNCTIONS.iter().find(|(name, _)| *name == function) {
        Some((name, usage)) => Failure(format!(
            "Incorrect number of arguments for {name}: expecting {usage}, got {count}"
        )),
        None => {
            let known: Vec<&str> = FUNCTIONS.iter().map(|(name, _)| *name).collect();
            Failure(format!(
                "Unknown function {function:?}. Known functions: {}",
                known.join(", ")
            ))
        }
    }
}

/// A record of `range` and `page` (values as text, invalid UTF-8 replaced).
#[derive(Serialize)]
struct Record<'a> {
    key: &'a str,
    value: String,
}

/// The answer of `page`.
#[derive(Serialize)]
struct PageJson<'a> {
    records: Vec<Record<'a>>,
    fetched: i32,
    bookmark: &'a str,
}

/// An asset of `assetsof`.
#[derive(Serialize)]
struct Asset {
    owner: String,
    id: String,
    value: String,
}

/// `range START END`: `[{"key","value"}...]`.
async fn range(ledger: &impl Ledger, start: &str, end: &str) -> Outcome {
    let records = ledger.range(start, end).await?;
    to_json(&records_json(&records))
}

/// A PAGESIZE argument: a positive integer.
fn page_size(size: &str) -> Result<i32, Failure> {
    size.parse::<i32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| Failure(format!("PAGESIZE must be a positive integer, got {size:?}")))
}

/// `page START END PAGESIZE [BOOKMARK]`: `{"records":[...],"fetched":N,"bookmark":"..."}`.
async fn page(ledger: &impl Ledger, start: &str, end: &str, size: &str, bookmark: &str) -> Outcome {
    let page_size = page_size(size)?;
    let page = ledger.page(start, end, page_size, bookmark).await?;
    to_json(&PageJson {
        records: records_json(&page.records),
        fetched: page.fetched_records_count,
        bookmark: &page.bookmark,
    })
}

/// `putasset OWNER ID VALUE`: stores VALUE under the composite key ("asset", [OWNER, ID]).
async fn put_asset(ledger: &impl Ledger, owner: &str, id: &str, value: &str) -> Outcome {
    let key = create_composite_key(ASSET, &[owner, id])?;
    ledger.put(&key, value.as_bytes().to_vec()).await?;
    Ok(Vec::new())
}

/// `assetsof OWNER`: `[{"owner","id","value"}...]` of OWNER's assets, by ID.
async fn assets_of(ledger: &impl Ledger, owner: &str) -> Outcome {
    let mut assets = Vec::new();
    for record in ledger.by_partial_key(ASSET, &[owner]).await? {
        let (_, attributes) = split_composite_key(&record.key)?;
        let [owner, id] = <[String; 2]>::try_from(attributes).map_err(|_| {
            Failure(format!(
                "asset key {:?} does not hold an owner and an ID",
                record.key
            ))
        })?;
        let value = text(&record.value);
        assets.push(Asset { owner, id, value });
    }
    to_json(&assets)
}

/// `putprivate COLLECTION KEY`: the value comes from the transient map, so it
/// stays out of the transaction the orderer sees.
async fn put_private(ledger: &impl Ledger, collection: &str, key: &str) -> Outcome {
    let value = ledger
        .transient(TRANSIENT_VALUE)
        .ok_or_else(|| Failure(format!("transient field {TRANSIENT_VALUE:?} is missing")))?;
    ledger.put_private(collection, key, value).await?;
    Ok(Vec::new())
}

/// `privatehash COLLECTION KEY`: the hash in lowercase hex, or empty.
async fn private_hash(ledger: &impl Ledger, collection: &str, key: &str) -> Outcome {
    let hash = ledger.private_hash(collection, key).await?;
    Ok(hash.map(|h| hex(&h).into_bytes()).unwrap_or_default())
}

fn records_json(records: &[KeyValue]) -> Vec<Record<'_>> {
    records
        .iter()
        .map(|kv| Record {
            key: &kv.key,
            value: text(&kv.value),
        })
        .collect()
}

/// Values are shown as text (invalid UTF-8 replaced).
fn text(value: &[u8]) -> String {
    String::from_utf8_lossy(value).into_owned()
}

fn to_json(value: &impl Serialize) -> Outcome {
    serde_json::to_vec(value).map_err(|e| Failure(format!("cannot encode the answer: {e}")))
}

/// Lowercase hex, as `sha256sum` prints it.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

mod json_asset;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod peer_tests;
