//! `blocks` and `tx`: a channel's ledger as its committing peer has it (whole blocks
//! over the peer's Deliver service, a transaction's block from `qscc`), decoded by
//! [`fabx_fabric::ledger`].

use super::Network;
use crate::network::error::{Error, Result};
use crate::topology::{ports, Node};
use fabx_fabric::ledger::{self, BlockView, TxView};
use fabx_fabric::node::BlockStream;
use fabx_fabric::system;

/// A channel's blocks in order, decoded, as one peer delivers them.
pub struct Blocks {
    stream: BlockStream,
    peer: Node,
}

impl Blocks {
    /// The next block; `None` after the last one asked for (never, when following).
    pub async fn next(&mut self) -> Result<Option<BlockView>> {
        match self.stream.next().await? {
            Some(block) => Ok(Some(ledger::decode_block(&self.peer.host, &block)?)),
            None => Ok(None),
        }
    }
}

impl Network {
    /// `channel`'s blocks from number `from` (default channel: the topology's): up to the
    /// newest, or, with `follow`, then each block as the peer commits it.
    pub async fn blocks(&self, channel: Option<&str>, from: u64, follow: bool) -> Result<Blocks> {
        let channel = self.topology.channel_or_default(channel);
        let peer = self.ledger_peer(&channel).await?;
        if !follow {
            let height = self.height(&peer, &channel).await?;
            if from >= height {
                return Err(Error::BadInput {
                    problem: format!(
                        "{channel} has {height} blocks (0 to {}), none from {from}",
                        height.saturating_sub(1)
                    ),
                    fix: "give a lower --from, or --follow to wait for new blocks".into(),
                });
            }
        }
        let admin = self.admin_identity(&peer)?;
        let connection = self.connect_to(&peer, ports::PEER, &admin).await?;
        let stream = connection.blocks(&admin, &channel, from, follow);
        Ok(Blocks { stream, peer })
    }

    /// Transaction `tx_id` of `channel`, decoded whole, with its block and validation code.
    pub async fn transaction(&self, channel: Option<&str>, tx_id: &str) -> Result<TxView> {
        let channel = self.topology.channel_or_default(channel);
        let peer = self.ledger_peer(&channel).await?;
        let not_found = || Error::BadInput {
            problem: format!("{channel} has no transaction {tx_id}"),
            fix: format!("`fabx blocks --channel {channel}` lists its transactions"),
        };
        let payload = match self
            .evaluate_system(&peer, system::block_by_tx_id(&channel, tx_id))
            .await
        {
            Err(Error::ChaincodeFailed { message, .. }) if is_missing_transaction(&message) => {
                return Err(not_found())
            }
            other => other?,
        };
        let block = system::read_block(&peer.host, &payload)?;
        ledger::find_transaction(&peer.host, &block, tx_id)?.ok_or_else(not_found)
    }

    /// The peer that answers for `channel`'s ledger; a network that is not up is
    /// [`Error::NotUp`].
    async fn ledger_peer(&self, channel: &str) -> Result<Node> {
        let peer = self.committing_peer(channel)?;
        self.published_socket(&peer, ports::PEER).await?;
        Ok(peer)
    }

    async fn height(&self, peer: &Node, channel: &str) -> Result<u64> {
        let payload = self
            .evaluate_system(peer, system::chain_info(channel))
            .await?;
        Ok(system::read_height(&peer.host, &payload)?)
    }
}

/// What `qscc` answers for a transaction ID its index does not have (Fabric 2.5 and 3.x:
/// "Failed to get block for txID ..., error no such transaction ID [...] in index").
fn is_missing_transaction(message: &str) -> bool {
    message.contains("no such transaction ID")
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_index_miss_is_a_missing_transaction() {
        assert!(super::is_missing_transaction(
            "Failed to get block for txID abc, error no such transaction ID [abc] in index"
        ));
        assert!(!super::is_missing_transaction(
            "access denied for [GetBlockByTxID][mychannel]"
        ));
    }
}
