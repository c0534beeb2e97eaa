//! A dishonest node: an HTTP proxy in front of a real node that forwards every request
//! and, when told to, lies in its answers the ways a compromised node could -- each lie
//! built from genuine parts (real certificates, real proofs), so only a verifier that
//! trusts nothing but the genesis file catches it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use lianrong_api_types::{BlockView, ProofResponse, ProofSubject};
use lianrong_contracts::merkle::DocLeaf;
use lianrong_primitives::Hash;

/// How the proxy lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lie {
    /// Forwards answers unchanged.
    Honest,
    /// A document proof whose value is changed, under the genuine header and certificate.
    ForgedValue,
    /// A document proof of the document `id` (a real proof of another key) relabelled as
    /// the one asked for.
    OtherKey {
        /// The document actually proven.
        id: String,
    },
    /// A block below the certified one with a foreign hash: its header altered (and its
    /// hash recomputed), certified "through" the genuine headers and certificate of the
    /// blocks above.
    ForeignBlockBelow,
    /// A document proof against the root of another height: the value and Merkle proof
    /// recorded from an earlier honest answer, under the current genuine header.
    StaleRoot,
}

struct Shared {
    upstream: String,
    lie: Lie,
    /// The first honest proof answer per path, for [`Lie::StaleRoot`].
    recorded: HashMap<String, ProofResponse>,
}

/// The proxy; stops when dropped.
pub struct DishonestNode {
    /// Where clients reach it (`http://127.0.0.1:PORT`).
    pub url: String,
    shared: Arc<Mutex<Shared>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DishonestNode {
    /// Starts a proxy in front of the node API at `upstream`, honest at first.
    pub fn start(upstream: &str) -> DishonestNode {
        let shared = Arc::new(Mutex::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            lie: Lie::Honest,
            recorded: HashMap::new(),
        }));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = shared.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(forward).with_state(state);
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        DishonestNode {
            url,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// From now on, lie this way.
    pub fn lie(&self, lie: Lie) {
        self.shared.lock().unwrap().lie = lie;
    }
}

impl Drop for DishonestNode {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A request forwarded: method, path and query, the auth and content headers, the body.
fn upstream_call(
    upstream: &str,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> (u16, String) {
    let mut req = ureq::request(method.as_str(), &format!("{upstream}{path}"))
        .timeout(Duration::from_secs(20));
    for name in ["authorization", "content-type", "accept"] {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
            req = req.set(name, v);
        }
    }
    let res = if body.is_empty() {
        req.call()
    } else {
        req.send_bytes(body)
    };
    match res {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
        Err(e) => (502, e.to_string()),
    }
}

async fn forward(
    State(shared): State<Arc<Mutex<Shared>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string());
    let answer = tokio::task::spawn_blocking(move || {
        let (upstream, lie) = {
            let s = shared.lock().unwrap();
            (s.upstream.clone(), s.lie.clone())
        };
        let get = |p: &str| upstream_call(&upstream, &Method::GET, p, &headers, &[]);
        let (status, text) = upstream_call(&upstream, &method, &path, &headers, &body);
        if status != 200 {
            return (status, text);
        }
        (status, tell(&shared, &lie, &path, text, &get))
    })
    .await
    .unwrap_or((500, "proxy task failed".into()));
    let status = StatusCode::from_u16(answer.0).unwrap_or(StatusCode::BAD_GATEWAY);
    (status, [("content-type", "application/json")], answer.1).into_response()
}

/// The answer to give for `path` when the honest one is `text`.
fn tell(
    shared: &Mutex<Shared>,
    lie: &Lie,
    path: &str,
    text: String,
    get: &dyn Fn(&str) -> (u16, String),
) -> String {
    let is_proof = path.starts_with("/v1/proofs/");
    let block_height = path
        .strip_prefix("/v1/blocks/")
        .and_then(|h| h.parse::<u64>().ok());
    match (lie, is_proof, block_height) {
        (Lie::Honest, true, _) => {
            if let Ok(p) = serde_json::from_str::<ProofResponse>(&text) {
                let mut s = shared.lock().unwrap();
                s.recorded.entry(path.to_string()).or_insert(p);
            }
            text
        }
        (Lie::ForgedValue, true, _) => {
            let mut p: ProofResponse = serde_json::from_str(&text).unwrap();
            if let Some(v) = &p.value_hex {
                let mut bytes = hex::decode(v).unwrap();
                if let Some(last) = bytes.last_mut() {
                    *last ^= 1;
                }
                // The leaf the value shares with its document or head, forged to match.
                if let Some(leaf) = &p.leaf_hex {
                    let mut leaf = DocLeaf::decode(&hex::decode(leaf).unwrap()).unwrap();
                    match p.subject {
                        ProofSubject::Document => leaf.document = Some(bytes.clone()),
                        ProofSubject::History => leaf.history_head = Some(bytes.clone()),
                    }
                    p.leaf_hex = leaf.encode().map(hex::encode);
                }
                p.value_hex = Some(hex::encode(bytes));
            }
            serde_json::to_string(&p).unwrap()
        }
        (Lie::OtherKey { id }, true, _) => other_key(path, id, get),
        (Lie::StaleRoot, true, _) => {
            let fresh: ProofResponse = serde_json::from_str(&text).unwrap();
            let recorded = shared.lock().unwrap().recorded.get(path).cloned();
            let Some(old) = recorded else { return text };
            let stale = ProofResponse {
                header: fresh.header,
                certificate: fresh.certificate,
                epochs: fresh.epochs,
                ..old
            };
            serde_json::to_string(&stale).unwrap()
        }
        (Lie::ForeignBlockBelow, false, Some(h)) => foreign_block(h, text, get),
        _ => text,
    }
}

/// A genuine proof of document `id`, relabelled as the document `path` asks for.
fn other_key(path: &str, id: &str, get: &dyn Fn(&str) -> (u16, String)) -> String {
    let rest = path.trim_start_matches("/v1/proofs/");
    let (kind, asked) = rest.split_once('/').unwrap();
    let (asked, query) = asked.split_once('?').unwrap_or((asked, ""));
    let (_, text) = get(&format!("/v1/proofs/{kind}/{id}?{query}"));
    let mut p: ProofResponse = serde_json::from_str(&text).unwrap();
    p.id = asked.to_string();
    p.key = format!("doc/{kind}/{asked}");
    serde_json::to_string(&p).unwrap()
}

/// Block `h` with a foreign header, "final" through the genuine blocks above it.
fn foreign_block(h: u64, text: String, get: &dyn Fn(&str) -> (u16, String)) -> String {
    let mut b: BlockView = serde_json::from_str(&text).unwrap();
    let above = |k: u64| -> Option<BlockView> {
        let (status, t) = get(&format!("/v1/blocks/{k}"));
        (status == 200).then(|| serde_json::from_str(&t).unwrap())
    };
    let (Some(b1), Some(b2)) = (above(h + 1), above(h + 2)) else {
        return text;
    };
    b.header.payload_hash = Hash([0x66; 32]);
    b.hash = b.header.hash();
    b.commit_certificate = b2.commit_certificate;
    b.descendants = vec![b1.header, b2.header];
    serde_json::to_string(&b).unwrap()
}
