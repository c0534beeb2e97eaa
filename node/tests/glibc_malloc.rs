//! What `glibc_malloc` changes, observed in glibc itself: a large block freed (a flushed
//! memtable's, a compaction's buffer) leaves the process instead of staying in its heap,
//! and so do the free blocks inside a heap once they add up to more than the slack. A
//! test file of its own because the settings are process-wide.

#![cfg(all(target_os = "linux", target_env = "gnu"))]

use std::hint::black_box;

use lianrong_node::glibc_malloc::{heap_bytes, trim_above, tune, Knob, TRIM_SLACK_BYTES};

/// One test at a time: both measure the whole process's heap.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

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
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
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

/// This process's resident anonymous memory, in bytes (`None` if unreadable).
fn resident_anonymous() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: usize = (status.lines())
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())?;
    Some(kib * 1024)
}

/// Blocks freed below one still in use, as the block cache's evicted blocks are: glibc
/// keeps their pages (only a heap's top goes back by itself) until a trim.
#[test]
fn free_blocks_inside_the_heap_are_given_back_once_above_the_slack() {
    const BLOCK: usize = 16 << 10;
    const HOLES: usize = 4 * TRIM_SLACK_BYTES / BLOCK;
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: plain allocations, each written whole (so resident) before anything else,
    // freed once; the one kept above them is freed at the end.
    unsafe {
        let blocks: Vec<*mut libc::c_void> = (0..HOLES).map(|_| libc::malloc(BLOCK)).collect();
        let top = libc::malloc(BLOCK);
        assert!(!top.is_null() && blocks.iter().all(|b| !b.is_null()));
        for &b in blocks.iter().chain([&top]) {
            std::ptr::write_bytes(b.cast::<u8>(), 0xa5, BLOCK);
        }
        for b in blocks {
            libc::free(b);
        }
        let held = resident_anonymous().expect("RssAnon in /proc/self/status");
        assert!(
            heap_bytes().free >= HOLES * BLOCK / 2,
            "the freed blocks are not free inside the heap: {:?}",
            heap_bytes()
        );
        assert!(!trim_above(usize::MAX), "trimmed with no slack exceeded");
        assert!(
            trim_above(TRIM_SLACK_BYTES),
            "more than the slack free, not trimmed"
        );
        let now = resident_anonymous().expect("RssAnon in /proc/self/status");
        let given_back = held.saturating_sub(now);
        assert!(
            given_back >= HOLES * BLOCK / 2,
            "{given_back} bytes given back of {} freed",
            HOLES * BLOCK
        );
        libc::free(black_box(top));
    }
}
