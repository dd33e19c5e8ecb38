use std::collections::BTreeMap;
use std::sync::Mutex;

use super::*;

/// In-memory ledger; `fail` makes every call fail like a broken peer connection.
#[derive(Default)]
struct MemLedger {
    state: Mutex<BTreeMap<String, Vec<u8>>>,
    fail: bool,
}

impl Ledger for MemLedger {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ShimError> {
        self.check()?;
        Ok(self.state.lock().unwrap().get(key).cloned())
    }
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), ShimError> {
        self.check()?;
        self.state.lock().unwrap().insert(key.into(), value);
        Ok(())
    }
    async fn del(&self, key: &str) -> Result<(), ShimError> {
        self.check()?;
        self.state.lock().unwrap().remove(key);
        Ok(())
    }
}

impl MemLedger {
    fn broken() -> Self {
        MemLedger {
            fail: true,
            ..Default::default()
        }
    }
    fn check(&self) -> Result<(), ShimError> {
        match self.fail {
            true => Err(ShimError::Disconnected),
            false => Ok(()),
        }
    }
    fn value(&self, key: &str) -> Option<String> {
        let state = self.state.lock().unwrap();
        state
            .get(key)
            .map(|v| String::from_utf8(v.clone()).unwrap())
    }
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

fn err(message: &str) -> Response {
    Response::error(message)
}

async fn initialized() -> MemLedger {
    let ledger = MemLedger::default();
    let r = init(&ledger, &args(&["a", "100", "b", "200"])).await;
    assert_eq!(r, Response::success(Vec::new()));
    ledger
}

#[tokio::test]
async fn init_sets_both_holdings() {
    let ledger = initialized().await;
    assert_eq!(ledger.value("a").as_deref(), Some("100"));
    assert_eq!(ledger.value("b").as_deref(), Some("200"));
}

#[tokio::test]
async fn init_validates_arguments() {
    let l = MemLedger::default();
    let count = err("Incorrect number of arguments. Expecting 4");
    assert_eq!(init(&l, &args(&["a", "1", "b"])).await, count);
    assert_eq!(init(&l, &args(&[])).await, count);
    let int = err("Expecting integer value for asset holding");
    assert_eq!(init(&l, &args(&["a", "x", "b", "2"])).await, int);
    assert_eq!(init(&l, &args(&["a", "1", "b", "2.5"])).await, int);
    assert!(l.state.lock().unwrap().is_empty());
    let r = init(&MemLedger::broken(), &args(&["a", "1", "b", "2"])).await;
    assert_eq!(r, err("connection to the peer is closed"));
}

#[tokio::test]
async fn invoke_moves_amount() {
    let l = initialized().await;
    let r = invoke(&l, "invoke", &args(&["a", "b", "20"])).await;
    assert_eq!(r, Response::success(Vec::new()));
    assert_eq!(l.value("a").as_deref(), Some("80"));
    assert_eq!(l.value("b").as_deref(), Some("220"));
    // Negative amounts move the other way, as in Go.
    invoke(&l, "invoke", &args(&["a", "b", "-30"])).await;
    assert_eq!(l.value("a").as_deref(), Some("110"));
}

#[tokio::test]
async fn invoke_errors_match_go() {
    let l = initialized().await;
    let r = invoke(&l, "invoke", &args(&["a", "b"])).await;
    assert_eq!(r, err("Incorrect number of arguments. Expecting 3"));
    let r = invoke(&l, "invoke", &args(&["a", "zz", "1"])).await;
    assert_eq!(r, err("Entity not found"));
    let r = invoke(&l, "invoke", &args(&["a", "b", "ten"])).await;
    assert_eq!(
        r,
        err("Invalid transaction amount, expecting a integer value")
    );
    let r = invoke(&MemLedger::broken(), "invoke", &args(&["a", "b", "1"])).await;
    assert_eq!(r, err("Failed to get state"));
}

#[tokio::test]
async fn query_returns_value_bytes() {
    let l = initialized().await;
    invoke(&l, "invoke", &args(&["a", "b", "20"])).await;
    let r = invoke(&l, "query", &args(&["a"])).await;
    assert_eq!(r, Response::success(b"80".to_vec()));
    let r = invoke(&l, "query", &args(&["nobody"])).await;
    assert_eq!(r, err(r#"{"Error":"Nil amount for nobody"}"#));
    let r = invoke(&l, "query", &args(&[])).await;
    let count = "Incorrect number of arguments. Expecting name of the person to query";
    assert_eq!(r, err(count));
    let r = invoke(&MemLedger::broken(), "query", &args(&["a"])).await;
    assert_eq!(r, err(r#"{"Error":"Failed to get state for a"}"#));
}

#[tokio::test]
async fn delete_removes_entity() {
    let l = initialized().await;
    let r = invoke(&l, "delete", &args(&["a"])).await;
    assert_eq!(r, Response::success(Vec::new()));
    assert_eq!(l.value("a"), None);
    let r = invoke(&l, "delete", &args(&[])).await;
    assert_eq!(r, err("Incorrect number of arguments. Expecting 1"));
    let r = invoke(&l, "invoke", &args(&["a", "b", "1"])).await;
    assert_eq!(r, err("Entity not found"));
    let r = invoke(&MemLedger::broken(), "delete", &args(&["a"])).await;
    assert_eq!(r, err("Failed to delete state"));
}

#[tokio::test]
async fn unknown_function_is_rejected() {
    let l = initialized().await;
    let r = invoke(&l, "move", &args(&["a", "b", "1"])).await;
    let expected = r#"Invalid invoke function name. Expecting "invoke" "delete" "query""#;
    assert_eq!(r, err(expected));
    assert!(r.is_error() && r.status == 500);
}
