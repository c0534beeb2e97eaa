//! `lianrong genesis entry|build|check`: a genesis assembled from public inputs only.
//!
//! Each organisation runs `entry` on its own host: it reads the org's member key files
//! and, for a validator, its node key file, and writes an entry holding their *public*
//! keys, the org's details and the node's address. The entries travel to whoever
//! assembles genesis, who runs `build`; every host then runs `check` on the file it
//! received and compares the printed SHA-256 out of band. No secret key ever leaves the
//! host that generated it (`lianrong testnet` writes every key on one host: for local
//! networks only).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use lianrong_contracts::exec::tax_id::canonical_tax_id;
use lianrong_contracts::model::{OrgSpec, Params, Role, Validator};
use lianrong_contracts::{Genesis, MemoryStorage};
use lianrong_primitives::{sha256, KeyFile, OrgId, PublicKey, SecretKey};
use serde::{Deserialize, Serialize};

/// Largest entry file read (a few keys and names; this bounds a mistake).
const MAX_ENTRY_BYTES: u64 = 64 * 1024;

/// Most entries one genesis is built from (the ledger's own limits on orgs and
/// validators apply on top).
pub const MAX_ENTRIES: usize = 256;

/// What one organisation sends to the assembler: public keys, details and address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The chain the member keys were made for (the assembler's `--chain-id` must match).
    pub chain_id: String,
    /// The organisation as genesis admits it.
    pub org: OrgSpec,
    /// The validator it runs, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validator: Option<EntryValidator>,
}

/// A validator of an entry: its node's public key and where peers reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryValidator {
    /// The node key (public).
    pub node_key: PublicKey,
    /// The libp2p multiaddr other validators dial, e.g. `/ip4/10.0.0.1/tcp/26656`.
    pub address: String,
}

/// What `genesis entry` is given.
pub struct EntryInput {
    /// Chain id.
    pub chain_id: String,
    /// Org id.
    pub org: OrgId,
    /// Legal name.
    pub name: String,
    /// Tax id (written canonically).
    pub tax_id: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// Other identifiers.
    pub identifiers: Vec<String>,
    /// Member key files.
    pub member_keys: Vec<PathBuf>,
    /// Node key file and address, for a validator.
    pub validator: Option<(PathBuf, String)>,
}

/// Parses a role as the ledger names it.
pub fn parse_role(s: &str) -> std::result::Result<Role, String> {
    serde_json::from_value(serde_json::Value::String(s.trim().to_ascii_lowercase()))
        .map_err(|_| format!("{s:?} is not a role; use bank, core, supplier, logistics or auditor"))
}

/// The public key of a key file, checked against the org and chain it names (if any).
fn member_public(path: &Path, org: &OrgId, chain_id: &str) -> Result<PublicKey> {
    let (file, _secret): (KeyFile, SecretKey) = KeyFile::read(path)?;
    if let Some(named) = &file.org {
        if named != org {
            bail!(
                "member key {} belongs to {named}, not {org}",
                path.display()
            );
        }
    }
    if let Some(chain) = &file.chain_id {
        if chain != chain_id {
            bail!(
                "member key {} is for chain {chain:?}, not {chain_id:?}",
                path.display()
            );
        }
    }
    Ok(file.public_key)
}

/// Builds an entry from key files (only their public keys are kept) and checks it by the
/// ledger's own genesis rules.
pub fn make_entry(input: EntryInput) -> Result<Entry> {
    if input.member_keys.is_empty() {
        bail!("give at least one member key file with --member-key FILE");
    }
    let keys = input
        .member_keys
        .iter()
        .map(|p| member_public(p, &input.org, &input.chain_id))
        .collect::<Result<Vec<_>>>()?;
    let tax_id = canonical_tax_id(&input.tax_id).map_err(|e| anyhow!("--tax-id: {e}"))?;
    let validator = match input.validator {
        None => None,
        Some((file, address)) => {
            let (kf, _secret): (KeyFile, SecretKey) = KeyFile::read(&file)?;
            check_multiaddr(&address)?;
            Some(EntryValidator {
                node_key: kf.public_key,
                address,
            })
        }
    };
    let entry = Entry {
        chain_id: input.chain_id,
        org: OrgSpec {
            id: input.org,
            name: input.name.trim().to_string(),
            tax_id,
            roles: input.roles,
            identifiers: input.identifiers,
            keys,
        },
        validator,
    };
    // The org alone as a genesis (with a stand-in validator when it runs none), put
    // through the very checks a node applies when it starts from genesis.
    let probe = EntryValidator {
        node_key: SecretKey::generate().public(),
        address: "/ip4/127.0.0.1/tcp/1".into(),
    };
    let mut alone = entry.clone();
    alone.validator.get_or_insert(probe);
    assemble(&alone.chain_id.clone(), 0, vec![alone])?;
    Ok(entry)
}

/// A validator's address must be a `/ip4|ip6|dns.../tcp/PORT` multiaddr.
fn check_multiaddr(address: &str) -> Result<()> {
    let parts: Vec<&str> = address.split('/').collect();
    let ok = parts.len() == 5
        && parts[0].is_empty()
        && matches!(parts[1], "ip4" | "ip6" | "dns" | "dns4" | "dns6")
        && !parts[2].is_empty()
        && parts[3] == "tcp"
        && parts[4].parse::<u16>().is_ok_and(|p| p != 0);
    if !ok {
        bail!("--address {address:?} is not a multiaddr like /ip4/10.0.0.1/tcp/26656");
    }
    Ok(())
}

/// Reads an entry file (bounded, strict).
pub fn read_entry(path: &Path) -> Result<Entry> {
    let text = read_bounded(path, MAX_ENTRY_BYTES)?;
    serde_json::from_str(&text).with_context(|| format!("entry {} is not valid", path.display()))
}

fn read_bounded(path: &Path, max: u64) -> Result<String> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if len > max {
        bail!("{} has {len} bytes, more than {max}", path.display());
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The genesis of `entries` (orgs and validators in the order given), checked by the
/// ledger's rules and by creating its state as a node will.
pub fn assemble(chain_id: &str, genesis_time_ms: u64, entries: Vec<Entry>) -> Result<Genesis> {
    if entries.len() > MAX_ENTRIES {
        bail!("{} entries: at most {MAX_ENTRIES}", entries.len());
    }
    let mut orgs = Vec::with_capacity(entries.len());
    let mut validators = Vec::new();
    for e in entries {
        if e.chain_id != chain_id {
            bail!(
                "the entry of {} is for chain {:?}, not {chain_id:?}: its member keys sign for \
                 that chain",
                e.org.id,
                e.chain_id
            );
        }
        if let Some(v) = e.validator {
            validators.push(Validator {
                org: e.org.id.clone(),
                node_key: v.node_key,
                address: v.address,
            });
        }
        orgs.push(e.org);
    }
    let genesis = Genesis {
        chain_id: chain_id.into(),
        genesis_time_ms,
        orgs,
        validators,
        params: Params::default(),
    };
    genesis.changes(&MemoryStorage::new())?;
    Ok(genesis)
}

/// The genesis at `path`, checked as a node checks it at start, and its file's SHA-256.
pub fn check(path: &Path) -> Result<(Genesis, String)> {
    let text = read_bounded(path, 4 * 1024 * 1024)?;
    let genesis = lianrong_node::config::parse_genesis(&text, path)?;
    genesis
        .changes(&MemoryStorage::new())
        .with_context(|| format!("{} cannot start a chain", path.display()))?;
    Ok((genesis, sha256(text.as_bytes()).to_hex()))
}

/// Writes `text` to a new file (never overwriting).
pub fn write_new(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// What `genesis check` prints: the chain, every org and validator, the SHA-256.
pub fn describe(g: &Genesis, sha: &str) -> String {
    let mut out = format!(
        "genesis OK: chain {}, {} orgs, {} validators\n",
        g.chain_id,
        g.orgs.len(),
        g.validators.len()
    );
    for o in &g.orgs {
        out.push_str(&format!(
            "  org {:<10} {} ({} keys)\n",
            o.id.as_str(),
            o.name,
            o.keys.len()
        ));
    }
    for v in &g.validators {
        out.push_str(&format!(
            "  validator {} of {} at {}\n",
            v.node_key, v.org, v.address
        ));
    }
    out.push_str(&format!("sha256 {sha}\n"));
    out
}
