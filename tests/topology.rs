//! Topology parsing and validation.

use fabx::topology::{parse_duration_ms, NodeKind, Topology, TopologyError};

fn invalid(text: &str) -> (String, String) {
    match Topology::parse(text, "t.yaml") {
        Err(TopologyError::Invalid { file, field, .. }) => (file, field),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

const MINIMAL: &str = "
network: n1
channel: ch
images: { peer: p:1, orderer: o:1, tools: t:1 }
orderer_org: { msp_id: OMSP, domain: example.com, orderers: [ { name: orderer } ] }
orgs:
  - { msp_id: AMSP, domain: a.example.com, peers: [ { name: peer0 } ] }
";

#[test]
fn default_topology_is_the_network_people_replace() {
    let t = Topology::default_topology();
    assert_eq!(t.network, "net_byfn");
    assert_eq!(t.channel, "channel1");
    assert_eq!(t.images.peer, "hyperledger/fabric-peer:2.5");
    assert_eq!(t.images.orderer, "hyperledger/fabric-orderer:2.5");
    assert_eq!(
        t.images.tools, None,
        "the default topology needs no tools image"
    );
    let hosts: Vec<String> = t.nodes().into_iter().map(|n| n.host).collect();
    assert_eq!(
        hosts,
        [
            "orderer.example.com",
            "orderer2.example.com",
            "orderer3.example.com",
            "peer0.org1.example.com",
            "peer0.org2.example.com"
        ]
    );
    assert_eq!(t.orderer_org.msp_id, "OrdererMSP");
    let msps: Vec<&str> = t.orgs.iter().map(|o| o.msp_id.as_str()).collect();
    assert_eq!(msps, ["Org1MSP", "Org2MSP"]);
    // Containers are named after their hosts, as in the compose file people used.
    assert_eq!(
        t.container_name("peer0.org1.example.com"),
        "peer0.org1.example.com"
    );
    let org2 = t
        .peers()
        .into_iter()
        .find(|p| p.msp_id == "Org2MSP")
        .unwrap();
    assert_eq!(org2.host_ports, vec![(7051, 9051)]);
    assert_eq!(org2.address(), "peer0.org2.example.com:7051");
}

#[test]
fn the_file_in_network_dir_is_the_built_in_one() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/network/default.yaml");
    let mut from_file = Topology::load(path.as_ref()).unwrap();
    // Ports in a file the user gives are theirs; the built-in ones are preferences.
    assert!(from_file.host_ports_pinned);
    assert!(!Topology::default_topology().host_ports_pinned);
    from_file.host_ports_pinned = false;
    assert_eq!(from_file, Topology::default_topology());
}

#[test]
fn n_orgs_by_m_peers_and_one_orderer() {
    let text = "
network: big
channel: mychannel
images: { peer: p:1, orderer: o:1, tools: t:1 }
orderer_org: { msp_id: OMSP, domain: example.com, orderers: [ { name: orderer } ] }
orgs:
  - { msp_id: AMSP, domain: a.example.com, peers: [ { name: peer0 }, { name: peer1 }, { name: peer2 } ] }
  - { msp_id: BMSP, domain: b.example.com, peers: [ { name: peer0 }, { name: peer1 } ] }
  - { msp_id: CMSP, domain: c.example.com, peers: [ { name: peer0, host_port: 10051 } ] }
";
    let t = Topology::parse(text, "big.yaml").unwrap();
    assert_eq!(t.orderers().len(), 1);
    assert_eq!(t.peers().len(), 6);
    assert_eq!(
        t.nodes()
            .iter()
            .filter(|n| n.kind == NodeKind::Peer && n.msp_id == "AMSP")
            .count(),
        3
    );
    // Without an `orderer` section, Fabric's production-like values apply.
    assert_eq!(t.orderer.batch_timeout, "2s");
}

#[test]
fn minimal_topology_parses() {
    let t = Topology::parse(MINIMAL, "t.yaml").unwrap();
    assert_eq!(t.nodes().len(), 2);
}

#[test]
fn errors_name_file_and_field() {
    let cases = [
        ("network: n1", "network: 'bad name'", "network"),
        ("channel: ch", "channel: Channel_1", "channel"),
        ("msp_id: AMSP", "msp_id: OMSP", "orgs[0].msp_id"),
        (
            "domain: a.example.com",
            "domain: example.com",
            "orgs[0].domain",
        ),
        ("domain: a.example.com", "domain: A..com", "orgs[0].domain"),
        ("peers: [ { name: peer0 } ]", "peers: []", "orgs[0].peers"),
        (
            "peers: [ { name: peer0 } ]",
            "peers: [ { name: Peer_0 } ]",
            "orgs[0].peers[0].name",
        ),
        (
            "orderers: [ { name: orderer } ]",
            "orderers: []",
            "orderer_org.orderers",
        ),
        ("peer: p:1", "peer: ''", "images.peer"),
    ];
    for (from, to, field) in cases {
        let text = MINIMAL.replace(from, to);
        assert_ne!(text, MINIMAL, "case {to} did not apply");
        let (file, got) = invalid(&text);
        assert_eq!(file, "t.yaml");
        assert_eq!(got, field, "for {to}");
    }
}

#[test]
fn duplicate_hosts_and_ports_are_rejected() {
    let text = MINIMAL.replace(
        "[ { name: peer0 } ]",
        "[ { name: peer0 }, { name: peer0 } ]",
    );
    assert!(invalid(&text).1.contains("orgs"));
    let text = MINIMAL
        .replace("{ name: orderer }", "{ name: orderer, host_port: 7050 }")
        .replace("{ name: peer0 }", "{ name: peer0, host_port: 7050 }");
    assert!(invalid(&text).1.contains("host port"));
}

#[test]
fn bad_orderer_settings_are_rejected() {
    let text = format!("{MINIMAL}orderer: {{ batch_timeout: soon }}\n");
    assert_eq!(invalid(&text).1, "orderer.batch_timeout");
}

#[test]
fn malformed_yaml_and_unknown_fields_are_parse_errors() {
    for text in [
        "network: [",
        &format!("{MINIMAL}colour: blue\n"),
        "network: n1\n",
    ] {
        match Topology::parse(text, "t.yaml") {
            Err(e @ TopologyError::Parse { .. }) => {
                let message = e.to_string();
                assert!(
                    message.starts_with("t.yaml: malformed topology"),
                    "{message}"
                );
                assert!(!message.contains('\n'), "one line: {message}");
            }
            other => panic!("expected a parse error, got {other:?}"),
        }
    }
}

#[test]
fn missing_file_names_the_path() {
    let err = Topology::load("/nonexistent/topology.yaml".as_ref()).unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/topology.yaml"),
        "{err}"
    );
}

#[test]
fn durations() {
    assert_eq!(parse_duration_ms("100ms"), Some(100));
    assert_eq!(parse_duration_ms("2s"), Some(2000));
    assert_eq!(parse_duration_ms("1.5s"), Some(1500));
    assert_eq!(parse_duration_ms("1m"), Some(60_000));
    assert_eq!(parse_duration_ms("2"), None);
    assert_eq!(parse_duration_ms("-1s"), None);
}

#[test]
fn published_ports_bind_to_localhost_unless_the_topology_says_otherwise() {
    let t = Topology::parse(MINIMAL, "t.yaml").unwrap();
    assert_eq!(t.host_ip(), "127.0.0.1");
    let everywhere = Topology::parse(&format!("{MINIMAL}host_ip: 0.0.0.0\n"), "t.yaml").unwrap();
    assert_eq!(everywhere.host_ip(), "0.0.0.0");
    let text = format!("{MINIMAL}host_ip: cafe.example.com\n");
    assert_eq!(invalid(&text).1, "host_ip");
    let spec = fabx::network::specs::node_spec(&t, &fabx::Layout::new("/s"), &t.peers()[0]);
    assert_eq!(spec.host_ip, "127.0.0.1");
}

#[test]
fn the_harness_builder_validates_like_a_topology_file() {
    use fabx::harness::TestNetwork;
    for (builder, field) in [
        (TestNetwork::builder().orgs(0), "orgs"),
        (TestNetwork::builder().peers_per_org(0), "orgs[0].peers"),
        (TestNetwork::builder().orderers(0), "orderer_org.orderers"),
        (TestNetwork::builder().channel("Bad_Channel"), "channel"),
    ] {
        match builder.build() {
            Err(fabx::Error::Topology(TopologyError::Invalid {
                file, field: got, ..
            })) => {
                assert_eq!(file, "harness::TopologyBuilder");
                assert_eq!(got, field);
            }
            other => panic!("expected a validation error for {field}, got {other:?}"),
        }
    }
    let ok = TestNetwork::builder()
        .orgs(3)
        .peers_per_org(2)
        .orderers(1)
        .build()
        .unwrap();
    assert_eq!(
        (ok.orgs.len(), ok.peers().len(), ok.orderers().len()),
        (3, 6, 1)
    );
}

#[test]
fn bft_needs_four_orderers_and_says_so() {
    let text = MINIMAL.replace("orderer_org:", "orderer: { type: bft }\norderer_org:");
    let err = Topology::parse(&text, "bft.yaml").unwrap_err().to_string();
    assert!(
        err.contains("bft.yaml")
            && err.contains("orderer_org.orderers")
            && err.contains("bft needs at least 4 orderers"),
        "{err}"
    );
    let err = Topology::parse(
        &MINIMAL.replace("orderer_org:", "orderer: { type: pbft }\norderer_org:"),
        "bad.yaml",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("bad.yaml") && err.contains("pbft"), "{err}");
}

const THREE_ORGS: &str = "
network: n1
images: { peer: p:1, orderer: o:1 }
orderer_org: { msp_id: OMSP, domain: example.com, orderers: [ { name: orderer } ] }
orgs:
  - { msp_id: AMSP, domain: a.example.com, peers: [ { name: peer0 } ] }
  - { msp_id: BMSP, domain: b.example.com, peers: [ { name: peer0 } ] }
  - { msp_id: CMSP, domain: c.example.com, peers: [ { name: peer0 } ] }
";

#[test]
fn several_channels_with_their_orgs() {
    let t = Topology::parse(
        &format!("{THREE_ORGS}channels:\n  - {{ name: ab, orgs: [AMSP, BMSP] }}\n  - {{ name: bc, orgs: [BMSP, CMSP] }}\n"),
        "t.yaml",
    )
    .unwrap();
    assert_eq!(t.default_channel(), "ab");
    assert_eq!(t.org_channels("BMSP"), ["ab", "bc"]);
    assert_eq!(t.org_channels("CMSP"), ["bc"]);
    let view = t.channel_view("bc").unwrap();
    assert_eq!(view.msp_ids(), ["BMSP", "CMSP"]);
    assert_eq!(view.channel, "bc");
    // The single `channel` form: every org on it.
    let single = Topology::parse(MINIMAL, "t.yaml").unwrap();
    assert_eq!(single.channels()[0].name, "ch");
    assert_eq!(single.channels()[0].orgs, ["AMSP"]);
}

#[test]
fn channel_errors_name_the_channel_and_the_org() {
    let err = |channels: &str| match Topology::parse(&format!("{THREE_ORGS}{channels}"), "t.yaml") {
        Err(e) => e.to_string(),
        Ok(_) => panic!("{channels} was accepted"),
    };
    assert_eq!(
        err("channels: [ { name: ab, orgs: [AMSP, XMSP] }, { name: bc, orgs: [BMSP, CMSP] } ]\n"),
        "t.yaml: channels[0].orgs[1]: channel ab names unknown org \"XMSP\" (use the msp_id of an org under orgs: AMSP, BMSP, CMSP)"
    );
    assert!(err("channels: [ { name: ab, orgs: [AMSP, BMSP] } ]\n")
        .contains("org CMSP is on no channel"));
    assert!(
        err("channels: [ { name: ab, orgs: [] }, { name: bc, orgs: [BMSP, CMSP] } ]\n")
            .contains("channel ab has no org")
    );
    assert!(
        err("channels: [ { name: ab, orgs: [AMSP, AMSP, BMSP, CMSP] } ]\n")
            .contains("lists AMSP twice")
    );
    assert!(err(
        "channels: [ { name: ab, orgs: [AMSP, BMSP, CMSP] }, { name: ab, orgs: [AMSP] } ]\n"
    )
    .contains("listed twice"));
    assert!(
        err("channels: [ { name: Ab, orgs: [AMSP, BMSP, CMSP] } ]\n").contains("channels[0].name")
    );
    assert!(
        err("channel: zz\nchannels: [ { name: ab, orgs: [AMSP, BMSP, CMSP] } ]\n")
            .contains("default channel \"zz\" is not under channels")
    );
    assert!(err("").contains("channel: no channel"));
}

#[test]
fn the_channels_example_file_loads() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/network/channels.yaml");
    let t = Topology::load(std::path::Path::new(path)).unwrap();
    let channels: Vec<(String, Vec<String>)> =
        t.channels().into_iter().map(|c| (c.name, c.orgs)).collect();
    assert_eq!(
        channels,
        [
            (
                "c12".to_string(),
                vec!["Org1MSP".to_string(), "Org2MSP".to_string()]
            ),
            (
                "c23".to_string(),
                vec!["Org2MSP".to_string(), "Org3MSP".to_string()]
            )
        ]
    );
}

#[test]
fn a_renamed_network_takes_its_prefix_along_unless_the_topology_chose_another() {
    let isolated = fabx::harness::isolate(Topology::default_topology());
    let renamed = isolated.clone().renamed("other", "--network").unwrap();
    assert_eq!(renamed.network, "other");
    assert_eq!(
        renamed.container_name("peer0.org1.example.com"),
        "other-peer0.org1.example.com"
    );
    let mut chosen = isolated;
    chosen.container_prefix = "mine".into();
    let renamed = chosen.renamed("other", "--network").unwrap();
    assert_eq!(
        renamed.container_name("peer0.org1.example.com"),
        "mine-peer0.org1.example.com"
    );
    let plain = Topology::default_topology()
        .renamed("other", "--network")
        .unwrap();
    assert_eq!(plain.container_prefix, "other");
}

#[test]
fn state_database_per_network_or_org_and_a_couchdb_per_peer() {
    use fabx::topology::StateDatabase;
    let t = Topology::parse(MINIMAL, "t.yaml").unwrap();
    assert_eq!(t.state_database, StateDatabase::Leveldb);
    assert!(t.couchdbs().is_empty());
    // The whole network, one org publishing its CouchDB, another org on LevelDB.
    let text = MINIMAL
        .replace("channel: ch", "channel: ch\nstate_database: couchdb")
        .replace(
            "peers: [ { name: peer0 } ]",
            "peers: [ { name: peer0, couchdb_host_port: 5984 }, { name: peer1 } ]",
        )
        + "  - { msp_id: BMSP, domain: b.example.com, state_database: leveldb, peers: [ { name: peer0 } ] }\n";
    let t = Topology::parse(&text, "t.yaml").unwrap();
    let couchdbs = t.couchdbs();
    let hosts: Vec<&str> = couchdbs.iter().map(|c| c.host.as_str()).collect();
    assert_eq!(
        hosts,
        ["couchdb.peer0.a.example.com", "couchdb.peer1.a.example.com"]
    );
    assert_eq!(couchdbs[0].peer.host, "peer0.a.example.com");
    assert_eq!(couchdbs[0].host_port, Some(5984));
    assert_eq!(t.state_database_of("BMSP"), StateDatabase::Leveldb);
    assert_eq!(t.couchdb_image(), "couchdb:3.4");
    // A private copy publishes nothing.
    assert!(t
        .clone()
        .isolated()
        .couchdbs()
        .iter()
        .all(|c| c.host_port.is_none()));
    // Written back, it reads the same.
    let again = Topology::parse(&serde_norway::to_string(&t).unwrap(), "again.yaml").unwrap();
    assert_eq!(again.couchdbs(), couchdbs);
}

#[test]
fn state_database_mistakes_are_named() {
    let text = MINIMAL.replace("channel: ch", "channel: ch\nstate_database: mongodb");
    let message = Topology::parse(&text, "t.yaml").unwrap_err().to_string();
    assert!(
        message.starts_with("t.yaml: malformed topology"),
        "{message}"
    );
    assert!(message.contains("mongodb"), "{message}");
    assert!(
        message.contains("leveldb") && message.contains("couchdb"),
        "{message}"
    );
    assert!(!message.contains('\n'), "{message}");
    // CouchDB published for an org that has none.
    let text = MINIMAL.replace(
        "{ name: peer0 }",
        "{ name: peer0, couchdb_host_port: 5984 }",
    );
    let message = Topology::parse(&text, "t.yaml").unwrap_err().to_string();
    assert!(
        message.contains("orgs[0].peers[0].couchdb_host_port") && message.contains("LevelDB"),
        "{message}"
    );
    // A CouchDB port taken by another node.
    let text = MINIMAL
        .replace("channel: ch", "channel: ch\nstate_database: couchdb")
        .replace("{ name: orderer }", "{ name: orderer, host_port: 7050 }")
        .replace(
            "{ name: peer0 }",
            "{ name: peer0, couchdb_host_port: 7050 }",
        );
    assert_eq!(invalid(&text).1, "orgs[0].peers[0].couchdb_host_port");
    let text = MINIMAL.replace("tools: t:1", "couchdb: 'no such'");
    assert_eq!(invalid(&text).1, "images.couchdb");
}

#[test]
fn the_couchdb_example_file_loads() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/network/couchdb.yaml");
    let t = Topology::load(std::path::Path::new(path)).unwrap();
    let hosts: Vec<String> = t.couchdbs().into_iter().map(|c| c.host).collect();
    assert_eq!(
        hosts,
        [
            "couchdb.peer0.org1.example.com",
            "couchdb.peer0.org2.example.com"
        ]
    );
}

#[test]
fn the_fabric_ca_example_file_loads_and_an_org_may_go_without() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/network/fabric-ca.yaml");
    let t = Topology::load(std::path::Path::new(path)).unwrap();
    let cas: Vec<(String, String)> = t
        .certificate_authorities()
        .into_iter()
        .map(|c| (c.host, c.name))
        .collect();
    assert_eq!(
        cas,
        [
            ("ca.org1.example.com".to_string(), "ca-org1".to_string()),
            ("ca.org2.example.com".to_string(), "ca-org2".to_string())
        ]
    );
    assert_eq!(t.ca_image(), "hyperledger/fabric-ca:1.5");
    let text = std::fs::read_to_string(path).unwrap().replace(
        "{ msp_id: Org2MSP, domain: org2.example.com,",
        "{ msp_id: Org2MSP, domain: org2.example.com, certificate_authority: false,",
    );
    let t = Topology::parse(&text, "test.yaml").unwrap();
    assert_eq!(t.certificate_authorities().len(), 1);
    assert!(t.ca_of("Org2MSP").is_none());
}

#[test]
fn a_ca_host_port_needs_a_ca_and_its_own_number() {
    let text = MINIMAL.replace("tools: t:1", "ca: 'no such'");
    assert_eq!(invalid(&text).1, "images.ca");
    let without_ca = MINIMAL.replace(
        "peers: [ { name: peer0 } ]",
        "peers: [ { name: peer0 } ], ca_host_port: 7054",
    );
    assert_eq!(invalid(&without_ca).1, "orgs[0].ca_host_port");
    let with_ca = without_ca.replace("channel: ch", "channel: ch\ncertificate_authorities: true");
    let t = Topology::parse(&with_ca, "t.yaml").unwrap();
    assert_eq!(t.ca_of("AMSP").unwrap().host_port, Some(7054));
    let taken = with_ca.replace("{ name: peer0 }", "{ name: peer0, host_port: 7054 }");
    assert_eq!(invalid(&taken).1, "orgs[0].ca_host_port");
}
