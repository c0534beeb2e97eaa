//! What the harness asserts of a run, in a user's terms:
//! - every transaction a client saw committed (on any node, at any time) is in every
//!   node's ledger at the height it was seen at -- nothing a client was told is lost;
//! - every order the clients got admitted is final everywhere in the end;
//! - every node holds the same block hash and state root at every height;
//! - after each fault heals, every node is two blocks further within a bound;
//! - no node's resident memory or data folder passed its limit.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lianrong_primitives::Hash;

use super::schedule::{Fault, Schedule};
use super::{FaultNet, Options};
use crate::load::{assert_orders_final_everywhere, wait_progress, Load};

/// The orgs whose clients sign the load.
pub const LOAD_ORGS: [&str; 2] = ["CORE-A", "CORE-B"];

/// A run in progress: the load, the commit witness and the memory sampler.
pub struct Run {
    load: Load,
    stop: Arc<AtomicBool>,
    /// Transactions a client saw committed: hash -> height it was seen at.
    seen: Arc<Mutex<HashMap<Hash, u64>>>,
    /// Highest resident memory seen per node, bytes.
    rss: Arc<Mutex<Vec<u64>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
    recoveries: Vec<(String, Duration)>,
    disk_max: u64,
    started: Instant,
}

/// One run's figures, a row of the summary table.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub seed: u64,
    pub nodes: usize,
    pub faults: usize,
    pub admitted: u64,
    pub seen_committed: usize,
    pub height: u64,
    pub slowest_recovery: (String, Duration),
    pub rss_max_mib: u64,
    pub disk_max_mib: u64,
    pub lost: usize,
    pub wall: Duration,
}

impl Run {
    /// Starts the load on every node, the witness and the sampler.
    pub fn start(net: &FaultNet, opts: &Options) -> Run {
        let n = net.c.nodes.len();
        let load = Load::start_with_gap(&net.c, &LOAD_ORGS, (0..n).collect(), opts.load_gap);
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(HashMap::new()));
        let rss = Arc::new(Mutex::new(vec![0; n]));
        let apis: Vec<String> = net.c.nodes.iter().map(|n| n.api.clone()).collect();
        let token = net.c.token("AUDIT");
        let witness = {
            let (stop, seen, admitted) = (stop.clone(), seen.clone(), load.admitted());
            std::thread::spawn(move || witness(&stop, &apis, &token, &admitted, &seen))
        };
        let sampler = {
            let (stop, rss, pids) = (stop.clone(), rss.clone(), net.pids.clone());
            std::thread::spawn(move || sample_rss(&stop, &pids, &rss))
        };
        Run {
            load,
            stop,
            seen,
            rss,
            threads: vec![witness, sampler],
            recoveries: Vec::new(),
            disk_max: 0,
            started: Instant::now(),
        }
    }

    /// After episode `k`'s fault healed: liveness within the bound, limits kept.
    pub fn after_heal(&mut self, net: &FaultNet, k: usize, fault: &Fault, opts: &Options) {
        let all: Vec<usize> = (0..net.c.nodes.len()).collect();
        let took = wait_progress(&net.c, &all, 2, opts.heal_bound);
        eprintln!(
            "episode {k}: {} healed; every node 2 blocks on in {took:.1?}",
            fault.kind()
        );
        self.recoveries
            .push((format!("{k}:{}", fault.kind()), took));
        for i in all {
            let bytes = net.data_bytes(i);
            self.disk_max = self.disk_max.max(bytes);
            assert!(
                bytes <= opts.disk_mib << 20,
                "{} keeps {bytes} bytes, over its {} MiB",
                net.c.nodes[i].name,
                opts.disk_mib
            );
        }
        self.assert_rss(net, opts);
    }

    fn assert_rss(&self, net: &FaultNet, opts: &Options) {
        let rss = self.rss.lock().unwrap().clone();
        for (i, r) in rss.iter().enumerate() {
            assert!(
                *r <= opts.rss_mib << 20,
                "{} reached {} MiB resident, over its {} MiB",
                net.c.nodes[i].name,
                r >> 20,
                opts.rss_mib
            );
        }
    }

    /// Stops the load and checks the end state; the run's summary.
    pub fn finish(self, net: &FaultNet, schedule: &Schedule, opts: &Options) -> RunSummary {
        let sent = self.load.finish();
        assert_orders_final_everywhere(&net.c, &LOAD_ORGS, &sent);
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads {
            t.join().unwrap();
        }
        let all: Vec<usize> = (0..net.c.nodes.len()).collect();
        let height = crate::load::heights(&net.c, &all)
            .into_iter()
            .min()
            .unwrap();
        let placed = crate::load::same_chain_placing_txs(&net.c, &all, height);
        let seen = self.seen.lock().unwrap();
        let lost: Vec<String> = seen
            .iter()
            .filter(|(h, at)| placed.get(*h) != Some(*at))
            .map(|(h, at)| format!("{h} seen at {at}, now at {:?}", placed.get(h)))
            .collect();
        assert!(
            lost.is_empty(),
            "committed transactions lost or moved: {lost:?}"
        );
        let rss = self.rss.lock().unwrap().iter().copied().max().unwrap_or(0);
        assert!(
            rss <= opts.rss_mib << 20,
            "resident memory {} MiB",
            rss >> 20
        );
        RunSummary {
            seed: schedule.seed,
            nodes: schedule.nodes,
            faults: self.recoveries.len(),
            admitted: sent.iter().sum(),
            seen_committed: seen.len(),
            height,
            slowest_recovery: self
                .recoveries
                .into_iter()
                .max_by_key(|(_, d)| *d)
                .unwrap_or_default(),
            rss_max_mib: rss >> 20,
            disk_max_mib: self.disk_max >> 20,
            lost: lost.len(),
            wall: self.started.elapsed(),
        }
    }
}

/// Asks the nodes, round robin, whether admitted transactions are committed, and
/// records each at the height a node first reported. At most [`WITNESS_ASKS`] questions a
/// tick: the witness samples what clients are told, it does not have to see every answer.
/// A transaction not committed yet is asked about again in later ticks without holding up
/// the ones admitted after it: a transaction admitted by a validator killed before it
/// gossiped it stays uncommitted (and its client's later nonces with it) until the end
/// check resubmits it, and a witness waiting on it saw 38 of 1,934 (fresh-ci, seed 1).
fn witness(
    stop: &AtomicBool,
    apis: &[String],
    token: &str,
    admitted: &Mutex<Vec<Hash>>,
    seen: &Mutex<HashMap<Hash, u64>>,
) {
    let mut next = 0usize;
    let mut ask = 0usize;
    let mut waiting: std::collections::VecDeque<Hash> = Default::default();
    while !stop.load(Ordering::SeqCst) {
        {
            let a = admitted.lock().unwrap();
            waiting.extend(a.iter().skip(next).take(WITNESS_ASKS));
            next = next.max(a.len().min(next + WITNESS_ASKS));
        }
        // Oldest first; each asked once this tick.
        for _ in 0..waiting.len().min(WITNESS_ASKS) {
            let Some(h) = waiting.pop_front() else { break };
            let api = &apis[ask % apis.len()];
            ask += 1;
            let r = ureq::get(&format!("{api}/v1/transactions/{h}"))
                .set("Authorization", &format!("Bearer {token}"))
                .timeout(Duration::from_secs(2))
                .call();
            let height = match r {
                Ok(r) => r
                    .into_json::<serde_json::Value>()
                    .ok()
                    .and_then(|v| v["height"].as_u64()),
                // Not (yet) known there: ask again later.
                Err(ureq::Error::Status(..)) => None,
                // That node is down or stopped: the rest of the tick would wait on it.
                Err(ureq::Error::Transport(_)) => {
                    waiting.push_back(h);
                    break;
                }
            };
            match height {
                Some(height) => {
                    seen.lock().unwrap().insert(h, height);
                }
                None => waiting.push_back(h),
            }
        }
        // Bounded: the oldest unanswered are dropped (never seen is no claim).
        while waiting.len() > WITNESS_WAITING {
            waiting.pop_front();
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Questions the witness asks a tick.
const WITNESS_ASKS: usize = 32;
/// Transactions the witness keeps asking about at most.
const WITNESS_WAITING: usize = 256;

fn sample_rss(stop: &AtomicBool, pids: &Mutex<Vec<Option<u32>>>, rss: &Mutex<Vec<u64>>) {
    while !stop.load(Ordering::SeqCst) {
        let now: Vec<Option<u32>> = pids.lock().unwrap().clone();
        for (i, pid) in now.iter().enumerate() {
            if let Some(bytes) = pid.and_then(resident_bytes) {
                let mut r = rss.lock().unwrap();
                r[i] = r[i].max(bytes);
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

impl RunSummary {
    /// The table's heading.
    pub const HEADER: &'static str = "seed  nodes faults admitted seen-committed height slowest-recovery          rss-MiB disk-MiB lost  wall";
}

impl fmt::Display for RunSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<5} {:>5} {:>6} {:>8} {:>14} {:>6} {:<18} {:>5.1}s {:>7} {:>8} {:>4} {:>5.0}s",
            self.seed,
            self.nodes,
            self.faults,
            self.admitted,
            self.seen_committed,
            self.height,
            self.slowest_recovery.0,
            self.slowest_recovery.1.as_secs_f64(),
            self.rss_max_mib,
            self.disk_max_mib,
            self.lost,
            self.wall.as_secs_f64()
        )
    }
}
