//! Waiting as named conditions, never fixed sleeps: a line a container prints
//! ([`LogCondition`]), or a server that accepts connections from where its client runs
//! ([`Reachable`]). Polled Fabric queries use [`crate::support::retry::Backoff`] in the same way.
//!
//! Each wait is bounded; on timeout or when the container stops first, the error names
//! the container and the condition and carries its last log lines.

use crate::engine::Engine;
use futures_util::StreamExt;
use std::time::Duration;

/// A line a container prints once it has reached a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogCondition {
    /// What the condition means, for messages ("orderer ready").
    pub name: &'static str,
    /// Text the line contains.
    pub needle: &'static str,
}

/// An orderer accepts connections (and its admin endpoint answers).
pub const ORDERER_READY: LogCondition = LogCondition {
    name: "serving requests",
    needle: "Beginning to serve requests",
};
/// A peer has started and serves gRPC.
pub const PEER_READY: LogCondition = LogCondition {
    name: "peer started",
    needle: "Started peer with ID",
};
/// fabx's chaincode shim listens where the peers dial it (it says so once bound; the
/// address is the one fabx gives its servers, `CHAINCODE_SERVER_ADDRESS`).
pub const SHIM_LISTENING: LogCondition = LogCondition {
    name: "chaincode listening",
    needle: "listening on 0.0.0.0:9999 (",
};
/// Raft has a leader for a channel this orderer joined.
pub const RAFT_LEADER: LogCondition = LogCondition {
    name: "raft leader elected",
    needle: "Raft leader changed",
};

/// SmartBFT has started its view on a channel this orderer joined.
pub const BFT_VIEW: LogCondition = LogCondition {
    name: "BFT view started",
    needle: "Starting view with number",
};

/// What an orderer logs once its consensus works on a channel.
pub fn consensus_ready(consensus: crate::topology::Consensus) -> LogCondition {
    match consensus {
        crate::topology::Consensus::Etcdraft => RAFT_LEADER,
        crate::topology::Consensus::Bft => BFT_VIEW,
    }
}

/// A server that accepts TCP connections, probed from inside the container that will
/// dial it, so the probe takes the very path (DNS name, Docker network) the client will.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reachable {
    /// The container the probe runs in (it needs bash, as the Fabric images have).
    pub from: String,
    pub host: String,
    pub port: u16,
}

/// True once `target` accepts a connection, false when `timeout` passed first. The
/// whole wait is one exec: a connection attempt every 50 ms inside the container.
pub async fn await_reachable(
    engine: &dyn Engine,
    target: &Reachable,
    timeout: Duration,
) -> crate::engine::Result<bool> {
    let tries = timeout.as_millis() / 50;
    let script = format!(
        "i=0; while [ $i -lt {tries} ]; do (exec 3<>/dev/tcp/{}/{}) 2>/dev/null && exit 0; i=$((i+1)); sleep 0.05; done; exit 1",
        target.host, target.port
    );
    let command = ["bash".to_string(), "-c".to_string(), script];
    Ok(engine.exec(&target.from, &command, &[]).await?.success())
}

/// A server in a container that answers an HTTP GET with a body containing `needle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpCondition {
    /// What the condition means, for messages.
    pub name: &'static str,
    pub port: u16,
    pub path: &'static str,
    pub needle: &'static str,
}

/// CouchDB is up: `GET /_up` (which needs no credentials) says so.
pub const COUCHDB_UP: HttpCondition = HttpCondition {
    name: "CouchDB up",
    port: crate::topology::ports::COUCHDB,
    path: "/_up",
    needle: r#""status":"ok""#,
};

/// Waits until `condition` holds in `container`, asked from inside it every 100 ms
/// (bash's /dev/tcp: the image needs bash, no curl), at most `timeout`. The whole wait is
/// one exec; a container that stops first fails at once with its last log lines.
pub async fn await_http(
    engine: &dyn Engine,
    container: &str,
    condition: HttpCondition,
    timeout: Duration,
) -> Result<(), WaitError> {
    let tries = (timeout.as_millis() / 100).max(1);
    let script = format!(
        r#"i=0; while [ $i -lt {tries} ]; do
  r=$( (exec 3<>/dev/tcp/127.0.0.1/{port} && printf 'GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3 && cat <&3) 2>/dev/null )
  case "$r" in *'{needle}'*) exit 0;; esac
  i=$((i+1)); sleep 0.1
done
printf '%s' "$r"; exit {GAVE_UP}"#,
        port = condition.port,
        path = condition.path,
        needle = condition.needle,
    );
    let command = ["bash".to_string(), "-c".to_string(), script];
    let asked = crate::support::profile::timed(
        || format!("wait for {} in {container}", condition.name),
        engine.exec(container, &command, &[]),
    )
    .await;
    let (last, gave_up) = match asked {
        Ok(out) if out.success() => return Ok(()),
        Ok(out) => (
            out.stdout.lines().next().unwrap_or("no answer").to_string(),
            out.exit_code == GAVE_UP,
        ),
        Err(e) => (e.to_string(), false),
    };
    if !gave_up {
        // The wait was cut short: a container whose process ends takes the exec with it,
        // and Docker may still call it running for a moment; let it settle (bounded).
        let _ = tokio::time::timeout(SETTLE, engine.await_exit(container)).await;
    }
    let state = engine.state(container).await.ok().flatten();
    let tail = tail(engine, container).await;
    let container = engine.describe(container).await;
    match state.as_deref() {
        Some("running") => Err(WaitError::NoAnswer {
            container,
            condition: condition.name,
            path: condition.path,
            timeout,
            last,
            tail,
        }),
        other => Err(WaitError::Stopped {
            container,
            condition: condition.name,
            state: other.unwrap_or("removed").to_string(),
            tail,
        }),
    }
}

/// The exit code of [`await_http`]'s script when it asked `timeout` long, in vain.
const GAVE_UP: i64 = 3;
/// How long a container whose wait was cut short may take to be reported stopped.
const SETTLE: Duration = Duration::from_secs(5);

/// How many log lines an error carries.
const TAIL_LINES: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error("{container} did not reach '{condition}' within {}s (waiting for a log line containing {needle:?}); its last log lines:\n{tail}", .timeout.as_secs())]
    Timeout {
        container: String,
        condition: &'static str,
        needle: &'static str,
        timeout: Duration,
        tail: String,
    },
    #[error("{container} stopped before reaching '{condition}' (state: {state}); its last log lines:\n{tail}")]
    Stopped {
        container: String,
        condition: &'static str,
        state: String,
        tail: String,
    },
    #[error("{container} did not reach '{condition}' within {}s (GET {path} last answered: {last}); its last log lines:\n{tail}", .timeout.as_secs())]
    NoAnswer {
        container: String,
        condition: &'static str,
        path: &'static str,
        timeout: Duration,
        last: String,
        tail: String,
    },
    #[error("cannot follow the logs of {container}: {reason}")]
    Logs { container: String, reason: String },
}

/// Waits until `container` prints a line matching `condition`, at most `timeout`.
/// Lines printed before the call count too.
pub async fn await_log(
    engine: &dyn Engine,
    container: &str,
    condition: LogCondition,
    timeout: Duration,
) -> Result<(), WaitError> {
    await_log_after(engine, container, condition, 0, timeout).await
}

/// Like [`await_log`], for a container that printed the line `seen` times in an earlier
/// run (a restarted node logs what it logged before, then its new lines).
pub async fn await_log_after(
    engine: &dyn Engine,
    container: &str,
    condition: LogCondition,
    seen: usize,
    timeout: Duration,
) -> Result<(), WaitError> {
    let found = crate::support::profile::timed(
        || format!("wait for log {:?} in {container}", condition.needle),
        find_line(engine, container, condition.needle, seen, true),
    );
    match tokio::time::timeout(timeout, found).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(FindError::Ended)) => {
            let state = engine
                .state(container)
                .await
                .ok()
                .flatten()
                .unwrap_or_else(|| "removed".into());
            Err(WaitError::Stopped {
                container: engine.describe(container).await,
                condition: condition.name,
                state,
                tail: tail(engine, container).await,
            })
        }
        Ok(Err(FindError::Logs(reason))) => Err(WaitError::Logs {
            container: engine.describe(container).await,
            reason,
        }),
        Err(_) => Err(WaitError::Timeout {
            container: engine.describe(container).await,
            condition: condition.name,
            needle: condition.needle,
            timeout,
            tail: tail(engine, container).await,
        }),
    }
}

/// How many lines matching `condition` the container has printed so far.
pub async fn count_log_lines(
    engine: &dyn Engine,
    container: &str,
    condition: LogCondition,
) -> Result<usize, WaitError> {
    match find_line(engine, container, condition.needle, usize::MAX, false).await {
        Ok(count) => Ok(count),
        Err(FindError::Ended) => Ok(0),
        Err(FindError::Logs(reason)) => Err(WaitError::Logs {
            container: container.to_string(),
            reason,
        }),
    }
}

enum FindError {
    /// The log stream ended first (the container stopped), or, when not following, the
    /// end of the logs was reached.
    Ended,
    Logs(String),
}

/// Reads the logs line by line; returns once more than `seen` lines contain `needle`.
/// Without `follow`, returns the count at the end of the logs.
async fn find_line(
    engine: &dyn Engine,
    container: &str,
    needle: &str,
    seen: usize,
    follow: bool,
) -> Result<usize, FindError> {
    let mut stream = engine.log_stream(container, follow, None);
    // Chunks are not lines: keep the unfinished end of the last chunk.
    let mut pending = String::new();
    let mut count = 0;
    let matched = |line: &str, count: &mut usize| {
        if line.contains(needle) {
            *count += 1;
        }
        *count > seen
    };
    while let Some(chunk) = stream.next().await {
        pending.push_str(&chunk.map_err(FindError::Logs)?);
        while let Some(end) = pending.find('\n') {
            if matched(&pending[..end], &mut count) {
                return Ok(count);
            }
            pending.drain(..=end);
        }
    }
    if matched(&pending, &mut count) || !follow {
        return Ok(count);
    }
    Err(FindError::Ended)
}

async fn tail(engine: &dyn Engine, container: &str) -> String {
    match engine.logs_tail(container, TAIL_LINES).await {
        Ok(text) => indent(&text),
        Err(e) => format!("    (logs unavailable: {e})"),
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
