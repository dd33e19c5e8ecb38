//! The one place that decides whether a failed Fabric CLI command may be tried again.
//!
//! Transient: the command never reached its target, or the target could not take it yet
//! (a dial that timed out or was refused, gRPC `Unavailable`, an ordering service with no
//! Raft leader yet). Running such a command again is safe: nothing was sent, or the
//! orderer rejected it before ordering. Everything else is permanent: bad arguments,
//! policy and MSP errors, chaincode errors, and anything ambiguous (a transaction that
//! may have been ordered is never sent twice).

use std::time::{Duration, Instant};

/// What a failed command's output says about trying again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth another try; the text is the matched cause, for messages.
    Transient(&'static str),
    Permanent,
}

/// Phrases that make a failure permanent even when a transient phrase appears too: the
/// peer could not reach the *chaincode* (its container is down: waiting will not help,
/// and the user needs to hear it), or the chaincode itself failed.
const PERMANENT: &[&str] = &[
    "could not launch chaincode",
    "error in simulation",
    "chaincode response 500",
    "timed out waiting for txid",
];

/// Phrases of failures that happened before the command reached its target, or that the
/// target answered with "not now".
const TRANSIENT: &[&str] = &[
    // comm.NewClient dial failures: `endorser client failed to connect to X: failed to
    // create new connection: context deadline exceeded` (the CLI dials with a 3 s limit).
    "failed to create new connection",
    "connect: connection refused",
    "connection error: desc = \"transport: error while dialing",
    "code = Unavailable",
    // A stopped container's name vanishes from Docker's DNS until it runs again.
    "no such host",
    "connect: no route to host",
    // Broadcast answered by an orderer that cannot order yet.
    "SERVICE_UNAVAILABLE",
    "no Raft leader",
    // osnadmin against an admin endpoint that is not listening yet.
    "dial tcp",
];

/// Classifies a failed command by what it printed (stderr and stdout together).
pub fn classify(output: &str) -> Failure {
    if PERMANENT.iter().any(|p| output.contains(p)) {
        return Failure::Permanent;
    }
    match TRANSIENT.iter().find(|t| output.contains(*t)) {
        Some(cause) => Failure::Transient(cause),
        None => Failure::Permanent,
    }
}

/// Exponential backoff inside a fixed bound: 100 ms, doubling, at most 2 s a pause.
#[derive(Debug)]
pub struct Backoff {
    deadline: Instant,
    next: Duration,
    longest: Duration,
}

/// How long a command keeps being retried while it fails transiently. Long enough for a
/// busy machine (a peer that logged "Started" may need seconds to accept connections,
/// Raft needs a few ticks after an orderer is lost), short enough that a real outage is
/// reported while the user still waits.
pub const RETRY_BOUND: Duration = Duration::from_secs(60);

impl Backoff {
    pub fn new(bound: Duration) -> Backoff {
        Backoff {
            deadline: Instant::now() + bound,
            next: Duration::from_millis(100),
            longest: Duration::from_secs(2),
        }
    }

    /// For asking a peer's discovery service whether a state was reached (gossip
    /// membership, an endorsement plan) over gRPC: the answer is cheap and usually near
    /// (not for polls that start a CLI in a container: each costs CPU), so the
    /// pauses start at 20 ms and stay at 100 ms at most (an answer takes a few ms).
    pub fn polling(bound: Duration) -> Backoff {
        Backoff {
            deadline: Instant::now() + bound,
            next: Duration::from_millis(20),
            longest: Duration::from_millis(100),
        }
    }

    /// The pause before the next try, or None when the bound is spent.
    pub fn pause(&mut self) -> Option<Duration> {
        let left = self.deadline.checked_duration_since(Instant::now())?;
        if left.is_zero() {
            return None;
        }
        let pause = self.next.min(left);
        self.next = (self.next * 2).min(self.longest);
        Some(pause)
    }

    /// Sleeps the next pause; false (at once) when the bound is spent.
    pub async fn wait(&mut self) -> bool {
        match self.pause() {
            Some(pause) => {
                tokio::time::sleep(pause).await;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Lines in the form the Fabric 2.5 CLI prints them (the first is from a real failed
    // `up` under load; the others follow the message formats in Fabric's source).
    #[test]
    fn dial_timeouts_are_transient() {
        let join = "Error: error getting endorser client for channel: endorser client failed to connect to peer1.org5.example.com:7051: failed to create new connection: context deadline exceeded";
        assert_eq!(
            classify(join),
            Failure::Transient("failed to create new connection")
        );
        let approve = "Error: failed to retrieve endorser client for approveformyorg: endorser client failed to connect to peer0.org1.example.com:7051: failed to create new connection: connection error: desc = \"transport: error while dialing: dial tcp 172.18.0.5:7051: connect: connection refused\"";
        assert!(matches!(classify(approve), Failure::Transient(_)));
        let broadcast = "Error: error getting broadcast client: orderer client failed to connect to orderer.example.com:7050: failed to create new connection: context deadline exceeded";
        assert!(matches!(classify(broadcast), Failure::Transient(_)));
    }

    #[test]
    fn refused_and_unavailable_are_transient() {
        let osnadmin = "Error: Post \"https://orderer.example.com:7053/participation/v1/channels\": dial tcp 172.18.0.3:7053: connect: connection refused";
        assert!(matches!(classify(osnadmin), Failure::Transient(_)));
        let unavailable = "Error: error endorsing chaincode: rpc error: code = Unavailable desc = connection error: desc = \"transport: error while dialing: dial tcp: lookup peer0.org2.example.com on 127.0.0.11:53: no such host\"";
        assert!(matches!(classify(unavailable), Failure::Transient(_)));
    }

    #[test]
    fn no_raft_leader_is_transient() {
        let no_leader =
            "Error: failed to send transaction: got unexpected status: SERVICE_UNAVAILABLE -- no Raft leader";
        assert_eq!(
            classify(no_leader),
            Failure::Transient("SERVICE_UNAVAILABLE")
        );
    }

    #[test]
    fn arguments_policies_and_msp_errors_are_permanent() {
        for line in [
            "Error: unknown flag: --bogus",
            "Error: proposal failed with status: 500 - failed to invoke backing implementation of 'ApproveChaincodeDefinitionForMyOrg': attempted to redefine uncommitted sequence (2) for namespace examplecc with unchanged content",
            "Error: got unexpected status: FORBIDDEN -- implicit policy evaluation failed - 1 sub-policies were satisfied, but this policy requires 2 of the 'Writers' sub-policies to be satisfied",
            "Error: error endorsing chaincode: rpc error: code = Unknown desc = access denied: channel [channel1] creator org unknown, creator is malformed",
            "Error: failed to create signer: failed to load MSP: could not load a valid signer certificate from directory /fabx/admin/msp/signcerts",
            "Error: proposal failed with status: 500 - channel 'nochannel' not found",
            "Error: query failed with status: 404 - namespace examplecc is not defined",
        ] {
            assert_eq!(classify(line), Failure::Permanent, "{line}");
        }
    }

    #[test]
    fn an_unreachable_chaincode_server_is_permanent_though_it_names_a_refused_dial() {
        let line = "Error: endorsement failure during invoke. response: status:500 message:\"error in simulation: failed to execute transaction 1f0c: could not launch chaincode examplecc_1.0:9f2a: connection to examplecc_1.0:9f2a failed: error cannot create connection for examplecc_1.0:9f2a: error creating grpc connection to examplecc.org1.example.com:9999: failed to create new connection: connection error: desc = \\\"transport: error while dialing: dial tcp 172.18.0.9:9999: connect: connection refused\\\"\"";
        assert_eq!(classify(line), Failure::Permanent);
    }

    #[test]
    fn a_transaction_that_may_have_been_ordered_is_not_retried() {
        let line = "Error: timed out waiting for txid on all peers";
        assert_eq!(classify(line), Failure::Permanent);
    }

    #[test]
    fn backoff_doubles_and_stops_at_its_bound() {
        let mut backoff = Backoff::new(Duration::from_secs(60));
        let pauses: Vec<_> = (0..7).map(|_| backoff.pause().unwrap()).collect();
        assert_eq!(pauses[0], Duration::from_millis(100));
        assert_eq!(pauses[1], Duration::from_millis(200));
        assert_eq!(pauses[5], Duration::from_secs(2));
        assert_eq!(pauses[6], Duration::from_secs(2));
        let mut polling = Backoff::polling(Duration::from_secs(60));
        let pauses: Vec<Duration> = (0..6).map(|_| polling.pause().unwrap()).collect();
        assert_eq!(pauses[0], Duration::from_millis(20));
        assert_eq!(pauses[2], Duration::from_millis(80));
        assert_eq!(pauses[3], Duration::from_millis(100));
        assert_eq!(pauses[5], Duration::from_millis(100));
        let mut spent = Backoff::new(Duration::ZERO);
        assert_eq!(spent.pause(), None);
    }
}
