//! Crash safety: a child process (this test binary, re-executed in "writer" mode)
//! commits blocks as fast as it can and is SIGKILLed at an arbitrary moment; the
//! database it leaves must hold a whole prefix of the chain, consistent in every part,
//! and execution must continue from it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jmt::Sha256Jmt;
use lianrong_contracts::testkit::CHAIN_ID;

use super::*;

/// Names the database directory of a writer child; unset in a normal test run.
const WRITER_ENV: &str = "LIANRONG_STORAGE_CRASH_WRITER_DIR";
/// The pruning window of a writer child (`crate::prune`), when set.
const KEEP_ENV: &str = "LIANRONG_STORAGE_CRASH_KEEP";
/// The line a writer prints once it starts committing.
const READY: &str = "CRASH-WRITER-READY";
/// Rounds of the scenario the writer commits first (about 50 blocks, with every kind of
/// receivable index change); after them it commits empty blocks until it is killed, so
/// a kill always lands in the middle of the stream.
const ROUNDS: usize = 4;

/// Not a test of its own: the body of the writer child. In a normal run (no
/// [`WRITER_ENV`]) it returns at once.
#[test]
fn crash_writer_child() {
    let Ok(dir) = std::env::var(WRITER_ENV) else {
        return;
    };
    let mut w = scenario(ROUNDS);
    let options = crate::DbOptions {
        keep_versions: std::env::var(KEEP_ENV).ok().and_then(|k| k.parse().ok()),
        ..crate::DbOptions::default()
    };
    let db = Db::open_with(&dir, CHAIN_ID, &options).expect("writer opens");
    if db.latest().expect("latest").is_none() {
        let g = lianrong_contracts::testkit::genesis(Default::default());
        db.apply_genesis(&g.changes(&db).expect("genesis"))
            .expect("apply genesis");
    }
    let (h, _) = db.latest().expect("latest").expect("genesis");
    extend_to(&mut w, h);
    println!("{READY}");
    replay(&db, &w.log[h as usize..]);
    // Until killed: empty blocks, the same ones the parent derives with `extend_to`.
    // Bounded, so a writer orphaned by a failed parent does not fill the disk.
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        w.block(&[]);
        replay(&db, &w.log[w.log.len() - 1..]);
    }
    panic!("the writer was not killed within 30 s");
}

/// Extends the world's log with the empty blocks the writer commits after the scenario,
/// until it covers height `h`.
fn extend_to(w: &mut World, h: u64) {
    while (w.log.len() as u64) < h {
        w.block(&[]);
    }
}

/// Names a seed that replays a failed run's kill moments (printed by every run).
const SEED_ENV: &str = "LIANRONG_CRASH_SEED";

/// The seed of this run's kill moments: [`SEED_ENV`] if set, else from the clock (a
/// different kill moment each run, and no dependency for it).
fn kill_seed() -> u64 {
    if let Some(seed) = std::env::var(SEED_ENV).ok().and_then(|s| s.parse().ok()) {
        return seed;
    }
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos()))
        .unwrap_or(0)
}

/// The kill delay of `round` under `seed`: 0-149 ms after ready, plus 100 ms per round.
fn kill_delay(seed: u64, round: u64) -> Duration {
    let mixed = seed
        .wrapping_add(round.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_mul(0xBF58_476D_1CE4_E5B9);
    Duration::from_millis(round * 100 + (mixed >> 32) % 150)
}

/// Starts a writer on `dir` (pruning to `keep` versions if given), waits until it
/// commits, lets it run `after` and kills it.
fn run_and_kill(dir: &std::path::Path, after: Duration, keep: Option<u64>) {
    let exe = std::env::current_exe().expect("test binary");
    let mut command = Command::new(exe);
    if let Some(keep) = keep {
        command.env(KEEP_ENV, keep.to_string());
    }
    let mut child = command
        .args([
            "--exact",
            "tests::crash::crash_writer_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(WRITER_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn writer");
    // Killed on every path out of here, also when an assertion below fails.
    struct Reap(std::process::Child);
    impl Drop for Reap {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = child.stdout.take().expect("piped stdout");
    let mut child = Reap(child);
    let mut ready = false;
    for line in BufReader::new(stdout).lines() {
        // libtest prints the test's name on the same line first.
        if line.expect("child output").contains(READY) {
            ready = true;
            break;
        }
    }
    assert!(ready, "the writer never became ready");
    std::thread::sleep(after);
    // SIGKILL: no destructors, no flush -- only what RocksDB made durable survives.
    child.0.kill().expect("kill writer");
    let status = child.0.wait().expect("reap writer");
    assert!(
        !status.success(),
        "the writer was killed, it cannot have exited cleanly"
    );
}

/// Everything the database says about its latest height hangs together and matches the
/// deterministic log; returns that height.
fn check_consistent(db: &Db, w: &mut World) -> u64 {
    let (h, root) = db.latest().expect("latest").expect("genesis survived");
    // One block beyond, to check that nothing of it was written.
    extend_to(w, h + 1);
    let expected_root = match h {
        0 => db.genesis_root().expect("genesis root").expect("recorded"),
        _ => w.log[h as usize - 1].2,
    };
    assert_eq!(root, expected_root, "root at height {h}");
    let tree_root = Sha256Jmt::new(db).get_root_hash(h).expect("tree root");
    assert_eq!(tree_root.0, root.0, "tree root at height {h}");
    for (ctx, txs, _) in &w.log[..h as usize] {
        assert!(
            db.block(ctx.height).expect("block").is_some(),
            "block {}",
            ctx.height
        );
        assert!(
            db.cert(ctx.height).expect("cert").is_some(),
            "cert {}",
            ctx.height
        );
        for t in txs {
            let rec = db.tx(&t.hash()).expect("tx").expect("tx stored");
            assert_eq!(rec.height, ctx.height);
            assert!(db.receipt(&t.hash()).expect("receipt").is_some());
        }
    }
    // Nothing of the block after the latest: the batch was all or nothing.
    assert_eq!(db.block(h + 1).expect("block"), None);
    assert_eq!(db.cert(h + 1).expect("cert"), None);
    if let Some((_, txs, _)) = w.log.get(h as usize) {
        for t in txs {
            assert_eq!(db.tx(&t.hash()).expect("tx"), None);
        }
    }
    let meta = lianrong_contracts::exec::chain_meta(db)
        .expect("meta")
        .expect("present");
    assert_eq!(meta.height, h, "state and latest record agree");
    assert_indexes_match_state(db);
    h
}

#[test]
fn a_killed_writer_leaves_a_consistent_database() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = scenario(ROUNDS);
    let scenario_blocks = w.log.len();
    let mut heights = Vec::new();
    // Two kills at different moments; the second child continues the first's chain.
    let seed = kill_seed();
    eprintln!("crash test: seed {seed} (replay with {SEED_ENV}={seed})");
    for round in 0..2u64 {
        let delay = kill_delay(seed, round);
        eprintln!("crash test: round {round} kills the writer {delay:?} after it is ready");
        run_and_kill(dir.path(), delay, None);
        let db = Db::open(dir.path(), CHAIN_ID).expect("reopen after kill");
        heights.push(check_consistent(&db, &mut w));
    }
    // Execution continues from whatever survived, with the same roots to the end.
    let db = Db::open(dir.path(), CHAIN_ID).expect("reopen");
    let h = check_consistent(&db, &mut w);
    replay(&db, &w.log[h as usize..]);
    assert_eq!(
        db.latest().expect("latest"),
        w.store.latest().expect("latest")
    );
    assert_indexes_match_state(&db);
    eprintln!(
        "crash test: killed at heights {heights:?} (scenario {scenario_blocks} blocks), {:?}",
        started.elapsed()
    );
    assert!(
        heights.windows(2).all(|p| p[0] <= p[1]),
        "no committed block was lost"
    );
}

/// A writer pruning to 2 versions (so every block's commit also prunes) killed twice:
/// each reopened database holds a whole prefix of the chain whose kept versions are
/// complete -- the nodes on disk are exactly those they reach -- and pruning goes on.
#[test]
fn a_writer_killed_mid_prune_leaves_its_window_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keep = 2;
    let options = crate::DbOptions {
        keep_versions: Some(keep),
        ..crate::DbOptions::default()
    };
    let mut w = scenario(ROUNDS);
    let seed = kill_seed();
    eprintln!("pruning crash test: seed {seed} (replay with {SEED_ENV}={seed})");
    let check = |w: &mut World| {
        let db = Db::open_with(dir.path(), CHAIN_ID, &options).expect("reopen after kill");
        let h = check_consistent(&db, w);
        super::prune::assert_window_whole(&db, keep);
        h
    };
    for round in 0..2u64 {
        run_and_kill(dir.path(), kill_delay(seed, round), Some(keep));
        check(&mut w);
    }
    let db = Db::open_with(dir.path(), CHAIN_ID, &options).expect("reopen");
    let h = check_consistent(&db, &mut w);
    replay(&db, &w.log[h as usize..]);
    super::prune::assert_window_whole(&db, keep);
}
