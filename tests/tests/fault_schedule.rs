//! The fault harness (src/faultnet) on real processes: seeded schedules of link faults
//! (delay, loss, one-way, partitions), process faults (SIGKILL, restart loops,
//! SIGSTOP/SIGCONT), a full disk and a wrong clock, under a steady signed load, each run
//! checked end to end (see `faultnet::check`).
//!
//! CI runs the short schedule: every fault kind once, on four validators. The long run is
//! `scripts/faults` (hours, 4 to 7 validators, a summary table); replay a failing seed
//! with `LIANRONG_FAULT_SEEDS=<seed> LIANRONG_FAULT_NODES=<n> scripts/faults`.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use lianrong_tests::faultnet::check::RunSummary;
use lianrong_tests::faultnet::schedule::Schedule;
use lianrong_tests::faultnet::{run, Options};

#[test]
fn every_fault_kind_once_on_four_validators_loses_nothing() {
    let seed = env_u64("LIANRONG_FAULT_SEED").unwrap_or(1);
    let summary = run(&Schedule::covering(seed, 4), &Options::default());
    eprintln!("{}\n{summary}", RunSummary::HEADER);
    assert_eq!(summary.lost, 0);
    assert!(
        summary.seen_committed > 100,
        "the witness saw too little: {summary}"
    );
}

/// `scripts/faults`: random schedules for `LIANRONG_FAULT_MINUTES` per seed (default 10)
/// over the seeds `LIANRONG_FAULT_SEEDS` (`a..b` or one seed, default 1..4) and
/// `LIANRONG_FAULT_NODES` validators (default: 4 to 7 by seed), drawing from the fault
/// kinds `LIANRONG_FAULT_KINDS` (comma-separated, default all); prints a table.
#[test]
#[ignore = "hours: run by scripts/faults"]
fn long_random_schedules() {
    let minutes = env_u64("LIANRONG_FAULT_MINUTES").unwrap_or(10);
    let seeds = std::env::var("LIANRONG_FAULT_SEEDS").unwrap_or_else(|_| "1..4".into());
    let seeds: Vec<u64> = match seeds.split_once("..") {
        Some((a, b)) => (a.parse().unwrap()..b.parse().unwrap()).collect(),
        None => vec![seeds.parse().unwrap()],
    };
    let mut rows = Vec::new();
    for seed in seeds {
        let nodes = env_u64("LIANRONG_FAULT_NODES").map_or(4 + (seed % 4) as usize, |n| n as usize);
        let length = Duration::from_secs(minutes * 60);
        let schedule = match std::env::var("LIANRONG_FAULT_KINDS") {
            Ok(kinds) => {
                let kinds: Vec<&str> = kinds.split(',').collect();
                Schedule::random_of(seed, nodes, length, &kinds)
            }
            Err(_) => Schedule::random(seed, nodes, length),
        };
        let summary = run(&schedule, &Options::default());
        eprintln!("{}\n{summary}", RunSummary::HEADER);
        rows.push(summary);
    }
    println!("{}", RunSummary::HEADER);
    for r in &rows {
        println!("{r}");
    }
    assert!(rows.iter().all(|r| r.lost == 0));
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| v.parse().unwrap())
}
