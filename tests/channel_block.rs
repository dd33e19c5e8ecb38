//! fabx builds the channel's genesis block in process; Fabric's `configtxgen` builds one
//! from the `configtx.yaml` fabx writes for the same topology. Both are decoded with
//! `configtxlator proto_decode` (2.5 tools image) and must hold the same configuration:
//! only timestamps, nonces, the transaction ID and the data hash (which covers them) may
//! differ. Checked with Fabric 2.5 and 3.x channel capabilities. Skipped, with a SKIPPED
//! line, where the tools image is absent.

mod common;

use fabx::artifacts::channel_config::{genesis_block, FabricMajor};
use fabx::artifacts::layout::{container, Layout};
use fabx::engine::spec::{Bind, WorkloadSpec, LABEL_MANAGED, LABEL_NETWORK};
use fabx::Topology;
use serde_json::Value;
use std::collections::HashMap;

const TOOLS: &str = "hyperledger/fabric-tools:2.5";

#[tokio::test]
async fn fabx_block_equals_configtxgen_block() {
    const TEST: &str = "fabx_block_equals_configtxgen_block";
    let engine = common::engine().await;
    if !engine.image_present(TOOLS).await.unwrap() {
        return common::skipped(
            TEST,
            &format!("{TOOLS} is not present locally (configtxgen and configtxlator come from it)"),
        );
    }
    // Three orgs, two peers in one, three orderers: every kind of group is repeated.
    let mut topology = Topology::default_topology();
    let mut org3 = topology.orgs[1].clone();
    org3.msp_id = "Org3MSP".into();
    org3.domain = "org3.example.com".into();
    org3.peers.push(fabx::topology::PeerNode {
        name: "peer1".into(),
        host_port: None,
        couchdb_host_port: None,
    });
    topology.orgs.push(org3);

    let name = common::unique("fabx-block-test");
    let _cleanup = common::Cleanup {
        engine: engine.clone(),
        network: name.clone(),
    };
    for major in [2, 3] {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path().join("state"));
        fabx::artifacts::crypto::generate(&topology, &layout).unwrap();
        let configtx = fabx::artifacts::configtx::render(&topology, FabricMajor(major));
        std::fs::create_dir_all(layout.configtx()).unwrap();
        std::fs::write(layout.configtx().join("configtx.yaml"), configtx).unwrap();
        let ours = genesis_block(&topology, &layout, FabricMajor(major)).unwrap();
        std::fs::write(layout.root().join("fabx.block"), ours).unwrap();

        let tools = format!("{name}-{major}");
        let spec = WorkloadSpec {
            name: tools.clone(),
            image: TOOLS.into(),
            cmd: Some(vec!["sleep".into(), "600".into()]),
            labels: HashMap::from([
                (LABEL_MANAGED.to_string(), "test".to_string()),
                (LABEL_NETWORK.to_string(), name.clone()),
            ]),
            binds: vec![
                bind(&layout.crypto(), container::CRYPTO),
                bind(&layout.configtx(), container::CONFIGTX),
                bind(layout.root(), "/in"),
            ],
            network: "none".into(),
            ..Default::default()
        };
        engine.create_container(&spec).await.unwrap();
        engine.start_container(&tools).await.unwrap();
        let run = |script: String| {
            let engine = engine.clone();
            let tools = tools.clone();
            async move {
                let command = ["bash".to_string(), "-c".to_string(), script];
                let output = engine.exec(&tools, &command, &[]).await.unwrap();
                assert!(output.success(), "{}", output.printed());
                output.stdout
            }
        };
        run(format!(
            "configtxgen -configPath {} -profile {} -channelID channel1 -outputBlock /tmp/ref.block",
            container::CONFIGTX,
            fabx::artifacts::configtx::PROFILE
        ))
        .await;
        let reference =
            run("configtxlator proto_decode --type common.Block --input /tmp/ref.block".into())
                .await;
        let decoded =
            run("configtxlator proto_decode --type common.Block --input /in/fabx.block".into())
                .await;
        engine.remove_container(&tools).await.unwrap();

        let mut reference: Value = serde_json::from_str(&reference).unwrap();
        let mut decoded: Value = serde_json::from_str(&decoded).unwrap();
        for block in [&mut reference, &mut decoded] {
            forget_unique_fields(block);
        }
        let mut differences = Vec::new();
        diff("", &reference, &decoded, &mut differences);
        assert!(
            differences.is_empty(),
            "Fabric {major}: fabx's block differs from configtxgen's at:\n{}",
            differences.join("\n")
        );
        let groups = &decoded["data"]["data"][0]["payload"]["data"]["config"]["channel_group"];
        assert_eq!(
            groups["groups"]["Application"]["groups"]
                .as_object()
                .unwrap()
                .len(),
            3
        );
        common::report(&format!(
            "Fabric {major} capabilities: fabx block and configtxgen block decode to the same configuration"
        ));
    }
}

fn bind(host: &std::path::Path, container: &str) -> Bind {
    Bind {
        host: host.display().to_string(),
        container: container.to_string(),
        read_only: true,
    }
}

/// Drops what is unique to each block made: the header's time, nonce and transaction
/// ID, and the data hash that covers them.
fn forget_unique_fields(block: &mut Value) {
    block["header"]["data_hash"] = Value::Null;
    let header = &mut block["data"]["data"][0]["payload"]["header"];
    header["channel_header"]["timestamp"] = Value::Null;
    header["channel_header"]["tx_id"] = Value::Null;
    header["signature_header"]["nonce"] = Value::Null;
}

/// Every path where the two values differ, with both sides.
fn diff(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                let (va, vb) = (
                    x.get(key).unwrap_or(&Value::Null),
                    y.get(key).unwrap_or(&Value::Null),
                );
                diff(&format!("{path}.{key}"), va, vb, out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                diff(&format!("{path}[{i}]"), va, vb, out);
            }
        }
        _ if a != b => {
            let show = |v: &Value| v.to_string().chars().take(200).collect::<String>();
            out.push(format!(
                "{path}: configtxgen {} / fabx {}",
                show(a),
                show(b)
            ));
        }
        _ => {}
    }
}
