//! `logs`: what a node, or every container of a chaincode, prints.

use super::Network;
use crate::engine::spec::{LABEL_MSP, LABEL_NETWORK, LABEL_ROLE, ROLE_CHAINCODE};
use crate::network::error::{Error, Result};
use futures_util::stream::{self, BoxStream, StreamExt};

/// A line of log output and where it came from (an org's MSP ID for chaincode, empty for
/// a node).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub source: String,
    pub line: String,
}

impl Network {
    /// The logs of the node (or CouchDB, or CA server) with host name `name` (`peer0.org1.example.com`), or of every
    /// container of the chaincode `name`, each line with its org. With `follow`, goes on
    /// until the containers stop.
    pub async fn logs(
        &self,
        name: &str,
        tail: Option<usize>,
        follow: bool,
    ) -> Result<BoxStream<'static, Result<LogLine>>> {
        // Nodes, a peer's CouchDB (`couchdb.peer0.org1.example.com`) and an org's CA server
        // (`ca.org1.example.com`).
        let hosts: Vec<String> = self
            .topology
            .nodes()
            .into_iter()
            .map(|n| n.host)
            .chain(self.topology.couchdbs().into_iter().map(|c| c.host))
            .chain(
                self.topology
                    .certificate_authorities()
                    .into_iter()
                    .map(|c| c.host),
            )
            .collect();
        let sources: Vec<(String, String)> = if hosts.iter().any(|h| h == name) {
            vec![(String::new(), self.topology.container_name(name))]
        } else {
            self.chaincode_containers(name).await?
        };
        if sources.is_empty() {
            return Err(Error::BadInput {
                problem: format!(
                    "network {} has no node or deployed chaincode named {name:?}",
                    self.topology.network
                ),
                fix: format!(
                    "give a node ({}) or the name of a deployed chaincode",
                    hosts.join(", ")
                ),
            });
        }
        let streams = sources.into_iter().map(|(source, container)| {
            let chunks = self.engine.log_stream(&container, follow, tail);
            lines(chunks, source, container)
        });
        Ok(stream::select_all(streams).boxed())
    }

    /// (MSP IDs, container) of the chaincode's servers on this network.
    async fn chaincode_containers(&self, name: &str) -> Result<Vec<(String, String)>> {
        let found = self
            .engine
            .workloads(&[
                format!("{LABEL_NETWORK}={}", self.topology.network),
                format!("{LABEL_ROLE}={ROLE_CHAINCODE}"),
            ])
            .await?;
        // The hosts `deploy` gives the chaincode's servers (see `deploy::servers::plan`).
        let host_name = name.to_ascii_lowercase().replace('_', "-");
        let hosts: Vec<String> = std::iter::once(&self.topology.orderer_org.domain)
            .chain(self.topology.orgs.iter().map(|o| &o.domain))
            .map(|domain| self.engine.service_host(&format!("{host_name}.{domain}")))
            .collect();
        let mut sources: Vec<(String, String)> = found
            .into_iter()
            .filter_map(|c| {
                let container = c.name;
                let host = container
                    .strip_prefix(&self.topology.container_name(""))
                    .unwrap_or(&container);
                let msp = c.labels.get(LABEL_MSP).cloned().unwrap_or_default();
                hosts
                    .iter()
                    .any(|h| h == host)
                    .then_some((msp, container.clone()))
            })
            .collect();
        sources.sort();
        Ok(sources)
    }
}

/// Splits a container's log chunks into lines.
fn lines(
    chunks: crate::engine::LogChunks,
    source: String,
    container: String,
) -> BoxStream<'static, Result<LogLine>> {
    let state = (
        Box::pin(chunks),
        String::new(),
        std::collections::VecDeque::new(),
        false,
    );
    stream::unfold(
        state,
        move |(mut chunks, mut pending, mut ready, mut ended)| {
            let (source, container) = (source.clone(), container.clone());
            async move {
                loop {
                    if let Some(line) = ready.pop_front() {
                        let item = Ok(LogLine {
                            source: source.clone(),
                            line,
                        });
                        return Some((item, (chunks, pending, ready, ended)));
                    }
                    if ended {
                        return None;
                    }
                    match chunks.next().await {
                        Some(Ok(chunk)) => {
                            pending.push_str(&chunk);
                            while let Some(end) = pending.find('\n') {
                                ready.push_back(pending[..end].trim_end_matches('\r').to_string());
                                pending.drain(..=end);
                            }
                        }
                        Some(Err(reason)) => {
                            let error = Err(Error::Logs {
                                container: container.clone(),
                                reason,
                            });
                            return Some((error, (chunks, pending, ready, true)));
                        }
                        None => {
                            if !pending.is_empty() {
                                ready.push_back(std::mem::take(&mut pending));
                            }
                            ended = true;
                        }
                    }
                }
            }
        },
    )
    .boxed()
}
