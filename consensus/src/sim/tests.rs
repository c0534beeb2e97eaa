use super::*;

fn run_seeds(seeds: std::ops::Range<u64>, validators: Option<usize>) -> Vec<(u64, SimFailure)> {
    seeds
        .filter_map(|seed| {
            run(&SimConfig::for_seed(seed, validators))
                .err()
                .map(|f| (seed, f))
        })
        .collect()
}

fn assert_all_pass(seeds: std::ops::Range<u64>, validators: Option<usize>) {
    let failures = run_seeds(seeds, validators);
    for (seed, f) in &failures {
        eprintln!(
            "seed {seed}: {} at {} ms\n{}",
            f.violation, f.at_ms, f.detail
        );
    }
    assert!(failures.is_empty(), "{} seeds failed", failures.len());
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
    let a = run(&cfg).map(|r| (r.blocks, r.messages, r.payload_bytes, r.virtual_ms));
    let b = run(&cfg).map(|r| (r.blocks, r.messages, r.payload_bytes, r.virtual_ms));
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
}

#[test]
fn every_fault_family_and_behaviour_is_generated() {
    let cfgs: Vec<SimConfig> = (0..300).map(|s| SimConfig::for_seed(s, None)).collect();
    for kind in ByzKind::ALL {
        assert!(
            cfgs.iter().any(|c| c.faults.byzantine.contains(&kind)),
            "{kind:?} never chosen"
        );
    }
    for n in [4, 7, 10] {
        assert!(cfgs
            .iter()
            .any(|c| c.validators == n && c.faults.crashes && c.faults.network));
        assert!(cfgs
            .iter()
            .any(|c| c.validators == n && !c.faults.byzantine.is_empty()));
    }
}

#[test]
fn crashed_validators_catch_up_through_sync() {
    let (mut sync, mut fetch) = (0, 0);
    for seed in (2..200).step_by(6) {
        let r =
            run(&SimConfig::for_seed(seed, None)).unwrap_or_else(|f| panic!("seed {seed}: {f:?}"));
        sync += r.sync_responses;
        fetch += r.block_responses;
    }
    assert!(
        sync > 0 && fetch > 0,
        "catch-up never exercised: {sync} syncs, {fetch} fetches"
    );
}

/// A validator switched off while the others ran far more rounds than a message may be
/// ahead of its receiver (`MAX_ROUNDS_AHEAD`) and hundreds of blocks: once back it must
/// learn the current round from the certificates in what it receives, fetch the blocks
/// it missed, and finalize again within the liveness bound (found on real processes: a
/// validator killed for a minute stayed at its old height for good).
#[test]
fn a_validator_down_for_hundreds_of_rounds_catches_up() {
    for (n, node) in [(4, 3), (4, 0), (7, 5)] {
        let mut cfg = SimConfig::fault_free(11, n, 10, 100, 0);
        cfg.base_timeout_ms = 300;
        cfg.gst_ms = 60_000;
        cfg.delay_before_gst_ms = (10, 10);
        cfg.long_outage = Some(node);
        cfg.run_after_gst_ms = cfg.liveness_bound_ms + 1_000;
        cfg.stop_after_blocks = Some(3);
        let r = run(&cfg).unwrap_or_else(|f| panic!("n={n} node {node}: {f:?}"));
        assert_eq!(r.crashes, 1);
        assert!(
            // Every round finalizes at most one block: more blocks than that are more
            // rounds than a message may be ahead of it.
            r.blocks > crate::engine::MAX_ROUNDS_AHEAD + 16,
            "n={n}: the others finalized only {} blocks while it was down",
            r.blocks
        );
        assert!(r.sync_responses > 0, "n={n}: it never synced");
    }
}

#[test]
fn validator_set_changes_take_effect_under_faults() {
    let mut changed = 0;
    let mut joined = 0;
    for seed in 0..60 {
        let cfg = SimConfig::for_seed(seed, None);
        if cfg.reconfigure_at.is_none() {
            continue;
        }
        let r = run(&cfg).unwrap_or_else(|f| panic!("seed {seed}: {} {}", f.violation, f.detail));
        assert_eq!(r.epoch_changes, 1, "seed {seed}");
        // (Validator 0 may be a crashed or silent one; then its engine is gone.)
        if r.membership_changed {
            joined += 1;
        }
        changed += 1;
    }
    assert!(changed >= 10, "only {changed} seeds reconfigured");
    assert!(
        joined * 2 >= changed,
        "the new member joined in only {joined} of {changed} seeds"
    );
}

/// Regression: a validator that entered a round through a TC, crashed and restarted must
/// still be able to show that TC to the validators left behind (found by seed 8195 of
/// the 10,000-seed run: it persisted only its high QC and the others stalled).
#[test]
fn regression_seed_8195_restart_keeps_its_timeout_certificate() {
    let cfg = SimConfig::for_seed(8195, None);
    if let Err(f) = run(&cfg) {
        panic!("{} at {} ms\n{}", f.violation, f.at_ms, f.detail);
    }
}

/// Regression: a voter shown a reconfiguration its application has not decided yet must
/// catch up rather than stall the round robin (seed 632).
#[test]
fn regression_seed_632_lagging_voter_catches_up_for_a_reconfiguration() {
    let cfg = SimConfig::for_seed(632, None);
    if let Err(f) = run(&cfg) {
        panic!("{} at {} ms\n{}", f.violation, f.at_ms, f.detail);
    }
}

/// Regression: a validator that closed an epoch (and left the set) must hand the
/// epoch-end certificate to those still collecting votes for it (seed 8662).
#[test]
fn regression_seed_8662_closed_epoch_certificate_is_handed_on() {
    let cfg = SimConfig::for_seed(8662, None);
    if let Err(f) = run(&cfg) {
        panic!("{} at {} ms\n{}", f.violation, f.at_ms, f.detail);
    }
}

// The CI run: 320 seeds over every fault family at n = 4, 7 and 10, split in four tests
// so the harness runs them in parallel.
#[test]
fn ci_seeds_0_to_80() {
    assert_all_pass(0..80, None);
}

#[test]
fn ci_seeds_80_to_160() {
    assert_all_pass(80..160, None);
}

#[test]
fn ci_seeds_160_to_240() {
    assert_all_pass(160..240, None);
}

#[test]
fn ci_seeds_240_to_320() {
    assert_all_pass(240..320, None);
}

/// The simulator is only worth something if it can fail: an engine whose quorum is f+1
/// instead of 2f+1 must be caught breaking agreement within a few hundred seeds.
#[test]
fn a_broken_quorum_is_caught() {
    let mut caught = None;
    for seed in 0..300 {
        let mut cfg = SimConfig::for_seed(seed, Some(7));
        cfg.broken_quorum = Some(3);
        if let Err(f) = run(&cfg) {
            caught = Some((seed, f));
            break;
        }
    }
    let (seed, f) = caught.expect("the broken engine survived 300 seeds");
    eprintln!("broken quorum caught at seed {seed}: {}", f.violation);
    assert!(
        matches!(
            f.violation,
            Violation::Agreement { .. } | Violation::NotSequential { .. }
        ),
        "caught for the wrong reason: {:?}",
        f.violation
    );
}

/// A node that does not persist its safety state before sending is caught signing twice
/// in one round after a restart.
#[test]
fn ignoring_the_persistence_contract_is_caught() {
    let mut caught = None;
    for seed in (2..600).step_by(6) {
        let mut cfg = SimConfig::for_seed(seed, None);
        cfg.forget_persisted_state = true;
        if let Err(f) = run(&cfg) {
            caught = Some((seed, f));
            break;
        }
    }
    let (seed, f) = caught.expect("forgetting the safety state went unnoticed");
    eprintln!(
        "forgotten safety state caught at seed {seed}: {}",
        f.violation
    );
    assert!(
        matches!(
            f.violation,
            Violation::HonestEquivocation { .. } | Violation::Agreement { .. }
        ),
        "caught for the wrong reason: {:?}",
        f.violation
    );
}
