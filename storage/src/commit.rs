//! Writing: genesis, and each finalized block with everything derived from it, in one
//! synced `WriteBatch`.

use lianrong_contracts::exec::ChainMeta;
use lianrong_contracts::state::keys;
use lianrong_contracts::tx::MAX_TX_BYTES;
use lianrong_contracts::StateChanges;
use lianrong_primitives::{codec, Hash};
use rocksdb::WriteBatch;
use serde::{Deserialize, Serialize};

use super::db::{synced, Db};
use super::error::DbError;
use super::indexes;
use super::node_codec::{encode_node, encode_node_key};
use super::schema::*;

/// Everything of one finalized block, to be stored atomically by [`Db::commit_block`].
#[derive(Debug, Clone)]
pub struct CommitBlock {
    /// The block's height: the latest committed height plus one.
    pub height: u64,
    /// The block's hash (as consensus computes it), for [`Db::block_by_hash`].
    pub block_hash: Hash,
    /// The encoded block, opaque here.
    pub block: Vec<u8>,
    /// The encoded commit certificate, opaque here.
    pub cert: Vec<u8>,
    /// The block's transactions in order: (hash, signed transaction bytes).
    pub txs: Vec<(Hash, Vec<u8>)>,
    /// One receipt per transaction, in the same order.
    pub receipts: Vec<lianrong_contracts::Receipt>,
    /// The state changes from executing the block (`changes.version == height`).
    pub changes: StateChanges,
    /// The root of the block's results (`BlockOutcome::results_root`).
    pub results_root: Hash,
    /// The epoch this block ends, when it carries a validator-set change.
    pub ends_epoch: Option<u64>,
    /// The changes the ledger made by itself in this block (`BlockOutcome::ledger_events`:
    /// the overdue sweep), kept so that a reader of the block learns them from the block
    /// and not only from a notice it may have missed. Most blocks have none; then nothing
    /// is written.
    pub ledger_events: Vec<lianrong_contracts::Event>,
}

/// A stored transaction and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxRecord {
    /// Height of the block that holds it.
    pub height: u64,
    /// Its position in that block.
    pub index: u32,
    /// The signed transaction bytes as they appeared in the block.
    pub bytes: Vec<u8>,
}

impl TxRecord {
    /// The stored [`CF_TX_ENTRIES`] entry of the transaction `bytes` at `height`, `index` and its
    /// receipt: first the record exactly as the codec encodes a [`TxRecord`] (fixed-width
    /// little-endian height and index, the bytes' length as a `u64`, the bytes), written
    /// directly -- through serde each byte of the transaction was an encoder call of its
    /// own, after a copy into the record --, then the receipt's codec encoding.
    pub(crate) fn encode_entry(
        height: u64,
        index: u32,
        bytes: &[u8],
        receipt: &lianrong_contracts::Receipt,
    ) -> Vec<u8> {
        let receipt = codec::encode(receipt);
        let mut out = Vec::with_capacity(RECORD_HEAD + bytes.len() + receipt.len());
        out.extend_from_slice(&height.to_le_bytes());
        out.extend_from_slice(&index.to_le_bytes());
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(bytes);
        out.extend_from_slice(&receipt);
        out
    }

    /// A stored entry's record and the bytes of its receipt (an error names what is
    /// malformed: the entry is this node's own, so that is corruption).
    pub(crate) fn split_entry(entry: &[u8]) -> Result<(TxRecord, &[u8]), &'static str> {
        let (height, rest) = entry
            .split_first_chunk::<8>()
            .ok_or("shorter than its height")?;
        let (index, rest) = rest
            .split_first_chunk::<4>()
            .ok_or("shorter than its index")?;
        let (len, rest) = rest
            .split_first_chunk::<8>()
            .ok_or("shorter than its length")?;
        let len = usize::try_from(u64::from_le_bytes(*len))
            .ok()
            .filter(|&len| len <= MAX_TX_BYTES && len <= rest.len())
            .ok_or("a transaction length past its end or the limit")?;
        let (bytes, receipt) = rest.split_at(len);
        let record = TxRecord {
            height: u64::from_le_bytes(*height),
            index: u32::from_le_bytes(*index),
            bytes: bytes.to_vec(),
        };
        Ok((record, receipt))
    }
}

/// Bytes of a stored record before the transaction: height, index, length.
const RECORD_HEAD: usize = 8 + 4 + 8;

impl Db {
    /// Writes the genesis state (tree version 0). Only on an empty database; the chain id
    /// recorded in the genesis state must be this database's.
    pub fn apply_genesis(&self, changes: &StateChanges) -> Result<(), DbError> {
        let _guard = self.commit_guard();
        if let Some((latest, _)) = self.latest()? {
            return Err(DbError::AlreadyInitialised { latest });
        }
        let inconsistent = |reason: String| DbError::Inconsistent { height: 0, reason };
        if changes.version != 0 {
            return Err(inconsistent(format!(
                "genesis changes are for version {}",
                changes.version
            )));
        }
        let meta_bytes = changes
            .values
            .get(keys::META)
            .and_then(|v| v.as_deref())
            .ok_or_else(|| inconsistent("genesis writes no chain metadata".into()))?;
        let meta: ChainMeta = codec::decode_stored(meta_bytes, MAX_VALUE_BYTES)
            .map_err(|e| inconsistent(format!("genesis chain metadata: {e}")))?;
        if meta.chain_id != self.chain_id() {
            return Err(inconsistent(format!(
                "genesis is for chain {:?}, the database for {:?}",
                meta.chain_id,
                self.chain_id()
            )));
        }
        let mut batch = WriteBatch::default();
        self.stage_changes(&mut batch, 0, changes)?;
        self.put(&mut batch, CF_META, META_GENESIS, &changes.root.0)?;
        self.write_state(batch, &synced(), state_keys(changes))?;
        tracing::info!(root = %changes.root, "genesis committed");
        Ok(())
    }

    /// Stores one finalized block: its bytes, certificate, transactions, receipts, state
    /// changes, tree nodes, history and receivable indexes, and the new latest height and
    /// root -- all in one synced write, so it is all there or none of it is (also after a
    /// crash). Returns only once the block is durable.
    ///
    /// Refuses (writing nothing) a height other than latest + 1, changes for another
    /// version, and parts that do not belong together.
    pub fn commit_block(&self, block: &CommitBlock) -> Result<(), DbError> {
        let _guard = self.commit_guard();
        let height = block.height;
        let Some((latest, _)) = self.latest()? else {
            return Err(DbError::NoGenesis);
        };
        let expected = latest.checked_add(1).ok_or(DbError::WrongHeight {
            expected: u64::MAX,
            got: height,
        })?;
        if height != expected {
            return Err(DbError::WrongHeight {
                expected,
                got: height,
            });
        }
        self.check_block(block)?;
        let (batch, pruned) = self.stage_block(block)?;
        let entries = batch.len();
        let ticket = self.write_state(batch, &synced(), state_keys(&block.changes))?;
        // Only once they are on disk: the next blocks read what this one wrote first.
        let written = block.changes.values.iter();
        self.state.keep(
            ticket,
            written.map(|(key, value)| (key.as_slice(), value.as_deref())),
        );
        // The next block reads these paths first, and no longer the old versions they
        // replace.
        let tree = &block.changes.tree;
        self.nodes
            .forget(tree.stale_node_index_batch.iter().map(|s| &s.node_key));
        for (key, node) in tree.node_batch.nodes() {
            self.nodes.insert(key, node);
        }
        let changes = &block.changes;
        // What the batch's entries are, by kind: what a change to the layout would save.
        tracing::debug!(
            height,
            root = %changes.root,
            txs = block.txs.len(),
            entries,
            state = changes.values.len(),
            history = changes.index.len(),
            tree_nodes = tree.node_batch.nodes().len(),
            tree_values = tree.node_batch.values().len(),
            stale_nodes = tree.stale_node_index_batch.len(),
            ?pruned,
            "block committed"
        );
        Ok(())
    }

    fn commit_guard(&self) -> std::sync::MutexGuard<'_, ()> {
        // The mutex guards no data, only ordering; a panic in another commit left nothing
        // half-done in memory (the batch was either written whole or not at all).
        self.commit_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The write batch that commits `block` (checked already), and what its pruning
    /// deletes. Staging moves the pruning floor (`stage_prune`: no read may start on a
    /// version the batch deletes), so a staged batch is written, under the commit guard.
    pub(crate) fn stage_block(
        &self,
        block: &CommitBlock,
    ) -> Result<(WriteBatch, super::prune::PruneStats), DbError> {
        let height = block.height;
        let mut batch = WriteBatch::with_capacity_bytes(self.batch_bytes_estimate(block));
        self.stage_changes(&mut batch, height, &block.changes)?;
        let hkey = height_key(height);
        self.put(&mut batch, CF_BLOCKS, &hkey, &block.block)?;
        self.put(&mut batch, CF_CERTS, &hkey, &block.cert)?;
        self.put(&mut batch, CF_RESULTS, &hkey, &block.results_root.0)?;
        if !block.ledger_events.is_empty() {
            let events = codec::encode(&block.ledger_events);
            too_large("ledger events", events.len(), MAX_LEDGER_EVENTS_BYTES)?;
            self.put(&mut batch, CF_RESULTS, &ledger_events_key(height), &events)?;
        }
        if let Some(epoch) = block.ends_epoch {
            self.put(&mut batch, CF_META, &epoch_end_key(epoch), &hkey)?;
        }
        self.put(&mut batch, CF_BLOCK_HASHES, &block.block_hash.0, &hkey)?;
        self.stage_txs(&mut batch, height, block)?;
        let stale = self.stage_stale_index(&mut batch, height, &block.changes.tree)?;
        let pruned = self.stage_prune(&mut batch, height, super::prune::prune_budget(stale))?;
        Ok((batch, pruned))
    }

    /// What `block`'s write batch will hold, a little more rather than less, so that it is
    /// allocated once. Grown as filled, a batch of a few MiB was copied a dozen times, and
    /// under the node's malloc settings (`node/src/glibc_malloc.rs`: allocations above
    /// 128 KiB are fresh mappings) each copy faulted in fresh pages too: 5 % of a
    /// catching-up executor's samples (perf, 2026-12-06). Pages reserved and never
    /// written cost address space, not memory.
    pub(crate) fn batch_bytes_estimate(&self, b: &CommitBlock) -> usize {
        // Per entry: the lengths, tags and column family id; sealed, a nonce and a tag
        // besides, and keys of keyed hashes.
        let framing = if self.crypt.is_some() { 8 + 64 } else { 8 };
        let entry = |key: usize, value: usize| key + value + framing;
        let len = |v: &Option<Vec<u8>>| v.as_ref().map_or(0, Vec::len);
        let values: usize = (b.changes.values.iter())
            .chain(&b.changes.index)
            .map(|(k, v)| entry(k.len(), len(v)))
            .sum();
        let tree = &b.changes.tree;
        let jmt_values: usize = (tree.node_batch.values().values())
            .map(|v| entry(40, len(v)))
            .sum();
        // An internal node with all 16 children encodes to some 600 bytes; most are smaller.
        let nodes = tree.node_batch.nodes().len() * entry(16, 600);
        let stale = tree.stale_node_index_batch.len() + tree.node_batch.values().len();
        // Pruning deletes, block by block, about as many entries as blocks make stale,
        // each with the node or value it names; a backlog's more (up to
        // `prune::prune_budget`) grow the batch once more.
        let pruned = match self.keep_versions {
            Some(_) => 2 * stale,
            None => 0,
        };
        let stale_and_pruned = (stale + pruned) * entry(48, 0);
        // A transaction's record and its receipt keyed by its position, and the position
        // keyed by its hash.
        let txs: usize = (b.txs.iter())
            .map(|(_, bytes)| {
                entry(TX_POSITION_BYTES, RECORD_HEAD + bytes.len() + 128)
                    + entry(32, TX_POSITION_BYTES)
            })
            .sum();
        let fixed = b.block.len() + b.cert.len() + 4096;
        let total = values + jmt_values + nodes + stale_and_pruned + txs + fixed;
        total.min(MAX_BATCH_RESERVE)
    }

    /// The caller-side checks of a block, before anything is staged.
    fn check_block(&self, b: &CommitBlock) -> Result<(), DbError> {
        let height = b.height;
        let inconsistent = |reason: String| DbError::Inconsistent { height, reason };
        if b.changes.version != height {
            return Err(inconsistent(format!(
                "state changes are for version {}",
                b.changes.version
            )));
        }
        too_large("block", b.block.len(), MAX_BLOCK_BYTES)?;
        too_large("commit certificate", b.cert.len(), MAX_CERT_BYTES)?;
        too_large("transaction list", b.txs.len(), MAX_BLOCK_TXS)?;
        if b.receipts.len() != b.txs.len() {
            return Err(inconsistent(format!(
                "{} receipts for {} transactions",
                b.receipts.len(),
                b.txs.len()
            )));
        }
        for (i, ((hash, bytes), receipt)) in b.txs.iter().zip(&b.receipts).enumerate() {
            too_large("transaction", bytes.len(), MAX_TX_BYTES)?;
            if receipt.tx_hash != *hash {
                return Err(inconsistent(format!(
                    "receipt {i} is for {} but transaction {i} is {hash}",
                    receipt.tx_hash
                )));
            }
        }
        if let Some(h) = self.read(CF_BLOCK_HASHES, &b.block_hash.0)? {
            return Err(inconsistent(format!(
                "block hash {} is already stored (height {:?})",
                b.block_hash,
                parse_height(&h)
            )));
        }
        Ok(())
    }

    /// Stages state values, history, tree nodes and value versions, receivable index
    /// changes and the new latest record.
    fn stage_changes(
        &self,
        batch: &mut WriteBatch,
        height: u64,
        changes: &StateChanges,
    ) -> Result<(), DbError> {
        let inconsistent = |reason: String| DbError::Inconsistent { height, reason };
        for (key, value) in &changes.values {
            // Reads route `hist/` keys to the index family; a state key there would be
            // unreadable.
            if key.starts_with(HISTORY_PREFIX) {
                return Err(inconsistent(format!(
                    "state key {} is in the history key space",
                    String::from_utf8_lossy(key)
                )));
            }
            if indexes::is_receivable_key(key) {
                let old = self.read(CF_STATE, key)?;
                let diff = indexes::diff(key, old.as_deref(), value.as_deref())?;
                for k in diff.remove {
                    self.delete(batch, CF_INDEX, &k);
                }
                for k in diff.add {
                    self.put(batch, CF_INDEX, &k, &[])?;
                }
            }
            match value {
                Some(v) => self.put(batch, CF_STATE, key, v)?,
                None => self.delete(batch, CF_STATE, key),
            }
        }
        for (key, value) in &changes.index {
            if !key.starts_with(HISTORY_PREFIX) {
                return Err(inconsistent(format!(
                    "index key {} is outside the history key space",
                    String::from_utf8_lossy(key)
                )));
            }
            match value {
                Some(v) => self.put(batch, CF_INDEX, key, v)?,
                None => self.delete(batch, CF_INDEX, key),
            }
        }
        // In key order: RocksDB inserts a sorted run into its memtable far faster than
        // scattered keys (each insert starts where the previous one ended).
        let mut encoded = Vec::with_capacity(changes.tree.node_batch.nodes().len());
        for (key, node) in changes.tree.node_batch.nodes() {
            encoded.push((encode_node_key(key), encode_node(node)?));
        }
        encoded.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (key, node) in encoded {
            self.put(batch, CF_JMT_NODES, &key, &node)?;
        }
        for ((version, key_hash), value) in changes.tree.node_batch.values() {
            self.put(
                batch,
                CF_JMT_VALUES,
                &jmt_value_key(key_hash, *version),
                &encode_jmt_value(value.as_deref()),
            )?;
        }
        self.put(
            batch,
            CF_META,
            META_LATEST,
            &encode_latest(height, &changes.root.0),
        )?;
        Ok(())
    }

    /// Stages transactions with their receipts: only those the ledger committed
    /// ([`lianrong_contracts::Receipt::committed`]: executed, nonce spent), each at the one place it did. A
    /// copy refused at the envelope (a nonce not yet due, a replay of bytes already
    /// committed) changed nothing and may still execute later (or already did), so it is
    /// not recorded: a lookup never reports a transaction as final before it is, nor
    /// points away from the copy that counted.
    fn stage_txs(
        &self,
        batch: &mut WriteBatch,
        height: u64,
        b: &CommitBlock,
    ) -> Result<(), DbError> {
        for (i, ((hash, bytes), receipt)) in b.txs.iter().zip(&b.receipts).enumerate() {
            if !receipt.committed() {
                continue;
            }
            let index = u32::try_from(i).map_err(|_| DbError::TooLarge {
                what: "transaction list".into(),
                len: b.txs.len(),
                limit: MAX_BLOCK_TXS,
            })?;
            let entry = TxRecord::encode_entry(height, index, bytes, receipt);
            let position = tx_position_key(height, index);
            self.put(batch, CF_TX_ENTRIES, &position, &entry)?;
            self.put(batch, CF_TX_POSITIONS, &hash.0, &position)?;
        }
        Ok(())
    }
}

/// The state keys `changes` writes or deletes.
fn state_keys(changes: &StateChanges) -> impl Iterator<Item = &[u8]> {
    changes.values.keys().map(Vec::as_slice)
}

/// Most bytes reserved for a block's write batch ahead ([`Db::batch_bytes_estimate`]):
/// above it the batch grows as it is filled, as it always may.
const MAX_BATCH_RESERVE: usize = 64 << 20;

fn too_large(what: &str, len: usize, limit: usize) -> Result<(), DbError> {
    if len > limit {
        return Err(DbError::TooLarge {
            what: what.into(),
            len,
            limit,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The record part is the codec's encoding of a [`TxRecord`], byte for byte, the
        /// receipt follows it as the codec encodes it, and both read back.
        #[test]
        fn tx_entries_are_the_codecs_record_then_receipt(
            height in any::<u64>(),
            index in any::<u32>(),
            bytes in prop::collection::vec(any::<u8>(), 0..600),
            refused in any::<bool>(),
        ) {
            let record = TxRecord { height, index, bytes: bytes.clone() };
            let receipt = lianrong_contracts::Receipt {
                tx_hash: Hash([7; 32]),
                signer: lianrong_primitives::OrgId::new("ORG-1").unwrap(),
                outcome: if refused {
                    Err(lianrong_contracts::ContractError::RevokedKey)
                } else {
                    Ok(Vec::new())
                },
            };
            let entry = TxRecord::encode_entry(height, index, &bytes, &receipt);
            let head = codec::encode(&record);
            prop_assert_eq!(&entry[..head.len()], head.as_slice());
            let receipt_bytes = codec::encode(&receipt);
            prop_assert_eq!(&entry[head.len()..], receipt_bytes.as_slice());
            let (read, rest) = TxRecord::split_entry(&entry).unwrap();
            prop_assert_eq!(read, record);
            prop_assert_eq!(codec::decode_stored::<lianrong_contracts::Receipt>(rest, 1 << 20).unwrap(), receipt);
            // Cut anywhere inside the record, an entry is refused, never misread.
            for cut in 0..head.len() {
                prop_assert!(TxRecord::split_entry(&entry[..cut]).is_err());
            }
        }
    }
}
