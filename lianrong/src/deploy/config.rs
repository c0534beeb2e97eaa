//! `lianrong config init`: the `config.toml` of one validator host, from the genesis
//! every host shares and the node key of this host. The peers are the other genesis
//! validators at their genesis addresses, so nobody types another party's key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use lianrong_node::config::{
    ApiSection, MempoolSection, NodeConfig, NodeSection, P2pSection, PeerEntry, TokenGrant,
};
use lianrong_primitives::{Hash, KeyFile, OrgId, SecretKey};

/// What `config init` is given.
pub struct ConfigInput {
    /// Where to write the config (must not exist).
    pub out: PathBuf,
    /// The genesis file (the node reads it at this path).
    pub genesis: PathBuf,
    /// This host's node key file.
    pub node_key: PathBuf,
    /// The database folder.
    pub data_dir: PathBuf,
    /// The API's listen address.
    pub api_listen: SocketAddr,
    /// The p2p listen multiaddr (default: this validator's genesis address).
    pub p2p_listen: Option<String>,
    /// Other `host:port` names clients use for the API.
    pub public_addresses: Vec<String>,
    /// Name for logs (default: the org id, lower case).
    pub name: Option<String>,
    /// API tokens granted, by SHA-256.
    pub grants: Vec<TokenGrant>,
}

/// Parses `ORG=SHA256HEX` (the SHA-256 of a token: `printf %s TOKEN | sha256sum`).
pub fn parse_grant(s: &str) -> std::result::Result<TokenGrant, String> {
    let (org, hash) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: give ORG=SHA256 (the token's SHA-256 in hex)"))?;
    let org = OrgId::new(org.trim()).map_err(|e| format!("{s:?}: {e}"))?;
    let sha256 = Hash::from_hex(hash.trim())
        .map_err(|e| format!("{s:?}: the SHA-256 must be 64 hex digits ({e})"))?;
    Ok(TokenGrant { sha256, org })
}

/// A path as written into the config: absolute, because the node resolves relative
/// paths against the config's folder, not against where this command ran.
fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).with_context(|| format!("cannot make {} absolute", p.display()))
}

/// The config of this host's validator; checks that its node key is a genesis validator.
pub fn build(input: &ConfigInput) -> Result<NodeConfig> {
    let (genesis, _) = super::genesis::check(&input.genesis)?;
    let (file, _secret): (KeyFile, SecretKey) = KeyFile::read(&input.node_key)?;
    let me = file.public_key;
    let Some(mine) = genesis.validators.iter().find(|v| v.node_key == me) else {
        bail!(
            "node key {} ({}) is not a validator of {}: send its public key to whoever \
             assembles genesis (`lianrong genesis entry --node-key`)",
            me,
            input.node_key.display(),
            input.genesis.display()
        );
    };
    let peers = genesis
        .validators
        .iter()
        .filter(|v| v.node_key != me)
        .map(|v| PeerEntry {
            key: v.node_key,
            addr: v.address.clone(),
        })
        .collect();
    for a in &input.public_addresses {
        if a.rsplit_once(':')
            .is_none_or(|(_, p)| p.parse::<u16>().is_err())
        {
            bail!("--public-address {a:?} is not host:port");
        }
    }
    Ok(NodeConfig {
        node: NodeSection {
            name: input
                .name
                .clone()
                .unwrap_or_else(|| mine.org.as_str().to_ascii_lowercase()),
            data_dir: absolute(&input.data_dir)?,
            node_key: absolute(&input.node_key)?,
            genesis: absolute(&input.genesis)?,
        },
        p2p: P2pSection {
            listen: input
                .p2p_listen
                .clone()
                .unwrap_or_else(|| mine.address.clone()),
            peers,
            full_nodes: vec![],
        },
        api: ApiSection {
            listen: input.api_listen,
            max_body_bytes: 256 * 1024,
            tokens: input.grants.clone(),
            public_addresses: input.public_addresses.clone(),
            tls: None,
        },
        mempool: MempoolSection::default(),
        consensus: Default::default(),
        // The default budget: every cache and the mempool are sized from it.
        memory: Default::default(),
        // The default window of state versions (`[storage] keep_versions`).
        storage: Default::default(),
        // Encryption at rest is added by the operator (docs/operations.md).
        encryption: None,
    })
}

/// Writes the config (never overwriting) and returns what it holds.
pub fn init(input: &ConfigInput) -> Result<NodeConfig> {
    let cfg = build(input)?;
    let text = toml::to_string_pretty(&cfg)?;
    // What is written must read back the same, or the node would run something else.
    let back = NodeConfig::parse(&text, &input.out)?;
    if back != cfg {
        bail!("internal error: the written config does not read back the same");
    }
    super::genesis::write_new(&input.out, &text)?;
    Ok(cfg)
}
