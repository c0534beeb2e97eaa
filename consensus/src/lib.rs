//! LianRong BFT consensus: a sans-IO, chained two-phase protocol of the Jolteon /
//! HotStuff-2 family (rotating leaders, a quorum certificate in every block, commit on a
//! two-chain, timeout certificates with exponential back-off), and the deterministic
//! simulator that tests it. See `README.md` for the algorithm, its safety and liveness
//! argument and the input/output contract.

pub mod engine;
pub mod sim;
pub mod types;

pub use engine::{Engine, EngineConfig, Input, Output, RejectReason, SafetyState, Target, TimerId};
pub use types::*;
