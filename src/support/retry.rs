//! The one retry of fabx: an operation is run again, with backoff inside a wall-clock
//! bound, while its failure is transient. What counts as transient is the caller's rule
//! (for Fabric, [`fabx_fabric::FabricError::is_transient`] and
//! [`fabx_fabric::transient::classify`]); how long and how often is [`Backoff`]'s.

use std::future::Future;
use std::time::{Duration, Instant};

/// Runs `op` until it succeeds, fails in a way `is_transient` calls permanent, or the
/// bound of `backoff` is spent; then returns its last result.
pub async fn retry<T, E, Fut>(
    mut backoff: Backoff,
    mut is_transient: impl FnMut(&E) -> bool,
    mut op: impl FnMut() -> Fut,
) -> Result<T, E>
where
    Fut: Future<Output = Result<T, E>>,
{
    loop {
        match op().await {
            Ok(value) => return Ok(value),
            Err(e) if is_transient(&e) && backoff.wait().await => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A failure as the operation itself judged it, for operations whose judgement needs a
/// look around first (is the server it dialled running?).
#[derive(Debug)]
pub enum Judged<E> {
    Transient(E),
    Permanent(E),
}

impl<E> Judged<E> {
    pub fn into_inner(self) -> E {
        match self {
            Judged::Transient(e) | Judged::Permanent(e) => e,
        }
    }
}

/// [`retry`] for an operation that judges its own failures.
pub async fn retry_judged<T, E, Fut>(backoff: Backoff, op: impl FnMut() -> Fut) -> Result<T, E>
where
    Fut: Future<Output = Result<T, Judged<E>>>,
{
    retry(backoff, |e| matches!(e, Judged::Transient(_)), op)
        .await
        .map_err(Judged::into_inner)
}

/// What a check of a condition found: met (with what it yields), or not yet (with what
/// is still missing, for the error when the bound passes).
#[derive(Debug, PartialEq, Eq)]
pub enum Poll<T, N> {
    Ready(T),
    NotYet(N),
}

/// Checks a condition until it is met, within `backoff`'s bound: a waiting condition on
/// top of the one retry. Returns the last [`Poll::NotYet`] when the bound passed first;
/// a failed check ends the wait at once.
pub async fn poll_until<T, N, E, Fut>(
    backoff: Backoff,
    mut check: impl FnMut() -> Fut,
) -> Result<Poll<T, N>, E>
where
    Fut: Future<Output = Result<Poll<T, N>, E>>,
{
    let outcome = retry_judged(backoff, || {
        let checked = check();
        async move {
            match checked.await {
                Ok(Poll::Ready(value)) => Ok(value),
                Ok(Poll::NotYet(missing)) => Err(Judged::Transient(Ok(missing))),
                Err(e) => Err(Judged::Permanent(Err(e))),
            }
        }
    })
    .await;
    match outcome {
        Ok(value) => Ok(Poll::Ready(value)),
        Err(Ok(missing)) => Ok(Poll::NotYet(missing)),
        Err(Err(e)) => Err(e),
    }
}

/// Exponential backoff inside a fixed bound: 100 ms, doubling, at most 2 s a pause.
#[derive(Debug)]
pub struct Backoff {
    deadline: Instant,
    next: Duration,
    longest: Duration,
}

/// How long a command keeps being retried while it fails transiently. Long enough for a
/// busy machine (a peer that logged "Started" may need seconds to accept connections,
/// Raft needs a few ticks after an orderer is lost), short enough that a real outage is
/// reported while the user still waits.
pub const RETRY_BOUND: Duration = Duration::from_secs(60);

impl Backoff {
    pub fn new(bound: Duration) -> Backoff {
        Backoff {
            deadline: Instant::now() + bound,
            next: Duration::from_millis(100),
            longest: Duration::from_secs(2),
        }
    }

    /// For asking a peer's discovery service whether a state was reached (gossip
    /// membership, an endorsement plan) over gRPC: the answer is cheap and usually near
    /// (not for polls that start a CLI in a container: each costs CPU), so the
    /// pauses start at 20 ms and stay at 100 ms at most (an answer takes a few ms).
    pub fn polling(bound: Duration) -> Backoff {
        Backoff {
            deadline: Instant::now() + bound,
            next: Duration::from_millis(20),
            longest: Duration::from_millis(100),
        }
    }

    /// The pause before the next try, or None when the bound is spent.
    pub fn pause(&mut self) -> Option<Duration> {
        let left = self.deadline.checked_duration_since(Instant::now())?;
        if left.is_zero() {
            return None;
        }
        let pause = self.next.min(left);
        self.next = (self.next * 2).min(self.longest);
        Some(pause)
    }

    /// Sleeps the next pause; false (at once) when the bound is spent.
    pub async fn wait(&mut self) -> bool {
        match self.pause() {
            Some(pause) => {
                tokio::time::sleep(pause).await;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[tokio::test]
    async fn transient_failures_are_retried_until_success_and_permanent_ones_end_it() {
        let tries = Cell::new(0);
        let result: Result<u32, &str> = retry(
            Backoff::polling(Duration::from_secs(5)),
            |e| *e == "busy",
            || {
                tries.set(tries.get() + 1);
                async {
                    if tries.get() < 3 {
                        Err("busy")
                    } else {
                        Ok(7)
                    }
                }
            },
        )
        .await;
        assert_eq!((result, tries.get()), (Ok(7), 3));
        tries.set(0);
        let result: Result<u32, &str> = retry(
            Backoff::polling(Duration::from_secs(5)),
            |e| *e == "busy",
            || {
                tries.set(tries.get() + 1);
                async { Err("broken") }
            },
        )
        .await;
        assert_eq!((result, tries.get()), (Err("broken"), 1));
    }

    #[tokio::test]
    async fn the_last_failure_is_returned_when_the_bound_is_spent() {
        let tries = Cell::new(0);
        let result: Result<(), String> =
            retry_judged(Backoff::polling(Duration::from_millis(100)), || {
                tries.set(tries.get() + 1);
                let n = tries.get();
                async move { Err(Judged::Transient(format!("try {n}"))) }
            })
            .await;
        assert!(tries.get() > 1);
        assert_eq!(result, Err(format!("try {}", tries.get())));
    }

    #[tokio::test]
    async fn a_poll_ends_when_the_condition_holds_or_with_what_was_last_missing() {
        let checks = Cell::new(0);
        let met: Result<Poll<u32, u32>, ()> =
            poll_until(Backoff::polling(Duration::from_secs(5)), || {
                checks.set(checks.get() + 1);
                let n = checks.get();
                async move {
                    Ok(if n == 3 {
                        Poll::Ready(n)
                    } else {
                        Poll::NotYet(n)
                    })
                }
            })
            .await;
        assert_eq!(met, Ok(Poll::Ready(3)));
        let never: Result<Poll<(), &str>, ()> =
            poll_until(Backoff::polling(Duration::from_millis(60)), || async {
                Ok(Poll::NotYet("org2"))
            })
            .await;
        assert_eq!(never, Ok(Poll::NotYet("org2")));
        let failed: Result<Poll<(), ()>, &str> =
            poll_until(Backoff::polling(Duration::from_secs(5)), || async {
                Err("gone")
            })
            .await;
        assert_eq!(failed, Err("gone"));
    }

    #[test]
    fn backoff_doubles_and_stops_at_its_bound() {
        let mut backoff = Backoff::new(Duration::from_secs(60));
        let pauses: Vec<_> = (0..7).map(|_| backoff.pause().unwrap()).collect();
        assert_eq!(pauses[0], Duration::from_millis(100));
        assert_eq!(pauses[1], Duration::from_millis(200));
        assert_eq!(pauses[5], Duration::from_secs(2));
        assert_eq!(pauses[6], Duration::from_secs(2));
        let mut polling = Backoff::polling(Duration::from_secs(60));
        let pauses: Vec<Duration> = (0..6).map(|_| polling.pause().unwrap()).collect();
        assert_eq!(pauses[0], Duration::from_millis(20));
        assert_eq!(pauses[2], Duration::from_millis(80));
        assert_eq!(pauses[3], Duration::from_millis(100));
        assert_eq!(pauses[5], Duration::from_millis(100));
        let mut spent = Backoff::new(Duration::ZERO);
        assert_eq!(spent.pause(), None);
    }
}
