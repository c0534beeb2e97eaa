//! Governance: every proposal the index holds -- open, executed or lapsed -- with its
//! change, who proposed and approved it, how many approvals count and are needed, and
//! which validator orgs have not approved (docs/domain.md, "Who takes part").
//!
//! Where a proposal stands is computed by the rule the node's API uses
//! (`lianrong_api_types::ProposalView`) from what the explorer reads anyway: the
//! validator set and `proposal_ttl_days` of `/v1/status`, and the ledger's business date
//! of the newest indexed block ([`crate::money::ledger_today`]) -- so a proposal lapses
//! here on the day the ledger stops taking approvals, with no event to say so.
//!
//! Visibility ([`crate::vis::proposal`]): auditor and bank accounts, and accounts of orgs
//! that run a validator (they vote), see every proposal; other org accounts those they
//! are a party to (proposer, approver, the org the change is about).

use std::collections::BTreeSet;

use lianrong_api_types::governance::change_summary;
use lianrong_api_types::{ProposalState, ProposalView};
use lianrong_contracts::model::Proposal;
use lianrong_primitives::OrgId;
use maud::{html, Markup};

use crate::index::IndexData;
use crate::pages::table;
use crate::views::{link, org_link, Cell, ListQuery, Table};
use crate::vis::{self, Viewer};

/// The orgs that run a validator today, as the node reported its set.
pub fn validator_orgs(d: &IndexData) -> BTreeSet<OrgId> {
    d.node
        .iter()
        .flat_map(|s| s.validators.iter().map(|v| v.org.clone()))
        .collect()
}

/// Where `p` stands today, by the node's rule.
pub fn standing(d: &IndexData, p: Proposal) -> ProposalView {
    // Before the first status read the default TTL stands in; the page says "incomplete"
    // then anyway.
    let ttl = d.node.as_ref().map_or_else(
        || lianrong_contracts::model::Params::default().proposal_ttl_days,
        |s| s.params.proposal_ttl_days,
    );
    ProposalView::new(p, &validator_orgs(d), ttl, crate::money::ledger_today(d))
}

/// The proposals `v` may see, each with where it stands, newest id first.
fn visible(d: &IndexData, v: &Viewer) -> Vec<ProposalView> {
    let validators = validator_orgs(d);
    let mut list: Vec<ProposalView> = d
        .proposals
        .values()
        .filter_map(|p| vis::proposal(v, &validators, p.clone()))
        .map(|p| standing(d, p))
        .collect();
    // Ids are GOV-n: by number, so GOV-10 follows GOV-9.
    list.sort_by_key(|p| std::cmp::Reverse(number(p.proposal.id.as_str())));
    list
}

fn number(id: &str) -> (u64, String) {
    let n = id
        .rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    (n, id.to_string())
}

/// Orgs as linked cells' text: `A, B` or `-`.
fn names(orgs: &[OrgId]) -> String {
    if orgs.is_empty() {
        return "-".into();
    }
    orgs.iter()
        .map(OrgId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

const COLUMNS: [&str; 10] = [
    "id",
    "state",
    "change",
    "proposer",
    "opened on",
    "last day",
    "approvals",
    "approved by",
    "waiting for",
    "subject",
];

fn row(p: &ProposalView) -> Vec<Cell> {
    let id = p.proposal.id.as_str();
    let subject = vis::Document::parties(&p.proposal)
        .into_iter()
        .skip(1 + p.proposal.approvals.len())
        .map(str::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    vec![
        link(id, format!("/governance/{id}")),
        p.state.as_str().into(),
        change_summary(&p.proposal.change).into(),
        org_link(p.proposal.proposer.as_str()),
        p.proposal.opened_on.to_string().into(),
        p.expires_on.to_string().into(),
        format!("{} of {}", p.approvals, p.needed).into(),
        names(&p.proposal.approvals).into(),
        names(&p.waiting_for).into(),
        subject.into(),
    ]
}

/// Proposals, filtered by `status` (open, executed, lapsed), `org` (proposer, approver
/// or the org the change is about), `q` (id or change) and `from`/`to` (opened on).
pub fn proposals(d: &IndexData, v: &Viewer, q: &ListQuery) -> Table {
    let mut t = Table::new(COLUMNS.to_vec());
    for p in visible(d, v) {
        let parties = vis::Document::parties(&p.proposal);
        let summary = change_summary(&p.proposal.change);
        if !q.status_ok(p.state.as_str())
            || !q.org_ok(&parties)
            || !q.text_ok(&[p.proposal.id.as_str(), &summary])
            || !q.date_ok(p.proposal.opened_on)
        {
            continue;
        }
        t.push(row(&p));
    }
    t
}

/// The standing of one proposal, for its page (above its fields).
pub fn standing_section(d: &IndexData, p: &Proposal) -> Markup {
    let view = standing(d, p.clone());
    let mut t = Table::new(COLUMNS.to_vec());
    t.push(row(&view));
    let note = match view.state {
        ProposalState::Open => {
            "open: it applies once the approvals that count reach the number needed"
        }
        ProposalState::Executed => "executed: the change was applied",
        ProposalState::Lapsed => {
            "lapsed: past its last day it can no longer be approved and never applies"
        }
    };
    html! {
        section id="proposal-standing" {
            h2 { "Standing" }
            p class="muted" { (note) }
            (table(&t))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_api_types::Status;
    use lianrong_contracts::model::{DocId, GovChange, ProposalStatus};
    use lianrong_primitives::SecretKey;

    fn org(s: &str) -> OrgId {
        OrgId::new(s).unwrap()
    }

    fn proposal(n: u32, change: GovChange, approvals: &[&str], opened: &str) -> Proposal {
        Proposal {
            id: DocId::new(format!("GOV-{n}")).unwrap(),
            proposer: org(approvals[0]),
            change,
            approvals: approvals.iter().map(|o| org(o)).collect(),
            status: ProposalStatus::Open,
            opened_on: opened.parse().unwrap(),
        }
    }

    /// Four validator orgs, a 7-day TTL, today 2026-03-20 (the newest block's date).
    fn data(proposals: Vec<Proposal>) -> IndexData {
        let validators = ["BANK-A", "CORE-A", "CORE-B", "LOGI"]
            .iter()
            .enumerate()
            .map(|(i, o)| crate::node::fake::validator(o, i as u8 + 1))
            .collect();
        let mut status: Status = crate::node::fake::status(1, validators);
        status.params.proposal_ttl_days = 7;
        status.params.utc_offset_minutes = 0;
        let mut d = IndexData {
            node: Some(status),
            ..Default::default()
        };
        let day_ms = chrono::NaiveDate::from_ymd_opt(2026, 3, 20)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis() as u64;
        let mut b = crate::index::BlockRow::from_view(&crate::node::fake::block(1, &[]));
        b.time_ms = day_ms;
        d.blocks.insert(1, b);
        for p in proposals {
            d.proposals.insert(p.id.to_string(), p);
        }
        d
    }

    fn admit() -> GovChange {
        GovChange::AdmitOrg(lianrong_contracts::model::OrgSpec {
            id: org("SUP-9"),
            name: "Widgets".into(),
            tax_id: "91440300MA5GYT9014".into(),
            roles: vec![lianrong_contracts::model::Role::Supplier],
            identifiers: vec![],
            keys: vec![SecretKey::from_seed([9; 32]).public()],
        })
    }

    fn revoke(of: &str) -> GovChange {
        GovChange::RevokeMemberKey {
            org: org(of),
            key: SecretKey::from_seed([3; 32]).public(),
        }
    }

    fn column(t: &Table, name: &str) -> Vec<String> {
        let i = t.columns.iter().position(|c| *c == name).unwrap();
        t.rows.iter().map(|r| r[i].text.clone()).collect()
    }

    #[test]
    fn open_executed_and_lapsed_proposals_show_who_approved_and_who_is_missing() {
        let mut executed = proposal(
            1,
            revoke("SUP-1"),
            &["BANK-A", "CORE-A", "LOGI"],
            "2026-03-01",
        );
        executed.status = ProposalStatus::Executed;
        let lapsed = proposal(2, revoke("SUP-2"), &["CORE-B"], "2026-03-10");
        let open = proposal(10, admit(), &["BANK-A", "CORE-A"], "2026-03-19");
        let d = data(vec![executed, lapsed, open]);
        let audit = Viewer::Everything { org: None };
        let t = proposals(&d, &audit, &ListQuery::default());
        assert_eq!(column(&t, "id"), ["GOV-10", "GOV-2", "GOV-1"]);
        assert_eq!(column(&t, "state"), ["open", "lapsed", "executed"]);
        assert_eq!(column(&t, "approvals"), ["2 of 3", "1 of 3", "3 of 3"]);
        assert_eq!(column(&t, "approved by")[0], "BANK-A, CORE-A");
        assert_eq!(column(&t, "waiting for"), ["CORE-B, LOGI", "-", "-"]);
        assert_eq!(column(&t, "last day")[1], "2026-03-17");
        assert!(column(&t, "change")[0].starts_with("admit-org SUP-9"));
        let only_open = ListQuery {
            status: Some("open".into()),
            ..Default::default()
        };
        assert_eq!(column(&proposals(&d, &audit, &only_open), "id"), ["GOV-10"]);
    }

    #[test]
    fn org_accounts_see_proposals_they_vote_on_or_are_party_to() {
        let d = data(vec![
            proposal(1, revoke("SUP-1"), &["BANK-A"], "2026-03-19"),
            proposal(2, revoke("SUP-2"), &["BANK-A"], "2026-03-19"),
        ]);
        let ids = |who: &str| {
            column(
                &proposals(&d, &Viewer::Org(org(who)), &ListQuery::default()),
                "id",
            )
        };
        assert_eq!(
            ids("CORE-B"),
            ["GOV-2", "GOV-1"],
            "a validator org votes on all"
        );
        assert_eq!(ids("SUP-1"), ["GOV-1"], "the org losing the key");
        assert!(ids("SUP-3").is_empty());
    }
}
