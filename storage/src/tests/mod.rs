//! Tests of the storage, driven by the contract layer's test world: the same blocks run
//! against [`MemoryStorage`](lianrong_contracts::MemoryStorage) (inside `World`) and
//! against a [`Db`], which must agree on everything.

mod batch;
mod checkpoint;
mod crash;
mod durability;
mod encryption;
mod filters;
mod ledger;
mod memtables;
mod migrate;
mod prune;
mod snapshot;

use std::collections::BTreeSet;

use lianrong_contracts::action::Action;
use lianrong_contracts::exec::{execute_block, BlockContext};
use lianrong_contracts::model::{DocId, Params, Receivable, ReceivableStatus};
use lianrong_contracts::money::Amount;
use lianrong_contracts::state::{keys, Storage};
use lianrong_contracts::testkit::{self, org, World, CAST, CHAIN_ID};
use lianrong_contracts::{DocKind, VerifiedTransaction};
use lianrong_primitives::{codec, sha256, Hash, OrgId};

use super::schema::{CF_INDEX, MAX_VALUE_BYTES};
use super::{CommitBlock, Db, ReceivableIndex};

/// One logged block of a test world: context, transactions, root after it.
type Logged = (BlockContext, Vec<VerifiedTransaction>, Hash);

fn amount(s: &str) -> Amount {
    Amount::parse(s).unwrap_or_else(|e| panic!("test amount {s}: {e}"))
}

/// A fresh database with the standard test genesis applied.
fn genesis_db(dir: &std::path::Path) -> Db {
    let db = Db::open(dir, CHAIN_ID).expect("open");
    let changes = testkit::genesis(Params::default())
        .changes(&db)
        .expect("genesis changes");
    db.apply_genesis(&changes).expect("apply genesis");
    db
}

/// The stored form of a logged block: opaque block bytes unique per height, a stand-in
/// certificate, and the executed outcome.
fn commit_of(ctx: &BlockContext, txs: &[VerifiedTransaction], db: &Db) -> CommitBlock {
    let out = execute_block(db, ctx, txs).expect("execute on the db");
    let tx_bytes: Vec<(Hash, Vec<u8>)> = txs
        .iter()
        .map(|t| (t.hash(), t.signed().encode()))
        .collect();
    let block = codec::encode(&(ctx.height, ctx.time_ms, &tx_bytes));
    CommitBlock {
        height: ctx.height,
        block_hash: sha256(&block),
        block,
        cert: format!("cert of {}", ctx.height).into_bytes(),
        txs: tx_bytes,
        receipts: out.receipts,
        changes: out.changes,
        results_root: out.results_root,
        ends_epoch: None,
        ledger_events: out.ledger_events,
    }
}

/// Executes and commits logged blocks on `db`, checking each root against the log.
fn replay(db: &Db, blocks: &[Logged]) {
    for (ctx, txs, root) in blocks {
        let c = commit_of(ctx, txs, db);
        assert_eq!(
            c.changes.root, *root,
            "root differs at height {}",
            ctx.height
        );
        let results_root = c.results_root;
        db.commit_block(&c).expect("commit");
        let exec = db.execution(ctx.height).expect("read").expect("committed");
        assert_eq!(
            (exec.state_root, exec.results_root),
            (*root, results_root),
            "execution commit of height {}",
            ctx.height
        );
    }
}

/// `payee` acknowledges every settlement `events` instructed.
fn acknowledge(w: &mut World, payee: &str, events: &[lianrong_contracts::Event]) {
    for e in events {
        if let lianrong_contracts::Event::SettlementInstructed { settlement, .. } = e {
            w.ok(
                payee,
                Action::AcknowledgeSettlement {
                    settlement: settlement.clone(),
                },
            );
        }
    }
}

/// A world exercising every kind of receivable index change: new receivables, splits,
/// transfers, full and partial repayment, a refused transaction, a multi-transaction
/// block, and the ledger's own overdue sweep. `rounds` repeats the core of it.
fn scenario(rounds: usize) -> World {
    let mut w = World::new();
    for i in 0..rounds {
        let r1 = w.trade_to_receivable("CORE-A", "SUP-1", "1000.00", 90);
        let r2 = w.trade_to_receivable("CORE-B", "SUP-2", "500.00", 20);
        w.ok(
            "SUP-1",
            Action::SplitReceivable {
                receivable: r1.clone(),
                parts: vec![amount("400.00"), amount("600.00")],
            },
        );
        let parts = w.receivable(&r1).children;
        // Three in one block, one of them refused (overpayment).
        let txs = vec![
            w.sign(
                "SUP-1",
                Action::TransferReceivable {
                    receivable: parts[0].clone(),
                    to: org("SUP-3"),
                },
            ),
            w.sign(
                "CORE-A",
                Action::Repay {
                    receivable: parts[1].clone(),
                    payee: org("SUP-1"),
                    amount: amount("600.00"),
                    payment_ref: format!("PAY-{i}"),
                },
            ),
            w.sign(
                "CORE-B",
                Action::Repay {
                    receivable: r2.clone(),
                    payee: org("SUP-2"),
                    amount: amount("9999.00"),
                    payment_ref: format!("BAD-{i}"),
                },
            ),
        ];
        let out = w.block(&txs);
        assert!(out.receipts[0].outcome.is_ok() && out.receipts[1].outcome.is_ok());
        assert!(out.receipts[2].outcome.is_err());
        // A repayment counts once its payee acknowledges it.
        acknowledge(&mut w, "SUP-1", out.receipts[1].outcome.as_ref().unwrap());
        let ev = w.ok(
            "CORE-B",
            Action::Repay {
                receivable: r2,
                payee: org("SUP-2"),
                amount: amount("100.00"),
                payment_ref: format!("PART-{i}"),
            },
        );
        acknowledge(&mut w, "SUP-2", &ev);
    }
    // Past r2's maturity and grace: the sweep marks it overdue in an empty block.
    w.advance_days(30);
    w.block(&[]);
    w
}

/// All receivables in state, by a scan of the documents.
fn receivables_in_state(db: &Db) -> Vec<Receivable> {
    db.scan_prefix(&keys::doc_prefix(DocKind::Receivable), usize::MAX)
        .expect("scan")
        .into_iter()
        .map(|(_, v)| codec::decode_stored(&v, MAX_VALUE_BYTES).expect("receivable"))
        .collect()
}

/// Every page of an index, through `start_after`.
fn all_of(db: &Db, by: &ReceivableIndex, page: usize) -> Vec<DocId> {
    let mut out: Vec<DocId> = Vec::new();
    loop {
        let got = db.receivables_by(by, page, out.last()).expect("query");
        let n = got.len();
        out.extend(got.into_iter().map(|r| r.id));
        if n < page {
            return out;
        }
    }
}

/// The receivable indexes hold exactly what a scan of state says, and nothing stale.
fn assert_indexes_match_state(db: &Db) {
    let all = receivables_in_state(db);
    let ids = |f: &dyn Fn(&Receivable) -> bool| -> BTreeSet<DocId> {
        all.iter().filter(|r| f(r)).map(|r| r.id.clone()).collect()
    };
    let set = |v: Vec<DocId>| -> BTreeSet<DocId> {
        let n = v.len();
        let s: BTreeSet<DocId> = v.into_iter().collect();
        assert_eq!(s.len(), n, "an index listed a receivable twice");
        s
    };
    for (id, ..) in CAST {
        let o: OrgId = org(id);
        let held = set(all_of(db, &ReceivableIndex::Holder(o.clone()), 2));
        assert_eq!(held, ids(&|r| r.holder == o), "holder index of {o}");
        let owed = set(all_of(db, &ReceivableIndex::Debtor(o.clone()), 3));
        assert_eq!(owed, ids(&|r| r.debtor == o), "debtor index of {o}");
    }
    for status in [
        ReceivableStatus::Active,
        ReceivableStatus::Overdue,
        ReceivableStatus::Split,
        ReceivableStatus::Settled,
    ] {
        let got = set(all_of(db, &ReceivableIndex::Status(status), 1000));
        assert_eq!(got, ids(&|r| r.status == status), "status index {status:?}");
    }
    let entries = db
        .scan_at(None, CF_INDEX, b"rcv/", None, usize::MAX)
        .expect("scan index");
    assert_eq!(
        entries.len(),
        3 * all.len(),
        "stale receivable index entries"
    );
}
