//! CPU time as Linux's scheduler counts it (`/proc/.../schedstat`: nanoseconds on a CPU),
//! for the benches: the machines are shared, so wall time would count other processes'
//! work as ours. `None` where the files are missing (not Linux).

/// CPU time of the calling thread.
pub fn thread_ns() -> Option<u64> {
    schedstat_ns("/proc/thread-self/schedstat")
}

/// CPU time of every live thread of this process (RocksDB's flush and compaction threads
/// included), summed.
pub fn process_ns() -> Option<u64> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    let mut total = 0u64;
    for task in tasks.flatten() {
        // A thread that ended between the listing and the read counts nothing.
        total += schedstat_ns(task.path().join("schedstat")).unwrap_or(0);
    }
    Some(total)
}

/// The first field of a `schedstat` file: time spent on a CPU.
fn schedstat_ns(path: impl AsRef<std::path::Path>) -> Option<u64> {
    std::fs::read_to_string(path)
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spinning on this thread moves its CPU time forward, and the process's by at least
    /// as much.
    #[test]
    fn work_on_this_thread_is_counted_for_the_thread_and_the_process() {
        let (t0, p0) = (thread_ns().unwrap(), process_ns().unwrap());
        let mut x = 0u64;
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_millis(30) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let (t1, p1) = (thread_ns().unwrap(), process_ns().unwrap());
        assert!(t1 - t0 >= 5_000_000, "thread CPU moved {} ns", t1 - t0);
        assert!(
            p1 - p0 >= t1 - t0,
            "process {} < thread {}",
            p1 - p0,
            t1 - t0
        );
    }
}
