//! Three settings of glibc's `malloc`, which serves RocksDB's C++ allocations (its block
//! cache and memtables; the Rust heap is jemalloc's, chosen by the binary), applied once
//! when a node starts.
//!
//! Why: glibc's defaults kept a validator's RSS ~30 MiB, and a node catching up ~80 MiB,
//! above what they needed over a 1,000,000-transaction run (node/README.md, "glibc's
//! malloc, tuned for RocksDB"):
//! - glibc maps an allocation at or above its mmap threshold (128 KiB at first) when the
//!   heap has no room for it, and gives it back whole when it is freed. But it raises the
//!   threshold to the size of every mapped block freed (up to 32 MiB), and the threshold
//!   for giving back free space at the top of a heap to twice that. After the first
//!   memtable flush (256 KiB arena blocks, `lianrong_storage::MEMTABLE_ARENA_BLOCK_BYTES`;
//!   larger buffers in compactions) such blocks grow the heap instead, between cached blocks
//!   that live for minutes, and freed ones stay in the process. Fixed thresholds turn that
//!   adjustment off.
//! - glibc makes up to eight arenas per core, one per thread that allocates while another
//!   holds an arena, and each keeps its own free memory; RocksDB allocates from the
//!   executor, the API's threads and its own flush and compaction threads. Two arenas.
//!
//! - glibc gives back free memory only from the top of a heap: free blocks below a block
//!   still in use stay resident however long they are free. When the block cache turns
//!   over (a catching-up node's last blocks and first prunings, a new working set), its
//!   freed blocks leave such holes: near the end of a 1,000,000-transaction catch-up
//!   glibc's main heap held 65 MB from the system with 5 MB in use, and `malloc_trim`
//!   gave back 34 MiB of RSS. A thread of its own ([`start_trimming`]) gives the holes
//!   back every [`TRIM_EVERY`] once more than [`TRIM_SLACK_BYTES`] are free.
//!
//! The price measured: ~8 % of throughput under long saturation, not yet attributed (a
//! higher trim threshold did not win it back). An operator's own `GLIBC_TUNABLES`,
//! `MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_` or `MALLOC_TRIM_THRESHOLD_` wins: a
//! setting named by any of them is left alone (the trimming thread goes with the trim
//! threshold).
//!
//! A no-op where the C library is not glibc.

/// glibc's initial mmap threshold, held: an allocation of at least this many bytes that
/// the heap has no room for is mapped. Half a memtable arena block.
pub const MMAP_THRESHOLD_BYTES: i32 = 128 * 1024;
/// glibc's initial trim threshold, held: free space above this at a heap's top goes back.
pub const TRIM_THRESHOLD_BYTES: i32 = 128 * 1024;
/// Arenas glibc may make for RocksDB's threads.
pub const ARENAS: i32 = 2;
/// Free bytes inside glibc's heaps that [`start_trimming`]'s thread leaves alone: a few
/// MiB are reused within a second by the next blocks cached and written, and a page given
/// back and written again costs a page fault.
pub const TRIM_SLACK_BYTES: usize = 8 << 20;
/// How often the trimming thread looks at glibc's free bytes.
pub const TRIM_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// A parameter of glibc's `mallopt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Knob {
    /// `M_MMAP_THRESHOLD`.
    MmapThreshold,
    /// `M_TRIM_THRESHOLD`.
    TrimThreshold,
    /// `M_ARENA_MAX`.
    ArenaMax,
}

/// One setting and the variable that overrides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The parameter set.
    pub knob: Knob,
    /// The value applied.
    pub value: i32,
    /// The environment variable an operator sets it with instead (`GLIBC_TUNABLES`
    /// overrides every setting).
    pub variable: &'static str,
}

/// Every setting this module applies.
pub const SETTINGS: [Setting; 3] = [
    Setting {
        knob: Knob::MmapThreshold,
        value: MMAP_THRESHOLD_BYTES,
        variable: "MALLOC_MMAP_THRESHOLD_",
    },
    Setting {
        knob: Knob::TrimThreshold,
        value: TRIM_THRESHOLD_BYTES,
        variable: "MALLOC_TRIM_THRESHOLD_",
    },
    Setting {
        knob: Knob::ArenaMax,
        value: ARENAS,
        variable: "MALLOC_ARENA_MAX",
    },
];

/// The settings to apply, given which environment variables are set.
pub fn to_apply(is_set: impl Fn(&str) -> bool) -> Vec<Setting> {
    if is_set("GLIBC_TUNABLES") {
        return Vec::new();
    }
    SETTINGS
        .into_iter()
        .filter(|s| !is_set(s.variable))
        .collect()
}

/// Applies [`to_apply`] for this process's environment; returns what it applied. Call
/// it before the threads that use RocksDB start.
pub fn tune() -> Vec<Setting> {
    let settings = to_apply(|v| std::env::var_os(v).is_some());
    settings.into_iter().filter(|s| apply(*s)).collect()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn apply(setting: Setting) -> bool {
    let param = match setting.knob {
        Knob::MmapThreshold => libc::M_MMAP_THRESHOLD,
        Knob::TrimThreshold => libc::M_TRIM_THRESHOLD,
        Knob::ArenaMax => libc::M_ARENA_MAX,
    };
    // SAFETY: mallopt takes a parameter number and a value, changes only the allocator's
    // own settings under its lock, and reports failure as 0.
    unsafe { libc::mallopt(param, setting.value) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn apply(_: Setting) -> bool {
    false
}

/// What glibc's heaps hold, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeapBytes {
    /// In blocks allocated (RocksDB's cache, memtable arenas, buffers), mapped ones too.
    pub in_use: usize,
    /// Free inside the heaps: what a trim can give back, as far as whole pages are free.
    pub free: usize,
}

/// What glibc's heaps hold now (zeros where the C library is not glibc).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn heap_bytes() -> HeapBytes {
    // SAFETY: mallinfo2 reads the allocator's counters under its arenas' locks.
    let info = unsafe { libc::mallinfo2() };
    HeapBytes {
        in_use: info.uordblks.saturating_add(info.hblkhd),
        free: info.fordblks,
    }
}

/// What glibc's heaps hold now (zeros where the C library is not glibc).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn heap_bytes() -> HeapBytes {
    HeapBytes::default()
}

/// Gives the free pages inside glibc's heaps back to the system if more than `slack`
/// bytes are free; returns whether it did.
pub fn trim_above(slack: usize) -> bool {
    if heap_bytes().free <= slack {
        return false;
    }
    trim();
    true
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim(0) walks glibc's arenas under their locks and advises the
    // kernel to drop whole free pages; no block in use is touched.
    unsafe { libc::malloc_trim(0) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}

/// Starts the thread that calls [`trim_above`] with [`TRIM_SLACK_BYTES`] every
/// [`TRIM_EVERY`] for the rest of the process, if `applied` (what [`tune`] applied) holds
/// the trim threshold: an operator who set their own leaves trimming to glibc's rule.
/// Returns whether it started.
pub fn start_trimming(applied: &[Setting]) -> std::io::Result<bool> {
    if !applied.iter().any(|s| s.knob == Knob::TrimThreshold) {
        return Ok(false);
    }
    std::thread::Builder::new()
        .name("malloc-trim".into())
        .spawn(|| loop {
            std::thread::sleep(TRIM_EVERY);
            trim_above(TRIM_SLACK_BYTES);
        })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_applies_unless_the_operator_set_it() {
        assert_eq!(to_apply(|_| false), SETTINGS.to_vec());
        let without_arenas = to_apply(|v| v == "MALLOC_ARENA_MAX");
        assert_eq!(
            without_arenas.iter().map(|s| s.knob).collect::<Vec<_>>(),
            [Knob::MmapThreshold, Knob::TrimThreshold]
        );
        assert!(to_apply(|v| v == "GLIBC_TUNABLES").is_empty());
    }

    #[test]
    fn trimming_goes_with_the_trim_threshold() {
        assert!(!start_trimming(&[]).unwrap());
        let others: Vec<Setting> = (SETTINGS.into_iter())
            .filter(|s| s.knob != Knob::TrimThreshold)
            .collect();
        assert!(!start_trimming(&others).unwrap());
    }

    #[test]
    fn a_memtable_block_is_above_the_threshold() {
        // Mapped blocks are what a flush gives back; a block below the threshold would
        // come from the heap again.
        let block = i32::try_from(lianrong_storage::MEMTABLE_ARENA_BLOCK_BYTES).unwrap();
        assert!(block > MMAP_THRESHOLD_BYTES);
    }
}
