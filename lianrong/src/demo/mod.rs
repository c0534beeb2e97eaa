//! `lianrong demo`: the supply-chain finance story on an embedded 4-validator network
//! (real libp2p on loopback, RocksDB in a temporary folder), played through the SDK.

pub mod network;
pub mod story;

pub use network::DemoNetwork;

/// Starts the network and plays the story. Returns the running network (for serving
/// the explorer) and the story's verdict.
pub async fn run(
    dir: Option<std::path::PathBuf>,
) -> anyhow::Result<(DemoNetwork, anyhow::Result<()>)> {
    println!("LianRong demo: four validators (BANK-A, CORE-A, CORE-B, LOGI) on loopback.");
    let net = DemoNetwork::start(dir).await?;
    for n in &net.nodes {
        println!("  {:<10} API {}", n.name, n.api);
    }
    println!("  keys and tokens: {}\n", net.dir.join("keys").display());
    let verdict = story::play(&net).await;
    Ok((net, verdict))
}

/// Demo explorer accounts: (user name, password, role, org). Printed by the demo; they
/// exist only in the demo process.
pub const DEMO_ACCOUNTS: &[(&str, &str, lianrong_explorer::AccountRole, Option<&str>)] = &[
    (
        "auditor",
        "audit-demo",
        lianrong_explorer::AccountRole::Auditor,
        None,
    ),
    (
        "bank-a",
        "bank-demo",
        lianrong_explorer::AccountRole::Bank,
        Some("BANK-A"),
    ),
    (
        "sup-3",
        "supplier-demo",
        lianrong_explorer::AccountRole::Org,
        Some("SUP-3"),
    ),
];

/// The explorer over the demo network's first validator (auditor token), with the demo
/// accounts, on `port` of localhost (0 picks a free one).
pub async fn explorer(net: &DemoNetwork, port: u16) -> anyhow::Result<lianrong_explorer::Explorer> {
    let node = net
        .nodes
        .first()
        .ok_or_else(|| anyhow::anyhow!("the demo network has no node"))?;
    let mut cfg = lianrong_explorer::ExplorerConfig::new(node.api.clone(), net.token("AUDIT")?);
    cfg.listen = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    cfg.genesis = Some(net.genesis());
    // The index's SQLite database in the demo's folder: nothing to set up, gone with it.
    // The network is new every run, so an earlier run's index (same chain id, another
    // chain) is removed first.
    for stale in ["explorer.db", "explorer.db-wal", "explorer.db-shm"] {
        let _ = std::fs::remove_file(net.dir.join(stale));
    }
    let db = lianrong_explorer::config::DEFAULT_DATABASE;
    cfg.database = Some(lianrong_explorer::config::anchor_sqlite(db, &net.dir));
    cfg.accounts = DEMO_ACCOUNTS
        .iter()
        .map(|(user, password, role, org)| lianrong_explorer::Account {
            username: (*user).into(),
            password_hash: lianrong_explorer::hash_password(password),
            role: *role,
            org: org.map(String::from),
        })
        .collect();
    let e = lianrong_explorer::bind(cfg).await?;
    // Browsers keep Secure cookies over plain http only for "localhost".
    println!(
        "\nExplorer: http://localhost:{}  (Ctrl-C stops the network)",
        e.local_addr().port()
    );
    for (user, password, role, org) in DEMO_ACCOUNTS {
        println!(
            "  log in as {user} / {password}  ({role:?}{})",
            org.map(|o| format!(" of {o}")).unwrap_or_default()
        );
    }
    Ok(e)
}
