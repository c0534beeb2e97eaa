//! `lianrong node --check-config`: every problem of a node's config found in one run, so
//! an operator fixes them all before the first start instead of one per failed start.
//!
//! The checks that only look at parsed values ([`unknown_keys`], [`against_genesis`],
//! [`values`]) are pure; the rest read files, try binding the listen addresses and try
//! writing into the data directory, exactly what the node will do when it starts.

use std::collections::HashSet;
use std::fmt;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::Path;

use lianrong_contracts::Genesis;
use lianrong_network::Multiaddr;
use lianrong_primitives::keyfile::KeyFile;
use lianrong_primitives::{sha256, PublicKey};

use crate::config::{load_genesis, MemoryError, NodeConfig};
use crate::payload;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The node would not start, or would run but not do its job.
    Problem,
    /// Legitimate in some set-ups, worth a look (the exit code stays 0).
    Warning,
}

/// One thing found wrong, named the way the config names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Problem or warning.
    pub severity: Severity,
    /// What is wrong and where (`p2p.peers[2]: ...`).
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Problem => "problem",
            Severity::Warning => "warning",
        };
        write!(f, "{label}: {}", self.message)
    }
}

/// Everything found in one config.
#[derive(Debug, Default)]
pub struct Report {
    /// In the order found: the config itself, its key, genesis, then the rest.
    pub findings: Vec<Finding>,
}

impl Report {
    fn problem(&mut self, message: impl Into<String>) {
        self.findings.push(problem(message));
    }

    fn warning(&mut self, message: impl Into<String>) {
        self.findings.push(warning(message));
    }

    /// The findings that make the config unusable.
    pub fn problems(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Problem)
    }

    /// Whether no finding is a problem.
    pub fn ok(&self) -> bool {
        self.problems().next().is_none()
    }
}

fn problem(message: impl Into<String>) -> Finding {
    Finding {
        severity: Severity::Problem,
        message: message.into(),
    }
}

fn warning(message: impl Into<String>) -> Finding {
    Finding {
        severity: Severity::Warning,
        message: message.into(),
    }
}

/// Checks the config at `path` and everything it points to. A config that cannot be
/// read or parsed is the one finding (nothing else can be looked at without it).
pub fn check(path: &Path) -> Report {
    let mut report = Report::default();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            report.problem(format!("cannot read {}: {e}", path.display()));
            return report;
        }
    };
    let config = match NodeConfig::parse(&text, path) {
        Ok(c) => c,
        Err(e) => {
            report.problem(e.to_string());
            return report;
        }
    };
    report.findings.extend(unknown_keys(&text, &config));
    let own_key = check_node_key(&config, &mut report);
    match load_genesis(&config.node.genesis) {
        Ok(genesis) => report
            .findings
            .extend(against_genesis(&config, &genesis, own_key.as_ref())),
        Err(e) => report.problem(format!("node.genesis: {e}")),
    }
    report.findings.extend(values(&config));
    check_tls(&config, &mut report);
    check_listeners(&config, &mut report);
    check_data_dir(&config.node.data_dir, &mut report);
    report
}

/// `[api.tls]`: each PEM file loads on its own (so every broken one is named), then
/// together as the node will load them (the key must be the certificate's).
fn check_tls(config: &NodeConfig, report: &mut Report) {
    use lianrong_tls::PemKind;
    let Some(tls) = &config.api.tls else {
        return;
    };
    let mut each_ok = true;
    let mut note = |at: &str, result: Result<(), lianrong_tls::TlsError>| {
        if let Err(e) = result {
            each_ok = false;
            report.problem(format!("{at}: {e}"));
        }
    };
    let leaf = lianrong_tls::load_certs(PemKind::Certificate, &tls.cert);
    let not_after = leaf
        .as_ref()
        .ok()
        .and_then(|c| c.first())
        .and_then(|c| lianrong_tls::not_after(c));
    note("api.tls.cert", leaf.map(drop));
    note(
        "api.tls.key",
        lianrong_tls::load_key(PemKind::PrivateKey, &tls.key).map(drop),
    );
    if let Some(ca) = &tls.client_ca {
        note(
            "api.tls.client_ca",
            lianrong_tls::root_store(PemKind::ClientCa, ca).map(drop),
        );
    }
    let client_ca = tls.client_ca.as_deref();
    if each_ok {
        if let Err(e) = lianrong_tls::server_config(&tls.cert, &tls.key, client_ca) {
            report.problem(format!("api.tls: {e}"));
        }
    }
    if let Some(mode) = group_or_world_readable(&tls.key) {
        report.warning(format!(
            "api.tls.key: {} is readable by others (mode {mode:o}): chmod 600 it",
            tls.key.display()
        ));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    report.findings.extend(certificate_expiry(not_after, now));
}

/// Days before expiry from which a certificate is worth a warning (the same as the
/// `LianrongTlsCertificateExpiresSoon` alert of network-configs/monitoring).
pub const CERTIFICATE_WARNING_DAYS: i64 = 14;

/// An expired certificate is a problem (clients refuse it); one expiring within
/// [`CERTIFICATE_WARNING_DAYS`] a warning.
pub fn certificate_expiry(not_after: Option<i64>, now_unix: i64) -> Option<Finding> {
    let left = not_after?.saturating_sub(now_unix);
    if left <= 0 {
        Some(problem(format!(
            "api.tls.cert: the certificate expired {} day(s) ago",
            -left / 86_400
        )))
    } else if left < CERTIFICATE_WARNING_DAYS * 86_400 {
        Some(warning(format!(
            "api.tls.cert: the certificate expires in {} day(s)",
            left / 86_400
        )))
    } else {
        None
    }
}

/// Reads the data key of `[encryption]` and the node key (as the node will: a sealed
/// one with that data key), and warns when others may read either, or when a node with
/// encryption at rest keeps its node key in clear.
fn check_node_key(config: &NodeConfig, report: &mut Report) -> Option<PublicKey> {
    let data_key = match crate::keyfile::data_key(config) {
        Ok(k) => k,
        Err(e) => {
            report.problem(format!("{e:#}"));
            return None;
        }
    };
    let key_file = config.encryption.as_ref().and_then(|e| e.key_file.as_ref());
    if let Some(mode) = key_file.and_then(|f| group_or_world_readable(f)) {
        report.warning(format!(
            "encryption.key_file: readable by others (mode {mode:o}): chmod 600 it"
        ));
    }
    let path = &config.node.node_key;
    if data_key.is_some() && KeyFile::read(path).is_ok() {
        report.warning(format!(
            "node.node_key: {} is not sealed under the data key: `lianrong node seal-key \
             --config FILE` seals it",
            path.display()
        ));
    }
    match crate::keyfile::read_node_key(path, data_key.as_ref()) {
        Ok(key) => {
            if let Some(mode) = group_or_world_readable(path) {
                report.warning(format!(
                    "node.node_key: {} is readable by others (mode {mode:o}): chmod 600 it",
                    path.display()
                ));
            }
            Some(key.public())
        }
        Err(e) => {
            report.problem(format!("node.node_key: {e:#}"));
            None
        }
    }
}

#[cfg(unix)]
fn group_or_world_readable(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(not(unix))]
fn group_or_world_readable(_: &Path) -> Option<u32> {
    None
}

/// Keys in the file that the config does not know: serde ignores them, so a misspelt
/// `[mempol]` would otherwise silently leave the defaults in force.
pub fn unknown_keys(text: &str, config: &NodeConfig) -> Vec<Finding> {
    let (Ok(raw), Ok(known)) = (
        text.parse::<toml::Table>(),
        toml::Table::try_from(config.clone()),
    ) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    compare_tables("", &raw, &known, &mut out);
    out
}

fn compare_tables(at: &str, raw: &toml::Table, known: &toml::Table, out: &mut Vec<Finding>) {
    for (key, value) in raw {
        let here = if at.is_empty() {
            key.clone()
        } else {
            format!("{at}.{key}")
        };
        match known.get(key) {
            None => out.push(problem(format!(
                "{here}: unknown setting (misspelt? the node ignores it)"
            ))),
            Some(k) => compare_values(&here, value, k, out),
        }
    }
}

fn compare_values(at: &str, raw: &toml::Value, known: &toml::Value, out: &mut Vec<Finding>) {
    match (raw, known) {
        (toml::Value::Table(r), toml::Value::Table(k)) => compare_tables(at, r, k, out),
        (toml::Value::Array(r), toml::Value::Array(k)) => {
            for (i, (rv, kv)) in r.iter().zip(k).enumerate() {
                compare_values(&format!("{at}[{i}]"), rv, kv, out);
            }
        }
        _ => {}
    }
}

/// What the config says that genesis must agree with: peers are validators (or declared
/// full nodes), the node's own role, the organisations tokens act for.
pub fn against_genesis(
    config: &NodeConfig,
    genesis: &Genesis,
    own_key: Option<&PublicKey>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let validator = |k: &PublicKey| genesis.validators.iter().find(|v| v.node_key == *k);
    if let Some(own) = own_key {
        if validator(own).is_none() {
            out.push(warning(format!(
                "node.node_key: {own} is not a validator in genesis: this node runs as a \
                 full node (the validators must list it in their p2p.full_nodes)"
            )));
        }
    }
    for (i, peer) in config.p2p.peers.iter().enumerate() {
        let at = format!("p2p.peers[{i}]");
        if own_key == Some(&peer.key) {
            out.push(problem(format!(
                "{at}: {} is this node's own key",
                peer.key
            )));
            continue;
        }
        match validator(&peer.key) {
            Some(v) if v.address != peer.addr => out.push(warning(format!(
                "{at}: address {} differs from {}'s address in genesis, {}",
                peer.addr, v.org, v.address
            ))),
            Some(_) => {}
            None if config.p2p.full_nodes.contains(&peer.key) => {}
            None => out.push(problem(format!(
                "{at}: {} is not a validator in genesis nor in p2p.full_nodes: the \
                 connection is refused (unless governance has made it a validator since; \
                 then list it in p2p.full_nodes)",
                peer.key
            ))),
        }
    }
    for (i, grant) in config.api.tokens.iter().enumerate() {
        if !genesis.orgs.iter().any(|o| o.id == grant.org) {
            out.push(warning(format!(
                "api.tokens[{i}]: org {} is not in genesis (fine only if it was \
                 registered since)",
                grant.org
            )));
        }
    }
    out
}

/// Values that are wrong whatever genesis says.
pub fn values(config: &NodeConfig) -> Vec<Finding> {
    let mut out = Vec::new();
    peer_values(config, &mut out);
    token_values(config, &mut out);
    let m = &config.mempool;
    for (name, value) in [
        ("mempool.max_txs", m.max_txs),
        ("mempool.max_per_signer", Some(m.max_per_signer)),
        ("mempool.max_block_txs", Some(m.max_block_txs)),
        ("api.max_body_bytes", Some(config.api.max_body_bytes)),
    ] {
        if value == Some(0) {
            out.push(problem(format!(
                "{name} is 0: nothing would ever be accepted"
            )));
        }
    }
    let plan = config.memory_plan();
    let max_txs = plan.as_ref().map_or(m.max_txs, |p| Some(p.mempool_max_txs));
    if let Some(max_txs) = max_txs.filter(|n| m.max_per_signer > *n) {
        out.push(warning(format!(
            "mempool.max_per_signer {} is above mempool.max_txs {max_txs}",
            m.max_per_signer
        )));
    }
    if m.max_block_txs > payload::MAX_BLOCK_TXS {
        out.push(warning(format!(
            "mempool.max_block_txs {} is above the protocol's {}: blocks hold at most that",
            m.max_block_txs,
            payload::MAX_BLOCK_TXS
        )));
    }
    for (i, a) in config.api.public_addresses.iter().enumerate() {
        if !is_host_port(a) {
            out.push(problem(format!(
                "api.public_addresses[{i}]: {a:?} is not host:port"
            )));
        }
    }
    if config.api.listen.port() == 0 {
        out.push(warning(
            "api.listen has port 0: the API gets a random port clients cannot know",
        ));
    }
    if let Err(e) = plan {
        memory_problems(e, &mut out);
    }
    if let Err(e) = config.storage.keep_versions() {
        out.push(problem(e));
    }
    out
}

/// `[memory]`: a budget below what a node needs (the minimum named), or explicit
/// settings that take more than their parts of it (each named).
fn memory_problems(e: MemoryError, out: &mut Vec<Finding>) {
    match e {
        MemoryError::OverBudget(excess) => out.extend(
            excess
                .iter()
                .map(|x| problem(format!("{x}: lower it or raise memory.budget_mib"))),
        ),
        other => out.push(problem(other.to_string())),
    }
}

fn peer_values(config: &NodeConfig, out: &mut Vec<Finding>) {
    let mut seen = HashSet::new();
    for (i, peer) in config.p2p.peers.iter().enumerate() {
        if let Err(e) = peer.addr.parse::<Multiaddr>() {
            out.push(problem(format!(
                "p2p.peers[{i}]: address {:?} is not a multiaddr: {e}",
                peer.addr
            )));
        }
        if !seen.insert(peer.key) {
            out.push(warning(format!(
                "p2p.peers[{i}]: {} is listed twice",
                peer.key
            )));
        }
    }
}

fn token_values(config: &NodeConfig, out: &mut Vec<Finding>) {
    let empty = sha256(b"");
    let mut seen = HashSet::new();
    for (i, grant) in config.api.tokens.iter().enumerate() {
        if grant.sha256 == empty {
            out.push(problem(format!(
                "api.tokens[{i}]: the SHA-256 of the empty string grants {} to an empty \
                 token",
                grant.org
            )));
        }
        if !seen.insert(grant.sha256) {
            out.push(problem(format!(
                "api.tokens[{i}]: the same token is granted twice (only the first grant, \
                 not {}, would count)",
                grant.org
            )));
        }
    }
}

fn is_host_port(a: &str) -> bool {
    if a.parse::<SocketAddr>().is_ok() {
        return true;
    }
    match a.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty() && !host.contains(['/', ' ', '[', ']']) && port.parse::<u16>().is_ok()
        }
        None => false,
    }
}

/// The TCP address of a `/ip4/A/tcp/P` or `/ip6/A/tcp/P` multiaddr; `None` for other
/// forms (a DNS name, another transport), which cannot be tried by binding.
pub fn tcp_socket_of(addr: &str) -> Option<SocketAddr> {
    let parts: Vec<&str> = addr.split('/').collect();
    let ["", proto, ip, "tcp", port] = parts.as_slice() else {
        return None;
    };
    let ip: IpAddr = match *proto {
        "ip4" | "ip6" => ip.parse().ok()?,
        _ => return None,
    };
    Some(SocketAddr::new(ip, port.parse().ok()?))
}

/// Binds both listen addresses at once, as the node will: a port in use, an address not
/// on this host or both listeners on one port are named here.
fn check_listeners(config: &NodeConfig, report: &mut Report) {
    let mut held = Vec::new();
    match config.p2p.listen.parse::<Multiaddr>() {
        Err(e) => report.problem(format!(
            "p2p.listen: {:?} is not a multiaddr: {e}",
            config.p2p.listen
        )),
        Ok(_) => match tcp_socket_of(&config.p2p.listen) {
            None => report.warning(format!(
                "p2p.listen: {} is not /ip4|ip6/ADDRESS/tcp/PORT; not tried",
                config.p2p.listen
            )),
            Some(addr) => match TcpListener::bind(addr) {
                Ok(l) => held.push(l),
                Err(e) => report.problem(format!("p2p.listen: cannot bind {addr}: {e}")),
            },
        },
    }
    if let Err(e) = TcpListener::bind(config.api.listen) {
        report.problem(format!(
            "api.listen: cannot bind {}: {e}",
            config.api.listen
        ));
    }
    drop(held);
}

/// The data directory must be a writable folder, or creatable: RocksDB creates only its
/// last component.
fn check_data_dir(dir: &Path, report: &mut Report) {
    let shown = dir.display();
    let target = if dir.exists() {
        if !dir.is_dir() {
            report.problem(format!("node.data_dir: {shown} is not a folder"));
            return;
        }
        dir
    } else {
        match dir.parent().filter(|p| p.is_dir()) {
            Some(parent) => parent,
            None => {
                report.problem(format!(
                    "node.data_dir: {shown} does not exist and neither does its parent folder"
                ));
                return;
            }
        }
    };
    if let Err(e) = tempfile::Builder::new()
        .prefix(".lianrong-check-config")
        .tempfile_in(target)
    {
        report.problem(format!(
            "node.data_dir: cannot write in {}: {e}",
            target.display()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{PeerEntry, TokenGrant};
    use lianrong_primitives::{OrgId, SecretKey};
    use std::path::PathBuf;

    fn example() -> (PathBuf, String, NodeConfig, Genesis) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../network-configs/local-4");
        let path = dir.join("bank/config.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let config = NodeConfig::parse(&text, &path).unwrap();
        let genesis = load_genesis(&dir.join("genesis.json")).unwrap();
        (path, text, config, genesis)
    }

    fn own_key(config: &NodeConfig) -> PublicKey {
        KeyFile::read(&config.node.node_key).unwrap().1.public()
    }

    fn messages(findings: &[Finding], severity: Severity) -> Vec<&str> {
        findings
            .iter()
            .filter(|f| f.severity == severity)
            .map(|f| f.message.as_str())
            .collect()
    }

    #[test]
    fn the_checked_in_example_has_no_problem() {
        let (_, text, config, genesis) = example();
        assert!(unknown_keys(&text, &config).is_empty());
        assert_eq!(
            against_genesis(&config, &genesis, Some(&own_key(&config))),
            vec![]
        );
        assert_eq!(values(&config), vec![]);
    }

    #[test]
    fn an_encrypted_nodes_data_key_and_sealed_node_key_are_read_as_the_node_will() {
        let dir = tempfile::tempdir().unwrap();
        let data_key = crate::keyfile::DataKey::generate();
        std::fs::write(dir.path().join("data.key"), data_key.to_hex().as_str()).unwrap();
        let public =
            crate::keyfile::write_new_sealed(&dir.path().join("k.json"), &data_key).unwrap();
        let (path, text, _, _) = example();
        let with = |key_file: &str, node_key: &str| {
            let mut c = NodeConfig::parse(
                &format!("{text}\n[encryption]\nkey_file = \"{key_file}\"\n"),
                &path,
            )
            .unwrap();
            c.encryption.as_mut().unwrap().key_file = Some(dir.path().join(key_file));
            c.node.node_key = dir.path().join(node_key);
            c
        };
        let mut report = Report::default();
        assert_eq!(
            check_node_key(&with("data.key", "k.json"), &mut report),
            Some(public)
        );
        assert!(report.ok(), "{:?}", report.findings);
        let mut report = Report::default();
        assert_eq!(
            check_node_key(&with("missing.key", "k.json"), &mut report),
            None
        );
        let problems: Vec<String> = report.problems().map(|f| f.message.clone()).collect();
        assert!(
            problems[0].starts_with("encryption.key_file: "),
            "{problems:?}"
        );
        // A node key left in clear beside a data key: read, with a warning.
        crate::keyfile::write_new(&dir.path().join("plain.json")).unwrap();
        let mut report = Report::default();
        assert!(check_node_key(&with("data.key", "plain.json"), &mut report).is_some());
        let warnings = messages(&report.findings, Severity::Warning);
        assert!(
            warnings.iter().any(|w| w.contains("not sealed")),
            "{warnings:?}"
        );
    }

    #[test]
    fn misspelt_settings_are_named_with_their_place() {
        let (path, text, _, _) = example();
        let text = text.replace("max_body_bytes", "max_body_byte") + "\n[mempol]\nmax_txs = 5\n";
        let config = NodeConfig::parse(&text, &path).unwrap();
        let found = unknown_keys(&text, &config);
        let msgs = messages(&found, Severity::Problem);
        assert_eq!(msgs.len(), 2, "{msgs:?}");
        assert!(
            msgs[0].starts_with("api.max_body_byte: unknown setting"),
            "{msgs:?}"
        );
        assert!(msgs[1].starts_with("mempol: unknown setting"), "{msgs:?}");
    }

    #[test]
    fn a_peer_outside_genesis_and_a_peer_that_is_the_node_itself_are_problems() {
        let (_, _, mut config, genesis) = example();
        let own = own_key(&config);
        let stranger = SecretKey::generate().public();
        config.p2p.peers.push(PeerEntry {
            key: stranger,
            addr: "/ip4/127.0.0.1/tcp/1".into(),
        });
        config.p2p.peers.push(PeerEntry {
            key: own,
            addr: "/ip4/127.0.0.1/tcp/2".into(),
        });
        config.p2p.peers[0].addr = "/ip4/10.9.9.9/tcp/26656".into();
        let found = against_genesis(&config, &genesis, Some(&own));
        let problems = messages(&found, Severity::Problem);
        assert_eq!(problems.len(), 2, "{found:?}");
        assert!(problems[0].starts_with(&format!("p2p.peers[3]: {stranger} is not a validator")));
        assert!(problems[1].contains("this node's own key"), "{problems:?}");
        let warnings = messages(&found, Severity::Warning);
        assert!(
            warnings[0].starts_with("p2p.peers[0]: address /ip4/10.9.9.9"),
            "{warnings:?}"
        );

        // A declared full node may be dialled.
        config.p2p.full_nodes.push(stranger);
        let found = against_genesis(&config, &genesis, Some(&own));
        assert_eq!(messages(&found, Severity::Problem).len(), 1, "{found:?}");
    }

    #[test]
    fn a_node_outside_genesis_and_a_token_for_an_unknown_org_are_warnings() {
        let (_, _, mut config, genesis) = example();
        config.api.tokens.push(TokenGrant {
            sha256: sha256(b"t"),
            org: OrgId::new("NOBODY").unwrap(),
        });
        let found = against_genesis(&config, &genesis, Some(&SecretKey::generate().public()));
        assert!(messages(&found, Severity::Problem).is_empty(), "{found:?}");
        let warnings = messages(&found, Severity::Warning);
        assert!(warnings[0].contains("runs as a full node"), "{warnings:?}");
        assert!(
            warnings[1].starts_with("api.tokens[9]: org NOBODY"),
            "{warnings:?}"
        );
    }

    #[test]
    fn bad_values_are_each_named() {
        let (_, _, mut config, _) = example();
        config.mempool.max_txs = Some(0);
        config.mempool.max_block_txs = payload::MAX_BLOCK_TXS + 1;
        config.p2p.peers[1].addr = "10.0.0.1:26656".into();
        config.p2p.peers[2].key = config.p2p.peers[0].key;
        config.api.tokens[1].sha256 = config.api.tokens[0].sha256;
        config.api.tokens[2].sha256 = sha256(b"");
        config.api.public_addresses = vec!["node.example.com:443".into(), "no port".into()];
        config.storage.keep_versions = 10;
        let found = values(&config);
        let problems = messages(&found, Severity::Problem);
        assert_eq!(problems.len(), 6, "{found:?}");
        assert!(problems[0].starts_with("p2p.peers[1]: address \"10.0.0.1:26656\""));
        assert!(problems[1].starts_with("api.tokens[1]: the same token is granted twice"));
        assert!(problems[2].starts_with("api.tokens[2]: the SHA-256 of the empty string"));
        assert!(problems[3].starts_with("mempool.max_txs is 0"));
        assert!(problems[4].starts_with("api.public_addresses[1]"));
        assert!(
            problems[5].starts_with("storage.keep_versions 10 is below the minimum of 64"),
            "{problems:?}"
        );
        let warnings = messages(&found, Severity::Warning);
        assert_eq!(warnings.len(), 3, "{warnings:?}");
    }

    #[test]
    fn a_config_over_its_memory_budget_is_refused_with_the_part_named() {
        let (_, _, mut config, _) = example();
        config.mempool.max_txs = Some(50_000);
        config.mempool.max_bytes = Some(64 << 20);
        let found = values(&config);
        let problems = messages(&found, Severity::Problem);
        assert_eq!(problems.len(), 2, "{found:?}");
        assert!(
            problems[0].starts_with("mempool.max_txs = 50000 takes 48.8 MiB, above its 12.0 MiB"),
            "{problems:?}"
        );
        assert!(problems[1].starts_with("mempool.max_bytes = 67108864 takes 192.0 MiB"));
        assert!(problems[1].ends_with("raise memory.budget_mib"));
        // Raised far enough, the same settings fit.
        config.memory.budget_mib = 4096;
        assert_eq!(values(&config), vec![]);
        // Below what a node needs: refused with the minimum named.
        config.memory.budget_mib = 48;
        let found = values(&config);
        let problems = messages(&found, Severity::Problem);
        assert_eq!(
            problems,
            ["memory.budget_mib 48 is below the minimum of 64 MiB a node needs"]
        );
        config.memory.budget_mib = 192;
        config.mempool.max_txs = None;
        config.mempool.max_bytes = Some(100);
        let problems = values(&config);
        assert!(problems[0]
            .message
            .contains("mempool.max_bytes = 100 is below"));
    }

    #[test]
    fn an_expired_certificate_is_a_problem_and_one_expiring_soon_a_warning() {
        let now = 1_800_000_000;
        let day = 86_400;
        assert_eq!(certificate_expiry(None, now), None);
        assert_eq!(certificate_expiry(Some(now + 90 * day), now), None);
        let soon = certificate_expiry(Some(now + 3 * day + 5), now).unwrap();
        assert_eq!(
            soon,
            warning("api.tls.cert: the certificate expires in 3 day(s)")
        );
        let gone = certificate_expiry(Some(now - 2 * day), now).unwrap();
        assert_eq!(
            gone,
            problem("api.tls.cert: the certificate expired 2 day(s) ago")
        );
    }

    #[test]
    fn every_broken_tls_file_is_named() {
        let (_, text, _, _) = example();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cert.pem"), "not a certificate").unwrap();
        let path = dir.path().join("config.toml");
        let text = format!(
            "{text}\n[api.tls]\ncert = \"cert.pem\"\nkey = \"absent.pem\"\nclient_ca = \"ca.pem\"\n"
        );
        std::fs::write(&path, &text).unwrap();
        let config = NodeConfig::parse(&text, &path).unwrap();
        let mut report = Report::default();
        check_tls(&config, &mut report);
        let problems: Vec<&str> = report.problems().map(|f| f.message.as_str()).collect();
        assert_eq!(problems.len(), 3, "{problems:#?}");
        for (p, at) in
            problems
                .iter()
                .zip(["api.tls.cert: ", "api.tls.key: ", "api.tls.client_ca: "])
        {
            assert!(p.starts_with(at), "{p}");
        }
    }

    #[test]
    fn only_ip_tcp_multiaddrs_are_tried_by_binding() {
        assert_eq!(
            tcp_socket_of("/ip4/127.0.0.1/tcp/26656"),
            Some("127.0.0.1:26656".parse().unwrap())
        );
        assert_eq!(
            tcp_socket_of("/ip6/::1/tcp/7"),
            Some("[::1]:7".parse().unwrap())
        );
        assert_eq!(tcp_socket_of("/dns4/node.example.com/tcp/1"), None);
        assert_eq!(tcp_socket_of("/ip4/127.0.0.1/udp/1/quic-v1"), None);
        assert_eq!(tcp_socket_of("/ip4/127.0.0.1/tcp/x"), None);
    }

    /// Writes a copy of the example whose files are all broken: missing key, unparseable
    /// genesis, a listen address already taken, a data dir that is a file.
    #[test]
    fn every_problem_of_a_broken_copy_is_reported_in_one_run() {
        let (_, text, _, _) = example();
        let dir = tempfile::tempdir().unwrap();
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        std::fs::write(dir.path().join("genesis.json"), "{ not json").unwrap();
        std::fs::write(dir.path().join("data"), "a file").unwrap();
        let text = text
            .replace("../genesis.json", "genesis.json")
            .replace("127.0.0.1:33167", &format!("127.0.0.1:{port}"))
            .replace("/ip4/127.0.0.1/tcp/33267", "/ip4/192.0.2.1/tcp/33267");
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();

        let report = check(&path);
        assert!(!report.ok());
        let problems: Vec<String> = report.problems().map(|f| f.message.clone()).collect();
        let expect = [
            "node.node_key: ",
            "node.genesis: ",
            "p2p.listen: cannot bind 192.0.2.1:33267",
            &format!("api.listen: cannot bind 127.0.0.1:{port}"),
            "node.data_dir: ",
        ];
        assert_eq!(problems.len(), expect.len(), "{problems:#?}");
        for (p, e) in problems.iter().zip(expect) {
            assert!(p.starts_with(e), "{p:?} should start with {e:?}");
        }
        drop(taken);
    }

    #[test]
    fn an_unreadable_or_unparseable_config_is_the_one_problem() {
        let dir = tempfile::tempdir().unwrap();
        let report = check(&dir.path().join("absent.toml"));
        assert_eq!(report.findings.len(), 1);
        assert!(report.findings[0].message.starts_with("cannot read "));
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[node]\nname = 1\n").unwrap();
        let report = check(&path);
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        assert!(!report.ok());
    }
}
