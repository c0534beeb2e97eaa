//! Page building blocks (maud escapes every interpolated string).

use maud::{html, Markup, DOCTYPE};
use serde_json::Value;

use crate::auth::Session;
use crate::views::Table;

/// The page frame: navigation, search, who is logged in, log-out.
pub fn layout(title: &str, session: Option<&Session>, live: bool, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " - LianRong explorer" }
                link rel="stylesheet" href="/static/style.css";
                script src="/static/app.js" defer {}
                script src="/static/verify.js" defer {}
            }
            body data-live=[live.then_some("1")] {
                header {
                    a href="/" { strong { "LianRong 链融" } }
                    @if let Some(s) = session {
                        a href="/blocks" { "Blocks" }
                        a href="/txs" { "Transactions" }
                        a href="/orgs" { "Orgs" }
                        a href="/orders" { "Orders" }
                        a href="/invoices" { "Invoices" }
                        a href="/receivables" { "Receivables" }
                        a href="/financings" { "Financings" }
                        a href="/settlements" { "Settlements" }
                        a href="/programmes" { "Programmes" }
                        a href="/warehouse" { "Warehouse" }
                        a href="/loans" { "Loans" }
                        a href="/loans/margin-calls" { "Margin calls" }
                        a href="/governance" { "Governance" }
                        a href="/risk/ladder" { "Maturity" }
                        a href="/risk/overdue" { "Overdue & default" }
                        a href="/risk/overdue?by=receivable" { "Overdue receivables" }
                        a href="/risk/exposure" { "Exposure" }
                        a href="/risk/limits" { "Limits" }
                        a href="/risk/approvals" { "Approvals" }
                        a href="/risk/tenor" { "Long tenor" }
                        a href="/risk/disbursements" { "Disbursements" }
                        a href="/risk/cost" { "Cost" }
                        form action="/search" method="get" {
                            input type="search" name="q" id="search" placeholder="height, hash, id, invoice no." size="28";
                        }
                        span class="who" {
                            (s.username)
                            @if let Some(o) = s.viewer.org() { " (" (o) ")" }
                            @if s.viewer.sees_everything() { " - sees everything" } @else { " - own documents, identifiers masked" }
                        }
                        form action="/logout" method="post" {
                            input type="hidden" name="csrf" value=(s.csrf);
                            button type="submit" id="logout" { "Log out" }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A table with links.
pub fn table(t: &Table) -> Markup {
    html! {
        @if let Some(why) = &t.incomplete {
            p class="error" id="incomplete" { "Incomplete, totals may be short: " (why) }
        }
        table class="list" {
            thead { tr { @for c in &t.columns { th { (c) } } } }
            tbody {
                @for r in &t.rows {
                    tr {
                        @for c in r {
                            td {
                                @if let Some(href) = &c.link { a href=(href) { (c.text) } } @else { (c.text) }
                            }
                        }
                    }
                }
            }
        }
        @if t.rows.is_empty() { p class="muted" { "Nothing to show." } }
        @if t.truncated && t.page.is_none() { p class="error" { "Only the first " (crate::views::MAX_ROWS) " rows are shown; narrow the filters." } }
        @if let (true, Some(at)) = (t.truncated, &t.page) {
            p class="muted" {
                @if let Some(n) = at.number { "Page " (n) ": more" } @else { "More" }
                " rows on the next page; the CSV export has every row."
            }
        }
    }
}

const ORG_FIELDS: [&str; 15] = [
    "buyer",
    "seller",
    "carriers",
    "pledgee",
    "pledge_offer",
    "holder",
    "debtor",
    "payee",
    "applicant",
    "carrier",
    "bank",
    "registered_by",
    "owner",
    "warehouse",
    "signer",
];
const DOC_FIELDS: [(&str, &str); 10] = [
    ("order", "/orders/"),
    ("shipments", "/shipments/"),
    ("invoice", "/invoices/"),
    ("receivable", "/receivables/"),
    ("financing", "/financings/"),
    ("offers", "/offers/"),
    ("parent", "/receivables/"),
    ("root", "/receivables/"),
    ("children", "/receivables/"),
    // The warehouse events name their receipt.
    ("receipt", "/warehouse/"),
];

fn value_cell(key: &str, v: &Value) -> Markup {
    let href = |s: &str| -> Option<String> {
        if ORG_FIELDS.contains(&key) {
            return Some(format!("/orgs/{s}"));
        }
        DOC_FIELDS
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, base)| format!("{base}{s}"))
    };
    html! {
        @match v {
            Value::String(s) => {
                @if let Some(h) = href(s) { a href=(h) { (s) } } @else { (s) }
            }
            Value::Null => { span class="muted" { "-" } }
            Value::Array(items) if items.iter().all(Value::is_string) => {
                @for (i, it) in items.iter().enumerate() {
                    @if i > 0 { ", " }
                    @let s = it.as_str().unwrap_or_default();
                    @if let Some(h) = href(s) { a href=(h) { (s) } } @else { (s) }
                }
            }
            Value::Object(m) if m.len() == 2 && m.contains_key("amount") && m.contains_key("currency") => {
                (m["amount"].as_str().unwrap_or_default()) " " (m["currency"].as_str().unwrap_or_default())
            }
            Value::Number(_) | Value::Bool(_) => { (v.to_string()) }
            other => { pre { (serde_json::to_string_pretty(other).unwrap_or_default()) } }
        }
    }
}

/// A document's fields as a two-column table (with links to orgs and documents).
pub fn fields(v: &Value) -> Markup {
    html! {
        table class="fields" {
            @if let Some(m) = v.as_object() {
                @for (k, val) in m {
                    tr { th { (k.replace('_', " ")) } td data-field=(k) { (value_cell(k, val)) } }
                }
            }
        }
    }
}

/// The lists that also filter by debtor and payee (each a filter of its own, beside `org`
/// which matches either).
const PARTY_FILTERS: [&str; 1] = ["/settlements"];

/// The filter form of a list (the export link keeps the same filters).
pub fn filters(path: &str, q: &crate::views::ListQuery, csv_href: &str, ladder: bool) -> Markup {
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    html! {
        form class="filters" method="get" action=(path) {
            input name="q" placeholder="id / number contains" value=(v(&q.q));
            input name="status" placeholder="status" value=(v(&q.status)) size="10";
            input name="org" placeholder="party org id" value=(v(&q.org)) size="10";
            @if PARTY_FILTERS.contains(&path) {
                input name="debtor" placeholder="debtor" value=(v(&q.debtor)) size="10";
                input name="payee" placeholder="payee" value=(v(&q.payee)) size="10";
            }
            input name="from" type="date" value=(v(&q.from));
            input name="to" type="date" value=(v(&q.to));
            @if ladder {
                select name="by" {
                    option value="week" selected[q.by.as_deref() != Some("month")] { "per week" }
                    option value="month" selected[q.by.as_deref() == Some("month")] { "per month" }
                }
            }
            button type="submit" { "Filter" }
            " "
            a href=(csv_href) id="csv-export" { "Export CSV" }
        }
    }
}
