//! Ready for applications: what Fabric's discovery service (the service a Gateway asks
//! before it endorses) knows. A peer answers a membership query with the channel members
//! gossip has told it about, and an endorsers query with an endorsement plan once every
//! org the policy needs has a peer with the chaincode. fabx asks over gRPC from the host
//! as the org's `User1` ([`fabx_fabric::discovery`]); no container or CLI is involved.

use crate::network::error::{Error, Result};
use crate::network::Network;
use crate::support::profile::timed;
use crate::support::retry::{retry, Backoff};
use crate::topology::{ports, Node, NodeKind};
use fabx_fabric::discovery::{Answer, DiscoveredPeer, DiscoveryConnection, EndorsementPlan};
use fabx_fabric::{ClientIdentity, FabricError};
use futures_util::future::try_join_all;
use std::collections::BTreeSet;
use std::time::Duration;

/// How long gossip may take to form a channel's membership, and discovery to know a new
/// chaincode.
pub const DISCOVERY_BOUND: Duration = Duration::from_secs(60);

impl Network {
    /// A discovery connection to `peer` through its published port, as its org's User1.
    async fn discovery(&self, peer: &Node) -> Result<DiscoveryConnection> {
        let address = self.published_socket(peer, ports::PEER).await?;
        let ca_path = self
            .layout
            .tlsca_bundle()
            .join(format!("{}.pem", peer.domain));
        let ca = std::fs::read(&ca_path).map_err(|source| Error::io("read", &ca_path, source))?;
        let user = self.layout.user_dir(NodeKind::Peer, &peer.domain, "User1");
        let identity = ClientIdentity::from_user_dir(&peer.msp_id, &user)?;
        Ok(DiscoveryConnection::connect(address, &peer.host, &ca, identity).await?)
    }

    /// Asks `peer` until `ready` accepts its answer, within [`DISCOVERY_BOUND`].
    /// Discovery's "not yet" answers and transient connection failures are asked again;
    /// `ready` describes what is missing from an answer for the error when the bound
    /// passes.
    async fn ask_until<T, F, R>(
        &self,
        peer: &Node,
        what: String,
        ask: F,
        ready: impl Fn(&T) -> Option<String>,
    ) -> Result<()>
    where
        F: Fn(DiscoveryConnection) -> R,
        R: std::future::Future<
            Output = (
                DiscoveryConnection,
                std::result::Result<Answer<T>, FabricError>,
            ),
        >,
    {
        // The connection is kept from one question to the next.
        let kept = std::sync::Mutex::new(None::<DiscoveryConnection>);
        let keep = |c| *kept.lock().unwrap_or_else(|e| e.into_inner()) = Some(c);
        let (ask, ready, what, keep, kept) = (&ask, &ready, &what, &keep, &kept);
        let asked = retry(
            Backoff::polling(DISCOVERY_BOUND),
            |attempt: &Attempt| matches!(attempt, Attempt::NotYet(_)),
            || async move {
                let kept = kept.lock().unwrap_or_else(|e| e.into_inner()).take();
                let connection = match kept {
                    Some(c) => c,
                    None => match self.discovery(peer).await {
                        Ok(c) => c,
                        Err(Error::Fabric(e)) if e.is_transient() => {
                            return Err(Attempt::NotYet(e.to_string()))
                        }
                        Err(e) => return Err(Attempt::Failed(e)),
                    },
                };
                let (c, answer) = timed(
                    || format!("discovery: {what} on {}", peer.host),
                    ask(connection),
                )
                .await;
                match answer {
                    Ok(Answer::Ready(found)) => match ready(&found) {
                        None => Ok(()),
                        Some(missing) => {
                            keep(c);
                            Err(Attempt::NotYet(missing))
                        }
                    },
                    Ok(Answer::NotYet(said)) => {
                        keep(c);
                        Err(Attempt::NotYet(format!("discovery said: {said}")))
                    }
                    Err(e) if e.is_transient() => Err(Attempt::NotYet(e.to_string())),
                    Err(e) => Err(Attempt::Failed(e.into())),
                }
            },
        )
        .await;
        match asked {
            Ok(()) => Ok(()),
            Err(Attempt::Failed(e)) => Err(e),
            Err(Attempt::NotYet(last)) => Err(Error::NotReady {
                peer: peer.host.clone(),
                waited: DISCOVERY_BOUND,
                what: format!("{what} ({last})"),
            }),
        }
    }

    /// Waits until, on every channel, each peer's view holds every peer of the channel:
    /// until then a Gateway cannot plan endorsements across orgs.
    pub(crate) async fn await_gossip_membership(&self) -> Result<()> {
        let mut waits = Vec::new();
        for spec in self.topology.channels() {
            let peers = self.channel_peers(&spec.name)?;
            let everyone: BTreeSet<String> = peers.iter().map(Node::address).collect();
            for peer in peers {
                let (everyone, channel) = (everyone.clone(), spec.name.clone());
                waits.push(async move {
                    self.ask_until(
                        &peer,
                        format!("gossip membership of {channel}"),
                        |mut c| {
                            let channel = channel.clone();
                            async move {
                                let answer = c.peers(&channel).await;
                                (c, answer)
                            }
                        },
                        |found: &Vec<DiscoveredPeer>| {
                            let known: BTreeSet<String> =
                                found.iter().map(|p| p.endpoint.clone()).collect();
                            let missing: Vec<&str> =
                                everyone.difference(&known).map(String::as_str).collect();
                            (!missing.is_empty())
                                .then(|| format!("it does not yet know {}", missing.join(", ")))
                        },
                    )
                    .await
                });
            }
        }
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
        let waits = self
            .channel_orgs(channel)?
            .into_iter()
            .map(|org| async move {
                let peer = self.org_peer(&org.msp_id)?;
                self.ask_until(
                    &peer,
                    format!("an endorsement plan for {chaincode} on {channel}"),
                    move |mut c| async move {
                        let answer = c.endorsers(channel, chaincode).await;
                        (c, answer)
                    },
                    |plan: &EndorsementPlan| {
                        (plan.layouts.is_empty()).then(|| "the plan has no layout".to_string())
                    },
                )
                .await
            });
        try_join_all(waits).await?;
        Ok(())
    }
}

/// One question's outcome: not yet (asked again while the bound lasts), or a failure.
enum Attempt {
    NotYet(String),
    Failed(Error),
}
