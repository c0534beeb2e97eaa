//! The disaster-recovery drill's pieces, shared by the drill on plain validators
//! (`tests/backup.rs`) and on validators encrypted at rest (`tests/encryption_at_rest.rs`):
//! a watch on the network's finality, the organisation's second site, and a look for
//! plaintext in files.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::load::heights;
use crate::ports::free_port;
use crate::{wait_until, Cluster};

/// Watches one node (never touched by the drill) finalize: the longest time its height
/// stood still.
pub struct Watch {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Duration>,
}

impl Watch {
    /// Starts watching node `i` of `c`.
    pub fn start(c: &Cluster, i: usize) -> Watch {
        let stop = Arc::new(AtomicBool::new(false));
        let url = format!("{}/v1/status", c.nodes[i].api);
        let auth = format!("Bearer {}", c.token("AUDIT"));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let (mut last, mut since, mut longest) = (0, Instant::now(), Duration::ZERO);
            while !flag.load(Ordering::SeqCst) {
                let height = ureq::get(&url)
                    .set("authorization", &auth)
                    .call()
                    .ok()
                    .and_then(|r| r.into_json::<Value>().ok())
                    .and_then(|v| v["height"].as_u64())
                    .unwrap_or(last);
                if height > last {
                    (last, since) = (height, Instant::now());
                }
                longest = longest.max(since.elapsed());
                std::thread::sleep(Duration::from_millis(100));
            }
            longest
        });
        Watch { stop, thread }
    }

    /// Stops watching; the longest stall seen.
    pub fn finish(self) -> Duration {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap()
    }
}

/// The data dir a node's config names (relative paths are the config folder's).
pub fn data_dir(config: &Path) -> PathBuf {
    let cfg: toml::Table = std::fs::read_to_string(config).unwrap().parse().unwrap();
    let dir = PathBuf::from(cfg["node"]["data_dir"].as_str().unwrap());
    config.parent().unwrap().join(dir)
}

/// The three survivors `0, 1, 2` finalize `blocks` more blocks (the network never stops).
pub fn survivors_finalize(c: &Cluster, blocks: u64, what: &str) {
    let from = heights(c, &[0, 1, 2]).into_iter().max().unwrap();
    wait_until(what, Duration::from_secs(90), || {
        heights(c, &[0, 1, 2]).iter().all(|h| *h >= from + blocks)
    });
}

/// The organisation's new site: a config like `old`'s, its own data dir and new ports
/// (the peers still list the old address; the node dials them), the same node key and,
/// for a node encrypted at rest, the same data key -- both from the organisation's key
/// escrow, outside the lost site. Returns the config and its API port.
pub fn new_site(old: &Path, site: &Path) -> (PathBuf, u16) {
    std::fs::create_dir_all(site).unwrap();
    let mut cfg: toml::Table = std::fs::read_to_string(old).unwrap().parse().unwrap();
    let base = old.parent().unwrap();
    let node = cfg["node"].as_table_mut().unwrap();
    // The org keeps its node key and the genesis file outside the site, like backups.
    let key = base.join(node["node_key"].as_str().unwrap());
    std::fs::copy(&key, site.join("node_key.json")).unwrap();
    node.insert("node_key".into(), "node_key.json".into());
    let genesis = base.join(node["genesis"].as_str().unwrap());
    std::fs::copy(&genesis, site.join("genesis.json")).unwrap();
    node.insert("genesis".into(), "genesis.json".into());
    node.insert("data_dir".into(), "data".into());
    if let Some(enc) = cfg.get_mut("encryption").and_then(|e| e.as_table_mut()) {
        if let Some(file) = enc.get("key_file").and_then(|f| f.as_str()) {
            std::fs::copy(base.join(file), site.join("data.key")).unwrap();
            enc.insert("key_file".into(), "data.key".into());
        }
    }
    let (p2p, api) = (free_port(), free_port());
    cfg["p2p"]
        .as_table_mut()
        .unwrap()
        .insert("listen".into(), format!("/ip4/127.0.0.1/tcp/{p2p}").into());
    cfg["api"]
        .as_table_mut()
        .unwrap()
        .insert("listen".into(), format!("127.0.0.1:{api}").into());
    let config = site.join("config.toml");
    std::fs::write(&config, toml::to_string(&cfg).unwrap()).unwrap();
    (config, api)
}

/// The files under `dir` (recursively; `dir` may be a file) whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if let Ok(bytes) = std::fs::read(&p) {
            // A file may vanish meanwhile (RocksDB deletes compacted files).
            if bytes.windows(needle.len()).any(|w| w == needle) {
                found.push(p);
            }
        }
    }
    found
}
