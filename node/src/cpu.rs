//! CPU time as the kernel counts it (`clock_gettime` on the CPU-time clocks), for the
//! benches: the machines are shared, so wall time would count other processes' work as ours.
//! `None` where the clock cannot be read.
//!
//! The process clock counts every thread that ever ran in it, ended ones included (RocksDB's
//! flush and compaction threads, a test harness's other tests). Summing the live threads'
//! `/proc/self/task/*/schedstat` instead, as this module once did, went backwards whenever
//! a thread ended between two readings: a difference of two readings underflowed.

use nix::time::{clock_gettime, ClockId};

/// CPU time of the calling thread.
pub fn thread_ns() -> Option<u64> {
    clock_ns(ClockId::CLOCK_THREAD_CPUTIME_ID)
}

/// CPU time of the whole process: all its threads, live and ended. Never decreases.
pub fn process_ns() -> Option<u64> {
    clock_ns(ClockId::CLOCK_PROCESS_CPUTIME_ID)
}

fn clock_ns(clock: ClockId) -> Option<u64> {
    let t = clock_gettime(clock).ok()?;
    let secs = u64::try_from(t.tv_sec()).ok()?;
    let nanos = u64::try_from(t.tv_nsec()).ok()?;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spin(for_ms: u64) {
        let mut x = 0u64;
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_millis(for_ms) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
    }

    /// Spinning on this thread moves its CPU time forward, and the process's by at least
    /// as much.
    #[test]
    fn work_on_this_thread_is_counted_for_the_thread_and_the_process() {
        let (t0, p0) = (thread_ns().unwrap(), process_ns().unwrap());
        spin(30);
        let (t1, p1) = (thread_ns().unwrap(), process_ns().unwrap());
        let thread = t1.checked_sub(t0).expect("the thread clock went backwards");
        let process = p1
            .checked_sub(p0)
            .expect("the process clock went backwards");
        assert!(thread >= 5_000_000, "thread CPU moved {thread} ns");
        assert!(process >= thread, "process {process} < thread {thread}");
    }

    /// A thread that worked and ended between two readings still counts for the process:
    /// the bench's process figure includes RocksDB threads that came and went, and the
    /// difference of two readings can never be negative.
    #[test]
    fn an_ended_thread_still_counts_for_the_process() {
        let p0 = process_ns().unwrap();
        let worked = std::thread::spawn(|| {
            let t0 = thread_ns().unwrap();
            spin(30);
            thread_ns().unwrap() - t0
        })
        .join()
        .unwrap();
        let p1 = process_ns().unwrap();
        let process = p1
            .checked_sub(p0)
            .expect("the process clock went backwards");
        assert!(worked >= 5_000_000, "the thread's CPU moved {worked} ns");
        assert!(
            process >= worked,
            "process {process} < ended thread {worked}"
        );
    }
}
