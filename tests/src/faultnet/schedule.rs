//! Fault schedules: a seed and a network size name one sequence of fault episodes, so a
//! failing run is replayed by its seed. Only the schedule is deterministic; the processes
//! under it are real and their timing is not.

use std::fmt;
use std::time::Duration;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One fault, applied at the start of an episode and healed at its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Every link touching `node` delays each chunk by `ms` each way.
    Delay { node: usize, ms: u64 },
    /// Every link touching `node` loses `pct` % of its chunks (held for a retransmission).
    Loss { node: usize, pct: u8 },
    /// Nothing from `from` reaches `to`; `to` still reaches `from`.
    OneWay { from: usize, to: usize },
    /// The nodes in `side` hear nothing from the others and the others nothing from them.
    Partition { side: Vec<usize> },
    /// SIGKILL, then a restart at the episode's end.
    Kill { node: usize },
    /// `times` SIGKILL + restart in a row, each after the node answered again.
    RestartLoop { node: usize, times: u32 },
    /// SIGSTOP, SIGCONT at the episode's end (a frozen VM).
    Pause { nodes: Vec<usize> },
    /// The node's data volume is filled to the last byte; freed at the episode's end (and
    /// the node restarted if it stopped).
    DiskFull { node: usize },
    /// The node restarts with its wall clock `ms` off (libfaketime); at the episode's end it
    /// restarts on the true clock.
    ClockSkew { node: usize, ms: i64 },
}

impl Fault {
    /// A short name, for the summary table.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Delay { .. } => "delay",
            Fault::Loss { .. } => "loss",
            Fault::OneWay { .. } => "one-way",
            Fault::Partition { .. } => "partition",
            Fault::Kill { .. } => "kill",
            Fault::RestartLoop { .. } => "restart-loop",
            Fault::Pause { .. } => "pause",
            Fault::DiskFull { .. } => "disk-full",
            Fault::ClockSkew { .. } => "clock-skew",
        }
    }
}

/// Every kind, in the order a covering schedule shuffles.
pub const KINDS: [&str; 9] = [
    "delay",
    "loss",
    "one-way",
    "partition",
    "kill",
    "restart-loop",
    "pause",
    "disk-full",
    "clock-skew",
];

/// A fault held for a while, then healed, then a quiet gap before the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Episode {
    pub fault: Fault,
    pub hold: Duration,
    pub gap: Duration,
}

/// The episodes of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub seed: u64,
    pub nodes: usize,
    pub episodes: Vec<Episode>,
}

impl Schedule {
    /// Every fault kind once, in an order and on nodes the seed picks: the short run.
    pub fn covering(seed: u64, nodes: usize) -> Schedule {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut kinds = KINDS.to_vec();
        kinds.shuffle(&mut rng);
        let episodes = kinds
            .into_iter()
            .map(|k| episode(&mut rng, k, nodes, (3, 6)))
            .collect();
        Schedule {
            seed,
            nodes,
            episodes,
        }
    }

    /// Random episodes until their holds and gaps add up to `length`: the long run.
    pub fn random(seed: u64, nodes: usize, length: Duration) -> Schedule {
        Self::random_of(seed, nodes, length, &KINDS)
    }

    /// Like [`Schedule::random`], drawing only from `kinds` (to chase one kind of fault).
    pub fn random_of(seed: u64, nodes: usize, length: Duration, kinds: &[&str]) -> Schedule {
        assert!(
            !kinds.is_empty() && kinds.iter().all(|k| KINDS.contains(k)),
            "fault kinds are {KINDS:?}"
        );
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut episodes = Vec::new();
        let mut total = Duration::ZERO;
        while total < length {
            let k = kinds[rng.gen_range(0..kinds.len())];
            let e = episode(&mut rng, k, nodes, (3, 20));
            total += e.hold + e.gap;
            episodes.push(e);
        }
        Schedule {
            seed,
            nodes,
            episodes,
        }
    }
}

/// The most nodes that may fail at once with `n` validators (n >= 3f + 1).
pub fn max_faulty(n: usize) -> usize {
    (n - 1) / 3
}

fn episode(rng: &mut ChaCha8Rng, kind: &str, n: usize, hold_s: (u64, u64)) -> Episode {
    let node = rng.gen_range(0..n);
    let other = (node + rng.gen_range(1..n)) % n;
    let fault = match kind {
        "delay" => Fault::Delay {
            node,
            ms: rng.gen_range(20..=300),
        },
        "loss" => Fault::Loss {
            node,
            pct: rng.gen_range(5..=30),
        },
        "one-way" => Fault::OneWay {
            from: node,
            to: other,
        },
        // Up to half the network: a minority side, or (n = 4: two against two) a split
        // where neither side has a quorum and nothing may be finalized until it heals.
        "partition" => {
            let k = rng.gen_range(1..=n / 2);
            Fault::Partition {
                side: pick(rng, n, k),
            }
        }
        "kill" => Fault::Kill { node },
        "restart-loop" => Fault::RestartLoop {
            node,
            times: rng.gen_range(2..=4),
        },
        "pause" => {
            let k = rng.gen_range(1..=max_faulty(n) + 1);
            Fault::Pause {
                nodes: pick(rng, n, k),
            }
        }
        "disk-full" => Fault::DiskFull { node },
        _ => {
            // Within the engine's 2 s drift, and far beyond it, either way.
            let ms = if rng.gen_bool(0.5) {
                rng.gen_range(300..1_500)
            } else {
                rng.gen_range(5_000..30_000)
            };
            Fault::ClockSkew {
                node,
                ms: if rng.gen_bool(0.5) { ms } else { -ms },
            }
        }
    };
    Episode {
        fault,
        hold: Duration::from_millis(rng.gen_range(hold_s.0 * 1000..=hold_s.1 * 1000)),
        gap: Duration::from_millis(rng.gen_range(1_000..=3_000)),
    }
}

fn pick(rng: &mut ChaCha8Rng, n: usize, k: usize) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    all.shuffle(rng);
    let mut side: Vec<usize> = all.into_iter().take(k).collect();
    side.sort_unstable();
    side
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "schedule: seed {} on {} validators",
            self.seed, self.nodes
        )?;
        for (i, e) in self.episodes.iter().enumerate() {
            writeln!(
                f,
                "  {i:>3}: {:?} held {:.1} s, then {:.1} s quiet",
                e.fault,
                e.hold.as_secs_f64(),
                e.gap.as_secs_f64()
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_names_one_schedule_and_the_short_one_covers_every_kind() {
        for n in 4..=7 {
            let s = Schedule::covering(11, n);
            assert_eq!(s, Schedule::covering(11, n), "replayable");
            let mut kinds: Vec<&str> = s.episodes.iter().map(|e| e.fault.kind()).collect();
            kinds.sort_unstable();
            let mut all = KINDS.to_vec();
            all.sort_unstable();
            assert_eq!(kinds, all);
            assert_ne!(
                s,
                Schedule::covering(12, n),
                "another seed, another schedule"
            );
        }
        let long = Schedule::random(3, 7, Duration::from_secs(3600));
        assert!(long.episodes.len() > 100);
        assert_eq!(long, Schedule::random(3, 7, Duration::from_secs(3600)));
    }

    #[test]
    fn no_episode_names_a_node_outside_the_network_or_stops_more_than_f_plus_one() {
        for seed in 0..200 {
            let n = 4 + (seed as usize % 4);
            for e in Schedule::random(seed, n, Duration::from_secs(600)).episodes {
                let named: Vec<usize> = match &e.fault {
                    Fault::Delay { node, .. }
                    | Fault::Loss { node, .. }
                    | Fault::Kill { node }
                    | Fault::RestartLoop { node, .. }
                    | Fault::DiskFull { node }
                    | Fault::ClockSkew { node, .. } => vec![*node],
                    Fault::OneWay { from, to } => {
                        assert_ne!(from, to);
                        vec![*from, *to]
                    }
                    Fault::Partition { side } => {
                        assert!(!side.is_empty() && side.len() <= n / 2, "{side:?}");
                        side.clone()
                    }
                    Fault::Pause { nodes } => {
                        assert!(nodes.len() <= max_faulty(n) + 1, "{nodes:?}");
                        nodes.clone()
                    }
                };
                assert!(named.iter().all(|i| *i < n), "{e:?}");
            }
        }
    }
}
