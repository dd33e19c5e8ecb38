//! Blocks and transactions as a person reads them: who sent what to which chaincode,
//! what it read and wrote, and whether the peer found it valid. Decoded from the block
//! bytes a peer delivers, strictly: a part that does not decode is
//! [`crate::FabricError::Unparseable`], never skipped. Fabric 2.5 and 3.x, etcdraft and
//! BFT blocks share this format.

mod decode;

pub use decode::{decode_block, endorsed_event, find_transaction};
use serde::Serialize;

/// One block's transactions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockView {
    pub number: u64,
    pub transactions: Vec<TxView>,
}

/// One transaction decoded whole; `fabx blocks` shows its [`TxView::summary`] fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TxView {
    pub block: u64,
    /// Its position in the block.
    pub index: usize,
    /// Empty for a config transaction of a genesis block.
    pub tx_id: String,
    pub channel: String,
    /// `config`, `lifecycle` (a `_lifecycle` call), `invoke`, or the header type's name.
    pub kind: String,
    /// RFC 3339, UTC, to the millisecond, as the client stamped it.
    pub timestamp: Option<String>,
    /// The peer's validation code (`VALID`, `MVCC_READ_CONFLICT`, ...); absent when the
    /// block carries none.
    pub validation: Option<String>,
    pub creator: Party,
    pub chaincode: Option<String>,
    /// The first argument, when it is text.
    pub function: Option<String>,
    /// Every argument, the function first.
    pub args: Vec<Bytes>,
    pub endorsers: Vec<Party>,
    pub rwsets: Vec<NamespaceRwSet>,
    pub event: Option<ChaincodeEvent>,
    pub response: Option<ChaincodeResponse>,
}

/// A signer: its MSP and its certificate's common name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Party {
    pub msp_id: String,
    pub name: Option<String>,
}

/// What a transaction read and wrote in one namespace (a chaincode).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamespaceRwSet {
    pub namespace: String,
    pub reads: Vec<Read>,
    /// How many range queries it ran (their reads are checked again at validation).
    pub range_queries: usize,
    pub writes: Vec<Write>,
    /// Private data: only hashes are on the ledger.
    pub collections: Vec<CollectionHashes>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Read {
    pub key: String,
    /// The (block, transaction) that wrote the version read; absent for a missing key.
    pub version: Option<(u64, u64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Write {
    pub key: String,
    pub deleted: bool,
    pub value: Bytes,
}

/// A collection's reads and writes, as SHA-256 hashes in hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionHashes {
    pub collection: String,
    pub reads: Vec<String>,
    pub writes: Vec<HashedWrite>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HashedWrite {
    pub key_hash: String,
    pub deleted: bool,
    pub value_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChaincodeEvent {
    pub name: String,
    pub payload: Bytes,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChaincodeResponse {
    pub status: i32,
    pub message: String,
    pub payload: Bytes,
}

/// Bytes from the ledger: shown as text when they are UTF-8 without control characters,
/// else as base64 (in JSON, `{"base64": "..."}`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    pub fn text(&self) -> Option<&str> {
        let text = std::str::from_utf8(&self.0).ok()?;
        let printable = text
            .chars()
            .all(|c| !c.is_control() || c == '\n' || c == '\t');
        printable.then_some(text)
    }
}

impl std::fmt::Display for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use base64::Engine;
        match self.text() {
            Some(text) => write!(f, "{text:?}"),
            None => write!(
                f,
                "base64:{}",
                base64::engine::general_purpose::STANDARD.encode(&self.0)
            ),
        }
    }
}

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use base64::Engine;
        use serde::ser::SerializeMap;
        match self.text() {
            Some(text) => serializer.serialize_str(text),
            None => {
                let mut map = serializer.serialize_map(Some(1))?;
                let encoded = base64::engine::general_purpose::STANDARD.encode(&self.0);
                map.serialize_entry("base64", &encoded)?;
                map.end()
            }
        }
    }
}

/// A transaction's line in `fabx blocks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TxSummary {
    pub block: u64,
    pub index: usize,
    pub tx_id: String,
    pub kind: String,
    pub creator_msp: String,
    pub chaincode: Option<String>,
    pub function: Option<String>,
    pub validation: Option<String>,
    pub timestamp: Option<String>,
}

impl TxView {
    pub fn summary(&self) -> TxSummary {
        TxSummary {
            block: self.block,
            index: self.index,
            tx_id: self.tx_id.clone(),
            kind: self.kind.clone(),
            creator_msp: self.creator.msp_id.clone(),
            chaincode: self.chaincode.clone(),
            function: self.function.clone(),
            validation: self.validation.clone(),
            timestamp: self.timestamp.clone(),
        }
    }

    /// The transaction's validation code, or `-` when the block has none.
    pub fn validation_or_dash(&self) -> &str {
        self.validation.as_deref().unwrap_or("-")
    }

    /// Whether the peer committed its writes.
    pub fn is_valid(&self) -> bool {
        self.validation.as_deref() == Some("VALID")
    }
}
