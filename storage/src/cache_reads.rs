//! Lookups of an in-memory cache counted by where they were answered: whether the share
//! of the memory budget a cache has fits what is read (`/metrics`).

use std::sync::atomic::{AtomicU64, Ordering};

/// Lookups since the start, by where they were answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheReads {
    /// From the cache.
    pub cached: u64,
    /// Not cached, so read from the database (or found missing there).
    pub from_disk: u64,
}

/// The two counters behind [`CacheReads`].
#[derive(Debug, Default)]
pub(crate) struct ReadCounter {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl ReadCounter {
    /// Counts one lookup, answered by the cache or not.
    pub(crate) fn count(&self, cached: bool) {
        let counter = if cached { &self.hits } else { &self.misses };
        // A statistic: no other memory access is ordered by it.
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn reads(&self) -> CacheReads {
        CacheReads {
            cached: self.hits.load(Ordering::Relaxed),
            from_disk: self.misses.load(Ordering::Relaxed),
        }
    }
}
