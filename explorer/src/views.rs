//! The data of every list and risk view as a [`Table`]: one table feeds both the HTML page
//! and its CSV export, so the export always carries exactly the rows shown, with the same
//! filters and the same visibility (every table is built from [`crate::vis::filter`]).

use std::collections::BTreeMap;

use chrono::{Datelike, Duration as Days, NaiveDate};
use lianrong_contracts::model::{Receivable, ReceivableStatus, Role};
use lianrong_contracts::money::{Amount, Money};
use serde::Deserialize;

use crate::index::IndexData;
use crate::vis::{self, Viewer};

/// Most rows in one table (pages and CSV).
pub const MAX_ROWS: usize = 5000;

/// One cell: its text and, on pages, an optional link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// Text shown and exported.
    pub text: String,
    /// Link target on pages.
    pub link: Option<String>,
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell { text, link: None }
    }
}
impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Cell {
            text: text.to_string(),
            link: None,
        }
    }
}

pub(crate) fn link(text: impl Into<String>, href: impl Into<String>) -> Cell {
    Cell {
        text: text.into(),
        link: Some(href.into()),
    }
}

/// A list view's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Column headers.
    pub columns: Vec<&'static str>,
    /// Rows (at most [`MAX_ROWS`]).
    pub rows: Vec<Vec<Cell>>,
    /// True if rows were cut at [`MAX_ROWS`].
    pub truncated: bool,
    /// Why the index it was built from may be incomplete ([`IndexData::incomplete`]).
    pub incomplete: Option<String>,
    /// For a list read from the store a page at a time, where the page stands (`None`:
    /// not paged). `truncated` then says more rows follow on the next page.
    pub page: Option<PageAt>,
}

/// Where a page of a list read from the store stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageAt {
    /// Its number, 1 the first: the links the explorer writes carry it (`page=`); a
    /// page opened by a hand-made `after=` link has none.
    pub number: Option<u64>,
    /// It is the list's first page.
    pub first: bool,
    /// The key the next page starts after (`after=`: the last row's), when more rows
    /// follow.
    pub next: Option<String>,
}

impl Table {
    pub(crate) fn new(columns: Vec<&'static str>) -> Self {
        Table {
            columns,
            rows: vec![],
            truncated: false,
            incomplete: None,
            page: None,
        }
    }

    /// What the table lacks, in words: the index's gaps and a cut at [`MAX_ROWS`]
    /// (`None`: every row the ledger has for these filters).
    pub fn incomplete_note(&self) -> Option<String> {
        let number = self.page.as_ref().map(|p| p.number);
        let cut = match (self.truncated, number) {
            (false, _) => None,
            (true, None) => Some(format!(
                "only the first {MAX_ROWS} rows; narrow the filters"
            )),
            (true, Some(Some(p))) => {
                // Saturating: a hand-made `after=` link may carry any number.
                let before = p.saturating_sub(1).saturating_mul(MAX_ROWS as u64);
                Some(format!(
                    "rows {}-{} of more: the next page has the rest (the CSV export has every row)",
                    before.saturating_add(1),
                    before.saturating_add(self.rows.len() as u64)
                ))
            }
            (true, Some(None)) => Some(format!(
                "{} rows of more: the next page has the rest (the CSV export has every row)",
                self.rows.len()
            )),
        };
        match (&self.incomplete, cut) {
            (Some(i), Some(c)) => Some(format!("{i}; {c}")),
            (Some(i), None) => Some(i.clone()),
            (None, c) => c,
        }
    }

    pub(crate) fn push(&mut self, row: Vec<Cell>) {
        if self.rows.len() >= MAX_ROWS {
            self.truncated = true;
        } else {
            self.rows.push(row);
        }
    }

    /// The table as CSV (header row first). Cells that a spreadsheet would read as a
    /// formula get a leading `'`. An incomplete table starts with one `INCOMPLETE: why`
    /// row before the header, so neither a reader nor a program takes it for the whole.
    pub fn to_csv(&self) -> Result<String, csv::Error> {
        let bytes = self.csv_part(true)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The CSV of the table (`head`: with the INCOMPLETE row, if any, and the header
    /// row), for an export written a chunk of rows at a time.
    pub fn csv_part(&self, head: bool) -> Result<Vec<u8>, csv::Error> {
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(Vec::new());
        if head {
            if let Some(why) = self.incomplete_note() {
                w.write_record([csv_safe(&format!("INCOMPLETE: {why}"))])?;
            }
            w.write_record(&self.columns)?;
        }
        for r in &self.rows {
            w.write_record(r.iter().map(|c| csv_safe(&c.text)))?;
        }
        w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
    }
}

/// A cell as a spreadsheet may safely open it: text a spreadsheet would run as a formula
/// gets a leading `'`. The one rule for every CSV the project writes (the explorer's
/// exports, `lianrong audit export`).
pub fn csv_safe(s: &str) -> String {
    // A leading '-' is a negative amount only when a plain number follows: `-1+cmd|...`
    // starts with a digit too, and a spreadsheet runs it as a formula.
    let negative_number = |rest: &str| {
        rest.bytes().any(|b| b.is_ascii_digit())
            && rest.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && rest.bytes().filter(|b| *b == b'.').count() <= 1
    };
    let risky = s.starts_with(['=', '+', '@', '\t', '\r'])
        || s.strip_prefix('-')
            .is_some_and(|rest| !negative_number(rest));
    if risky {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// Filters of list views (all optional; every list accepts the ones that make sense).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct ListQuery {
    /// Status (`active`, `confirmed`, ...).
    pub status: Option<String>,
    /// An org that must be a party.
    pub org: Option<String>,
    /// Text that must appear in the id or number.
    pub q: Option<String>,
    /// Earliest date (issue / maturity, per view), `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Latest date, `YYYY-MM-DD`.
    pub to: Option<String>,
    /// `week` or `month` for the maturity ladder.
    pub by: Option<String>,
    /// `csv` for the export.
    pub format: Option<String>,
    /// `1` for the table only (live refresh).
    pub partial: Option<String>,
    /// The paying debtor (settlements).
    pub debtor: Option<String>,
    /// The payee (settlements).
    pub payee: Option<String>,
    /// The page of a list read from the store (1, the default, is the first): with
    /// `after`, only its number; without, pages up to
    /// `server::lists::MAX_NUMBERED_PAGE` are opened by number.
    pub page: Option<u64>,
    /// The key a page of a list read from the store starts after (the last row of the
    /// page before: an id, `height`, `height:position`, or `maturity:id`).
    pub after: Option<String>,
}

impl ListQuery {
    pub(crate) fn nonempty(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
    pub(crate) fn status_ok(&self, s: &str) -> bool {
        Self::nonempty(&self.status).is_none_or(|want| want.eq_ignore_ascii_case(s))
    }
    pub(crate) fn org_ok(&self, parties: &[&str]) -> bool {
        Self::nonempty(&self.org).is_none_or(|o| parties.contains(&o))
    }
    pub(crate) fn text_ok(&self, texts: &[&str]) -> bool {
        Self::nonempty(&self.q).is_none_or(|q| {
            let q = q.to_lowercase();
            texts.iter().any(|t| t.to_lowercase().contains(&q))
        })
    }
    fn date(v: &Option<String>) -> Option<NaiveDate> {
        Self::nonempty(v).and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
    }
    pub(crate) fn date_ok(&self, d: NaiveDate) -> bool {
        Self::date(&self.from).is_none_or(|f| d >= f) && Self::date(&self.to).is_none_or(|t| d <= t)
    }
}

pub(crate) fn status_str<T: serde::Serialize>(s: &T) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub(crate) fn money(m: &Money) -> String {
    format!(
        "{} {}",
        m.amount.to_fixed(m.currency.minor_units()),
        m.currency.code()
    )
}

pub(crate) fn org_link(o: &str) -> Cell {
    link(o, format!("/orgs/{o}"))
}

fn fmt_time(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// Blocks, newest first.
pub fn blocks(d: &IndexData, q: &ListQuery) -> Table {
    let mut t = Table::new(vec!["height", "hash", "time", "txs", "proposer", "signers"]);
    for b in d.blocks.values().rev() {
        if !q.text_ok(&[&b.hash, &b.height.to_string()]) {
            continue;
        }
        t.push(vec![
            link(b.height.to_string(), format!("/blocks/{}", b.height)),
            b.hash.clone().into(),
            fmt_time(b.time_ms).into(),
            b.tx_count.to_string().into(),
            b.proposer.to_string().into(),
            b.signers
                .as_ref()
                .map_or_else(|| "-".to_string(), |s| s.len().to_string())
                .into(),
        ]);
    }
    // The table keeps the latest blocks only (the dashboard's window and the index cap).
    if let Some(first) = d.blocks.keys().next().filter(|h| **h > 1) {
        t.incomplete = Some(format!("blocks before {first} are not kept here"));
    }
    t
}

/// Transactions, newest first (visible ones only).
pub fn transactions(d: &IndexData, v: &Viewer, q: &ListQuery) -> Table {
    let mut t = Table::new(vec!["hash", "height", "time", "action", "signer", "result"]);
    // By reference: a row shows none of what masking hides (the action, events, error),
    // and a page of 5,000 copied each transaction's JSON once more for nothing.
    let reader = v.reader();
    let rows = d
        .txs
        .values()
        .rev()
        .filter(|x| lianrong_api_types::visibility::may_read(&reader, *x));
    for x in rows {
        let result = if x.ok { "executed" } else { "refused" };
        if !q.status_ok(result)
            || !q.org_ok(&x.parties.iter().map(String::as_str).collect::<Vec<_>>())
            || !q.text_ok(&[&x.hash, &x.action_name])
        {
            continue;
        }
        t.push(vec![
            link(x.hash.clone(), format!("/tx/{}", x.hash)),
            link(x.height.to_string(), format!("/blocks/{}", x.height)),
            fmt_time(x.time_ms).into(),
            x.action_name.clone().into(),
            org_link(&x.signer_org),
            result.into(),
        ]);
    }
    if d.evicted_txs > 0 {
        t.incomplete = Some(format!(
            "the oldest {} transactions are not kept here (at most {} are)",
            d.evicted_txs, d.cap
        ));
    }
    t
}

/// Organisations (names and roles for everyone; identifiers masked for org accounts).
pub fn orgs(d: &IndexData, v: &Viewer, q: &ListQuery) -> Table {
    orgs_with(d, &d.counterparties(&v.reader()), v, q)
}

/// [`orgs`], the viewer's `counterparties` given (read from the store: every order).
pub fn orgs_with(
    d: &IndexData,
    counterparties: &std::collections::BTreeSet<lianrong_primitives::OrgId>,
    v: &Viewer,
    q: &ListQuery,
) -> Table {
    let mut t = Table::new(vec!["id", "name", "roles", "tax id", "identifiers", "keys"]);
    for o in vis::orgs(v, counterparties, d.orgs.values().cloned()) {
        if !q.text_ok(&[o.id.as_str(), &o.name]) {
            continue;
        }
        t.push(vec![
            org_link(o.id.as_str()),
            o.name.clone().into(),
            o.roles
                .iter()
                .map(status_str)
                .collect::<Vec<_>>()
                .join(" ")
                .into(),
            o.tax_id.clone().into(),
            o.identifiers.join(" ").into(),
            o.keys.len().to_string().into(),
        ]);
    }
    t
}

/// Purchase orders.
pub fn orders(d: &IndexData, v: &Viewer, q: &ListQuery) -> Table {
    let mut t = Table::new(vec![
        "id",
        "buyer",
        "seller",
        "amount",
        "status",
        "invoiced",
        "shipped",
        "delivered",
        "carriers",
    ]);
    for o in vis::filter(v, d.orders.values().cloned()) {
        let status = status_str(&o.status);
        if !q.status_ok(&status) || !q.org_ok(&o_parties(&o)) || !q.text_ok(&[o.id.as_str()]) {
            continue;
        }
        t.push(vec![
            link(o.id.to_string(), format!("/orders/{}", o.id)),
            org_link(o.buyer.as_str()),
            org_link(o.seller.as_str()),
            money(&o.amount).into(),
            status.into(),
            o.invoiced.to_fixed(o.amount.currency.minor_units()).into(),
            o.shipped.to_fixed(o.amount.currency.minor_units()).into(),
            o.delivered.to_fixed(o.amount.currency.minor_units()).into(),
            o.carriers
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
                .into(),
        ]);
    }
    t
}

fn o_parties(o: &lianrong_contracts::model::Order) -> Vec<&str> {
    let mut v = vec![o.buyer.as_str(), o.seller.as_str()];
    v.extend(o.carriers.iter().map(|c| c.as_str()));
    v
}

/// Invoices (filter `from`/`to` on the issue date).
pub fn invoices(d: &IndexData, v: &Viewer, q: &ListQuery) -> Table {
    let mut t = Table::new(vec![
        "id",
        "number",
        "seller",
        "buyer",
        "issue date",
        "due date",
        "amount",
        "status",
        "seller tax id",
        "buyer tax id",
        "receivable",
    ]);
    for i in vis::filter(v, d.invoices.values().cloned()) {
        let status = status_str(&i.status);
        if !q.status_ok(&status)
            || !q.org_ok(&[i.seller.as_str(), i.buyer.as_str()])
            || !q.text_ok(&[i.id.as_str(), &i.number])
            || !q.date_ok(i.issue_date)
        {
            continue;
        }
        t.push(vec![
            link(i.id.to_string(), format!("/invoices/{}", i.id)),
            i.number.clone().into(),
            org_link(i.seller.as_str()),
            org_link(i.buyer.as_str()),
            i.issue_date.to_string().into(),
            i.due_date.to_string().into(),
            money(&i.amount).into(),
            status.into(),
            i.seller_tax_id.clone().into(),
            i.buyer_tax_id.clone().into(),
            match &i.receivable {
                Some(r) => link(r.to_string(), format!("/receivables/{r}")),
                None => "".into(),
            },
        ]);
    }
    t
}

/// Receivables (filter `from`/`to` on maturity).
pub fn receivables(d: &IndexData, v: &Viewer, q: &ListQuery) -> Table {
    let mut t = Table::new(vec![
        "id",
        "holder",
        "debtor",
        "face",
        "outstanding",
        "issue date",
        "maturity",
        "status",
        "root",
        "parent",
        "financing",
    ]);
    for r in vis::filter(v, d.receivables.values().cloned()) {
        let status = status_str(&r.status);
        if !q.status_ok(&status)
            || !q.org_ok(&[r.holder.as_str(), r.debtor.as_str()])
            || !q.text_ok(&[r.id.as_str(), r.invoice.as_str()])
            || !q.date_ok(r.maturity)
        {
            continue;
        }
        t.push(receivable_row(&r));
    }
    t
}

/// A receivable's outstanding amount, or a visible mark on a record repaid beyond its
/// face (the ledger never writes one; an auditor must see it if a node ever did).
fn outstanding_text(r: &Receivable, minor_units: u32) -> String {
    r.outstanding().map_or_else(
        || format!("INVALID: repaid {} beyond face", r.repaid),
        |o| o.to_fixed(minor_units),
    )
}

fn receivable_row(r: &Receivable) -> Vec<Cell> {
    let mu = r.face.currency.minor_units();
    vec![
        link(r.id.to_string(), format!("/receivables/{}", r.id)),
        org_link(r.holder.as_str()),
        org_link(r.debtor.as_str()),
        money(&r.face).into(),
        outstanding_text(r, mu).into(),
        r.issue_date.to_string().into(),
        r.maturity.to_string().into(),
        status_str(&r.status).into(),
        r.root.to_string().into(),
        r.parent
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_default()
            .into(),
        match &r.financing {
            Some(f) => link(f.to_string(), format!("/financings/{f}")),
            None => "".into(),
        },
    ]
}

/// A disbursement as the financings list shows it: the applicant's answer (a disputed one
/// with its reason), the value date and the days charged; a financing whose terms are
/// taken but that was never disbursed shows nothing.
fn disbursement_cell(d: Option<&lianrong_contracts::model::Disbursement>) -> String {
    let Some(d) = d else {
        return String::new();
    };
    let answer = crate::money::disbursement_answer(d);
    format!("{answer} (value {}, {} days)", d.value_date, d.days)
}

/// Financings.
pub fn financings(d: &IndexData, v: &Viewer, q: &ListQuery) -> Table {
    let mut t = Table::new(vec![
        "id",
        "receivable",
        "applicant",
        "banks",
        "status",
        "bank",
        "face",
        "rate",
        "days",
        "discount",
        "net",
        "payment ref",
        "disbursement",
        "lapse",
    ]);
    let today = crate::money::ledger_today(d);
    for f in vis::filter(v, d.financings.values().cloned()) {
        let status = status_str(&f.status);
        let mut parties: Vec<&str> = vec![f.applicant.as_str()];
        parties.extend(f.banks.iter().map(|b| b.as_str()));
        if !q.status_ok(&status)
            || !q.org_ok(&parties)
            || !q.text_ok(&[f.id.as_str(), f.receivable.as_str()])
        {
            continue;
        }
        let terms = f.terms.as_ref();
        t.push(vec![
            link(f.id.to_string(), format!("/financings/{}", f.id)),
            link(
                f.receivable.to_string(),
                format!("/receivables/{}", f.receivable),
            ),
            org_link(f.applicant.as_str()),
            f.banks
                .iter()
                .map(|b| b.to_string())
                .collect::<Vec<_>>()
                .join(" ")
                .into(),
            status.into(),
            terms.map(|t| t.bank.to_string()).unwrap_or_default().into(),
            terms.map(|t| money(&t.face)).unwrap_or_default().into(),
            terms
                .map(|t| format!("{}%", t.rate.percent()))
                .unwrap_or_default()
                .into(),
            terms.map(|t| t.days.to_string()).unwrap_or_default().into(),
            terms.map(|t| money(&t.discount)).unwrap_or_default().into(),
            terms.map(|t| money(&t.net)).unwrap_or_default().into(),
            f.payment_ref.clone().unwrap_or_default().into(),
            disbursement_cell(f.disbursement.as_ref()).into(),
            crate::money::lapse_state(d, &f, today)
                .map(|l| l.to_string())
                .unwrap_or_default()
                .into(),
        ]);
    }
    t
}

/// Today's business date (UTC+8, the network's default business time zone).
pub fn business_today() -> NaiveDate {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    chrono::DateTime::from_timestamp_millis(now_ms + 8 * 3600 * 1000)
        .map(|t| t.date_naive())
        .unwrap_or_default()
}

fn live(v: &Viewer, d: &IndexData, q: &ListQuery) -> Vec<Receivable> {
    vis::filter(v, d.receivables.values().cloned())
        .into_iter()
        .filter(|r| r.status.is_live() && q.org_ok(&[r.holder.as_str(), r.debtor.as_str()]))
        .collect()
}

/// The bucket of a maturity: ISO week (Monday start) or calendar month.
pub fn bucket(date: NaiveDate, monthly: bool) -> (NaiveDate, NaiveDate) {
    if monthly {
        let start = date.with_day(1).unwrap_or(date);
        let next = if start.month() == 12 {
            NaiveDate::from_ymd_opt(start.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(start.year(), start.month() + 1, 1)
        };
        (start, next.map(|n| n - Days::days(1)).unwrap_or(start))
    } else {
        let start = date - Days::days(date.weekday().num_days_from_monday() as i64);
        (start, start + Days::days(6))
    }
}

/// The maturity ladder's columns.
const LADDER_COLUMNS: [&str; 6] = [
    "bucket",
    "from",
    "to",
    "currency",
    "receivables",
    "outstanding",
];

/// The exposure view's columns.
const EXPOSURE_COLUMNS: [&str; 5] = ["kind", "org", "currency", "receivables", "outstanding"];

/// A ladder bucket's name: `past due`, `2026-12` or `2026-W49`.
fn ladder_label(from: NaiveDate, past: bool, monthly: bool) -> String {
    if past {
        "past due".to_string()
    } else if monthly {
        from.format("%Y-%m").to_string()
    } else {
        from.format("%G-W%V").to_string()
    }
}

/// (bucket end, past due, count, sum, minor units) of one ladder bucket.
type LadderCell = (NaiveDate, bool, usize, Amount, u32);

/// Maturity ladder: outstanding amount of live receivables falling due per week or month
/// (`by=month`), per currency; what is already past maturity is one "past due" bucket.
pub fn ladder(d: &IndexData, v: &Viewer, q: &ListQuery, today: NaiveDate) -> Table {
    let monthly = q.by.as_deref() == Some("month");
    let mut t = Table::new(LADDER_COLUMNS.to_vec());
    let mut sums: BTreeMap<(NaiveDate, String), LadderCell> = BTreeMap::new();
    for r in live(v, d, q) {
        if !q.date_ok(r.maturity) {
            continue;
        }
        let past = r.maturity < today;
        let (from, to) = if past {
            (NaiveDate::MIN, today - Days::days(1))
        } else {
            bucket(r.maturity, monthly)
        };
        let e = sums
            .entry((from, r.face.currency.code().to_string()))
            .or_insert((to, past, 0, Amount::ZERO, r.face.currency.minor_units()));
        e.2 += 1;
        e.3 = r
            .outstanding()
            .and_then(|o| e.3.checked_add(o).ok())
            .unwrap_or(e.3);
    }
    for ((from, cur), (to, past, n, amt, mu)) in sums {
        t.push(vec![
            ladder_label(from, past, monthly).into(),
            if past {
                String::new()
            } else {
                from.to_string()
            }
            .into(),
            to.to_string().into(),
            cur.into(),
            n.to_string().into(),
            amt.to_fixed(mu).into(),
        ]);
    }
    t
}

/// Overdue: live receivables marked overdue by the ledger or past maturity.
pub fn overdue(d: &IndexData, v: &Viewer, q: &ListQuery, today: NaiveDate) -> Table {
    let mut t = Table::new(vec![
        "id",
        "holder",
        "debtor",
        "outstanding",
        "maturity",
        "days past maturity",
        "status",
    ]);
    let mut rows: Vec<Receivable> = live(v, d, q)
        .into_iter()
        .filter(|r| r.status == ReceivableStatus::Overdue || r.maturity < today)
        .collect();
    rows.sort_by_key(|r| r.maturity);
    for r in rows {
        t.push(vec![
            link(r.id.to_string(), format!("/receivables/{}", r.id)),
            org_link(r.holder.as_str()),
            org_link(r.debtor.as_str()),
            format!(
                "{} {}",
                outstanding_text(&r, r.face.currency.minor_units()),
                r.face.currency.code()
            )
            .into(),
            r.maturity.to_string().into(),
            (today - r.maturity).num_days().max(0).to_string().into(),
            status_str(&r.status).into(),
        ]);
    }
    t
}

/// Whether live receivable `r` counts in its holder's exposure as a bank: it carries a
/// live financing (disbursed, so assigned to the bank). A written-off financing closes
/// and unlinks it: the receivable stays the bank's and owed by the debtor (still in the
/// debtor's exposure) but the bank's financed exposure ended, as on the ledger's limits
/// (docs/domain.md, "Overdue and default"). The one rule of both exposure views.
pub fn bank_exposure(r: &Receivable) -> bool {
    r.financing.is_some()
}

/// Exposure: outstanding live receivables per core enterprise (debtor) and per bank
/// (holder with the bank role whose financing is live, [`bank_exposure`]), per currency.
pub fn exposure(d: &IndexData, v: &Viewer, q: &ListQuery) -> Table {
    let mut t = Table::new(EXPOSURE_COLUMNS.to_vec());
    let is_bank = |o: &str| d.orgs.get(o).is_some_and(|o| o.roles.contains(&Role::Bank));
    let mut sums: BTreeMap<(&'static str, String, String), (usize, Amount, u32)> = BTreeMap::new();
    for r in live(v, d, q) {
        let cur = r.face.currency.code().to_string();
        let mu = r.face.currency.minor_units();
        let mut add = |kind: &'static str, org: String| {
            let e = sums
                .entry((kind, org, cur.clone()))
                .or_insert((0, Amount::ZERO, mu));
            e.0 += 1;
            e.1 = r
                .outstanding()
                .and_then(|o| e.1.checked_add(o).ok())
                .unwrap_or(e.1);
        };
        add("core enterprise", r.debtor.to_string());
        if is_bank(r.holder.as_str()) && bank_exposure(&r) {
            add("bank", r.holder.to_string());
        }
    }
    for ((kind, org, cur), (n, amt, mu)) in sums {
        t.push(vec![
            kind.into(),
            org_link(&org),
            cur.into(),
            n.to_string().into(),
            amt.to_fixed(mu).into(),
        ]);
    }
    t
}

/// Receivables whose tenor exceeds the network's flag (`flag_tenor_days`, read from the
/// node; empty until the node's status is read). Tenor runs from the root receivable's
/// issue date (its confirmation): a split part keeps its root's tenor, it does not start a
/// new one.
pub fn long_tenor(d: &IndexData, v: &Viewer, q: &ListQuery) -> Table {
    let mut t = Table::new(TENOR_COLUMNS.to_vec());
    let Some(flag) = d.node.as_ref().map(|s| i64::from(s.params.flag_tenor_days)) else {
        return t;
    };
    for r in vis::filter(v, d.receivables.values().cloned()) {
        let root_issue = d
            .receivables
            .get(r.root.as_str())
            .map(|root| root.issue_date);
        let tenor = (r.maturity - root_issue.unwrap_or(r.issue_date)).num_days();
        if tenor <= flag
            || !q.org_ok(&[r.holder.as_str(), r.debtor.as_str()])
            || !q.status_ok(&status_str(&r.status))
        {
            continue;
        }
        t.push(tenor_row(&r, root_issue.is_some(), tenor));
    }
    t
}

/// The tenor view's columns.
pub const TENOR_COLUMNS: [&str; 9] = [
    "id",
    "holder",
    "debtor",
    "face",
    "issue date",
    "maturity",
    "tenor days",
    "tenor from",
    "status",
];

/// A row of the tenor view (`from_root`: the tenor counts from the root's issue date).
pub fn tenor_row(r: &Receivable, from_root: bool, tenor: i64) -> Vec<Cell> {
    vec![
        link(r.id.to_string(), format!("/receivables/{}", r.id)),
        org_link(r.holder.as_str()),
        org_link(r.debtor.as_str()),
        money(&r.face).into(),
        r.issue_date.to_string().into(),
        r.maturity.to_string().into(),
        tenor.to_string().into(),
        if from_root {
            "root's issue date"
        } else {
            // Said, not hidden: an old root may be missing from the index.
            "this part's issue date (root not indexed)"
        }
        .into(),
        status_str(&r.status).into(),
    ]
}

/// (bucket end, past due, count, total in minor units, minor units) of one ladder bucket
/// totalled by the store.
type StoredLadderCell = (NaiveDate, bool, u64, i64, u32);

/// The maturity ladder from the store's totals of live receivables per maturity day and
/// currency ([`crate::store::sql::GroupBy::Maturity`]): the same buckets and rows as
/// [`ladder`].
pub fn ladder_of(groups: &[crate::store::sql::Group], q: &ListQuery, today: NaiveDate) -> Table {
    let monthly = q.by.as_deref() == Some("month");
    let mut t = Table::new(LADDER_COLUMNS.to_vec());
    let mut sums: BTreeMap<(NaiveDate, String), StoredLadderCell> = BTreeMap::new();
    for g in groups {
        let Ok(maturity) = g.key.parse::<NaiveDate>() else {
            continue;
        };
        let past = maturity < today;
        let (from, to) = if past {
            (NaiveDate::MIN, today - Days::days(1))
        } else {
            bucket(maturity, monthly)
        };
        let e = sums
            .entry((from, g.currency.clone()))
            .or_insert((to, past, 0, 0, g.minor_units));
        e.2 += g.count;
        e.3 = e.3.saturating_add(g.outstanding);
    }
    for ((from, cur), (to, past, n, sum, mu)) in sums {
        t.push(vec![
            ladder_label(from, past, monthly).into(),
            if past {
                String::new()
            } else {
                from.to_string()
            }
            .into(),
            to.to_string().into(),
            cur.into(),
            n.to_string().into(),
            crate::store::sql::fixed(sum, mu).into(),
        ]);
    }
    t
}

/// Exposure from the store's totals of live receivables per debtor and per bank holder
/// ([`crate::store::sql::GroupBy`]): the same rows as [`exposure`].
pub fn exposure_of(
    debtors: &[crate::store::sql::Group],
    banks: &[crate::store::sql::Group],
) -> Table {
    let mut t = Table::new(EXPOSURE_COLUMNS.to_vec());
    let mut rows: BTreeMap<(&'static str, &str, &str), &crate::store::sql::Group> = BTreeMap::new();
    for (kind, groups) in [("core enterprise", debtors), ("bank", banks)] {
        for g in groups {
            rows.insert((kind, g.key.as_str(), g.currency.as_str()), g);
        }
    }
    for ((kind, org, cur), g) in rows {
        t.push(vec![
            kind.into(),
            org_link(org),
            cur.into(),
            g.count.to_string().into(),
            crate::store::sql::fixed(g.outstanding, g.minor_units).into(),
        ]);
    }
    t
}

#[cfg(test)]
pub mod testdata {
    //! Small documents for unit tests.
    use super::*;
    use lianrong_contracts::model::{DocId, Invoice, InvoiceStatus};
    use lianrong_primitives::{Hash, OrgId};

    /// An org id.
    pub fn org(s: &str) -> OrgId {
        OrgId::new(s).unwrap()
    }

    /// A confirmed invoice.
    pub fn invoice(id: &str, seller: &str, buyer: &str, due: &str, amount: &str) -> Invoice {
        Invoice {
            id: DocId::new(id).unwrap(),
            order: DocId::new("PO-1").unwrap(),
            seller: org(seller),
            buyer: org(buyer),
            number: format!("FP-{id}"),
            issue_date: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            due_date: due.parse().unwrap(),
            maturity: None,
            proposed_maturity: None,
            amount: Money::parse(amount, "CNY").unwrap(),
            seller_tax_id: "91330000MA2SUP106X".into(),
            buyer_tax_id: "91310000MA1COREA3X".into(),
            doc_hash: Hash::ZERO,
            fingerprint: Hash::ZERO,
            status: InvoiceStatus::Confirmed,
            receivable: None,
            dispute_reason: None,
            registered_by: org(seller),
        }
    }

    /// A live receivable.
    pub fn receivable(
        id: &str,
        holder: &str,
        debtor: &str,
        issue: &str,
        maturity: &str,
        face: &str,
    ) -> Receivable {
        Receivable {
            id: DocId::new(id).unwrap(),
            debtor: org(debtor),
            holder: org(holder),
            face: Money::parse(face, "CNY").unwrap(),
            repaid: Amount::ZERO,
            issue_date: issue.parse().unwrap(),
            maturity: maturity.parse().unwrap(),
            root: DocId::new(id).unwrap(),
            parent: None,
            children: vec![],
            invoice: DocId::new("INV-1").unwrap(),
            status: ReceivableStatus::Active,
            financing: None,
            tier: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testdata::*;
    use super::*;
    use lianrong_contracts::model::Org;

    fn insert_orgs(d: &mut IndexData) {
        for (id, roles) in [
            ("BANK-A", vec![Role::Bank]),
            ("CORE-A", vec![Role::Core]),
            ("SUP-1", vec![Role::Supplier]),
        ] {
            d.orgs.insert(
                id.into(),
                Org {
                    id: org(id),
                    name: id.into(),
                    tax_id: "91440300MA5BANKA1X".into(),
                    roles,
                    identifiers: vec!["6222020200112233".into()],
                    keys: vec![],
                    revoked_keys: vec![],
                    admitted_at: 0,
                },
            );
        }
    }

    /// Five live receivables and a settled one (RCV-6).
    fn insert_receivables(d: &mut IndexData) {
        let rs = [
            receivable(
                "RCV-1",
                "SUP-1",
                "CORE-A",
                "2026-11-01",
                "2026-12-02",
                "100.00",
            ),
            receivable(
                "RCV-2",
                "BANK-A",
                "CORE-A",
                "2026-11-01",
                "2026-12-04",
                "50.50",
            ),
            receivable(
                "RCV-3",
                "SUP-2",
                "CORE-B",
                "2026-11-01",
                "2027-01-15",
                "10.00",
            ),
            receivable(
                "RCV-4",
                "SUP-1",
                "CORE-A",
                "2026-01-01",
                "2026-11-20",
                "7.00",
            ),
            receivable(
                "RCV-5",
                "SUP-1",
                "CORE-A",
                "2026-11-01",
                "2027-10-01",
                "1.00",
            ),
        ];
        for mut r in rs {
            // The bank holds RCV-2 as a disbursed financing assigns it.
            if r.holder.as_str() == "BANK-A" {
                r.financing = Some(lianrong_contracts::model::DocId::new("FIN-2").unwrap());
            }
            d.receivables.insert(r.id.to_string(), r);
        }
        let mut settled = receivable(
            "RCV-6",
            "SUP-1",
            "CORE-A",
            "2026-11-01",
            "2026-12-02",
            "999.00",
        );
        settled.status = ReceivableStatus::Settled;
        d.receivables.insert("RCV-6".into(), settled);
    }

    fn data() -> IndexData {
        // The node's status carries the network's parameters (flag_tenor_days 180).
        let mut d = IndexData {
            node: Some(crate::node::fake::status(1, vec![])),
            ..IndexData::default()
        };
        insert_orgs(&mut d);
        insert_receivables(&mut d);
        for i in [
            invoice("INV-1", "SUP-1", "CORE-A", "2026-12-02", "100.00"),
            invoice("INV-2", "SUP-2", "CORE-B", "2027-01-15", "10.00"),
        ] {
            d.invoices.insert(i.id.to_string(), i);
        }
        d
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
    }

    fn col(t: &Table, name: &str) -> Vec<String> {
        let i = t.columns.iter().position(|c| *c == name).unwrap();
        t.rows.iter().map(|r| r[i].text.clone()).collect()
    }

    #[test]
    fn ladder_buckets_by_week_and_month_and_skips_closed() {
        let d = data();
        let audit = Viewer::Everything { org: None };
        let weekly = ladder(&d, &audit, &ListQuery::default(), today());
        // past due (RCV-4), week of 2026-11-30 (RCV-1 + RCV-2), 2027-W02 (RCV-3), 2027-W39 (RCV-5)
        assert_eq!(
            col(&weekly, "bucket"),
            ["past due", "2026-W49", "2027-W02", "2027-W39"]
        );
        assert_eq!(
            col(&weekly, "outstanding"),
            ["7.00", "150.50", "10.00", "1.00"]
        );
        assert_eq!(col(&weekly, "from")[1], "2026-11-30");
        assert_eq!(col(&weekly, "to")[1], "2026-12-06");
        let q = ListQuery {
            by: Some("month".into()),
            ..Default::default()
        };
        let monthly = ladder(&d, &audit, &q, today());
        assert_eq!(
            col(&monthly, "bucket"),
            ["past due", "2026-12", "2027-01", "2027-10"]
        );
        assert_eq!(col(&monthly, "to")[1], "2026-12-31");
        // A supplier's ladder holds only its own receivables.
        let sup = Viewer::Org(lianrong_primitives::OrgId::new("SUP-1").unwrap());
        let mine = ladder(&d, &sup, &q, today());
        assert_eq!(col(&mine, "outstanding"), ["7.00", "100.00", "1.00"]);
        assert_eq!(
            bucket(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(), true)
                .1
                .to_string(),
            "2026-12-31"
        );
    }

    #[test]
    fn overdue_exposure_and_tenor() {
        let d = data();
        let audit = Viewer::Everything { org: None };
        let o = overdue(&d, &audit, &ListQuery::default(), today());
        assert_eq!(col(&o, "id"), ["RCV-4"]);
        assert_eq!(col(&o, "days past maturity"), ["7"]);
        let e = exposure(&d, &audit, &ListQuery::default());
        assert_eq!(col(&e, "org"), ["BANK-A", "CORE-A", "CORE-B"]);
        assert_eq!(col(&e, "outstanding"), ["50.50", "158.50", "10.00"]);
        let t = long_tenor(&d, &audit, &ListQuery::default());
        assert_eq!(col(&t, "id"), ["RCV-4", "RCV-5"]);
        assert_eq!(col(&t, "tenor days"), ["323", "334"]);
    }

    /// The finding: the explorer measured a split part's tenor from the split date, so a
    /// part of a long receivable split late looked short. Tenor runs from the root.
    #[test]
    fn a_split_part_keeps_its_roots_tenor_and_the_flag_is_the_ledgers() {
        let mut d = data();
        let mut root = receivable(
            "RCV-R",
            "SUP-1",
            "CORE-A",
            "2026-01-01",
            "2026-09-30",
            "100.00",
        );
        root.status = ReceivableStatus::Split;
        let mut part = receivable(
            "RCV-P",
            "SUP-1",
            "CORE-A",
            "2026-08-01",
            "2026-09-30",
            "60.00",
        );
        part.root = root.id.clone();
        d.receivables.insert(root.id.to_string(), root);
        d.receivables.insert(part.id.to_string(), part);
        let audit = Viewer::Everything { org: None };
        let t = long_tenor(&d, &audit, &ListQuery::default());
        let ids = col(&t, "id");
        let at = ids
            .iter()
            .position(|i| i == "RCV-P")
            .expect("the late part is flagged");
        assert_eq!(col(&t, "tenor days")[at], "272");
        assert_eq!(col(&t, "tenor from")[at], "root's issue date");
        // A network that flags from 300 days: the part is no longer listed.
        if let Some(s) = d.node.as_mut() {
            s.params.flag_tenor_days = 300;
        }
        let t = long_tenor(&d, &audit, &ListQuery::default());
        assert!(!col(&t, "id").contains(&"RCV-P".to_string()));
    }

    #[test]
    fn lists_filter_and_csv_carries_the_filtered_masked_rows() {
        let d = data();
        let sup = Viewer::Org(lianrong_primitives::OrgId::new("SUP-1").unwrap());
        let audit = Viewer::Everything { org: None };
        let q = ListQuery {
            status: Some("active".into()),
            ..Default::default()
        };
        assert_eq!(
            col(&receivables(&d, &sup, &q), "id"),
            ["RCV-1", "RCV-4", "RCV-5"]
        );
        assert_eq!(col(&receivables(&d, &audit, &q), "id").len(), 5);
        let q = ListQuery {
            from: Some("2026-12-01".into()),
            to: Some("2026-12-31".into()),
            ..Default::default()
        };
        assert_eq!(
            col(&receivables(&d, &audit, &q), "id"),
            ["RCV-1", "RCV-2", "RCV-6"]
        );
        let q = ListQuery {
            org: Some("CORE-B".into()),
            ..Default::default()
        };
        assert_eq!(col(&receivables(&d, &audit, &q), "id"), ["RCV-3"]);

        let inv = invoices(&d, &sup, &ListQuery::default());
        assert_eq!(col(&inv, "id"), ["INV-1"]);
        let csv = inv.to_csv().unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("id,number,seller,buyer"));
        assert!(
            lines[1].contains("91330000MA2SUP106X") && lines[1].contains("91310000MA1COREA3X"),
            "a party reads both tax ids of its invoice, as the node shows it: {}",
            lines[1]
        );
        let q = ListQuery {
            q: Some("fp-inv-2".into()),
            ..Default::default()
        };
        assert_eq!(col(&invoices(&d, &audit, &q), "id"), ["INV-2"]);

        let o = orgs(&d, &sup, &ListQuery::default());
        assert_eq!(col(&o, "tax id")[0], "9144************1X");
        assert_eq!(col(&o, "identifiers")[0], "6222**********33");
        assert_eq!(
            col(&orgs(&d, &audit, &ListQuery::default()), "tax id")[0],
            "91440300MA5BANKA1X"
        );
    }

    #[test]
    fn csv_neutralises_formulas() {
        let mut t = Table::new(vec!["a"]);
        t.push(vec!["=HYPERLINK(\"x\")".into()]);
        t.push(vec!["-12.5".into()]);
        t.push(vec!["-1+cmd|' /C calc'!A0".into()]);
        t.push(vec!["-2-3".into()]);
        t.push(vec!["-".into()]);
        let csv = t.to_csv().unwrap();
        assert!(csv.contains("'=HYPERLINK"));
        assert!(csv.contains("\n-12.5\n"), "{csv}");
        assert!(csv.contains("'-1+cmd|"), "{csv}");
        assert!(csv.contains("'-2-3"), "{csv}");
        assert!(csv.contains("\n'-\n"), "{csv}");
    }
}
