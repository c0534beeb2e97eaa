//! The in-memory index: follows committed blocks (`/v1/blocks/{h}` -> tx hashes ->
//! `/v1/transactions/{hash}` receipts -> the documents they touched) so the explorer can
//! list what the node API does not (blocks, transactions, orders, invoices, financings,
//! invoice numbers). Rebuilt from the node at start; every table is bounded.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt;
use lianrong_contracts::model::{Financing, Invoice, Order, Org, Receivable, Shipment};
use lianrong_contracts::{DocKind, Event};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{broadcast, mpsc};

use crate::node::{NodeApi, NodeError};
use crate::vis::{mask_json, Document, Shown};

/// Most transactions remembered per document (for lineage and detail pages).
pub const MAX_TXS_PER_DOC: usize = 64;
/// Blocks kept for the dashboard charts and liveness.
pub const RECENT_BLOCKS: usize = 120;

/// A committed block as the explorer lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    pub proposer: u64,
    /// Epoch.
    pub epoch: u64,
    /// Round.
    pub round: u64,
    /// Transactions in block order (hex hashes).
    pub tx_hashes: Vec<String>,
    /// State root after the block (hex), as reported by the node.
    pub state_root: String,
    /// Validator indexes that signed its commit certificate.
    pub signers: Vec<u64>,
}

/// A committed transaction with its decoded action and receipt.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// The decoded action as JSON.
    pub action: Value,
    /// Executed (true) or refused (false).
    pub ok: bool,
    /// The refusal, if refused.
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
    const MASKED_FOR_PARTIES: bool = true;
}

/// What the node reports about itself.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeInfo {
    /// Chain id.
    pub chain_id: String,
    /// Node height.
    pub height: u64,
    /// When the node finalized its last block (its clock, ms).
    pub last_finalized_at_ms: u64,
    /// The validator set in state (`org`, `node_key`, `address`), in index order.
    pub validators: Vec<Value>,
    /// Whether the node is catching up.
    pub syncing: bool,
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
    /// The node's status.
    pub node: NodeInfo,
    /// Blocks by height.
    pub blocks: BTreeMap<u64, BlockRow>,
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
    /// Invoice ids by invoice number.
    pub invoice_numbers: HashMap<String, BTreeSet<String>>,
    /// Transactions that touched each document, oldest first.
    pub doc_txs: HashMap<(DocKind, String), VecDeque<String>>,
    /// Documents not indexed because a table was full.
    pub dropped: u64,
    /// The last error following the node, if any.
    pub last_error: Option<String>,
    /// Most entries per table.
    pub cap: usize,
}

impl IndexData {
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

    fn add_block(&mut self, b: BlockRow) {
        self.height = self.height.max(b.height);
        self.blocks.insert(b.height, b);
        while self.blocks.len() > self.cap.max(RECENT_BLOCKS) {
            self.blocks.pop_first();
        }
    }

    fn add_tx(&mut self, t: TxRecord) {
        for d in &t.docs {
            if self.doc_txs.len() >= self.cap.saturating_mul(4) && !self.doc_txs.contains_key(d) {
                continue;
            }
            let list = self.doc_txs.entry(d.clone()).or_default();
            if !list.contains(&t.hash) {
                list.push_back(t.hash.clone());
                if list.len() > MAX_TXS_PER_DOC {
                    list.pop_front();
                }
            }
        }
        let key = (t.height, t.index);
        self.tx_by_hash.insert(t.hash.clone(), key);
        self.txs.insert(key, t);
        while self.txs.len() > self.cap {
            if let Some((_, old)) = self.txs.pop_first() {
                self.tx_by_hash.remove(&old.hash);
            }
        }
    }

    fn put_doc(&mut self, kind: DocKind, id: &str, v: Value) -> Result<(), NodeError> {
        fn de<T: DeserializeOwned>(v: Value) -> Result<T, NodeError> {
            serde_json::from_value(v).map_err(|e| NodeError::Decode(e.to_string()))
        }
        let cap = self.cap;
        let id = id.to_string();
        match kind {
            DocKind::Org => Self::put(&mut self.orgs, cap, &mut self.dropped, id, de(v)?),
            DocKind::Order => Self::put(&mut self.orders, cap, &mut self.dropped, id, de(v)?),
            DocKind::Shipment => Self::put(&mut self.shipments, cap, &mut self.dropped, id, de(v)?),
            DocKind::Invoice => {
                let inv: Invoice = de(v)?;
                if self.invoice_numbers.len() < cap
                    || self.invoice_numbers.contains_key(&inv.number)
                {
                    self.invoice_numbers
                        .entry(inv.number.clone())
                        .or_default()
                        .insert(id.clone());
                }
                Self::put(&mut self.invoices, cap, &mut self.dropped, id, inv)
            }
            DocKind::Receivable => {
                Self::put(&mut self.receivables, cap, &mut self.dropped, id, de(v)?)
            }
            DocKind::Financing => {
                Self::put(&mut self.financings, cap, &mut self.dropped, id, de(v)?)
            }
            _ => {}
        }
        Ok(())
    }
}

/// The shared index.
pub struct Index {
    data: RwLock<IndexData>,
}

impl Index {
    /// An empty index keeping at most `cap` entries per table.
    pub fn new(cap: usize) -> Self {
        Index {
            data: RwLock::new(IndexData {
                cap: cap.max(1),
                ..Default::default()
            }),
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

/// The API path of a document kind the index keeps, if any.
pub fn doc_path(kind: DocKind) -> Option<&'static str> {
    Some(match kind {
        DocKind::Org => "/v1/orgs/",
        DocKind::Order => "/v1/orders/",
        DocKind::Shipment => "/v1/shipments/",
        DocKind::Invoice => "/v1/invoices/",
        DocKind::Receivable => "/v1/receivables/",
        DocKind::Financing => "/v1/financings/",
        _ => return None,
    })
}

fn hex_str(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// Follows the node: indexes every committed block and publishes [`LiveUpdate`]s.
pub struct Follower {
    node: Arc<dyn NodeApi>,
    index: Arc<Index>,
    updates: broadcast::Sender<Arc<LiveUpdate>>,
}

impl Follower {
    /// A follower filling `index` and announcing on `updates`.
    pub fn new(
        node: Arc<dyn NodeApi>,
        index: Arc<Index>,
        updates: broadcast::Sender<Arc<LiveUpdate>>,
    ) -> Self {
        Follower {
            node,
            index,
            updates,
        }
    }

    /// Reads `/v1/status` into the index; returns the node's height.
    pub async fn refresh_status(&self) -> Result<u64, NodeError> {
        let s = self.node.get_json("/v1/status").await?;
        let info = NodeInfo {
            chain_id: hex_str(&s["chain_id"]),
            height: s["height"].as_u64().unwrap_or(0),
            last_finalized_at_ms: s["last_finalized_at_ms"].as_u64().unwrap_or(0),
            validators: s["validators"].as_array().cloned().unwrap_or_default(),
            syncing: s["sync"]["syncing"].as_bool().unwrap_or(false),
        };
        let h = info.height;
        self.index.write(|d| d.node = info);
        Ok(h)
    }

    /// Loads orgs and the receivables list (so an index starting above old blocks still
    /// knows them), then indexes blocks up to the node's height.
    pub async fn rebuild(&self) -> Result<(), NodeError> {
        let top = self.refresh_status().await?;
        if let Ok(Value::Array(orgs)) = self.node.get_json("/v1/orgs").await {
            for o in orgs {
                let id = hex_str(&o["id"]);
                self.index.write(|d| d.put_doc(DocKind::Org, &id, o))?;
            }
        }
        if let Ok(Value::Array(rs)) = self.node.get_json("/v1/receivables?limit=500").await {
            for r in rs {
                let id = hex_str(&r["id"]);
                self.index
                    .write(|d| d.put_doc(DocKind::Receivable, &id, r))?;
            }
        }
        let cap = self.index.read(|d| d.cap) as u64;
        let start = top.saturating_sub(cap).max(self.index.read(|d| d.height)) + 1;
        for h in start..=top {
            self.index_block(h, &[]).await?;
        }
        Ok(())
    }

    /// Indexes block `h`; `extra` are documents changed by the ledger itself (overdue).
    pub async fn index_block(&self, h: u64, extra: &[(DocKind, String)]) -> Result<(), NodeError> {
        let b = self.node.get_json(&format!("/v1/blocks/{h}")).await?;
        let tx_hashes: Vec<String> = b["tx_hashes"]
            .as_array()
            .map(|a| a.iter().map(hex_str).collect())
            .unwrap_or_default();
        let signers = b["commit_certificate"]["qc"]["signers"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default();
        let row = BlockRow {
            height: h,
            hash: hex_str(&b["hash"]),
            parent: hex_str(&b["parent"]),
            time_ms: b["timestamp_ms"].as_u64().unwrap_or(0),
            proposer: b["proposer"].as_u64().unwrap_or(0),
            epoch: b["epoch"].as_u64().unwrap_or(0),
            round: b["round"].as_u64().unwrap_or(0),
            tx_hashes: tx_hashes.clone(),
            state_root: hex_str(&b["state_root"]),
            signers,
        };
        let mut txs = Vec::with_capacity(tx_hashes.len());
        let mut touched: BTreeSet<(DocKind, String)> = extra.iter().cloned().collect();
        for hash in &tx_hashes {
            let t = match self
                .node
                .get_json(&format!("/v1/transactions/{hash}"))
                .await
            {
                Ok(t) => t,
                // A block listing a transaction its node does not hold (an older node
                // listed a faulty proposer's dropped ones): index the rest rather than
                // retry this height for ever.
                Err(NodeError::NotFound(_)) => {
                    tracing::warn!(height = h, tx = %hash, "block lists a transaction the node does not hold");
                    continue;
                }
                Err(e) => return Err(e),
            };
            let rec = tx_record(&t, row.time_ms)?;
            touched.extend(rec.docs.iter().cloned());
            txs.push(rec);
        }
        // Fetch each touched document once, as of now.
        let mut docs = Vec::new();
        for (kind, id) in &touched {
            let Some(path) = doc_path(*kind) else {
                continue;
            };
            match self.node.get_json(&format!("{path}{id}")).await {
                Ok(v) => docs.push((*kind, id.clone(), v)),
                Err(NodeError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let update = self.index.write(|d| -> Result<LiveUpdate, NodeError> {
            for (kind, id, v) in docs {
                d.put_doc(kind, &id, v)?;
            }
            for t in &mut txs {
                let mut parties: BTreeSet<String> = BTreeSet::new();
                parties.insert(t.signer_org.clone());
                for (k, id) in &t.docs {
                    parties.extend(d.doc_parties(*k, id));
                }
                t.parties = parties.into_iter().collect();
            }
            for t in &txs {
                d.add_tx(t.clone());
            }
            let update = LiveUpdate {
                height: h,
                hash: row.hash.clone(),
                time_ms: row.time_ms,
                tx_count: txs.len(),
                txs: txs.clone(),
            };
            d.add_block(row);
            Ok(update)
        })?;
        let _ = self.updates.send(Arc::new(update));
        Ok(())
    }

    /// Follows the node until the process ends: rebuilds, then indexes each new block as
    /// the event stream announces it (polling every 2 s as a fallback).
    pub async fn run(self: Arc<Self>) {
        let (tx, mut rx) = mpsc::channel::<Vec<(DocKind, String)>>(64);
        let events = {
            let me = self.clone();
            tokio::spawn(async move { me.listen(tx).await })
        };
        let mut backoff = Duration::from_millis(500);
        loop {
            match self.rebuild().await {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "explorer index rebuild failed; retrying");
                    self.index.write(|d| d.last_error = Some(e.to_string()));
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
        loop {
            let extra = tokio::select! {
                got = rx.recv() => got.unwrap_or_default(),
                _ = tokio::time::sleep(Duration::from_secs(2)) => vec![],
            };
            if let Err(e) = self.catch_up(&extra).await {
                tracing::warn!(error = %e, "explorer index update failed");
                self.index.write(|d| d.last_error = Some(e.to_string()));
                tokio::time::sleep(Duration::from_secs(1)).await;
            } else {
                self.index.write(|d| d.last_error = None);
            }
            if events.is_finished() {
                break;
            }
        }
    }

    async fn catch_up(&self, extra: &[(DocKind, String)]) -> Result<(), NodeError> {
        let top = self.refresh_status().await?;
        let from = self.index.read(|d| d.height) + 1;
        for h in from..=top {
            let x = if h == top { extra } else { &[] };
            self.index_block(h, x).await?;
        }
        if from > top && !extra.is_empty() {
            // Ledger-made changes (overdue) of an already indexed block.
            for (kind, id) in extra {
                if let Some(path) = doc_path(*kind) {
                    if let Ok(v) = self.node.get_json(&format!("{path}{id}")).await {
                        self.index.write(|d| d.put_doc(*kind, id, v))?;
                    }
                }
            }
        }
        Ok(())
    }

    async fn listen(&self, tx: mpsc::Sender<Vec<(DocKind, String)>>) {
        let mut backoff = Duration::from_millis(500);
        loop {
            match self.node.events().await {
                Ok(mut s) => {
                    backoff = Duration::from_millis(500);
                    while let Some(ev) = s.next().await {
                        let Ok(ev) = ev else { break };
                        let docs: Vec<(DocKind, String)> = ev["ledger_events"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|e| serde_json::from_value::<Event>(e.clone()).ok())
                            .flat_map(|e| e.documents())
                            .collect();
                        if tx.send(docs).await.is_err() {
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

/// Decodes `GET /v1/transactions/{hash}`.
pub fn tx_record(t: &Value, time_ms: u64) -> Result<TxRecord, NodeError> {
    let outcome = &t["receipt"]["outcome"];
    let (ok, events, error) = match (outcome.get("Ok"), outcome.get("Err")) {
        (Some(Value::Array(evs)), _) => (true, evs.clone(), None),
        (_, Some(e)) => (false, vec![], Some(e.clone())),
        _ => (false, vec![], Some(Value::String("no receipt".into()))),
    };
    let mut docs: Vec<(DocKind, String)> = Vec::new();
    for e in &events {
        if let Ok(ev) = serde_json::from_value::<Event>(e.clone()) {
            for d in ev.documents() {
                if !docs.contains(&d) {
                    docs.push(d);
                }
            }
        }
    }
    let hash = hex_str(&t["hash"]);
    if hash.is_empty() {
        return Err(NodeError::Decode("transaction without hash".into()));
    }
    Ok(TxRecord {
        hash,
        height: t["height"].as_u64().unwrap_or(0),
        index: t["index"].as_u64().unwrap_or(0),
        time_ms,
        signer_org: hex_str(&t["signer"]["org"]),
        signer_key: hex_str(&t["signer"]["key"]),
        nonce: t["nonce"].as_u64().unwrap_or(0),
        action_name: hex_str(&t["action_name"]),
        action: t["action"].clone(),
        ok,
        error,
        events,
        docs,
        parties: vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::fake::FakeNode;
    use crate::views::{self, testdata, ListQuery};
    use crate::vis::Viewer;
    use lianrong_contracts::model::{DocId, OrderStatus};
    use lianrong_contracts::money::{Amount, Money};
    use lianrong_primitives::Hash;
    use serde_json::json;

    fn block(h: u64, txs: &[&str]) -> Value {
        json!({"height": h, "hash": format!("{h:064x}"), "parent": format!("{:064x}", h - 1),
               "timestamp_ms": 1_000 * h, "proposer": 0, "epoch": 0, "round": h,
               "tx_hashes": txs, "state_root": "00".repeat(32),
               "commit_certificate": {"qc": {"signers": [0, 1, 3]}}})
    }

    fn tx(hash: &str, h: u64, signer: &str, action: &str, events: Vec<Event>) -> Value {
        json!({"hash": hash, "height": h, "index": 0, "signer": {"org": signer, "key": "ab"},
               "nonce": 0, "action": {"x": {"seller_tax_id": "91330000MA2SUP106X"}}, "action_name": action,
               "receipt": {"tx_hash": hash, "signer": signer, "outcome": {"Ok": events}}})
    }

    /// Block 1: CORE-A registers and confirms INV-1, which becomes RCV-1.
    fn serve_invoice_block(node: &FakeNode, t1: &str) {
        node.set("/v1/blocks/1", block(1, &[t1]));
        let inv = testdata::invoice("INV-1", "SUP-1", "CORE-A", "2027-01-31", "100.00");
        let cny = Money::parse("100.00", "CNY").unwrap();
        node.set(
            &format!("/v1/transactions/{t1}"),
            tx(
                t1,
                1,
                "CORE-A",
                "register_invoice",
                vec![
                    Event::InvoiceRegistered {
                        invoice: inv.id.clone(),
                        order: inv.order.clone(),
                        number: inv.number.clone(),
                        amount: cny,
                        fingerprint: Hash::ZERO,
                    },
                    Event::InvoiceConfirmed {
                        invoice: inv.id.clone(),
                        receivable: DocId::new("RCV-1").unwrap(),
                    },
                ],
            ),
        );
        node.set("/v1/invoices/INV-1", serde_json::to_value(&inv).unwrap());
        let rcv = testdata::receivable(
            "RCV-1",
            "SUP-1",
            "CORE-A",
            "2026-11-01",
            "2027-01-31",
            "100.00",
        );
        node.set("/v1/receivables/RCV-1", serde_json::to_value(&rcv).unwrap());
    }

    /// Block 2: CORE-B issues order PO-9 to SUP-2.
    fn serve_order_block(node: &FakeNode, t2: &str) {
        node.set("/v1/blocks/2", block(2, &[t2]));
        let cny = Money::parse("100.00", "CNY").unwrap();
        let po9 = lianrong_contracts::model::Order {
            id: DocId::new("PO-9").unwrap(),
            buyer: testdata::org("CORE-B"),
            seller: testdata::org("SUP-2"),
            amount: cny,
            terms: String::new(),
            doc_hash: Hash::ZERO,
            status: OrderStatus::Issued,
            invoiced: Amount::ZERO,
            confirmed: Amount::ZERO,
            shipments: vec![],
            delivered: false,
        };
        node.set(
            &format!("/v1/transactions/{t2}"),
            tx(
                t2,
                2,
                "CORE-B",
                "issue_order",
                vec![Event::OrderIssued {
                    order: po9.id.clone(),
                    buyer: po9.buyer.clone(),
                    seller: po9.seller.clone(),
                    amount: cny,
                }],
            ),
        );
        node.set("/v1/orders/PO-9", serde_json::to_value(&po9).unwrap());
    }

    #[tokio::test]
    async fn follower_indexes_blocks_transactions_and_documents() {
        let node = Arc::new(FakeNode::default());
        node.set(
            "/v1/status",
            json!({"chain_id": "c", "height": 2, "last_finalized_at_ms": 5,
            "validators": [{"org": "BANK-A", "node_key": "aa"}], "sync": {"syncing": false}}),
        );
        node.set("/v1/orgs", json!([]));
        node.set("/v1/receivables?limit=500", json!([]));
        let (t1, t2) = ("1".repeat(64), "2".repeat(64));
        serve_invoice_block(&node, &t1);
        serve_order_block(&node, &t2);

        let index = Arc::new(Index::new(100));
        let (updates, mut rx) = broadcast::channel(16);
        let f = Follower::new(node, index.clone(), updates);
        f.rebuild().await.unwrap();

        index.read(|d| {
            assert_eq!(d.height, 2);
            assert_eq!(d.node.chain_id, "c");
            assert_eq!(d.blocks[&1].signers, [0, 1, 3]);
            assert!(d.invoices.contains_key("INV-1") && d.receivables.contains_key("RCV-1"));
            assert!(d.orders.contains_key("PO-9"));
            assert_eq!(
                d.invoice_numbers["FP-INV-1"].iter().collect::<Vec<_>>(),
                ["INV-1"]
            );
            assert_eq!(d.tx(&t1).unwrap().parties, ["CORE-A", "SUP-1"]);
            assert_eq!(d.tx(&t2).unwrap().parties, ["CORE-B", "SUP-2"]);
            assert_eq!(
                d.doc_txs[&(DocKind::Receivable, "RCV-1".to_string())],
                std::slice::from_ref(&t1)
            );
            // SUP-1 sees its own transaction only, with identifiers masked.
            let sup1 = Viewer::Org(lianrong_primitives::OrgId::new("SUP-1").unwrap());
            let q = ListQuery::default();
            let t = views::transactions(d, &sup1, &q);
            assert_eq!(t.rows.len(), 1);
            assert_eq!(t.rows[0][0].text, t1);
            let seen = crate::vis::one(&sup1, d.tx(&t1).unwrap().clone()).unwrap();
            assert_eq!(seen.action["x"]["seller_tax_id"], "9133************6X");
            assert!(crate::vis::one(&sup1, d.tx(&t2).unwrap().clone()).is_none());
            assert_eq!(
                views::transactions(d, &Viewer::Everything { org: None }, &q)
                    .rows
                    .len(),
                2
            );
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

    #[test]
    fn tables_are_bounded() {
        let mut d = IndexData {
            cap: 2,
            ..Default::default()
        };
        for i in 0..5u64 {
            d.add_block(BlockRow {
                height: i + 1,
                hash: String::new(),
                parent: String::new(),
                time_ms: 0,
                proposer: 0,
                epoch: 0,
                round: 0,
                tx_hashes: vec![],
                state_root: String::new(),
                signers: vec![],
            });
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
            d.put_doc(
                DocKind::Receivable,
                &format!("RCV-{i}"),
                serde_json::to_value(r).unwrap(),
            )
            .unwrap();
        }
        assert_eq!(d.receivables.len(), 2);
        assert_eq!(d.dropped, 2);
    }
}
