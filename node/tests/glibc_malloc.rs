//! What `glibc_malloc::tune` changes, observed in glibc itself: a large block freed (a
//! flushed memtable's, a compaction's buffer) leaves the process instead of staying in
//! its heap. A test file of its own because the settings are process-wide.

#![cfg(all(target_os = "linux", target_env = "gnu"))]

use std::hint::black_box;

use lianrong_node::glibc_malloc::{tune, Knob};

/// Bytes glibc holds from the system: its heaps plus its mapped blocks.
fn footprint() -> usize {
    // SAFETY: mallinfo2 only reads the allocator's counters.
    let info = unsafe { libc::mallinfo2() };
    info.arena + info.hblkhd
}

/// A block allocated and freed, as RocksDB does with memtable blocks and buffers.
fn churn(bytes: usize) {
    // SAFETY: a plain allocation, freed at once, never read or written; black_box keeps
    // the pair from being optimised away.
    unsafe {
        let block = black_box(libc::malloc(bytes));
        assert!(!block.is_null());
        libc::free(block);
    }
}

#[test]
fn a_freed_block_leaves_the_process_once_tuned() {
    const BLOCK: usize = 4 << 20;
    let baseline = footprint();
    // glibc's own rule first: the first block is mapped and given back, but freeing it
    // raises the thresholds, so the second one grows the heap and stays there.
    churn(BLOCK);
    churn(BLOCK);
    assert!(
        footprint() >= baseline + BLOCK / 2,
        "glibc gave a freed block back by itself (no longer its rule, or MALLOC_* / \
         GLIBC_TUNABLES set for this test): see glibc_malloc's reasons"
    );

    let applied: Vec<Knob> = tune().into_iter().map(|s| s.knob).collect();
    assert!(
        applied.contains(&Knob::MmapThreshold) && applied.contains(&Knob::TrimThreshold),
        "thresholds not applied: {applied:?} (MALLOC_* or GLIBC_TUNABLES set?)"
    );
    for _ in 0..3 {
        churn(BLOCK);
        assert!(
            footprint() < baseline + BLOCK / 4,
            "a freed 4 MiB block stayed: {} bytes above the start",
            footprint().saturating_sub(baseline)
        );
    }
}
