//! Writing rows: each table's rows of a block (or of a batch of documents) in multi-row
//! statements -- `INSERT ... VALUES (...), (...), ...` -- cut into chunks under the
//! databases' parameter limits, instead of one statement per row.
//!
//! Why: `sqlx` hands every statement to the database's worker and waits for the answer,
//! and at some twenty statements per transaction the explorer spent a quarter of its
//! time in the kernel switching between the two and fell minutes behind a busy chain
//! (node/README.md, "The read side at 100,000 and 200,000 receivables"). A block is now
//! a few statements per table, whatever it holds.
//!
//! What the kept counts move by is still learnt from the database itself, never assumed:
//! an insert says which rows were new (`ON CONFLICT DO NOTHING RETURNING`, which SQLite
//! and PostgreSQL both have), a delete which rows went. Rows of one key are written once
//! per statement (the last of them wins, as writing them in turn would leave it):
//! PostgreSQL refuses an upsert that meets its own row twice.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::rows::{self, ReceivableFigures};
use super::sql::{Param, Sql};
use super::totals::{self, Tally};
use super::{corrupt, day_number, int, DocRow, SettlementLinks, StoreError, SEARCH_SEP};
use crate::index::TxRecord;

/// Parameters bound per statement at most: far under SQLite's 32,766 and PostgreSQL's
/// 65,535, and small because binding costs SQLite time growing with the square of a
/// statement's parameters (sqlx binds each `$n` by asking SQLite its name, which SQLite
/// finds by walking its list of names): at 4,000 a quarter of the explorer's CPU went to
/// that walk, at 400 it is a few per cent, and a block is still a handful of statements.
const MAX_PARAMS: usize = 400;

/// One row's values, in its statement's column order.
type Values = Vec<Param>;

/// How a statement lists its rows.
#[derive(Debug, Clone, Copy)]
enum Shape<'a> {
    /// `($1, $2), ($3, $4)`: a `VALUES` (or `IN`) list.
    Tuples,
    /// `(a = $1 AND b = $2) OR (a = $3 AND b = $4)`: a condition true for any of the rows,
    /// by these columns. For looking rows up: SQLite reads this by index, row by row,
    /// but scans the whole table for `(a, b) IN (VALUES ...)` unless the columns are the
    /// start of its primary key.
    AnyOf(&'a [&'a str]),
}

/// `head`, the rows in `shape`, `tail`: one statement per chunk of rows (none for no
/// rows).
fn statements(head: &str, shape: Shape, tail: &str, rows: &[Values]) -> Vec<Sql> {
    let Some(width) = rows.first().map(Vec::len) else {
        return Vec::new();
    };
    assert!(width > 0, "a row has a value");
    if let Shape::AnyOf(columns) = shape {
        assert_eq!(columns.len(), width, "a column for each value");
    }
    rows.chunks((MAX_PARAMS / width).max(1))
        .map(|chunk| {
            let mut sql = Sql::default();
            let listed: Vec<String> = chunk
                .iter()
                .map(|row| {
                    assert_eq!(row.len(), width, "rows of one statement have one width");
                    let marks = row.iter().map(|p| sql.bind(p.clone()));
                    match shape {
                        Shape::Tuples => format!("({})", marks.collect::<Vec<_>>().join(", ")),
                        Shape::AnyOf(columns) => {
                            let terms: Vec<String> = columns
                                .iter()
                                .zip(marks)
                                .map(|(column, mark)| format!("{column} = {mark}"))
                                .collect();
                            format!("({})", terms.join(" AND "))
                        }
                    }
                })
                .collect();
            let sep = match shape {
                Shape::Tuples => ", ",
                Shape::AnyOf(_) => " OR ",
            };
            sql.text = format!("{head} {} {tail}", listed.join(sep));
            sql
        })
        .collect()
}

/// Runs `statements` and gives back what they return (their `RETURNING`, or a
/// `SELECT`'s rows).
async fn fetch_all(c: &mut AnyConnection, statements: Vec<Sql>) -> Result<Vec<AnyRow>, StoreError> {
    let mut out = Vec::new();
    for sql in statements {
        out.extend(sql.query().fetch_all(&mut *c).await?);
    }
    Ok(out)
}

/// Runs the statements of `rows` as a `VALUES` list (see [`statements`]).
pub(super) async fn run(
    c: &mut AnyConnection,
    head: &str,
    tail: &str,
    rows: &[Values],
) -> Result<(), StoreError> {
    for sql in statements(head, Shape::Tuples, tail, rows) {
        sql.query().execute(&mut *c).await?;
    }
    Ok(())
}

/// Runs the statements of `rows` as a `VALUES` list and gives back what they return.
pub(super) async fn fetch(
    c: &mut AnyConnection,
    head: &str,
    tail: &str,
    rows: &[Values],
) -> Result<Vec<AnyRow>, StoreError> {
    fetch_all(c, statements(head, Shape::Tuples, tail, rows)).await
}

/// Runs the statements of `rows` as a condition matching any of them by `columns`
/// ([`Shape::AnyOf`]) and gives back what they return.
pub(super) async fn fetch_any_of(
    c: &mut AnyConnection,
    head: &str,
    columns: &[&str],
    tail: &str,
    rows: &[Values],
) -> Result<Vec<AnyRow>, StoreError> {
    fetch_all(c, statements(head, Shape::AnyOf(columns), tail, rows)).await
}

/// The last row of each key, in key order.
fn last_of_each<'a, T, K: Ord>(items: &'a [T], key: impl Fn(&'a T) -> K) -> Vec<&'a T> {
    let mut by_key = BTreeMap::new();
    for item in items {
        by_key.insert(key(item), item);
    }
    by_key.into_values().collect()
}

fn text(s: &str) -> Param {
    Param::Text(s.to_string())
}

/// Writes documents `docs` (their rows, parties, figures and roles) as of `height`, and
/// what they move in the kept counts and totals into `tally`.
pub(super) async fn put_docs(
    c: &mut AnyConnection,
    docs: &[DocRow],
    height: u64,
    tally: &mut Tally,
) -> Result<(), StoreError> {
    let docs = last_of_each(docs, |d| (d.kind, d.id.as_str()));
    let receivables: Vec<(&str, &ReceivableFigures)> = docs
        .iter()
        .filter_map(|d| Some((d.id.as_str(), d.receivable.as_ref()?)))
        .collect();
    let ids: Vec<&str> = receivables.iter().map(|(id, _)| *id).collect();
    let before = totals::shares(c, &ids).await?;
    put_doc_rows(c, &docs, height, tally).await?;
    put_doc_parties(c, &docs, tally).await?;
    put_receivables(c, &receivables).await?;
    tally.receivable(before, totals::shares(c, &ids).await?);
    let settlements: Vec<Values> = docs
        .iter()
        .filter_map(|d| Some(settlement_row(&d.id, d.settlement.as_ref()?)))
        .collect();
    run(c, SETTLEMENTS.0, SETTLEMENTS.1, &settlements).await?;
    for d in &docs {
        if let Some(roles) = &d.roles {
            put_roles(c, &d.id, roles).await?;
        }
    }
    Ok(())
}

/// The `docs` columns, in [`doc_row`]'s order.
const DOCS: &str = "INSERT INTO docs (kind, id, status, alt_status, day, search, ref, doc_json, \
                    updated_height, overdue_state, receivable) VALUES";

fn doc_row(d: &DocRow, height: u64) -> Values {
    vec![
        text(d.kind),
        text(&d.id),
        text(&d.status),
        Param::OptText(d.alt_status.clone()),
        Param::OptText(d.day.clone()),
        text(&d.search),
        Param::OptText(d.reference.clone()),
        text(&d.json),
        Param::Int(int(height)),
        Param::OptText(d.overdue_state.map(str::to_string)),
        Param::OptText(d.on_receivable.clone()),
    ]
}

/// Writes the `docs` rows: the new ones inserted (and counted: the database says which
/// are new, so a document written again counts once), the others updated.
async fn put_doc_rows(
    c: &mut AnyConnection,
    docs: &[&DocRow],
    height: u64,
    tally: &mut Tally,
) -> Result<(), StoreError> {
    let all: Vec<Values> = docs.iter().map(|d| doc_row(d, height)).collect();
    let tail = "ON CONFLICT (kind, id) DO NOTHING RETURNING kind, id";
    let mut inserted = BTreeSet::new();
    for r in fetch(c, DOCS, tail, &all).await? {
        let (kind, id): (String, String) = (r.try_get(0)?, r.try_get(1)?);
        tally.count(totals::LEDGER, &kind, 1);
        inserted.insert((kind, id));
    }
    let again: Vec<Values> = all
        .into_iter()
        .zip(docs)
        .filter(|(_, d)| !inserted.contains(&(d.kind.to_string(), d.id.clone())))
        .map(|(row, _)| row)
        .collect();
    let tail = "ON CONFLICT (kind, id) DO UPDATE SET status = excluded.status, \
                alt_status = excluded.alt_status, day = excluded.day, search = excluded.search, \
                ref = excluded.ref, doc_json = excluded.doc_json, \
                updated_height = excluded.updated_height, overdue_state = excluded.overdue_state, \
                receivable = excluded.receivable";
    run(c, DOCS, tail, &again).await
}

/// The `doc_parties` rows of documents, by (kind, id): its head and columns.
const PARTIES_OF: (&str, [&str; 2]) = (
    "SELECT kind, id, org FROM doc_parties WHERE",
    ["kind", "id"],
);

/// Deleting `doc_parties` rows by their key (org, kind, id): its head and tail.
const PARTIES_GONE: (&str, &str) = (
    "DELETE FROM doc_parties WHERE (org, kind, id) IN (VALUES",
    ") RETURNING org, kind",
);

/// Makes each document's `doc_parties` rows its parties: deletes the orgs no longer
/// party, inserts the new ones, and counts each org by the rows that really changed.
async fn put_doc_parties(
    c: &mut AnyConnection,
    docs: &[&DocRow],
    tally: &mut Tally,
) -> Result<(), StoreError> {
    let keys: Vec<Values> = docs
        .iter()
        .map(|d| vec![text(d.kind), text(&d.id)])
        .collect();
    let (head, columns) = PARTIES_OF;
    let mut old: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for r in fetch_any_of(c, head, &columns, "", &keys).await? {
        old.entry((r.try_get(0)?, r.try_get(1)?))
            .or_default()
            .insert(r.try_get(2)?);
    }
    let (mut gone, mut added) = (Vec::new(), Vec::new());
    for d in docs {
        let was = old
            .remove(&(d.kind.to_string(), d.id.clone()))
            .unwrap_or_default();
        let now: BTreeSet<String> = d.parties.iter().cloned().collect();
        let row = |org: &String| vec![text(org), text(d.kind), text(&d.id)];
        gone.extend(was.difference(&now).map(row));
        added.extend(now.difference(&was).map(row));
    }
    let (head, tail) = PARTIES_GONE;
    for r in fetch(c, head, tail, &gone).await? {
        tally.count(&r.try_get::<String, _>(0)?, &r.try_get::<String, _>(1)?, -1);
    }
    let head = "INSERT INTO doc_parties (org, kind, id) VALUES";
    let tail = "ON CONFLICT DO NOTHING RETURNING org, kind";
    for r in fetch(c, head, tail, &added).await? {
        tally.count(&r.try_get::<String, _>(0)?, &r.try_get::<String, _>(1)?, 1);
    }
    Ok(())
}

async fn put_receivables(
    c: &mut AnyConnection,
    receivables: &[(&str, &ReceivableFigures)],
) -> Result<(), StoreError> {
    let rows: Vec<Values> = receivables
        .iter()
        .map(|(id, r)| {
            vec![
                text(id),
                text(&r.holder),
                text(&r.debtor),
                text(&r.status),
                Param::Int(i64::from(r.live)),
                text(&r.currency),
                Param::Int(i64::from(r.minor_units)),
                Param::OptInt(r.outstanding),
                Param::Text(r.maturity.to_string()),
                Param::Int(day_number(r.maturity)),
                Param::Int(day_number(r.issue_date)),
                text(&r.root),
                Param::Int(i64::from(r.financed)),
                text(&r.invoice),
            ]
        })
        .collect();
    run(
        c,
        "INSERT INTO receivables (id, holder, debtor, status, live, currency, minor_units, \
         outstanding, maturity, maturity_day, issue_day, root, financed, invoice) VALUES",
        "ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, debtor = excluded.debtor, \
         status = excluded.status, live = excluded.live, currency = excluded.currency, \
         minor_units = excluded.minor_units, outstanding = excluded.outstanding, \
         maturity = excluded.maturity, maturity_day = excluded.maturity_day, \
         issue_day = excluded.issue_day, root = excluded.root, financed = excluded.financed, \
         invoice = excluded.invoice",
        &rows,
    )
    .await
}

/// The `settlements` statement's head and tail, for [`settlement_row`]s.
const SETTLEMENTS: (&str, &str) = (
    "INSERT INTO settlements (id, root, debtor, payment_ref, instructed_day, line) VALUES",
    "ON CONFLICT (id) DO UPDATE SET root = excluded.root, debtor = excluded.debtor, \
     payment_ref = excluded.payment_ref, instructed_day = excluded.instructed_day, \
     line = excluded.line",
);

fn settlement_row(id: &str, s: &SettlementLinks) -> Values {
    vec![
        text(id),
        text(&s.root),
        text(&s.debtor),
        text(&s.payment_ref),
        Param::Int(s.instructed_day),
        Param::Int(i64::from(s.line)),
    ]
}

/// The row of settlement `id` in `settlements` (its root, instruction and line).
pub(crate) async fn put_settlement(
    c: &mut AnyConnection,
    id: &str,
    s: &SettlementLinks,
) -> Result<(), StoreError> {
    run(c, SETTLEMENTS.0, SETTLEMENTS.1, &[settlement_row(id, s)]).await
}

/// Makes org `org`'s `org_roles` rows `roles` (orgs are few and rarely written: a
/// statement per role).
async fn put_roles(c: &mut AnyConnection, org: &str, roles: &[String]) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM org_roles WHERE org = $1")
        .bind(org.to_string())
        .execute(&mut *c)
        .await?;
    for role in roles {
        sqlx::query("INSERT INTO org_roles (org, role) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(org.to_string())
            .bind(role.clone())
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// The `prices` statement's head and tail, for [`price_row`]s.
const PRICES: (&str, &str) = (
    "INSERT INTO prices (height, position, seq, bank, goods, unit, currency) VALUES",
    "ON CONFLICT DO NOTHING",
);

/// The `prices` row of event `e` at (`height`, `position`, `seq`), if it is a
/// `price_posted`.
fn price_row((height, position, seq): (i64, i64, i64), e: &serde_json::Value) -> Option<Values> {
    let p = rows::price_of(e)?;
    Some(vec![
        Param::Int(height),
        Param::Int(position),
        Param::Int(seq),
        Param::Text(p.bank),
        Param::Text(p.goods),
        Param::Text(p.unit),
        Param::Text(p.currency),
    ])
}

/// The `prices` row of event `seq` of the transaction at (`height`, `position`), if it
/// is a `price_posted`.
pub(crate) async fn put_price(
    c: &mut AnyConnection,
    at: (i64, i64, i64),
    e: &serde_json::Value,
) -> Result<(), StoreError> {
    let rows: Vec<Values> = price_row(at, e).into_iter().collect();
    run(c, PRICES.0, PRICES.1, &rows).await
}

/// The name of an event as its JSON carries it (`{"OrderIssued": {...}}`).
fn event_name(e: &serde_json::Value) -> String {
    match e {
        serde_json::Value::Object(m) => m.keys().next().cloned().unwrap_or_default(),
        serde_json::Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

/// The `txs` columns, in [`tx_row`]'s order.
const TXS: &str = "INSERT INTO txs (hash, height, position, time_ms, action, signer_org, ok, \
                   search, record_json) VALUES";

fn tx_row(x: &TxRecord) -> Result<Values, StoreError> {
    let record = serde_json::to_string(x).map_err(|e| corrupt(&format!("tx {}", x.hash), e))?;
    let search =
        [x.hash.to_lowercase(), x.action_name.to_lowercase()].join(&SEARCH_SEP.to_string());
    Ok(vec![
        text(&x.hash),
        Param::Int(int(x.height)),
        Param::Int(int(x.index)),
        Param::Int(int(x.time_ms)),
        text(&x.action_name),
        text(&x.signer_org),
        Param::Int(i64::from(x.ok)),
        Param::Text(search),
        Param::Text(record),
    ])
}

/// Writes transactions `txs` (their parties, documents and events), and what they move
/// in the kept counts into `tally`. A transaction new to the store is counted once; one
/// written again only replaces its record.
pub(super) async fn put_txs(
    c: &mut AnyConnection,
    txs: &[TxRecord],
    tally: &mut Tally,
) -> Result<(), StoreError> {
    let txs = last_of_each(txs, |x| x.hash.as_str());
    let rows = txs
        .iter()
        .map(|x| tx_row(x))
        .collect::<Result<Vec<_>, _>>()?;
    let tail = "ON CONFLICT (hash) DO NOTHING RETURNING hash";
    let inserted: BTreeSet<String> = fetch(c, TXS, tail, &rows)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    tally.count(totals::LEDGER, totals::TXS, int(inserted.len() as u64));
    let again: Vec<Values> = txs
        .iter()
        .zip(rows)
        .filter(|(x, _)| !inserted.contains(&x.hash))
        .map(|(_, row)| row)
        .collect();
    let tail = "ON CONFLICT (hash) DO UPDATE SET record_json = excluded.record_json";
    run(c, TXS, tail, &again).await?;
    put_tx_rows(c, &txs, tally).await
}

/// The rows hanging off each transaction: its parties (counted by the rows really
/// inserted), its documents, its events and the prices they post.
async fn put_tx_rows(
    c: &mut AnyConnection,
    txs: &[&TxRecord],
    tally: &mut Tally,
) -> Result<(), StoreError> {
    let (mut parties, mut docs, mut events, mut prices) = (vec![], vec![], vec![], vec![]);
    for x in txs {
        let (h, p) = (Param::Int(int(x.height)), Param::Int(int(x.index)));
        let place = || [h.clone(), p.clone()];
        parties.extend(
            x.parties
                .iter()
                .map(|org| [vec![text(org)], place().into()].concat()),
        );
        docs.extend(x.docs.iter().map(|(kind, id)| {
            [
                vec![text(kind.as_str()), text(id)],
                place().into(),
                vec![text(&x.hash)],
            ]
            .concat()
        }));
        for (seq, e) in x.events.iter().enumerate() {
            let seq = int(seq as u64);
            let name = Param::Text(event_name(e));
            let event = [
                Param::Int(seq),
                text(&x.hash),
                name,
                Param::Text(e.to_string()),
            ];
            events.push([place().into(), event.to_vec()].concat());
            prices.extend(price_row((int(x.height), int(x.index), seq), e));
        }
    }
    let head = "INSERT INTO tx_parties (org, height, position) VALUES";
    for r in fetch(c, head, "ON CONFLICT DO NOTHING RETURNING org", &parties).await? {
        tally.count(&r.try_get::<String, _>(0)?, totals::TXS, 1);
    }
    let head = "INSERT INTO tx_docs (kind, id, height, position, tx) VALUES";
    run(c, head, "ON CONFLICT DO NOTHING", &docs).await?;
    let head = "INSERT INTO events (height, position, seq, tx, kind, event_json) VALUES";
    run(c, head, "ON CONFLICT DO NOTHING", &events).await?;
    run(c, PRICES.0, PRICES.1, &prices).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows are cut into statements under the parameter limit, every row in exactly one,
    /// with its parameters numbered from 1 in each.
    #[test]
    fn rows_are_cut_into_statements_under_the_parameter_limit() {
        let rows: Vec<Values> = (0..3_001)
            .map(|i| vec![Param::Int(i), Param::Text(format!("r{i}")), Param::Int(-i)])
            .collect();
        let sqls = statements(
            "INSERT INTO t (a, b, c) VALUES",
            Shape::Tuples,
            "ON CONFLICT DO NOTHING",
            &rows,
        );
        let per = MAX_PARAMS / 3;
        assert_eq!(sqls.len(), 3_001_usize.div_ceil(per));
        assert!(sqls.len() > 2, "{} statements", sqls.len());
        assert!(sqls[0]
            .text
            .starts_with("INSERT INTO t (a, b, c) VALUES ($1, $2, $3), ($4, $5, $6)"));
        assert!(sqls[0].text.ends_with(&format!(
            "(${}, ${}, ${}) ON CONFLICT DO NOTHING",
            3 * per - 2,
            3 * per - 1,
            3 * per
        )));
        let last = sqls.last().unwrap();
        assert!(last.text.contains("VALUES ($1, $2, $3)"), "{}", last.text);
        assert_eq!(
            last.text.matches("), (").count() + 1,
            3_001 - per * (sqls.len() - 1)
        );
        assert!(statements("INSERT", Shape::Tuples, "", &[]).is_empty());
        assert!(statements("SELECT", Shape::AnyOf(&["a", "b"]), "", &[]).is_empty());
        let sqls = statements(
            "SELECT * FROM t WHERE",
            Shape::AnyOf(&["a", "b", "c"]),
            "",
            &rows,
        );
        assert_eq!(sqls.len(), 3_001_usize.div_ceil(per));
        assert!(
            sqls[0].text.starts_with(
                "SELECT * FROM t WHERE (a = $1 AND b = $2 AND c = $3) OR (a = $4 AND b = $5 AND c = $6)"
            ),
            "{}",
            sqls[0].text
        );
    }

    /// The lookups a write makes go by index, never scanning a table that grows with the
    /// ledger: its documents' parties, the parties it deletes, the totals it may empty.
    #[tokio::test]
    async fn a_writes_lookups_go_by_index() {
        let store = super::super::Store::open(super::super::MEMORY)
            .await
            .unwrap();
        let docs = vec![
            vec![text("receivable"), text("R-1")],
            vec![text("invoice"), text("I-1")],
        ];
        let gone: Vec<Values> = docs
            .iter()
            .map(|d| [vec![text("SUP-1")], d.clone()].concat())
            .collect();
        let (totals_head, totals_key, totals_tail) = totals::EMPTIED;
        let totals = vec![
            vec![
                text(""),
                text("maturity"),
                Param::Int(1),
                text("2027-01-01"),
                text("CNY"),
                Param::Int(2)
            ];
            2
        ];
        let cases = [
            (statements(PARTIES_OF.0, Shape::AnyOf(&PARTIES_OF.1), "", &docs), "doc_parties_by_doc (kind=? AND id=?)"),
            (statements(PARTIES_GONE.0, Shape::Tuples, PARTIES_GONE.1, &gone), "(org=? AND kind=? AND id=?)"),
            (
                statements(totals_head, Shape::AnyOf(&totals_key), totals_tail, &totals),
                "(scope=? AND grouped_by=? AND day=? AND group_key=? AND currency=? AND minor_units=?)",
            ),
        ];
        for (mut sqls, index) in cases {
            let mut sql = sqls.remove(0);
            sql.text = format!("EXPLAIN QUERY PLAN {}", sql.text);
            let plan: Vec<String> = sql
                .query()
                .fetch_all(store.pool())
                .await
                .unwrap()
                .iter()
                .map(|r| r.try_get(3).unwrap())
                .collect();
            assert!(plan.iter().any(|l| l.contains(index)), "{plan:?}");
            assert!(
                !plan.iter().any(|l| ["doc_parties", "receivable_totals"]
                    .iter()
                    .any(|table| l.starts_with(&format!("SCAN {table}")))),
                "{plan:?}"
            );
        }
    }

    /// Of rows sharing a key the last is kept, once.
    #[test]
    fn the_last_row_of_each_key_is_kept() {
        let rows = [("a", 1), ("b", 2), ("a", 3)];
        assert_eq!(last_of_each(&rows, |r| r.0), vec![&("a", 3), &("b", 2)]);
    }
}
