//! CPU time of a process by thread name (`/proc/<pid>/task/*`): which of a node's threads
//! -- the consensus loop on its main thread, the executor, the block writer, the tokio
//! workers (API, gossip, signature batches), RocksDB's flushes (`rocksdb:high`) and
//! compactions (`rocksdb:low`) -- spent a run's CPU. A whole-node figure moves within a
//! noisy machine's spread for most changes; a change's own thread usually does not.

use std::collections::BTreeMap;

/// Name under which the main thread is reported (its `comm` is the executable's name);
/// the node's consensus loop runs on it.
pub const MAIN: &str = "main";

/// Most threads read: a node has a few dozen; this bounds the work for any process.
const MAX_THREADS: usize = 4096;

/// utime + stime in clock ticks from a `/proc/.../stat` line.
pub(crate) fn stat_cpu_ticks(stat: &str) -> Option<f64> {
    // Fields after the parenthesised command name (which may contain spaces).
    let (_, rest) = stat.rsplit_once(')')?;
    let mut f = rest.split_whitespace();
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
    let utime: f64 = f.nth(11)?.parse().ok()?;
    let stime: f64 = f.next()?.parse().ok()?;
    Some(utime + stime)
}

/// CPU seconds by thread name now, threads of one name summed; empty if the process is
/// gone. A thread that ended is in none (its time stays in the process's total).
pub fn cpu_by_thread(pid: u32) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten().take(MAX_THREADS) {
        let path = task.path();
        let (Ok(comm), Ok(stat)) = (
            std::fs::read_to_string(path.join("comm")),
            std::fs::read_to_string(path.join("stat")),
        ) else {
            continue; // ended meanwhile
        };
        let Some(ticks) = stat_cpu_ticks(&stat) else {
            continue;
        };
        let is_main = task.file_name().to_str() == Some(pid.to_string().as_str());
        let name = if is_main { MAIN } else { comm.trim() };
        *out.entry(name.to_string()).or_insert(0.0) += ticks / super::CLOCK_TICKS;
    }
    out
}

/// What each thread name spent from `before` to `after` (a name new in `after` counts
/// from zero).
pub fn spent(
    before: &BTreeMap<String, f64>,
    after: &BTreeMap<String, f64>,
) -> BTreeMap<String, f64> {
    after
        .iter()
        .map(|(name, cpu)| {
            let was = before.get(name).copied().unwrap_or(0.0);
            (name.clone(), (cpu - was).max(0.0))
        })
        .collect()
}

/// One line of `name us` pairs, the largest first.
pub fn line(by_thread: &BTreeMap<String, f64>) -> String {
    let mut v: Vec<(&String, &f64)> = by_thread.iter().filter(|(_, x)| **x >= 0.05).collect();
    v.sort_by(|a, b| b.1.total_cmp(a.1));
    v.iter()
        .map(|(n, x)| format!("{n} {x:.1}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_threads_cpu_is_reported_under_its_name() {
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let (busy_tx, busy_rx) = std::sync::mpsc::channel::<()>();
        let burner = std::thread::Builder::new()
            .name("bench-burner".into())
            .spawn(move || {
                // Spins until its own stat shows 5 ticks (50 ms of CPU), then waits to be
                // read while still alive.
                loop {
                    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
                    if stat_cpu_ticks(&stat).unwrap() >= 5.0 {
                        break;
                    }
                    std::hint::black_box((0..10_000u64).sum::<u64>());
                }
                busy_tx.send(()).unwrap();
                let _ = done_rx.recv();
            })
            .unwrap();
        busy_rx.recv().unwrap();
        let now = cpu_by_thread(std::process::id());
        done_tx.send(()).unwrap();
        burner.join().unwrap();
        assert!(now["bench-burner"] >= 0.05, "{now:?}");
        assert!(now.contains_key(MAIN), "{now:?}");

        let before = BTreeMap::from([("a".to_string(), 1.0)]);
        let after = BTreeMap::from([("a".to_string(), 1.5), ("b".to_string(), 0.75)]);
        let d = spent(&before, &after);
        assert_eq!(d["a"], 0.5);
        assert_eq!(d["b"], 0.75);
        assert_eq!(line(&d), "b 0.8, a 0.5");
    }

    #[test]
    fn the_cpu_fields_are_read_after_a_command_name_with_spaces() {
        let stat = "42 (tokio rt) S 1 2 3 4 5 6 7 8 9 10 120 30 0 0 20 0";
        assert_eq!(stat_cpu_ticks(stat), Some(150.0));
        assert_eq!(stat_cpu_ticks("42 (x) S 1"), None);
    }
}
