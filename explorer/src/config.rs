//! The explorer's TOML config: where to listen, which node to read with which token,
//! the accounts that may log in, session lifetime and lock-out.
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! node_url = "http://127.0.0.1:7001"
//! node_token = "..."            # a node API token of an org that sees everything
//! session_ttl_secs = 3600
//! secure_cookies = true
//! max_concurrent_logins = 2     # password checks (argon2) running at once; more get 503
//! node_ca = "tls/ca.pem"        # an https node_url: the CA its certificate chains to
//! node_client_cert = "tls/client.pem"    # for a node that requires client certificates
//! node_client_key = "tls/client-key.pem"
//! reference_rate = "3.45"       # the cost report's yardstick, percent a year, with its label
//! reference_label = "1-year LPR 3.00 + SME spread 0.45"
//! database = "sqlite://explorer.db"   # the index's database (default: this file next to
//!                               # the config); or "postgres://user:pw@host/db"
//! [tls]                         # serve HTTPS (otherwise plain HTTP)
//! cert = "explorer.pem"         # certificate chain, leaf first
//! key = "explorer-key.pem"
//! [lockout]
//! max_failures = 5              # per (username, client address)
//! max_address_failures = 50     # per client address, across all usernames
//! lock_secs = 900
//! [[accounts]]
//! username = "auditor"
//! password_hash = "$argon2id$v=19$..."   # from `lianrong explorer hash-password`
//! role = "auditor"                       # auditor | bank | org
//! [[accounts]]
//! username = "sup1"
//! password_hash = "$argon2id$..."
//! role = "org"
//! org = "SUP-1"
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::ExplorerError;

/// Largest config file read.
const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// Most accounts a config may list.
pub const MAX_ACCOUNTS: usize = 1000;

/// What an explorer account may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountRole {
    /// Sees everything.
    Auditor,
    /// Sees everything.
    Bank,
    /// Sees only documents its org is party to, with identifiers masked.
    Org,
}

/// One login of the explorer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Login name.
    pub username: String,
    /// Argon2 PHC string (see [`crate::hash_password`]).
    pub password_hash: String,
    /// What the account sees.
    pub role: AccountRole,
    /// The org the account acts for (required for `org`, informational otherwise).
    #[serde(default)]
    pub org: Option<String>,
}

/// Lock-out after repeated failed logins. Failures are counted per (username, client
/// address) and per client address across all usernames; a count is forgotten after
/// `lock_secs` without a failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lockout {
    /// Failures that lock one username for one client address.
    pub max_failures: u32,
    /// Failures, whatever the username, that lock a client address out entirely.
    #[serde(default = "default_address_failures")]
    pub max_address_failures: u32,
    /// How long a lock lasts.
    pub lock_secs: u64,
}

impl Default for Lockout {
    fn default() -> Self {
        Lockout {
            max_failures: 5,
            max_address_failures: default_address_failures(),
            lock_secs: 900,
        }
    }
}

fn default_address_failures() -> u32 {
    50
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_ttl() -> u64 {
    3600
}
fn default_true() -> bool {
    true
}
/// Every page, list, CSV and count reads the database; the cache serves the dashboard's
/// newest blocks and search when the database fails. Re-indexing the 100,000-receivable
/// bench ledger peaked at 1.4 GB RSS with 100,000 per table and 330 MiB with 10,000,
/// for the same CPU (node/README.md, "The read side at 100,000 and 200,000 receivables").
fn default_index_docs() -> usize {
    10_000
}
fn default_concurrent_logins() -> usize {
    2
}

/// The database of a config file that names none: a SQLite file next to it.
pub const DEFAULT_DATABASE: &str = "sqlite://explorer.db";

/// A SQLite URL with a relative path taken from `base` (the config's folder, or the
/// `--data-dir`); other URLs unchanged.
pub fn anchor_sqlite(url: &str, base: &Path) -> String {
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return url.to_string();
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, format!("?{q}")),
        None => (rest, String::new()),
    };
    if path.is_empty() || path == ":memory:" || Path::new(path).is_absolute() {
        return url.to_string();
    }
    format!("sqlite://{}{query}", base.join(path).display())
}

/// Most password checks a config may allow at once (each holds ~19 MiB for tens of ms).
pub const MAX_CONCURRENT_LOGINS: usize = 64;

/// The explorer's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplorerConfig {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Base URL of the node API, e.g. `http://127.0.0.1:7001`.
    pub node_url: String,
    /// A node API token of an org that sees everything (bank or auditor).
    pub node_token: String,
    /// Accounts that may log in.
    #[serde(default)]
    pub accounts: Vec<Account>,
    /// Session lifetime in seconds.
    #[serde(default = "default_ttl")]
    pub session_ttl_secs: u64,
    /// Mark cookies `Secure` (browsers accept them on https and on localhost).
    #[serde(default = "default_true")]
    pub secure_cookies: bool,
    /// Password checks (argon2, ~19 MiB and tens of ms of CPU each) running at once; a
    /// login that finds none free is answered 503 at once instead of queueing.
    #[serde(default = "default_concurrent_logins")]
    pub max_concurrent_logins: usize,
    /// Lock-out policy.
    #[serde(default)]
    pub lockout: Lockout,
    /// Most documents of each kind kept in the in-memory index (the pages' cache; the
    /// database holds every one).
    #[serde(default = "default_index_docs")]
    pub max_index_docs: usize,
    /// The index's database: `sqlite://PATH` (a relative path is taken from the config's
    /// folder; [`ExplorerConfig::load`] defaults to `explorer.db` there) or
    /// `postgres://...`. `None` (programmatic configs): an in-memory SQLite database.
    #[serde(default)]
    pub database: Option<String>,
    /// Optional genesis.json whose validator set the browser verifies certificates
    /// against; without it the node's reported validator set is used (and the page says so).
    #[serde(default)]
    pub genesis: Option<std::path::PathBuf>,
    /// For an `https://` node: the CA certificate(s) (PEM) its certificate must chain
    /// to; without it, the system's trust store.
    #[serde(default)]
    pub node_ca: Option<PathBuf>,
    /// A client certificate (PEM) for a node that requires one (`[api.tls] client_ca`).
    #[serde(default)]
    pub node_client_cert: Option<PathBuf>,
    /// Its private key (PEM).
    #[serde(default)]
    pub node_client_key: Option<PathBuf>,
    /// `[tls]`: serve HTTPS with these files instead of plain HTTP.
    #[serde(default)]
    pub tls: Option<ServeTls>,
    /// The rate the cost report (`/risk/cost`) compares suppliers' all-in cost with, in
    /// percent a year (`"3.45"`: e.g. the 1-year LPR plus the usual SME spread).
    #[serde(default)]
    pub reference_rate: Option<lianrong_contracts::money::Rate>,
    /// What the reference rate is, shown beside it (required with `reference_rate`).
    #[serde(default)]
    pub reference_label: Option<String>,
}

/// `[tls]`: the explorer serves HTTPS with a certificate chain and its key (PEM). The
/// files are read when it starts; a missing or wrong one stops it, named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeTls {
    /// The certificate chain served, leaf first.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
}

impl ExplorerConfig {
    /// A config with no accounts, for `node_url` read with `node_token`.
    pub fn new(node_url: impl Into<String>, node_token: impl Into<String>) -> Self {
        ExplorerConfig {
            listen: default_listen(),
            node_url: node_url.into(),
            node_token: node_token.into(),
            accounts: vec![],
            session_ttl_secs: default_ttl(),
            secure_cookies: true,
            max_concurrent_logins: default_concurrent_logins(),
            lockout: Lockout::default(),
            max_index_docs: default_index_docs(),
            database: None,
            genesis: None,
            node_ca: None,
            node_client_cert: None,
            node_client_key: None,
            tls: None,
            reference_rate: None,
            reference_label: None,
        }
    }

    /// The cost report's reference rate and label, if configured.
    pub fn reference(&self) -> Option<crate::pricing::Reference> {
        Some(crate::pricing::Reference {
            rate: self.reference_rate?,
            label: self.reference_label.clone()?,
        })
    }

    /// Reads and validates a TOML config; relative paths (`genesis`, the TLS files) are
    /// taken from the config's folder.
    pub fn load(path: &Path) -> Result<Self, ExplorerError> {
        let err = |reason: String| ExplorerError::Config {
            path: path.display().to_string(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
        if meta.len() > MAX_CONFIG_BYTES {
            return Err(err(format!("larger than {MAX_CONFIG_BYTES} bytes")));
        }
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        Self::parse(&text, path)
    }

    /// Parses and validates the text of the config at `path` (which only names the file
    /// in errors and anchors relative paths; nothing is read).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ExplorerError> {
        let err = |reason: String| ExplorerError::Config {
            path: path.display().to_string(),
            reason,
        };
        let mut cfg: ExplorerConfig = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let serve = cfg.tls.iter_mut().flat_map(|t| [&mut t.cert, &mut t.key]);
        let paths = [
            &mut cfg.genesis,
            &mut cfg.node_ca,
            &mut cfg.node_client_cert,
            &mut cfg.node_client_key,
        ];
        for p in paths.into_iter().flatten().chain(serve) {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        let db = cfg
            .database
            .take()
            .unwrap_or_else(|| DEFAULT_DATABASE.to_string());
        cfg.database = Some(anchor_sqlite(&db, base));
        cfg.validate().map_err(err)?;
        Ok(cfg)
    }

    /// Checks accounts are unique, org accounts name an org, and limits hold.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(db) = &self.database {
            crate::store::Backend::of(db).map_err(|e| e.to_string())?;
        }
        if self.accounts.len() > MAX_ACCOUNTS {
            return Err(format!("more than {MAX_ACCOUNTS} accounts"));
        }
        if !(self.node_url.starts_with("http://") || self.node_url.starts_with("https://")) {
            return Err(format!("node_url {:?} must be http(s)://", self.node_url));
        }
        let mut seen = std::collections::BTreeSet::new();
        for a in &self.accounts {
            if a.username.is_empty() || a.username.len() > 64 {
                return Err("usernames must be 1-64 characters".into());
            }
            if !seen.insert(a.username.as_str()) {
                return Err(format!("account {:?} listed twice", a.username));
            }
            if a.role == AccountRole::Org && a.org.as_deref().is_none_or(str::is_empty) {
                return Err(format!("account {:?} has role org but no org", a.username));
            }
            if let Some(org) = &a.org {
                lianrong_primitives::OrgId::new(org.as_str())
                    .map_err(|e| format!("account {:?}: org {org:?}: {e}", a.username))?;
            }
            if !a.password_hash.starts_with("$argon2") {
                return Err(format!(
                    "account {:?}: password_hash must be an argon2 PHC string",
                    a.username
                ));
            }
        }
        if self.session_ttl_secs == 0
            || self.lockout.max_failures == 0
            || self.lockout.max_address_failures == 0
        {
            return Err("session_ttl_secs, lockout.max_failures and lockout.max_address_failures must be positive".into());
        }
        if self.node_client_cert.is_some() != self.node_client_key.is_some() {
            return Err("node_client_cert and node_client_key go together".into());
        }
        if self.reference_rate.is_some() != self.reference_label.is_some() {
            return Err("reference_rate and reference_label go together (the label says what the rate is, e.g. \"1-year LPR 3.00 + SME spread 0.45\")".into());
        }
        if self.reference_label.as_ref().is_some_and(|l| {
            l.trim().is_empty() || l.chars().count() > crate::pricing::MAX_REFERENCE_LABEL
        }) {
            return Err(format!(
                "reference_label must be 1-{} characters",
                crate::pricing::MAX_REFERENCE_LABEL
            ));
        }
        if !(1..=MAX_CONCURRENT_LOGINS).contains(&self.max_concurrent_logins) {
            return Err(format!(
                "max_concurrent_logins must be 1-{MAX_CONCURRENT_LOGINS}"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_a_config_and_refuses_bad_ones() {
        let dir = std::env::temp_dir().join(format!("explorer-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("explorer.toml");
        let hash = crate::hash_password("pw");
        std::fs::write(
            &p,
            format!(
                "listen = \"127.0.0.1:0\"\nnode_url = \"http://127.0.0.1:1\"\nnode_token = \"t\"\n\
                 genesis = \"genesis.json\"\n\
                 [[accounts]]\nusername = \"a\"\npassword_hash = \"{hash}\"\nrole = \"auditor\"\n\
                 [[accounts]]\nusername = \"s\"\npassword_hash = \"{hash}\"\nrole = \"org\"\norg = \"SUP-1\"\n"
            ),
        )
        .unwrap();
        let c = ExplorerConfig::load(&p).unwrap();
        assert_eq!(c.accounts.len(), 2);
        assert_eq!(c.accounts[1].role, AccountRole::Org);
        assert_eq!(c.genesis, Some(dir.join("genesis.json")));
        assert_eq!(c.lockout, Lockout::default());
        assert_eq!(c.lockout.max_address_failures, 50);
        assert_eq!(c.max_concurrent_logins, 2, "a sane default");
        let next_to_it = format!("sqlite://{}", dir.join("explorer.db").display());
        assert_eq!(
            c.database.as_deref(),
            Some(next_to_it.as_str()),
            "nothing to set up"
        );
        assert_eq!(
            anchor_sqlite("sqlite://data/e.db?mode=rwc", Path::new("/etc/x")),
            "sqlite:///etc/x/data/e.db?mode=rwc"
        );
        for kept in ["sqlite:///var/e.db", "postgres://u@h/db", "sqlite::memory:"] {
            assert_eq!(anchor_sqlite(kept, Path::new("/etc/x")), kept);
        }
        let mut other = c.clone();
        other.database = Some("mysql://h/db".into());
        assert!(other
            .validate()
            .unwrap_err()
            .contains("sqlite: or postgres://"));

        let mut bad = c.clone();
        bad.accounts[1].org = None;
        assert!(bad.validate().is_err());
        let mut bad = c.clone();
        bad.accounts.push(c.accounts[0].clone());
        assert!(bad.validate().is_err());
        let mut bad = c.clone();
        bad.max_concurrent_logins = 0;
        assert!(bad.validate().is_err());
        let mut bad = c.clone();
        bad.max_concurrent_logins = MAX_CONCURRENT_LOGINS + 1;
        assert!(bad.validate().is_err());
        let mut bad = c.clone();
        bad.lockout.max_address_failures = 0;
        assert!(bad.validate().is_err());
        let mut bad = c;
        bad.accounts[0].password_hash = "plain".into();
        assert!(bad.validate().is_err());
    }

    #[test]
    fn tls_paths_are_anchored_and_a_lone_client_certificate_is_refused() {
        let path = Path::new("/etc/explorer/explorer.toml");
        let base = "node_url = \"https://127.0.0.1:1\"\nnode_token = \"t\"\n";
        let plain = ExplorerConfig::parse(base, path).unwrap();
        assert_eq!((plain.tls, plain.node_ca), (None, None));
        let text = format!(
            "{base}node_ca = \"tls/ca.pem\"\nnode_client_cert = \"/pki/c.pem\"\n\
             node_client_key = \"c-key.pem\"\n[tls]\ncert = \"e.pem\"\nkey = \"e-key.pem\"\n"
        );
        let c = ExplorerConfig::parse(&text, path).unwrap();
        let dir = Path::new("/etc/explorer");
        assert_eq!(c.node_ca, Some(dir.join("tls/ca.pem")));
        assert_eq!(c.node_client_cert, Some(PathBuf::from("/pki/c.pem")));
        assert_eq!(c.node_client_key, Some(dir.join("c-key.pem")));
        let written = toml::to_string(&c).unwrap();
        assert_eq!(ExplorerConfig::parse(&written, path).unwrap(), c);
        let tls = c.tls.unwrap();
        assert_eq!(
            (tls.cert, tls.key),
            (dir.join("e.pem"), dir.join("e-key.pem"))
        );

        let lone = format!("{base}node_client_cert = \"c.pem\"\n");
        let err = ExplorerConfig::parse(&lone, path).unwrap_err().to_string();
        assert!(err.contains("node_client_key"), "{err}");
        let typo = format!("{base}[tls]\ncert = \"e.pem\"\nkey = \"k\"\nca = \"x\"\n");
        let err = ExplorerConfig::parse(&typo, path).unwrap_err().to_string();
        assert!(err.contains("ca"), "{err}");
    }

    #[test]
    fn a_reference_rate_needs_its_label_and_a_valid_rate() {
        let path = Path::new("/etc/explorer/explorer.toml");
        let base = "node_url = \"http://127.0.0.1:1\"\nnode_token = \"t\"\n";
        let c = ExplorerConfig::parse(
            &format!("{base}reference_rate = \"3.45\"\nreference_label = \"1-year LPR 3.00 + SME spread 0.45\"\n"),
            path,
        )
        .unwrap();
        let r = c.reference().unwrap();
        assert_eq!(r.rate.percent().to_string(), "3.45");
        assert_eq!(r.label, "1-year LPR 3.00 + SME spread 0.45");
        assert_eq!(ExplorerConfig::parse(base, path).unwrap().reference(), None);
        let alone = format!("{base}reference_rate = \"3.45\"\n");
        let err = ExplorerConfig::parse(&alone, path).unwrap_err().to_string();
        assert!(err.contains("reference_label"), "{err}");
        let bad = format!("{base}reference_rate = \"three\"\nreference_label = \"LPR\"\n");
        let err = ExplorerConfig::parse(&bad, path).unwrap_err().to_string();
        assert!(err.contains("rate"), "{err}");
    }
}
