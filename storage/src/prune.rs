//! Pruning the Merkle tree to a window of recent versions.
//!
//! Every block writes new tree nodes for the paths its changes touch and a new version of
//! each value it writes; the nodes and values they replace stay reachable from the old
//! versions' roots, so without pruning the tree keeps every version since genesis. With
//! [`crate::DbOptions::keep_versions`] = `K`, after the block at height `h` the database
//! keeps the versions `h - K + 1 ..= h` whole and deletes what only older versions reach:
//!
//! - at commit, jmt's stale node index of the block (the nodes its version no longer
//!   reaches) and one item per value written (older versions of that key no longer
//!   read from this version on) go into [`CF_JMT_STALE`] as one entry, keyed by the
//!   version they are stale from, so the pruner finds its work in version order without
//!   a scan (one entry a block, not one an item: fewer entries to write and delete);
//! - in the same write batch, the pruner deletes the nodes and values of items stale
//!   from a version at or below the oldest kept (no kept version reaches them: node keys
//!   are never reused, and a value version is read only by versions before the next one),
//!   at most [`prune_budget`] items per block, so a block's commit does bounded work
//!   and a backlog (a lowered window) is worked off over the next blocks (an entry the
//!   budget ends within is written back with the items left);
//! - a pruned root node leaves its hash in [`CF_ROOTS`], so every block's state root stays
//!   readable ([`Db::state_root`], [`Db::execution`]) and a block view still shows it;
//! - [`META_PRUNED_BELOW`] records the oldest version kept whole; tree reads and proofs
//!   below it are refused with [`DbError::Pruned`] (naming the window), never answered
//!   from a half-deleted tree.
//!
//! Crash safety: the stale index, the deletions, the roots and the new floor are written
//! in the block's own synced batch, so a crash leaves the block and its pruning both done
//! or both undone, and the pruner's next pass starts from what is on disk.
//!
//! Not pruned: blocks, transactions, receipts, certificates, history and indexes (the
//! chain's history, proven by the block headers), and nodes that became stale while
//! pruning was off (no stale index was written for them).

use std::sync::atomic::Ordering;

use jmt::storage::{LeafNode, NibblePath, Node, NodeKey, TreeReader, TreeUpdateBatch};
use jmt::{KeyHash, OwnedValue, Sha256Jmt, Version};
use lianrong_contracts::merkle::{prove_in, ProveError, StateProof};
use lianrong_primitives::Hash;
use rocksdb::WriteBatch;

use super::db::{read_opts, Db};
use super::error::DbError;
use super::node_codec::{decode_node_key, encode_node_key};
use super::schema::*;

/// Stale items every pruning block may delete besides twice its own: a steady load is
/// pruned as fast as it goes stale, and a backlog shrinks by at least this much a block.
pub const PRUNE_BASE_PER_BLOCK: usize = 4096;
/// Most stale items one block's commit deletes, however large the block (bounds the
/// batch and the time the commit lock is held).
pub const MAX_PRUNE_PER_BLOCK: usize = 262_144;

/// The smallest window: a block's own stale items are written with it and pruned from
/// the next block's commit on, so the version before the latest is always whole.
pub const MIN_WINDOW: u64 = 2;

/// The items a block that staged `new_stale` stale items may prune.
pub fn prune_budget(new_stale: usize) -> usize {
    new_stale
        .saturating_mul(2)
        .saturating_add(PRUNE_BASE_PER_BLOCK)
        .min(MAX_PRUNE_PER_BLOCK)
}

/// What one block's pruning deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneStats {
    /// Stale items handled (each deletes what it names).
    pub items: usize,
    /// Tree nodes deleted (roots included).
    pub nodes: usize,
    /// Value versions deleted.
    pub values: usize,
    /// Root hashes recorded for pruned versions.
    pub roots: usize,
}

/// The key of a version's root node.
fn root_key(version: u64) -> NodeKey {
    NodeKey::new(version, std::iter::empty().collect::<NibblePath>())
}

impl Db {
    /// The window this database prunes the tree to, `None` when it keeps every version.
    pub fn keep_versions(&self) -> Option<u64> {
        self.keep_versions
    }

    /// The oldest tree version kept whole (0 when nothing was ever pruned).
    pub fn pruned_below(&self) -> u64 {
        self.pruned_below.load(Ordering::SeqCst)
    }

    pub(crate) fn read_pruned_below(&self) -> Result<u64, DbError> {
        match self.read(CF_META, META_PRUNED_BELOW)? {
            None => Ok(0),
            Some(b) => {
                parse_height(&b).ok_or_else(|| DbError::corrupt("meta pruned_below", "not 8 bytes"))
            }
        }
    }

    /// Refuses a tree version older than the window ([`DbError::Pruned`]).
    pub fn check_kept(&self, version: u64) -> Result<(), DbError> {
        let oldest_kept = self.pruned_below();
        if version < oldest_kept {
            return Err(DbError::Pruned {
                version,
                oldest_kept,
                keep_versions: self.keep_versions,
            });
        }
        Ok(())
    }

    /// A Merkle proof of `key` at tree version `version` against `root` (the caller's
    /// trusted root of that version); [`DbError::Pruned`] for a version outside the
    /// window, also when the window passes it while the proof is being built.
    pub fn prove(&self, key: &[u8], version: u64, root: Hash) -> Result<StateProof, DbError> {
        self.check_kept(version)?;
        prove_in(self, key, version, root).map_err(|e| match (e, self.check_kept(version)) {
            (_, Err(pruned)) => pruned,
            (ProveError::Tree { source, .. }, Ok(())) => {
                DbError::corrupt(format!("merkle proof at version {version}"), source)
            }
            (e @ ProveError::Leaf { .. }, Ok(())) => DbError::corrupt("merkle proof", e),
        })
    }

    /// The state root after `height`: the root node's hash while the version is kept,
    /// the hash its pruning recorded after. The node is read first: pruning deletes it
    /// and records the hash in one batch, so one of the two reads finds it.
    pub(crate) fn root_of(&self, height: u64) -> Result<Option<Hash>, DbError> {
        if let Some(root) = self.root_node_hash(height)? {
            return Ok(Some(root));
        }
        match self.read(CF_ROOTS, &height_key(height))? {
            None => Ok(None),
            Some(b) => <[u8; 32]>::try_from(b.as_slice())
                .map(|r| Some(Hash(r)))
                .map_err(|_| DbError::corrupt(format!("root of pruned {height}"), "not 32 bytes")),
        }
    }

    /// Stages the stale index of a block at `height` (only when pruning), as one entry:
    /// the nodes jmt reports stale, the previous root when jmt copied it instead (a block
    /// that changed nothing), and one item per value written. Returns how many items it
    /// staged.
    pub(crate) fn stage_stale_index(
        &self,
        batch: &mut WriteBatch,
        height: u64,
        tree: &TreeUpdateBatch,
    ) -> Result<usize, DbError> {
        if self.keep_versions.is_none() {
            return Ok(0);
        }
        let inconsistent = |reason: String| DbError::Inconsistent { height, reason };
        let nodes = &tree.stale_node_index_batch;
        let values = tree.node_batch.values();
        let mut items = Vec::with_capacity((nodes.len() + values.len() + 1) * 44);
        let mut staged = 0;
        let mut push = |tag: u8, payload: &[u8]| {
            staged += 1;
            push_stale_item(&mut items, tag, payload)
                .ok_or_else(|| inconsistent(format!("a stale item of {} bytes", payload.len())))
        };
        let mut root_staged = false;
        for stale in nodes {
            if stale.stale_since_version != height {
                return Err(inconsistent(format!(
                    "a node stale since {}",
                    stale.stale_since_version
                )));
            }
            let is_root = stale.node_key.nibble_path().num_nibbles() == 0;
            root_staged |= is_root;
            let tag = if is_root { STALE_ROOT } else { STALE_NODE };
            push(tag, &encode_node_key(&stale.node_key))?;
        }
        if !root_staged && height > 0 {
            // jmt copies an unchanged root to the new version without marking the old one.
            push(STALE_ROOT, &encode_node_key(&root_key(height - 1)))?;
        }
        for (version, hash) in values.keys() {
            if *version != height {
                return Err(inconsistent(format!(
                    "a value written at version {version}"
                )));
            }
            // The stored form: a keyed hash when encrypted, never the bare key hash.
            let plain = jmt_value_key(hash, *version);
            let stored = self.stored_key(CF_JMT_VALUES, &plain);
            let part = stored.get(..32).ok_or_else(|| {
                DbError::corrupt("jmt value key", "stored key shorter than 32 bytes")
            })?;
            push(STALE_VALUE, part)?;
        }
        if !items.is_empty() {
            batch.put_cf(self.cf(CF_JMT_STALE), height_key(height), &items);
        }
        Ok(staged)
    }

    /// Stages the pruning that follows the commit of `height` (only when pruning): the
    /// new oldest version kept, and the deletions of at most `budget` stale items of
    /// versions at or below it, oldest first, with what they name.
    pub(crate) fn stage_prune(
        &self,
        batch: &mut WriteBatch,
        height: u64,
        budget: usize,
    ) -> Result<PruneStats, DbError> {
        let Some(keep) = self.keep_versions else {
            return Ok(PruneStats::default());
        };
        // After this block the versions `oldest ..= height` are kept.
        let oldest = (height + 1).saturating_sub(keep);
        if oldest == 0 {
            return Ok(PruneStats::default());
        }
        if oldest > self.pruned_below() {
            self.put(batch, CF_META, META_PRUNED_BELOW, &height_key(oldest))?;
            // Before the deletions are written: no read starts on a version going away.
            self.pruned_below.fetch_max(oldest, Ordering::SeqCst);
        }
        let cursor = match self.read(CF_META, META_PRUNE_CURSOR)? {
            None => 0,
            Some(b) => parse_height(&b)
                .ok_or_else(|| DbError::corrupt("meta prune_cursor", "not 8 bytes"))?,
        };
        let (stats, done) = self.stage_stale_deletions(batch, cursor, oldest, budget)?;
        // All items stale from `oldest` or earlier are gone when `done`; this block's own
        // (stale from `height`, in this batch) must stay ahead of the cursor.
        let next = if done {
            (oldest + 1).min(height)
        } else {
            stats.1
        };
        if next != cursor {
            self.put(batch, CF_META, META_PRUNE_CURSOR, &height_key(next))?;
        }
        Ok(stats.0)
    }

    /// Deletes the stale items of versions `cursor ..= oldest`, at most `budget`, and
    /// what they name; an entry whose items the budget ends within is written back with
    /// the items left. Returns the counts with the version of the last entry handled, and
    /// whether none is left.
    fn stage_stale_deletions(
        &self,
        batch: &mut WriteBatch,
        cursor: u64,
        oldest: u64,
        budget: usize,
    ) -> Result<((PruneStats, u64), bool), DbError> {
        let mut opts = read_opts(None);
        opts.set_iterate_lower_bound(height_key(cursor).to_vec());
        opts.set_iterate_upper_bound(height_key(oldest + 1).to_vec());
        let mut it = self.db.raw_iterator_cf_opt(self.cf(CF_JMT_STALE), opts);
        it.seek_to_first();
        let mut values = self.db.raw_iterator_cf(self.cf(CF_JMT_VALUES));
        let mut stats = PruneStats::default();
        let mut last = cursor;
        while stats.items < budget {
            let (Some(key), Some(value)) = (it.key(), it.value()) else {
                break;
            };
            let corrupt = |what: &str| DbError::corrupt("jmt stale index", what.to_string());
            let since = parse_height(key).ok_or_else(|| corrupt("a key not 8 bytes"))?;
            let items = stale_items(value).ok_or_else(|| corrupt("an entry cut short"))?;
            let room = budget - stats.items;
            for &(tag, payload) in items.iter().take(room) {
                self.stage_stale_item(batch, &mut values, since, tag, payload, &mut stats)?;
            }
            last = since;
            if let Some(left) = items.get(room..).filter(|left| !left.is_empty()) {
                let mut rest = Vec::with_capacity(value.len());
                for &(tag, payload) in left {
                    push_stale_item(&mut rest, tag, payload).ok_or_else(|| corrupt("long item"))?;
                }
                batch.put_cf(self.cf(CF_JMT_STALE), key, &rest);
                return Ok(((stats, last), false));
            }
            batch.delete_cf(self.cf(CF_JMT_STALE), key);
            it.next();
        }
        it.status()?;
        let done = it.key().is_none();
        Ok(((stats, last), done))
    }

    /// Deletes what one stale item names: a node, a root (its hash recorded), or the
    /// newest version of a value below `since` (which `since` supersedes).
    fn stage_stale_item(
        &self,
        batch: &mut WriteBatch,
        values: &mut rocksdb::DBRawIteratorWithThreadMode<'_, rocksdb::DB>,
        since: u64,
        tag: u8,
        payload: &[u8],
        stats: &mut PruneStats,
    ) -> Result<(), DbError> {
        match tag {
            STALE_NODE => {
                self.delete(batch, CF_JMT_NODES, payload);
                stats.nodes += 1;
            }
            STALE_ROOT => {
                self.stage_root_deletion(batch, payload)?;
                stats.nodes += 1;
                stats.roots += 1;
            }
            STALE_VALUE => {
                let mut probe = payload.to_vec();
                probe.extend_from_slice(&since.saturating_sub(1).to_be_bytes());
                values.seek_for_prev(&probe);
                if let Some(found) = values.key() {
                    if since > 0 && found.len() == 40 && found.starts_with(payload) {
                        batch.delete_cf(self.cf(CF_JMT_VALUES), found);
                        stats.values += 1;
                    }
                }
                values.status()?;
            }
            other => {
                return Err(DbError::corrupt(
                    "jmt stale index",
                    format!("unknown tag {other}"),
                ))
            }
        }
        stats.items += 1;
        Ok(())
    }

    /// The hash of a version's root node while it is stored, whatever the window (jmt
    /// hashes it; only its tree reads check the window).
    fn root_node_hash(&self, version: u64) -> Result<Option<Hash>, DbError> {
        Sha256Jmt::new(&Unchecked(self))
            .get_root_hash_option(version)
            .map(|r| r.map(|r| Hash(r.0)))
            .map_err(|e| DbError::corrupt(format!("merkle root at height {version}"), e))
    }

    /// Deletes a version's root node, recording its hash as that version's state root.
    fn stage_root_deletion(&self, batch: &mut WriteBatch, payload: &[u8]) -> Result<(), DbError> {
        let key = decode_node_key(payload)?;
        let hash = self.root_node_hash(key.version())?.ok_or_else(|| {
            DbError::corrupt(
                format!("root node of version {}", key.version()),
                "indexed as stale but not stored",
            )
        })?;
        self.put(batch, CF_ROOTS, &height_key(key.version()), &hash.0)?;
        self.delete(batch, CF_JMT_NODES, payload);
        Ok(())
    }
}

/// The database's tree without the window check: only for hashing a root node that is
/// still stored (a pruned version's, just before it goes).
struct Unchecked<'a>(&'a Db);

impl TreeReader for Unchecked<'_> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        Ok(self.0.node(node_key)?)
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        Ok(self.0.value_at(max_version, key_hash)?)
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        self.0.get_rightmost_leaf()
    }
}
