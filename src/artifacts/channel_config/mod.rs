//! The channel's genesis block, built in process from the topology: the same block
//! `configtxgen -outputBlock` makes from fabx's `configtx.yaml` (a test decodes both with
//! `configtxlator` and compares them), with no container involved.
//!
//! The layout follows Fabric's `configtxgen` encoder: a channel group with the hashing
//! values, capabilities and implicit-meta policies; an orderer group with batch settings,
//! the consensus type (etcdraft consenters, or BFT options plus the consenter mapping and
//! a block validation policy computed from it) and the orderer org; an application group
//! with every peer org (MSP, policies, anchor peer). Every mod_policy is `Admins`.

mod msp;

use crate::artifacts::layout::Layout;
use crate::topology::{parse_duration_ms, ports, Consensus, Node, NodeKind, Topology};
use fabx_fabric::envelope::config_block;
use fabx_fabric::policy::{implicit_meta, signature, PolicyError};
use fabx_fabric::protos::common::{msp_principal, policy as policy_proto, signature_policy};
use fabx_fabric::protos::common::{
    BlockDataHashingStructure, Capabilities, Capability, ConfigGroup, ConfigPolicy, ConfigValue,
    Consenter, HashingAlgorithm, MspPrincipal, OrdererAddresses, Orderers, Policy, SignaturePolicy,
    SignaturePolicyEnvelope,
};
use fabx_fabric::protos::msp::SerializedIdentity;
use fabx_fabric::protos::orderer::smartbft;
use fabx_fabric::protos::orderer::{BatchSize, BatchTimeout, ChannelRestrictions, ConsensusType};
use fabx_fabric::protos::{etcdraft, protos};
use prost::Message;

use std::collections::HashMap;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("MSP directory {dir}: {problem}")]
    Msp { dir: PathBuf, problem: String },
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("orderer.{field}: {value:?} is not a duration such as 100ms or 2s")]
    Duration { field: &'static str, value: String },
}

const ADMINS: &str = "Admins";
const MIB: u32 = 1024 * 1024;

/// Fabric's major release the channel is made for: it decides the channel capability
/// (`V2_0` or `V3_0`; BFT needs `V3_0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FabricMajor(pub u32);

impl FabricMajor {
    pub fn channel_capability(self) -> &'static str {
        if self.0 >= 3 {
            "V3_0"
        } else {
            "V2_0"
        }
    }
}

/// The serialized genesis block of the topology's channel.
pub fn genesis_block(
    topology: &Topology,
    layout: &Layout,
    fabric: FabricMajor,
) -> Result<Vec<u8>, ConfigError> {
    let group = channel_group(topology, layout, fabric)?;
    Ok(config_block(&topology.channel, group).encode_to_vec())
}

/// `/Channel`: what the block's config holds.
pub fn channel_group(
    topology: &Topology,
    layout: &Layout,
    fabric: FabricMajor,
) -> Result<ConfigGroup, ConfigError> {
    let mut channel = group();
    add_common_policies(&mut channel)?;
    add_value(
        &mut channel,
        "HashingAlgorithm",
        &HashingAlgorithm {
            name: "SHA256".into(),
        },
    );
    add_value(
        &mut channel,
        "BlockDataHashingStructure",
        &BlockDataHashingStructure { width: u32::MAX },
    );
    add_value(
        &mut channel,
        "Capabilities",
        &capabilities(fabric.channel_capability()),
    );
    channel
        .groups
        .insert("Orderer".into(), orderer_group(topology, layout)?);
    channel
        .groups
        .insert("Application".into(), application_group(topology, layout)?);
    Ok(channel)
}

fn orderer_group(topology: &Topology, layout: &Layout) -> Result<ConfigGroup, ConfigError> {
    let settings = &topology.orderer;
    let mut orderer = group();
    add_common_policies(&mut orderer)?;
    add_policy(
        &mut orderer,
        "BlockValidation",
        implicit_meta("ANY Writers")?,
    );
    add_value(
        &mut orderer,
        "BatchSize",
        &BatchSize {
            max_message_count: settings.max_message_count,
            absolute_max_bytes: 99 * MIB,
            preferred_max_bytes: 512 * 1024,
        },
    );
    add_value(
        &mut orderer,
        "BatchTimeout",
        &BatchTimeout {
            timeout: go_duration("batch_timeout", &settings.batch_timeout)?,
        },
    );
    add_value(
        &mut orderer,
        "ChannelRestrictions",
        &ChannelRestrictions { max_count: 0 },
    );
    add_value(&mut orderer, "Capabilities", &capabilities("V2_0"));

    let orderers = topology.orderers();
    let (consensus_type, metadata) = match settings.consensus {
        Consensus::Etcdraft => ("etcdraft", etcdraft_metadata(topology, layout)?),
        Consensus::Bft => {
            let consenters = bft_consenters(topology, layout)?;
            add_policy(
                &mut orderer,
                "BlockValidation",
                bft_block_validation(&consenters),
            );
            add_value(
                &mut orderer,
                "Orderers",
                &Orderers {
                    consenter_mapping: consenters,
                },
            );
            ("BFT", bft_options(topology)?.encode_to_vec())
        }
    };
    add_value(
        &mut orderer,
        "ConsensusType",
        &ConsensusType {
            r#type: consensus_type.into(),
            metadata,
            state: 0, // NORMAL
        },
    );

    let oo = &topology.orderer_org;
    let mut org = org_group(
        layout,
        NodeKind::Orderer,
        &oo.domain,
        &oo.msp_id,
        &[
            ("Readers", format!("OR('{}.member')", oo.msp_id)),
            ("Writers", format!("OR('{}.member')", oo.msp_id)),
            ("Admins", format!("OR('{}.admin')", oo.msp_id)),
        ],
    )?;
    // Per-org endpoints: the global OrdererAddresses value is rejected by V3_0 channels.
    add_value(
        &mut org,
        "Endpoints",
        &OrdererAddresses {
            addresses: orderers.iter().map(|o| o.address()).collect(),
        },
    );
    orderer.groups.insert(oo.msp_id.clone(), org);
    Ok(orderer)
}

/// An orderer's TLS certificate, which it uses as server and as cluster client.
fn orderer_tls_cert(layout: &Layout, orderer: &Node) -> Result<Vec<u8>, ConfigError> {
    read(layout.node_dir(orderer).join("tls").join("server.crt"))
}

fn read(path: PathBuf) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(&path).map_err(|source| ConfigError::Read { path, source })
}

/// etcdraft's consenters (host, port, TLS certificates) and options.
fn etcdraft_metadata(topology: &Topology, layout: &Layout) -> Result<Vec<u8>, ConfigError> {
    let settings = &topology.orderer;
    let consenters = topology
        .orderers()
        .iter()
        .map(|o| {
            let tls = orderer_tls_cert(layout, o)?;
            Ok(etcdraft::Consenter {
                host: o.host.clone(),
                port: u32::from(ports::ORDERER),
                client_tls_cert: tls.clone(),
                server_tls_cert: tls,
            })
        })
        .collect::<Result<Vec<_>, ConfigError>>()?;
    let metadata = etcdraft::ConfigMetadata {
        consenters,
        options: Some(etcdraft::Options {
            tick_interval: settings.tick_interval.clone(),
            election_tick: settings.election_tick,
            heartbeat_tick: 1,
            max_inflight_blocks: 5,
            snapshot_interval_size: 16 * MIB,
        }),
    };
    Ok(metadata.encode_to_vec())
}

/// BFT's consenter mapping: IDs from 1, each orderer's enrollment certificate as its
/// identity, its TLS certificate as client and server certificate.
fn bft_consenters(topology: &Topology, layout: &Layout) -> Result<Vec<Consenter>, ConfigError> {
    (1..)
        .zip(topology.orderers())
        .map(|(id, o)| {
            let signcerts = layout.node_dir(&o).join("msp").join("signcerts");
            let tls = orderer_tls_cert(layout, &o)?;
            Ok(Consenter {
                id,
                port: u32::from(ports::ORDERER),
                msp_id: o.msp_id.clone(),
                identity: read(signcerts.join(format!("{}-cert.pem", o.host)))?,
                client_tls_cert: tls.clone(),
                server_tls_cert: tls,
                host: o.host,
            })
        })
        .collect()
}

/// SmartBFT options: Fabric's defaults, with block cutting taken from the topology's
/// orderer settings (a block per `max_message_count` requests or `batch_timeout`).
fn bft_options(topology: &Topology) -> Result<smartbft::Options, ConfigError> {
    let settings = &topology.orderer;
    Ok(smartbft::Options {
        request_batch_max_count: u64::from(settings.max_message_count.max(1)),
        request_batch_max_bytes: 10 * u64::from(MIB),
        request_batch_max_interval: go_duration("batch_timeout", &settings.batch_timeout)?,
        incoming_message_buffer_size: 200,
        request_pool_size: 100_000,
        request_forward_timeout: "2s".into(),
        request_complain_timeout: "20s".into(),
        request_auto_remove_timeout: "3m0s".into(),
        request_max_bytes: 10 * u64::from(MIB),
        view_change_resend_interval: "5s".into(),
        view_change_timeout: "20s".into(),
        leader_heartbeat_timeout: "1m0s".into(),
        leader_heartbeat_count: 10,
        collect_timeout: "1s".into(),
        sync_on_start: false,
        speed_up_view_change: false,
        leader_rotation: smartbft::options::Rotation::Off as i32,
        decisions_per_leader: 3,
    })
}

/// Fabric's `EncodeBFTBlockVerificationPolicy`: a block needs signatures of a quorum of
/// consenter identities, quorum = ceil((n + f + 1) / 2) with f = (n - 1) / 3.
fn bft_block_validation(consenters: &[Consenter]) -> Policy {
    let n = consenters.len();
    let f = n.saturating_sub(1) / 3;
    let quorum = (n + f + 1).div_ceil(2);
    let identities = consenters
        .iter()
        .map(|c| MspPrincipal {
            principal_classification: msp_principal::Classification::Identity as i32,
            principal: SerializedIdentity {
                mspid: c.msp_id.clone(),
                id_bytes: c.identity.clone(),
            }
            .encode_to_vec(),
        })
        .collect();
    let rules = (0..n)
        .map(|i| SignaturePolicy {
            r#type: Some(signature_policy::Type::SignedBy(i as i32)),
        })
        .collect();
    let envelope = SignaturePolicyEnvelope {
        version: 0,
        rule: Some(SignaturePolicy {
            r#type: Some(signature_policy::Type::NOutOf(signature_policy::NOutOf {
                n: quorum as i32,
                rules,
            })),
        }),
        identities,
    };
    Policy {
        r#type: policy_proto::PolicyType::Signature as i32,
        value: envelope.encode_to_vec(),
    }
}

fn application_group(topology: &Topology, layout: &Layout) -> Result<ConfigGroup, ConfigError> {
    let mut application = group();
    add_common_policies(&mut application)?;
    add_policy(
        &mut application,
        "LifecycleEndorsement",
        implicit_meta("MAJORITY Endorsement")?,
    );
    add_policy(
        &mut application,
        "Endorsement",
        implicit_meta("MAJORITY Endorsement")?,
    );
    add_value(&mut application, "Capabilities", &capabilities("V2_5"));
    for org in &topology.orgs {
        let id = &org.msp_id;
        let mut group = org_group(
            layout,
            NodeKind::Peer,
            &org.domain,
            id,
            &[
                (
                    "Readers",
                    format!("OR('{id}.admin', '{id}.peer', '{id}.client')"),
                ),
                ("Writers", format!("OR('{id}.admin', '{id}.client')")),
                ("Admins", format!("OR('{id}.admin')")),
                ("Endorsement", format!("OR('{id}.peer')")),
            ],
        )?;
        if let Some(anchor) = org.peers.first() {
            add_value(
                &mut group,
                "AnchorPeers",
                &protos::AnchorPeers {
                    anchor_peers: vec![protos::AnchorPeer {
                        host: format!("{}.{}", anchor.name, org.domain),
                        port: i32::from(ports::PEER),
                    }],
                },
            );
        }
        application.groups.insert(id.clone(), group);
    }
    Ok(application)
}

fn org_group(
    layout: &Layout,
    kind: NodeKind,
    domain: &str,
    msp_id: &str,
    policies: &[(&str, String)],
) -> Result<ConfigGroup, ConfigError> {
    let mut org = group();
    for (name, rule) in policies {
        add_policy(&mut org, name, signature(rule)?);
    }
    let dir = layout.org_dir(kind, domain).join("msp");
    add_value(&mut org, "MSP", &msp::verifying_msp_config(&dir, msp_id)?);
    Ok(org)
}

/// Readers, Writers and Admins of a channel, orderer or application group.
fn add_common_policies(group: &mut ConfigGroup) -> Result<(), ConfigError> {
    add_policy(group, "Readers", implicit_meta("ANY Readers")?);
    add_policy(group, "Writers", implicit_meta("ANY Writers")?);
    add_policy(group, "Admins", implicit_meta("MAJORITY Admins")?);
    Ok(())
}

fn group() -> ConfigGroup {
    ConfigGroup {
        mod_policy: ADMINS.into(),
        ..Default::default()
    }
}

fn add_value(group: &mut ConfigGroup, key: &str, value: &impl Message) {
    group.values.insert(
        key.into(),
        ConfigValue {
            version: 0,
            value: value.encode_to_vec(),
            mod_policy: ADMINS.into(),
        },
    );
}

fn config_policy(policy: Policy) -> ConfigPolicy {
    ConfigPolicy {
        version: 0,
        policy: Some(policy),
        mod_policy: ADMINS.into(),
    }
}

fn add_policy(group: &mut ConfigGroup, key: &str, policy: Policy) {
    group.policies.insert(key.into(), config_policy(policy));
}

fn capabilities(name: &str) -> Capabilities {
    Capabilities {
        capabilities: HashMap::from([(name.to_string(), Capability {})]),
    }
}

/// A duration as Go's `time.Duration.String()` prints it (`100ms`, `2s`, `1m30s`), which
/// is what configtxgen stores.
fn go_duration(field: &'static str, text: &str) -> Result<String, ConfigError> {
    let ms = parse_duration_ms(text).ok_or_else(|| ConfigError::Duration {
        field,
        value: text.to_string(),
    })?;
    Ok(format_go_duration(ms))
}

fn format_go_duration(ms: u64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (hours, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (minutes, rest) = (rest / 60_000, rest % 60_000);
    let seconds = if rest % 1000 == 0 {
        format!("{}s", rest / 1000)
    } else {
        let text = format!("{}.{:03}", rest / 1000, rest % 1000);
        format!("{}s", text.trim_end_matches('0'))
    };
    match (hours, minutes) {
        (0, 0) => seconds,
        (0, m) => format!("{m}m{seconds}"),
        (h, m) => format!("{h}h{m}m{seconds}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_go_does() {
        for (ms, text) in [
            (100, "100ms"),
            (2000, "2s"),
            (1500, "1.5s"),
            (60_000, "1m0s"),
            (180_000, "3m0s"),
            (3_661_000, "1h1m1s"),
            (0, "0s"),
        ] {
            assert_eq!(format_go_duration(ms), text);
        }
    }

    #[test]
    fn bft_quorum_is_fabrics() {
        let consenters = |n: usize| vec![Consenter::default(); n];
        let quorum = |n| {
            let policy = bft_block_validation(&consenters(n));
            let env = SignaturePolicyEnvelope::decode(policy.value.as_slice()).unwrap();
            match env.rule.unwrap().r#type.unwrap() {
                signature_policy::Type::NOutOf(n) => n.n,
                _ => unreachable!(),
            }
        };
        assert_eq!(quorum(4), 3);
        assert_eq!(quorum(5), 4);
        assert_eq!(quorum(7), 5);
    }
}
