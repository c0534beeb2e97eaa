//! The counts and totals the store keeps as it writes (migration 0005), so what a
//! viewer waits on costs what its own groups cost, not what the ledger holds:
//!
//! - `counts`: the dashboard's "you can see" figures, per scope (`''` the whole ledger,
//!   else an org) and kind (or `tx`). Moved by exactly the rows a write inserts into or
//!   deletes from the tables they count (`docs`, `doc_parties`, `txs`, `tx_parties`), so
//!   writing a row again -- a block read twice, a document re-read at start -- moves
//!   nothing.
//! - `receivable_totals`: the maturity ladder's and exposure's SQL totals per scope,
//!   grouping, key and currency. What a receivable adds is read from the view
//!   `receivable_scopes` (its one definition) before and after its row is written; the
//!   difference moves the totals. A write that changes nothing moves nothing.
//!
//! Both are gathered over a whole database transaction ([`Tally`]) and written at its
//! end, in it, so a block moves each counter once.

use std::collections::BTreeMap;

use sqlx::{AnyConnection, Row};

use super::sql::{Group, GroupBy, Param, Sql};
use super::{day_number, write, Store, StoreError};
use crate::views::ListQuery;
use crate::vis::Viewer;
use lianrong_contracts::DocKind;

/// The scope of everything-viewers (banks, auditors): the whole ledger. Org ids are
/// never empty (`OrgId`: 2 characters or more).
pub(super) const LEDGER: &str = "";

/// What `counts` counts transactions under (no document kind is named so).
pub(super) const TXS: &str = "tx";

/// A row of `receivable_totals` without its figures: which group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct GroupKey {
    scope: String,
    grouped_by: String,
    day: i64,
    group_key: String,
    currency: String,
    minor_units: i64,
}

/// What one receivable adds to one group: its outstanding (`None`: repaid beyond face,
/// or too large, which the totals count but do not sum).
type Share = (GroupKey, Option<i64>);

/// The counts' and totals' moves of one database transaction, written at its end.
#[derive(Debug, Default)]
pub(super) struct Tally {
    counts: BTreeMap<(String, String), i64>,
    totals: BTreeMap<GroupKey, (i64, i64)>,
}

impl Tally {
    /// `n` rows of `what` inserted (deleted, negative) in `scope`.
    pub(super) fn count(&mut self, scope: &str, what: &str, n: i64) {
        if n != 0 {
            *self
                .counts
                .entry((scope.to_string(), what.to_string()))
                .or_default() += n;
        }
    }

    /// A receivable's shares before and after its row was written.
    pub(super) fn receivable(&mut self, before: Vec<Share>, after: Vec<Share>) {
        let moves = before
            .into_iter()
            .map(|(k, o)| (k, -1, o.map_or(0, |o| -o)))
            .chain(after.into_iter().map(|(k, o)| (k, 1, o.unwrap_or(0))));
        for (key, n, sum) in moves {
            let e = self.totals.entry(key).or_default();
            e.0 += n;
            e.1 = e.1.saturating_add(sum);
        }
    }

    /// Writes the moves (in the caller's transaction): a statement for the counts, one
    /// for the totals, and one deleting the groups a move may have emptied.
    pub(super) async fn write(self, c: &mut AnyConnection) -> Result<(), StoreError> {
        let counts: Vec<Vec<Param>> = self
            .counts
            .into_iter()
            .filter(|(_, n)| *n != 0)
            .map(|((scope, what), n)| vec![Param::Text(scope), Param::Text(what), Param::Int(n)])
            .collect();
        let head = "INSERT INTO counts (scope, what, n) VALUES";
        let tail = "ON CONFLICT (scope, what) DO UPDATE SET n = counts.n + excluded.n";
        write::run(c, head, tail, &counts).await?;
        let moved: Vec<(GroupKey, i64, i64)> = self
            .totals
            .into_iter()
            .filter(|(_, moves)| *moves != (0, 0))
            .map(|(k, (n, sum))| (k, n, sum))
            .collect();
        let rows: Vec<Vec<Param>> = moved
            .iter()
            .map(|(k, n, sum)| [k.values(), vec![Param::Int(*n), Param::Int(*sum)]].concat())
            .collect();
        write::run(
            c,
            "INSERT INTO receivable_totals (scope, grouped_by, day, group_key, currency, \
             minor_units, n, outstanding) VALUES",
            "ON CONFLICT (scope, grouped_by, day, group_key, currency, minor_units) DO UPDATE \
             SET n = receivable_totals.n + excluded.n, \
             outstanding = receivable_totals.outstanding + excluded.outstanding",
            &rows,
        )
        .await?;
        let shrunk: Vec<Vec<Param>> = moved
            .iter()
            .filter(|(_, n, _)| *n < 0)
            .map(|(k, _, _)| k.values())
            .collect();
        let (head, key, tail) = EMPTIED;
        write::fetch_any_of(c, head, &key, tail, &shrunk).await?;
        Ok(())
    }
}

/// Deleting the `receivable_totals` groups a move emptied, by their key: its head, key
/// columns (in [`GroupKey::values`]' order) and tail.
pub(super) const EMPTIED: (&str, [&str; 6], &str) = (
    "DELETE FROM receivable_totals WHERE n = 0 AND (",
    [
        "scope",
        "grouped_by",
        "day",
        "group_key",
        "currency",
        "minor_units",
    ],
    ")",
);

impl GroupKey {
    /// Its columns' values, in `receivable_totals`' key order.
    fn values(&self) -> Vec<Param> {
        vec![
            Param::Text(self.scope.clone()),
            Param::Text(self.grouped_by.clone()),
            Param::Int(self.day),
            Param::Text(self.group_key.clone()),
            Param::Text(self.currency.clone()),
            Param::Int(self.minor_units),
        ]
    }
}

/// Reading receivables' shares by id: the ids as a `VALUES` list joined to the view, so
/// each arm of the view looks each id up by key. (As `id IN (...)`, a list of a few
/// hundred ids, SQLite's planner walked every live receivable in each arm instead: 85 ms
/// a statement at 120,000 receivables.)
pub(super) const SHARES: (&str, &str) = (
    "SELECT s.scope, s.grouped_by, s.day, s.group_key, s.currency, s.minor_units, \
     s.outstanding FROM (VALUES",
    ") AS w, receivable_scopes s WHERE s.id = w.column1",
);

/// What receivables `ids`' stored rows add to the totals (none for one not stored or not
/// live): their rows in `receivable_scopes`, read by id, summed over them -- a [`Tally`]
/// only needs the sum of before and after.
pub(super) async fn shares(c: &mut AnyConnection, ids: &[&str]) -> Result<Vec<Share>, StoreError> {
    let ids: Vec<Vec<Param>> = ids
        .iter()
        .map(|id| vec![Param::Text(id.to_string())])
        .collect();
    let rows = write::fetch(c, SHARES.0, SHARES.1, &ids).await?;
    rows.iter()
        .map(|r| {
            let key = GroupKey {
                scope: r.try_get(0)?,
                grouped_by: r.try_get(1)?,
                day: r.try_get(2)?,
                group_key: r.try_get(3)?,
                currency: r.try_get(4)?,
                minor_units: r.try_get(5)?,
            };
            Ok((key, r.try_get(6)?))
        })
        .collect()
}

impl GroupBy {
    /// Its `grouped_by` in `receivable_groups`.
    fn name(self) -> &'static str {
        match self {
            GroupBy::Maturity => "maturity",
            GroupBy::Debtor => "debtor",
            GroupBy::BankHolder => "bank",
        }
    }
}

/// Whose receivables a viewer totals: a scope of `receivable_totals` and, when an org
/// account filters by another org, that org (the receivables of both: no kept total,
/// see [`Store::live_totals`]).
fn scope_of(viewer: &Viewer, q: &ListQuery) -> (String, Option<String>) {
    let filter = ListQuery::nonempty(&q.org).map(str::to_string);
    match (viewer, filter) {
        (Viewer::Org(me), Some(o)) if o != me.as_str() => (me.to_string(), Some(o)),
        (Viewer::Org(me), _) => (me.to_string(), None),
        (Viewer::Everything { .. }, Some(o)) => (o, None),
        (Viewer::Everything { .. }, None) => (LEDGER.to_string(), None),
    }
}

/// The conditions on a group `t` (a `receivable_totals` or `receivable_scopes` row) of
/// total `by` in `scope` that `q` selects: a maturity range (`from`/`to`, by day
/// number: bounded by the days in it), or for banks the holders with the bank role.
fn group_conditions(sql: &mut Sql, by: GroupBy, scope: String, q: &ListQuery) -> Vec<String> {
    let s = sql.text(scope);
    let g = sql.text(by.name());
    let mut w = vec![format!("t.scope = {s}"), format!("t.grouped_by = {g}")];
    match by {
        GroupBy::Maturity => {
            let date = |v: &Option<String>| {
                ListQuery::nonempty(v)
                    .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            };
            if let Some(from) = date(&q.from) {
                let f = sql.bind(Param::Int(day_number(from)));
                w.push(format!("t.day >= {f}"));
            }
            if let Some(to) = date(&q.to) {
                let t = sql.bind(Param::Int(day_number(to)));
                w.push(format!("t.day <= {t}"));
            }
        }
        GroupBy::Debtor => {}
        GroupBy::BankHolder => w.push(
            "EXISTS (SELECT 1 FROM org_roles o WHERE o.org = t.group_key AND o.role = 'bank')"
                .into(),
        ),
    }
    w
}

/// The SQL of [`Store::live_totals`].
fn totals_sql(by: GroupBy, viewer: &Viewer, q: &ListQuery) -> Sql {
    let mut sql = Sql::default();
    let (scope, other) = scope_of(viewer, q);
    let mut w = group_conditions(&mut sql, by, scope, q);
    let order = "t.group_key, t.currency, t.minor_units";
    sql.text = match other {
        None => format!(
            "SELECT t.group_key, t.currency, t.minor_units, t.n, t.outstanding \
             FROM receivable_totals t WHERE {} AND t.n > 0 ORDER BY {order}",
            w.join(" AND ")
        ),
        Some(o) => {
            w.push(super::sql::receivable_party(&mut sql, "t", o));
            format!(
                "SELECT t.group_key, t.currency, t.minor_units, COUNT(*), \
                 CAST(COALESCE(SUM(t.outstanding), 0) AS BIGINT) FROM receivable_scopes t \
                 WHERE {} GROUP BY {order} ORDER BY {order}",
                w.join(" AND ")
            )
        }
    };
    sql
}

impl Store {
    /// Live receivables `viewer` reads that `q` selects, counted and totalled per group
    /// (the ladder's maturity days, exposure's debtors and banks), from the kept totals:
    /// the viewer's scope (an org account's own receivables, or those of the `org`
    /// filter, or the whole ledger), `from`/`to` as a range of days. An org account
    /// filtering by another org reads the receivables of both from `receivable_scopes`
    /// instead (one total per pair of orgs would be kept for every pair that trades),
    /// starting from its own rows by the holder and debtor indexes.
    pub async fn live_totals(
        &self,
        by: GroupBy,
        viewer: &Viewer,
        q: &ListQuery,
    ) -> Result<Vec<Group>, StoreError> {
        let sql = totals_sql(by, viewer, q);
        let rows = sql.query().fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(Group {
                    key: r.try_get(0)?,
                    currency: r.try_get(1)?,
                    minor_units: u32::try_from(r.try_get::<i64, _>(2)?).unwrap_or(0),
                    count: u64::try_from(r.try_get::<i64, _>(3)?).unwrap_or(0),
                    outstanding: r.try_get(4)?,
                })
            })
            .collect()
    }

    /// How many documents of `kind` `viewer` reads (a party to them; every org, for
    /// orgs), from the kept counts.
    pub async fn visible_docs(&self, kind: DocKind, viewer: &Viewer) -> Result<u64, StoreError> {
        let scope = match viewer {
            Viewer::Org(me) if kind != DocKind::Org => me.as_str(),
            _ => LEDGER,
        };
        self.kept_count(scope, kind.as_str()).await
    }

    /// How many transactions `viewer` reads (a party to them), from the kept counts.
    pub async fn visible_txs(&self, viewer: &Viewer) -> Result<u64, StoreError> {
        let scope = match viewer {
            Viewer::Org(me) => me.as_str(),
            Viewer::Everything { .. } => LEDGER,
        };
        self.kept_count(scope, TXS).await
    }

    /// The kept count of `what` (a document kind or [`TXS`]) in `scope`.
    pub(super) async fn kept_count(&self, scope: &str, what: &str) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT n FROM counts WHERE scope = $1 AND what = $2")
            .bind(scope.to_string())
            .bind(what.to_string())
            .fetch_optional(self.pool())
            .await?;
        let n: i64 = row.map(|r| r.try_get(0)).transpose()?.unwrap_or(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::index::{BlockRow, TxRecord};
    use crate::store::rows::ReceivableFigures;
    use crate::store::DocRow;
    use lianrong_primitives::OrgId;

    const ORGS: [&str; 6] = ["BANK-A", "BANK-B", "CORE-A", "CORE-B", "SUP-1", "SUP-2"];
    const CURRENCIES: [(&str, u32); 2] = [("CNY", 2), ("JPY", 0)];
    const DAYS: [&str; 5] = [
        "2026-10-30",
        "2026-11-01",
        "2026-11-02",
        "2026-12-31",
        "2027-03-01",
    ];

    fn row(kind: &'static str, id: &str, parties: &[&str]) -> DocRow {
        DocRow {
            kind,
            id: id.to_string(),
            status: "active".into(),
            alt_status: None,
            day: None,
            search: id.to_lowercase(),
            reference: None,
            json: "{}".into(),
            parties: parties.iter().map(|p| p.to_string()).collect(),
            receivable: None,
            roles: None,
            overdue_state: None,
            on_receivable: None,
            settlement: None,
        }
    }

    /// An org with `roles`.
    fn org(id: &str, roles: &[&str]) -> DocRow {
        DocRow {
            roles: Some(roles.iter().map(|r| r.to_string()).collect()),
            ..row("org", id, &[id])
        }
    }

    /// A random state of receivable `id`: its holder and debtor, live or settled,
    /// outstanding (sometimes none: repaid beyond face), financed or not, currency and
    /// maturity.
    fn receivable(rng: &mut StdRng, id: &str) -> DocRow {
        let pick = |rng: &mut StdRng, v: &[&'static str]| v[rng.gen_range(0..v.len())];
        let (holder, debtor) = (pick(rng, &ORGS), pick(rng, &ORGS));
        let (currency, minor_units) = CURRENCIES[rng.gen_range(0..CURRENCIES.len())];
        let maturity: chrono::NaiveDate = pick(rng, &DAYS).parse().unwrap();
        let live = rng.gen_bool(0.8);
        let figures = ReceivableFigures {
            holder: holder.into(),
            debtor: debtor.into(),
            status: if live { "active" } else { "settled" }.into(),
            live,
            currency: currency.into(),
            minor_units,
            outstanding: rng
                .gen_bool(0.9)
                .then(|| rng.gen_range(0..1_000_000_000_000_i64)),
            maturity,
            root: id.into(),
            issue_date: "2026-01-01".parse().unwrap(),
            financed: rng.gen_bool(0.5),
            invoice: format!("INV-{id}"),
        };
        DocRow {
            receivable: Some(figures),
            ..row("receivable", id, &[holder, debtor])
        }
    }

    fn tx(height: u64, index: u64, parties: &[&str]) -> TxRecord {
        TxRecord {
            hash: format!("{height:08x}{index:08x}"),
            height,
            index,
            time_ms: height * 1000,
            signer_org: parties[0].to_string(),
            signer_key: String::new(),
            nonce: index,
            action_name: "register_invoice".into(),
            action: serde_json::Value::Null,
            ok: true,
            error: None,
            events: vec![],
            docs: vec![],
            parties: parties.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn block(height: u64, txs: &[TxRecord]) -> BlockRow {
        BlockRow {
            height,
            hash: format!("{height:064x}"),
            parent: String::new(),
            time_ms: height * 1000,
            proposer: 0,
            epoch: 0,
            round: 0,
            tx_hashes: txs.iter().map(|t| t.hash.clone()).collect(),
            tx_count: txs.len(),
            state_root: None,
            signers: None,
        }
    }

    /// The risk views' totals as they were computed before migration 0005: a GROUP BY
    /// over every live receivable the viewer reads (the oracle the kept totals must
    /// equal).
    async fn scanned(store: &Store, by: GroupBy, v: &Viewer, q: &ListQuery) -> Vec<Group> {
        let mut sql = Sql::default();
        let mut w = vec!["r.live = 1".to_string()];
        let mut either = |org: String| {
            let o = sql.text(org);
            format!("(r.holder = {o} OR r.debtor = {o})")
        };
        if let Viewer::Org(me) = v {
            w.push(either(me.to_string()));
        }
        if let Some(o) = ListQuery::nonempty(&q.org) {
            w.push(either(o.to_string()));
        }
        let key = match by {
            GroupBy::Maturity => {
                let day = |s: &Option<String>| {
                    ListQuery::nonempty(s).map(|d| day_number(d.parse().unwrap()))
                };
                if let Some(f) = day(&q.from) {
                    let f = sql.bind(Param::Int(f));
                    w.push(format!("r.maturity_day >= {f}"));
                }
                if let Some(t) = day(&q.to) {
                    let t = sql.bind(Param::Int(t));
                    w.push(format!("r.maturity_day <= {t}"));
                }
                "r.maturity"
            }
            GroupBy::Debtor => "r.debtor",
            GroupBy::BankHolder => {
                w.push(
                    "r.financed = 1 AND EXISTS \
                     (SELECT 1 FROM org_roles o WHERE o.org = r.holder AND o.role = 'bank')"
                        .into(),
                );
                "r.holder"
            }
        };
        sql.text = format!(
            "SELECT {key}, r.currency, r.minor_units, COUNT(*), \
             CAST(COALESCE(SUM(r.outstanding), 0) AS BIGINT) FROM receivables r WHERE {} \
             GROUP BY {key}, r.currency, r.minor_units ORDER BY {key}, r.currency",
            w.join(" AND ")
        );
        let rows = sql.query().fetch_all(store.pool()).await.unwrap();
        let mut groups: Vec<Group> = rows
            .iter()
            .map(|r| Group {
                key: r.try_get(0).unwrap(),
                currency: r.try_get(1).unwrap(),
                minor_units: r.try_get::<i64, _>(2).unwrap() as u32,
                count: r.try_get::<i64, _>(3).unwrap() as u64,
                outstanding: r.try_get(4).unwrap(),
            })
            .collect();
        groups.sort_by(|a, b| (&a.key, &a.currency).cmp(&(&b.key, &b.currency)));
        groups
    }

    /// Every viewer and filter the risk views total under: the whole ledger, each org's
    /// own, the `org` filter for everything-viewers and for an org account (its own org,
    /// and another: the two orgs' receivables), with and without a maturity range.
    fn cases() -> Vec<(Viewer, ListQuery)> {
        let q = |org: Option<&str>, from: Option<&str>, to: Option<&str>| ListQuery {
            org: org.map(str::to_string),
            from: from.map(str::to_string),
            to: to.map(str::to_string),
            ..ListQuery::default()
        };
        let ranges = [
            (None, None),
            (Some("2026-11-01"), Some("2026-12-31")),
            (Some("2026-11-02"), None),
            (None, Some("2026-11-01")),
        ];
        let mut out = vec![];
        for (from, to) in ranges {
            out.push((Viewer::Everything { org: None }, q(None, from, to)));
            for a in ORGS {
                let me = Viewer::Org(OrgId::new(a).unwrap());
                out.push((Viewer::Everything { org: None }, q(Some(a), from, to)));
                out.push((me.clone(), q(None, from, to)));
                for b in ["CORE-A", "SUP-1", a] {
                    out.push((me.clone(), q(Some(b), from, to)));
                }
            }
        }
        out
    }

    async fn assert_totals_equal_the_scan(store: &Store, when: &str) {
        for (v, q) in cases() {
            for by in [GroupBy::Maturity, GroupBy::Debtor, GroupBy::BankHolder] {
                let kept = store.live_totals(by, &v, &q).await.unwrap();
                let scan = scanned(store, by, &v, &q).await;
                assert_eq!(kept, scan, "{when}: {by:?} {v:?} {q:?}");
            }
        }
    }

    /// The dashboard's counts as they were computed before migration 0005.
    async fn assert_counts_equal_the_scan(store: &Store, when: &str) {
        let count = |sql: &'static str, binds: Vec<String>| async move {
            let mut q = sqlx::query(sql);
            for b in binds {
                q = q.bind(b);
            }
            let n: i64 = q.fetch_one(store.pool()).await.unwrap().try_get(0).unwrap();
            n as u64
        };
        let audit = Viewer::Everything { org: None };
        for kind in [DocKind::Receivable, DocKind::Invoice, DocKind::Org] {
            let all = count(
                "SELECT COUNT(*) FROM docs WHERE kind = $1",
                vec![kind.as_str().into()],
            );
            assert_eq!(
                store.visible_docs(kind, &audit).await.unwrap(),
                all.await,
                "{when}"
            );
            for o in ORGS {
                let v = Viewer::Org(OrgId::new(o).unwrap());
                let want =
                    match kind {
                        DocKind::Org => {
                            count("SELECT COUNT(*) FROM docs WHERE kind = 'org'", vec![]).await
                        }
                        _ => count(
                            "SELECT COUNT(*) FROM doc_parties p JOIN docs d ON d.kind = p.kind \
                             AND d.id = p.id WHERE p.org = $1 AND p.kind = $2",
                            vec![o.into(), kind.as_str().into()],
                        )
                        .await,
                    };
                assert_eq!(
                    store.visible_docs(kind, &v).await.unwrap(),
                    want,
                    "{when} {o} {kind}"
                );
            }
        }
        let all = count("SELECT COUNT(*) FROM txs", vec![]).await;
        assert_eq!(store.visible_txs(&audit).await.unwrap(), all, "{when}");
        for o in ORGS {
            let v = Viewer::Org(OrgId::new(o).unwrap());
            let want = count(
                "SELECT COUNT(*) FROM tx_parties WHERE org = $1",
                vec![o.into()],
            )
            .await;
            assert_eq!(store.visible_txs(&v).await.unwrap(), want, "{when} {o}");
        }
    }

    /// Random receivable histories -- created, outstanding changed, settled, financing
    /// flags flipped, sold to another holder, repaid beyond face, written again as they
    /// were -- and banks' roles granted and withdrawn, in blocks and outside them: after
    /// every step the kept totals equal the old GROUP BY over the rows, and the kept
    /// counts the old COUNT(*)s, on SQLite and PostgreSQL.
    #[tokio::test]
    async fn kept_totals_and_counts_equal_the_scans_over_random_histories() {
        let pg = crate::store::testpg::TestPostgres::start();
        let urls = crate::store::testpg::TestPostgres::urls(&pg, "totals").await;
        for url in urls {
            let store = Store::open(&url).await.unwrap();
            random_history(&store, &url).await;
            migration_fill_equals_kept(&store, &url).await;
        }
    }

    /// A block too large for one statement per table (each table's rows cut into several
    /// statements, a transaction naming one party twice), written, then written again
    /// with every other receivable changed (holder, debtor, figures): every row is there
    /// once, and the kept counts and totals equal the scans, on SQLite and PostgreSQL.
    #[tokio::test]
    async fn a_block_of_many_statements_is_written_whole_and_counted_once() {
        let pg = crate::store::testpg::TestPostgres::start();
        let urls = crate::store::testpg::TestPostgres::urls(&pg, "big_block").await;
        for url in urls {
            let store = Store::open(&url).await.unwrap();
            let mut rng = StdRng::seed_from_u64(11);
            let mut docs: Vec<DocRow> = (0..1_500)
                .map(|i| receivable(&mut rng, &format!("RCV-{i}")))
                .collect();
            let txs: Vec<TxRecord> = (0..2_000_u64)
                .map(|i| tx(2, i, &[ORGS[i as usize % ORGS.len()], "SUP-1"]))
                .collect();
            store
                .write_block(&block(2, &txs), &txs, &docs)
                .await
                .unwrap();
            for d in docs.iter_mut().step_by(2) {
                *d = receivable(&mut rng, &d.id.clone());
            }
            store
                .write_block(&block(2, &txs), &txs, &docs)
                .await
                .unwrap();
            assert_eq!(store.count(crate::store::Table::Docs).await.unwrap(), 1_500);
            assert_eq!(store.count(crate::store::Table::Txs).await.unwrap(), 2_000);
            // A list's row counts the block's transactions without their hashes (5,000
            // such rows of a busy chain were hundreds of MB); the block's own read has
            // them, in block order.
            let q = crate::views::ListQuery::default();
            let listed = store
                .blocks(&q, &crate::store::sql::Cursor::Start, 10)
                .await
                .unwrap();
            assert_eq!(listed.len(), 1);
            assert_eq!((listed[0].tx_count, listed[0].tx_hashes.len()), (2_000, 0));
            let whole = store.block(2).await.unwrap().unwrap();
            let hashes: Vec<String> = txs.iter().map(|t| t.hash.clone()).collect();
            assert_eq!(
                (whole.tx_count, &whole.tx_hashes),
                (2_000, &hashes),
                "{url}"
            );
            assert_totals_equal_the_scan(&store, &url).await;
            assert_counts_equal_the_scan(&store, &url).await;
        }
    }

    async fn random_history(store: &Store, url: &str) {
        let mut rng = StdRng::seed_from_u64(5);
        let orgs: Vec<DocRow> = ["BANK-A", "BANK-B"]
            .map(|b| org(b, &["bank"]))
            .into_iter()
            .chain(ORGS[2..].iter().map(|o| org(o, &["core"])))
            .collect();
        store.put_docs(&orgs, 1).await.unwrap();
        let mut current: Vec<DocRow> = vec![];
        for step in 0..40_u64 {
            let mut docs = vec![];
            for _ in 0..rng.gen_range(1..6) {
                let id = if current.is_empty() || rng.gen_bool(0.4) {
                    format!("RCV-{}", current.len() + docs.len())
                } else {
                    current[rng.gen_range(0..current.len())].id.clone()
                };
                docs.push(receivable(&mut rng, &id));
            }
            if rng.gen_bool(0.3) && !current.is_empty() {
                // Written again as it was (a block read twice, the lists at start).
                docs.push(current[rng.gen_range(0..current.len())].clone());
            }
            if rng.gen_bool(0.15) {
                // A role granted or withdrawn: the bank totals read roles when asked.
                let roles: &[&str] = if rng.gen_bool(0.5) {
                    &["bank"]
                } else {
                    &["core"]
                };
                docs.push(org(ORGS[rng.gen_range(0..ORGS.len())], roles));
            }
            let height = step + 2;
            let txs: Vec<TxRecord> = (0..rng.gen_range(0..3))
                .map(|i| tx(height, i, &[ORGS[rng.gen_range(0..ORGS.len())], "SUP-1"]))
                .collect();
            if rng.gen_bool(0.5) {
                store
                    .write_block(&block(height, &txs), &txs, &docs)
                    .await
                    .unwrap();
                // The same block again (a restart before the height was noted).
                if rng.gen_bool(0.3) {
                    store
                        .write_block(&block(height, &txs), &txs, &docs)
                        .await
                        .unwrap();
                }
            } else {
                store.put_docs(&docs, height).await.unwrap();
            }
            for d in docs.into_iter().filter(|d| d.receivable.is_some()) {
                match current.iter_mut().find(|c| c.id == d.id) {
                    Some(c) => *c = d,
                    None => current.push(d),
                }
            }
            let when = format!("{url} step {step}");
            assert_totals_equal_the_scan(store, &when).await;
            assert_counts_equal_the_scan(store, &when).await;
        }
        assert!(current.len() > 20, "{}", current.len());
    }

    /// Migration 0005's own fill (an existing database upgrading) gives the totals and
    /// counts the writes kept.
    async fn migration_fill_equals_kept(store: &Store, url: &str) {
        let dump = |sql: &'static str| async move {
            let rows = sqlx::query(sql).fetch_all(store.pool()).await.unwrap();
            rows.iter()
                .map(|r| {
                    (0..r.len())
                        .map(|i| {
                            r.try_get::<String, _>(i)
                                .or_else(|_| r.try_get::<i64, _>(i).map(|n| n.to_string()))
                                .unwrap()
                        })
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        };
        let totals =
            "SELECT * FROM receivable_totals ORDER BY scope, grouped_by, day, group_key, currency";
        let counts = "SELECT * FROM counts WHERE n <> 0 ORDER BY scope, what";
        let kept = (dump(totals).await, dump(counts).await);
        assert!(kept.0.len() > 50, "{}", kept.0.len());
        sqlx::raw_sql(
            "DROP VIEW receivable_scopes; DROP VIEW receivable_groups; \
             DROP TABLE receivable_totals; DROP TABLE counts; \
             DROP INDEX receivables_by_holder; DROP INDEX receivables_by_debtor;",
        )
        .execute(store.pool())
        .await
        .unwrap();
        let migration = match store.backend() {
            crate::store::Backend::Sqlite => {
                include_str!("../../migrations/sqlite/0005_totals.sql")
            }
            crate::store::Backend::Postgres => {
                include_str!("../../migrations/postgres/0005_totals.sql")
            }
        };
        sqlx::raw_sql(migration)
            .execute(store.pool())
            .await
            .unwrap();
        assert_eq!((dump(totals).await, dump(counts).await), kept, "{url}");
    }

    /// SQLite's plan of `sql`, one line per step.
    async fn plan(store: &Store, mut sql: Sql) -> Vec<String> {
        sql.text = format!("EXPLAIN QUERY PLAN {}", sql.text);
        let rows = sql.query().fetch_all(store.pool()).await.unwrap();
        rows.iter().map(|r| r.try_get(3).unwrap()).collect()
    }

    /// What a viewer waits on reads its own groups by key: the kept totals of its scope
    /// (a key range of `receivable_totals`, its days for a maturity range), the
    /// receivables of an org account and another org from the org's own rows (its
    /// holder and debtor index ranges; the view's whole-ledger arms compare '' with the
    /// org, a constant SQLite tests once before their loop), and a write reads its
    /// receivables' shares by their ids in every arm of the view.
    #[tokio::test]
    async fn totals_are_read_by_key_never_by_scanning_receivables() {
        let store = Store::open(crate::store::MEMORY).await.unwrap();
        let sup1 = Viewer::Org(OrgId::new("SUP-1").unwrap());
        let audit = Viewer::Everything { org: None };
        let q = |org: Option<&str>, from: Option<&str>| ListQuery {
            org: org.map(str::to_string),
            from: from.map(str::to_string),
            to: Some("2027-01-31".into()),
            ..ListQuery::default()
        };
        let kept = [
            (GroupBy::Maturity, &audit, q(None, Some("2026-11-01"))),
            (GroupBy::BankHolder, &audit, q(Some("CORE-A"), None)),
            (GroupBy::Debtor, &sup1, q(None, None)),
            (GroupBy::Maturity, &sup1, q(Some("SUP-1"), None)),
        ];
        for (by, v, q) in kept {
            let p = plan(&store, totals_sql(by, v, &q)).await;
            assert!(
                p[0].starts_with("SEARCH t USING INDEX sqlite_autoindex_receivable_totals_1 (scope=? AND grouped_by=?"),
                "{p:?}"
            );
            assert!(!p.iter().any(|l| l.starts_with("SCAN")), "{p:?}");
        }
        for by in [GroupBy::Maturity, GroupBy::Debtor, GroupBy::BankHolder] {
            let p = plan(&store, totals_sql(by, &sup1, &q(Some("CORE-A"), None))).await;
            let uses = |index: &str| p.iter().any(|l| l.contains(index));
            assert!(
                uses("receivables_by_holder (holder=? AND live=?)")
                    && uses("receivables_by_debtor (debtor=? AND live=?)"),
                "{p:?}"
            );
            assert!(!p.iter().any(|l| l.starts_with("SCAN r")), "{p:?}");
        }
        let mut sql = Sql::default();
        let ids: Vec<String> = (0..400)
            .map(|i| format!("({})", sql.text(format!("RCV-{i}"))))
            .collect();
        sql.text = format!("{} {} {}", SHARES.0, ids.join(", "), SHARES.1);
        let p = plan(&store, sql).await;
        assert!(!p.iter().any(|l| l.contains("receivables_live")), "{p:?}");
        let reads: Vec<&String> = p
            .iter()
            .filter(|l| l.ends_with(" r") || l.contains(" r USING"))
            .collect();
        assert_eq!(reads.len(), 9, "{p:?}");
        assert!(reads.iter().all(|l| l.contains("(id=?)")), "{p:?}");
    }
}
