//! `fabx ui`: a page served by fabx itself, on one local port, its assets in the binary:
//! the network (nodes, state, addresses, heights, committed chaincodes and their
//! servers), each channel's blocks as they are committed, and a transaction decoded
//! whole. No database and no CDN: the page asks this server, and this server asks the
//! network through [`Network`] as the commands do.
//!
//! The page gets one stream of server-sent events (`/api/events`): `status` whenever
//! the network's status changes, and per channel `reset` then one `block` per block from
//! the first, again after each reconnection (a network that went `down` and came `up`
//! again has a new ledger). A transaction's detail is `/api/tx/{channel}/{id}`.

mod events;
mod routes;

use crate::network::Network;
use std::future::Future;
use std::sync::Arc;

/// Serves the page on `listener` until `shutdown` resolves.
pub async fn serve(
    network: Network,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = routes::router(Arc::new(network));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
