//! The demo's embedded network: four validators (bank, two core enterprises, logistics)
//! in this process, each with its own RocksDB in a temporary folder, talking over real
//! libp2p on loopback, each serving its HTTP API.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use lianrong_sdk::{Auth, Client, MemberKey, Signer};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::testnet::{self, NodeInfo};
use lianrong_node::clock::LedgerClock;
use lianrong_node::config::NodeConfig;

/// Validators of the demo network.
pub const DEMO_VALIDATORS: usize = 4;
/// Chain id of the demo network.
pub const DEMO_CHAIN: &str = "lianrong-demo";

/// A running in-process network; stopped by [`DemoNetwork::stop`] (or on drop, abruptly).
pub struct DemoNetwork {
    /// Folder with genesis, node folders and member keys.
    pub dir: PathBuf,
    /// The nodes.
    pub nodes: Vec<NodeInfo>,
    /// The ledger clock every validator of the demo shares (the story moves it forward).
    pub clock: LedgerClock,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<Result<()>>>,
    _tmp: Option<tempfile::TempDir>,
}

impl DemoNetwork {
    /// Writes a testnet (in `dir`, or a temporary folder) and starts every validator.
    pub async fn start(dir: Option<PathBuf>) -> Result<DemoNetwork> {
        let (tmp, dir) = match dir {
            Some(d) => (None, d),
            None => {
                let t = tempfile::tempdir()?;
                let d = t.path().join("net");
                (Some(t), d)
            }
        };
        let clock = LedgerClock::wall();
        let nodes = testnet::write(&dir, DEMO_VALIDATORS, DEMO_CHAIN, clock.now_ms())?;
        let (shutdown, _) = watch::channel(false);
        let mut tasks = Vec::new();
        for n in &nodes {
            let cfg = NodeConfig::load(&n.config)?;
            let mut stop = shutdown.subscribe();
            let name = n.name.clone();
            let clock = clock.clone();
            tasks.push(tokio::spawn(async move {
                let signal = async move {
                    let _ = stop.wait_for(|s| *s).await;
                };
                lianrong_node::runtime::run(cfg, clock, signal)
                    .await
                    .with_context(|| format!("validator {name}"))
            }));
        }
        let net = DemoNetwork {
            dir,
            nodes,
            clock,
            shutdown,
            tasks,
            _tmp: tmp,
        };
        net.wait_ready().await?;
        Ok(net)
    }

    /// Waits until every node answers and the chain finalized its first block.
    async fn wait_ready(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        for i in 0..self.nodes.len() {
            let client = self.client(i, "AUDIT")?;
            loop {
                if let Some(t) = self.tasks.get(i).filter(|t| t.is_finished()) {
                    bail!("validator {} stopped at start ({t:?})", self.nodes[i].name);
                }
                if client.status().await.is_ok() {
                    break;
                }
                if Instant::now() > deadline {
                    bail!("validator {} did not come up", self.nodes[i].name);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// The member key file of an org of the demo cast.
    pub fn key_path(&self, org: &str) -> PathBuf {
        self.dir.join("keys").join(format!("{org}.json"))
    }

    /// The API token of an org of the demo cast.
    pub fn token(&self, org: &str) -> Result<String> {
        let path = self.dir.join("keys").join(format!("{org}.token"));
        Ok(std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .trim()
            .to_string())
    }

    /// A client of node `i` authenticated with `org`'s API token.
    pub fn client(&self, i: usize, org: &str) -> Result<Client> {
        let node = self.nodes.get(i).ok_or_else(|| anyhow!("no node {i}"))?;
        Ok(Client::new(&node.api, Auth::Token(self.token(org)?))?)
    }

    /// A signer for `org`'s member key, talking to node `i` with signed requests.
    pub async fn signer(&self, i: usize, org: &str) -> Result<Signer> {
        let key = MemberKey::load(&self.key_path(org))?;
        let node = self.nodes.get(i).ok_or_else(|| anyhow!("no node {i}"))?;
        let client = Client::new(&node.api, Auth::Key(key.clone()))?;
        Ok(Signer::new(client, key).await?)
    }

    /// The genesis file.
    pub fn genesis(&self) -> PathBuf {
        self.dir.join("genesis.json")
    }

    /// The testnet folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Stops every validator cleanly (flushes and closes each database).
    pub async fn stop(self) -> Result<()> {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            t.await.map_err(|e| anyhow!("validator task: {e}"))??;
        }
        Ok(())
    }
}
