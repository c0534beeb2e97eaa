//! The audit package `audit export` writes and `audit verify` checks: `genesis.json` and
//! `blocks.jsonl` (the raw blocks) are the source; every other file is derived from them
//! by the audit, so `audit verify` re-derives each one with this same writer and
//! compares.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use lianrong_consensus::{BlockHeader, BlockId, ValidatorSet, VoteData, MAX_MESSAGE_BYTES};
use lianrong_contracts::{Action, ContractError, Event};
use lianrong_primitives::{Hash, OrgId, PublicKey};
use lianrong_sdk::RawBlock;
use serde::Serialize;

use super::replay::{AuditFailure, AuditedBlock, Summary};

/// The package format, named in `manifest.json`.
pub const FORMAT: &str = "lianrong-audit-package/v1";
/// The trusted input besides the blocks.
pub const GENESIS: &str = "genesis.json";
/// The raw blocks, one JSON object per line.
pub const BLOCKS: &str = "blocks.jsonl";
/// Files `audit verify` re-derives and compares, in the order it compares them.
pub const DERIVED: [&str; 7] = [
    BLOCKS,
    "certificates.jsonl",
    "transactions.jsonl",
    "transactions.csv",
    "receipts.jsonl",
    "receipts.csv",
    "manifest.json",
];
/// The package's description (not compared: it explains, it proves nothing).
pub const README: &str = "README.txt";
/// Longest line read from a package file: a block of the largest size, as hex, with its
/// certificate and decoded fields.
pub const MAX_LINE_BYTES: usize = 4 * MAX_MESSAGE_BYTES + 64 * 1024;

/// One line of `blocks.jsonl`: the raw block with its decoded header and what the audit
/// computed for it.
#[derive(Serialize)]
struct BlockLine<'a> {
    height: u64,
    hash: Hash,
    time: String,
    header: BlockHeader,
    tx_count: usize,
    dropped_tx_hashes: &'a [Hash],
    reconfig: Option<&'a ValidatorSet>,
    state_root: Hash,
    results_root: Hash,
    block_hex: &'a str,
    certificate_hex: &'a str,
}

/// One line of `certificates.jsonl`.
#[derive(Serialize)]
struct CertLine<'a> {
    height: u64,
    block_hash: Hash,
    epoch: u64,
    vote: VoteData,
    commits: Option<BlockId>,
    direct: bool,
    epoch_end: bool,
    signers: &'a [u16],
    certificate_hex: &'a str,
}

/// One line of `transactions.jsonl`.
#[derive(Serialize)]
struct TxLine<'a> {
    height: u64,
    index: usize,
    hash: Hash,
    signer_org: &'a OrgId,
    signer_key: &'a PublicKey,
    nonce: u64,
    action_name: &'static str,
    action: &'a Action,
    tx_hex: String,
}

/// One line of `receipts.jsonl`: a transaction's receipt, or (`status` `ledger`, no
/// transaction) the changes the ledger made by itself in the block.
#[derive(Serialize)]
struct ReceiptLine<'a> {
    height: u64,
    index: Option<usize>,
    tx_hash: Option<Hash>,
    signer: Option<&'a OrgId>,
    status: &'static str,
    events: &'a [Event],
    error: Option<&'a ContractError>,
    error_message: Option<String>,
}

/// `manifest.json`.
#[derive(Serialize)]
struct Manifest<'a> {
    format: &'static str,
    summary: &'a Summary,
    files: Vec<&'static str>,
}

fn json_line<T: Serialize>(w: &mut impl Write, value: &T) -> Result<()> {
    serde_json::to_writer(&mut *w, value)?;
    w.write_all(b"\n")?;
    Ok(())
}

fn csv_row(w: &mut csv::Writer<File>, cells: &[String]) -> Result<()> {
    w.write_record(cells.iter().map(|c| lianrong_explorer::views::csv_safe(c)))?;
    Ok(())
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Writes a package into a folder, block by block.
pub struct PackageWriter {
    dir: PathBuf,
    blocks: BufWriter<File>,
    certificates: BufWriter<File>,
    transactions: BufWriter<File>,
    receipts: BufWriter<File>,
    transactions_csv: csv::Writer<File>,
    receipts_csv: csv::Writer<File>,
}

impl PackageWriter {
    /// Starts a package in `dir` (an existing folder without package files).
    pub fn create(dir: &Path) -> Result<PackageWriter> {
        let new = |name: &str| {
            let path = dir.join(name);
            File::create_new(&path).with_context(|| format!("creating {}", path.display()))
        };
        let mut transactions_csv = csv::Writer::from_writer(new("transactions.csv")?);
        transactions_csv.write_record([
            "height",
            "index",
            "hash",
            "signer_org",
            "signer_key",
            "nonce",
            "action",
            "action_json",
        ])?;
        let mut receipts_csv = csv::Writer::from_writer(new("receipts.csv")?);
        receipts_csv.write_record([
            "height",
            "index",
            "tx_hash",
            "signer",
            "status",
            "events_json",
            "error_message",
        ])?;
        Ok(PackageWriter {
            dir: dir.to_path_buf(),
            blocks: BufWriter::new(new(BLOCKS)?),
            certificates: BufWriter::new(new("certificates.jsonl")?),
            transactions: BufWriter::new(new("transactions.jsonl")?),
            receipts: BufWriter::new(new("receipts.jsonl")?),
            transactions_csv,
            receipts_csv,
        })
    }

    /// Adds one audited block to every file.
    pub fn write(&mut self, b: &AuditedBlock) -> Result<()> {
        let time = chrono::DateTime::from_timestamp_millis(b.block.timestamp_ms as i64)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default();
        json_line(
            &mut self.blocks,
            &BlockLine {
                height: b.block.height,
                hash: b.hash,
                time,
                header: b.block.header(),
                tx_count: b.txs.len(),
                dropped_tx_hashes: &b.dropped,
                reconfig: b.block.reconfig.as_ref(),
                state_root: b.commit.state_root,
                results_root: b.commit.results_root,
                block_hex: &b.raw.block_hex,
                certificate_hex: &b.raw.certificate_hex,
            },
        )?;
        let committed = b.cert.committed();
        json_line(
            &mut self.certificates,
            &CertLine {
                height: b.block.height,
                block_hash: b.hash,
                epoch: b.cert.qc.vote.epoch,
                vote: b.cert.qc.vote,
                commits: committed,
                direct: committed.is_some_and(|c| c.hash == b.hash),
                epoch_end: b.cert.qc.vote.round == lianrong_consensus::EPOCH_END_ROUND,
                signers: &b.cert.qc.signers,
                certificate_hex: &b.raw.certificate_hex,
            },
        )?;
        self.write_transactions(b)?;
        self.write_receipts(b)
    }

    fn write_transactions(&mut self, b: &AuditedBlock) -> Result<()> {
        for (index, t) in b.txs.iter().enumerate() {
            let tx = t.tx();
            let line = TxLine {
                height: b.block.height,
                index,
                hash: t.hash(),
                signer_org: &tx.signer.org,
                signer_key: &tx.signer.key,
                nonce: tx.nonce,
                action_name: tx.action.name(),
                action: &tx.action,
                tx_hex: hex::encode(t.signed().encode()),
            };
            json_line(&mut self.transactions, &line)?;
            csv_row(
                &mut self.transactions_csv,
                &[
                    line.height.to_string(),
                    index.to_string(),
                    line.hash.to_string(),
                    tx.signer.org.to_string(),
                    tx.signer.key.to_string(),
                    tx.nonce.to_string(),
                    line.action_name.to_string(),
                    to_json(&tx.action),
                ],
            )?;
        }
        Ok(())
    }

    fn write_receipts(&mut self, b: &AuditedBlock) -> Result<()> {
        let mut lines: Vec<ReceiptLine<'_>> = b
            .receipts
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let (status, events, error) = match &r.outcome {
                    Ok(events) => ("ok", events.as_slice(), None),
                    Err(e) => ("refused", &[][..], Some(e)),
                };
                ReceiptLine {
                    height: b.block.height,
                    index: Some(i),
                    tx_hash: Some(r.tx_hash),
                    signer: Some(&r.signer),
                    status,
                    events,
                    error,
                    error_message: error.map(ToString::to_string),
                }
            })
            .collect();
        if !b.ledger_events.is_empty() {
            lines.push(ReceiptLine {
                height: b.block.height,
                index: None,
                tx_hash: None,
                signer: None,
                status: "ledger",
                events: &b.ledger_events,
                error: None,
                error_message: None,
            });
        }
        for l in &lines {
            json_line(&mut self.receipts, l)?;
            let text = |v: Option<String>| v.unwrap_or_default();
            csv_row(
                &mut self.receipts_csv,
                &[
                    l.height.to_string(),
                    text(l.index.map(|i| i.to_string())),
                    text(l.tx_hash.map(|h| h.to_string())),
                    text(l.signer.map(ToString::to_string)),
                    l.status.to_string(),
                    to_json(&l.events),
                    text(l.error_message.clone()),
                ],
            )?;
        }
        Ok(())
    }

    /// Flushes every file and writes `genesis.json` (as given), `manifest.json` and
    /// `README.txt`.
    pub fn finish(mut self, genesis_text: Option<&str>, summary: &Summary) -> Result<()> {
        self.blocks.flush()?;
        self.certificates.flush()?;
        self.transactions.flush()?;
        self.receipts.flush()?;
        self.transactions_csv.flush()?;
        self.receipts_csv.flush()?;
        if let Some(text) = genesis_text {
            std::fs::write(self.dir.join(GENESIS), text)?;
        }
        let manifest = Manifest {
            format: FORMAT,
            summary,
            files: [GENESIS]
                .into_iter()
                .chain(DERIVED)
                .chain([README])
                .collect(),
        };
        let mut m = serde_json::to_string_pretty(&manifest)?;
        m.push('\n');
        std::fs::write(self.dir.join("manifest.json"), m)?;
        std::fs::write(self.dir.join(README), readme(summary))?;
        Ok(())
    }
}

/// `README.txt`: what each file is and how to check it.
fn readme(s: &Summary) -> String {
    format!(
        "LianRong audit package ({FORMAT})\n\
         \n\
         Chain {chain}, blocks 1 to {blocks}: {txs} transactions, {epochs} epoch(s).\n\
         Genesis hash {genesis}. The last block certifies state root {root}\n\
         (results root {results}) after height {certified}.\n\
         \n\
         Files\n\
         - genesis.json: the network's genesis file the package was audited from. Compare it\n\
         \x20 with the one the network published: it is the only thing to trust.\n\
         - blocks.jsonl: one finalized block per line, in height order. block_hex and\n\
         \x20 certificate_hex are the canonical encodings of the consensus Block and of its\n\
         \x20 CommitCertificate, exactly as GET /v1/blocks/{{height}}/raw serves them; the other\n\
         \x20 fields are decoded from them (header), or computed by re-execution (state_root,\n\
         \x20 results_root: the state after this block, certified by a later block's\n\
         \x20 header.executed).\n\
         - certificates.jsonl: each block's certificate, decoded: the vote its signers signed,\n\
         \x20 the block it commits (this one, or a descendant whose hash chain proves this one),\n\
         \x20 the signer indexes in the epoch's validator set.\n\
         - transactions.jsonl, transactions.csv: every executed transaction (height, index,\n\
         \x20 hash, signer, nonce, action), decoded from the block payloads; tx_hex is the\n\
         \x20 signed transaction's canonical encoding.\n\
         - receipts.jsonl, receipts.csv: each transaction's outcome (ok with its events, or\n\
         \x20 refused with the reason), and status \"ledger\" lines for changes the ledger made by\n\
         \x20 itself (overdue receivables), from re-executing the blocks.\n\
         - manifest.json: the audit's summary and the list of files.\n\
         \n\
         CSV cells that a spreadsheet would run as a formula (starting with = + @ - tab or\n\
         carriage return, except negative numbers) carry a leading apostrophe.\n\
         \n\
         How to check it\n\
         \x20 lianrong audit verify DIR --genesis NETWORK-GENESIS.json\n\
         checks the hash chain, every certificate against the validator set of its epoch\n\
         (from the genesis validators through each certified validator-set change),\n\
         re-executes every block from the genesis state, compares each certified state and\n\
         results root with the re-execution, then re-derives every file above except this\n\
         one and compares it with the package. It exits 0 if everything matches, 1 at the\n\
         first discrepancy (naming the height), 2 if it could not check.\n",
        chain = s.chain_id,
        blocks = s.blocks,
        txs = s.transactions,
        epochs = s.epochs,
        genesis = s.genesis_hash,
        root = s.certified.state_root,
        results = s.certified.results_root,
        certified = s.certified.height,
    )
}

/// Reads one line (without its end) of at most `max` bytes; `None` at the end.
pub fn read_line(r: &mut impl BufRead, max: usize) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = r
        .by_ref()
        .take(max as u64 + 1)
        .read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
    } else if buf.len() > max {
        return Err(std::io::Error::other(format!(
            "a line is longer than {max} bytes"
        )));
    }
    String::from_utf8(buf)
        .map(Some)
        .map_err(|_| std::io::Error::other("a line is not UTF-8"))
}

/// The raw blocks of a `blocks.jsonl` (or of lines `{height, block_hex,
/// certificate_hex}` as `/v1/blocks/{height}/raw` answers), in file order, and how many
/// lines the file has.
pub fn read_blocks(
    path: &Path,
) -> Result<(u64, impl Iterator<Item = Result<RawBlock, AuditFailure>>)> {
    let open = || File::open(path).with_context(|| format!("opening {}", path.display()));
    let mut lines = 0u64;
    let mut counter = BufReader::new(open()?);
    while read_line(&mut counter, MAX_LINE_BYTES)
        .with_context(|| format!("reading {}", path.display()))?
        .is_some()
    {
        lines += 1;
    }
    let mut reader = BufReader::new(open()?);
    let name = path.display().to_string();
    let mut line_no = 0u64;
    let blocks = std::iter::from_fn(move || {
        line_no += 1;
        match read_line(&mut reader, MAX_LINE_BYTES) {
            Ok(None) => None,
            Ok(Some(l)) => Some(serde_json::from_str::<RawBlock>(&l).map_err(|e| {
                AuditFailure::Package(format!("{name} line {line_no} is not a raw block: {e}"))
            })),
            Err(e) => Some(Err(AuditFailure::Unavailable(anyhow!(
                "reading {name}: {e}"
            )))),
        }
    });
    Ok((lines, blocks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_whole_and_bounded() {
        let mut r = std::io::Cursor::new(b"one\ntwo\n\nlast".to_vec());
        let mut got = Vec::new();
        while let Some(l) = read_line(&mut r, 8).unwrap() {
            got.push(l);
        }
        assert_eq!(got, ["one", "two", "", "last"]);
        let mut long = std::io::Cursor::new(b"123456789\n".to_vec());
        assert!(read_line(&mut long, 8).is_err());
        let mut exact = std::io::Cursor::new(b"12345678\n".to_vec());
        assert_eq!(
            read_line(&mut exact, 8).unwrap().as_deref(),
            Some("12345678")
        );
    }
}
