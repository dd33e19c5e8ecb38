//! The walk from a block's bytes down to read and write sets: envelope, payload, headers,
//! then for an endorser transaction its action, proposal, endorsements and chaincode
//! action (Fabric's `protoutil` walks the same way).

use super::{
    BlockView, Bytes, ChaincodeEvent, ChaincodeResponse, CollectionHashes, HashedWrite,
    NamespaceRwSet, Party, Read, TxView, Write,
};
use crate::protos::{common, kvrwset, msp, protos, rwset};
use crate::FabricError;
use hex::encode as hex;
use prost::Message;

/// Every transaction of `block` (as `peer` delivered it).
pub fn decode_block(peer: &str, block: &common::Block) -> Result<BlockView, FabricError> {
    let number = block.header.as_ref().map_or(0, |h| h.number);
    let envelopes = block
        .data
        .as_ref()
        .map(|d| d.data.as_slice())
        .unwrap_or(&[]);
    let transactions = envelopes
        .iter()
        .enumerate()
        .map(|(index, envelope)| {
            Reader::new(peer, number, index).transaction(envelope, validation_code(block, index))
        })
        .collect::<Result<_, _>>()?;
    Ok(BlockView {
        number,
        transactions,
    })
}

/// The transaction `tx_id` of `block`, the first one if the block holds duplicates.
pub fn find_transaction(
    peer: &str,
    block: &common::Block,
    tx_id: &str,
) -> Result<Option<TxView>, FabricError> {
    Ok(decode_block(peer, block)?
        .transactions
        .into_iter()
        .find(|tx| tx.tx_id == tx_id))
}

/// The chaincode event in a peer's endorsement of a proposal (what the transaction will
/// emit when it commits), if the chaincode set one.
pub fn endorsed_event(
    peer: &str,
    response: &protos::ProposalResponse,
) -> Result<Option<ChaincodeEvent>, FabricError> {
    let unparseable = |what: &str, e: prost::DecodeError| FabricError::Unparseable {
        server_name: peer.to_string(),
        what: format!("its endorsement ({what})"),
        detail: e.to_string(),
    };
    let payload = protos::ProposalResponsePayload::decode(response.payload.as_slice())
        .map_err(|e| unparseable("proposal response", e))?;
    let action = protos::ChaincodeAction::decode(payload.extension.as_slice())
        .map_err(|e| unparseable("chaincode action", e))?;
    if action.events.is_empty() {
        return Ok(None);
    }
    let event = protos::ChaincodeEvent::decode(action.events.as_slice())
        .map_err(|e| unparseable("chaincode event", e))?;
    Ok(Some(ChaincodeEvent {
        name: event.event_name,
        payload: Bytes(event.payload),
    }))
}

/// The code the committing peer wrote for transaction `index` into the block's
/// transactions filter (one byte per transaction).
fn validation_code(block: &common::Block, index: usize) -> Option<String> {
    let filter = block
        .metadata
        .as_ref()?
        .metadata
        .get(common::BlockMetadataIndex::TransactionsFilter as usize)?;
    let code = i32::from(*filter.get(index)?);
    Some(
        protos::TxValidationCode::try_from(code)
            .map(|c| c.as_str_name().to_string())
            .unwrap_or_else(|_| format!("code {code}")),
    )
}

/// Decodes the parts of one transaction, naming it in errors.
struct Reader<'a> {
    peer: &'a str,
    block: u64,
    index: usize,
}

impl<'a> Reader<'a> {
    fn new(peer: &'a str, block: u64, index: usize) -> Self {
        Reader { peer, block, index }
    }

    fn decode<T: Message + Default>(&self, what: &str, bytes: &[u8]) -> Result<T, FabricError> {
        T::decode(bytes).map_err(|e| FabricError::Unparseable {
            server_name: self.peer.to_string(),
            what: format!(
                "transaction {} of block {} ({what})",
                self.index, self.block
            ),
            detail: format!("{e} ({} bytes)", bytes.len()),
        })
    }

    fn transaction(
        &self,
        envelope: &[u8],
        validation: Option<String>,
    ) -> Result<TxView, FabricError> {
        let envelope: common::Envelope = self.decode("envelope", envelope)?;
        let payload: common::Payload = self.decode("payload", &envelope.payload)?;
        let header = payload.header.unwrap_or_default();
        let channel_header: common::ChannelHeader =
            self.decode("channel header", &header.channel_header)?;
        let signature_header: common::SignatureHeader =
            self.decode("signature header", &header.signature_header)?;
        let header_type = common::HeaderType::try_from(channel_header.r#type);
        let mut view = TxView {
            block: self.block,
            index: self.index,
            tx_id: channel_header.tx_id,
            channel: channel_header.channel_id,
            kind: match header_type {
                Ok(common::HeaderType::Config) => "config".into(),
                Ok(common::HeaderType::EndorserTransaction) => "invoke".into(),
                Ok(other) => other.as_str_name().to_lowercase(),
                Err(_) => format!("type {}", channel_header.r#type),
            },
            timestamp: channel_header.timestamp.as_ref().and_then(rfc3339),
            validation,
            creator: self.party("creator", &signature_header.creator)?,
            chaincode: None,
            function: None,
            args: Vec::new(),
            endorsers: Vec::new(),
            rwsets: Vec::new(),
            event: None,
            response: None,
        };
        if header_type == Ok(common::HeaderType::EndorserTransaction) {
            let transaction: protos::Transaction = self.decode("transaction", &payload.data)?;
            // Fabric puts one action in a transaction.
            if let Some(action) = transaction.actions.first() {
                self.action(&action.payload, &mut view)?;
            }
            if view.chaincode.as_deref() == Some("_lifecycle") {
                view.kind = "lifecycle".into();
            }
        }
        Ok(view)
    }

    fn action(&self, bytes: &[u8], view: &mut TxView) -> Result<(), FabricError> {
        let payload: protos::ChaincodeActionPayload = self.decode("action", bytes)?;
        let proposal: protos::ChaincodeProposalPayload =
            self.decode("proposal", &payload.chaincode_proposal_payload)?;
        let invocation: protos::ChaincodeInvocationSpec =
            self.decode("invocation", &proposal.input)?;
        let spec = invocation.chaincode_spec.unwrap_or_default();
        view.chaincode = spec.chaincode_id.map(|id| id.name);
        view.args = spec
            .input
            .map(|input| input.args.into_iter().map(Bytes).collect())
            .unwrap_or_default();
        view.function = view.args.first().and_then(|a| a.text()).map(String::from);
        let endorsed = payload.action.unwrap_or_default();
        for endorsement in &endorsed.endorsements {
            view.endorsers
                .push(self.party("endorser", &endorsement.endorser)?);
        }
        let response: protos::ProposalResponsePayload =
            self.decode("proposal response", &endorsed.proposal_response_payload)?;
        let action: protos::ChaincodeAction =
            self.decode("chaincode action", &response.extension)?;
        if let Some(id) = action.chaincode_id.filter(|id| !id.name.is_empty()) {
            view.chaincode = Some(id.name);
        }
        let results: rwset::TxReadWriteSet = self.decode("read-write set", &action.results)?;
        view.rwsets = results
            .ns_rwset
            .iter()
            .map(|ns| self.namespace(ns))
            .collect::<Result<_, _>>()?;
        if !action.events.is_empty() {
            let event: protos::ChaincodeEvent = self.decode("chaincode event", &action.events)?;
            view.event = Some(ChaincodeEvent {
                name: event.event_name,
                payload: Bytes(event.payload),
            });
        }
        view.response = action.response.map(|r| ChaincodeResponse {
            status: r.status,
            message: r.message,
            payload: Bytes(r.payload),
        });
        Ok(())
    }

    fn namespace(&self, ns: &rwset::NsReadWriteSet) -> Result<NamespaceRwSet, FabricError> {
        let set: kvrwset::KvrwSet = self.decode("key-value read-write set", &ns.rwset)?;
        let collections = ns
            .collection_hashed_rwset
            .iter()
            .map(|c| {
                let hashed: kvrwset::HashedRwSet =
                    self.decode("hashed private read-write set", &c.hashed_rwset)?;
                Ok(CollectionHashes {
                    collection: c.collection_name.clone(),
                    reads: hashed
                        .hashed_reads
                        .iter()
                        .map(|r| hex(&r.key_hash))
                        .collect(),
                    writes: hashed
                        .hashed_writes
                        .iter()
                        .map(|w| HashedWrite {
                            key_hash: hex(&w.key_hash),
                            deleted: w.is_delete,
                            value_hash: hex(&w.value_hash),
                        })
                        .collect(),
                })
            })
            .collect::<Result<_, FabricError>>()?;
        Ok(NamespaceRwSet {
            namespace: ns.namespace.clone(),
            reads: set
                .reads
                .into_iter()
                .map(|r| Read {
                    key: r.key,
                    version: r.version.map(|v| (v.block_num, v.tx_num)),
                })
                .collect(),
            range_queries: set.range_queries_info.len(),
            writes: set
                .writes
                .into_iter()
                .map(|w| Write {
                    key: w.key,
                    deleted: w.is_delete,
                    value: Bytes(w.value),
                })
                .collect(),
            collections,
        })
    }

    fn party(&self, what: &str, serialized: &[u8]) -> Result<Party, FabricError> {
        let identity: msp::SerializedIdentity = self.decode(what, serialized)?;
        Ok(Party {
            msp_id: identity.mspid,
            name: common_name(&identity.id_bytes),
        })
    }
}

/// The subject's common name of a PEM certificate (an identity that is not one, as an
/// idemix identity, has none).
fn common_name(pem: &[u8]) -> Option<String> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem).ok()?;
    let certificate = pem.parse_x509().ok()?;
    let name = certificate.subject().iter_common_name().next()?;
    name.as_str().ok().map(String::from)
}

fn rfc3339(timestamp: &prost_types::Timestamp) -> Option<String> {
    let nanos = i128::from(timestamp.seconds) * 1_000_000_000 + i128::from(timestamp.nanos);
    let time = time::OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()?;
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time.format(&format).ok()
}

#[cfg(test)]
mod tests;
