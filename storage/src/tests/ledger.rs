//! The Db as the contract layer's storage: same roots, same reads, valid proofs,
//! correct indexes.

use jmt::Sha256Jmt;
use lianrong_contracts::merkle::{key_hash, prove};
use lianrong_contracts::state::StateRead;

use super::*;
use crate::DbError;

/// A committed block leaves the nodes it wrote in the cache and none it superseded: the
/// next block reads the new versions, and an old one would only take their room.
#[test]
fn the_node_cache_keeps_current_nodes_not_superseded_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = scenario(2);
    let db = genesis_db(dir.path());
    let (mut superseded, mut written_and_kept) = (0, 0);
    for (ctx, txs, _) in &w.log {
        let block = commit_of(ctx, txs, &db);
        db.commit_block(&block).expect("commit");
        let tree = &block.changes.tree;
        for stale in &tree.stale_node_index_batch {
            assert!(
                !db.nodes.contains(&stale.node_key),
                "height {}: a superseded node is still cached",
                ctx.height
            );
            superseded += 1;
        }
        for (key, node) in tree.node_batch.nodes() {
            let kept = db.nodes.keeps(key, node);
            assert_eq!(db.nodes.contains(key), kept, "height {}", ctx.height);
            written_and_kept += usize::from(kept);
        }
    }
    assert!(
        superseded > 10,
        "the scenario superseded {superseded} nodes"
    );
    assert!(
        written_and_kept > 10,
        "{written_and_kept} written nodes kept"
    );
}

/// A committed block's values are answered from memory: the next block's transactions
/// read what it wrote first (every signer's nonce, the documents they move on). A key it
/// deleted is answered absent, and nothing cached differs from the database.
#[test]
fn a_committed_blocks_values_are_read_from_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = scenario(2);
    let db = genesis_db(dir.path());
    let (mut kept, mut deleted) = (0, 0);
    for (ctx, txs, _) in &w.log {
        let block = commit_of(ctx, txs, &db);
        db.commit_block(&block).expect("commit");
        for (key, value) in &block.changes.values {
            let cached = match db.state.lookup(key) {
                crate::Lookup::Hit(v) => v,
                crate::Lookup::Miss(_) => panic!("height {}: {key:?} not kept", ctx.height),
            };
            assert_eq!(&cached, value, "height {}", ctx.height);
            match value {
                Some(_) => kept += 1,
                None => deleted += 1,
            }
            let on_disk = db
                .read_at(None, crate::schema::CF_STATE, key)
                .expect("read");
            assert_eq!(&on_disk, value, "height {}", ctx.height);
        }
    }
    assert!(kept > 10, "the scenario wrote {kept} values");
    assert!(deleted > 0, "the scenario deleted {deleted} keys");
}

#[test]
fn roots_reads_and_proofs_match_memory_storage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = scenario(2);
    let db = genesis_db(dir.path());
    assert_eq!(
        db.latest().expect("latest").map(|(h, _)| h),
        Some(0),
        "genesis is height 0"
    );
    assert_eq!(
        db.genesis_root().expect("genesis root"),
        db.latest().expect("latest").map(|(_, r)| r)
    );
    let mut roots = vec![db.latest().expect("latest").expect("genesis").1];
    for block in &w.log {
        replay(&db, std::slice::from_ref(block));
        let (h, root) = db.latest().expect("latest").expect("some");
        assert_eq!((h, root), (block.0.height, block.2));
        roots.push(root);
    }
    assert_eq!(
        db.latest().expect("latest"),
        w.store.latest().expect("latest")
    );

    // Reads agree with MemoryStorage, including prefixes that span state and history.
    for prefix in [
        &b""[..],
        b"h",
        b"hist/",
        b"hist/receivable/",
        b"doc/",
        b"doc/receivable/",
        b"due/",
        b"nonce/",
        b"zzz",
    ] {
        for limit in [0, 1, 7, usize::MAX] {
            assert_eq!(
                db.scan_prefix(prefix, limit).expect("db scan"),
                w.store.scan_prefix(prefix, limit).expect("memory scan"),
                "scan of {:?} limit {limit}",
                String::from_utf8_lossy(prefix)
            );
        }
    }
    let everything = w.store.scan_prefix(b"", usize::MAX).expect("scan");
    for (k, v) in &everything {
        assert_eq!(StateRead::get(&db, k).expect("get"), Some(v.clone()));
    }
    assert_eq!(StateRead::get(&db, b"no/such/key").expect("get"), None);

    // jmt's reader: every key's value at every version, as MemoryStorage answers.
    let latest = w.height;
    for (k, _) in everything.iter().filter(|(k, _)| !k.starts_with(b"hist/")) {
        for v in 0..=latest {
            assert_eq!(
                jmt::storage::TreeReader::get_value_option(&db, v, key_hash(k)).expect("db value"),
                jmt::storage::TreeReader::get_value_option(&w.store, v, key_hash(k))
                    .expect("memory value"),
                "value of {} at {v}",
                String::from_utf8_lossy(k)
            );
        }
    }

    // Proofs from the Db verify against the root of their height, and only that one.
    let tree = Sha256Jmt::new(&db);
    for (h, root) in roots.iter().enumerate() {
        let h = h as u64;
        assert_eq!(tree.get_root_hash(h).expect("root").0, root.0);
        let p = prove(&db, keys::META, h, *root).expect("prove");
        p.verify(root).expect("meta proof verifies");
        let absent = prove(&db, b"doc/receivable/NOPE", h, *root).expect("prove absent");
        assert_eq!(absent.value, None);
        absent.verify(root).expect("exclusion proof verifies");
    }
    let any_rcv = receivables_in_state(&db)
        .pop()
        .expect("the scenario made receivables");
    let key = keys::doc(DocKind::Receivable, any_rcv.id.as_str());
    let (h, root) = db.latest().expect("latest").expect("some");
    let p = prove(&db, &key, h, root).expect("prove");
    assert_eq!(p.value, StateRead::get(&db, &key).expect("get"));
    p.verify(&root).expect("receivable proof verifies");
    assert!(p.verify(&roots[1]).is_err());

    // jmt restore's reader finds the same rightmost leaf.
    assert_eq!(
        jmt::storage::TreeReader::get_rightmost_leaf(&db)
            .expect("db")
            .map(|(_, l)| l.key_hash()),
        jmt::storage::TreeReader::get_rightmost_leaf(&w.store)
            .expect("memory")
            .map(|(_, l)| l.key_hash()),
    );
    assert_indexes_match_state(&db);
}

#[test]
fn blocks_txs_receipts_and_history_are_queryable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = scenario(1);
    let db = genesis_db(dir.path());
    let mut commits = Vec::new();
    for (ctx, txs, _) in &w.log {
        let c = commit_of(ctx, txs, &db);
        db.commit_block(&c).expect("commit");
        commits.push(c);
    }
    for c in &commits {
        assert_eq!(db.block(c.height).expect("block"), Some(c.block.clone()));
        assert_eq!(db.cert(c.height).expect("cert"), Some(c.cert.clone()));
        assert_eq!(
            db.block_by_hash(&c.block_hash).expect("by hash"),
            Some((c.height, c.block.clone()))
        );
        for (i, ((hash, bytes), receipt)) in c.txs.iter().zip(&c.receipts).enumerate() {
            let rec = db.tx(hash).expect("tx").expect("stored");
            assert_eq!((rec.height, rec.index as usize), (c.height, i));
            assert_eq!(&rec.bytes, bytes);
            assert_eq!(db.receipt(hash).expect("receipt").as_ref(), Some(receipt));
        }
    }
    assert_eq!(db.block(0).expect("block"), None, "genesis has no block");
    assert_eq!(db.block(w.height + 1).expect("block"), None);
    assert_eq!(db.tx(&Hash::ZERO).expect("tx"), None);
    assert_eq!(db.receipt(&Hash::ZERO).expect("receipt"), None);
    assert_eq!(db.block_by_hash(&Hash::ZERO).expect("by hash"), None);

    // History of a document equals the history entries MemoryStorage holds.
    let r = receivables_in_state(&db)
        .into_iter()
        .find(|r| r.parent.is_some())
        .expect("a split part");
    let prefix = keys::history_prefix(DocKind::Receivable, r.id.as_str());
    let expected: Vec<lianrong_contracts::HistoryEntry> = w
        .store
        .scan_prefix(&prefix, usize::MAX)
        .expect("scan")
        .into_iter()
        .map(|(_, v)| codec::decode_stored(&v, MAX_VALUE_BYTES).expect("entry"))
        .collect();
    assert!(expected.len() >= 2, "created and then moved or repaid");
    let history = |after, limit| {
        db.history_after(DocKind::Receivable, r.id.as_str(), after, limit)
            .expect("history")
    };
    let all = history(None, 100);
    assert_eq!(
        all.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>(),
        expected
    );
    // Pages of one entry, each after the position of the last, are the same entries.
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = history(after, 1);
        let Some((pos, _)) = page.last() else { break };
        after = Some(*pos);
        paged.extend(page);
    }
    assert_eq!(paged, all);
    assert!(all.windows(2).all(|w| w[0].0 < w[1].0), "positions ascend");
    assert!(db
        .history_after(DocKind::Receivable, "NOPE", None, 100)
        .expect("history")
        .is_empty());
}

/// Found by the fault harness on real processes: a transaction whose nonce was not yet
/// due (its predecessor sat in a partitioned node's mempool) was refused at the envelope
/// in one block -- and stored as committed there -- then executed in a later one. A
/// client asking in between was told it was final, refused, at the wrong height.
/// The changes the ledger makes by itself (a receivable swept overdue) are stored with
/// their block and read back by height; blocks without any read back none.
#[test]
fn a_blocks_ledger_events_are_stored_with_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = World::new();
    let r = w.trade_to_receivable("CORE-A", "SUP-1", "1000.00", 20);
    let due = w.receivable(&r).maturity;
    // Past maturity and the grace days: the next block's sweep marks it overdue.
    let ahead = (due - w.today()).num_days() + 10;
    w.advance_days(u64::try_from(ahead).expect("maturity ahead"));
    w.block(&[]);
    assert_eq!(w.receivable(&r).status, ReceivableStatus::Overdue);
    let db = genesis_db(dir.path());
    let mut with_events = Vec::new();
    for (ctx, txs, _) in &w.log {
        let c = commit_of(ctx, txs, &db);
        db.commit_block(&c).expect("commit");
        let stored = db.ledger_events(ctx.height).expect("read");
        assert_eq!(stored, c.ledger_events, "height {}", ctx.height);
        if !stored.is_empty() {
            with_events.push(ctx.height);
        }
    }
    assert_eq!(with_events.len(), 1, "one sweep marked it overdue");
    let events = db.ledger_events(with_events[0]).expect("read");
    assert!(
        events.iter().any(|e| e
            .documents()
            .contains(&(DocKind::Receivable, r.to_string()))),
        "{events:?}"
    );
    assert!(db.ledger_events(9_999).expect("read").is_empty());
}

#[test]
fn only_the_copy_that_spent_the_nonce_is_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = World::new();
    let db = genesis_db(dir.path());
    let order = |n: u32| Action::IssueOrder {
        id: DocId::new(format!("PO-EARLY-{n}")).expect("id"),
        seller: org("SUP-1"),
        amount: lianrong_contracts::money::Money::parse("10.00", "CNY").expect("money"),
        terms: "net 30".into(),
        doc_hash: Hash::ZERO,
        carriers: vec![],
    };
    let first = w.sign("CORE-A", order(0));
    let second = w.sign("CORE-A", order(1));
    let early = w.block(std::slice::from_ref(&second));
    assert!(matches!(
        &early.receipts[0].outcome,
        Err(lianrong_contracts::ContractError::WrongNonce { .. })
    ));
    let late = w.block(&[first.clone(), second.clone(), first.clone()]);
    assert!(late.receipts[..2].iter().all(|r| r.outcome.is_ok()));
    assert!(late.receipts[2].outcome.is_err(), "the replay is refused");

    let (ctx, txs, _) = &w.log[0];
    db.commit_block(&commit_of(ctx, txs, &db)).expect("commit");
    assert_eq!(db.tx(&second.hash()).expect("tx"), None, "not final yet");
    assert_eq!(db.receipt(&second.hash()).expect("receipt"), None);

    let (ctx, txs, _) = &w.log[1];
    db.commit_block(&commit_of(ctx, txs, &db)).expect("commit");
    for (tx, index) in [(&first, 0), (&second, 1)] {
        let rec = db.tx(&tx.hash()).expect("tx").expect("committed");
        assert_eq!((rec.height, rec.index), (ctx.height, index));
        let receipt = db.receipt(&tx.hash()).expect("receipt").expect("stored");
        assert!(
            receipt.outcome.is_ok(),
            "the copy that executed: {receipt:?}"
        );
    }
}

#[test]
fn refused_commits_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = scenario(1);
    let db = genesis_db(dir.path());
    replay(&db, &w.log[..3]);
    let before = db.scan_prefix(b"", usize::MAX).expect("scan");
    let latest = db.latest().expect("latest");
    let (ctx, txs, _) = &w.log[3];
    let good = commit_of(ctx, txs, &db);

    // Wrong heights: a gap, a repeat, and the same changes relabelled.
    for height in [5, 3, 0, u64::MAX] {
        let mut c = good.clone();
        c.height = height;
        match db.commit_block(&c) {
            Err(DbError::WrongHeight { expected: 4, got }) => assert_eq!(got, height),
            other => panic!("height {height}: {other:?}"),
        }
    }
    // Changes for another version, receipts that do not match, oversized parts.
    let mut c = good.clone();
    c.changes.version = 5;
    assert!(matches!(
        db.commit_block(&c),
        Err(DbError::Inconsistent { .. })
    ));
    let mut c = good.clone();
    c.receipts.pop();
    assert!(matches!(
        db.commit_block(&c),
        Err(DbError::Inconsistent { .. })
    ));
    if c.txs.len() > 1 {
        let mut c = good.clone();
        c.receipts.swap(0, 1);
        assert!(matches!(
            db.commit_block(&c),
            Err(DbError::Inconsistent { .. })
        ));
    }
    let mut c = good.clone();
    c.cert = vec![0; crate::schema::MAX_CERT_BYTES + 1];
    assert!(matches!(db.commit_block(&c), Err(DbError::TooLarge { .. })));
    let mut c = good.clone();
    c.block_hash = sha256(&db.block(3).expect("block").expect("stored"));
    assert!(matches!(
        db.commit_block(&c),
        Err(DbError::Inconsistent { .. })
    ));
    let mut c = good.clone();
    c.changes
        .index
        .insert(b"rcv/holder/X/Y".to_vec(), Some(vec![]));
    assert!(matches!(
        db.commit_block(&c),
        Err(DbError::Inconsistent { .. })
    ));
    // A second genesis.
    let g = lianrong_contracts::testkit::genesis(Default::default());
    let mut empty = lianrong_contracts::MemoryStorage::new();
    let gc = g.changes(&empty).expect("changes");
    empty.apply(&gc);
    assert!(matches!(
        db.apply_genesis(&gc),
        Err(DbError::AlreadyInitialised { latest: 3 })
    ));

    assert_eq!(db.latest().expect("latest"), latest);
    assert_eq!(db.scan_prefix(b"", usize::MAX).expect("scan"), before);
    assert_eq!(db.block(4).expect("block"), None);
    for (hash, _) in &good.txs {
        assert_eq!(db.tx(hash).expect("tx"), None);
    }
    assert_indexes_match_state(&db);

    // The untouched original still commits.
    db.commit_block(&good).expect("commit");
    assert_eq!(db.latest().expect("latest").map(|(h, _)| h), Some(4));
}

#[test]
fn commit_before_genesis_and_foreign_genesis_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = scenario(1);
    let db = Db::open(dir.path(), CHAIN_ID).expect("open");
    let mut mem = lianrong_contracts::MemoryStorage::new();
    let g = lianrong_contracts::testkit::genesis(Default::default());
    let gc = g.changes(&mem).expect("changes");
    mem.apply(&gc);
    let (ctx, txs, _) = &w.log[0];
    let out = execute_block(&mem, ctx, txs).expect("execute");
    let c = CommitBlock {
        height: 1,
        block_hash: Hash::ZERO,
        block: vec![],
        cert: vec![],
        txs: txs
            .iter()
            .map(|t| (t.hash(), t.signed().encode()))
            .collect(),
        receipts: out.receipts,
        changes: out.changes,
        results_root: out.results_root,
        ends_epoch: None,
        ledger_events: out.ledger_events,
    };
    assert!(matches!(db.commit_block(&c), Err(DbError::NoGenesis)));

    let mut other = g.clone();
    other.chain_id = "another-chain".into();
    let oc = other.changes(&db).expect("changes");
    assert!(matches!(
        db.apply_genesis(&oc),
        Err(DbError::Inconsistent { height: 0, .. })
    ));
    assert_eq!(db.latest().expect("latest"), None);
    db.apply_genesis(&gc).expect("the right genesis");
    assert_eq!(db.latest().expect("latest"), mem.latest().expect("latest"));
}

#[test]
fn indexes_follow_split_transfer_repay_and_overdue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = scenario(3);
    let db = genesis_db(dir.path());
    // Check after every block, so each kind of change is checked as it happens.
    for block in &w.log {
        replay(&db, std::slice::from_ref(block));
        assert_indexes_match_state(&db);
    }
    let overdue = db
        .receivables_by(
            &ReceivableIndex::Status(ReceivableStatus::Overdue),
            100,
            None,
        )
        .expect("query");
    assert_eq!(overdue.len(), 3, "one per round went overdue");
    let sup3 = db
        .receivables_by(&ReceivableIndex::Holder(org("SUP-3")), 100, None)
        .expect("query");
    assert_eq!(sup3.len(), 3, "one transferred per round");
    assert!(sup3.iter().all(|r| r.holder == org("SUP-3")));
    let settled = db
        .receivables_by(
            &ReceivableIndex::Status(ReceivableStatus::Settled),
            100,
            None,
        )
        .expect("query");
    assert_eq!(settled.len(), 3);
    assert!(db
        .receivables_by(&ReceivableIndex::Holder(org("SUP-3")), 0, None)
        .expect("query")
        .is_empty());
}

/// Every value a block changes was read (and so cached) just before the block was
/// committed: each reads as the block left it, never as it was (the state cache).
#[test]
fn a_value_read_before_a_block_changes_it_reads_as_the_block_left_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = scenario(1);
    let db = genesis_db(dir.path());
    let mut changed = 0;
    for (ctx, txs, _) in &w.log {
        let c = commit_of(ctx, txs, &db);
        for k in c.changes.values.keys() {
            StateRead::get(&db, k).expect("get before");
        }
        db.commit_block(&c).expect("commit");
        for (k, v) in &c.changes.values {
            let read = StateRead::get(&db, k).expect("get after");
            assert_eq!(&read, v, "{}", String::from_utf8_lossy(k));
            changed += usize::from(v.is_some());
        }
    }
    assert!(changed > 50, "{changed} values written");
    assert!(!db.state.is_empty(), "the reads were cached");
}
