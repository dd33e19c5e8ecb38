//! What the benchmarks share: a reporter that collects step times, and their statistics.
#![allow(dead_code)] // each benchmark uses part of it

use fabx::reporter::{Reporter, StepEnd, StepId};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Collects every step's duration.
#[derive(Default)]
pub struct StepTimes(pub Mutex<BTreeMap<String, Vec<Duration>>>);

impl Reporter for StepTimes {
    fn step_finished(&self, _id: StepId, step: &str, end: &StepEnd) {
        let mut times = self.0.lock().expect("no panics while locked");
        times
            .entry(step.to_string())
            .or_default()
            .push(end.duration);
    }
}

/// Median, minimum and maximum of samples in seconds.
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

pub fn stats(samples: &[f64]) -> Stats {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    let median = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    Stats {
        median,
        min: s[0],
        max: s[n - 1],
    }
}

/// Durations as seconds.
pub fn secs(samples: &[Duration]) -> Vec<f64> {
    samples.iter().map(Duration::as_secs_f64).collect()
}

/// The value after `flag` on the benchmark's command line (`-- --edits 5`).
pub fn flag(flag: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .cloned()
}
