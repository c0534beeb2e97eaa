//! PEM files: read with a size bound, decoded with rustls-pki-types, and every failure
//! reported with the file and what it should have held.

use std::fmt;
use std::path::Path;

use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::TlsError;

/// Largest PEM file read: a certificate chain or a CA bundle is a few KiB, so a larger
/// file is a mistake (a wrong path), not something to load into memory.
const MAX_PEM_BYTES: u64 = 1 << 20;

/// What a PEM file should hold; names the file's role in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PemKind {
    /// A server's certificate chain (leaf first).
    Certificate,
    /// The private key of a certificate.
    PrivateKey,
    /// CA certificates a server is checked against.
    ServerCa,
    /// CA certificates a client certificate is checked against.
    ClientCa,
    /// A client's certificate chain.
    ClientCertificate,
    /// The private key of a client certificate.
    ClientKey,
}

impl fmt::Display for PemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PemKind::Certificate => "TLS certificate",
            PemKind::PrivateKey => "TLS private key",
            PemKind::ServerCa => "CA certificate",
            PemKind::ClientCa => "client CA certificate",
            PemKind::ClientCertificate => "client certificate",
            PemKind::ClientKey => "client private key",
        })
    }
}

fn file_error(kind: PemKind, path: &Path, reason: impl Into<String>) -> TlsError {
    TlsError::File {
        kind,
        path: path.into(),
        reason: reason.into(),
    }
}

fn read(kind: PemKind, path: &Path) -> Result<Vec<u8>, TlsError> {
    let meta = std::fs::metadata(path).map_err(|e| file_error(kind, path, e.to_string()))?;
    if !meta.is_file() {
        return Err(file_error(kind, path, "is not a file"));
    }
    if meta.len() > MAX_PEM_BYTES {
        return Err(file_error(
            kind,
            path,
            format!("is larger than {MAX_PEM_BYTES} bytes: not a PEM certificate or key"),
        ));
    }
    std::fs::read(path).map_err(|e| file_error(kind, path, e.to_string()))
}

/// Every certificate of a PEM file (a chain, leaf first, or a CA bundle); at least one.
pub fn load_certs(kind: PemKind, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(kind, path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(kind, path, format!("is not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(file_error(
            kind,
            path,
            "holds no certificate (expected a -----BEGIN CERTIFICATE----- block)",
        ));
    }
    Ok(certs)
}

/// The private key of a PEM file (PKCS#8, PKCS#1 RSA or SEC1 EC).
pub fn load_key(kind: PemKind, path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(kind, path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => file_error(
            kind,
            path,
            "holds no private key (expected a -----BEGIN PRIVATE KEY----- block, or an RSA \
             or EC one)",
        ),
        e => file_error(kind, path, format!("is not valid PEM: {e}")),
    })
}

/// The CA certificates of a PEM file as trust anchors.
pub fn root_store(kind: PemKind, path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(kind, path)? {
        roots
            .add(cert)
            .map_err(|e| file_error(kind, path, format!("is not a usable CA certificate: {e}")))?;
    }
    Ok(roots)
}
