//! `lianrong testnet`: writes a local network -- genesis, one folder per validator with
//! its `config.toml` and node key on free loopback ports, and member keys and API tokens
//! for a demo cast -- so a developer can start it with `lianrong node --config`.
//!
//! With `--tls` every node's API serves HTTPS: a local CA (`tls/ca.pem`, its key never
//! written) signs each node's certificate for 127.0.0.1 and localhost (`api-cert.pem`,
//! `api-key.pem` in its folder) and one client certificate (`tls/client.pem`,
//! `tls/client-key.pem`) for nodes whose `[api.tls] client_ca` asks for one.
//!
//! With `--encrypt` every node keeps its data encrypted at rest: a fresh data key per node
//! (`data.key` in its folder, mode 0600, named by the config's `[encryption] key_file`),
//! and its node key file sealed under it.
//!
//! Spare nodes (`--spares N`) are written the same way but stay out of genesis: every
//! validator accepts them as full nodes and they dial every validator, so they follow
//! the chain from the start and are ready to be proposed as validators by governance
//! (`lianrong governance propose add-validator`) at the address listed for them.

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use lianrong_contracts::model::{OrgSpec, Params, Role, Validator};
use lianrong_contracts::Genesis;
use lianrong_primitives::{sha256, OrgId, PublicKey, SecretKey};
use serde::Serialize;

use lianrong_node::config::{
    ApiSection, ApiTls, EncryptionSection, MempoolSection, NodeConfig, NodeSection, P2pSection,
    PeerEntry, TokenGrant,
};
use lianrong_node::keyfile;
use lianrong_tls::issue::LocalCa;

/// Most validators a local testnet may have (each is a process with two ports).
pub const MAX_TESTNET_VALIDATORS: usize = 16;

/// Most spare nodes a local testnet may have.
pub const MAX_TESTNET_SPARES: usize = 16;

/// The demo cast: id, legal name, tax id, roles, whether it runs validators.
pub const CAST: &[(&str, &str, &str, &[Role], bool)] = &[
    (
        "BANK-A",
        "招商银行深圳分行 China Merchants Bank Shenzhen",
        "91440300MA5BANKA1J",
        &[Role::Bank],
        true,
    ),
    (
        "BANK-B",
        "珠江商业银行 Pearl River Commercial Bank",
        "91440100MA5BANKB2C",
        &[Role::Bank],
        false,
    ),
    (
        "CORE-A",
        "华信电子集团 Huaxin Electronics Group",
        "91310000MA1C0REA3U",
        &[Role::Core],
        true,
    ),
    (
        "CORE-B",
        "东方汽车制造 Dongfang Motor Works",
        "91320000MA1C0REB44",
        &[Role::Core],
        true,
    ),
    (
        "LOGI",
        "长江物流 Yangtze Logistics",
        "91420000MA4L0G105Y",
        &[Role::Logistics],
        true,
    ),
    (
        "SUP-1",
        "江南电子元件 Jiangnan Components",
        "91330000MA25UP1060",
        &[Role::Supplier],
        false,
    ),
    (
        "SUP-2",
        "闽江塑胶 Minjiang Plastics",
        "91350000MA35UP2077",
        &[Role::Supplier],
        false,
    ),
    (
        "SUP-3",
        "萧山紧固件 Xiaoshan Fasteners (tier 2)",
        "91330100MA25UP308N",
        &[Role::Supplier],
        false,
    ),
    (
        "AUDIT",
        "银行审计部 Bank Audit Office",
        "91110000MA0AUD1T9N",
        &[Role::Auditor],
        false,
    ),
];

/// Short folder names of the first four validators.
const NODE_NAMES: [&str; 4] = ["bank", "core-a", "core-b", "logistics"];

/// Why a testnet could not be written.
#[derive(Debug, thiserror::Error)]
pub enum TestnetError {
    /// Bad arguments.
    #[error("{0}")]
    Invalid(String),
    /// A file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Key generation failed.
    #[error(transparent)]
    Key(#[from] anyhow::Error),
    /// A TLS certificate could not be issued.
    #[error(transparent)]
    Tls(#[from] lianrong_tls::TlsError),
}

/// What `--json` prints for each node.
#[derive(Debug, Clone, Serialize)]
pub struct NodeInfo {
    /// Folder name.
    pub name: String,
    /// Path of its config.
    pub config: PathBuf,
    /// Its API base URL.
    pub api: String,
    /// Its node key.
    pub node_key: PublicKey,
    /// Its p2p listen multiaddr (what a validator entry records as `address`).
    pub p2p: String,
    /// The org that runs it (for a spare, the org to propose it for).
    pub org: OrgId,
    /// A spare: not a genesis validator but a full node every validator accepts, ready to
    /// be proposed as a validator (by `node_key`, `org` and `p2p`).
    pub spare: bool,
    /// With `--tls`: the CA certificate clients must trust (`--ca`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca: Option<PathBuf>,
    /// With `--encrypt`: the node's data key file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_key: Option<PathBuf>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TestnetError + '_ {
    move |source| TestnetError::Io {
        path: path.into(),
        source,
    }
}

/// Free loopback ports for one testnet. Each port's listener is held until the whole
/// testnet is written, so the kernel cannot hand the same port out twice (a released
/// port is often the next one `bind(0)` returns: a node once got its API and p2p
/// listeners on one port). A small race with other processes remains between writing
/// and starting the nodes, fine for local use.
#[derive(Default)]
struct FreePorts {
    held: Vec<TcpListener>,
}

impl FreePorts {
    fn take(&mut self) -> Result<u16, TestnetError> {
        let l = TcpListener::bind("127.0.0.1:0").map_err(io(Path::new("127.0.0.1:0")))?;
        let port = l.local_addr().map_err(io(Path::new("127.0.0.1:0")))?.port();
        self.held.push(l);
        Ok(port)
    }
}

fn org(id: &str) -> Result<OrgId, TestnetError> {
    OrgId::new(id).map_err(|e| TestnetError::Invalid(e.to_string()))
}

/// Writes a testnet of `validators` nodes into `out` (which must be empty or absent) and
/// returns the nodes.
pub fn write(
    out: &Path,
    validators: usize,
    chain_id: &str,
    genesis_time_ms: u64,
) -> Result<Vec<NodeInfo>, TestnetError> {
    write_with_spares(out, validators, 0, chain_id, genesis_time_ms)
}

/// Like [`write`], plus `spares` nodes outside genesis (listed after the validators,
/// `spare: true`): full nodes of every validator, dialing every validator.
pub fn write_with_spares(
    out: &Path,
    validators: usize,
    spares: usize,
    chain_id: &str,
    genesis_time_ms: u64,
) -> Result<Vec<NodeInfo>, TestnetError> {
    write_full(
        out,
        validators,
        spares,
        chain_id,
        genesis_time_ms,
        false,
        false,
    )
}

/// Like [`write_with_spares`]; with `tls`, every API serves HTTPS with certificates of
/// a local CA written to `tls/`; with `encrypt`, every node encrypts at rest under its
/// own data key (see the module's documentation).
pub fn write_full(
    out: &Path,
    validators: usize,
    spares: usize,
    chain_id: &str,
    genesis_time_ms: u64,
    tls: bool,
    encrypt: bool,
) -> Result<Vec<NodeInfo>, TestnetError> {
    if validators == 0 || validators > MAX_TESTNET_VALIDATORS {
        return Err(TestnetError::Invalid(format!(
            "--validators must be 1..={MAX_TESTNET_VALIDATORS}"
        )));
    }
    if spares > MAX_TESTNET_SPARES {
        return Err(TestnetError::Invalid(format!(
            "--spares must be 0..={MAX_TESTNET_SPARES}"
        )));
    }
    if out.exists() && std::fs::read_dir(out).map_err(io(out))?.next().is_some() {
        return Err(TestnetError::Invalid(format!(
            "{} is not empty",
            out.display()
        )));
    }
    let keys_dir = out.join("keys");
    std::fs::create_dir_all(&keys_dir).map_err(io(&keys_dir))?;
    let (orgs, tokens) = write_cast_keys(&keys_dir, chain_id)?;
    let mut ports = FreePorts::default();
    let nodes = write_node_keys(out, validators, &mut ports, encrypt)?;
    let spare_nodes = write_spare_keys(out, spares, &mut ports, encrypt)?;
    write_genesis(out, chain_id, genesis_time_ms, orgs, &nodes)?;
    let tls = if tls {
        Some(write_tls(out, chain_id, nodes.iter().chain(&spare_nodes))?)
    } else {
        None
    };
    let tls = tls.as_deref();
    let spare_keys: Vec<PublicKey> = spare_nodes.iter().map(|n| n.key).collect();
    let mut infos = Vec::with_capacity(nodes.len() + spare_nodes.len());
    for node in &nodes {
        // Every validator dials the others and lets the spares in.
        let peers = nodes.iter().filter(|n| n.key != node.key);
        infos.push(write_node_config(node, peers, &spare_keys, &tokens, tls)?);
    }
    for spare in &spare_nodes {
        // A spare dials every validator; the other spares may connect to it.
        let others: Vec<PublicKey> = spare_keys
            .iter()
            .copied()
            .filter(|k| *k != spare.key)
            .collect();
        infos.push(write_node_config(
            spare,
            nodes.iter(),
            &others,
            &tokens,
            tls,
        )?);
    }
    Ok(infos)
}

/// Member keys and API tokens for the cast; returns the orgs for genesis and the token
/// grants every node's API accepts.
fn write_cast_keys(
    keys_dir: &Path,
    chain_id: &str,
) -> Result<(Vec<OrgSpec>, Vec<TokenGrant>), TestnetError> {
    let mut orgs = Vec::new();
    let mut tokens = Vec::new();
    for (id, name, tax, roles, _) in CAST {
        let key_path = keys_dir.join(format!("{id}.json"));
        let public = keyfile::write_new_member(&key_path, &org(id)?, chain_id)?;
        let token = hex::encode(SecretKey::generate().to_bytes());
        let token_path = keys_dir.join(format!("{id}.token"));
        lianrong_primitives::keyfile::write_private(&token_path, format!("{token}\n").as_bytes())
            .map_err(io(&token_path))?;
        tokens.push(TokenGrant {
            sha256: sha256(token.as_bytes()),
            org: org(id)?,
        });
        orgs.push(OrgSpec {
            id: org(id)?,
            name: (*name).into(),
            tax_id: (*tax).into(),
            roles: roles.to_vec(),
            identifiers: vec![format!("0088:{}", &tax[..13])],
            keys: vec![public],
        });
    }
    Ok((orgs, tokens))
}

/// A validator (or spare) being written.
struct PlannedNode {
    name: String,
    dir: PathBuf,
    key: PublicKey,
    /// The org that runs it.
    runner: &'static str,
    p2p: u16,
    api: u16,
    /// Outside genesis.
    spare: bool,
    /// Encrypted at rest under the data key in [`DATA_KEY_FILE`].
    encrypted: bool,
}

/// The data key file's name in a node's folder (`--encrypt`).
const DATA_KEY_FILE: &str = "data.key";

/// A node folder with a new node key (with `encrypt`, a new data key and the node key
/// sealed under it) and two free ports.
fn plan_node(
    out: &Path,
    name: String,
    runner: &'static str,
    spare: bool,
    ports: &mut FreePorts,
    encrypt: bool,
) -> Result<PlannedNode, TestnetError> {
    let dir = out.join(&name);
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let key_file = dir.join("node_key.json");
    let key = if encrypt {
        let data_key = keyfile::DataKey::generate();
        let path = dir.join(DATA_KEY_FILE);
        let text = format!("{}\n", data_key.to_hex().as_str());
        lianrong_primitives::keyfile::write_private(&path, text.as_bytes()).map_err(io(&path))?;
        keyfile::write_new_sealed(&key_file, &data_key)?
    } else {
        keyfile::write_new(&key_file)?
    };
    Ok(PlannedNode {
        name,
        dir,
        key,
        runner,
        p2p: ports.take()?,
        api: ports.take()?,
        spare,
        encrypted: encrypt,
    })
}

/// A folder and node key per validator, run by the validator orgs in turn.
fn write_node_keys(
    out: &Path,
    validators: usize,
    ports: &mut FreePorts,
    encrypt: bool,
) -> Result<Vec<PlannedNode>, TestnetError> {
    let runners: Vec<&'static str> = CAST.iter().filter(|c| c.4).map(|c| c.0).collect();
    let mut nodes = Vec::new();
    for i in 0..validators {
        let name = NODE_NAMES
            .get(i)
            .map(|s| s.to_string())
            .unwrap_or_else(|| format!("node-{}", i + 1));
        nodes.push(plan_node(
            out,
            name,
            runners[i % runners.len()],
            false,
            ports,
            encrypt,
        )?);
    }
    Ok(nodes)
}

/// A folder and node key per spare (`spare-1`, ...). Each is meant to be run by an org
/// that may run validators (bank, core enterprise, logistics), those that run none at
/// genesis first, so adding the first spare also adds a validator org.
fn write_spare_keys(
    out: &Path,
    spares: usize,
    ports: &mut FreePorts,
    encrypt: bool,
) -> Result<Vec<PlannedNode>, TestnetError> {
    let eligible = |roles: &[Role]| {
        roles
            .iter()
            .any(|r| matches!(r, Role::Bank | Role::Core | Role::Logistics))
    };
    let runners: Vec<&'static str> = CAST
        .iter()
        .filter(|c| eligible(c.3) && !c.4)
        .chain(CAST.iter().filter(|c| eligible(c.3) && c.4))
        .map(|c| c.0)
        .collect();
    (0..spares)
        .map(|i| {
            let name = format!("spare-{}", i + 1);
            plan_node(out, name, runners[i % runners.len()], true, ports, encrypt)
        })
        .collect()
}

fn write_genesis(
    out: &Path,
    chain_id: &str,
    genesis_time_ms: u64,
    orgs: Vec<OrgSpec>,
    nodes: &[PlannedNode],
) -> Result<(), TestnetError> {
    let genesis = Genesis {
        chain_id: chain_id.into(),
        genesis_time_ms,
        orgs,
        validators: nodes
            .iter()
            .map(|n| {
                Ok(Validator {
                    org: org(n.runner)?,
                    node_key: n.key,
                    address: format!("/ip4/127.0.0.1/tcp/{}", n.p2p),
                })
            })
            .collect::<Result<_, TestnetError>>()?,
        params: Params::default(),
    };
    genesis
        .validate()
        .map_err(|e| TestnetError::Invalid(e.to_string()))?;
    let genesis_path = out.join("genesis.json");
    let json =
        serde_json::to_string_pretty(&genesis).map_err(|e| TestnetError::Invalid(e.to_string()))?;
    std::fs::write(&genesis_path, json).map_err(io(&genesis_path))
}

/// Certificate and key file names in a node's folder (`--tls`).
const API_CERT: &str = "api-cert.pem";
const API_KEY: &str = "api-key.pem";

/// `--tls`: a local CA for this network (`tls/ca.pem`; its key stays in memory), a
/// certificate for each node's API in the node's folder, and one client certificate
/// (`tls/client.pem`, `tls/client-key.pem`). Returns the CA file.
fn write_tls<'a>(
    out: &Path,
    chain_id: &str,
    nodes: impl Iterator<Item = &'a PlannedNode>,
) -> Result<PathBuf, TestnetError> {
    let dir = out.join("tls");
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let ca = LocalCa::new(&format!("LianRong test network {chain_id} CA"))?;
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca.cert_pem()).map_err(io(&ca_file))?;
    // The API listens on 127.0.0.1; clients may also say localhost.
    let hosts = ["127.0.0.1".to_string(), "localhost".to_string()];
    for node in nodes {
        let issued = ca.server(&format!("{} API", node.name), &hosts)?;
        let (cert, key) = (node.dir.join(API_CERT), node.dir.join(API_KEY));
        issued.write(&cert, &key).map_err(io(&cert))?;
    }
    let client = ca.client(&format!("LianRong test network {chain_id} client"))?;
    let cert = dir.join("client.pem");
    client
        .write(&cert, &dir.join("client-key.pem"))
        .map_err(io(&cert))?;
    Ok(ca_file)
}

/// The node's `config.toml`: it dials `peers` and also lets `full_nodes` in; with `ca`
/// (`--tls`) its API serves HTTPS with the certificate [`write_tls`] wrote for it.
fn write_node_config<'a>(
    node: &PlannedNode,
    peers: impl Iterator<Item = &'a PlannedNode>,
    full_nodes: &[PublicKey],
    tokens: &[TokenGrant],
    ca: Option<&Path>,
) -> Result<NodeInfo, TestnetError> {
    let PlannedNode {
        name,
        dir,
        key,
        runner,
        p2p,
        api,
        spare,
        encrypted,
    } = node;
    let cfg = NodeConfig {
        node: NodeSection {
            name: name.clone(),
            data_dir: PathBuf::from("data"),
            node_key: PathBuf::from("node_key.json"),
            genesis: PathBuf::from("../genesis.json"),
        },
        p2p: P2pSection {
            listen: format!("/ip4/127.0.0.1/tcp/{p2p}"),
            peers: peers
                .map(|n| PeerEntry {
                    key: n.key,
                    addr: format!("/ip4/127.0.0.1/tcp/{}", n.p2p),
                })
                .collect(),
            full_nodes: full_nodes.to_vec(),
        },
        api: ApiSection {
            listen: format!("127.0.0.1:{api}")
                .parse()
                .map_err(|e| TestnetError::Invalid(format!("{e}")))?,
            max_body_bytes: 256 * 1024,
            tokens: tokens.to_vec(),
            public_addresses: vec![],
            tls: ca.map(|_| ApiTls {
                cert: PathBuf::from(API_CERT),
                key: PathBuf::from(API_KEY),
                client_ca: None,
            }),
        },
        mempool: MempoolSection::default(),
        consensus: Default::default(),
        // The default budget: every cache and the mempool are sized from it.
        memory: Default::default(),
        // The default window of state versions (`[storage] keep_versions`).
        storage: Default::default(),
        encryption: encrypted.then(|| EncryptionSection {
            key_file: Some(PathBuf::from(DATA_KEY_FILE)),
            key_env: None,
        }),
    };
    let path = dir.join("config.toml");
    let text = toml::to_string_pretty(&cfg).map_err(|e| TestnetError::Invalid(e.to_string()))?;
    std::fs::write(&path, text).map_err(io(&path))?;
    Ok(NodeInfo {
        name: name.clone(),
        config: path,
        api: format!(
            "{}://127.0.0.1:{api}",
            if ca.is_some() { "https" } else { "http" }
        ),
        node_key: *key,
        p2p: format!("/ip4/127.0.0.1/tcp/{p2p}"),
        org: org(runner)?,
        spare: *spare,
        ca: ca.map(Path::to_path_buf),
        data_key: encrypted.then(|| dir.join(DATA_KEY_FILE)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_node::config::{load_genesis, validator_set, NodeConfig};

    #[test]
    fn a_written_testnet_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("net");
        let nodes = write(&out, 4, "lianrong-local", 1_767_542_400_000).unwrap();
        assert_eq!(
            nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(),
            ["bank", "core-a", "core-b", "logistics"]
        );
        let g = load_genesis(&out.join("genesis.json")).unwrap();
        assert_eq!(g.orgs.len(), CAST.len());
        assert_eq!(validator_set(&g).unwrap().len(), 4);
        let runners: Vec<&str> = g.validators.iter().map(|v| v.org.as_str()).collect();
        assert_eq!(runners, ["BANK-A", "CORE-A", "CORE-B", "LOGI"]);
        let mut ports = std::collections::BTreeSet::new();
        for n in &nodes {
            let cfg = NodeConfig::load(&n.config).unwrap();
            assert!(cfg.node.genesis.exists() && cfg.node.node_key.exists());
            assert_eq!(cfg.p2p.peers.len(), 3);
            assert!(ports.insert(cfg.api.listen.port()));
            assert!(ports.insert(
                cfg.p2p
                    .listen
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .parse::<u16>()
                    .unwrap()
            ));
            let key = lianrong_node::keyfile::read(&cfg.node.node_key).unwrap();
            assert_eq!(key.public(), n.node_key);
        }
        // Member key files name their org and chain, so clients need no lookup to sign.
        let (file, key) = lianrong_primitives::KeyFile::read(&out.join("keys/SUP-1.json")).unwrap();
        assert_eq!(file.org.as_ref().map(|o| o.as_str()), Some("SUP-1"));
        assert_eq!(file.chain_id.as_deref(), Some("lianrong-local"));
        let sup = g.orgs.iter().find(|o| o.id.as_str() == "SUP-1").unwrap();
        assert_eq!(sup.keys, [key.public()]);
        // Each org's token is granted, by hash only.
        let token = std::fs::read_to_string(out.join("keys/AUDIT.token")).unwrap();
        let cfg = NodeConfig::load(&nodes[0].config).unwrap();
        assert_eq!(
            cfg.token_org(token.trim()).map(|o| o.as_str()),
            Some("AUDIT")
        );
        assert!(!std::fs::read_to_string(&nodes[0].config)
            .unwrap()
            .contains(token.trim()));
        // Secrets are readable by their owner only.
        #[cfg(unix)]
        for secret in ["keys/AUDIT.token", "keys/SUP-1.json"] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(out.join(secret))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{secret} is readable by others: {mode:o}");
        }
        // Refuses to overwrite.
        assert!(write(&out, 4, "lianrong-local", 0).is_err());
        assert!(write(&dir.path().join("x"), 0, "c", 0).is_err());
        assert!(write_with_spares(&dir.path().join("y"), 4, 17, "c", 0).is_err());
    }

    #[test]
    fn an_encrypted_testnet_gives_each_node_its_own_data_key_and_a_sealed_node_key() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("net");
        let nodes =
            write_full(&out, 2, 1, "lianrong-local", 1_767_542_400_000, false, true).unwrap();
        let mut seen = Vec::new();
        for n in &nodes {
            let cfg = NodeConfig::load(&n.config).unwrap();
            let file = n.data_key.clone().unwrap();
            assert_eq!(
                cfg.encryption.as_ref().and_then(|e| e.key_file.clone()),
                Some(file.clone())
            );
            let data_key = lianrong_node::keyfile::data_key(&cfg).unwrap().unwrap();
            assert!(!seen.contains(&data_key), "one key per node");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&file).unwrap().permissions().mode();
                assert_eq!(mode & 0o077, 0, "the data key is the owner's only");
            }
            let text = std::fs::read_to_string(&cfg.node.node_key).unwrap();
            assert!(text.contains("sealed_secret_key") && !text.contains("\"secret_key\""));
            assert_eq!(
                lianrong_node::keyfile::node_key(&cfg).unwrap().public(),
                n.node_key
            );
            seen.push(data_key);
        }
    }

    #[test]
    fn a_tls_testnet_serves_https_with_certificates_of_its_own_ca() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("net");
        let nodes =
            write_full(&out, 4, 1, "lianrong-local", 1_767_542_400_000, true, false).unwrap();
        let ca = out.join("tls/ca.pem");
        for n in &nodes {
            assert!(n.api.starts_with("https://127.0.0.1:"), "{}", n.api);
            assert_eq!(n.ca.as_deref(), Some(ca.as_path()));
            let cfg = NodeConfig::load(&n.config).unwrap();
            let tls = cfg.api.tls.unwrap();
            assert_eq!(tls.cert, n.config.with_file_name(API_CERT));
            assert_eq!(tls.client_ca, None, "client certificates are not required");
            let served = lianrong_tls::server_config(&tls.cert, &tls.key, Some(&ca)).unwrap();
            assert!(served.not_after.is_some());
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&tls.key).unwrap().permissions().mode();
                assert_eq!(
                    mode & 0o077,
                    0,
                    "the API key is readable by others: {mode:o}"
                );
            }
        }
        let pem = |f: &str| std::fs::read_to_string(out.join("tls").join(f)).unwrap();
        assert!(pem("client.pem").starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(pem("client-key.pem").contains("PRIVATE KEY"));
        // Without --tls nothing of it.
        let plain = write(&dir.path().join("plain"), 1, "c", 0).unwrap();
        assert!(plain[0].api.starts_with("http://") && plain[0].ca.is_none());
        let text = std::fs::read_to_string(&plain[0].config).unwrap();
        assert!(!text.contains("tls"), "{text}");
    }

    #[test]
    fn spares_stay_out_of_genesis_and_follow_every_validator() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("net");
        let nodes = write_with_spares(&out, 4, 2, "lianrong-local", 1_767_542_400_000).unwrap();
        let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "bank",
                "core-a",
                "core-b",
                "logistics",
                "spare-1",
                "spare-2"
            ]
        );
        let (validators, spares): (Vec<&NodeInfo>, Vec<&NodeInfo>) =
            nodes.iter().partition(|n| !n.spare);
        let g = load_genesis(&out.join("genesis.json")).unwrap();
        let genesis_keys: Vec<PublicKey> = g.validators.iter().map(|v| v.node_key).collect();
        assert_eq!(
            genesis_keys,
            validators.iter().map(|n| n.node_key).collect::<Vec<_>>()
        );
        for (v, n) in g.validators.iter().zip(&validators) {
            assert_eq!((&v.address, &v.org), (&n.p2p, &n.org));
        }
        let spare_keys: Vec<PublicKey> = spares.iter().map(|n| n.node_key).collect();
        assert!(spare_keys.iter().all(|k| !genesis_keys.contains(k)));
        // The first spare is run by a bank that runs no genesis validator, so adding it
        // adds a validator org too.
        assert_eq!(spares[0].org.as_str(), "BANK-B");
        for n in &validators {
            let cfg = NodeConfig::load(&n.config).unwrap();
            assert_eq!(cfg.p2p.full_nodes, spare_keys, "{}", n.name);
            assert_eq!(cfg.p2p.peers.len(), 3);
        }
        for n in &spares {
            let cfg = NodeConfig::load(&n.config).unwrap();
            let peers: Vec<(PublicKey, &str)> = cfg
                .p2p
                .peers
                .iter()
                .map(|p| (p.key, p.addr.as_str()))
                .collect();
            let expected: Vec<(PublicKey, &str)> = validators
                .iter()
                .map(|v| (v.node_key, v.p2p.as_str()))
                .collect();
            assert_eq!(peers, expected, "{} dials every validator", n.name);
            assert_eq!(cfg.p2p.listen, n.p2p);
            assert_eq!(cfg.p2p.full_nodes.len(), 1, "the other spare");
            let key = lianrong_node::keyfile::read(&cfg.node.node_key).unwrap();
            assert_eq!(key.public(), n.node_key);
        }
    }
}
