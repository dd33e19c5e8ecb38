//! A test chaincode exposing each Stub call, and helpers to drive it.

use fabx_shim::proto::queryresult::Kv;
use fabx_shim::proto::QueryResultBytes;
use fabx_shim::{Chaincode, KeyValue, Response, ShimError, Stub};
use prost::Message;

use super::{raw_peer, serve_plain, PlainServer, RawPeer};

/// Exposes each Stub call as a function; results are rendered as text.
pub struct ApiCc;

impl Chaincode for ApiCc {
    async fn init(&self, _stub: &Stub) -> Response {
        Response::success(Vec::new())
    }

    async fn invoke(&self, stub: &Stub) -> Response {
        let (function, p) = stub.function_and_parameters();
        let p: Vec<&str> = p.iter().map(String::as_str).collect();
        let none = || b"<none>".to_vec();
        let result: Result<Vec<u8>, ShimError> = async {
            Ok(match (function.as_str(), p.as_slice()) {
                ("put", [k, v]) => stub.put_state(k, *v).await.map(|_| none())?,
                ("putck", [object_type, a1, a2, v]) => {
                    let key = stub.create_composite_key(object_type, &[a1, a2])?;
                    stub.put_state(&key, *v).await.map(|_| none())?
                }
                ("putpriv", [c, k, v]) => stub.put_private_data(c, k, *v).await.map(|_| none())?,
                ("getpriv", [c, k]) => stub.get_private_data(c, k).await?.unwrap_or_else(none),
                ("delpriv", [c, k]) => stub.del_private_data(c, k).await.map(|_| none())?,
                ("privhash", [c, k]) => {
                    stub.get_private_data_hash(c, k).await?.unwrap_or_else(none)
                }
                ("range", [s, e]) => render(&stub.get_state_by_range(s, e).await?),
                ("page", [s, e, n, bookmark]) => {
                    let page = stub
                        .get_state_by_range_with_pagination(s, e, n.parse().unwrap(), bookmark)
                        .await?;
                    let mut text = render(&page.records);
                    text.extend(
                        format!("|{}|{}", page.fetched_records_count, page.bookmark).bytes(),
                    );
                    text
                }
                ("rich", [query]) => render(&stub.get_query_result(query).await?),
                ("richpage", [query, n, bookmark]) => {
                    let page = stub
                        .get_query_result_with_pagination(query, n.parse().unwrap(), bookmark)
                        .await?;
                    let mut text = render(&page.records);
                    text.extend(
                        format!("|{}|{}", page.fetched_records_count, page.bookmark).bytes(),
                    );
                    text
                }
                ("richpriv", [c, query]) => {
                    render(&stub.get_private_data_query_result(c, query).await?)
                }
                ("partial", [object_type, attributes @ ..]) => {
                    let records = stub
                        .get_state_by_partial_composite_key(object_type, attributes)
                        .await?;
                    let mut parts = Vec::new();
                    for kv in records {
                        let (t, attrs) = stub.split_composite_key(&kv.key)?;
                        let value = String::from_utf8_lossy(&kv.value);
                        parts.push(format!("{t}:{}={value}", attrs.join(",")));
                    }
                    parts.join(";").into_bytes()
                }
                ("whoami", []) => {
                    let mut transient: Vec<_> = stub
                        .transient()
                        .iter()
                        .map(|(k, v)| format!("{k}={}", String::from_utf8_lossy(v)))
                        .collect();
                    transient.sort();
                    format!("{} {}", stub.creator_msp_id()?, transient.join(",")).into_bytes()
                }
                ("creator", []) => stub.creator().to_vec(),
                ("event", [name, payload]) => {
                    stub.set_event(name, payload.as_bytes().to_vec())?;
                    none()
                }
                _ => return Err(ShimError::InvalidArgument(format!("bad call {function}"))),
            })
        }
        .await;
        result.map_or_else(|e| Response::error(e.to_string()), Response::success)
    }
}

/// `namespace/key=value` records joined by `;`.
pub fn render(records: &[KeyValue]) -> Vec<u8> {
    let parts: Vec<String> = records
        .iter()
        .map(|kv| {
            let value = String::from_utf8_lossy(&kv.value);
            format!("{}/{}={value}", kv.namespace, kv.key.escape_debug())
        })
        .collect();
    parts.join(";").into_bytes()
}

/// An encoded queryresult.KV of namespace `cc`.
pub fn kv(key: &str, value: &str) -> QueryResultBytes {
    let kv = Kv {
        namespace: "cc".into(),
        key: key.into(),
        value: value.into(),
    };
    QueryResultBytes {
        result_bytes: kv.encode_to_vec(),
    }
}

/// A server running ApiCc and a RawPeer past the handshake.
pub async fn setup() -> (PlainServer, RawPeer) {
    let server = serve_plain(ApiCc).await;
    let peer = raw_peer(&server).await;
    (server, peer)
}

/// Expects COMPLETED for `txid` with status 200 and returns the payload as text.
pub async fn ok(peer: &mut RawPeer, txid: &str) -> String {
    let r = peer.completed(txid).await;
    assert_eq!(r.status, 200, "{}", r.message);
    String::from_utf8(r.payload).unwrap()
}

/// Expects COMPLETED for `txid` with status 500 and returns the message.
pub async fn failed(peer: &mut RawPeer, txid: &str) -> String {
    let r = peer.completed(txid).await;
    assert_eq!(
        r.status,
        500,
        "payload {:?}",
        String::from_utf8_lossy(&r.payload)
    );
    r.message
}
