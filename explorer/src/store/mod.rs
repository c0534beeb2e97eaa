//! The index's store: a real database under the follower, so the index is complete for
//! any chain length and a restart continues from the last indexed height instead of
//! reading the chain again.
//!
//! SQLite (embedded, the default: a file next to the config, nothing to set up) or
//! PostgreSQL (`database = "postgres://..."`, for a bank that already runs one), through
//! `sqlx::Any`: one schema (`migrations/`, run at start), one set of runtime queries with
//! `$n` parameters both databases accept. Each block is written whole in one database
//! transaction -- its documents, transactions, parties, events -- together with the new
//! `height`, so a crash leaves either all of a block or none of it.
//!
//! A database belongs to one chain: the first node status read claims it (`chain_id`),
//! and a node of another chain is refused rather than mixed in.

mod backfill;
mod links;
mod load;
mod rows;
pub mod sql;
#[cfg(test)]
pub(crate) mod testpg;
mod totals;
mod write;

use std::borrow::Cow;
use std::path::Path;
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::any::AnyPoolOptions;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{AnyConnection, AnyPool, Row};

use crate::index::{BlockRow, Gap, TxRecord};
use crate::node::Doc;
use lianrong_contracts::DocKind;
use totals::Tally;

pub use links::{EventAt, PriceKey, SettlementsOf, StoredEvent};
pub use rows::{
    day_number, decode_doc, kind_named, minor, Context, DocRow, SettlementLinks, SEARCH_SEP,
};

/// The database a config names when it names none: an in-memory SQLite (programmatic
/// configs and tests; `ExplorerConfig::load` defaults to a file next to the config).
pub const MEMORY: &str = "sqlite::memory:";

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (`sqlite:` URLs).
    Sqlite,
    /// PostgreSQL (`postgres:` / `postgresql:` URLs).
    Postgres,
}

impl Backend {
    /// The backend of a database URL.
    pub fn of(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Url {
                url: redacted(url),
                reason: "must start with sqlite: or postgres://".into(),
            })
        }
    }
}

/// Everything that can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is unusable, or the database could not be opened.
    #[error("database {url}: {reason}")]
    Url {
        /// The URL, its password hidden.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// A query failed.
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("database schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database indexes another chain.
    #[error(
        "this database indexes chain {stored:?}, the node serves chain {node:?}: \
         give the explorer a database of its own for this chain (`database` in its \
         config, `--database`)"
    )]
    OtherChain {
        /// The chain the database holds.
        stored: String,
        /// The chain the node serves.
        node: String,
    },
    /// The database's newest block is not the node's block of that height: another
    /// chain under the same id (a network written anew), or a node that diverged.
    #[error(
        "this database's block {height} is {stored}, the node's is {node}: another chain \
         under the same chain id? give the explorer a database of its own for it"
    )]
    OtherBlock {
        /// The height compared.
        height: u64,
        /// The stored hash.
        stored: String,
        /// The node's hash.
        node: String,
    },
    /// A stored record did not decode (or a document did not encode).
    #[error("stored {what}: {reason}")]
    Corrupt {
        /// Which record.
        what: String,
        /// What is wrong.
        reason: String,
    },
}

/// What the store says about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// The chain it indexes, once claimed.
    pub chain_id: Option<String>,
    /// The last block written whole (0: none).
    pub height: u64,
    /// The first data lost for good, if any.
    pub gap: Option<Gap>,
}

/// The index's database.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// `url` with the password of `user:password@` hidden, for messages and logs.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].find(':') {
            Some(colon) => format!("{scheme}://{}:***{}", &rest[..colon], &rest[at..]),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// A SQLite URL's file path, `None` for an in-memory database.
fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or(url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let memory = path.is_empty() || path == ":memory:" || query.contains("mode=memory");
    (!memory).then_some(path)
}

/// The schema, embedded: written once (`migrations/sqlite/`; PostgreSQL's copy only adds
/// byte-wise collation to text columns), no files read at run time.
#[derive(Debug)]
struct Schema(Backend);

impl<'s> MigrationSource<'s> for Schema {
    fn resolve(self) -> BoxFuture<'s, Result<Vec<Migration>, BoxDynError>> {
        let sqls = match self.0 {
            Backend::Sqlite => [
                include_str!("../../migrations/sqlite/0001_index.sql"),
                include_str!("../../migrations/sqlite/0002_financed.sql"),
                include_str!("../../migrations/sqlite/0003_overdue.sql"),
                include_str!("../../migrations/sqlite/0004_links.sql"),
                include_str!("../../migrations/sqlite/0005_totals.sql"),
            ],
            Backend::Postgres => [
                include_str!("../../migrations/postgres/0001_index.sql"),
                include_str!("../../migrations/postgres/0002_financed.sql"),
                include_str!("../../migrations/postgres/0003_overdue.sql"),
                include_str!("../../migrations/postgres/0004_links.sql"),
                include_str!("../../migrations/postgres/0005_totals.sql"),
            ],
        };
        let migrations = (1..)
            .zip(
                ["index", "financed", "overdue", "links", "totals"]
                    .into_iter()
                    .zip(sqls),
            )
            .map(|(version, (name, sql))| {
                Migration::new(
                    version,
                    Cow::Borrowed(name),
                    MigrationType::Simple,
                    Cow::Borrowed(sql),
                    false,
                )
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

/// Pages of its file each SQLite connection keeps in memory, in KiB (a negative
/// `cache_size` is KiB): 16 MiB, four connections at most. SQLite's default, 2 MB, sent
/// catch-up to the OS for the same index pages block after block (~10 % of the
/// explorer's CPU in perf).
const SQLITE_CACHE_KIB: u32 = 16 * 1024;

/// Per connection of a SQLite file: write-ahead logging (readers, the pages, go on
/// while the follower writes), the page cache above, and `synchronous = NORMAL`,
/// which in WAL mode syncs at checkpoints rather than at every commit. A power cut may
/// then lose the newest blocks' writes, never the file's consistency, and each block's
/// rows commit with its `height`: the follower reads what was lost from the node again.
async fn sqlite_settings(c: &mut AnyConnection) -> Result<(), sqlx::Error> {
    use sqlx::Executor;
    c.execute("PRAGMA journal_mode = WAL").await?;
    c.execute(format!("PRAGMA cache_size = -{SQLITE_CACHE_KIB}").as_str())
        .await?;
    c.execute("PRAGMA synchronous = NORMAL").await?;
    Ok(())
}

impl Store {
    /// Opens (creating a SQLite file if missing) the database at `url` and brings its
    /// schema up to date.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of(url)?;
        let failed = |e: &dyn std::fmt::Display| StoreError::Url {
            url: redacted(url),
            reason: e.to_string(),
        };
        let mut url = url.to_string();
        let mut options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30));
        let file = (backend == Backend::Sqlite)
            .then(|| sqlite_path(&url).map(str::to_string))
            .flatten();
        options = match (backend, &file) {
            // One connection holds an in-memory database: it lives as long as that one.
            (Backend::Sqlite, None) => options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None),
            (Backend::Sqlite, Some(path)) => {
                if let Some(dir) = Path::new(path)
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                {
                    std::fs::create_dir_all(dir).map_err(|e| failed(&e))?;
                }
                if !url.contains("mode=") {
                    url.push(if url.contains('?') { '&' } else { '?' });
                    url.push_str("mode=rwc");
                }
                options
                    .max_connections(4)
                    .after_connect(|c, _| Box::pin(sqlite_settings(c)))
            }
            (Backend::Postgres, _) => options.max_connections(8),
        };
        let pool = options.connect(&url).await.map_err(|e| failed(&e))?;
        Migrator::new(Schema(backend)).await?.run(&pool).await?;
        let store = Store { pool, backend };
        store.backfill().await?;
        Ok(store)
    }

    /// A fresh in-memory SQLite store.
    pub async fn memory() -> Result<Store, StoreError> {
        Store::open(MEMORY).await
    }

    /// Which database it runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for the query modules.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    async fn meta_value(&self, name: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT value FROM meta WHERE name = $1")
            .bind(name.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get::<String, _>(0)).transpose()?)
    }

    /// Its chain, last height and gap.
    pub async fn meta(&self) -> Result<Meta, StoreError> {
        let height = match self.meta_value("height").await? {
            Some(h) => h
                .parse()
                .map_err(|e: std::num::ParseIntError| corrupt("height", e))?,
            None => 0,
        };
        let gap = match (
            self.meta_value("gap_since").await?,
            self.meta_value("gap_reason").await?,
        ) {
            (Some(since), Some(reason)) => Some(Gap {
                since: since.parse().map_err(|e| corrupt("gap_since", e))?,
                reason,
            }),
            _ => None,
        };
        Ok(Meta {
            chain_id: self.meta_value("chain_id").await?,
            height,
            gap,
        })
    }

    /// Claims the database for `chain_id` (the first time), or refuses another chain's.
    pub async fn claim_chain(&self, chain_id: &str) -> Result<(), StoreError> {
        match self.meta_value("chain_id").await? {
            Some(stored) if stored == chain_id => Ok(()),
            Some(stored) => Err(StoreError::OtherChain {
                stored,
                node: chain_id.to_string(),
            }),
            None => {
                let mut c = self.pool.acquire().await?;
                set_meta(&mut c, "chain_id", chain_id).await
            }
        }
    }

    /// Records data lost for good from block `since` on (the earliest loss is kept).
    pub async fn note_gap(&self, since: u64, reason: &str) -> Result<(), StoreError> {
        let earlier = self.meta().await?.gap.is_none_or(|g| since < g.since);
        if earlier {
            let mut t = self.pool.begin().await?;
            set_meta(&mut t, "gap_since", &since.to_string()).await?;
            set_meta(&mut t, "gap_reason", reason).await?;
            t.commit().await?;
        }
        Ok(())
    }

    /// Writes block `block` whole -- its documents (as of now), its transactions, their
    /// parties, documents and events, the block -- and advances `height` to it, in one
    /// database transaction.
    pub async fn write_block(
        &self,
        block: &BlockRow,
        txs: &[TxRecord],
        docs: &[DocRow],
    ) -> Result<(), StoreError> {
        let mut t = self.pool.begin().await?;
        let mut tally = Tally::default();
        write::put_docs(&mut t, docs, block.height, &mut tally).await?;
        write::put_txs(&mut t, txs, &mut tally).await?;
        tally.write(&mut t).await?;
        // Without its transactions' hashes: `txs` holds them by position.
        let stored = BlockRow {
            tx_hashes: Vec::new(),
            tx_count: block.tx_hashes.len(),
            ..block.clone()
        };
        let row_json = serde_json::to_string(&stored).map_err(|e| corrupt("block", e))?;
        sqlx::query(
            "INSERT INTO blocks (height, hash, time_ms, tx_count, row_json) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (height) DO UPDATE SET \
             hash = excluded.hash, time_ms = excluded.time_ms, \
             tx_count = excluded.tx_count, row_json = excluded.row_json",
        )
        .bind(int(block.height))
        .bind(block.hash.clone())
        .bind(int(block.time_ms))
        .bind(int(block.tx_hashes.len() as u64))
        .bind(row_json)
        .execute(&mut *t)
        .await?;
        set_meta(&mut t, "height", &block.height.to_string()).await?;
        t.commit().await?;
        Ok(())
    }

    /// Writes documents read outside a block (the lists at start, the ledger's own
    /// changes of an indexed block), stamped with the current height, in one transaction.
    pub async fn put_docs(&self, docs: &[DocRow], height: u64) -> Result<(), StoreError> {
        let mut t = self.pool.begin().await?;
        let mut tally = Tally::default();
        write::put_docs(&mut t, docs, height, &mut tally).await?;
        tally.write(&mut t).await?;
        t.commit().await?;
        Ok(())
    }

    /// The hash (hex) of stored block `height`, if stored.
    pub async fn block_hash(&self, height: u64) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT hash FROM blocks WHERE height = $1")
            .bind(int(height))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get::<String, _>(0)).transpose()?)
    }

    /// Stored block `height` with its transactions' hashes, if stored.
    pub async fn block(&self, height: u64) -> Result<Option<BlockRow>, StoreError> {
        let row = sqlx::query("SELECT row_json, tx_count FROM blocks WHERE height = $1")
            .bind(int(height))
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(Some(self.with_tx_hashes(block_row(&row)?).await?)),
            None => Ok(None),
        }
    }

    /// `row` with its transactions' hashes in block order (a row stored with them keeps
    /// them): at most the block's transactions, which consensus bounds.
    pub(crate) async fn with_tx_hashes(&self, mut row: BlockRow) -> Result<BlockRow, StoreError> {
        if row.tx_hashes.is_empty() && row.tx_count > 0 {
            let rows = sqlx::query("SELECT hash FROM txs WHERE height = $1 ORDER BY position")
                .bind(int(row.height))
                .fetch_all(&self.pool)
                .await?;
            row.tx_hashes = rows
                .iter()
                .map(|r| r.try_get::<String, _>(0))
                .collect::<Result<_, _>>()?;
        }
        Ok(row)
    }

    /// The stored document `id` of `kind`, if any.
    pub async fn doc(&self, kind: DocKind, id: &str) -> Result<Option<Doc>, StoreError> {
        let row = sqlx::query("SELECT doc_json FROM docs WHERE kind = $1 AND id = $2")
            .bind(kind.as_str())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => Ok(Some(decode_doc(kind, id, &r.try_get::<String, _>(0)?)?)),
            None => Ok(None),
        }
    }

    /// The orgs party to the stored document `id` of `kind` (none if not stored).
    pub async fn doc_parties(&self, kind: DocKind, id: &str) -> Result<Vec<String>, StoreError> {
        let rows =
            sqlx::query("SELECT org FROM doc_parties WHERE kind = $1 AND id = $2 ORDER BY org")
                .bind(kind.as_str())
                .bind(id.to_string())
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<Result<_, _>>()?)
    }

    /// How many rows `table` holds, counted (tests; the dashboard and the start read the
    /// kept counts, `store::totals`).
    pub async fn count(&self, table: Table) -> Result<u64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM {}", table.name());
        let n: i64 = sqlx::query(&sql).fetch_one(&self.pool).await?.try_get(0)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// The tables [`Store::count`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// Blocks.
    Blocks,
    /// Transactions.
    Txs,
    /// Documents.
    Docs,
    /// Events.
    Events,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Blocks => "blocks",
            Table::Txs => "txs",
            Table::Docs => "docs",
            Table::Events => "events",
        }
    }
}

/// A block row from `SELECT row_json, tx_count`: its count from the column (rows
/// written before the count was in the JSON lack it).
pub(crate) fn block_row(r: &sqlx::any::AnyRow) -> Result<BlockRow, StoreError> {
    let json: String = r.try_get(0)?;
    let count: i64 = r.try_get(1)?;
    let mut row: BlockRow = serde_json::from_str(&json).map_err(|e| corrupt("block", e))?;
    row.tx_count = usize::try_from(count).map_err(|e| corrupt("block", e))?;
    Ok(row)
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        what: what.to_string(),
        reason: e.to_string(),
    }
}

/// A `u64` as the databases' BIGINT (heights, times and counts stay far below 2^63).
pub(crate) fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

async fn set_meta(c: &mut AnyConnection, name: &str, value: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO meta (name, value) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .bind(name.to_string())
    .bind(value.to_string())
    .execute(c)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_backend_and_hide_passwords() {
        assert_eq!(Backend::of("sqlite:///x/e.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::of("postgres://u@h/db").unwrap(), Backend::Postgres);
        assert!(Backend::of("mysql://h/db").is_err());
        assert_eq!(
            redacted("postgres://bank:s3cret@db.local:5432/explorer"),
            "postgres://bank:***@db.local:5432/explorer"
        );
        assert_eq!(redacted("sqlite:///x/e.db"), "sqlite:///x/e.db");
        assert_eq!(sqlite_path("sqlite:///x/e.db?mode=rwc"), Some("/x/e.db"));
        assert_eq!(sqlite_path(MEMORY), None);
    }

    /// Every connection to a SQLite file, not just the first, logs ahead, keeps the
    /// larger page cache and syncs at checkpoints.
    #[tokio::test]
    async fn every_sqlite_connection_gets_the_settings() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("e.db").display());
        let store = Store::open(&url).await.unwrap();
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(store.pool().acquire().await.unwrap());
        }
        for c in &mut held {
            let pragma = |name: &'static str| sqlx::query(name);
            let row = pragma("PRAGMA journal_mode").fetch_one(&mut **c).await;
            assert_eq!(row.unwrap().get::<String, _>(0), "wal");
            let row = pragma("PRAGMA cache_size").fetch_one(&mut **c).await;
            assert_eq!(row.unwrap().get::<i64, _>(0), -i64::from(SQLITE_CACHE_KIB));
            // 1: NORMAL (2, FULL, is SQLite's default).
            let row = pragma("PRAGMA synchronous").fetch_one(&mut **c).await;
            assert_eq!(row.unwrap().get::<i64, _>(0), 1);
        }
    }

    /// The schema is written once: PostgreSQL's copy differs only by byte-wise collation.
    #[test]
    fn both_databases_get_the_same_schema() {
        let sqlite = include_str!("../../migrations/sqlite/0001_index.sql");
        let postgres = include_str!("../../migrations/postgres/0001_index.sql");
        assert_eq!(postgres.replace(" COLLATE \"C\"", ""), sqlite);
        assert!(postgres.contains("id TEXT COLLATE \"C\" NOT NULL"));
        // No text key added: the later files are the same for both.
        assert_eq!(
            include_str!("../../migrations/sqlite/0002_financed.sql"),
            include_str!("../../migrations/postgres/0002_financed.sql")
        );
        assert_eq!(
            include_str!("../../migrations/sqlite/0003_overdue.sql"),
            include_str!("../../migrations/postgres/0003_overdue.sql")
        );
        // 0004 adds text columns: byte-wise collation again, nothing else differs.
        let sqlite = include_str!("../../migrations/sqlite/0004_links.sql");
        let postgres = include_str!("../../migrations/postgres/0004_links.sql");
        assert_eq!(postgres.replace(" COLLATE \"C\"", ""), sqlite);
        assert!(postgres.contains("payment_ref TEXT COLLATE \"C\" NOT NULL"));
        // 0005 adds tables with text keys: the same again.
        let sqlite = include_str!("../../migrations/sqlite/0005_totals.sql");
        let postgres = include_str!("../../migrations/postgres/0005_totals.sql");
        assert_eq!(postgres.replace(" COLLATE \"C\"", ""), sqlite);
        assert!(postgres.contains("group_key TEXT COLLATE \"C\" NOT NULL"));
    }
}
