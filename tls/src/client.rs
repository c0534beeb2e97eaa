//! A client's TLS config: whom it trusts and what it presents.

use std::path::Path;
use std::sync::Arc;

use rustls::ClientConfig;

use crate::pem::{load_certs, load_key, root_store, PemKind};
use crate::{provider, TlsError};

/// A client config. With `ca`, only servers whose certificate that CA (bundle) signed
/// are trusted -- a private network's own CA, not every CA the system knows. Without it,
/// the system's trust store decides (as for any https site). With `identity` (a
/// certificate chain and its key), the client presents it to servers that ask.
pub fn client_config(
    ca: Option<&Path>,
    identity: Option<(&Path, &Path)>,
) -> Result<ClientConfig, TlsError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(format!("TLS versions: {e}")))?;
    let builder = match ca {
        Some(ca) => builder.with_root_certificates(root_store(PemKind::ServerCa, ca)?),
        None => {
            let verifier = rustls_platform_verifier::Verifier::new(provider())
                .map_err(|e| TlsError::Config(format!("the system's trust store: {e}")))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
        }
    };
    match identity {
        None => Ok(builder.with_no_client_auth()),
        Some((cert, key)) => {
            let chain = load_certs(PemKind::ClientCertificate, cert)?;
            let private = load_key(PemKind::ClientKey, key)?;
            builder
                .with_client_auth_cert(chain, private)
                .map_err(|e| TlsError::File {
                    kind: PemKind::ClientKey,
                    path: key.into(),
                    reason: format!("does not serve the certificate {}: {e}", cert.display()),
                })
        }
    }
}
