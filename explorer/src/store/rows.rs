//! What the store keeps of a document besides its JSON: the columns lists filter on
//! (status, date, search text, invoice number), its parties, and a receivable's figures
//! for the risk views' SQL totals. Computed once, when the document is written.

use chrono::NaiveDate;
use lianrong_contracts::model::{Financing, FinancingStatus, Order, Org, Receivable, Settlement};
use lianrong_contracts::money::Amount;
use lianrong_contracts::{DocKind, Event};

use crate::node::Doc;
use crate::views::status_str;
use crate::vis::Document;

use super::StoreError;

/// Separates the texts of a document's `search` column (a `q` containing it is rare and
/// only widens the SQL match; the page's own filter still applies).
pub const SEARCH_SEP: char = '\u{1f}';

/// A document as the store writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct DocRow {
    /// Kind (`DocKind::as_str`).
    pub kind: &'static str,
    /// Id.
    pub id: String,
    /// Status, lower case.
    pub status: String,
    /// A second word the status filter matches (a warehouse receipt's pledge state).
    pub alt_status: Option<String>,
    /// The date a list's from/to filter reads, `YYYY-MM-DD`.
    pub day: Option<String>,
    /// Lower-case texts `q` matches, joined by [`SEARCH_SEP`].
    pub search: String,
    /// An invoice's number.
    pub reference: Option<String>,
    /// The document as JSON.
    pub json: String,
    /// Orgs party to it (visibility and the `org` filter).
    pub parties: Vec<String>,
    /// A receivable's figures.
    pub receivable: Option<ReceivableFigures>,
    /// An org's roles.
    pub roles: Option<Vec<String>>,
    /// A financing's place in the overdue-and-default view ([`overdue_state`]).
    pub overdue_state: Option<&'static str>,
    /// The receivable a financing or a settlement is on (`docs.receivable`).
    pub on_receivable: Option<String>,
    /// A settlement's root, instruction and line (the `settlements` table).
    pub settlement: Option<SettlementLinks>,
}

/// What the settlement tables look a settlement up and order it by: its lineage's root,
/// its instruction (debtor, payment reference) and its place (instruction day, line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementLinks {
    /// The root of the receivable's lineage.
    pub root: String,
    /// The debtor who instructed it.
    pub debtor: String,
    /// The instruction's payment reference.
    pub payment_ref: String,
    /// The instruction date, days since 1970-01-01.
    pub instructed_day: i64,
    /// Its line in the instruction.
    pub line: u32,
}

impl SettlementLinks {
    /// The links of `s`.
    pub fn of(s: &Settlement) -> SettlementLinks {
        SettlementLinks {
            root: s.root.to_string(),
            debtor: s.debtor.to_string(),
            payment_ref: s.payment_ref.clone(),
            instructed_day: day_number(s.instructed_on),
            line: s.line,
        }
    }
}

/// A `price_posted` event's columns in `prices`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceRow {
    /// The bank that posted it.
    pub bank: String,
    /// The goods.
    pub goods: String,
    /// The unit priced.
    pub unit: String,
    /// The price's currency code.
    pub currency: String,
}

/// The price row of event JSON `e`, if it is a `price_posted`.
pub fn price_of(e: &serde_json::Value) -> Option<PriceRow> {
    e.get("price_posted")?;
    match serde_json::from_value::<Event>(e.clone()).ok()? {
        Event::PricePosted {
            bank,
            goods,
            unit,
            price,
        } => Some(PriceRow {
            bank: bank.to_string(),
            goods,
            unit: unit.to_string(),
            currency: price.currency.code().to_string(),
        }),
        _ => None,
    }
}

/// The figures of a receivable the risk views total in SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivableFigures {
    /// Holder.
    pub holder: String,
    /// Debtor.
    pub debtor: String,
    /// Status, lower case.
    pub status: String,
    /// Active or overdue.
    pub live: bool,
    /// Currency code.
    pub currency: String,
    /// Its minor units.
    pub minor_units: u32,
    /// Outstanding in minor units (`None`: repaid beyond face, or too large).
    pub outstanding: Option<i64>,
    /// Maturity.
    pub maturity: NaiveDate,
    /// Root receivable.
    pub root: String,
    /// Issue date.
    pub issue_date: NaiveDate,
    /// Counts in its holder's bank exposure ([`crate::views::bank_exposure`]).
    pub financed: bool,
    /// The invoice it is born of.
    pub invoice: String,
}

/// Where a financing stands in the overdue-and-default view (`/risk/overdue`, the
/// `overdue_state` column): `written off`, `overdue` (went overdue while disbursed), or
/// not at risk (`None`: never overdue, bought back, repaid, cancelled). The view judges
/// each row again from its document; this only lets SQL leave the others out.
pub fn overdue_state(f: &Financing) -> Option<&'static str> {
    let o = f.overdue.as_ref()?;
    match (f.status, &o.write_off) {
        (_, Some(_)) => Some("written off"),
        (FinancingStatus::Disbursed, None) => Some("overdue"),
        _ => None,
    }
}

/// Days since 1970-01-01 (the store's integer dates: both databases subtract them alike).
pub fn day_number(d: NaiveDate) -> i64 {
    (d - NaiveDate::default()).num_days()
}

/// `amount` in minor units (as the pages show it, `to_fixed`), if within `i64`.
pub fn minor(amount: Amount, minor_units: u32) -> Option<i64> {
    amount.to_fixed(minor_units).replace('.', "").parse().ok()
}

fn search(texts: &[&str]) -> String {
    texts
        .iter()
        .map(|t| t.to_lowercase())
        .collect::<Vec<_>>()
        .join(&SEARCH_SEP.to_string())
}

fn owned(v: Vec<&str>) -> Vec<String> {
    let mut v: Vec<String> = v.into_iter().map(str::to_string).collect();
    v.sort();
    v.dedup();
    v
}

fn receivable_figures(r: &Receivable) -> ReceivableFigures {
    let mu = r.face.currency.minor_units();
    ReceivableFigures {
        holder: r.holder.to_string(),
        debtor: r.debtor.to_string(),
        status: status_str(&r.status),
        live: r.status.is_live(),
        currency: r.face.currency.code().to_string(),
        minor_units: mu,
        outstanding: r.outstanding().and_then(|o| minor(o, mu)),
        maturity: r.maturity,
        root: r.root.to_string(),
        issue_date: r.issue_date,
        financed: crate::views::bank_exposure(r),
        invoice: r.invoice.to_string(),
    }
}

/// What a document's row depends on besides itself: a shipment's order parties, an
/// offer's financing applicant (read from the same batch or the store).
#[derive(Debug, Default, Clone)]
pub struct Context {
    /// The parties of the order a shipment belongs to.
    pub order_parties: Vec<String>,
    /// The applicant of the financing an offer answers.
    pub applicant: Option<String>,
}

impl DocRow {
    /// The row of `doc` (`ctx`: what its parties depend on).
    pub fn of(doc: &Doc, ctx: &Context) -> Result<DocRow, StoreError> {
        let json = serde_json::to_string(doc).map_err(|e| StoreError::Corrupt {
            what: format!("{} {}", doc.kind(), doc.id()),
            reason: e.to_string(),
        })?;
        let mut row = DocRow {
            kind: doc.kind().as_str(),
            id: doc.id().to_string(),
            status: String::new(),
            alt_status: None,
            day: None,
            search: search(&[doc.id()]),
            reference: None,
            json,
            parties: vec![],
            receivable: None,
            roles: None,
            overdue_state: None,
            on_receivable: None,
            settlement: None,
        };
        row.fill(doc, ctx);
        Ok(row)
    }

    fn fill(&mut self, doc: &Doc, ctx: &Context) {
        match doc {
            Doc::Org(o) => self.org(o),
            Doc::Order(o) => self.order(o),
            Doc::Shipment(s) => {
                self.status = status_str(&s.status);
                let mut p = vec![s.carrier.to_string()];
                p.extend(ctx.order_parties.iter().cloned());
                self.parties = owned(p.iter().map(String::as_str).collect());
            }
            Doc::Invoice(i) => {
                self.status = status_str(&i.status);
                self.day = Some(i.issue_date.to_string());
                self.search = search(&[i.id.as_str(), &i.number]);
                self.reference = Some(i.number.clone());
                self.parties = owned(i.parties());
            }
            Doc::Receivable(r) => {
                self.status = status_str(&r.status);
                self.day = Some(r.maturity.to_string());
                self.search = search(&[r.id.as_str(), r.invoice.as_str()]);
                self.parties = owned(r.parties());
                self.receivable = Some(receivable_figures(r));
            }
            Doc::Financing(f) => {
                self.status = status_str(&f.status);
                self.overdue_state = overdue_state(f);
                self.on_receivable = Some(f.receivable.to_string());
                self.search = search(&[f.id.as_str(), f.receivable.as_str()]);
                self.parties = owned(f.parties());
            }
            Doc::Offer(o) => {
                self.status = status_str(&o.status);
                let mut p = vec![o.bank.to_string()];
                p.extend(ctx.applicant.iter().cloned());
                self.parties = owned(p.iter().map(String::as_str).collect());
            }
            Doc::Settlement(s) => {
                self.status = status_str(&s.status);
                self.day = Some(s.instructed_on.to_string());
                self.search = search(&[s.id.as_str(), s.receivable.as_str(), &s.payment_ref]);
                self.on_receivable = Some(s.receivable.to_string());
                self.settlement = Some(SettlementLinks::of(s));
                self.parties = owned(s.parties());
            }
            Doc::Proposal(p) => {
                self.status = status_str(&p.status);
                self.day = Some(p.opened_on.to_string());
                self.parties = owned(p.parties());
            }
            Doc::WarehouseReceipt(r) => {
                self.status = crate::warehouse::status_str(r.status).to_string();
                self.search = search(&[r.id.as_str(), &r.lot, &r.goods]);
                self.parties = owned(r.parties());
            }
        }
    }

    fn org(&mut self, o: &Org) {
        self.search = search(&[o.id.as_str(), &o.name]);
        self.parties = owned(o.parties());
        self.roles = Some(o.roles.iter().map(status_str).collect());
    }

    fn order(&mut self, o: &Order) {
        self.status = status_str(&o.status);
        self.parties = owned(o.parties());
    }
}

/// The kind named `s` (as [`DocKind::as_str`] writes it).
pub fn kind_named(s: &str) -> Option<DocKind> {
    DocKind::ALL.into_iter().find(|k| k.as_str() == s)
}

/// A stored document's JSON decoded as its kind.
pub fn decode_doc(kind: DocKind, id: &str, json: &str) -> Result<Doc, StoreError> {
    let bad = |e: serde_json::Error| StoreError::Corrupt {
        what: format!("{kind} {id}"),
        reason: e.to_string(),
    };
    Ok(match kind {
        DocKind::Org => Doc::Org(serde_json::from_str(json).map_err(bad)?),
        DocKind::Order => Doc::Order(serde_json::from_str(json).map_err(bad)?),
        DocKind::Shipment => Doc::Shipment(serde_json::from_str(json).map_err(bad)?),
        DocKind::Invoice => Doc::Invoice(serde_json::from_str(json).map_err(bad)?),
        DocKind::Receivable => Doc::Receivable(serde_json::from_str(json).map_err(bad)?),
        DocKind::Financing => Doc::Financing(serde_json::from_str(json).map_err(bad)?),
        DocKind::Offer => Doc::Offer(serde_json::from_str(json).map_err(bad)?),
        DocKind::Settlement => Doc::Settlement(serde_json::from_str(json).map_err(bad)?),
        DocKind::Proposal => Doc::Proposal(serde_json::from_str(json).map_err(bad)?),
        DocKind::WarehouseReceipt => {
            Doc::WarehouseReceipt(serde_json::from_str(json).map_err(bad)?)
        }
        other => {
            return Err(StoreError::Corrupt {
                what: format!("{other} {id}"),
                reason: "the explorer stores no documents of this kind".into(),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::testdata;

    #[test]
    fn minor_units_are_exact_or_none() {
        let d = |s: &str| Amount::parse(s).unwrap();
        assert_eq!(minor(d("1203.50"), 2), Some(120_350));
        assert_eq!(minor(d("7"), 0), Some(7));
        assert_eq!(day_number("1970-01-11".parse().unwrap()), 10);
    }

    #[test]
    fn a_receivable_row_carries_its_filters_parties_and_figures() {
        let r = testdata::receivable(
            "RCV-1",
            "SUP-1",
            "CORE-A",
            "2026-11-01",
            "2027-01-31",
            "100.00",
        );
        let row = DocRow::of(&Doc::Receivable(r.clone()), &Context::default()).unwrap();
        assert_eq!((row.kind, row.status.as_str()), ("receivable", "active"));
        assert_eq!(row.day.as_deref(), Some("2027-01-31"));
        assert_eq!(row.parties, ["CORE-A", "SUP-1"]);
        let f = row.receivable.unwrap();
        assert_eq!((f.outstanding, f.live), (Some(10_000), true));
        let back = decode_doc(DocKind::Receivable, "RCV-1", &row.json).unwrap();
        assert_eq!(back, Doc::Receivable(r));
    }
}
