//! Joining from a snapshot: the database of a new node built from the state at a certified
//! height instead of from genesis (`lianrong node --snapshot-from URL`; the serving side is
//! [`crate::api::snapshot`]).
//!
//! The caller fetches the manifest and verifies, trusting only the genesis file, that a
//! quorum of the right validator set made the block at the snapshot height final and that
//! a final block certifies the state root (see [`Certified`]). This module then builds the
//! database beside the data dir (`<data_dir>.joining`): every state chunk is checked
//! against that root by its range proof before it is kept, every document's history
//! against the head the state holds (`lianrong_storage::snapshot`); then it records the
//! block at the snapshot height, the validator-set changes below it and the safety state
//! the engine starts from, and only then moves the database into the data dir. A refusal
//! leaves the data dir as it was.
//!
//! What a node started this way has: the whole state, every document's history and the
//! receivable indexes (rebuilt), the block at the snapshot height, and every block after
//! it (normal catch-up from its peers). What it has not: the blocks below the snapshot
//! height (but those that changed the validator set), their transactions and receipts --
//! `GET /v1/blocks/{h}` below it answers 404 saying so, and `lianrong audit` needs a node
//! that replayed the chain.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lianrong_api_types::{SnapshotEntry, SnapshotHistoryChunk, SnapshotStateChunk};
use lianrong_consensus::{
    genesis_hash, Block, CommitCertificate, QuorumCert, SafetyState, ValidatorSet, EPOCH_END_ROUND,
};
use lianrong_contracts::Genesis;
use lianrong_primitives::{codec, Hash};
use lianrong_storage::snapshot::{
    EpochEndBlock, SnapshotBase, SnapshotError, SnapshotImport, MAX_CHUNK_ENTRIES,
    MAX_EPOCH_BLOCKS, MAX_KEY_BYTES,
};
use lianrong_storage::{Db, DbError, DbOptions};

/// Most state entries (and, separately, history entries) a snapshot may declare: far
/// above any ledger these machines hold, it bounds how long a lying server can keep a
/// joining node busy.
pub const MAX_SNAPSHOT_ENTRIES: u64 = 1_000_000_000;

/// Why a snapshot was refused (or could not be stored).
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// What was served does not check (the message names what and where).
    #[error("{0}")]
    Refused(String),
    /// A chunk that does not prove against the certified root, or history that does not
    /// chain to it.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// The database being built.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A file operation on the data dir or beside it.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> JoinError + '_ {
    move |source| JoinError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn refused(m: impl Into<String>) -> JoinError {
    JoinError::Refused(m.into())
}

/// What the caller verified against the genesis file before [`Join::finish`]: the final
/// block at the snapshot height and its certificate, and what the node starts from.
#[derive(Debug, Clone)]
pub struct Certified {
    /// The block at the snapshot height (final: its certificate, of the right validator
    /// set, commits it).
    pub block: Block,
    /// That certificate.
    pub cert: CommitCertificate,
    /// The results root a final block's header certifies for the snapshot height.
    pub results_root: Hash,
    /// Every block that changed the validator set below the snapshot height, each with
    /// its epoch-end certificate, epoch 0's end first (verified like the block).
    pub epoch_ends: Vec<(Block, CommitCertificate)>,
    /// The validator set of the block's epoch.
    pub set: ValidatorSet,
    /// The highest round of the block's epoch the serving node had a certificate for:
    /// this node never votes in it or below (a validator whose own records were lost may
    /// have voted there before).
    pub vote_floor: u64,
}

/// A database being built from a snapshot; see the module docs. Dropped unfinished (a
/// refusal), it leaves nothing beside the data dir.
pub struct Join {
    height: u64,
    declared: (u64, u64),
    data_dir: PathBuf,
    db: Arc<Db>,
    import: SnapshotImport,
    // Last: dropped after the database is closed.
    staging: Staging,
}

/// The folder a join builds in, removed when dropped unless it was put in place.
struct Staging {
    path: PathBuf,
    placed: bool,
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.placed {
            if let Err(e) = std::fs::remove_dir_all(&self.path) {
                tracing::warn!(path = %self.path.display(), error = %e,
                    "a refused snapshot's database was not removed");
            }
        }
    }
}

impl Join {
    /// Starts building the database of chain `chain_id` for `data_dir` (absent or empty),
    /// opened with the node's `options` (its data key: the database is encrypted as the
    /// node's own would be), from the state at `height` with the certified `state_root`;
    /// the snapshot declares `leaves` state and `history` history entries.
    pub fn begin(
        data_dir: &Path,
        options: &DbOptions,
        chain_id: &str,
        height: u64,
        state_root: Hash,
        (leaves, history): (u64, u64),
    ) -> Result<Join, JoinError> {
        if leaves == 0 || leaves > MAX_SNAPSHOT_ENTRIES || history > MAX_SNAPSHOT_ENTRIES {
            return Err(refused(format!(
                "the snapshot declares {leaves} state and {history} history entries (1 to \
                 {MAX_SNAPSHOT_ENTRIES} each)"
            )));
        }
        if occupied(data_dir)? {
            return Err(refused(format!(
                "{} (node.data_dir) is not empty: a node joins from a snapshot into an empty \
                 data dir",
                data_dir.display()
            )));
        }
        let staging = sibling(data_dir, "joining")?;
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
        }
        let staging = Staging {
            path: staging,
            placed: false,
        };
        let db = Arc::new(Db::open_with(&staging.path, chain_id, options)?);
        let import = SnapshotImport::begin(db.clone(), height, state_root)?;
        tracing::info!(height, %state_root, leaves, history,
            "snapshot certified; fetching its state");
        Ok(Join {
            height,
            declared: (leaves, history),
            staging,
            data_dir: data_dir.to_path_buf(),
            db,
            import,
        })
    }

    /// State entries checked so far.
    pub fn leaves(&self) -> u64 {
        self.import.leaves()
    }

    /// History entries checked so far.
    pub fn history_entries(&self) -> u64 {
        self.import.history_entries()
    }

    /// Checks and keeps the next state chunk; returns where the next one starts (`None`:
    /// this was the last).
    pub fn state_chunk(&mut self, c: &SnapshotStateChunk) -> Result<Option<String>, JoinError> {
        self.same_height(c.height)?;
        let entries = decode_entries(&c.entries, MAX_KEY_BYTES)?;
        if self.leaves() + entries.len() as u64 > self.declared.0 {
            return Err(refused(format!(
                "the server sends more than the {} state entries it declared",
                self.declared.0
            )));
        }
        let proof =
            hex::decode(&c.proof_hex).map_err(|_| refused("a state chunk's proof is not hex"))?;
        self.import.add_state(entries, &proof)?;
        match &c.next {
            None => {
                self.import.end_state()?;
                Ok(None)
            }
            Some(next) => Ok(Some(next.clone())),
        }
    }

    /// Checks and keeps the next history chunk; returns where the next one starts.
    pub fn history_chunk(&mut self, c: &SnapshotHistoryChunk) -> Result<Option<String>, JoinError> {
        self.same_height(c.height)?;
        if c.entries.is_empty() && c.next.is_none() && self.history_entries() == 0 {
            // A ledger with no history at all.
            return Ok(None);
        }
        let entries = decode_entries(&c.entries, MAX_KEY_BYTES)?;
        if self.history_entries() + entries.len() as u64 > self.declared.1 {
            return Err(refused(format!(
                "the server sends more than the {} history entries it declared",
                self.declared.1
            )));
        }
        self.import.add_history(entries)?;
        Ok(c.next.clone())
    }

    fn same_height(&self, height: u64) -> Result<(), JoinError> {
        if height != self.height {
            return Err(refused(format!(
                "a chunk of height {height} in the snapshot of height {}",
                self.height
            )));
        }
        Ok(())
    }

    /// Records the block at the snapshot height and what the node starts from, then moves
    /// the database into the data dir (still absent or empty).
    pub fn finish(self, certified: &Certified, genesis: &Genesis) -> Result<(), JoinError> {
        let base = self.base(certified, genesis)?;
        let (height, leaves, history) = (self.height, self.leaves(), self.history_entries());
        let Join {
            mut staging,
            data_dir,
            db,
            import,
            ..
        } = self;
        import.finish(base)?;
        let db =
            Arc::try_unwrap(db).map_err(|_| refused("the snapshot database is still in use"))?;
        db.close()?;
        if occupied(&data_dir)? {
            return Err(refused(format!(
                "{} (node.data_dir) is no longer empty: the snapshot was not put in place",
                data_dir.display()
            )));
        }
        if let Some(parent) = data_dir.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        // A rename replaces an empty folder.
        std::fs::rename(&staging.path, &data_dir).map_err(io(&data_dir))?;
        staging.placed = true;
        tracing::info!(
            height,
            leaves,
            history,
            "started from a snapshot at height {height}: blocks 1..{height} were not replayed"
        );
        Ok(())
    }

    /// The block, the validator-set changes below it and the safety state, as stored.
    fn base(&self, c: &Certified, genesis: &Genesis) -> Result<SnapshotBase, JoinError> {
        let b = &c.block;
        if b.height != self.height || c.epoch_ends.len() > MAX_EPOCH_BLOCKS {
            return Err(refused(format!(
                "the certified block is at height {}, the snapshot at {}",
                b.height, self.height
            )));
        }
        let epoch_ends = c
            .epoch_ends
            .iter()
            .map(|(e, cert)| EpochEndBlock {
                epoch: e.epoch,
                height: e.height,
                hash: e.hash(),
                block: codec::encode(e),
                cert: codec::encode(cert),
            })
            .collect();
        Ok(SnapshotBase {
            block_hash: b.hash(),
            block: codec::encode(b),
            cert: codec::encode(&c.cert),
            results_root: c.results_root,
            ends_epoch: b.reconfig.as_ref().map(|_| b.epoch),
            epoch_ends,
            safety: safety_state(c, genesis)?.to_bytes(),
        })
    }
}

/// The safety state of a node that has just finalized the snapshot's block: its epoch
/// and set, the epoch's first block, that block's certificate as its highest, and no vote
/// or proposal at or below the floor. (When the block itself changes the validator set,
/// the engine switches to the next epoch as it starts, as after a crash right there.)
fn safety_state(c: &Certified, genesis: &Genesis) -> Result<SafetyState, JoinError> {
    let epoch = c.block.epoch;
    let epoch_root = match epoch.checked_sub(1) {
        None => None,
        Some(previous) => {
            let (opened, _) = usize::try_from(previous)
                .ok()
                .and_then(|i| c.epoch_ends.get(i))
                .filter(|(b, _)| b.epoch == previous && b.reconfig.is_some())
                .ok_or_else(|| {
                    refused(format!("the block that opened epoch {epoch} was not given"))
                })?;
            Some(opened.id())
        }
    };
    let regular = c.cert.qc.vote.epoch == epoch && c.cert.qc.vote.round != EPOCH_END_ROUND;
    let high_qc = if regular {
        c.cert.qc.clone()
    } else {
        let set = crate::config::validator_set(genesis)
            .map_err(|e| refused(format!("genesis validators: {e}")))?;
        QuorumCert::genesis(genesis_hash(
            &genesis.chain_id,
            &set,
            genesis.genesis_time_ms,
        ))
    };
    let floor = if regular {
        c.vote_floor.max(c.cert.qc.vote.round)
    } else {
        c.vote_floor
    };
    Ok(SafetyState {
        epoch,
        last_voted_round: floor,
        last_proposed_round: floor,
        high_qc,
        validators: c.set.clone(),
        epoch_root,
        high_tc: None,
    })
}

/// A stored key and its value.
type Entry = (Vec<u8>, Vec<u8>);

/// The entries of a chunk, hex decoded, within the chunk bounds.
fn decode_entries(entries: &[SnapshotEntry], max_key: usize) -> Result<Vec<Entry>, JoinError> {
    if entries.len() > MAX_CHUNK_ENTRIES {
        return Err(refused(format!(
            "a chunk of {} entries (at most {MAX_CHUNK_ENTRIES})",
            entries.len()
        )));
    }
    entries
        .iter()
        .map(|e| {
            if e.key_hex.len() > 2 * max_key
                || e.value_hex.len() > 2 * lianrong_contracts::merkle::MAX_LEAF_BYTES
            {
                return Err(refused("a chunk entry over the size limits"));
            }
            match (hex::decode(&e.key_hex), hex::decode(&e.value_hex)) {
                (Ok(k), Ok(v)) => Ok((k, v)),
                _ => Err(refused("a chunk entry that is not hex")),
            }
        })
        .collect()
}

/// Whether `dir` exists and holds anything.
fn occupied(dir: &Path) -> Result<bool, JoinError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io(dir)(e)),
    }
}

/// `<data_dir>.<what>`.
fn sibling(data_dir: &Path, what: &str) -> Result<PathBuf, JoinError> {
    let name = data_dir.file_name().ok_or_else(|| {
        refused(format!(
            "node.data_dir {} has no folder name",
            data_dir.display()
        ))
    })?;
    Ok(data_dir.with_file_name(format!("{}.{what}", name.to_string_lossy())))
}

/// Whether the node of `data_dir` holds a database already (RocksDB's `CURRENT` file is
/// there): then it starts from it and no snapshot is fetched, which the log says. A data
/// dir that holds something else is refused by [`Join::begin`].
pub fn holds_database(data_dir: &Path) -> bool {
    let holds = data_dir.join("CURRENT").is_file();
    if holds {
        tracing::info!(data_dir = %data_dir.display(),
            "the data dir holds a database: starting from it, not from a snapshot");
    }
    holds
}

#[cfg(test)]
mod tests;
