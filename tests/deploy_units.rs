//! Deploy building blocks that need no Docker: packages, lifecycle invocations, calls,
//! and reading the peer CLI's answers.

use fabx::artifacts::package::{validate_label, Package};
use fabx::network::invoke::{ctor_args, Call};
use fabx::Topology;
use fabx_fabric::cli::lifecycle::{Definition, Endorser, LifecycleCommand};
use fabx_fabric::cli::output::unquote;
use fabx_fabric::cli::PeerCli;
use fabx_fabric::policy::endorsement::EndorsementPolicy;
use flate2::read::GzDecoder;
use sha2::{Digest, Sha256};
use std::io::Read;

fn entries(gz: &[u8]) -> Vec<(String, Vec<u8>, u64, u32)> {
    let mut archive = tar::Archive::new(GzDecoder::new(gz));
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            let header = e.header();
            (
                e.path().unwrap().display().to_string(),
                data,
                header.mtime().unwrap(),
                header.mode().unwrap(),
            )
        })
        .collect()
}

#[test]
fn packages_are_deterministic_and_their_id_is_label_and_sha256() {
    let a = Package::ccaas("examplecc_1.0", "examplecc.org1.example.com:9999").unwrap();
    let b = Package::ccaas("examplecc_1.0", "examplecc.org1.example.com:9999").unwrap();
    assert_eq!(a.bytes, b.bytes);
    assert_eq!(a.id(), b.id());
    let digest = format!("{:x}", Sha256::digest(&a.bytes));
    assert_eq!(a.id(), format!("examplecc_1.0:{digest}"));
    // Another address (another org's server) is another package.
    let c = Package::ccaas("examplecc_1.0", "examplecc.org2.example.com:9999").unwrap();
    assert_ne!(a.id(), c.id());
    // The gzip header carries no time.
    assert_eq!(&a.bytes[4..8], &[0, 0, 0, 0]);
}

#[test]
fn package_layout_is_what_fabric_and_the_builder_expect() {
    let package = Package::ccaas("cc_2", "cc.org1.example.com:9999").unwrap();
    let outer = entries(&package.bytes);
    let names: Vec<&str> = outer.iter().map(|(n, ..)| n.as_str()).collect();
    assert_eq!(names, ["metadata.json", "code.tar.gz"]);
    assert!(outer
        .iter()
        .all(|(_, _, mtime, mode)| *mtime == 0 && *mode == 0o644));
    let metadata: serde_json::Value = serde_json::from_slice(&outer[0].1).unwrap();
    assert_eq!(
        metadata,
        serde_json::json!({ "type": "ccaas", "label": "cc_2", "path": "" })
    );
    let inner = entries(&outer[1].1);
    assert_eq!(inner.len(), 1);
    assert_eq!(inner[0].0, "connection.json");
    let connection: serde_json::Value = serde_json::from_slice(&inner[0].1).unwrap();
    assert_eq!(connection["address"], "cc.org1.example.com:9999");
    assert_eq!(connection["dial_timeout"], "10s");
    assert_eq!(connection["tls_required"], false);
}

#[test]
fn labels_follow_fabric_rule() {
    for ok in ["examplecc_1.0", "a", "A+b-c.d_e", "9x"] {
        assert!(validate_label(ok).is_ok(), "{ok}");
    }
    for bad in ["", "_x", "a b", "a:b", "a/b", "ünï"] {
        let err = validate_label(bad).unwrap_err();
        assert!(err.to_string().contains("invalid chaincode label"), "{bad}");
        assert!(Package::ccaas(bad, "h:1").is_err());
    }
}

#[test]
fn lifecycle_commands_render_the_peer_cli_arguments() {
    let topology = Topology::default_topology();
    let orderer = fabx::network::orderer_endpoint(&topology.orderers()[0]);
    assert_eq!(orderer.address, "orderer.example.com:7050");
    let definition = Definition {
        channel: "channel1".into(),
        name: "examplecc".into(),
        version: "1.0".into(),
        sequence: 3,
        init_required: true,
        policy: EndorsementPolicy::ChannelDefault,
        collections: None,
    };
    let approve = LifecycleCommand::Approve {
        orderer: orderer.clone(),
        definition: definition.clone(),
        package_id: "examplecc_1.0:ab".into(),
    };
    assert_eq!(
        approve.args().join(" "),
        "peer lifecycle chaincode approveformyorg -o orderer.example.com:7050 --tls --cafile /fabx/tlsca/example.com.pem \
         --connTimeout 10s --channelID channel1 --name examplecc --version 1.0 --sequence 3 --init-required --package-id examplecc_1.0:ab"
    );
    let endorsers: Vec<Endorser> = topology
        .peers()
        .iter()
        .map(fabx::network::endorser)
        .collect();
    let commit = LifecycleCommand::Commit {
        orderer: orderer.clone(),
        definition: Definition {
            init_required: false,
            policy: EndorsementPolicy::Signature("AND('Org1MSP.peer','Org2MSP.peer')".into()),
            collections: Some("/tmp/c.json".into()),
            ..definition
        },
        endorsers: endorsers.clone(),
    };
    let rendered = commit.args().join(" ");
    assert!(!rendered.contains("--init-required"));
    assert!(
        rendered.contains(
            "--sequence 3 --signature-policy AND('Org1MSP.peer','Org2MSP.peer') --collections-config /tmp/c.json"
        ),
        "{rendered}"
    );
    assert!(rendered.ends_with(
        "--peerAddresses peer0.org1.example.com:7051 --tlsRootCertFiles /fabx/tlsca/org1.example.com.pem \
         --peerAddresses peer0.org2.example.com:7051 --tlsRootCertFiles /fabx/tlsca/org2.example.com.pem"
    ), "{rendered}");
    assert_eq!(
        LifecycleCommand::QueryApproved {
            channel: "c".into(),
            name: "n".into(),
            sequence: 2
        }
        .args()
        .join(" "),
        "peer lifecycle chaincode queryapproved --channelID c --name n --sequence 2 -O json"
    );
}

#[test]
fn calls_from_arguments_or_ctor_json() {
    assert_eq!(
        Call::new("query", &["a".into()]).0,
        r#"{"Args":["query","a"]}"#
    );
    assert_eq!(
        Call::new("put", &["k\"q".into()]).0,
        r#"{"Args":["put","k\"q"]}"#
    );
    assert!(Call::from_ctor(r#"{"Args":["query","a"]}"#).is_ok());
    assert!(Call::from_ctor(r#"{"function":"query","Args":["a"]}"#).is_ok());
    // As the peer CLI reads a constructor: Function first, keys in any case.
    assert_eq!(
        ctor_args(r#"{"function":"query","Args":["a"]}"#).unwrap(),
        vec![b"query".to_vec(), b"a".to_vec()]
    );
    assert_eq!(
        ctor_args(r#"{"args":["invoke","a","b","1"]}"#)
            .unwrap()
            .len(),
        4
    );
    for bad in [
        r#"{"Args":"query"}"#,
        "[1]",
        "{",
        r#"{"X":[]}"#,
        r#"{"Args":[1]}"#,
    ] {
        let err = Call::from_ctor(bad).unwrap_err().to_string();
        assert!(
            err.contains("--ctor") && err.contains(r#"give JSON such as {"Args":["query","a"]}"#),
            "{err}"
        );
    }
}

#[test]
fn protobuf_text_strings_are_unquoted() {
    assert_eq!(unquote(r#""a\"b\\c\nd\303\251" trailing"#), "a\"b\\c\ndé");
    assert_eq!(unquote("bare"), "bare");
}

#[test]
fn chaincode_errors_carry_the_chaincode_message() {
    let line = r#"Error: endorsement failure during invoke. response: status:500 message:"Incorrect number of arguments. Expecting 3" "#;
    let err = fabx::network::deploy::chaincode_error("examplecc", line);
    assert_eq!(
        err.to_string(),
        "chaincode examplecc failed: Incorrect number of arguments. Expecting 3"
    );
    let other = fabx::network::deploy::chaincode_error("cc", "Error: failed to connect");
    assert_eq!(other.to_string(), "chaincode cc failed: failed to connect");
    let down = r#"Error: endorsement failure during invoke. response: status:500 message:"error in simulation: failed to execute transaction 4ee1: could not launch chaincode examplecc_1.0:3f9c: connection to examplecc_1.0:3f9c failed: error cannot create connection for examplecc_1.0:3f9c: error creating grpc connection to examplecc.org1.example.com:9999: failed to create new connection: connection error: desc = \"transport: error while dialing: dial tcp: lookup examplecc.org1.example.com on 127.0.0.11:53: no such host\"""#;
    let err = fabx::network::deploy::chaincode_error("examplecc", down).to_string();
    assert!(err.starts_with("chaincode examplecc is not reachable: the peer cannot connect to its server (transport: error while dialing: dial tcp: lookup examplecc.org1.example.com"), "{err}");
    assert!(
        err.ends_with("run `fabx deploy examplecc` again to restart its containers"),
        "{err}"
    );
}

#[test]
fn lifecycle_json_is_read_strictly() {
    use fabx_fabric::cli::output::{parse_approvals, parse_approved_package, parse_committed};
    let committed = parse_committed(r#"{"sequence":2,"version":"1.1","endorsement_plugin":"escc","validation_plugin":"vscc","validation_parameter":"EiAvQ2hhbm5lbC9BcHBsaWNhdGlvbi9FbmRvcnNlbWVudA==","collections":{},"init_required":true,"approvals":{"Org1MSP":true,"Org2MSP":true}}"#).unwrap();
    assert_eq!(
        (
            committed.sequence,
            committed.version.as_str(),
            committed.init_required
        ),
        (2, "1.1", true)
    );
    // Fabric leaves false fields out.
    let plain = parse_committed(r#"{"sequence":1,"version":"1.0","approvals":{}}"#).unwrap();
    assert!(!plain.init_required);
    // Anything else is not guessed at: no sequence 0, no empty version.
    assert_eq!(
        parse_committed("Committed chaincode definition for chaincode 'cc' on channel 'c':"),
        None
    );
    assert_eq!(parse_committed(r#"{"version":"1.0"}"#), None);
    assert_eq!(parse_committed(r#"{"sequence":"1","version":"1.0"}"#), None);

    let approvals = parse_approvals(r#"{"approvals":{"Org1MSP":true,"Org2MSP":false}}"#).unwrap();
    assert_eq!(approvals.get("Org1MSP"), Some(&true));
    assert_eq!(approvals.get("Org2MSP"), Some(&false));
    assert_eq!(parse_approvals("Chaincode definition for chaincode 'cc', version '1.0', sequence '1' on channel 'c' approval status by org:"), None);
    assert_eq!(parse_approvals(r#"{"approvals":{"Org1MSP":"yes"}}"#), None);

    let approved = r#"{"sequence":1,"version":"1.0","endorsement_plugin":"escc","validation_plugin":"vscc","validation_parameter":"","collections":{},"source":{"Type":{"LocalPackage":{"package_id":"cc_1.0:ab12"}}}}"#;
    assert_eq!(
        parse_approved_package(approved),
        Some(Some("cc_1.0:ab12".to_string()))
    );
    assert_eq!(
        parse_approved_package(r#"{"sequence":1,"source":{"Type":{"Unavailable":{}}}}"#),
        Some(None)
    );
    assert_eq!(parse_approved_package(r#"{"sequence":1}"#), None);
}

#[test]
fn the_installed_package_id_is_read_from_install_output() {
    use fabx_fabric::cli::output::installed_package_id;
    let fresh = "2026-11-21 INFO [cli.lifecycle.chaincode] submitInstallProposal -> Chaincode code package identifier: cc_1.0:abc123\n";
    assert_eq!(
        installed_package_id(fresh).as_deref(),
        Some("cc_1.0:abc123")
    );
    let again = "Error: chaincode install failed with status: 500 - failed to invoke backing implementation of 'InstallChaincode': chaincode already successfully installed (package ID 'cc_1.0:abc123')\n";
    assert_eq!(
        installed_package_id(again).as_deref(),
        Some("cc_1.0:abc123")
    );
    assert_eq!(
        installed_package_id("Error: failed to read chaincode package"),
        None
    );
}
