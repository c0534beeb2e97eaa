//! Serving the API: plain HTTP, or HTTPS with rustls when the config has `[api.tls]`
//! (optionally refusing clients without a certificate of `client_ca`).

use anyhow::{Context, Result};
use lianrong_tls::{ServerTls, TlsListener};

use super::metrics::Metrics;
use super::{router, AppState};
use crate::config::NodeConfig;

/// The API's TLS set-up from `[api.tls]` (`None`: plain HTTP). Records the served
/// certificate's expiry in `metrics`; a bad or missing file is an error naming it.
pub fn load(config: &NodeConfig, metrics: &Metrics) -> Result<Option<ServerTls>> {
    let Some(tls) = &config.api.tls else {
        return Ok(None);
    };
    let loaded = lianrong_tls::server_config(&tls.cert, &tls.key, tls.client_ca.as_deref())
        .context("[api.tls]")?;
    match loaded.not_after {
        Some(not_after) => {
            metrics.set_tls_certificate_expiry(not_after);
            let now = super::now_ms() / 1000;
            if i64::try_from(now).is_ok_and(|now| now >= not_after) {
                tracing::warn!(cert = %tls.cert.display(), "the API's TLS certificate has expired");
            }
        }
        None => tracing::warn!(
            cert = %tls.cert.display(),
            "could not read the API certificate's expiry date: no expiry metric"
        ),
    }
    Ok(Some(loaded))
}

/// Binds the API's listen address (an error if taken, or if `[api.tls]` names a bad
/// file) and serves it in the background.
pub async fn serve(config: &NodeConfig, app: AppState) -> Result<tokio::task::JoinHandle<()>> {
    let tls = load(config, &app.metrics)?;
    let listener = tokio::net::TcpListener::bind(config.api.listen)
        .await
        .with_context(|| format!("API listen {}", config.api.listen))?;
    tracing::info!(
        api = %config.api.listen,
        https = tls.is_some(),
        client_certificates = tls.as_ref().is_some_and(|t| t.client_auth),
        p2p = %config.p2p.listen,
        node = %config.node.name,
        "node started"
    );
    let router = router(app);
    Ok(tokio::spawn(async move {
        let served = match tls {
            None => axum::serve(listener, router).await,
            Some(tls) => match TlsListener::new(listener, tls.config) {
                Ok(listener) => axum::serve(listener, router).await,
                Err(e) => Err(e),
            },
        };
        if let Err(e) = served {
            tracing::error!(error = %e, "API server stopped");
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_certificate_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let text = "[node]\nname = \"t\"\ndata_dir = \"db\"\nnode_key = \"k\"\ngenesis = \"g\"\n\
                    [p2p]\nlisten = \"/ip4/127.0.0.1/tcp/1\"\n[api]\nlisten = \"127.0.0.1:1\"\n\
                    [api.tls]\ncert = \"tls/node.pem\"\nkey = \"tls/node-key.pem\"\n";
        let config = NodeConfig::parse(text, &path).unwrap();
        let metrics = Metrics::default();
        let err = format!("{:#}", load(&config, &metrics).unwrap_err());
        let cert = dir.path().join("tls/node.pem");
        assert!(err.starts_with("[api.tls]: TLS certificate"), "{err}");
        assert!(err.contains(&*cert.to_string_lossy()), "{err}");
        assert!(err.contains("No such file"), "{err}");

        let plain = NodeConfig::parse(text.split("[api.tls]").next().unwrap(), &path).unwrap();
        assert!(load(&plain, &metrics).unwrap().is_none());
    }
}
