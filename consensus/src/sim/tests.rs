use super::*;

fn run_seeds(seeds: std::ops::Range<u64>, validators: Option<usize>) -> Vec<(u64, SimFailure)> {
    seeds
        .filter_map(|seed| run(&SimConfig::for_seed(seed, validators)).err().map(|f| (seed, f)))
        .collect()
}

#[test]
fn fault_free_runs_commit_at_every_size() {
    for n in [4, 7, 10] {
        let cfg = SimConfig::fault_free(1, n, 10, 100, 3_000);
        let r = run(&cfg).unwrap_or_else(|f| panic!("n={n}: {f:?}"));
        assert!(r.blocks > 50, "n={n}: only {} blocks", r.blocks);
        assert_eq!(r.rejected, 0);
        assert_eq!(r.evidence, 0);
    }
}

#[test]
fn a_seed_replays_exactly() {
    let cfg = SimConfig::for_seed(5, Some(4));
    let a = run(&cfg).map(|r| (r.blocks, r.messages, r.payload_bytes));
    let b = run(&cfg).map(|r| (r.blocks, r.messages, r.payload_bytes));
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
}

#[test]
fn smoke_seeds() {
    let failures = run_seeds(0..24, None);
    assert!(failures.is_empty(), "{failures:#?}");
}
