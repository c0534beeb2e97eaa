//! LianRong BFT consensus: a sans-IO, chained two-phase protocol of the Jolteon /
//! HotStuff-2 family (rotating leaders, a quorum certificate in every block, commit on a
//! two-chain, timeout certificates with exponential back-off), and the deterministic
//! simulator that tests it. See `README.md` for the algorithm, its safety and liveness
//! argument and the input/output contract.
//!
//! ```
//! use lianrong_consensus::{
//!     Engine, EngineConfig, ExecutionCommit, Input, Output, SafetyState, ValidatorSet,
//! };
//! use lianrong_primitives::{sha256, SecretKey};
//!
//! let keys: Vec<SecretKey> = (1..=4u8).map(|i| SecretKey::from_seed([i; 32])).collect();
//! let set = ValidatorSet::from_keys(&keys.iter().map(|k| k.public()).collect::<Vec<_>>()).unwrap();
//! // Validator 1 leads round 1.
//! let cfg = EngineConfig::new("demo-chain", set, keys[1].clone());
//! let mut engine = Engine::new(cfg.clone(), SafetyState::genesis(&cfg), None);
//! let step = engine.handle(1_000, Input::Start);
//! assert!(step.outputs().iter().any(|o| matches!(o, Output::SetTimer { .. })));
//! assert!(step.outputs().iter().any(|o| matches!(o, Output::RequestPayload { round: 1, .. })));
//! // The application reports the state it starts from (here the genesis state): blocks
//! // certify it, so the engine proposes and votes only once it knows it.
//! let genesis = ExecutionCommit::genesis(sha256(b"genesis state"));
//! let _ = engine.handle(1_000, Input::Executed(genesis));
//! let step = engine.handle(1_001, Input::Payload { round: 1, payload: b"invoices".to_vec() });
//! // The proposal is recorded before it may leave the node: its outputs come out only
//! // once the store has the safety state.
//! assert!(step.persists_first());
//! let mut store = lianrong_consensus::MemorySafetyStore::default();
//! let mut released = step.persist(&mut store).unwrap();
//! assert!(matches!(released.next(), Some(Output::Send { .. })));
//! ```

#![deny(missing_docs)]

pub mod audit;
pub mod engine;
pub mod persist;
/// The deterministic simulator: only in tests and under the `sim` feature (the `simulate`
/// example), never in a validator build.
#[cfg(any(test, feature = "sim"))]
#[allow(
    clippy::panic,
    clippy::too_many_lines,
    reason = "the simulator's checker stops a run at the first violated property"
)]
pub mod sim;
pub mod sync_answer;
pub mod types;

pub use audit::{AuditError, ChainAuditor};
pub use engine::{
    Divergence, Engine, EngineConfig, Input, Output, RejectReason, SafetyState, Target, TimerId,
};
pub use persist::{carry_out, MemorySafetyStore, Released, SafetyStore, Step};
pub use sync_answer::sync_answer;
pub use types::*;
