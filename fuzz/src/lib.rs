//! What the fuzz targets and the seed generator (`examples/seeds.rs`) share: the fixed
//! consensus network the `consensus_message` target feeds messages into, so that seeds
//! recorded from that network carry valid signatures and reach past the signature checks.

use std::sync::OnceLock;

use lianrong_consensus::{
    Block, Engine, EngineConfig, ExecutionCommit, Input, MemorySafetyStore, SafetyState, Step,
    ValidatorSet,
};
use lianrong_primitives::hash::sha256_parts;
use lianrong_primitives::{sha256, SecretKey};

/// Chain id of the fuzzed consensus network.
pub const CHAIN: &str = "lianrong-fuzz";
/// Validators of the fuzzed consensus network.
pub const VALIDATORS: usize = 4;
/// The clock every engine of the fixture reads (ms), within the allowed drift of the
/// blocks the seed generator records.
pub const NOW_MS: u64 = 10_000;

/// The validators' consensus keys (fixed seeds).
pub fn validator_keys() -> &'static [SecretKey] {
    static KEYS: OnceLock<Vec<SecretKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        (1..=VALIDATORS as u8)
            .map(|i| SecretKey::from_seed([i; 32]))
            .collect()
    })
}

/// The validator set of the fixture.
pub fn validator_set() -> ValidatorSet {
    let keys: Vec<_> = validator_keys().iter().map(SecretKey::public).collect();
    match ValidatorSet::from_keys(&keys) {
        Ok(set) => set,
        Err(e) => panic!("the fixture's validator set: {e}"),
    }
}

/// The genesis state every engine of the fixture starts from.
pub fn genesis_commit() -> ExecutionCommit {
    ExecutionCommit::genesis(sha256(b"lianrong-fuzz/genesis"))
}

/// The fixture's application: executing `block` after `prev` (deterministic, so every
/// engine certifies the same roots).
pub fn execute(prev: &ExecutionCommit, block: &Block) -> ExecutionCommit {
    ExecutionCommit {
        height: block.height,
        state_root: sha256_parts(&[prev.state_root.as_bytes(), &block.payload]),
        results_root: sha256_parts(&[b"results", block.hash().as_bytes()]),
    }
}

/// Validator `index`'s engine, started on the genesis state, with the steps of starting
/// it carried out.
pub fn engine(index: usize, store: &mut MemorySafetyStore) -> Engine {
    let me = validator_keys()[index % VALIDATORS].clone();
    let cfg = EngineConfig::new(CHAIN, validator_set(), me);
    let mut engine = Engine::new(cfg.clone(), SafetyState::genesis(&cfg), None);
    settle(store, engine.handle(NOW_MS, Input::Start));
    settle(
        store,
        engine.handle(NOW_MS, Input::Executed(genesis_commit())),
    );
    engine
}

/// Carries out a step whose outputs are of no interest (the safety state is still stored,
/// exercising its encoding).
pub fn settle(store: &mut MemorySafetyStore, step: Step) {
    if let Err(e) = lianrong_consensus::carry_out(store, step, drop) {
        panic!("the in-memory safety store failed: {e}");
    }
}

/// The text of `data`, if it is UTF-8 (configs and key files are read as text, so a
/// non-UTF-8 file never reaches their parsers).
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}
