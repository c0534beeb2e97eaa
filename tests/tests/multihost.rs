//! The four-host guide (`network-configs/deploy/README.md`) run as written: four
//! validators in four Linux network namespaces, each with an address of its own on a
//! bridge (10.213.x.1-4), set up by the guide's `guide-step` blocks alone -- keys and
//! entries on each "host", genesis assembled from the entries, checked on every host,
//! configs written and checked -- and started with the systemd unit's `ExecStartPre` and
//! `ExecStart` command lines. Blocks must finalize on all four; a transaction submitted
//! through one node is read committed from the others. Everything is torn down
//! (processes killed, namespaces, veths and bridge deleted) also when a step fails.
//!
//! Without the right to create namespaces (not root, no CAP_NET_ADMIN) the same runs on
//! loopback addresses 127.0.0.2-5 in the host's namespace, and the test says so; in CI
//! (`CI` set) that is a failure, as a missing tool is.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lianrong_tests::{lianrong_bin, ports, run_cli, wait_until};
use serde_json::Value;

/// The four organisations of the guide: id, legal name, tax id, role.
const ORGS: [(&str, &str, &str, &str); 4] = [
    (
        "BANK-A",
        "China Merchants Bank Shenzhen",
        "91440300MA5BANKA1J",
        "bank",
    ),
    (
        "CORE-A",
        "Huaxin Electronics Group",
        "91310000MA1C0REA3U",
        "core",
    ),
    (
        "CORE-B",
        "Dongfang Motor Works",
        "91320000MA1C0REB44",
        "core",
    ),
    (
        "LOGI",
        "Yangtze Logistics",
        "91420000MA4L0G105Y",
        "logistics",
    ),
];

/// Names of this run's namespaces, bridge and veths start with it (and the process id).
const PREFIX: &str = "lrmh";

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../network-configs/deploy")
}

/// The guide's `<!-- guide-step: NAME -->` blocks: the ```sh block after each marker.
fn guide_steps() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(deploy_dir().join("README.md")).unwrap();
    let mut steps = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .trim()
            .strip_prefix("<!-- guide-step:")
            .and_then(|r| r.strip_suffix("-->"))
        else {
            continue;
        };
        assert_eq!(lines.next().map(str::trim), Some("```sh"), "step {name}");
        let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        steps.insert(name.trim().to_string(), body.join("\n") + "\n");
    }
    steps
}

/// The variables the guide's settings block assigns, in order.
fn settings_vars(block: &str) -> Vec<String> {
    block
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_string()))
        .filter(|k| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .collect()
}

/// A line `KEY=VALUE` of the node unit, e.g. its `ExecStart=`.
fn unit_value(key: &str) -> String {
    let unit = std::fs::read_to_string(deploy_dir().join("lianrong-node.service")).unwrap();
    unit.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("lianrong-node.service has no {key}="))
        .to_string()
}

/// The unit's command line for a host: the installed binary is the one built here and
/// `/etc/lianrong` the host's config folder.
fn unit_command(key: &str, etc: &Path) -> Vec<String> {
    unit_value(key)
        .split_whitespace()
        .map(|w| {
            w.replace("/usr/local/bin/lianrong", &lianrong_bin().to_string_lossy())
                .replace("/etc/lianrong", &etc.to_string_lossy())
        })
        .collect()
}

/// Where the four hosts live: network namespaces, or loopback addresses.
struct Net {
    /// One namespace per host (empty on loopback).
    namespaces: Vec<String>,
    /// Root-side veth ends and the bridge, deleted on drop.
    links: Vec<String>,
    /// The hosts' addresses.
    addrs: Vec<String>,
    /// Node processes, killed on drop before the namespaces go.
    children: Vec<Child>,
}

impl Drop for Net {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in &self.namespaces {
            let _ = ip(&["netns", "del", ns]);
        }
        // Veths first (each takes its namespace end along), the bridge last.
        for link in &self.links {
            let _ = ip(&["link", "del", link]);
        }
    }
}

/// Runs `ip ARGS`; Err with its stderr.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e} (install iproute2: scripts/setup)"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}`: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Deletes namespaces and links an earlier run left behind (its process is gone).
fn remove_stale() {
    let alive = |name: &str| {
        let pid = name
            .trim_start_matches(PREFIX)
            .trim_start_matches('-')
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap_or_default();
        // Ours, left by an earlier process of the same id, are as stale as the dead ones'.
        let own = pid == std::process::id().to_string();
        !own && !pid.is_empty() && Path::new("/proc").join(pid).exists()
    };
    let list = |args: &[&str]| {
        Command::new("ip")
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    for line in list(&["netns", "list"]).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        if name.starts_with(PREFIX) && !alive(name) {
            let _ = ip(&["netns", "del", name]);
        }
    }
    for line in list(&["-o", "link", "show"]).lines() {
        let name = line.split(':').nth(1).unwrap_or_default().trim();
        let name = name.split('@').next().unwrap_or_default();
        if name.starts_with(PREFIX) && !alive(name) {
            let _ = ip(&["link", "del", name]);
        }
    }
}

impl Net {
    /// Four namespaces on one bridge, the bridge addressed too so this process reaches
    /// every host; Err with the reason when the machine does not allow it.
    fn namespaces() -> Result<Net, String> {
        remove_stale();
        let pid = std::process::id();
        let subnet = format!("10.213.{}", 20 + pid % 200);
        let bridge = format!("{PREFIX}{pid}b");
        let mut net = Net {
            namespaces: vec![],
            links: vec![],
            addrs: vec![],
            children: vec![],
        };
        ip(&["link", "add", &bridge, "type", "bridge"])?;
        net.links.push(bridge.clone());
        ip(&["addr", "add", &format!("{subnet}.254/24"), "dev", &bridge])?;
        ip(&["link", "set", &bridge, "up"])?;
        for i in 1..=4 {
            let ns = format!("{PREFIX}-{pid}-{i}");
            ip(&["netns", "add", &ns])?;
            net.namespaces.push(ns.clone());
            let (outer, inner) = (format!("{PREFIX}{pid}v{i}"), format!("{PREFIX}{pid}p{i}"));
            ip(&[
                "link", "add", &outer, "type", "veth", "peer", "name", &inner,
            ])?;
            net.links.insert(0, outer.clone());
            ip(&["link", "set", &inner, "netns", &ns])?;
            ip(&["link", "set", &outer, "master", &bridge, "up"])?;
            let addr = format!("{subnet}.{i}");
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                &inner,
            ])?;
            ip(&["-n", &ns, "link", "set", &inner, "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
            net.addrs.push(addr);
        }
        Ok(net)
    }

    /// Loopback addresses 127.0.0.2-5 (all of 127/8 is local on Linux).
    fn loopback() -> Net {
        Net {
            namespaces: vec![],
            links: vec![],
            addrs: (2..=5).map(|i| format!("127.0.0.{i}")).collect(),
            children: vec![],
        }
    }

    /// A command run on host `i`: inside its namespace, if any.
    fn command(&self, i: usize, program: &str) -> Command {
        match self.namespaces.get(i) {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, program]);
                c
            }
            None => Command::new(program),
        }
    }
}

/// One host of the guide: its folders and the guide's settings for it.
struct Host {
    home: PathBuf,
    etc: PathBuf,
    env: Vec<(String, String)>,
}

impl Host {
    /// The folders step 0 (install) makes, and the settings of step 1.
    fn new(root: &Path, i: usize, addr: &str, p2p: u16, api: u16) -> Host {
        let (org, name, tax_id, role) = ORGS[i];
        let base = root.join(format!("host-{}", i + 1));
        let (home, etc, data) = (
            base.join("root"),
            base.join("etc/lianrong"),
            base.join("var/lib/lianrong"),
        );
        for d in [&home, &etc, &data] {
            std::fs::create_dir_all(d).unwrap();
        }
        let path = format!(
            "{}:{}",
            lianrong_bin().parent().unwrap().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let env = [
            ("CHAIN", "scf-multihost-1".to_string()),
            ("ORG", org.into()),
            ("NAME", name.into()),
            ("TAX_ID", tax_id.into()),
            ("ROLE", role.into()),
            ("ADDR", addr.into()),
            ("P2P_PORT", p2p.to_string()),
            ("API_PORT", api.to_string()),
            ("ETC", etc.to_string_lossy().into_owned()),
            ("DATA", data.to_string_lossy().into_owned()),
            ("PATH", path),
        ];
        Host {
            home,
            etc,
            env: env.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        }
    }

    fn var(&self, key: &str) -> &str {
        &self.env.iter().find(|(k, _)| k == key).unwrap().1
    }

    fn api(&self) -> String {
        format!("http://{}:{}", self.var("ADDR"), self.var("API_PORT"))
    }

    fn member_key(&self) -> PathBuf {
        self.etc.join("member-key.json")
    }
}

/// Runs a guide step as written (`bash -euo pipefail`) on host `i` in folder `cwd`
/// with the host's settings; returns its stdout, panics with its output on failure.
fn run_step(net: &Net, i: usize, host: &Host, cwd: &Path, name: &str, script: &str) -> String {
    let out = net
        .command(i, "bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(cwd)
        .envs(host.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "guide step {name} failed on {} ({}):\n{script}\nstdout:\n{stdout}\nstderr:\n{}",
        host.var("ORG"),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The `sha256` line `genesis check` and `genesis build` print.
fn sha_line(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("sha256 "))
        .unwrap_or_else(|| panic!("no sha256 line in {out}"))
        .to_string()
}

/// Every secret key of the hosts' key files.
fn secrets(hosts: &[Host]) -> Vec<String> {
    hosts
        .iter()
        .flat_map(|h| [h.etc.join("node_key.json"), h.member_key()])
        .map(|f| {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
            v["secret_key"].as_str().unwrap().to_string()
        })
        .collect()
}

/// Steps 2-5 of the guide on every host, the files moving between them as the guide
/// says (entries to the assembler, genesis back to everyone); no secret moves.
fn set_up(net: &Net, hosts: &[Host], root: &Path, steps: &BTreeMap<String, String>) {
    for (i, h) in hosts.iter().enumerate() {
        run_step(net, i, h, &h.home, "keys", &steps["keys"]);
    }
    let assembler = root.join("assembler");
    std::fs::create_dir_all(&assembler).unwrap();
    let mut moved = vec![];
    for h in hosts {
        let entry = format!("{}.entry.json", h.var("ORG"));
        std::fs::copy(h.home.join(&entry), assembler.join(&entry)).unwrap();
        moved.push(assembler.join(entry));
    }
    let built = run_step(net, 0, &hosts[0], &assembler, "genesis", &steps["genesis"]);
    let genesis = assembler.join("genesis.json");
    moved.push(genesis.clone());
    for (i, h) in hosts.iter().enumerate() {
        std::fs::copy(&genesis, h.etc.join("genesis.json")).unwrap();
        let checked = run_step(net, i, h, &h.home, "check-genesis", &steps["check-genesis"]);
        assert_eq!(sha_line(&checked), sha_line(&built), "{}", h.var("ORG"));
        run_step(net, i, h, &h.home, "config", &steps["config"]);
    }
    for secret in secrets(hosts) {
        for f in &moved {
            let text = std::fs::read_to_string(f).unwrap();
            assert!(
                !text.contains(&secret),
                "{} holds a secret key",
                f.display()
            );
        }
    }
}

/// Starts host `i`'s node with the unit's command lines: `ExecStartPre` must pass,
/// `ExecStart` runs (its log in the host's folder).
fn start_node(net: &mut Net, i: usize, host: &Host) {
    let pre = unit_command("ExecStartPre", &host.etc);
    let out = net.command(i, &pre[0]).args(&pre[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "ExecStartPre on {}: {}",
        host.var("ORG"),
        String::from_utf8_lossy(&out.stderr)
    );
    let start = unit_command("ExecStart", &host.etc);
    let (key, value) = unit_value("Environment")
        .split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .unwrap();
    let log = std::fs::File::create(host.home.join("node.log")).unwrap();
    let child = net
        .command(i, &start[0])
        .args(&start[1..])
        .env(key, value)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    net.children.push(child);
}

/// `lianrong VERB ... --node API --key MEMBER --json`: a client of `signer`'s org
/// against `node`'s API, from this process.
fn cli(node: &Host, signer: &Host, args: &[&str]) -> lianrong_tests::CliRun {
    let api = node.api();
    let key = signer.member_key();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--node", &api, "--key", key.to_str().unwrap(), "--json"]);
    run_cli(&all)
}

fn height(host: &Host) -> u64 {
    let r = cli(host, host, &["status"]);
    r.json["height"].as_u64().unwrap_or(0)
}

fn logs(hosts: &[Host]) -> String {
    hosts
        .iter()
        .map(|h| {
            let log = std::fs::read_to_string(h.home.join("node.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            format!(
                "--- {} ---\n{}",
                h.var("ORG"),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The systemd units parse without a warning (`systemd-analyze verify`, with the binary
/// path pointed at the one built here), when systemd-analyze is installed.
fn verify_units(root: &Path) {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("multihost: systemd-analyze is not installed; the unit files were not verified");
        return;
    }
    for unit in ["lianrong-node.service", "lianrong-explorer.service"] {
        let text = std::fs::read_to_string(deploy_dir().join(unit)).unwrap();
        let text = text.replace("/usr/local/bin/lianrong", &lianrong_bin().to_string_lossy());
        let copy = root.join(unit);
        std::fs::write(&copy, text).unwrap();
        let out = Command::new("systemd-analyze")
            .arg("verify")
            .arg(&copy)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.trim().is_empty(),
            "systemd-analyze verify {unit}: {stderr}"
        );
    }
}

/// Namespaces where allowed; else loopback, said out loud (and a failure in CI).
/// `LIANRONG_MULTIHOST_LOOPBACK=1` takes the loopback way even where namespaces work (to
/// try the fallback).
fn hosts_net() -> Net {
    let namespaces =
        if std::env::var_os("LIANRONG_MULTIHOST_LOOPBACK").is_some_and(|v| !v.is_empty()) {
            Err("LIANRONG_MULTIHOST_LOOPBACK is set".to_string())
        } else {
            Net::namespaces()
        };
    match namespaces {
        Ok(net) => {
            eprintln!(
                "multihost: four network namespaces {PREFIX}-{}-1..4 at {}",
                std::process::id(),
                net.addrs.join(", ")
            );
            net
        }
        Err(reason) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "multihost: cannot create network namespaces ({reason}); CI runs as root \
                 with iproute2 (scripts/setup)"
            );
            eprintln!(
                "multihost: NO NETWORK NAMESPACES here ({reason}); running the four hosts on \
                 loopback addresses 127.0.0.2-5 instead"
            );
            Net::loopback()
        }
    }
}

#[test]
fn four_hosts_follow_the_guide_and_finalize_together() {
    let started = Instant::now();
    let steps = guide_steps();
    for s in [
        "settings",
        "keys",
        "genesis",
        "check-genesis",
        "config",
        "status",
    ] {
        assert!(steps.contains_key(s), "the guide lost its step {s}");
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    verify_units(root);
    assert_eq!(
        unit_value("StateDirectory"),
        "lianrong",
        "DATA=/var/lib/lianrong"
    );

    let mut net = hosts_net();
    // In namespaces every host uses the guide's own ports; on loopback, ports nothing
    // else in the test run was given.
    let hosts: Vec<Host> = (0..4)
        .map(|i| {
            let (p2p, api) = if net.namespaces.is_empty() {
                (ports::free_port(), ports::free_port())
            } else {
                (26656, 8080)
            };
            Host::new(root, i, &net.addrs[i], p2p, api)
        })
        .collect();
    let mut given: Vec<String> = hosts[0].env.iter().map(|(k, _)| k.clone()).collect();
    given.retain(|k| k != "PATH");
    assert_eq!(
        given,
        settings_vars(&steps["settings"]),
        "the test sets the guide's settings"
    );

    set_up(&net, &hosts, root, &steps);
    for (i, h) in hosts.iter().enumerate() {
        start_node(&mut net, i, h);
    }
    let deadline = Duration::from_secs(40);
    for h in &hosts {
        let what = format!("{} finalizes blocks", h.var("ORG"));
        let t = Instant::now();
        while height(h) < 3 {
            assert!(
                t.elapsed() < deadline,
                "timed out: {what}\n{}",
                logs(&hosts)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    for (i, h) in hosts.iter().enumerate() {
        let out = run_step(&net, i, h, &h.home, "status", &steps["status"]);
        assert!(
            out.contains("height") && out.contains(h.var("CHAIN")),
            "status on {}: {out}",
            h.var("ORG")
        );
    }

    // A transaction through BANK-A's node, read committed from the three others (by
    // BANK-A's client: a transaction is shown to its signer, banks and auditors).
    let proposed = cli(
        &hosts[0],
        &hosts[0],
        &["gov", "propose", "set-params", "--proposal-ttl-days", "14"],
    );
    let hash = proposed.ok()["hash"].as_str().unwrap().to_string();
    for h in &hosts[1..] {
        let mut last = None;
        let what = format!("{} has the transaction {hash}", h.var("ORG"));
        wait_until(&what, Duration::from_secs(10), || {
            let shown = cli(h, &hosts[0], &["tx", "show", &hash]);
            let done = shown.json["status"] == "committed";
            if !done {
                eprintln!("{what}: {} {}", shown.stdout.trim(), shown.stderr.trim());
            }
            last = Some(shown);
            done
        });
        let shown = last.unwrap();
        assert_eq!(shown.json["signer"]["org"], "BANK-A", "{}", shown.stdout);
    }

    // Torn down: processes gone, namespaces gone.
    let names = net.namespaces.clone();
    drop(net);
    let left = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let left = String::from_utf8_lossy(&left.stdout);
    assert!(
        names.iter().all(|n| !left.contains(n.as_str())),
        "left behind: {left}"
    );
    eprintln!(
        "multihost: done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
