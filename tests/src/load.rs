//! A steady signed load for fault tests, and the checks every fault test ends with: every
//! admitted order final on every node, and one chain (same block hashes and state roots
//! at every height) everywhere.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lianrong_contracts::model::DocId;
use lianrong_contracts::money::Money;
use lianrong_contracts::Action;
use lianrong_primitives::{Hash, OrgId, SecretKey};

use crate::{sign, Cluster};

/// A client that keeps submitting purchase orders, nonce after nonce, to whichever of
/// `targets` answers. A nonce is done once a node admitted it or reports it as already
/// known (duplicate or used), so no nonce is skipped and none is signed twice.
pub struct Load {
    stop: Arc<AtomicBool>,
    targets: Arc<Mutex<Vec<usize>>>,
    sent: Vec<Arc<AtomicU64>>,
    admitted: Arc<Mutex<Vec<Hash>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// What one load client needs.
struct Client {
    org: String,
    key: SecretKey,
    token: String,
    chain: String,
    apis: Vec<String>,
    gap: Duration,
}

impl Load {
    /// One client per org, a 5 ms pause after each admitted order.
    pub fn start(c: &Cluster, orgs: &[&str], targets: Vec<usize>) -> Load {
        Self::start_with_gap(c, orgs, targets, Duration::from_millis(5))
    }

    /// Like `start`, each client waiting `gap` after each admitted transaction.
    pub fn start_with_gap(c: &Cluster, orgs: &[&str], targets: Vec<usize>, gap: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let targets = Arc::new(Mutex::new(targets));
        let admitted = Arc::new(Mutex::new(Vec::new()));
        let apis: Vec<String> = c.nodes.iter().map(|n| n.api.clone()).collect();
        let mut sent = Vec::new();
        let mut threads = Vec::new();
        for org in orgs {
            let counter = Arc::new(AtomicU64::new(0));
            sent.push(counter.clone());
            let client = Client {
                org: org.to_string(),
                key: c.member_key(org),
                token: c.token(org),
                chain: c.chain_id.clone(),
                apis: apis.clone(),
                gap,
            };
            let (stop, targets, admitted) = (stop.clone(), targets.clone(), admitted.clone());
            threads.push(std::thread::spawn(move || {
                load_loop(&client, &stop, &targets, &counter, &admitted)
            }));
        }
        Load {
            stop,
            targets,
            sent,
            admitted,
            threads,
        }
    }

    /// Sends to these nodes from now on.
    pub fn target(&self, nodes: Vec<usize>) {
        *self.targets.lock().unwrap() = nodes;
    }

    /// Every transaction admitted so far, in admission order per client.
    pub fn admitted(&self) -> Arc<Mutex<Vec<Hash>>> {
        self.admitted.clone()
    }

    /// Stops the clients; returns how many transactions each got admitted.
    pub fn finish(self) -> Vec<u64> {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads {
            t.join().unwrap();
        }
        self.sent.iter().map(|s| s.load(Ordering::SeqCst)).collect()
    }
}

/// The order an org's load client signs with `n`.
pub fn order(org: &str, n: u64) -> Action {
    Action::IssueOrder {
        id: DocId::new(format!("PO-{org}-{n}")).unwrap(),
        seller: OrgId::new("SUP-1").unwrap(),
        amount: Money::parse("250.00", "CNY").unwrap(),
        terms: "net 30".into(),
        doc_hash: Hash::ZERO,
        carriers: vec![],
    }
}

fn load_loop(
    c: &Client,
    stop: &AtomicBool,
    targets: &Mutex<Vec<usize>>,
    sent: &AtomicU64,
    admitted: &Mutex<Vec<Hash>>,
) {
    let mut nonce = 0u64;
    let mut attempt = 0usize;
    let mut tx = sign(&c.chain, &c.org, &c.key, nonce, order(&c.org, nonce));
    while !stop.load(Ordering::SeqCst) {
        let live = targets.lock().unwrap().clone();
        let node = live[attempt % live.len()];
        attempt += 1;
        let r = ureq::post(&format!("{}/v1/transactions", c.apis[node]))
            .set("Authorization", &format!("Bearer {}", c.token))
            .timeout(Duration::from_secs(5))
            .send_json(serde_json::json!({"tx": hex::encode(tx.encode())}));
        let done = match r {
            Ok(_) => true,
            // Already in that node's mempool (gossip got there first) or already final.
            Err(ureq::Error::Status(409, _)) => true,
            Err(_) => {
                // Node down or mempool full while consensus is stalled: try again later.
                std::thread::sleep(Duration::from_millis(50));
                false
            }
        };
        if done {
            admitted.lock().unwrap().push(tx.hash());
            nonce += 1;
            sent.store(nonce, Ordering::SeqCst);
            tx = sign(&c.chain, &c.org, &c.key, nonce, order(&c.org, nonce));
            // A steady trickle, not a flood: these tests are about faults, not throughput.
            std::thread::sleep(c.gap);
        }
    }
}

/// Node `i`'s round timeouts so far (`/metrics`): consensus time, which passes only as
/// rounds fail.
pub fn round_timeouts(c: &Cluster, i: usize) -> u64 {
    let text = ureq::get(&format!("{}/metrics", c.nodes[i].api))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("lianrong_round_timeouts_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no round timeout counter in /metrics:\n{text}"))
}

/// The heights of `nodes`.
pub fn heights(c: &Cluster, nodes: &[usize]) -> Vec<u64> {
    nodes.iter().map(|i| c.height(*i)).collect()
}

/// Block hash and state root of every height up to `top` agree on `nodes`.
pub fn assert_same_chain(c: &Cluster, nodes: &[usize], top: u64) {
    same_chain_placing_txs(c, nodes, top);
}

/// Block hash and state root of every height up to `top` agree on `nodes`; returns where
/// each executed transaction sits (as every node agrees, having the same blocks).
pub fn same_chain_placing_txs(c: &Cluster, nodes: &[usize], top: u64) -> HashMap<Hash, u64> {
    let mut placed = HashMap::new();
    for h in 1..=top {
        let path = format!("/v1/blocks/{h}");
        let first = c.get(nodes[0], &path, "AUDIT").unwrap();
        for i in &nodes[1..] {
            let b = c
                .get(*i, &path, "AUDIT")
                .unwrap_or_else(|e| panic!("{} lacks block {h}: {e:?}", c.nodes[*i].name));
            let who = &c.nodes[*i].name;
            assert_eq!(b["hash"], first["hash"], "block {h} differs on {who}");
            assert_eq!(
                b["state_root"], first["state_root"],
                "state root {h} differs on {who}"
            );
        }
        for t in first["tx_hashes"].as_array().into_iter().flatten() {
            let hash = Hash::from_hex(t.as_str().unwrap()).unwrap();
            placed.insert(hash, h);
        }
    }
    placed
}

/// Every order a client got admitted is final on every node: the last nonce of each org
/// is readable everywhere. Admission is not commitment, so like the SDK the check
/// resubmits the identical signed bytes of whatever is missing until it is final.
pub fn assert_orders_final_everywhere(c: &Cluster, orgs: &[&str], sent: &[u64]) {
    let all: Vec<usize> = (0..c.nodes.len()).collect();
    for (org, n) in orgs.iter().zip(sent) {
        assert!(*n > 20, "{org}: the load barely ran ({n} orders)");
        let last = format!("/v1/orders/PO-{org}-{}", n - 1);
        let secret = c.member_key(org);
        let key = secret.public();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut round = 0usize;
        while !all.iter().all(|&i| c.get(i, &last, "AUDIT").is_ok()) {
            // A transaction admitted by a validator that was killed before gossiping it
            // is gone, and its client (like the SDK) resubmits the identical signed bytes
            // until it is final.
            let next = all
                .iter()
                .copied()
                .filter_map(|i| c.get(i, &format!("/v1/keys/{key}"), "AUDIT").ok())
                .filter_map(|v| v["next_nonce"].as_u64())
                .min()
                .unwrap_or(0);
            for nonce in next..(*n).min(next + 64) {
                let tx = sign(&c.chain_id, org, &secret, nonce, order(org, nonce));
                let _ = c.submit(round % all.len(), &tx, org, false);
                round += 1;
            }
            assert!(
                Instant::now() < deadline,
                "{org}'s last order (nonce {}) is not final everywhere: {}\nbank log tail:\n{}",
                n - 1,
                nonce_report(c, &all, &key.to_string()),
                c.nodes[0].log_tail(30)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn nonce_report(c: &Cluster, nodes: &[usize], key: &str) -> String {
    let state: Vec<String> = nodes
        .iter()
        .map(|&i| {
            let k = c.get(i, &format!("/v1/keys/{key}"), "AUDIT");
            format!(
                "{}: height {} next nonce {:?}",
                c.nodes[i].name,
                c.height(i),
                k.map(|v| v["next_nonce"].clone())
            )
        })
        .collect();
    state.join("; ")
}

/// Waits until every one of `nodes` is at least `ahead` blocks past the highest of them
/// now; returns how long that took (the panic names the laggards and their logs' tails).
pub fn wait_progress(c: &Cluster, nodes: &[usize], ahead: u64, bound: Duration) -> Duration {
    let start = Instant::now();
    let from = heights(c, nodes).into_iter().max().unwrap_or(0);
    c.wait_nodes_height(nodes, from + ahead, bound);
    start.elapsed()
}
