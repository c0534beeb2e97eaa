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
