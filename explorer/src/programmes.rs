//! Supply-chain finance programmes (`/programmes`, its CSV, and `/programmes/{id}`): each
//! programme's bank, core, status, terms (tiers, currency, advance ratio, pricing grid,
//! fees, maximum tenor, recourse, auto-offer), members and the use of its limit. The
//! programme's bank, its core and its eligible suppliers see it; banks and auditors see
//! all (the rule is `Programme`'s in `lianrong_api_types::visibility`, applied through
//! [`crate::vis`]).
//!
//! Programmes and their use are read from the node when the page is asked for (the
//! ledger keeps the limit's counter), every page of `/v1/programmes`.

use lianrong_api_types::programmes::terms_summary;
use lianrong_api_types::ProgrammeView;
use lianrong_contracts::money::{Amount, Money};
use lianrong_primitives::OrgId;
use maud::{html, Markup};

use crate::node::{NodeApi, NodeError};
use crate::views::{link, org_link, Cell, ListQuery, Table};
use crate::vis::{self, Viewer};

/// Most pages of `/v1/programmes` one view reads (500 each); more is shown as incomplete
/// rather than cut silently.
const MAX_PROGRAMME_PAGES: usize = 40;

/// Every programme the node lists (the explorer's token reads them all), and why the list
/// may be incomplete.
pub async fn fetch(node: &dyn NodeApi) -> Result<(Vec<ProgrammeView>, Option<String>), NodeError> {
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_PROGRAMME_PAGES {
        let page = node.programmes_page(after.as_deref(), 500).await?;
        items.extend(page.items);
        match page.next.map(|n| n.to_string()) {
            // A cursor that does not move forward would loop: stop and say so.
            Some(n) if after.as_ref().is_none_or(|a| &n > a) => after = Some(n),
            Some(_) => {
                let why = "the node's list of programmes did not advance";
                return Ok((items, Some(why.into())));
            }
            None => return Ok((items, None)),
        }
    }
    let why = format!("more than {} programmes", MAX_PROGRAMME_PAGES * 500);
    Ok((items, Some(why)))
}

/// `proposed`, `active` or `closed`.
fn status(v: &ProgrammeView) -> String {
    serde_json::to_value(v.status)
        .ok()
        .and_then(|s| s.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The share of the limit used, in percent with one decimal (`-` for a zero limit).
fn share_used(v: &ProgrammeView) -> String {
    let limit = v.programme.terms.limit.amount.value();
    if limit.is_zero() {
        return "-".into();
    }
    // Checked: the figures come from outside, and a node's nonsense must not panic.
    v.used
        .amount
        .value()
        .checked_mul(Amount::whole(100).value())
        .and_then(|x| x.checked_div(limit))
        .map_or_else(|| "-".into(), |x| format!("{:.1}", x.round_dp(1)))
}

/// The grid in one cell: `<=30d 3.00% / <=90d 3.65%`.
fn grid(v: &ProgrammeView) -> String {
    v.programme
        .terms
        .grid
        .iter()
        .map(|b| format!("<={}d {}", b.max_days, b.rate))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// The fees in one cell: `0.10% + 50.00 CNY`.
fn fees(v: &ProgrammeView) -> String {
    let t = &v.programme.terms;
    let fixed = Money {
        amount: t.fee_fixed,
        currency: t.currency,
    };
    format!("{} + {fixed}", t.fee_percent)
}

/// What the viewer may see of `items`, filtered by `?status=` and `?org=` (its bank, its
/// core or an eligible supplier).
pub fn table(items: Vec<ProgrammeView>, v: &Viewer, q: &ListQuery) -> Table {
    let mut t = Table::new(vec![
        "id",
        "bank",
        "core",
        "status",
        "members",
        "eligible",
        "max tier",
        "advance",
        "grid",
        "fees",
        "max tenor (days)",
        "recourse",
        "auto-offer",
        "limit",
        "used",
        "headroom",
        "used %",
    ]);
    for p in vis::filter(v, items) {
        let terms = &p.programme.terms;
        let mut parties = vec![p.programme.bank.as_str(), terms.core.as_str()];
        parties.extend(terms.suppliers.iter().map(OrgId::as_str));
        if !q.org_ok(&parties) || !q.status_ok(&status(&p)) {
            continue;
        }
        let id = p.programme.id.as_str();
        let row: Vec<Cell> = vec![
            link(id, format!("/programmes/{id}")),
            org_link(p.programme.bank.as_str()),
            org_link(terms.core.as_str()),
            status(&p).into(),
            p.programme.members.len().to_string().into(),
            terms.suppliers.len().to_string().into(),
            terms.max_tier.to_string().into(),
            terms.advance.to_string().into(),
            grid(&p).into(),
            fees(&p).into(),
            terms.max_tenor_days.to_string().into(),
            if terms.recourse { "with" } else { "without" }.into(),
            if terms.auto_offer {
                format!("yes, valid {} days", terms.offer_valid_days)
            } else {
                "no".into()
            }
            .into(),
            terms.limit.to_string().into(),
            p.used.to_string().into(),
            p.headroom.to_string().into(),
            share_used(&p).into(),
        ];
        t.push(row);
    }
    t
}

/// One programme's page: status and dates, its terms, the grid, the eligible suppliers
/// with who joined, and the limit's use.
pub fn detail(v: &ProgrammeView) -> Markup {
    let p = &v.programme;
    let t = &p.terms;
    html! {
        table class="fields" id="programme" {
            tr { th { "id" } td { (p.id) } }
            tr { th { "bank" } td { a href=(format!("/orgs/{}", p.bank)) { (p.bank) } } }
            tr { th { "core enterprise" } td { a href=(format!("/orgs/{}", t.core)) { (t.core) } } }
            tr { th { "status" } td id="programme-status" { (status(v)) } }
            tr { th { "created" } td { (p.created_on) } }
            tr { th { "accepted by the core" } td { @if let Some(d) = p.accepted_on { (d) } @else { "not yet" } } }
            @if let Some(d) = p.closed_on { tr { th { "closed" } td { (d) } } }
            tr { th { "terms" } td { (terms_summary(p)) } }
            tr { th { "currency" } td { (t.currency) } }
            tr { th { "tiers financed" } td { "1 to " (t.max_tier) } }
            tr { th { "advance ratio" } td { (t.advance) " of the face, rounded down" } }
            tr { th { "fees" } td { (fees(v)) " (percentage of the advanced amount)" } }
            tr { th { "maximum tenor" } td { (t.max_tenor_days) " days" } }
            tr { th { "recourse" } td { @if t.recourse { "with recourse" } @else { "without recourse" } } }
            tr { th { "penalty rate" } td { (t.penalty_rate) " a year on overdue financings" } }
            tr { th { "offers" } td { @if t.auto_offer { "auto-offered by the ledger, valid " (t.offer_valid_days) " days" } @else { "by the bank at the grid, valid up to " (t.offer_valid_days) " days" } } }
        }
        h2 { "Pricing grid" }
        table class="list" id="grid" {
            thead { tr { th { "tenor up to (days)" } th { "annual discount rate" } } }
            tbody { @for b in &t.grid { tr { td { (b.max_days) } td { (b.rate) } } } }
        }
        h2 { "Utilisation" }
        table class="fields" id="utilisation" {
            tr { th { "programme limit" } td { (t.limit) } }
            tr { th { "used (financed face still owed)" } td id="programme-used" { (v.used) } }
            tr { th { "headroom" } td id="programme-headroom" { (v.headroom) } }
            tr { th { "used %" } td { (share_used(v)) } }
        }
        h2 { "Suppliers" }
        table class="list" id="members" {
            thead { tr { th { "supplier" } th { "member" } } }
            tbody {
                @for s in &t.suppliers {
                    tr {
                        td { a href=(format!("/orgs/{s}")) { (s) } }
                        td { @if p.members.contains(s) { "joined" } @else { "eligible, not joined" } }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use lianrong_contracts::model::{
        DocId, GridBucket, Programme, ProgrammeStatus, ProgrammeTerms,
    };
    use lianrong_contracts::money::{Currency, Rate};

    use super::*;
    use crate::node::fake::FakeNode;
    use crate::node::paths;

    fn org(s: &str) -> OrgId {
        OrgId::new(s).unwrap()
    }

    fn view(id: &str, core: &str, suppliers: &[&str], status: ProgrammeStatus) -> ProgrammeView {
        let p = Programme {
            id: DocId::new(id).unwrap(),
            bank: org("BANK-A"),
            terms: ProgrammeTerms {
                core: org(core),
                suppliers: suppliers.iter().map(|s| org(s)).collect(),
                max_tier: 2,
                currency: Currency::new("CNY").unwrap(),
                grid: vec![
                    GridBucket {
                        max_days: 90,
                        rate: Rate::parse("3.65").unwrap(),
                    },
                    GridBucket {
                        max_days: 180,
                        rate: Rate::parse("4.20").unwrap(),
                    },
                ],
                fee_percent: Rate::parse("0.10").unwrap(),
                fee_fixed: Amount::parse("50.00").unwrap(),
                max_tenor_days: 180,
                advance: Rate::parse("80").unwrap(),
                recourse: false,
                auto_offer: true,
                offer_valid_days: 5,
                limit: Money::parse("2000000.00", "CNY").unwrap(),
                penalty_rate: lianrong_contracts::money::Rate::parse("18").unwrap(),
            },
            members: vec![org(suppliers[0])],
            status,
            created_on: "2026-01-05".parse().unwrap(),
            accepted_on: Some("2026-01-06".parse().unwrap()),
            closed_on: None,
        };
        ProgrammeView::new(p, Amount::parse("500000.00").unwrap())
    }

    fn programmes() -> Vec<ProgrammeView> {
        vec![
            view(
                "PRG-1",
                "CORE-A",
                &["SUP-1", "SUP-3"],
                ProgrammeStatus::Active,
            ),
            view("PRG-2", "CORE-B", &["SUP-2"], ProgrammeStatus::Proposed),
        ]
    }

    fn col(t: &Table, name: &str) -> Vec<String> {
        let i = t.columns.iter().position(|c| *c == name).unwrap();
        t.rows.iter().map(|r| r[i].text.clone()).collect()
    }

    #[test]
    fn parties_see_their_programmes_with_terms_and_utilisation() {
        let audit = Viewer::Everything { org: None };
        let t = table(programmes(), &audit, &ListQuery::default());
        assert_eq!(col(&t, "id"), ["PRG-1", "PRG-2"]);
        assert_eq!(col(&t, "used %"), ["25.0", "25.0"]);
        assert_eq!(col(&t, "headroom")[0], "1500000.00 CNY");
        assert_eq!(col(&t, "grid")[0], "<=90d 3.65% / <=180d 4.20%");
        assert_eq!(col(&t, "fees")[0], "0.10% + 50.00 CNY");
        assert_eq!(col(&t, "advance")[0], "80%");
        // An eligible supplier sees its programme, not the other; a stranger none.
        let sup3 = Viewer::Org(org("SUP-3"));
        assert_eq!(
            col(&table(programmes(), &sup3, &ListQuery::default()), "id"),
            ["PRG-1"]
        );
        let logi = Viewer::Org(org("LOGI"));
        assert!(table(programmes(), &logi, &ListQuery::default())
            .rows
            .is_empty());
        let proposed = ListQuery {
            status: Some("proposed".into()),
            ..ListQuery::default()
        };
        assert_eq!(
            col(&table(programmes(), &audit, &proposed), "id"),
            ["PRG-2"]
        );
        let csv = table(programmes(), &audit, &ListQuery::default())
            .to_csv()
            .unwrap();
        assert!(csv.contains("2000000.00 CNY"), "{csv}");
        let page = detail(&programmes()[0]).into_string();
        assert!(page.contains("eligible, not joined"), "{page}");
        assert!(page.contains("500000.00 CNY"), "{page}");
    }

    #[tokio::test]
    async fn every_page_of_the_nodes_list_is_read() {
        let node = FakeNode::default();
        let mut all = programmes();
        let second = all.split_off(1);
        node.set(
            &paths::programmes(None, 500),
            lianrong_api_types::ProgrammePage {
                items: all,
                next: Some(DocId::new("PRG-1").unwrap()),
            },
        );
        node.set(
            &paths::programmes(Some("PRG-1"), 500),
            lianrong_api_types::ProgrammePage {
                items: second,
                next: None,
            },
        );
        let (items, incomplete) = fetch(&node).await.unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(incomplete, None);
    }
}
