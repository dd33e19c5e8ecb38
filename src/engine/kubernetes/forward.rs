//! Port forwards: how fabx, on this machine, reaches a pod's port (an orderer's admin
//! API, a peer's discovery service) on any cluster, local or remote. One listener on
//! 127.0.0.1 per (workload, port), kept for the life of the engine; each connection is
//! a port-forward stream to the workload's running pod.

use super::names;
use super::{KubeError, LABEL_WORKLOAD};
use crate::engine::Result;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use kube::Client;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

pub struct Forwards {
    client: Client,
    namespace: String,
    open: Mutex<HashMap<(String, u16), (SocketAddr, AbortHandle)>>,
}

impl Forwards {
    pub fn new(client: Client, namespace: &str) -> Forwards {
        Forwards {
            client,
            namespace: namespace.to_string(),
            open: Mutex::new(HashMap::new()),
        }
    }

    /// The local address forwarding to `port` of `workload`'s pod.
    pub async fn local_address(&self, workload: &str, port: u16) -> Result<SocketAddr> {
        let key = (workload.to_string(), port);
        if let Some((address, _)) = self.open.lock().expect("not poisoned").get(&key) {
            return Ok(*address);
        }
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| KubeError::Api {
                action: "open a local port for".into(),
                object: format!("{workload}:{port}"),
                reason: e.to_string(),
            })?;
        let address = listener.local_addr().map_err(|e| KubeError::Api {
            action: "open a local port for".into(),
            object: format!("{workload}:{port}"),
            reason: e.to_string(),
        })?;
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace);
        let task = tokio::spawn(serve(listener, pods, workload.to_string(), port));
        let mut open = self.open.lock().expect("not poisoned");
        // Another caller may have opened one meanwhile: keep the first.
        if let Some((existing, _)) = open.get(&key) {
            task.abort();
            return Ok(*existing);
        }
        open.insert(key, (address, task.abort_handle()));
        Ok(address)
    }

    /// Stops every forward (the namespace is going away).
    pub fn close(&self) {
        for (_, (_, task)) in self.open.lock().expect("not poisoned").drain() {
            task.abort();
        }
    }
}

impl Drop for Forwards {
    fn drop(&mut self) {
        self.close();
    }
}

async fn serve(listener: TcpListener, pods: Api<Pod>, workload: String, port: u16) {
    while let Ok((connection, _)) = listener.accept().await {
        let (pods, workload) = (pods.clone(), workload.clone());
        tokio::spawn(async move {
            // A failed forward closes the connection; the client sees it and retries.
            let _ = forward(connection, &pods, &workload, port).await;
        });
    }
}

async fn forward(
    mut connection: TcpStream,
    pods: &Api<Pod>,
    workload: &str,
    port: u16,
) -> std::result::Result<(), String> {
    let list = pods
        .list(&ListParams::default().labels(&format!("{LABEL_WORKLOAD}={workload}")))
        .await
        .map_err(|e| names::reason(&e))?;
    let pod = list
        .items
        .iter()
        .find(|p| {
            p.metadata.deletion_timestamp.is_none()
                && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
        })
        .and_then(|p| p.metadata.name.clone())
        .ok_or_else(|| format!("{workload} has no running pod"))?;
    let mut forwarder = pods
        .portforward(&pod, &[port])
        .await
        .map_err(|e| names::reason(&e))?;
    let mut upstream = forwarder
        .take_stream(port)
        .ok_or_else(|| format!("no stream for port {port}"))?;
    let _ = tokio::io::copy_bidirectional(&mut connection, &mut upstream).await;
    drop(upstream);
    let _ = forwarder.join().await;
    Ok(())
}
