//! TLS on both sides of the explorer: it serves HTTPS when its config has `[tls]`, and
//! reaches an `https://` node trusting `node_ca` (presenting `node_client_cert` when the
//! node requires a client certificate).

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;
use axum::serve::ListenerExt;
use axum::Router;
use lianrong_sdk::{Auth, Client, ClientOptions, TlsFiles};
use lianrong_tls::TlsListener;
use tokio::net::TcpListener;

use crate::config::ExplorerConfig;

/// The bound listen address, plain or TLS.
pub(crate) enum Listening {
    Plain(TcpListener),
    Tls(TlsListener),
}

/// Binds the configured address, with TLS when the config has `[tls]`; a bad TLS file
/// is an error naming it.
pub(crate) async fn listen(config: &ExplorerConfig) -> anyhow::Result<(Listening, SocketAddr)> {
    // The files first: a wrong path fails before the port is taken.
    let tls = match &config.tls {
        Some(t) => Some(lianrong_tls::server_config(&t.cert, &t.key, None).context("[tls]")?),
        None => None,
    };
    let tcp = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listen {}", config.listen))?;
    let addr = tcp.local_addr()?;
    Ok(match tls {
        Some(tls) => (Listening::Tls(TlsListener::new(tcp, tls.config)?), addr),
        None => (Listening::Plain(tcp), addr),
    })
}

/// Serves `router` until `shutdown`, each request knowing its client's address.
pub(crate) async fn serve(
    listening: Listening,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The peer address feeds the per-address login limits (behind a reverse proxy it is
    // the proxy's: see README).
    let app = router.into_make_service_with_connect_info::<SocketAddr>();
    match listening {
        Listening::Plain(l) => axum::serve(l, app).with_graceful_shutdown(shutdown).await,
        // Through `tap_io`, which changes nothing, because axum gives `ConnectInfo` the
        // peer address of its own listeners and of tapped ones only.
        Listening::Tls(l) => {
            axum::serve(l.tap_io(|_| {}), app)
                .with_graceful_shutdown(shutdown)
                .await
        }
    }
}

/// The SDK client of the configured node, with its token and TLS settings.
pub(crate) fn node_client(config: &ExplorerConfig) -> anyhow::Result<Client> {
    let files = TlsFiles {
        ca: config.node_ca.clone(),
        client_cert: config.node_client_cert.clone(),
        client_key: config.node_client_key.clone(),
    };
    let opts = ClientOptions {
        tls: Some(
            files
                .load()
                .context("node TLS (node_ca, node_client_cert, node_client_key)")?,
        ),
        ..ClientOptions::default()
    };
    Ok(Client::with_options(
        &config.node_url,
        Auth::Token(config.node_token.clone()),
        opts,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::ConnectInfo;
    use axum::routing::get;
    use axum::Json;
    use lianrong_tls::issue::LocalCa;

    #[tokio::test]
    async fn serves_https_with_client_addresses_and_names_a_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let at = |f: &str| dir.path().join(f);
        let ca = LocalCa::new("test CA").unwrap();
        std::fs::write(at("ca.pem"), ca.cert_pem()).unwrap();
        let issued = ca.server("explorer", &["127.0.0.1".into()]).unwrap();
        issued.write(&at("e.pem"), &at("e-key.pem")).unwrap();
        let mut config = ExplorerConfig::new("http://127.0.0.1:1", "t");
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.tls = Some(crate::ServeTls {
            cert: at("missing.pem"),
            key: at("e-key.pem"),
        });
        let err = format!("{:#}", listen(&config).await.err().unwrap());
        assert!(err.contains(&*at("missing.pem").to_string_lossy()), "{err}");

        config.tls = Some(crate::ServeTls {
            cert: at("e.pem"),
            key: at("e-key.pem"),
        });
        let (listening, addr) = listen(&config).await.unwrap();
        assert!(matches!(listening, Listening::Tls(_)));
        let router = Router::new().route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
                Json(serde_json::json!({"peer": peer.ip().to_string()}))
            }),
        );
        tokio::spawn(serve(listening, router, std::future::pending()));
        // The explorer's own node client, pointed at itself, trusts the CA it is given.
        config.node_url = format!("https://{addr}");
        config.node_ca = Some(at("ca.pem"));
        let client = node_client(&config).unwrap();
        let v: serde_json::Value = client.get_json("/peer").await.unwrap();
        assert_eq!(v["peer"], "127.0.0.1");
        config.node_ca = None;
        let err = node_client(&config)
            .unwrap()
            .get_json::<serde_json::Value>("/peer")
            .await
            .unwrap_err();
        assert!(matches!(err, lianrong_sdk::SdkError::Tls { .. }), "{err}");
    }
}
