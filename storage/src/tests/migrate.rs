//! A database of another layout is refused by name: an older one holds a state tree whose
//! roots this node does not compute, a newer one a layout it cannot read.

use super::prune::genesis_db_with;
use crate::schema::*;
use crate::{Db, DbError, DbOptions};
use lianrong_contracts::testkit::CHAIN_ID;
use lianrong_primitives::Hash;

#[test]
fn a_database_of_a_layout_this_node_does_not_continue_is_refused() {
    for format in [1, 2, 3, FORMAT_VERSION + 1] {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = DbOptions::default();
        let db = genesis_db_with(dir.path(), &options);
        db.put_now(CF_META, META_FORMAT, &format.to_be_bytes(), true)
            .expect("put");
        drop(db);
        let Err(err) = Db::open_with(dir.path(), CHAIN_ID, &options) else {
            panic!("format {format} opened");
        };
        assert!(
            matches!(err, DbError::OtherFormat { stored, reads, .. }
                if stored == format && reads == FORMAT_VERSION),
            "{err}"
        );
        let message = err.to_string();
        assert!(message.contains("release that wrote it"), "{message}");
        assert!(message.contains("history head"), "{message}");
    }
}

/// A database pruning to its last [`KEEP`] versions, with `blocks` blocks of random
/// writes committed, and the generator to write more with.
fn pruned_db(seed: u64, blocks: u64) -> (tempfile::TempDir, Db, rand::rngs::StdRng) {
    use super::prune::{commit_writes, random_writes};
    use rand::SeedableRng;

    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let db = genesis_db_with(dir.path(), &pruning());
    for height in 1..=blocks {
        commit_writes(&db, height, random_writes(&mut rng));
    }
    (dir, db, rng)
}

/// Versions kept by [`pruned_db`]'s databases.
const KEEP: u64 = 4;

fn pruning() -> DbOptions {
    DbOptions {
        keep_versions: Some(KEEP),
        ..DbOptions::default()
    }
}

/// Opens the database in `dir` again (recorded as an older layout), checks it is recorded
/// as this node's after the open, commits `more` blocks of random writes on it, and
/// checks the window of kept versions is whole.
fn reopen_and_continue(dir: &std::path::Path, rng: &mut rand::rngs::StdRng, more: u64) -> Db {
    use super::prune::{assert_window_whole, commit_writes, random_writes};

    let db = Db::open_with(dir, CHAIN_ID, &pruning()).expect("upgraded at open");
    let format = db
        .read(CF_META, META_FORMAT)
        .expect("read")
        .expect("format");
    assert_eq!(format, FORMAT_VERSION.to_be_bytes());
    assert_window_whole(&db, KEEP);
    let (latest, _) = db.latest().expect("latest").expect("a block");
    for height in latest + 1..=latest + more {
        commit_writes(&db, height, random_writes(rng));
    }
    assert_window_whole(&db, KEEP);
    db
}

/// Layout 4's stale index (one empty-valued entry per item, keyed by version, tag and
/// payload) is packed into layout 5's one entry per version at open, also after an
/// upgrade interrupted between versions, and pruning goes on from it.
#[test]
fn a_layout_4_stale_index_is_packed_in_place_and_pruning_goes_on() {
    use super::prune::column;

    let (dir, db, mut rng) = pruned_db(5, 30);
    let packed = column(&db, CF_JMT_STALE);
    assert!(packed.len() >= 3, "{} stale entries", packed.len());

    // Written back as layout 4 would have it, but for the first version's entry: as if an
    // upgrade had packed it and stopped.
    let mut batch = rocksdb::WriteBatch::default();
    let cf = db.cf(CF_JMT_STALE);
    for (key, value) in packed.iter().skip(1) {
        batch.delete_cf(cf, key);
        for (tag, payload) in stale_items(value).expect("items") {
            let mut old = key.clone();
            old.push(tag);
            old.extend_from_slice(payload);
            batch.put_cf(cf, old, b"");
        }
    }
    db.db.write(batch).expect("write");
    db.put_now(CF_META, META_FORMAT, &4u32.to_be_bytes(), true)
        .expect("put");
    assert!(column(&db, CF_JMT_STALE).len() > packed.len());
    drop(db);

    let db = Db::open_with(dir.path(), CHAIN_ID, &pruning()).expect("upgraded at open");
    // The same items under each version (layout 4 kept them in key order).
    assert_eq!(by_version(&column(&db, CF_JMT_STALE)), by_version(&packed));
    drop(db);
    reopen_and_continue(dir.path(), &mut rng, 10);
}

/// Layout 7 stored every tree node in the codec's form. Such a database is recorded as
/// layout 8 at open without rewriting anything; its nodes are read (the same roots and
/// proofs), the blocks after it write compact nodes beside them, and pruning removes both.
#[test]
fn a_layout_7_tree_is_read_as_it_is_and_continued_in_the_compact_form() {
    use super::prune::column;
    use crate::node_codec::decode_node;

    let (dir, db, mut rng) = pruned_db(7, 20);
    let latest = db.latest().expect("latest");
    let mut batch = rocksdb::WriteBatch::default();
    let nodes = column(&db, CF_JMT_NODES);
    for (key, value) in &nodes {
        let node = decode_node(value).expect("node");
        let codec_form = lianrong_primitives::codec::encode(&node);
        batch.put_cf(db.cf(CF_JMT_NODES), key, codec_form);
    }
    db.db.write(batch).expect("write");
    db.put_now(CF_META, META_FORMAT, &7u32.to_be_bytes(), true)
        .expect("put");
    let bytes =
        |entries: &[(Vec<u8>, Vec<u8>)]| entries.iter().map(|(_, v)| v.len()).sum::<usize>();
    assert!(bytes(&column(&db, CF_JMT_NODES)) > bytes(&nodes));
    drop(db);

    let db = Db::open_with(dir.path(), CHAIN_ID, &pruning()).expect("upgraded at open");
    assert_eq!(db.latest().expect("latest"), latest);
    let stored = column(&db, CF_JMT_NODES);
    assert!(stored.iter().all(|(_, v)| v[0] <= 2), "read as they are");
    drop(db);
    reopen_and_continue(dir.path(), &mut rng, 10);
}

/// A stale entry's version and its items (tag, payload).
type StaleEntry = (u64, Vec<(u8, Vec<u8>)>);

/// Each stale entry's version and its items, sorted.
fn by_version(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<StaleEntry> {
    entries
        .iter()
        .map(|(k, v)| {
            let mut items: Vec<_> = (stale_items(v).expect("items").into_iter())
                .map(|(tag, payload)| (tag, payload.to_vec()))
                .collect();
            items.sort();
            (parse_height(k).expect("version key"), items)
        })
        .collect()
}

/// A plain and an encrypted database holding a few blocks of transactions, with the
/// blocks committed and every transaction's record and receipt as read before an upgrade.
struct WithTxs {
    dir: tempfile::TempDir,
    options: DbOptions,
    db: Db,
    hashes: Vec<Vec<Hash>>,
    before: Vec<Option<TxAndReceipt>>,
}

fn databases_with_txs() -> Vec<WithTxs> {
    use super::{commit_of, scenario};
    use crate::crypt::DataKey;

    let mut out = Vec::new();
    for key in [None, Some(DataKey::generate())] {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = DbOptions {
            encryption: key,
            ..DbOptions::default()
        };
        let w = scenario(1);
        let db = genesis_db_with(dir.path(), &options);
        let mut hashes = Vec::new();
        for (ctx, txs, _) in &w.log {
            let c = commit_of(ctx, txs, &db);
            db.commit_block(&c).expect("commit");
            hashes.push(c.txs.iter().map(|(h, _)| *h).collect());
        }
        let before = read_all(&db, &hashes);
        assert!(before.iter().flatten().count() >= 10, "{before:?}");
        out.push(WithTxs {
            dir,
            options,
            db,
            hashes,
            before,
        });
    }
    out
}

type TxAndReceipt = (crate::TxRecord, lianrong_contracts::Receipt);

/// Every transaction of `hashes` with its receipt, as `db` reads them.
fn read_all(db: &Db, hashes: &[Vec<Hash>]) -> Vec<Option<TxAndReceipt>> {
    (hashes.iter().flatten())
        .map(|hash| db.tx_with_receipt(hash).expect("read"))
        .collect()
}

fn column_families(dir: &std::path::Path) -> Vec<String> {
    rocksdb::DB::list_cf(&rocksdb::Options::default(), dir).expect("list")
}

impl WithTxs {
    /// The transactions of every block but the first `skip` written back as layout 6 kept
    /// them: each entry under its hash in a column family of its own. Returns how many.
    fn write_back_as_layout_6(&mut self, skip: usize) -> usize {
        let db = &mut self.db;
        db.db
            .create_cf(LAYOUT6_CF_TXS, &rocksdb::Options::default())
            .expect("create");
        let mut batch = rocksdb::WriteBatch::default();
        let mut written = 0;
        for hash in self.hashes.iter().skip(skip).flatten() {
            let Some(position) = db.read(CF_TX_POSITIONS, &hash.0).expect("read") else {
                continue;
            };
            let entry = (db.read(CF_TX_ENTRIES, &position).expect("read")).expect("entry");
            db.put(&mut batch, LAYOUT6_CF_TXS, &hash.0, &entry)
                .expect("put");
            batch.delete_cf(db.cf(CF_TX_POSITIONS), hash.0);
            batch.delete_cf(db.cf(CF_TX_ENTRIES), position);
            written += 1;
        }
        db.db.write(batch).expect("write");
        written
    }

    /// Reopens the database with layout `format` recorded, expects it upgraded to this
    /// node's layout with every transaction and receipt as before and the older column
    /// families `legacy` dropped, also one a crash left empty after the upgrade.
    fn reopen_upgraded_from(self, format: u32, legacy: &[&str]) {
        let WithTxs {
            dir,
            options,
            db,
            hashes,
            before,
        } = self;
        db.put_now(CF_META, META_FORMAT, &format.to_be_bytes(), true)
            .expect("put");
        drop(db);
        let reopen = |what: &str| {
            let db = Db::open_with(dir.path(), CHAIN_ID, &options).expect(what);
            let format = db.read(CF_META, META_FORMAT).expect("read");
            assert_eq!(
                format,
                Some(FORMAT_VERSION.to_be_bytes().to_vec()),
                "{what}"
            );
            assert_eq!(read_all(&db, &hashes), before, "{what}");
            db
        };
        let dropped = || {
            let cfs = column_families(dir.path());
            assert!(!cfs.iter().any(|c| legacy.contains(&c.as_str())), "{cfs:?}");
        };
        drop(reopen("upgraded at open"));
        dropped();
        // An empty column family of the older layout left by a crash between the
        // upgrade's last batch and the drop is dropped at the next open.
        let mut db = reopen("reopened");
        for cf in legacy {
            db.db
                .create_cf(cf, &rocksdb::Options::default())
                .expect("create");
        }
        drop(db);
        drop(reopen("reopened after a crash"));
        dropped();
    }
}

/// Layout 6 kept each transaction's entry under its hash. At open the entries move to
/// their positions (also after an upgrade that stopped part way), the column family is
/// dropped, and every transaction and receipt reads as it did -- in a plain and in an
/// encrypted database (an entry is sealed under its column family's name and key).
#[test]
fn layout_6_transactions_move_to_their_positions_at_open() {
    for mut with in databases_with_txs() {
        // All but the first block's: as if an upgrade had moved those and stopped.
        let written = with.write_back_as_layout_6(1);
        assert!(written >= 5, "{written} entries written back");
        with.reopen_upgraded_from(6, &[LAYOUT6_CF_TXS]);
    }
}

/// Layout 5 kept receipts in a column family of their own. At open they are folded into
/// their transactions' entries (also after an upgrade that stopped part way), and those
/// entries then move to their positions; both older column families are dropped.
#[test]
fn layout_5_receipts_fold_into_their_transactions_at_open() {
    for mut with in databases_with_txs() {
        assert!(with.write_back_as_layout_6(0) >= 10);
        // Receipts written back as layout 5 held them, but for the first block's: as if
        // an upgrade had folded those and stopped.
        let db = &mut with.db;
        db.db
            .create_cf(LAYOUT5_CF_RECEIPTS, &rocksdb::Options::default())
            .expect("create");
        let mut batch = rocksdb::WriteBatch::default();
        let mut layout5 = 0;
        for hash in with.hashes.iter().skip(1).flatten() {
            let Some(entry) = db.read(LAYOUT6_CF_TXS, &hash.0).expect("read") else {
                continue;
            };
            let (_, receipt) = crate::TxRecord::split_entry(&entry).expect("entry");
            let record = &entry[..entry.len() - receipt.len()];
            db.put(&mut batch, LAYOUT6_CF_TXS, &hash.0, record)
                .expect("put");
            db.put(&mut batch, LAYOUT5_CF_RECEIPTS, &hash.0, receipt)
                .expect("put");
            layout5 += 1;
        }
        assert!(layout5 >= 5, "{layout5} receipts written back");
        db.db.write(batch).expect("write");
        with.reopen_upgraded_from(5, &[LAYOUT5_CF_RECEIPTS, LAYOUT6_CF_TXS]);
    }
}
