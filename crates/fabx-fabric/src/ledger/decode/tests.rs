use super::*;

fn signer(msp_id: &str, name: &str) -> Vec<u8> {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    msp::SerializedIdentity {
        mspid: msp_id.into(),
        id_bytes: cert.pem().into_bytes(),
    }
    .encode_to_vec()
}

fn envelope(kind: common::HeaderType, tx_id: &str, creator: Vec<u8>, data: Vec<u8>) -> Vec<u8> {
    let channel_header = common::ChannelHeader {
        r#type: kind as i32,
        channel_id: "mychannel".into(),
        tx_id: tx_id.into(),
        timestamp: Some(prost_types::Timestamp {
            seconds: 1_764_840_000,
            nanos: 250_000_000,
        }),
        ..Default::default()
    };
    let payload = common::Payload {
        header: Some(common::Header {
            channel_header: channel_header.encode_to_vec(),
            signature_header: common::SignatureHeader {
                creator,
                nonce: vec![1; 24],
            }
            .encode_to_vec(),
        }),
        data,
    };
    common::Envelope {
        payload: payload.encode_to_vec(),
        signature: vec![2; 70],
    }
    .encode_to_vec()
}

fn invoke(chaincode: &str, args: &[&[u8]]) -> Vec<u8> {
    let kv = kvrwset::KvrwSet {
        reads: vec![
            kvrwset::KvRead {
                key: "a".into(),
                version: Some(kvrwset::Version {
                    block_num: 3,
                    tx_num: 1,
                }),
            },
            kvrwset::KvRead {
                key: "new".into(),
                version: None,
            },
        ],
        writes: vec![
            kvrwset::KvWrite {
                key: "a".into(),
                is_delete: false,
                value: b"90".to_vec(),
            },
            kvrwset::KvWrite {
                key: "gone".into(),
                is_delete: true,
                value: Vec::new(),
            },
        ],
        ..Default::default()
    };
    let hashed = kvrwset::HashedRwSet {
        hashed_writes: vec![kvrwset::KvWriteHash {
            key_hash: vec![0xab, 0x01],
            is_delete: false,
            value_hash: vec![0xcd],
            is_purge: false,
        }],
        ..Default::default()
    };
    let results = rwset::TxReadWriteSet {
        data_model: 0,
        ns_rwset: vec![rwset::NsReadWriteSet {
            namespace: chaincode.into(),
            rwset: kv.encode_to_vec(),
            collection_hashed_rwset: vec![rwset::CollectionHashedReadWriteSet {
                collection_name: "secrets".into(),
                hashed_rwset: hashed.encode_to_vec(),
                pvt_rwset_hash: Vec::new(),
            }],
        }],
    };
    let action = protos::ChaincodeAction {
        results: results.encode_to_vec(),
        events: protos::ChaincodeEvent {
            chaincode_id: chaincode.into(),
            tx_id: "tx1".into(),
            event_name: "Moved".into(),
            payload: vec![0xff, 0x00],
        }
        .encode_to_vec(),
        response: Some(protos::Response {
            status: 200,
            message: String::new(),
            payload: b"ok".to_vec(),
        }),
        chaincode_id: Some(protos::ChaincodeId {
            name: chaincode.into(),
            ..Default::default()
        }),
    };
    let spec = protos::ChaincodeInvocationSpec {
        chaincode_spec: Some(protos::ChaincodeSpec {
            chaincode_id: Some(protos::ChaincodeId {
                name: chaincode.into(),
                ..Default::default()
            }),
            input: Some(protos::ChaincodeInput {
                args: args.iter().map(|a| a.to_vec()).collect(),
                ..Default::default()
            }),
            ..Default::default()
        }),
    };
    let payload = protos::ChaincodeActionPayload {
        chaincode_proposal_payload: protos::ChaincodeProposalPayload {
            input: spec.encode_to_vec(),
            transient_map: Default::default(),
        }
        .encode_to_vec(),
        action: Some(protos::ChaincodeEndorsedAction {
            proposal_response_payload: protos::ProposalResponsePayload {
                proposal_hash: vec![3; 32],
                extension: action.encode_to_vec(),
            }
            .encode_to_vec(),
            endorsements: vec![
                protos::Endorsement {
                    endorser: signer("Org1MSP", "peer0.org1.example.com"),
                    signature: vec![4; 70],
                },
                protos::Endorsement {
                    endorser: signer("Org2MSP", "peer0.org2.example.com"),
                    signature: vec![5; 70],
                },
            ],
        }),
    };
    protos::Transaction {
        actions: vec![protos::TransactionAction {
            header: Vec::new(),
            payload: payload.encode_to_vec(),
        }],
    }
    .encode_to_vec()
}

fn block(number: u64, envelopes: Vec<Vec<u8>>, filter: Option<Vec<u8>>) -> common::Block {
    let mut metadata = vec![Vec::new(); 5];
    if let Some(filter) = filter {
        metadata[common::BlockMetadataIndex::TransactionsFilter as usize] = filter;
    }
    common::Block {
        header: Some(common::BlockHeader {
            number,
            ..Default::default()
        }),
        data: Some(common::BlockData { data: envelopes }),
        metadata: Some(common::BlockMetadata { metadata }),
    }
}

#[test]
fn an_invoke_is_decoded_down_to_its_writes_and_hashes() {
    let admin = signer("Org1MSP", "Admin@org1.example.com");
    let tx = envelope(
        common::HeaderType::EndorserTransaction,
        "tx1",
        admin,
        invoke("basic", &[b"transfer", b"a", &[0, 1]]),
    );
    let view = decode_block("peer0", &block(7, vec![tx], Some(vec![11]))).unwrap();
    assert_eq!(view.number, 7);
    let tx = &view.transactions[0];
    assert_eq!((tx.block, tx.index, tx.tx_id.as_str()), (7, 0, "tx1"));
    assert_eq!(tx.channel, "mychannel");
    assert_eq!(tx.kind, "invoke");
    assert_eq!(tx.validation.as_deref(), Some("MVCC_READ_CONFLICT"));
    assert!(!tx.is_valid());
    assert_eq!(tx.timestamp.as_deref(), Some("2025-12-04T09:20:00.250Z"));
    assert_eq!(tx.creator.msp_id, "Org1MSP");
    assert_eq!(tx.creator.name.as_deref(), Some("Admin@org1.example.com"));
    assert_eq!(tx.chaincode.as_deref(), Some("basic"));
    assert_eq!(tx.function.as_deref(), Some("transfer"));
    assert_eq!(tx.args[2].to_string(), "base64:AAE=");
    let endorsers: Vec<_> = tx.endorsers.iter().map(|e| e.msp_id.as_str()).collect();
    assert_eq!(endorsers, ["Org1MSP", "Org2MSP"]);
    let ns = &tx.rwsets[0];
    assert_eq!(ns.namespace, "basic");
    assert_eq!(ns.reads[0].version, Some((3, 1)));
    assert_eq!(ns.reads[1].version, None);
    assert_eq!(ns.writes[0].value.text(), Some("90"));
    assert!(ns.writes[1].deleted);
    let private = &ns.collections[0];
    assert_eq!(private.collection, "secrets");
    assert_eq!(private.writes[0].key_hash, "ab01");
    assert_eq!(private.writes[0].value_hash, "cd");
    let event = tx.event.as_ref().unwrap();
    assert_eq!(event.name, "Moved");
    assert_eq!(
        serde_json::to_value(&event.payload).unwrap(),
        serde_json::json!({"base64": "/wA="})
    );
    let response = tx.response.as_ref().unwrap();
    assert_eq!(
        (response.status, response.payload.text()),
        (200, Some("ok"))
    );
}

#[test]
fn lifecycle_and_config_transactions_are_named_so() {
    let admin = signer("Org1MSP", "Admin@org1.example.com");
    let approve = envelope(
        common::HeaderType::EndorserTransaction,
        "tx2",
        admin,
        invoke(
            "_lifecycle",
            &[b"ApproveChaincodeDefinitionForMyOrg", &[8, 1]],
        ),
    );
    let config = envelope(
        common::HeaderType::Config,
        "",
        signer("OrdererMSP", "orderer0.example.com"),
        vec![1, 2, 3],
    );
    let view = decode_block("peer0", &block(1, vec![config, approve], None)).unwrap();
    let [config, approve] = &view.transactions[..] else {
        panic!("{view:?}")
    };
    assert_eq!(config.kind, "config");
    assert_eq!(config.creator.msp_id, "OrdererMSP");
    assert_eq!(config.validation, None);
    assert_eq!(config.validation_or_dash(), "-");
    assert_eq!(approve.kind, "lifecycle");
    assert_eq!(
        approve.function.as_deref(),
        Some("ApproveChaincodeDefinitionForMyOrg")
    );
    let found = find_transaction("peer0", &block(1, vec![], None), "tx2").unwrap();
    assert_eq!(found, None);
}

#[test]
fn bytes_that_are_not_a_transaction_name_where_they_were() {
    let bad = block(4, vec![vec![0xff, 0xff, 0xff]], None);
    let error = decode_block("peer0.org1.example.com", &bad)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("transaction 0 of block 4 (envelope)"),
        "{error}"
    );
    assert!(error.contains("peer0.org1.example.com"), "{error}");
}
