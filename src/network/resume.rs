//! `up` on a network that already has containers: all running and joined is "already
//! up"; stopped ones (a reboot, a Docker restart, `docker stop`) are started again and
//! waited for, keeping their ledgers (they live in the containers' volumes); a missing or
//! broken node is an error naming it, and nothing is touched.

use super::down::STATE_MARKER;
use super::up::{UpOutcome, READY_TIMEOUT};
use super::Network;
use crate::engine::spec::{LABEL_ROLE, ROLE_CHAINCODE};
use crate::engine::wait::{
    await_log_after, consensus_ready, count_log_lines, LogCondition, ORDERER_READY, PEER_READY,
};
use crate::engine::{EngineKind, Workload};
use crate::network::error::{Error, Result};
use crate::support::reporter::{step, Reporter};
use crate::topology::{CouchDb, Node, NodeKind};
use futures_util::future::{join_all, try_join_all};
use std::collections::HashMap;
use std::time::Instant;

/// States `docker start` brings back.
const STARTABLE: &[&str] = &["exited", "created"];

impl Network {
    pub(super) async fn resume(
        &self,
        existing: &[Workload],
        reporter: &dyn Reporter,
    ) -> Result<UpOutcome> {
        let started = Instant::now();
        let states: HashMap<String, String> = existing
            .iter()
            .map(|c| (c.name.clone(), c.state.clone()))
            .collect();
        let broken = |what: &str, problem: String| Error::Broken {
            network: self.topology.network.clone(),
            what: what.to_string(),
            problem,
        };
        if !self.layout.root().join(STATE_MARKER).is_file() {
            return Err(broken(
                "the state directory",
                format!(
                    "{} (crypto material and configuration) is gone",
                    self.layout.root().display()
                ),
            ));
        }
        // Every node must exist and be running or startable.
        let couchdbs = self.topology.couchdbs();
        let cas = self.topology.certificate_authorities();
        let expected: Vec<(String, String)> = self
            .topology
            .nodes()
            .iter()
            .map(|n| &n.host)
            .chain(couchdbs.iter().map(|c| &c.host))
            .chain(cas.iter().map(|c| &c.host))
            .map(|host| (self.topology.container_name(host), host.clone()))
            .collect();
        let mut stopped = Vec::new();
        for (container, what) in &expected {
            match states.get(container).map(String::as_str) {
                None => return Err(broken(what, format!("has no container ({container})"))),
                Some("running") => {}
                Some(s) if STARTABLE.contains(&s) => stopped.push(container.clone()),
                Some(other) => {
                    return Err(broken(
                        what,
                        format!("its container {container} is {other}"),
                    ))
                }
            }
        }
        // Chaincode servers come back too.
        let chaincode: Vec<String> = existing
            .iter()
            .filter(|c| {
                c.labels.get(LABEL_ROLE).map(String::as_str) == Some(ROLE_CHAINCODE)
                    && STARTABLE.contains(&c.state.as_str())
            })
            .map(|c| c.name.clone())
            .collect();
        if stopped.is_empty() && chaincode.is_empty() {
            self.check_joined().await?;
            return Ok(UpOutcome::AlreadyUp {
                containers: existing.len(),
            });
        }
        let stopped_nodes: Vec<Node> = self
            .topology
            .nodes()
            .into_iter()
            .filter(|n| stopped.contains(&self.topology.container_name(&n.host)))
            .collect();
        let stopped_couchdb =
            |c: &&CouchDb| stopped.contains(&self.topology.container_name(&c.host));
        let restart_couchdb = |couchdb: CouchDb| async move {
            let name = format!("start {} again", couchdb.host);
            step(reporter, &name, self.restart_couchdb(&couchdb)).await
        };
        // A CouchDB whose peer runs comes back on its own; the others before their peer,
        // which opens its state database when it starts.
        let lone = couchdbs
            .iter()
            .filter(stopped_couchdb)
            .filter(|c| !stopped_nodes.contains(&c.peer));
        try_join_all(lone.cloned().map(restart_couchdb)).await?;
        let (couchdbs, stopped_couchdb) = (&couchdbs, &stopped_couchdb);
        let restarts = stopped_nodes.iter().map(|node| async move {
            let couchdb = couchdbs
                .iter()
                .filter(stopped_couchdb)
                .find(|c| c.peer == *node);
            if let Some(couchdb) = couchdb {
                restart_couchdb(couchdb.clone()).await?;
            }
            step(
                reporter,
                &format!("start {} again", node.host),
                self.restart_node(node),
            )
            .await
        });
        let ca_restarts = cas
            .iter()
            .filter(|ca| stopped.contains(&self.topology.container_name(&ca.host)))
            .map(|ca| async move {
                let name = format!("start {} again", ca.host);
                step(reporter, &name, self.restart_ca(ca)).await
            });
        let (restarts, ca_restarts) =
            futures_util::future::join(try_join_all(restarts), try_join_all(ca_restarts)).await;
        restarts?;
        ca_restarts?;
        let servers = chaincode.iter().map(|container| async move {
            step(
                reporter,
                &format!("start {container} again"),
                self.engine.start(container),
            )
            .await
        });
        try_join_all(servers).await?;
        step(reporter, "check channels", self.check_joined()).await?;
        if self.engine.kind() == EngineKind::Docker {
            // Ports Docker chose are chosen again on a restart.
            step(
                reporter,
                "write connection profiles",
                self.write_connection_profiles(),
            )
            .await?;
        }
        step(
            reporter,
            "wait for gossip membership",
            self.await_gossip_membership(),
        )
        .await?;
        // Applications call the chaincodes the moment `up` (or `start`) returns.
        for deployment in self.deployments()? {
            step(
                reporter,
                &format!("wait for endorsement plans of {}", deployment.name),
                self.await_endorsement_plans(&deployment.channel, &deployment.name),
            )
            .await?;
        }
        let mut containers = stopped;
        containers.extend(chaincode);
        Ok(UpOutcome::Restarted {
            containers,
            elapsed: started.elapsed(),
        })
    }

    /// Starts a stopped node and waits for it to serve again (an orderer also for its
    /// Raft leader), counting only what it logs from now on.
    async fn restart_node(&self, node: &Node) -> Result<()> {
        let container = self.topology.container_name(&node.host);
        let conditions: Vec<LogCondition> = match node.kind {
            NodeKind::Orderer => vec![
                ORDERER_READY,
                consensus_ready(self.topology.orderer.consensus),
            ],
            NodeKind::Peer => vec![PEER_READY],
        };
        let mut seen = Vec::new();
        for condition in &conditions {
            seen.push(count_log_lines(&*self.engine, &container, *condition).await?);
        }
        self.engine.start(&container).await?;
        for (condition, seen) in conditions.iter().zip(seen) {
            await_log_after(&*self.engine, &container, *condition, seen, READY_TIMEOUT).await?;
        }
        Ok(())
    }

    /// Every node has joined each of its channels (orderers: all of them).
    async fn check_joined(&self) -> Result<()> {
        let nodes = self.topology.nodes();
        let checks = nodes.iter().map(|node| async move {
            let joined = self.channels_of(node).await?;
            let wanted = match node.kind {
                NodeKind::Orderer => self
                    .topology
                    .channels()
                    .into_iter()
                    .map(|c| c.name)
                    .collect(),
                NodeKind::Peer => self.topology.org_channels(&node.msp_id),
            };
            Ok::<_, Error>(
                wanted
                    .into_iter()
                    .find(|w| !joined.iter().any(|c| &c.name == w)),
            )
        });
        for (node, missing) in nodes.iter().zip(join_all(checks).await) {
            if let Some(channel) = missing? {
                return Err(Error::Broken {
                    network: self.topology.network.clone(),
                    what: node.host.clone(),
                    problem: format!("has not joined channel {channel}"),
                });
            }
        }
        Ok(())
    }
}
