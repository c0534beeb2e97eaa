//! PEM errors name their file; an HTTPS axum server over `TlsListener` lets in clients
//! that trust its CA (and, when it asks, present a certificate of its client CA) and
//! nobody else.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lianrong_tls::issue::LocalCa;
use lianrong_tls::{client_config, server_config, PemKind, TlsError, TlsListener};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca = LocalCa::new("test CA").unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.cert_pem()).unwrap();
        let at = |f: &str| dir.path().join(f);
        let hosts = ["127.0.0.1".to_string(), "localhost".to_string()];
        let server = ca.server("node", &hosts).unwrap();
        server
            .write(&at("server.pem"), &at("server-key.pem"))
            .unwrap();
        let client = ca.client("client").unwrap();
        client
            .write(&at("client.pem"), &at("client-key.pem"))
            .unwrap();
        // Another CA, which a client must not take for this one.
        let other = LocalCa::new("other CA").unwrap();
        std::fs::write(at("other-ca.pem"), other.cert_pem()).unwrap();
        Pki { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn reason(e: TlsError, kind: PemKind, path: &Path) -> String {
    match e {
        TlsError::File {
            kind: k,
            path: p,
            reason,
        } if k == kind && p == path => reason,
        other => panic!("expected a {kind} error on {}, got {other}", path.display()),
    }
}

#[test]
fn a_bad_pem_file_is_named_with_what_is_wrong() {
    let pki = Pki::new();
    let (cert, key) = (pki.path("server.pem"), pki.path("server-key.pem"));
    let missing = pki.path("missing.pem");
    let e = server_config(&missing, &key, None).unwrap_err();
    assert!(e.to_string().contains(&*missing.to_string_lossy()), "{e}");
    assert!(e.to_string().starts_with("TLS certificate"), "{e}");
    assert!(reason(e, PemKind::Certificate, &missing).contains("No such file"));

    // A key where the certificate belongs, and the other way round.
    let r = reason(
        server_config(&key, &key, None).unwrap_err(),
        PemKind::Certificate,
        &key,
    );
    assert!(r.contains("no certificate"), "{r}");
    let r = reason(
        server_config(&cert, &cert, None).unwrap_err(),
        PemKind::PrivateKey,
        &cert,
    );
    assert!(r.contains("no private key"), "{r}");
    // Another certificate's key.
    let client_key = pki.path("client-key.pem");
    let r = reason(
        server_config(&cert, &client_key, None).unwrap_err(),
        PemKind::PrivateKey,
        &client_key,
    );
    assert!(r.contains("does not serve the certificate"), "{r}");
    // Broken PEM and a folder.
    let broken = pki.path("broken.pem");
    std::fs::write(&broken, "-----BEGIN CERTIFICATE-----\nnot base64!\n").unwrap();
    let r = reason(
        server_config(&broken, &key, None).unwrap_err(),
        PemKind::Certificate,
        &broken,
    );
    assert!(r.contains("not valid PEM"), "{r}");
    let dir = pki.dir.path().to_path_buf();
    let e = server_config(&cert, &key, Some(&dir)).unwrap_err();
    assert!(reason(e, PemKind::ClientCa, &dir).contains("not a file"));
    let e = client_config(Some(&missing), None).unwrap_err();
    assert!(reason(e, PemKind::ServerCa, &missing).contains("No such file"));
    let ok = server_config(&cert, &key, Some(&pki.path("ca.pem"))).unwrap();
    assert!(ok.client_auth && ok.not_after.is_some());
}

/// Serves "hello" over HTTPS on a free port; returns its port.
async fn serve(pki: &Pki, client_ca: bool) -> u16 {
    let ca = pki.path("ca.pem");
    let tls = server_config(
        &pki.path("server.pem"),
        &pki.path("server-key.pem"),
        client_ca.then_some(ca.as_path()),
    )
    .unwrap();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listener = TlsListener::new(tcp, tls.config).unwrap();
    let port = axum::serve::Listener::local_addr(&listener).unwrap().port();
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

/// GET / over TLS with `config`: the body, or the error.
async fn get(port: u16, config: rustls::ClientConfig) -> Result<String, String> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    tls.write_all(b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    tls.read_to_string(&mut answer)
        .await
        .map_err(|e| e.to_string())?;
    Ok(answer)
}

#[tokio::test]
async fn only_clients_trusting_the_ca_get_in_and_client_certificates_are_enforced() {
    let pki = Pki::new();
    let ca = pki.path("ca.pem");
    let port = serve(&pki, false).await;
    let answer = get(port, client_config(Some(&ca), None).unwrap()).await;
    assert!(answer.unwrap().ends_with("hello"));
    // The system's trust store and another CA do not know this server.
    for other in [None, Some(pki.path("other-ca.pem"))] {
        let err = get(port, client_config(other.as_deref(), None).unwrap())
            .await
            .unwrap_err();
        assert!(err.contains("certificate"), "{err}");
    }

    let port = serve(&pki, true).await;
    let identity = (pki.path("client.pem"), pki.path("client-key.pem"));
    let with = client_config(Some(&ca), Some((&identity.0, &identity.1))).unwrap();
    assert!(get(port, with).await.unwrap().ends_with("hello"));
    let err = get(port, client_config(Some(&ca), None).unwrap())
        .await
        .unwrap_err();
    assert!(err.to_lowercase().contains("certificate"), "{err}");
}
