//! A server's TLS config from PEM files.

use std::path::Path;
use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::ServerConfig;

use crate::pem::{load_certs, load_key, root_store, PemKind};
use crate::{provider, TlsError};

/// A server's TLS config and what it serves.
#[derive(Debug, Clone)]
pub struct ServerTls {
    /// The rustls config (for [`crate::TlsListener`]).
    pub config: Arc<ServerConfig>,
    /// When the served certificate expires (its `notAfter`, Unix seconds), if it could
    /// be read.
    pub not_after: Option<i64>,
    /// Whether clients must present a certificate signed by the client CA.
    pub client_auth: bool,
}

/// The config serving the chain in `cert` (leaf first) with the private key in `key`.
/// With `client_ca`, a client must present a certificate signed by one of its CAs, or
/// the handshake fails; without it, clients present none.
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<ServerTls, TlsError> {
    let chain = load_certs(PemKind::Certificate, cert)?;
    let private = load_key(PemKind::PrivateKey, key)?;
    let not_after = chain.first().and_then(|c| crate::not_after(c));
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(format!("TLS versions: {e}")))?;
    let builder = match client_ca {
        Some(ca) => {
            let roots = root_store(PemKind::ClientCa, ca)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider())
                .build()
                .map_err(|e| TlsError::File {
                    kind: PemKind::ClientCa,
                    path: ca.into(),
                    reason: format!("cannot verify clients with it: {e}"),
                })?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    // rustls checks here that the key is the certificate's.
    let mut config = builder
        .with_single_cert(chain, private)
        .map_err(|e| TlsError::File {
            kind: PemKind::PrivateKey,
            path: key.into(),
            reason: format!("does not serve the certificate {}: {e}", cert.display()),
        })?;
    // axum serves HTTP/1.1 here (it is built without HTTP/2).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(ServerTls {
        config: Arc::new(config),
        not_after,
        client_auth: client_ca.is_some(),
    })
}
