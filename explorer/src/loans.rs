//! Loans against pledged warehouse receipts (`/loans`, its CSV, and `/loans/{id}`): each
//! loan's borrower, bank, status, principal, balance, goods value at the bank's latest
//! prices, LTV against its limit and margin-call threshold, the margin call's deadline
//! and accrued interest -- the node's figures (`/v1/loans`, computed by the ledger's own
//! rule), as of the ledger's date. The borrower and the bank see a loan; banks and
//! auditors see all (`Loan`'s rule in `lianrong_api_types::visibility`, through
//! [`crate::vis`]). Loans are read from the node when the page is asked for.
//!
//! A loan's page also draws its LTV over time ([`ltv_series`], [`ltv_chart`]: inline
//! SVG, no script), one point at each drawdown, price post of its bank for goods it
//! holds, top-up, acknowledged repayment and release, recomputed from the events the
//! index holds (the loan's and its bank's `price_posted`) by the ledger's own rules
//! (quantity x price rounded per receipt, LTV rounded up to 4 decimals), with its
//! maximum and margin-call LTV as lines. `/loans/margin-calls` lists the open margin
//! calls by cure deadline with the days left ([`margin_calls`], CSV too).

use std::collections::BTreeMap;

use lianrong_api_types::LoanView;
use lianrong_contracts::exec::inventory::ltv_percent;
use lianrong_contracts::model::{DocId, Loan, LoanStatus, LoanTerms, WarehouseReceipt};
use lianrong_contracts::money::Money;
use lianrong_contracts::Event;
use maud::{html, Markup};

use crate::index::IndexData;
use crate::node::{Doc, NodeApi, NodeError};
use crate::store::{PriceKey, Store, StoreError, StoredEvent};
use crate::views::{link, org_link, Cell, ListQuery, Table};
use crate::vis::{self, Viewer};
use lianrong_contracts::DocKind;

/// Most pages of `/v1/loans` one view reads (500 each); more is shown as incomplete.
const MAX_LOAN_PAGES: usize = 40;

/// Every loan the node lists (the explorer's token reads them all), and why the list may
/// be incomplete.
pub async fn fetch(node: &dyn NodeApi) -> Result<(Vec<LoanView>, Option<String>), NodeError> {
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_LOAN_PAGES {
        let page = node.loans_page(after.as_deref(), 500).await?;
        items.extend(page.items);
        match page.next.map(|n| n.to_string()) {
            // A cursor that does not move forward would loop: stop and say so.
            Some(n) if after.as_ref().is_none_or(|a| &n > a) => after = Some(n),
            Some(_) => {
                return Ok((
                    items,
                    Some("the node's list of loans did not advance".into()),
                ))
            }
            None => return Ok((items, None)),
        }
    }
    Ok((
        items,
        Some(format!("more than {} loans", MAX_LOAN_PAGES * 500)),
    ))
}

/// `requested`, `offered`, `accepted`, `disbursed`, `repaid`, `enforced`, `cancelled`.
fn status(v: &LoanView) -> String {
    serde_json::to_value(v.status)
        .ok()
        .and_then(|s| s.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The LTV against the loan's limits in one cell: `88.8889 % (max 70 %, call > 80 %)`.
fn ltv(v: &LoanView) -> String {
    let figure = v
        .ltv_percent
        .as_deref()
        .map_or_else(|| "-".to_string(), |p| format!("{p} %"));
    match &v.loan.terms {
        Some(t) => format!(
            "{figure} (max {} %, call > {} %)",
            t.ltv_max.percent(),
            t.margin_call_ltv.percent()
        ),
        None => figure,
    }
}

/// The margin-call state in words.
fn margin(v: &LoanView) -> String {
    match (v.margin_call_deadline, v.above_margin_call) {
        (Some(d), _) => format!("called, cure by {d}"),
        (None, true) => "above the threshold, not called".into(),
        (None, false) => "none".into(),
    }
}

/// What the viewer may see of `items`, filtered by `?status=` and `?org=` (borrower or
/// bank) and `?q=` (id or receipt).
pub fn table(items: Vec<LoanView>, v: &Viewer, q: &ListQuery) -> Table {
    let mut t = Table::new(vec![
        "id",
        "borrower",
        "bank",
        "status",
        "principal",
        "balance",
        "goods value",
        "LTV",
        "margin call",
        "receipts",
        "accrued interest",
    ]);
    for l in vis::filter(v, items) {
        let parties = [l.loan.borrower.as_str(), l.loan.bank.as_str()];
        let receipts: Vec<&str> = l.loan.receipts.iter().map(|r| r.as_str()).collect();
        let mut text = receipts.clone();
        text.push(l.loan.id.as_str());
        if !q.org_ok(&parties) || !q.status_ok(&status(&l)) || !q.text_ok(&text) {
            continue;
        }
        let id = l.loan.id.as_str();
        let row: Vec<Cell> = vec![
            link(id, format!("/loans/{id}")),
            org_link(l.loan.borrower.as_str()),
            org_link(l.loan.bank.as_str()),
            status(&l).into(),
            l.loan.amount.to_string().into(),
            l.balance.to_string().into(),
            l.value
                .map_or_else(|| "not valued".to_string(), |m| m.to_string())
                .into(),
            ltv(&l).into(),
            margin(&l).into(),
            receipts.join(", ").into(),
            l.accrued_interest.to_string().into(),
        ];
        t.push(row);
    }
    t
}

/// One loan's page: parties, terms, figures as of the ledger's date, its LTV over time
/// (`series`, with `note` saying what the index may lack), receipts.
pub fn detail(v: &LoanView, series: &[LtvPoint], note: Option<&str>) -> Markup {
    let l = &v.loan;
    html! {
        table class="fields" id="loan" {
            tr { th { "id" } td { (l.id) } }
            tr { th { "borrower" } td { a href=(format!("/orgs/{}", l.borrower)) { (l.borrower) } } }
            tr { th { "bank" } td { a href=(format!("/orgs/{}", l.bank)) { (l.bank) } } }
            tr { th { "status" } td id="loan-status" { (status(v)) } }
            tr { th { "requested" } td { (l.requested_on) } }
            tr { th { "principal" } td { (l.amount) } }
            @if let Some(t) = &l.terms {
                tr { th { "terms" } td { (t.rate) " a year, LTV max " (t.ltv_max) ", margin call above " (t.margin_call_ltv) ", " (t.cure_days) " cure days, maturity " (t.maturity) } }
            }
            @if let Some(d) = &l.disbursement {
                tr { th { "disbursed" } td { (d.value_date) @if d.acknowledged { " (acknowledged)" } @else { " (not yet acknowledged)" } } }
            }
        }
        h2 { "Figures as of " (v.as_of) }
        table class="fields" id="loan-figures" {
            tr { th { "balance" } td id="loan-balance" { (v.balance) } }
            tr { th { "goods value" } td { @if let Some(m) = &v.value { (m) } @else { "not valued" } } }
            @if let Some(e) = &v.value_error { tr { th { "why not valued" } td { (e) } } }
            tr { th { "LTV" } td id="loan-ltv" { (ltv(v)) } }
            tr { th { "margin call" } td id="loan-margin" { (margin(v)) } }
            tr { th { "accrued interest" } td { (v.accrued_interest) } }
            @if let Some(p) = &l.pending_repayment {
                tr { th { "repayment waiting for the bank" } td { (p.amount) } }
            }
        }
        p class="muted" { "LTV = balance / goods value; goods value = quantity x the bank's latest price per receipt, rounded to the minor unit. The LTV is shown rounded up; the ledger compares it exactly." }
        h2 { "LTV over time" }
        @if let Some(n) = note { p class="warn" { "Points may be missing: " (n) } }
        (ltv_chart(series, l.terms.as_ref()))
        (ltv_table(series))
        h2 { "Receipts" }
        table class="list" id="loan-receipts" {
            thead { tr { th { "receipt" } th { "state" } } }
            tbody {
                @for r in &l.receipts { tr { td { a href=(format!("/warehouse/{r}")) { (r) } } td { "securing the loan" } } }
                @for r in &l.released { tr { td { a href=(format!("/warehouse/{r}")) { (r) } } td { "released against repayment" } } }
            }
        }
    }
}

// ---------- LTV over time ----------

/// One point of a loan's LTV over time: the figures just after a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LtvPoint {
    /// Block height of the change.
    pub height: u64,
    /// Block time (ms since the Unix epoch).
    pub time_ms: u64,
    /// What moved it: `drawdown`, `price`, `top-up`, `repayment` or `release`.
    pub what: &'static str,
    /// The balance after it.
    pub balance: Money,
    /// The goods value after it (`None`: a receipt without a price, or unknown).
    pub value: Option<Money>,
    /// LTV in percent, rounded up to 4 decimals like the ledger shows it.
    pub ltv: Option<String>,
}

/// A ledger event at its place: ((height, position in block, block time), event).
pub type Placed = ((u64, u64, u64), Event);

/// What the series walks: the loan's receipts, its balance and its bank's prices.
struct Walk<'a> {
    loan: &'a Loan,
    receipts: &'a BTreeMap<String, WarehouseReceipt>,
    held: Vec<DocId>,
    balance: Option<Money>,
    prices: BTreeMap<(String, String), Money>,
}

impl Walk<'_> {
    /// Quantity x price per receipt held, each rounded, summed; `None` without a price.
    fn value(&self) -> Option<Money> {
        let mut total = Money {
            amount: lianrong_contracts::money::Amount::ZERO,
            currency: self.loan.amount.currency,
        };
        for id in &self.held {
            let r = self.receipts.get(id.as_str())?;
            let price = self.prices.get(&(r.goods.clone(), r.unit.to_string()))?;
            let v = r.quantity.value_at(price).ok()?;
            total.amount = total.amount.checked_add(v.amount).ok()?;
        }
        Some(total)
    }

    /// Whether a price of (goods, unit) values a receipt the loan holds.
    fn prices_held(&self, goods: &str, unit: &str) -> bool {
        self.held.iter().any(|id| {
            self.receipts
                .get(id.as_str())
                .is_some_and(|r| r.goods == goods && r.unit.as_str() == unit)
        })
    }

    /// Takes in one event; what kind of point it makes, if any. `Err(())` once the loan
    /// ended (repaid, enforced, cancelled): nothing after counts.
    fn step(&mut self, e: &Event) -> Result<Option<&'static str>, ()> {
        let id = &self.loan.id;
        Ok(match e {
            Event::LoanRequested { loan, receipts, .. } if loan == id => {
                self.held = receipts.clone();
                None
            }
            Event::PricePosted {
                bank,
                goods,
                unit,
                price,
            } if bank == &self.loan.bank && price.currency == self.loan.amount.currency => {
                self.prices
                    .insert((goods.clone(), unit.to_string()), *price);
                self.prices_held(goods, unit.as_str()).then_some("price")
            }
            Event::LoanDisbursed { loan, amount, .. } if loan == id => {
                self.balance = Some(*amount);
                Some("drawdown")
            }
            Event::LoanRepaymentAcknowledged { loan, balance, .. } if loan == id => {
                self.balance = Some(*balance);
                Some("repayment")
            }
            Event::LoanToppedUp { loan, receipt } if loan == id => {
                self.held.push(receipt.clone());
                Some("top-up")
            }
            Event::GoodsReleased { loan, receipt } if loan == id => {
                self.held.retain(|r| r != receipt);
                Some("release")
            }
            Event::LoanRepaid { loan, .. }
            | Event::LoanEnforced { loan, .. }
            | Event::LoanCancelled { loan, .. }
                if loan == id =>
            {
                return Err(())
            }
            _ => None,
        })
    }
}

/// The LTV of `loan` after each of its changes in `events` (in ledger order): a point at
/// its drawdown and at each price post of its bank for goods it holds, top-up,
/// acknowledged repayment and release, until it is repaid, enforced or cancelled.
/// `receipts` gives the goods, unit and quantity of its receipts. The figures follow the
/// ledger's rules exactly (`Quantity::value_at` per receipt, `inventory::ltv_percent`).
pub fn ltv_series(
    loan: &Loan,
    receipts: &BTreeMap<String, WarehouseReceipt>,
    events: impl IntoIterator<Item = Placed>,
) -> Vec<LtvPoint> {
    let mut walk = Walk {
        loan,
        receipts,
        held: loan.receipts.clone(),
        balance: None,
        prices: BTreeMap::new(),
    };
    let mut points = Vec::new();
    for ((height, _, time_ms), e) in events {
        let Ok(what) = walk.step(&e) else { break };
        let (Some(what), Some(balance)) = (what, walk.balance) else {
            continue;
        };
        let value = walk.value();
        let ltv = value
            .and_then(|v| ltv_percent(balance.amount, v.amount))
            .map(|d| format!("{d:.4}"));
        points.push(LtvPoint {
            height,
            time_ms,
            what,
            balance,
            value,
            ltv,
        });
    }
    points
}

/// Most of a loan's own events an LTV chart reads (a repayment, a top-up, a release each
/// make one; more is said above the chart).
pub const MAX_LOAN_EVENTS: usize = 2_000;

/// Most price posts per goods an LTV chart reads after the loan's request (a bank
/// posting daily for five years; more is said above the chart).
pub const MAX_PRICE_EVENTS: usize = 2_000;

/// The series of `loan` from the store (its events and its bank's prices of the goods
/// its receipts hold), and why it may lack points (`d`: what the store may lack).
pub async fn series_from_store(
    store: &Store,
    d: &IndexData,
    loan: &Loan,
) -> (Vec<LtvPoint>, Option<String>) {
    let mut why: Vec<String> = d.store_incomplete().into_iter().collect();
    let series = match stored_events(store, loan).await {
        Ok((receipts, events, cut)) => {
            why.extend(cut);
            ltv_series(loan, &receipts, events)
        }
        Err(e) => {
            why.push(format!("the index's database could not be read: {e}"));
            vec![]
        }
    };
    (series, (!why.is_empty()).then(|| why.join("; ")))
}

/// An event the walk reads, at its place (height, position, time, sequence).
type Walked = ((u64, u64, u64, u64), Event);

fn decoded(rows: Vec<StoredEvent>) -> Vec<Walked> {
    rows.into_iter()
        .filter_map(|(at, v)| serde_json::from_value::<Event>(v).ok().map(|e| (at, e)))
        .collect()
}

/// The receipts, events (the loan's and its bank's prices of its goods, in ledger order)
/// and what was cut, read from the store.
async fn stored_events(
    store: &Store,
    loan: &Loan,
) -> Result<(BTreeMap<String, WarehouseReceipt>, Vec<Placed>, Vec<String>), StoreError> {
    let mut cut = Vec::new();
    let mut own = decoded(
        store
            .loan_events(loan.id.as_str(), MAX_LOAN_EVENTS + 1)
            .await?,
    );
    if own.len() > MAX_LOAN_EVENTS {
        own.truncate(MAX_LOAN_EVENTS);
        cut.push(format!(
            "only the loan's first {MAX_LOAN_EVENTS} changes are read"
        ));
    }
    let mut ids: Vec<String> = loan.receipts.iter().map(ToString::to_string).collect();
    for (_, e) in &own {
        match e {
            Event::LoanRequested { receipts, .. } => {
                ids.extend(receipts.iter().map(ToString::to_string));
            }
            Event::LoanToppedUp { receipt, .. } => ids.push(receipt.to_string()),
            _ => {}
        }
    }
    ids.sort();
    ids.dedup();
    let receipts: BTreeMap<String, WarehouseReceipt> = store
        .docs_by_id(DocKind::WarehouseReceipt, &ids)
        .await?
        .into_iter()
        .filter_map(|d| match d {
            Doc::WarehouseReceipt(r) => Some((r.id.to_string(), r)),
            _ => None,
        })
        .collect();
    let mut events = own.clone();
    if let Some(((h, p, _, s), _)) = own.first() {
        let ends = |e: &Event| {
            matches!(
                e,
                Event::LoanRepaid { .. } | Event::LoanEnforced { .. } | Event::LoanCancelled { .. }
            )
        };
        let end = own
            .iter()
            .find(|(_, e)| ends(e))
            .map(|((h, p, _, s), _)| (*h, *p, *s));
        let goods: std::collections::BTreeSet<PriceKey> = receipts
            .values()
            .map(|r| PriceKey {
                bank: loan.bank.to_string(),
                goods: r.goods.clone(),
                unit: r.unit.to_string(),
                currency: loan.amount.currency.code().to_string(),
            })
            .collect();
        for key in goods {
            let (before, mut after) = store
                .prices(&key, (*h, *p, *s), end, MAX_PRICE_EVENTS + 1)
                .await?;
            if after.len() > MAX_PRICE_EVENTS {
                after.truncate(MAX_PRICE_EVENTS);
                cut.push(format!(
                    "only the first {MAX_PRICE_EVENTS} prices of {} per {} are read",
                    key.goods, key.unit
                ));
            }
            events.extend(decoded(before));
            events.extend(decoded(after));
        }
    }
    events.sort_by_key(|(at, _)| *at);
    let placed = events
        .into_iter()
        .map(|((h, p, t, _), e)| ((h, p, t), e))
        .collect();
    Ok((receipts, placed, cut))
}

/// A date for people: `YYYY-MM-DD` (UTC) of a block time.
fn day(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

const CHART_W: f64 = 640.0;
const CHART_H: f64 = 260.0;
const PAD_L: f64 = 56.0;
const PAD_R: f64 = 120.0;
const PAD_T: f64 = 16.0;
const PAD_B: f64 = 36.0;

fn pct(s: &str) -> Option<f64> {
    s.parse::<f64>().ok()
}

/// The chart's y range: up to the highest LTV or threshold plus a margin, in tens.
fn y_max(points: &[LtvPoint], terms: Option<&LoanTerms>) -> f64 {
    let mut top = 10.0_f64;
    for p in points.iter().filter_map(|p| p.ltv.as_deref().and_then(pct)) {
        top = top.max(p);
    }
    if let Some(t) = terms {
        for r in [t.ltv_max, t.margin_call_ltv] {
            top = top.max(pct(&r.percent().to_string()).unwrap_or(0.0));
        }
    }
    ((top * 1.15) / 10.0).ceil() * 10.0
}

/// The x of each point: by block time, or evenly when all share one time.
fn xs(points: &[LtvPoint]) -> Vec<f64> {
    let width = CHART_W - PAD_L - PAD_R;
    let (lo, hi) = points.iter().fold((u64::MAX, 0), |(lo, hi), p| {
        (lo.min(p.time_ms), hi.max(p.time_ms))
    });
    let n = points.len();
    points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if hi > lo {
                PAD_L + (p.time_ms - lo) as f64 / (hi - lo) as f64 * width
            } else if n > 1 {
                PAD_L + i as f64 / (n - 1) as f64 * width
            } else {
                PAD_L + width / 2.0
            }
        })
        .collect()
}

/// The LTV over time as inline SVG: the LTV line with a dot per point (its figures in
/// the dot's title), and the maximum and margin-call LTV as dashed lines.
pub fn ltv_chart(points: &[LtvPoint], terms: Option<&LoanTerms>) -> Markup {
    if points.is_empty() {
        return html! { p class="muted" id="ltv-chart" { "No LTV history yet: the loan has not been disbursed, or the index holds none of its changes." } };
    }
    let top = y_max(points, terms);
    let height = CHART_H - PAD_T - PAD_B;
    let y = |p: f64| PAD_T + height - p / top * height;
    let x = xs(points);
    let dots: Vec<(f64, f64, &LtvPoint)> = x
        .iter()
        .zip(points)
        .filter_map(|(x, p)| p.ltv.as_deref().and_then(pct).map(|l| (*x, y(l), p)))
        .collect();
    let line: Vec<String> = dots
        .iter()
        .map(|(x, y, _)| format!("{x:.1},{y:.1}"))
        .collect();
    let thresholds: Vec<(&str, &str, String)> = terms
        .map(|t| {
            vec![
                ("ltv-max", "#bf8700", t.ltv_max.percent().to_string()),
                (
                    "margin-call",
                    "#cf222e",
                    t.margin_call_ltv.percent().to_string(),
                ),
            ]
        })
        .unwrap_or_default();
    let right = CHART_W - PAD_R;
    html! {
        svg id="ltv-chart" xmlns="http://www.w3.org/2000/svg" width=(CHART_W) height=(CHART_H)
            viewBox=(format!("0 0 {CHART_W} {CHART_H}")) role="img" aria-label="LTV over time" {
            rect x=(PAD_L) y=(PAD_T) width=(right - PAD_L) height=(height) fill="#f6f8fa" stroke="#d0d7de" {}
            @for frac in [0.0, 0.5, 1.0] {
                text x=(PAD_L - 6.0) y=(format!("{:.1}", y(top * frac) + 4.0)) text-anchor="end" font-size="11" {
                    (format!("{:.0} %", top * frac))
                }
            }
            @for (class, colour, level) in &thresholds {
                @if let Some(l) = pct(level) {
                    line class=(class) x1=(PAD_L) x2=(right) y1=(format!("{:.1}", y(l))) y2=(format!("{:.1}", y(l)))
                        stroke=(colour) stroke-dasharray="6 4" {}
                    text x=(right + 4.0) y=(format!("{:.1}", y(l) + 4.0)) font-size="11" fill=(colour) {
                        @if *class == "ltv-max" { "max " (level) " %" } @else { "call > " (level) " %" }
                    }
                }
            }
            polyline id="ltv-line" fill="none" stroke="#0969da" stroke-width="2" points=(line.join(" ")) {}
            @for (cx, cy, p) in &dots {
                circle cx=(format!("{cx:.1}")) cy=(format!("{cy:.1}")) r="4" fill="#0969da" {
                    title { (day(p.time_ms)) " (height " (p.height) "), " (p.what) ": balance " (p.balance) ", goods " (p.value.map_or_else(|| "not valued".to_string(), |v| v.to_string())) ", LTV " (p.ltv.as_deref().unwrap_or("-")) " %" }
                }
            }
            text x=(PAD_L) y=(CHART_H - 10.0) font-size="11" { (day(points[0].time_ms)) }
            text x=(right) y=(CHART_H - 10.0) font-size="11" text-anchor="end" {
                (day(points[points.len() - 1].time_ms))
            }
        }
    }
}

/// The chart's points as a table (the same figures, readable without the picture).
fn ltv_table(points: &[LtvPoint]) -> Markup {
    html! {
        @if !points.is_empty() {
            table class="list" id="ltv-points" {
                thead { tr { th { "date" } th { "height" } th { "change" } th { "balance" } th { "goods value" } th { "LTV" } } }
                tbody {
                    @for p in points {
                        tr {
                            td { (day(p.time_ms)) } td { (p.height) } td { (p.what) } td { (p.balance) }
                            td { (p.value.map_or_else(|| "not valued".to_string(), |v| v.to_string())) }
                            td { (p.ltv.as_deref().map_or_else(|| "-".to_string(), |l| format!("{l} %"))) }
                        }
                    }
                }
            }
        }
    }
}

// ---------- margin calls ----------

/// Days from `as_of` to the last day of the cure period (0 on that day, negative after).
fn days_left(v: &LoanView) -> Option<i64> {
    v.margin_call_deadline.map(|d| (d - v.as_of).num_days())
}

/// The open margin calls the viewer may see, earliest cure deadline first (then by id),
/// filtered by `?org=` (borrower or bank) and `?q=` (loan id): loan, parties, the day of
/// the call, the cure deadline, days left and where that leaves the bank, balance, value
/// and LTV against the threshold.
pub fn margin_calls(items: Vec<LoanView>, v: &Viewer, q: &ListQuery) -> Table {
    let mut t = Table::new(vec![
        "loan",
        "borrower",
        "bank",
        "called on",
        "cure deadline",
        "days left",
        "state",
        "balance",
        "goods value",
        "LTV",
    ]);
    let mut open: Vec<LoanView> = vis::filter(v, items)
        .into_iter()
        .filter(|l| l.loan.status == LoanStatus::Disbursed && l.loan.margin_call.is_some())
        .filter(|l| {
            let parties = [l.loan.borrower.as_str(), l.loan.bank.as_str()];
            q.org_ok(&parties) && q.text_ok(&[l.loan.id.as_str()])
        })
        .collect();
    open.sort_by(|a, b| {
        (a.margin_call_deadline, &a.loan.id).cmp(&(b.margin_call_deadline, &b.loan.id))
    });
    for l in open {
        let Some(call) = l.loan.margin_call.as_ref() else {
            continue;
        };
        let left = days_left(&l).unwrap_or_default();
        let state = match left {
            n if n > 0 => "cure period running",
            0 => "last day of the cure period",
            _ => "cure period over: the bank may enforce while LTV stays above",
        };
        let id = l.loan.id.as_str();
        t.push(vec![
            link(id, format!("/loans/{id}")),
            org_link(l.loan.borrower.as_str()),
            org_link(l.loan.bank.as_str()),
            call.called_on.to_string().into(),
            call.deadline.to_string().into(),
            left.to_string().into(),
            state.into(),
            l.balance.to_string().into(),
            l.value
                .map_or_else(|| "not valued".to_string(), |m| m.to_string())
                .into(),
            ltv(&l).into(),
        ]);
    }
    t
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use lianrong_contracts::exec::inventory::figures;
    use lianrong_contracts::model::MarginCallState;
    use lianrong_contracts::money::{Amount, DayCount, Quantity, Rate, Unit};
    use lianrong_contracts::state::StateView;
    use lianrong_contracts::testkit::{cny, org, World};
    use lianrong_contracts::{Action, DocKind};
    use lianrong_primitives::Hash;

    /// SUP-1's loan of 6,000,000.00 on 150 t of copper, copper at 45,000.00 and called.
    fn view() -> LoanView {
        let mut w = World::new();
        let mut receipts = vec![];
        for (id, qty) in [("WR-1", "100"), ("WR-2", "50")] {
            let id = DocId::new(id).unwrap();
            w.ok(
                "LOGI",
                Action::IssueWarehouseReceipt {
                    id: id.clone(),
                    owner: org("SUP-1"),
                    lot: format!("LOT-{id}"),
                    goods: "copper".into(),
                    quantity: Quantity::parse(qty).unwrap(),
                    unit: Unit::parse("t").unwrap(),
                    doc_hash: Hash::ZERO,
                },
            );
            let (receipt, bank) = (id.clone(), org("BANK-A"));
            w.ok("SUP-1", Action::OfferPledge { receipt, bank });
            w.ok(
                "BANK-A",
                Action::AcceptPledge {
                    receipt: id.clone(),
                },
            );
            receipts.push(id);
        }
        let price = |p: &str| Action::PostPrice {
            goods: "copper".into(),
            unit: Unit::parse("t").unwrap(),
            price: cny(p),
        };
        w.ok("BANK-A", price("70000.00"));
        let amount = cny("6000000.00");
        w.ok("SUP-1", Action::RequestLoan { receipts, amount });
        let loan = DocId::new("LOAN-1").unwrap();
        let rate = |s: &str| Rate::parse(s).unwrap();
        let maturity = w.today() + chrono::Days::new(90);
        w.ok(
            "BANK-A",
            Action::OfferLoan {
                loan: loan.clone(),
                rate: rate("4.5"),
                ltv_max: rate("70"),
                margin_call_ltv: rate("80"),
                cure_days: 5,
                maturity,
            },
        );
        w.ok("SUP-1", Action::AcceptLoan { loan: loan.clone() });
        let payment_ref = "P-1".to_string();
        w.ok(
            "BANK-A",
            Action::DisburseLoan {
                loan: loan.clone(),
                payment_ref,
            },
        );
        w.ok("BANK-A", price("45000.00"));
        w.ok("BANK-A", Action::MarginCall { loan });
        let l: Loan = w.get(DocKind::Loan, "LOAN-1").unwrap();
        let st = StateView::new(&w.store);
        let f = figures(&st, &l, w.today(), DayCount::Act360).unwrap();
        LoanView::new(l, f, w.today())
    }

    #[test]
    fn loans_show_value_ltv_and_margin_call_to_their_parties_only() {
        let v = view();
        let audit = Viewer::Everything { org: None };
        let t = table(vec![v.clone()], &audit, &ListQuery::default());
        assert_eq!(t.rows.len(), 1);
        let row = &t.rows[0];
        assert_eq!(row[0].link.as_deref(), Some("/loans/LOAN-1"));
        assert_eq!(
            row[5].text,
            Money::parse("6000000.00", "CNY").unwrap().to_string()
        );
        assert_eq!(row[6].text, "6750000.00 CNY");
        assert_eq!(row[7].text, "88.8889 % (max 70 %, call > 80 %)");
        assert!(
            row[8].text.starts_with("called, cure by "),
            "{}",
            row[8].text
        );
        let sup2 = Viewer::Org(org("SUP-2"));
        assert!(table(vec![v.clone()], &sup2, &ListQuery::default())
            .rows
            .is_empty());
        let page = detail(&v, &[], None).into_string();
        assert!(page.contains("88.8889 %"), "{page}");
        assert!(page.contains("/warehouse/WR-2"), "{page}");
    }

    /// A world with copper receipts WR-1 (100 t), WR-2 (50 t) and WR-3 (20 t) pledged to
    /// BANK-A, and what `exec` recorded: each event at its block.
    struct Story {
        w: World,
        placed: Vec<Placed>,
    }

    impl Story {
        fn exec(&mut self, who: &str, a: Action) {
            let events = self.w.ok(who, a);
            // `ok` ran one block at the clock before it moved on by a second.
            let at = (self.w.height, 0, self.w.time_ms - 1000);
            self.placed.extend(events.into_iter().map(|e| (at, e)));
        }

        fn price(&mut self, bank: &str, goods: &str, p: &str) {
            let unit = Unit::parse("t").unwrap();
            let price = cny(p);
            let goods = goods.to_string();
            self.exec(bank, Action::PostPrice { goods, unit, price });
        }

        fn receipts(&self) -> BTreeMap<String, WarehouseReceipt> {
            ["WR-1", "WR-2", "WR-3"]
                .into_iter()
                .map(|id| {
                    let r: WarehouseReceipt = self.w.get(DocKind::WarehouseReceipt, id).unwrap();
                    (id.to_string(), r)
                })
                .collect()
        }
    }

    /// LOAN-1 of 6,000,000.00 on WR-1 and WR-2 (150 t) with copper at 70,000.00; copper
    /// falls to 45,000.00 and the bank calls; a top-up of WR-3, a repayment of
    /// 1,600,000.00, WR-3 released, zinc and BANK-B's copper priced (neither values the
    /// loan), copper at 44,000.00.
    fn story() -> Story {
        let mut s = Story {
            w: World::new(),
            placed: vec![],
        };
        s.pledge_copper();
        s.price("BANK-A", "copper", "70000.00");
        let receipts = vec![DocId::new("WR-1").unwrap(), DocId::new("WR-2").unwrap()];
        let amount = cny("6000000.00");
        s.exec("SUP-1", Action::RequestLoan { receipts, amount });
        let loan = DocId::new("LOAN-1").unwrap();
        let rate = |r: &str| Rate::parse(r).unwrap();
        let maturity = s.w.today() + chrono::Days::new(90);
        s.exec(
            "BANK-A",
            Action::OfferLoan {
                loan: loan.clone(),
                rate: rate("4.5"),
                ltv_max: rate("70"),
                margin_call_ltv: rate("80"),
                cure_days: 5,
                maturity,
            },
        );
        s.exec("SUP-1", Action::AcceptLoan { loan: loan.clone() });
        let payment_ref = "P-1".to_string();
        let l = loan.clone();
        s.exec(
            "BANK-A",
            Action::DisburseLoan {
                loan: l,
                payment_ref,
            },
        );
        s.w.advance_days(1);
        s.price("BANK-A", "copper", "45000.00");
        s.exec("BANK-A", Action::MarginCall { loan: loan.clone() });
        s.w.advance_days(1);
        let receipt = DocId::new("WR-3").unwrap();
        let (l, r) = (loan.clone(), receipt.clone());
        s.exec(
            "SUP-1",
            Action::TopUp {
                loan: l,
                receipt: r,
            },
        );
        let amount = Amount::parse("1600000.00").unwrap();
        let (l, payment_ref) = (loan.clone(), "R-1".to_string());
        s.exec(
            "SUP-1",
            Action::RepayLoan {
                loan: l,
                amount,
                payment_ref,
            },
        );
        s.exec(
            "BANK-A",
            Action::AcknowledgeLoanRepayment { loan: loan.clone() },
        );
        s.w.advance_days(1);
        s.exec("SUP-1", Action::ReleaseGoods { loan, receipt });
        s.price("BANK-A", "zinc", "20000.00");
        s.price("BANK-B", "copper", "10.00");
        s.w.advance_days(1);
        s.price("BANK-A", "copper", "44000.00");
        s
    }

    impl Story {
        /// WR-1 (100 t), WR-2 (50 t), WR-3 (20 t) of copper, pledged to BANK-A.
        fn pledge_copper(&mut self) {
            let s = self;
            for (id, qty) in [("WR-1", "100"), ("WR-2", "50"), ("WR-3", "20")] {
                let id = DocId::new(id).unwrap();
                s.exec(
                    "LOGI",
                    Action::IssueWarehouseReceipt {
                        id: id.clone(),
                        owner: org("SUP-1"),
                        lot: format!("LOT-{id}"),
                        goods: "copper".into(),
                        quantity: Quantity::parse(qty).unwrap(),
                        unit: Unit::parse("t").unwrap(),
                        doc_hash: Hash::ZERO,
                    },
                );
                let (receipt, bank) = (id.clone(), org("BANK-A"));
                s.exec("SUP-1", Action::OfferPledge { receipt, bank });
                s.exec("BANK-A", Action::AcceptPledge { receipt: id });
            }
        }
    }

    #[test]
    fn the_ltv_series_is_exact_at_each_change() {
        let s = story();
        let l: Loan = s.w.get(DocKind::Loan, "LOAN-1").unwrap();
        let series = ltv_series(&l, &s.receipts(), s.placed.clone());
        let got: Vec<(&str, String, String, String)> = series
            .iter()
            .map(|p| {
                let value = p.value.map(|v| v.to_string()).unwrap_or_default();
                let ltv = p.ltv.clone().unwrap_or_default();
                (p.what, p.balance.to_string(), value, ltv)
            })
            .collect();
        let row = |what, balance: &str, value: &str, ltv: &str| {
            (
                what,
                format!("{balance} CNY"),
                format!("{value} CNY"),
                ltv.to_string(),
            )
        };
        assert_eq!(
            got,
            vec![
                // 150 t x 70,000.00 = 10,500,000.00; 6,000,000 / 10,500,000 = 57.142857..%
                row("drawdown", "6000000.00", "10500000.00", "57.1429"),
                // 150 t x 45,000.00 = 6,750,000.00: 88.888...%
                row("price", "6000000.00", "6750000.00", "88.8889"),
                // + 20 t: 7,650,000.00: 78.431372...%
                row("top-up", "6000000.00", "7650000.00", "78.4314"),
                // 4,400,000 / 7,650,000 = 57.516339...%
                row("repayment", "4400000.00", "7650000.00", "57.5164"),
                // - 20 t: 4,400,000 / 6,750,000 = 65.185185...%
                row("release", "4400000.00", "6750000.00", "65.1852"),
                // 150 t x 44,000.00 = 6,600,000.00: 66.666...%
                row("price", "4400000.00", "6600000.00", "66.6667"),
            ]
        );
        // The last point is the ledger's own figure today.
        let st = StateView::new(&s.w.store);
        let f = figures(&st, &l, s.w.today(), DayCount::Act360).unwrap();
        let now = LoanView::new(l.clone(), f, s.w.today());
        assert_eq!(series.last().unwrap().ltv, now.ltv_percent);
        // Points carry their blocks, in order.
        assert!(series.windows(2).all(|w| w[0].height < w[1].height));
    }

    /// Writes the story into `store` as a follower would have (one transaction per
    /// `exec`, its events and documents; the receipts), its heights raised by `offset`;
    /// the loan and the series the ledger's events give.
    pub(crate) async fn write_story(store: &Store, offset: u64) -> (Loan, Vec<LtvPoint>) {
        use crate::store::{Context, DocRow};
        let s = story();
        let l: Loan = s.w.get(DocKind::Loan, "LOAN-1").unwrap();
        let placed: Vec<Placed> = s
            .placed
            .iter()
            .map(|((h, p, t), e)| ((h + offset, *p, *t), e.clone()))
            .collect();
        let mut txs: Vec<crate::index::TxRecord> = vec![];
        for ((height, index, time_ms), e) in &placed {
            let json = serde_json::to_value(e).unwrap();
            match txs.last_mut() {
                Some(t) if (t.height, t.index) == (*height, *index) => {
                    t.events.push(json);
                    t.docs.extend(e.documents());
                }
                _ => txs.push(crate::index::TxRecord {
                    hash: format!("{:064x}", 0x10a0_0000 + offset + txs.len() as u64),
                    height: *height,
                    index: *index,
                    time_ms: *time_ms,
                    signer_org: "BANK-A".into(),
                    signer_key: String::new(),
                    nonce: 0,
                    action_name: String::new(),
                    action: serde_json::Value::Null,
                    ok: true,
                    error: None,
                    events: vec![json],
                    docs: e.documents(),
                    parties: vec![],
                }),
            }
        }
        for t in &mut txs {
            t.docs.sort();
            t.docs.dedup();
        }
        let docs: Vec<DocRow> = s
            .receipts()
            .into_values()
            .map(|r| DocRow::of(&Doc::WarehouseReceipt(r), &Context::default()).unwrap())
            .collect();
        let mut block = crate::index::BlockRow::from_view(&crate::node::fake::block(1, &[]));
        block.tx_hashes = txs.iter().map(|t| t.hash.clone()).collect();
        block.tx_count = txs.len();
        store.write_block(&block, &txs, &docs).await.unwrap();
        let series = ltv_series(&l, &s.receipts(), placed);
        (l, series)
    }

    /// From the store: the same points, read from its events and prices.
    #[tokio::test]
    async fn the_ltv_series_reads_the_store() {
        let store = Store::memory().await.unwrap();
        let (l, series) = write_story(&store, 0).await;
        assert_eq!(series.len(), 6);
        let (from_store, note) = series_from_store(&store, &IndexData::default(), &l).await;
        assert_eq!(from_store, series);
        assert_eq!(note, None);
    }

    #[test]
    fn the_page_draws_the_ltv_chart_with_its_thresholds() {
        let s = story();
        let l: Loan = s.w.get(DocKind::Loan, "LOAN-1").unwrap();
        let series = ltv_series(&l, &s.receipts(), s.placed.clone());
        let st = StateView::new(&s.w.store);
        let f = figures(&st, &l, s.w.today(), DayCount::Act360).unwrap();
        let v = LoanView::new(l, f, s.w.today());
        let page = detail(&v, &series, Some("the index is rebuilding")).into_string();
        assert!(page.contains("<svg id=\"ltv-chart\""), "{page}");
        assert_eq!(page.matches("<circle").count(), 6, "{page}");
        assert!(page.contains("id=\"ltv-line\""), "{page}");
        assert!(page.contains("class=\"ltv-max\""), "{page}");
        assert!(page.contains("class=\"margin-call\""), "{page}");
        assert!(
            page.contains("max 70 %") && page.contains("call &gt; 80 %"),
            "{page}"
        );
        assert!(page.contains("66.6667 %"), "{page}");
        assert!(
            page.contains("Points may be missing: the index is rebuilding"),
            "{page}"
        );
        // An undisbursed loan says so instead of drawing.
        assert!(detail(&v, &[], None)
            .into_string()
            .contains("No LTV history yet"));
    }

    #[test]
    fn margin_calls_are_listed_by_cure_deadline_with_days_left() {
        let called = view();
        let today = called.as_of;
        let with = |id: &str, days: i64| {
            let mut v = called.clone();
            v.loan.id = DocId::new(id).unwrap();
            let deadline = today + chrono::Duration::days(days);
            v.margin_call_deadline = Some(deadline);
            if let Some(MarginCallState { deadline: d, .. }) = v.loan.margin_call.as_mut() {
                *d = deadline;
            }
            v
        };
        let mut quiet = called.clone();
        quiet.loan.id = DocId::new("LOAN-9").unwrap();
        quiet.loan.margin_call = None;
        quiet.margin_call_deadline = None;
        let items = vec![
            with("LOAN-1", 5),
            with("LOAN-2", 0),
            with("LOAN-3", -2),
            quiet,
        ];
        let audit = Viewer::Everything { org: None };
        let t = margin_calls(items.clone(), &audit, &ListQuery::default());
        let rows: Vec<(String, String, String, String)> = t
            .rows
            .iter()
            .map(|r| {
                (
                    r[0].text.clone(),
                    r[4].text.clone(),
                    r[5].text.clone(),
                    r[6].text.clone(),
                )
            })
            .collect();
        let day = |n: i64| (today + chrono::Duration::days(n)).to_string();
        assert_eq!(
            rows,
            vec![
                (
                    "LOAN-3".into(),
                    day(-2),
                    "-2".into(),
                    "cure period over: the bank may enforce while LTV stays above".into()
                ),
                (
                    "LOAN-2".into(),
                    day(0),
                    "0".into(),
                    "last day of the cure period".into()
                ),
                (
                    "LOAN-1".into(),
                    day(5),
                    "5".into(),
                    "cure period running".into()
                ),
            ]
        );
        assert_eq!(t.rows[0][9].text, "88.8889 % (max 70 %, call > 80 %)");
        let csv = t.to_csv().unwrap();
        assert!(
            csv.contains(&day(-2)) && csv.contains("cure deadline"),
            "{csv}"
        );
        // Only the borrower and the bank (and banks, auditors) see them.
        let sup2 = Viewer::Org(org("SUP-2"));
        assert!(margin_calls(items, &sup2, &ListQuery::default())
            .rows
            .is_empty());
    }
}
