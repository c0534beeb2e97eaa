//! Durable safety state: the trait a node backs with RocksDB, and the helper that
//! enforces the ordering contract (persist first, then release the other outputs).

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

/// Writes the `Persist` output of one [`crate::Engine::handle`] call (if any) to `store`
/// and returns the remaining outputs, to be carried out in order. On a storage error
/// nothing may be sent: the caller must stop (crash) rather than release the messages.
pub fn persist_then_release<S: SafetyStore>(
    store: &mut S,
    outputs: Vec<Output>,
) -> Result<Vec<Output>, S::Error> {
    let mut rest = Vec::with_capacity(outputs.len());
    for out in outputs {
        match out {
            Output::Persist(state) => store.store(&state)?,
            other => rest.push(other),
        }
    }
    Ok(rest)
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
