//! Progress reporting. The library names its steps and reports them here; how they are
//! drawn (progress bars, JSON lines, nothing) is the caller's business.

use std::future::Future;
use std::time::{Duration, Instant};

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

pub trait Reporter: Send + Sync {
    fn step_started(&self, _step: &str) {}
    /// A line of detail while a step runs (pull progress, build log).
    fn step_detail(&self, _step: &str, _line: &str) {}
    fn step_finished(&self, _step: &str, _end: &StepEnd) {}
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
    reporter.step_started(name);
    let started = Instant::now();
    let result = work.await;
    let (status, message) = match &result {
        Ok(_) => (StepStatus::Ok, None),
        Err(e) => (
            StepStatus::Failed,
            Some(e.to_string().lines().next().unwrap_or_default().to_string()),
        ),
    };
    reporter.step_finished(
        name,
        &StepEnd {
            status,
            duration: started.elapsed(),
            message,
        },
    );
    result
}

/// Reports a step that was not needed.
pub fn skipped(reporter: &dyn Reporter, name: &str, why: &str) {
    reporter.step_started(name);
    reporter.step_finished(
        name,
        &StepEnd {
            status: StepStatus::Skipped,
            duration: Duration::ZERO,
            message: Some(why.to_string()),
        },
    );
}
