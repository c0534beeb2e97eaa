//! Who may read what (domain.md, "Privacy"): banks and auditors read everything; any
//! other org reads the documents it is a party to, and sees other orgs' tax ids and
//! identifiers masked.

use lianrong_contracts::model::{
    Financing, Invoice, Offer, Order, Org, Receivable, Shipment, WarehouseReceipt,
};
use lianrong_primitives::OrgId;

use super::auth::Caller;

pub use lianrong_primitives::mask;

fn is(c: &Caller, org: &OrgId) -> bool {
    &c.org == org
}

/// An org record as this caller may see it.
pub fn org_view(c: &Caller, mut o: Org) -> Org {
    if !c.sees_everything() && !is(c, &o.id) {
        o.tax_id = mask(&o.tax_id);
        o.identifiers = o.identifiers.iter().map(|i| mask(i)).collect();
    }
    o
}

/// Orders: buyer and seller.
pub fn order(c: &Caller, o: &Order) -> bool {
    c.sees_everything() || is(c, &o.buyer) || is(c, &o.seller)
}

/// Shipments: the carrier and the order's parties.
pub fn shipment(c: &Caller, s: &Shipment, o: Option<&Order>) -> bool {
    c.sees_everything() || is(c, &s.carrier) || o.is_some_and(|o| order(c, o))
}

/// Warehouse receipts: warehouse, owner and pledgee.
pub fn warehouse_receipt(c: &Caller, r: &WarehouseReceipt) -> bool {
    c.sees_everything()
        || is(c, &r.warehouse)
        || is(c, &r.owner)
        || r.pledgee.as_ref().is_some_and(|p| is(c, p))
}

/// Invoices: seller and buyer.
pub fn invoice(c: &Caller, i: &Invoice) -> bool {
    c.sees_everything() || is(c, &i.seller) || is(c, &i.buyer)
}

/// Receivables: holder and debtor.
pub fn receivable(c: &Caller, r: &Receivable) -> bool {
    c.sees_everything() || is(c, &r.holder) || is(c, &r.debtor)
}

/// Financings: the applicant and the invited banks (banks see everything anyway).
pub fn financing(c: &Caller, f: &Financing) -> bool {
    c.sees_everything() || is(c, &f.applicant) || f.banks.iter().any(|b| is(c, b))
}

/// Offers: the offering bank and the financing's applicant.
pub fn offer(c: &Caller, o: &Offer, f: Option<&Financing>) -> bool {
    c.sees_everything() || is(c, &o.bank) || f.is_some_and(|f| is(c, &f.applicant))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_contracts::model::Role;

    #[test]
    fn others_see_masked_tax_ids_and_self_sees_its_own() {
        let org = Org {
            id: OrgId::new("CORE-A").unwrap(),
            name: "Core".into(),
            tax_id: "91310000MA1COREA3X".into(),
            roles: vec![Role::Core],
            identifiers: vec!["0088:1234567890".into()],
            keys: vec![],
            revoked_keys: vec![],
            admitted_at: 0,
        };
        let supplier = Caller {
            org: OrgId::new("SUP-1").unwrap(),
            roles: vec![Role::Supplier],
        };
        let auditor = Caller {
            org: OrgId::new("AUDIT").unwrap(),
            roles: vec![Role::Auditor],
        };
        let own = Caller {
            org: OrgId::new("CORE-A").unwrap(),
            roles: vec![Role::Core],
        };
        assert_eq!(
            org_view(&supplier, org.clone()).tax_id,
            "9131************3X"
        );
        assert_eq!(org_view(&auditor, org.clone()).tax_id, org.tax_id);
        assert_eq!(org_view(&own, org.clone()).tax_id, org.tax_id);
    }
}
