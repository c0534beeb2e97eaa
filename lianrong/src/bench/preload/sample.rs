//! Latency samples of one endpoint class and their percentiles, and the deterministic
//! generator that picks the random targets (the same targets every run of one size).

use std::future::Future;
use std::time::Instant;

use serde::Serialize;

/// Most samples of one class (`--samples` is checked against it).
pub const MAX_SAMPLES: usize = 100_000;

/// The latency of one endpoint class (under `preload.api` and `preload.explorer`).
#[derive(Debug, Clone, Serialize)]
pub struct EndpointFigures {
    /// What was asked, e.g. `GET /v1/receivables?holder=`.
    pub endpoint: String,
    /// Requests timed.
    pub samples: usize,
    /// Of those, failed (transport, or a status other than 2xx).
    pub errors: u64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Slowest, ms.
    pub max_ms: f64,
    /// Items (list entries, CSV lines) the answers carried together.
    pub items: u64,
    /// Answers whose item count differs from what the preload's tally expects.
    pub mismatched: u64,
    /// The first failure or mismatch, in words.
    pub first_problem: Option<String>,
}

/// Samples being taken.
pub struct Sampler {
    endpoint: String,
    ms: Vec<f64>,
    errors: u64,
    items: u64,
    mismatched: u64,
    first_problem: Option<String>,
}

impl Sampler {
    /// No samples yet.
    pub fn new(endpoint: impl Into<String>) -> Sampler {
        Sampler {
            endpoint: endpoint.into(),
            ms: Vec::new(),
            errors: 0,
            items: 0,
            mismatched: 0,
            first_problem: None,
        }
    }

    /// Requests timed so far.
    pub fn taken(&self) -> usize {
        self.ms.len()
    }

    /// Times `f`; its error is counted (and the first kept).
    pub async fn time<T, E: std::fmt::Display>(
        &mut self,
        f: impl Future<Output = Result<T, E>>,
    ) -> Option<T> {
        let started = Instant::now();
        let r = f.await;
        self.ms.push(started.elapsed().as_secs_f64() * 1000.0);
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors += 1;
                self.problem(format!("{e}"));
                None
            }
        }
    }

    fn problem(&mut self, what: String) {
        if self.first_problem.is_none() {
            self.first_problem = Some(what);
        }
    }

    /// An answer carried `got` items where `want` were expected (`None`: any count).
    pub fn count(&mut self, what: &str, got: u64, want: Option<u64>) {
        self.items += got;
        if let Some(w) = want.filter(|w| *w != got) {
            self.mismatched += 1;
            self.problem(format!("{what}: {got} items, expected {w}"));
        }
    }

    /// The percentiles.
    pub fn finish(self) -> EndpointFigures {
        let mut ms = self.ms;
        ms.sort_by(|a, b| a.total_cmp(b));
        EndpointFigures {
            endpoint: self.endpoint,
            samples: ms.len(),
            errors: self.errors,
            p50_ms: crate::bench::percentile(&ms, 0.50),
            p99_ms: crate::bench::percentile(&ms, 0.99),
            max_ms: ms.last().copied().unwrap_or(f64::NAN),
            items: self.items,
            mismatched: self.mismatched,
            first_problem: self.first_problem,
        }
    }
}

/// splitmix64: random enough targets, the same every run.
pub struct Rng(u64);

impl Rng {
    /// A generator for one class (`seed` names it).
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5EED_1A17_C0DE_F00D)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        z.checked_rem(n).unwrap_or(0)
    }
}

/// The text lines of a set of endpoint figures.
pub fn write_lines(
    f: &mut std::fmt::Formatter<'_>,
    title: &str,
    figures: &[EndpointFigures],
) -> std::fmt::Result {
    writeln!(f, "{title}")?;
    for e in figures {
        writeln!(
            f,
            "  {:<52} p50 {:>8.2} ms  p99 {:>8.2} ms  ({} samples, {} errors, {} items{})",
            e.endpoint,
            e.p50_ms,
            e.p99_ms,
            e.samples,
            e.errors,
            e.items,
            if e.mismatched > 0 {
                format!(", {} MISMATCHED", e.mismatched)
            } else {
                String::new()
            }
        )?;
        if let Some(p) = &e.first_problem {
            writeln!(f, "    first problem: {p}")?;
        }
    }
    Ok(())
}
