//! Risk view of overdue and defaulted exposure (`/risk/overdue`, and its CSV): the
//! financings whose receivable went overdue while disbursed, per state (overdue: the
//! penalty still running or a buy-back pending; written off), bank, debtor and currency,
//! the bank's outstanding advance aged by days past due -- 1-30, 31-90, 90+ days after
//! maturity + grace (`lianrong_api_types::AgeingBucket`) -- with the penalty accrued, and
//! a total per state and currency. Bought-back and repaid financings ended without a
//! loss and are not listed. (`/risk/overdue?by=receivable` lists the overdue receivables
//! themselves.)
//!
//! Every figure is the ledger's (`lianrong_contracts::exec::default::figures`) as of the
//! ledger's date ([`crate::money::ledger_today`]): an overdue financing is aged as of
//! today, a written-off one as of its write-off. Financings go through [`crate::vis`]:
//! banks and auditors see all, an org account its own.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use lianrong_api_types::AgeingBucket;
use lianrong_contracts::exec::default::figures;
use lianrong_contracts::model::{Financing, FinancingStatus};
use lianrong_contracts::money::{Amount, Currency, Money};

use maud::{html, Markup};

use crate::index::IndexData;
use crate::money::ledger_today;
use crate::node::Doc;
use crate::store::sql::Cursor;
use crate::store::{Store, StoreError};
use crate::views::{money, org_link, status_str, Cell, ListQuery, Table};
use crate::vis::{self, Viewer};
use lianrong_contracts::DocKind;

/// Financings without figures the note names (it counts them all).
const MAX_NAMED: usize = 10;

/// What a row sums.
#[derive(Default)]
struct Sums {
    financings: usize,
    aged: [Amount; 3],
    penalty: Amount,
}

impl Sums {
    fn add(&mut self, bucket: AgeingBucket, advanced: Amount, penalty: Amount) -> Option<()> {
        let i = AgeingBucket::ALL.iter().position(|b| *b == bucket)?;
        self.aged[i] = self.aged[i].checked_add(advanced).ok()?;
        self.penalty = self.penalty.checked_add(penalty).ok()?;
        self.financings += 1;
        Some(())
    }

    fn total(&self) -> Option<Amount> {
        self.aged
            .iter()
            .try_fold(Amount::ZERO, |t, a| t.checked_add(*a).ok())
    }
}

/// (state, bank, debtor, currency) of a row; totals use `None` for bank and debtor.
type Key = (&'static str, Option<String>, Option<String>, Currency);

/// One financing's row key and figures: (key, bucket, outstanding advance, penalty);
/// `Ok(None)` when it is not at risk (never overdue, bought back, repaid).
fn entry(
    d: &IndexData,
    f: &Financing,
    today: NaiveDate,
) -> Result<Option<(Key, AgeingBucket, Money, Money)>, String> {
    let Some(o) = &f.overdue else {
        return Ok(None);
    };
    let state = match (f.status, &o.write_off) {
        (_, Some(_)) => "written off",
        (FinancingStatus::Disbursed, None) => "overdue",
        _ => return Ok(None),
    };
    let Some(r) = d.receivables.get(f.receivable.as_str()) else {
        return Err(format!("{}: receivable {} not indexed", f.id, f.receivable));
    };
    let Some(bank) = f.terms.as_ref().map(|t| t.bank.to_string()) else {
        return Err(format!("{}: no funding bank", f.id));
    };
    let fig = figures(f, r, today)
        .map_err(|e| format!("{}: {e}", f.id))?
        .ok_or_else(|| format!("{}: no figures", f.id))?;
    let key = (
        state,
        Some(bank),
        Some(r.debtor.to_string()),
        fig.advanced.currency,
    );
    Ok(Some((
        key,
        AgeingBucket::of(fig.days_past_due),
        fig.advanced,
        fig.penalty,
    )))
}

/// The view (`/risk/overdue`) over the financings `d` holds: rows per state, bank,
/// debtor and currency, then a total per state and currency; filtered by `?org=` (bank,
/// debtor or supplier) and `?status=` (`overdue`, `written off`).
pub fn ageing(d: &IndexData, v: &Viewer, q: &ListQuery, today: NaiveDate) -> Table {
    let mut a = Ageing::default();
    a.add(d, v, q, today);
    a.table()
}

/// The view over every financing the store holds: one pass, `chunk` financings at a
/// time (only those SQL marks overdue or written off, what `v` reads) with their
/// receivables, into running totals per group. Not SQL sums: the penalty accrued (and
/// the days past due that age the advance) is the ledger's formula
/// (`lianrong_contracts::exec::default::figures`: day count, grace, the day the penalty
/// stopped), so each row is computed in Rust and the groups keep exact [`Amount`] sums;
/// memory holds one chunk and one line per group.
pub async fn ageing_in_store(
    store: &Store,
    v: &Viewer,
    q: &ListQuery,
    today: NaiveDate,
    chunk: usize,
) -> Result<Table, StoreError> {
    let mut a = Ageing::default();
    let status = ListQuery::nonempty(&q.status);
    let mut from = Cursor::Start;
    loop {
        let found = store
            .financings_at_risk(v, status, &from, chunk.max(1))
            .await?;
        let Some(last) = found.last() else { break };
        from = Cursor::After(last.id().to_string());
        let n = found.len();
        let ids: Vec<String> = found
            .iter()
            .filter_map(|d| match d {
                Doc::Financing(f) => Some(f.receivable.to_string()),
                _ => None,
            })
            .collect();
        let mut d = IndexData {
            cap: usize::MAX,
            ..Default::default()
        };
        for r in store.docs_by_id(DocKind::Receivable, &ids).await? {
            d.put_doc(r);
        }
        found.into_iter().for_each(|f| d.put_doc(f));
        a.add(&d, v, q, today);
        if n < chunk.max(1) {
            break;
        }
    }
    Ok(a.table())
}

/// The view's running totals: one line per group, and the financings without figures
/// (counted, the first [`MAX_NAMED`] named).
#[derive(Default)]
pub struct Ageing {
    rows: BTreeMap<Key, Sums>,
    missing: usize,
    named: Vec<String>,
}

impl Ageing {
    fn miss(&mut self, why: String) {
        self.missing += 1;
        if self.named.len() < MAX_NAMED {
            self.named.push(why);
        }
    }

    /// Adds the financings of `d` that `v` reads and `q` selects.
    pub fn add(&mut self, d: &IndexData, v: &Viewer, q: &ListQuery, today: NaiveDate) {
        for f in vis::filter(v, d.financings.values().cloned()) {
            let (key, bucket, advanced, penalty) = match entry(d, &f, today) {
                Ok(Some(e)) => e,
                Ok(None) => continue,
                Err(why) => {
                    self.miss(why);
                    continue;
                }
            };
            let (state, bank, debtor, currency) = &key;
            let parties = [
                bank.as_deref().unwrap_or(""),
                debtor.as_deref().unwrap_or(""),
                f.applicant.as_str(),
            ];
            if !q.org_ok(&parties) || !q.status_ok(state) {
                continue;
            }
            let total_key = (*state, None, None, *currency);
            for k in [key.clone(), total_key] {
                if self
                    .rows
                    .entry(k)
                    .or_default()
                    .add(bucket, advanced.amount, penalty.amount)
                    .is_none()
                {
                    self.miss(format!("{}: a sum overflows", f.id));
                }
            }
        }
    }

    /// The table: groups first, each state's totals after them.
    pub fn table(self) -> Table {
        let mut columns = vec!["state", "bank", "debtor", "currency", "financings"];
        columns.extend(AgeingBucket::ALL.iter().map(AgeingBucket::label));
        columns.extend(["total outstanding advance", "penalty accrued"]);
        let mut t = Table::new(columns);
        let (groups, totals): (Vec<_>, Vec<_>) =
            self.rows.into_iter().partition(|(k, _)| k.1.is_some());
        for ((state, bank, debtor, currency), s) in groups.into_iter().chain(totals) {
            let mu = currency.minor_units();
            let who = |o: Option<String>| -> Cell {
                o.map_or_else(|| Cell::from("all (total)"), |o| org_link(&o))
            };
            let mut row: Vec<Cell> = vec![
                state.into(),
                who(bank),
                who(debtor),
                currency.code().into(),
                s.financings.to_string().into(),
            ];
            row.extend(s.aged.iter().map(|a| Cell::from(a.to_fixed(mu))));
            row.push(s.total().map_or("-".into(), |a| a.to_fixed(mu)).into());
            row.push(s.penalty.to_fixed(mu).into());
            t.push(row);
        }
        if self.missing > 0 {
            t.incomplete = Some(format!(
                "{} financing(s) without figures: {}",
                self.missing,
                self.named.join("; ")
            ));
        }
        t
    }
}

/// The financing page's section once it went overdue: its terms, the figures as of the
/// ledger's date (or the day the penalty stopped), the buy-back and the write-off.
pub fn financing_section(d: &IndexData, f: &Financing) -> Markup {
    let Some(o) = &f.overdue else {
        return html! {};
    };
    let fig = d
        .receivables
        .get(f.receivable.as_str())
        .ok_or_else(|| format!("receivable {} not indexed", f.receivable))
        .and_then(|r| figures(f, r, ledger_today(d)).map_err(|e| e.to_string()));
    html! {
        h2 { "Overdue and default" }
        table class="fields" id="overdue" {
            tr { th { "overdue since" } td { (o.since) } }
            tr { th { "penalty" } td { (o.penalty_rate) " a year, " (format!("{:?}", o.day_count)) ", counted after " (o.penalty_from) } }
            tr { th { "recourse" } td { @if o.recourse { "with recourse: the supplier buys it back" } @else { "without recourse: the bank may write it off" } } }
            @match &fig {
                Ok(Some(x)) => {
                    tr { th { "as of" } td { (x.as_of) @if !x.running { " (fixed)" } } }
                    tr { th { "days past due" } td { (x.days_past_due) } }
                    tr { th { "outstanding advance" } td { (money(&x.advanced)) } }
                    tr { th { "penalty a day" } td { (money(&x.daily_penalty)) } }
                    tr { th { "penalty accrued" } td id="overdue-penalty" { (money(&x.penalty)) } }
                    tr { th { "claim" } td id="overdue-claim" { (money(&x.claim)) } }
                }
                Ok(None) => {}
                Err(why) => { tr { th { "figures" } td { "none: " (why) } } }
            }
            @if let Some(b) = &o.buyback {
                tr { th { "buy-back" } td { (status_str(&b.status)) ": " (money(&b.amount)) " (advance " (money(&b.advanced)) " + penalty " (money(&b.penalty)) "), ref " (b.payment_ref) ", instructed " (b.instructed_on) @if let Some(r) = &b.dispute_reason { ", disputed: " (r) } } }
            }
            @if let Some(w) = &o.write_off {
                tr { th { "written off" } td { (w.written_off_on) ": " (money(&w.amount)) " (advance " (money(&w.advanced)) " + penalty " (money(&w.penalty)) "): " (w.reason) } }
            }
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::too_many_lines,
    reason = "tests: a scenario reads top to bottom"
)]
mod tests {
    use chrono::Days;
    use lianrong_contracts::model::DocId;
    use lianrong_contracts::money::Rate;
    use lianrong_contracts::testkit::{org, World};
    use lianrong_contracts::{Action, DocKind, Event};
    use lianrong_primitives::OrgId;

    use super::*;

    fn col(t: &Table, name: &str) -> Vec<String> {
        let i = t.columns.iter().position(|c| *c == name).unwrap();
        t.rows.iter().map(|r| r[i].text.clone()).collect()
    }

    /// `supplier`'s receivable on `core` of `face` due in `days`, financed by `bank` with
    /// the penalty rate `penalty` % a year and `recourse`, disbursed today.
    fn financed(
        w: &mut World,
        (core, supplier, bank): (&str, &str, &str),
        face: &str,
        days: i64,
        (penalty, recourse): (&str, bool),
    ) -> (DocId, DocId) {
        let r = w.trade_to_receivable(core, supplier, face, days);
        let ev = w.ok(
            supplier,
            Action::RequestFinancing {
                receivable: r.clone(),
                banks: vec![org(bank)],
            },
        );
        let Event::FinancingRequested { financing: fid, .. } = ev[0].clone() else {
            panic!("{ev:?}")
        };
        let ev = w.ok(
            bank,
            Action::OfferFinancingWithTerms {
                financing: fid.clone(),
                rate: Rate::parse("3.65").unwrap(),
                fees: Amount::ZERO,
                valid_until: w.today(),
                penalty_rate: Rate::parse(penalty).unwrap(),
                recourse,
            },
        );
        let Event::OfferMade { offer, .. } = ev[0].clone() else {
            panic!("{ev:?}")
        };
        let ev = w.ok(supplier, Action::AcceptOffer { offer });
        let Event::OfferAccepted { net, .. } = ev[0].clone() else {
            panic!("{ev:?}")
        };
        w.ok(
            bank,
            Action::Disburse {
                financing: fid.clone(),
                payment_ref: format!("PAY-{fid}"),
                net: net.amount,
            },
        );
        (r, fid)
    }

    /// Moves `w` to `n` days after maturity + 3 grace days of `r`, sweeping there.
    fn to_day_past_due(w: &mut World, r: &DocId, n: u64) {
        let target = w.receivable(r).maturity + Days::new(3 + n);
        w.advance_days(u64::try_from((target - w.today()).num_days()).unwrap());
        w.block(&[]);
    }

    /// The ledger's documents as the explorer's index holds them.
    fn indexed(w: &World, ids: &[&DocId]) -> IndexData {
        let mut d = IndexData::default();
        for fid in ids {
            let f: Financing = w.get(DocKind::Financing, fid.as_str()).unwrap();
            let r = w.receivable(&f.receivable);
            d.receivables.insert(r.id.to_string(), r);
            d.financings.insert(fid.to_string(), f);
        }
        d
    }

    /// Three financings, aged by hand: A (BANK-A on CORE-A, 100,000.00 at 18 %: 50.00 a
    /// day) 105 days past due; B (BANK-A on CORE-A, 200,000.00 at 18 %: 100.00 a day) 5
    /// days; C (BANK-B on CORE-B, 50,000.00 at 36 %: 50.00 a day, without recourse)
    /// written off 47 days past due. A bought-back one (D) is not listed.
    #[test]
    fn exposure_is_aged_1_30_31_90_and_90_plus_with_totals_per_currency() {
        let mut w = World::new();
        let (ra, a) = financed(
            &mut w,
            ("CORE-A", "SUP-1", "BANK-A"),
            "100000.00",
            30,
            ("18", true),
        );
        let (rb, b) = financed(
            &mut w,
            ("CORE-A", "SUP-1", "BANK-A"),
            "200000.00",
            130,
            ("18", true),
        );
        let (rc, c) = financed(
            &mut w,
            ("CORE-B", "SUP-2", "BANK-B"),
            "50000.00",
            10,
            ("36", false),
        );
        let (_, dd) = financed(
            &mut w,
            ("CORE-A", "SUP-3", "BANK-A"),
            "10000.00",
            10,
            ("18", true),
        );
        // Day 47 past due of C: 50.00 x 47 = 2,350.00; claim 52,350.00, written off.
        to_day_past_due(&mut w, &rc, 47);
        w.ok(
            "BANK-B",
            Action::WriteOff {
                financing: c.clone(),
                amount: Amount::parse("52350.00").unwrap(),
                reason: "insolvent".into(),
            },
        );
        // D bought back the same day: 5.00 x 47 = 235.00; claim 10,235.00.
        w.ok(
            "SUP-3",
            Action::InstructBuyback {
                financing: dd.clone(),
                amount: Amount::parse("10235.00").unwrap(),
                payment_ref: "SUP3-BB".into(),
            },
        );
        w.ok(
            "BANK-A",
            Action::AcknowledgeBuyback {
                financing: dd.clone(),
            },
        );
        // Day 5 past due of B is day 105 of A: 50.00 x 105 = 5,250.00 and 100.00 x 5 =
        // 500.00.
        to_day_past_due(&mut w, &rb, 5);
        let today = w.today();
        assert_eq!((today - w.receivable(&ra).maturity).num_days(), 3 + 105);
        let d = indexed(&w, &[&a, &b, &c, &dd]);

        let audit = Viewer::Everything { org: None };
        let t = ageing(&d, &audit, &ListQuery::default(), today);
        assert_eq!(
            col(&t, "state"),
            ["overdue", "written off", "overdue", "written off"]
        );
        assert_eq!(
            col(&t, "bank"),
            ["BANK-A", "BANK-B", "all (total)", "all (total)"]
        );
        assert_eq!(col(&t, "debtor")[..2], ["CORE-A", "CORE-B"]);
        assert_eq!(col(&t, "financings"), ["2", "1", "2", "1"]);
        assert_eq!(
            col(&t, "1-30 days"),
            ["200000.00", "0.00", "200000.00", "0.00"]
        );
        assert_eq!(
            col(&t, "31-90 days"),
            ["0.00", "50000.00", "0.00", "50000.00"]
        );
        assert_eq!(
            col(&t, "90+ days"),
            ["100000.00", "0.00", "100000.00", "0.00"]
        );
        assert_eq!(
            col(&t, "total outstanding advance"),
            ["300000.00", "50000.00", "300000.00", "50000.00"]
        );
        assert_eq!(
            col(&t, "penalty accrued"),
            ["5750.00", "2350.00", "5750.00", "2350.00"]
        );
        assert!(t.incomplete.is_none());
        let csv = t.to_csv().unwrap();
        assert!(
            csv.starts_with("state,bank,debtor,currency,financings,1-30 days,31-90 days,90+ days"),
            "{csv}"
        );

        // The written-off financing's page shows the fixed figures and the reason.
        let page = financing_section(&d, &d.financings[c.as_str()]).into_string();
        assert!(
            page.contains("52350.00 CNY") && page.contains("insolvent"),
            "{page}"
        );

        // SUP-2 sees its own written-off financing only; ?org= and ?status= filter.
        let sup2 = Viewer::Org(OrgId::new("SUP-2").unwrap());
        let mine = ageing(&d, &sup2, &ListQuery::default(), today);
        assert_eq!(col(&mine, "bank"), ["BANK-B", "all (total)"]);
        let q = ListQuery {
            status: Some("overdue".into()),
            ..ListQuery::default()
        };
        assert_eq!(
            col(&ageing(&d, &audit, &q, today), "financings"),
            ["2", "2"]
        );
        let q = ListQuery {
            org: Some("CORE-B".into()),
            ..ListQuery::default()
        };
        assert_eq!(
            col(&ageing(&d, &audit, &q, today), "state"),
            ["written off", "written off"]
        );

        // A financing whose receivable the index lacks is named, not counted.
        let mut partial = d;
        partial.receivables.remove(rb.as_str());
        let t = ageing(&partial, &audit, &ListQuery::default(), today);
        assert!(t.incomplete.unwrap().contains(b.as_str()));
    }

    /// The finding: `/risk/overdue` aged only the financings the in-memory cache held
    /// (`max_index_docs`), silently short on a long chain. Now it is one pass over every
    /// financing the store marks overdue or written off, a chunk at a time (here 2, so
    /// several chunks), into the same table the in-memory view gives: alike in SQLite and
    /// PostgreSQL, for an auditor, a supplier and the filters; a financing not at risk is
    /// left out in SQL, and a row written before the `overdue_state` column is still read.
    #[tokio::test]
    async fn the_ageing_over_the_store_is_the_in_memory_ageing_across_chunks() {
        let mut w = World::new();
        let mut fins = vec![];
        for (parties, face, days, terms) in [
            (("CORE-A", "SUP-1", "BANK-A"), "100000.00", 30, ("18", true)),
            (
                ("CORE-A", "SUP-1", "BANK-A"),
                "200000.00",
                130,
                ("18", true),
            ),
            (("CORE-B", "SUP-2", "BANK-B"), "50000.00", 10, ("36", false)),
            (("CORE-B", "SUP-2", "BANK-A"), "70000.00", 60, ("18", true)),
            (("CORE-A", "SUP-2", "BANK-B"), "30000.00", 120, ("36", true)),
            (("CORE-B", "SUP-1", "BANK-B"), "40000.00", 20, ("18", true)),
            (("CORE-A", "SUP-1", "BANK-A"), "90000.00", 300, ("18", true)),
        ] {
            fins.push(financed(&mut w, parties, face, days, terms));
        }
        // The third is written off 47 days past due (50.00 a day).
        to_day_past_due(&mut w, &fins[2].0, 47);
        w.ok(
            "BANK-B",
            Action::WriteOff {
                financing: fins[2].1.clone(),
                amount: Amount::parse("52350.00").unwrap(),
                reason: "insolvent".into(),
            },
        );
        to_day_past_due(&mut w, &fins[1].0, 5);
        let today = w.today();
        let ids: Vec<&DocId> = fins.iter().map(|(_, f)| f).collect();
        let d = indexed(&w, &ids);
        let rows: Vec<crate::store::DocRow> = d
            .financings
            .values()
            .cloned()
            .map(Doc::Financing)
            .chain(d.receivables.values().cloned().map(Doc::Receivable))
            .map(|doc| crate::store::DocRow::of(&doc, &crate::store::Context::default()).unwrap())
            .collect();
        let states: Vec<Option<&str>> = rows.iter().map(|r| r.overdue_state).collect();
        assert!(states.contains(&Some("written off")) && states.contains(&None));
        let audit = Viewer::Everything { org: None };
        let sup1 = Viewer::Org(OrgId::new("SUP-1").unwrap());
        let q = |status: Option<&str>, org: Option<&str>| ListQuery {
            status: status.map(str::to_string),
            org: org.map(str::to_string),
            ..ListQuery::default()
        };
        let cases = [
            (&audit, q(None, None)),
            (&sup1, q(None, None)),
            (&audit, q(Some("overdue"), None)),
            (&audit, q(Some("Written Off"), None)),
            (&audit, q(None, Some("CORE-B"))),
            (&audit, q(None, Some("BANK-B"))),
        ];
        let whole = ageing(&d, &audit, &q(None, None), today);
        assert_eq!(col(&whole, "state").len(), 7, "{:?}", col(&whole, "bank"));

        let pg = crate::store::testpg::TestPostgres::start();
        let urls = crate::store::testpg::TestPostgres::urls(&pg, "ageing").await;
        for url in urls {
            let store = Store::open(&url).await.unwrap();
            store.put_docs(&rows, 1).await.unwrap();
            // As a row written before migration 0003 is marked.
            sqlx::query(
                "UPDATE docs SET overdue_state = 'unknown' WHERE kind = 'financing' AND id = $1",
            )
            .bind(fins[0].1.to_string())
            .execute(store.pool())
            .await
            .unwrap();
            for (v, q) in &cases {
                let want = ageing(&d, v, q, today).to_csv().unwrap();
                for chunk in [2, crate::store::sql::CHUNK] {
                    let got = ageing_in_store(&store, v, q, today, chunk).await.unwrap();
                    assert_eq!(
                        got.to_csv().unwrap(),
                        want,
                        "{url} {v:?} {q:?} chunk {chunk}"
                    );
                }
            }
            let at_risk = store
                .financings_at_risk(&audit, None, &Cursor::Start, 100)
                .await
                .unwrap();
            assert_eq!(at_risk.len(), 6, "not the one never overdue: {url}");
        }
    }

    /// The finding: `/risk/exposure` counted every live receivable a bank held, so a
    /// written-off financing's receivable (the bank's, still owed by the debtor) stayed in
    /// the bank's exposure after the ledger ended it. Now the debtor's exposure keeps it
    /// and the bank's does not, alike in memory, in SQLite and in PostgreSQL.
    #[tokio::test]
    async fn a_written_off_financing_leaves_its_banks_exposure_not_its_debtors() {
        let mut w = World::new();
        let (_, a) = financed(
            &mut w,
            ("CORE-A", "SUP-1", "BANK-A"),
            "100000.00",
            30,
            ("18", true),
        );
        let (rc, c) = financed(
            &mut w,
            ("CORE-B", "SUP-2", "BANK-B"),
            "50000.00",
            10,
            ("36", false),
        );
        // Day 47 past due of C: 50.00 x 47 = 2,350.00; claim 52,350.00.
        to_day_past_due(&mut w, &rc, 47);
        w.ok(
            "BANK-B",
            Action::WriteOff {
                financing: c.clone(),
                amount: Amount::parse("52350.00").unwrap(),
                reason: "insolvent".into(),
            },
        );
        let written_off = w.receivable(&rc);
        assert_eq!(
            (written_off.holder.as_str(), written_off.financing.as_ref()),
            ("BANK-B", None)
        );
        let mut d = indexed(&w, &[&a, &c]);
        for id in ["BANK-A", "BANK-B", "CORE-A", "CORE-B"] {
            let o: lianrong_contracts::model::Org = w.get(DocKind::Org, id).unwrap();
            d.orgs.insert(id.to_string(), o);
        }
        let audit = Viewer::Everything { org: None };
        let q = ListQuery::default();
        let t = crate::views::exposure(&d, &audit, &q);
        let rows: Vec<(String, String, String)> = col(&t, "kind")
            .into_iter()
            .zip(col(&t, "org"))
            .zip(col(&t, "outstanding"))
            .map(|((k, o), a)| (k, o, a))
            .collect();
        let row = |k: &str, o: &str, a: &str| (k.to_string(), o.to_string(), a.to_string());
        assert_eq!(
            rows,
            [
                row("bank", "BANK-A", "100000.00"),
                row("core enterprise", "CORE-A", "100000.00"),
                row("core enterprise", "CORE-B", "50000.00"),
            ]
        );

        // The store's SQL totals give the same table.
        let docs: Vec<crate::store::DocRow> = d
            .orgs
            .values()
            .map(|o| crate::node::Doc::Org(o.clone()))
            .chain(
                d.receivables
                    .values()
                    .map(|r| crate::node::Doc::Receivable(r.clone())),
            )
            .map(|doc| crate::store::DocRow::of(&doc, &crate::store::Context::default()).unwrap())
            .collect();
        let want = t.to_csv().unwrap();
        let pg = crate::store::testpg::TestPostgres::start();
        let urls = crate::store::testpg::TestPostgres::urls(&pg, "exposure").await;
        for url in urls {
            let store = crate::store::Store::open(&url).await.unwrap();
            store.put_docs(&docs, 1).await.unwrap();
            let total = |by| store.live_totals(by, &audit, &q);
            use crate::store::sql::GroupBy;
            let (debtors, banks) = (
                total(GroupBy::Debtor).await.unwrap(),
                total(GroupBy::BankHolder).await.unwrap(),
            );
            let got = crate::views::exposure_of(&debtors, &banks)
                .to_csv()
                .unwrap();
            assert_eq!(got, want, "{url}");
        }
    }
}
