//! The chaincode logic, written against a small `Ledger` trait so unit tests can
//! run it on an in-memory map instead of a peer connection.

use fabx_shim::{Chaincode, Response, ShimError, Stub};

/// The world-state operations example02 needs.
pub(crate) trait Ledger {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ShimError>;
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), ShimError>;
    async fn del(&self, key: &str) -> Result<(), ShimError>;
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
}

pub struct Example02;

impl Chaincode for Example02 {
    async fn init(&self, stub: &Stub) -> Response {
        let (_, args) = stub.function_and_parameters();
        init(stub, &args).await
    }

    async fn invoke(&self, stub: &Stub) -> Response {
        let (function, args) = stub.function_and_parameters();
        invoke(stub, &function, &args).await
    }
}

/// Go's strconv.Atoi on 64-bit platforms: optional sign, decimal digits.
fn atoi(s: &str) -> Option<i64> {
    s.parse().ok()
}

/// Init(A, Aval, B, Bval): sets both holdings.
pub(crate) async fn init(ledger: &impl Ledger, args: &[String]) -> Response {
    println!("ex02 Init");
    if args.len() != 4 {
        return Response::error("Incorrect number of arguments. Expecting 4");
    }
    let (Some(aval), Some(bval)) = (atoi(&args[1]), atoi(&args[3])) else {
        return Response::error("Expecting integer value for asset holding");
    };
    println!("Aval = {aval}, Bval = {bval}");
    for (key, val) in [(&args[0], aval), (&args[2], bval)] {
        if let Err(e) = ledger.put(key, val.to_string().into_bytes()).await {
            return Response::error(e.to_string());
        }
    }
    Response::success(Vec::new())
}

pub(crate) async fn invoke(ledger: &impl Ledger, function: &str, args: &[String]) -> Response {
    println!("ex02 Invoke");
    match function {
        "invoke" => transfer(ledger, args).await,
        "delete" => delete(ledger, args).await,
        "query" => query(ledger, args).await,
        _ => {
            Response::error(r#"Invalid invoke function name. Expecting "invoke" "delete" "query""#)
        }
    }
}

/// invoke(A, B, X): moves X units from A to B.
async fn transfer(ledger: &impl Ledger, args: &[String]) -> Response {
    if args.len() != 3 {
        return Response::error("Incorrect number of arguments. Expecting 3");
    }
    let mut holdings = [0i64; 2];
    for (slot, key) in holdings.iter_mut().zip(&args[..2]) {
        match ledger.get(key).await {
            Err(_) => return Response::error("Failed to get state"),
            Ok(None) => return Response::error("Entity not found"),
            // Like the Go original, an unparsable stored value counts as 0.
            Ok(Some(bytes)) => *slot = atoi(&String::from_utf8_lossy(&bytes)).unwrap_or(0),
        }
    }
    let Some(x) = atoi(&args[2]) else {
        return Response::error("Invalid transaction amount, expecting a integer value");
    };
    // Go ints wrap on overflow.
    let aval = holdings[0].wrapping_sub(x);
    let bval = holdings[1].wrapping_add(x);
    println!("Aval = {aval}, Bval = {bval}");
    for (key, val) in [(&args[0], aval), (&args[1], bval)] {
        if let Err(e) = ledger.put(key, val.to_string().into_bytes()).await {
            return Response::error(e.to_string());
        }
    }
    Response::success(Vec::new())
}

/// delete(A): removes A from the state.
async fn delete(ledger: &impl Ledger, args: &[String]) -> Response {
    if args.len() != 1 {
        return Response::error("Incorrect number of arguments. Expecting 1");
    }
    match ledger.del(&args[0]).await {
        Ok(()) => Response::success(Vec::new()),
        Err(_) => Response::error("Failed to delete state"),
    }
}

/// query(A): returns A's holding as the payload.
async fn query(ledger: &impl Ledger, args: &[String]) -> Response {
    if args.len() != 1 {
        return Response::error(
            "Incorrect number of arguments. Expecting name of the person to query",
        );
    }
    let a = &args[0];
    match ledger.get(a).await {
        Err(_) => Response::error(format!("{{\"Error\":\"Failed to get state for {a}\"}}")),
        Ok(None) => Response::error(format!("{{\"Error\":\"Nil amount for {a}\"}}")),
        Ok(Some(value)) => {
            let amount = String::from_utf8_lossy(&value);
            println!("Query Response:{{\"Name\":\"{a}\",\"Amount\":\"{amount}\"}}");
            Response::success(value)
        }
    }
}

#[cfg(test)]
mod tests;
