//! Waiting for concurrent work as a named condition: a [`Gate`] opens once enough
//! arrivals have passed it.

use std::sync::atomic::{AtomicUsize, Ordering};

/// A point concurrent work waits at until `count` arrivals have opened it, or one of them
/// failed (then the waiters stop; that failure's error is the one reported).
pub struct Gate {
    left: AtomicUsize,
    state: tokio::sync::watch::Sender<GateState>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GateState {
    Waiting,
    Open,
    Failed,
}

impl Gate {
    pub fn after(count: usize) -> Gate {
        Gate {
            left: AtomicUsize::new(count),
            state: tokio::sync::watch::channel(GateState::Waiting).0,
        }
    }

    /// One arrival; the last opens the gate unless it failed.
    pub fn arrive(&self) {
        if self.left.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.state.send_if_modified(|s| {
                let waiting = *s == GateState::Waiting;
                if waiting {
                    *s = GateState::Open;
                }
                waiting
            });
        }
    }

    pub fn fail(&self) {
        self.state.send_replace(GateState::Failed);
    }

    /// Waits until the gate opens (true) or fails (false).
    pub async fn passed(&self) -> bool {
        let state = self
            .state
            .subscribe()
            .wait_for(|s| *s != GateState::Waiting)
            .await
            .map(|s| *s);
        matches!(state, Ok(GateState::Open))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_gate_opens_after_its_count_and_a_failure_stops_its_waiters() {
        let gate = Gate::after(2);
        gate.arrive();
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), gate.passed());
        assert!(
            waiting.await.is_err(),
            "one arrival of two does not open it"
        );
        gate.arrive();
        assert!(gate.passed().await);
        let failed = Gate::after(1);
        failed.fail();
        failed.arrive();
        assert!(!failed.passed().await);
    }
}
