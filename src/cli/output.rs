//! How reports are drawn: spinners on a terminal, plain lines otherwise, JSON lines with
//! `--json`, nothing with `--quiet`. Only this file knows indicatif.

use super::GlobalArgs;
use fabx::reporter::{Reporter, StepEnd, StepId, StepStatus};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Progress,
    Plain,
    Json,
    Quiet,
}

pub struct Output {
    mode: Mode,
    verbose: bool,
    multi: MultiProgress,
    /// Running steps: their names, and their spinners on a terminal.
    bars: Mutex<HashMap<StepId, (String, Option<ProgressBar>)>>,
}

impl Output {
    pub fn new(global: &GlobalArgs) -> Output {
        let mode = if global.json {
            Mode::Json
        } else if global.quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Progress
        } else {
            Mode::Plain
        };
        let multi = MultiProgress::with_draw_target(if mode == Mode::Progress {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        Output {
            mode,
            verbose: global.verbose,
            multi,
            bars: Mutex::new(HashMap::new()),
        }
    }

    /// `--profile`: each step with the calls it made, by start time (to stderr; one JSON
    /// object with `--json`).
    pub fn profile(&self, profile: &fabx::profile::Profile) {
        if self.mode == Mode::Json {
            println!("{}", serde_json::json!({ "profile": profile }));
            return;
        }
        let secs = |d: Duration| d.as_secs_f64();
        let mut text = String::from("profile (start, +duration):\n");
        for step in &profile.steps {
            text.push_str(&format!(
                "{:>8.3}s {:>+8.3}s  {}\n",
                secs(step.start),
                secs(step.duration),
                step.name
            ));
            for call in profile.calls.iter().filter(|c| c.step == Some(step.id)) {
                text.push_str(&format!(
                    "    {:>8.3}s {:>+8.3}s  {}\n",
                    secs(call.start),
                    secs(call.duration),
                    call.what
                ));
            }
        }
        let outside: Vec<_> = profile.calls.iter().filter(|c| c.step.is_none()).collect();
        if !outside.is_empty() {
            text.push_str("outside any step:\n");
            for call in outside {
                text.push_str(&format!(
                    "    {:>8.3}s {:>+8.3}s  {}\n",
                    secs(call.start),
                    secs(call.duration),
                    call.what
                ));
            }
        }
        eprint!("{text}");
    }

    pub fn json(&self) -> bool {
        self.mode == Mode::Json
    }

    /// Ends the step display and turns a library error into the CLI's error.
    pub fn finish_steps<T>(&self, result: fabx::Result<T>) -> anyhow::Result<T> {
        for (_, (_, bar)) in self.bars.lock().expect("no panics while locked").drain() {
            bar.inspect(ProgressBar::finish_and_clear);
        }
        Ok(result?)
    }

    /// The command's final line (or JSON object), on stdout.
    pub fn summary(&self, text: &str, json: serde_json::Value) {
        match self.mode {
            Mode::Json => println!("{json}"),
            Mode::Quiet => {}
            Mode::Progress | Mode::Plain => println!("{text}"),
        }
    }

    /// A line for the person at the terminal (stderr), beside the command's result.
    pub fn note(&self, text: &str) {
        self.line(text.to_string());
    }

    pub fn error(&self, error: &anyhow::Error) {
        if self.mode == Mode::Json {
            let summary = serde_json::json!({ "status": "failed", "error": error.to_string() });
            println!("{summary}");
        }
        eprintln!("error: {error}");
    }

    fn line(&self, text: String) {
        match self.mode {
            Mode::Progress => self.multi.println(text).unwrap_or(()),
            Mode::Plain => eprintln!("{text}"),
            Mode::Json | Mode::Quiet => {}
        }
    }
}

impl Reporter for Output {
    fn chaincode_env(&self, address: &str, env: &[(String, String)]) {
        match self.mode {
            Mode::Json => {
                let env: serde_json::Map<String, serde_json::Value> = env
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({ "chaincode_address": address, "env": env })
                );
            }
            _ => {
                // On stdout, ready to paste or `eval`; the rest of the display is stderr.
                println!(
                    "# start your chaincode with this environment; fabx waits for it at {address}"
                );
                for (key, value) in env {
                    println!("export {key}={value}");
                }
            }
        }
    }

    fn step_started(&self, id: StepId, step: &str) {
        let bar = (self.mode == Mode::Progress).then(|| {
            let bar = self.multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix} {wide_msg:.dim} {elapsed:>4}")
                    .expect("the template is valid"),
            );
            bar.set_prefix(step.to_string());
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        self.bars
            .lock()
            .expect("no panics while locked")
            .insert(id, (step.to_string(), bar));
    }

    fn step_detail(&self, id: StepId, line: &str) {
        let bars = self.bars.lock().expect("no panics while locked");
        let Some((step, bar)) = bars.get(&id) else {
            return;
        };
        if self.verbose {
            self.line(format!("  {step}: {line}"));
        } else if let Some(bar) = bar {
            bar.set_message(line.to_string());
        }
    }

    fn step_finished(&self, id: StepId, step: &str, end: &StepEnd) {
        let removed = self
            .bars
            .lock()
            .expect("no panics while locked")
            .remove(&id);
        if let Some((_, Some(bar))) = removed {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        let seconds = end.duration.as_secs_f64();
        let note = end
            .message
            .as_deref()
            .map(|m| format!(" ({m})"))
            .unwrap_or_default();
        match self.mode {
            Mode::Json => {
                let object = serde_json::json!({
                    "step": step,
                    "status": end.status,
                    "duration_ms": end.duration.as_millis() as u64,
                    "message": end.message,
                });
                println!("{object}");
            }
            Mode::Quiet => {}
            Mode::Progress | Mode::Plain => {
                let mark = match end.status {
                    StepStatus::Ok => "✓",
                    StepStatus::Skipped => "-",
                    StepStatus::Failed => "✗",
                };
                self.line(format!("{mark} {step:<44} {seconds:>6.2}s{note}"));
            }
        }
    }
}
