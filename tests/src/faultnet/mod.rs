//! The process-level fault harness: real validators, each peer connection through a
//! controllable [`link::Link`], every data folder on a volume of its own that can be
//! filled, clocks that can be set wrong, and a seeded [`schedule::Schedule`] of faults run
//! under a steady signed load. [`run`] plays one schedule and checks, after every
//! episode and at the end, what a user relies on (see [`check`]).

pub mod check;
pub mod link;
pub mod schedule;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use link::{Link, LinkState};
use schedule::{Episode, Fault, Schedule};

use crate::{wait_until, Cluster};

/// Where Debian's libfaketime puts the preload library (`scripts/setup` installs it).
pub const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// Bounds of one run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Each node's data volume (tmpfs), MiB: the disk limit the checker enforces.
    pub disk_mib: u64,
    /// No node's resident memory may pass this, MiB.
    pub rss_mib: u64,
    /// After a fault heals, every node must be 2 blocks further within this.
    pub heal_bound: Duration,
    /// The load clients' pause after each admitted order.
    pub load_gap: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            disk_mib: 256,
            rss_mib: 1024,
            heal_bound: Duration::from_secs(60),
            load_gap: Duration::from_millis(40),
        }
    }
}

/// A node's data volume: a tmpfs of its own, so that filling it fills nothing else.
struct Volume {
    mount: PathBuf,
    ballast: PathBuf,
}

impl Drop for Volume {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
    }
}

/// A cluster whose every peer link and data volume the harness controls.
pub struct FaultNet {
    /// The nodes (dropped after the links and volumes' users: see `Drop`).
    pub c: Cluster,
    /// `links[i][j]`: node `i`'s connection to node `j` (none on the diagonal).
    links: Vec<Vec<Option<Link>>>,
    volumes: Vec<Option<Volume>>,
    /// The running nodes' process ids, read by the memory sampler.
    pub pids: Arc<Mutex<Vec<Option<u32>>>>,
}

impl Drop for FaultNet {
    fn drop(&mut self) {
        // Processes first: a volume cannot be unmounted under a running node.
        for n in &mut self.c.nodes {
            n.resume_if_paused();
            n.kill();
        }
        self.volumes.clear();
    }
}

impl FaultNet {
    /// Writes an `n`-validator testnet whose every peer link goes through a [`Link`] and
    /// whose data folders sit on volumes of `opts.disk_mib`, and starts it. Without the
    /// right to mount (not root), volumes are left out and disk-full episodes skipped;
    /// in CI (`CI` set) that is a failure.
    pub fn start(n: usize, seed: u64, opts: &Options) -> FaultNet {
        let (c, _) = Cluster::write_with_spares(n, 0);
        let listen: Vec<SocketAddr> = (0..n).map(|i| p2p_listen(&c, i)).collect();
        let links: Vec<Vec<Option<Link>>> = (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| (i != j).then(|| Link::start(listen[j], seed ^ ((i * 64 + j) as u64))))
                    .collect()
            })
            .collect();
        for (i, row) in links.iter().enumerate() {
            route_peers_through_links(&c, i, &listen, row);
        }
        let volumes = (0..n).map(|i| mount_volume(&c, i, opts.disk_mib)).collect();
        let mut net = FaultNet {
            c,
            links,
            volumes,
            pids: Arc::new(Mutex::new(vec![None; n])),
        };
        net.c.start_all();
        net.refresh_pids();
        net
    }

    /// True when node `i`'s data sits on a volume the harness can fill.
    pub fn has_volume(&self, i: usize) -> bool {
        self.volumes[i].is_some()
    }

    /// Bytes node `i` keeps in its data folder.
    pub fn data_bytes(&self, i: usize) -> u64 {
        let dir = self.volumes[i]
            .as_ref()
            .map(|v| v.mount.clone())
            .unwrap_or_else(|| self.c.nodes[i].config.with_file_name("data"));
        dir_bytes(&dir)
    }

    fn refresh_pids(&self) {
        let pids = self.c.nodes.iter().map(crate::NodeProc::pid).collect();
        *self.pids.lock().unwrap() = pids;
    }

    fn set_links(&self, pick: impl Fn(usize, usize) -> Option<LinkState>) {
        for (i, row) in self.links.iter().enumerate() {
            for (j, link) in row.iter().enumerate() {
                if let (Some(link), Some(state)) = (link, pick(i, j)) {
                    link.set(state);
                }
            }
        }
    }

    /// Starts `fault`.
    pub fn apply(&mut self, fault: &Fault) {
        match fault {
            Fault::Delay { node, ms } => self.set_links(|i, j| {
                (i == *node || j == *node).then_some(LinkState {
                    delay_ms: *ms,
                    ..LinkState::CLEAN
                })
            }),
            Fault::Loss { node, pct } => self.set_links(|i, j| {
                (i == *node || j == *node).then_some(LinkState {
                    loss_pct: *pct,
                    ..LinkState::CLEAN
                })
            }),
            Fault::OneWay { from, to } => self.set_links(|i, j| {
                // Node i dialed node j: "out" is i -> j on that connection.
                let state = LinkState {
                    stall_out: i == *from && j == *to,
                    stall_back: i == *to && j == *from,
                    ..LinkState::CLEAN
                };
                (state != LinkState::CLEAN).then_some(state)
            }),
            Fault::Partition { side } => self.set_links(|i, j| {
                (side.contains(&i) != side.contains(&j)).then_some(LinkState {
                    cut: true,
                    ..LinkState::CLEAN
                })
            }),
            Fault::Kill { node } => self.c.nodes[*node].kill(),
            Fault::RestartLoop { node, times } => self.restart_loop(*node, *times),
            Fault::Pause { nodes } => nodes.iter().for_each(|i| self.c.nodes[*i].pause()),
            Fault::DiskFull { node } => self.fill_volume(*node),
            Fault::ClockSkew { node, ms } => {
                self.c.nodes[*node].kill();
                self.c.nodes[*node].env = faketime_env(*ms);
                self.restart(*node);
            }
        }
        self.refresh_pids();
    }

    /// Ends `fault`: links clean, processes running on true clocks, volumes with room.
    pub fn heal(&mut self, fault: &Fault) {
        match fault {
            Fault::Delay { .. }
            | Fault::Loss { .. }
            | Fault::OneWay { .. }
            | Fault::Partition { .. } => {
                self.set_links(|_, _| Some(LinkState::CLEAN));
            }
            Fault::Kill { node } => self.restart(*node),
            Fault::RestartLoop { .. } => {}
            Fault::Pause { nodes } => nodes.iter().for_each(|i| self.c.nodes[*i].resume()),
            Fault::DiskFull { node } => self.free_volume(*node),
            Fault::ClockSkew { node, .. } => {
                self.c.nodes[*node].kill();
                self.c.nodes[*node].env.clear();
                self.restart(*node);
            }
        }
        self.refresh_pids();
    }

    fn restart(&mut self, i: usize) {
        self.c.nodes[i].start();
        self.c.wait_up(i);
    }

    fn restart_loop(&mut self, i: usize, times: u32) {
        for _ in 0..times {
            self.c.nodes[i].kill();
            self.restart(i);
        }
    }

    /// Fills node `i`'s volume to the last byte (a no-op without volumes: see `start`).
    fn fill_volume(&self, i: usize) {
        let Some(v) = &self.volumes[i] else { return };
        // The node keeps writing while this runs: fallocate all but a margin of what is
        // free now (asking for exactly that failed with ENOSPC when a write came between),
        // and plain writes take the rest.
        let mut bulk = free_bytes(&v.mount).saturating_sub(FILL_MARGIN_BYTES);
        while bulk > FILL_MARGIN_BYTES {
            let out = Command::new("fallocate")
                .arg("-l")
                .arg(format!("{bulk}"))
                .arg(&v.ballast)
                .output()
                .unwrap();
            if out.status.success() {
                break;
            }
            // Refused whole (ENOSPC: the node took more meanwhile): ask for half.
            eprintln!(
                "fill_volume: fallocate of {bulk} bytes refused ({}), {} free now",
                String::from_utf8_lossy(&out.stderr).trim(),
                free_bytes(&v.mount)
            );
            bulk /= 2;
        }
        // Whatever fallocate left (the margin, rounding), plain writes take until ENOSPC.
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&v.ballast)
            .unwrap();
        let block = vec![0u8; 4096];
        while std::io::Write::write_all(&mut f, &block).is_ok() {}
    }

    /// Frees node `i`'s volume. With its disk full a node may stop (then it must start
    /// again on its data: restarted here, as its supervisor would) or carry on once there
    /// is room; standing still alive is the one wrong answer, and the wait says so.
    fn free_volume(&mut self, i: usize) {
        if let Some(v) = &self.volumes[i] {
            std::fs::remove_file(&v.ballast).unwrap();
        }
        let mut stopped = self.c.nodes[i].exited().is_some() || !self.c.nodes[i].running();
        if !stopped {
            let others: Vec<usize> = (0..self.c.nodes.len()).filter(|j| *j != i).collect();
            let target = crate::load::heights(&self.c, &others)
                .into_iter()
                .max()
                .unwrap_or(0);
            let what = format!(
                "{} (disk freed) stops or reaches height {target}",
                self.c.nodes[i].name
            );
            wait_until(&what, Duration::from_secs(60), || {
                stopped = self.c.nodes[i].exited().is_some();
                stopped || self.c.height(i) >= target
            });
        }
        if stopped {
            self.restart(i);
        }
    }

    /// Nodes whose process ended on its own, with how; a node is allowed to stop only
    /// while its disk is full (`allowed`).
    pub fn unexpected_exits(&mut self, allowed: Option<usize>) -> Vec<String> {
        let mut out = Vec::new();
        for (i, n) in self.c.nodes.iter_mut().enumerate() {
            if let Some(status) = n.exited() {
                if Some(i) != allowed {
                    out.push(format!("{} exited ({status}):\n{}", n.name, n.log_tail(30)));
                }
            }
        }
        out
    }
}

impl crate::NodeProc {
    /// SIGCONT whether or not the process was paused (harmless if it was not).
    pub fn resume_if_paused(&self) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .arg("-CONT")
                .arg(pid.to_string())
                .status();
        }
    }
}

fn faketime_env(ms: i64) -> Vec<(String, String)> {
    let secs = format!("{:+.3}", ms as f64 / 1000.0);
    vec![
        ("LD_PRELOAD".into(), LIBFAKETIME.into()),
        ("FAKETIME".into(), secs),
        // Timers and timeouts run on the monotonic clock, which a wrong wall clock
        // leaves alone; only the time of day is off.
        ("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into()),
    ]
}

/// Node `i`'s p2p listen address (`/ip4/127.0.0.1/tcp/P` in its config).
fn p2p_listen(c: &Cluster, i: usize) -> SocketAddr {
    let cfg: toml::Table = std::fs::read_to_string(&c.nodes[i].config)
        .unwrap()
        .parse()
        .unwrap();
    multiaddr_socket(cfg["p2p"]["listen"].as_str().unwrap())
}

fn multiaddr_socket(addr: &str) -> SocketAddr {
    let parts: Vec<&str> = addr.split('/').collect();
    match parts.as_slice() {
        ["", "ip4", ip, "tcp", port] => format!("{ip}:{port}").parse().unwrap(),
        _ => panic!("not a /ip4/../tcp/.. multiaddr: {addr}"),
    }
}

/// Points node `i`'s configured peers at its links (a configured peer address outranks
/// the one the ledger records, so the node never dials around them).
fn route_peers_through_links(c: &Cluster, i: usize, listen: &[SocketAddr], row: &[Option<Link>]) {
    c.edit_config(i, |cfg| {
        let peers = cfg["p2p"]["peers"].as_array_mut().unwrap();
        for p in peers {
            let t = p.as_table_mut().unwrap();
            let at = multiaddr_socket(t["addr"].as_str().unwrap());
            let j = listen.iter().position(|l| *l == at).unwrap();
            let via = row[j].as_ref().unwrap().listen;
            t.insert(
                "addr".into(),
                format!("/ip4/{}/tcp/{}", via.ip(), via.port()).into(),
            );
        }
    });
}

fn mount_volume(c: &Cluster, i: usize, mib: u64) -> Option<Volume> {
    let mount = c.nodes[i].config.with_file_name("volume");
    std::fs::create_dir_all(&mount).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
        .arg(&mount)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "cannot mount a tmpfs for the disk-full fault (CI runs as root)"
        );
        eprintln!("fault harness: no tmpfs (not root?); disk-full episodes are skipped");
        return None;
    }
    let data = mount.join("data");
    c.edit_config(i, |cfg| {
        cfg["node"]
            .as_table_mut()
            .unwrap()
            .insert("data_dir".into(), data.to_str().unwrap().into());
    });
    Some(Volume {
        ballast: mount.join("ballast"),
        mount,
    })
}

/// What [`FaultNet::fill_volume`] leaves to plain writes after its fallocate.
const FILL_MARGIN_BYTES: u64 = 4 * 1024 * 1024;

fn free_bytes(path: &Path) -> u64 {
    let out = Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0)
}

fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Plays `schedule` on a fresh network under load and checks it; the summary of the run.
pub fn run(schedule: &Schedule, opts: &Options) -> check::RunSummary {
    eprintln!("{schedule}");
    let mut net = FaultNet::start(schedule.nodes, schedule.seed, opts);
    let mut run = check::Run::start(&net, opts);
    for (k, e) in schedule.episodes.iter().enumerate() {
        play(&mut net, &mut run, k, e, opts);
    }
    run.finish(&net, schedule, opts)
}

fn play(net: &mut FaultNet, run: &mut check::Run, k: usize, e: &Episode, opts: &Options) {
    if matches!(e.fault, Fault::DiskFull { node } if !net.has_volume(node)) {
        eprintln!("episode {k}: {:?} skipped (no volume)", e.fault);
        return;
    }
    if matches!(e.fault, Fault::ClockSkew { .. }) && !Path::new(LIBFAKETIME).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{LIBFAKETIME} is missing: scripts/setup installs libfaketime"
        );
        eprintln!("episode {k}: {:?} skipped (no libfaketime)", e.fault);
        return;
    }
    eprintln!("episode {k}: {:?} for {:?}", e.fault, e.hold);
    let allowed = match e.fault {
        Fault::DiskFull { node } => Some(node),
        _ => None,
    };
    let before = allowed.map(|i| net.c.height(i));
    net.apply(&e.fault);
    if let Fault::ClockSkew { node, .. } = e.fault {
        // A validator with a wrong clock may refuse to vote for blocks it thinks are from
        // the future, but it must still follow what the others finalize.
        let others: Vec<usize> = (0..net.c.nodes.len()).filter(|j| *j != node).collect();
        let top = crate::load::heights(&net.c, &others)
            .into_iter()
            .max()
            .unwrap_or(0);
        let name = net.c.nodes[node].name.clone();
        net.c
            .wait_nodes_height(&[node], top, e.hold.max(Duration::from_secs(20)));
        eprintln!("  {name} with its clock off follows the chain (height {top})");
    }
    // Holding the fault: the one place the harness waits for time itself, since the
    // fault's length is what the schedule says, not a condition.
    std::thread::sleep(e.hold);
    if let (Some(i), Some(before)) = (allowed, before) {
        report_full_disk(net, i, before);
    }
    let exits = net.unexpected_exits(allowed);
    assert!(
        exits.is_empty(),
        "episode {k} ({:?}): {}",
        e.fault,
        exits.join("\n")
    );
    net.heal(&e.fault);
    run.after_heal(net, k, &e.fault, opts);
    std::thread::sleep(e.gap);
    let exits = net.unexpected_exits(None);
    assert!(exits.is_empty(), "after episode {k}: {}", exits.join("\n"));
    wait_until("every node answers", Duration::from_secs(30), || {
        (0..net.c.nodes.len()).all(|i| net.c.get(i, "/v1/status", "AUDIT").is_ok())
    });
}

/// What a node did with its disk full: it may stop or stand still, never corrupt (the
/// checks after the heal and at the end tell); the log shows which, for the record.
fn report_full_disk(net: &FaultNet, i: usize, before: u64) {
    let n = &net.c.nodes[i];
    let now = net.c.height(i);
    let said: Vec<String> = n
        .log()
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("space"))
        .take(3)
        .map(|l| l.chars().take(300).collect())
        .collect();
    eprintln!(
        "  {} with a full disk: height {before} -> {now}, {}; it said: {said:?}",
        n.name,
        if n.running() { "running" } else { "stopped" },
    );
}
