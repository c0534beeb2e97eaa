//! The HTTP side: routes, login, pages, CSV export, the verify API and the live stream.
//! Every page and export takes its data through [`crate::vis`]; the node token is never
//! sent to the browser.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use futures::StreamExt;
use lianrong_contracts::DocKind;
use lianrong_primitives::Hash;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::{broadcast, Semaphore};

use crate::auth::{new_token, Auth, LoginError, Session};
use crate::config::ExplorerConfig;
use crate::index::{BlockRow, Follower, Index, IndexData, LiveUpdate, TxRecord};
use crate::node::{paths, Doc, NodeApi, NodeError, SdkNode};
use crate::pages::{fields, filters, layout, table};
use crate::store::sql::Spec;
use crate::store::Store;
use crate::views::{self, ListQuery, Table};
use crate::vis::{self, Viewer};
use crate::{governance, lineage, money, vectors, warehouse};

mod docs;
mod lists;
use lists::ListKind;

/// Session cookie name.
pub const COOKIE: &str = "lr_session";
/// CSRF cookie name (double submit: its value must come back in the form's `csrf` field).
pub const CSRF_COOKIE: &str = "lr_csrf";
/// What a POST without a matching CSRF token is told.
const CSRF_REFUSED: &str =
    "this form expired or did not come from this site: reload the page and try again";
/// What a login finding every password check slot busy is told.
const LOGINS_BUSY: &str = "too many logins in progress, try again in a moment";
/// Most browsers following the live stream at once.
pub const MAX_LIVE_CLIENTS: usize = 256;
/// Largest request body (login form).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

#[derive(Clone)]
struct AppState {
    node: Arc<dyn NodeApi>,
    index: Arc<Index>,
    /// The index's database: list pages, CSVs and risk views read it.
    store: Store,
    auth: Arc<Auth>,
    updates: broadcast::Sender<Arc<LiveUpdate>>,
    live_clients: Arc<AtomicUsize>,
    /// Password checks (argon2) that may run at once.
    login_slots: Arc<Semaphore>,
    secure_cookies: bool,
    /// The trust root from the pinned genesis file, if the config names one.
    genesis: Option<Arc<GenesisTrust>>,
    /// The cost report's reference rate (config `reference_rate`, `reference_label`).
    reference: Option<crate::pricing::Reference>,
}

/// What the browser's verifier trusts, read from the genesis file the config pins: the
/// chain id and the validator keys of epoch 0, in index order; and the same trust root as
/// the SDK's verifier takes it (the lineage's history proofs are checked here with it).
struct GenesisTrust {
    chain_id: String,
    validators: Vec<String>,
    root: lianrong_sdk::TrustRoot,
}

/// A bound explorer, ready to serve (its address is known, so tests can use port 0).
pub struct Explorer {
    listener: crate::https::Listening,
    router: Router,
    follower: Arc<Follower>,
    addr: SocketAddr,
}

impl Explorer {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Follows the node and serves until `shutdown` completes. A follower that panics
    /// ends this with an error: serving a frozen index as if it were current would show
    /// users a stale ledger, while a process that exits is restarted by its supervisor
    /// and resumes from the store's height. (A follower that stops on a permanent error,
    /// a database of another chain, returns normally: the dashboard says why.)
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let mut follower = tokio::spawn(self.follower.clone().run());
        let serve = crate::https::serve(self.listener, self.router, shutdown);
        tokio::pin!(serve);
        tokio::select! {
            r = &mut serve => {
                follower.abort();
                r.map_err(anyhow::Error::from)
            }
            ended = &mut follower => match ended {
                Err(e) if e.is_panic() => Err(anyhow::anyhow!(
                    "the explorer's follower panicked ({}); exiting so that a restart \
                     resumes indexing from the database's height",
                    panic_message(e.into_panic().as_ref())
                )),
                _ => serve.await.map_err(anyhow::Error::from),
            },
        }
    }
}

/// The text a panic was raised with, if it was raised with text.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}

/// Binds the configured address and connects to the configured node (through the SDK
/// client with the config's token and TLS settings).
pub async fn bind(config: ExplorerConfig) -> anyhow::Result<Explorer> {
    let node = SdkNode::with_client(crate::https::node_client(&config)?);
    bind_with_node(config, Arc::new(node)).await
}

/// [`bind`] over any [`NodeApi`] (tests use a fake): opens the config's database (an
/// in-memory one if it names none), brings its schema up to date and reads the index
/// from it, so pages serve what it holds at once and the follower continues from its
/// last height.
pub async fn bind_with_node(
    config: ExplorerConfig,
    node: Arc<dyn NodeApi>,
) -> anyhow::Result<Explorer> {
    config.validate().map_err(anyhow::Error::msg)?;
    let url = config.database.as_deref().unwrap_or(crate::store::MEMORY);
    let store = Store::open(url).await?;
    let index = Arc::new(Index::with_data(
        store.load_index(config.max_index_docs).await?,
    ));
    let (state, follower) = app_state(&config, node, store, index)?;
    let (listener, addr) = crate::https::listen(&config).await?;
    Ok(Explorer {
        listener,
        router: router(state),
        follower,
        addr,
    })
}

/// The shared state of a validated config over `node`, and the follower feeding it.
fn app_state(
    config: &ExplorerConfig,
    node: Arc<dyn NodeApi>,
    store: Store,
    index: Arc<Index>,
) -> anyhow::Result<(AppState, Arc<Follower>)> {
    let genesis = match &config.genesis {
        Some(p) => {
            let root = lianrong_sdk::TrustRoot::from_genesis_file(p)?;
            Some(Arc::new(GenesisTrust {
                validators: root
                    .validators
                    .validators()
                    .iter()
                    .map(|v| v.key.to_hex())
                    .collect(),
                chain_id: root.chain_id.clone(),
                root,
            }))
        }
        None => None,
    };
    let (updates, _) = broadcast::channel(256);
    let follower = Arc::new(Follower::new(
        node.clone(),
        index.clone(),
        store.clone(),
        updates.clone(),
    ));
    let state = AppState {
        node,
        index,
        store,
        auth: Arc::new(Auth::new(config)),
        updates,
        live_clients: Arc::new(AtomicUsize::new(0)),
        login_slots: Arc::new(Semaphore::new(config.max_concurrent_logins)),
        secure_cookies: config.secure_cookies,
        genesis,
        reference: config.reference(),
    };
    Ok((state, follower))
}

/// Binds, follows the node and serves until `shutdown`.
pub async fn serve(
    config: ExplorerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let https = config.tls.is_some();
    let e = bind(config).await?;
    tracing::info!(addr = %e.local_addr(), https, "explorer listening");
    e.run(shutdown).await
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/static/{file}", get(static_file))
        .route("/", get(dashboard))
        .route("/blocks", get(blocks))
        .route("/blocks/{height}", get(block))
        .route("/txs", get(txs))
        .route("/tx/{hash}", get(tx))
        .route("/orgs", get(orgs))
        .route("/orgs/{id}", get(org))
        .route("/orders", get(orders))
        .route("/orders/{id}", get(order))
        .route("/shipments/{id}", get(shipment))
        .route("/invoices", get(invoices))
        .route("/invoices/{id}", get(invoice))
        .route("/receivables", get(receivables))
        .route("/receivables/{id}", get(receivable))
        .route("/financings", get(financings))
        .route("/financings/{id}", get(financing))
        .route("/offers/{id}", get(offer))
        .route("/settlements", get(settlements))
        .route("/settlements/{id}", get(settlement))
        .route("/warehouse", get(warehouse_receipts))
        .route("/warehouse/{id}", get(warehouse_receipt))
        .route("/programmes", get(programmes))
        .route("/programmes/{id}", get(programme))
        .route("/loans", get(loans))
        .route("/loans/margin-calls", get(margin_calls))
        .route("/loans/{id}", get(loan))
        .route("/governance", get(proposals))
        .route("/governance/{id}", get(proposal))
        .route("/risk/{view}", get(risk))
        .route("/search", get(search))
        .route("/api/verify/block/{height}", get(verify_block))
        .route("/api/verify/doc/{kind}/{id}", get(verify_doc))
        .route("/live", get(live))
        .layer(axum::middleware::map_response(security_headers))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

/// The logged-in user of a request; anything else is sent to the login page.
struct Sess(Session, String);

impl FromRequestParts<AppState> for Sess {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let jar = CookieJar::from_headers(&parts.headers);
        let id = jar
            .get(COOKIE)
            .map(|c| c.value().to_string())
            .unwrap_or_default();
        match state.auth.session(&id, Instant::now()) {
            Some(s) => Ok(Sess(s, id)),
            None if parts.uri.path().starts_with("/api/") || parts.uri.path() == "/live" => {
                Err((StatusCode::UNAUTHORIZED, "log in first").into_response())
            }
            None => Err(Redirect::to("/login").into_response()),
        }
    }
}

fn page(title: &str, s: &Session, body: Markup) -> Response {
    layout(title, Some(s), true, body).into_response()
}

fn not_found(s: &Session, what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        layout(
            "Not found",
            Some(s),
            false,
            html! { p { (what) " was not found." } },
        ),
    )
        .into_response()
}

fn node_error(s: &Session, e: &NodeError) -> Response {
    match e {
        NodeError::NotFound(_) => not_found(s, "That"),
        e => (
            StatusCode::BAD_GATEWAY,
            layout(
                "Node unavailable",
                Some(s),
                false,
                html! { p class="error" { (e.to_string()) } },
            ),
        )
            .into_response(),
    }
}

// ---------- static files ----------

async fn static_file(Path(file): Path<String>) -> Response {
    let (body, ctype): (&'static str, &str) = match file.as_str() {
        "verify.js" => (
            include_str!("../static/verify.js"),
            "text/javascript; charset=utf-8",
        ),
        "app.js" => (
            include_str!("../static/app.js"),
            "text/javascript; charset=utf-8",
        ),
        "style.css" => (
            include_str!("../static/style.css"),
            "text/css; charset=utf-8",
        ),
        "vectors.json" => (vectors::VECTORS_JSON, "application/json"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

// ---------- login ----------

#[derive(Deserialize, Default)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// A form whose only field is its CSRF token (log-out).
#[derive(Deserialize, Default)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// True for a token as [`new_token`] makes them (64 lowercase hex digits).
fn well_formed_token(t: &str) -> bool {
    t.len() == 64 && t.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Equal non-empty strings, compared in time independent of where they differ.
fn same_token(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.is_empty() || a.len() != b.len() {
        return false;
    }
    let diff = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| std::hint::black_box(acc | (x ^ y)));
    diff == 0
}

/// The double-submit check: the CSRF cookie and the form's field both present and equal.
fn csrf_ok(jar: &CookieJar, field: &str) -> bool {
    jar.get(CSRF_COOKIE)
        .is_some_and(|c| same_token(c.value(), field))
}

/// The CSRF cookie carrying `token` (HttpOnly, SameSite=Strict, Secure unless configured
/// off, like the session cookie).
fn csrf_cookie(st: &AppState, token: String) -> Cookie<'static> {
    Cookie::build((CSRF_COOKIE, token))
        .http_only(true)
        .secure(st.secure_cookies)
        .same_site(SameSite::Strict)
        .path("/")
        .build()
}

/// The browser's CSRF token if it has a well-formed one, else a new one.
fn page_token(jar: &CookieJar) -> String {
    jar.get(CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|t| well_formed_token(t))
        .unwrap_or_else(new_token)
}

fn login_form(csrf: &str, error: Option<&str>) -> Markup {
    layout(
        "Log in",
        None,
        false,
        html! {
            @if let Some(e) = error { p class="error" id="login-error" { (e) } }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(csrf);
                p { label { "Username " input name="username" id="username" autocomplete="username" required; } }
                p { label { "Password " input name="password" id="password" type="password" autocomplete="current-password" required; } }
                p { button type="submit" id="login" { "Log in" } }
            }
        },
    )
}

/// The login page with `status`, carrying `token` in its form and its CSRF cookie.
fn login_reply(
    st: &AppState,
    jar: CookieJar,
    token: String,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let form = login_form(&token, error);
    (status, jar.add(csrf_cookie(st, token)), form).into_response()
}

async fn login_page(State(st): State<AppState>, jar: CookieJar) -> Response {
    let token = page_token(&jar);
    login_reply(&st, jar, token, StatusCode::OK, None)
}

async fn login(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    // An unreadable form has no token either: refused like a missing one.
    let f = form.map(|Form(f)| f).unwrap_or_default();
    if !csrf_ok(&jar, &f.csrf) {
        let token = page_token(&jar);
        return login_reply(&st, jar, token, StatusCode::FORBIDDEN, Some(CSRF_REFUSED));
    }
    let token = f.csrf.clone();
    let reply = |jar, status, msg: &str| login_reply(&st, jar, token.clone(), status, Some(msg));
    if f.username.len() > 256 || f.password.len() > 1024 {
        return reply(jar, StatusCode::BAD_REQUEST, "too long");
    }
    // Locked clients are refused before taking a password check slot.
    if let Err(e) = st.auth.check(&f.username, peer.ip(), Instant::now()) {
        return reply(jar, StatusCode::TOO_MANY_REQUESTS, &e.to_string());
    }
    let Ok(slot) = st.login_slots.clone().try_acquire_owned() else {
        return reply(jar, StatusCode::SERVICE_UNAVAILABLE, LOGINS_BUSY);
    };
    let auth = st.auth.clone();
    let res = tokio::task::spawn_blocking(move || {
        // The slot is held until argon2 is done, even if the client went away.
        let _slot = slot;
        auth.login(&f.username, &f.password, peer.ip(), Instant::now())
    })
    .await;
    match res {
        Ok(Ok(opened)) => {
            let cookie = Cookie::build((COOKIE, opened.id))
                .http_only(true)
                .secure(st.secure_cookies)
                .same_site(SameSite::Strict)
                .path("/")
                .build();
            // A fresh CSRF token for the session's forms.
            let jar = jar.add(cookie).add(csrf_cookie(&st, opened.csrf));
            (jar, Redirect::to("/")).into_response()
        }
        Ok(Err(e @ LoginError::Locked(_))) => {
            reply(jar, StatusCode::TOO_MANY_REQUESTS, &e.to_string())
        }
        Ok(Err(e)) => reply(jar, StatusCode::UNAUTHORIZED, &e.to_string()),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn logout(
    State(st): State<AppState>,
    jar: CookieJar,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let f = form.map(|Form(f)| f).unwrap_or_default();
    if !csrf_ok(&jar, &f.csrf) {
        let body = html! {
            p class="error" id="csrf-error" { (CSRF_REFUSED) }
            p { a href="/" { "Back" } }
        };
        return (StatusCode::FORBIDDEN, layout("Log out", None, false, body)).into_response();
    }
    if let Some(c) = jar.get(COOKIE) {
        st.auth.logout(c.value());
    }
    let gone = Cookie::build((COOKIE, "")).path("/").build();
    (jar.remove(gone), Redirect::to("/login")).into_response()
}

// ---------- dashboard ----------

fn throughput_svg(d: &IndexData) -> Markup {
    let blocks: Vec<_> = d
        .blocks
        .values()
        .rev()
        .take(60)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let max = blocks.iter().map(|b| b.tx_count).max().unwrap_or(0).max(1);
    let (w, h) = (600i64, 120i64);
    let bw = if blocks.is_empty() {
        10
    } else {
        (w / blocks.len() as i64).max(2)
    };
    html! {
        svg id="throughput-chart" width=(w) height=(h + 20) viewBox=(format!("0 0 {w} {}", h + 20)) role="img" aria-label="transactions per block" {
            rect x="0" y="0" width=(w) height=(h) fill="#fff" stroke="#d0d7de" {}
            @for (i, b) in blocks.iter().enumerate() {
                @let bh = (b.tx_count as i64 * (h - 10)) / max as i64;
                rect x=(i as i64 * bw) y=(h - bh) width=((bw - 1).max(1)) height=(bh) fill="#0b3d5c" {
                    title { "block " (b.height) ": " (b.tx_count) " txs" }
                }
            }
            text x="4" y=(h + 15) font-size="11" { "transactions per block, last " (blocks.len()) " blocks (max " (max) ")" }
        }
    }
}

fn finality_svg(d: &IndexData) -> Markup {
    let blocks: Vec<_> = d
        .blocks
        .values()
        .rev()
        .take(61)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let gaps: Vec<(u64, u64)> = blocks
        .windows(2)
        .map(|w| (w[1].height, w[1].time_ms.saturating_sub(w[0].time_ms)))
        .collect();
    let max = gaps.iter().map(|g| g.1).max().unwrap_or(0).max(1);
    let (w, h) = (600i64, 120i64);
    let step = if gaps.len() > 1 {
        w / (gaps.len() as i64 - 1)
    } else {
        w
    };
    let points: String = gaps
        .iter()
        .enumerate()
        .map(|(i, g)| {
            format!(
                "{},{} ",
                i as i64 * step,
                h - (g.1 as i64 * (h - 10)) / max as i64
            )
        })
        .collect();
    html! {
        svg id="finality-chart" width=(w) height=(h + 20) viewBox=(format!("0 0 {w} {}", h + 20)) role="img" aria-label="time between finalized blocks" {
            rect x="0" y="0" width=(w) height=(h) fill="#fff" stroke="#d0d7de" {}
            polyline points=(points) fill="none" stroke="#1a7f37" stroke-width="2" {}
            text x="4" y=(h + 15) font-size="11" { "ms between finalized blocks (max " (max) " ms)" }
        }
    }
}

async fn dashboard(State(st): State<AppState>, Sess(s, _): Sess) -> Response {
    // Counted in SQL over every stored document; the charts and liveness read the newest
    // blocks, which the cache always holds.
    let counts = docs::visible_counts(&st, &s.viewer).await;
    let body = st.index.read(|d| {
        let recent: Vec<_> = d.blocks.values().rev().take(20).collect();
        let last = d.blocks.values().next_back();
        html! {
            div class="cards" {
                div class="card" { div class="muted" { "height" } div class="big" id="live-height" { (d.height) } }
                div class="card" { div class="muted" { "last block time" } div id="live-time" { (last.map(|b| fmt_time(b.time_ms)).unwrap_or_default()) } }
                div class="card" { div class="muted" { "node finalized last at" } div id="last-finality" { (d.node.as_ref().map_or_else(|| "-".into(), |n| fmt_time(n.last_finalized_at_ms))) } }
                div class="card" { div class="muted" { "chain" } div { (d.node.as_ref().map_or("-", |n| n.chain_id.as_str())) } }
                div class="card" { div class="muted" { "you can see" } div id="you-can-see" {
                    @match &counts {
                        Ok((invoices, receivables, txs)) => { (invoices) " invoices, " (receivables) " receivables, " (txs) " txs" }
                        Err(e) => { "the index's database could not be read: " (e) }
                    }
                } }
            }
            p class="muted" id="live-status" { "waiting for the next block..." }
            @if let Some(e) = &d.last_error { p class="error" id="follow-error" { "following the node: " (e) } }
            @if let Some(e) = &d.event_error { p class="error" id="event-error" { "node event stream: " (e) } }
            @if let Some(why) = d.store_incomplete() { p class="error" id="incomplete" { "Incomplete, totals may be short: " (why) } }
            h2 { "Validators" }
            table id="validators" {
                thead { tr { th { "#" } th { "org" } th { "node key" } th { "signed (last " (recent.len()) " blocks)" } th { "last signed" } th { "liveness" } } }
                tbody {
                    @for (i, v) in d.node.iter().flat_map(|n| &n.validators).enumerate() {
                        @let signed = recent.iter().filter(|b| b.signed_by(i as u64)).count();
                        @let last_signed = d.last_signed(i as u64);
                        tr {
                            td { (i) }
                            td { (v.org) }
                            td { (v.node_key.to_hex().chars().take(16).collect::<String>()) "..." }
                            td { (signed) }
                            td { (last_signed.map(|h| h.to_string()).unwrap_or_else(|| "-".into())) }
                            td { @if recent.is_empty() || signed > 0 { "live" } @else { "silent" } }
                        }
                    }
                }
            }
            h2 { "Throughput" } (throughput_svg(d))
            h2 { "Finality" } (finality_svg(d))
            h2 { "Live" }
            ul id="live-feed" {}
        }
    });
    page("Dashboard", &s, body)
}

fn fmt_time(ms: u64) -> String {
    if ms == 0 {
        return "-".into();
    }
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

// ---------- lists ----------

fn list_response(
    s: &Session,
    title: &str,
    path: &str,
    q: &ListQuery,
    t: Table,
    ladder: bool,
) -> Response {
    if q.format.as_deref() == Some("csv") {
        return match t.to_csv() {
            Ok(csv) => {
                let name = path.trim_start_matches('/').replace('/', "-");
                (
                    [
                        (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                        (
                            header::CONTENT_DISPOSITION,
                            format!("attachment; filename=\"{name}.csv\""),
                        ),
                    ],
                    csv,
                )
                    .into_response()
            }
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        };
    }
    if q.partial.as_deref() == Some("1") {
        return table(&t).into_response();
    }
    let mut csv_q = q.clone();
    csv_q.format = Some("csv".into());
    csv_q.partial = None;
    let csv_href = format!("{path}?{}", query_string(&csv_q));
    let next = t
        .page
        .as_ref()
        .filter(|_| t.truncated)
        .and_then(|at| Some(next_page_href(path, q, at.next.as_deref()?, at.number)));
    let first = t
        .page
        .as_ref()
        .filter(|at| !at.first)
        .map(|_| first_page_href(path, q));
    page(
        title,
        s,
        html! {
            (filters(path, q, &csv_href, ladder))
            div id="live-table" { (table(&t)) }
            @if next.is_some() || first.is_some() {
                p {
                    @if let Some(href) = first { a id="first-page" href=(href) { "First page" } " " }
                    @if let Some(href) = next { a id="next-page" href=(href) { "Next page" } }
                }
            }
        },
    )
}

/// The first page of list `path` under `q`'s filters.
fn first_page_href(path: &str, q: &ListQuery) -> String {
    match query_string(q) {
        qs if qs.is_empty() => path.to_string(),
        qs => format!("{path}?{qs}"),
    }
}

/// The page of list `path` under `q`'s filters after the row keyed `after`, numbered
/// after page `number` when known: walked by key, so any page costs one page.
fn next_page_href(path: &str, q: &ListQuery, after: &str, number: Option<u64>) -> String {
    let mut href = first_page_href(path, q);
    href.push(if href.contains('?') { '&' } else { '?' });
    href.push_str(&format!("after={}", url_encode(after)));
    if let Some(n) = number {
        href.push_str(&format!("&page={}", n.saturating_add(1)));
    }
    href
}

fn query_string(q: &ListQuery) -> String {
    let mut parts = Vec::new();
    for (k, v) in [
        ("q", &q.q),
        ("status", &q.status),
        ("org", &q.org),
        ("from", &q.from),
        ("to", &q.to),
        ("by", &q.by),
        ("debtor", &q.debtor),
        ("payee", &q.payee),
        ("format", &q.format),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            parts.push(format!("{k}={}", url_encode(v)));
        }
    }
    parts.join("&")
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn blocks(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Query(q): Query<ListQuery>,
) -> Response {
    lists::store_list(&st, &s, &q, ListKind::Blocks, "Blocks", "/blocks").await
}
async fn txs(State(st): State<AppState>, Sess(s, _): Sess, Query(q): Query<ListQuery>) -> Response {
    lists::store_list(&st, &s, &q, ListKind::Txs, "Transactions", "/txs").await
}
async fn orgs(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Query(q): Query<ListQuery>,
) -> Response {
    match lists::orgs_kind(&st, &s.viewer).await {
        Ok(kind) => lists::store_list(&st, &s, &q, kind, "Organisations", "/orgs").await,
        Err(e) => page(
            "Organisations",
            &s,
            html! { p class="error" { "The index's database could not be read: " (e) } },
        ),
    }
}
async fn orders(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Query(q): Query<ListQuery>,
) -> Response {
    let kind = ListKind::Docs(Spec::ORDERS, views::orders);
    lists::store_list(&st, &s, &q, kind, "Orders", "/orders").await
}
async fn invoices(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Query(q): Query<ListQuery>,
) -> Response {
    let kind = ListKind::Docs(Spec::INVOICES, views::invoices);
    lists::store_list(&st, &s, &q, kind, "Invoices", "/invoices").await
}
async fn receivables(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Query(q): Query<ListQuery>,
) -> Response {
    let kind = ListKind::Docs(Spec::RECEIVABLES, views::receivables);
    lists::store_list(&st, &s, &q, kind, "Receivables", "/receivables").await
}
async fn financings(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Query(q): Query<ListQuery>,
) -> Response {
    let kind = ListKind::Docs(Spec::FINANCINGS, views::financings);
    lists::store_list(&st, &s, &q, kind, "Financings", "/financings").await
}
async fn settlements(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Query(q): Query<ListQuery>,
) -> Response {
    let kind = ListKind::Docs(Spec::SETTLEMENTS, money::settlements);
    lists::store_list(&st, &s, &q, kind, "Settlements", "/settlements").await
}
async fn warehouse_receipts(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Query(q): Query<ListQuery>,
) -> Response {
    let (title, kind) = ("Warehouse receipts", ListKind::Receipts);
    lists::store_list(&st, &s, &q, kind, title, "/warehouse").await
}
async fn proposals(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Query(q): Query<ListQuery>,
) -> Response {
    let (title, kind) = ("Governance proposals", ListKind::Proposals);
    lists::store_list(&st, &s, &q, kind, title, "/governance").await
}
/// A list the node answers when asked (programmes, loans, limits, held actions): its
/// table from the items read, saying what the node left out, or an empty table saying
/// the node could not be read (`what`) -- on the page and in its CSV, never shown short.
fn node_table<T>(
    read: Result<(Vec<T>, Option<String>), NodeError>,
    what: &str,
    table: fn(Vec<T>, &Viewer, &ListQuery) -> Table,
    v: &Viewer,
    q: &ListQuery,
) -> Table {
    match read {
        Ok((items, incomplete)) => {
            let mut t = table(items, v, q);
            t.incomplete = incomplete;
            t
        }
        Err(e) => {
            let mut t = table(vec![], v, q);
            t.incomplete = Some(format!("the node's {what} could not be read: {e}"));
            t
        }
    }
}

/// Programmes with their terms and utilisation, read from the node when asked (like the
/// limits).
async fn programmes(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Query(q): Query<ListQuery>,
) -> Response {
    let read = crate::programmes::fetch(st.node.as_ref()).await;
    let t = node_table(read, "programmes", crate::programmes::table, &s.viewer, &q);
    let title = "Supply-chain finance programmes";
    list_response(&s, title, "/programmes", &q, t, false)
}

/// Loans against warehouse receipts with today's value, LTV and margin call, read from
/// the node when asked.
async fn loans(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Query(q): Query<ListQuery>,
) -> Response {
    let read = crate::loans::fetch(st.node.as_ref()).await;
    let t = node_table(read, "loans", crate::loans::table, &s.viewer, &q);
    let title = "Loans against warehouse receipts";
    list_response(&s, title, "/loans", &q, t, false)
}

/// One loan: its terms, today's figures and its receipts, if the viewer may see it.
async fn loan(State(st): State<AppState>, Sess(s, _): Sess, Path(id): Path<String>) -> Response {
    let items = match crate::loans::fetch(st.node.as_ref()).await {
        Ok((items, _)) => items,
        Err(e) => return node_error(&s, &e),
    };
    let found = items.into_iter().find(|l| l.loan.id.as_str() == id);
    match found.and_then(|l| vis::one(&s.viewer, l)) {
        Some(l) => {
            // The LTV over time, from the loan's events and its bank's prices the store
            // holds.
            let status = docs::status_data(&st);
            let (series, note) = crate::loans::series_from_store(&st.store, &status, &l.loan).await;
            let body = crate::loans::detail(&l, &series, note.as_deref());
            page(&format!("Loan {id}"), &s, body)
        }
        None => not_found(&s, &format!("Loan {id}")),
    }
}

/// Open margin calls by cure deadline with the days left, read from the node when asked.
async fn margin_calls(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Query(q): Query<ListQuery>,
) -> Response {
    let read = crate::loans::fetch(st.node.as_ref()).await;
    let t = node_table(read, "loans", crate::loans::margin_calls, &s.viewer, &q);
    let title = "Margin calls and their cure deadlines";
    list_response(&s, title, "/loans/margin-calls", &q, t, false)
}

/// One programme: its terms, grid, suppliers and utilisation, if the viewer may see it.
async fn programme(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Path(id): Path<String>,
) -> Response {
    let items = match crate::programmes::fetch(st.node.as_ref()).await {
        Ok((items, _)) => items,
        Err(e) => return node_error(&s, &e),
    };
    let found = items.into_iter().find(|p| p.programme.id.as_str() == id);
    match found.and_then(|p| vis::one(&s.viewer, p)) {
        Some(p) => page(
            &format!("Programme {id}"),
            &s,
            crate::programmes::detail(&p),
        ),
        None => not_found(&s, &format!("Programme {id}")),
    }
}

async fn risk(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Path(view): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    let today = views::business_today();
    let path = format!("/risk/{view}");
    let (title, t) = match view.as_str() {
        "ladder" => (
            "Maturity ladder",
            lists::ladder(&st, &s.viewer, &q, today).await,
        ),
        // Financings at risk, aged; `?by=receivable` lists the overdue receivables.
        "overdue" if q.by.as_deref() != Some("receivable") => (
            "Overdue and written-off financings by bank and debtor, aged by days past due",
            lists::overdue_ageing(&st, &s.viewer, &q).await,
        ),
        "overdue" => {
            let kind = ListKind::Overdue(today);
            return lists::store_list(&st, &s, &q, kind, "Overdue receivables", &path).await;
        }
        "exposure" => (
            "Exposure by core enterprise and bank",
            lists::exposure(&st, &s.viewer, &q).await,
        ),
        "disbursements" => {
            let kind = ListKind::Docs(Spec::DISBURSED, money::disbursements);
            let title = "Disbursements unacknowledged, disputed or lapsed";
            return lists::store_list(&st, &s, &q, kind, title, &path).await;
        }
        "cost" => (
            "All-in cost of disbursed financings to suppliers, net-weighted, beside the reference rate",
            lists::cost(&st, &s.viewer, &q, st.reference.as_ref()).await,
        ),
        "tenor" => {
            let flag = st
                .index
                .read(|d| d.node.as_ref().map(|n| i64::from(n.params.flag_tenor_days)));
            let title = "Receivables with tenor over the network's flag (flag_tenor_days), from the root's issue date";
            return lists::store_list(&st, &s, &q, ListKind::Tenor(flag), title, &path).await;
        }
        "limits" => ("Credit limits and their use", limits_table(&st, &s.viewer, &q).await),
        "approvals" => (
            "Actions held for a second key (dual control): who made and approved them",
            approvals_table(&st, &s.viewer, &q).await,
        ),
        _ => return not_found(&s, "That view"),
    };
    list_response(&s, title, &path, &q, t, view == "ladder")
}

/// The limits risk view: read from the node when asked (the ledger keeps the counters).
async fn limits_table(st: &AppState, viewer: &Viewer, q: &ListQuery) -> Table {
    let read = crate::limits::fetch(st.node.as_ref()).await;
    node_table(read, "limits", crate::limits::table, viewer, q)
}

/// The dual-control view: read from the node when asked, like the limits.
async fn approvals_table(st: &AppState, viewer: &Viewer, q: &ListQuery) -> Table {
    let read = crate::approvals::fetch(st.node.as_ref()).await;
    node_table(read, "held actions", crate::approvals::table, viewer, q)
}

// ---------- details ----------

/// A document by kind and id: from the store (every indexed document, whatever the
/// cache holds), else from the node; `None` if missing OR not visible to the viewer (the
/// same answer on purpose), else as the viewer may see it, with the data its page is
/// shown through ([`docs::page_data`]).
async fn visible_doc(
    st: &AppState,
    v: &Viewer,
    kind: DocKind,
    id: &str,
) -> Result<Option<(Doc, IndexData)>, NodeError> {
    let Ok(url) = paths::document(kind, id) else {
        return Ok(None);
    };
    let doc = match docs::stored_doc(st, kind, id).await {
        Some(doc) => doc,
        None => match st.node.document(kind, id).await {
            Ok(doc) => doc,
            Err(NodeError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        },
    };
    if doc.kind() != kind || doc.id() != id {
        let why = format!("the node answered {} {}", doc.kind(), doc.id());
        return Err(NodeError::decode(&url, why));
    }
    let data = docs::page_data(st, &doc).await;
    Ok(docs::shown(st, &data, v, doc).await.map(|doc| (doc, data)))
}

/// The indexed document `id` of `kind`, if any.
fn indexed_doc(d: &IndexData, kind: DocKind, id: &str) -> Option<Doc> {
    match kind {
        DocKind::Org => d.orgs.get(id).cloned().map(Doc::Org),
        DocKind::Order => d.orders.get(id).cloned().map(Doc::Order),
        DocKind::Shipment => d.shipments.get(id).cloned().map(Doc::Shipment),
        DocKind::Invoice => d.invoices.get(id).cloned().map(Doc::Invoice),
        DocKind::Receivable => d.receivables.get(id).cloned().map(Doc::Receivable),
        DocKind::Financing => d.financings.get(id).cloned().map(Doc::Financing),
        DocKind::Offer => d.offers.get(id).cloned().map(Doc::Offer),
        DocKind::Settlement => d.settlements.get(id).cloned().map(Doc::Settlement),
        DocKind::Proposal => d.proposals.get(id).cloned().map(Doc::Proposal),
        DocKind::WarehouseReceipt => d
            .warehouse_receipts
            .get(id)
            .cloned()
            .map(Doc::WarehouseReceipt),
        _ => None,
    }
}

/// `doc` as `v` may see it, or `None`.
fn shown_doc(d: &IndexData, v: &Viewer, doc: Doc) -> Option<Doc> {
    match doc {
        Doc::Org(o) => vis::orgs(v, &d.counterparties(&v.reader()), [o])
            .pop()
            .map(Doc::Org),
        Doc::Order(x) => vis::one(v, x).map(Doc::Order),
        Doc::Invoice(x) => vis::one(v, x).map(Doc::Invoice),
        Doc::Receivable(x) => vis::one(v, x).map(Doc::Receivable),
        Doc::Financing(x) => vis::one(v, x).map(Doc::Financing),
        Doc::Shipment(x) => vis::one(v, d.shipment_view(&x)).map(|sv| Doc::Shipment(sv.shipment)),
        Doc::Offer(x) => vis::one(v, d.offer_view(&x)).map(|ov| Doc::Offer(ov.offer)),
        Doc::Settlement(x) => vis::one(v, x).map(Doc::Settlement),
        Doc::Proposal(x) => vis::proposal(v, &governance::validator_orgs(d), x).map(Doc::Proposal),
        Doc::WarehouseReceipt(x) => vis::one(v, x).map(Doc::WarehouseReceipt),
    }
}

fn verify_buttons(kind: DocKind, id: &str) -> Markup {
    html! {
        h2 { "Verify in your browser" }
        p class="muted" { "Checks, with this browser's WebCrypto and trusting only the genesis validators: the validator sets from genesis to now (each change certified by the set before it), the header of a finalized block hashed here and its commit certificate (a quorum of Ed25519 signatures of its epoch's set), and the Merkle proof of this document's state key, computed here, against the state root that header certifies (validators vote only for roots they computed themselves)." }
        button type="button" id="verify-doc" data-verify-doc="1" data-kind=(kind.as_str()) data-id=(id) { "Verify this " (kind.as_str()) }
        " "
        button type="button" id="verify-doc-tampered" data-verify-doc="1" data-tamper="1" data-kind=(kind.as_str()) data-id=(id) { "Verify a tampered copy" }
        div id="verify-result" {}
    }
}

/// The trust root the lineage's history proofs are checked from: the pinned genesis, else
/// the validator set the node reports (`lineage::check_history` says "cannot be proven"
/// once a proof carries a validator-set change), or why there is none.
async fn history_trust(st: &AppState) -> Result<lineage::Trust, String> {
    if let Some(g) = &st.genesis {
        return Ok(lineage::Trust::pinned(g.root.clone()));
    }
    let status = match st.index.read(|d| d.node.clone()) {
        Some(s) => s,
        None => st
            .node
            .status()
            .await
            .map_err(|e| format!("no trust root: the node's status could not be read ({e})"))?,
    };
    lineage::Trust::reported(&status)
}

/// A receivable's lineage picture, each history entry checked against its receivable's
/// history proof (at most `lineage::MAX_HISTORY_PROOFS` receivables per page).
/// Its transactions and trade steps are read from the store, its settlements from
/// `data` (the page's, [`docs::section_data`]).
async fn lineage_section(
    st: &AppState,
    s: &Session,
    (id, root): (&str, &str),
    data: &IndexData,
) -> Markup {
    match st.node.receivable_history(id).await {
        Ok(h) => {
            let trust = history_trust(st).await;
            let proofs = lineage::check_lineage(st.node.as_ref(), id, &h, trust).await;
            let from_store = docs::lineage_data(st, &h).await;
            let steps = lineage::steps(&h, &proofs, &from_store, &s.viewer);
            html! {
                h2 { "Lineage" }
                div class="lineage" { (lineage::svg(&steps)) }
                (money::lineage_settlements(data, &s.viewer, root))
                (lineage::proofs_table(&h, &proofs, &s.viewer))
            }
        }
        Err(e) => html! { p class="error" { "lineage unavailable: " (e.to_string()) } },
    }
}

/// Most receivables of one invoice, and most financings on them, its page lists (a
/// receivable split into parts keeps its invoice; the ledger bounds the parts far below).
pub(crate) const MAX_INVOICE_ROWS: usize = 1000;

/// Registered once, financed once? Every financing on any receivable born of `inv`, from
/// `d` (the page's: [`docs::section_data`] read them from the store, one past
/// [`MAX_INVOICE_ROWS`]).
fn invoice_section(d: &IndexData, s: &Session, inv: &lianrong_contracts::model::Invoice) -> Markup {
    let mut parts = vis::filter(
        &s.viewer,
        d.receivables
            .values()
            .filter(|r| r.invoice == inv.id)
            .cloned(),
    );
    let mut fins = vis::filter(
        &s.viewer,
        d.financings
            .values()
            .filter(|f| parts.iter().any(|r| r.id == f.receivable))
            .cloned(),
    );
    let cut = parts.len() > MAX_INVOICE_ROWS || fins.len() > MAX_INVOICE_ROWS;
    parts.truncate(MAX_INVOICE_ROWS);
    fins.truncate(MAX_INVOICE_ROWS);
    let live = fins.iter().filter(|f| f.status.is_live()).count();
    html! {
        @if let Some(r) = &inv.receivable {
            p { a id="lineage-link" href=(format!("/receivables/{r}")) { "Receivable " (r) " and its lineage" } }
        }
        h2 { "Registered once, financed once?" }
        p id="fingerprint" {
            "Fingerprint " code { (inv.fingerprint) }
            ": the ledger refuses a second invoice with the same seller tax id, number, date, currency and amount, under any id."
        }
        p id="financing-summary" {
            @if cut { "At least " }
            (parts.len()) " receivables from this invoice, " (fins.len()) " financings, "
            (live) " live (requested, accepted or disbursed)."
        }
        @if cut { p class="error" id="invoice-cut" { "Only the first " (MAX_INVOICE_ROWS) " receivables and financings are read; the receivables and financings lists (q = the invoice) have them all." } }
        ul {
            @for f in &fins {
                li { a href=(format!("/financings/{}", f.id)) { (f.id) } " on " (f.receivable) ": " (serde_json::to_value(f.status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()) }
            }
        }
    }
}

/// Which page of a document's transactions to show (`?txpage=N`, from 1).
#[derive(Debug, Default, Deserialize)]
struct DocQuery {
    txpage: Option<u64>,
}

async fn doc_page(
    st: AppState,
    s: Session,
    (kind, id): (DocKind, String),
    title: &str,
    q: DocQuery,
) -> Response {
    let (doc, data) = match visible_doc(&st, &s.viewer, kind, &id).await {
        Ok(Some(d)) => d,
        Ok(None) => return not_found(&s, &format!("{kind} {id}")),
        Err(e) => return node_error(&s, &e),
    };
    let json = match serde_json::to_value(&doc) {
        Ok(v) => v,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let mut data = data;
    docs::section_data(&st, &s.viewer, &doc, &mut data).await;
    let extra = match &doc {
        Doc::Receivable(r) => {
            let settled = money::receivable_settlements(&data, &s.viewer, r.id.as_str());
            let ids = (id.as_str(), r.root.as_str());
            html! { (settled) (lineage_section(&st, &s, ids, &data).await) }
        }
        Doc::Invoice(inv) => invoice_section(&data, &s, inv),
        Doc::Financing(f) => {
            let sales = match crate::sales::fetch(st.node.as_ref(), f.id.as_str()).await {
                Ok((items, incomplete)) => {
                    crate::sales::section(items, &s.viewer, incomplete.as_deref())
                }
                Err(e) => {
                    let why = format!("the node's sales could not be read: {e}");
                    crate::sales::section(vec![], &s.viewer, Some(&why))
                }
            };
            let money = money::financing_section(&data, &s.viewer, f);
            let overdue = crate::overdue::financing_section(&data, f);
            html! { (money) (overdue) (sales) }
        }
        Doc::Offer(o) => crate::pricing::offer_section(&data, o),
        Doc::Settlement(x) => money::instruction_lines(&data, &s.viewer, x),
        Doc::Proposal(x) => governance::standing_section(&data, x),
        Doc::WarehouseReceipt(x) => warehouse::receipt_section(&data, &s.viewer, x),
        _ => html! {},
    };
    let verify = if kind == DocKind::Shipment {
        html! {}
    } else {
        verify_buttons(kind, &id)
    };
    page(
        &format!("{title} {id}"),
        &s,
        html! {
            (fields(&json))
            (extra)
            (docs::history_section(&st, &s.viewer, kind, &id, q.txpage.unwrap_or(1)).await)
            (verify)
        },
    )
}

async fn org(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Path(id): Path<String>,
    Query(q): Query<DocQuery>,
) -> Response {
    doc_page(st, s, (DocKind::Org, id), "Organisation", q).await
}
async fn order(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Path(id): Path<String>,
    Query(q): Query<DocQuery>,
) -> Response {
    doc_page(st, s, (DocKind::Order, id), "Order", q).await
}
async fn shipment(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Path(id): Path<String>,
    Query(q): Query<DocQuery>,
) -> Response {
    doc_page(st, s, (DocKind::Shipment, id), "Shipment", q).await
}
async fn invoice(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Path(id): Path<String>,
    Query(q): Query<DocQuery>,
) -> Response {
    doc_page(st, s, (DocKind::Invoice, id), "Invoice", q).await
}
async fn receivable(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Path(id): Path<String>,
    Query(q): Query<DocQuery>,
) -> Response {
    doc_page(st, s, (DocKind::Receivable, id), "Receivable", q).await
}
async fn financing(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Path(id): Path<String>,
    Query(q): Query<DocQuery>,
) -> Response {
    doc_page(st, s, (DocKind::Financing, id), "Financing", q).await
}
async fn offer(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Path(id): Path<String>,
    Query(q): Query<DocQuery>,
) -> Response {
    doc_page(st, s, (DocKind::Offer, id), "Offer", q).await
}
async fn settlement(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Path(id): Path<String>,
    Query(q): Query<DocQuery>,
) -> Response {
    doc_page(st, s, (DocKind::Settlement, id), "Settlement", q).await
}
async fn warehouse_receipt(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Path(id): Path<String>,
    Query(q): Query<DocQuery>,
) -> Response {
    doc_page(
        st,
        s,
        (DocKind::WarehouseReceipt, id),
        "Warehouse receipt",
        q,
    )
    .await
}
async fn proposal(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Path(id): Path<String>,
    Query(q): Query<DocQuery>,
) -> Response {
    doc_page(st, s, (DocKind::Proposal, id), "Governance proposal", q).await
}

/// A block and its transactions in block order, from the cache or else the store (which
/// holds every indexed block: the cache keeps only the newest). `None`: not indexed.
async fn block_with_txs(
    st: &AppState,
    height: u64,
) -> Result<Option<(BlockRow, Vec<TxRecord>)>, crate::store::StoreError> {
    let cached = st.index.read(|d| d.blocks.get(&height).cloned());
    let b = match cached {
        Some(b) => b,
        None => match st.store.block(height).await? {
            Some(b) => b,
            None => return Ok(None),
        },
    };
    // The block's size is bounded by consensus (`mempool.max_block_txs`), so is this.
    let mut found: std::collections::HashMap<String, TxRecord> = st.index.read(|d| {
        b.tx_hashes
            .iter()
            .filter_map(|h| d.tx(h).map(|t| (h.clone(), t.clone())))
            .collect()
    });
    let missing: Vec<String> = b
        .tx_hashes
        .iter()
        .filter(|h| !found.contains_key(*h))
        .cloned()
        .collect();
    for t in st.store.txs_by_hash(&missing).await? {
        found.insert(t.hash.clone(), t);
    }
    let txs = b.tx_hashes.iter().filter_map(|h| found.remove(h)).collect();
    Ok(Some((b, txs)))
}

async fn block(State(st): State<AppState>, Sess(s, _): Sess, Path(height): Path<u64>) -> Response {
    let (b, all) = match block_with_txs(&st, height).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(&s, &format!("Block {height}")),
        Err(e) => {
            let body = html! { p class="error" { "The index's database could not be read: " (e) } };
            let page = layout(&format!("Block {height}"), Some(&s), false, body);
            return (StatusCode::INTERNAL_SERVER_ERROR, page).into_response();
        }
    };
    // Every transaction of an indexed block is stored with it; a shortfall is reported,
    // never passed off as other organisations' transactions.
    let unstored = b.tx_hashes.len() - all.len();
    let readable = all.len();
    let txs = vis::filter(&s.viewer, all);
    let hidden = readable - txs.len();
    page(
        &format!("Block {height}"),
        &s,
        html! {
            table class="fields" {
                tr { th { "height" } td { (b.height) } }
                tr { th { "hash" } td id="block-hash" { (b.hash) } }
                tr { th { "parent" } td { @if height > 1 { a href=(format!("/blocks/{}", height - 1)) { (b.parent) } } @else { (b.parent) } } }
                tr { th { "time" } td { (fmt_time(b.time_ms)) } }
                tr { th { "epoch / round" } td { (b.epoch) " / " (b.round) } }
                tr { th { "proposer" } td { (b.proposer) } }
                tr { th { "state root" } td { (b.state_root.as_deref().unwrap_or("none reported")) } }
                tr { th { "certificate signers" } td { @if let Some(signers) = &b.signers { (format!("{signers:?}")) } @else { "no certificate yet" } } }
            }
            h2 { "Transactions" }
            ul {
                @for t in &txs {
                    li { a href=(format!("/tx/{}", t.hash)) { (t.hash) } " " (t.action_name) " by " (t.signer_org) @if !t.ok { " (refused)" } }
                }
            }
            @if hidden > 0 { p class="muted" id="hidden-txs" { (hidden) " transactions of other organisations are not shown." } }
            @if unstored > 0 { p class="error" id="unstored-txs" { (unstored) " of the block's transactions are missing from the index's database." } }
            h2 { "Verify finality in your browser" }
            p class="muted" { "Your browser hashes this block's header itself, proves the validator set of its epoch from the genesis set through every certified validator-set change, and checks with its own WebCrypto that a quorum (n - f) of that set signed the exact vote bytes consensus signs, committing this block or a descendant whose headers (hashed here) lead back to it." }
            button type="button" id="verify-block" data-verify-block="1" data-height=(height) { "Verify block " (height) }
            " "
            button type="button" id="verify-block-tampered" data-verify-block="1" data-tamper="1" data-height=(height) { "Verify a tampered copy" }
            div id="verify-result" {}
        },
    )
}

/// Transaction `hash` from the node (not in the index), at its block's time, with the
/// parties the index knows of.
async fn node_tx_record(st: &AppState, hash: Hash) -> Result<crate::index::TxRecord, NodeError> {
    let t = st.node.transaction(hash).await?;
    let url = paths::transaction(&hash);
    if t.hash != hash {
        return Err(NodeError::decode(
            &url,
            format!("the node answered transaction {}", t.hash),
        ));
    }
    let time_ms = match node_block(st, t.height).await {
        Ok(b) => b.timestamp_ms,
        Err(NodeError::NotFound(_)) => {
            let why = format!(
                "committed at height {}, a block the node does not have",
                t.height
            );
            return Err(NodeError::decode(&url, why));
        }
        Err(e) => return Err(e),
    };
    let mut r = crate::index::tx_record(&t, time_ms)?;
    let mut parties = vec![r.signer_org.clone()];
    st.index.read(|d| {
        for (k, id) in &r.docs {
            parties.extend(d.doc_parties(*k, id));
        }
    });
    r.parties = parties;
    Ok(r)
}

async fn tx(State(st): State<AppState>, Sess(s, _): Sess, Path(hash): Path<String>) -> Response {
    let hash = hash.to_lowercase();
    let rec = st.index.read(|d| d.tx(&hash).cloned());
    let rec = match (rec, Hash::from_hex(&hash)) {
        (Some(r), _) => Some(r),
        (None, Ok(h)) => match node_tx_record(&st, h).await {
            Ok(r) => Some(r),
            Err(NodeError::NotFound(_)) => None,
            Err(e) => return node_error(&s, &e),
        },
        (None, Err(_)) => None,
    };
    let Some(t) = rec.and_then(|r| vis::one(&s.viewer, r)) else {
        return not_found(&s, "Transaction");
    };
    page(
        "Transaction",
        &s,
        html! {
            table class="fields" {
                tr { th { "hash" } td { (t.hash) } }
                tr { th { "block" } td { a href=(format!("/blocks/{}", t.height)) { (t.height) } " (position " (t.index) ")" } }
                tr { th { "time" } td { (fmt_time(t.time_ms)) } }
                tr { th { "signer" } td { a href=(format!("/orgs/{}", t.signer_org)) { (t.signer_org) } " key " (t.signer_key) } }
                tr { th { "nonce" } td { (t.nonce) } }
                tr { th { "action" } td id="tx-action" { (t.action_name) } }
                tr { th { "result" } td id="tx-result" { @if t.ok { "executed" } @else { "refused" } } }
            }
            h2 { "Action" }
            pre { (serde_json::to_string_pretty(&t.action).unwrap_or_default()) }
            @if let Some(e) = &t.error { h2 { "Refusal" } pre class="error" { (serde_json::to_string_pretty(e).unwrap_or_default()) } }
            h2 { "Receipt events" }
            ul { @for e in &t.events { li { (lineage::event_line(e)) } } }
            pre { (serde_json::to_string_pretty(&t.events).unwrap_or_default()) }
        },
    )
}

// ---------- search ----------

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

/// The receivable, financing or settlement with id `q`, if `v` may see it: (label, link).
fn money_doc_hits(d: &IndexData, v: &Viewer, q: &str) -> Vec<(String, String)> {
    let mut hits = Vec::new();
    if let Some(x) = d.receivables.get(q).cloned().and_then(|x| vis::one(v, x)) {
        hits.push((
            format!("receivable {}", x.id),
            format!("/receivables/{}", x.id),
        ));
    }
    if let Some(x) = d.financings.get(q).cloned().and_then(|x| vis::one(v, x)) {
        hits.push((
            format!("financing {}", x.id),
            format!("/financings/{}", x.id),
        ));
    }
    if let Some(x) = d.settlements.get(q).cloned().and_then(|x| vis::one(v, x)) {
        hits.push((
            format!("settlement {}", x.id),
            format!("/settlements/{}", x.id),
        ));
    }
    hits
}

async fn search(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Query(sq): Query<SearchQuery>,
) -> Response {
    let q: String = sq.q.unwrap_or_default().trim().chars().take(128).collect();
    let hits = match lists::search_data(&st, &q).await {
        Ok(d) => search_hits(&d, &s.viewer, &q),
        Err(e) => {
            tracing::warn!(error = %e, "search: the index's database failed; searching the cache");
            st.index.read(|d| search_hits(d, &s.viewer, &q))
        }
    };
    if hits.len() == 1 {
        return Redirect::to(&hits[0].1).into_response();
    }
    page(
        "Search",
        &s,
        html! {
            p { "Results for " strong { (q) } }
            @if hits.is_empty() { p id="no-results" { "Nothing found (or nothing you may see)." } }
            ul id="search-results" { @for (label, href) in &hits { li { a href=(href) { (label) } } } }
        },
    )
}

/// What `q` names in `d` that `v` may see: (label, link) per hit.
fn search_hits(d: &IndexData, v: &Viewer, q: &str) -> Vec<(String, String)> {
    let q = q.to_string();
    let mut hits = Vec::new();
    if let Ok(h) = q.parse::<u64>() {
        if d.blocks.contains_key(&h) {
            hits.push((format!("block {h}"), format!("/blocks/{h}")));
        }
    }
    let lower = q.to_lowercase();
    if let Some(b) = d.blocks.values().find(|b| b.hash == lower) {
        hits.push((
            format!("block {}", b.height),
            format!("/blocks/{}", b.height),
        ));
    }
    if let Some(t) = d.tx(&lower).cloned().and_then(|t| vis::one(v, t)) {
        hits.push((format!("transaction {}", t.hash), format!("/tx/{}", t.hash)));
    }
    if d.orgs.contains_key(&q) {
        hits.push((format!("org {q}"), format!("/orgs/{q}")));
    }
    if let Some(x) = d.orders.get(&q).cloned().and_then(|x| vis::one(v, x)) {
        hits.push((format!("order {}", x.id), format!("/orders/{}", x.id)));
    }
    if let Some(x) = d.invoices.get(&q).cloned().and_then(|x| vis::one(v, x)) {
        hits.push((format!("invoice {}", x.id), format!("/invoices/{}", x.id)));
    }
    for id in d.invoice_numbers.get(&q).into_iter().flatten() {
        if let Some(x) = d.invoices.get(id).cloned().and_then(|x| vis::one(v, x)) {
            let hit = (
                format!("invoice {} (no. {})", x.id, x.number),
                format!("/invoices/{}", x.id),
            );
            if !hits.iter().any(|h| h.1 == hit.1) {
                hits.push(hit);
            }
        }
    }
    hits.extend(money_doc_hits(d, v, &q));
    if let Some(x) = d
        .warehouse_receipts
        .get(&q)
        .cloned()
        .and_then(|x| vis::one(v, x))
    {
        hits.push((
            format!("warehouse receipt {}", x.id),
            format!("/warehouse/{}", x.id),
        ));
    }
    hits
}

// ---------- verify API ----------
//
// These answers carry raw evidence only (headers, certificates, validator-set changes,
// Merkle proofs) plus the trust root the browser chains from; the verdict is computed in
// the browser by `static/verify.js`, which hashes every header itself.

/// Where the trust root came from, as the page says it.
const PINNED_SOURCE: &str = "genesis.json pinned in the explorer config";

/// The trust root the browser chains every validator set from: the pinned genesis, else
/// the node's status (read now if not indexed yet). The node's status names the current
/// set, which is the genesis set only while the network never changed its validators: with
/// `changes` reported and no pinned genesis, there is nothing to chain from and the answer
/// is a refusal saying how to fix the config.
async fn trust_root(st: &AppState, changes: usize) -> Result<Result<Value, Response>, NodeError> {
    if let Some(g) = &st.genesis {
        return Ok(Ok(vectors::trust_json(
            &g.chain_id,
            &g.validators,
            PINNED_SOURCE,
        )));
    }
    if changes > 0 {
        let why = format!(
            "the network changed its validator set {changes} times since genesis, so the \
             node's current set is no trust root for its history: pin genesis.json in the \
             explorer config (`genesis = \"...\"`) to verify"
        );
        return Ok(Err((StatusCode::SERVICE_UNAVAILABLE, why).into_response()));
    }
    let status = match st.index.read(|d| d.node.clone()) {
        Some(s) => s,
        None => st.node.status().await?,
    };
    let keys: Vec<String> = status
        .validators
        .iter()
        .map(|v| v.node_key.to_hex())
        .collect();
    Ok(Ok(vectors::trust_json(
        &status.chain_id,
        &keys,
        "validator set reported by the node (pin genesis.json in the explorer config to check it independently)",
    )))
}

/// Block `height` from the node, refusing an answer about another block.
async fn node_block(
    st: &AppState,
    height: u64,
) -> Result<lianrong_api_types::BlockView, NodeError> {
    let b = st.node.block(height).await?;
    if b.height != height {
        let why = format!(
            "asked for block {height}, the node answered block {}",
            b.height
        );
        return Err(NodeError::decode(&paths::block(height), why));
    }
    Ok(b)
}

/// What the browser needs to check block `height` final: the trust root, the
/// validator-set changes up to the block's epoch, and the block's header, certificate and
/// the headers up to the block the certificate commits (`vectors::block_input`).
async fn block_input(st: &AppState, height: u64) -> Result<Response, NodeError> {
    let b = node_block(st, height).await?;
    let changes = st.node.epochs().await?.changes;
    let trust = match trust_root(st, changes.len()).await? {
        Ok(t) => t,
        Err(refused) => return Ok(refused),
    };
    // The changes that end the epochs before the block's (the browser proves the set of
    // the block's epoch through them); later ones do not concern this block.
    let before: Vec<_> = changes
        .into_iter()
        .take_while(|c| c.epoch < b.header.epoch)
        .collect();
    Ok(Json(vectors::block_input(trust, &before, &b)).into_response())
}

async fn verify_block(
    State(st): State<AppState>,
    Sess(_s, _): Sess,
    Path(height): Path<u64>,
) -> Response {
    match block_input(&st, height).await {
        Ok(r) => r,
        Err(NodeError::NotFound(_)) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// The proof of document `kind`/`id` as the browser checks it (`vectors::document_input`),
/// with the canonical bytes of `shown`, the copy the page shows `viewer`, so the browser
/// also checks that the page shows the certified document.
async fn doc_input(
    st: &AppState,
    kind: DocKind,
    id: &str,
    viewer: &Viewer,
    shown: &Doc,
) -> Result<Response, NodeError> {
    let p = st.node.proof(kind, id).await?;
    if p.kind != kind.as_str() || p.id != id {
        let why = format!(
            "asked for the proof of {kind} {id}, the node answered {} {}",
            p.kind, p.id
        );
        return Err(NodeError::decode(&paths::proof(kind, id)?, why));
    }
    if proof_reveals_masked(kind, p.value_hex.as_deref(), viewer) {
        let why = format!(
            "this {} holds identifiers masked for your account (tax ids, payment \
             references) and its proof carries them whole; an auditor or bank account can \
             verify it",
            kind.as_str()
        );
        return Ok((StatusCode::FORBIDDEN, why).into_response());
    }
    let trust = match trust_root(st, p.epochs.len()).await? {
        Ok(t) => t,
        Err(refused) => return Ok(refused),
    };
    Ok(Json(vectors::document_input(
        trust,
        &p,
        Some(&canonical_bytes(shown)),
    ))
    .into_response())
}

/// The canonical encoding of a document as the page shows it: the bytes the state holds
/// for it when the page shows the stored document unchanged.
fn canonical_bytes(d: &Doc) -> Vec<u8> {
    use lianrong_primitives::codec::encode;
    match d {
        Doc::Org(x) => encode(x),
        Doc::Order(x) => encode(x),
        Doc::Shipment(x) => encode(x),
        Doc::Invoice(x) => encode(x),
        Doc::Receivable(x) => encode(x),
        Doc::Financing(x) => encode(x),
        Doc::Offer(x) => encode(x),
        Doc::Settlement(x) => encode(x),
        Doc::Proposal(x) => encode(x),
        Doc::WarehouseReceipt(x) => encode(x),
    }
}

async fn verify_doc(
    State(st): State<AppState>,
    Sess(s, _): Sess,
    Path((kind, id)): Path<(String, String)>,
) -> Response {
    let Some(kind) = DocKind::parse(&kind) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let shown = match visible_doc(&st, &s.viewer, kind, &id).await {
        Ok(Some((doc, _))) => doc,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    match doc_input(&st, kind, &id, &s.viewer, &shown).await {
        Ok(r) => r,
        Err(NodeError::NotFound(_)) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// Whether the raw value of a proof (the document's stored bytes, which the browser
/// hashes) would show `viewer` more than its pages do: a document it may not see, or an
/// identifier its pages mask. Anything undecodable is refused.
fn proof_reveals_masked(kind: DocKind, value_hex: Option<&str>, viewer: &Viewer) -> bool {
    use lianrong_contracts::model::{Financing, Invoice, Order, Org, Receivable, Settlement};
    use lianrong_primitives::codec::decode_stored;
    fn decoded<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
        decode_stored::<T>(bytes, MAX_PROOF_VALUE_BYTES).ok()
    }
    /// True unless the page would show exactly the stored document.
    fn shown_differently<T>(viewer: &Viewer, bytes: &[u8]) -> bool
    where
        T: vis::Shown + serde::de::DeserializeOwned + PartialEq + Clone,
    {
        decoded::<T>(bytes).is_none_or(|doc| vis::one(viewer, doc.clone()) != Some(doc))
    }
    if viewer.sees_everything() {
        return false;
    }
    let Some(bytes) = value_hex.and_then(|h| hex::decode(h).ok()) else {
        return true;
    };
    match kind {
        DocKind::Invoice => shown_differently::<Invoice>(viewer, &bytes),
        DocKind::Financing => shown_differently::<Financing>(viewer, &bytes),
        DocKind::Order => shown_differently::<Order>(viewer, &bytes),
        DocKind::Receivable => shown_differently::<Receivable>(viewer, &bytes),
        DocKind::Settlement => shown_differently::<Settlement>(viewer, &bytes),
        DocKind::WarehouseReceipt => {
            shown_differently::<lianrong_contracts::model::WarehouseReceipt>(viewer, &bytes)
        }
        DocKind::Org => {
            // Org proofs go to the org itself, banks and auditors only: a counterparty
            // reads the tax id on pages, but gets no proof of the whole record.
            let none = std::collections::BTreeSet::new();
            decoded::<Org>(&bytes).is_none_or(|o| vis::orgs(viewer, &none, [o.clone()]) != vec![o])
        }
        // A shipment's (an offer's) readers depend on its order (financing): the verify
        // page only offers it to viewers its page was shown to, and nothing of it is ever
        // masked.
        DocKind::Shipment | DocKind::Offer => false,
        _ => true,
    }
}

/// Largest document value a proof may carry (the node's own limit for stored documents).
const MAX_PROOF_VALUE_BYTES: usize = 1 << 20;

// ---------- live ----------

struct LiveSlot(Arc<AtomicUsize>);
impl Drop for LiveSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn live(State(st): State<AppState>, Sess(s, id): Sess) -> Response {
    if st.live_clients.fetch_add(1, Ordering::SeqCst) >= MAX_LIVE_CLIENTS {
        st.live_clients.fetch_sub(1, Ordering::SeqCst);
        return (StatusCode::SERVICE_UNAVAILABLE, "too many live clients").into_response();
    }
    let slot = LiveSlot(st.live_clients.clone());
    let rx = st.updates.subscribe();
    let auth = st.auth.clone();
    let stream = futures::stream::unfold(
        (rx, s, id, auth, slot),
        |(mut rx, s, id, auth, slot)| async move {
            loop {
                auth.session(&id, Instant::now())?;
                match rx.recv().await {
                    Ok(u) => {
                        let txs = vis::filter(&s.viewer, u.txs.iter().cloned());
                        let data = json!({
                            "height": u.height, "hash": u.hash, "time_ms": u.time_ms,
                            "tx_count": u.tx_count, "txs": txs,
                        });
                        let ev = SseEvent::default()
                            .event("block")
                            .json_data(data)
                            .unwrap_or_else(|_| SseEvent::default().comment("encoding error"));
                        return Some((Ok::<_, Infallible>(ev), (rx, s, id, auth, slot)));
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    );
    Sse::new(stream.boxed())
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Account, AccountRole, Lockout};
    use crate::node::fake::{self, FakeNode};
    use crate::views::testdata;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The proof of a document carries its stored bytes whole; a supplier gets it only
    /// when its pages would show that document, and show it unmasked.
    #[test]
    fn a_proof_is_refused_where_it_would_reveal_a_masked_identifier() {
        let hex_of = |bytes: Vec<u8>| hex::encode(bytes);
        let inv = testdata::invoice("INV-1", "SUP-1", "CORE-A", "2027-01-31", "100.00");
        let inv_hex = hex_of(lianrong_primitives::codec::encode(&inv));
        let rcv = testdata::receivable(
            "RCV-1",
            "SUP-1",
            "CORE-A",
            "2026-11-01",
            "2027-01-31",
            "100.00",
        );
        let rcv_hex = hex_of(lianrong_primitives::codec::encode(&rcv));
        let sup1 = Viewer::Org(lianrong_primitives::OrgId::new("SUP-1").unwrap());
        let audit = Viewer::Everything { org: None };
        // SUP-1 sells on INV-1 and reads it whole: its proof reveals nothing more. SUP-2
        // may not read INV-1 at all; and CORE-A's org record, which SUP-1 sees masked,
        // would show its tax id.
        assert!(!proof_reveals_masked(
            DocKind::Invoice,
            Some(&inv_hex),
            &sup1
        ));
        let sup2 = Viewer::Org(lianrong_primitives::OrgId::new("SUP-2").unwrap());
        assert!(proof_reveals_masked(
            DocKind::Invoice,
            Some(&inv_hex),
            &sup2
        ));
        assert!(!proof_reveals_masked(
            DocKind::Invoice,
            Some(&inv_hex),
            &audit
        ));
        let core_a = lianrong_contracts::model::Org {
            id: lianrong_primitives::OrgId::new("CORE-A").unwrap(),
            name: "Core A".into(),
            tax_id: "91310000MA1COREA3X".into(),
            roles: vec![lianrong_contracts::model::Role::Core],
            identifiers: vec![],
            keys: vec![],
            revoked_keys: vec![],
            admitted_at: 0,
        };
        let org_hex = hex_of(lianrong_primitives::codec::encode(&core_a));
        assert!(proof_reveals_masked(DocKind::Org, Some(&org_hex), &sup1));
        assert!(!proof_reveals_masked(DocKind::Org, Some(&org_hex), &audit));
        assert!(!proof_reveals_masked(
            DocKind::Receivable,
            Some(&rcv_hex),
            &sup1
        ));
        // Bytes that do not decode as the kind are refused, not passed on.
        assert!(proof_reveals_masked(
            DocKind::Invoice,
            Some(&rcv_hex),
            &sup1
        ));
        assert!(proof_reveals_masked(DocKind::Invoice, None, &sup1));
    }

    /// A request with the session cookie `cookie`.
    async fn http(
        addr: SocketAddr,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        form: Option<&str>,
    ) -> (u16, String, String) {
        let cookies = cookie.map(|c| format!("{COOKIE}={c}"));
        request(addr, method, path, cookies.as_deref(), form).await
    }

    /// A request with the `Cookie` header `cookies`.
    async fn request(
        addr: SocketAddr,
        method: &str,
        path: &str,
        cookies: Option<&str>,
        form: Option<&str>,
    ) -> (u16, String, String) {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut req =
            format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
        if let Some(c) = cookies {
            req.push_str(&format!("Cookie: {c}\r\n"));
        }
        if let Some(f) = form {
            req.push_str(&format!(
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{f}",
                f.len()
            ));
        } else {
            req.push_str("\r\n");
        }
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        let text = String::from_utf8_lossy(&out).to_string();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let chunked = head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        let body = if chunked {
            dechunk(body)
        } else {
            body.to_string()
        };
        (status, head.to_string(), body)
    }

    /// The body of a chunked response (a streamed CSV).
    fn dechunk(mut rest: &str) -> String {
        let mut out = String::new();
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap();
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            rest = &tail[n + 2..];
        }
        out
    }

    fn session_of(head: &str) -> String {
        cookie_of(head, COOKIE)
    }

    /// The value of the cookie `name` the response head sets ("" if none).
    fn cookie_of(head: &str, name: &str) -> String {
        let prefix = format!("set-cookie: {name}=");
        head.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .and_then(|v| v.split(';').next())
            .unwrap_or_default()
            .to_string()
    }

    /// A node with SUP-1's receivable RCV-1 and SUP-2's RCV-9 (on CORE-B, whose tax id
    /// SUP-1 must never see in full).
    fn node_with_two_suppliers() -> Arc<FakeNode> {
        let node = Arc::new(FakeNode::default());
        node.set("/v1/status", fake::status(0, vec![]));
        let org = |id: &str, tax: &str| lianrong_contracts::model::Org {
            id: testdata::org(id),
            name: id.into(),
            tax_id: tax.into(),
            roles: vec![lianrong_contracts::model::Role::Supplier],
            identifiers: vec![],
            keys: vec![],
            revoked_keys: vec![],
            admitted_at: 0,
        };
        node.set_orgs(vec![
            org("SUP-1", "91330000MA2SUP106X"),
            org("CORE-B", "91320000MA1COREB4X"),
        ]);
        let mine = sup1_rcv1();
        let theirs = testdata::receivable(
            "RCV-9",
            "SUP-2",
            "CORE-B",
            "2026-01-01",
            "2026-12-30",
            "777.00",
        );
        node.set_receivables(vec![mine, theirs]);
        node
    }

    fn config_with_auditor_and_sup1() -> ExplorerConfig {
        let mut cfg = ExplorerConfig::new("http://127.0.0.1:1", "t");
        cfg.listen = "127.0.0.1:0".parse().unwrap();
        cfg.lockout = Lockout {
            max_failures: 3,
            max_address_failures: 50,
            lock_secs: 60,
        };
        cfg.accounts = vec![
            Account {
                username: "audit".into(),
                password_hash: crate::hash_password("a"),
                role: AccountRole::Auditor,
                org: None,
            },
            Account {
                username: "sup1".into(),
                password_hash: crate::hash_password("s"),
                role: AccountRole::Org,
                org: Some("SUP-1".into()),
            },
        ];
        cfg
    }

    /// Gets the login page and posts its form (with its CSRF token); the status and the
    /// response head.
    async fn login(addr: SocketAddr, form: &str) -> (u16, String) {
        let (code, head, body) = http(addr, "GET", "/login", None, None).await;
        assert_eq!(code, 200, "{head}");
        let token = cookie_of(&head, CSRF_COOKIE);
        assert_eq!(token.len(), 64, "{head}");
        assert!(
            body.contains(&format!(r#"name="csrf" value="{token}""#)),
            "{body}"
        );
        let cookies = format!("{CSRF_COOKIE}={token}");
        let form = format!("{form}&csrf={token}");
        let (code, head, _) = request(addr, "POST", "/login", Some(&cookies), Some(&form)).await;
        (code, head)
    }

    /// The index loads in the background after start.
    async fn wait_until_indexed(addr: SocketAddr, audit: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, _, body) = http(addr, "GET", "/receivables", Some(audit), None).await;
            if body.contains("RCV-9") {
                break;
            }
            assert!(Instant::now() < deadline, "index never loaded");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn assert_no_page_shows_rcv9_or_core_b_tax_id(addr: SocketAddr, sup: &str) {
        for path in [
            "/",
            "/receivables",
            "/receivables?format=csv",
            "/receivables?partial=1",
            "/orgs",
            "/orgs?format=csv",
            "/risk/ladder",
            "/risk/ladder?format=csv&by=month",
            "/risk/overdue?format=csv",
            "/risk/exposure",
            "/risk/exposure?format=csv",
            "/risk/tenor?format=csv",
            "/txs?format=csv",
            "/invoices?format=csv",
            "/search?q=RCV-9",
            "/receivables/RCV-9",
            "/api/verify/doc/receivable/RCV-9",
            "/settlements",
            "/settlements?format=csv",
            "/settlements?payee=SUP-2",
            "/settlements/STL-9",
            "/search?q=STL-9",
            "/api/verify/doc/settlement/STL-9",
            "/risk/disbursements?format=csv",
            "/risk/cost",
            "/risk/cost?format=csv",
        ] {
            let (code, _, body) = http(addr, "GET", path, Some(sup), None).await;
            assert!(code == 200 || code == 404, "{path}: {code}");
            assert!(
                !body.contains("RCV-9") || path.contains("RCV-9") && !body.contains("777.00"),
                "{path} leaks RCV-9: {body}"
            );
            assert!(!body.contains("777.00"), "{path} leaks an amount");
            assert!(
                !body.contains("91320000MA1COREB4X"),
                "{path} leaks a tax id"
            );
        }
    }

    /// A malformed node answer is shown on the dashboard, naming the URL and the field,
    /// and nothing of it is indexed.
    #[tokio::test]
    async fn the_dashboard_reports_a_malformed_node_answer() {
        let node = node_with_two_suppliers();
        let first_page = paths::orgs(None, lianrong_api_types::MAX_PAGE);
        let bad = crate::node::decode::<lianrong_api_types::OrgPage>(
            &first_page,
            json!({"items": [{"id": "SUP-1", "name": "S"}]}),
        )
        .unwrap_err();
        node.set(&first_page, bad);
        let served = serve(config_with_auditor_and_sup1(), node).await;
        let addr = served.addr;
        let (_, head) = login(addr, "username=audit&password=a").await;
        let audit = session_of(&head);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, _, body) = http(addr, "GET", "/", Some(&audit), None).await;
            if body.contains("follow-error") {
                assert!(
                    body.contains(
                        "malformed answer from /v1/orgs?limit=500: at items[0]: missing field `tax_id`"
                    ),
                    "{body}"
                );
                break;
            }
            assert!(Instant::now() < deadline, "no error on the dashboard");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (_, _, list) = http(addr, "GET", "/receivables", Some(&audit), None).await;
        assert!(
            !list.contains("RCV-9"),
            "indexed despite the failed rebuild"
        );
        served.stop().await;
    }

    /// While the index lacks something (here: block 1, which the node does not serve
    /// yet), the dashboard, the risk views and their CSVs say so instead of showing
    /// short totals as whole; once it is read, they stop saying so.
    #[tokio::test]
    async fn pages_and_csvs_say_when_the_index_is_incomplete() {
        let node = node_with_two_suppliers();
        node.set("/v1/status", fake::status(1, vec![]));
        let served = serve(config_with_auditor_and_sup1(), node.clone()).await;
        let addr = served.addr;
        let (_, head) = login(addr, "username=audit&password=a").await;
        let audit = session_of(&head);
        wait_until_indexed(addr, &audit).await;
        for path in [
            "/",
            "/risk/exposure",
            "/risk/ladder",
            "/receivables?partial=1",
        ] {
            let (_, _, body) = http(addr, "GET", path, Some(&audit), None).await;
            assert!(
                body.contains(r#"id="incomplete""#) && body.contains("not found: /v1/blocks/1"),
                "{path}: {body}"
            );
        }
        let (_, _, csv) = http(addr, "GET", "/risk/exposure?format=csv", Some(&audit), None).await;
        assert!(
            csv.starts_with("INCOMPLETE: rebuilding from the node"),
            "{csv}"
        );

        node.set("/v1/blocks/1", fake::block(1, &[]));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, _, body) = http(addr, "GET", "/risk/exposure", Some(&audit), None).await;
            if !body.contains(r#"id="incomplete""#) {
                break;
            }
            assert!(Instant::now() < deadline, "still incomplete: {body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (_, _, csv) = http(addr, "GET", "/risk/exposure?format=csv", Some(&audit), None).await;
        assert!(!csv.contains("INCOMPLETE"), "{csv}");
        served.stop().await;
    }

    #[tokio::test]
    async fn a_supplier_account_sees_nothing_of_others_in_any_page_or_csv() {
        let node = node_with_two_suppliers();
        let served = serve(config_with_auditor_and_sup1(), node).await;
        let addr = served.addr;

        // Not logged in: pages go to the login page, the API and the stream refuse.
        let (code, head, _) = http(addr, "GET", "/receivables", None, None).await;
        assert_eq!(code, 303, "{head}");
        assert!(head.contains("location: /login"));
        assert_eq!(http(addr, "GET", "/live", None, None).await.0, 401);
        assert_eq!(
            http(addr, "GET", "/api/verify/block/1", Some("forged"), None)
                .await
                .0,
            401
        );

        // The auditor sees both once indexed.
        let (_, head) = login(addr, "username=audit&password=a").await;
        let audit = session_of(&head);
        assert!(
            head.contains("HttpOnly")
                && head.contains("Secure")
                && head.contains("SameSite=Strict"),
            "{head}"
        );
        wait_until_indexed(addr, &audit).await;
        let (_, _, body) = http(addr, "GET", "/orgs", Some(&audit), None).await;
        assert!(body.contains("91320000MA1COREB4X"));

        // The supplier: nothing of RCV-9 or CORE-B's tax id anywhere.
        let (_, head) = login(addr, "username=sup1&password=s").await;
        let sup = session_of(&head);
        assert_eq!(sup.len(), 64);
        assert_no_page_shows_rcv9_or_core_b_tax_id(addr, &sup).await;
        assert_eq!(
            http(addr, "GET", "/receivables/RCV-9", Some(&sup), None)
                .await
                .0,
            404
        );
        let (_, head, csv) = http(addr, "GET", "/receivables?format=csv", Some(&sup), None).await;
        assert!(head.contains("text/csv"));
        assert!(csv.contains("RCV-1"));
        let (_, _, orgs) = http(addr, "GET", "/orgs", Some(&sup), None).await;
        assert!(
            orgs.contains("91330000MA2SUP106X"),
            "its own tax id in full"
        );
        assert!(orgs.contains("9132************4X"));

        // Log-out (with the session's CSRF token) ends the session.
        let (_, head) = login(addr, "username=sup1&password=s").await;
        let (sup, csrf) = (session_of(&head), cookie_of(&head, CSRF_COOKIE));
        let cookies = format!("{COOKIE}={sup}; {CSRF_COOKIE}={csrf}");
        let form = format!("csrf={csrf}");
        let (code, _, _) = request(addr, "POST", "/logout", Some(&cookies), Some(&form)).await;
        assert_eq!(code, 303);
        assert_eq!(
            http(addr, "GET", "/receivables", Some(&sup), None).await.0,
            303
        );

        // Lock-out after three failures, even for the right password.
        for _ in 0..2 {
            assert_eq!(login(addr, "username=sup1&password=x").await.0, 401);
        }
        assert_eq!(login(addr, "username=sup1&password=x").await.0, 429);
        assert_eq!(login(addr, "username=sup1&password=s").await.0, 429);

        served.stop().await;
    }

    /// [`node_with_two_suppliers`] at height 1, whose block 1 is CORE-B's repayment of
    /// SUP-2's RCV-9 (settlement STL-9, acknowledged since).
    fn node_with_a_settlement() -> Arc<FakeNode> {
        use lianrong_contracts::model::{Settlement, SettlementStatus};
        let node = node_with_two_suppliers();
        let stl = Settlement {
            id: "STL-9".parse().unwrap(),
            debtor: testdata::org("CORE-B"),
            payee: testdata::org("SUP-2"),
            receivable: "RCV-9".parse().unwrap(),
            root: "RCV-9".parse().unwrap(),
            amount: lianrong_contracts::money::Money::parse("777.00", "CNY").unwrap(),
            payment_ref: "HX-PAY-9".into(),
            line: 1,
            lines: 1,
            instructed_on: "2026-12-30".parse().unwrap(),
            status: SettlementStatus::Acknowledged,
            answered_on: Some("2026-12-31".parse().unwrap()),
            dispute_reason: None,
        };
        let action = lianrong_contracts::Action::Repay {
            receivable: stl.receivable.clone(),
            payee: stl.payee.clone(),
            amount: stl.amount.amount,
            payment_ref: stl.payment_ref.clone(),
        };
        let event = lianrong_contracts::Event::SettlementInstructed {
            settlement: stl.id.clone(),
            receivable: stl.receivable.clone(),
            debtor: stl.debtor.clone(),
            payee: stl.payee.clone(),
            amount: stl.amount,
            payment_ref: stl.payment_ref.clone(),
        };
        let t = fake::hash(0x91);
        node.set("/v1/status", fake::status(1, vec![]));
        node.set("/v1/blocks/1", fake::block(1, &[t]));
        node.set(
            &paths::transaction(&t),
            fake::tx(t, 1, "CORE-B", action, vec![event]),
        );
        node.set_doc(Doc::Settlement(stl));
        node
    }

    /// The auditor opens the settlement and finds it in the list filtered by payee; the
    /// supplier who is neither debtor nor payee finds it nowhere (the same 404 as a
    /// missing one).
    #[tokio::test]
    async fn a_settlement_shows_to_auditors_and_its_parties_only() {
        let served = serve(config_with_auditor_and_sup1(), node_with_a_settlement()).await;
        let addr = served.addr;
        let (_, head) = login(addr, "username=audit&password=a").await;
        let audit = session_of(&head);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, _, body) =
                http(addr, "GET", "/settlements?payee=SUP-2", Some(&audit), None).await;
            if body.contains("STL-9") {
                assert!(body.contains(r#"href="/receivables/RCV-9""#), "{body}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "settlement never indexed: {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (code, _, page) = http(addr, "GET", "/settlements/STL-9", Some(&audit), None).await;
        assert_eq!(code, 200, "{page}");
        assert!(page.contains("acknowledged on 2026-12-31"), "{page}");
        let (_, _, rcv) = http(addr, "GET", "/receivables/RCV-9", Some(&audit), None).await;
        assert!(rcv.contains(r#"href="/settlements/STL-9""#), "{rcv}");
        let (_, _, none) = http(addr, "GET", "/settlements?payee=SUP-1", Some(&audit), None).await;
        assert!(!none.contains("STL-9"), "{none}");

        let (_, head) = login(addr, "username=sup1&password=s").await;
        let sup = session_of(&head);
        assert_no_page_shows_rcv9_or_core_b_tax_id(addr, &sup).await;
        assert_eq!(
            http(addr, "GET", "/settlements/STL-9", Some(&sup), None)
                .await
                .0,
            404
        );
        served.stop().await;
    }

    /// SUP-2's WR-9 (issued by LOGI, pledged to BANK-A) and SUP-1's WR-1 (just issued),
    /// each learnt from the transactions that touched it.
    fn node_with_warehouse_receipts() -> Arc<FakeNode> {
        node_with_warehouse_receipts_at([1, 2, 3])
    }

    /// The same, its three transactions in blocks `at`.
    fn node_with_warehouse_receipts_at(at: [u64; 3]) -> Arc<FakeNode> {
        use lianrong_contracts::model::{ReceiptStatus, WarehouseReceipt};
        use lianrong_contracts::{Action, Event};
        let node = node_with_two_suppliers();
        let receipt = |id: &str, owner: &str| WarehouseReceipt {
            id: id.parse().unwrap(),
            warehouse: testdata::org("LOGI"),
            owner: testdata::org(owner),
            lot: format!("LOT-{id}"),
            goods: "copper cathode".into(),
            quantity: lianrong_contracts::money::Quantity::parse("120").unwrap(),
            unit: lianrong_contracts::money::Unit::parse("t").unwrap(),
            doc_hash: lianrong_primitives::Hash::ZERO,
            status: ReceiptStatus::Issued,
            pledge_offer: None,
            pledgee: None,
            release_instructed: false,
        };
        let mut wr9 = receipt("WR-9", "SUP-2");
        wr9.status = ReceiptStatus::Pledged;
        wr9.pledgee = Some(testdata::org("BANK-A"));
        let wr1 = receipt("WR-1", "SUP-1");
        let issue = |r: &WarehouseReceipt| Action::IssueWarehouseReceipt {
            id: r.id.clone(),
            owner: r.owner.clone(),
            lot: r.lot.clone(),
            goods: r.goods.clone(),
            quantity: r.quantity,
            unit: r.unit.clone(),
            doc_hash: r.doc_hash,
        };
        let issued = |r: &WarehouseReceipt| Event::WarehouseReceiptIssued {
            receipt: r.id.clone(),
            owner: r.owner.clone(),
        };
        let (t1, t2, t3) = (fake::hash(0xa1), fake::hash(0xa2), fake::hash(0xa3));
        // One transaction per block: the index keys transactions by (height, position).
        node.set("/v1/status", fake::status(at[2], vec![]));
        for (h, t) in at.into_iter().zip([t1, t2, t3]) {
            node.set(&format!("/v1/blocks/{h}"), fake::block(h, &[t]));
        }
        node.set(
            &paths::transaction(&t1),
            fake::tx(t1, at[0], "LOGI", issue(&wr9), vec![issued(&wr9)]),
        );
        let pledged = Event::WarehouseReceiptPledged {
            receipt: wr9.id.clone(),
            bank: testdata::org("BANK-A"),
        };
        let accept = Action::AcceptPledge {
            receipt: wr9.id.clone(),
        };
        node.set(
            &paths::transaction(&t2),
            fake::tx(t2, at[1], "BANK-A", accept, vec![pledged]),
        );
        node.set(
            &paths::transaction(&t3),
            fake::tx(t3, at[2], "LOGI", issue(&wr1), vec![issued(&wr1)]),
        );
        node.set_doc(Doc::WarehouseReceipt(wr9));
        node.set_doc(Doc::WarehouseReceipt(wr1));
        node
    }

    /// The finding: the block page read only the in-memory cache -- a block older than its
    /// blocks was "not found", and a cached block whose transactions had left the
    /// 10,000-transaction cache told an auditor they were "other organisations'". Here
    /// the cache keeps one transaction and the 120 newest of 130 blocks: every block's
    /// page lists all of its transactions, from the store, and hides from a supplier only
    /// what is not its own.
    #[tokio::test]
    async fn a_block_page_lists_its_transactions_however_old_the_block() {
        let (t1, t2, t3) = (fake::hash(0xa1), fake::hash(0xa2), fake::hash(0xa3));
        let top = crate::index::RECENT_BLOCKS as u64 + 10;
        let at = [1, top - 5, top - 3];
        let node = node_with_warehouse_receipts_at(at);
        for h in (1..=top).filter(|h| !at.contains(h)) {
            node.set(&format!("/v1/blocks/{h}"), fake::block(h, &[]));
        }
        node.set("/v1/status", fake::status(top, vec![]));
        let with_tx = at.into_iter().zip([t1, t2, t3]);
        let mut cfg = config_with_auditor_and_sup1();
        cfg.max_index_docs = 1;
        let served = serve(cfg, node).await;
        let (_, head) = login(served.addr, "username=audit&password=a").await;
        let audit = session_of(&head);
        let (_, head) = login(served.addr, "username=sup1&password=s").await;
        let sup = session_of(&head);
        poll_for(
            served.addr,
            &audit,
            "/blocks",
            &format!("href=\"/blocks/{top}\""),
        )
        .await;
        for (h, t) in with_tx.clone() {
            let (code, _, page) = http(
                served.addr,
                "GET",
                &format!("/blocks/{h}"),
                Some(&audit),
                None,
            )
            .await;
            assert_eq!(code, 200, "block {h}: {page}");
            assert!(
                page.contains(&t.to_hex()),
                "block {h} lists its transaction: {page}"
            );
            assert!(
                !page.contains("hidden-txs") && !page.contains("unstored-txs"),
                "{page}"
            );
        }
        // WR-9 is SUP-2's: its issue in block 1 is not SUP-1's to see, and is counted.
        let (code, _, page) = http(served.addr, "GET", "/blocks/1", Some(&sup), None).await;
        assert_eq!(code, 200, "{page}");
        assert!(
            !page.contains(&t1.to_hex()) && page.contains("hidden-txs"),
            "{page}"
        );
        let (code, _, _) = http(
            served.addr,
            "GET",
            &format!("/blocks/{}", top + 1),
            Some(&audit),
            None,
        )
        .await;
        assert_eq!(code, 404);
        served.stop().await;
    }

    /// The auditor finds both receipts in the warehouse list (linked from the nav) with
    /// their lot, owner and pledge, and WR-9's page with its pledge history; SUP-1 sees
    /// its own receipt and nothing of SUP-2's (the same 404 as a missing one).
    #[tokio::test]
    async fn warehouse_receipts_show_their_pledge_to_auditors_and_their_parties_only() {
        let served = serve(
            config_with_auditor_and_sup1(),
            node_with_warehouse_receipts(),
        )
        .await;
        let addr = served.addr;
        let (_, head) = login(addr, "username=audit&password=a").await;
        let audit = session_of(&head);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, _, body) = http(addr, "GET", "/warehouse", Some(&audit), None).await;
            if body.contains("WR-9") && body.contains("WR-1") {
                assert!(body.contains(r#"href="/warehouse/WR-9""#), "{body}");
                assert!(body.contains("pledged to BANK-A (accepted)"), "{body}");
                assert!(body.contains("LOT-WR-9"), "{body}");
                break;
            }
            assert!(Instant::now() < deadline, "receipts never indexed: {body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (_, _, dash) = http(addr, "GET", "/", Some(&audit), None).await;
        assert!(dash.contains(r#"href="/warehouse""#), "no nav link: {dash}");
        let (code, _, page) = http(addr, "GET", "/warehouse/WR-9", Some(&audit), None).await;
        assert_eq!(code, 200, "{page}");
        assert!(page.contains(r#"id="receipt-history""#), "{page}");
        assert!(page.contains("issued for SUP-2"), "{page}");
        assert!(page.contains("pledge accepted by BANK-A"), "{page}");
        assert!(page.contains(r#"data-kind="warehouse_receipt""#), "{page}");
        let (_, _, csv) = http(
            addr,
            "GET",
            "/warehouse?format=csv&status=pledged",
            Some(&audit),
            None,
        )
        .await;
        assert!(csv.contains("WR-9") && !csv.contains("WR-1,"), "{csv}");

        let (_, head) = login(addr, "username=sup1&password=s").await;
        let sup = session_of(&head);
        let (code, _, own) = http(addr, "GET", "/warehouse/WR-1", Some(&sup), None).await;
        assert_eq!(code, 200, "{own}");
        for path in [
            "/warehouse",
            "/warehouse?format=csv",
            "/warehouse/WR-9",
            "/search?q=WR-9",
            "/api/verify/doc/warehouse_receipt/WR-9",
        ] {
            let (code, _, body) = http(addr, "GET", path, Some(&sup), None).await;
            assert!(code == 200 || code == 404, "{path}: {code}");
            assert!(!body.contains("LOT-WR-9"), "{path} leaks WR-9: {body}");
            assert!(!body.contains("href=\"/warehouse/WR-9\""), "{path}: {body}");
        }
        assert_eq!(
            http(addr, "GET", "/warehouse/WR-9", Some(&sup), None)
                .await
                .0,
            404
        );
        served.stop().await;
    }

    /// An explorer served over a fake node (until [`Served::stop`]).
    struct Served {
        addr: SocketAddr,
        stop: tokio::sync::oneshot::Sender<()>,
        server: tokio::task::JoinHandle<anyhow::Result<()>>,
    }

    impl Served {
        async fn stop(self) {
            let _ = self.stop.send(());
            let _ = self.server.await;
        }
    }

    /// Binds an explorer over `node` with `cfg` on a free port and serves it.
    async fn serve(cfg: ExplorerConfig, node: Arc<FakeNode>) -> Served {
        let e = bind_with_node(cfg, node).await.unwrap();
        let addr = e.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(e.run(async move {
            let _ = stopped.await;
        }));
        Served { addr, stop, server }
    }

    /// A bug in the follower (here: the node fake panics when block 1 is read) ends
    /// `run` with an error naming it, rather than serving a frozen index as current: a
    /// supervisor restarts the process, which resumes from the database's height.
    #[tokio::test]
    async fn a_panicking_follower_stops_the_explorer() {
        let node = node_with_two_suppliers();
        node.set("/v1/status", fake::status(1, vec![]));
        node.set(
            &crate::node::paths::block(1),
            fake::Answer::Panic("an invariant broke".into()),
        );
        let served = serve(config_with_auditor_and_sup1(), node).await;
        let ended = tokio::time::timeout(Duration::from_secs(30), served.server)
            .await
            .expect("the explorer still serves after its follower panicked")
            .expect("run itself does not panic");
        let e = ended.expect_err("run ends with an error").to_string();
        assert!(e.contains("follower panicked (an invariant broke)"), "{e}");
    }

    /// SUP-1's RCV-1 on CORE-A, as `node_with_two_suppliers` serves it.
    fn sup1_rcv1() -> lianrong_contracts::model::Receivable {
        testdata::receivable(
            "RCV-1",
            "SUP-1",
            "CORE-A",
            "2026-01-01",
            "2026-12-30",
            "5.00",
        )
    }

    /// A proof of RCV-1 (as `node_with_two_suppliers` serves it) by a fake node: the fields
    /// are passed through, not checked, by the explorer.
    fn fake_proof(
        epochs: Vec<lianrong_api_types::EpochChange>,
    ) -> lianrong_api_types::ProofResponse {
        let b = fake::block(1, &[]);
        let rcv = sup1_rcv1();
        lianrong_api_types::ProofResponse {
            kind: "receivable".into(),
            id: "RCV-1".into(),
            subject: lianrong_api_types::ProofSubject::Document,
            height: 0,
            state_root: Hash([9; 32]),
            key: "doc/receivable/RCV-1".into(),
            value_hex: Some(hex::encode(lianrong_primitives::codec::encode(&rcv))),
            leaf_hex: None,
            proof: json!({"leaf": null, "siblings": []}),
            header: b.header,
            certificate: b.commit_certificate.unwrap(),
            epochs,
            history: vec![],
            history_next: None,
        }
    }

    /// One validator-set change (epoch 0 to 1), for the fake node.
    fn fake_change() -> lianrong_api_types::EpochChange {
        let b = fake::block(3, &[]);
        lianrong_api_types::EpochChange {
            epoch: 0,
            header: b.header,
            validators: lianrong_consensus::ValidatorSet::from_keys(&[
                lianrong_primitives::PublicKey([7; 32]),
            ])
            .unwrap(),
            certificate: b.commit_certificate.unwrap(),
        }
    }

    /// An explorer over `node` with `cfg`, the auditor logged in and the index loaded: the
    /// served explorer and the auditor's session.
    async fn serve_for_auditor(cfg: ExplorerConfig, node: Arc<FakeNode>) -> (Served, String) {
        let served = serve(cfg, node).await;
        let (_, head) = login(served.addr, "username=audit&password=a").await;
        let audit = session_of(&head);
        wait_until_indexed(served.addr, &audit).await;
        (served, audit)
    }

    /// [`serve_for_auditor`] with `config_with_auditor_and_sup1` pinning a genesis of
    /// chain "c" whose validators are `validators` (written to a file named after `name`,
    /// removed once the explorer has read it).
    async fn serve_pinned_for_auditor(
        name: &str,
        validators: Vec<lianrong_contracts::model::Validator>,
        node: Arc<FakeNode>,
    ) -> (Served, String) {
        let genesis = lianrong_contracts::Genesis {
            chain_id: "c".into(),
            genesis_time_ms: 0,
            orgs: vec![],
            validators,
            params: lianrong_contracts::model::Params::default(),
        };
        let file = std::env::temp_dir().join(format!(
            "lianrong-explorer-{name}-{}.json",
            std::process::id()
        ));
        std::fs::write(&file, serde_json::to_string(&genesis).unwrap()).unwrap();
        let mut cfg = config_with_auditor_and_sup1();
        cfg.genesis = Some(file.clone());
        let started = serve_for_auditor(cfg, node).await;
        std::fs::remove_file(&file).unwrap();
        started
    }

    /// GET `path` as `session`: 200 and JSON, or the test fails.
    async fn get_json(addr: SocketAddr, path: &str, session: &str) -> Value {
        let (code, _, body) = http(addr, "GET", path, Some(session), None).await;
        assert_eq!(code, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// A fake node with block 1, no validator-set change, and RCV-1's proof.
    fn node_with_evidence() -> Arc<FakeNode> {
        let node = node_with_two_suppliers();
        node.set(
            "/v1/status",
            fake::status(0, vec![fake::validator("VAL-A", 1)]),
        );
        node.set("/v1/blocks/1", fake::block(1, &[]));
        node.set(
            "/v1/epochs",
            lianrong_api_types::EpochChanges { changes: vec![] },
        );
        let proof_path = paths::proof(DocKind::Receivable, "RCV-1").unwrap();
        node.set(&proof_path, fake_proof(vec![]));
        node
    }

    /// The verify API passes the node's evidence through for the browser (header,
    /// certificate, descendants, validator-set changes, the proof, and the page's copy of
    /// the document) with the trust root and where it came from. Without a pinned genesis
    /// the trust root is the node's reported set, which is the genesis set only if the
    /// validators never changed: once they did, the API refuses and says to pin genesis.
    #[tokio::test]
    async fn the_verify_api_passes_the_evidence_and_the_trust_root_through() {
        let node = node_with_evidence();
        let (served, audit) = serve_for_auditor(config_with_auditor_and_sup1(), node.clone()).await;
        let addr = served.addr;
        let v = get_json(addr, "/api/verify/block/1", &audit).await;
        assert_eq!(v["trust"]["chain_id"], "c");
        assert_eq!(v["trust"]["validators"], json!(["01".repeat(32)]));
        assert!(v["trust"]["source"]
            .as_str()
            .unwrap()
            .starts_with("validator set reported by the node"));
        assert_eq!(v["epochs"], json!([]));
        assert_eq!(v["block"]["header"]["height"], "1");
        assert_eq!(v["block"]["certificate"]["qc"]["vote"]["height"], "2");
        assert_eq!(v["block"]["descendants"], json!([]));
        assert_eq!(v["block"]["hash"], Hash([1; 32]).to_hex());

        let v = get_json(addr, "/api/verify/doc/receivable/RCV-1", &audit).await;
        let p = fake_proof(vec![]);
        assert_eq!(v["proof"]["value_hex"], json!(p.value_hex));
        assert_eq!(v["shown_hex"], json!(p.value_hex), "the page's copy");
        assert_eq!(v["proof"]["proof"], p.proof);
        assert_eq!(v["proof"]["height"], "0");
        assert_eq!(v["header"]["height"], "1");
        assert_eq!(v["certificate"]["qc"]["signers"], json!([0, 1, 3]));

        // The validators changed: the node's current set is no trust root for its history.
        node.set(
            "/v1/epochs",
            lianrong_api_types::EpochChanges {
                changes: vec![fake_change()],
            },
        );
        let proof_path = paths::proof(DocKind::Receivable, "RCV-1").unwrap();
        node.set(&proof_path, fake_proof(vec![fake_change()]));
        for path in ["/api/verify/block/1", "/api/verify/doc/receivable/RCV-1"] {
            let (code, _, body) = http(addr, "GET", path, Some(&audit), None).await;
            assert_eq!(code, 503, "{path}: {body}");
            assert!(body.contains("pin genesis.json"), "{path}: {body}");
        }
        served.stop().await;
    }

    /// With genesis pinned, its set is the trust root, whatever the node reports, and the
    /// validator-set changes are passed on for the browser to check.
    #[tokio::test]
    async fn the_verify_api_serves_the_pinned_genesis_as_trust_root() {
        let node = node_with_evidence();
        let proof_path = paths::proof(DocKind::Receivable, "RCV-1").unwrap();
        node.set(&proof_path, fake_proof(vec![fake_change()]));
        node.set(
            "/v1/epochs",
            lianrong_api_types::EpochChanges {
                changes: vec![fake_change()],
            },
        );
        let validators = vec![fake::validator("VAL-A", 2), fake::validator("VAL-B", 3)];
        let (served, audit) = serve_pinned_for_auditor("genesis", validators, node).await;
        let addr = served.addr;
        let v = get_json(addr, "/api/verify/doc/receivable/RCV-1", &audit).await;
        assert_eq!(
            v["trust"]["validators"],
            json!(["02".repeat(32), "03".repeat(32)])
        );
        assert_eq!(v["trust"]["source"], PINNED_SOURCE);
        assert_eq!(v["epochs"][0]["epoch"], "0");
        assert_eq!(v["epochs"][0]["validators"][0]["key"], "07".repeat(32));
        let v = get_json(addr, "/api/verify/block/1", &audit).await;
        assert_eq!(
            v["epochs"],
            json!([]),
            "block 1 is of epoch 0: no change concerns it"
        );
        served.stop().await;
    }

    /// RCV-1's history: a transfer at height 2, the ledger's overdue mark at 3, a
    /// transfer at 6.
    fn rcv1_entries() -> Vec<lianrong_contracts::HistoryEntry> {
        use crate::lineage::testproofs::entry;
        vec![
            entry("RCV-1", 2, 0xa2, "SUP-2"),
            entry("RCV-1", 3, 0, ""),
            entry("RCV-1", 6, 0xa6, "SUP-3"),
        ]
    }

    /// The node's lineage answer for SUP-1's RCV-1 (no parent), serving `shown`.
    fn rcv1_history(
        shown: Vec<lianrong_contracts::HistoryEntry>,
    ) -> lianrong_api_types::ReceivableHistory {
        crate::lineage::testproofs::history_alone(sup1_rcv1(), shown)
    }

    /// The paths of RCV-1's history and of its history proof.
    fn rcv1_paths() -> (String, String) {
        (
            paths::history("RCV-1").unwrap(),
            paths::history_proof(DocKind::Receivable, "RCV-1").unwrap(),
        )
    }

    /// The receivable page checks RCV-1's history proof from the pinned genesis and says
    /// of each entry whether it is proven: those up to the certified height from an honest
    /// node, for the auditor and for SUP-1 alike (the check runs on the node's raw
    /// entries); NOT PROVEN where the node's history leaves one out.
    #[tokio::test]
    async fn the_receivable_page_says_which_history_entries_are_proven() {
        let node = node_with_two_suppliers();
        let entries = rcv1_entries();
        let (history_path, proof_path) = rcv1_paths();
        node.set(&history_path, rcv1_history(entries.clone()));
        let certified = crate::lineage::testproofs::proof("RCV-1", &entries[..2], 5);
        node.set(&proof_path, certified);
        let validators = crate::lineage::testproofs::validators();
        let (served, audit) = serve_pinned_for_auditor("history", validators, node.clone()).await;
        let addr = served.addr;
        let (_, head) = login(addr, "username=sup1&password=s").await;
        let sup = session_of(&head);
        for who in [&audit, &sup] {
            let (code, _, page) = http(addr, "GET", "/receivables/RCV-1", Some(who), None).await;
            assert_eq!(code, 200, "{page}");
            let row = r#"class="history-entry" data-receivable="RCV-1" data-proof="proven""#;
            assert_eq!(page.matches(row).count(), 2, "{page}");
            assert!(page.contains(">proven, certified at height 5<"), "{page}");
            assert!(page.contains(">not yet certified (certified up to height 5)<"));
            assert!(page.contains("proven: its 2 entries up to height 5, certified by block 7"));
            assert!(page.contains("trusting the genesis.json pinned in the explorer config"));
        }
        // The node's history index leaves out the entry of height 2.
        node.set(&history_path, rcv1_history(entries[1..].to_vec()));
        let (_, _, page) = http(addr, "GET", "/receivables/RCV-1", Some(&audit), None).await;
        assert!(
            page.contains("NOT PROVEN: not the entry the certified history has at place 1"),
            "{page}"
        );
        assert!(page.contains(r#"data-verdict="not-proven""#));
        assert!(!page.contains(r#"data-proof="proven""#), "{page}");
        served.stop().await;
    }

    /// Without a pinned genesis the node's reported set stands in; once a proof carries a
    /// validator-set change, the page says the history cannot be proven (as the verify
    /// API refuses).
    #[tokio::test]
    async fn without_a_pinned_genesis_a_changed_set_leaves_the_history_unproven() {
        let node = node_with_two_suppliers();
        let entries = rcv1_entries();
        let (history_path, proof_path) = rcv1_paths();
        let mut changed = crate::lineage::testproofs::proof("RCV-1", &entries[..2], 5);
        changed.epochs = vec![fake_change()];
        node.set(&proof_path, changed);
        node.set(&history_path, rcv1_history(entries));
        node.set(
            "/v1/status",
            fake::status(0, crate::lineage::testproofs::validators()),
        );
        let (served, audit) = serve_for_auditor(config_with_auditor_and_sup1(), node).await;
        let addr = served.addr;
        let (_, _, page) = http(addr, "GET", "/receivables/RCV-1", Some(&audit), None).await;
        assert!(
            page.contains("cannot be proven: the network changed its validator set 1 times"),
            "{page}"
        );
        assert!(page.contains("pin genesis.json"));
        assert!(page.contains("trusting the validator set the node reports"));
        assert!(!page.contains(r#"data-proof="proven""#));
        served.stop().await;
    }

    /// The store suite's node: blocks 1 (INV-1, RCV-1 of SUP-1) and 2 (PO-9), and in the
    /// lists BANK-A (a bank) holding RCV-7, which it financed, and SUP-2 holding RCV-9 (past maturity).
    fn suite_node() -> Arc<FakeNode> {
        let (node, _, _) = crate::index::tests::two_block_node();
        let org = |id: &str, role| lianrong_contracts::model::Org {
            id: testdata::org(id),
            name: id.into(),
            tax_id: "91330000MA2SUP106X".into(),
            roles: vec![role],
            identifiers: vec![],
            keys: vec![],
            revoked_keys: vec![],
            admitted_at: 0,
        };
        use lianrong_contracts::model::Role;
        node.set_orgs(vec![
            org("BANK-A", Role::Bank),
            org("CORE-A", Role::Core),
            org("SUP-1", Role::Supplier),
        ]);
        node.set_receivables(suite_receivables().into_iter().skip(1).collect());
        node
    }

    /// RCV-1 (from block 1), RCV-7 (financed by BANK-A: the bank's exposure) and RCV-9
    /// (from the list).
    fn suite_receivables() -> Vec<lianrong_contracts::model::Receivable> {
        let r = testdata::receivable;
        let mut financed = r(
            "RCV-7",
            "BANK-A",
            "CORE-A",
            "2026-11-01",
            "2026-12-04",
            "50.50",
        );
        financed.financing = Some(lianrong_contracts::model::DocId::new("FIN-7").unwrap());
        vec![
            r(
                "RCV-1",
                "SUP-1",
                "CORE-A",
                "2026-11-01",
                "2027-01-31",
                "100.00",
            ),
            financed,
            r(
                "RCV-9",
                "SUP-2",
                "CORE-B",
                "2026-01-01",
                "2026-02-27",
                "777.00",
            ),
        ]
    }

    /// What the in-memory views make of the suite's documents: the answers the store's
    /// SQL must give.
    fn suite_expected(path: &str, v: &Viewer) -> String {
        let mut d = IndexData::default();
        for r in suite_receivables() {
            d.receivables.insert(r.id.to_string(), r);
        }
        for (id, role) in [
            ("BANK-A", lianrong_contracts::model::Role::Bank),
            ("CORE-A", lianrong_contracts::model::Role::Core),
        ] {
            let mut o = d
                .orgs
                .get(id)
                .cloned()
                .unwrap_or_else(|| lianrong_contracts::model::Org {
                    id: testdata::org(id),
                    name: id.into(),
                    tax_id: String::new(),
                    roles: vec![],
                    identifiers: vec![],
                    keys: vec![],
                    revoked_keys: vec![],
                    admitted_at: 0,
                });
            o.roles = vec![role];
            d.orgs.insert(id.into(), o);
        }
        let (q, today) = (ListQuery::default(), views::business_today());
        let t = match path {
            "/receivables" => views::receivables(&d, v, &q),
            "/risk/ladder" => views::ladder(&d, v, &q, today),
            "/risk/exposure" => views::exposure(&d, v, &q),
            "/risk/overdue" => views::overdue(&d, v, &q, today),
            other => panic!("{other}"),
        };
        t.to_csv().unwrap()
    }

    /// Polls `path` until its body contains `want`.
    async fn poll_for(addr: SocketAddr, cookie: &str, path: &str, want: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (_, _, body) = http(addr, "GET", path, Some(cookie), None).await;
            if body.contains(want) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "{path} never showed {want}: {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The CSVs and a page an auditor and SUP-1 get equal the in-memory views' answers.
    async fn suite_answers(addr: SocketAddr, audit: &str, sup: &str) {
        let sup1 = Viewer::Org(testdata::org("SUP-1"));
        let audit_v = Viewer::Everything { org: None };
        for (path, url) in [
            ("/receivables", "/receivables?format=csv"),
            ("/risk/ladder", "/risk/ladder?format=csv"),
            ("/risk/exposure", "/risk/exposure?format=csv"),
            ("/risk/overdue", "/risk/overdue?by=receivable&format=csv"),
        ] {
            for (cookie, v) in [(audit, &audit_v), (sup, &sup1)] {
                let (code, _, csv) = http(addr, "GET", url, Some(cookie), None).await;
                assert_eq!(code, 200, "{path}");
                assert_eq!(csv, suite_expected(path, v), "{path} for {v:?}");
            }
        }
        let (_, _, txs) = http(addr, "GET", "/txs", Some(sup), None).await;
        assert!(
            txs.contains("register_invoice") && !txs.contains("issue_order"),
            "{txs}"
        );
        let (_, _, orders) = http(addr, "GET", "/orders?q=po-9", Some(audit), None).await;
        assert!(orders.contains("/orders/PO-9"), "{orders}");
        let (_, _, blocks) = http(addr, "GET", "/blocks?q=2", Some(audit), None).await;
        assert!(blocks.contains(r#"href="/blocks/2""#), "{blocks}");
        assert!(!blocks.contains(r#"href="/blocks/1""#), "{blocks}");
        let (_, _, refused) = http(addr, "GET", "/txs?status=refused", Some(audit), None).await;
        assert!(refused.contains("Nothing to show."), "{refused}");
        let (_, _, found) = http(addr, "GET", "/txs?q=REGISTER_", Some(audit), None).await;
        assert!(found.contains("register_invoice") && !found.contains("issue_order"));
        // Search by invoice number, from the store.
        let (code, head, _) = http(addr, "GET", "/search?q=FP-INV-1", Some(sup), None).await;
        assert_eq!(code, 303, "{head}");
        assert!(
            head.to_lowercase().contains("location: /invoices/inv-1"),
            "{head}"
        );
    }

    /// The same suite on any database: index a chain, answer pages, CSVs and risk views
    /// as the in-memory views do; restart, continue from the stored height (block 1 is
    /// no longer served), and answer the same.
    async fn store_suite(url: String) {
        let node = suite_node();
        let mut cfg = config_with_auditor_and_sup1();
        cfg.database = Some(url);
        for round in 0..2 {
            if round == 1 {
                node.answers.lock().unwrap().remove("/v1/blocks/1");
                node.set("/v1/blocks/3", fake::block(3, &[]));
                node.set("/v1/status", fake::status(3, vec![]));
            }
            let served = serve(cfg.clone(), node.clone()).await;
            let (_, head) = login(served.addr, "username=audit&password=a").await;
            let audit = session_of(&head);
            let (_, head) = login(served.addr, "username=sup1&password=s").await;
            let sup = session_of(&head);
            let top = format!("href=\"/blocks/{}\"", round + 2);
            poll_for(served.addr, &audit, "/blocks", &top).await;
            poll_for(served.addr, &audit, "/receivables?format=csv", "id,holder").await;
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let (_, _, csv) = http(
                    served.addr,
                    "GET",
                    "/receivables?format=csv",
                    Some(&audit),
                    None,
                )
                .await;
                if csv.starts_with("id,") {
                    break;
                }
                assert!(Instant::now() < deadline, "never complete: {csv}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let (_, _, blocks) = http(served.addr, "GET", "/blocks", Some(&audit), None).await;
            assert!(blocks.contains("href=\"/blocks/1\""), "{blocks}");
            suite_answers(served.addr, &audit, &sup).await;
            served.stop().await;
        }
    }

    /// The finding: lists and CSVs were cut at 5,000 rows, and the index at
    /// `max_index_docs`. From the store, a page shows 5,000 rows with a link to the next,
    /// and the CSV every row, whatever the in-memory cache holds.
    #[tokio::test]
    async fn lists_page_and_csvs_hold_every_row_beyond_the_cache() {
        let node = Arc::new(FakeNode::default());
        node.set("/v1/status", fake::status(0, vec![]));
        let n = views::MAX_ROWS + 7;
        node.set_receivables(
            (0..n)
                .map(|i| {
                    let id = format!("RCV-{i:05}");
                    testdata::receivable(&id, "SUP-1", "CORE-A", "2026-11-01", "2027-01-31", "1.00")
                })
                .collect(),
        );
        let mut cfg = config_with_auditor_and_sup1();
        cfg.max_index_docs = 100;
        let served = serve(cfg, node).await;
        let (_, head) = login(served.addr, "username=audit&password=a").await;
        let audit = session_of(&head);
        let deadline = Instant::now() + Duration::from_secs(60);
        let csv = loop {
            let (_, _, csv) = http(
                served.addr,
                "GET",
                "/receivables?format=csv",
                Some(&audit),
                None,
            )
            .await;
            if csv.starts_with("id,") {
                break csv;
            }
            assert!(
                Instant::now() < deadline,
                "never indexed: {}",
                &csv[..200.min(csv.len())]
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(csv.lines().count(), n + 1, "every row and the header");
        assert!(csv
            .lines()
            .last()
            .unwrap()
            .starts_with(&format!("RCV-{:05},", n - 1)));
        pages_walk_by_key(served.addr, &audit, n).await;
        // The ladder totals every receivable too.
        let (_, _, ladder) = http(
            served.addr,
            "GET",
            "/risk/ladder?format=csv",
            Some(&audit),
            None,
        )
        .await;
        assert!(ladder.contains(&format!(",{n},{n}.00")), "{ladder}");
        served.stop().await;
    }

    /// The receivables list of `n` rows, `audit`'s session: pages walked by key, earlier
    /// numbered links, and a number too deep to count to.
    async fn pages_walk_by_key(addr: SocketAddr, audit: &str, n: usize) {
        let (_, _, first) = http(addr, "GET", "/receivables", Some(audit), None).await;
        // "Next page" carries where the page ended (a keyset walk: any depth costs one
        // page) and the next page's number.
        let next = "/receivables?after=RCV-04999&page=2";
        assert!(
            first.contains(r#"id="next-page" href="/receivables?after=RCV-04999&amp;page=2""#),
            "{first}"
        );
        assert!(!first.contains("RCV-05000") && first.contains("RCV-04999"));
        assert!(!first.contains("first-page"));
        // The keyset page, and the numbered one of earlier links: the same rows.
        for path in [next, "/receivables?page=2"] {
            let (_, _, second) = http(addr, "GET", path, Some(audit), None).await;
            assert!(second.contains("RCV-05000") && second.contains(&format!("RCV-{:05}", n - 1)));
            assert!(!second.contains("next-page") && !second.contains("RCV-04999"));
            assert!(second.contains(r#"id="first-page" href="/receivables""#));
        }
        // Filters ride along; a hand-made key without a number still pages.
        let (_, _, filtered) = http(
            addr,
            "GET",
            "/receivables?status=active&after=RCV-00002",
            Some(audit),
            None,
        )
        .await;
        assert!(
            filtered.contains(
                r#"id="next-page" href="/receivables?status=active&amp;after=RCV-05002""#
            ),
            "{filtered}"
        );
        assert!(filtered.contains("RCV-00003") && !filtered.contains(">RCV-00002<"));
        // A hand-made number with a key only labels the page, whatever it is.
        let path = format!("/receivables?after=RCV-00002&page={}", u64::MAX);
        let (status, _, labelled) = http(addr, "GET", &path, Some(audit), None).await;
        assert_eq!(status, 200, "{labelled}");
        assert!(labelled.contains("RCV-00003"));
        // A page number beyond what numbers open: said, with the way on, not counted to.
        let (status, _, deep) = http(
            addr,
            "GET",
            "/receivables?status=active&page=11",
            Some(audit),
            None,
        )
        .await;
        assert_eq!(status, 400, "{deep}");
        assert!(
            deep.contains("page-too-deep") && !deep.contains("RCV-0"),
            "{deep}"
        );
        assert!(deep.contains(r#"id="first-page" href="/receivables?status=active""#));
    }

    #[tokio::test]
    async fn the_store_suite_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        store_suite(format!(
            "sqlite://{}",
            dir.path().join("explorer.db").display()
        ))
        .await;
    }

    #[tokio::test]
    async fn the_store_suite_on_postgres() {
        let Some(pg) = crate::store::testpg::TestPostgres::start() else {
            return;
        };
        store_suite(pg.database("explorer").await).await;
    }

    /// A disbursed financing of RCV-1 (disputed, so the disbursement view flags it),
    /// applied for by `applicant` at BANK-A.
    fn disputed_financing(i: usize, applicant: &str) -> lianrong_contracts::model::Financing {
        use lianrong_contracts::model::{
            Disbursement, DisbursementStatus, Financing, FinancingStatus, FinancingTerms,
        };
        use lianrong_contracts::money::{Money, Rate};
        let cny = |s: &str| Money::parse(s, "CNY").unwrap();
        let (face, value_date) = (cny("100.00"), "2026-03-02".parse().unwrap());
        Financing {
            id: format!("FIN-{i:04}").parse().unwrap(),
            receivable: "RCV-1".parse().unwrap(),
            applicant: testdata::org(applicant),
            banks: vec![testdata::org("BANK-A")],
            offers: vec!["OFR-1".parse().unwrap()],
            status: FinancingStatus::Disbursed,
            terms: Some(FinancingTerms {
                offer: "OFR-1".parse().unwrap(),
                bank: testdata::org("BANK-A"),
                face,
                advanced: face,
                rate: Rate::parse("3.65").unwrap(),
                fees: cny("0.00"),
                value_date,
                days: 88,
                discount: cny("0.89"),
                net: cny("99.11"),
                valid_until: "2026-03-10".parse().unwrap(),
            }),
            payment_ref: Some("CMB-1".into()),
            disbursement: Some(Disbursement {
                payment_ref: "CMB-1".into(),
                value_date,
                days: 88,
                discount: cny("0.89"),
                net: cny("99.11"),
                status: DisbursementStatus::Disputed,
                dispute_reason: Some("short".into()),
            }),
            registration: None,
            programme: None,
            recourse: None,
            overdue: None,
        }
    }

    /// A transaction of block 1 at `position` touching warehouse receipt `id`, with
    /// one event `name` about it.
    fn receipt_tx(position: u64, id: &str, owner: &str, name: &str) -> crate::index::TxRecord {
        crate::index::TxRecord {
            hash: format!("{:064x}", position + 1),
            height: 1,
            index: position,
            time_ms: 1_800_000_000_000,
            signer_org: "BANK-B".into(),
            signer_key: String::new(),
            nonce: position,
            action_name: "x".into(),
            action: json!({}),
            ok: true,
            error: None,
            events: vec![json!({ name: { "receipt": id, "bank": "BANK-B", "owner": owner } })],
            docs: vec![(DocKind::WarehouseReceipt, id.to_string())],
            parties: vec![owner.to_string(), "BANK-B".into(), "LOGI".into()],
        }
    }

    const RECEIPTS: usize = 150;
    const PROPOSALS: usize = 1050;
    const FINANCINGS: usize = 150;

    /// Writes the documents the index lacks beyond its cache: receipts (every third
    /// declined by BANK-B; WR-0000 touched by 70 older transactions too), proposals
    /// (more than a CSV chunk) and disputed financings, straight into the store, as a
    /// follower would have over a long chain (block 1).
    async fn write_beyond_the_cache(url: &str) -> Store {
        use crate::store::{Context, DocRow};
        use lianrong_contracts::model::{GovChange, Proposal, ProposalStatus};
        let store = Store::open(url).await.unwrap();
        let mut docs = vec![];
        let mut txs = vec![];
        for k in 0..70 {
            txs.push(receipt_tx(
                k,
                "WR-0000",
                "SUP-1",
                "warehouse_receipt_issued",
            ));
        }
        let row = |d: Doc| DocRow::of(&d, &Context::default()).unwrap();
        for i in 0..RECEIPTS {
            let id = format!("WR-{i:04}");
            let owner = if i % 2 == 0 { "SUP-1" } else { "SUP-2" };
            let mut r = crate::warehouse::tests::receipt(&id, owner);
            r.lot = format!("LOT-{id}");
            docs.push(row(Doc::WarehouseReceipt(r)));
            if i % 3 == 0 {
                let name = "warehouse_receipt_pledge_declined";
                txs.push(receipt_tx(1000 + i as u64, &id, owner, name));
            }
        }
        for n in 1..=PROPOSALS {
            docs.push(row(Doc::Proposal(Proposal {
                id: format!("GOV-{n}").parse().unwrap(),
                proposer: testdata::org("BANK-A"),
                change: GovChange::SetIssuanceLimit {
                    debtor: testdata::org("CORE-A"),
                    limit: None,
                },
                approvals: vec![testdata::org("BANK-A")],
                status: ProposalStatus::Executed,
                opened_on: "2026-03-01".parse().unwrap(),
            })));
        }
        for i in 0..FINANCINGS {
            let applicant = if i % 2 == 0 { "SUP-1" } else { "SUP-2" };
            docs.push(row(Doc::Financing(disputed_financing(i, applicant))));
        }
        docs.push(row(Doc::Receivable(sup1_rcv1())));
        let mut block = crate::index::BlockRow::from_view(&fake::block(1, &[]));
        block.tx_hashes = txs.iter().map(|t| t.hash.clone()).collect();
        block.tx_count = txs.len();
        store.write_block(&block, &txs, &docs).await.unwrap();
        store
    }

    /// A CSV once the index has caught up (no INCOMPLETE line).
    async fn complete_csv(addr: SocketAddr, session: &str, path: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (_, _, csv) = http(addr, "GET", path, Some(session), None).await;
            if !csv.starts_with("INCOMPLETE") && csv.contains('\n') {
                return csv;
            }
            assert!(Instant::now() < deadline, "never complete: {csv}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A document's page reads all its transactions (WR-0000: 71), newest first, a page
    /// at a time, those the viewer is party to.
    async fn doc_history_pages(store: &Store) {
        let everyone = Viewer::Everything { org: None };
        let mut paged = vec![];
        for skip in (0..80).step_by(30) {
            let kind = DocKind::WarehouseReceipt;
            let part = store
                .doc_history(kind, "WR-0000", &everyone, skip, 30)
                .await
                .unwrap();
            paged.extend(part.into_iter().map(|t| t.index));
        }
        let want: Vec<u64> = [1000].into_iter().chain((0..70).rev()).collect();
        assert_eq!(paged, want);
        let sup2 = Viewer::Org(testdata::org("SUP-2"));
        let none = store.doc_history(DocKind::WarehouseReceipt, "WR-0000", &sup2, 0, 100);
        assert!(none.await.unwrap().is_empty(), "not SUP-2's");
    }

    /// Warehouse receipts, proposals, disbursements and the cost report list every
    /// document the store holds, far beyond the in-memory cache's `max_index_docs`, with
    /// the viewer's visibility and the filters; the cache loads only the newest 64
    /// transactions of a document.
    async fn lists_beyond_the_cache(url: String) {
        let store = write_beyond_the_cache(&url).await;
        let loaded = store.load_index(100).await.unwrap();
        let wr0 = &loaded.doc_txs[&(DocKind::WarehouseReceipt, "WR-0000".to_string())];
        assert_eq!(wr0.len(), crate::index::MAX_TXS_PER_DOC, "bounded at load");
        assert_eq!(
            wr0.back(),
            Some(&format!("{:064x}", 1001)),
            "the newest kept"
        );
        assert!(!wr0.contains(&format!("{:064x}", 1)), "the oldest left out");
        doc_history_pages(&store).await;
        drop(store);

        let node = Arc::new(FakeNode::default());
        node.set("/v1/status", fake::status(1, vec![]));
        node.set("/v1/blocks/1", fake::block(1, &[]));
        let mut cfg = config_with_auditor_and_sup1();
        cfg.max_index_docs = 20;
        cfg.database = Some(url.clone());
        let served = serve(cfg, node.clone()).await;
        let addr = served.addr;
        let (_, head) = login(addr, "username=audit&password=a").await;
        let audit = session_of(&head);
        let (_, head) = login(addr, "username=sup1&password=s").await;
        let sup = session_of(&head);
        let rows = |csv: &str| csv.lines().skip(1).map(str::to_string).collect::<Vec<_>>();

        let all = complete_csv(addr, &audit, "/warehouse?format=csv").await;
        assert_eq!(rows(&all).len(), RECEIPTS, "{all}");
        let (_, _, page) = http(addr, "GET", "/warehouse", Some(&audit), None).await;
        assert!(
            page.contains("WR-0000") && page.contains("WR-0149"),
            "{page}"
        );
        let declined = complete_csv(addr, &audit, "/warehouse?format=csv&status=declined").await;
        assert_eq!(rows(&declined).len(), RECEIPTS / 3, "{declined}");
        assert!(rows(&declined)
            .iter()
            .all(|r| r.contains("declined by BANK-B")));
        let own = complete_csv(addr, &sup, "/warehouse?format=csv").await;
        assert_eq!(rows(&own).len(), RECEIPTS / 2, "{own}");
        assert!(!own.contains("SUP-2"), "{own}");

        let gov = complete_csv(addr, &audit, "/governance?format=csv").await;
        let ids: Vec<String> = rows(&gov)
            .iter()
            .map(|r| r.split(',').next().unwrap().to_string())
            .collect();
        let want: Vec<String> = (1..=PROPOSALS).rev().map(|n| format!("GOV-{n}")).collect();
        assert_eq!(ids, want, "every proposal, newest first, across CSV chunks");
        let (_, _, page) = http(addr, "GET", "/governance", Some(&audit), None).await;
        assert!(
            page.contains("GOV-1050") && page.contains(">GOV-1<"),
            "{page}"
        );
        let none = complete_csv(addr, &sup, "/governance?format=csv").await;
        assert!(rows(&none).is_empty(), "not SUP-1's: {none}");

        let flagged = complete_csv(addr, &audit, "/risk/disbursements?format=csv").await;
        assert_eq!(rows(&flagged).len(), FINANCINGS, "{flagged}");
        let own = complete_csv(addr, &sup, "/risk/disbursements?format=csv").await;
        assert_eq!(rows(&own).len(), FINANCINGS / 2, "{own}");
        assert!(!own.contains("SUP-2"), "{own}");

        let all_in = lianrong_api_types::pricing::disbursed_all_in(
            &disputed_financing(0, "SUP-1"),
            fake::status(1, vec![]).params.day_count,
        )
        .unwrap()
        .unwrap()
        .all_in
        .percent()
        .to_string();
        let cost = complete_csv(addr, &audit, "/risk/cost?format=csv").await;
        let tier = format!("tier {}", sup1_rcv1().tier);
        let row = format!("2026-03,outside programmes,{tier},CNY,150,14866.50 CNY,{all_in},");
        assert_eq!(rows(&cost).len(), 1, "{cost}");
        assert!(cost.contains(&row), "{row} in {cost}");
        let own = complete_csv(addr, &sup, "/risk/cost?format=csv").await;
        assert!(own.contains(",CNY,75,7433.25 CNY,"), "{own}");
        pages_beyond_the_cache(addr, &audit, &sup).await;
        sections_beyond_the_cache(&url, addr, (&audit, &sup), &node).await;
        served.stop().await;
    }

    const SETTLEMENTS: usize = 30;

    /// Writes, while the explorer runs (the cache never sees them), what the document
    /// pages' sections look up by other fields than an id: RCV-1's invoice INV-1 (its 150
    /// financings are already stored), 30 settlement lines of one CORE-A instruction on
    /// RCV-1 (paying SUP-1 and SUP-2 in turn) and 30 transactions on RCV-1 (returned).
    async fn write_sections(store: &Store) -> Vec<crate::index::TxRecord> {
        use crate::store::{Context, DocRow};
        use lianrong_contracts::model::{Settlement, SettlementStatus};
        let row = |d: Doc| DocRow::of(&d, &Context::default()).unwrap();
        let inv = testdata::invoice("INV-1", "SUP-1", "CORE-A", "2026-12-30", "5.00");
        let mut docs = vec![row(Doc::Invoice(inv))];
        for i in 0..SETTLEMENTS {
            docs.push(row(Doc::Settlement(Settlement {
                id: format!("STL-{i:04}").parse().unwrap(),
                debtor: testdata::org("CORE-A"),
                payee: testdata::org(if i % 2 == 0 { "SUP-1" } else { "SUP-2" }),
                receivable: "RCV-1".parse().unwrap(),
                root: "RCV-1".parse().unwrap(),
                amount: lianrong_contracts::money::Money::parse("0.10", "CNY").unwrap(),
                payment_ref: "PAY-1".into(),
                line: i as u32 + 1,
                lines: SETTLEMENTS as u32,
                instructed_on: "2026-12-30".parse().unwrap(),
                status: SettlementStatus::Pending,
                answered_on: None,
                dispute_reason: None,
            })));
        }
        let txs: Vec<crate::index::TxRecord> = (0..SETTLEMENTS as u64)
            .map(|k| {
                let mut t = receipt_tx(5000 + k, "-", "SUP-1", "x");
                t.docs = vec![(DocKind::Receivable, "RCV-1".to_string())];
                t.events = vec![];
                t
            })
            .collect();
        let mut block = crate::index::BlockRow::from_view(&fake::block(1, &[]));
        block.tx_hashes = txs.iter().map(|t| t.hash.clone()).collect();
        block.tx_count = txs.len();
        store.write_block(&block, &txs, &docs).await.unwrap();
        txs
    }

    /// Each document page's section reads the store (see [`write_sections`]), checked
    /// against what was written, with the viewer's visibility; and the loan's LTV series
    /// from the store against the ledger's.
    async fn sections_beyond_the_cache(
        url: &str,
        addr: SocketAddr,
        (audit, sup): (&str, &str),
        node: &FakeNode,
    ) {
        let store = Store::open(url).await.unwrap();
        let txs = write_sections(&store).await;
        let history = crate::lineage::testproofs::history_alone(sup1_rcv1(), vec![]);
        node.set("/v1/receivables/RCV-1/history", history);

        let get = |path: &'static str, who: &str| {
            let who = who.to_string();
            async move { http(addr, "GET", path, Some(&who), None).await.2 }
        };
        let section = |page: &str, id: &str| {
            let from = format!("id=\"{id}\"");
            let part = page.split(from.as_str()).nth(1).unwrap_or_default();
            part.split("</table>")
                .next()
                .unwrap_or_default()
                .to_string()
        };
        let stl_links = |html: &str| html.matches("href=\"/settlements/STL-").count();
        let page = get("/receivables/RCV-1", audit).await;
        assert_eq!(
            stl_links(&section(&page, "settlements")),
            SETTLEMENTS,
            "{page}"
        );
        let lineage = section(&page, "lineage-settlements");
        assert_eq!(stl_links(&lineage), SETTLEMENTS, "{page}");
        for t in &txs {
            let link = format!("href=\"/tx/{}\"", t.hash);
            assert!(page.contains(&link), "the lineage's tx {link}: {page}");
        }
        let page = get("/receivables/RCV-1", sup).await;
        let own = section(&page, "settlements");
        assert_eq!(
            stl_links(&own),
            SETTLEMENTS / 2,
            "SUP-1's lines only: {page}"
        );
        assert!(!own.contains("SUP-2"), "{own}");

        let page = get("/settlements/STL-0007", audit).await;
        let lines = section(&page, "instruction-lines");
        assert_eq!(stl_links(&lines), SETTLEMENTS, "{page}");

        let page = get("/invoices/INV-1", audit).await;
        let want =
            format!("1 receivables from this invoice, {FINANCINGS} financings, {FINANCINGS} live");
        assert!(page.contains(&want), "{want} in {page}");
        let page = get("/invoices/INV-1", sup).await;
        let half = FINANCINGS / 2;
        let want = format!("1 receivables from this invoice, {half} financings, {half} live");
        assert!(page.contains(&want), "{want} in {page}");

        let (loan, ledger) = crate::loans::tests::write_story(&store, 1_000_000).await;
        let status = IndexData::default();
        let (series, note) = crate::loans::series_from_store(&store, &status, &loan).await;
        assert_eq!(series, ledger, "the LTV chart's points are the ledger's");
        assert_eq!(series.len(), 6);
        assert_eq!(note, None);
    }

    /// Document pages and the dashboard read the store: documents far beyond the
    /// cache's 20 are shown (the fake node serves none of them), each with every
    /// transaction that touched it (WR-0000: 71, the cache keeps 64), newest first, and
    /// the visibility rule as ever (a missing and a forbidden document alike 404).
    async fn pages_beyond_the_cache(addr: SocketAddr, audit: &str, sup: &str) {
        let get = |path: &'static str, who: &str| {
            let who = who.to_string();
            async move { http(addr, "GET", path, Some(&who), None).await }
        };
        let (code, _, page) = get("/warehouse/WR-0000", audit).await;
        assert_eq!(code, 200, "{page}");
        let txs = page.split("id=\"doc-txs\"").nth(1).unwrap_or_default();
        let hashes: Vec<String> = (1..=70)
            .chain([1001])
            .map(|n| format!("href=\"/tx/{n:064x}\""))
            .collect();
        for h in &hashes {
            assert!(txs.contains(h.as_str()), "{h} in {txs}");
        }
        let at = |h: &str| txs.find(h).unwrap();
        assert!(at(&hashes[70]) < at(&hashes[69]) && at(&hashes[1]) < at(&hashes[0]));
        assert_eq!(txs.matches("href=\"/tx/").count(), 71, "every one, once");
        for (path, who, want) in [
            ("/warehouse/WR-0149", audit, 200),
            ("/warehouse/WR-0149", sup, 404),
            ("/financings/FIN-0149", audit, 200),
            ("/financings/FIN-0149", sup, 404),
            ("/financings/FIN-0148", sup, 200),
            ("/governance/GOV-1050", audit, 200),
            ("/governance/GOV-1050", sup, 404),
            ("/receivables/RCV-1", sup, 200),
        ] {
            let (code, _, page) = get(path, who).await;
            assert_eq!(code, want, "{path}: {page}");
        }
        let (_, _, page) = get("/warehouse/WR-0144", sup).await;
        assert!(
            page.contains("declined by BANK-B"),
            "its pledge history: {page}"
        );
        let (_, _, page) = get("/financings/FIN-0148", sup).await;
        assert!(
            page.contains("id=\"disbursement-answer\">disputed: short"),
            "{page}"
        );
        let (_, _, page) = get("/governance/GOV-1050", audit).await;
        assert!(page.contains("proposal-standing"), "{page}");
        // The dashboard counts every stored document and transaction the viewer reads.
        let (_, _, page) = get("/", audit).await;
        assert!(
            page.contains("0 invoices, 1 receivables, 120 txs"),
            "{page}"
        );
        let (_, _, page) = get("/", sup).await;
        assert!(page.contains("0 invoices, 1 receivables, 95 txs"), "{page}");
    }

    #[tokio::test]
    async fn lists_beyond_the_cache_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("explorer.db");
        lists_beyond_the_cache(format!("sqlite://{}", db.display())).await;
    }

    #[tokio::test]
    async fn lists_beyond_the_cache_on_postgres() {
        let Some(pg) = crate::store::testpg::TestPostgres::start() else {
            return;
        };
        lists_beyond_the_cache(pg.database("beyond").await).await;
    }

    /// The shared state over a fake node, as `bind` builds it.
    async fn test_state(cfg: &ExplorerConfig) -> AppState {
        let store = Store::memory().await.unwrap();
        let index = Arc::new(Index::new(cfg.max_index_docs));
        app_state(cfg, node_with_two_suppliers(), store, index)
            .unwrap()
            .0
    }

    /// Calls the login handler as a browser at `peer` with a matching CSRF token would.
    async fn post_login(st: &AppState, peer: &str, user: &str, pw: &str) -> (StatusCode, String) {
        let token = new_token();
        let jar = CookieJar::new().add(Cookie::new(CSRF_COOKIE, token.clone()));
        let form = LoginForm {
            username: user.into(),
            password: pw.into(),
            csrf: token,
        };
        let peer = ConnectInfo(peer.parse().unwrap());
        let r = super::login(State(st.clone()), peer, jar, Ok(Form(form))).await;
        let status = r.status();
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// With every password check slot busy, a login is answered 503 at once (no argon2
    /// queued, no failure counted); a freed slot serves the next one.
    #[tokio::test]
    async fn logins_beyond_the_concurrency_cap_get_503_at_once() {
        let mut cfg = config_with_auditor_and_sup1();
        assert_eq!(cfg.max_concurrent_logins, 2, "the default");
        assert_eq!(test_state(&cfg).await.login_slots.available_permits(), 2);
        cfg.max_concurrent_logins = 1;
        let st = test_state(&cfg).await;
        let busy = st.login_slots.clone().try_acquire_owned().unwrap();
        for _ in 0..5 {
            let started = Instant::now();
            let (code, body) = post_login(&st, "192.0.2.1:5000", "audit", "wrong").await;
            assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
            assert!(body.contains(LOGINS_BUSY), "{body}");
            assert!(started.elapsed() < Duration::from_secs(1), "not queued");
        }
        assert_eq!(
            st.auth
                .check("audit", "192.0.2.1".parse().unwrap(), Instant::now()),
            Ok(()),
            "refused attempts are not failures"
        );
        drop(busy);
        let (code, _) = post_login(&st, "192.0.2.1:5000", "audit", "a").await;
        assert_eq!(code, StatusCode::SEE_OTHER);
        assert_eq!(
            st.login_slots.available_permits(),
            1,
            "the slot is given back"
        );
    }

    /// The handler counts failures under the connection's address: one address locked
    /// out of a name leaves the real user at another address (any port) able to log in.
    #[tokio::test]
    async fn a_lock_out_applies_to_the_failing_client_address_only() {
        let st = test_state(&config_with_auditor_and_sup1()).await;
        for port in 1..=2 {
            let peer = format!("192.0.2.1:{port}");
            let (code, _) = post_login(&st, &peer, "audit", "wrong").await;
            assert_eq!(code, StatusCode::UNAUTHORIZED);
        }
        let (code, _) = post_login(&st, "192.0.2.1:3", "audit", "wrong").await;
        assert_eq!(code, StatusCode::TOO_MANY_REQUESTS);
        let (code, body) = post_login(&st, "192.0.2.1:4", "audit", "a").await;
        assert_eq!(code, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert!(body.contains("too many failed attempts"), "{body}");
        let (code, _) = post_login(&st, "198.51.100.7:9", "audit", "a").await;
        assert_eq!(code, StatusCode::SEE_OTHER);
    }

    /// Login and log-out POSTs are refused (403) unless the CSRF cookie and the form's
    /// field are both present and equal; the cookie is HttpOnly, Secure, SameSite=Strict.
    #[tokio::test]
    async fn login_and_logout_posts_without_a_matching_csrf_token_are_refused() {
        let served = serve(config_with_auditor_and_sup1(), node_with_two_suppliers()).await;
        let addr = served.addr;
        let (_, head, _) = http(addr, "GET", "/login", None, None).await;
        let csrf_line = head
            .lines()
            .find(|l| l.starts_with("set-cookie: lr_csrf="))
            .unwrap_or_default();
        for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
            assert!(csrf_line.contains(attr), "{attr}: {csrf_line}");
        }
        let token = cookie_of(&head, CSRF_COOKIE);
        let other = new_token();
        let creds = "username=audit&password=a";
        let with_cookie = format!("{CSRF_COOKIE}={token}");
        // No token, field only, cookie only, different tokens: all refused, none counted.
        for (cookies, form) in [
            (None, creds.to_string()),
            (None, format!("{creds}&csrf={token}")),
            (Some(with_cookie.as_str()), creds.to_string()),
            (Some(with_cookie.as_str()), format!("{creds}&csrf={other}")),
            (Some(with_cookie.as_str()), format!("{creds}&csrf=")),
        ] {
            let (code, head, body) = request(addr, "POST", "/login", cookies, Some(&form)).await;
            assert_eq!(code, 403, "{cookies:?} {form}: {head}");
            assert!(body.contains(CSRF_REFUSED), "{body}");
            assert!(session_of(&head).is_empty(), "no session: {head}");
        }
        let (code, head) = login(addr, creds).await;
        assert_eq!(code, 303, "{head}");
        let (audit, csrf) = (session_of(&head), cookie_of(&head, CSRF_COOKIE));
        assert_ne!(csrf, token, "a fresh token for the session");
        let (_, _, page) = http(addr, "GET", "/blocks", Some(&audit), None).await;
        assert!(
            page.contains(&format!(r#"name="csrf" value="{csrf}""#)),
            "{page}"
        );

        // Log-out without the token (a cross-site POST) leaves the session open.
        let session_only = format!("{COOKIE}={audit}");
        let both = format!("{COOKIE}={audit}; {CSRF_COOKIE}={csrf}");
        for (cookies, form) in [
            (session_only.as_str(), None),
            (session_only.as_str(), Some(format!("csrf={csrf}"))),
            (both.as_str(), Some(format!("csrf={other}"))),
        ] {
            let (code, _, body) =
                request(addr, "POST", "/logout", Some(cookies), form.as_deref()).await;
            assert_eq!(code, 403, "{cookies} {form:?}");
            assert!(body.contains(CSRF_REFUSED), "{body}");
        }
        assert_eq!(
            http(addr, "GET", "/blocks", Some(&audit), None).await.0,
            200
        );
        let form = format!("csrf={csrf}");
        let (code, _, _) = request(addr, "POST", "/logout", Some(&both), Some(&form)).await;
        assert_eq!(code, 303);
        assert_eq!(
            http(addr, "GET", "/blocks", Some(&audit), None).await.0,
            303
        );
        assert!(same_token("ab", "ab") && !same_token("ab", "ac") && !same_token("", ""));
        served.stop().await;
    }
}
