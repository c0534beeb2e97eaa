//! Opening, closing and the low-level reads every other module shares.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use jmt::Sha256Jmt;
use lianrong_contracts::state::Entries;
use lianrong_primitives::Hash;
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, Options, ReadOptions,
    SnapshotWithThreadMode, WriteOptions, DB,
};

use super::error::DbError;
use super::node_cache::{NodeCache, NODE_CACHE_ENTRIES};
use super::schema::{self, *};

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
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            block_cache_bytes: 64 * 1024 * 1024,
            max_open_files: 512,
            max_total_wal_bytes: 256 * 1024 * 1024,
            write_buffer_bytes: 16 * 1024 * 1024,
        }
    }
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
    path: PathBuf,
    chain_id: String,
    /// Serialises commits: the height check, the reads of old receivables for the
    /// indexes and the write must see no other commit in between.
    pub(crate) commit_lock: Mutex<()>,
    /// Kept so the cache visibly lives as long as the database using it.
    _cache: Cache,
    /// Recently used Merkle tree nodes.
    pub(crate) nodes: NodeCache,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("path", &self.path)
            .field("chain_id", &self.chain_id)
            .finish_non_exhaustive()
    }
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
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(&cache);
        // Most reads are point lookups (state keys, tree nodes, hashes): bloom filters
        // save a disk read per miss.
        table.set_bloom_filter(10.0, false);

        let mut cf_opts = Options::default();
        cf_opts.set_block_based_table_factory(&table);
        cf_opts.set_write_buffer_size(options.write_buffer_bytes);
        cf_opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
        // A bloom filter over each memtable's keys: most point reads (receipts of new
        // transactions, records written long ago) miss the memtable, and without it each
        // miss is a full skip-list search.
        cf_opts.set_memtable_whole_key_filtering(true);
        cf_opts.set_memtable_prefix_bloom_ratio(0.1);

        let mut db_opts = cf_opts.clone();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.set_max_open_files(options.max_open_files);
        db_opts.set_max_total_wal_size(options.max_total_wal_bytes);
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

        let cfs = ALL_CFS
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(*name, cf_opts.clone()));
        let db = DB::open_cf_descriptors(&db_opts, &path, cfs).map_err(|source| DbError::Open {
            path: path.display().to_string(),
            source,
        })?;
        let db = Db {
            db,
            path,
            chain_id: chain_id.to_string(),
            commit_lock: Mutex::new(()),
            _cache: cache,
            nodes: NodeCache::new(NODE_CACHE_ENTRIES),
        };
        db.check_or_init_meta()?;
        db.check_latest_root()?;
        Ok(db)
    }

    /// Records the chain id and layout in a new database, or checks them in an old one.
    fn check_or_init_meta(&self) -> Result<(), DbError> {
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
                    return Err(DbError::corrupt(
                        "meta format",
                        format!("layout version {format}, this node reads {FORMAT_VERSION}"),
                    ));
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
                batch.put_cf(self.cf(CF_META), META_CHAIN_ID, self.chain_id.as_bytes());
                batch.put_cf(self.cf(CF_META), META_FORMAT, FORMAT_VERSION.to_be_bytes());
                self.db.write_opt(batch, &synced())?;
                Ok(())
            }
            _ => Err(DbError::corrupt("meta", "only one of chain id and format")),
        }
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

    /// A point read from the live database.
    pub(crate) fn read(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
        self.read_at(None, cf, key)
    }

    /// A point read, from a snapshot if given.
    pub(crate) fn read_at(
        &self,
        snap: Option<&Snapshot<'_>>,
        cf: &str,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, DbError> {
        Ok(self.db.get_cf_opt(self.cf(cf), key, &read_opts(snap))?)
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
            out.push((k.to_vec(), v.to_vec()));
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
