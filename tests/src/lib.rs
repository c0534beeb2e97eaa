//! A harness for integration tests: writes a `lianrong testnet`, starts real `lianrong
//! node` processes on loopback (ports chosen free at run time), talks to their HTTP API,
//! and kills every process when dropped -- also when a test panics.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lianrong_contracts::{Action, SignedTransaction, Signer, Transaction};
use lianrong_primitives::{OrgId, SecretKey};
use serde_json::Value;

/// The `lianrong` binary built by this workspace.
pub fn lianrong_bin() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    for profile in ["debug", "release"] {
        let p = target.join(profile).join("lianrong");
        if p.exists() {
            return p;
        }
    }
    panic!(
        "the lianrong binary is not built: run `cargo build -p lianrong-node` (scripts/test does)"
    );
}

/// One node process of a cluster.
pub struct NodeProc {
    /// Folder name (bank, core-a, ...).
    pub name: String,
    /// Its config file.
    pub config: PathBuf,
    /// Its API base URL.
    pub api: String,
    child: Option<Child>,
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        self.kill();
    }
}

impl NodeProc {
    /// A node process (not started) for a config whose API listens on `api_port`.
    pub fn new(name: &str, config: PathBuf, api_port: u16) -> NodeProc {
        NodeProc {
            name: name.into(),
            config,
            api: format!("http://127.0.0.1:{api_port}"),
            child: None,
        }
    }

    /// Starts (or restarts) the process.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.name);
        let log = std::fs::File::create(self.config.with_file_name("node.log")).unwrap();
        let child = Command::new(lianrong_bin())
            .args(["node", "--config"])
            .arg(&self.config)
            .env("RUST_LOG", "info,libp2p=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// True while the process runs.
    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    /// The node's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.config.with_file_name("node.log")).unwrap_or_default()
    }
}

/// A running local network.
pub struct Cluster {
    /// The testnet folder (kept alive by `_dir`).
    pub dir: PathBuf,
    /// The nodes.
    pub nodes: Vec<NodeProc>,
    /// The chain id.
    pub chain_id: String,
    _dir: tempfile::TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            n.kill();
        }
    }
}

/// How long to wait for a node to answer at all.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

impl Cluster {
    /// Writes a testnet of `validators` nodes and starts them all.
    pub fn start(validators: usize) -> Cluster {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("net");
        let out = Command::new(lianrong_bin())
            .args([
                "testnet",
                "--validators",
                &validators.to_string(),
                "--json",
                "--out",
            ])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "testnet failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        let nodes = listed
            .iter()
            .map(|n| NodeProc {
                name: n["name"].as_str().unwrap().into(),
                config: PathBuf::from(n["config"].as_str().unwrap()),
                api: n["api"].as_str().unwrap().into(),
                child: None,
            })
            .collect();
        let genesis: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("genesis.json")).unwrap())
                .unwrap();
        let mut c = Cluster {
            dir,
            nodes,
            chain_id: genesis["chain_id"].as_str().unwrap().into(),
            _dir: tmp,
        };
        for n in &mut c.nodes {
            n.start();
        }
        for i in 0..c.nodes.len() {
            c.wait_up(i);
        }
        c
    }

    /// The API token of an org.
    pub fn token(&self, org: &str) -> String {
        std::fs::read_to_string(self.dir.join("keys").join(format!("{org}.token")))
            .unwrap()
            .trim()
            .to_string()
    }

    /// The member key of an org.
    pub fn member_key(&self, org: &str) -> SecretKey {
        let v: Value = serde_json::from_str(
            &std::fs::read_to_string(self.dir.join("keys").join(format!("{org}.json"))).unwrap(),
        )
        .unwrap();
        let mut seed = [0u8; 32];
        hex::decode_to_slice(v["secret_key"].as_str().unwrap(), &mut seed).unwrap();
        SecretKey::from_seed(seed)
    }

    /// Waits until node `i` answers `/v1/status`.
    pub fn wait_up(&self, i: usize) {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if self.get(i, "/v1/status", "AUDIT").is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "node {} did not come up:\n{}",
            self.nodes[i].name,
            self.nodes[i].log()
        );
    }

    /// GET as `org` (bearer token); Err carries (status, body).
    pub fn get(&self, i: usize, path: &str, org: &str) -> Result<Value, (u16, String)> {
        let r = ureq::get(&format!("{}{path}", self.nodes[i].api))
            .set("Authorization", &format!("Bearer {}", self.token(org)))
            .timeout(Duration::from_secs(10))
            .call();
        answer(r)
    }

    /// POST a signed transaction to node `i`, waiting for commit when `wait`.
    pub fn submit(
        &self,
        i: usize,
        tx: &SignedTransaction,
        org: &str,
        wait: bool,
    ) -> Result<Value, (u16, String)> {
        let q = if wait { "?wait=commit" } else { "" };
        let r = ureq::post(&format!("{}/v1/transactions{q}", self.nodes[i].api))
            .set("Authorization", &format!("Bearer {}", self.token(org)))
            .timeout(Duration::from_secs(40))
            .send_json(serde_json::json!({"tx": hex::encode(tx.encode())}));
        answer(r)
    }

    /// Current height of node `i`.
    pub fn height(&self, i: usize) -> u64 {
        self.get(i, "/v1/status", "AUDIT")
            .map(|s| s["height"].as_u64().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Waits until every running node reached `height`.
    pub fn wait_height(&self, height: u64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let hs: Vec<u64> = (0..self.nodes.len())
                .filter(|i| self.nodes[*i].running())
                .map(|i| self.height(i))
                .collect();
            if hs.iter().all(|h| *h >= height) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "heights {hs:?} did not reach {height}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn answer(r: Result<ureq::Response, ureq::Error>) -> Result<Value, (u16, String)> {
    match r {
        Ok(resp) => resp.into_json::<Value>().map_err(|e| (0, e.to_string())),
        Err(ureq::Error::Status(code, resp)) => Err((code, resp.into_string().unwrap_or_default())),
        Err(e) => Err((0, e.to_string())),
    }
}

/// A signed transaction by `org`'s member key.
pub fn sign(
    chain_id: &str,
    org: &str,
    key: &SecretKey,
    nonce: u64,
    action: Action,
) -> SignedTransaction {
    Transaction {
        chain_id: chain_id.into(),
        signer: Signer {
            org: OrgId::new(org).unwrap(),
            key: key.public(),
        },
        nonce,
        action,
    }
    .sign(key)
}
