//! One phase of the preload: every lane (one member key and the items it signs, in
//! nonce order) submits batches through `POST /v1/transactions/batch` while at most
//! [`WINDOW_PER_KEY`] of its transactions and [`MAX_IN_FLIGHT`] of all are uncommitted;
//! each committed receipt comes from the event stream (or a poll, [`Commits`]) and its
//! events go into the [`Tally`]. The phase ends when every lane's transactions are
//! committed, refused or given up: the next phase may build on all of them.
//!
//! Transactions within a lane may depend on each other (a shipment and its delivery by
//! one carrier key): nonce order is execution order.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lianrong_contracts::{SignedTransaction, Signer, Transaction};
use lianrong_primitives::{Hash, OrgId, SecretKey};
use lianrong_sdk::{Client, SubmitStatus};
use serde::Serialize;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use super::plan::{Item, Plan};
use super::tally::Tally;
use crate::bench::commits::{Commits, Outcome};

/// Uncommitted transactions of one key (below the mempool's per-signer limit of 512).
const WINDOW_PER_KEY: usize = 192;
/// Uncommitted transactions of all lanes together: two full blocks (2,000 each), so
/// the network never waits for the bench, and few enough that the queue ahead of a
/// transaction clears well within the commit tracker's 120 s even at a debug build's
/// ~100 tx/s (8,192 queued for up to 130 s, and the busiest runs lost some).
const MAX_IN_FLIGHT: usize = 4_096;
/// How long a lane keeps offering a batch the nodes do not admit before giving up on
/// the rest of its items.
const ADMIT_TIMEOUT: Duration = Duration::from_secs(120);
/// Pause before offering a batch again.
const RETRY_PAUSE: Duration = Duration::from_millis(50);
/// Failure lines kept per phase.
const MAX_FAILURE_LINES: usize = 10;

/// One member key and what it signs, in order.
pub struct Lane {
    /// The key.
    pub key: SecretKey,
    /// Its org.
    pub org: OrgId,
    /// Its transactions.
    pub items: Vec<Item>,
}

/// What every phase shares.
pub struct Shared {
    /// One client per node; lane `i` submits to node `i % len`.
    pub apis: Vec<Client>,
    /// The chain signed for.
    pub chain_id: String,
    /// Commit waiters (one follower of the first node's event stream).
    pub commits: Arc<Commits>,
    /// Transactions per request.
    pub batch: usize,
    /// The shape of the preload.
    pub plan: Plan,
    /// The expected ledger.
    pub tally: Mutex<Tally>,
    /// Uncommitted transactions of all lanes.
    in_flight: Arc<Semaphore>,
}

impl Shared {
    /// Ready for the first phase.
    pub fn new(
        apis: Vec<Client>,
        chain_id: String,
        commits: Arc<Commits>,
        batch: usize,
        plan: Plan,
    ) -> Shared {
        Shared {
            apis,
            chain_id,
            commits,
            batch,
            plan,
            tally: Mutex::new(Tally::default()),
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        }
    }
}

/// A phase's counts (under `preload.phases` in `--json`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PhaseFigures {
    /// `orders`, `accept`, `ship`, `invoices`, `mix`, `acknowledge`.
    pub name: String,
    /// Transactions the phase meant to submit.
    pub transactions: u64,
    /// Committed and executed.
    pub committed: u64,
    /// Committed but refused by the rules, by the contract's code (none expected).
    pub refused: BTreeMap<String, u64>,
    /// Not admitted by a node, by its code (none expected).
    pub not_admitted: BTreeMap<String, u64>,
    /// Admitted but not seen committed in time.
    pub lost: u64,
    /// The first failures (org, nonce, why), one line each.
    pub failures: Vec<String>,
    /// Wall time of the phase.
    pub seconds: f64,
    /// Executed transactions per second of the phase.
    pub tx_per_second: f64,
}

#[derive(Default)]
struct Counts {
    committed: AtomicU64,
    lost: AtomicU64,
    refused: Mutex<BTreeMap<String, u64>>,
    not_admitted: Mutex<BTreeMap<String, u64>>,
    failures: Mutex<Vec<String>>,
}

impl Counts {
    fn fail(&self, line: String) {
        if let Ok(mut f) = self.failures.lock() {
            if f.len() < MAX_FAILURE_LINES {
                f.push(line);
            }
        }
    }
}

fn bump(m: &Mutex<BTreeMap<String, u64>>, code: &str, n: u64) {
    if let Ok(mut m) = m.lock() {
        *m.entry(code.to_string()).or_default() += n;
    }
}

/// Runs the lanes to the end of the phase.
pub async fn run_phase(shared: &Arc<Shared>, name: &str, lanes: Vec<Lane>) -> PhaseFigures {
    let started = Instant::now();
    let transactions = lanes.iter().map(|l| l.items.len() as u64).sum();
    let counts = Arc::new(Counts::default());
    let mut set = JoinSet::new();
    for (i, lane) in lanes.into_iter().enumerate() {
        if !lane.items.is_empty() {
            set.spawn(run_lane(shared.clone(), counts.clone(), lane, i));
        }
    }
    while set.join_next().await.is_some() {}
    let seconds = started.elapsed().as_secs_f64();
    let committed = counts.committed.load(Ordering::SeqCst);
    let map = |m: &Mutex<BTreeMap<String, u64>>| m.lock().map(|m| m.clone()).unwrap_or_default();
    PhaseFigures {
        name: name.to_string(),
        transactions,
        committed,
        refused: map(&counts.refused),
        not_admitted: map(&counts.not_admitted),
        lost: counts.lost.load(Ordering::SeqCst),
        failures: counts
            .failures
            .lock()
            .map(|f| f.clone())
            .unwrap_or_default(),
        seconds,
        tx_per_second: committed as f64 / seconds.max(1e-9),
    }
}

/// A batch the node holds: its waiters and the permits it keeps until all committed.
struct Admitted {
    org: OrgId,
    first_nonce: u64,
    waits: Vec<(Hash, oneshot::Receiver<Outcome>)>,
    permits: (OwnedSemaphorePermit, OwnedSemaphorePermit),
}

/// One lane: batches signed from the key's committed nonce on, each admitted before the
/// next is signed; a waiter per batch counts its outcomes.
async fn run_lane(shared: Arc<Shared>, counts: Arc<Counts>, lane: Lane, i: usize) {
    let api = shared.apis[i % shared.apis.len()].clone();
    let mut nonce = match api.key_info(&lane.key.public()).await {
        Ok(info) => info.next_nonce,
        Err(e) => {
            let code = e.code().unwrap_or("key_info failed").to_string();
            bump(&counts.not_admitted, &code, lane.items.len() as u64);
            return;
        }
    };
    let window = Arc::new(Semaphore::new(WINDOW_PER_KEY));
    let mut waiters = JoinSet::new();
    let mut at = 0;
    while at < lane.items.len() {
        let n = shared
            .batch
            .clamp(1, WINDOW_PER_KEY)
            .min(lane.items.len() - at);
        let permits = match acquire(&shared.in_flight, &window, n).await {
            Some(p) => p,
            None => break,
        };
        let Some(txs) = sign(&shared, &lane, &lane.items[at..at + n], nonce) else {
            bump(&counts.not_admitted, "bench: unbuildable action", n as u64);
            at += n;
            continue;
        };
        match admit(&shared, &api, &txs).await {
            Ok(waits) => {
                let k = waits.len();
                for _ in 0..k {
                    shared.commits.note_admitted();
                }
                let admitted = Admitted {
                    org: lane.org.clone(),
                    first_nonce: nonce,
                    waits,
                    permits,
                };
                waiters.spawn(wait_batch(
                    shared.clone(),
                    counts.clone(),
                    api.clone(),
                    admitted,
                ));
                at += k;
                nonce += k as u64;
            }
            Err(code) => {
                bump(&counts.not_admitted, &code, (lane.items.len() - at) as u64);
                counts.fail(format!("{} nonce {nonce}: not admitted: {code}", lane.org));
                break;
            }
        }
    }
    while waiters.join_next().await.is_some() {}
}

/// `n` permits of both the phase's and the lane's bound (`None` once closed).
async fn acquire(
    all: &Arc<Semaphore>,
    lane: &Arc<Semaphore>,
    n: usize,
) -> Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
    let n = u32::try_from(n).ok()?;
    let mine = lane.clone().acquire_many_owned(n).await.ok()?;
    let global = all.clone().acquire_many_owned(n).await.ok()?;
    Some((global, mine))
}

/// The lane's transactions for `items` from `nonce` on.
fn sign(
    shared: &Shared,
    lane: &Lane,
    items: &[Item],
    nonce: u64,
) -> Option<Vec<SignedTransaction>> {
    items
        .iter()
        .zip(nonce..)
        .map(|(item, n)| {
            let action = shared.plan.action(*item).ok()?;
            let tx = Transaction {
                chain_id: shared.chain_id.clone(),
                signer: Signer {
                    org: lane.org.clone(),
                    key: lane.key.public(),
                },
                nonce: n,
                action,
            };
            Some(tx.sign(&lane.key))
        })
        .collect()
}

/// Offers `txs` until the node holds a first part of them (`nonce_taken` and
/// `stale_nonce` for these very bytes mean an earlier answer was lost); the waiters of
/// that part, registered before sending so no commit is missed. The last refusal's code
/// once [`ADMIT_TIMEOUT`] passed without progress.
async fn admit(
    shared: &Shared,
    api: &Client,
    txs: &[SignedTransaction],
) -> Result<Vec<(Hash, oneshot::Receiver<Outcome>)>, String> {
    let deadline = Instant::now() + ADMIT_TIMEOUT;
    loop {
        let mut waits = Vec::with_capacity(txs.len());
        for t in txs {
            match shared.commits.expect(t.hash()) {
                Some(rx) => waits.push((t.hash(), rx)),
                None => break,
            }
        }
        let (held, code) = if waits.len() == txs.len() {
            offer(api, txs).await
        } else {
            (0, "too many transactions waited on".to_string())
        };
        for (h, _) in waits.iter().skip(held) {
            shared.commits.forget(h);
        }
        if held > 0 {
            waits.truncate(held);
            return Ok(waits);
        }
        if Instant::now() > deadline {
            return Err(code);
        }
        tokio::time::sleep(RETRY_PAUSE).await;
    }
}

/// Submits `txs` in one request: how many from the first the node holds, and the code
/// of the first it did not take.
async fn offer(api: &Client, txs: &[SignedTransaction]) -> (usize, String) {
    let answers = match api.submit_batch(txs).await {
        Ok(a) => a,
        Err(e) => return (0, e.code().unwrap_or("request failed").to_string()),
    };
    let held = answers
        .iter()
        .take_while(|r| {
            r.status == SubmitStatus::Pending
                || matches!(r.code.as_deref(), Some("nonce_taken" | "stale_nonce"))
        })
        .count();
    let code = answers
        .get(held)
        .and_then(|r| r.code.clone())
        .unwrap_or_else(|| "refused".to_string());
    (held, code)
}

/// Waits for a batch's transactions (in nonce order), counts their outcomes and tallies
/// their events; its permits go when it ends.
async fn wait_batch(shared: Arc<Shared>, counts: Arc<Counts>, api: Client, batch: Admitted) {
    let Admitted {
        org,
        first_nonce,
        waits,
        permits,
    } = batch;
    for ((hash, rx), nonce) in waits.into_iter().zip(first_nonce..) {
        match shared.commits.wait(&api, hash, rx).await {
            Ok(Outcome::Done(_, events)) => {
                counts.committed.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut t) = shared.tally.lock() {
                    t.apply(&events);
                }
            }
            Ok(Outcome::Refused(code, msg)) => {
                bump(&counts.refused, &code, 1);
                counts.fail(format!("{org} nonce {nonce}: refused ({code}): {msg}"));
            }
            Err(e) => {
                counts.lost.fetch_add(1, Ordering::Relaxed);
                let node = node_state(&api).await;
                counts.fail(format!("{org} nonce {nonce} ({hash}) at {node}: {e}"));
            }
        }
    }
    drop(permits);
}

/// Where a node stood when a transaction it admitted was given up on: its URL, height,
/// round, mempool and whether it was syncing.
async fn node_state(api: &Client) -> String {
    match api.status().await {
        Ok(s) => format!(
            "{} (height {}, round {}, mempool {}, syncing {}, {} peers)",
            api.base_url(),
            s.height,
            s.round,
            s.mempool,
            s.sync.syncing,
            s.peers.len()
        ),
        Err(e) => format!("{} (status: {e})", api.base_url()),
    }
}
