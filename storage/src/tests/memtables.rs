//! Memtables under the write buffer manager. Each column family's memtable has a fixed
//! cost from its first byte (an arena block and its bloom filter), and the manager counts
//! it against `memtables_bytes`: when fifteen of those fixed costs filled most of the
//! budget, it flushed memtables holding a few dozen KiB each, hundreds of tiny files a
//! minute that compactions then merged again (measured: 356 flushes and 50 compactions in
//! 40 s of `lianrong bench --rate 1000` on one node, its CPU per transaction 20 % higher).

use lianrong_contracts::state::Writes;

use super::prune::{commit_writes, genesis_db_with};
use super::*;
use crate::schema::ALL_CFS;
use crate::DbOptions;

const MIB: usize = 1024 * 1024;

/// The node's default memory plan (`[memory] budget_mib = 192`): 2 x 20 MiB memtables,
/// 40 MiB for all column families together.
fn default_plan_options() -> DbOptions {
    DbOptions {
        write_buffer_bytes: 20 * MIB,
        max_write_buffer_number: 2,
        memtables_bytes: 40 * MIB,
        ..DbOptions::default()
    }
}

/// Commits a block of 64 state writes of 512 bytes each.
fn commit(db: &Db, height: u64) {
    let mut writes = Writes::new();
    for i in 0..64 {
        let key = format!("memtables/{height}/{i}").into_bytes();
        writes.insert(key, Some(vec![(height % 251) as u8; 512]));
    }
    commit_writes(db, height, writes);
}

/// Bytes in SST files over every column family: 0 until something was flushed.
fn flushed_bytes(db: &Db) -> u64 {
    ALL_CFS
        .iter()
        .map(|cf| {
            db.db
                .property_int_value_cf(db.cf(cf), "rocksdb.total-sst-files-size")
                .expect("property")
                .unwrap_or(0)
        })
        .sum()
}

#[test]
fn memtables_holding_a_fraction_of_the_budget_are_not_flushed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = genesis_db_with(dir.path(), &default_plan_options());
    // ~7 MiB of writes (values in the state's and the tree's column families, the tree
    // nodes they make, each block's rows), a sixth of the memtables' budget: nothing
    // needs a flush.
    for height in 1..=80 {
        commit(&db, height);
    }
    assert_eq!(
        flushed_bytes(&db),
        0,
        "memtables holding a sixth of their budget were flushed: their fixed cost \
         (arena block, memtable bloom) must stay small beside memtables_bytes"
    );
    // The budget still holds: writing well past it flushes.
    for height in 81..=640 {
        commit(&db, height);
    }
    assert!(flushed_bytes(&db) > 0, "40 MiB of memtables never flushed");
}
