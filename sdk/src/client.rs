//! The HTTP client of a node's API: authentication, timeouts, bounded retries, bounded
//! responses, typed queries and the event stream.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::stream::BoxStream;
use futures::StreamExt;
use lianrong_contracts::model::{
    DocId, Financing, Invoice, Offer, Order, Org, Receivable, Settlement, Shipment,
    WarehouseReceipt,
};
use lianrong_contracts::{DocKind, SignedTransaction};
use lianrong_primitives::{Hash, OrgId, PublicKey};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;

use crate::error::SdkError;
use crate::key::Auth;
use crate::pages::{collect_pages, MAX_LISTED};
use crate::tls::{tls_failure, TlsOptions};
use lianrong_api_types::{
    BlockNotice, BlockView, EpochChanges, EvidencePage, KeyInfo, OrgPage, ProofResponse,
    ProofSubject, RawBlock, ReceivableFilter, ReceivableHistory, ReceivablePage, Status,
    SubmitBody, SubmitResponse, SubmitStatus, TxView, MAX_PAGE,
};

/// Most retries a client will ever make for one request, whatever the options say.
pub const MAX_RETRIES: u32 = 10;
/// Longest pause between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long the node itself waits on `?wait=commit` before answering "pending".
const NODE_COMMIT_WAIT: Duration = Duration::from_secs(30);
/// Largest error body read (errors are one short JSON object).
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// Timeouts, retries and limits of a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Limit for one request, from connecting to the last byte of the answer.
    pub timeout: Duration,
    /// Limit for establishing the TCP connection.
    pub connect_timeout: Duration,
    /// Extra attempts after a retryable failure (transport, timeout, 429/502/503/504);
    /// capped at [`MAX_RETRIES`].
    pub retries: u32,
    /// Pause before the first retry; doubled for each further one, capped at
    /// [`MAX_BACKOFF`].
    pub backoff: Duration,
    /// How long a submission waits for finality before giving up with
    /// [`SdkError::NotFinal`].
    pub commit_timeout: Duration,
    /// Largest answer accepted (and the largest server-sent event).
    pub max_response_bytes: usize,
    /// How long the event stream may stay silent (the node sends a keep-alive every 15 s)
    /// before it is treated as dead.
    pub event_idle_timeout: Duration,
    /// The chain id, if known; otherwise taken from the key file, or (with a token)
    /// from `GET /v1/status`.
    pub chain_id: Option<String>,
    /// For `https://` nodes: the CA to trust and a client certificate to present;
    /// `None` trusts the system's trust store and presents none.
    pub tls: Option<TlsOptions>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
            retries: 2,
            backoff: Duration::from_millis(200),
            commit_timeout: Duration::from_secs(60),
            max_response_bytes: 16 * 1024 * 1024,
            event_idle_timeout: Duration::from_secs(60),
            chain_id: None,
            tls: None,
        }
    }
}

struct Inner {
    http: reqwest::Client,
    /// Whom the client trusts over https (named when a handshake fails).
    trust: String,
    base: Url,
    auth: Auth,
    opts: ClientOptions,
    chain_id: tokio::sync::OnceCell<String>,
}

/// An async client of one node's API. Cheap to clone (one shared connection pool).
///
/// ```no_run
/// use lianrong_sdk::{Auth, Client};
/// # async fn demo() -> Result<(), lianrong_sdk::SdkError> {
/// let client = Client::new("http://127.0.0.1:8080", Auth::Token("secret".into()))?;
/// let status = client.status().await?;
/// println!("{} at height {}", status.chain_id, status.height);
/// // Any GET route, typed by the caller:
/// let raw: serde_json::Value = client.get_json("/v1/blocks/latest").await?;
/// # let _ = raw; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base.as_str())
            .field("auth", &self.inner.auth)
            .finish()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `?k=v&...` of the given parameters, or nothing. Every value here is an id, a status
/// or a number: characters that need no escaping in a query.
fn query_string(params: impl IntoIterator<Item = (&'static str, String)>) -> String {
    let parts: Vec<String> = params
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// The full text of an error and its causes (reqwest's top-level message alone hides
/// "connection refused").
fn chain_text(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    let mut depth = 0;
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
        depth += 1;
        if depth > 8 {
            break;
        }
    }
    s
}

fn transport(url: &Url, e: reqwest::Error, timeout: Duration) -> SdkError {
    let url = url.to_string();
    if let Some(reason) = tls_failure(&e) {
        SdkError::Tls {
            url,
            reason,
            trust: None,
        }
    } else if e.is_timeout() {
        SdkError::Timeout {
            url,
            after: timeout,
        }
    } else if e.is_connect() {
        SdkError::Connect {
            url,
            reason: chain_text(&e),
        }
    } else {
        SdkError::Transport {
            url,
            reason: chain_text(&e),
        }
    }
}

/// Reads a body of at most `limit` bytes.
async fn read_limited(
    mut resp: reqwest::Response,
    url: &Url,
    limit: usize,
    timeout: Duration,
) -> Result<Vec<u8>, SdkError> {
    if let Some(len) = resp.content_length() {
        if len > limit as u64 {
            return Err(SdkError::BadResponse {
                url: url.to_string(),
                reason: format!("answer of {len} bytes exceeds the limit of {limit}"),
            });
        }
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| transport(url, e, timeout))? {
        if out.len() + chunk.len() > limit {
            return Err(SdkError::BadResponse {
                url: url.to_string(),
                reason: format!("answer exceeds the limit of {limit} bytes"),
            });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// The node's `{"error": {"code", "message"}}`, or a stand-in for a body that is not one
/// (a proxy's HTML page, an unknown route).
fn api_error(status: u16, body: &[u8]) -> SdkError {
    #[derive(serde::Deserialize)]
    struct Wrapper {
        error: Inner,
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        code: String,
        message: String,
    }
    match serde_json::from_slice::<Wrapper>(body) {
        Ok(w) => SdkError::Api {
            status,
            code: w.error.code,
            message: w.error.message,
        },
        Err(_) => {
            let text: String = String::from_utf8_lossy(body).chars().take(200).collect();
            let text = text.trim();
            SdkError::Api {
                status,
                code: format!("http_{status}"),
                message: if text.is_empty() {
                    "no error details".into()
                } else {
                    text.to_string()
                },
            }
        }
    }
}

/// A request body.
struct Body {
    content_type: &'static str,
    bytes: Vec<u8>,
}

impl Client {
    /// A client of the node at `base_url` (e.g. `http://127.0.0.1:8080`) with default
    /// options.
    pub fn new(base_url: &str, auth: Auth) -> Result<Self, SdkError> {
        Self::with_options(base_url, auth, ClientOptions::default())
    }

    /// A client with explicit timeouts, retries and limits.
    pub fn with_options(base_url: &str, auth: Auth, opts: ClientOptions) -> Result<Self, SdkError> {
        let mut base = Url::parse(base_url.trim())
            .map_err(|e| SdkError::Invalid(format!("node URL {base_url:?}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(SdkError::Invalid(format!(
                "node URL {base_url:?} must be http://host:port"
            )));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(SdkError::Invalid(format!(
                "node URL {base_url:?} must not have a query or fragment"
            )));
        }
        // "http://h/prefix" and "http://h/prefix/" both mean the API lives under /prefix.
        let path = base.path().trim_end_matches('/').to_string();
        base.set_path(&path);
        if let Auth::Token(t) = &auth {
            if t.trim().is_empty() || t.chars().any(|c| c.is_control()) {
                return Err(SdkError::Invalid(
                    "the API token is empty or has control characters".into(),
                ));
            }
        }
        // reqwest is built without a crypto provider of its own: it always gets a config.
        let tls = match &opts.tls {
            Some(t) => t.clone(),
            None => TlsOptions::system()?,
        };
        // No client-wide total timeout: the event stream is long-lived. Every other
        // request sets its own.
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls.rustls())
            .connect_timeout(opts.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| SdkError::Invalid(format!("HTTP client: {e}")))?;
        let chain_id = tokio::sync::OnceCell::new();
        let known = opts.chain_id.clone().or_else(|| match &auth {
            Auth::Key(k) => k.chain_id().map(str::to_string),
            Auth::Token(_) => None,
        });
        if let Some(c) = known {
            let _ = chain_id.set(c);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                trust: tls.trust().to_string(),
                base,
                auth,
                opts,
                chain_id,
            }),
        })
    }

    /// A request that could not be sent; a failed TLS handshake says whom this client
    /// trusts (the usual cause: no or the wrong CA for the node's certificate).
    fn send_error(&self, url: &Url, e: reqwest::Error, timeout: Duration) -> SdkError {
        match transport(url, e, timeout) {
            SdkError::Tls { url, reason, .. } => SdkError::Tls {
                url,
                reason,
                trust: Some(self.inner.trust.clone()),
            },
            other => other,
        }
    }

    /// The options in use.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.opts
    }

    /// How this client authenticates.
    pub fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    /// The node's base URL.
    pub fn base_url(&self) -> &str {
        self.inner.base.as_str()
    }

    /// The chain id: from the options or key file, else asked once from the node (token
    /// authentication only: a signed request needs the chain id before it can be sent).
    pub async fn chain_id(&self) -> Result<String, SdkError> {
        self.inner
            .chain_id
            .get_or_try_init(|| async {
                match &self.inner.auth {
                    // Boxed: `status` signs nothing for a token, but the compiler cannot
                    // see that the recursion ends.
                    Auth::Token(_) => {
                        let status: Status = Box::pin(self.get_json("/v1/status")).await?;
                        Ok(status.chain_id)
                    }
                    Auth::Key(_) => Err(SdkError::Invalid(
                        "the chain id is unknown: the key file has no chain_id; pass it in \
                         ClientOptions::chain_id (CLI: --chain-id)"
                            .into(),
                    )),
                }
            })
            .await
            .cloned()
    }

    fn url(&self, path_and_query: &str) -> Result<Url, SdkError> {
        if !path_and_query.starts_with('/') {
            return Err(SdkError::Invalid(format!(
                "path {path_and_query:?} must start with '/'"
            )));
        }
        let base = self.inner.base.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}{path_and_query}"))
            .map_err(|e| SdkError::Invalid(format!("path {path_and_query:?}: {e}")))
    }

    /// One attempt: sign if needed, send, read a bounded answer.
    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&Body>,
        timeout: Duration,
    ) -> Result<Vec<u8>, SdkError> {
        let mut req = self
            .inner
            .http
            .request(method.clone(), url.clone())
            .timeout(timeout)
            .header("accept", "application/json");
        req = self.authorize(req, method, url).await?;
        if let Some(b) = body {
            req = req
                .header("content-type", b.content_type)
                .body(b.bytes.clone());
        }
        let resp = req
            .send()
            .await
            .map_err(|e| self.send_error(url, e, timeout))?;
        let status = resp.status();
        if status.is_success() {
            read_limited(resp, url, self.inner.opts.max_response_bytes, timeout).await
        } else {
            let body = read_limited(resp, url, MAX_ERROR_BYTES, timeout)
                .await
                .unwrap_or_default();
            Err(api_error(status.as_u16(), &body))
        }
    }

    async fn authorize(
        &self,
        req: reqwest::RequestBuilder,
        method: &Method,
        url: &Url,
    ) -> Result<reqwest::RequestBuilder, SdkError> {
        Ok(match &self.inner.auth {
            Auth::Token(t) => req.bearer_auth(t.trim()),
            Auth::Key(k) => {
                let chain_id = self.chain_id().await?;
                // Sign exactly what goes on the wire (the URL parser may have
                // normalised the path).
                let mut pq = url.path().to_string();
                if let Some(q) = url.query() {
                    pq.push('?');
                    pq.push_str(q);
                }
                // The node's address, port always written, sent as the Host header too, so
                // the node checks exactly what was signed.
                let authority = authority_of(url)?;
                let mut req = req.header(reqwest::header::HOST, authority.as_str());
                // Signed anew on every attempt, with a time no earlier request of this key
                // used: the node accepts a signed request once.
                let time = k.next_request_time(now_ms());
                let headers = k.request_headers(&chain_id, &authority, method.as_str(), &pq, time);
                for (name, value) in headers {
                    req = req.header(name, value);
                }
                req
            }
        })
    }

    /// Sends with bounded retries of retryable failures. Every attempt sends the same body,
    /// so retrying a transaction submission is safe (the node answers `duplicate`); a
    /// member key signs each attempt anew (the node refuses a signed request seen before).
    async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<Body>,
        timeout: Duration,
    ) -> Result<Vec<u8>, SdkError> {
        let url = self.url(path_and_query)?;
        let retries = self.inner.opts.retries.min(MAX_RETRIES);
        let mut pause = self.inner.opts.backoff;
        let mut attempt = 0;
        loop {
            match self.attempt(&method, &url, body.as_ref(), timeout).await {
                Err(e) if e.is_retryable() && attempt < retries => {
                    tracing::debug!(error = %e, attempt, "retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_BACKOFF);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// `GET path_and_query` (e.g. `/v1/receivables?holder=SUP-1`), parsed as `T`.
    pub async fn get_json<T: DeserializeOwned>(&self, path_and_query: &str) -> Result<T, SdkError> {
        let bytes = self
            .send(Method::GET, path_and_query, None, self.inner.opts.timeout)
            .await?;
        serde_json::from_slice(&bytes).map_err(|e| SdkError::BadResponse {
            url: path_and_query.to_string(),
            reason: e.to_string(),
        })
    }

    /// `GET /v1/status`.
    pub async fn status(&self) -> Result<Status, SdkError> {
        self.get_json("/v1/status").await
    }

    /// `GET /v1/blocks/latest` (404 before the first block after genesis).
    pub async fn latest_block(&self) -> Result<BlockView, SdkError> {
        self.get_json("/v1/blocks/latest").await
    }

    /// `GET /v1/blocks/{height}`.
    pub async fn block(&self, height: u64) -> Result<BlockView, SdkError> {
        self.get_json(&format!("/v1/blocks/{height}")).await
    }

    /// `GET /v1/blocks/{height}/raw` (banks and auditors): the block as consensus encoded
    /// it, payload included, and its certificate.
    pub async fn raw_block(&self, height: u64) -> Result<RawBlock, SdkError> {
        self.get_json(&format!("/v1/blocks/{height}/raw")).await
    }

    /// `GET /v1/transactions/{hash}`: a committed transaction (404 while pending).
    pub async fn transaction(&self, hash: &Hash) -> Result<TxView, SdkError> {
        self.get_json(&format!("/v1/transactions/{hash}")).await
    }

    /// `GET /v1/orgs?after=&limit=`: one page of organisations, in id order (the node's
    /// default page size without `limit`).
    pub async fn orgs_page(
        &self,
        after: Option<&OrgId>,
        limit: Option<usize>,
    ) -> Result<OrgPage, SdkError> {
        let after = after.map(|a| ("after", a.to_string()));
        let limit = limit.map(|l| ("limit", l.to_string()));
        let q = query_string(after.into_iter().chain(limit));
        self.get_json(&format!("/v1/orgs{q}")).await
    }

    /// Every organisation: `GET /v1/orgs` page by page to the last (at most
    /// [`MAX_LISTED`]).
    pub async fn orgs(&self) -> Result<Vec<Org>, SdkError> {
        collect_pages("/v1/orgs", None, MAX_LISTED, |after| async move {
            let p = self.orgs_page(after.as_ref(), Some(MAX_PAGE)).await?;
            Ok((p.items, p.next))
        })
        .await
    }

    /// `GET /v1/orgs/{id}`.
    pub async fn org(&self, id: &OrgId) -> Result<Org, SdkError> {
        self.get_json(&format!("/v1/orgs/{id}")).await
    }

    /// `GET /v1/keys/{public_key}`: the key's org and next nonce.
    pub async fn key_info(&self, key: &PublicKey) -> Result<KeyInfo, SdkError> {
        self.get_json(&format!("/v1/keys/{key}")).await
    }

    /// `GET /v1/orders/{id}`.
    pub async fn order(&self, id: &DocId) -> Result<Order, SdkError> {
        self.get_json(&format!("/v1/orders/{id}")).await
    }

    /// `GET /v1/shipments/{id}`.
    pub async fn shipment(&self, id: &DocId) -> Result<Shipment, SdkError> {
        self.get_json(&format!("/v1/shipments/{id}")).await
    }

    /// `GET /v1/warehouse-receipts/{id}`.
    pub async fn warehouse_receipt(&self, id: &DocId) -> Result<WarehouseReceipt, SdkError> {
        self.get_json(&format!("/v1/warehouse-receipts/{id}")).await
    }

    /// `GET /v1/invoices/{id}`.
    pub async fn invoice(&self, id: &DocId) -> Result<Invoice, SdkError> {
        self.get_json(&format!("/v1/invoices/{id}")).await
    }

    /// `GET /v1/invoices?fingerprint=HEX`: the invoice registered under a fingerprint,
    /// if any (empty when none is, or when the node predates this route).
    pub async fn invoices_by_fingerprint(&self, fp: &Hash) -> Result<Vec<Invoice>, SdkError> {
        let v: serde_json::Value = match self
            .get_json(&format!("/v1/invoices?fingerprint={fp}"))
            .await
        {
            Ok(v) => v,
            Err(e) if e.is_not_found() => return Ok(vec![]),
            Err(e) => return Err(e),
        };
        // Accept a list, a single invoice or `{"invoices": [...]}`.
        let list = match v {
            serde_json::Value::Array(_) => v,
            serde_json::Value::Object(ref m) if m.contains_key("invoices") => m["invoices"].clone(),
            serde_json::Value::Null => serde_json::Value::Array(vec![]),
            other => serde_json::Value::Array(vec![other]),
        };
        serde_json::from_value(list).map_err(|e| SdkError::BadResponse {
            url: "/v1/invoices?fingerprint=".into(),
            reason: e.to_string(),
        })
    }

    /// `GET /v1/invoices?seller=ORG&number=N`: the invoice `seller` issued under
    /// `number` (compared in the ledger's normal form), voided ones included, if the
    /// caller may read it. A number that can never be an invoice number is refused here.
    pub async fn invoice_by_number(
        &self,
        seller: &OrgId,
        number: &str,
    ) -> Result<Option<Invoice>, SdkError> {
        // The canonical form is ASCII letters and digits only, so it needs no escaping
        // in the query, and the node normalises it to itself.
        let canonical = lianrong_contracts::exec::invoices::canonical_number(number)
            .map_err(|reason| SdkError::Invalid(format!("invoice number: {reason}")))?;
        let list: Vec<Invoice> = self
            .get_json(&format!("/v1/invoices?seller={seller}&number={canonical}"))
            .await?;
        Ok(list.into_iter().next())
    }

    /// `GET /v1/receivables/{id}`.
    pub async fn receivable(&self, id: &DocId) -> Result<Receivable, SdkError> {
        self.get_json(&format!("/v1/receivables/{id}")).await
    }

    /// `GET /v1/receivables?holder=&debtor=&status=&after=&limit=`: one page, in id
    /// order (the node's default page size without `limit`).
    pub async fn receivables_page(
        &self,
        filter: &ReceivableFilter,
    ) -> Result<ReceivablePage, SdkError> {
        let status = filter.status.map(|s| {
            serde_json::to_value(s)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        });
        let q = query_string(
            [
                ("holder", filter.holder.as_ref().map(OrgId::to_string)),
                ("debtor", filter.debtor.as_ref().map(OrgId::to_string)),
                ("status", status),
                ("after", filter.after.as_ref().map(DocId::to_string)),
                ("limit", filter.limit.map(|l| l.to_string())),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v))),
        );
        self.get_json(&format!("/v1/receivables{q}")).await
    }

    /// Every receivable matching `filter` from `filter.after` on: `GET /v1/receivables`
    /// page by page (of `filter.limit`, default [`MAX_PAGE`]) to the last, at most
    /// [`MAX_LISTED`].
    pub async fn receivables(
        &self,
        filter: &ReceivableFilter,
    ) -> Result<Vec<Receivable>, SdkError> {
        let limit = Some(filter.limit.unwrap_or(MAX_PAGE));
        let after = filter.after.clone();
        collect_pages("/v1/receivables", after, MAX_LISTED, |after| async move {
            let f = ReceivableFilter {
                after,
                limit,
                ..filter.clone()
            };
            let p = self.receivables_page(&f).await?;
            Ok((p.items, p.next))
        })
        .await
    }

    /// `GET /v1/evidence?after=&limit=` (banks and auditors): one page of the
    /// equivocation evidence the node keeps.
    pub async fn evidence_page(
        &self,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<EvidencePage, SdkError> {
        let after = after.map(|a| ("after", a.to_string()));
        let limit = limit.map(|l| ("limit", l.to_string()));
        let q = query_string(after.into_iter().chain(limit));
        self.get_json(&format!("/v1/evidence{q}")).await
    }

    /// `GET /v1/receivables/{id}/history`, every page gathered ([`crate::StepsPages`]):
    /// the lineage from the root and each member's whole history.
    pub async fn receivable_history(&self, id: &DocId) -> Result<ReceivableHistory, SdkError> {
        let url = format!("/v1/receivables/{id}/history");
        let mut pages = crate::StepsPages::new(url.clone());
        while !pages.is_done() {
            let page = match pages.after() {
                None => self.get_json(&url).await?,
                Some(after) => self.get_json(&format!("{url}?after={after}")).await?,
            };
            pages.add(page)?;
        }
        pages.finish()
    }

    /// `GET /v1/financings/{id}`.
    pub async fn financing(&self, id: &DocId) -> Result<Financing, SdkError> {
        self.get_json(&format!("/v1/financings/{id}")).await
    }

    /// `GET /v1/settlements/{id}`.
    pub async fn settlement(&self, id: &DocId) -> Result<Settlement, SdkError> {
        self.get_json(&format!("/v1/settlements/{id}")).await
    }

    /// `GET /v1/offers/{id}`.
    pub async fn offer(&self, id: &DocId) -> Result<Offer, SdkError> {
        self.get_json(&format!("/v1/offers/{id}")).await
    }

    /// `GET /v1/offers/{id}` whole: the offer with its all-in annualised cost to the
    /// supplier (`lianrong_api_types::pricing`: as of its disbursement, or of the
    /// ledger's date today), or why there is none.
    pub async fn offer_view(&self, id: &DocId) -> Result<lianrong_api_types::OfferView, SdkError> {
        self.get_json(&format!("/v1/offers/{id}")).await
    }

    /// `GET /v1/proposals?after=&limit=`: one page of the governance proposals the
    /// caller may read, each with where it stands.
    pub async fn proposals_page(
        &self,
        after: Option<&DocId>,
        limit: Option<usize>,
    ) -> Result<lianrong_api_types::ProposalPage, SdkError> {
        let after = after.map(|a| ("after", a.to_string()));
        let limit = limit.map(|l| ("limit", l.to_string()));
        let q = query_string(after.into_iter().chain(limit));
        self.get_json(&format!("/v1/proposals{q}")).await
    }

    /// Every governance proposal the caller may read: `GET /v1/proposals` page by page to
    /// the last (at most [`MAX_LISTED`]).
    pub async fn proposals(&self) -> Result<Vec<lianrong_api_types::ProposalView>, SdkError> {
        collect_pages("/v1/proposals", None, MAX_LISTED, |after| async move {
            let p = self.proposals_page(after.as_ref(), Some(MAX_PAGE)).await?;
            Ok((p.items, p.next))
        })
        .await
    }

    /// `GET /v1/proposals/{id}`: a governance proposal and where it stands.
    pub async fn proposal(&self, id: &DocId) -> Result<lianrong_api_types::ProposalView, SdkError> {
        self.get_json(&format!("/v1/proposals/{id}")).await
    }

    /// `GET /v1/approvals?state=&after=&limit=`: one page of the actions held for more
    /// member keys' approval (dual control) the caller may read, each with where it stands.
    pub async fn approvals_page(
        &self,
        state: Option<lianrong_api_types::ApprovalState>,
        after: Option<&DocId>,
        limit: Option<usize>,
    ) -> Result<lianrong_api_types::ApprovalPage, SdkError> {
        let state = state.map(|s| ("state", s.as_str().to_string()));
        let after = after.map(|a| ("after", a.to_string()));
        let limit = limit.map(|l| ("limit", l.to_string()));
        let q = query_string(state.into_iter().chain(after).chain(limit));
        self.get_json(&format!("/v1/approvals{q}")).await
    }

    /// Every held action in `state` (all states with `None`) the caller may read:
    /// `GET /v1/approvals` page by page to the last (at most [`MAX_LISTED`]).
    pub async fn approvals(
        &self,
        state: Option<lianrong_api_types::ApprovalState>,
    ) -> Result<Vec<lianrong_api_types::ApprovalView>, SdkError> {
        collect_pages("/v1/approvals", None, MAX_LISTED, |after| async move {
            let p = self
                .approvals_page(state, after.as_ref(), Some(MAX_PAGE))
                .await?;
            Ok((p.items, p.next))
        })
        .await
    }

    /// `GET /v1/approvals/{id}`: a held action and where it stands.
    pub async fn approval(&self, id: &DocId) -> Result<lianrong_api_types::ApprovalView, SdkError> {
        self.get_json(&format!("/v1/approvals/{id}")).await
    }

    /// `GET /v1/limits?after=&limit=` (or `/v1/limits/{org}`, the limits `holder`
    /// holds): one page of the credit limits the caller may read, each with its use and
    /// headroom.
    pub async fn limits_page(
        &self,
        holder: Option<&OrgId>,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<lianrong_api_types::LimitPage, SdkError> {
        let after = after.map(|a| ("after", a.to_string()));
        let limit = limit.map(|l| ("limit", l.to_string()));
        let q = query_string(after.into_iter().chain(limit));
        match holder {
            Some(org) => self.get_json(&format!("/v1/limits/{org}{q}")).await,
            None => self.get_json(&format!("/v1/limits{q}")).await,
        }
    }

    /// Every credit limit the caller may read (of `holder` alone when given), with its
    /// use and headroom: page by page to the last (at most [`MAX_LISTED`]).
    pub async fn limits(
        &self,
        holder: Option<&OrgId>,
    ) -> Result<Vec<lianrong_api_types::LimitView>, SdkError> {
        collect_pages(
            "/v1/limits",
            None,
            MAX_LISTED,
            |after: Option<String>| async move {
                let p = self
                    .limits_page(holder, after.as_deref(), Some(MAX_PAGE))
                    .await?;
                Ok((p.items, p.next))
            },
        )
        .await
    }

    /// `GET /v1/programmes?after=&limit=`: one page of the supply-chain finance
    /// programmes the caller may read, each with the use and headroom of its limit.
    pub async fn programmes_page(
        &self,
        after: Option<&DocId>,
        limit: Option<usize>,
    ) -> Result<lianrong_api_types::ProgrammePage, SdkError> {
        let after = after.map(|a| ("after", a.to_string()));
        let limit = limit.map(|l| ("limit", l.to_string()));
        let q = query_string(after.into_iter().chain(limit));
        self.get_json(&format!("/v1/programmes{q}")).await
    }

    /// Every programme the caller may read: `GET /v1/programmes` page by page to the
    /// last (at most [`MAX_LISTED`]).
    pub async fn programmes(&self) -> Result<Vec<lianrong_api_types::ProgrammeView>, SdkError> {
        collect_pages("/v1/programmes", None, MAX_LISTED, |after| async move {
            let p = self.programmes_page(after.as_ref(), Some(MAX_PAGE)).await?;
            Ok((p.items, p.next))
        })
        .await
    }

    /// `GET /v1/programmes/{id}`: a programme with its members and the use of its limit.
    pub async fn programme(
        &self,
        id: &DocId,
    ) -> Result<lianrong_api_types::ProgrammeView, SdkError> {
        self.get_json(&format!("/v1/programmes/{id}")).await
    }

    /// `GET /v1/loans?after=&limit=`: one page of the loans against warehouse receipts
    /// the caller may read, each with today's value, LTV and margin-call state.
    pub async fn loans_page(
        &self,
        after: Option<&DocId>,
        limit: Option<usize>,
    ) -> Result<lianrong_api_types::LoanPage, SdkError> {
        let after = after.map(|a| ("after", a.to_string()));
        let limit = limit.map(|l| ("limit", l.to_string()));
        let q = query_string(after.into_iter().chain(limit));
        self.get_json(&format!("/v1/loans{q}")).await
    }

    /// Every loan the caller may read: `GET /v1/loans` page by page to the last (at most
    /// [`MAX_LISTED`]).
    pub async fn loans(&self) -> Result<Vec<lianrong_api_types::LoanView>, SdkError> {
        collect_pages("/v1/loans", None, MAX_LISTED, |after| async move {
            let p = self.loans_page(after.as_ref(), Some(MAX_PAGE)).await?;
            Ok((p.items, p.next))
        })
        .await
    }

    /// `GET /v1/loans/{id}`: a loan with today's goods value, balance, LTV, margin-call
    /// state and deadline, and accrued interest.
    pub async fn loan(&self, id: &DocId) -> Result<lianrong_api_types::LoanView, SdkError> {
        self.get_json(&format!("/v1/loans/{id}")).await
    }

    /// `GET /v1/proofs/{kind}/{id}`: the document proven against the latest certified
    /// state root, with everything needed to check it; check it with
    /// [`crate::verify_document`].
    pub async fn proof(&self, kind: DocKind, id: &str) -> Result<ProofResponse, SdkError> {
        self.proof_of(kind, id, ProofSubject::Document).await
    }

    /// `GET /v1/proofs/{kind}/{id}?of=history`, every page (`&after=`): the document's
    /// whole history with the proof of its chain head; check it with
    /// [`crate::verify_history`].
    pub async fn history_proof(&self, kind: DocKind, id: &str) -> Result<ProofResponse, SdkError> {
        let url = proof_path(kind, id, ProofSubject::History)?;
        let mut pages = crate::HistoryPages::new(url.clone());
        while !pages.is_done() {
            let page = match pages.after() {
                None => self.get_json(&url).await?,
                Some(after) => self.get_json(&format!("{url}&after={after}")).await?,
            };
            pages.add(page)?;
        }
        pages.finish()
    }

    async fn proof_of(
        &self,
        kind: DocKind,
        id: &str,
        subject: ProofSubject,
    ) -> Result<ProofResponse, SdkError> {
        self.get_json(&proof_path(kind, id, subject)?).await
    }

    /// `GET /v1/epochs`: every validator-set change since genesis; check them with
    /// [`crate::verify_epochs`].
    pub async fn epochs(&self) -> Result<EpochChanges, SdkError> {
        self.get_json("/v1/epochs").await
    }

    /// `POST /v1/transactions[?wait=commit]` of already signed bytes. Retries resend the
    /// same bytes; a `duplicate` answer (already admitted or committed) counts as
    /// submitted and comes back as [`crate::SubmitStatus::Pending`].
    pub async fn submit_signed(
        &self,
        tx: &SignedTransaction,
        wait_commit: bool,
    ) -> Result<SubmitResponse, SdkError> {
        let hash = tx.hash();
        let body = serde_json::to_vec(&SubmitBody {
            tx: hex::encode(tx.encode()),
        })
        .map_err(|e| SdkError::Invalid(e.to_string()))?;
        let (path, timeout) = if wait_commit {
            (
                "/v1/transactions?wait=commit",
                self.inner.opts.timeout + NODE_COMMIT_WAIT,
            )
        } else {
            ("/v1/transactions", self.inner.opts.timeout)
        };
        let answer = self
            .send(
                Method::POST,
                path,
                Some(Body {
                    content_type: "application/json",
                    bytes: body,
                }),
                timeout,
            )
            .await;
        match answer {
            Ok(bytes) => {
                let r: SubmitResponse =
                    serde_json::from_slice(&bytes).map_err(|e| SdkError::BadResponse {
                        url: path.into(),
                        reason: e.to_string(),
                    })?;
                if r.hash != hash {
                    return Err(SdkError::BadResponse {
                        url: path.into(),
                        reason: format!("node reports hash {} for transaction {hash}", r.hash),
                    });
                }
                Ok(r)
            }
            // Already admitted or committed: submitted, and final or on its way.
            Err(e) if e.code() == Some("duplicate") => Ok(SubmitResponse::pending(hash)),
            Err(e) => Err(e),
        }
    }

    /// `POST /v1/transactions/batch` of already signed transactions, in one request (an
    /// ERP import, a busy client), sent as `application/octet-stream` in the block
    /// payload encoding. The node takes at most 512 per request (more is refused whole
    /// with `too_many`) and checks their signatures together.
    ///
    /// One answer per transaction, in order: [`SubmitStatus::Pending`] when admitted,
    /// [`SubmitStatus::Refused`] with the single submit's `code` and `message` otherwise.
    /// As with [`Client::submit_signed`], a `duplicate` (already admitted or committed)
    /// counts as submitted and comes back as pending. Retries resend the same bytes. A
    /// failure of the whole request (node busy, body too large) is an error; an answer
    /// that does not match the transactions one for one is [`SdkError::BadResponse`].
    /// An empty slice sends nothing.
    ///
    /// ```no_run
    /// # async fn demo(
    /// #     client: lianrong_sdk::Client,
    /// #     txs: Vec<lianrong_sdk::contracts::SignedTransaction>,
    /// # ) -> Result<(), lianrong_sdk::SdkError> {
    /// for answer in client.submit_batch(&txs).await? {
    ///     if answer.status == lianrong_sdk::SubmitStatus::Refused {
    ///         eprintln!("{} refused: {:?}", answer.hash, answer.message);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn submit_batch(
        &self,
        txs: &[SignedTransaction],
    ) -> Result<Vec<SubmitResponse>, SdkError> {
        const PATH: &str = "/v1/transactions/batch";
        if txs.is_empty() {
            return Ok(Vec::new());
        }
        let body = Body {
            content_type: "application/octet-stream",
            bytes: lianrong_primitives::encode(txs),
        };
        let bytes = self
            .send(Method::POST, PATH, Some(body), self.inner.opts.timeout)
            .await?;
        let answers: Vec<SubmitResponse> =
            serde_json::from_slice(&bytes).map_err(|e| SdkError::BadResponse {
                url: PATH.into(),
                reason: e.to_string(),
            })?;
        batch_answers(txs, answers, PATH)
    }

    /// Polls `GET /v1/transactions/{hash}` until it is committed or
    /// [`ClientOptions::commit_timeout`] passes.
    pub async fn wait_for_commit(&self, hash: &Hash) -> Result<TxView, SdkError> {
        let limit = self.inner.opts.commit_timeout;
        let start = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            match self.transaction(hash).await {
                Ok(t) => return Ok(t),
                Err(e) if e.is_not_found() || e.is_retryable() => {}
                Err(e) => return Err(e),
            }
            if start.elapsed() + pause > limit {
                return Err(SdkError::NotFinal {
                    hash: *hash,
                    waited: start.elapsed(),
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    /// `GET /v1/events`: finalized blocks as server-sent events. The stream ends with an
    /// error if the node goes silent for longer than
    /// [`ClientOptions::event_idle_timeout`], or an event exceeds
    /// [`ClientOptions::max_response_bytes`].
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// # async fn demo(client: lianrong_sdk::Client) -> Result<(), lianrong_sdk::SdkError> {
    /// let mut events = client.events().await?;
    /// while let Some(ev) = events.next().await {
    ///     if let lianrong_sdk::NodeEvent::Block(b) = ev? {
    ///         println!("block {} with {} transactions", b.height, b.tx_count);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn events(
        &self,
    ) -> Result<BoxStream<'static, Result<NodeEvent, SdkError>>, SdkError> {
        let url = self.url("/v1/events")?;
        let opts = &self.inner.opts;
        let req = self
            .inner
            .http
            .get(url.clone())
            .header("accept", "text/event-stream");
        let req = self.authorize(req, &Method::GET, &url).await?;
        let resp = match tokio::time::timeout(opts.timeout, req.send()).await {
            Err(_) => {
                return Err(SdkError::Timeout {
                    url: url.to_string(),
                    after: opts.timeout,
                })
            }
            Ok(r) => r.map_err(|e| self.send_error(&url, e, opts.timeout))?,
        };
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            let body = read_limited(resp, &url, MAX_ERROR_BYTES, opts.timeout)
                .await
                .unwrap_or_default();
            return Err(api_error(status, &body));
        }
        let state = SseState {
            resp: Some(resp),
            parser: SseParser::new(opts.max_response_bytes),
            url,
            idle: opts.event_idle_timeout,
        };
        Ok(futures::stream::unfold(state, |mut st| async move {
            let item = st.next_event().await?;
            Some((item, st))
        })
        .boxed())
    }
}

/// Checks that a batch answer matches the submitted transactions one for one, and turns
/// a `duplicate` refusal into pending (submitted, as for a single submit).
fn batch_answers(
    txs: &[SignedTransaction],
    answers: Vec<SubmitResponse>,
    url: &str,
) -> Result<Vec<SubmitResponse>, SdkError> {
    let bad = |reason: String| SdkError::BadResponse {
        url: url.into(),
        reason,
    };
    if answers.len() != txs.len() {
        return Err(bad(format!(
            "{} answers for {} transactions",
            answers.len(),
            txs.len()
        )));
    }
    txs.iter()
        .zip(answers)
        .enumerate()
        .map(|(i, (tx, r))| {
            let hash = tx.hash();
            if r.hash != hash {
                return Err(bad(format!(
                    "answer {i} is for {} instead of transaction {hash}",
                    r.hash
                )));
            }
            let duplicate =
                r.status == SubmitStatus::Refused && r.code.as_deref() == Some("duplicate");
            Ok(if duplicate {
                SubmitResponse::pending(hash)
            } else {
                r
            })
        })
        .collect()
}

/// One server-sent event of `GET /v1/events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeEvent {
    /// A finalized block (with the receipts this caller may see).
    Block(Box<BlockNotice>),
    /// This subscriber fell behind and `skipped` blocks were not sent; re-read them with
    /// [`Client::block`].
    Lagged {
        /// Blocks skipped.
        skipped: u64,
    },
    /// The member key this stream was opened with was revoked; the node ends the stream.
    Revoked {
        /// The node's words.
        reason: String,
    },
    /// An event type this SDK does not know yet.
    Other {
        /// Event name.
        event: String,
        /// Raw data.
        data: String,
    },
}

struct SseState {
    resp: Option<reqwest::Response>,
    parser: SseParser,
    url: Url,
    idle: Duration,
}

impl SseState {
    /// The next event, or `None` once the stream ended (after an error, it ends).
    async fn next_event(&mut self) -> Option<Result<NodeEvent, SdkError>> {
        loop {
            match self.parser.next() {
                Ok(Some((event, data))) => return Some(Ok(to_event(event, data, &self.url))),
                Ok(None) => {}
                Err(e) => {
                    self.resp = None;
                    return Some(Err(SdkError::BadResponse {
                        url: self.url.to_string(),
                        reason: e,
                    }));
                }
            }
            let resp = self.resp.as_mut()?;
            match tokio::time::timeout(self.idle, resp.chunk()).await {
                Err(_) => {
                    self.resp = None;
                    return Some(Err(SdkError::Timeout {
                        url: self.url.to_string(),
                        after: self.idle,
                    }));
                }
                Ok(Err(e)) => {
                    self.resp = None;
                    return Some(Err(transport(&self.url, e, self.idle)));
                }
                Ok(Ok(None)) => {
                    self.resp = None;
                    return None;
                }
                Ok(Ok(Some(bytes))) => self.parser.push(&bytes),
            }
        }
    }
}

/// `host:port` of a URL, the port always written (a signed request binds to it).
fn authority_of(url: &Url) -> Result<String, SdkError> {
    let host = url
        .host_str()
        .ok_or_else(|| SdkError::Invalid(format!("{url} has no host")))?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| SdkError::Invalid(format!("{url} has no port")))?;
    Ok(format!("{host}:{port}").to_ascii_lowercase())
}

fn to_event(event: String, data: String, url: &Url) -> NodeEvent {
    use lianrong_api_types::event_names;
    match event.as_str() {
        event_names::BLOCK => match serde_json::from_str::<BlockNotice>(&data) {
            Ok(b) => NodeEvent::Block(Box::new(b)),
            Err(e) => {
                tracing::warn!(url = %url, error = %e, "undecodable block event");
                NodeEvent::Other { event, data }
            }
        },
        event_names::LAGGED => match data.trim().parse() {
            Ok(skipped) => NodeEvent::Lagged { skipped },
            Err(_) => NodeEvent::Other { event, data },
        },
        event_names::REVOKED => NodeEvent::Revoked { reason: data },
        _ => NodeEvent::Other { event, data },
    }
}

/// An incremental `text/event-stream` parser with a bound on buffered bytes. Each byte
/// is scanned once however many chunks a line arrives in (a block event is one `data:`
/// line of megabytes), so parsing stays linear.
#[derive(Debug)]
pub(crate) struct SseParser {
    /// The start of a line not yet complete (no `\n` in it).
    buf: Vec<u8>,
    event: String,
    data: String,
    has_data: bool,
    limit: usize,
    ready: std::collections::VecDeque<(String, String)>,
    failed: Option<String>,
}

impl SseParser {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            buf: Vec::new(),
            event: String::new(),
            data: String::new(),
            has_data: false,
            limit,
            ready: Default::default(),
            failed: None,
        }
    }

    /// Feeds bytes; complete events become available from [`SseParser::next`].
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        // `buf` holds no newline: the search starts at the new bytes.
        let mut from = self.buf.len();
        self.buf.extend_from_slice(bytes);
        let buf = std::mem::take(&mut self.buf);
        let mut start = 0;
        while let Some(end) = buf[from..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| from + i)
        {
            let line = &buf[start..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            self.line(&String::from_utf8_lossy(line));
            if self.failed.is_some() {
                return;
            }
            start = end + 1;
            from = start;
        }
        self.buf = buf;
        self.buf.drain(..start);
        if self.buf.len() > self.limit {
            self.failed = Some(format!(
                "server-sent event line exceeds {} bytes",
                self.limit
            ));
            self.buf.clear();
        }
    }

    fn line(&mut self, line: &str) {
        if line.is_empty() {
            if self.has_data {
                let event = if self.event.is_empty() {
                    "message".to_string()
                } else {
                    std::mem::take(&mut self.event)
                };
                self.ready
                    .push_back((event, std::mem::take(&mut self.data)));
            }
            self.event.clear();
            self.data.clear();
            self.has_data = false;
            return;
        }
        if line.starts_with(':') {
            return; // a comment: the keep-alive
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = value.to_string(),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
                if self.data.len() > self.limit {
                    self.failed = Some(format!("server-sent event exceeds {} bytes", self.limit));
                }
            }
            _ => {} // id, retry: not used by the node
        }
    }

    /// The next complete event, `Ok(None)` if more bytes are needed, or the reason the
    /// stream is unusable.
    pub(crate) fn next(&mut self) -> Result<Option<(String, String)>, String> {
        if let Some(e) = self.ready.pop_front() {
            return Ok(Some(e));
        }
        match self.failed.take() {
            Some(f) => Err(f),
            None => Ok(None),
        }
    }
}

/// `/v1/proofs/{kind}/{id}?of=...` of a checked id.
fn proof_path(kind: DocKind, id: &str, subject: ProofSubject) -> Result<String, SdkError> {
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(SdkError::Invalid(format!("invalid document id {id:?}")));
    }
    let of = match subject {
        ProofSubject::Document => "document",
        ProofSubject::History => "history",
    };
    Ok(format!("/v1/proofs/{}/{id}?of={of}", kind.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_events_split_across_chunks_are_reassembled() {
        let mut p = SseParser::new(1024);
        p.push(b": keep-alive\n\nevent: blo");
        assert_eq!(p.next(), Ok(None));
        p.push(b"ck\r\ndata: {\"a\":1}\r\n\r\nevent: lagged\ndata: 3\n\n");
        assert_eq!(p.next(), Ok(Some(("block".into(), "{\"a\":1}".into()))));
        assert_eq!(p.next(), Ok(Some(("lagged".into(), "3".into()))));
        assert_eq!(p.next(), Ok(None));
    }

    #[test]
    fn a_large_event_in_many_small_chunks_is_reassembled_whole() {
        let data = "x".repeat(2 * 1024 * 1024);
        let wire = format!("event: block\ndata: {data}\n\nevent: lagged\ndata: 1\n\n");
        let mut p = SseParser::new(4 * 1024 * 1024);
        let mut got = Vec::new();
        for chunk in wire.as_bytes().chunks(1000) {
            p.push(chunk);
            while let Ok(Some(e)) = p.next() {
                got.push(e);
            }
        }
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].0.as_str(), got[0].1.len()), ("block", data.len()));
        assert_eq!(got[1], ("lagged".to_string(), "1".to_string()));
    }

    #[test]
    fn an_oversized_sse_line_or_event_fails_instead_of_growing() {
        let mut p = SseParser::new(16);
        p.push(&[b'x'; 40]);
        assert!(p.next().is_err());
        let mut p = SseParser::new(16);
        for _ in 0..4 {
            p.push(b"data: 0123456\n");
        }
        assert!(p.next().is_err());
    }

    #[test]
    fn error_bodies_become_typed_errors() {
        let e = api_error(
            409,
            br#"{"error":{"code":"stale_nonce","message":"nonce 3 used"}}"#,
        );
        assert_eq!(e.code(), Some("stale_nonce"));
        assert_eq!(e.status(), Some(409));
        assert!(e.to_string().contains("nonce 3 used"));
        let e = api_error(502, b"<html>Bad gateway</html>");
        assert_eq!(e.code(), Some("http_502"));
        assert!(e.is_retryable());
        assert!(!api_error(400, b"").is_retryable());
    }

    #[test]
    fn base_urls_are_checked_and_paths_join() {
        let c = Client::new("http://127.0.0.1:8080/", Auth::Token("t".into())).unwrap();
        assert_eq!(
            c.url("/v1/status").unwrap().as_str(),
            "http://127.0.0.1:8080/v1/status"
        );
        let c = Client::new("http://h:1/api/", Auth::Token("t".into())).unwrap();
        assert_eq!(
            c.url("/v1/orgs").unwrap().as_str(),
            "http://h:1/api/v1/orgs"
        );
        assert!(c.url("v1/orgs").is_err());
        for bad in ["ftp://h/", "not a url", "http://h/?x=1"] {
            assert!(Client::new(bad, Auth::Token("t".into())).is_err(), "{bad}");
        }
        assert!(Client::new("http://h/", Auth::Token(" ".into())).is_err());
    }
}
