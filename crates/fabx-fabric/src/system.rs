//! Questions to a peer's system chaincodes, in place of the `peer` CLI's text: the
//! channels it has joined (`cscc`), a channel's height and a transaction's block (`qscc`), the chaincode
//! definitions committed on a channel and the packages it has installed (`_lifecycle`).
//! Each question is a [`SystemQuery`] to evaluate on the peer; each answer is decoded
//! strictly, and what cannot be decoded is [`FabricError::Unparseable`].

use crate::cli::output::Committed;
use crate::protos::common::BlockchainInfo;
use crate::protos::lifecycle::{
    QueryChaincodeDefinitionsArgs, QueryChaincodeDefinitionsResult, QueryInstalledChaincodesArgs,
    QueryInstalledChaincodesResult,
};
use crate::protos::protos::ChannelQueryResponse;
use crate::{FabricError, Invocation};
use prost::Message;

/// A proposal to evaluate on one peer: on `channel` ("" for the peer itself).
#[derive(Debug, Clone)]
pub struct SystemQuery {
    pub channel: String,
    pub call: Invocation,
}

fn query(channel: &str, chaincode: &str, args: Vec<Vec<u8>>) -> SystemQuery {
    SystemQuery {
        channel: channel.to_string(),
        call: Invocation {
            chaincode: chaincode.to_string(),
            args,
            ..Default::default()
        },
    }
}

/// `peer channel list`.
pub fn joined_channels() -> SystemQuery {
    query("", "cscc", vec![b"GetChannels".to_vec()])
}

/// `peer channel getinfo -c CHANNEL`.
pub fn chain_info(channel: &str) -> SystemQuery {
    query(
        "",
        "qscc",
        vec![b"GetChainInfo".to_vec(), channel.as_bytes().to_vec()],
    )
}

/// The block that holds transaction `tx_id` of `channel` (`qscc GetBlockByTxID`).
pub fn block_by_tx_id(channel: &str, tx_id: &str) -> SystemQuery {
    query(
        "",
        "qscc",
        vec![
            b"GetBlockByTxID".to_vec(),
            channel.as_bytes().to_vec(),
            tx_id.as_bytes().to_vec(),
        ],
    )
}

/// `peer lifecycle chaincode querycommitted -C CHANNEL`.
pub fn committed_definitions(channel: &str) -> SystemQuery {
    let args = QueryChaincodeDefinitionsArgs {}.encode_to_vec();
    query(
        channel,
        "_lifecycle",
        vec![b"QueryChaincodeDefinitions".to_vec(), args],
    )
}

/// `peer lifecycle chaincode queryinstalled` (the peer's org admin only).
pub fn installed_chaincodes() -> SystemQuery {
    let args = QueryInstalledChaincodesArgs {}.encode_to_vec();
    query(
        "",
        "_lifecycle",
        vec![b"QueryInstalledChaincodes".to_vec(), args],
    )
}

fn decode<T: Message + Default>(peer: &str, what: &str, payload: &[u8]) -> Result<T, FabricError> {
    T::decode(payload).map_err(|e| FabricError::Unparseable {
        server_name: peer.to_string(),
        what: what.to_string(),
        detail: format!("{e} ({} bytes)", payload.len()),
    })
}

/// The channels in [`joined_channels`]'s answer, in the peer's order.
pub fn read_joined_channels(peer: &str, payload: &[u8]) -> Result<Vec<String>, FabricError> {
    let answer: ChannelQueryResponse = decode(peer, "its channels", payload)?;
    Ok(answer.channels.into_iter().map(|c| c.channel_id).collect())
}

/// The block height in [`chain_info`]'s answer.
pub fn read_height(peer: &str, payload: &[u8]) -> Result<u64, FabricError> {
    let info: BlockchainInfo = decode(peer, "a channel's chain info", payload)?;
    Ok(info.height)
}

/// The block in [`block_by_tx_id`]'s answer.
pub fn read_block(peer: &str, payload: &[u8]) -> Result<crate::protos::common::Block, FabricError> {
    decode(peer, "a block", payload)
}

/// Each committed definition in [`committed_definitions`]'s answer, with its name.
pub fn read_committed_definitions(
    peer: &str,
    payload: &[u8],
) -> Result<Vec<(String, Committed)>, FabricError> {
    let answer: QueryChaincodeDefinitionsResult =
        decode(peer, "the committed chaincode definitions", payload)?;
    Ok(answer
        .chaincode_definitions
        .into_iter()
        .map(|d| {
            let committed = Committed {
                sequence: d.sequence.max(0) as u64,
                version: d.version,
                init_required: d.init_required,
                validation_parameter: d.validation_parameter,
                has_collections: d.collections.is_some_and(|c| !c.config.is_empty()),
            };
            (d.name, committed)
        })
        .collect())
}

/// An installed package and the definitions that reference it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledPackage {
    pub package_id: String,
    pub label: String,
    /// (channel, chaincode name, version) of each definition that uses it.
    pub references: Vec<(String, String, String)>,
}

impl InstalledPackage {
    /// Whether the definition `name` `version` on `channel` uses this package.
    pub fn serves(&self, channel: &str, name: &str, version: &str) -> bool {
        self.references
            .iter()
            .any(|(c, n, v)| c == channel && n == name && v == version)
    }
}

/// The packages in [`installed_chaincodes`]'s answer.
pub fn read_installed(peer: &str, payload: &[u8]) -> Result<Vec<InstalledPackage>, FabricError> {
    let answer: QueryInstalledChaincodesResult = decode(peer, "its installed chaincodes", payload)?;
    Ok(answer
        .installed_chaincodes
        .into_iter()
        .map(|p| {
            let mut references: Vec<(String, String, String)> = p
                .references
                .into_iter()
                .flat_map(|(channel, refs)| {
                    refs.chaincodes
                        .into_iter()
                        .map(move |c| (channel.clone(), c.name, c.version))
                })
                .collect();
            references.sort();
            InstalledPackage {
                package_id: p.package_id,
                label: p.label,
                references,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protos::lifecycle::query_chaincode_definitions_result::ChaincodeDefinition;
    use crate::protos::lifecycle::query_installed_chaincodes_result::{
        Chaincode, InstalledChaincode, References,
    };
    use crate::protos::protos::ChannelInfo;

    #[test]
    fn answers_are_decoded_into_what_status_shows() {
        let channels = ChannelQueryResponse {
            channels: vec![
                ChannelInfo {
                    channel_id: "channel1".into(),
                },
                ChannelInfo {
                    channel_id: "other".into(),
                },
            ],
        };
        assert_eq!(
            read_joined_channels("peer0", &channels.encode_to_vec()).unwrap(),
            ["channel1", "other"]
        );
        let info = BlockchainInfo {
            height: 7,
            ..Default::default()
        };
        assert_eq!(read_height("peer0", &info.encode_to_vec()).unwrap(), 7);

        let definitions = QueryChaincodeDefinitionsResult {
            chaincode_definitions: vec![ChaincodeDefinition {
                name: "examplecc".into(),
                sequence: 2,
                version: "1.0".into(),
                validation_parameter: vec![1, 2],
                init_required: true,
                ..Default::default()
            }],
        };
        let read = read_committed_definitions("peer0", &definitions.encode_to_vec()).unwrap();
        assert_eq!(read[0].0, "examplecc");
        assert_eq!(
            (
                read[0].1.sequence,
                read[0].1.init_required,
                read[0].1.has_collections
            ),
            (2, true, false)
        );

        let installed = QueryInstalledChaincodesResult {
            installed_chaincodes: vec![InstalledChaincode {
                package_id: "examplecc_1.0:ab".into(),
                label: "examplecc_1.0".into(),
                references: [(
                    "c1".to_string(),
                    References {
                        chaincodes: vec![Chaincode {
                            name: "examplecc".into(),
                            version: "1.0".into(),
                        }],
                    },
                )]
                .into(),
            }],
        };
        let packages = read_installed("peer0", &installed.encode_to_vec()).unwrap();
        assert!(packages[0].serves("c1", "examplecc", "1.0"));
        assert!(!packages[0].serves("c2", "examplecc", "1.0"));
    }

    #[test]
    fn an_answer_that_does_not_decode_is_unparseable_and_names_the_peer() {
        let error = read_height("peer0.org1.example.com", b"\xff\xff\xff").unwrap_err();
        assert!(matches!(error, FabricError::Unparseable { .. }), "{error}");
        assert!(
            error.to_string().contains("peer0.org1.example.com"),
            "{error}"
        );
    }
}
