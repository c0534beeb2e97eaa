//! The ledger clock: wall-clock time plus an offset that only ever moves forward.
//!
//! Block timestamps (and so the contracts' business dates) come from this clock. In
//! production the offset stays zero. `lianrong demo` and the integration tests move it
//! forward to let a receivable reach maturity in seconds instead of months: in one
//! process with [`advance`], and across node processes with the development-only
//! `LIANRONG_DEV_CLOCK_FILE` (see [`follow_file`]). Signed API requests are checked
//! against the real wall clock, never against this one.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

static OFFSET_MS: AtomicU64 = AtomicU64::new(0);

/// Largest offset accepted (ten years): a guard against a typo in a clock file.
pub const MAX_OFFSET_MS: u64 = 10 * 366 * 86_400_000;

/// Milliseconds since the Unix epoch on the ledger clock.
pub fn now_ms() -> u64 {
    crate::api::now_ms().saturating_add(OFFSET_MS.load(Ordering::SeqCst))
}

/// The current offset.
pub fn offset_ms() -> u64 {
    OFFSET_MS.load(Ordering::SeqCst)
}

/// Moves the clock of this process forward by `ms` (never back: block timestamps must
/// keep increasing).
pub fn advance(ms: u64) {
    let _ = OFFSET_MS.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| {
        Some(o.saturating_add(ms).min(MAX_OFFSET_MS))
    });
}

/// Sets the offset to `ms` if that is forward of the current one.
fn raise_to(ms: u64) {
    OFFSET_MS.fetch_max(ms.min(MAX_OFFSET_MS), Ordering::SeqCst);
}

/// Development and tests only: keeps the offset at the decimal number of milliseconds
/// written in `path`, re-read twice a second (a missing or unreadable file changes
/// nothing). Every node of a test network follows the same file, so they move together.
pub fn follow_file(path: PathBuf) {
    tracing::warn!(file = %path.display(), "development clock: block time follows an offset file");
    tokio::spawn(async move {
        loop {
            if let Ok(text) = tokio::fs::read_to_string(&path).await {
                if let Ok(ms) = text.trim().parse::<u64>() {
                    raise_to(ms);
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_only_moves_forward() {
        let before = now_ms();
        advance(86_400_000);
        assert!(now_ms() >= before + 86_400_000);
        let offset = offset_ms();
        raise_to(1);
        assert_eq!(
            offset_ms(),
            offset,
            "a smaller offset must not move it back"
        );
        advance(u64::MAX);
        assert_eq!(offset_ms(), MAX_OFFSET_MS);
    }
}
