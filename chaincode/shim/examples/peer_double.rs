//! A peer double: connects to a CCaaS chaincode like a Fabric peer and runs
//! transactions against an in-memory world state. Used by fabx's Docker tests
//! (built statically and run in a FROM scratch container).
//!
//! Usage: peer_double URL STEP [-- STEP]...
//!   URL   http://host:port of the chaincode server
//!   STEP  `init ARG...` sends INIT, anything else a TRANSACTION (function first)
//! Exit status: 0 if every step returned status 200, 1 otherwise, 2 on usage or
//! connection errors.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use fabx_shim::mock_peer::MockPeer;
use tonic::transport::Endpoint;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((url, steps)) = args.split_first().filter(|(_, s)| !s.is_empty()) else {
        eprintln!("usage: peer_double URL STEP [-- STEP]...");
        return ExitCode::from(2);
    };
    let peer = match connect(url).await {
        Ok(peer) => peer,
        Err(e) => {
            eprintln!("peer_double: cannot connect to {url}: {e}");
            return ExitCode::from(2);
        }
    };
    println!("registered: {}", peer.chaincode_name());
    let mut ok = true;
    for (n, step) in steps.split(|a| a == "--").enumerate() {
        let args: Vec<&str> = step.iter().map(String::as_str).collect();
        let txid = format!("tx{n}");
        let result = match args.first() {
            Some(&"init") => peer.init("mychannel", &txid, &args).await,
            _ => peer.invoke("mychannel", &txid, &args).await,
        };
        let line = args.join(" ");
        match result {
            Ok(r) => {
                ok &= !r.is_error();
                let payload = String::from_utf8_lossy(&r.payload);
                println!(
                    "{line}: status={} message={:?} payload={payload}",
                    r.status, r.message
                );
            }
            Err(e) => {
                ok = false;
                println!("{line}: ERROR {e}");
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Retries for a while: the chaincode container may still be starting.
async fn connect(url: &str) -> Result<MockPeer, Box<dyn std::error::Error>> {
    let endpoint = Endpoint::from_shared(url.to_string())?.connect_timeout(Duration::from_secs(5));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let attempt = async {
            Ok::<_, Box<dyn std::error::Error>>(MockPeer::connect(endpoint.connect().await?).await?)
        };
        match attempt.await {
            Ok(peer) => return Ok(peer),
            Err(e) if Instant::now() < deadline => {
                eprintln!("peer_double: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Err(e) => return Err(e),
        }
    }
}
