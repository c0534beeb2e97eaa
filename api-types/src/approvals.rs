//! Held actions (dual control) as the API shows them (`GET /v1/approvals`,
//! `/v1/approvals/{id}`): the ledger's record and where it stands -- pending, executed,
//! rejected or lapsed -- with the approvals that count today. "Lapsed" and "count today"
//! depend on the business date and on which keys are still active and in scope, so they
//! are computed here once, by the contract's rules (`lianrong_contracts::exec::approvals`:
//! a held action executes up to `expires_on`; only active, in-scope keys count).

use chrono::NaiveDate;
use lianrong_contracts::model::{ApprovalStatus, DocId, PendingApproval};
use lianrong_primitives::PublicKey;
use serde::{Deserialize, Serialize};

/// Where a held action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ApprovalState {
    /// Waiting for approvals.
    Pending,
    /// The policy was met and the action executed.
    Executed,
    /// A member key of the org rejected it.
    Rejected,
    /// Pending past its last day: it can no longer execute.
    Lapsed,
}

impl ApprovalState {
    /// Its JSON name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Executed => "executed",
            ApprovalState::Rejected => "rejected",
            ApprovalState::Lapsed => "lapsed",
        }
    }
}

/// A held action and where it stands as of the ledger's last executed block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalView {
    /// The ledger's record (org, action, amount, keys that signed in order, dates).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub approval: PendingApproval,
    /// Pending, executed, rejected or lapsed.
    pub state: ApprovalState,
    /// The held action's name (`confirm_invoice`, ...).
    pub action: String,
    /// Approvals that count now: keys still active members of the org and in scope.
    pub counted: u32,
    /// Distinct keys the policy asked for when it was opened.
    pub required: u32,
}

impl ApprovalView {
    /// Where `approval` stands on business date `today`; `counts` tells whether a key's
    /// approval counts today (active member of the org, in scope for the action).
    pub fn new(
        approval: PendingApproval,
        today: NaiveDate,
        counts: impl Fn(&PublicKey) -> bool,
    ) -> ApprovalView {
        let state = match approval.status {
            ApprovalStatus::Executed => ApprovalState::Executed,
            ApprovalStatus::Rejected => ApprovalState::Rejected,
            ApprovalStatus::Pending if today > approval.expires_on => ApprovalState::Lapsed,
            ApprovalStatus::Pending => ApprovalState::Pending,
        };
        let counted = approval.approvals.iter().filter(|k| counts(k)).count();
        ApprovalView {
            action: approval.action.name().into(),
            required: u32::from(approval.required),
            counted: u32::try_from(counted).unwrap_or(u32::MAX),
            state,
            approval,
        }
    }
}

/// Query of `GET /v1/approvals`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ApprovalQuery {
    /// Only held actions in this state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ApprovalState>,
    /// Cursor: start after this id (the `next` of the previous page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(value_type = Option<String>, pattern = "^[A-Za-z0-9._-]{1,64}$")
    )]
    pub after: Option<DocId>,
    /// Page size: 1 to 500, default 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 500))]
    pub limit: Option<usize>,
}

/// `GET /v1/approvals`: one page of the held actions the caller may read (its own org's;
/// banks and auditors all), in id order; read until an answer has no `next`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalPage {
    /// The held actions of this page.
    pub items: Vec<ApprovalView>,
    /// Where the next page starts (its `after`); absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub next: Option<DocId>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_contracts::Action;
    use lianrong_primitives::{OrgId, SecretKey};

    fn held(status: ApprovalStatus) -> PendingApproval {
        PendingApproval {
            id: DocId::new("APR-1").unwrap(),
            org: OrgId::new("CORE-A").unwrap(),
            action: Action::VoidInvoice {
                invoice: DocId::new("INV-1").unwrap(),
            },
            amount: None,
            required: 2,
            approvals: vec![
                SecretKey::from_seed([1; 32]).public(),
                SecretKey::from_seed([2; 32]).public(),
            ],
            status,
            opened_on: "2026-03-01".parse().unwrap(),
            expires_on: "2026-03-04".parse().unwrap(),
            rejection: None,
        }
    }

    #[test]
    fn a_pending_action_lapses_after_its_last_day_and_only_counting_keys_count() {
        let first = SecretKey::from_seed([1; 32]).public();
        let last_day = "2026-03-04".parse().unwrap();
        let after = "2026-03-05".parse().unwrap();
        let v = ApprovalView::new(held(ApprovalStatus::Pending), last_day, |k| *k == first);
        assert_eq!(
            (v.state, v.counted, v.required, v.action.as_str()),
            (ApprovalState::Pending, 1, 2, "void_invoice")
        );
        let v = ApprovalView::new(held(ApprovalStatus::Pending), after, |_| true);
        assert_eq!((v.state, v.counted), (ApprovalState::Lapsed, 2));
        let v = ApprovalView::new(held(ApprovalStatus::Executed), after, |_| true);
        assert_eq!(v.state, ApprovalState::Executed);
    }
}
