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

/// An invoice as this caller may see it: shown to someone outside its parties (a
/// later holder of a receivable born of it, reading that receivable's lineage), both
/// tax ids are masked.
pub fn invoice_view(c: &Caller, mut i: Invoice) -> Invoice {
    if !invoice(c, &i) {
        i.seller_tax_id = mask(&i.seller_tax_id);
        i.buyer_tax_id = mask(&i.buyer_tax_id);
    }
    i
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

    #[test]
    fn an_invoice_shown_outside_its_parties_has_its_tax_ids_masked() {
        let day = |m| chrono::NaiveDate::from_ymd_opt(2026, m, 1).unwrap();
        let id = |s: &str| lianrong_contracts::model::DocId::new(s).unwrap();
        let inv = Invoice {
            id: id("INV-1"),
            order: id("PO-1"),
            seller: OrgId::new("SUP-1").unwrap(),
            buyer: OrgId::new("CORE-A").unwrap(),
            number: "JN-1".into(),
            issue_date: day(1),
            due_date: day(4),
            amount: lianrong_contracts::money::Money::parse("100.00", "CNY").unwrap(),
            seller_tax_id: "91310000MA1SUP0001".into(),
            buyer_tax_id: "91310000MA1COREA3X".into(),
            doc_hash: lianrong_primitives::Hash::ZERO,
            fingerprint: lianrong_primitives::Hash::ZERO,
            status: lianrong_contracts::model::InvoiceStatus::Confirmed,
            receivable: Some(id("RCV-1")),
            dispute_reason: None,
            registered_by: OrgId::new("CORE-A").unwrap(),
        };
        let caller = |org: &str, role: Role| Caller {
            org: OrgId::new(org).unwrap(),
            roles: vec![role],
        };
        let tier2 = invoice_view(&caller("SUP-3", Role::Supplier), inv.clone());
        assert_eq!(tier2.seller_tax_id, "9131************01");
        assert_eq!(tier2.buyer_tax_id, "9131************3X");
        for party in [
            caller("SUP-1", Role::Supplier),
            caller("CORE-A", Role::Core),
            caller("AUDIT", Role::Auditor),
        ] {
            assert_eq!(invoice_view(&party, inv.clone()), inv, "{}", party.org);
        }
    }
}
