//! Runs the deterministic consensus simulator over many seeds.
//!
//! `cargo run --release -p lianrong-consensus --example simulate -- --seeds 1000 --first-seed 0`
//! ends with `N passed, M failed`; each failing seed is printed with the command that
//! replays it exactly. `--figures` prints latency and throughput of fault-free runs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use clap::Parser;
use lianrong_consensus::sim::{run, SimConfig};

#[derive(Parser, Debug)]
#[command(about = "Deterministic simulator for the LianRong consensus engine")]
struct Args {
    /// Number of seeds to run.
    #[arg(long, default_value_t = 100)]
    seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 0)]
    first_seed: u64,
    /// Validator count (default: 4, 7 or 10 chosen by the seed).
    #[arg(long)]
    validators: Option<usize>,
    /// Worker threads (default: available cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Print each failing run's node states.
    #[arg(long)]
    verbose: bool,
    /// Print fault-free latency and throughput figures instead of running seeds.
    #[arg(long)]
    figures: bool,
}

fn figures() {
    let delay = 10;
    for payload in [0usize, 4096] {
        for n in [4, 7, 10] {
            let cfg = SimConfig::fault_free(1, n, delay, payload, 60_000);
            match run(&cfg) {
                Ok(r) => {
                    let secs = r.virtual_ms as f64 / 1000.0;
                    let latency = r.latency_sum_ms as f64 / r.latency_count.max(1) as f64;
                    println!(
                        "n={n:2} payload={payload:5} B  delay={delay} ms: commit latency {:.2} message delays \
                         ({latency:.1} ms), {:.1} blocks/s, {:.0} payload B/s, {:.0} msgs/block",
                        latency / delay as f64,
                        r.blocks as f64 / secs,
                        r.payload_bytes as f64 / secs,
                        r.messages as f64 / r.blocks.max(1) as f64,
                    );
                }
                Err(f) => println!("n={n}: FAILED {f:?}"),
            }
        }
    }
}

fn main() {
    let args = Args::parse();
    if args.figures {
        figures();
        return;
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let started = Instant::now();
    let next = AtomicU64::new(args.first_seed);
    let end = args.first_seed + args.seeds;
    let failures: Mutex<Vec<u64>> = Mutex::new(Vec::new());
    let passed = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::SeqCst);
                if seed >= end {
                    break;
                }
                let cfg = SimConfig::for_seed(seed, args.validators);
                match run(&cfg) {
                    Ok(_) => {
                        passed.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(f) => {
                        let v = args.validators.map(|v| format!(" --validators {v}")).unwrap_or_default();
                        println!(
                            "seed {seed} FAILED at {} ms: {} (n={}, {}); replay: --first-seed {seed} --seeds 1{v}",
                            f.at_ms, f.violation, cfg.validators, cfg.faults
                        );
                        if args.verbose {
                            println!("{}", f.detail);
                        }
                        if let Ok(mut v) = failures.lock() {
                            v.push(seed);
                        }
                    }
                }
            });
        }
    });
    let failed = failures.lock().map(|v| v.len()).unwrap_or(0);
    eprintln!("{:.1} s wall time", started.elapsed().as_secs_f64());
    println!("{} passed, {failed} failed", passed.load(Ordering::SeqCst));
    if failed > 0 {
        std::process::exit(1);
    }
}
