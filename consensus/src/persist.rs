//! Durable safety state: the trait a node backs with RocksDB, and the helper that
//! enforces the ordering contract (each `Persist` is durable before any later output).

use lianrong_primitives::{decode, encode, CodecError};

use crate::engine::{Output, SafetyState};

/// Largest encoded [`SafetyState`] accepted when loading (a QC and a validator set).
pub const MAX_SAFETY_STATE_BYTES: usize = 256 * 1024;

/// Where a validator keeps its [`SafetyState`]. `store` must be durable (fsync'd) when it
/// returns `Ok`: a validator restarted from `load` then never signs twice in one round.
pub trait SafetyStore {
    /// Why loading or storing failed.
    type Error: std::error::Error;
    /// The last stored state, or `None` for a validator that never stored one.
    fn load(&self) -> Result<Option<SafetyState>, Self::Error>;
    /// Durably replaces the stored state.
    fn store(&mut self, state: &SafetyState) -> Result<(), Self::Error>;
}

impl SafetyState {
    /// Canonical bytes for storage.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes stored bytes strictly.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CodecError> {
        decode(bytes, MAX_SAFETY_STATE_BYTES)
    }
}

/// Carries out the outputs of one [`crate::Engine::handle`] call in order: every
/// `Persist` is written to `store` before any later output is passed to `act`. On a storage
/// error the remaining outputs are dropped and the error returned: the node must then stop
/// rather than send anything.
pub fn carry_out<S: SafetyStore>(
    store: &mut S,
    outputs: Vec<Output>,
    mut act: impl FnMut(Output),
) -> Result<(), S::Error> {
    for out in outputs {
        match out {
            Output::Persist(state) => store.store(&state)?,
            other => act(other),
        }
    }
    Ok(())
}

/// An in-memory [`SafetyStore`] (tests and the simulator; a node uses RocksDB).
#[derive(Debug, Default, Clone)]
pub struct MemorySafetyStore {
    bytes: Option<Vec<u8>>,
}

/// Errors of [`MemorySafetyStore`].
#[derive(Debug, thiserror::Error)]
pub enum MemoryStoreError {
    /// Stored bytes did not decode.
    #[error("corrupt safety state: {0}")]
    Corrupt(#[from] CodecError),
}

impl SafetyStore for MemorySafetyStore {
    type Error = MemoryStoreError;

    fn load(&self) -> Result<Option<SafetyState>, Self::Error> {
        match &self.bytes {
            Some(b) => Ok(Some(SafetyState::from_bytes(b)?)),
            None => Ok(None),
        }
    }

    fn store(&mut self, state: &SafetyState) -> Result<(), Self::Error> {
        self.bytes = Some(state.to_bytes());
        Ok(())
    }
}
