//! The follower and the in-memory index: follows committed blocks (`/v1/blocks/{h}` ->
//! tx hashes -> `/v1/transactions/{hash}` receipts -> the documents they touched) so the
//! explorer can list what the node API does not (blocks, transactions, orders, invoices,
//! financings, offers, settlements, invoice numbers). Each block is written to the
//! [`crate::store`] whole, in one database transaction with the new height, then to the
//! in-memory [`IndexData`]: the bounded cache the dashboard, detail pages and the views
//! not read from SQL use, loaded from the store at start. A restart continues from the
//! store's height after reading the org and receivable lists again (the ledger's own
//! changes while it was away); a new database is filled from block 1. Whatever it could
//! not read (catching up still running, a transaction the node does not hold, a node it
//! cannot follow) or hold (a full cache table) is kept as [`IndexData::incomplete`] and
//! shown on every page and CSV, never silently left out of the totals.
//!
//! Everything is read as the typed answers of `lianrong_api_types`: a block, transaction
//! or document the node answers with a missing or mistyped field stops the follower at
//! that height with the error on the dashboard (and in the log), instead of indexing a
//! zero.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt::Display;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use lianrong_api_types::{BlockView, Status, TxView, MAX_PAGE};
use lianrong_contracts::model::{
    Financing, Invoice, Offer, Order, Org, Receivable, Settlement, Shipment, WarehouseReceipt,
};
use lianrong_contracts::{DocKind, Event};
use lianrong_primitives::Hash;
use lianrong_sdk::PageWalk;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{broadcast, mpsc};

use crate::node::{paths, Doc, NodeApi, NodeError};
use crate::store::{Context, DocRow, Store, StoreError};
use crate::vis::{mask_json, Document, Shown};
use lianrong_api_types::visibility::{tx_access, Reader, TxAccess};

/// Most transactions remembered per document (for lineage and detail pages).
pub const MAX_TXS_PER_DOC: usize = 64;
/// Blocks kept in memory, for the dashboard's charts and signing counts. Only these: a
/// block holds its transactions' hashes, hundreds on a busy chain, so a cache of blocks
/// counted like documents (`max_index_docs`) held every transaction hash of the ledger
/// (1.7 million at 1,000,000 documents). Block pages and lists read the store.
pub const RECENT_BLOCKS: usize = 120;
/// How often a running rebuild logs how far it has come.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// Reads of one block's transactions or documents the follower has in flight to its node
/// at once (their answers kept in the block's order). One at a time, the follower waited
/// out every round trip in turn, some two hundred per block of a busy chain; a few in
/// flight overlap them without one reader flooding the node's API.
const NODE_READS_AT_ONCE: usize = 8;

/// How far the rebuild at start has come: until it ends the index is incomplete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rebuild {
    /// Orgs and receivables read from their lists so far.
    pub listed: u64,
    /// Whether every page of both lists was read.
    pub lists_read: bool,
    /// The node's height when the rebuild read its status: every block up to it is read.
    pub top: u64,
}

/// Something the index could not hold or read, from the first block it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// The first block whose data may be missing.
    pub since: u64,
    /// What is missing, in words.
    pub reason: String,
}

/// The newest block each validator signed in one epoch: validator indexes name other
/// validators in another epoch, so a newer epoch starts it afresh. Bounded by the
/// validator set's size.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastSigned {
    /// The epoch the indexes are of.
    epoch: u64,
    /// Validator index -> height.
    heights: BTreeMap<u64, u64>,
}

impl LastSigned {
    fn note(&mut self, b: &BlockRow) {
        if b.epoch < self.epoch {
            return;
        }
        if b.epoch > self.epoch {
            *self = LastSigned {
                epoch: b.epoch,
                heights: BTreeMap::new(),
            };
        }
        for &i in b.signers.iter().flatten() {
            let h = self.heights.entry(i).or_insert(b.height);
            *h = (*h).max(b.height);
        }
    }
}

/// A committed block as the explorer lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRow {
    /// Height.
    pub height: u64,
    /// Block hash (hex).
    pub hash: String,
    /// Parent hash (hex).
    pub parent: String,
    /// Agreed block time, ms since the Unix epoch.
    pub time_ms: u64,
    /// Proposer index.
    pub proposer: u16,
    /// Epoch.
    pub epoch: u64,
    /// Round.
    pub round: u64,
    /// Transactions in block order (hex hashes). Empty in a row listed from the store:
    /// the store keeps them in `txs` by position, and a list of 5,000 blocks of a busy
    /// chain read hundreds of hashes per row to show one count ([`Store::block`] and the
    /// cache's rows have them).
    ///
    /// [`Store::block`]: crate::store::Store::block
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tx_hashes: Vec<String>,
    /// How many transactions it holds.
    #[serde(default)]
    pub tx_count: usize,
    /// State root after the block (hex), as reported by the node (none if it has none).
    pub state_root: Option<String>,
    /// Validator indexes that signed its commit certificate (none without a certificate).
    pub signers: Option<Vec<u64>>,
}

impl BlockRow {
    /// The row of a block the node served.
    pub fn from_view(b: &BlockView) -> BlockRow {
        BlockRow {
            height: b.height,
            hash: b.hash.to_hex(),
            parent: b.parent.to_hex(),
            time_ms: b.timestamp_ms,
            proposer: b.proposer,
            epoch: b.epoch,
            round: b.round,
            tx_hashes: b.tx_hashes.iter().map(Hash::to_hex).collect(),
            tx_count: b.tx_hashes.len(),
            state_root: b.state_root.map(|r| r.to_hex()),
            signers: b
                .commit_certificate
                .as_ref()
                .map(|c| c.qc.signers.iter().map(|&s| u64::from(s)).collect()),
        }
    }

    /// Whether validator `i` signed its certificate.
    pub fn signed_by(&self, i: u64) -> bool {
        self.signers.as_ref().is_some_and(|s| s.contains(&i))
    }
}

/// A committed transaction with its decoded action and receipt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TxRecord {
    /// Hash (hex).
    pub hash: String,
    /// Block height.
    pub height: u64,
    /// Position in the block.
    pub index: u64,
    /// Block time (ms).
    pub time_ms: u64,
    /// Signing org.
    pub signer_org: String,
    /// Signing member key (hex).
    pub signer_key: String,
    /// Nonce.
    pub nonce: u64,
    /// Action name (`register_invoice`, ...).
    pub action_name: String,
    /// The decoded action as JSON (so identifiers can be masked per viewer).
    pub action: Value,
    /// Executed (true) or refused (false).
    pub ok: bool,
    /// The refusal, if refused (or that the node has no receipt for it).
    pub error: Option<Value>,
    /// Events on success, as JSON.
    pub events: Vec<Value>,
    /// Documents touched (kind, id).
    pub docs: Vec<(DocKind, String)>,
    /// Orgs party to it: the signer and the parties of the documents it touched.
    pub parties: Vec<String>,
}

impl Document for TxRecord {
    fn parties(&self) -> Vec<&str> {
        self.parties.iter().map(String::as_str).collect()
    }
    fn mask_identifiers(&mut self) {
        mask_json(&mut self.action);
        self.events.iter_mut().for_each(mask_json);
        if let Some(e) = &mut self.error {
            mask_json(e);
        }
    }
}

impl Shown for TxRecord {
    fn masked_for(&self, reader: &Reader) -> bool {
        // Only parties reach here (`readable`), so the reader is a party to a touched
        // document.
        tx_access(reader, &self.signer_org, true) == TxAccess::Masked
    }
}

/// A committed block as pushed to live pages.
#[derive(Debug, Clone, Serialize)]
pub struct LiveUpdate {
    /// Height.
    pub height: u64,
    /// Hash.
    pub hash: String,
    /// Block time.
    pub time_ms: u64,
    /// Transactions in the block (all of them, for counts).
    pub tx_count: usize,
    /// The transactions (filtered per viewer before sending).
    pub txs: Vec<TxRecord>,
}

/// Everything indexed. Read through [`Index::read`].
#[derive(Debug, Default)]
pub struct IndexData {
    /// Highest block indexed.
    pub height: u64,
    /// The node's status, once read.
    pub node: Option<Status>,
    /// The newest [`RECENT_BLOCKS`] blocks by height.
    pub blocks: BTreeMap<u64, BlockRow>,
    /// The newest block each validator (by index) signed the certificate of, in the
    /// epoch of the newest block indexed ([`IndexData::last_signed`]).
    pub signed: LastSigned,
    /// Transactions by (height, index).
    pub txs: BTreeMap<(u64, u64), TxRecord>,
    /// Transaction position by hash.
    pub tx_by_hash: HashMap<String, (u64, u64)>,
    /// Orgs.
    pub orgs: BTreeMap<String, Org>,
    /// Orders.
    pub orders: BTreeMap<String, Order>,
    /// Shipments.
    pub shipments: BTreeMap<String, Shipment>,
    /// Invoices.
    pub invoices: BTreeMap<String, Invoice>,
    /// Receivables.
    pub receivables: BTreeMap<String, Receivable>,
    /// Financings.
    pub financings: BTreeMap<String, Financing>,
    /// Banks' offers on financings.
    pub offers: BTreeMap<String, Offer>,
    /// Settlements (a debtor's payment to a holder and the holder's answer).
    pub settlements: BTreeMap<String, Settlement>,
    /// Governance proposals (the records; where each stands is computed when shown).
    pub proposals: BTreeMap<String, lianrong_contracts::model::Proposal>,
    /// Warehouse receipts (goods in a lot, and their pledge to a bank).
    pub warehouse_receipts: BTreeMap<String, WarehouseReceipt>,
    /// Invoice ids by invoice number.
    pub invoice_numbers: HashMap<String, BTreeSet<String>>,
    /// Transactions that touched each document, oldest first.
    pub doc_txs: HashMap<(DocKind, String), VecDeque<String>>,
    /// Documents not indexed because a table was full.
    pub dropped: u64,
    /// Transactions no longer kept (the oldest go once `cap` are kept).
    pub evicted_txs: u64,
    /// The last error following the node (a malformed answer, an unreachable node), if
    /// the last attempt failed.
    pub last_error: Option<String>,
    /// The last block notice of the event stream that did not decode, until a good one
    /// arrives.
    pub event_error: Option<String>,
    /// The rebuild at start, while it runs.
    pub rebuilding: Option<Rebuild>,
    /// The first data the index lost for good (kept in the store: a restart does not
    /// read the chain again).
    pub gap: Option<Gap>,
    /// The block from which a full table left documents out of this in-memory index
    /// (the store holds them: lists and CSVs read it, detail sections read this cache).
    pub full_since: Option<u64>,
    /// Most entries per table.
    pub cap: usize,
}

impl IndexData {
    /// The orgs `reader` trades with: the other side of every order it is buyer or seller
    /// of that the seller accepted (the node reads the same from the contract state key
    /// `trades/{reader}/{org}`; an order cancelled after acceptance keeps it there but
    /// not here, so the explorer errs on masking).
    pub fn counterparties(&self, reader: &Reader) -> BTreeSet<lianrong_primitives::OrgId> {
        use lianrong_contracts::model::OrderStatus;
        let Reader::Org(me) = reader else {
            return BTreeSet::new();
        };
        self.orders
            .values()
            .filter(|o| matches!(o.status, OrderStatus::Accepted | OrderStatus::Fulfilled))
            .filter_map(|o| {
                if &o.buyer == me {
                    Some(o.seller.clone())
                } else if &o.seller == me {
                    Some(o.buyer.clone())
                } else {
                    None
                }
            })
            .collect()
    }

    /// Why the in-memory index may not hold everything the node has, in words (`None`:
    /// complete up to `height`). Every page and CSV built from it shows it.
    pub fn incomplete(&self) -> Option<String> {
        let mut why = self.store_notes();
        if let Some(since) = self.full_since {
            why.push(format!(
                "incomplete since block {since}: the index is full ({} documents per table, \
                 max_index_docs): documents not indexed",
                self.cap
            ));
        }
        (!why.is_empty()).then(|| why.join("; "))
    }

    /// Why the store may not hold everything the node has (`None`: complete up to
    /// `height`): what lists, CSVs and risk views read from the store say.
    pub fn store_incomplete(&self) -> Option<String> {
        let why = self.store_notes();
        (!why.is_empty()).then(|| why.join("; "))
    }

    fn store_notes(&self) -> Vec<String> {
        let mut why = Vec::new();
        match &self.rebuilding {
            Some(r) if !r.lists_read => why.push(format!(
                "rebuilding from the node: {} orgs and receivables listed so far",
                r.listed
            )),
            Some(r) => why.push(format!(
                "rebuilding from the node: block {} of {} read",
                self.height, r.top
            )),
            None => {}
        }
        if let Some(g) = &self.gap {
            why.push(format!("incomplete since block {}: {}", g.since, g.reason));
        }
        if let Some(e) = &self.last_error {
            let since = self.height + 1;
            why.push(format!(
                "incomplete since block {since}: following the node failed: {e}"
            ));
        }
        why
    }

    /// Records data the index lost from block `since` on (the earliest loss is kept).
    pub fn note_gap(&mut self, since: u64, reason: impl Into<String>) {
        if self.gap.as_ref().is_none_or(|g| since < g.since) {
            let reason = reason.into();
            tracing::warn!(since, %reason, "explorer index incomplete");
            self.gap = Some(Gap { since, reason });
        }
    }

    /// The transaction with this hash.
    pub fn tx(&self, hash: &str) -> Option<&TxRecord> {
        self.tx_by_hash.get(hash).and_then(|k| self.txs.get(k))
    }

    /// Shipment with its order's parties, for [`crate::vis`].
    pub fn shipment_view(&self, s: &Shipment) -> crate::vis::ShipmentOfOrder {
        let order_parties = self
            .orders
            .get(s.order.as_str())
            .map(|o| vec![o.buyer.clone(), o.seller.clone()])
            .unwrap_or_default();
        crate::vis::ShipmentOfOrder {
            shipment: s.clone(),
            order_parties,
        }
    }

    /// Offer with its financing's applicant, for [`crate::vis`].
    pub fn offer_view(&self, o: &Offer) -> crate::vis::OfferOfFinancing {
        crate::vis::OfferOfFinancing {
            offer: o.clone(),
            applicant: self
                .financings
                .get(o.financing.as_str())
                .map(|f| f.applicant.clone()),
        }
    }

    /// The orgs party to a document, from what is indexed.
    pub fn doc_parties(&self, kind: DocKind, id: &str) -> Vec<String> {
        let own = |v: Vec<&str>| v.into_iter().map(str::to_string).collect::<Vec<_>>();
        match kind {
            DocKind::Order => self.orders.get(id).map(|d| own(d.parties())),
            DocKind::Shipment => self
                .shipments
                .get(id)
                .map(|s| own(self.shipment_view(s).parties())),
            DocKind::Invoice => self.invoices.get(id).map(|d| own(d.parties())),
            DocKind::Receivable => self.receivables.get(id).map(|d| own(d.parties())),
            DocKind::Financing => self.financings.get(id).map(|d| own(d.parties())),
            DocKind::Offer => self
                .offers
                .get(id)
                .map(|o| own(self.offer_view(o).parties())),
            DocKind::Settlement => self.settlements.get(id).map(|d| own(d.parties())),
            DocKind::Proposal => self.proposals.get(id).map(|d| own(d.parties())),
            DocKind::WarehouseReceipt => self.warehouse_receipts.get(id).map(|d| own(d.parties())),
            _ => None,
        }
        .unwrap_or_default()
    }

    fn put<T>(map: &mut BTreeMap<String, T>, cap: usize, dropped: &mut u64, id: String, v: T) {
        if map.len() >= cap && !map.contains_key(&id) {
            *dropped += 1;
            return;
        }
        map.insert(id, v);
    }

    pub(crate) fn add_block(&mut self, b: BlockRow) {
        self.height = self.height.max(b.height);
        self.signed.note(&b);
        self.blocks.insert(b.height, b);
        while self.blocks.len() > RECENT_BLOCKS {
            self.blocks.pop_first();
        }
    }

    /// The newest block validator `i` of the current epoch signed the certificate of,
    /// among those indexed since the explorer started (and the [`RECENT_BLOCKS`] it read
    /// back from the store then).
    pub fn last_signed(&self, i: u64) -> Option<u64> {
        self.signed.heights.get(&i).copied()
    }

    fn add_tx(&mut self, t: TxRecord) {
        for d in &t.docs {
            self.note_doc_tx(d.clone(), t.hash.clone());
        }
        self.add_tx_record(t);
    }

    /// Remembers that transaction `hash` touched document `doc` (the newest
    /// [`MAX_TXS_PER_DOC`] per document, for at most 4 x `cap` documents).
    pub(crate) fn note_doc_tx(&mut self, doc: (DocKind, String), hash: String) {
        if self.doc_txs.len() >= self.cap.saturating_mul(4) && !self.doc_txs.contains_key(&doc) {
            return;
        }
        let list = self.doc_txs.entry(doc).or_default();
        if !list.contains(&hash) {
            list.push_back(hash);
            if list.len() > MAX_TXS_PER_DOC {
                list.pop_front();
            }
        }
    }

    /// Keeps transaction `t` (the newest `cap` are kept).
    pub(crate) fn add_tx_record(&mut self, t: TxRecord) {
        let key = (t.height, t.index);
        self.tx_by_hash.insert(t.hash.clone(), key);
        self.txs.insert(key, t);
        while self.txs.len() > self.cap {
            if let Some((_, old)) = self.txs.pop_first() {
                self.tx_by_hash.remove(&old.hash);
                self.evicted_txs += 1;
            }
        }
    }

    pub(crate) fn put_doc(&mut self, doc: Doc) {
        let before = self.dropped;
        self.put_doc_bounded(doc);
        if self.dropped > before {
            self.note_full(0);
        }
    }

    /// Records that `more` documents (besides those already counted) did not fit.
    pub(crate) fn note_full(&mut self, more: u64) {
        self.dropped += more;
        if self.full_since.is_none() {
            tracing::info!(
                cap = self.cap,
                "explorer in-memory cache full: pages read older documents from the database"
            );
            self.full_since = Some(self.height + 1);
        }
    }

    fn put_doc_bounded(&mut self, doc: Doc) {
        let cap = self.cap;
        let id = doc.id().to_string();
        let dropped = &mut self.dropped;
        match doc {
            Doc::Org(o) => Self::put(&mut self.orgs, cap, dropped, id, o),
            Doc::Order(o) => Self::put(&mut self.orders, cap, dropped, id, o),
            Doc::Shipment(s) => Self::put(&mut self.shipments, cap, dropped, id, s),
            Doc::Invoice(inv) => {
                if self.invoice_numbers.len() < cap
                    || self.invoice_numbers.contains_key(&inv.number)
                {
                    self.invoice_numbers
                        .entry(inv.number.clone())
                        .or_default()
                        .insert(id.clone());
                }
                Self::put(&mut self.invoices, cap, dropped, id, inv)
            }
            Doc::Receivable(r) => Self::put(&mut self.receivables, cap, dropped, id, r),
            Doc::Financing(f) => Self::put(&mut self.financings, cap, dropped, id, f),
            Doc::Offer(o) => Self::put(&mut self.offers, cap, dropped, id, o),
            Doc::Settlement(x) => Self::put(&mut self.settlements, cap, dropped, id, x),
            Doc::Proposal(x) => Self::put(&mut self.proposals, cap, dropped, id, x),
            Doc::WarehouseReceipt(x) => {
                Self::put(&mut self.warehouse_receipts, cap, dropped, id, x)
            }
        }
    }

    /// Indexes a fetched block: its documents (as of now), its transactions (their
    /// parties already found, see [`Follower::index_block`]), then the block itself; the
    /// update for live pages.
    fn add_indexed(&mut self, row: BlockRow, txs: Vec<TxRecord>, docs: Vec<Doc>) -> LiveUpdate {
        for doc in docs {
            self.put_doc(doc);
        }
        for t in &txs {
            self.add_tx(t.clone());
        }
        let update = LiveUpdate {
            height: row.height,
            hash: row.hash.clone(),
            time_ms: row.time_ms,
            tx_count: txs.len(),
            txs,
        };
        self.add_block(row);
        update
    }
}

/// The shared index.
pub struct Index {
    data: RwLock<IndexData>,
}

impl Index {
    /// An empty index keeping at most `cap` entries per table; incomplete until a
    /// [`Follower`] has rebuilt it.
    pub fn new(cap: usize) -> Self {
        Index {
            data: RwLock::new(IndexData {
                cap: cap.max(1),
                rebuilding: Some(Rebuild::default()),
                ..Default::default()
            }),
        }
    }

    /// An index holding `data` (read from the store at start, [`Store::load_index`]).
    pub fn with_data(data: IndexData) -> Self {
        Index {
            data: RwLock::new(data),
        }
    }

    /// Runs `f` on the indexed data (never across an await).
    pub fn read<R>(&self, f: impl FnOnce(&IndexData) -> R) -> R {
        match self.data.read() {
            Ok(d) => f(&d),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    fn write<R>(&self, f: impl FnOnce(&mut IndexData) -> R) -> R {
        match self.data.write() {
            Ok(mut d) => f(&mut d),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }
}

/// Why following the node stopped at a block.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// The node answered badly or not at all.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The store could not be read or written (or belongs to another chain).
    #[error("index store: {0}")]
    Store(#[from] StoreError),
}

impl FollowError {
    /// True if trying again cannot help: the database indexes another chain.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            FollowError::Store(StoreError::OtherChain { .. } | StoreError::OtherBlock { .. })
        )
    }
}

/// Follows the node: writes every committed block to the store (then to the in-memory
/// index) and publishes [`LiveUpdate`]s.
pub struct Follower {
    node: Arc<dyn NodeApi>,
    index: Arc<Index>,
    store: Store,
    updates: broadcast::Sender<Arc<LiveUpdate>>,
    /// Items asked for per list page.
    page_size: usize,
}

impl Follower {
    /// A follower writing to `store` and `index` and announcing on `updates`, reading
    /// lists in pages of the node's largest size ([`MAX_PAGE`]).
    pub fn new(
        node: Arc<dyn NodeApi>,
        index: Arc<Index>,
        store: Store,
        updates: broadcast::Sender<Arc<LiveUpdate>>,
    ) -> Self {
        Follower {
            node,
            index,
            store,
            updates,
            page_size: MAX_PAGE,
        }
    }

    /// The same, reading lists in pages of `size` (1 to [`MAX_PAGE`]).
    pub fn with_page_size(mut self, size: usize) -> Self {
        self.page_size = size.clamp(1, MAX_PAGE);
        self
    }

    /// Reads `/v1/status` into the index (once the store holds, or now claims, the
    /// node's chain); returns the node's height.
    pub async fn refresh_status(&self) -> Result<u64, FollowError> {
        let s = self.node.status().await?;
        self.store.claim_chain(&s.chain_id).await?;
        let h = s.height;
        self.index.write(|d| d.node = Some(s));
        Ok(h)
    }

    /// Brings the index up to the node: every page of the org and receivable lists
    /// (documents no block's transaction names, and changes the ledger made by itself
    /// while the explorer was away), then every block above the store's height (from
    /// height 1 only for a new database, or from where an earlier attempt stopped) up to
    /// the node's height. One page or block in memory at a time, each written to the
    /// store in one transaction; progress is logged and the index says it is incomplete
    /// until this returns `Ok`.
    pub async fn rebuild(&self) -> Result<(), FollowError> {
        let top = self.refresh_status().await?;
        self.same_chain(top).await?;
        let lists_read = self.index.write(|d| {
            let r = d.rebuilding.get_or_insert_with(Rebuild::default);
            r.top = top;
            r.lists_read
        });
        if !lists_read {
            self.read_lists().await?;
        }
        let from = self.index.read(|d| d.height) + 1;
        let mut logged = Instant::now();
        for h in from..=top {
            self.index_block(h).await?;
            if logged.elapsed() >= PROGRESS_EVERY {
                tracing::info!(height = h, top, "explorer index: reading blocks");
                logged = Instant::now();
            }
        }
        self.index.write(|d| {
            d.rebuilding = None;
            d.last_error = None;
        });
        tracing::info!(
            height = top,
            from,
            "explorer index: up to date with the node"
        );
        Ok(())
    }

    /// Checks the store's newest block is the node's block of that height (a network
    /// written anew under the same chain id is another chain). A node below it is waited
    /// for.
    async fn same_chain(&self, top: u64) -> Result<(), FollowError> {
        let height = self.index.read(|d| d.height);
        if height == 0 {
            return Ok(());
        }
        if top < height {
            let why = format!(
                "the node is at height {top}, below the {height} blocks indexed: waiting for it"
            );
            return Err(NodeError::Status {
                status: 503,
                message: why,
            }
            .into());
        }
        let node = self.node.block(height).await?.hash.to_hex();
        match self.store.block_hash(height).await? {
            Some(stored) if stored != node => Err(StoreError::OtherBlock {
                height,
                stored,
                node,
            }
            .into()),
            _ => Ok(()),
        }
    }

    /// Reads every page of `/v1/orgs`, then of `/v1/receivables`, into the index.
    async fn read_lists(&self) -> Result<(), FollowError> {
        // An earlier attempt's pages are read again from the first.
        self.index.write(|d| {
            if let Some(r) = &mut d.rebuilding {
                r.listed = 0;
            }
        });
        let size = self.page_size;
        let node = &self.node;
        let orgs = self
            .read_list(paths::ORGS, Doc::Org, |after| async move {
                let p = node.orgs_page(after.as_ref(), size).await?;
                Ok((p.items, p.next))
            })
            .await?;
        let receivables = self
            .read_list(paths::RECEIVABLES, Doc::Receivable, |after| async move {
                let p = node.receivables_page(after.as_ref(), size).await?;
                Ok((p.items, p.next))
            })
            .await?;
        self.index.write(|d| {
            if let Some(r) = &mut d.rebuilding {
                r.lists_read = true;
            }
        });
        tracing::info!(orgs, receivables, "explorer index: lists read");
        Ok(())
    }

    /// Reads the list at `url` page by page (`fetch(after)` reads one) to its last page,
    /// writing each page before the next is read; how many items it had.
    async fn read_list<C, T, F, Fut>(
        &self,
        url: &str,
        doc: impl Fn(T) -> Doc,
        mut fetch: F,
    ) -> Result<u64, FollowError>
    where
        C: Ord + Clone + Display,
        F: FnMut(Option<C>) -> Fut,
        Fut: Future<Output = Result<(Vec<T>, Option<C>), NodeError>>,
    {
        let mut walk = PageWalk::new(url, None);
        let mut count = 0u64;
        let mut logged = Instant::now();
        while !walk.is_done() {
            let (items, next) = fetch(walk.after().cloned()).await?;
            walk.advance(next).map_err(crate::node::sdk_error)?;
            let n = items.len() as u64;
            count += n;
            self.put_docs(items.into_iter().map(&doc).collect()).await?;
            self.index.write(|d| {
                if let Some(r) = &mut d.rebuilding {
                    r.listed += n;
                }
            });
            if logged.elapsed() >= PROGRESS_EVERY {
                tracing::info!(
                    url,
                    count,
                    pages = walk.pages(),
                    "explorer index: reading list"
                );
                logged = Instant::now();
            }
        }
        Ok(count)
    }

    /// Writes documents read outside a block (list pages, the ledger's own changes) to
    /// the store, then to the in-memory index.
    async fn put_docs(&self, docs: Vec<Doc>) -> Result<(), FollowError> {
        let rows = self.doc_rows(&docs).await?;
        let height = self.index.read(|d| d.height);
        self.store.put_docs(&rows, height).await?;
        self.index
            .write(|d| docs.into_iter().for_each(|doc| d.put_doc(doc)));
        Ok(())
    }

    /// The store's rows of `docs`, each with what its parties depend on.
    async fn doc_rows(&self, docs: &[Doc]) -> Result<Vec<DocRow>, FollowError> {
        let mut rows = Vec::with_capacity(docs.len());
        for doc in docs {
            let ctx = self.context(doc, docs).await?;
            rows.push(DocRow::of(doc, &ctx)?);
        }
        Ok(rows)
    }

    /// A shipment's order parties, an offer's financing applicant: from the same
    /// `batch`, else from the store.
    async fn context(&self, doc: &Doc, batch: &[Doc]) -> Result<Context, FollowError> {
        let find = |kind: DocKind, id: &str| {
            batch
                .iter()
                .find(|d| d.kind() == kind && d.id() == id)
                .cloned()
        };
        let mut ctx = Context::default();
        match doc {
            Doc::Shipment(s) => {
                let order = match find(DocKind::Order, s.order.as_str()) {
                    Some(o) => Some(o),
                    None => self.store.doc(DocKind::Order, s.order.as_str()).await?,
                };
                if let Some(Doc::Order(o)) = order {
                    ctx.order_parties = vec![o.buyer.to_string(), o.seller.to_string()];
                }
            }
            Doc::Offer(o) => {
                let financing = match find(DocKind::Financing, o.financing.as_str()) {
                    Some(f) => Some(f),
                    None => {
                        self.store
                            .doc(DocKind::Financing, o.financing.as_str())
                            .await?
                    }
                };
                if let Some(Doc::Financing(f)) = financing {
                    ctx.applicant = Some(f.applicant.to_string());
                }
            }
            _ => {}
        }
        Ok(ctx)
    }

    /// Each transaction's parties: its signer and the parties of the documents it
    /// touched (as written with its block, else as stored).
    async fn set_parties(&self, txs: &mut [TxRecord], rows: &[DocRow]) -> Result<(), FollowError> {
        for t in txs.iter_mut() {
            let mut parties = BTreeSet::from([t.signer_org.clone()]);
            for (k, id) in &t.docs {
                match rows.iter().find(|r| r.kind == k.as_str() && &r.id == id) {
                    Some(r) => parties.extend(r.parties.iter().cloned()),
                    None => parties.extend(self.store.doc_parties(*k, id).await?),
                }
            }
            t.parties = parties.into_iter().collect();
        }
        Ok(())
    }

    /// Indexes block `h`: its transactions, the documents they touched and those the
    /// ledger changed by itself in it (overdue; the block lists them, so nothing depends
    /// on having seen its notice). The block is written to the store whole (one
    /// transaction, with the new height), then to the in-memory index.
    pub async fn index_block(&self, h: u64) -> Result<(), FollowError> {
        let b = self.node.block(h).await?;
        if b.height != h {
            let why = format!("asked for block {h}, the node answered block {}", b.height);
            return Err(NodeError::decode(&paths::block(h), why).into());
        }
        let row = BlockRow::from_view(&b);
        let mut txs = Vec::with_capacity(b.tx_hashes.len());
        let mut touched: BTreeSet<(DocKind, String)> =
            b.ledger_events.iter().flat_map(Event::documents).collect();
        let fetched: Vec<Option<TxView>> = futures::stream::iter(b.tx_hashes.clone())
            .map(|hash| self.block_tx(h, hash))
            .buffered(NODE_READS_AT_ONCE)
            .try_collect()
            .await?;
        for t in fetched.into_iter().flatten() {
            let rec = tx_record(&t, row.time_ms)?;
            touched.extend(rec.docs.iter().cloned());
            txs.push(rec);
        }
        // Fetch each touched document once, as of now.
        let docs = self.documents(&touched).await?;
        let rows = self.doc_rows(&docs).await?;
        self.set_parties(&mut txs, &rows).await?;
        self.store.write_block(&row, &txs, &rows).await?;
        let update = self.index.write(|d| d.add_indexed(row, txs, docs));
        let _ = self.updates.send(Arc::new(update));
        Ok(())
    }

    /// Records data lost for good from block `since` (in the store: a restart does not
    /// read the chain again, so it stays said).
    async fn note_gap(&self, since: u64, why: String) -> Result<(), FollowError> {
        self.store.note_gap(since, &why).await?;
        self.index.write(|d| d.note_gap(since, why));
        Ok(())
    }

    /// Transaction `hash` listed by block `h`: `None` if the node does not hold it, an
    /// error if it answers for another transaction or another block.
    async fn block_tx(&self, h: u64, hash: Hash) -> Result<Option<TxView>, FollowError> {
        let t = match self.node.transaction(hash).await {
            Ok(t) => t,
            // A block listing a transaction its node does not hold (an older node
            // listed a faulty proposer's dropped ones): index the rest rather than
            // retry this height for ever.
            Err(NodeError::NotFound(_)) => {
                let why =
                    format!("block {h} lists transaction {hash}, which the node does not hold");
                self.note_gap(h, why).await?;
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        if t.hash != hash || t.height != h {
            let why = format!(
                "block {h} lists it, the node answered transaction {} at height {}",
                t.hash, t.height
            );
            return Err(NodeError::decode(&paths::transaction(&hash), why).into());
        }
        Ok(Some(t))
    }

    /// The documents the index keeps among `wanted`, as of now (missing ones skipped).
    async fn documents<'a>(
        &self,
        wanted: impl IntoIterator<Item = &'a (DocKind, String)>,
    ) -> Result<Vec<Doc>, FollowError> {
        let readable: Vec<(DocKind, String)> = wanted
            .into_iter()
            .filter(|(kind, _)| crate::node::doc_path(*kind).is_some())
            .cloned()
            .collect();
        let found: Vec<Option<Doc>> = futures::stream::iter(readable)
            .map(|(kind, id)| async move {
                match self.node.document(kind, &id).await {
                    Ok(d) => Ok(Some(d)),
                    Err(NodeError::NotFound(_)) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .buffered(NODE_READS_AT_ONCE)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// Follows the node until the process ends: catches up, then indexes each new block
    /// as the event stream announces it (polling every 2 s as a fallback). Every failure
    /// is logged and shown on the dashboard until the next attempt succeeds; a database
    /// of another chain stops it for good.
    pub async fn run(self: Arc<Self>) {
        let (tx, mut rx) = mpsc::channel::<()>(64);
        let events = {
            let me = self.clone();
            tokio::spawn(async move { me.listen(tx).await })
        };
        let mut backoff = Duration::from_millis(500);
        loop {
            match self.rebuild().await {
                Ok(()) => break,
                Err(e) => {
                    self.index.write(|d| d.last_error = Some(e.to_string()));
                    if e.is_permanent() {
                        tracing::error!(error = %e, "explorer index: not following the node");
                        events.abort();
                        return;
                    }
                    tracing::warn!(error = %e, "explorer index rebuild failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
        loop {
            tokio::select! {
                // `None`: the listener ended (checked below).
                _ = rx.recv() => {}
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            };
            if let Err(e) = self.catch_up().await {
                tracing::warn!(error = %e, "explorer index update failed");
                self.index.write(|d| d.last_error = Some(e.to_string()));
                tokio::time::sleep(Duration::from_secs(1)).await;
            } else {
                self.index.write(|d| d.last_error = None);
            }
            if events.is_finished() {
                // The listener returns only once this loop is gone: finished here, it
                // panicked, and so does the follower (`Explorer::run` exits on it).
                if let Err(e) = events.await {
                    if e.is_panic() {
                        std::panic::resume_unwind(e.into_panic());
                    }
                }
                break;
            }
        }
    }

    /// Indexes every block up to the node's height.
    pub async fn catch_up(&self) -> Result<(), FollowError> {
        let top = self.refresh_status().await?;
        let from = self.index.read(|d| d.height) + 1;
        for h in from..=top {
            self.index_block(h).await?;
        }
        Ok(())
    }

    /// Wakes the follower on each block notice. A notice is only a wake-up: everything
    /// is read from the block, so a notice the stream skipped (`lagged`), or one sent
    /// while the stream was down, loses nothing.
    async fn listen(&self, tx: mpsc::Sender<()>) {
        let mut backoff = Duration::from_millis(500);
        loop {
            match self.node.events().await {
                Ok(mut s) => {
                    backoff = Duration::from_millis(500);
                    while let Some(ev) = s.next().await {
                        match ev {
                            Ok(_) => self.index.write(|d| d.event_error = None),
                            // The stream goes on; the block is indexed from `/v1/blocks`.
                            Err(e @ NodeError::Decode { .. }) => {
                                tracing::warn!(error = %e, "malformed block notice");
                                self.index.write(|d| d.event_error = Some(e.to_string()));
                            }
                            Err(e) => {
                                tracing::debug!(error = %e, "node event stream ended");
                                break;
                            }
                        }
                        if tx.send(()).await.is_err() {
                            return;
                        }
                    }
                }
                Err(e) => tracing::debug!(error = %e, "node event stream unavailable"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    }
}

/// JSON of a decoded value, for masking and display.
fn json_of<T: Serialize>(url: &str, what: &str, v: &T) -> Result<Value, NodeError> {
    serde_json::to_value(v).map_err(|e| NodeError::decode(url, format!("{what}: {e}")))
}

/// The record of `GET /v1/transactions/{hash}` in a block stamped `time_ms`.
pub fn tx_record(t: &TxView, time_ms: u64) -> Result<TxRecord, NodeError> {
    let url = paths::transaction(&t.hash);
    let (ok, events, error) = match t.receipt.as_ref().map(|r| &r.outcome) {
        Some(Ok(evs)) => (true, evs.as_slice(), None),
        Some(Err(e)) => (false, &[][..], Some(json_of(&url, "receipt.outcome", e)?)),
        None => (false, &[][..], Some(Value::String("no receipt".into()))),
    };
    let mut docs: Vec<(DocKind, String)> = Vec::new();
    for d in events.iter().flat_map(Event::documents) {
        if !docs.contains(&d) {
            docs.push(d);
        }
    }
    Ok(TxRecord {
        hash: t.hash.to_hex(),
        height: t.height,
        index: t.index,
        time_ms,
        signer_org: t.signer.org.to_string(),
        signer_key: t.signer.key.to_hex(),
        nonce: t.nonce,
        action_name: t.action_name.clone(),
        action: json_of(&url, "action", &t.action)?,
        ok,
        error,
        events: events
            .iter()
            .map(|e| json_of(&url, "receipt.outcome", e))
            .collect::<Result<_, _>>()?,
        docs,
        parties: vec![],
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::node::fake::{self, FakeNode};
    use crate::views::{self, testdata, ListQuery};
    use crate::vis::Viewer;
    use lianrong_api_types::MAX_PAGE;
    use lianrong_contracts::action::InvoiceSpec;
    use lianrong_contracts::model::{DocId, OrderStatus, ReceivableStatus};
    use lianrong_contracts::money::{Amount, Money};
    use lianrong_contracts::Action;

    /// The action registering `inv` (it names both tax ids).
    fn register(inv: &Invoice) -> Action {
        Action::RegisterInvoice {
            invoice: InvoiceSpec {
                id: inv.id.clone(),
                order: inv.order.clone(),
                number: inv.number.clone(),
                issue_date: inv.issue_date,
                due_date: inv.due_date,
                maturity: inv.maturity,
                amount: inv.amount,
                seller_tax_id: inv.seller_tax_id.clone(),
                buyer_tax_id: inv.buyer_tax_id.clone(),
                doc_hash: inv.doc_hash,
            },
            confirm: true,
        }
    }

    /// Block 1: CORE-A registers and confirms INV-1, which becomes RCV-1.
    fn serve_invoice_block(node: &FakeNode, t1: Hash) {
        node.set("/v1/blocks/1", fake::block(1, &[t1]));
        let inv = testdata::invoice("INV-1", "SUP-1", "CORE-A", "2027-01-31", "100.00");
        let events = vec![
            Event::InvoiceRegistered {
                invoice: inv.id.clone(),
                order: inv.order.clone(),
                number: inv.number.clone(),
                amount: inv.amount,
                fingerprint: Hash::ZERO,
            },
            Event::InvoiceConfirmed {
                invoice: inv.id.clone(),
                receivable: DocId::new("RCV-1").unwrap(),
            },
        ];
        let t = fake::tx(t1, 1, "CORE-A", register(&inv), events);
        node.set(&paths::transaction(&t1), t);
        node.set_doc(Doc::Invoice(inv));
        node.set_doc(Doc::Receivable(rcv1()));
    }

    /// RCV-1 of INV-1, held by SUP-1, owed by CORE-A.
    fn rcv1() -> Receivable {
        testdata::receivable(
            "RCV-1",
            "SUP-1",
            "CORE-A",
            "2026-11-01",
            "2027-01-31",
            "100.00",
        )
    }

    fn order_po9() -> Order {
        Order {
            id: DocId::new("PO-9").unwrap(),
            buyer: testdata::org("CORE-B"),
            seller: testdata::org("SUP-2"),
            amount: Money::parse("100.00", "CNY").unwrap(),
            terms: String::new(),
            doc_hash: Hash::ZERO,
            status: OrderStatus::Issued,
            invoiced: Amount::ZERO,
            confirmed: Amount::ZERO,
            carriers: vec![],
            shipments: vec![],
            shipped: Amount::ZERO,
            delivered: Amount::ZERO,
        }
    }

    /// Block 2: CORE-B issues order PO-9 to SUP-2.
    fn serve_order_block(node: &FakeNode, t2: Hash) {
        node.set("/v1/blocks/2", fake::block(2, &[t2]));
        let po9 = order_po9();
        let action = Action::IssueOrder {
            id: po9.id.clone(),
            seller: po9.seller.clone(),
            amount: po9.amount,
            terms: po9.terms.clone(),
            doc_hash: po9.doc_hash,
            carriers: vec![],
        };
        let event = Event::OrderIssued {
            order: po9.id.clone(),
            buyer: po9.buyer.clone(),
            seller: po9.seller.clone(),
            amount: po9.amount,
        };
        node.set(
            &paths::transaction(&t2),
            fake::tx(t2, 2, "CORE-B", action, vec![event]),
        );
        node.set_doc(Doc::Order(po9));
    }

    /// A node at height 2 with the invoice block and the order block.
    pub(crate) fn two_block_node() -> (Arc<FakeNode>, Hash, Hash) {
        let node = Arc::new(FakeNode::default());
        node.set(
            "/v1/status",
            fake::status(2, vec![fake::validator("BANK-A", 0xaa)]),
        );
        let (t1, t2) = (fake::hash(0x11), fake::hash(0x22));
        serve_invoice_block(&node, t1);
        serve_order_block(&node, t2);
        (node, t1, t2)
    }

    fn assert_sup1_sees_only_its_masked_tx(d: &IndexData, t1: &str, t2: &str) {
        let sup1 = Viewer::Org(lianrong_primitives::OrgId::new("SUP-1").unwrap());
        let q = ListQuery::default();
        let t = views::transactions(d, &sup1, &q);
        assert_eq!(t.rows.len(), 1);
        assert_eq!(t.rows[0][0].text, t1);
        let seen = crate::vis::one(&sup1, d.tx(t1).unwrap().clone()).unwrap();
        assert_eq!(
            seen.action["RegisterInvoice"]["invoice"]["seller_tax_id"],
            "9133************6X"
        );
        assert!(crate::vis::one(&sup1, d.tx(t2).unwrap().clone()).is_none());
        assert_eq!(
            views::transactions(d, &Viewer::Everything { org: None }, &q)
                .rows
                .len(),
            2
        );
    }

    #[tokio::test]
    async fn follower_indexes_blocks_transactions_and_documents() {
        let (node, t1, t2) = two_block_node();
        let (t1, t2) = (t1.to_hex(), t2.to_hex());
        let index = Arc::new(Index::new(100));
        let (updates, mut rx) = broadcast::channel(16);
        let f = Follower::new(node, index.clone(), store().await, updates);
        f.rebuild().await.unwrap();

        index.read(|d| {
            assert_eq!(d.height, 2);
            assert_eq!(d.node.as_ref().unwrap().chain_id, "c");
            assert_eq!(d.blocks[&1].signers, Some(vec![0, 1, 3]));
            assert_eq!(d.blocks[&2].parent, d.blocks[&1].hash);
            assert!(d.invoices.contains_key("INV-1") && d.receivables.contains_key("RCV-1"));
            assert!(d.orders.contains_key("PO-9"));
            assert_eq!(
                d.invoice_numbers["FP-INV-1"].iter().collect::<Vec<_>>(),
                ["INV-1"]
            );
            let r1 = d.tx(&t1).unwrap();
            assert_eq!((r1.height, r1.time_ms, r1.ok), (1, 1_000, true));
            assert_eq!(r1.action_name, "register_invoice");
            assert_eq!(r1.parties, ["CORE-A", "SUP-1"]);
            assert_eq!(d.tx(&t2).unwrap().parties, ["CORE-B", "SUP-2"]);
            assert_eq!(
                d.doc_txs[&(DocKind::Receivable, "RCV-1".to_string())],
                std::slice::from_ref(&t1)
            );
            // SUP-1 sees its own transaction only, with identifiers masked.
            assert_sup1_sees_only_its_masked_tx(d, &t1, &t2);
        });
        let u1 = rx.recv().await.unwrap();
        let u2 = rx.recv().await.unwrap();
        assert_eq!((u1.height, u2.height), (1, 2));
        assert_eq!(
            crate::vis::filter(
                &Viewer::Org(lianrong_primitives::OrgId::new("SUP-1").unwrap()),
                u2.txs.clone()
            )
            .len(),
            0
        );
    }

    /// A malformed answer stops the follower at that block with an error naming the URL
    /// and the field: nothing of the block is indexed, and the next attempt, once the
    /// node answers properly, indexes it.
    #[tokio::test]
    async fn a_malformed_answer_is_reported_not_indexed_as_zeros() {
        let (node, _, t2) = two_block_node();
        let bad = crate::node::decode::<BlockView>(
            "/v1/blocks/2",
            serde_json::json!({"height": 2, "hash": "00".repeat(32)}),
        )
        .unwrap_err();
        assert!(
            bad.to_string().contains("/v1/blocks/2") && bad.to_string().contains("`parent`"),
            "{bad}"
        );
        node.set("/v1/blocks/2", bad.clone());
        let index = Arc::new(Index::new(100));
        let (updates, _rx) = broadcast::channel(16);
        let f = Follower::new(node.clone(), index.clone(), store().await, updates);
        assert_eq!(f.rebuild().await.unwrap_err().to_string(), bad.to_string());
        index.read(|d| {
            assert_eq!(d.height, 1);
            assert!(!d.blocks.contains_key(&2) && !d.orders.contains_key("PO-9"));
        });

        // A block that answers for another height is refused as well.
        node.set("/v1/blocks/2", fake::block(3, &[t2]));
        let e = f.catch_up().await.unwrap_err();
        assert!(
            matches!(&e, FollowError::Node(NodeError::Decode { url, reason })
                if url == "/v1/blocks/2" && reason.contains("answered block 3")),
            "{e}"
        );

        node.set("/v1/blocks/2", fake::block(2, &[t2]));
        f.catch_up().await.unwrap();
        index.read(|d| assert!(d.height == 2 && d.orders.contains_key("PO-9")));
    }

    /// The finding: the ledger's own changes (a receivable swept overdue) reached the
    /// index only through the block's notice on the event stream, so a notice the stream
    /// skipped (`lagged`) or sent while it was down lost them for good, silently. They
    /// are read from the block now: no notice at all, and the overdue status is indexed.
    #[tokio::test]
    async fn ledger_made_changes_are_read_from_the_block_not_its_notice() {
        let (node, _, _) = two_block_node();
        let f = follower(node.clone(), Arc::new(Index::new(100))).await;
        f.rebuild().await.unwrap();
        let mut rcv = rcv1();
        rcv.status = ReceivableStatus::Overdue;
        let mut b3 = fake::block(3, &[]);
        b3.ledger_events = vec![Event::ReceivableOverdue {
            receivable: rcv.id.clone(),
            maturity: rcv.maturity,
        }];
        node.set("/v1/blocks/3", b3);
        node.set_doc(Doc::Receivable(rcv));
        node.set("/v1/status", fake::status(3, vec![]));
        assert!(node.notices.lock().unwrap().is_empty());
        f.catch_up().await.unwrap();
        f.index.read(|d| {
            assert_eq!(d.height, 3);
            assert_eq!(d.receivables["RCV-1"].status, ReceivableStatus::Overdue);
        });
        let stored = f.store.doc(DocKind::Receivable, "RCV-1").await.unwrap();
        assert!(
            matches!(&stored, Some(Doc::Receivable(r)) if r.status == ReceivableStatus::Overdue),
            "{stored:?}"
        );
    }

    /// The follower's loop puts the error on the dashboard's data (`last_error`), and a
    /// malformed event notice on `event_error`.
    #[tokio::test]
    async fn the_follower_reports_malformed_answers_and_notices() {
        let (node, _, _) = two_block_node();
        let bad = NodeError::decode("/v1/transactions/x", "missing field `height`");
        node.set(&paths::transaction(&fake::hash(0x22)), bad.clone());
        node.notices.lock().unwrap().push(Err(NodeError::decode(
            "/v1/events",
            "missing field `tx_count`",
        )));
        let index = Arc::new(Index::new(100));
        let (updates, _rx) = broadcast::channel(16);
        let f = Arc::new(Follower::new(node, index.clone(), store().await, updates));
        let run = tokio::spawn(f.run());
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let (last, event) = index.read(|d| (d.last_error.clone(), d.event_error.clone()));
            if let (Some(last), Some(event)) = (last, event) {
                assert_eq!(last, bad.to_string());
                assert!(event.contains("tx_count"), "{event}");
                break;
            }
            assert!(std::time::Instant::now() < deadline, "no error reported");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        index.read(|d| assert_eq!(d.height, 1, "block 2 is not indexed"));
        run.abort();
    }

    fn org_record(id: &str) -> Org {
        Org {
            id: testdata::org(id),
            name: id.into(),
            tax_id: "91330000MA2SUP106X".into(),
            roles: vec![lianrong_contracts::model::Role::Supplier],
            identifiers: vec![],
            keys: vec![],
            revoked_keys: vec![],
            admitted_at: 0,
        }
    }

    fn rcv(i: usize) -> Receivable {
        let id = format!("RCV-{i:05}");
        testdata::receivable(&id, "SUP-1", "CORE-A", "2026-11-01", "2027-01-31", "1.00")
    }

    /// A node at height 0 listing `orgs` orgs and `rcvs` receivables.
    fn listing_node(orgs: usize, rcvs: usize) -> Arc<FakeNode> {
        let node = Arc::new(FakeNode::default());
        node.set("/v1/status", fake::status(0, vec![]));
        node.set_orgs(
            (0..orgs)
                .map(|i| org_record(&format!("ORG-{i:04}")))
                .collect(),
        );
        node.set_receivables((0..rcvs).map(rcv).collect());
        node
    }

    /// A fresh in-memory store.
    pub(crate) async fn store() -> Store {
        Store::memory().await.unwrap()
    }

    async fn follower(node: Arc<FakeNode>, index: Arc<Index>) -> Follower {
        Follower::new(node, index, store().await, broadcast::channel(16).0)
    }

    /// The finding: the rebuild read one page of 500 orgs and one of 500 receivables, so
    /// risk views and CSVs missed the rest after a restart. It reads every page.
    #[tokio::test]
    async fn a_rebuild_reads_every_page_of_both_lists() {
        let node = listing_node(612, 1_203);
        let index = Arc::new(Index::new(10_000));
        follower(node.clone(), index.clone())
            .await
            .rebuild()
            .await
            .unwrap();
        index.read(|d| {
            assert_eq!((d.orgs.len(), d.receivables.len()), (612, 1_203));
            assert!((0..1_203).all(|i| d.receivables[&format!("RCV-{i:05}")] == rcv(i)));
            assert_eq!(d.incomplete(), None);
            let everything = Viewer::Everything { org: None };
            let q = ListQuery::default();
            assert_eq!(views::receivables(d, &everything, &q).rows.len(), 1_203);
            let csv = views::exposure(d, &everything, &q).to_csv().unwrap();
            assert!(csv.contains("1203.00"), "{csv}");
        });
        assert_eq!(
            node.pages_asked.lock().unwrap().as_slice(),
            [
                "/v1/orgs?limit=500",
                "/v1/orgs?after=ORG-0499&limit=500",
                "/v1/receivables?limit=500",
                "/v1/receivables?after=RCV-00499&limit=500",
                "/v1/receivables?after=RCV-00999&limit=500",
            ]
        );
    }

    /// The page size is a parameter: small pages give the same index.
    #[tokio::test]
    async fn small_pages_give_the_same_index() {
        let node = listing_node(20, 50);
        let index = Arc::new(Index::new(10_000));
        let f = follower(node.clone(), index.clone())
            .await
            .with_page_size(7);
        f.rebuild().await.unwrap();
        index.read(|d| assert_eq!((d.orgs.len(), d.receivables.len()), (20, 50)));
        assert_eq!(node.pages_asked.lock().unwrap().len(), 3 + 8);
    }

    /// The finding: the rebuild started `max_index_docs` blocks below the node's height,
    /// so documents of older blocks were missing. It reads every block from height 1.
    #[tokio::test]
    async fn the_rebuild_reads_every_block_from_height_one() {
        let (node, _, _) = two_block_node();
        let index = Arc::new(Index::new(1));
        follower(node, index.clone()).await.rebuild().await.unwrap();
        index.read(|d| {
            assert!(d.blocks.contains_key(&1) && d.invoices.contains_key("INV-1"));
            assert!(d.orders.contains_key("PO-9"));
            assert_eq!(d.incomplete(), None);
        });
    }

    /// An index that has not finished its rebuild, or could not read a list page, says
    /// so; once the node answers, the next attempt completes it.
    #[tokio::test]
    async fn an_unfinished_rebuild_says_so() {
        let node = listing_node(3, 1_203);
        let index = Arc::new(Index::new(10_000));
        let why = index.read(IndexData::incomplete).unwrap();
        assert!(why.contains("rebuilding"), "{why}");
        let page = paths::receivables(Some(&DocId::new("RCV-00999").unwrap()), MAX_PAGE);
        node.set(&page, NodeError::Transport("connection reset".into()));
        let f = follower(node.clone(), index.clone()).await;
        assert!(f.rebuild().await.is_err());
        let why = index.read(IndexData::incomplete).unwrap();
        assert!(
            why.contains("1003 orgs and receivables listed so far"),
            "{why}"
        );
        node.answers.lock().unwrap().remove(&page);
        f.rebuild().await.unwrap();
        index.read(|d| assert_eq!((d.receivables.len(), d.incomplete()), (1_203, None)));
    }

    /// Data the index cannot hold (a full table) or read (a transaction the node does
    /// not hold) is a gap from its block on, in every page's and CSV's note.
    #[tokio::test]
    async fn a_full_table_or_a_missing_transaction_is_a_gap() {
        let (node, _, t2) = two_block_node();
        node.answers
            .lock()
            .unwrap()
            .remove(&paths::transaction(&t2));
        let index = Arc::new(Index::new(100));
        follower(node.clone(), index.clone())
            .await
            .rebuild()
            .await
            .unwrap();
        let why = index.read(IndexData::incomplete).unwrap();
        assert!(
            why.starts_with("incomplete since block 2: block 2 lists transaction"),
            "{why}"
        );

        let node = listing_node(0, 3);
        let index = Arc::new(Index::new(2));
        follower(node, index.clone()).await.rebuild().await.unwrap();
        index.read(|d| {
            let why = d.incomplete().unwrap();
            assert!(why.contains("since block 1: the index is full"), "{why}");
            let mut t =
                views::receivables(d, &Viewer::Everything { org: None }, &Default::default());
            t.incomplete = d.incomplete();
            let csv = t.to_csv().unwrap();
            // One cell (quoted: the reason has a comma), then the header.
            let start = "\"INCOMPLETE: incomplete since block 1: the index is full";
            assert!(csv.starts_with(start), "{csv}");
            assert_eq!(csv.lines().nth(1), Some(t.columns.join(",").as_str()));
        });
    }

    /// A SQLite file in a fresh temporary folder (kept while the guard lives).
    fn sqlite_file() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("explorer.db").display());
        (dir, url)
    }

    /// The index as a restart reads it from the database at `url`.
    async fn reopen(url: &str, cap: usize) -> (Store, Arc<Index>) {
        let store = Store::open(url).await.unwrap();
        let index = Arc::new(Index::with_data(store.load_index(cap).await.unwrap()));
        (store, index)
    }

    /// The finding: every start read the whole chain again from block 1 into memory.
    /// The store keeps what was indexed; a restart serves it at once and the follower
    /// continues above the stored height (block 1 is no longer even served).
    #[tokio::test]
    async fn a_restart_continues_from_the_stored_height() {
        let (_dir, url) = sqlite_file();
        restart_continues(&url).await;
    }

    #[tokio::test]
    async fn a_restart_continues_from_the_stored_height_on_postgres() {
        let Some(pg) = crate::store::testpg::TestPostgres::start() else {
            return;
        };
        restart_continues(&pg.database("restart").await).await;
    }

    async fn restart_continues(url: &str) {
        let (node, t1, _) = two_block_node();
        let (store, index) = reopen(url, 100).await;
        let (updates, _rx) = broadcast::channel(16);
        let f = Follower::new(node.clone(), index, store.clone(), updates.clone());
        f.rebuild().await.unwrap();
        assert_eq!(store.meta().await.unwrap().height, 2);
        assert_eq!(store.meta().await.unwrap().chain_id.as_deref(), Some("c"));
        drop(f);
        drop(store);

        let (store, index) = reopen(url, 100).await;
        index.read(|d| {
            assert_eq!(d.height, 2);
            assert!(d.blocks.contains_key(&1) && d.orders.contains_key("PO-9"));
            assert_eq!(d.tx(&t1.to_hex()).unwrap().parties, ["CORE-A", "SUP-1"]);
            assert_eq!(
                d.doc_txs[&(DocKind::Receivable, "RCV-1".to_string())],
                [t1.to_hex()]
            );
        });
        // Block 2 is read once more (is the stored block the node's?), block 1 never.
        node.answers.lock().unwrap().remove("/v1/blocks/1");
        node.set("/v1/blocks/3", fake::block(3, &[]));
        node.set("/v1/status", fake::status(3, vec![]));
        let f = Follower::new(node, index.clone(), store.clone(), updates);
        f.rebuild().await.unwrap();
        assert_eq!(store.meta().await.unwrap().height, 3);
        assert_eq!(store.count(crate::store::Table::Blocks).await.unwrap(), 3);
        index.read(|d| assert_eq!((d.height, d.incomplete()), (3, None)));
    }

    /// A database holds one chain: a node of another is refused for good, nothing of
    /// it written.
    #[tokio::test]
    async fn a_database_of_another_chain_is_refused() {
        let (_dir, url) = sqlite_file();
        let (node, _, _) = two_block_node();
        let (store, index) = reopen(&url, 100).await;
        store.claim_chain("another-chain").await.unwrap();
        let f = Arc::new(Follower::new(
            node,
            index.clone(),
            store.clone(),
            broadcast::channel(16).0,
        ));
        let e = f.rebuild().await.unwrap_err();
        assert!(e.is_permanent(), "{e}");
        assert!(e.to_string().contains("\"another-chain\""), "{e}");
        // `run` stops and says why on the dashboard.
        f.run().await;
        let why = index.read(IndexData::incomplete).unwrap();
        assert!(why.contains("indexes chain"), "{why}");
        assert_eq!(store.meta().await.unwrap().height, 0);
        assert_eq!(store.count(crate::store::Table::Docs).await.unwrap(), 0);
    }

    /// A network written anew under the same chain id is another chain: its block at
    /// the stored height differs, and the database is refused for good.
    #[tokio::test]
    async fn a_chain_written_anew_under_the_same_id_is_refused() {
        let (_dir, url) = sqlite_file();
        let (node, _, t2) = two_block_node();
        let (store, index) = reopen(&url, 100).await;
        follower_on(node.clone(), index, store)
            .rebuild()
            .await
            .unwrap();
        let mut other = fake::block(2, &[t2]);
        other.hash = fake::hash(0x99);
        node.set("/v1/blocks/2", other);
        let (store, index) = reopen(&url, 100).await;
        let e = follower_on(node, index, store).rebuild().await.unwrap_err();
        assert!(
            e.is_permanent() && e.to_string().contains("block 2 is"),
            "{e}"
        );
    }

    /// A transaction the node does not hold is a gap the database keeps: a restart does
    /// not read the chain again, so it must still say so.
    #[tokio::test]
    async fn a_gap_outlives_a_restart() {
        let (_dir, url) = sqlite_file();
        let (node, _, t2) = two_block_node();
        node.answers
            .lock()
            .unwrap()
            .remove(&paths::transaction(&t2));
        let (store, index) = reopen(&url, 100).await;
        follower_on(node, index, store).rebuild().await.unwrap();
        let (_, index) = reopen(&url, 100).await;
        let why = index.read(IndexData::incomplete).unwrap();
        assert!(
            why.contains("since block 2: block 2 lists transaction"),
            "{why}"
        );
    }

    fn follower_on(node: Arc<FakeNode>, index: Arc<Index>, store: Store) -> Follower {
        Follower::new(node, index, store, broadcast::channel(16).0)
    }

    /// Blocks are held by number, not by the documents' cap (each holds its
    /// transactions' hashes); who signed last is remembered past them, per epoch.
    #[test]
    fn only_recent_blocks_are_held_and_last_signers_outlive_them() {
        let mut d = IndexData {
            cap: 10_000,
            ..Default::default()
        };
        let txs: Vec<Hash> = (0..50u8).map(|i| Hash([i; 32])).collect();
        let row = |h: u64, signers: Vec<u64>, epoch: u64| {
            let mut b = BlockRow::from_view(&fake::block(h, &txs));
            b.signers = Some(signers);
            b.epoch = epoch;
            b
        };
        d.add_block(row(1, vec![0, 1, 2], 0));
        // (The fake names blocks by a byte.)
        for h in 2..=(RECENT_BLOCKS as u64 * 2) {
            d.add_block(row(h, vec![0, 1], 0));
        }
        assert_eq!(d.blocks.len(), RECENT_BLOCKS);
        let held: usize = d.blocks.values().map(|b| b.tx_hashes.len()).sum();
        assert_eq!(held, RECENT_BLOCKS * txs.len());
        let top = RECENT_BLOCKS as u64 * 2;
        assert_eq!(d.last_signed(0), Some(top));
        assert_eq!(d.last_signed(2), Some(1), "long evicted, still known");
        assert_eq!(d.last_signed(3), None);
        // A new epoch: index 2 is another validator now.
        d.add_block(row(top + 1, vec![0, 1, 3], 1));
        assert_eq!(d.last_signed(2), None);
        assert_eq!(d.last_signed(3), Some(top + 1));
        // A late block of the old epoch changes nothing.
        d.add_block(row(top + 2, vec![2], 0));
        assert_eq!(d.last_signed(2), None);
    }

    #[test]
    fn tables_are_bounded() {
        let mut d = IndexData {
            cap: 2,
            ..Default::default()
        };
        for i in 0..5u64 {
            d.add_block(BlockRow::from_view(&fake::block(i + 1, &[])));
        }
        assert_eq!(
            d.blocks.len(),
            5,
            "at least RECENT_BLOCKS kept for the charts"
        );
        for i in 0..4 {
            let r = testdata::receivable(
                &format!("RCV-{i}"),
                "SUP-1",
                "CORE-A",
                "2026-11-01",
                "2027-01-31",
                "1.00",
            );
            d.put_doc(Doc::Receivable(r));
        }
        assert_eq!(d.receivables.len(), 2);
        assert_eq!(d.dropped, 2);
    }
}
