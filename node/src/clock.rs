//! The ledger clock: wall-clock time plus an offset that only ever moves forward.
//!
//! Block timestamps (and so the contracts' business dates) come from this clock. In
//! production the offset stays zero. `lianrong demo` and the integration tests move it
//! forward to let a receivable reach maturity in seconds instead of months: in one
//! process with [`LedgerClock::advance`], and across node processes with the
//! development-only `lianrong node --dev-clock-file` (see [`LedgerClock::follow_file`]). Signed API requests are checked
//! against the real wall clock, never against this one.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Largest offset accepted (ten years): a guard against a typo in a clock file.
pub const MAX_OFFSET_MS: u64 = 10 * 366 * 86_400_000;

/// The ledger clock of one node (or of the demo's in-process network: clones share the
/// offset). Passed to [`crate::runtime::run`]; nothing in a node reads a global clock.
#[derive(Debug, Clone, Default)]
pub struct LedgerClock {
    offset_ms: Arc<AtomicU64>,
}

impl LedgerClock {
    /// The wall clock, offset zero: what production runs on.
    pub fn wall() -> LedgerClock {
        LedgerClock::default()
    }

    /// Milliseconds since the Unix epoch on the ledger clock.
    pub fn now_ms(&self) -> u64 {
        crate::api::now_ms().saturating_add(self.offset_ms())
    }

    /// The current offset.
    pub fn offset_ms(&self) -> u64 {
        self.offset_ms.load(Ordering::SeqCst)
    }

    /// Moves the clock forward by `ms` (never back: block timestamps must keep increasing).
    pub fn advance(&self, ms: u64) {
        let _ = self
            .offset_ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| {
                Some(o.saturating_add(ms).min(MAX_OFFSET_MS))
            });
    }

    /// Sets the offset to `ms` if that is forward of the current one.
    fn raise_to(&self, ms: u64) {
        self.offset_ms
            .fetch_max(ms.min(MAX_OFFSET_MS), Ordering::SeqCst);
    }

    /// Development and tests only (`lianrong node --dev-clock-file`): keeps the offset at
    /// the decimal number of milliseconds written in `path`, re-read twice a second (a
    /// missing or unreadable file changes nothing). Every node of a test network follows
    /// the same file, so they move together. Must be called inside a tokio runtime.
    pub fn follow_file(&self, path: PathBuf) {
        tracing::warn!(file = %path.display(), "development clock: block time follows an offset file");
        let clock = self.clone();
        tokio::spawn(async move {
            loop {
                if let Ok(text) = tokio::fs::read_to_string(&path).await {
                    if let Ok(ms) = text.trim().parse::<u64>() {
                        clock.raise_to(ms);
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_only_moves_forward() {
        let clock = LedgerClock::wall();
        let before = clock.now_ms();
        clock.advance(86_400_000);
        assert!(clock.now_ms() >= before + 86_400_000);
        let offset = clock.offset_ms();
        clock.raise_to(1);
        assert_eq!(
            clock.offset_ms(),
            offset,
            "a smaller offset must not move it back"
        );
        clock.advance(u64::MAX);
        assert_eq!(clock.offset_ms(), MAX_OFFSET_MS);
    }

    #[test]
    fn clocks_are_separate_unless_cloned() {
        let a = LedgerClock::wall();
        let shared = a.clone();
        let other = LedgerClock::wall();
        a.advance(1_000);
        assert_eq!(shared.offset_ms(), 1_000, "a clone shares the offset");
        assert_eq!(other.offset_ms(), 0, "another node's clock is not moved");
    }
}
