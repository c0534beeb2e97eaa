//! The consensus safety state (last vote, lock): one record, written synced, because a
//! vote may leave the node only once what it implies survives a crash.

use lianrong_consensus::{SafetyState, SafetyStore};

use super::db::Db;
use super::error::DbError;
use super::schema::{CF_SAFETY, SAFETY_KEY};

/// Largest safety record accepted (consensus bounds its own state far lower).
pub const MAX_SAFETY_BYTES: usize = 1024 * 1024;

impl Db {
    /// Durably replaces the safety record; returns only once it is on disk.
    pub fn store_safety(&self, bytes: &[u8]) -> Result<(), DbError> {
        if bytes.len() > MAX_SAFETY_BYTES {
            return Err(DbError::TooLarge {
                what: "safety state".into(),
                len: bytes.len(),
                limit: MAX_SAFETY_BYTES,
            });
        }
        self.put_now(CF_SAFETY, SAFETY_KEY, bytes, true)
    }

    /// The last stored safety record, or `None` for a node that never stored one.
    pub fn load_safety(&self) -> Result<Option<Vec<u8>>, DbError> {
        self.read(CF_SAFETY, SAFETY_KEY)
    }
}

/// The consensus engine's store: [`SafetyState`] in its canonical bytes.
impl SafetyStore for Db {
    type Error = DbError;

    fn load(&self) -> Result<Option<SafetyState>, DbError> {
        <&Db as SafetyStore>::load(&self)
    }

    fn store(&mut self, state: &SafetyState) -> Result<(), DbError> {
        let mut shared: &Db = self;
        <&Db as SafetyStore>::store(&mut shared, state)
    }
}

/// Lets a `Db` shared behind an `Arc` serve as the engine's store (`&mut &db`).
impl SafetyStore for &Db {
    type Error = DbError;

    fn load(&self) -> Result<Option<SafetyState>, DbError> {
        match self.load_safety()? {
            None => Ok(None),
            Some(bytes) => SafetyState::from_bytes(&bytes)
                .map(Some)
                .map_err(|e| DbError::codec("safety state", e)),
        }
    }

    fn store(&mut self, state: &SafetyState) -> Result<(), DbError> {
        self.store_safety(&state.to_bytes())
    }
}
