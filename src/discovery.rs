//! Ready for applications: what Fabric's discovery service (the service a Gateway asks
//! before it endorses) knows. A peer answers `discover peers` with the channel members
//! gossip has told it about, and `discover endorsers` with an endorsement plan once every
//! org the policy needs has a peer with the chaincode. `discover` runs in the tools
//! container as the org's `User1`.

use crate::commands::DIAL_TIMEOUT;
use crate::error::{Error, Result};
use crate::layout::{container, container_tlsca};
use crate::network::{Check, Network};
use crate::topology::Node;
use crate::transient::Backoff;
use futures_util::future::try_join_all;
use std::collections::BTreeSet;
use std::time::Duration;

/// How long gossip may take to form a channel's membership, and discovery to know a new
/// chaincode.
pub const DISCOVERY_BOUND: Duration = Duration::from_secs(60);

/// A `discover` query sent to one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscoverQuery {
    /// The channel's members as this peer knows them.
    Peers { channel: String },
    /// An endorsement plan for a chaincode's policy.
    Endorsers { channel: String, chaincode: String },
}

impl DiscoverQuery {
    /// The `discover` command line asking `peer`, as its org's User1.
    pub fn args(&self, peer: &Node) -> Vec<String> {
        let domain = &peer.domain;
        let user = format!(
            "{}/peerOrganizations/{domain}/users/User1@{domain}/msp",
            container::CRYPTO
        );
        let mut args: Vec<String> = [
            "discover",
            "--peerTLSCA",
            &container_tlsca(domain),
            "--userKey",
            &format!("{user}/keystore/priv_sk"),
            "--userCert",
            &format!("{user}/signcerts/User1@{domain}-cert.pem"),
            "--MSP",
            &peer.msp_id,
        ]
        .map(String::from)
        .to_vec();
        match self {
            DiscoverQuery::Peers { channel } => {
                args.extend(["peers", "--channel", channel].map(String::from))
            }
            DiscoverQuery::Endorsers { channel, chaincode } => args.extend(
                ["endorsers", "--channel", channel, "--chaincode", chaincode].map(String::from),
            ),
        }
        args.extend(["--server".to_string(), peer.address()]);
        args
    }
}

/// The endpoints in `discover peers` output (a JSON array of peers); None if it is not that.
pub fn parse_peer_endpoints(stdout: &str) -> Option<BTreeSet<String>> {
    let peers: serde_json::Value = serde_json::from_str(stdout).ok()?;
    peers
        .as_array()?
        .iter()
        .map(|p| p["Endpoint"].as_str().map(String::from))
        .collect()
}

/// Whether `discover endorsers` output holds a plan: a JSON array whose descriptors each
/// have at least one layout. None if the output is not that.
pub fn has_endorsement_plan(stdout: &str) -> Option<bool> {
    let descriptors: serde_json::Value = serde_json::from_str(stdout).ok()?;
    let descriptors = descriptors.as_array()?;
    Some(
        !descriptors.is_empty()
            && descriptors
                .iter()
                .all(|d| d["Layouts"].as_array().is_some_and(|l| !l.is_empty())),
    )
}

impl Network {
    /// Runs a discovery query in the tools container; a failed query is returned as
    /// output (discovery says "not yet" with an error).
    async fn discover(&self, peer: &Node, query: &DiscoverQuery) -> Result<(String, String)> {
        let args = query.args(peer);
        let env = vec![format!("CORE_PEER_CLIENT_CONNTIMEOUT={DIAL_TIMEOUT}")];
        let output = self
            .run_cli(
                &self.topology.tools_container(),
                args,
                env,
                Check::Unchecked,
            )
            .await?;
        let last_line = output.last_error_line();
        Ok((output.stdout, last_line))
    }

    /// Waits until every peer's view of the channel holds every peer of the channel:
    /// until then a Gateway cannot plan endorsements across orgs.
    pub(crate) async fn await_gossip_membership(&self) -> Result<()> {
        let peers = self.topology.peers();
        let everyone: BTreeSet<String> = peers.iter().map(Node::address).collect();
        let query = DiscoverQuery::Peers {
            channel: self.topology.channel.clone(),
        };
        let waits = peers.iter().map(|peer| {
            let (everyone, query) = (&everyone, &query);
            async move {
                let mut backoff = Backoff::new(DISCOVERY_BOUND);
                loop {
                    let (stdout, last_line) = self.discover(peer, query).await?;
                    let known = parse_peer_endpoints(&stdout).ok_or_else(|| {
                        self.unreadable_discovery(peer, query, &stdout, &last_line)
                    })?;
                    let missing: Vec<&str> =
                        everyone.difference(&known).map(String::as_str).collect();
                    if missing.is_empty() {
                        return Ok(());
                    }
                    if !backoff.wait().await {
                        return Err(Error::NotReady {
                            peer: peer.host.clone(),
                            waited: DISCOVERY_BOUND,
                            what: format!(
                                "gossip membership of {} (it does not yet know {})",
                                self.topology.channel,
                                missing.join(", ")
                            ),
                        });
                    }
                }
            }
        });
        try_join_all(waits).await?;
        Ok(())
    }

    /// Waits until discovery on each org's peer derives an endorsement plan for the
    /// chaincode: what a Gateway submit needs right after deploy.
    pub(crate) async fn await_endorsement_plans(
        &self,
        channel: &str,
        chaincode: &str,
    ) -> Result<()> {
        let query = DiscoverQuery::Endorsers {
            channel: channel.to_string(),
            chaincode: chaincode.to_string(),
        };
        let waits = self.topology.orgs.iter().map(|org| {
            let query = &query;
            async move {
                let peer = self.org_peer(&org.msp_id)?;
                let mut backoff = Backoff::new(DISCOVERY_BOUND);
                loop {
                    let (stdout, last_line) = self.discover(&peer, query).await?;
                    // Discovery answers "not yet" with an error and no JSON.
                    if has_endorsement_plan(&stdout) == Some(true) {
                        return Ok(());
                    }
                    if !backoff.wait().await {
                        return Err(Error::NotReady {
                            peer: peer.host.clone(),
                            waited: DISCOVERY_BOUND,
                            what: format!(
                                "an endorsement plan for {chaincode} on {channel} (discovery said: {last_line})"
                            ),
                        });
                    }
                }
            }
        });
        try_join_all(waits).await?;
        Ok(())
    }

    fn unreadable_discovery(
        &self,
        peer: &Node,
        query: &DiscoverQuery,
        stdout: &str,
        last_line: &str,
    ) -> Error {
        Error::unparseable(
            &self.topology.tools_container(),
            &query.args(peer).join(" "),
            "a JSON array of peers",
            &format!("{stdout}\n{last_line}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_and_plans_are_read_strictly() {
        let peers = r#"[{"MSPID":"Org1MSP","LedgerHeight":1,"Endpoint":"peer0.org1.example.com:7051","Identity":"x","Chaincodes":["_lifecycle"]},
                        {"MSPID":"Org2MSP","LedgerHeight":1,"Endpoint":"peer0.org2.example.com:7051","Identity":"y","Chaincodes":null}]"#;
        let endpoints = parse_peer_endpoints(peers).unwrap();
        assert_eq!(
            endpoints.into_iter().collect::<Vec<_>>(),
            ["peer0.org1.example.com:7051", "peer0.org2.example.com:7051"]
        );
        assert_eq!(parse_peer_endpoints("Error: failed connecting"), None);
        assert_eq!(parse_peer_endpoints(r#"[{"MSPID":"Org1MSP"}]"#), None);

        let plan = r#"[{"Chaincode":"examplecc","EndorsersByGroups":{"G0":[{"MSPID":"Org1MSP"}],"G1":[{"MSPID":"Org2MSP"}]},"Layouts":[{"quantities_by_group":{"G0":1,"G1":1}}]}]"#;
        assert_eq!(has_endorsement_plan(plan), Some(true));
        assert_eq!(
            has_endorsement_plan(r#"[{"Chaincode":"examplecc","Layouts":[]}]"#),
            Some(false)
        );
        assert_eq!(
            has_endorsement_plan(
                "Error: failed constructing descriptor for chaincodes:<name:\"examplecc\" >"
            ),
            None
        );
    }

    #[test]
    fn discover_asks_the_peer_as_its_orgs_user() {
        let topology = crate::Topology::default_topology();
        let peer = &topology.peers()[1];
        let args = DiscoverQuery::Endorsers {
            channel: "channel1".into(),
            chaincode: "examplecc".into(),
        }
        .args(peer)
        .join(" ");
        assert_eq!(
            args,
            "discover --peerTLSCA /fabx/tlsca/org2.example.com.pem \
             --userKey /fabx/crypto/peerOrganizations/org2.example.com/users/User1@org2.example.com/msp/keystore/priv_sk \
             --userCert /fabx/crypto/peerOrganizations/org2.example.com/users/User1@org2.example.com/msp/signcerts/User1@org2.example.com-cert.pem \
             --MSP Org2MSP endorsers --channel channel1 --chaincode examplecc --server peer0.org2.example.com:7051"
        );
    }
}
