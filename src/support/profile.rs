//! Where a command's time goes (`--profile`): every Docker API call, command run inside a
//! container, log wait, orderer admin request and discovery request is timed and
//! attributed to the step it ran in. Off unless enabled; then each call costs a clock read
//! and a short lock.

use crate::support::reporter::StepId;
use serde::Serialize;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

tokio::task_local! {
    static STEP: StepId;
}

static ENABLED: AtomicBool = AtomicBool::new(false);
static RECORD: Mutex<Option<Record>> = Mutex::new(None);

struct Record {
    origin: Instant,
    steps: Vec<StepTiming>,
    calls: Vec<CallTiming>,
}

/// A step: when it started (from [`enable`]) and how long it took.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StepTiming {
    pub id: u64,
    pub name: String,
    pub start: Duration,
    pub duration: Duration,
}

/// One call inside a step (`step` is None for calls outside any step).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CallTiming {
    pub step: Option<u64>,
    pub what: String,
    pub start: Duration,
    pub duration: Duration,
}

/// What was recorded since [`enable`].
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Profile {
    pub steps: Vec<StepTiming>,
    pub calls: Vec<CallTiming>,
}

/// Starts recording (the CLI's `--profile`, a benchmark).
pub fn enable() {
    *RECORD.lock().expect("profile lock") = Some(Record {
        origin: Instant::now(),
        steps: Vec::new(),
        calls: Vec::new(),
    });
    ENABLED.store(true, Ordering::SeqCst);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Everything recorded so far, sorted by start; recording goes on, empty.
pub fn take() -> Profile {
    let mut guard = RECORD.lock().expect("profile lock");
    let Some(record) = guard.as_mut() else {
        return Profile::default();
    };
    let mut profile = Profile {
        steps: std::mem::take(&mut record.steps),
        calls: std::mem::take(&mut record.calls),
    };
    profile.steps.sort_by_key(|s| s.start);
    profile.calls.sort_by_key(|c| c.start);
    profile
}

/// The one step timer: runs a step's work with the step as the owner of the calls it
/// makes, and returns how long it took (for progress, and for `--profile` when
/// recording). The work is boxed: steps nest (deploy's branches, up's nodes), and
/// without a box every level would add its whole state to the caller's future, which in
/// a debug build overflows a test thread's stack.
pub(crate) async fn in_step<T>(
    id: StepId,
    name: &str,
    work: impl Future<Output = T>,
) -> (T, Duration) {
    let started = Instant::now();
    if !enabled() {
        let output = Box::pin(work).await;
        return (output, started.elapsed());
    }
    let output = Box::pin(STEP.scope(id, work)).await;
    let duration = started.elapsed();
    push(|record| {
        record.steps.push(StepTiming {
            id: id.value(),
            name: name.to_string(),
            start: started.duration_since(record.origin),
            duration,
        })
    });
    (output, duration)
}

/// Times one call; `what` is only rendered when recording.
pub(crate) async fn timed<T>(what: impl FnOnce() -> String, call: impl Future<Output = T>) -> T {
    if !enabled() {
        return call.await;
    }
    let started = Instant::now();
    let output = call.await;
    let step = STEP.try_with(|id| id.value()).ok();
    let what = what();
    push(|record| {
        record.calls.push(CallTiming {
            step,
            what,
            start: started.duration_since(record.origin),
            duration: started.elapsed(),
        })
    });
    output
}

fn push(add: impl FnOnce(&mut Record)) {
    if let Some(record) = RECORD.lock().expect("profile lock").as_mut() {
        add(record);
    }
}

/// A command line shortened for a profile line.
pub(crate) fn short(args: &[String]) -> String {
    let line = args.join(" ");
    match line.char_indices().nth(110) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::reporter::{step, Silent};

    #[tokio::test]
    async fn calls_belong_to_the_step_they_ran_in() {
        enable();
        let sleep = |ms| tokio::time::sleep(Duration::from_millis(ms));
        let (a, b) = tokio::join!(
            step(&Silent, "first", async {
                timed(|| "call a".into(), sleep(20)).await;
                Ok::<_, String>(())
            }),
            step(&Silent, "second", async {
                timed(|| "call b".into(), sleep(5)).await;
                timed(|| "call c".into(), sleep(5)).await;
                Ok::<_, String>(())
            }),
        );
        a.unwrap();
        b.unwrap();
        timed(|| "outside".into(), sleep(1)).await;
        let profile = take();
        let step_of = |name: &str| profile.steps.iter().find(|s| s.name == name).unwrap().id;
        let calls_of = |id: u64| -> Vec<&str> {
            profile
                .calls
                .iter()
                .filter(|c| c.step == Some(id))
                .map(|c| c.what.as_str())
                .collect()
        };
        assert_eq!(calls_of(step_of("first")), ["call a"]);
        assert_eq!(calls_of(step_of("second")), ["call b", "call c"]);
        let outside = profile.calls.iter().find(|c| c.what == "outside").unwrap();
        assert_eq!(outside.step, None);
        let a = profile.calls.iter().find(|c| c.what == "call a").unwrap();
        assert!(a.duration >= Duration::from_millis(20), "{a:?}");
        assert!(take().calls.is_empty(), "take empties the record");
    }
}
