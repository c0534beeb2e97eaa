//! Who sees what: THE one filter every page, CSV export, lineage picture and live event
//! goes through ([`filter`] and [`one`]).
//!
//! The rule itself (who is a party, what is masked for whom) is written once in
//! `lianrong_api_types::visibility` and the node applies the same one: auditor and bank
//! accounts see everything unmasked; an org account sees the documents its org is a party
//! to, whole, documents reached through them (a lineage) masked, org records with every
//! identifier but its own masked, and transactions with identifiers masked. The node
//! token the explorer uses sees everything, so this module is what stands between the
//! ledger and a supplier's browser.

use std::collections::BTreeSet;

use lianrong_api_types::visibility::{self as rule, Reader};
use lianrong_contracts::model::Org;
use lianrong_primitives::OrgId;
use serde_json::Value;

pub use lianrong_api_types::visibility::{
    mask, mask_json, Document, OfferOfFinancing, ShipmentOfOrder,
};

/// The identity a page is rendered for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// Auditor or bank account: sees everything (the org, if any, is informational).
    Everything {
        /// The account's org, if configured.
        org: Option<String>,
    },
    /// An account bound to an org.
    Org(OrgId),
}

impl Viewer {
    /// True for auditor and bank accounts.
    pub fn sees_everything(&self) -> bool {
        matches!(self, Viewer::Everything { .. })
    }

    /// The org a viewer acts for.
    pub fn org(&self) -> Option<&str> {
        match self {
            Viewer::Org(o) => Some(o.as_str()),
            Viewer::Everything { org } => org.as_deref(),
        }
    }

    /// The viewer as the node's visibility rule sees a reader.
    pub fn reader(&self) -> Reader {
        match self {
            Viewer::Everything { .. } => Reader::Everything,
            Viewer::Org(o) => Reader::Org(o.clone()),
        }
    }
}

/// The items `viewer` may see (as the node would show them). Every list view and CSV
/// export uses this.
pub fn filter<T: Shown>(viewer: &Viewer, items: impl IntoIterator<Item = T>) -> Vec<T> {
    items.into_iter().filter_map(|i| one(viewer, i)).collect()
}

/// The item if `viewer` may see it, as the node would show it. Every detail page uses
/// this; `None` is shown exactly like a missing document.
pub fn one<T: Shown>(viewer: &Viewer, item: T) -> Option<T> {
    let reader = viewer.reader();
    let mut item = rule::readable(&reader, item)?;
    if item.masked_for(&reader) {
        item.mask_identifiers();
    }
    Some(item)
}

/// A document, or a record of the explorer's own, as pages show it.
pub trait Shown: Document {
    /// True if `reader`, who may see it, sees it masked. Documents are shown whole to
    /// their parties (docs/domain.md, "Privacy"); a transaction follows the node's
    /// transaction rule (`tx_access`: whole for its signer, masked for other parties).
    fn masked_for(&self, _reader: &Reader) -> bool {
        false
    }
}

impl Shown for lianrong_contracts::model::Order {}
impl Shown for lianrong_contracts::model::Invoice {}
impl Shown for lianrong_contracts::model::Receivable {}
impl Shown for lianrong_contracts::model::Financing {}
impl Shown for ShipmentOfOrder {}
/// Debtor and payee read a settlement whole (its payment reference too), as the node
/// shows it; nobody else reads it.
impl Shown for lianrong_contracts::model::Settlement {}
impl Shown for OfferOfFinancing {}
/// The warehouse, the owner, the pledgee and the bank offered the pledge read a receipt
/// whole (it carries no identifiers to mask); nobody else reads it.
impl Shown for lianrong_contracts::model::WarehouseReceipt {}
/// Banks and auditors read every credit limit, a core enterprise its own issuance limit
/// (`visibility::may_read_limit`).
impl Shown for lianrong_api_types::LimitView {}
/// A programme's bank, core and eligible suppliers read it (with the use of its limit);
/// banks and auditors read all.
impl Shown for lianrong_api_types::ProgrammeView {}
/// A loan's borrower and bank read it (with today's figures); banks and auditors read all.
impl Shown for lianrong_api_types::LoanView {}
/// A sale's two banks read it (its price is theirs); banks and auditors read all.
impl Shown for lianrong_api_types::SaleView {}
/// The org whose policy held an action reads it (and who approved it); banks and
/// auditors read all.
impl Shown for lianrong_api_types::ApprovalView {}

/// Orgs are listed for everyone (the node does the same), with identifiers masked but
/// the viewer's own and its `counterparties'` (orgs it trades with, see
/// `IndexData::counterparties`).
pub fn orgs(
    viewer: &Viewer,
    counterparties: &BTreeSet<OrgId>,
    items: impl IntoIterator<Item = Org>,
) -> Vec<Org> {
    let reader = viewer.reader();
    items
        .into_iter()
        .map(|o| {
            let counterparty = counterparties.contains(&o.id);
            rule::org_for(&reader, o, counterparty)
        })
        .collect()
}

/// A document reached through something `viewer` may see (a receivable's lineage): whole
/// for its parties, masked for anyone else.
pub fn seen_from_outside<T: Document>(viewer: &Viewer, doc: T) -> T {
    rule::seen_from_outside(&viewer.reader(), doc)
}

/// A governance proposal as `viewer` may see it (the node's rule,
/// `visibility::proposal_for`): whole for auditor and bank accounts, accounts of orgs in
/// `validator_orgs` (they vote on it) and its parties; `None` for anyone else.
pub fn proposal(
    viewer: &Viewer,
    validator_orgs: &BTreeSet<OrgId>,
    p: lianrong_contracts::model::Proposal,
) -> Option<lianrong_contracts::model::Proposal> {
    let reader = viewer.reader();
    let runs_validator = matches!(&reader, Reader::Org(o) if validator_orgs.contains(o));
    rule::proposal_for(&reader, p, runs_validator)
}

/// Masks a decoded action or event for a restricted viewer (see [`mask_json`]).
pub fn mask_json_for(viewer: &Viewer, v: &mut Value) {
    if !viewer.sees_everything() {
        mask_json(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::testdata;

    #[test]
    fn org_viewers_see_only_their_documents_and_those_whole() {
        let inv = testdata::invoice("INV-1", "SUP-1", "CORE-A", "2027-01-31", "100.00");
        let other = testdata::invoice("INV-2", "SUP-2", "CORE-B", "2027-01-31", "100.00");
        let sup1 = Viewer::Org(OrgId::new("SUP-1").unwrap());
        let audit = Viewer::Everything { org: None };
        let seen = filter(&sup1, vec![inv.clone(), other.clone()]);
        assert_eq!(
            seen,
            vec![inv.clone()],
            "a party reads its invoice whole, as the node shows it"
        );
        assert!(one(&sup1, other.clone()).is_none());
        let outside = seen_from_outside(&sup1, other.clone());
        assert_eq!(outside.seller_tax_id, mask(&other.seller_tax_id));
        assert_eq!(outside.buyer_tax_id, mask(&other.buyer_tax_id));
        let all = filter(&audit, vec![inv.clone(), other]);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0], inv, "auditors see everything unmasked");
    }
}
