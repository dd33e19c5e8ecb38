//! Several channels and endorsement policies on real Fabric images: three orgs, `c12`
//! with Org1 and Org2, `c23` with Org2 and Org3. Prints SKIPPED without the images.

mod common;

use fabx::harness::TestNetwork;
use fabx::network::deploy::{DeployRequest, Source};
use fabx::network::invoke::CallOptions;
use fabx::Error;
use fabx_fabric::policy::endorsement::EndorsementPolicy;

const EXAMPLECC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/chaincode/examplecc");

fn examplecc(channel: &str, init: &[&str], policy: EndorsementPolicy) -> DeployRequest {
    let mut request = DeployRequest::new("examplecc", Source::Directory(EXAMPLECC.into()));
    request.channel = Some(channel.into());
    request.init = Some(init.iter().map(|s| s.to_string()).collect());
    request.endorsement = policy;
    request
}

fn on(channel: &str) -> CallOptions {
    CallOptions::default().channel(channel)
}

#[tokio::test]
async fn two_channels_with_their_own_values_and_endorsement_policies() {
    let builder = TestNetwork::builder()
        .orgs(3)
        .orderers(1)
        .channel_of("c12", &["Org1MSP", "Org2MSP"])
        .channel_of("c23", &["Org2MSP", "Org3MSP"]);
    let topology = builder.build().unwrap();
    if let Some(reason) = common::missing_fabric_images(&topology).await {
        common::skipped(
            "two_channels_with_their_own_values_and_endorsement_policies",
            &reason,
        );
        return;
    }
    let net = builder.start().await.unwrap();
    let network = net.network();

    // Each peer joined exactly the channels of its org; the orderer serves both.
    let status = network.status().await.unwrap();
    for node in &status.nodes {
        let mut joined: Vec<&str> = node.channels.iter().map(|c| c.name.as_str()).collect();
        joined.sort();
        let expected: &[&str] = match node.msp_id.as_str() {
            "Org1MSP" => &["c12"],
            "Org3MSP" => &["c23"],
            _ => &["c12", "c23"],
        };
        assert_eq!(joined, expected, "{}", node.host);
    }

    // One chaincode on two channels, each with its own Init values.
    let c12 = net
        .deploy(&examplecc(
            "c12",
            &["Init", "a", "100", "b", "200"],
            Default::default(),
        ))
        .await
        .unwrap();
    assert_eq!((c12.channel.as_str(), c12.package_ids.len()), ("c12", 2));
    let c23 = net
        .deploy(&examplecc(
            "c23",
            &["Init", "a", "7", "b", "3"],
            Default::default(),
        ))
        .await
        .unwrap();
    assert_eq!(
        c23.package_ids
            .iter()
            .map(|(m, _)| m.as_str())
            .collect::<Vec<_>>(),
        ["Org2MSP", "Org3MSP"]
    );
    net.invoke_with("examplecc", "invoke", &["a", "b", "20"], &on("c12"))
        .await
        .unwrap();
    let net_ref = &net;
    let query = |channel: &'static str, peer: &'static str, key: &'static str| {
        let options = on(channel).peer(peer);
        async move {
            net_ref
                .query_with("examplecc", "query", &[key], &options)
                .await
        }
    };
    assert_eq!(query("c12", "Org1MSP", "a").await.unwrap(), "80");
    assert_eq!(query("c12", "Org2MSP", "b").await.unwrap(), "220");
    assert_eq!(query("c23", "Org2MSP", "a").await.unwrap(), "7");
    assert_eq!(
        query("c23", "peer0.org3.example.com", "b").await.unwrap(),
        "3"
    );

    // Org3's peer is not on c12: a clear error, before anything runs.
    let err = query("c12", "Org3MSP", "a").await.unwrap_err();
    assert!(matches!(err, Error::NotOnChannel { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "peer0.org3.example.com (Org3MSP) is not on channel c12, whose orgs are Org1MSP, Org2MSP; use a peer of one of them (--org or --peer)"
    );
    let err = net
        .invoke_with("examplecc", "invoke", &["a", "b", "1"], &on("c99"))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("unknown channel c99 (channels of this network: c12, c23)"),
        "{err}"
    );

    // Org1 alone may endorse: an invoke endorsed by Org1 only is committed.
    let or1 = EndorsementPolicy::Signature("OR('Org1MSP.peer')".into());
    let redeploy = net
        .deploy(&examplecc("c12", &["Init", "a", "100", "b", "200"], or1))
        .await
        .unwrap();
    assert!(redeploy.committed, "a new policy is a new definition");
    assert_eq!(redeploy.sequence, 2);
    net.invoke_with(
        "examplecc",
        "invoke",
        &["a", "b", "5"],
        &on("c12").peer("Org1MSP"),
    )
    .await
    .unwrap();
    assert_eq!(query("c12", "Org2MSP", "a").await.unwrap(), "75");

    // Both orgs must endorse: an invoke endorsed by Org1 alone is rejected, naming the policy.
    let and12 = EndorsementPolicy::Signature("AND('Org1MSP.peer','Org2MSP.peer')".into());
    let and_deploy = net
        .deploy(&examplecc(
            "c12",
            &["Init", "a", "100", "b", "200"],
            and12.clone(),
        ))
        .await
        .unwrap();
    assert_eq!((and_deploy.committed, and_deploy.sequence), (true, 3));
    let err = net
        .invoke_with(
            "examplecc",
            "invoke",
            &["a", "b", "5"],
            &on("c12").peer("Org1MSP"),
        )
        .await
        .unwrap_err();
    let fabx::Error::EndorsementPolicyNotMet(failure) = &err else {
        panic!("{err}");
    };
    assert_eq!(
        err.to_string(),
        format!("invoke of examplecc on c12 was rejected (ENDORSEMENT_POLICY_FAILURE, transaction {}): endorsements from Org1MSP do not satisfy its endorsement policy AND('Org1MSP.peer', 'Org2MSP.peer'), or the key-level policy of a key it writes (leave --peer out to ask one peer of every org on the channel, or add peers that satisfy it)", failure.tx_id)
    );
    assert_eq!(
        query("c12", "Org1MSP", "a").await.unwrap(),
        "75",
        "nothing was written"
    );
    // By default one peer of each org endorses: the policy is met.
    net.invoke_with("examplecc", "invoke", &["a", "b", "5"], &on("c12"))
        .await
        .unwrap();
    assert_eq!(query("c12", "Org2MSP", "a").await.unwrap(), "70");
    // The same policy again is the committed definition: nothing to commit.
    let same = net
        .deploy(&examplecc("c12", &["Init", "a", "100", "b", "200"], and12))
        .await
        .unwrap();
    assert_eq!((same.committed, same.sequence), (false, 3));

    // A policy naming an org outside the channel is refused before anything is sent.
    let outside = EndorsementPolicy::Signature("OR('Org3MSP.peer')".into());
    let err = net
        .deploy(&examplecc("c12", &["Init"], outside))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("names Org3MSP, which is not on the channel"),
        "{err}"
    );
    // c23 kept its own definition and values throughout.
    assert_eq!(query("c23", "Org3MSP", "a").await.unwrap(), "7");

    // status: each channel's committed chaincode, its policy, packages and containers.
    let status = network.status().await.unwrap();
    let channels: Vec<_> = status
        .channels
        .iter()
        .map(|c| (c.channel.as_str(), c.orgs.join(","), c.error.clone()))
        .collect();
    assert_eq!(
        channels,
        [
            ("c12", "Org1MSP,Org2MSP".to_string(), None),
            ("c23", "Org2MSP,Org3MSP".to_string(), None)
        ]
    );
    let c12_cc = &status.channels[0].chaincodes[0];
    assert_eq!(
        (
            c12_cc.name.as_str(),
            c12_cc.version.as_str(),
            c12_cc.sequence,
            c12_cc.init_required
        ),
        ("examplecc", "1.0", 3, true)
    );
    assert_eq!(
        c12_cc.endorsement_policy.as_deref(),
        Some("AND('Org1MSP.peer', 'Org2MSP.peer')")
    );
    let c23_cc = &status.channels[1].chaincodes[0];
    assert_eq!(
        (c23_cc.sequence, c23_cc.endorsement_policy.as_deref()),
        (1, Some("/Channel/Application/Endorsement"))
    );
    for (cc, orgs) in [
        (c12_cc, ["Org1MSP", "Org2MSP"]),
        (c23_cc, ["Org2MSP", "Org3MSP"]),
    ] {
        let packages: Vec<_> = cc.packages.iter().map(|p| p.msp_id.as_str()).collect();
        assert_eq!(packages, orgs);
        for package in &cc.packages {
            let id = package.package_id.as_deref().unwrap_or_default();
            assert!(id.starts_with("examplecc_1.0:"), "{package:?}");
            assert_eq!(package.containers.len(), 1, "{package:?}");
            assert_eq!(package.containers[0].state, "running");
        }
    }

    net.teardown().await.unwrap();
}
