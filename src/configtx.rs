//! `configtx.yaml` for the channel's genesis block, rendered from the topology.
//!
//! There is no system channel: the one profile describes an application channel with an
//! etcdraft orderer section, so `configtxgen -outputBlock` gives the block that orderers
//! join through channel participation and peers join with `peer channel join`.
//! Paths are those seen inside the tools container, where configtxgen runs.

use crate::layout::container;
use crate::topology::{ports, NodeKind, Topology};
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

/// Renders configtx.yaml.
pub fn render(topology: &Topology) -> String {
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
    let consenters: Vec<Value> = orderers
        .iter()
        .map(|o| {
            let tls = format!(
                "{}/ordererOrganizations/{}/orderers/{}/tls/server.crt",
                container::CRYPTO,
                o.domain,
                o.host
            );
            json!({ "Host": o.host, "Port": ports::ORDERER, "ClientTLSCert": tls, "ServerTLSCert": tls })
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

    let doc = json!({
        "Profiles": {
            PROFILE: {
                "Policies": common_policies,
                "Capabilities": { "V2_0": true },
                "Orderer": {
                    "OrdererType": "etcdraft",
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
    serde_yaml::to_string(&doc).expect("configtx values are plain YAML")
}
