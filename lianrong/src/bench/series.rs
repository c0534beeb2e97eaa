//! Figures over time: committed transactions and finality per second of the run, and
//! each node's CPU and resident memory sampled once a second. What `--report FILE`
//! draws and `--json` carries under `series`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::CLOCK_TICKS;

/// Width of one bucket of the commit series.
const BUCKET: Duration = Duration::from_secs(1);
/// Most buckets (and node samples) kept: ten hours of a run at one a second.
pub const MAX_POINTS: usize = 36_000;
/// Latency histogram bins: bin `i` holds latencies up to `FIRST_EDGE_MS * RATIO^i`, so
/// percentiles per second are exact to within one bin (10 %), in bounded memory.
const BINS: usize = 128;
const FIRST_EDGE_MS: f64 = 1.0;
const RATIO: f64 = 1.1;

/// One second of the run.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesPoint {
    /// Seconds since the load started (end of the bucket).
    pub t_s: f64,
    /// Transactions seen committed in this second.
    pub committed: u64,
    /// Median finality of those, ms (within 10 %); absent without samples.
    pub finality_p50_ms: Option<f64>,
    /// 99th percentile, ms (within 10 %).
    pub finality_p99_ms: Option<f64>,
}

/// One sample of a node.
#[derive(Debug, Clone, Serialize)]
pub struct NodePoint {
    /// Seconds since the load started.
    pub t_s: f64,
    /// CPU used since the previous sample, percent of one core.
    pub cpu_percent: f64,
    /// Resident memory now, MiB.
    pub rss_mib: f64,
}

/// A node's samples.
#[derive(Debug, Clone, Serialize)]
pub struct NodeSeries {
    /// Node name.
    pub name: String,
    /// Once a second.
    pub points: Vec<NodePoint>,
}

/// Seconds one throughput window spans ([`windows`]).
pub const WINDOW_SECONDS: usize = 30;
/// A window below this share of the run's fastest is reported as a stall.
pub const STALL_SHARE: f64 = 0.25;

/// The measured period cut into whole [`WINDOW_SECONDS`]-second windows: the slowest,
/// median and fastest committed tx/s among them. A long run's average hides minutes in
/// which the network nearly stopped (a 1,000,000-transaction run averaged 1,290 tx/s
/// while it committed ~35-170 tx/s for seven minutes, node/README.md "A network that
/// slowed to a crawl"); its slowest window does not. Stalls are judged against the
/// fastest window, not the median: that slump took more than half of its run.
#[derive(Debug, Clone, Serialize)]
pub struct Windows {
    /// Whole windows in the measured period.
    pub windows: usize,
    /// The slowest window's committed tx/s.
    pub slowest_tx_per_second: f64,
    /// When it began, seconds since the load started.
    pub slowest_from_s: f64,
    /// The median window's committed tx/s.
    pub median_tx_per_second: f64,
    /// The fastest window's committed tx/s.
    pub fastest_tx_per_second: f64,
    /// Whether the slowest window committed less than [`STALL_SHARE`] of the fastest.
    pub stalled: bool,
}

impl Windows {
    /// One line for the text and HTML reports.
    pub fn summary(&self) -> String {
        format!(
            "{} of {} s: slowest {:.0} tx/s (from {:.0} s), median {:.0}, fastest {:.0}{}",
            self.windows,
            WINDOW_SECONDS,
            self.slowest_tx_per_second,
            self.slowest_from_s,
            self.median_tx_per_second,
            self.fastest_tx_per_second,
            if self.stalled {
                format!(
                    " -- STALLED: below {:.0} % of the fastest",
                    STALL_SHARE * 100.0
                )
            } else {
                String::new()
            }
        )
    }
}

/// [`Windows`] of the buckets that end within `from_s..=to_s`; `None` when the period
/// holds no whole window.
pub fn windows(points: &[SeriesPoint], from_s: f64, to_s: f64) -> Option<Windows> {
    let inside: Vec<&SeriesPoint> = (points.iter())
        .filter(|p| p.t_s > from_s && p.t_s <= to_s)
        .collect();
    let mut rates: Vec<(f64, f64)> = inside
        .chunks_exact(WINDOW_SECONDS)
        .map(|w| {
            let committed: u64 = w.iter().map(|p| p.committed).sum();
            let began = w[0].t_s - BUCKET.as_secs_f64();
            (committed as f64 / WINDOW_SECONDS as f64, began)
        })
        .collect();
    // A stable sort: of windows equally slow, the earliest is named.
    rates.sort_by(|a, b| a.0.total_cmp(&b.0));
    let &(slowest, slowest_from_s) = rates.first()?;
    let median = rates[rates.len() / 2].0;
    let fastest = rates[rates.len() - 1].0;
    Some(Windows {
        windows: rates.len(),
        slowest_tx_per_second: slowest,
        slowest_from_s,
        median_tx_per_second: median,
        fastest_tx_per_second: fastest,
        stalled: slowest < STALL_SHARE * fastest,
    })
}

/// Everything over time.
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    /// When the measured period began and ended, seconds since the load started.
    pub measured_from_s: f64,
    /// End of the measured period.
    pub measured_to_s: f64,
    /// Per second.
    pub points: Vec<SeriesPoint>,
    /// Per node.
    pub nodes: Vec<NodeSeries>,
}

#[derive(Clone)]
struct Bucket {
    committed: u64,
    hist: [u32; BINS],
}

/// Commits per second with their finality, recorded as they are seen.
pub struct Timeline {
    start: Instant,
    buckets: Mutex<Vec<Bucket>>,
}

fn bin_of(ms: f64) -> usize {
    if ms <= FIRST_EDGE_MS {
        return 0;
    }
    let i = ((ms / FIRST_EDGE_MS).ln() / RATIO.ln()).ceil();
    (i as usize).min(BINS - 1)
}

fn percentile_of(hist: &[u32; BINS], p: f64) -> Option<f64> {
    let total: u64 = hist.iter().map(|c| u64::from(*c)).sum();
    if total == 0 {
        return None;
    }
    let rank = ((total as f64) * p).ceil().max(1.0) as u64;
    let mut seen = 0u64;
    for (i, c) in hist.iter().enumerate() {
        seen += u64::from(*c);
        if seen >= rank {
            return Some(FIRST_EDGE_MS * RATIO.powi(i as i32));
        }
    }
    None
}

impl Timeline {
    /// A timeline starting now.
    pub fn new() -> Timeline {
        Timeline {
            start: Instant::now(),
            buckets: Mutex::new(Vec::new()),
        }
    }

    /// Seconds since the start.
    pub fn seconds(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.start).as_secs_f64()
    }

    /// `n` transactions seen committed at `at`, with their finality in ms when known.
    pub fn record(&self, at: Instant, n: u64, latencies_ms: &[f64]) {
        let i =
            (at.saturating_duration_since(self.start).as_millis() / BUCKET.as_millis()) as usize;
        if i >= MAX_POINTS {
            return;
        }
        let Ok(mut b) = self.buckets.lock() else {
            return;
        };
        if b.len() <= i {
            b.resize(
                i + 1,
                Bucket {
                    committed: 0,
                    hist: [0; BINS],
                },
            );
        }
        b[i].committed += n;
        for ms in latencies_ms {
            let bin = &mut b[i].hist[bin_of(*ms)];
            *bin = bin.saturating_add(1);
        }
    }

    /// The buckets so far.
    pub fn points(&self) -> Vec<SeriesPoint> {
        let Ok(b) = self.buckets.lock() else {
            return Vec::new();
        };
        b.iter()
            .enumerate()
            .map(|(i, bucket)| SeriesPoint {
                t_s: ((i + 1) as u128 * BUCKET.as_millis()) as f64 / 1000.0,
                committed: bucket.committed,
                finality_p50_ms: percentile_of(&bucket.hist, 0.50),
                finality_p99_ms: percentile_of(&bucket.hist, 0.99),
            })
            .collect()
    }
}

/// (CPU ticks, current RSS KiB) of a process.
fn cpu_and_rss(pid: u32) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())?;
    Some((ticks, rss_kib))
}

/// Samples each node's CPU and RSS once a second until stopped.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Vec<NodeSeries>>,
}

impl Sampler {
    /// Starts sampling `(name, pid)` of each node.
    pub fn spawn(nodes: Vec<(String, u32)>, timeline: &Arc<Timeline>) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, timeline) = (stop.clone(), timeline.clone());
        let task = tokio::spawn(async move {
            let mut series: Vec<NodeSeries> = nodes
                .iter()
                .map(|(name, _)| NodeSeries {
                    name: name.clone(),
                    points: Vec::new(),
                })
                .collect();
            let mut last: Vec<Option<(Instant, f64)>> = vec![None; nodes.len()];
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            while !flag.load(Ordering::SeqCst) {
                tick.tick().await;
                let now = Instant::now();
                for (i, (_, pid)) in nodes.iter().enumerate() {
                    let Some((ticks, rss_kib)) = cpu_and_rss(*pid) else {
                        continue;
                    };
                    if let Some((then, before)) = last[i] {
                        let secs = now.duration_since(then).as_secs_f64().max(1e-3);
                        if series[i].points.len() < MAX_POINTS {
                            series[i].points.push(NodePoint {
                                t_s: timeline.seconds(now),
                                cpu_percent: (ticks - before) / CLOCK_TICKS / secs * 100.0,
                                rss_mib: rss_kib / 1024.0,
                            });
                        }
                    }
                    last[i] = Some((now, ticks));
                }
            }
            series
        });
        Sampler { stop, task }
    }

    /// Stops and returns the samples.
    pub async fn stop(self) -> Vec<NodeSeries> {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_per_second_are_within_a_bin() {
        let t = Timeline::new();
        let at = t.start + Duration::from_millis(1500);
        let lat: Vec<f64> = (1..=100).map(|i| i as f64 * 10.0).collect();
        t.record(at, 100, &lat);
        let p = t.points();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].committed, 0);
        assert_eq!(p[1].committed, 100);
        let p50 = p[1].finality_p50_ms.unwrap();
        let p99 = p[1].finality_p99_ms.unwrap();
        assert!((500.0..=550.0).contains(&p50), "{p50}");
        assert!((990.0..=1090.0).contains(&p99), "{p99}");
        assert!(p[0].finality_p50_ms.is_none());
    }

    fn second(t_s: f64, committed: u64) -> SeriesPoint {
        SeriesPoint {
            t_s,
            committed,
            finality_p50_ms: None,
            finality_p99_ms: None,
        }
    }

    #[test]
    fn a_slump_inside_a_long_run_is_its_slowest_window_and_a_stall() {
        // 300 s: 3,000 tx/s, then 100 tx/s for 180 s from t = 90 s (more than half of
        // the run, as in the slump the README describes), then 3,500. The average (1,310
        // tx/s) hides it, and so would a comparison with the median window.
        let rate = |t: u64| match t {
            91..=270 => 100,
            271.. => 3_500,
            _ => 3_000,
        };
        let points: Vec<SeriesPoint> = (1..=300).map(|t| second(t as f64, rate(t))).collect();
        let w = windows(&points, 0.0, 300.0).unwrap();
        assert_eq!(w.windows, 10);
        assert_eq!(w.slowest_tx_per_second, 100.0);
        assert_eq!(w.slowest_from_s, 90.0);
        assert_eq!(w.median_tx_per_second, 100.0);
        assert_eq!(w.fastest_tx_per_second, 3_500.0);
        assert!(w.stalled);
        assert!(
            w.summary().contains("slowest 100 tx/s (from 90 s)"),
            "{}",
            w.summary()
        );
        assert!(w.summary().contains("STALLED"), "{}", w.summary());
    }

    #[test]
    fn windows_lie_inside_the_measured_period_and_steady_runs_do_not_stall() {
        // The warm-up's slow start and a partial last window are not windows.
        let points: Vec<SeriesPoint> = (1..=100)
            .map(|t| second(t as f64, if t <= 5 { 0 } else { 2_000 + t }))
            .collect();
        let w = windows(&points, 5.0, 100.0).unwrap();
        assert_eq!(w.windows, 3);
        assert_eq!(w.slowest_from_s, 5.0);
        assert!(!w.stalled);
        assert!(!w.summary().contains("STALLED"), "{}", w.summary());
        assert!(w.slowest_tx_per_second > 2_000.0);
        assert!(windows(&points, 5.0, 30.0).is_none(), "no whole window");
    }

    #[test]
    fn a_run_past_the_cap_stops_growing() {
        let t = Timeline::new();
        t.record(t.start + BUCKET * (MAX_POINTS as u32 + 5), 1, &[1.0]);
        assert!(t.points().is_empty());
    }
}
