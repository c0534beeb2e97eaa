//! Risk view of credit limits (`/risk/limits`, and its CSV): every limit the viewer may
//! read (banks and auditors all, a core enterprise its own issuance limit; the rule is
//! `lianrong_api_types::visibility::may_read_limit`, applied through [`crate::vis`]) with
//! its use, headroom and share used, flagged when the use is above a lowered limit or
//! counted in another currency.
//!
//! Limits and their use are read from the node when the page is asked for (the ledger
//! keeps the counters; the index does not recompute them), every page of `/v1/limits`
//! to the last.

use lianrong_api_types::LimitView;
use lianrong_contracts::money::Amount;

use crate::node::{NodeApi, NodeError};
use crate::views::{org_link, Cell, ListQuery, Table};
use crate::vis::{self, Viewer};

/// Most pages of `/v1/limits` one view reads (500 limits each); more is shown as
/// incomplete rather than cut silently.
const MAX_LIMIT_PAGES: usize = 40;

/// Every limit the node lists (the explorer's token reads them all), and why the list
/// may be incomplete.
pub async fn fetch(node: &dyn NodeApi) -> Result<(Vec<LimitView>, Option<String>), NodeError> {
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_LIMIT_PAGES {
        let page = node.limits_page(after.as_deref(), 500).await?;
        items.extend(page.items);
        match page.next {
            // A cursor that does not move forward would loop: stop and say so.
            Some(n) if after.as_ref().is_none_or(|a| &n > a) => after = Some(n),
            Some(_) => return Ok((items, Some("the node's limit list did not advance".into()))),
            None => return Ok((items, None)),
        }
    }
    let why = format!("more than {} limits", MAX_LIMIT_PAGES * 500);
    Ok((items, Some(why)))
}

/// The share of the limit used, in percent with one decimal (`-` for a zero limit).
fn share_used(v: &LimitView) -> String {
    let limit = v.limit.amount.value();
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

/// What the viewer may see of `items`, filtered by `?org=` (holder or counterparty).
pub fn table(items: Vec<LimitView>, v: &Viewer, q: &ListQuery) -> Table {
    use lianrong_contracts::model::LimitScope as S;
    let mut t = Table::new(vec![
        "kind", "holder", "scope", "on", "limit", "used", "headroom", "used %", "flag",
    ]);
    for l in vis::filter(v, items) {
        let (kind, scope, on) = match &l.scope {
            S::Issuance { debtor } => ("issuance", "debtor", debtor.as_str()),
            S::Exposure { scope, on, .. } => ("exposure", scope.as_str(), on.as_str()),
            S::Programme { programme, .. } => ("programme", "programme", programme.as_str()),
        };
        if !q.org_ok(&[l.holder.as_str(), on]) {
            continue;
        }
        let mut flags: Vec<String> = Vec::new();
        if l.over {
            flags.push("over the limit (lowered below its use)".into());
        }
        flags.extend(
            l.other_use
                .iter()
                .map(|m| format!("{m} used in another currency")),
        );
        let row: Vec<Cell> = vec![
            kind.into(),
            org_link(l.holder.as_str()),
            scope.into(),
            org_link(on),
            l.limit.to_string().into(),
            l.used.to_string().into(),
            l.headroom.to_string().into(),
            share_used(&l).into(),
            flags.join("; ").into(),
        ];
        t.push(row);
    }
    t
}

#[cfg(test)]
mod tests {
    use lianrong_contracts::model::{CreditLimit, ExposureScope, LimitScope};
    use lianrong_contracts::money::Money;
    use lianrong_primitives::OrgId;

    use super::*;
    use crate::node::fake::FakeNode;
    use crate::node::paths;

    fn org(s: &str) -> OrgId {
        OrgId::new(s).unwrap()
    }

    fn view(scope: LimitScope, limit: &str, used: &str) -> LimitView {
        let l = CreditLimit {
            scope,
            limit: Money::parse(limit, "CNY").unwrap(),
            used_when_set: Amount::ZERO,
            set_at: 1,
            set_on: "2026-01-05".parse().unwrap(),
        };
        LimitView::new(l, &[Money::parse(used, "CNY").unwrap()])
    }

    fn limits() -> Vec<LimitView> {
        vec![
            view(
                LimitScope::Exposure {
                    bank: org("BANK-A"),
                    scope: ExposureScope::Supplier,
                    on: org("SUP-1"),
                },
                "5000.00",
                "6000.00",
            ),
            view(
                LimitScope::Issuance {
                    debtor: org("CORE-A"),
                },
                "1000.00",
                "250.00",
            ),
        ]
    }

    fn col(t: &Table, name: &str) -> Vec<String> {
        let i = t.columns.iter().position(|c| *c == name).unwrap();
        t.rows.iter().map(|r| r[i].text.clone()).collect()
    }

    #[test]
    fn auditors_see_every_limit_a_core_its_own_and_others_none() {
        let audit = Viewer::Everything { org: None };
        let t = table(limits(), &audit, &ListQuery::default());
        assert_eq!(col(&t, "kind"), ["exposure", "issuance"]);
        assert_eq!(col(&t, "used %"), ["120.0", "25.0"]);
        assert_eq!(col(&t, "headroom"), ["0.00 CNY", "750.00 CNY"]);
        assert!(col(&t, "flag")[0].contains("over the limit"));
        let core = Viewer::Org(org("CORE-A"));
        assert_eq!(
            col(&table(limits(), &core, &ListQuery::default()), "kind"),
            ["issuance"]
        );
        // The supplier a bank's limit is on does not see it.
        let sup = Viewer::Org(org("SUP-1"));
        assert!(table(limits(), &sup, &ListQuery::default()).rows.is_empty());
        let by_org = ListQuery {
            org: Some("SUP-1".into()),
            ..ListQuery::default()
        };
        assert_eq!(col(&table(limits(), &audit, &by_org), "kind"), ["exposure"]);
        // The CSV holds the same figures.
        let csv = table(limits(), &audit, &ListQuery::default())
            .to_csv()
            .unwrap();
        assert!(csv.contains("1000.00 CNY"), "{csv}");
    }

    #[tokio::test]
    async fn every_page_of_the_nodes_list_is_read() {
        let node = FakeNode::default();
        let mut all = limits();
        let second = all.split_off(1);
        node.set(
            &paths::limits(None, 500),
            lianrong_api_types::LimitPage {
                items: all,
                next: Some("BANK-A/exposure/supplier/SUP-1".into()),
            },
        );
        node.set(
            &paths::limits(Some("BANK-A/exposure/supplier/SUP-1"), 500),
            lianrong_api_types::LimitPage {
                items: second,
                next: None,
            },
        );
        let (items, incomplete) = fetch(&node).await.unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(incomplete, None);
    }
}
