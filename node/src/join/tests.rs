//! The joining side against a real export: a snapshot that checks becomes a database the
//! node opens at the snapshot height; a chunk a server altered is refused with the chunk
//! named, and the data dir is left as it was.

use std::path::Path;

use lianrong_api_types::{SnapshotEntry, SnapshotHistoryChunk, SnapshotStateChunk};
use lianrong_consensus::{
    Block, CommitCertificate, ExecutionCommit, QuorumCert, SafetyState, VoteData,
};
use lianrong_contracts::exec::execute_block;
use lianrong_contracts::model::Params;
use lianrong_contracts::testkit::{self, World, CHAIN_ID};
use lianrong_primitives::{codec, sha256, Hash};
use lianrong_storage::snapshot::ChunkLimits;
use lianrong_storage::{CommitBlock, Db};

use super::{Certified, Join};

/// Small chunks, so the test ledger spans several.
const SMALL: ChunkLimits = ChunkLimits {
    entries: 9,
    bytes: 4096,
};

/// A live database with a few trades, and what its export serves.
struct Served {
    height: u64,
    root: Hash,
    counts: (u64, u64),
    state: Vec<SnapshotStateChunk>,
    history: Vec<SnapshotHistoryChunk>,
}

fn hexed(rows: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<SnapshotEntry> {
    rows.into_iter()
        .map(|(k, v)| SnapshotEntry {
            key_hex: hex::encode(k),
            value_hex: hex::encode(v),
        })
        .collect()
}

fn live_db(dir: &Path) -> Db {
    let mut w = World::new();
    for _ in 0..3 {
        w.trade_to_receivable("CORE-A", "SUP-1", "1000.00", 90);
    }
    let db = Db::open(dir, CHAIN_ID).unwrap();
    let changes = testkit::genesis(Params::default()).changes(&db).unwrap();
    db.apply_genesis(&changes).unwrap();
    for (ctx, txs, root) in &w.log {
        let out = execute_block(&db, ctx, txs).unwrap();
        assert_eq!(out.changes.root, *root);
        let block = codec::encode(&(ctx.height, ctx.time_ms));
        db.commit_block(&CommitBlock {
            height: ctx.height,
            block_hash: sha256(&block),
            block,
            cert: Vec::new(),
            txs: txs
                .iter()
                .map(|t| (t.hash(), t.signed().encode()))
                .collect(),
            receipts: out.receipts,
            changes: out.changes,
            results_root: out.results_root,
            ends_epoch: None,
            ledger_events: out.ledger_events,
        })
        .unwrap();
    }
    db
}

fn served(dir: &Path) -> Served {
    let live = live_db(&dir.join("live"));
    let (height, root) = live.latest().unwrap().unwrap();
    let (copy, counts) = live.cut_export(&dir.join("export")).unwrap();
    let mut state = Vec::new();
    let mut after = None;
    loop {
        let c = copy
            .export_state_chunk(height, after.as_ref(), SMALL)
            .unwrap();
        after = c.last;
        let more = c.more;
        state.push(SnapshotStateChunk {
            height,
            entries: hexed(c.entries),
            proof_hex: hex::encode(c.proof),
            next: c.last.filter(|_| more).map(|h| hex::encode(h.0)),
        });
        if !more {
            break;
        }
    }
    let mut history = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let c = copy
            .export_history_chunk(height, after.as_deref(), SMALL)
            .unwrap();
        after = c.entries.last().map(|(k, _)| k.clone());
        let next = after.clone().filter(|_| c.more).map(hex::encode);
        let done = next.is_none();
        history.push(SnapshotHistoryChunk {
            height,
            entries: hexed(c.entries),
            next,
        });
        if done {
            break;
        }
    }
    assert!(state.len() > 2 && history.len() > 2);
    Served {
        height,
        root,
        counts: (counts.leaves, counts.history_entries),
        state,
        history,
    }
}

/// A stand-in for what the caller verified: a block at the snapshot height in epoch 0
/// with a certificate of round 7.
fn certified(height: u64) -> Certified {
    let genesis = testkit::genesis(Params::default());
    let set = crate::config::validator_set(&genesis).unwrap();
    let block = Block {
        chain_id: CHAIN_ID.into(),
        epoch: 0,
        height,
        round: 6,
        parent: Hash([1; 32]),
        justify: QuorumCert::genesis(Hash([2; 32])),
        proposer: 0,
        timestamp_ms: 1,
        payload: Vec::new(),
        reconfig: None,
        executed: ExecutionCommit {
            height: height - 1,
            state_root: Hash([3; 32]),
            results_root: Hash([4; 32]),
        },
    };
    let cert = CommitCertificate {
        qc: QuorumCert {
            vote: VoteData {
                epoch: 0,
                block_hash: Hash([5; 32]),
                height: height + 1,
                round: 7,
                parent_hash: block.hash(),
                parent_round: 6,
            },
            signers: Vec::new(),
            signatures: Vec::new(),
        },
    };
    Certified {
        block,
        cert,
        results_root: Hash([6; 32]),
        epoch_ends: Vec::new(),
        set,
        vote_floor: 9,
    }
}

/// Feeds `s` to a join into `data_dir`; the first error.
fn join(data_dir: &Path, s: &Served) -> Result<(), super::JoinError> {
    let options = lianrong_storage::DbOptions::default();
    let mut j = Join::begin(data_dir, &options, CHAIN_ID, s.height, s.root, s.counts)?;
    for c in &s.state {
        j.state_chunk(c)?;
    }
    for c in &s.history {
        j.history_chunk(c)?;
    }
    j.finish(&certified(s.height), &testkit::genesis(Params::default()))
}

#[test]
fn a_checked_snapshot_becomes_the_database_the_node_opens() {
    let dir = tempfile::tempdir().unwrap();
    let s = served(dir.path());
    let data_dir = dir.path().join("node/data");
    join(&data_dir, &s).unwrap();
    assert!(!dir.path().join("node/data.joining").exists());
    let db = Db::open(&data_dir, CHAIN_ID).unwrap();
    assert_eq!(db.latest().unwrap(), Some((s.height, s.root)));
    assert_eq!(db.snapshot_base().unwrap(), Some(s.height));
    let c = certified(s.height);
    assert_eq!(db.block(s.height).unwrap(), Some(codec::encode(&c.block)));
    assert_eq!(db.block(1).unwrap(), None);
    let safety = SafetyState::from_bytes(&db.load_safety().unwrap().unwrap()).unwrap();
    assert_eq!((safety.epoch, safety.last_voted_round), (0, 9));
    assert_eq!(safety.high_qc, c.cert.qc);
    assert_eq!(
        db.execution(s.height).unwrap().map(|e| e.results_root),
        Some(Hash([6; 32]))
    );
}

#[test]
fn an_altered_chunk_is_refused_and_the_data_dir_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = served(dir.path());
    let v = &mut s.state[1].entries[2].value_hex;
    let last = if v.ends_with('0') { "1" } else { "0" };
    v.replace_range(v.len() - 1.., last);
    let data_dir = dir.path().join("data");
    let err = join(&data_dir, &s).unwrap_err().to_string();
    assert!(
        err.starts_with(
            "state chunk 2 refused: it does not prove against the certified state root"
        ),
        "{err}"
    );
    assert!(!data_dir.exists(), "a refused snapshot wrote the data dir");
    assert!(
        !dir.path().join("data.joining").exists(),
        "a refused snapshot left its database beside the data dir"
    );

    let more = served(&dir.path().join("again"));
    let mut lied = more;
    lied.counts.0 -= 1;
    let err = join(&dir.path().join("data2"), &lied)
        .unwrap_err()
        .to_string();
    assert!(err.contains("more than the"), "{err}");
}

#[test]
fn a_data_dir_that_holds_anything_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = served(dir.path());
    let data_dir = dir.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    std::fs::write(data_dir.join("x"), b"x").unwrap();
    let err = join(&data_dir, &s).unwrap_err().to_string();
    assert!(err.contains("is not empty"), "{err}");
}
