//! Durable safety state: the trait a node backs with RocksDB, and [`Step`], the one path
//! from the engine's outputs to the world, which makes the state they depend on durable
//! first.

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

/// What one [`crate::Engine::handle`] call asks of the caller, with the persistence rule
/// built in: its outputs come out only through [`Step::persist`], which first makes the
/// safety state they depend on durable (a vote cannot leave before it is recorded), and
/// [`Released::finish`] stores the new epoch's state after the outputs that finalize the
/// reconfiguration block. The node and the simulator both go through this one path.
#[derive(Debug)]
#[must_use = "a step's outputs are acted on through `persist`"]
pub struct Step {
    first: Option<SafetyState>,
    outputs: Vec<Output>,
    last: Option<SafetyState>,
}

impl Step {
    pub(crate) fn new(
        first: Option<SafetyState>,
        outputs: Vec<Output>,
        last: Option<SafetyState>,
    ) -> Step {
        Step {
            first,
            outputs,
            last,
        }
    }

    /// Stores the safety state that must be durable before any output, then releases the
    /// outputs. On a storage error nothing is released: the node must stop, not send.
    pub fn persist<S: SafetyStore>(self, store: &mut S) -> Result<Released, S::Error> {
        if let Some(state) = &self.first {
            store.store(state)?;
        }
        Ok(Released {
            outputs: self.outputs.into(),
            last: self.last,
        })
    }

    /// The outputs, for inspection (tests); act on them through [`Step::persist`].
    pub fn outputs(&self) -> &[Output] {
        &self.outputs
    }

    /// The safety state this step stores: the one stored last, which is what a restart
    /// resumes from (inspection and tests).
    pub fn safety(&self) -> Option<&SafetyState> {
        self.last.as_ref().or(self.first.as_ref())
    }

    /// True if this step stores a safety state before its outputs.
    pub fn persists_first(&self) -> bool {
        self.first.is_some()
    }

    /// The outputs without storing anything: tests that only look at what an engine
    /// says (never a node's path).
    #[cfg(test)]
    pub(crate) fn into_outputs(self) -> Vec<Output> {
        self.outputs
    }
}

/// A step's outputs, released once its first safety state is durable. Act on each in
/// order ([`Released::next`]), then [`Released::finish`].
#[derive(Debug)]
#[must_use = "act on the outputs, then call `finish`"]
pub struct Released {
    outputs: std::collections::VecDeque<Output>,
    last: Option<SafetyState>,
}

impl Released {
    /// The next output to act on.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// After every output was acted on: stores the state of an epoch switch (which may
    /// only become durable after the reconfiguration block was handed out as final).
    pub fn finish<S: SafetyStore>(self, store: &mut S) -> Result<(), S::Error> {
        debug_assert!(
            self.outputs.is_empty(),
            "finish before acting on every output"
        );
        match &self.last {
            Some(state) => store.store(state),
            None => Ok(()),
        }
    }
}

/// Carries out one step synchronously: the safety state first, every output to `act` in
/// order, then an epoch switch's state. On a storage error the remaining outputs are
/// dropped and the error returned: the node must then stop rather than send anything.
pub fn carry_out<S: SafetyStore>(
    store: &mut S,
    step: Step,
    mut act: impl FnMut(Output),
) -> Result<(), S::Error> {
    let mut released = step.persist(store)?;
    while let Some(out) = released.next() {
        act(out);
    }
    released.finish(store)
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
