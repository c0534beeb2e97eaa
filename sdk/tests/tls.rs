//! The client against a mock node over HTTPS: it trusts the CA it is given (and not the
//! system's store in its place), a handshake failure is a typed, non-retried error that
//! says whom the client trusted, and a client certificate is presented when given.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use lianrong_sdk::{Auth, Client, ClientOptions, SdkError, TlsFiles, TlsOptions};
use lianrong_tls::issue::LocalCa;
use serde_json::{json, Value};

struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let at = |f: &str| dir.path().join(f);
        let ca = LocalCa::new("test CA").unwrap();
        std::fs::write(at("ca.pem"), ca.cert_pem()).unwrap();
        let server = ca.server("node", &["127.0.0.1".into()]).unwrap();
        server.write(&at("node.pem"), &at("node-key.pem")).unwrap();
        let client = ca.client("client").unwrap();
        client
            .write(&at("client.pem"), &at("client-key.pem"))
            .unwrap();
        Pki { dir }
    }

    fn at(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }

    /// A mock node answering `GET /v1/ping` over HTTPS; with `client_ca`, only to
    /// clients with a certificate of this CA.
    async fn serve(&self, client_ca: bool) -> String {
        let ca = self.at("ca.pem");
        let tls = lianrong_tls::server_config(
            &self.at("node.pem"),
            &self.at("node-key.pem"),
            client_ca.then_some(ca.as_path()),
        )
        .unwrap();
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let listener = lianrong_tls::TlsListener::new(tcp, tls.config).unwrap();
        let app = Router::new().route("/v1/ping", get(|| async { Json(json!({"pong": 1})) }));
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("https://{addr}")
    }

    fn client(&self, url: &str, tls: Option<TlsOptions>) -> Client {
        let opts = ClientOptions {
            timeout: Duration::from_secs(5),
            retries: 3,
            backoff: Duration::from_secs(2),
            tls,
            ..ClientOptions::default()
        };
        Client::with_options(url, Auth::Token("t".into()), opts).unwrap()
    }
}

async fn ping(c: &Client) -> Result<Value, SdkError> {
    c.get_json("/v1/ping").await
}

#[tokio::test]
async fn a_client_trusts_only_the_given_ca_and_presents_its_certificate() {
    let pki = Pki::new();
    let url = pki.serve(false).await;
    let files = TlsFiles {
        ca: Some(pki.at("ca.pem")),
        ..TlsFiles::default()
    };
    let ok = pki.client(&url, Some(files.load().unwrap()));
    assert_eq!(ping(&ok).await.unwrap()["pong"], 1);

    // Without the CA: refused at once (a certificate error is not retried: 3 retries
    // with 2 s back-off would take 14 s), naming whom the client trusted.
    let start = std::time::Instant::now();
    let err = ping(&pki.client(&url, None)).await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(2), "{err}");
    assert!(matches!(err, SdkError::Tls { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("certificate"), "{text}");
    assert!(text.contains("the system's trust store"), "{text}");

    // A node that requires client certificates lets in only a client that has one.
    let url = pki.serve(true).await;
    let err = ping(&pki.client(&url, Some(files.load().unwrap())))
        .await
        .unwrap_err();
    assert!(matches!(err, SdkError::Tls { .. }), "{err:?}");
    let with_cert = TlsFiles {
        client_cert: Some(pki.at("client.pem")),
        client_key: Some(pki.at("client-key.pem")),
        ..files.clone()
    };
    let ok = pki.client(&url, Some(with_cert.load().unwrap()));
    assert_eq!(ping(&ok).await.unwrap()["pong"], 1);
}

#[test]
fn bad_tls_files_are_named_and_half_an_identity_is_refused() {
    let pki = Pki::new();
    let missing = pki.at("nope.pem");
    let err = TlsFiles {
        ca: Some(missing.clone()),
        ..TlsFiles::default()
    }
    .load()
    .unwrap_err()
    .to_string();
    assert!(err.contains(&*missing.to_string_lossy()), "{err}");
    let err = TlsFiles {
        client_cert: Some(pki.at("client.pem")),
        ..TlsFiles::default()
    }
    .load()
    .unwrap_err()
    .to_string();
    assert!(err.contains("--client-key"), "{err}");
    // A certificate where its key belongs.
    let err = TlsFiles {
        client_cert: Some(pki.at("client.pem")),
        client_key: Some(pki.at("client.pem")),
        ..TlsFiles::default()
    }
    .load()
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("client private key") && err.contains("no private key"),
        "{err}"
    );
}
