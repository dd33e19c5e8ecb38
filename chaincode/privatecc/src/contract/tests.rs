use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Mutex;

use fabx_shim::Page;

use super::*;

type Keys = BTreeMap<String, Vec<u8>>;

/// In-memory ledger with the Stub's range semantics; `fail` makes every call
/// fail like a broken peer connection.
#[derive(Default)]
struct MemLedger {
    public: Mutex<Keys>,
    private: Mutex<BTreeMap<String, Keys>>,
    transient: HashMap<String, Vec<u8>>,
    msp_id: Option<String>,
    fail: bool,
    event: Mutex<Option<(String, Vec<u8>)>>,
}

impl MemLedger {
    fn broken() -> Self {
        MemLedger {
            fail: true,
            ..Default::default()
        }
    }

    fn with_transient(name: &str, value: &str) -> Self {
        MemLedger {
            transient: HashMap::from([(name.to_string(), value.as_bytes().to_vec())]),
            ..Default::default()
        }
    }

    fn check(&self) -> Result<(), ShimError> {
        match self.fail {
            true => Err(ShimError::Disconnected),
            false => Ok(()),
        }
    }

    /// Keys in `[start, end)` from `from` on; an empty start is "\x01" and an
    /// empty end is open, as with the Stub.
    fn scan(&self, start: &str, end: &str, from: &str) -> Vec<KeyValue> {
        let start = match start {
            "" => "\u{1}",
            s => s,
        };
        let start = start.max(from).to_string();
        let end = match end {
            "" => Bound::Unbounded,
            e => Bound::Excluded(e.to_string()),
        };
        let state = self.public.lock().unwrap();
        state
            .range((Bound::Included(start), end))
            .map(|(key, value)| KeyValue {
                namespace: "privatecc".into(),
                key: key.clone(),
                value: value.clone(),
            })
            .collect()
    }

    /// What CouchDB would select with `query`: records whose JSON value has every field
    /// of the selector equal (the only operator these tests use), in key order, from
    /// `from` on.
    fn select(&self, query: &str, from: &str) -> Result<Vec<KeyValue>, ShimError> {
        let query: serde_json::Value = serde_json::from_str(query)
            .map_err(|e| ShimError::InvalidArgument(format!("bad query: {e}")))?;
        let selector = query["selector"]
            .as_object()
            .ok_or_else(|| ShimError::InvalidArgument("no selector".into()))?
            .clone();
        let matches = |value: &[u8]| {
            serde_json::from_slice::<serde_json::Value>(value)
                .is_ok_and(|doc| selector.iter().all(|(field, wanted)| doc[field] == *wanted))
        };
        Ok(self
            .scan("", "", from)
            .into_iter()
            .filter(|kv| matches(&kv.value))
            .collect())
    }

    fn private_value(&self, collection: &str, key: &str) -> Option<Vec<u8>> {
        let private = self.private.lock().unwrap();
        private.get(collection).and_then(|c| c.get(key)).cloned()
    }
}

impl Ledger for MemLedger {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ShimError> {
        self.check()?;
        Ok(self.public.lock().unwrap().get(key).cloned())
    }
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), ShimError> {
        self.check()?;
        self.public.lock().unwrap().insert(key.into(), value);
        Ok(())
    }
    async fn del(&self, key: &str) -> Result<(), ShimError> {
        self.check()?;
        self.public.lock().unwrap().remove(key);
        Ok(())
    }
    async fn range(&self, start: &str, end: &str) -> Result<Vec<KeyValue>, ShimError> {
        self.check()?;
        Ok(self.scan(start, end, ""))
    }
    async fn page(
        &self,
        start: &str,
        end: &str,
        page_size: i32,
        bookmark: &str,
    ) -> Result<Page, ShimError> {
        self.check()?;
        let mut records = self.scan(start, end, bookmark);
        let rest = records.split_off((page_size as usize).min(records.len()));
        Ok(Page {
            fetched_records_count: records.len() as i32,
            bookmark: rest.first().map(|kv| kv.key.clone()).unwrap_or_default(),
            records,
        })
    }
    async fn by_partial_key(
        &self,
        object_type: &str,
        attributes: &[&str],
    ) -> Result<Vec<KeyValue>, ShimError> {
        self.check()?;
        let start = create_composite_key(object_type, attributes)?;
        let end = format!("{start}\u{10FFFF}");
        Ok(self.scan(&start, &end, ""))
    }
    async fn rich(&self, query: &str) -> Result<Vec<KeyValue>, ShimError> {
        self.check()?;
        self.select(query, "")
    }
    async fn rich_page(
        &self,
        query: &str,
        page_size: i32,
        bookmark: &str,
    ) -> Result<Page, ShimError> {
        self.check()?;
        let mut records = self.select(query, bookmark)?;
        let rest = records.split_off((page_size as usize).min(records.len()));
        Ok(Page {
            fetched_records_count: records.len() as i32,
            bookmark: rest.first().map(|kv| kv.key.clone()).unwrap_or_default(),
            records,
        })
    }
    async fn get_private(&self, collection: &str, key: &str) -> Result<Option<Vec<u8>>, ShimError> {
        self.check()?;
        Ok(self.private_value(collection, key))
    }
    async fn put_private(
        &self,
        collection: &str,
        key: &str,
        value: Vec<u8>,
    ) -> Result<(), ShimError> {
        self.check()?;
        let mut private = self.private.lock().unwrap();
        private
            .entry(collection.into())
            .or_default()
            .insert(key.into(), value);
        Ok(())
    }
    async fn del_private(&self, collection: &str, key: &str) -> Result<(), ShimError> {
        self.check()?;
        let mut private = self.private.lock().unwrap();
        private.entry(collection.into()).or_default().remove(key);
        Ok(())
    }
    async fn private_hash(
        &self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, ShimError> {
        self.check()?;
        // A stand-in hash: the value reversed, enough to check the hex rendering.
        Ok(self.private_value(collection, key).map(|mut v| {
            v.reverse();
            v
        }))
    }
    fn transient(&self, name: &str) -> Option<Vec<u8>> {
        self.transient.get(name).cloned()
    }
    fn creator_msp_id(&self) -> Result<String, ShimError> {
        self.check()?;
        self.msp_id
            .clone()
            .ok_or_else(|| ShimError::Protocol("no creator".into()))
    }
    fn set_event(&self, name: &str, payload: Vec<u8>) -> Result<(), ShimError> {
        self.check()?;
        *self.event.lock().unwrap() = Some((name.to_string(), payload));
        Ok(())
    }
}

/// Runs `args` (function first) and returns the payload of a 200 response as text.
async fn ok(ledger: &MemLedger, args: &[&str]) -> String {
    let r = call(ledger, args).await;
    assert_eq!(r.status, 200, "{args:?}: {}", r.message);
    String::from_utf8(r.payload).unwrap()
}

/// Runs `args` and returns the message of a 500 response.
async fn failed(ledger: &MemLedger, args: &[&str]) -> String {
    let r = call(ledger, args).await;
    assert_eq!(
        (r.status, r.payload.as_slice()),
        (500, &b""[..]),
        "{args:?}"
    );
    r.message
}

async fn call(ledger: &MemLedger, args: &[&str]) -> Response {
    let params: Vec<String> = args[1..].iter().map(|s| s.to_string()).collect();
    invoke(ledger, args[0], &params).await
}

#[tokio::test]
async fn public_state_put_get_del() {
    let l = MemLedger::default();
    assert_eq!(ok(&l, &["put", "k", "v1"]).await, "");
    assert_eq!(ok(&l, &["get", "k"]).await, "v1");
    assert_eq!(ok(&l, &["del", "k"]).await, "");
    // A missing value is an empty payload, not an error.
    assert_eq!(ok(&l, &["get", "k"]).await, "");
    assert_eq!(ok(&l, &["Init", "any", "args"]).await, "");
}

#[tokio::test]
async fn range_returns_all_records_as_json() {
    let l = MemLedger::default();
    for (k, v) in [("a", "1"), ("b", "2"), ("c", "3")] {
        ok(&l, &["put", k, v]).await;
    }
    ok(&l, &["putasset", "alice", "1", "x"]).await; // composite: never in a range
    let all = r#"[{"key":"a","value":"1"},{"key":"b","value":"2"},{"key":"c","value":"3"}]"#;
    assert_eq!(ok(&l, &["range", "", ""]).await, all);
    assert_eq!(
        ok(&l, &["range", "b", "c"]).await,
        r#"[{"key":"b","value":"2"}]"#
    );
    assert_eq!(ok(&l, &["range", "x", ""]).await, "[]");
}

#[tokio::test]
async fn page_returns_records_count_and_bookmark() {
    let l = MemLedger::default();
    for k in ["a", "b", "c"] {
        ok(&l, &["put", k, &k.to_uppercase()]).await;
    }
    let first = ok(&l, &["page", "", "", "2"]).await;
    assert_eq!(
        first,
        r#"{"records":[{"key":"a","value":"A"},{"key":"b","value":"B"}],"fetched":2,"bookmark":"c"}"#
    );
    let next = ok(&l, &["page", "", "", "2", "c"]).await;
    assert_eq!(
        next,
        r#"{"records":[{"key":"c","value":"C"}],"fetched":1,"bookmark":""}"#
    );
    for size in ["0", "-1", "two", ""] {
        let message = failed(&l, &["page", "a", "z", size]).await;
        assert!(
            message.starts_with("PAGESIZE must be a positive integer"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn assets_are_found_by_owner() {
    let l = MemLedger::default();
    ok(&l, &["putasset", "alice", "2", "car"]).await;
    ok(&l, &["putasset", "alice", "1", "bike"]).await;
    ok(&l, &["putasset", "bob", "1", "boat"]).await;
    let key = create_composite_key("asset", &["alice", "1"]).unwrap();
    assert_eq!(
        l.public.lock().unwrap().get(&key).map(Vec::as_slice),
        Some(&b"bike"[..])
    );
    assert_eq!(
        ok(&l, &["assetsof", "alice"]).await,
        r#"[{"owner":"alice","id":"1","value":"bike"},{"owner":"alice","id":"2","value":"car"}]"#
    );
    assert_eq!(ok(&l, &["assetsof", "carol"]).await, "[]");
    let message = failed(&l, &["putasset", "a\0b", "1", "x"]).await;
    assert!(message.contains("U+0000"), "{message}");
}

#[tokio::test]
async fn private_data_takes_its_value_from_the_transient_map() {
    let l = MemLedger::with_transient("value", "secret");
    assert_eq!(ok(&l, &["putprivate", "col1", "k"]).await, "");
    assert_eq!(
        l.private_value("col1", "k").as_deref(),
        Some(&b"secret"[..])
    );
    assert!(l.public.lock().unwrap().is_empty());
    assert_eq!(ok(&l, &["getprivate", "col1", "k"]).await, "secret");
    assert_eq!(ok(&l, &["getprivate", "col2", "k"]).await, "");
    // The stand-in hash is the value reversed: "terces".
    assert_eq!(ok(&l, &["privatehash", "col1", "k"]).await, "746572636573");
    assert_eq!(ok(&l, &["delprivate", "col1", "k"]).await, "");
    assert_eq!(ok(&l, &["getprivate", "col1", "k"]).await, "");
    assert_eq!(ok(&l, &["privatehash", "col1", "k"]).await, "");

    let without = MemLedger::with_transient("other", "x");
    let message = failed(&without, &["putprivate", "col1", "k"]).await;
    assert_eq!(message, "transient field \"value\" is missing");
}

#[tokio::test]
async fn whoami_is_the_creator_msp_id() {
    let l = MemLedger {
        msp_id: Some("Org2MSP".into()),
        ..Default::default()
    };
    assert_eq!(ok(&l, &["whoami"]).await, "Org2MSP");
    assert_eq!(
        failed(&MemLedger::default(), &["whoami"]).await,
        "protocol error: no creator"
    );
}

#[tokio::test]
async fn ledger_errors_become_error_responses() {
    let broken = MemLedger::broken();
    for args in [
        &["get", "k"][..],
        &["put", "k", "v"],
        &["range", "a", "b"],
        &["page", "a", "b", "1"],
        &["assetsof", "alice"],
        &["getprivate", "c", "k"],
        &["privatehash", "c", "k"],
        &["whoami"],
    ] {
        assert_eq!(
            failed(&broken, args).await,
            "connection to the peer is closed",
            "{args:?}"
        );
    }
}

#[tokio::test]
async fn wrong_calls_name_the_function() {
    let l = MemLedger::default();
    let message = failed(&l, &["put", "k"]).await;
    assert_eq!(
        message,
        "Incorrect number of arguments for put: expecting KEY VALUE, got 1"
    );
    let message = failed(&l, &["page", "a", "b", "1", "bm", "extra"]).await;
    assert!(
        message.contains("expecting START END PAGESIZE [BOOKMARK], got 5"),
        "{message}"
    );
    let message = failed(&l, &["whoami", "x"]).await;
    assert!(message.contains("for whoami"), "{message}");
    let message = failed(&l, &["transfer", "a", "b"]).await;
    assert_eq!(
        message,
        "Unknown function \"transfer\". Known functions: Init, put, get, del, range, page, \
         putasset, assetsof, createasset, readasset, transferasset, assetsbyowner, \
         assetsbyownerpage, richquery, putprivate, getprivate, delprivate, privatehash, whoami"
    );
}

#[tokio::test]
async fn json_assets_are_found_by_owner_in_pages() {
    let l = MemLedger::default();
    for (id, owner) in [("a1", "tom"), ("a2", "ann"), ("a3", "tom"), ("a4", "tom")] {
        assert_eq!(ok(&l, &["createasset", id, owner, "blue", "5"]).await, "");
    }
    let a1 = ok(&l, &["readasset", "a1"]).await;
    assert_eq!(
        a1,
        r#"{"docType":"asset","id":"a1","owner":"tom","color":"blue","size":5}"#
    );
    let toms: serde_json::Value =
        serde_json::from_str(&ok(&l, &["assetsbyowner", "tom"]).await).unwrap();
    let ids: Vec<&str> = toms
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a1", "a3", "a4"]);

    let first: serde_json::Value =
        serde_json::from_str(&ok(&l, &["assetsbyownerpage", "tom", "2"]).await).unwrap();
    assert_eq!(first["fetched"], 2);
    assert_eq!(first["records"][1]["id"], "a3");
    let bookmark = first["bookmark"].as_str().unwrap();
    let next: serde_json::Value =
        serde_json::from_str(&ok(&l, &["assetsbyownerpage", "tom", "2", bookmark]).await).unwrap();
    assert_eq!(next["fetched"], 1);
    assert_eq!(next["records"][0]["id"], "a4");

    ok(&l, &["transferasset", "a1", "ann"]).await;
    let (name, payload) = l.event.lock().unwrap().clone().expect("an event");
    assert_eq!(name, "AssetTransferred");
    let payload: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(
        payload,
        serde_json::json!({"id": "a1", "from": "tom", "to": "ann"})
    );
    let anns = ok(&l, &["assetsbyowner", "ann"]).await;
    assert!(
        anns.contains(r#""id":"a1""#) && anns.contains(r#""id":"a2""#),
        "{anns}"
    );
    let query = r#"{"selector":{"color":"blue","owner":"ann"}}"#;
    assert_eq!(ok(&l, &["richquery", query]).await, anns);
}

#[tokio::test]
async fn json_asset_mistakes_are_named() {
    let l = MemLedger::default();
    ok(&l, &["createasset", "a1", "tom", "blue", "5"]).await;
    let message = failed(&l, &["createasset", "a1", "ann", "red", "1"]).await;
    assert_eq!(message, "asset a1 already exists");
    let message = failed(&l, &["createasset", "a2", "ann", "red", "big"]).await;
    assert!(message.contains("SIZE must be a whole number"), "{message}");
    let message = failed(&l, &["transferasset", "nope", "ann"]).await;
    assert_eq!(message, "asset nope does not exist");
    let message = failed(&l, &["assetsbyownerpage", "tom", "0"]).await;
    assert!(
        message.contains("PAGESIZE must be a positive integer"),
        "{message}"
    );
    ok(&l, &["put", "plain", "text"]).await;
    let message = failed(&l, &["transferasset", "plain", "ann"]).await;
    assert!(message.contains("is not a JSON asset"), "{message}");
}
