//! Who sees what: THE one filter every page, CSV export, lineage picture and live event
//! goes through ([`filter`] and [`one`]).
//!
//! Auditor and bank accounts see everything unmasked. An org account sees only documents
//! its org is a party to, and every tax id, identifier and payment / account reference
//! masked except its own org's. The node token the explorer uses sees everything, so
//! this module is what stands between the ledger and a supplier's browser.

use lianrong_contracts::model::{Financing, Invoice, Order, Org, Receivable, Shipment};
use serde_json::Value;

/// The identity a page is rendered for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// Auditor or bank account: sees everything (the org, if any, is informational).
    Everything {
        /// The account's org, if configured.
        org: Option<String>,
    },
    /// An account bound to an org.
    Org(String),
}

impl Viewer {
    /// True for auditor and bank accounts.
    pub fn sees_everything(&self) -> bool {
        matches!(self, Viewer::Everything { .. })
    }

    /// The org a restricted viewer acts for.
    pub fn org(&self) -> Option<&str> {
        match self {
            Viewer::Org(o) => Some(o),
            Viewer::Everything { org } => org.as_deref(),
        }
    }

    fn is(&self, org: &str) -> bool {
        matches!(self, Viewer::Org(o) if o == org)
    }

    /// May this viewer see something whose parties are `parties`?
    pub fn may_see<'a>(&self, mut parties: impl Iterator<Item = &'a str>) -> bool {
        match self {
            Viewer::Everything { .. } => true,
            Viewer::Org(o) => parties.any(|p| p == o),
        }
    }
}

pub use lianrong_primitives::mask;

/// Something shown to users: who it belongs to and how to mask it.
pub trait Visible {
    /// The orgs party to it.
    fn parties(&self) -> Vec<&str>;
    /// Masks identifiers a restricted `viewer` must not read in full.
    fn mask_for(&mut self, viewer: &Viewer);
}

/// The items `viewer` may see, masked for it. Every list view and CSV export uses this.
pub fn filter<T: Visible>(viewer: &Viewer, items: impl IntoIterator<Item = T>) -> Vec<T> {
    items.into_iter().filter_map(|i| one(viewer, i)).collect()
}

/// The item if `viewer` may see it, masked for it. Every detail page uses this; `None`
/// is shown exactly like a missing document.
pub fn one<T: Visible>(viewer: &Viewer, mut item: T) -> Option<T> {
    if !viewer.may_see(item.parties().into_iter()) {
        return None;
    }
    if !viewer.sees_everything() {
        item.mask_for(viewer);
    }
    Some(item)
}

impl Visible for Org {
    /// Org records are public within the network (names and roles); identifiers are not.
    fn parties(&self) -> Vec<&str> {
        vec![]
    }
    fn mask_for(&mut self, viewer: &Viewer) {
        if !viewer.is(self.id.as_str()) {
            self.tax_id = mask(&self.tax_id);
            self.identifiers = self.identifiers.iter().map(|i| mask(i)).collect();
        }
    }
}

/// Orgs are listed for everyone (the node does the same), masked.
pub fn orgs(viewer: &Viewer, items: impl IntoIterator<Item = Org>) -> Vec<Org> {
    items
        .into_iter()
        .map(|mut o| {
            if !viewer.sees_everything() {
                o.mask_for(viewer);
            }
            o
        })
        .collect()
}

impl Visible for Order {
    fn parties(&self) -> Vec<&str> {
        vec![self.buyer.as_str(), self.seller.as_str()]
    }
    fn mask_for(&mut self, _viewer: &Viewer) {}
}

/// A shipment with the parties of its order (the node's rule: carrier and order parties).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipmentView {
    /// The shipment.
    pub shipment: Shipment,
    /// Buyer and seller of its order, if known.
    pub order_parties: Vec<String>,
}

impl Visible for ShipmentView {
    fn parties(&self) -> Vec<&str> {
        let mut v = vec![self.shipment.carrier.as_str()];
        v.extend(self.order_parties.iter().map(String::as_str));
        v
    }
    fn mask_for(&mut self, _viewer: &Viewer) {}
}

impl Visible for Invoice {
    fn parties(&self) -> Vec<&str> {
        vec![self.seller.as_str(), self.buyer.as_str()]
    }
    fn mask_for(&mut self, viewer: &Viewer) {
        if !viewer.is(self.seller.as_str()) {
            self.seller_tax_id = mask(&self.seller_tax_id);
        }
        if !viewer.is(self.buyer.as_str()) {
            self.buyer_tax_id = mask(&self.buyer_tax_id);
        }
    }
}

impl Visible for Receivable {
    fn parties(&self) -> Vec<&str> {
        vec![self.holder.as_str(), self.debtor.as_str()]
    }
    fn mask_for(&mut self, _viewer: &Viewer) {}
}

impl Visible for Financing {
    fn parties(&self) -> Vec<&str> {
        let mut v = vec![self.applicant.as_str()];
        v.extend(self.banks.iter().map(|b| b.as_str()));
        v
    }
    fn mask_for(&mut self, viewer: &Viewer) {
        if !viewer.is(self.applicant.as_str()) {
            self.payment_ref = self.payment_ref.as_deref().map(mask);
        }
    }
}

/// Field names whose values are identifiers masked for restricted viewers wherever they
/// appear in decoded actions and events.
const SENSITIVE_KEYS: [&str; 5] = [
    "tax_id",
    "seller_tax_id",
    "buyer_tax_id",
    "payment_ref",
    "identifiers",
];

/// Masks every sensitive field (see `SENSITIVE_KEYS`) anywhere inside a JSON value.
pub fn mask_json(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if SENSITIVE_KEYS.contains(&k.as_str()) {
                    match val {
                        Value::String(s) => *s = mask(s),
                        Value::Array(items) => {
                            for i in items {
                                if let Value::String(s) = i {
                                    *s = mask(s);
                                }
                            }
                        }
                        _ => {}
                    }
                } else {
                    mask_json(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_json),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::testdata;

    #[test]
    fn org_viewers_see_only_their_documents_masked() {
        let inv = testdata::invoice("INV-1", "SUP-1", "CORE-A", "2027-01-31", "100.00");
        let other = testdata::invoice("INV-2", "SUP-2", "CORE-B", "2027-01-31", "100.00");
        let sup1 = Viewer::Org("SUP-1".into());
        let audit = Viewer::Everything { org: None };
        let seen = filter(&sup1, vec![inv.clone(), other.clone()]);
        assert_eq!(seen.len(), 1);
        assert_eq!(
            seen[0].seller_tax_id, inv.seller_tax_id,
            "own tax id in full"
        );
        assert_eq!(seen[0].buyer_tax_id, mask(&inv.buyer_tax_id));
        assert!(one(&sup1, other.clone()).is_none());
        let all = filter(&audit, vec![inv.clone(), other]);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0], inv, "auditors see everything unmasked");
    }

    #[test]
    fn sensitive_json_fields_are_masked_deeply() {
        let mut v = serde_json::json!({"RegisterInvoice": {"invoice": {
            "seller_tax_id": "91330000MA2SUP106X", "number": "FP-1"},
            "identifiers": ["0088:1234567890"]}, "payment_ref": "6222020200112233"});
        mask_json(&mut v);
        assert_eq!(
            v["RegisterInvoice"]["invoice"]["seller_tax_id"],
            "9133************6X"
        );
        assert_eq!(v["RegisterInvoice"]["invoice"]["number"], "FP-1");
        assert_eq!(v["RegisterInvoice"]["identifiers"][0], "0088*********90");
        assert_eq!(v["payment_ref"], "6222**********33");
    }
}
