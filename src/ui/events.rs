//! `/api/events`: the network's status whenever it changes, and every channel's blocks,
//! as server-sent events. One task per concern per page; they end when the page goes.

use crate::network::Network;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use fabx_fabric::ledger::TxSummary;
use futures_util::Stream;
use serde::Serialize;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// How often the status is read again: `up`, `deploy`, `stop` and `down` show within it.
const STATUS_EVERY: Duration = Duration::from_secs(1);
/// How long one status read may take. A read that began while the network was being
/// torn down can wait on connections to nodes that are gone; it is dropped and started
/// again rather than keeping the page on what was.
const STATUS_BOUND: Duration = Duration::from_secs(5);
/// How soon a channel's block stream is opened again after it ended (the network went
/// away, or is not up yet).
const REOPEN_AFTER: Duration = Duration::from_secs(1);

#[derive(Serialize)]
struct BlockEvent<'a> {
    channel: &'a str,
    number: u64,
    transactions: Vec<TxSummary>,
}

#[derive(Serialize)]
struct ChannelNote<'a> {
    channel: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub async fn stream(
    State(network): State<Arc<Network>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (sender, receiver) = mpsc::channel(256);
    let mut tasks = JoinSet::new();
    tasks.spawn(statuses(network.clone(), sender.clone()));
    for channel in network.topology.channels() {
        tasks.spawn(blocks(network.clone(), channel.name, sender.clone()));
    }
    // The tasks live as long as the stream: dropping it (the page left) aborts them.
    let events = futures_util::stream::unfold((receiver, tasks), |(mut receiver, tasks)| async {
        let event = receiver.recv().await?;
        Some((Ok(event), (receiver, tasks)))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

fn event(name: &str, data: &impl Serialize) -> Event {
    let json = serde_json::to_string(data).expect("plain data serializes");
    Event::default().event(name).data(json)
}

async fn statuses(network: Arc<Network>, sender: mpsc::Sender<Event>) {
    let mut last = String::new();
    loop {
        let json = match tokio::time::timeout(STATUS_BOUND, network.status()).await {
            Ok(Ok(status)) => serde_json::to_value(status).expect("plain data serializes"),
            Ok(Err(e)) => serde_json::json!({ "error": e.to_string() }),
            Err(_) => continue,
        };
        let text = json.to_string();
        if text != last {
            if sender.send(event("status", &json)).await.is_err() {
                return;
            }
            last = text;
        }
        tokio::time::sleep(STATUS_EVERY).await;
    }
}

/// Why a channel's block stream ended.
enum Ended {
    /// The page went away: stop.
    PageGone,
    /// The network could not be read: say so and open the stream again.
    Unavailable(String),
}

/// `reset`, then every block of `channel` from the first as the peer delivers them;
/// when the stream ends, `unavailable` with why (once per reason), and again.
async fn blocks(network: Arc<Network>, channel: String, sender: mpsc::Sender<Event>) {
    let mut last_error = None;
    loop {
        let error = match follow(&network, &channel, &sender).await {
            Ended::PageGone => return,
            Ended::Unavailable(error) => error,
        };
        if last_error.as_ref() != Some(&error) {
            let note = ChannelNote {
                channel: &channel,
                error: Some(error.clone()),
            };
            if sender.send(event("unavailable", &note)).await.is_err() {
                return;
            }
            last_error = Some(error);
        }
        tokio::time::sleep(REOPEN_AFTER).await;
        if sender.is_closed() {
            return;
        }
    }
}

/// Sends `reset` and then each block of `channel` until the stream or the page ends.
async fn follow(network: &Network, channel: &str, sender: &mpsc::Sender<Event>) -> Ended {
    let mut blocks = match network.blocks(Some(channel), 0, true).await {
        Ok(blocks) => blocks,
        Err(e) => return Ended::Unavailable(e.to_string()),
    };
    let reset = ChannelNote {
        channel,
        error: None,
    };
    if sender.send(event("reset", &reset)).await.is_err() {
        return Ended::PageGone;
    }
    loop {
        let block = match blocks.next().await {
            Ok(Some(block)) => block,
            Ok(None) => return Ended::Unavailable("the peer ended the block stream".into()),
            Err(e) => return Ended::Unavailable(e.to_string()),
        };
        let data = BlockEvent {
            channel,
            number: block.number,
            transactions: block.transactions.iter().map(|tx| tx.summary()).collect(),
        };
        if sender.send(event("block", &data)).await.is_err() {
            return Ended::PageGone;
        }
    }
}
