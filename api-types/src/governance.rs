//! Governance proposals as the API shows them (`GET /v1/proposals`, `/v1/proposals/{id}`):
//! the ledger's record and where it stands -- open, executed or lapsed, the approvals that
//! count today, how many are needed and which validator orgs have not approved yet.
//!
//! The ledger stores only the record; "lapsed" and "still needed" depend on the current
//! validator set, the `proposal_ttl_days` parameter and the business date, so they are
//! computed here, once, for the node and the explorer alike, by the contract's own rules
//! (`lianrong_contracts::exec::governance`: approvals of orgs that no longer run a
//! validator do not count; a proposal can be approved up to `opened_on + ttl`).

use std::collections::BTreeSet;

use chrono::NaiveDate;
use lianrong_contracts::exec::governance::quorum;
use lianrong_contracts::model::{DocId, GovChange, Proposal, ProposalStatus};
use lianrong_primitives::{OrgId, PublicKey};
use serde::{Deserialize, Serialize};

/// Where a proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ProposalState {
    /// Collecting approvals.
    Open,
    /// Approved by a quorum and applied.
    Executed,
    /// Open past its last day: it can no longer be approved, and never applies.
    Lapsed,
}

impl ProposalState {
    /// Its JSON name (`open`, `executed`, `lapsed`).
    pub fn as_str(&self) -> &'static str {
        match self {
            ProposalState::Open => "open",
            ProposalState::Executed => "executed",
            ProposalState::Lapsed => "lapsed",
        }
    }
}

/// A governance proposal and where it stands as of the ledger's last executed block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProposalView {
    /// The ledger's record (id, proposer, change, approvals in order, status, opened on).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub proposal: Proposal,
    /// Open, executed or lapsed.
    pub state: ProposalState,
    /// The last business date it can be approved on (`opened_on + proposal_ttl_days`).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub expires_on: NaiveDate,
    /// Approvals that count now: those of orgs that run a validator today.
    pub approvals: u32,
    /// Approvals a change needs with today's validator set (2f+1 of 3f+1).
    pub needed: u32,
    /// Validator orgs that have not approved it (empty unless it is open).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub waiting_for: Vec<OrgId>,
}

impl ProposalView {
    /// Where `proposal` stands given today's validator orgs, the network's
    /// `proposal_ttl_days` and the business date `today` (the ledger's, of its last
    /// executed block).
    pub fn new(
        proposal: Proposal,
        validator_orgs: &BTreeSet<OrgId>,
        ttl_days: u32,
        today: NaiveDate,
    ) -> ProposalView {
        let expires_on = proposal
            .opened_on
            .checked_add_days(chrono::Days::new(u64::from(ttl_days)))
            .unwrap_or(NaiveDate::MAX);
        let state = match proposal.status {
            ProposalStatus::Executed => ProposalState::Executed,
            ProposalStatus::Open if today > expires_on => ProposalState::Lapsed,
            ProposalStatus::Open => ProposalState::Open,
        };
        let approvals = proposal
            .approvals
            .iter()
            .filter(|o| validator_orgs.contains(*o))
            .count();
        let waiting_for = match state {
            ProposalState::Open => validator_orgs
                .iter()
                .filter(|o| !proposal.approvals.contains(o))
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        ProposalView {
            proposal,
            state,
            expires_on,
            approvals: u32::try_from(approvals).unwrap_or(u32::MAX),
            needed: u32::try_from(quorum(validator_orgs.len())).unwrap_or(u32::MAX),
            waiting_for,
        }
    }
}

/// A change in a few words, for the CLI's and the explorer's proposal lists (keys
/// shortened to their first 12 hex digits).
pub fn change_summary(change: &GovChange) -> String {
    let short = |k: &PublicKey| {
        let h = k.to_string();
        format!("{}..", &h[..h.len().min(12)])
    };
    match change {
        GovChange::AdmitOrg(s) => {
            let roles: Vec<String> = s
                .roles
                .iter()
                .map(|r| format!("{r:?}").to_lowercase())
                .collect();
            format!(
                "admit-org {} ({}; {}; tax id {})",
                s.id,
                s.name,
                roles.join(","),
                s.tax_id
            )
        }
        GovChange::AddMemberKey { org, key } => format!("add-key {org} {}", short(key)),
        GovChange::RevokeMemberKey { org, key } => format!("revoke-key {org} {}", short(key)),
        GovChange::SetParams(_) => "set-params".into(),
        GovChange::AddValidator(v) => format!("add-validator {} {}", v.org, short(&v.node_key)),
        GovChange::RemoveValidator { node_key } => format!("remove-validator {}", short(node_key)),
        GovChange::SetIssuanceLimit { debtor, limit } => match limit {
            Some(m) => format!("set-issuance-limit {debtor} {m}"),
            None => format!("set-issuance-limit {debtor} none"),
        },
    }
}

/// Query of `GET /v1/proposals`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ProposalQuery {
    /// Cursor: start after this proposal id (the `next` of the previous page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(value_type = Option<String>, pattern = "^[A-Za-z0-9._-]{1,64}$")
    )]
    pub after: Option<DocId>,
    /// Page size: 1 to 500 (`MAX_PAGE`), default 100 (`DEFAULT_PAGE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 500))]
    pub limit: Option<usize>,
}

/// `GET /v1/proposals`: one page of the proposals the caller may read, in id order
/// (text order: `GOV-10` before `GOV-2`). Read it like a [`crate::ReceivablePage`]: until
/// an answer has no `next`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProposalPage {
    /// The proposals of this page.
    pub items: Vec<ProposalView>,
    /// Where the next page starts (its `after`); absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub next: Option<DocId>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_primitives::SecretKey;

    fn org(s: &str) -> OrgId {
        OrgId::new(s).unwrap()
    }

    fn proposal(approvals: &[&str], status: ProposalStatus) -> Proposal {
        Proposal {
            id: DocId::new("GOV-1").unwrap(),
            proposer: org(approvals[0]),
            change: GovChange::RemoveValidator {
                node_key: SecretKey::from_seed([1; 32]).public(),
            },
            approvals: approvals.iter().map(|a| org(a)).collect(),
            status,
            opened_on: "2026-03-01".parse().unwrap(),
        }
    }

    fn validators() -> BTreeSet<OrgId> {
        ["BANK-A", "CORE-A", "CORE-B", "LOGI"]
            .iter()
            .map(|o| org(o))
            .collect()
    }

    #[test]
    fn an_open_proposal_names_who_it_waits_for_and_lapses_after_its_last_day() {
        let p = proposal(&["BANK-A", "CORE-A"], ProposalStatus::Open);
        let last = "2026-03-08".parse().unwrap();
        let v = ProposalView::new(p.clone(), &validators(), 7, last);
        assert_eq!(v.state, ProposalState::Open);
        assert_eq!(v.expires_on, last);
        assert_eq!((v.approvals, v.needed), (2, 3));
        assert_eq!(v.waiting_for, [org("CORE-B"), org("LOGI")]);
        let next_day = "2026-03-09".parse().unwrap();
        let lapsed = ProposalView::new(p, &validators(), 7, next_day);
        assert_eq!(lapsed.state, ProposalState::Lapsed);
        assert!(lapsed.waiting_for.is_empty());
    }

    #[test]
    fn approvals_of_orgs_that_left_the_validator_set_do_not_count() {
        let p = proposal(&["BANK-A", "OLD-V", "CORE-A"], ProposalStatus::Executed);
        let v = ProposalView::new(p, &validators(), 7, "2026-03-02".parse().unwrap());
        assert_eq!(v.state, ProposalState::Executed);
        assert_eq!(v.approvals, 2);
        assert!(v.waiting_for.is_empty());
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["state"], "executed");
        assert_eq!(json["expires_on"], "2026-03-08");
    }

    #[test]
    fn a_change_reads_in_a_few_words() {
        let k = SecretKey::from_seed([7; 32]).public();
        let spec = lianrong_contracts::model::OrgSpec {
            id: OrgId::new("SUP-9").unwrap(),
            name: "Widgets".into(),
            tax_id: "91440300MA5GYT9014".into(),
            roles: vec![lianrong_contracts::model::Role::Supplier],
            identifiers: vec![],
            keys: vec![k],
        };
        assert_eq!(
            change_summary(&GovChange::AdmitOrg(spec)),
            "admit-org SUP-9 (Widgets; supplier; tax id 91440300MA5GYT9014)"
        );
        let s = change_summary(&GovChange::RevokeMemberKey {
            org: OrgId::new("SUP-1").unwrap(),
            key: k,
        });
        assert!(
            s.starts_with("revoke-key SUP-1 ") && s.ends_with(".."),
            "{s}"
        );
    }

    /// Banks, auditors and validator orgs read every proposal; other orgs the ones they
    /// are a party to (here: the org losing a key); anyone else nothing.
    #[test]
    fn proposals_are_read_by_validator_orgs_banks_auditors_and_their_parties() {
        use crate::visibility::{proposal_for, Reader};
        let mut p = proposal(&["BANK-A"], ProposalStatus::Open);
        p.change = GovChange::RevokeMemberKey {
            org: org("SUP-1"),
            key: SecretKey::from_seed([2; 32]).public(),
        };
        let reader = |o: &str| Reader::Org(org(o));
        assert!(proposal_for(&Reader::Everything, p.clone(), false).is_some());
        assert!(proposal_for(&reader("CORE-B"), p.clone(), true).is_some());
        assert!(proposal_for(&reader("SUP-1"), p.clone(), false).is_some());
        assert!(proposal_for(&reader("SUP-2"), p, false).is_none());
    }
}
