//! `blocks [--channel C] [--from N] [--follow]`: one line per transaction of a channel's
//! blocks (with `--json`, one object per line).

use super::output::Output;
use anyhow::Result;
use clap::Args;
use fabx::ledger::TxSummary;
use fabx::Network;

#[derive(Debug, Args)]
pub struct BlocksArgs {
    /// Channel (default: the topology's default channel)
    #[arg(long)]
    pub channel: Option<String>,
    /// The first block to show
    #[arg(long, default_value_t = 0)]
    pub from: u64,
    /// After the newest block, go on printing blocks as the peer commits them (Ctrl-C
    /// ends)
    #[arg(long)]
    pub follow: bool,
}

pub async fn run(network: &Network, args: BlocksArgs, output: &Output) -> Result<()> {
    let channel = args.channel.as_deref();
    let mut blocks = output.finish_steps(network.blocks(channel, args.from, args.follow).await)?;
    if !output.json() {
        println!("{}", header());
    }
    while let Some(block) = output.finish_steps(blocks.next().await)? {
        for tx in &block.transactions {
            let summary = tx.summary();
            if output.json() {
                println!("{}", serde_json::to_string(&summary)?);
            } else {
                println!("{}", line(&summary));
            }
        }
    }
    Ok(())
}

fn header() -> String {
    row([
        "BLOCK",
        "TX",
        "TYPE",
        "CREATOR",
        "CHAINCODE",
        "FUNCTION",
        "VALIDATION",
        "TIMESTAMP",
        "TX ID",
    ])
}

/// A transaction's columns; `-` for what it has not.
pub fn line(tx: &TxSummary) -> String {
    let or_dash = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".into());
    let tx_id = if tx.tx_id.is_empty() { "-" } else { &tx.tx_id };
    row([
        &tx.block.to_string(),
        &tx.index.to_string(),
        &tx.kind,
        &tx.creator_msp,
        &or_dash(&tx.chaincode),
        &or_dash(&tx.function),
        &or_dash(&tx.validation),
        &or_dash(&tx.timestamp),
        tx_id,
    ])
}

/// Fixed widths, so that lines printed as blocks arrive stay aligned.
fn row(cells: [&str; 9]) -> String {
    const WIDTHS: [usize; 8] = [6, 4, 10, 11, 12, 35, 27, 25];
    let mut text = String::new();
    for (cell, width) in cells.iter().zip(WIDTHS) {
        text.push_str(&format!("{cell:<width$} "));
    }
    text.push_str(cells[8]);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_has_every_column_and_dashes_for_what_is_missing() {
        let tx = TxSummary {
            block: 12,
            index: 1,
            tx_id: "4f1c".into(),
            kind: "invoke".into(),
            creator_msp: "Org1MSP".into(),
            chaincode: Some("examplecc".into()),
            function: None,
            validation: Some("MVCC_READ_CONFLICT".into()),
            timestamp: Some("2026-12-04T09:31:17.123Z".into()),
        };
        let line = line(&tx);
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            cells,
            [
                "12",
                "1",
                "invoke",
                "Org1MSP",
                "examplecc",
                "-",
                "MVCC_READ_CONFLICT",
                "2026-12-04T09:31:17.123Z",
                "4f1c"
            ]
        );
        // Columns line up with the header's.
        assert_eq!(line.find("4f1c"), header().find("TX ID"));
    }
}
