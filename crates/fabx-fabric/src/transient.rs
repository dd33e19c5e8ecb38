//! The one rule of what is transient in Fabric: a failure that may succeed when tried
//! again, because the request never reached its target or the target could not take it
//! yet (a dial that timed out or was refused, gRPC `Unavailable`, an ordering service
//! with no leader yet). Trying such a request again is safe: nothing was sent, or the
//! orderer refused it before ordering. Everything else is permanent: bad arguments,
//! policy and MSP errors, chaincode errors, and anything ambiguous (a transaction that
//! may have been ordered is never sent twice).
//!
//! gRPC failures are judged by their code ([`code_is_transient`], used by
//! [`crate::FabricError::is_transient`]); what the `peer` CLI printed, by its phrases
//! ([`classify`]); a peer's failure to reach a chaincode server, by [`DIAL_FAILURES`].

/// gRPC codes that say "ask again later": the node is starting, restarting or overloaded.
pub fn code_is_transient(code: tonic::Code) -> bool {
    matches!(
        code,
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded
    )
}

/// How a dial that did not connect ends, in the messages of Go's net package and gRPC.
pub const DIAL_FAILURES: [&str; 5] = [
    "connection refused",
    "no such host",
    "context deadline exceeded",
    "i/o timeout",
    "no route to host",
];

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

/// Classifies a failed `peer` CLI command by what it printed (stderr and stdout together).
pub fn classify(output: &str) -> Failure {
    if PERMANENT.iter().any(|p| output.contains(p)) {
        return Failure::Permanent;
    }
    match TRANSIENT.iter().find(|t| output.contains(*t)) {
        Some(cause) => Failure::Transient(cause),
        None => Failure::Permanent,
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
}
