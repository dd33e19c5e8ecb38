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
         putasset, assetsof, putprivate, getprivate, delprivate, privatehash, whoami"
    );
}
