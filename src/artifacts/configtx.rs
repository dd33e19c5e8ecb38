//! `configtx.yaml` describing the channel, rendered from the topology and written to the
//! state directory for users who change the channel later with Fabric's tools.
//!
//! fabx itself builds the genesis block in process ([`crate::artifacts::channel_config`]); a test
//! runs `configtxgen -outputBlock` on this file and checks that both blocks decode to the
//! same configuration. There is no system channel: the one profile describes an
//! application channel. Paths are those seen inside containers (`/fabx/crypto/...`).

use crate::artifacts::channel_config::FabricMajor;
use crate::artifacts::layout::container;
use crate::topology::{ports, Consensus, NodeKind, Topology};
use serde_json::{json, Value};

/// The profile name passed to `configtxgen -profile`.
pub const PROFILE: &str = "FabxChannel";

fn msp_dir(kind: NodeKind, domain: &str) -> String {
    let group = match kind {
        NodeKind::Orderer => "ordererOrganizations",
        NodeKind::Peer => "peerOrganizations",
    };
    format!("{}/{group}/{domain}/msp", container::CRYPTO)
}

fn signature(rule: String) -> Value {
    json!({ "Type": "Signature", "Rule": rule })
}

fn implicit(rule: &str) -> Value {
    json!({ "Type": "ImplicitMeta", "Rule": rule })
}

/// Renders configtx.yaml for channels of Fabric `fabric`'s capabilities.
pub fn render(topology: &Topology, fabric: FabricMajor) -> String {
    let oo = &topology.orderer_org;
    let orderers = topology.orderers();
    let orderer_org = json!({
        "Name": oo.msp_id,
        "ID": oo.msp_id,
        "MSPDir": msp_dir(NodeKind::Orderer, &oo.domain),
        "Policies": {
            "Readers": signature(format!("OR('{}.member')", oo.msp_id)),
            "Writers": signature(format!("OR('{}.member')", oo.msp_id)),
            "Admins": signature(format!("OR('{}.admin')", oo.msp_id)),
        },
        // Per-org endpoints: the global Orderer.Addresses is rejected by V3_0 channels.
        "OrdererEndpoints": orderers.iter().map(|o| o.address()).collect::<Vec<_>>(),
    });
    let peer_orgs: Vec<Value> = topology
        .orgs
        .iter()
        .map(|org| {
            let id = &org.msp_id;
            let anchor = org.peers.first().map(|p| format!("{}.{}", p.name, org.domain));
            json!({
                "Name": id,
                "ID": id,
                "MSPDir": msp_dir(NodeKind::Peer, &org.domain),
                "Policies": {
                    "Readers": signature(format!("OR('{id}.admin', '{id}.peer', '{id}.client')")),
                    "Writers": signature(format!("OR('{id}.admin', '{id}.client')")),
                    "Admins": signature(format!("OR('{id}.admin')")),
                    "Endorsement": signature(format!("OR('{id}.peer')")),
                },
                "AnchorPeers": anchor.map(|host| vec![json!({ "Host": host, "Port": ports::PEER })]),
            })
        })
        .collect();
    let node_dir = |o: &crate::topology::Node| {
        format!(
            "{}/ordererOrganizations/{}/orderers/{}",
            container::CRYPTO,
            o.domain,
            o.host
        )
    };
    let consenters: Vec<Value> = orderers
        .iter()
        .map(|o| {
            let tls = format!("{}/tls/server.crt", node_dir(o));
            json!({ "Host": o.host, "Port": ports::ORDERER, "ClientTLSCert": tls, "ServerTLSCert": tls })
        })
        .collect();
    let consenter_mapping: Vec<Value> = orderers
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let tls = format!("{}/tls/server.crt", node_dir(o));
            let identity = format!("{}/msp/signcerts/{}-cert.pem", node_dir(o), o.host);
            json!({ "ID": i + 1, "Host": o.host, "Port": ports::ORDERER, "MSPID": o.msp_id,
                    "ClientTLSCert": tls, "ServerTLSCert": tls, "Identity": identity })
        })
        .collect();
    let settings = &topology.orderer;
    let common_policies = json!({
        "Readers": implicit("ANY Readers"),
        "Writers": implicit("ANY Writers"),
        "Admins": implicit("MAJORITY Admins"),
    });
    let mut orderer_policies = common_policies.clone();
    orderer_policies["BlockValidation"] = implicit("ANY Writers");
    let mut application_policies = common_policies.clone();
    application_policies["LifecycleEndorsement"] = implicit("MAJORITY Endorsement");
    application_policies["Endorsement"] = implicit("MAJORITY Endorsement");

    let mut doc = json!({
        "Profiles": {
            PROFILE: {
                "Policies": common_policies,
                "Capabilities": { fabric.channel_capability(): true },
                "Orderer": {
                    "OrdererType": settings.consensus.name(),
                    "EtcdRaft": {
                        "Consenters": consenters,
                        "Options": {
                            "TickInterval": settings.tick_interval,
                            "ElectionTick": settings.election_tick,
                            "HeartbeatTick": 1,
                            "MaxInflightBlocks": 5,
                            "SnapshotIntervalSize": "16 MB",
                        },
                    },
                    "BatchTimeout": settings.batch_timeout,
                    "BatchSize": {
                        "MaxMessageCount": settings.max_message_count,
                        "AbsoluteMaxBytes": "99 MB",
                        "PreferredMaxBytes": "512 KB",
                    },
                    "Organizations": [orderer_org],
                    "Policies": orderer_policies,
                    "Capabilities": { "V2_0": true },
                },
                "Application": {
                    "Organizations": peer_orgs,
                    "Policies": application_policies,
                    "Capabilities": { "V2_5": true },
                },
            }
        }
    });
    if settings.consensus == Consensus::Bft {
        // Only Fabric 3's configtxgen knows these keys; 2.5's rejects unknown ones.
        let orderer = &mut doc["Profiles"][PROFILE]["Orderer"];
        orderer["ConsenterMapping"] = json!(consenter_mapping);
        orderer["SmartBFT"] = json!({
            "RequestBatchMaxCount": settings.max_message_count.max(1),
            "RequestBatchMaxInterval": settings.batch_timeout,
            "LeaderRotation": "ROTATION_OFF",
        });
        if let Some(options) = orderer.as_object_mut() {
            options.remove("EtcdRaft");
        }
    }
    serde_norway::to_string(&doc).expect("configtx values are plain YAML")
}
