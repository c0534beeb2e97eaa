//! Waiting on commits for many documents at once: a step registers its transaction's
//! hash before submitting it, one follower of the node's event stream hands each
//! committed receipt to its waiter, and a waiter that heard nothing for a while asks
//! `GET /v1/transactions/{hash}` itself (the stream may have skipped blocks).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use lianrong_contracts::{Event, Receipt};
use lianrong_primitives::Hash;
use lianrong_sdk::{Client, NodeEvent};
use tokio::sync::oneshot;

use super::series::Timeline;

/// How long a waiter trusts the event stream before polling.
const QUIET: Duration = Duration::from_secs(2);
/// How long a transaction may take to commit before the bench gives up on it.
pub const COMMIT_TIMEOUT: Duration = Duration::from_secs(120);
/// Most transactions waited on at once (each document has one in flight).
const MAX_WAITERS: usize = 100_000;

/// The ledger's answer to a committed transaction.
#[derive(Debug)]
pub enum Outcome {
    /// Executed in the block at this height: what changed.
    Done(u64, Vec<Event>),
    /// Refused by the rules: the contract's code and message.
    Refused(String, String),
}

struct Waiter {
    sent: Instant,
    reply: oneshot::Sender<Outcome>,
}

/// Transactions waited on.
pub struct Commits {
    waiters: Mutex<HashMap<Hash, Waiter>>,
    timeline: Arc<Timeline>,
    /// Finality (ms) of every commit seen while measuring.
    latencies: Mutex<Vec<f64>>,
    measuring: AtomicBool,
    /// Transactions admitted while measuring.
    admitted: AtomicU64,
    /// The highest block a receipt was delivered from.
    highest: AtomicU64,
}

fn outcome(height: u64, receipt: Receipt) -> Outcome {
    match receipt.outcome {
        Ok(events) => Outcome::Done(height, events),
        Err(e) => Outcome::Refused(e.code().to_string(), e.to_string()),
    }
}

impl Commits {
    /// No waiters yet.
    pub fn new(timeline: Arc<Timeline>) -> Commits {
        Commits {
            waiters: Mutex::new(HashMap::new()),
            timeline,
            latencies: Mutex::new(Vec::new()),
            measuring: AtomicBool::new(false),
            admitted: AtomicU64::new(0),
            highest: AtomicU64::new(0),
        }
    }

    /// The highest block any committed receipt was heard from: the node it came from
    /// has written that block, though its `/v1/status` may not say so yet.
    pub fn highest(&self) -> u64 {
        self.highest.load(Ordering::SeqCst)
    }

    /// Latencies count from now on (`true`) or no more.
    pub fn set_measuring(&self, on: bool) {
        self.measuring.store(on, Ordering::SeqCst);
    }

    /// A transaction was admitted (counted while measuring).
    pub fn note_admitted(&self) {
        if self.measuring.load(Ordering::SeqCst) {
            self.admitted.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Transactions admitted while measuring.
    pub fn admitted(&self) -> u64 {
        self.admitted.load(Ordering::SeqCst)
    }

    /// The latencies sampled while measuring.
    pub fn take_latencies(&self) -> Vec<f64> {
        self.latencies
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default()
    }

    /// Registers `hash` (before it is submitted, so no commit can be missed); `None`
    /// when too many are waited on already.
    pub fn expect(&self, hash: Hash) -> Option<oneshot::Receiver<Outcome>> {
        let (reply, rx) = oneshot::channel();
        let mut w = self.waiters.lock().ok()?;
        if w.len() >= MAX_WAITERS {
            return None;
        }
        w.insert(
            hash,
            Waiter {
                sent: Instant::now(),
                reply,
            },
        );
        Some(rx)
    }

    /// Stops waiting for `hash` (it was not admitted).
    pub fn forget(&self, hash: &Hash) {
        if let Ok(mut w) = self.waiters.lock() {
            w.remove(hash);
        }
    }

    /// The committed receipts of a block (or one polled answer): each waiter is told once.
    fn deliver(&self, height: u64, receipts: Vec<Receipt>) {
        self.highest.fetch_max(height, Ordering::SeqCst);
        let now = Instant::now();
        let mut lat = Vec::new();
        let mut n = 0;
        if let Ok(mut w) = self.waiters.lock() {
            for r in receipts.into_iter().filter(|r| r.committed()) {
                if let Some(waiter) = w.remove(&r.tx_hash) {
                    lat.push(now.duration_since(waiter.sent).as_secs_f64() * 1000.0);
                    n += 1;
                    let _ = waiter.reply.send(outcome(height, r));
                }
            }
        }
        self.timeline.record(now, n, &lat);
        if self.measuring.load(Ordering::SeqCst) {
            if let Ok(mut l) = self.latencies.lock() {
                l.extend(lat);
            }
        }
    }

    /// Waits for `hash` to commit: told by the follower, or found by polling `api`.
    pub async fn wait(
        &self,
        api: &Client,
        hash: Hash,
        mut rx: oneshot::Receiver<Outcome>,
    ) -> Result<Outcome, String> {
        let deadline = Instant::now() + COMMIT_TIMEOUT;
        loop {
            if let Ok(answer) = tokio::time::timeout(QUIET, &mut rx).await {
                return answer.map_err(|_| "the commit tracker stopped".to_string());
            }
            if let Ok(t) = api.transaction(&hash).await {
                if let Some(receipt) = t.receipt {
                    self.deliver(t.height, vec![receipt]);
                }
            }
            if Instant::now() > deadline {
                self.forget(&hash);
                return Err(format!("not committed within {COMMIT_TIMEOUT:?}"));
            }
        }
    }

    /// Follows `api`'s event stream until `stop`, reconnecting when it ends.
    pub async fn follow(self: Arc<Self>, api: Client, stop: Arc<AtomicBool>) {
        while !stop.load(Ordering::SeqCst) {
            if let Ok(mut events) = api.events().await {
                while let Some(Ok(event)) = events.next().await {
                    if let NodeEvent::Block(block) = event {
                        let block = *block;
                        self.deliver(block.height, block.receipts);
                    }
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
