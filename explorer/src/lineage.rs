//! A receivable's lineage as a picture: order -> shipment -> invoice -> confirmation ->
//! splits and transfers -> financing -> repayment. Each node is one transaction (or one
//! change the ledger made by itself) and links to the transaction, its signer and its
//! block. Built from `GET /v1/receivables/{id}/history` plus the index's transactions of
//! the order, shipments, invoice and financings.
//!
//! The history entries are the node's word until checked: [`check_lineage`] fetches the
//! history proof (`GET /v1/proofs/receivable/{id}?of=history`) of each receivable of the
//! lineage nearest the one shown (at most [`MAX_HISTORY_PROOFS`] per page), checks it
//! with the SDK's `verify_history` from the explorer's trust root, and compares the
//! node's history entries with the proven ones, entry by entry: each is proven
//! ("certified at height H"), not yet certified (a block above the certified state), or
//! NOT PROVEN with the reason. The check runs here, on the node's raw entries; the page
//! shows the entries exactly as before (through [`crate::vis`]), plus each verdict.

use std::collections::{BTreeMap, BTreeSet};

use lianrong_api_types::{ProofResponse, ReceivableHistory, Status};
use lianrong_contracts::model::Receivable;
use lianrong_contracts::{DocKind, Event, HistoryEntry};
use lianrong_primitives::Hash;
use lianrong_sdk::{verify_history, SdkError, TrustRoot};
use maud::{html, Markup};
use rand::RngCore;
use serde_json::Value;

use crate::index::{IndexData, TxRecord};
use crate::node::{NodeApi, NodeError};
use crate::vis::{mask_json_for, Viewer};

/// Most nodes drawn.
pub const MAX_NODES: usize = 200;
const PER_ROW: usize = 4;
const W: i64 = 270;
const H: i64 = 118;
const GAP_X: i64 = 40;
const GAP_Y: i64 = 40;

/// One step of the lineage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Block height.
    pub height: u64,
    /// Position in the block (ledger-made steps sort last).
    pub index: u64,
    /// The transaction, if any.
    pub tx: Option<String>,
    /// The signer's org, if any.
    pub signer: Option<String>,
    /// What happened (action name, or the ledger's event).
    pub title: String,
    /// Stage, for colour: trade, invoice, receivable, finance, repay, ledger.
    pub stage: &'static str,
    /// Short lines describing the events.
    pub lines: Vec<String>,
    /// Documents it touched, with links.
    pub docs: Vec<(String, String)>,
    /// For a step of a receivable's history: the least proven of its entries (`None`
    /// for the trade's transactions, which no receivable history lists).
    pub proof: Option<EntryProof>,
}

impl Step {
    /// Takes in the verdict on one more of its history entries (the worst one stands).
    fn merge_proof(&mut self, p: EntryProof) {
        if self.proof.as_ref().is_none_or(|old| p.rank() > old.rank()) {
            self.proof = Some(p);
        }
    }
}

// ---------- which history entries are proven ----------

/// Most receivables of one lineage whose history proofs a page fetches and checks: those
/// nearest the receivable shown (itself first). The others say "not checked".
pub const MAX_HISTORY_PROOFS: usize = 8;
/// Most history entries the page's proof table lists.
pub const MAX_PROOF_ROWS: usize = 200;

/// What the explorer proved about one history entry the node served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryProof {
    /// The entry is, at its place, in the history chain whose head is proven in the state
    /// of `height`, certified by a block whose certificate verified.
    Proven {
        /// The certified state's height.
        height: u64,
    },
    /// Of a block above the certified state: no proof covers it yet.
    NotYetCertified {
        /// The certified state's height.
        certified: u64,
    },
    /// The proof did not verify, or the node's history differs from the proven one here.
    NotProven(String),
    /// There is nothing to prove it from (no pinned genesis once the validators changed).
    Unprovable(String),
    /// Beyond the proofs a page checks.
    NotChecked,
}

impl EntryProof {
    /// What the page says.
    pub fn label(&self) -> String {
        match self {
            EntryProof::Proven { height } => format!("proven, certified at height {height}"),
            EntryProof::NotYetCertified { certified } => {
                format!("not yet certified (certified up to height {certified})")
            }
            EntryProof::NotProven(why) => format!("NOT PROVEN: {why}"),
            EntryProof::Unprovable(why) => format!("cannot be proven: {why}"),
            EntryProof::NotChecked => format!(
                "not checked (a page checks the history proofs of at most {MAX_HISTORY_PROOFS} \
                 receivables)"
            ),
        }
    }

    /// A stable name for styling and tests.
    pub fn class(&self) -> &'static str {
        match self {
            EntryProof::Proven { .. } => "proven",
            EntryProof::NotYetCertified { .. } => "not-yet-certified",
            EntryProof::NotProven(_) => "not-proven",
            EntryProof::Unprovable(_) => "unprovable",
            EntryProof::NotChecked => "not-checked",
        }
    }

    fn colour(&self) -> &'static str {
        match self {
            EntryProof::Proven { .. } => "#1a7f37",
            EntryProof::NotYetCertified { .. } | EntryProof::NotChecked => "#57606a",
            EntryProof::NotProven(_) | EntryProof::Unprovable(_) => "#cf222e",
        }
    }

    /// How bad: a step of several entries shows its worst.
    fn rank(&self) -> u8 {
        match self {
            EntryProof::Proven { .. } => 0,
            EntryProof::NotYetCertified { .. } => 1,
            EntryProof::NotChecked => 2,
            EntryProof::Unprovable(_) => 3,
            EntryProof::NotProven(_) => 4,
        }
    }
}

/// The verdict on one receivable's whole history as the node serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryVerdict {
    /// Every entry up to the certified height is proven in place, none left out.
    Proven {
        /// The certified state's height.
        height: u64,
        /// The block whose header certifies it.
        block: u64,
        /// Entries proven.
        proven: usize,
        /// Entries of later blocks, not yet certified.
        pending: usize,
    },
    /// The proof failed, or the history shown is not the proven one.
    NotProven(String),
    /// Nothing to prove it from.
    Unprovable(String),
}

impl HistoryVerdict {
    /// What the page says.
    pub fn label(&self) -> String {
        match self {
            HistoryVerdict::Proven {
                height,
                block,
                proven,
                pending,
            } => {
                let mut s = format!(
                    "proven: its {proven} entries up to height {height}, certified by block \
                     {block}, complete and in order"
                );
                if *pending > 0 {
                    s.push_str(&format!("; {pending} later entries not yet certified"));
                }
                s
            }
            HistoryVerdict::NotProven(why) => format!("NOT PROVEN: {why}"),
            HistoryVerdict::Unprovable(why) => format!("cannot be proven: {why}"),
        }
    }

    /// A stable name for styling and tests.
    pub fn class(&self) -> &'static str {
        match self {
            HistoryVerdict::Proven { .. } => "proven",
            HistoryVerdict::NotProven(_) => "not-proven",
            HistoryVerdict::Unprovable(_) => "unprovable",
        }
    }
}

/// One receivable's history as the node's history index served it, checked against its
/// history proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryCheck {
    /// The receivable.
    pub receivable: String,
    /// The whole history.
    pub verdict: HistoryVerdict,
    /// One verdict per entry the node served, in its order.
    pub entries: Vec<EntryProof>,
}

impl HistoryCheck {
    fn all(id: &str, n: usize, verdict: HistoryVerdict, entry: EntryProof) -> HistoryCheck {
        HistoryCheck {
            receivable: id.to_string(),
            verdict,
            entries: vec![entry; n],
        }
    }

    fn failed(id: &str, n: usize, why: String) -> HistoryCheck {
        let entry = EntryProof::NotProven(why.clone());
        HistoryCheck::all(id, n, HistoryVerdict::NotProven(why), entry)
    }

    fn unprovable(id: &str, n: usize, why: String) -> HistoryCheck {
        let entry = EntryProof::Unprovable(why.clone());
        HistoryCheck::all(id, n, HistoryVerdict::Unprovable(why), entry)
    }
}

/// The trust root history proofs are checked from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trust {
    /// The chain id and the validators of epoch 0.
    pub root: TrustRoot,
    /// True for the genesis file pinned in the explorer config; false for the validator
    /// set the node reports, which is the genesis set only while the network never
    /// changed its validators (so it proves nothing once a proof carries a change).
    pub pinned: bool,
}

impl Trust {
    /// The pinned genesis.
    pub fn pinned(root: TrustRoot) -> Trust {
        Trust { root, pinned: true }
    }

    /// The validator set `status` reports, standing in for the genesis set.
    pub fn reported(status: &Status) -> Result<Trust, String> {
        let validators = lianrong_sdk::validator_set(&status.validators)
            .map_err(|e| format!("the node reports no usable validator set: {e}"))?;
        // The genesis hash admits only the genesis certificate (no signatures), which
        // certifies no header; without the genesis file it is unknown, so none is admitted.
        let mut unknown = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut unknown);
        Ok(Trust {
            root: TrustRoot {
                chain_id: status.chain_id.clone(),
                genesis_hash: Hash(unknown),
                validators,
            },
            pinned: false,
        })
    }

    /// Where it came from, as the page says it.
    pub fn source(&self) -> &'static str {
        if self.pinned {
            "the genesis.json pinned in the explorer config"
        } else {
            "the validator set the node reports (pin genesis.json in the explorer config to \
             check it independently)"
        }
    }
}

/// Why a verification failed, without the SDK's prefix.
fn reason(e: SdkError) -> String {
    match e {
        SdkError::Verify(why) => why,
        other => other.to_string(),
    }
}

/// Checks the history `shown` of receivable `id` (the node's history index, raw) against
/// `proof` (its history proof) from `trust`: the proof must verify (`verify_history`:
/// certificate, validator-set changes, Merkle proof of the head, the proof's entries
/// chaining to it), and then every entry shown up to the certified height must be the
/// proven entry at its place. Entries of later blocks are not yet certified.
pub fn check_history(
    id: &str,
    shown: &[HistoryEntry],
    proof: Result<ProofResponse, NodeError>,
    trust: &Trust,
) -> HistoryCheck {
    let n = shown.len();
    let p = match proof {
        Ok(p) => p,
        Err(e) => return HistoryCheck::failed(id, n, format!("no history proof ({e})")),
    };
    // (Checked here too so that the reason never names a document the node slipped in.)
    if p.kind != DocKind::Receivable.as_str() || p.id != id {
        let why = "the node answered with the proof of another document".to_string();
        return HistoryCheck::failed(id, n, why);
    }
    if !trust.pinned && !p.epochs.is_empty() {
        let why = format!(
            "the network changed its validator set {} times since genesis, so the node's \
             current set is no trust root for its history: pin genesis.json in the explorer \
             config (`genesis = \"...\"`) to prove it",
            p.epochs.len()
        );
        return HistoryCheck::unprovable(id, n, why);
    }
    let v = match verify_history(&p, DocKind::Receivable, id, &trust.root) {
        Ok(v) => v,
        Err(e) => return HistoryCheck::failed(id, n, reason(e)),
    };
    let height = v.document.height;
    let proven = &v.entries;
    let mut entries = Vec::with_capacity(n);
    let (mut place, mut in_place, mut pending) = (0usize, 0usize, 0usize);
    for e in shown {
        if e.height > height {
            pending += 1;
            entries.push(EntryProof::NotYetCertified { certified: height });
            continue;
        }
        entries.push(if pending > 0 {
            EntryProof::NotProven(format!(
                "of height {}, listed after an entry of a later block: out of order",
                e.height
            ))
        } else if proven.get(place) == Some(e) {
            in_place += 1;
            EntryProof::Proven { height }
        } else {
            EntryProof::NotProven(format!(
                "not the entry the certified history has at place {}: entries were dropped, \
                 added, changed or reordered",
                place + 1
            ))
        });
        place += 1;
    }
    let verdict = if in_place == proven.len() && place == proven.len() {
        HistoryVerdict::Proven {
            height,
            block: v.document.certified_by.height,
            proven: in_place,
            pending,
        }
    } else {
        HistoryVerdict::NotProven(format!(
            "the history shown is not the certified one: the certified history has {} \
             entries up to height {height}; of the {place} shown up to there, {in_place} are \
             proven in place",
            proven.len()
        ))
    };
    HistoryCheck {
        receivable: id.to_string(),
        verdict,
        entries,
    }
}

/// The history checks of a lineage, aligned with its `steps`: the receivables from
/// `first` on are checked (the ones nearest the receivable shown), those before are not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineageProofs {
    /// Index in `steps` of the first receivable checked.
    pub first: usize,
    /// One check per receivable from `first` on.
    pub checks: Vec<HistoryCheck>,
    /// Where the trust root came from, if there was one.
    pub source: Option<&'static str>,
}

impl LineageProofs {
    /// The check of the receivable at `step` of the lineage, if it was checked.
    pub fn check(&self, step: usize) -> Option<&HistoryCheck> {
        step.checked_sub(self.first)
            .and_then(|i| self.checks.get(i))
    }

    /// The verdict on entry `entry` of the receivable at `step`.
    pub fn entry(&self, step: usize, entry: usize) -> EntryProof {
        self.check(step)
            .and_then(|c| c.entries.get(entry))
            .cloned()
            .unwrap_or(EntryProof::NotChecked)
    }
}

/// Fetches (concurrently) and checks the history proofs of the receivables of `history`
/// (the node's lineage answer for `asked`) nearest `asked`, at most
/// [`MAX_HISTORY_PROOFS`]. `trust` is the trust root, or why there is none.
pub async fn check_lineage(
    node: &dyn NodeApi,
    asked: &str,
    history: &ReceivableHistory,
    trust: Result<Trust, String>,
) -> LineageProofs {
    let first = history.steps.len().saturating_sub(MAX_HISTORY_PROOFS);
    let picked = &history.steps[first..];
    let each = |f: &dyn Fn(&str, usize) -> HistoryCheck| {
        picked
            .iter()
            .map(|s| f(s.receivable.as_str(), s.history.len()))
            .collect::<Vec<_>>()
    };
    let trust = match trust {
        Ok(t) => t,
        Err(why) => {
            return LineageProofs {
                first,
                checks: each(&|id, n| HistoryCheck::unprovable(id, n, why.clone())),
                source: None,
            }
        }
    };
    let source = Some(trust.source());
    // The lineage of `asked` ends at `asked`: else its histories are another's.
    if history.steps.last().map(|s| s.receivable.as_str()) != Some(asked) {
        let why = format!("the node's lineage answer does not end at {asked}");
        return LineageProofs {
            first,
            checks: each(&|id, n| HistoryCheck::failed(id, n, why.clone())),
            source,
        };
    }
    let proofs = futures::future::join_all(
        picked
            .iter()
            .map(|s| node.history_proof(DocKind::Receivable, s.receivable.as_str())),
    )
    .await;
    let checks = picked
        .iter()
        .zip(proofs)
        .map(|(s, p)| check_history(s.receivable.as_str(), &s.history, p, &trust))
        .collect();
    LineageProofs {
        first,
        checks,
        source,
    }
}

fn stage_of(title: &str) -> &'static str {
    match title {
        t if t.contains("order") || t.contains("shipment") || t.contains("delivery") => "trade",
        t if t.contains("invoice") => "invoice",
        t if t.contains("repay") || t.contains("settle") => "repay",
        t if t.contains("financ")
            || t.contains("offer")
            || t.contains("disburse")
            || t.contains("sale") =>
        {
            "finance"
        }
        t if t.contains("overdue") => "ledger",
        _ => "receivable",
    }
}

fn colour(stage: &str) -> &'static str {
    match stage {
        "trade" => "#dbeafe",
        "invoice" => "#fef3c7",
        "finance" => "#ffedd5",
        "repay" => "#ede9fe",
        "ledger" => "#fee2e2",
        _ => "#dcfce7",
    }
}

/// A one-line summary of an event (JSON, externally tagged).
pub fn event_line(e: &Value) -> String {
    let Some((name, body)) = e.as_object().and_then(|o| o.iter().next()) else {
        return e.as_str().unwrap_or("event").replace('_', " ");
    };
    let name = name.replace('_', " ");
    let detail = receivable_event_detail(&name, body)
        .or_else(|| trade_event_detail(&name, body))
        .unwrap_or_else(|| event_doc_ids(body));
    format!("{name}: {detail}").chars().take(44).collect()
}

/// A field of an event body as a short text: amounts as "amount currency", lists joined.
fn event_field(body: &Value, k: &str) -> String {
    match &body[k] {
        Value::String(s) => s.clone(),
        Value::Object(m) if m.contains_key("amount") => format!(
            "{} {}",
            m["amount"].as_str().unwrap_or_default(),
            m["currency"].as_str().unwrap_or_default()
        ),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    }
}

fn receivable_event_detail(name: &str, body: &Value) -> Option<String> {
    let field = |k: &str| event_field(body, k);
    Some(match name {
        "receivable issued" => format!(
            "{} to {}: {}",
            field("receivable"),
            field("holder"),
            field("face")
        ),
        "receivable split" => format!("{} into {}", field("receivable"), field("parts")),
        "receivable transferred" | "receivable assigned" => {
            format!(
                "{} {} -> {}",
                field("receivable"),
                field("from"),
                field("to")
            )
        }
        "receivable repaid" => format!(
            "{} {} to {}",
            field("receivable"),
            field("amount"),
            field("to")
        ),
        "settlement instructed" => format!(
            "{} {} {} to {}",
            field("settlement"),
            field("receivable"),
            field("amount"),
            field("payee")
        ),
        "settlement acknowledged" => format!(
            "{} {} by {}",
            field("settlement"),
            field("amount"),
            field("payee")
        ),
        "settlement disputed" => format!("{}: {}", field("settlement"), field("reason")),
        // A secondary sale: the receivable and its financing pass from bank to bank.
        "sale accepted" => format!(
            "{} {} {} -> {}",
            field("sale"),
            field("receivable"),
            field("seller"),
            field("buyer")
        ),
        _ => return None,
    })
}

/// Orders, invoices, offers and financings.
fn trade_event_detail(name: &str, body: &Value) -> Option<String> {
    let field = |k: &str| event_field(body, k);
    Some(match name {
        "invoice registered" => format!(
            "{} no. {} {}",
            field("invoice"),
            field("number"),
            field("amount")
        ),
        "invoice confirmed" => format!("{} -> {}", field("invoice"), field("receivable")),
        "order issued" => format!(
            "{} {} -> {} {}",
            field("order"),
            field("buyer"),
            field("seller"),
            field("amount")
        ),
        "offer made" => format!(
            "{} by {} at {}%",
            field("offer"),
            field("bank"),
            field("rate")
        ),
        "offer accepted" => format!(
            "{} net {} ({} days)",
            field("offer"),
            field("net"),
            body["days"]
        ),
        "financing disbursed" => format!(
            "{} net {} by {}",
            field("financing"),
            field("net"),
            field("bank")
        ),
        "financing requested" => format!("{} on {}", field("financing"), field("receivable")),
        _ => return None,
    })
}

/// For events without a summary of their own: the documents they name.
fn event_doc_ids(body: &Value) -> String {
    let ids: Vec<String> = [
        "order",
        "shipment",
        "invoice",
        "receivable",
        "financing",
        "offer",
        "settlement",
        "receipt",
    ]
    .iter()
    .map(|k| event_field(body, k))
    .filter(|s| !s.is_empty())
    .collect();
    ids.join(" ")
}

fn doc_link(kind: DocKind, id: &str) -> Option<(String, String)> {
    let base = match kind {
        DocKind::Order => "/orders/",
        DocKind::Invoice => "/invoices/",
        DocKind::Receivable => "/receivables/",
        DocKind::Financing => "/financings/",
        DocKind::Shipment => "/shipments/",
        DocKind::Offer => "/offers/",
        DocKind::Settlement => "/settlements/",
        DocKind::WarehouseReceipt => "/warehouse/",
        _ => return None,
    };
    Some((format!("{kind} {id}"), format!("{base}{id}")))
}

/// Steps keyed by (height, position in block, tx hash or ledger line), so they come out
/// oldest first and each transaction once.
type StepsByTx = BTreeMap<(u64, u64, String), Step>;

/// The steps of the lineage of `history` (the node's history answer), oldest first, each
/// history entry's verdict from `proofs` on its step.
pub fn steps(
    history: &ReceivableHistory,
    proofs: &LineageProofs,
    d: &IndexData,
    viewer: &Viewer,
) -> Vec<Step> {
    let entries = history_entries(history, proofs, &mut BTreeSet::new());
    let docs = lineage_docs(history, d);
    let mut by_tx = StepsByTx::new();
    for doc in &docs {
        if let Some(list) = d.doc_txs.get(doc) {
            for h in list {
                add_tx_step(&mut by_tx, d, viewer, h, None);
            }
        }
    }
    for (h, proof) in entries {
        let key = match &h.tx {
            Some(tx) => add_tx_step(&mut by_tx, d, viewer, &tx.to_hex(), Some(h)),
            None => Some(add_ledger_step(&mut by_tx, h)),
        };
        if let Some(step) = key.and_then(|k| by_tx.get_mut(&k)) {
            step.merge_proof(proof);
        }
    }
    by_tx.into_values().take(MAX_NODES).collect()
}

/// The documents whose transactions a lineage picture shows: its receivables, their
/// invoices and financings (current, and those their history names), and the trade
/// behind the invoices `d` holds (their orders and the orders' shipments).
pub fn lineage_docs(history: &ReceivableHistory, d: &IndexData) -> BTreeSet<(DocKind, String)> {
    let mut docs = chain_docs(&history.lineage);
    history_entries(history, &LineageProofs::default(), &mut docs);
    add_trade_docs(d, &mut docs);
    docs
}

/// The transactions the lineage's history entries name (hex).
pub fn entry_txs(history: &ReceivableHistory) -> Vec<String> {
    let mut out: Vec<String> = history
        .steps
        .iter()
        .flat_map(|s| s.history.iter().filter_map(|e| e.tx.map(|t| t.to_hex())))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn chain_docs(chain: &[Receivable]) -> BTreeSet<(DocKind, String)> {
    let mut docs: BTreeSet<(DocKind, String)> = BTreeSet::new();
    for r in chain {
        docs.insert((DocKind::Receivable, r.id.to_string()));
        docs.insert((DocKind::Invoice, r.invoice.to_string()));
        if let Some(f) = &r.financing {
            docs.insert((DocKind::Financing, f.to_string()));
        }
    }
    docs
}

/// The history entries of every receivable in the chain, each with its verdict. Also adds
/// the financings they name to `docs`: the chain itself shows only each receivable's
/// current financing.
fn history_entries<'h>(
    history: &'h ReceivableHistory,
    proofs: &LineageProofs,
    docs: &mut BTreeSet<(DocKind, String)>,
) -> Vec<(&'h HistoryEntry, EntryProof)> {
    let entries: Vec<(&HistoryEntry, EntryProof)> = history
        .steps
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            s.history
                .iter()
                .enumerate()
                .map(move |(j, e)| (e, proofs.entry(i, j)))
        })
        .collect();
    for (h, _) in &entries {
        for (k, id) in h.event.documents() {
            if k == DocKind::Financing {
                docs.insert((k, id));
            }
        }
    }
    entries
}

/// The trade behind the invoices in `docs`: their orders and the orders' shipments.
fn add_trade_docs(d: &IndexData, docs: &mut BTreeSet<(DocKind, String)>) {
    let invoice_ids: Vec<String> = docs
        .iter()
        .filter(|(k, _)| *k == DocKind::Invoice)
        .map(|(_, id)| id.clone())
        .collect();
    for inv in invoice_ids {
        if let Some(i) = d.invoices.get(&inv) {
            docs.insert((DocKind::Order, i.order.to_string()));
            if let Some(o) = d.orders.get(i.order.as_str()) {
                for s in &o.shipments {
                    docs.insert((DocKind::Shipment, s.to_string()));
                }
            }
        }
    }
}

/// The step of transaction `hash`: from the index if it has it, else from the node's
/// history entry (the index is bounded and may have dropped it). Its key, if added.
fn add_tx_step(
    by_tx: &mut StepsByTx,
    d: &IndexData,
    viewer: &Viewer,
    hash: &str,
    fallback: Option<&HistoryEntry>,
) -> Option<(u64, u64, String)> {
    if let Some(t) = d.tx(hash) {
        Some(add_indexed_tx_step(by_tx, t, viewer))
    } else {
        fallback.map(|h| add_history_tx_step(by_tx, h, hash))
    }
}

fn add_indexed_tx_step(by_tx: &mut StepsByTx, t: &TxRecord, viewer: &Viewer) -> (u64, u64, String) {
    let mut t = t.clone();
    t.events.iter_mut().for_each(|e| mask_json_for(viewer, e));
    let key = (t.height, t.index, t.hash.clone());
    by_tx.entry(key.clone()).or_insert_with(|| Step {
        height: t.height,
        index: t.index,
        tx: Some(t.hash.clone()),
        signer: Some(t.signer_org.clone()),
        title: t.action_name.replace('_', " "),
        stage: stage_of(&t.action_name),
        lines: t.events.iter().map(event_line).take(4).collect(),
        docs: t
            .docs
            .iter()
            .filter_map(|(k, id)| doc_link(*k, id))
            .collect(),
        proof: None,
    });
    key
}

fn add_history_tx_step(by_tx: &mut StepsByTx, h: &HistoryEntry, hash: &str) -> (u64, u64, String) {
    // The position in the block is unknown: sort it after the block's indexed ones.
    let key = (h.height, u64::MAX - 1, hash.to_string());
    let ev = event_json(&h.event);
    let title = match &ev {
        Value::Object(o) => o.keys().next().cloned(),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
    .unwrap_or_else(|| "event".into())
    .replace('_', " ");
    by_tx.entry(key.clone()).or_insert_with(|| Step {
        height: h.height,
        index: u64::MAX - 1,
        tx: Some(hash.to_string()),
        signer: h.signer.as_ref().map(|s| s.to_string()),
        stage: stage_of(&title),
        title,
        lines: vec![event_line(&ev)],
        docs: h
            .event
            .documents()
            .iter()
            .filter_map(|(k, id)| doc_link(*k, id))
            .collect(),
        proof: None,
    });
    key
}

/// An event as the JSON [`event_line`] reads (externally tagged). Encoding a decoded
/// event cannot fail; if it did, the line would read "event".
fn event_json(e: &Event) -> Value {
    serde_json::to_value(e).unwrap_or(Value::Null)
}

/// A change the ledger made by itself (no transaction), such as a receivable falling due.
fn add_ledger_step(by_tx: &mut StepsByTx, h: &HistoryEntry) -> (u64, u64, String) {
    let line = event_line(&event_json(&h.event));
    let key = (h.height, u64::MAX, line.clone());
    by_tx.entry(key.clone()).or_insert_with(|| Step {
        height: h.height,
        index: u64::MAX,
        tx: None,
        signer: None,
        title: "ledger".into(),
        stage: stage_of(&line),
        lines: vec![line],
        docs: vec![],
        proof: None,
    });
    key
}

/// `s`, cut to `max` characters with "..." if longer.
fn shortened(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(3)).collect();
    out.push_str("...");
    out
}

fn pos(i: usize) -> (i64, i64) {
    let row = (i / PER_ROW) as i64;
    let col_in_row = (i % PER_ROW) as i64;
    // Snake: odd rows run right to left so arrows stay short.
    let col = if row % 2 == 0 {
        col_in_row
    } else {
        PER_ROW as i64 - 1 - col_in_row
    };
    (20 + col * (W + GAP_X), 20 + row * (H + GAP_Y))
}

/// The lineage picture (inline SVG; every text is escaped by maud).
pub fn svg(steps: &[Step]) -> Markup {
    let rows = steps.len().div_ceil(PER_ROW).max(1) as i64;
    let width = 40 + PER_ROW as i64 * (W + GAP_X);
    let height = 40 + rows * (H + GAP_Y);
    html! {
        svg xmlns="http://www.w3.org/2000/svg" id="lineage" width=(width) height=(height)
            viewBox=(format!("0 0 {width} {height}")) role="img" aria-label="receivable lineage" {
            defs {
                marker id="arrow" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto" {
                    path d="M0,0 L10,4 L0,8 z" fill="#57606a" {}
                }
            }
            @for i in 1..steps.len() {
                @let (x0, y0) = pos(i - 1);
                @let (x1, y1) = pos(i);
                @let (ax, ay, bx, by) = if y0 == y1 {
                    if x1 > x0 { (x0 + W, y0 + H / 2, x1, y1 + H / 2) } else { (x0, y0 + H / 2, x1 + W, y1 + H / 2) }
                } else { (x0 + W / 2, y0 + H, x1 + W / 2, y1) };
                line x1=(ax) y1=(ay) x2=(bx) y2=(by) stroke="#57606a" stroke-width="2" marker-end="url(#arrow)" {}
            }
            @for (i, s) in steps.iter().enumerate() {
                @let (x, y) = pos(i);
                g class="lineage-node" data-stage=(s.stage) data-proof=(s.proof.as_ref().map_or("none", EntryProof::class)) {
                    rect x=(x) y=(y) width=(W) height=(H) rx="8" fill=(colour(s.stage)) stroke="#57606a" {}
                    @if let Some(tx) = &s.tx {
                        a href=(format!("/tx/{tx}")) {
                            text x=(x + 8) y=(y + 18) font-weight="bold" font-size="13" fill="#0b3d5c" { (s.title) }
                        }
                    } @else {
                        text x=(x + 8) y=(y + 18) font-weight="bold" font-size="13" { (s.title) }
                    }
                    @for (j, l) in s.lines.iter().take(3).enumerate() {
                        text x=(x + 8) y=(y + 36 + j as i64 * 15) font-size="11" { (l) }
                    }
                    @for (j, (label, href)) in s.docs.iter().take(2).enumerate() {
                        a href=(href) {
                            text x=(x + 8 + j as i64 * 130) y=(y + H - 24) font-size="10" fill="#0b3d5c" text-decoration="underline" { (label) }
                        }
                    }
                    @if let Some(p) = &s.proof {
                        @let label = p.label();
                        text class="proof" x=(x + 8) y=(y + 80) font-size="10" font-weight="bold" fill=(p.colour()) {
                            title { (label) }
                            (shortened(&label, 46))
                        }
                    }
                    a href=(format!("/blocks/{}", s.height)) {
                        text x=(x + 8) y=(y + H - 8) font-size="10" fill="#0b3d5c" { "block " (s.height) }
                    }
                    @if let Some(signer) = &s.signer {
                        a href=(format!("/orgs/{signer}")) {
                            text x=(x + 90) y=(y + H - 8) font-size="10" fill="#0b3d5c" { "signed by " (signer) }
                        }
                    }
                }
            }
        }
    }
}

/// Which history entries of the lineage are proven: a summary (how many receivables were
/// checked, from which trust root), then per receivable checked its verdict and one row
/// per entry (block, transaction, the event as the lineage shows it to `viewer`, and the
/// verdict), at most [`MAX_PROOF_ROWS`] entries.
pub fn proofs_table(
    history: &ReceivableHistory,
    proofs: &LineageProofs,
    viewer: &Viewer,
) -> Markup {
    let total = history.steps.len();
    let checked = proofs.checks.len();
    // (receivable, its check, its entries with their verdicts) for each receivable checked.
    let mut listed = 0usize;
    let mut left_out = 0usize;
    let mut sections = Vec::new();
    for (i, step) in history.steps.iter().enumerate() {
        let Some(c) = proofs.check(i) else { continue };
        let mut rows = Vec::new();
        for (j, e) in step.history.iter().enumerate() {
            if listed == MAX_PROOF_ROWS {
                left_out += 1;
                continue;
            }
            listed += 1;
            let mut ev = event_json(&e.event);
            mask_json_for(viewer, &mut ev);
            rows.push((e, event_line(&ev), proofs.entry(i, j)));
        }
        sections.push((step.receivable.as_str(), c, rows));
    }
    html! {
        h3 { "Which history entries are proven" }
        p id="history-proof-summary" class="muted" {
            "Checked the history proofs of " (checked) " of the " (total) " receivables of this lineage"
            @if checked < total { " (the " (checked) " nearest this one; a page checks at most " (MAX_HISTORY_PROOFS) ")" }
            ": each proof's certificate and validator-set changes from the trust root, the Merkle proof of the history chain's head against the certified state root, and each entry below against the proven chain"
            @if let Some(src) = proofs.source { ", trusting " (src) }
            "."
        }
        table id="history-proofs" {
            thead { tr { th { "receivable" } th { "block" } th { "tx" } th { "entry" } th { "proof" } } }
            tbody {
                @for (id, c, rows) in &sections {
                    tr class="history-verdict" data-receivable=(id) data-verdict=(c.verdict.class()) {
                        td { (id) }
                        td colspan="4" class=(format!("proof {}", c.verdict.class())) { (c.verdict.label()) }
                    }
                    @for (e, line, p) in rows {
                        tr class="history-entry" data-receivable=(id) data-proof=(p.class()) {
                            td { (id) }
                            td { a href=(format!("/blocks/{}", e.height)) { (e.height) } }
                            td {
                                @if let Some(tx) = &e.tx {
                                    a href=(format!("/tx/{}", tx.to_hex())) { (shortened(&tx.to_hex(), 15)) }
                                } @else { "ledger" }
                            }
                            td { (line) }
                            td class=(format!("proof {}", p.class())) { (p.label()) }
                        }
                    }
                }
            }
        }
        @if left_out > 0 { p class="muted" { (left_out) " more entries are not listed (at most " (MAX_PROOF_ROWS) ")." } }
        @if checked < total {
            p class="muted" id="history-not-checked" { (total - checked) " receivables nearer the root are not checked on this page: open their pages to check their histories." }
        }
    }
}

/// Genuine history proofs for unit tests: a 4-validator network (chain "c", keys from
/// seeds 1..=4) whose certified state holds the history heads given.
#[cfg(test)]
pub(crate) mod testproofs {
    use lianrong_api_types::ProofSubject;
    use lianrong_consensus::{
        BlockHeader, CommitCertificate, ExecutionCommit, QuorumCert, VoteData,
    };
    use lianrong_contracts::exec::history::HistoryHead;
    use lianrong_contracts::merkle::{compute_changes, prove};
    use lianrong_contracts::model::Validator;
    use lianrong_contracts::state::keys;
    use lianrong_contracts::MemoryStorage;
    use lianrong_primitives::hash::sha256;
    use lianrong_primitives::{encode, OrgId, SecretKey};

    use super::*;

    /// The validators' secret keys.
    pub fn secret_keys() -> Vec<SecretKey> {
        (1..=4u8).map(|i| SecretKey::from_seed([i; 32])).collect()
    }

    /// The genesis validators, as genesis.json and `/v1/status` list them.
    pub fn validators() -> Vec<Validator> {
        secret_keys()
            .iter()
            .zip(["VAL-A", "VAL-B", "VAL-C", "VAL-D"])
            .map(|(k, org)| Validator {
                org: OrgId::new(org).unwrap(),
                node_key: k.public(),
                address: String::new(),
            })
            .collect()
    }

    /// The pinned trust root of the network.
    pub fn trust() -> Trust {
        Trust::pinned(TrustRoot {
            chain_id: "c".into(),
            genesis_hash: Hash([7; 32]),
            validators: lianrong_sdk::validator_set(&validators()).unwrap(),
        })
    }

    /// The history proof of receivable `id` whose chain holds `proven`, in the state of
    /// `height` certified by block `height + 2` (signed by validators 0, 1 and 3); the
    /// answer serves `proven` as its entries.
    pub fn proof(id: &str, proven: &[HistoryEntry], height: u64) -> ProofResponse {
        let key = keys::history_head(DocKind::Receivable, id);
        let head = encode(&HistoryHead::of(proven));
        let mut store = MemoryStorage::new();
        let mut root = Hash::ZERO;
        for v in 0..=height {
            let mut w: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
            w.insert(
                format!("doc/order/PO-{v}").into_bytes(),
                Some(vec![v as u8]),
            );
            if v == height {
                w.insert(key.clone(), Some(head.clone()));
            }
            let c = compute_changes(&store, v, w.into_iter().collect()).unwrap();
            store.apply(&c);
            root = c.root;
        }
        let p = prove(&store, &key, height, root).unwrap();
        let header = BlockHeader {
            chain_id: "c".into(),
            epoch: 0,
            height: height + 2,
            round: height + 2,
            parent: sha256(b"parent"),
            justify_hash: sha256(b"justify"),
            proposer: 1,
            timestamp_ms: 1_000,
            payload_hash: sha256(b"payload"),
            reconfig_hash: lianrong_consensus::reconfig_hash(&None),
            executed: ExecutionCommit {
                height,
                state_root: root,
                results_root: sha256(b"results"),
            },
        };
        let vote = VoteData {
            epoch: 0,
            block_hash: sha256(b"child"),
            height: header.height + 1,
            round: header.round + 1,
            parent_hash: header.hash(),
            parent_round: header.round,
        };
        let msg = vote.signing_bytes("c");
        let signers = [0u16, 1, 3];
        let sk = secret_keys();
        let certificate = CommitCertificate {
            qc: QuorumCert {
                vote,
                signers: signers.to_vec(),
                signatures: signers.iter().map(|&i| sk[i as usize].sign(&msg)).collect(),
            },
        };
        ProofResponse {
            kind: "receivable".into(),
            id: id.into(),
            subject: ProofSubject::History,
            height,
            state_root: root,
            key: String::from_utf8_lossy(&key).into_owned(),
            value_hex: Some(hex::encode(&head)),
            leaf_hex: p.leaf.as_ref().map(hex::encode),
            proof: serde_json::to_value(&p.proof).unwrap(),
            header,
            certificate,
            epochs: vec![],
            history: proven.to_vec(),
            history_next: None,
        }
    }

    /// The node's lineage answer for receivable `rcv` alone (no parent), serving `shown` as
    /// its history.
    pub fn history_alone(rcv: Receivable, shown: Vec<HistoryEntry>) -> ReceivableHistory {
        ReceivableHistory {
            receivable: rcv.clone(),
            lineage: vec![rcv.clone()],
            steps: vec![lianrong_api_types::HistorySteps {
                receivable: rcv.id,
                history: shown,
            }],
            invoice: None,
            certified_height: 0,
            next: None,
        }
    }

    /// An entry of `id`'s history at `height`: by transaction `[tx; 32]` (a transfer to
    /// `to`), or the ledger's (overdue) when `tx` is 0.
    pub fn entry(id: &str, height: u64, tx: u8, to: &str) -> HistoryEntry {
        let receivable = lianrong_contracts::model::DocId::new(id).unwrap();
        let org = |o: &str| OrgId::new(o).unwrap();
        let (tx, signer, event) = if tx == 0 {
            let maturity = "2027-01-31".parse().unwrap();
            (
                None,
                None,
                Event::ReceivableOverdue {
                    receivable,
                    maturity,
                },
            )
        } else {
            let ev = Event::ReceivableTransferred {
                receivable,
                from: org("SUP-1"),
                to: org(to),
            };
            (Some(Hash([tx; 32])), Some(org("SUP-1")), ev)
        };
        HistoryEntry {
            height,
            tx,
            signer,
            key: None,
            time_ms: 1_000 * height,
            event,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::testdata::*;
    use serde_json::json;

    fn tx(
        hash: &str,
        height: u64,
        signer: &str,
        action: &str,
        events: Vec<Value>,
        docs: Vec<(DocKind, &str)>,
    ) -> TxRecord {
        TxRecord {
            hash: hash.into(),
            height,
            index: 0,
            time_ms: 0,
            signer_org: signer.into(),
            signer_key: String::new(),
            nonce: 0,
            action_name: action.into(),
            action: Value::Null,
            ok: true,
            error: None,
            events,
            docs: docs
                .into_iter()
                .map(|(k, id)| (k, id.to_string()))
                .collect(),
            parties: vec![signer.into()],
        }
    }

    /// An order, its invoice, the receivable, a split, a transfer and a repayment.
    fn trade_txs() -> [TxRecord; 5] {
        [
            tx(
                "aa01",
                1,
                "CORE-A",
                "issue_order",
                vec![
                    json!({"order_issued": {"order": "PO-1", "buyer": "CORE-A", "seller": "SUP-1", "amount": {"amount": "100.00", "currency": "CNY"}}}),
                ],
                vec![(DocKind::Order, "PO-1")],
            ),
            tx(
                "aa02",
                2,
                "CORE-A",
                "register_invoice",
                vec![json!({"invoice_confirmed": {"invoice": "INV-1", "receivable": "RCV-1"}})],
                vec![(DocKind::Invoice, "INV-1"), (DocKind::Receivable, "RCV-1")],
            ),
            tx(
                "aa03",
                3,
                "SUP-1",
                "split_receivable",
                vec![
                    json!({"receivable_split": {"receivable": "RCV-1", "parts": ["RCV-2", "RCV-3"]}}),
                ],
                vec![(DocKind::Receivable, "RCV-1")],
            ),
            tx(
                "aa04",
                4,
                "SUP-1",
                "transfer_receivable",
                vec![
                    json!({"receivable_transferred": {"receivable": "RCV-2", "from": "SUP-1", "to": "SUP-3"}}),
                ],
                vec![(DocKind::Receivable, "RCV-2")],
            ),
            tx(
                "aa05",
                5,
                "CORE-A",
                "repay",
                vec![
                    json!({"receivable_repaid": {"receivable": "RCV-2", "amount": {"amount": "60.00", "currency": "CNY"}, "to": "SUP-3", "outstanding": {"amount": "0.00", "currency": "CNY"}}}),
                ],
                vec![(DocKind::Receivable, "RCV-2")],
            ),
        ]
    }

    /// The index after `txs`, with INV-1 invoicing order PO-1.
    fn indexed(txs: [TxRecord; 5]) -> IndexData {
        let mut d = IndexData::default();
        let mut inv = invoice("INV-1", "SUP-1", "CORE-A", "2027-01-31", "100.00");
        inv.order = lianrong_contracts::model::DocId::new("PO-1").unwrap();
        d.invoices.insert("INV-1".into(), inv);
        for t in txs {
            for doc in &t.docs {
                d.doc_txs
                    .entry(doc.clone())
                    .or_default()
                    .push_back(t.hash.clone());
            }
            d.tx_by_hash.insert(t.hash.clone(), (t.height, t.index));
            d.txs.insert((t.height, t.index), t);
        }
        d
    }

    /// The history of RCV-2, split from RCV-1, which the ledger marked overdue.
    fn split_leaf_history() -> ReceivableHistory {
        let mut root = receivable(
            "RCV-1",
            "SUP-1",
            "CORE-A",
            "2026-11-01",
            "2027-01-31",
            "100.00",
        );
        root.status = lianrong_contracts::model::ReceivableStatus::Split;
        let mut leaf = receivable(
            "RCV-2",
            "SUP-3",
            "CORE-A",
            "2026-11-01",
            "2027-01-31",
            "60.00",
        );
        leaf.parent = Some(root.id.clone());
        leaf.root = root.id.clone();
        let overdue = HistoryEntry {
            height: 6,
            tx: None,
            signer: None,
            key: None,
            time_ms: 0,
            event: Event::ReceivableOverdue {
                receivable: root.id.clone(),
                maturity: root.maturity,
            },
        };
        ReceivableHistory {
            receivable: leaf.clone(),
            lineage: vec![root.clone(), leaf],
            steps: vec![lianrong_api_types::HistorySteps {
                receivable: root.id,
                history: vec![overdue],
            }],
            invoice: None,
            certified_height: 0,
            next: None,
        }
    }

    #[test]
    fn lineage_orders_steps_from_order_to_repayment_and_links_each() {
        let d = indexed(trade_txs());
        let history = split_leaf_history();
        let s = steps(
            &history,
            &LineageProofs::default(),
            &d,
            &Viewer::Everything { org: None },
        );
        let titles: Vec<&str> = s.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "issue order",
                "register invoice",
                "split receivable",
                "transfer receivable",
                "repay",
                "ledger"
            ]
        );
        assert_eq!(s[0].stage, "trade");
        assert_eq!(s[4].stage, "repay");
        assert_eq!(s[3].lines, ["receivable transferred: RCV-2 SUP-1 -> SUP-3"]);
        assert!(s
            .iter()
            .flat_map(|s| &s.lines)
            .all(|l| l.chars().count() <= 44));
        let svg = svg(&s).into_string();
        assert!(svg.contains("href=\"/tx/aa03\""));
        assert!(svg.contains("href=\"/blocks/4\""));
        assert!(svg.contains("href=\"/orgs/SUP-1\""));
        assert_eq!(svg.matches("<rect").count(), 6);
        assert_eq!(svg.matches("<line").count(), 5);
    }

    #[test]
    fn a_secondary_sale_reads_as_the_receivable_passing_between_banks() {
        let sold = serde_json::json!({"sale_accepted": {
            "sale": "SAL-1", "seller": "BANK-A", "buyer": "BANK-B", "financing": "FIN-1",
            "bought": "FIN-2", "receivable": "RCV-5", "kept": "RCV-6",
            "face": {"amount": "400.00", "currency": "CNY"},
            "advanced": {"amount": "400.00", "currency": "CNY"}
        }});
        assert_eq!(
            event_line(&sold),
            "sale accepted: SAL-1 RCV-5 BANK-A -> BANK-B"
        );
        assert_eq!(stage_of("accept sale"), "finance");
    }

    #[test]
    fn ledger_text_is_escaped() {
        let s = vec![Step {
            height: 1,
            index: 0,
            tx: None,
            signer: None,
            title: "<script>alert(1)</script>".into(),
            stage: "ledger",
            lines: vec!["a & b".into()],
            docs: vec![],
            proof: Some(EntryProof::NotProven("<b>".into())),
        }];
        let out = svg(&s).into_string();
        assert!(!out.contains("<script>"));
        assert!(out.contains("&lt;script&gt;"));
        assert!(!out.contains("<b>") && out.contains("NOT PROVEN: &lt;b&gt;"));
    }

    // ---------- which entries are proven ----------

    use super::testproofs::{entry, proof, trust};
    use crate::node::fake::FakeNode;
    use crate::node::paths;

    /// RCV-1's history: issued... transferred at 2 and 3, overdue at 4 (the ledger's).
    fn rcv1_entries() -> Vec<HistoryEntry> {
        vec![
            entry("RCV-1", 2, 0xa2, "SUP-2"),
            entry("RCV-1", 3, 0xa3, "SUP-3"),
            entry("RCV-1", 4, 0, ""),
        ]
    }

    /// The node's lineage answer for RCV-1 alone, serving `shown` as its history.
    fn rcv1_history(shown: Vec<HistoryEntry>) -> ReceivableHistory {
        let r = receivable(
            "RCV-1",
            "SUP-3",
            "CORE-A",
            "2026-11-01",
            "2027-01-31",
            "100.00",
        );
        super::testproofs::history_alone(r, shown)
    }

    /// A fake node serving `history` for RCV-1 and `proof` as its history proof.
    fn node(history: &ReceivableHistory, p: ProofResponse) -> FakeNode {
        let n = FakeNode::default();
        n.set(&paths::history("RCV-1").unwrap(), history.clone());
        n.set(
            &paths::history_proof(DocKind::Receivable, "RCV-1").unwrap(),
            p,
        );
        n
    }

    /// Fetches RCV-1's history proof from a fake node serving `shown` as the history and
    /// `p` as the proof, and checks it from the pinned trust root.
    async fn checked(shown: Vec<HistoryEntry>, p: ProofResponse) -> (LineageProofs, String) {
        let h = rcv1_history(shown);
        let n = node(&h, p);
        let proofs = check_lineage(&n, "RCV-1", &h, Ok(trust())).await;
        let audit = Viewer::Everything { org: None };
        let s = steps(&h, &proofs, &IndexData::default(), &audit);
        let page = format!(
            "{}{}",
            svg(&s).into_string(),
            proofs_table(&h, &proofs, &audit).into_string()
        );
        (proofs, page)
    }

    fn proven(h: u64) -> EntryProof {
        EntryProof::Proven { height: h }
    }

    /// A history of which `proven` entries are proven at height 5 (certified by block 7,
    /// as `proof(.., 5)` makes it) and `pending` later ones not yet certified.
    fn proven_history(proven: usize, pending: usize) -> HistoryVerdict {
        HistoryVerdict::Proven {
            height: 5,
            block: 7,
            proven,
            pending,
        }
    }

    fn is_not_proven(p: &EntryProof, why: &str) -> bool {
        matches!(p, EntryProof::NotProven(r) if r.contains(why))
    }

    /// The honest node: every entry is proven at the certified height, and the page says so
    /// on each step of the picture and each row of the table.
    #[tokio::test]
    async fn an_honest_history_shows_every_entry_proven() {
        let (proofs, page) = checked(rcv1_entries(), proof("RCV-1", &rcv1_entries(), 5)).await;
        let c = &proofs.checks[0];
        assert_eq!(c.entries, vec![proven(5); 3]);
        assert_eq!(c.verdict, proven_history(3, 0));
        // Each node of the picture (its text and tooltip) and each row of the table.
        assert_eq!(
            page.matches(">proven, certified at height 5<").count(),
            3 * 2 + 3
        );
        assert_eq!(page.matches("data-proof=\"proven\"").count(), 3 + 3);
        assert!(page.contains("proven: its 3 entries up to height 5, certified by block 7"));
        assert!(page.contains("Checked the history proofs of 1 of the 1 receivables"));
        assert!(page.contains("trusting the genesis.json pinned in the explorer config"));
        assert!(!page.contains("NOT PROVEN"), "{page}");
    }

    /// The node's history index leaves an entry out, or swaps two: those entries are not
    /// where the certified chain has them, and the history is NOT PROVEN.
    #[tokio::test]
    async fn a_history_with_an_entry_dropped_or_reordered_is_not_proven() {
        let all = rcv1_entries();
        let genuine = proof("RCV-1", &all, 5);

        let dropped = vec![all[0].clone(), all[2].clone()];
        let (proofs, page) = checked(dropped, genuine.clone()).await;
        let c = &proofs.checks[0];
        assert_eq!(c.entries[0], proven(5));
        assert!(is_not_proven(&c.entries[1], "at place 2"), "{c:?}");
        assert!(matches!(&c.verdict, HistoryVerdict::NotProven(r) if r.contains("has 3 entries")));
        assert!(page.contains("NOT PROVEN: not the entry the certified history has at place 2"));
        assert!(page.contains("data-verdict=\"not-proven\""));

        // Only the last one left out: every entry shown is in place, the whole is not.
        let (proofs, _) = checked(all[..2].to_vec(), genuine.clone()).await;
        let c = &proofs.checks[0];
        assert_eq!(c.entries, vec![proven(5); 2]);
        assert!(matches!(&c.verdict, HistoryVerdict::NotProven(r) if r.contains("of the 2 shown")));

        let swapped = vec![all[1].clone(), all[0].clone(), all[2].clone()];
        let (proofs, page) = checked(swapped, genuine).await;
        let c = &proofs.checks[0];
        assert!(is_not_proven(&c.entries[0], "at place 1"));
        assert!(is_not_proven(&c.entries[1], "at place 2"));
        assert_eq!(c.entries[2], proven(5));
        assert!(matches!(c.verdict, HistoryVerdict::NotProven(_)));
        assert!(page.contains("data-proof=\"not-proven\""));

        // The proof's own entries dropped or reordered: they do not chain to the head.
        for served in [
            vec![all[0].clone(), all[2].clone()],
            vec![all[1].clone(), all[0].clone(), all[2].clone()],
        ] {
            let mut p = proof("RCV-1", &all, 5);
            p.history = served.clone();
            let (proofs, page) = checked(served, p).await;
            let c = &proofs.checks[0];
            let why = "do not chain to the certified head";
            assert!(c.entries.iter().all(|e| is_not_proven(e, why)), "{c:?}");
            assert!(matches!(&c.verdict, HistoryVerdict::NotProven(r) if r.contains(why)));
            assert!(
                page.contains("NOT PROVEN: the 2 history entries served")
                    || page.contains("NOT PROVEN: the 3 history entries served")
            );
        }
    }

    /// Entries of blocks above the certified state are shown as not yet certified; those
    /// below are proven and the history is proven as far as it is certified.
    #[tokio::test]
    async fn entries_above_the_certified_height_are_not_yet_certified() {
        let mut shown = rcv1_entries();
        shown.push(entry("RCV-1", 6, 0xa6, "SUP-4"));
        shown.push(entry("RCV-1", 7, 0xa7, "SUP-5"));
        let (proofs, page) = checked(shown, proof("RCV-1", &rcv1_entries(), 5)).await;
        let c = &proofs.checks[0];
        let pending = EntryProof::NotYetCertified { certified: 5 };
        assert_eq!(c.entries[..3], [proven(5), proven(5), proven(5)]);
        assert_eq!(c.entries[3..], [pending.clone(), pending]);
        assert_eq!(c.verdict, proven_history(3, 2));
        assert!(page.contains(">not yet certified (certified up to height 5)<"));
        assert!(page.contains("; 2 later entries not yet certified"));

        // A certified entry listed after a later one is out of order.
        let mut shown = rcv1_entries();
        shown.insert(2, entry("RCV-1", 6, 0xa6, "SUP-4"));
        let (proofs, _) = checked(shown, proof("RCV-1", &rcv1_entries(), 5)).await;
        let c = &proofs.checks[0];
        assert!(is_not_proven(&c.entries[3], "out of order"), "{c:?}");
        assert!(matches!(c.verdict, HistoryVerdict::NotProven(_)));
    }

    /// A forged proof (another head, another document's proof) is NOT PROVEN, and the
    /// reason names no document the node slipped in.
    #[tokio::test]
    async fn a_forged_history_proof_is_not_proven() {
        let all = rcv1_entries();
        let mut forged = proof("RCV-1", &all, 5);
        let mut head = hex::decode(forged.value_hex.as_ref().unwrap()).unwrap();
        head[0] ^= 1;
        forged.value_hex = Some(hex::encode(head));
        let (proofs, _) = checked(all.clone(), forged).await;
        assert!(proofs.checks[0]
            .entries
            .iter()
            .all(|e| matches!(e, EntryProof::NotProven(_))));

        let other = proof("RCV-77", &all, 5);
        let (proofs, page) = checked(all, other).await;
        assert!(matches!(
            &proofs.checks[0].verdict,
            HistoryVerdict::NotProven(r) if r.contains("proof of another document")
        ));
        assert!(!page.contains("RCV-77"), "{page}");
    }

    /// Without a pinned genesis, the node's reported set stands in while the validators
    /// never changed; once a proof carries a change, the history cannot be proven.
    #[tokio::test]
    async fn without_a_pinned_genesis_a_changed_validator_set_proves_nothing() {
        let all = rcv1_entries();
        let h = rcv1_history(all.clone());
        let status = crate::node::fake::status(9, testproofs::validators());
        let reported = Trust::reported(&status).unwrap();
        assert!(!reported.pinned);
        let n = node(&h, proof("RCV-1", &all, 5));
        let proofs = check_lineage(&n, "RCV-1", &h, Ok(reported.clone())).await;
        assert_eq!(proofs.checks[0].entries, vec![proven(5); 3]);
        assert!(proofs
            .source
            .unwrap()
            .starts_with("the validator set the node reports"));

        let mut changed = proof("RCV-1", &all, 5);
        changed.epochs = vec![lianrong_api_types::EpochChange {
            epoch: 0,
            header: changed.header.clone(),
            validators: trust().root.validators,
            certificate: changed.certificate.clone(),
        }];
        let n = node(&h, changed);
        let proofs = check_lineage(&n, "RCV-1", &h, Ok(reported)).await;
        let c = &proofs.checks[0];
        assert!(
            matches!(&c.verdict, HistoryVerdict::Unprovable(r) if r.contains("pin genesis.json")),
            "{c:?}"
        );
        assert!(c.entries.iter().all(|e| e.class() == "unprovable"));
        let proofs = check_lineage(&n, "RCV-1", &h, Err("no status".into())).await;
        assert_eq!(
            proofs.checks[0].verdict,
            HistoryVerdict::Unprovable("no status".into())
        );
    }

    /// A long lineage: only the receivables nearest the one shown are checked, the page
    /// says how many; a lineage answer that does not end at the receivable asked for
    /// proves nothing.
    #[tokio::test]
    async fn a_long_lineage_checks_the_nearest_receivables_and_says_how_many() {
        let n = FakeNode::default();
        let mut h = rcv1_history(vec![]);
        h.steps.clear();
        for i in 1..=10 {
            let id = format!("RCV-{i}");
            let entries = vec![entry(&id, i, i as u8, "SUP-2")];
            n.set(
                &paths::history_proof(DocKind::Receivable, &id).unwrap(),
                proof(&id, &entries, 20),
            );
            h.steps.push(lianrong_api_types::HistorySteps {
                receivable: lianrong_contracts::model::DocId::new(&id).unwrap(),
                history: entries,
            });
        }
        let proofs = check_lineage(&n, "RCV-10", &h, Ok(trust())).await;
        assert_eq!((proofs.first, proofs.checks.len()), (2, MAX_HISTORY_PROOFS));
        assert_eq!(proofs.entry(0, 0), EntryProof::NotChecked);
        assert_eq!(proofs.entry(2, 0), proven(20));
        assert_eq!(proofs.entry(9, 0), proven(20));
        let audit = Viewer::Everything { org: None };
        let table = proofs_table(&h, &proofs, &audit).into_string();
        assert!(table.contains("Checked the history proofs of 8 of the 10 receivables"));
        assert!(table.contains("2 receivables nearer the root are not checked"));

        let proofs = check_lineage(&n, "RCV-11", &h, Ok(trust())).await;
        assert!(proofs.checks.iter().all(|c| matches!(
            &c.verdict,
            HistoryVerdict::NotProven(r) if r.contains("does not end at RCV-11")
        )));
    }
}
