//! `lianrong bench --workload lifecycle`: documents walked through their whole lives by
//! the orgs whose turn each step is, every step a transaction that needs the one before
//! it committed (and some reading what earlier steps wrote), many documents at once.
//!
//! One life, 14 transactions (the first signer of each in brackets):
//! order (core) -> accept (supplier) -> shipment, delivery (LOGI, the carrier the order
//! names) -> invoice registered and confirmed (core) -> split 60/40 (supplier) ->
//! transfer of the 60 % part to a tier-2 supplier -> financing request (tier 2) -> offer
//! (bank) -> accept (tier 2) -> disburse the exact net (bank; the net read back from the
//! accepted terms and the receivable's maturity, counted from the ledger's date) ->
//! acknowledge the disbursement (tier 2) -> repay (core, naming the holder it reads back:
//! the bank) -> acknowledge the settlement (bank). The mix means nothing to be refused:
//! every refusal is counted by its reason and reported.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use chrono::{Days, NaiveDate};
use lianrong_contracts::action::InvoiceSpec;
use lianrong_contracts::exec::business_date;
use lianrong_contracts::model::{DocId, OrgSpec, Role};
use lianrong_contracts::money::{discount, Amount, DayCount, Money, Rate};
use lianrong_contracts::{Action, Event, Genesis, Signer, Transaction};
use lianrong_primitives::{sha256, Hash, OrgId, PublicKey, SecretKey};
use lianrong_sdk::Client;
use serde::Serialize;
use tokio::sync::oneshot;

use super::commits::{Commits, Outcome, COMMIT_TIMEOUT};

mod check;

/// The steps of one life, in order (the actions' names).
pub const STEPS: [&str; 14] = [
    "issue_order",
    "accept_order",
    "attest_shipment",
    "confirm_delivery",
    "register_invoice",
    "split_receivable",
    "transfer_receivable",
    "request_financing",
    "offer_financing",
    "accept_offer",
    "disburse",
    "acknowledge_disbursement",
    "repay",
    "acknowledge_settlement",
];

/// The cast orgs (lianrong/src/testnet.rs) that take part.
const CAST_ORGS: [&str; 8] = [
    "BANK-A", "BANK-B", "CORE-A", "CORE-B", "LOGI", "SUP-1", "SUP-2", "SUP-3",
];
/// Supplier orgs admitted through the bench's genesis next to the cast's three.
const EXTRA_SUPPLIERS: usize = 4;
/// Genesis allows at most 16 keys per org; the cast's own key is one.
const MAX_ADDED_KEYS: usize = 15;
/// Documents in flight when `--rate` paces their starts.
const MAX_IN_FLIGHT: usize = 4096;
/// Finished documents kept for the read-back check.
const MAX_KEPT: usize = 1000;
/// Documents read back at the end (spread over those kept).
const MAX_CHECKED: usize = 200;
/// Dated steps keep this far from the business day's midnight, so the date a step is
/// built with is the date its block executes with.
const MIDNIGHT_MARGIN_MS: i64 = 10_000;
const DAY_MS: i64 = 86_400_000;

/// A bench member key of `org` (deterministic, like the order workload's keys).
fn member_key(org: &str, k: usize) -> SecretKey {
    SecretKey::from_seed(sha256(format!("lianrong-bench-lifecycle-{org}-{k}").as_bytes()).0)
}

/// Who plays which part, their registered tax ids and the bench's keys for each.
pub struct Parties {
    banks: Vec<OrgId>,
    cores: Vec<OrgId>,
    carrier: OrgId,
    suppliers: Vec<OrgId>,
    tax_ids: HashMap<OrgId, String>,
    keys: HashMap<OrgId, Vec<SecretKey>>,
}

impl Parties {
    /// Every member key the workload signs with.
    pub fn public_keys(&self) -> Vec<PublicKey> {
        self.keys.values().flatten().map(|k| k.public()).collect()
    }
}

/// Adds `keys` member keys (spread over the orgs, at least one each) to the cast orgs
/// in `genesis.json` and admits the extra suppliers; returns the parties.
pub fn add_orgs(genesis: &Path, keys: usize) -> Result<Parties> {
    let text = std::fs::read_to_string(genesis)?;
    let mut g: Genesis = serde_json::from_str(&text)?;
    let orgs = CAST_ORGS.len() + EXTRA_SUPPLIERS;
    let per_org = keys.div_ceil(orgs).clamp(1, MAX_ADDED_KEYS);
    let mut added: HashMap<OrgId, Vec<SecretKey>> = HashMap::new();
    for id in CAST_ORGS {
        let spec = g
            .orgs
            .iter_mut()
            .find(|o| o.id.as_str() == id)
            .ok_or_else(|| anyhow!("the testnet genesis has no {id}"))?;
        let ks: Vec<SecretKey> = (0..per_org).map(|k| member_key(id, k)).collect();
        spec.keys.extend(ks.iter().map(|k| k.public()));
        added.insert(spec.id.clone(), ks);
    }
    for n in 0..EXTRA_SUPPLIERS {
        let id = format!("SUP-{}", 4 + n);
        let ks: Vec<SecretKey> = (0..per_org).map(|k| member_key(&id, k)).collect();
        g.orgs.push(OrgSpec {
            id: OrgId::new(id.clone())?,
            name: format!("Bench supplier {id}"),
            tax_id: super::bench_tax_id(100 + n)?,
            roles: vec![Role::Supplier],
            identifiers: vec![],
            keys: ks.iter().map(|k| k.public()).collect(),
        });
        added.insert(OrgId::new(id)?, ks);
    }
    g.validate()?;
    std::fs::write(genesis, serde_json::to_string_pretty(&g)?)?;
    let tax_ids = g
        .orgs
        .iter()
        .map(|o| (o.id.clone(), o.tax_id.clone()))
        .collect();
    let org = |s: &str| OrgId::new(s).map_err(|e| anyhow!("{s}: {e}"));
    let mut suppliers = vec![org("SUP-1")?, org("SUP-2")?, org("SUP-3")?];
    for n in 0..EXTRA_SUPPLIERS {
        suppliers.push(org(&format!("SUP-{}", 4 + n))?);
    }
    Ok(Parties {
        banks: vec![org("BANK-A")?, org("BANK-B")?],
        cores: vec![org("CORE-A")?, org("CORE-B")?],
        carrier: org("LOGI")?,
        suppliers,
        tax_ids,
        keys: added,
    })
}

/// One member key: its nonces are assigned under the lock, held while the transaction
/// is submitted, so they reach the node in order and a refused one leaves no gap.
struct Slot {
    key: SecretKey,
    org: OrgId,
    next: tokio::sync::Mutex<u64>,
}

/// An org's keys, taken in turn.
struct Keyring {
    slots: Vec<Slot>,
    turn: AtomicUsize,
}

impl Keyring {
    fn pick(&self) -> Option<&Slot> {
        let n = self.slots.len();
        (n > 0).then(|| &self.slots[self.turn.fetch_add(1, Ordering::Relaxed) % n])
    }
}

/// Why a step did not commit.
#[derive(Debug)]
enum StepFail {
    /// The ledger refused it (code, message).
    Refused(String, String),
    /// The node did not admit it (code or error).
    NotAdmitted(String),
    /// Not committed in time, or the state it needed could not be read.
    Lost(String),
}

impl std::fmt::Display for StepFail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepFail::Refused(code, msg) => write!(f, "refused ({code}): {msg}"),
            StepFail::NotAdmitted(e) => write!(f, "not admitted: {e}"),
            StepFail::Lost(e) => write!(f, "lost: {e}"),
        }
    }
}

/// What the lifecycle run counted.
#[derive(Default)]
struct Stats {
    steps: [AtomicU64; STEPS.len()],
    refused: Mutex<BTreeMap<String, u64>>,
    not_admitted: Mutex<BTreeMap<String, u64>>,
    lost: AtomicU64,
    failures: Mutex<Vec<String>>,
    started: AtomicU64,
    completed: AtomicU64,
}

/// Most failure lines kept for the report.
const MAX_FAILURE_LINES: usize = 20;

impl Stats {
    fn note(&self, doc: &Doc, step: usize, fail: &StepFail) {
        let bump = |m: &Mutex<BTreeMap<String, u64>>, k: &str| {
            if let Ok(mut m) = m.lock() {
                *m.entry(k.to_string()).or_default() += 1;
            }
        };
        match fail {
            StepFail::Refused(code, _) => bump(&self.refused, code),
            StepFail::NotAdmitted(e) => bump(&self.not_admitted, e),
            StepFail::Lost(_) => {
                self.lost.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Ok(mut f) = self.failures.lock() {
            if f.len() < MAX_FAILURE_LINES {
                f.push(format!("{} {}: {fail}", doc.order, STEPS[step]));
            }
        }
    }
}

/// What the lifecycle reports (under `lifecycle` in `--json`).
#[derive(Debug, Clone, Serialize)]
pub struct LifecycleFigures {
    /// Documents started.
    pub documents_started: u64,
    /// Documents that went through all their steps.
    pub documents_completed: u64,
    /// Committed transactions per step (action name), over the whole run.
    pub steps: BTreeMap<String, u64>,
    /// Transactions the ledger refused, by the contract's reason code (none expected).
    pub refused: BTreeMap<String, u64>,
    /// Transactions a node did not admit, by its code (none expected).
    pub not_admitted: BTreeMap<String, u64>,
    /// Transactions not committed in time.
    pub lost: u64,
    /// The first failures, one line each.
    pub failures: Vec<String>,
    /// Documents read back at the end.
    pub checked: usize,
    /// Of those, documents whose ledger state differs from what their steps imply.
    pub inconsistent: usize,
    /// The first differences found.
    pub inconsistencies: Vec<String>,
}

/// One document's plan and what its steps learned.
#[derive(Debug, Clone)]
pub(crate) struct Doc {
    core: OrgId,
    seller: OrgId,
    tier2: OrgId,
    bank: OrgId,
    /// Order (and invoice) amount.
    amount: Money,
    /// The two parts of the split: the one passed on and financed, the one kept.
    parts_amounts: [Amount; 2],
    /// Which node the document's orgs submit to.
    api: usize,
    order: DocId,
    shipment: DocId,
    invoice: DocId,
    number: String,
    root: Option<DocId>,
    parts: Vec<DocId>,
    financing: Option<DocId>,
    offer: Option<DocId>,
    /// The net the bank disbursed.
    net: Option<Money>,
    settlement: Option<DocId>,
    /// Steps committed.
    done: usize,
    /// Height of the block the last step committed in: reads wait for it.
    height: u64,
}

/// How documents are started.
struct Drive {
    /// Stop starting after this many (`--total`).
    docs: Option<u64>,
    in_flight: usize,
    /// One start every `pace` (`--rate`).
    pace: Option<Duration>,
}

/// The running workload.
pub(crate) struct Life {
    chain_id: String,
    apis: Vec<Client>,
    rings: HashMap<OrgId, Keyring>,
    parties: Parties,
    commits: Arc<Commits>,
    utc_offset_minutes: i32,
    day_count: DayCount,
    stats: Stats,
    stop: AtomicBool,
}

fn cents(c: u64) -> Result<Amount> {
    Amount::parse(&format!("{}.{:02}", c / 100, c % 100)).map_err(|e| anyhow!("{c}: {e}"))
}

fn doc_id(s: String) -> Result<DocId> {
    DocId::new(s.clone()).map_err(|e| anyhow!("{s}: {e}"))
}

/// Sleeps past the business day's midnight when it is near, so the dates a step is
/// built with are the dates its block executes with.
async fn midnight_guard(utc_offset_minutes: i32) {
    let now = lianrong_node::api::now_ms() as i64 + i64::from(utc_offset_minutes) * 60_000;
    let into_day = now.rem_euclid(DAY_MS);
    let wait = if into_day > DAY_MS - MIDNIGHT_MARGIN_MS {
        DAY_MS - into_day + MIDNIGHT_MARGIN_MS
    } else if into_day < MIDNIGHT_MARGIN_MS {
        MIDNIGHT_MARGIN_MS - into_day
    } else {
        0
    };
    if wait > 0 {
        tokio::time::sleep(Duration::from_millis(wait as u64)).await;
    }
}

fn first<T>(events: &[Event], f: impl Fn(&Event) -> Option<T>) -> Option<T> {
    events.iter().find_map(f)
}

/// Takes the ids and figures a step's events carry that later steps need.
fn learn(doc: &mut Doc, step: usize, events: &[Event]) {
    match STEPS[step] {
        "register_invoice" => {
            doc.root = first(events, |e| match e {
                Event::ReceivableIssued { receivable, .. } => Some(receivable.clone()),
                _ => None,
            })
        }
        "split_receivable" => {
            doc.parts = first(events, |e| match e {
                Event::ReceivableSplit { parts, .. } => Some(parts.clone()),
                _ => None,
            })
            .unwrap_or_default()
        }
        "request_financing" => {
            doc.financing = first(events, |e| match e {
                Event::FinancingRequested { financing, .. } => Some(financing.clone()),
                _ => None,
            })
        }
        "offer_financing" => {
            doc.offer = first(events, |e| match e {
                Event::OfferMade { offer, .. } => Some(offer.clone()),
                _ => None,
            })
        }
        "disburse" => {
            doc.net = first(events, |e| match e {
                Event::FinancingDisbursed { net, .. } => Some(*net),
                _ => None,
            })
        }
        "repay" => {
            doc.settlement = first(events, |e| match e {
                Event::SettlementInstructed { settlement, .. } => Some(settlement.clone()),
                _ => None,
            })
        }
        _ => {}
    }
}

impl Life {
    fn new(
        chain_id: &str,
        apis: &[Client],
        parties: Parties,
        commits: Arc<Commits>,
        params: (i32, DayCount),
    ) -> Life {
        let rings = parties
            .keys
            .iter()
            .map(|(org, keys)| {
                let slots = keys
                    .iter()
                    .map(|k| Slot {
                        key: k.clone(),
                        org: org.clone(),
                        next: tokio::sync::Mutex::new(0),
                    })
                    .collect();
                let ring = Keyring {
                    slots,
                    turn: AtomicUsize::new(0),
                };
                (org.clone(), ring)
            })
            .collect();
        Life {
            chain_id: chain_id.to_string(),
            apis: apis.to_vec(),
            rings,
            parties,
            commits,
            utc_offset_minutes: params.0,
            day_count: params.1,
            stats: Stats::default(),
            stop: AtomicBool::new(false),
        }
    }

    /// The plan of document `n`: its parties round the cast, its amount varied.
    fn plan(&self, n: u64) -> Result<Doc> {
        let p = &self.parties;
        let i = n as usize;
        let s = p.suppliers.len();
        // 100,000.00 CNY and up, varied to the cent.
        let face = 10_000_000 + (n % 97) * 100_000 + n % 100;
        let kept = face * 2 / 5;
        let currency = Money::parse("1.00", "CNY")?.currency;
        Ok(Doc {
            core: p.cores[i % p.cores.len()].clone(),
            seller: p.suppliers[i % s].clone(),
            tier2: p.suppliers[(i + 1 + i / s % (s - 1)) % s].clone(),
            bank: p.banks[(i / p.cores.len()) % p.banks.len()].clone(),
            amount: Money {
                amount: cents(face)?,
                currency,
            },
            parts_amounts: [cents(face - kept)?, cents(kept)?],
            api: i % self.apis.len(),
            order: doc_id(format!("PO-LC-{n}"))?,
            shipment: doc_id(format!("SHP-LC-{n}"))?,
            invoice: doc_id(format!("INV-LC-{n}"))?,
            number: format!("LC-{n}"),
            root: None,
            parts: Vec::new(),
            financing: None,
            offer: None,
            net: None,
            settlement: None,
            done: 0,
            height: 0,
        })
    }

    fn today(&self) -> Result<NaiveDate> {
        business_date(lianrong_node::api::now_ms(), self.utc_offset_minutes)
            .ok_or_else(|| anyhow!("the clock is past the calendar's range"))
    }

    fn tax_id(&self, org: &OrgId) -> Result<String> {
        self.parties
            .tax_ids
            .get(org)
            .cloned()
            .ok_or_else(|| anyhow!("no tax id of {org}"))
    }

    /// The trade steps: order, acceptance, shipment, delivery, invoice.
    fn trade_action(&self, doc: &Doc, step: usize) -> Result<(OrgId, Action)> {
        let carrier = self.parties.carrier.clone();
        Ok(match STEPS[step] {
            "issue_order" => (
                doc.core.clone(),
                Action::IssueOrder {
                    id: doc.order.clone(),
                    seller: doc.seller.clone(),
                    amount: doc.amount,
                    terms: "net 90".into(),
                    doc_hash: sha256(doc.order.as_str().as_bytes()),
                    carriers: vec![carrier],
                },
            ),
            "accept_order" => (
                doc.seller.clone(),
                Action::AcceptOrder {
                    order: doc.order.clone(),
                },
            ),
            "attest_shipment" => (
                carrier,
                Action::AttestShipment {
                    id: doc.shipment.clone(),
                    order: doc.order.clone(),
                    value: doc.amount,
                    doc_hash: sha256(doc.shipment.as_str().as_bytes()),
                },
            ),
            "confirm_delivery" => (
                carrier,
                Action::ConfirmDelivery {
                    shipment: doc.shipment.clone(),
                },
            ),
            _ => (doc.core.clone(), self.invoice_action(doc)?),
        })
    }

    fn invoice_action(&self, doc: &Doc) -> Result<Action> {
        let today = self.today()?;
        Ok(Action::RegisterInvoice {
            invoice: InvoiceSpec {
                id: doc.invoice.clone(),
                order: doc.order.clone(),
                number: doc.number.clone(),
                issue_date: today,
                due_date: today + Days::new(90),
                maturity: None,
                amount: doc.amount,
                seller_tax_id: self.tax_id(&doc.seller)?,
                buyer_tax_id: self.tax_id(&doc.core)?,
                doc_hash: sha256(doc.invoice.as_str().as_bytes()),
            },
            confirm: true,
        })
    }

    /// The receivable and financing steps; disburse and repay read the ledger first.
    async fn finance_action(&self, doc: &Doc, step: usize) -> Result<(OrgId, Action)> {
        let need = |v: &Option<DocId>, what: &str| {
            v.clone()
                .ok_or_else(|| anyhow!("{}: no {what} learned", doc.order))
        };
        let part = doc.parts.first().cloned();
        Ok(match STEPS[step] {
            "split_receivable" => (
                doc.seller.clone(),
                Action::SplitReceivable {
                    receivable: need(&doc.root, "receivable")?,
                    parts: doc.parts_amounts.to_vec(),
                },
            ),
            "transfer_receivable" => (
                doc.seller.clone(),
                Action::TransferReceivable {
                    receivable: need(&part, "part")?,
                    to: doc.tier2.clone(),
                },
            ),
            "request_financing" => (
                doc.tier2.clone(),
                Action::RequestFinancing {
                    receivable: need(&part, "part")?,
                    banks: vec![doc.bank.clone()],
                },
            ),
            "offer_financing" => (
                doc.bank.clone(),
                Action::OfferFinancing {
                    financing: need(&doc.financing, "financing")?,
                    rate: Rate::parse("3.65")?,
                    fees: Amount::ZERO,
                    valid_until: self.today()? + Days::new(7),
                },
            ),
            "accept_offer" => (
                doc.tier2.clone(),
                Action::AcceptOffer {
                    offer: need(&doc.offer, "offer")?,
                },
            ),
            _ => self.settle_action(doc, step).await?,
        })
    }

    /// Disbursement, its acknowledgement, repayment and its acknowledgement.
    async fn settle_action(&self, doc: &Doc, step: usize) -> Result<(OrgId, Action)> {
        let financing = doc
            .financing
            .clone()
            .ok_or_else(|| anyhow!("{}: no financing learned", doc.order))?;
        Ok(match STEPS[step] {
            "disburse" => (
                doc.bank.clone(),
                Action::Disburse {
                    financing: financing.clone(),
                    payment_ref: format!("LC-DISB-{}", doc.number),
                    net: self.net_as_of_today(doc, &financing).await?,
                },
            ),
            "acknowledge_disbursement" => (
                doc.tier2.clone(),
                Action::AcknowledgeDisbursement { financing },
            ),
            "repay" => self.repay_action(doc).await?,
            _ => (
                doc.bank.clone(),
                Action::AcknowledgeSettlement {
                    settlement: doc
                        .settlement
                        .clone()
                        .ok_or_else(|| anyhow!("{}: no settlement learned", doc.order))?,
                },
            ),
        })
    }

    /// The net a disbursement today must state, as the ledger computes it: the accepted
    /// terms read back (advanced = net + discount + fees as quoted at acceptance), the
    /// discount on it counted again from the ledger's date to the receivable's maturity.
    async fn net_as_of_today(&self, doc: &Doc, financing: &DocId) -> Result<Amount> {
        let api = self.reader(doc).await?;
        let f = api.financing(financing).await?;
        let terms = f
            .terms
            .ok_or_else(|| anyhow!("{financing} has no accepted terms"))?;
        let r = api.receivable(&f.receivable).await?;
        // The ledger's date, as `financing disburse` reads it; the last finalized block
        // may be from before midnight when blocks are slow, so never an earlier date
        // than this machine's (whose clock the validators' block times follow).
        let st = api.status().await?;
        let ledger = business_date(st.last_finalized_at_ms, st.params.utc_offset_minutes)
            .ok_or_else(|| anyhow!("the ledger's date is out of range"))?;
        let today = ledger.max(self.today()?);
        let days = u32::try_from((r.maturity - today).num_days())
            .map_err(|_| anyhow!("{} is past maturity", r.id))?;
        let advanced = Money {
            amount: terms
                .net
                .amount
                .checked_add(terms.discount.amount)?
                .checked_add(terms.fees.amount)?,
            currency: terms.net.currency,
        };
        let disc = discount(&advanced, terms.rate, days, self.day_count)?;
        advanced
            .amount
            .checked_sub(disc.amount)
            .and_then(|n| n.checked_sub(terms.fees.amount))
            .ok_or_else(|| anyhow!("nothing left to pay on {financing}"))
    }

    /// The debtor repays the financed part's outstanding amount to its holder, both read
    /// back from the ledger (the bank, since the disbursement assigned it).
    async fn repay_action(&self, doc: &Doc) -> Result<(OrgId, Action)> {
        let part = doc
            .parts
            .first()
            .cloned()
            .ok_or_else(|| anyhow!("{}: no part learned", doc.order))?;
        let r = self.reader(doc).await?.receivable(&part).await?;
        let outstanding = r
            .face
            .amount
            .checked_sub(r.repaid)
            .ok_or_else(|| anyhow!("{part} repaid more than its face"))?;
        Ok((
            doc.core.clone(),
            Action::Repay {
                receivable: part,
                payee: r.holder,
                amount: outstanding,
                payment_ref: format!("LC-PAY-{}", doc.number),
            },
        ))
    }

    /// The document's node once it has applied the block of the document's last step
    /// (the commit may have been seen on another node first).
    async fn reader(&self, doc: &Doc) -> Result<&Client> {
        let api = &self.apis[doc.api];
        let deadline = Instant::now() + COMMIT_TIMEOUT;
        while api.status().await?.height < doc.height {
            if Instant::now() > deadline {
                bail!("{} did not reach block {}", api.base_url(), doc.height);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(api)
    }

    /// Signs `action` with one of `org`'s keys, gets it admitted and waits for its
    /// commit.
    async fn commit(
        &self,
        org: &OrgId,
        action: Action,
        api: &Client,
    ) -> Result<(u64, Vec<Event>), StepFail> {
        let slot = self
            .rings
            .get(org)
            .and_then(Keyring::pick)
            .ok_or_else(|| StepFail::NotAdmitted(format!("no key of {org}")))?;
        let (hash, rx) = self.admit(slot, action, api).await?;
        match self.commits.wait(api, hash, rx).await {
            Ok(Outcome::Done(height, events)) => Ok((height, events)),
            Ok(Outcome::Refused(code, msg)) => Err(StepFail::Refused(code, msg)),
            Err(e) => Err(StepFail::Lost(e)),
        }
    }

    /// Signs with the slot's next nonce and submits until the node holds it. The same
    /// bytes are sent again after a transport failure; `nonce_taken` and `stale_nonce`
    /// for them mean an earlier attempt got in (only this task signs with the slot now).
    async fn admit(
        &self,
        slot: &Slot,
        action: Action,
        api: &Client,
    ) -> Result<(Hash, oneshot::Receiver<Outcome>), StepFail> {
        let mut next = slot.next.lock().await;
        let tx = Transaction {
            chain_id: self.chain_id.clone(),
            signer: Signer {
                org: slot.org.clone(),
                key: slot.key.public(),
            },
            nonce: *next,
            action,
        }
        .sign(&slot.key);
        let hash = tx.hash();
        let rx = self
            .commits
            .expect(hash)
            .ok_or_else(|| StepFail::NotAdmitted("too many transactions waited on".into()))?;
        let deadline = Instant::now() + COMMIT_TIMEOUT;
        let mut pause = Duration::from_millis(20);
        loop {
            match api.submit_signed(&tx, false).await {
                Ok(_) => break,
                Err(e) if matches!(e.code(), Some("nonce_taken" | "stale_nonce")) => break,
                Err(e) if e.is_retryable() && Instant::now() < deadline => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                Err(e) => {
                    self.commits.forget(&hash);
                    return Err(StepFail::NotAdmitted(
                        e.code()
                            .map(str::to_string)
                            .unwrap_or_else(|| e.to_string()),
                    ));
                }
            }
        }
        *next += 1;
        self.commits.note_admitted();
        Ok((hash, rx))
    }

    /// One document through its life (or until the run stops, or a step fails).
    async fn walk(self: Arc<Self>, mut doc: Doc) -> Doc {
        self.stats.started.fetch_add(1, Ordering::Relaxed);
        for step in 0..STEPS.len() {
            if step > 0 && self.stop.load(Ordering::SeqCst) {
                return doc;
            }
            midnight_guard(self.utc_offset_minutes).await;
            let api = &self.apis[doc.api];
            let action = if step < 5 {
                self.trade_action(&doc, step)
            } else {
                self.finance_action(&doc, step).await
            };
            let result = match action {
                Ok((org, action)) => self.commit(&org, action, api).await,
                Err(e) => Err(StepFail::Lost(format!("{e:#}"))),
            };
            match result {
                Ok((height, events)) => {
                    learn(&mut doc, step, &events);
                    doc.done = step + 1;
                    doc.height = height;
                    self.stats.steps[step].fetch_add(1, Ordering::Relaxed);
                }
                Err(fail) => {
                    self.stats.note(&doc, step, &fail);
                    return doc;
                }
            }
        }
        self.stats.completed.fetch_add(1, Ordering::Relaxed);
        doc
    }

    /// Starts documents and keeps up to `in_flight` going until told to stop (or
    /// `docs` were started); returns the finished documents kept for the check.
    async fn drive(self: Arc<Self>, plan: Drive) -> Result<Vec<Doc>> {
        let mut set = tokio::task::JoinSet::new();
        let mut kept = Vec::new();
        let mut n = 0u64;
        let mut ticks = plan.pace.map(|p| {
            let mut t = tokio::time::interval(p);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            t
        });
        loop {
            while let Some(done) = set.try_join_next() {
                keep(&mut kept, done.context("a document's task failed")?);
            }
            let more = !self.stop.load(Ordering::SeqCst) && plan.docs.is_none_or(|d| n < d);
            if more && set.len() < plan.in_flight {
                if let Some(t) = ticks.as_mut() {
                    t.tick().await;
                }
                set.spawn(self.clone().walk(self.plan(n)?));
                n += 1;
                continue;
            }
            match set.join_next().await {
                Some(done) => keep(&mut kept, done.context("a document's task failed")?),
                None if !more => break,
                None => {}
            }
        }
        Ok(kept)
    }
}

/// Keeps the first [`MAX_KEPT`] finished documents.
fn keep(kept: &mut Vec<Doc>, doc: Doc) {
    if kept.len() < MAX_KEPT {
        kept.push(doc);
    }
}

/// What the lifecycle run hands back to the bench.
pub(crate) struct LifeRun {
    pub measured: super::Measured,
    pub latencies: Vec<f64>,
    pub admitted: u64,
    pub figures: LifecycleFigures,
}

/// Runs the workload on the started network: with `--total`, ⌈N / 14⌉ documents whose
/// lives are all measured; otherwise documents keep starting through the warm-up and
/// the measured seconds, then each stops after its current step. Every kept document is
/// read back (up to [`MAX_CHECKED`]) and compared with what its committed steps imply.
pub(crate) async fn run(
    opts: &super::BenchOptions,
    nodes: &super::Nodes,
    apis: &[Client],
    chain_id: &str,
    parties: Parties,
    timeline: &Arc<super::series::Timeline>,
) -> Result<LifeRun> {
    let st = apis[0].status().await?;
    let commits = Arc::new(Commits::new(timeline.clone()));
    let stop_follow = Arc::new(AtomicBool::new(false));
    let follower = tokio::spawn(commits.clone().follow(apis[0].clone(), stop_follow.clone()));
    let keys = parties.public_keys();
    let params = (st.params.utc_offset_minutes, st.params.day_count);
    let life = Arc::new(Life::new(chain_id, apis, parties, commits.clone(), params));
    let pace = opts
        .rate
        .map(|r| Duration::from_secs_f64(STEPS.len() as f64 / f64::from(r)));
    let plan = Drive {
        docs: opts.total.map(|t| t.div_ceil(STEPS.len() as u64)),
        in_flight: if pace.is_some() {
            MAX_IN_FLIGHT
        } else {
            opts.keys
        },
        pace,
    };
    let set_measuring = |on: bool| commits.set_measuring(on);
    let (measured, docs) = if opts.total.is_some() {
        // The first document starts when the measured period does: every life counts.
        let period = life.clone().drive(plan);
        super::measure(nodes, &apis[0], &keys, timeline, &set_measuring, period).await?
    } else {
        let mut driver = tokio::spawn(life.clone().drive(plan));
        tokio::time::sleep(opts.warmup).await;
        let period = async {
            tokio::time::sleep(opts.duration).await;
            Ok(())
        };
        let m = super::measure(nodes, &apis[0], &keys, timeline, &set_measuring, period).await?;
        life.stop.store(true, Ordering::SeqCst);
        let docs = (&mut driver)
            .await
            .context("the document driver failed")??;
        (m.0, docs)
    };
    let latencies = commits.take_latencies();
    let (checked, inconsistent, lines) = check::read_back(&life, &docs).await?;
    stop_follow.store(true, Ordering::SeqCst);
    follower.abort();
    Ok(LifeRun {
        measured,
        latencies,
        admitted: commits.admitted(),
        figures: figures(&life.stats, checked, inconsistent, lines),
    })
}

fn figures(
    stats: &Stats,
    checked: usize,
    inconsistent: usize,
    lines: Vec<String>,
) -> LifecycleFigures {
    let map = |m: &Mutex<BTreeMap<String, u64>>| m.lock().map(|m| m.clone()).unwrap_or_default();
    LifecycleFigures {
        documents_started: stats.started.load(Ordering::SeqCst),
        documents_completed: stats.completed.load(Ordering::SeqCst),
        steps: STEPS
            .iter()
            .zip(&stats.steps)
            .map(|(name, n)| (name.to_string(), n.load(Ordering::SeqCst)))
            .collect(),
        refused: map(&stats.refused),
        not_admitted: map(&stats.not_admitted),
        lost: stats.lost.load(Ordering::SeqCst),
        failures: stats.failures.lock().map(|f| f.clone()).unwrap_or_default(),
        checked,
        inconsistent,
        inconsistencies: lines.into_iter().take(MAX_FAILURE_LINES).collect(),
    }
}

/// Refuses options the lifecycle cannot honour.
pub fn check_options(opts: &super::BenchOptions) -> Result<()> {
    if opts.batch > 1 {
        bail!("--batch applies to --workload orders only (each lifecycle step waits on the one before)");
    }
    Ok(())
}
