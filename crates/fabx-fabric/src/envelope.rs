//! Fabric's message envelopes: headers, nonces and transaction IDs, signed envelopes,
//! and a channel's genesis block around its configuration.

use crate::protos::common::{
    self, Block, BlockData, BlockHeader, BlockMetadata, ChannelHeader, Config, ConfigEnvelope,
    ConfigGroup, Envelope, Header, HeaderType, LastConfig, Metadata, OrdererBlockMetadata, Payload,
    SignatureHeader,
};
use crate::ClientIdentity;
use prost::Message;
use sha2::{Digest, Sha256};

pub fn header(
    identity: &ClientIdentity,
    kind: HeaderType,
    channel: &str,
    tx_id: String,
    nonce: Vec<u8>,
    extension: Vec<u8>,
) -> common::Header {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let channel_header = common::ChannelHeader {
        r#type: kind as i32,
        timestamp: Some(prost_types::Timestamp {
            seconds: now.as_secs() as i64,
            nanos: now.subsec_nanos() as i32,
        }),
        channel_id: channel.to_string(),
        tx_id,
        extension,
        tls_cert_hash: identity.tls_cert_hash().to_vec(),
        ..Default::default()
    };
    let signature_header = common::SignatureHeader {
        creator: identity.serialized(),
        nonce,
    };
    common::Header {
        channel_header: channel_header.encode_to_vec(),
        signature_header: signature_header.encode_to_vec(),
    }
}

pub fn signed_envelope(
    identity: &ClientIdentity,
    header: common::Header,
    data: Vec<u8>,
) -> common::Envelope {
    let payload = common::Payload {
        header: Some(header),
        data,
    }
    .encode_to_vec();
    common::Envelope {
        signature: identity.sign(&payload),
        payload,
    }
}

/// Fabric's genesis block around a channel group: block 0, one unsigned CONFIG envelope,
/// LAST_CONFIG and SIGNATURES metadata pointing at block 0.
pub fn config_block(channel: &str, channel_group: ConfigGroup) -> Block {
    let nonce = nonce();
    let channel_header = ChannelHeader {
        r#type: HeaderType::Config as i32,
        // Fabric's genesis factory writes message version 1.
        version: 1,
        timestamp: Some(prost_types::Timestamp {
            seconds: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or_default(),
            nanos: 0,
        }),
        channel_id: channel.to_string(),
        // Fabric's SetTxID, with no creator here.
        tx_id: tx_id(&nonce, &[]),
        epoch: 0,
        extension: vec![],
        tls_cert_hash: vec![],
    };
    let signature_header = SignatureHeader {
        creator: vec![],
        nonce,
    };
    let payload = Payload {
        header: Some(Header {
            channel_header: channel_header.encode_to_vec(),
            signature_header: signature_header.encode_to_vec(),
        }),
        data: ConfigEnvelope {
            config: Some(Config {
                sequence: 0,
                channel_group: Some(channel_group),
            }),
            last_update: None,
        }
        .encode_to_vec(),
    };
    let envelope = Envelope {
        payload: payload.encode_to_vec(),
        signature: vec![],
    };
    let data = vec![envelope.encode_to_vec()];
    let data_hash = Sha256::digest(data.concat()).to_vec();
    let mut metadata = vec![vec![]; 5];
    metadata[1] = Metadata {
        value: LastConfig { index: 0 }.encode_to_vec(),
        signatures: vec![],
    }
    .encode_to_vec();
    metadata[0] = Metadata {
        value: OrdererBlockMetadata {
            last_config: Some(LastConfig { index: 0 }),
            consenter_metadata: vec![],
        }
        .encode_to_vec(),
        signatures: vec![],
    }
    .encode_to_vec();
    Block {
        header: Some(BlockHeader {
            number: 0,
            previous_hash: vec![],
            data_hash,
        }),
        data: Some(BlockData { data }),
        metadata: Some(BlockMetadata { metadata }),
    }
}

/// 24 random bytes, as Fabric's `CreateNonce`.
pub fn nonce() -> Vec<u8> {
    let mut bytes = vec![0u8; 24];
    // The OS random source failing is not something a caller can handle; a nonce only
    // needs to be unique, so the time is a sound fallback.
    if getrandom::getrandom(&mut bytes).is_err() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        bytes = Sha256::digest(now.to_le_bytes())[..24].to_vec();
    }
    bytes
}

/// Fabric's transaction ID (`protoutil.ComputeTxID`): hex SHA-256 of nonce and creator.
pub fn tx_id(nonce: &[u8], creator: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(nonce)
        .chain_update(creator)
        .finalize();
    hex::encode(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transaction_id_is_the_hex_sha256_of_nonce_and_creator() {
        // sha256("ab") = fb8e20fc...
        assert_eq!(
            tx_id(b"a", b"b"),
            "fb8e20fc2e4c3f248c60c39bd652f3c1347298bb977b8b4d5903b85055620603"
        );
    }
}
