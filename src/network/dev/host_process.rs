//! `fabx dev --run`: the developer's own command on the host, as the chaincode server.
//!
//! The command runs through `sh -c` in the chaincode directory, in a process group of
//! its own, so that stopping it stops what it started (`cargo run` starts the chaincode
//! as its child). Its output lines go to a sink, each as printed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

use crate::support::retry::{poll_until, Backoff, Poll};

/// Where a process's output lines go.
pub type LineSink = Arc<dyn Fn(&str) + Send + Sync>;

/// How long a stopped process gets to exit on SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// How long a stopped process's port may take to be free (SIGKILL lands asynchronously).
const PORT_RELEASE: Duration = Duration::from_secs(2);

/// Waits (bounded) until nothing listens on `port`, so that the next process can bind
/// it. The port, not the process group: killed members linger as zombies until their
/// new parent reaps them (1.5 s under some inits), but hold no sockets by then.
pub async fn await_port_free(port: u16) {
    let _ = poll_until(Backoff::polling(PORT_RELEASE), || async {
        let free = std::net::TcpListener::bind(("0.0.0.0", port)).is_ok();
        Ok::<_, ()>(if free {
            Poll::Ready(())
        } else {
            Poll::NotYet(())
        })
    })
    .await;
}

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("cannot start `{command}` in {dir}: {source} (is the command installed and the directory right?)")]
    Spawn {
        command: String,
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}); it printed:\n{tail}")]
    Failed {
        command: String,
        status: String,
        tail: String,
    },
}

/// A running command and its process group.
pub struct HostProcess {
    command: String,
    child: Child,
}

/// `sh -c command` in `dir` with `env` added, in a process group of its own, started.
fn start_shell(command: &str, dir: &Path, env: &[(String, String)]) -> Result<Child, ProcessError> {
    Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| ProcessError::Spawn {
            command: command.to_string(),
            dir: dir.to_path_buf(),
            source,
        })
}

/// Sends each line of `stream` to `sink` until it ends.
fn forward(
    stream: impl AsyncRead + Unpin + Send + 'static,
    sink: LineSink,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            sink(&line);
        }
    })
}

impl HostProcess {
    /// Starts `command` in `dir` with `env` added to fabx's environment.
    pub fn spawn(
        command: &str,
        dir: &Path,
        env: &[(String, String)],
        sink: LineSink,
    ) -> Result<HostProcess, ProcessError> {
        let mut child = start_shell(command, dir, env)?;
        if let Some(out) = child.stdout.take() {
            forward(out, sink.clone());
        }
        if let Some(err) = child.stderr.take() {
            forward(err, sink);
        }
        Ok(HostProcess {
            command: command.to_string(),
            child,
        })
    }

    pub fn command(&self) -> &str {
        &self.command
    }

    /// Resolves when the process has exited; its status as text.
    pub async fn exited(&mut self) -> String {
        match self.child.wait().await {
            Ok(status) => status.to_string(),
            Err(e) => e.to_string(),
        }
    }

    /// Stops the whole process group: SIGTERM, then SIGKILL after [`STOP_GRACE`].
    pub async fn stop(mut self) {
        let Some(pid) = self.child.id() else { return };
        let group = -(pid as i32);
        // SAFETY: kill(2) with a negative pid signals the group the child leads; it
        // reads no memory of ours.
        unsafe { libc::kill(group, libc::SIGTERM) };
        if tokio::time::timeout(STOP_GRACE, self.child.wait())
            .await
            .is_err()
        {
            unsafe { libc::kill(group, libc::SIGKILL) };
            let _ = self.child.wait().await;
        }
        // The group's other members (the chaincode under `cargo run`) may outlive sh.
        unsafe { libc::kill(group, libc::SIGKILL) };
    }
}

/// Runs `command` to its end in `dir`; its output goes to `sink` as it comes, and on
/// failure the error carries its last lines.
pub async fn run_to_end(command: &str, dir: &Path, sink: LineSink) -> Result<(), ProcessError> {
    let tail = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let keep = {
        let tail = tail.clone();
        Arc::new(move |line: &str| {
            sink(line);
            let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
            tail.push(line.to_string());
            let excess = tail.len().saturating_sub(TAIL_LINES);
            tail.drain(..excess);
        }) as LineSink
    };
    let mut child = start_shell(command, dir, &[])?;
    let out = child.stdout.take().map(|s| forward(s, keep.clone()));
    let err = child.stderr.take().map(|s| forward(s, keep.clone()));
    let status = child.wait().await;
    // Every line is read before the status is judged.
    if let Some(out) = out {
        let _ = out.await;
    }
    if let Some(err) = err {
        let _ = err.await;
    }
    let status = status.map_err(|source| ProcessError::Spawn {
        command: command.to_string(),
        dir: dir.to_path_buf(),
        source,
    })?;
    if status.success() {
        return Ok(());
    }
    let tail = tail.lock().unwrap_or_else(|e| e.into_inner()).join("\n");
    Err(ProcessError::Failed {
        command: command.to_string(),
        status: status.to_string(),
        tail,
    })
}

/// How many lines a failed command's error keeps.
const TAIL_LINES: usize = 40;

#[cfg(test)]
mod tests {
    use super::*;

    fn collect() -> (LineSink, Arc<std::sync::Mutex<Vec<String>>>) {
        let lines = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = {
            let lines = lines.clone();
            Arc::new(move |l: &str| lines.lock().unwrap().push(l.to_string())) as LineSink
        };
        (sink, lines)
    }

    #[tokio::test]
    async fn a_failed_command_keeps_its_last_lines() {
        let (sink, lines) = collect();
        let dir = tempfile::tempdir().unwrap();
        let err = run_to_end(
            "echo compiling; echo 'error[E0308]: mismatched types' >&2; exit 101",
            dir.path(),
            sink,
        )
        .await
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("exit status: 101"), "{text}");
        assert!(text.contains("error[E0308]: mismatched types"), "{text}");
        assert_eq!(lines.lock().unwrap().len(), 2);
        run_to_end("true", dir.path(), collect().0).await.unwrap();
    }

    #[tokio::test]
    async fn stop_ends_the_whole_group_and_env_reaches_the_command() {
        let (sink, lines) = collect();
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("grandchild.pid");
        // sh starts a grandchild that ignores SIGTERM, as a chaincode under `cargo run`
        // may: stop must still end it.
        let command = format!(
            "echo \"id=$CHAINCODE_ID\"; sh -c 'trap \"\" TERM; echo $$ > {}; while true; do sleep 0.05; done' ; wait",
            pid_file.display()
        );
        let env = [("CHAINCODE_ID".to_string(), "cc_1.0:ab".to_string())];
        let process = HostProcess::spawn(&command, dir.path(), &env, sink).unwrap();
        let pid: i32 = loop {
            if let Ok(text) = std::fs::read_to_string(&pid_file) {
                if let Ok(pid) = text.trim().parse() {
                    break pid;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        process.stop().await;
        // Gone, or a zombie waiting for init to reap it, once SIGKILL has landed.
        let state = || std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let running = |state: &str| {
            state
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z'))
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while running(&state()) && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            !running(&state()),
            "the grandchild {pid} outlived stop: {}",
            state()
        );
        assert_eq!(lines.lock().unwrap().first().unwrap(), "id=cc_1.0:ab");
    }
}
