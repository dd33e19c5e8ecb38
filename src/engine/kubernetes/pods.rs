//! A workload's pod: its state, commands run in it (the exec API), and its logs.

use super::names::{self, object_name};
use super::objects::CONTAINER;
use super::{KubeEngine, KubeError, LABEL_WORKLOAD};
use crate::engine::Result;
use crate::engine::{ExecOutput, LogChunks};
use futures_util::{AsyncBufReadExt, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{AttachParams, ListParams, LogParams};
use kube::runtime::{watcher, WatchStreamExt};
use std::collections::HashMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long a command waits for its pod to be running.
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a one-shot pod (reading a file of an image) may take.
const ONE_SHOT_TIMEOUT: Duration = Duration::from_secs(120);

/// Waiting reasons that mean the image will not arrive by itself.
const IMAGE_PROBLEMS: &[&str] = &[
    "ErrImageNeverPull",
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
];

/// How a user gets an image onto the cluster.
pub const IMAGE_FIX: &str = "load it onto the cluster's nodes (kind load docker-image IMAGE, k3d image import IMAGE, minikube image load IMAGE, or import it into the nodes' containerd), or push it to a registry the cluster pulls from and name that";

fn container_status(pod: &Pod) -> Option<&k8s_openapi::api::core::v1::ContainerStatus> {
    pod.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find(|c| c.name == CONTAINER)
}

fn pod_name(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

/// The error of a pod whose container cannot start, if it cannot.
pub fn start_problem(pod: &Pod) -> Option<KubeError> {
    let status = container_status(pod)?;
    let waiting = status.state.as_ref()?.waiting.as_ref()?;
    let reason = waiting.reason.clone().unwrap_or_default();
    let message = waiting.message.clone().unwrap_or_default();
    if IMAGE_PROBLEMS.contains(&reason.as_str()) {
        let image = status.image.clone();
        let problem = if reason == "ErrImageNeverPull" {
            "is not present on the cluster's nodes"
        } else {
            "cannot be pulled"
        };
        return Some(KubeError::Image {
            pod: pod_name(pod),
            problem: problem.into(),
            reason,
            fix: IMAGE_FIX.replace("IMAGE", &image),
            image,
        });
    }
    matches!(
        reason.as_str(),
        "CreateContainerConfigError" | "CreateContainerError" | "RunContainerError"
    )
    .then(|| KubeError::PodFailed {
        pod: pod_name(pod),
        reason,
        message,
    })
}

/// Whether the container is running or has run (its logs can be read).
fn started(pod: &Pod) -> bool {
    container_status(pod)
        .and_then(|s| s.state.as_ref())
        .is_some_and(|s| s.running.is_some() || s.terminated.is_some())
        || container_status(pod).is_some_and(|s| s.restart_count > 0)
}

fn running(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && container_status(pod)
            .and_then(|s| s.state.as_ref())
            .is_some_and(|s| s.running.is_some())
}

/// Whether the process has stopped (a chaincode that exited is restarted by its
/// Deployment: a restart counts as an exit).
fn exited(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
        || container_status(pod).is_some_and(|s| {
            s.restart_count > 0 || s.state.as_ref().is_some_and(|st| st.terminated.is_some())
        })
}

/// A workload's state from its pods: `running`, `exited`, `pending (REASON)`, ...
pub fn state_of(pods: Option<&[Pod]>) -> String {
    let Some(pods) = pods.filter(|p| !p.is_empty()) else {
        return "pending".into();
    };
    if pods.iter().any(running) {
        return "running".into();
    }
    let pod = &pods[0];
    if pod.metadata.deletion_timestamp.is_some() {
        return "terminating".into();
    }
    match container_status(pod).and_then(|s| s.state.as_ref()) {
        Some(s) if s.terminated.is_some() => "exited".into(),
        Some(s) => match s.waiting.as_ref().and_then(|w| w.reason.clone()) {
            Some(reason) => format!("pending ({reason})"),
            None => "pending".into(),
        },
        None => "pending".into(),
    }
}

impl KubeEngine {
    fn by_workload(workload: &str) -> ListParams {
        ListParams::default().labels(&format!("{LABEL_WORKLOAD}={workload}"))
    }

    async fn pods_of(&self, workload: &str) -> Result<Vec<Pod>> {
        Ok(self
            .pods()
            .list(&Self::by_workload(workload))
            .await
            .map_err(|e| self.fail("list", "pods", workload, e))?
            .items)
    }

    /// Every fabx pod of the namespace by workload, from one list call.
    pub(super) async fn pods_by_workload(&self) -> Result<HashMap<String, Vec<Pod>>> {
        let list = match self
            .pods()
            .list(&ListParams::default().labels(&format!("{}=fabx", super::MANAGED_BY)))
            .await
        {
            Ok(list) => list.items,
            Err(e) if names::is_not_found(&e) => vec![],
            Err(e) => return Err(self.fail("list", "pods", &self.namespace, e).into()),
        };
        let mut by: HashMap<String, Vec<Pod>> = HashMap::new();
        for pod in list {
            let workload = pod
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(LABEL_WORKLOAD))
                .cloned()
                .unwrap_or_default();
            by.entry(workload).or_default().push(pod);
        }
        Ok(by)
    }

    /// The names of the workload's pods (none when they cannot be listed).
    pub(super) async fn pod_names(&self, workload: &str) -> Vec<String> {
        self.pods_of(workload)
            .await
            .map(|pods| pods.iter().map(pod_name).collect())
            .unwrap_or_default()
    }

    pub(super) async fn workload_state(&self, name: &str) -> Result<Option<String>> {
        let workload = object_name(name);
        Ok(self
            .list_workloads(&[])
            .await?
            .into_iter()
            .find(|w| object_name(&w.name) == workload)
            .map(|w| w.state))
    }

    /// Events of the workload's pods, the current ones first.
    fn watch_pods(
        &self,
        workload: &str,
    ) -> impl futures_util::Stream<Item = std::result::Result<watcher::Event<Pod>, watcher::Error>>
           + Send
           + use<> {
        let config = watcher::Config::default().labels(&format!("{LABEL_WORKLOAD}={workload}"));
        watcher::watcher(self.pods(), config).default_backoff()
    }

    /// The name of the workload's running pod; a pod still starting is waited for (at
    /// most [`START_TIMEOUT`]), one that cannot start is an error at once.
    pub(super) async fn running_pod(&self, workload: &str) -> Result<String> {
        let pods = self.pods_of(workload).await?;
        if let Some(pod) = pods.iter().find(|p| running(p)) {
            return Ok(pod_name(pod));
        }
        let mut events = self.watch_pods(workload).applied_objects().boxed();
        let found = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(pod) = events.next().await {
                let pod = pod.map_err(|e| KubeError::Api {
                    action: "watch the pods of".into(),
                    object: workload.to_string(),
                    reason: e.to_string(),
                })?;
                if let Some(problem) = start_problem(&pod) {
                    return Err(problem);
                }
                if running(&pod) {
                    return Ok(pod_name(&pod));
                }
            }
            Err(KubeError::NoRunningPod {
                workload: workload.to_string(),
                state: "no pod".into(),
            })
        })
        .await;
        match found {
            Ok(found) => Ok(found?),
            Err(_) => Err(KubeError::NoRunningPod {
                workload: workload.to_string(),
                state: state_of(Some(&self.pods_of(workload).await?)),
            }
            .into()),
        }
    }

    /// Waits until a pod of the workload has started its container; fails at once when it
    /// cannot (its image is missing, its configuration is wrong).
    async fn await_started(&self, workload: &str) -> std::result::Result<String, String> {
        let mut events = self.watch_pods(workload).applied_objects().boxed();
        while let Some(pod) = events.next().await {
            let pod = pod.map_err(|e| e.to_string())?;
            if let Some(problem) = start_problem(&pod) {
                return Err(problem.to_string());
            }
            if started(&pod) && pod.metadata.deletion_timestamp.is_none() {
                return Ok(pod_name(&pod));
            }
        }
        Err(format!("the watch of {workload}'s pods ended"))
    }

    pub(super) async fn await_pod_exit(&self, name: &str) {
        let workload = object_name(name);
        let mut events = self.watch_pods(&workload).boxed();
        while let Some(event) = events.next().await {
            match event {
                Ok(watcher::Event::Delete(_)) => return,
                Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) if exited(&pod) => {
                    return
                }
                _ => {}
            }
        }
    }

    /// Runs a command in the workload's pod (with `env` set, and `stdin` fed if given).
    pub(super) async fn exec_in_pod(
        &self,
        name: &str,
        cmd: &[String],
        env: &[String],
        stdin: Option<Vec<u8>>,
    ) -> Result<ExecOutput> {
        let workload = object_name(name);
        let pod = self.running_pod(&workload).await?;
        let mut full: Vec<String> = Vec::new();
        if !env.is_empty() {
            full.push("env".into());
            full.extend(env.iter().cloned());
        }
        match &stdin {
            // `head -c` ends the input where the data ends: tar then sees its end.
            Some(data) => {
                let inner = cmd
                    .iter()
                    .map(|a| shell_quote(a))
                    .collect::<Vec<_>>()
                    .join(" ");
                full.extend(
                    ["sh", "-c", &format!("head -c {} | {inner}", data.len())].map(String::from),
                );
            }
            None => full.extend(cmd.iter().cloned()),
        }
        let params = AttachParams {
            container: Some(CONTAINER.into()),
            stdin: stdin.is_some(),
            stdout: true,
            stderr: true,
            tty: false,
            ..Default::default()
        };
        let fail = |e: kube::Error| KubeError::Api {
            action: "run a command in".into(),
            object: format!("pod {pod} ({})", cmd.join(" ")),
            reason: names::reason(&e),
        };
        let mut process = self
            .pods()
            .exec(&pod, full, &params)
            .await
            .map_err(|e| match &e {
                kube::Error::Api(s) if s.code == 403 => self.fail("create", "pods/exec", &pod, e),
                _ => fail(e),
            })?;
        let status = process.take_status();
        let mut stdout = process.stdout();
        let mut stderr = process.stderr();
        if let (Some(data), Some(mut writer)) = (stdin, process.stdin()) {
            let _ = writer.write_all(&data).await;
            let _ = writer.shutdown().await;
        }
        let read = |half: Option<tokio::io::ReadHalf<tokio::io::SimplexStream>>| async move {
            let mut text = Vec::new();
            if let Some(mut half) = half {
                let _ = half.read_to_end(&mut text).await;
            }
            String::from_utf8_lossy(&text).into_owned()
        };
        let (out, err) = futures_util::future::join(read(stdout.take()), read(stderr.take())).await;
        let status = match status {
            Some(status) => status.await,
            None => None,
        };
        let _ = process.join().await;
        let mut output = ExecOutput {
            exit_code: -1,
            stdout: out,
            stderr: err,
        };
        match status {
            Some(s) if s.status.as_deref() == Some("Success") => output.exit_code = 0,
            Some(s) => {
                // A non-zero exit: `NonZeroExitCode` with the code as an `ExitCode` cause.
                let code = s
                    .details
                    .as_ref()
                    .and_then(|d| d.causes.as_ref())
                    .and_then(|c| c.iter().find(|c| c.reason.as_deref() == Some("ExitCode")))
                    .and_then(|c| c.message.as_ref()?.parse().ok());
                match code {
                    Some(code) => output.exit_code = code,
                    None => output
                        .stderr
                        .push_str(s.message.as_deref().unwrap_or_default()),
                }
            }
            None => output.stderr.push_str("the exec ended without a status"),
        }
        Ok(output)
    }

    pub(super) async fn pod_logs_tail(&self, name: &str, lines: usize) -> Result<String> {
        let workload = object_name(name);
        let pods = self.pods_of(&workload).await?;
        let Some(pod) = pods.first() else {
            return Ok(String::new());
        };
        let restarted = container_status(pod).is_some_and(|s| s.restart_count > 0);
        let params = LogParams {
            container: Some(CONTAINER.into()),
            // usize::MAX: everything.
            tail_lines: i64::try_from(lines).ok(),
            // A restarted container's own last words are in its previous run.
            previous: restarted && !running(pod),
            ..Default::default()
        };
        match self.pods().logs(&pod_name(pod), &params).await {
            Ok(text) => Ok(text),
            Err(e) => Ok(match start_problem(pod) {
                Some(problem) => problem.to_string(),
                None => format!("(no logs: {})", names::reason(&e)),
            }),
        }
    }

    pub(super) fn pod_log_stream(
        &self,
        name: &str,
        follow: bool,
        tail: Option<usize>,
    ) -> LogChunks {
        let engine = self.clone();
        let workload = object_name(name);
        let lines = async move {
            let pod = engine.await_started(&workload).await?;
            let params = LogParams {
                container: Some(CONTAINER.into()),
                follow,
                tail_lines: tail.and_then(|n| i64::try_from(n).ok()),
                ..Default::default()
            };
            let reader = engine
                .pods()
                .log_stream(&pod, &params)
                .await
                .map_err(|e| names::reason(&e))?;
            Ok::<_, String>(
                reader
                    .lines()
                    .map_ok(|line| format!("{line}\n"))
                    .map_err(|e| e.to_string()),
            )
        };
        futures_util::stream::once(lines)
            .map(|r| match r {
                Ok(stream) => stream.boxed(),
                Err(e) => futures_util::stream::once(async move { Err(e) }).boxed(),
            })
            .flatten()
            .boxed()
    }

    /// Waits for a one-shot pod to finish and returns what it printed.
    pub(super) async fn await_finished_and_read(
        &self,
        pod: &str,
        image: &str,
        path: &str,
    ) -> Result<Vec<u8>> {
        let fail = |reason: String| KubeError::ImageFile {
            image: image.to_string(),
            path: path.to_string(),
            reason,
        };
        let finished = kube::runtime::wait::await_condition(self.pods(), pod, |p: Option<&Pod>| {
            p.is_some_and(|p| {
                start_problem(p).is_some()
                    || p.status
                        .as_ref()
                        .and_then(|s| s.phase.as_deref())
                        .is_some_and(|phase| phase == "Succeeded" || phase == "Failed")
            })
        });
        let pod_state = tokio::time::timeout(ONE_SHOT_TIMEOUT, finished)
            .await
            .map_err(|_| {
                fail(format!(
                    "pod {pod} did not finish within {}s",
                    ONE_SHOT_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|e| fail(e.to_string()))?
            .ok_or_else(|| fail(format!("pod {pod} disappeared")))?;
        if let Some(problem) = start_problem(&pod_state) {
            return Err(problem.into());
        }
        let logs = self
            .pods()
            .logs(
                pod,
                &LogParams {
                    container: Some(CONTAINER.into()),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| fail(names::reason(&e)))?;
        let phase = pod_state.status.and_then(|s| s.phase).unwrap_or_default();
        if phase != "Succeeded" {
            return Err(fail(format!("`cat` ended {phase}: {}", logs.trim())).into());
        }
        Ok(logs.into_bytes())
    }
}

/// Single-quotes an argument for `sh -c`.
fn shell_quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
        ContainerStatus, PodStatus,
    };

    fn pod(state: ContainerState, restarts: i32) -> Pod {
        Pod {
            metadata: kube::api::ObjectMeta {
                name: Some("peer0-org1-example-com-0".into()),
                ..Default::default()
            },
            status: Some(PodStatus {
                container_statuses: Some(vec![ContainerStatus {
                    name: CONTAINER.into(),
                    image: "hyperledger/fabric-peer:9.9".into(),
                    restart_count: restarts,
                    state: Some(state),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn waiting(reason: &str) -> ContainerState {
        ContainerState {
            waiting: Some(ContainerStateWaiting {
                reason: Some(reason.into()),
                message: Some("details".into()),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_missing_image_names_the_pod_the_image_and_the_fix() {
        let problem = start_problem(&pod(waiting("ErrImageNeverPull"), 0))
            .expect("a missing image cannot start")
            .to_string();
        assert!(
            problem.starts_with("pod peer0-org1-example-com-0 cannot start: image hyperledger/fabric-peer:9.9 is not present on the cluster's nodes (ErrImageNeverPull)"),
            "{problem}"
        );
        assert!(problem.contains("kind load docker-image hyperledger/fabric-peer:9.9"));
        let pulled = start_problem(&pod(waiting("ImagePullBackOff"), 0))
            .unwrap()
            .to_string();
        assert!(
            pulled.contains("cannot be pulled (ImagePullBackOff)"),
            "{pulled}"
        );
        // Still starting: no problem yet.
        assert!(start_problem(&pod(waiting("ContainerCreating"), 0)).is_none());
    }

    #[test]
    fn states_read_like_container_states() {
        let running = ContainerState {
            running: Some(ContainerStateRunning::default()),
            ..Default::default()
        };
        let terminated = ContainerState {
            terminated: Some(ContainerStateTerminated::default()),
            ..Default::default()
        };
        assert_eq!(state_of(Some(&[pod(running.clone(), 0)])), "running");
        assert_eq!(state_of(Some(&[pod(terminated, 0)])), "exited");
        assert_eq!(
            state_of(Some(&[pod(waiting("ContainerCreating"), 0)])),
            "pending (ContainerCreating)"
        );
        assert_eq!(state_of(None), "pending");
        // A chaincode restarted by its Deployment has exited once.
        assert!(exited(&pod(running.clone(), 1)));
        assert!(!exited(&pod(running, 0)));
    }
}
