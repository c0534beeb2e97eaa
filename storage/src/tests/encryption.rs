//! Encryption at rest: an encrypted database behaves like a plain one to every reader,
//! its files hold none of the ledger's plaintext, and it opens with its key only.

use std::path::Path;

use jmt::storage::TreeReader;
use lianrong_contracts::merkle::key_hash;
use lianrong_contracts::state::StateRead;
use lianrong_contracts::testkit::CHAIN_ID;

use super::*;
use crate::{DataKey, DbError, DbOptions};

/// A distinctive invoice number, and a fragment of it that survives LZ4 (compression may
/// store a leading `INV-` as a back-reference, never the first copy of the rest).
const NUMBER: &str = "INV-ZEBRA-7731-PLAINTEXT";
const FRAGMENT: &[u8] = b"ZEBRA-7731-PLAINTEXT";

fn options(key: Option<&DataKey>) -> DbOptions {
    DbOptions {
        encryption: key.cloned(),
        ..DbOptions::default()
    }
}

/// A world whose history holds the distinctive invoice, plus the usual scenario.
fn world_with_invoice() -> World {
    let mut w = scenario(1);
    let order = w.delivered_order("CORE-A", "SUP-1", "7731.00");
    let mut spec = w.invoice_spec(&order, "CORE-A", "SUP-1", "7731.00", 60);
    spec.number = NUMBER.into();
    w.ok(
        "CORE-A",
        Action::RegisterInvoice {
            invoice: spec,
            confirm: true,
        },
    );
    w
}

/// The database of `w` at `dir`, encrypted under `key` if given.
fn written(dir: &Path, w: &World, key: Option<&DataKey>) -> Db {
    let db = Db::open_with(dir, CHAIN_ID, &options(key)).expect("open");
    let changes = testkit::genesis(Params::default())
        .changes(&db)
        .expect("genesis changes");
    db.apply_genesis(&changes).expect("apply genesis");
    replay(&db, &w.log);
    db
}

/// The files under `dir` (recursively) that contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p)
                .expect("read file")
                .windows(needle.len())
                .any(|w| w == needle)
            {
                found.push(p.display().to_string());
            }
        }
    }
    found
}

/// What must never be found in an encrypted database's files.
fn needles(key: &DataKey) -> Vec<Vec<u8>> {
    vec![
        NUMBER.as_bytes().to_vec(),
        FRAGMENT.to_vec(),
        World::tax_id("SUP-1").into_bytes(),
        b"SUP-1".to_vec(),
        b"CORE-A".to_vec(),
        key.to_hex().as_bytes().to_vec(),
    ]
}

#[test]
fn an_encrypted_database_and_its_checkpoint_hold_no_ledger_plaintext() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = world_with_invoice();
    let key = DataKey::generate();

    // The control: a plain database shows the number (in its log, then its tables).
    let plain = written(&dir.path().join("plain"), &w, None);
    assert!(!files_containing(&dir.path().join("plain"), FRAGMENT).is_empty());
    plain.close().expect("close");
    assert!(!files_containing(&dir.path().join("plain"), FRAGMENT).is_empty());

    let live = dir.path().join("live");
    let db = written(&live, &w, Some(&key));
    let copy = dir.path().join("checkpoint");
    db.checkpoint(&copy).expect("checkpoint");
    for needle in needles(&key) {
        let text = String::from_utf8_lossy(&needle).into_owned();
        assert_eq!(
            files_containing(&live, &needle),
            Vec::<String>::new(),
            "{text}"
        );
        assert_eq!(
            files_containing(&copy, &needle),
            Vec::<String>::new(),
            "{text}"
        );
    }
    db.close().expect("close");
    for needle in needles(&key) {
        let text = String::from_utf8_lossy(&needle).into_owned();
        assert_eq!(
            files_containing(&live, &needle),
            Vec::<String>::new(),
            "{text}"
        );
    }
    // The copy is the database, for whoever has the key.
    let restored = Db::open_with(&copy, CHAIN_ID, &options(Some(&key))).expect("open copy");
    assert_eq!(
        restored.latest().expect("latest"),
        w.store.latest().expect("latest")
    );
    assert_eq!(restored.data_key(), Some(&key));
    let invoices = restored
        .docs_after(DocKind::Invoice, None, 1000)
        .expect("invoices");
    assert!(
        invoices
            .iter()
            .any(|(_, v)| v.windows(FRAGMENT.len()).any(|x| x == FRAGMENT)),
        "the invoice reads back"
    );
}

#[test]
fn an_encrypted_database_opens_with_its_key_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = DataKey::generate();
    let path = dir.path().join("db");
    let db = Db::open_with(&path, CHAIN_ID, &options(Some(&key))).expect("create");
    drop(db);
    let no_key = Db::open(&path, CHAIN_ID).expect_err("no key");
    assert!(matches!(no_key, DbError::KeyRequired { .. }), "{no_key}");
    assert!(
        no_key.to_string().contains("[encryption] key_file"),
        "{no_key}"
    );
    let wrong = Db::open_with(&path, CHAIN_ID, &options(Some(&DataKey::generate())))
        .expect_err("wrong key");
    assert!(matches!(wrong, DbError::WrongKey { .. }), "{wrong}");
    assert!(
        wrong.to_string().contains("does not open the database"),
        "{wrong}"
    );
    let db = Db::open_with(&path, CHAIN_ID, &options(Some(&key))).expect("the right key");
    assert_eq!(db.chain_id(), CHAIN_ID);
    drop(db);
    // A plain database stays plain: a key is refused rather than silently unused.
    let plain = dir.path().join("plain");
    drop(Db::open(&plain, CHAIN_ID).expect("plain"));
    let err = Db::open_with(&plain, CHAIN_ID, &options(Some(&key))).expect_err("key on plain");
    assert!(matches!(err, DbError::NotEncrypted { .. }), "{err}");
    Db::open(&plain, CHAIN_ID).expect("plain without a key");
}

/// The contract layer's scans come back in plain key order, whatever the token order:
/// the overdue sweep of an encrypted node picks the same receivables as everyone's.
#[test]
fn encrypted_scans_agree_with_memory_storage_in_order_and_content() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = world_with_invoice();
    let db = written(dir.path(), &w, Some(&DataKey::generate()));
    for prefix in [
        &b""[..],
        b"h",
        b"hist/",
        b"hist/invoice/",
        b"doc/",
        b"doc/receivable/",
        b"doc/receivable/RCV",
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
    // Point reads and the tree's reader, as in memory.
    let latest = w.height;
    for (k, v) in w.store.scan_prefix(b"", usize::MAX).expect("scan") {
        assert_eq!(StateRead::get(&db, &k).expect("get"), Some(v));
        if !k.starts_with(b"hist/") {
            assert_eq!(
                TreeReader::get_value_option(&db, latest, key_hash(&k)).expect("db"),
                TreeReader::get_value_option(&w.store, latest, key_hash(&k)).expect("memory"),
            );
        }
    }
    assert_eq!(
        TreeReader::get_rightmost_leaf(&db)
            .expect("db")
            .map(|(_, l)| l.key_hash()),
        TreeReader::get_rightmost_leaf(&w.store)
            .expect("memory")
            .map(|(_, l)| l.key_hash()),
    );
    assert_indexes_match_state(&db);
    // Paged lists: every document once, pages continuing where the last ended.
    let all = db
        .docs_after(DocKind::Receivable, None, usize::MAX)
        .expect("all");
    let mut paged = Vec::new();
    loop {
        let after = paged.last().map(|(id, _): &(String, Vec<u8>)| id.clone());
        let page = db
            .docs_after(DocKind::Receivable, after.as_deref(), 2)
            .expect("page");
        let n = page.len();
        paged.extend(page);
        if n < 2 {
            break;
        }
    }
    assert_eq!(paged, all);
    let r = receivables_in_state(&db).pop().expect("receivables");
    // A history pages oldest first on an encrypted node too: its heights and
    // transaction and event numbers are stored in the clear, in order.
    let all = db
        .history_after(DocKind::Receivable, r.id.as_str(), None, 100)
        .expect("history");
    assert!(!all.is_empty());
    assert!(all.windows(2).all(|w| w[0].0 < w[1].0), "oldest first");
    let rest = db
        .history_after(DocKind::Receivable, r.id.as_str(), Some(all[0].0), 100)
        .expect("history");
    assert_eq!(rest, all[1..]);
}
