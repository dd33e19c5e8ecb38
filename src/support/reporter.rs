//! Progress reporting. The library names its steps and reports them here; how they are
//! drawn (progress bars, JSON lines, nothing) is the caller's business.

use std::future::Future;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Ok,
    Skipped,
    Failed,
}

/// How a step ended.
#[derive(Debug, Clone)]
pub struct StepEnd {
    pub status: StepStatus,
    pub duration: Duration,
    /// A short result ("joined channel1", "already installed") or the error.
    pub message: Option<String>,
}

/// One run of a step. Steps are told apart by this handle, not by their names, so two
/// steps of one name can run at once and a step's detail lines find their step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StepId(u64);

impl StepId {
    /// A number no other step of this process has.
    pub fn value(self) -> u64 {
        self.0
    }

    fn next() -> StepId {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        StepId(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

pub trait Reporter: Send + Sync {
    fn step_started(&self, _id: StepId, _step: &str) {}
    /// A line of detail while a step runs (pull progress, build log).
    fn step_detail(&self, _id: StepId, _line: &str) {}
    fn step_finished(&self, _id: StepId, _step: &str, _end: &StepEnd) {}
    /// `deploy --address`: the environment the user's chaincode process needs, given
    /// before fabx waits for it.
    fn chaincode_env(&self, _address: &str, _env: &[(String, String)]) {}
}

/// Reports nothing (tests, library users who don't care).
pub struct Silent;

impl Reporter for Silent {}

/// Runs `work` as the named step: reports its start, its end and its duration.
pub async fn step<T, E: std::fmt::Display>(
    reporter: &dyn Reporter,
    name: &str,
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    step_with(reporter, name, |_| work).await
}

/// Like [`step`], for work that reports detail lines: it gets the step's handle.
pub async fn step_with<T, E: std::fmt::Display, F: Future<Output = Result<T, E>>>(
    reporter: &dyn Reporter,
    name: &str,
    work: impl FnOnce(StepId) -> F,
) -> Result<T, E> {
    let id = StepId::next();
    reporter.step_started(id, name);
    let (result, duration) = crate::support::profile::in_step(id, name, work(id)).await;
    let (status, message) = match &result {
        Ok(_) => (StepStatus::Ok, None),
        Err(e) => (
            StepStatus::Failed,
            Some(e.to_string().lines().next().unwrap_or_default().to_string()),
        ),
    };
    reporter.step_finished(
        id,
        name,
        &StepEnd {
            status,
            duration,
            message,
        },
    );
    result
}

/// Reports a step that was not needed.
pub fn skipped(reporter: &dyn Reporter, name: &str, why: &str) {
    let id = StepId::next();
    reporter.step_started(id, name);
    reporter.step_finished(
        id,
        name,
        &StepEnd {
            status: StepStatus::Skipped,
            duration: Duration::ZERO,
            message: Some(why.to_string()),
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Every event as (step handle, what happened).
    #[derive(Default)]
    struct Record(Mutex<Vec<(StepId, String)>>);

    impl Reporter for Record {
        fn step_started(&self, id: StepId, step: &str) {
            self.0.lock().unwrap().push((id, format!("start {step}")));
        }
        fn step_detail(&self, id: StepId, line: &str) {
            self.0.lock().unwrap().push((id, format!("detail {line}")));
        }
        fn step_finished(&self, id: StepId, step: &str, _end: &StepEnd) {
            self.0.lock().unwrap().push((id, format!("end {step}")));
        }
    }

    #[tokio::test]
    async fn same_named_steps_at_once_are_told_apart_and_details_find_their_step() {
        let record = Record::default();
        let record = &record;
        let run = |line: &'static str| {
            step_with(record, "install", move |id| async move {
                tokio::task::yield_now().await;
                record.step_detail(id, line);
                Ok::<_, String>(())
            })
        };
        let (a, b) = tokio::join!(run("first"), run("second"));
        a.unwrap();
        b.unwrap();
        let events = record.0.lock().unwrap().clone();
        let id_of = |what: &str| events.iter().find(|(_, e)| e == what).unwrap().0;
        let (first, second) = (id_of("detail first"), id_of("detail second"));
        assert_ne!(first, second);
        for id in [first, second] {
            let of_step: Vec<&str> = events
                .iter()
                .filter(|(i, _)| *i == id)
                .map(|(_, e)| e.as_str())
                .collect();
            assert_eq!(of_step.first(), Some(&"start install"));
            assert_eq!(of_step.last(), Some(&"end install"));
            assert_eq!(of_step.len(), 3);
        }
    }
}
