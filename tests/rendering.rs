//! What fabx renders for Fabric: configtx.yaml, the patched core.yaml, CLI invocations,
//! and how it reads CLI output.

use fabx::artifacts::channel_config::FabricMajor;
use fabx::artifacts::core_yaml::{patch_core_yaml, BUILDER_NAME};
use fabx::Topology;
use fabx_fabric::cli::lifecycle::LifecycleCommand;
use fabx_fabric::cli::peer_env;
use serde_norway::Value;

#[test]
fn configtx_has_every_org_and_consenter() {
    let topology = Topology::default_topology();
    let doc: Value = serde_norway::from_str(&fabx::artifacts::configtx::render(
        &topology,
        FabricMajor(2),
    ))
    .unwrap();
    let profile = &doc["Profiles"][fabx::artifacts::configtx::PROFILE];
    let orderer = &profile["Orderer"];
    assert_eq!(orderer["OrdererType"].as_str(), Some("etcdraft"));
    assert_eq!(orderer["BatchTimeout"].as_str(), Some("100ms"));
    let consenters = orderer["EtcdRaft"]["Consenters"].as_sequence().unwrap();
    let hosts: Vec<&str> = consenters
        .iter()
        .map(|c| c["Host"].as_str().unwrap())
        .collect();
    assert_eq!(
        hosts,
        [
            "orderer.example.com",
            "orderer2.example.com",
            "orderer3.example.com"
        ]
    );
    assert!(consenters.iter().all(|c| c["Port"].as_u64() == Some(7050)));
    assert_eq!(
        consenters[1]["ServerTLSCert"].as_str(),
        Some("/fabx/crypto/ordererOrganizations/example.com/orderers/orderer2.example.com/tls/server.crt")
    );
    let orderer_org = &orderer["Organizations"][0];
    assert_eq!(orderer_org["ID"].as_str(), Some("OrdererMSP"));
    assert_eq!(
        orderer_org["OrdererEndpoints"].as_sequence().unwrap().len(),
        3
    );
    assert!(
        orderer.get("Addresses").is_none(),
        "no global addresses (V3_0 rejects them)"
    );
    let orgs = profile["Application"]["Organizations"]
        .as_sequence()
        .unwrap();
    let ids: Vec<&str> = orgs.iter().map(|o| o["ID"].as_str().unwrap()).collect();
    assert_eq!(ids, ["Org1MSP", "Org2MSP"]);
    assert_eq!(
        orgs[1]["MSPDir"].as_str(),
        Some("/fabx/crypto/peerOrganizations/org2.example.com/msp")
    );
    assert_eq!(
        orgs[1]["AnchorPeers"][0]["Host"].as_str(),
        Some("peer0.org2.example.com")
    );
    assert_eq!(
        orgs[0]["Policies"]["Endorsement"]["Rule"].as_str(),
        Some("OR('Org1MSP.peer')")
    );
    assert_eq!(
        profile["Application"]["Policies"]["LifecycleEndorsement"]["Rule"].as_str(),
        Some("MAJORITY Endorsement")
    );
}

const CORE_YAML: &str = "
peer:
  id: jdoe
chaincode:
  externalBuilders:
    - name: ccaas_builder
      path: /opt/hyperledger/ccaas_builder
      propagateEnvironment:
        - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG
  mode: net
";

#[test]
fn core_yaml_gets_our_builder_first_and_keeps_the_image_ones() {
    let patched = patch_core_yaml(CORE_YAML).unwrap();
    let doc: Value = serde_norway::from_str(&patched).unwrap();
    let builders = doc["chaincode"]["externalBuilders"].as_sequence().unwrap();
    assert_eq!(builders.len(), 2);
    assert_eq!(builders[0]["name"].as_str(), Some(BUILDER_NAME));
    assert_eq!(builders[0]["path"].as_str(), Some("/fabx/builders"));
    assert_eq!(builders[1]["name"].as_str(), Some("ccaas_builder"));
    assert_eq!(doc["peer"]["id"].as_str(), Some("jdoe"));
    assert_eq!(doc["chaincode"]["mode"].as_str(), Some("net"));
    // Patching twice does not add the builder twice.
    assert_eq!(patch_core_yaml(&patched).unwrap(), patched);
}

#[test]
fn core_yaml_without_chaincode_section_is_an_error() {
    let err = patch_core_yaml("peer: {}\n").unwrap_err();
    assert!(err.to_string().contains("no chaincode section"), "{err}");
    assert!(patch_core_yaml("chaincode: [").is_err());
}

#[test]
fn builder_scripts_are_embedded() {
    let names: Vec<&str> = fabx::artifacts::core_yaml::BUILDER_SCRIPTS
        .iter()
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(names, ["detect", "build", "release"]);
    for (name, script) in fabx::artifacts::core_yaml::BUILDER_SCRIPTS {
        assert!(
            script.starts_with("#!/bin/sh"),
            "{name} must be a POSIX sh script"
        );
    }
}

#[test]
fn the_cli_acts_as_the_org_admin_of_the_peer_it_runs_in() {
    let topology = Topology::default_topology();
    let peer = &topology.peers()[1];
    let admin = fabx::network::cli_admin(peer);
    let env = peer_env(&admin, &LifecycleCommand::QueryInstalled);
    assert!(env.contains(&"FABRIC_LOGGING_SPEC=error".to_string()));
    assert!(env.contains(&"CORE_PEER_LOCALMSPID=Org2MSP".to_string()));
    assert!(env.contains(&"CORE_PEER_ADDRESS=peer0.org2.example.com:7051".to_string()));
    assert!(env.contains(&"CORE_PEER_MSPCONFIGPATH=/fabx/admin/msp".to_string()));
    // An install's package ID is only logged, at INFO.
    let install = LifecycleCommand::Install {
        package: "/p.tar.gz".into(),
    };
    assert!(peer_env(&admin, &install).contains(&"FABRIC_LOGGING_SPEC=grpc=error:info".to_string()));
}

#[test]
fn configtx_follows_the_fabric_release_and_consensus() {
    let mut topology = Topology::default_topology();
    let render = |t: &Topology, major| -> Value {
        serde_norway::from_str(&fabx::artifacts::configtx::render(t, FabricMajor(major))).unwrap()
    };
    let v2 = render(&topology, 2);
    let profile = &v2["Profiles"][fabx::artifacts::configtx::PROFILE];
    assert_eq!(profile["Capabilities"]["V2_0"].as_bool(), Some(true));
    assert!(profile["Orderer"].get("ConsenterMapping").is_none());
    let v3 = render(&topology, 3);
    assert_eq!(
        v3["Profiles"][fabx::artifacts::configtx::PROFILE]["Capabilities"]["V3_0"].as_bool(),
        Some(true)
    );

    topology.orderer.consensus = fabx::topology::Consensus::Bft;
    topology
        .orderer_org
        .orderers
        .push(fabx::topology::OrdererNode {
            name: "orderer4".into(),
            host_port: None,
            admin_host_port: None,
        });
    let bft = render(&topology, 3);
    let orderer = &bft["Profiles"][fabx::artifacts::configtx::PROFILE]["Orderer"];
    assert_eq!(orderer["OrdererType"].as_str(), Some("BFT"));
    assert!(orderer.get("EtcdRaft").is_none());
    let mapping = orderer["ConsenterMapping"].as_sequence().unwrap();
    assert_eq!(mapping.len(), 4);
    assert_eq!(mapping[3]["ID"].as_u64(), Some(4));
    assert_eq!(
        mapping[3]["Identity"].as_str(),
        Some("/fabx/crypto/ordererOrganizations/example.com/orderers/orderer4.example.com/msp/signcerts/orderer4.example.com-cert.pem")
    );
}
