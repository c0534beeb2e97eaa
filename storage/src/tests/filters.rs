//! Bloom filters and indexes of a database larger than its block cache. They are charged
//! to the cache (so they do not grow beside it), and were whole blocks per SST file: ~1.25
//! bytes a key for the filter. Once the database outgrew the cache those blocks were
//! evicted, and each point read that needed one read, checksummed and cached all of it
//! again; on a 1,000,000-document preload the executor spent most of its time there and
//! committed invoices at a quarter of its early rate. In partitions, a read loads 4 KiB.
//! Also how the tree's column families differ, each for what its reads are: no filter in
//! the last level, and tree nodes uncompressed.

use rocksdb::perf::{set_perf_stats, PerfContext, PerfMetric, PerfStatsLevel};

use super::*;
use crate::schema::{CF_JMT_NODES, CF_STATE};
use crate::DbOptions;

/// Keys in the one SST file: a 500 KB filter and ~100 KB of index, larger than the cache.
const KEYS: u64 = 400_000;
/// The block cache: a quarter of the filter.
const CACHE_BYTES: usize = 128 * 1024;
/// Point reads measured.
const READS: u64 = 2_000;

fn key(i: u64) -> Hash {
    sha256(&i.to_be_bytes())
}

/// A database whose `state` column family holds [`KEYS`] keys in one SST file below L0
/// (L0's filters and indexes are pinned in the cache; the rest of a database is not).
fn large_db(dir: &std::path::Path) -> Db {
    let options = DbOptions {
        block_cache_bytes: CACHE_BYTES,
        ..DbOptions::default()
    };
    let db = Db::open_with(dir, CHAIN_ID, &options).expect("open");
    let cf = db.cf(CF_STATE);
    for chunk in (0..KEYS).collect::<Vec<_>>().chunks(20_000) {
        let mut batch = rocksdb::WriteBatch::default();
        for &i in chunk {
            batch.put_cf(cf, key(i).0, i.to_be_bytes());
        }
        db.db.write(batch).expect("write");
    }
    db.db.flush_cf(cf).expect("flush");
    db.db.compact_range_cf(cf, None::<&[u8]>, None::<&[u8]>);
    let in_l0 = db
        .db
        .property_int_value_cf(cf, "rocksdb.num-files-at-level0")
        .expect("property");
    assert_eq!(in_l0, Some(0), "the keys were compacted out of L0");
    db
}

#[test]
fn a_point_read_loads_a_partition_of_the_filter_and_index_not_all_of_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = large_db(dir.path());
    let cf = db.cf(CF_STATE);
    set_perf_stats(PerfStatsLevel::EnableCount);
    let mut perf = PerfContext::default();
    perf.reset();
    // Scattered reads, as the executor's are: present keys and absent ones alternate.
    let mut i = 7_u64;
    for n in 0..READS {
        i = i
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407)
            % (2 * KEYS);
        let found = db.db.get_pinned_cf(cf, key(i).0).expect("read");
        assert_eq!(found.is_some(), i < KEYS, "read {n}: key {i}");
    }
    let bytes_per_read = perf.metric(PerfMetric::BlockReadByte) / READS;
    set_perf_stats(PerfStatsLevel::Disable);
    // A data block and a partition or two of index and filter: ~4-12 KiB. A whole
    // filter and index read again would be ~600 KB.
    assert!(
        bytes_per_read < 32 * 1024,
        "{bytes_per_read} bytes read from files per point read"
    );
}

/// Writes keys `key(0..count)` (scattered, as hashes are) into `cf_name` and flushes
/// them into one table file; returns the column family.
fn flushed_keys<'a>(db: &'a Db, cf_name: &str, count: u64) -> &'a rocksdb::ColumnFamily {
    let cf = db.cf(cf_name);
    let mut batch = rocksdb::WriteBatch::default();
    for i in 0..count {
        batch.put_cf(cf, key(i).0, key(i + KEYS).0);
    }
    db.db.write(batch).expect("write");
    db.db.flush_cf(cf).expect("flush");
    cf
}

/// Bloom filter checks of reads of `KEYS / 20` present keys of column family `cf`, once
/// they sit in its last level.
fn filter_checks_of_present_keys(cf_name: &str) -> u64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), CHAIN_ID).expect("open");
    let keys = KEYS / 20;
    let cf = flushed_keys(&db, cf_name, keys);
    db.db.compact_range_cf(cf, None::<&[u8]>, None::<&[u8]>);
    set_perf_stats(PerfStatsLevel::EnableCount);
    let mut perf = PerfContext::default();
    perf.reset();
    for i in 0..keys {
        assert!(db.db.get_pinned_cf(cf, key(i).0).expect("read").is_some());
    }
    let checks =
        perf.metric(PerfMetric::BloomSstHitCount) + perf.metric(PerfMetric::BloomSstMissCount);
    set_perf_stats(PerfStatsLevel::Disable);
    checks
}

/// Every tree node read is of a node that exists, so in the last level (most of the
/// tree's bytes) a filter can only answer "maybe": the tree's column families keep none
/// there, and a node read that misses the node cache goes straight to the index. The
/// state's keys are often absent (a new nonce, a new document), so its filters stay.
#[test]
fn tree_nodes_in_the_last_level_are_read_without_a_filter_check() {
    assert_eq!(filter_checks_of_present_keys(CF_JMT_NODES), 0);
    assert!(filter_checks_of_present_keys(CF_STATE) >= KEYS / 20);
}

/// RocksDB's table properties of `cf_name`'s files once a few thousand keys were
/// flushed, and a reader of one of its counts.
fn flushed_table_properties(cf_name: &str) -> impl Fn(&str) -> u64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), CHAIN_ID).expect("open");
    let cf = flushed_keys(&db, cf_name, KEYS / 100);
    let props = db
        .db
        .property_value_cf(cf, "rocksdb.aggregated-table-properties")
        .expect("property")
        .expect("tables");
    move |name: &str| -> u64 {
        props
            .split(';')
            .find_map(|p| p.trim().strip_prefix(name)?.strip_prefix('=')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {props}"))
    }
}

fn data_blocks_and_uncompressed(cf_name: &str) -> (u64, u64) {
    let count = flushed_table_properties(cf_name);
    (
        count("# data blocks"),
        count("# data blocks compression bypassed"),
    )
}

/// Tree nodes are mostly hashes (LZ4 saved a fifth of their bytes) and the node reads
/// that miss the caches are scattered: they are stored uncompressed, so such a read does
/// not decompress a whole block for one node. Everything else keeps LZ4.
#[test]
fn tree_nodes_are_stored_uncompressed_and_the_rest_compressed() {
    let (blocks, bypassed) = data_blocks_and_uncompressed(CF_JMT_NODES);
    assert!(blocks > 10 && bypassed == blocks, "{bypassed} of {blocks}");
    let (blocks, bypassed) = data_blocks_and_uncompressed(CF_STATE);
    assert!(blocks > 10 && bypassed == 0, "{bypassed} of {blocks}");
}

/// Flushes of keys in ascending order (as blocks, certificates and, since format 3, tree
/// nodes are written) move down the levels without being rewritten, so the table reader
/// opened at the flush stays open for the file's whole life. RocksDB decides at that
/// opening whether a file's index and filter partitions are pinned in the block cache
/// ("L0"), and the decision stayed after the move: over 1,000,000 transactions a
/// validator's pinned blocks grew to 35 MiB of its 64 MiB cache (`/metrics`,
/// `lianrong_storage_memory_bytes{part="block_cache_pinned"}`), and what the cache could
/// hold of the data shrank with every block. Only the small top-level partitions stay
/// pinned now: pinned bytes stay bounded as files accumulate.
#[test]
fn pinned_index_and_filter_blocks_do_not_grow_with_the_files_flushed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), CHAIN_ID).expect("open");
    let cf = db.cf(crate::schema::CF_BLOCKS);
    let per_flush = 20_000_u64;
    let flushes = 40_u64;
    for f in 0..flushes {
        let mut batch = rocksdb::WriteBatch::default();
        for i in f * per_flush..(f + 1) * per_flush {
            batch.put_cf(cf, i.to_be_bytes(), key(i).0);
        }
        db.db.write(batch).expect("write");
        db.db.flush_cf(cf).expect("flush");
        // Read each file once, as the executor does, so whatever may be pinned is loaded.
        assert!(db
            .db
            .get_pinned_cf(cf, f.to_be_bytes())
            .expect("read")
            .is_some());
    }
    db.db
        .wait_for_compact(&rocksdb::WaitForCompactOptions::default())
        .expect("compactions");
    let files = db
        .db
        .live_files()
        .expect("files")
        .iter()
        .filter(|f| f.column_family_name == crate::schema::CF_BLOCKS)
        .count() as u64;
    let pinned = db.memory_usage().expect("usage").block_cache_pinned_bytes;
    // One file's index and filter: ~20 KB of index and ~25 KB of filter.
    assert!(
        files >= flushes / 2,
        "the flushes were moved, not merged: {files} files"
    );
    assert!(
        pinned < 200 * 1024,
        "{pinned} bytes pinned over {files} files"
    );
}

/// Tree values and the stale index are only sought, and a seek never consults a
/// whole-key filter: their files carry none (it cost flush and compaction CPU and disk).
/// The state's point reads keep theirs.
#[test]
fn column_families_only_sought_keep_no_bloom_filter() {
    for cf in [crate::schema::CF_JMT_VALUES, crate::schema::CF_JMT_STALE] {
        assert_eq!(flushed_table_properties(cf)("filter block size"), 0, "{cf}");
    }
    assert!(flushed_table_properties(CF_STATE)("filter block size") > 1000);
}

/// `key`'s value in the options RocksDB wrote for `cf_name` (its newest `OPTIONS-*`
/// file, section `[CFOptions "<cf_name>"]`).
fn written_cf_option(dir: &std::path::Path, cf_name: &str, key: &str) -> String {
    let newest = (std::fs::read_dir(dir).expect("read dir"))
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("OPTIONS-"))
        })
        .max()
        .expect("an OPTIONS file");
    let text = std::fs::read_to_string(newest).expect("read options");
    let section = format!("[CFOptions \"{cf_name}\"]");
    let prefix = format!("{key}=");
    (text.lines())
        .skip_while(|l| l.trim() != section)
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with('['))
        .find_map(|l| l.trim().strip_prefix(&prefix).map(str::to_string))
        .unwrap_or_else(|| panic!("no {key} for {cf_name}"))
}

/// The column families the executor never reads merge twice as many L0 files at a time
/// (half the rewrites of their levels of random keys); the ones it reads keep RocksDB's 4
/// (each L0 file is one more filter a lookup checks).
#[test]
fn only_column_families_the_executor_never_reads_wait_for_more_l0_files() {
    use crate::schema::{CF_INDEX, CF_TX_POSITIONS};
    let dir = tempfile::tempdir().expect("tempdir");
    drop(Db::open(dir.path(), CHAIN_ID).expect("open"));
    let trigger = |cf| written_cf_option(dir.path(), cf, "level0_file_num_compaction_trigger");
    for cf in [CF_INDEX, CF_TX_POSITIONS] {
        assert_eq!(
            trigger(cf),
            crate::db::L0_FILES_WRITE_MOSTLY.to_string(),
            "{cf}"
        );
    }
    for cf in [CF_STATE, CF_JMT_NODES, crate::schema::CF_JMT_VALUES] {
        assert_eq!(trigger(cf), "4", "{cf}");
    }
}
