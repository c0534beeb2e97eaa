//! Opening, closing and the low-level reads every other module shares.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use jmt::Sha256Jmt;
use lianrong_contracts::state::Entries;
use lianrong_primitives::Hash;
use rocksdb::{
    BlockBasedIndexType, BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, Options,
    ReadOptions, SnapshotWithThreadMode, WriteBatch, WriteBufferManager, WriteOptions, DB,
};

use super::crypt::{Crypt, DataKey, Record};
use super::error::DbError;
use super::node_cache::{NodeCache, LEAF_CACHE_ENTRIES, NODE_CACHE_ENTRIES};
use super::schema::{self, *};
use super::state_cache::{Lookup, StateCache, Ticket, STATE_CACHE_BYTES};

/// A memtable's bloom filter as a share of its size: 1/64 (320 KiB, 2.6 Mbit, of a 20 MiB
/// memtable: ~10 bits a key up to the ~200,000 entries of ~100 bytes a full one holds).
const MEMTABLE_BLOOM_RATIO: f64 = 1.0 / 64.0;
/// A memtable's arena grows in blocks of this size (RocksDB's default is 1 MiB).
pub const MEMTABLE_ARENA_BLOCK_BYTES: usize = 256 * 1024;
/// L0 files that start a compaction in the column families written at random keys and
/// read only by the API (history and receivable indexes, transactions' positions by
/// hash), not while executing: RocksDB's default, 4, merged ~1.4 MB files (the write
/// buffer manager flushes fifteen column families from one 40 MiB) into a level of random
/// keys each time. Twice as many halve those merges; a lookup checks a few more files'
/// filters. The state and the tree's values keep the default: the executor's and the
/// pruner's reads paid for it (node/README.md, "Performance", session 46).
pub const L0_FILES_WRITE_MOSTLY: i32 = 8;
/// Size of one partition of an SST file's index or bloom filter: the unit a point read
/// loads into the block cache when the partition it needs is not there (RocksDB's
/// default data block size too).
const METADATA_BLOCK_BYTES: usize = 4096;

/// Knobs for [`Db::open_with`]; the defaults suit a validator on a small machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbOptions {
    /// Shared LRU block cache for all column families, in bytes.
    pub block_cache_bytes: usize,
    /// Most files RocksDB keeps open at once (it reopens others on demand).
    pub max_open_files: i32,
    /// Most bytes of write-ahead log kept before memtables are flushed to make room.
    pub max_total_wal_bytes: u64,
    /// Memtable size per column family, in bytes.
    pub write_buffer_bytes: usize,
    /// Memtables one column family may hold (one filling, the others being flushed).
    pub max_write_buffer_number: i32,
    /// All memtables of all column families together, in bytes (RocksDB's write buffer
    /// manager flushes the largest when they reach it). Without it every column family
    /// could hold `max_write_buffer_number` full memtables.
    pub memtables_bytes: usize,
    /// Merkle tree internal nodes kept in memory ([`NodeCache`]).
    pub node_cache_entries: usize,
    /// Merkle tree leaves kept in memory, apart from the internal nodes ([`NodeCache`]).
    pub leaf_cache_entries: usize,
    /// Bytes of the latest state's values kept in memory ([`StateCache`]).
    pub state_cache_bytes: usize,
    /// The operator's data key: encryption at rest ([`crate::crypt`]). A new database
    /// opened with a key is encrypted for good; an encrypted one opens only with its key,
    /// and a plain one only without.
    pub encryption: Option<DataKey>,
    /// Prune the Merkle tree to its last `n` versions ([`crate::prune`]; at least
    /// [`crate::prune::MIN_WINDOW`]);
    /// `None` keeps every version (and writes no stale index).
    pub keep_versions: Option<u64>,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            block_cache_bytes: 64 * 1024 * 1024,
            max_open_files: 512,
            max_total_wal_bytes: 256 * 1024 * 1024,
            write_buffer_bytes: 16 * 1024 * 1024,
            max_write_buffer_number: 2,
            memtables_bytes: 64 * 1024 * 1024,
            node_cache_entries: NODE_CACHE_ENTRIES,
            leaf_cache_entries: LEAF_CACHE_ENTRIES,
            state_cache_bytes: STATE_CACHE_BYTES,
            encryption: None,
            keep_versions: None,
        }
    }
}

/// What [`Db::memory_limits`] reads back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryLimits {
    /// The block cache's capacity, in bytes.
    pub block_cache_bytes: u64,
    /// The limit of all memtables together, in bytes.
    pub memtables_bytes: usize,
    /// Internal tree nodes the node cache holds at most.
    pub node_cache_entries: usize,
    /// Tree leaves the node cache holds at most.
    pub leaf_cache_entries: usize,
    /// Bytes the state cache holds at most.
    pub state_cache_bytes: usize,
}

/// What the database holds in memory now ([`Db::memory_usage`]), for `/metrics`: each
/// against the limit [`MemoryLimits`] gives it, and what no limit bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUsage {
    /// Bytes in the block cache (data, index and filter blocks of every column family).
    pub block_cache_bytes: u64,
    /// Of those, bytes pinned (blocks in use by readers, and the top-level index and
    /// filter partitions), which the cache cannot evict.
    pub block_cache_pinned_bytes: u64,
    /// Bytes of all memtables together, as the write buffer manager counts them.
    pub memtables_bytes: u64,
    /// Table readers' memory outside the block cache, over all column families: it
    /// grows with the number of table files, not with any budget.
    pub table_readers_bytes: u64,
    /// Internal tree nodes in the node cache.
    pub node_cache_nodes: u64,
    /// Tree leaves in the node cache.
    pub leaf_cache_leaves: u64,
    /// Bytes in the state cache, as it counts them against its capacity.
    pub state_cache_bytes: u64,
}

/// A read view: the live database, or one consistent snapshot of it (for queries that
/// read several records that must belong to the same block).
pub(crate) type Snapshot<'a> = SnapshotWithThreadMode<'a, DB>;

/// The node's durable store: contract state and its Merkle tree, finalized blocks with
/// their certificates, transactions, receipts, derived indexes and the consensus safety
/// state, in one RocksDB with one column family per kind of record.
///
/// Every finalized block is written by one synced `WriteBatch`
/// ([`Db::commit_block`]), so after a crash the database holds exactly the blocks whose
/// commit returned, or those plus the one in flight -- never part of a block.
pub struct Db {
    pub(crate) db: DB,
    pub(crate) path: PathBuf,
    chain_id: String,
    /// Serialises commits: the height check, the reads of old receivables for the
    /// indexes and the write must see no other commit in between.
    pub(crate) commit_lock: Mutex<()>,
    /// Kept so the cache visibly lives as long as the database using it.
    _cache: Cache,
    /// The limit of all memtables together (kept to report it).
    memtables: WriteBufferManager,
    /// Recently used Merkle tree nodes.
    pub(crate) nodes: NodeCache,
    /// Recently read values of the latest state. Every write that changes the state
    /// goes through [`Db::write_state`], which keeps it true.
    pub(crate) state: StateCache,
    /// The ciphers of an encrypted database.
    pub(crate) crypt: Option<Crypt>,
    /// The pruning window ([`DbOptions::keep_versions`]).
    pub(crate) keep_versions: Option<u64>,
    /// The oldest tree version kept whole ([`META_PRUNED_BELOW`]; 0 when never pruned).
    /// Raised before the deletions that follow it are written, so no read starts on a
    /// version whose nodes may be going.
    pub(crate) pruned_below: AtomicU64,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("path", &self.path)
            .field("chain_id", &self.chain_id)
            .finish_non_exhaustive()
    }
}

/// The table options of every column family: blocks in `cache`, with bloom filters if
/// `filtered` (see [`column_family_options`] for the column families without).
fn table_options(cache: &Cache, filtered: bool) -> BlockBasedOptions {
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(cache);
    // Most reads are point lookups (state keys, tree nodes, hashes): bloom filters
    // save a disk read per miss.
    if filtered {
        table.set_bloom_filter(10.0, false);
    }
    // Index and filter blocks live in the block cache, at high priority: outside it
    // they take memory that grows with the database, beyond any budget. Not pinned
    // for L0: RocksDB decides that when a file is opened, at its flush, and our
    // ascending keys (blocks, certificates, tree nodes) move flushed files down
    // without reopening them, so "L0" pins stayed for good -- 35 MiB of a 64 MiB
    // cache after 1,000,000 transactions (`tests/filters.rs`). L0's blocks are read
    // by every lookup and stay in the cache's high-priority part unpinned.
    table.set_cache_index_and_filter_blocks(true);
    table.set_cache_index_and_filter_blocks_with_high_priority(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(false);
    // ...in partitions of `METADATA_BLOCK_BYTES`, under a small top-level index that
    // stays pinned. A whole filter is ~1.25 bytes a key (an SST file of a million
    // keys has a 1.2 MiB filter, its index ~0.5 MiB): once the database outgrows the
    // cache, those blocks were evicted and each point read that needed one read,
    // checksummed and cached all of it again -- at ~600,000 transactions on a 2 GiB
    // database the executor spent most of its time there (perf: filter block reads,
    // XXH3 checksums, copies) and a block of invoices committed at a quarter of the
    // rate it had at the start. A partition is one 4 KiB read.
    table.set_index_type(BlockBasedIndexType::TwoLevelIndexSearch);
    table.set_partition_filters(filtered);
    table.set_metadata_block_size(METADATA_BLOCK_BYTES);
    table.set_pin_top_level_index_and_filter(true);
    table
}

/// A column family's options: `shared`; for the column families only the API reads,
/// [`L0_FILES_WRITE_MOSTLY`]; and for the tree's column families:
///
/// Tree nodes keep no bloom filter in the last level. Every node read is of a node that
/// exists, so a key not found above the last level is in it: there its filter (most of
/// the filter's bytes, ~1.25 per key) would only answer "maybe" -- a filter partition
/// read from the block cache, or the file, on each node read that missed the node
/// cache, and block cache room taken from the nodes themselves.
///
/// Tree values and the stale index keep no filter at all: they are only sought (the
/// newest version of a value at or before a version; the pruner's walk in version
/// order), and a seek never consults a whole-key filter, so building one only cost
/// flush and compaction CPU and ~1.25 bytes a key on disk (10.5 MB in the stale index
/// after 1,000,000 transactions).
///
/// Tree nodes are stored uncompressed: mostly hashes, LZ4 saved a fifth of their bytes
/// (ratio 0.79), but each node read that missed the caches decompressed a whole block,
/// and each flush compressed a block's ~10,000 new nodes. Over 1,000,000 orders: ~5 % of
/// a validator's CPU for ~20 % more disk (node/README.md, "Catch-up"). Files written
/// compressed before stay readable; compaction moves this column family's files down
/// without rewriting them (format 3), so they keep their compression until pruned.
fn column_family_options(name: &str, shared: &Options, cache: &Cache) -> Options {
    let mut opts = shared.clone();
    if name == CF_JMT_NODES {
        opts.set_optimize_filters_for_hits(true);
        opts.set_compression_type(rocksdb::DBCompressionType::None);
    }
    if [CF_JMT_VALUES, CF_JMT_STALE].contains(&name) {
        opts.set_block_based_table_factory(&table_options(cache, false));
    }
    if [CF_INDEX, CF_TX_POSITIONS].contains(&name) {
        opts.set_level_zero_file_num_compaction_trigger(L0_FILES_WRITE_MOSTLY);
    }
    opts
}

impl Db {
    /// Opens (creating if needed) the database of chain `chain_id` at `path` with
    /// [`DbOptions::default`].
    pub fn open(path: impl AsRef<Path>, chain_id: &str) -> Result<Db, DbError> {
        Self::open_with(path, chain_id, &DbOptions::default())
    }

    /// Opens (creating if needed) the database of chain `chain_id` at `path`.
    ///
    /// Refuses a database written for another chain ([`DbError::WrongChain`]) or in
    /// another layout, and checks that the recorded latest state root is the Merkle
    /// tree's root at that height, so a damaged database is found at start rather than
    /// at the first block.
    pub fn open_with(
        path: impl AsRef<Path>,
        chain_id: &str,
        options: &DbOptions,
    ) -> Result<Db, DbError> {
        let path = path.as_ref().to_path_buf();
        let cache = Cache::new_lru_cache(options.block_cache_bytes);
        let table = table_options(&cache, true);
        // No stall: the limit makes RocksDB flush early, and a block's commit must not
        // wait on a flush while holding the commit lock.
        let memtables =
            WriteBufferManager::new_write_buffer_manager(options.memtables_bytes, false);

        let mut cf_opts = Options::default();
        cf_opts.set_block_based_table_factory(&table);
        cf_opts.set_write_buffer_size(options.write_buffer_bytes);
        cf_opts.set_max_write_buffer_number(options.max_write_buffer_number);
        cf_opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
        // A bloom filter over each memtable's keys: most point reads (receipts of new
        // transactions, records written long ago) miss the memtable, and without it each
        // miss is a full skip-list search.
        cf_opts.set_memtable_whole_key_filtering(true);
        // A memtable's bloom filter (this ratio of `write_buffer_bytes`) and its first
        // arena block are allocated when it is made, and the write buffer manager counts
        // them: at RocksDB's 1 MiB arena blocks and a 0.1 ratio, fifteen column families'
        // empty memtables took 31 of the default plan's 40 MiB, and the manager flushed
        // memtables holding a few dozen KiB, hundreds a minute (tests/memtables.rs). At
        // these sizes they take ~9 MiB and a memtable flushes when it holds data.
        cf_opts.set_memtable_prefix_bloom_ratio(MEMTABLE_BLOOM_RATIO);
        cf_opts.set_arena_block_size(MEMTABLE_ARENA_BLOCK_BYTES);

        let mut db_opts = cf_opts.clone();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.set_max_open_files(options.max_open_files);
        db_opts.set_max_total_wal_size(options.max_total_wal_bytes);
        db_opts.set_write_buffer_manager(&memtables);
        db_opts.set_paranoid_checks(true);
        // RocksDB's own info log would otherwise grow without bound.
        db_opts.set_keep_log_file_num(4);
        db_opts.set_max_log_file_size(16 * 1024 * 1024);
        // Two cores are shared with the rest of the node.
        db_opts.set_max_background_jobs(2);
        // One thread writes (the node's event loop), so concurrent memtable inserts buy
        // nothing, and the sequential path lets each insert of a sorted run start where
        // the previous one ended instead of searching the skip list from the top.
        db_opts.set_allow_concurrent_memtable_write(false);

        // A database of an older layout may hold column families this layout does not
        // have, and RocksDB opens a database with all of them or not at all: they are
        // opened too, so that its layout record is read and the database refused by name
        // (`check_or_init_meta`). (No list: a new database.)
        let others: Vec<String> = match DB::list_cf(&db_opts, &path) {
            Ok(names) => (names.into_iter())
                .filter(|n| {
                    !ALL_CFS.contains(&n.as_str()) && n != rocksdb::DEFAULT_COLUMN_FAMILY_NAME
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        // The default column family holds nothing, but rust-rocksdb would open it with
        // RocksDB's defaults (a 32 MiB block cache of its own, 64 MiB memtables).
        let cfs = (ALL_CFS.iter().copied())
            .chain(others.iter().map(String::as_str))
            .chain([rocksdb::DEFAULT_COLUMN_FAMILY_NAME])
            .map(|name| {
                ColumnFamilyDescriptor::new(name, column_family_options(name, &cf_opts, &cache))
            });
        let db = DB::open_cf_descriptors(&db_opts, &path, cfs).map_err(|source| DbError::Open {
            path: path.display().to_string(),
            source,
        })?;
        let mut db = Db {
            db,
            path,
            chain_id: chain_id.to_string(),
            commit_lock: Mutex::new(()),
            _cache: cache,
            memtables,
            nodes: NodeCache::new(
                options.node_cache_entries.max(1),
                options.leaf_cache_entries,
            ),
            state: StateCache::new(options.state_cache_bytes),
            crypt: None,
            keep_versions: options
                .keep_versions
                .map(|k| k.max(super::prune::MIN_WINDOW)),
            pruned_below: AtomicU64::new(0),
        };
        let new_record = db.unlock(options.encryption.as_ref())?;
        db.check_or_init_meta(new_record)?;
        if !others.is_empty() {
            return Err(DbError::corrupt(
                "column families",
                format!("{others:?} are not of layout {FORMAT_VERSION}"),
            ));
        }
        let floor = db.read_pruned_below()?;
        db.pruned_below.store(floor, Ordering::SeqCst);
        db.check_latest_root()?;
        Ok(db)
    }

    /// Sets up the ciphers of an encrypted database (checking `key` against the stored
    /// key check value), or refuses a key the database does not take. Returns the
    /// encryption record to write when a new database is to be encrypted.
    fn unlock(&mut self, key: Option<&DataKey>) -> Result<Option<Vec<u8>>, DbError> {
        let path = || self.path.display().to_string();
        let stored = self.db.get_cf(self.cf(CF_META), META_ENCRYPTION)?;
        match (stored, key) {
            (None, None) => Ok(None),
            (Some(_), None) => Err(DbError::KeyRequired { path: path() }),
            (Some(bytes), Some(key)) => {
                let crypt = Record::decode(&bytes)?
                    .unlock(key)
                    .ok_or_else(|| DbError::WrongKey { path: path() })?;
                self.crypt = Some(crypt);
                Ok(None)
            }
            (None, Some(key)) => {
                if self.db.get_cf(self.cf(CF_META), META_CHAIN_ID)?.is_some() {
                    return Err(DbError::NotEncrypted { path: path() });
                }
                let record = Record::new(key);
                let crypt = record.unlock(key).ok_or_else(|| {
                    DbError::corrupt("meta encryption record", "a new record refuses its key")
                })?;
                self.crypt = Some(crypt);
                Ok(Some(record.encode()))
            }
        }
    }

    /// Records the chain id and layout in a new database (with `encryption`, the record
    /// of a new encrypted one), or checks them in an old one.
    fn check_or_init_meta(&self, encryption: Option<Vec<u8>>) -> Result<(), DbError> {
        let stored_chain = self.read(CF_META, META_CHAIN_ID)?;
        let stored_format = self.read(CF_META, META_FORMAT)?;
        match (stored_chain, stored_format) {
            (Some(chain), Some(format)) => {
                let chain =
                    String::from_utf8(chain).map_err(|e| DbError::corrupt("meta chain id", e))?;
                if chain != self.chain_id {
                    return Err(DbError::WrongChain {
                        path: self.path.display().to_string(),
                        stored: chain,
                        expected: self.chain_id.clone(),
                    });
                }
                let format = <[u8; 4]>::try_from(format.as_slice())
                    .map(u32::from_be_bytes)
                    .map_err(|_| DbError::corrupt("meta format", "not 4 bytes"))?;
                if format != FORMAT_VERSION {
                    return Err(DbError::OtherFormat {
                        path: self.path.display().to_string(),
                        stored: format,
                        reads: FORMAT_VERSION,
                    });
                }
                Ok(())
            }
            (None, None) => {
                // A fresh database: nothing else may be in it yet.
                if self.read(CF_META, META_LATEST)?.is_some() {
                    return Err(DbError::corrupt(
                        "meta",
                        "a latest height without a chain id",
                    ));
                }
                let mut batch = rocksdb::WriteBatch::default();
                if let Some(record) = encryption {
                    // The one record kept in clear: it says how to read the others.
                    batch.put_cf(self.cf(CF_META), META_ENCRYPTION, record);
                }
                self.put(&mut batch, CF_META, META_CHAIN_ID, self.chain_id.as_bytes())?;
                self.stage_format(&mut batch)?;
                self.db.write_opt(batch, &synced())?;
                Ok(())
            }
            _ => Err(DbError::corrupt("meta", "only one of chain id and format")),
        }
    }

    /// Stages the record of this node's layout ([`FORMAT_VERSION`]) in a new database.
    fn stage_format(&self, batch: &mut rocksdb::WriteBatch) -> Result<(), DbError> {
        self.put(batch, CF_META, META_FORMAT, &FORMAT_VERSION.to_be_bytes())
    }

    /// The recorded latest root must be the tree's root at the latest version.
    fn check_latest_root(&self) -> Result<(), DbError> {
        let Some((height, root)) = self.latest()? else {
            return Ok(());
        };
        let tree_root = Sha256Jmt::new(self)
            .get_root_hash(height)
            .map_err(|e| DbError::corrupt(format!("merkle root at height {height}"), e))?;
        if tree_root.0 != root.0 {
            return Err(DbError::corrupt(
                format!("merkle root at height {height}"),
                format!("recorded {root}, tree has {}", Hash(tree_root.0)),
            ));
        }
        Ok(())
    }

    /// Flushes memtables and the write-ahead log to disk and closes the database.
    /// (Dropping a `Db` also closes it; committed blocks are durable either way -- this
    /// only makes the next start quicker, with no log to replay.)
    pub fn close(self) -> Result<(), DbError> {
        let cfs: Vec<&ColumnFamily> = ALL_CFS.iter().map(|n| self.cf(n)).collect();
        self.db
            .flush_cfs_opt(&cfs, &rocksdb::FlushOptions::default())?;
        self.db.flush_wal(true)?;
        tracing::debug!(path = %self.path.display(), "database closed");
        Ok(())
    }

    /// The memory limits RocksDB and the tree-node cache actually hold, read back from
    /// them (so the node can show, and its tests check, that its budget arrived).
    pub fn memory_limits(&self) -> Result<MemoryLimits, DbError> {
        const CAPACITY: &str = "rocksdb.block-cache-capacity";
        // All column families share one cache: the largest any reports (the default
        // one's included) is the capacity, and a family with a cache of its own shows.
        let mut block_cache = self.db.property_int_value(CAPACITY)?.unwrap_or(0);
        for name in ALL_CFS {
            let cf = self.db.property_int_value_cf(self.cf(name), CAPACITY)?;
            block_cache = block_cache.max(cf.unwrap_or(0));
        }
        Ok(MemoryLimits {
            block_cache_bytes: block_cache,
            memtables_bytes: self.memtables.get_buffer_size(),
            node_cache_entries: self.nodes.capacity(),
            leaf_cache_entries: self.nodes.leaf_capacity(),
            state_cache_bytes: self.state.capacity_bytes(),
        })
    }

    /// What the database holds in memory now (see [`MemoryUsage`]).
    pub fn memory_usage(&self) -> Result<MemoryUsage, DbError> {
        // One cache is shared by every column family: any of them reports all of it.
        let meta = self.cf(CF_META);
        let cache = |name: &str| -> Result<u64, DbError> {
            Ok(self.db.property_int_value_cf(meta, name)?.unwrap_or(0))
        };
        let mut table_readers = 0u64;
        for name in ALL_CFS {
            let cf = self.cf(name);
            let bytes = self
                .db
                .property_int_value_cf(cf, "rocksdb.estimate-table-readers-mem")?;
            table_readers = table_readers.saturating_add(bytes.unwrap_or(0));
        }
        Ok(MemoryUsage {
            block_cache_bytes: cache("rocksdb.block-cache-usage")?,
            block_cache_pinned_bytes: cache("rocksdb.block-cache-pinned-usage")?,
            memtables_bytes: self.memtables.get_usage() as u64,
            table_readers_bytes: table_readers,
            node_cache_nodes: self.nodes.internal_len() as u64,
            leaf_cache_leaves: self.nodes.leaves_len() as u64,
            state_cache_bytes: self.state.bytes() as u64,
        })
    }

    /// Tree-node lookups since the database was opened, by where they were answered.
    pub fn node_reads(&self) -> super::CacheReads {
        self.nodes.reads()
    }

    /// Lookups of the latest state's values since the start, by where they were
    /// answered (the [`StateCache`] or RocksDB).
    pub fn state_reads(&self) -> super::CacheReads {
        self.state.reads()
    }

    /// The data key of an encrypted database (what opens a checkpoint of it), `None` for
    /// a plain one.
    pub fn data_key(&self) -> Option<&DataKey> {
        self.crypt.as_ref().map(Crypt::key)
    }

    /// The chain id this database belongs to.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// The directory of the database.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The latest committed (height, state root), or `None` before genesis.
    pub fn latest(&self) -> Result<Option<(u64, Hash)>, DbError> {
        self.latest_at(None)
    }

    pub(crate) fn latest_at(
        &self,
        snap: Option<&Snapshot<'_>>,
    ) -> Result<Option<(u64, Hash)>, DbError> {
        match self.read_at(snap, CF_META, META_LATEST)? {
            None => Ok(None),
            Some(bytes) => {
                let (height, root) = schema::decode_latest(&bytes)
                    .ok_or_else(|| DbError::corrupt("meta latest", "not 40 bytes"))?;
                Ok(Some((height, Hash(root))))
            }
        }
    }

    /// The handle of a column family. All of them are opened (and created) in
    /// [`Db::open_with`], so a missing one is a bug in this module, not bad data.
    #[allow(
        clippy::panic,
        reason = "every column family is opened with the database"
    )]
    pub(crate) fn cf(&self, name: &str) -> &ColumnFamily {
        self.db
            .cf_handle(name)
            .unwrap_or_else(|| panic!("column family {name} was opened with the database"))
    }

    /// A point read from the live database; a state value through the [`StateCache`].
    pub(crate) fn read(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
        if cf != CF_STATE {
            return self.read_at(None, cf, key);
        }
        let ticket = match self.state.lookup(key) {
            Lookup::Hit(value) => return Ok(value),
            Lookup::Miss(ticket) => ticket,
        };
        let value = self.read_at(None, cf, key)?;
        self.state.fill(key, value.as_deref(), ticket);
        Ok(value)
    }

    /// Writes `batch`, which changes the state values of `keys` and no others, keeping
    /// the [`StateCache`] true (its module says how). The ticket lets the caller keep
    /// the values it wrote in the cache ([`StateCache::keep`]).
    pub(crate) fn write_state<'k>(
        &self,
        batch: WriteBatch,
        opts: &WriteOptions,
        keys: impl IntoIterator<Item = &'k [u8]>,
    ) -> Result<Ticket, DbError> {
        self.state.begin_write(keys);
        let written = self.db.write_opt(batch, opts);
        // Also after a failed write: what it may have left is read from disk again.
        let ticket = self.state.end_write();
        written?;
        Ok(ticket)
    }

    /// A point read, from a snapshot if given.
    pub(crate) fn read_at(
        &self,
        snap: Option<&Snapshot<'_>>,
        cf: &str,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, DbError> {
        let Some(crypt) = &self.crypt else {
            return Ok(self.db.get_cf_opt(self.cf(cf), key, &read_opts(snap))?);
        };
        let stored = crypt.encode_key(cf, key);
        let Some(sealed) = self.db.get_cf_opt(self.cf(cf), &stored, &read_opts(snap))? else {
            return Ok(None);
        };
        let (plain_key, value) = crypt.open(cf, &stored, &sealed)?;
        if plain_key.is_some_and(|k| k != key) {
            return Err(DbError::corrupt(
                format!("{cf} record {}", String::from_utf8_lossy(key)),
                "the sealed record is another key's",
            ));
        }
        Ok(Some(value))
    }

    /// The key `key` of `cf` is stored under (itself, unless encrypted).
    pub(crate) fn stored_key<'k>(&self, cf: &str, key: &'k [u8]) -> Cow<'k, [u8]> {
        match &self.crypt {
            None => Cow::Borrowed(key),
            Some(crypt) => Cow::Owned(crypt.encode_key(cf, key)),
        }
    }

    /// A value read from `cf` under `stored_key` by an iterator, opened if encrypted.
    pub(crate) fn open_value<'v>(
        &self,
        cf: &str,
        stored_key: &[u8],
        bytes: &'v [u8],
    ) -> Result<Cow<'v, [u8]>, DbError> {
        match &self.crypt {
            None => Ok(Cow::Borrowed(bytes)),
            Some(crypt) => Ok(Cow::Owned(crypt.open(cf, stored_key, bytes)?.1)),
        }
    }

    /// Stages a write of `value` at `key` of `cf` (sealed if encrypted).
    pub(crate) fn put(
        &self,
        batch: &mut WriteBatch,
        cf: &str,
        key: &[u8],
        value: &[u8],
    ) -> Result<(), DbError> {
        match &self.crypt {
            None => batch.put_cf(self.cf(cf), key, value),
            Some(crypt) => {
                let stored = crypt.encode_key(cf, key);
                let sealed = crypt.seal(cf, &stored, key, value)?;
                batch.put_cf(self.cf(cf), stored, sealed);
            }
        }
        Ok(())
    }

    /// Stages the deletion of `key` of `cf`.
    pub(crate) fn delete(&self, batch: &mut WriteBatch, cf: &str, key: &[u8]) {
        batch.delete_cf(self.cf(cf), self.stored_key(cf, key));
    }

    /// Writes one value now (synced if `sync`).
    pub(crate) fn put_now(
        &self,
        cf: &str,
        key: &[u8],
        value: &[u8],
        sync: bool,
    ) -> Result<(), DbError> {
        let mut batch = WriteBatch::default();
        self.put(&mut batch, cf, key, value)?;
        let mut opts = WriteOptions::default();
        opts.set_sync(sync);
        Ok(self.db.write_opt(batch, &opts)?)
    }

    /// Entries of `cf` whose key starts with `prefix`, in plain key order (also when
    /// encrypted, where stored order is token order: then the whole prefix is read,
    /// at most [`MAX_SORTED_SCAN`] entries, and sorted), at most `limit`. What the
    /// contract layer scans, whose order decides what it does.
    pub(crate) fn scan_in_key_order(
        &self,
        snap: Option<&Snapshot<'_>>,
        cf: &str,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Entries, DbError> {
        if self.crypt.is_none() || limit == 0 {
            return self.scan_at(snap, cf, prefix, None, limit);
        }
        let mut all = self.scan_at(snap, cf, prefix, None, MAX_SORTED_SCAN + 1)?;
        if all.len() > MAX_SORTED_SCAN {
            return Err(DbError::TooLarge {
                what: format!("scan of {}", String::from_utf8_lossy(prefix)),
                len: all.len(),
                limit: MAX_SORTED_SCAN,
            });
        }
        all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        all.truncate(limit);
        Ok(all)
    }

    /// Entries of `cf` whose key starts with `prefix` and is greater than `start_after`
    /// (if given), in key order, at most `limit`.
    pub(crate) fn scan_at(
        &self,
        snap: Option<&Snapshot<'_>>,
        cf: &str,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, DbError> {
        let Some(crypt) = &self.crypt else {
            return self.scan_stored(snap, cf, prefix, start_after, limit, |k, v| {
                Ok(Some((k.to_vec(), v.to_vec())))
            });
        };
        // Stored keys: the prefix's and the start's, in token order.
        let (stored_prefix, exact) = crypt.encode_prefix(cf, prefix);
        let after = start_after.map(|a| crypt.encode_key(cf, a));
        self.scan_stored(snap, cf, &stored_prefix, after.as_deref(), limit, |k, v| {
            let (plain_key, value) = crypt.open(cf, k, v)?;
            let plain_key = plain_key.unwrap_or_else(|| k.to_vec());
            Ok((exact || plain_key.starts_with(prefix)).then_some((plain_key, value)))
        })
    }

    /// The stored entries of `cf` under the stored `prefix` after the stored key
    /// `start_after`, each passed through `accept` (`None` skips it), at most `limit`
    /// accepted.
    fn scan_stored(
        &self,
        snap: Option<&Snapshot<'_>>,
        cf: &str,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
        mut accept: impl FnMut(&[u8], &[u8]) -> Result<Option<(Vec<u8>, Vec<u8>)>, DbError>,
    ) -> Result<Entries, DbError> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        let mut opts = read_opts(snap);
        if let Some(end) = schema::prefix_end(prefix) {
            opts.set_iterate_upper_bound(end);
        }
        let mut it = self.db.raw_iterator_cf_opt(self.cf(cf), opts);
        match start_after {
            Some(after) if after >= prefix => {
                it.seek(after);
                if it.key() == Some(after) {
                    it.next();
                }
            }
            _ => it.seek(prefix),
        }
        while out.len() < limit {
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            if !k.starts_with(prefix) {
                break;
            }
            out.extend(accept(k, v)?);
            it.next();
        }
        it.status()?;
        Ok(out)
    }
}

/// Read options on a snapshot, or on the live database.
pub(crate) fn read_opts(snap: Option<&Snapshot<'_>>) -> ReadOptions {
    let mut opts = ReadOptions::default();
    if let Some(s) = snap {
        opts.set_snapshot(s);
    }
    opts
}

/// Write options for anything that must survive a power loss once the call returns.
pub(crate) fn synced() -> WriteOptions {
    let mut w = WriteOptions::default();
    w.set_sync(true);
    w
}
