//! The node's configuration file (`config.toml`) and the genesis file (`genesis.json`).
//!
//! Relative paths in a config are resolved against the config file's folder, so a
//! network folder can be moved or copied to another host as a whole.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use lianrong_contracts::Genesis;
use lianrong_primitives::{sha256, Hash, OrgId, PublicKey};
use serde::{Deserialize, Serialize};

pub use crate::memory::{MemoryError, MemoryPlan, MemorySection};

/// Largest config or genesis file read (they are small; this bounds a mistake).
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Why a config or genesis could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is larger than any real config.
    #[error("{0} is too large")]
    TooLarge(PathBuf),
    /// The content is not valid.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// One peer to dial: its node key and address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerEntry {
    /// The peer's node key (hex).
    pub key: PublicKey,
    /// Its libp2p multiaddr, e.g. `/ip4/10.0.0.2/tcp/26656`.
    pub addr: String,
}

/// An API token granted by this node to an organisation. Only its SHA-256 is stored, so
/// a leaked config does not leak the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenGrant {
    /// SHA-256 of the token (hex).
    pub sha256: Hash,
    /// The organisation the token acts for (its read permissions follow that org's roles).
    pub org: OrgId,
}

/// `[node]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSection {
    /// A name for logs.
    pub name: String,
    /// Where RocksDB lives.
    pub data_dir: PathBuf,
    /// The node key file (its consensus and libp2p identity).
    pub node_key: PathBuf,
    /// The genesis file.
    pub genesis: PathBuf,
}

/// `[p2p]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct P2pSection {
    /// Listen multiaddr.
    pub listen: String,
    /// Peers to dial and keep dialing.
    #[serde(default)]
    pub peers: Vec<PeerEntry>,
    /// Extra non-validator node keys allowed to connect (declared full nodes).
    #[serde(default)]
    pub full_nodes: Vec<PublicKey>,
}

/// `[api]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiSection {
    /// HTTP listen address.
    pub listen: SocketAddr,
    /// Largest request body accepted.
    #[serde(default = "default_body_limit")]
    pub max_body_bytes: usize,
    /// Tokens granted to organisations.
    #[serde(default)]
    pub tokens: Vec<TokenGrant>,
    /// Addresses (`host:port`) clients use to reach this API, beyond the listen address
    /// itself (and `localhost:PORT` for a loopback or wildcard listen): a DNS name, a
    /// public IP, a proxy. A signed request names the address it was signed for; one
    /// naming another node's address is refused, so a captured request cannot be
    /// replayed against another node.
    #[serde(default)]
    pub public_addresses: Vec<String>,
    /// `[api.tls]`: serve HTTPS instead of plain HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ApiTls>,
}

/// `[api.tls]`: the API serves HTTPS with these PEM files (relative paths are taken from
/// the config's folder). Read when the node starts; a file that is missing or holds the
/// wrong thing stops it with the file named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiTls {
    /// The certificate chain served, leaf first.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
    /// When set, only clients presenting a certificate signed by a CA of this file get a
    /// connection at all (mutual TLS, on top of tokens and signed requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ca: Option<PathBuf>,
}

impl ApiTls {
    /// Every file it names, with the config key naming it.
    pub fn files(&self) -> Vec<(&'static str, &Path)> {
        let mut files = vec![
            ("api.tls.cert", self.cert.as_path()),
            ("api.tls.key", self.key.as_path()),
        ];
        if let Some(ca) = &self.client_ca {
            files.push(("api.tls.client_ca", ca.as_path()));
        }
        files
    }
}

impl ApiSection {
    /// Every `host:port` (lower-case) a signed request for this node may name.
    pub fn answers_to(&self) -> Vec<String> {
        let port = self.listen.port();
        let ip = self.listen.ip();
        let mut names: Vec<String> = self
            .public_addresses
            .iter()
            .map(|a| a.trim().to_ascii_lowercase())
            .collect();
        if !ip.is_unspecified() {
            names.push(self.listen.to_string());
        }
        if ip.is_loopback() || ip.is_unspecified() {
            names.push(format!("localhost:{port}"));
            names.push(format!("127.0.0.1:{port}"));
            names.push(format!("[::1]:{port}"));
        }
        names
    }
}

fn default_body_limit() -> usize {
    256 * 1024
}

/// `[mempool]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MempoolSection {
    /// Most transactions held; derived from `[memory]` unless set (then it must fit in
    /// the mempool's part of the budget: [`crate::memory::plan`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_txs: Option<usize>,
    /// Most encoded bytes of transactions held; derived from `[memory]` unless set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<usize>,
    /// Most transactions held per signing key.
    pub max_per_signer: usize,
    /// Most transactions in one proposed block.
    pub max_block_txs: usize,
}

impl Default for MempoolSection {
    fn default() -> Self {
        Self {
            max_txs: None,
            max_bytes: None,
            max_per_signer: 512,
            max_block_txs: 2_000,
        }
    }
}

/// `[consensus]`: block pacing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsensusSection {
    /// How long a leader with nothing to propose waits for a transaction before it
    /// proposes an empty block. Without it an idle network spins out empty blocks as
    /// fast as the round trip allows; it must stay well under the 1 s round timeout so
    /// that waiting leaders are not replaced.
    pub idle_block_delay_ms: u64,
}

/// Upper bound of `idle_block_delay_ms` (half the first round timeout).
pub const MAX_IDLE_BLOCK_DELAY_MS: u64 = 500;

impl Default for ConsensusSection {
    fn default() -> Self {
        Self {
            idle_block_delay_ms: 300,
        }
    }
}

/// `[storage]`: how much of the state's history the node's database keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSection {
    /// Versions of the Merkle state tree kept (one per block): older versions' tree nodes
    /// and superseded values are pruned, so the state at a block further back can no
    /// longer be proven (blocks, transactions, receipts, history and every block's state
    /// root are kept). 0 keeps every version (an archive node); otherwise at least
    /// [`MIN_KEEP_VERSIONS`].
    pub keep_versions: u64,
}

/// `storage.keep_versions` when not set: the proofs API proves the state of the latest
/// block certified by its own certificate, which it looks for up to 1,024 blocks back.
pub const DEFAULT_KEEP_VERSIONS: u64 = 1024;
/// Smallest `storage.keep_versions` besides 0: the certified state the proofs API proves
/// lies a few blocks behind the latest, further after a run of timeouts.
pub const MIN_KEEP_VERSIONS: u64 = 64;

impl Default for StorageSection {
    fn default() -> Self {
        Self {
            keep_versions: DEFAULT_KEEP_VERSIONS,
        }
    }
}

impl StorageSection {
    /// The pruning window to open the database with (`None`: keep every version), or why
    /// `keep_versions` cannot be used.
    pub fn keep_versions(&self) -> Result<Option<u64>, String> {
        match self.keep_versions {
            0 => Ok(None),
            k if k < MIN_KEEP_VERSIONS => Err(format!(
                "storage.keep_versions {k} is below the minimum of {MIN_KEEP_VERSIONS}: the \
                 proofs API proves a state a few blocks (after timeouts, dozens) behind the \
                 latest; set at least {MIN_KEEP_VERSIONS}, or 0 to keep every version"
            )),
            k => Ok(Some(k)),
        }
    }
}

/// `[encryption]`: the node's database (and so its backups) and its node key file are
/// encrypted at rest under the operator's 32-byte data key (64 hex digits or base64), read
/// from a file or from an environment variable -- exactly one of the two.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptionSection {
    /// A file holding the key (relative paths are taken from the config's folder); keep
    /// it off the disk that holds the data dir where you can.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// The name of an environment variable holding the key (e.g. `LIANRONG_DATA_KEY`,
    /// set by the service manager from a secret store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_env: Option<String>,
}

/// A node's `config.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeConfig {
    /// Identity and files.
    pub node: NodeSection,
    /// Networking.
    pub p2p: P2pSection,
    /// HTTP API.
    pub api: ApiSection,
    /// Mempool limits.
    #[serde(default)]
    pub mempool: MempoolSection,
    /// Block pacing.
    #[serde(default)]
    pub consensus: ConsensusSection,
    /// The memory budget every cache, memtable and mempool size is derived from.
    #[serde(default)]
    pub memory: MemorySection,
    /// Encryption at rest; none without the section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<EncryptionSection>,
    /// How many versions of the state tree the database keeps.
    #[serde(default)]
    pub storage: StorageSection,
}

fn read_limited(path: &Path) -> Result<String, ConfigError> {
    let meta = std::fs::metadata(path).map_err(|source| ConfigError::Read {
        path: path.into(),
        source,
    })?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(ConfigError::TooLarge(path.into()));
    }
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.into(),
        source,
    })
}

impl NodeConfig {
    /// Reads a config and resolves its relative paths against its folder.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::parse(&read_limited(path)?, path)
    }

    /// Parses and checks the text of the config at `path` (which only names the file in
    /// errors and anchors its relative paths; nothing is read).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let mut cfg: NodeConfig = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.into(),
            reason: e.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let tls = cfg.api.tls.iter_mut().flat_map(|t| {
            [Some(&mut t.cert), Some(&mut t.key), t.client_ca.as_mut()]
                .into_iter()
                .flatten()
        });
        for p in [
            &mut cfg.node.data_dir,
            &mut cfg.node.node_key,
            &mut cfg.node.genesis,
        ]
        .into_iter()
        .chain(tls)
        .chain(
            cfg.encryption
                .iter_mut()
                .filter_map(|e| e.key_file.as_mut()),
        ) {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if let Some(e) = &cfg.encryption {
            if e.key_file.is_some() == e.key_env.is_some() {
                return Err(ConfigError::Invalid {
                    path: path.into(),
                    reason: "[encryption] takes exactly one of key_file and key_env".into(),
                });
            }
        }
        if cfg.consensus.idle_block_delay_ms > MAX_IDLE_BLOCK_DELAY_MS {
            return Err(ConfigError::Invalid {
                path: path.into(),
                reason: format!(
                    "consensus.idle_block_delay_ms {} is above {MAX_IDLE_BLOCK_DELAY_MS}: waiting \
                     leaders would be timed out",
                    cfg.consensus.idle_block_delay_ms
                ),
            });
        }
        Ok(cfg)
    }

    /// Every size derived from `[memory]`, with the explicit `[mempool]` bounds; an error
    /// names what does not fit.
    pub fn memory_plan(&self) -> Result<MemoryPlan, MemoryError> {
        crate::memory::plan(&self.memory, &self.mempool)
    }

    /// The org a presented API token acts for, if granted.
    pub fn token_org(&self, token: &str) -> Option<&OrgId> {
        let h = sha256(token.as_bytes());
        self.api
            .tokens
            .iter()
            .find(|t| t.sha256 == h)
            .map(|t| &t.org)
    }
}

/// Reads and validates a genesis file.
pub fn load_genesis(path: &Path) -> Result<Genesis, ConfigError> {
    parse_genesis(&read_limited(path)?, path)
}

/// Parses and validates the text of the genesis file at `path` (named in errors only).
pub fn parse_genesis(text: &str, path: &Path) -> Result<Genesis, ConfigError> {
    let g: Genesis = serde_json::from_str(text).map_err(|e| ConfigError::Invalid {
        path: path.into(),
        reason: e.to_string(),
    })?;
    g.validate().map_err(|e| ConfigError::Invalid {
        path: path.into(),
        reason: e.to_string(),
    })?;
    Ok(g)
}

/// The consensus validator set of a genesis, in genesis order.
pub fn validator_set(g: &Genesis) -> Result<lianrong_consensus::ValidatorSet, String> {
    lianrong_api_types::consensus_set(&g.validators).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(file: &str) -> (PathBuf, String) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../network-configs/local-4")
            .join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        (path, text)
    }

    #[test]
    fn the_checked_in_example_parses_and_its_paths_are_anchored() {
        let (path, text) = example("bank/config.toml");
        let cfg = NodeConfig::parse(&text, &path).unwrap();
        assert_eq!(cfg, NodeConfig::load(&path).unwrap());
        let folder = path.parent().unwrap();
        assert_eq!(cfg.node.genesis, folder.join("../genesis.json"));
        assert_eq!(cfg.consensus, ConsensusSection::default());

        let (gpath, gtext) = example("genesis.json");
        let g = parse_genesis(&gtext, &gpath).unwrap();
        assert_eq!(validator_set(&g).unwrap().len(), 4);
    }

    #[test]
    fn the_memory_budget_is_read_defaulted_and_checked_with_the_mempool() {
        let (path, text) = example("bank/config.toml");
        let cfg = NodeConfig::parse(&text, &path).unwrap();
        assert_eq!(cfg.memory, MemorySection::default());
        assert!(cfg.memory_plan().unwrap().total_bytes() <= 192 << 20);
        // Without the section: the default budget; written back, the section appears.
        let without = text.replace("[memory]\nbudget_mib = 192\n", "");
        let cfg = NodeConfig::parse(&without, &path).unwrap();
        assert_eq!(cfg.memory.budget_mib, crate::memory::DEFAULT_BUDGET_MIB);
        let written = toml::to_string_pretty(&cfg).unwrap();
        assert!(written.contains("[memory]\nbudget_mib = 192"), "{written}");
        assert!(
            !written.contains("max_txs"),
            "a derived bound is not written"
        );
        // Explicit mempool bounds are overrides, held to the budget.
        let over = text.replace("[mempool]\n", "[mempool]\nmax_txs = 50000\n");
        let cfg = NodeConfig::parse(&over, &path).unwrap();
        assert_eq!(cfg.mempool.max_txs, Some(50_000));
        let err = cfg.memory_plan().unwrap_err().to_string();
        assert!(err.contains("mempool.max_txs = 50000"), "{err}");
        let small = text.replace("budget_mib = 192", "budget_mib = 32");
        let err = NodeConfig::parse(&small, &path).unwrap().memory_plan();
        assert!(err.unwrap_err().to_string().contains("minimum of 64 MiB"));
        let typo = text.replace("budget_mib", "budget_mb");
        assert!(NodeConfig::parse(&typo, &path).is_err(), "a misspelt key");
    }

    #[test]
    fn an_idle_delay_over_the_round_timeout_share_is_refused() {
        let (path, text) = example("bank/config.toml");
        let slow = format!("{text}\n[consensus]\nidle_block_delay_ms = 501\n");
        let err = NodeConfig::parse(&slow, &path).unwrap_err().to_string();
        assert!(err.contains("idle_block_delay_ms 501"), "{err}");
        assert!(NodeConfig::parse("[node]\nname = 1", &path).is_err());
    }

    #[test]
    fn encryption_takes_one_key_source_and_its_file_is_anchored() {
        let (path, text) = example("bank/config.toml");
        assert_eq!(NodeConfig::parse(&text, &path).unwrap().encryption, None);
        let with = format!("{text}\n[encryption]\nkey_file = \"data.key\"\n");
        let cfg = NodeConfig::parse(&with, &path).unwrap();
        let e = cfg.encryption.clone().unwrap();
        assert_eq!(e.key_file, Some(path.parent().unwrap().join("data.key")));
        let written = toml::to_string_pretty(&cfg).unwrap();
        assert_eq!(NodeConfig::parse(&written, &path).unwrap(), cfg);
        let env = format!("{text}\n[encryption]\nkey_env = \"LIANRONG_DATA_KEY\"\n");
        let e = NodeConfig::parse(&env, &path).unwrap().encryption.unwrap();
        assert_eq!(e.key_env.as_deref(), Some("LIANRONG_DATA_KEY"));
        for bad in [
            "[encryption]\n",
            "[encryption]\nkey_file = \"k\"\nkey_env = \"K\"\n",
            "[encryption]\nkey = \"k\"\n",
        ] {
            assert!(
                NodeConfig::parse(&format!("{text}\n{bad}"), &path).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn api_tls_paths_are_anchored_and_round_trip() {
        let (path, text) = example("bank/config.toml");
        let plain = NodeConfig::parse(&text, &path).unwrap();
        assert_eq!(plain.api.tls, None, "plain HTTP without [api.tls]");
        let with = format!(
            "{text}\n[api.tls]\ncert = \"tls/cert.pem\"\nkey = \"/etc/lr/key.pem\"\n\
             client_ca = \"../ca.pem\"\n"
        );
        let cfg = NodeConfig::parse(&with, &path).unwrap();
        let tls = cfg.api.tls.clone().unwrap();
        let folder = path.parent().unwrap();
        assert_eq!(tls.cert, folder.join("tls/cert.pem"));
        assert_eq!(tls.key, Path::new("/etc/lr/key.pem"));
        assert_eq!(tls.client_ca, Some(folder.join("../ca.pem")));
        let keys: Vec<&str> = tls.files().iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["api.tls.cert", "api.tls.key", "api.tls.client_ca"]);
        // What `lianrong testnet --tls` writes reads back the same.
        let written = toml::to_string_pretty(&cfg).unwrap();
        assert_eq!(NodeConfig::parse(&written, &path).unwrap(), cfg);
        // A misspelt key is an error, not a silently plain API.
        let typo = format!("{text}\n[api.tls]\ncert = \"c\"\nkey = \"k\"\nclient_cert = \"x\"\n");
        let err = NodeConfig::parse(&typo, &path).unwrap_err().to_string();
        assert!(err.contains("client_cert"), "{err}");
        let no_key = format!("{text}\n[api.tls]\ncert = \"c\"\n");
        let err = NodeConfig::parse(&no_key, &path).unwrap_err().to_string();
        assert!(err.contains("key"), "{err}");
    }
}
