//! Dual control (`/risk/approvals`, and its CSV): the actions an org's approval policy
//! held for more of its member keys -- who made each one, who approved it, how many
//! approvals count today of how many it needs, and whether it executed, was rejected
//! (by whom, why) or lapsed. The org whose policy held it sees it; banks and auditors
//! see all (the rule is `PendingApproval`'s in `lianrong_api_types::visibility`,
//! applied through [`crate::vis`]).
//!
//! Held actions are read from the node when the page is asked for (the node computes
//! "lapsed" and "counts today" by the contract's rules), every page of `/v1/approvals`.

use lianrong_api_types::ApprovalView;
use lianrong_primitives::PublicKey;

use crate::node::{NodeApi, NodeError};
use crate::views::{org_link, Cell, ListQuery, Table};
use crate::vis::{self, Viewer};

/// Most pages of `/v1/approvals` one view reads (500 each); more is shown as incomplete
/// rather than cut silently.
const MAX_APPROVAL_PAGES: usize = 40;

/// Every held action the node lists (the explorer's token reads them all), and why the
/// list may be incomplete.
pub async fn fetch(node: &dyn NodeApi) -> Result<(Vec<ApprovalView>, Option<String>), NodeError> {
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_APPROVAL_PAGES {
        let page = node.approvals_page(after.as_deref(), 500).await?;
        items.extend(page.items);
        match page.next.map(|n| n.to_string()) {
            // A cursor that does not move forward would loop: stop and say so.
            Some(n) if after.as_ref().is_none_or(|a| &n > a) => after = Some(n),
            Some(_) => {
                let why = "the node's list of held actions did not advance";
                return Ok((items, Some(why.into())));
            }
            None => return Ok((items, None)),
        }
    }
    let why = format!("more than {} held actions", MAX_APPROVAL_PAGES * 500);
    Ok((items, Some(why)))
}

/// A key as people compare it: its first 12 hex digits.
fn short(key: &PublicKey) -> String {
    let h = key.to_string();
    format!("{}..", &h[..h.len().min(12)])
}

/// What the viewer may see of `items`, filtered by `?org=` and `?status=` (the state:
/// pending, executed, rejected, lapsed).
pub fn table(items: Vec<ApprovalView>, v: &Viewer, q: &ListQuery) -> Table {
    let mut t = Table::new(vec![
        "id",
        "org",
        "action",
        "amount",
        "state",
        "counted",
        "required",
        "maker",
        "approved by",
        "opened",
        "last day",
        "rejected",
    ]);
    for a in vis::filter(v, items) {
        let r = &a.approval;
        if !q.org_ok(&[r.org.as_str()]) || !q.status_ok(a.state.as_str()) {
            continue;
        }
        let maker = r.approvals.first().map(short).unwrap_or_default();
        let checkers: Vec<String> = r.approvals.iter().skip(1).map(short).collect();
        let rejected = r
            .rejection
            .as_ref()
            .map(|(k, why)| format!("{} by {}", why, short(k)))
            .unwrap_or_default();
        let row: Vec<Cell> = vec![
            r.id.to_string().into(),
            org_link(r.org.as_str()),
            a.action.clone().into(),
            r.amount.map(|m| m.to_string()).unwrap_or_default().into(),
            a.state.as_str().into(),
            a.counted.to_string().into(),
            a.required.to_string().into(),
            maker.into(),
            checkers.join(", ").into(),
            r.opened_on.to_string().into(),
            r.expires_on.to_string().into(),
            rejected.into(),
        ];
        t.push(row);
    }
    t
}

#[cfg(test)]
mod tests {
    use lianrong_api_types::ApprovalPage;
    use lianrong_contracts::model::{ApprovalStatus, DocId, PendingApproval};
    use lianrong_contracts::money::Money;
    use lianrong_contracts::Action;
    use lianrong_primitives::{OrgId, SecretKey};

    use super::*;
    use crate::node::fake::FakeNode;
    use crate::node::paths;

    fn held(id: &str, org: &str, status: ApprovalStatus, checkers: u8) -> ApprovalView {
        let keys: Vec<PublicKey> = (0..=checkers)
            .map(|i| SecretKey::from_seed([i + 1; 32]).public())
            .collect();
        let a = PendingApproval {
            id: DocId::new(id).unwrap(),
            org: OrgId::new(org).unwrap(),
            action: Action::ConfirmInvoice {
                invoice: DocId::new("INV-9").unwrap(),
                maturity: None,
            },
            amount: Some(Money::parse("1500000", "CNY").unwrap()),
            required: 2,
            approvals: keys,
            status,
            opened_on: "2026-03-01".parse().unwrap(),
            expires_on: "2026-03-04".parse().unwrap(),
            rejection: None,
        };
        ApprovalView::new(a, "2026-03-02".parse().unwrap(), |_| true)
    }

    fn items() -> Vec<ApprovalView> {
        vec![
            held("APR-1", "CORE-A", ApprovalStatus::Executed, 1),
            held("APR-2", "CORE-A", ApprovalStatus::Pending, 0),
            held("APR-3", "CORE-B", ApprovalStatus::Pending, 0),
        ]
    }

    fn col(t: &Table, name: &str) -> Vec<String> {
        let i = t.columns.iter().position(|c| *c == name).unwrap();
        t.rows.iter().map(|r| r[i].text.clone()).collect()
    }

    #[test]
    fn the_org_sees_its_own_held_actions_with_who_approved_them_and_auditors_all() {
        let audit = Viewer::Everything { org: None };
        let t = table(items(), &audit, &ListQuery::default());
        assert_eq!(col(&t, "id"), ["APR-1", "APR-2", "APR-3"]);
        assert_eq!(col(&t, "state"), ["executed", "pending", "pending"]);
        assert_eq!(col(&t, "counted"), ["2", "1", "1"]);
        let checker = short(&SecretKey::from_seed([2; 32]).public());
        assert_eq!(col(&t, "approved by"), [checker.as_str(), "", ""]);
        assert_eq!(col(&t, "amount")[0], "1500000.00 CNY");
        let core_a = Viewer::Org(OrgId::new("CORE-A").unwrap());
        assert_eq!(
            col(&table(items(), &core_a, &ListQuery::default()), "id"),
            ["APR-1", "APR-2"]
        );
        let sup = Viewer::Org(OrgId::new("SUP-1").unwrap());
        assert!(table(items(), &sup, &ListQuery::default()).rows.is_empty());
        let pending = ListQuery {
            status: Some("pending".into()),
            ..ListQuery::default()
        };
        assert_eq!(
            col(&table(items(), &audit, &pending), "id"),
            ["APR-2", "APR-3"]
        );
        let csv = table(items(), &audit, &ListQuery::default())
            .to_csv()
            .unwrap();
        assert!(csv.contains("confirm_invoice"), "{csv}");
    }

    #[tokio::test]
    async fn every_page_of_the_nodes_list_is_read() {
        let node = FakeNode::default();
        let mut all = items();
        let rest = all.split_off(1);
        node.set(
            &paths::approvals(None, 500),
            ApprovalPage {
                items: all,
                next: Some(DocId::new("APR-1").unwrap()),
            },
        );
        node.set(
            &paths::approvals(Some("APR-1"), 500),
            ApprovalPage {
                items: rest,
                next: None,
            },
        );
        let (got, incomplete) = fetch(&node).await.unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(incomplete, None);
    }
}
