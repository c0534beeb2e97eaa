//! Secondary sale for the integration tests: a disbursed financing to sell, sales in
//! every status for the permission matrix, and the sale invariants of domain.md.

// Not every test binary uses every helper.
#![allow(dead_code)]

use std::collections::BTreeMap;

use lianrong_contracts::model::{
    DocId, Financing, Sale, SaleStatus, SettlementStatus, MAX_SALE_PAYMENTS,
};
use lianrong_contracts::money::Amount;
use lianrong_contracts::state::{keys, Storage};
use lianrong_contracts::testkit::{org, World};
use lianrong_contracts::{Action, DocKind, Event};
use lianrong_primitives::decode;

use super::financed::Fixture;

/// SUP-1's receivable of `face` CNY owed by CORE-A in 90 days, financed by BANK-A at
/// `rate` % with `fees`, disbursed the same day and acknowledged; (financing, receivable).
pub fn disbursed(w: &mut World, face: &str, rate: &str, fees: &str) -> (DocId, DocId) {
    let (rcv, fin) = Fixture {
        rate,
        fees,
        ..Fixture::new(face)
    }
    .disburse(w);
    w.ok(
        "SUP-1",
        Action::AcknowledgeDisbursement {
            financing: fin.clone(),
        },
    );
    (fin, rcv)
}

/// `OfferSale` of the whole (`part` = None) or a part, valid today.
pub fn sell(w: &World, fin: &DocId, buyer: &str, part: Option<&str>, price: &str) -> Action {
    Action::OfferSale {
        financing: fin.clone(),
        buyer: org(buyer),
        part: part.map(|p| Amount::parse(p).unwrap()),
        price: Amount::parse(price).unwrap(),
        valid_until: w.today(),
    }
}

/// The sale id an offer's events name.
pub fn sale_id(events: &[Event]) -> DocId {
    match &events[0] {
        Event::SaleOffered { sale, .. } => sale.clone(),
        e => panic!("unexpected {e:?}"),
    }
}

/// A committed sale.
pub fn sale(w: &World, id: &DocId) -> Sale {
    w.get(DocKind::Sale, id.as_str()).unwrap()
}

pub use super::financed::financing;

/// BANK-A's sales to BANK-B in the states the permission matrix needs.
pub struct MatrixSales {
    /// A disbursed financing of BANK-A, not offered.
    pub free: DocId,
    /// A sale offered, not answered.
    pub offered: DocId,
    /// A sale accepted, its price unpaid.
    pub sold: DocId,
    /// A sale accepted with its price payment pending.
    pub paying: DocId,
}

/// Builds [`MatrixSales`] (financings of 10,000.00 each).
pub fn matrix_sales(w: &mut World) -> MatrixSales {
    let mut offered = || {
        let (fin, _) = disbursed(w, "10000.00", "4", "0");
        let a = sell(w, &fin, "BANK-B", None, "9900.00");
        sale_id(&w.ok("BANK-A", a))
    };
    let (offered, sold, paying) = (offered(), offered(), offered());
    let (free, _) = disbursed(w, "10000.00", "4", "0");
    for s in [&sold, &paying] {
        w.ok("BANK-B", Action::AcceptSale { sale: s.clone() });
    }
    w.ok(
        "BANK-B",
        Action::PaySale {
            sale: paying.clone(),
            payment_ref: "BANK-B-SALE-1".into(),
        },
    );
    MatrixSales {
        free,
        offered,
        sold,
        paying,
    }
}

/// Sales: exactly the offered ones lock their financing (`selling/<FIN>`); a paid sale
/// has its payment acknowledged and no other sale is paid; a sale past its offer moved
/// exactly the face it names; at most [`MAX_SALE_PAYMENTS`] payments each.
pub fn check_sales(w: &World) {
    let sales: Vec<Sale> = w
        .store
        .scan_prefix(&keys::doc_prefix(DocKind::Sale), usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(_, v)| decode(&v, 1 << 20).unwrap())
        .collect();
    let mut locks: BTreeMap<DocId, DocId> = BTreeMap::new();
    for s in &sales {
        assert!(s.payments <= MAX_SALE_PAYMENTS, "{} payments", s.id);
        assert!(
            s.price.amount <= s.face().amount,
            "{} price over face",
            s.id
        );
        let paid = s
            .payment
            .as_ref()
            .is_some_and(|p| p.status == SettlementStatus::Acknowledged);
        assert_eq!(paid, s.status == SaleStatus::Paid, "{} paid", s.id);
        match s.status {
            SaleStatus::Offered => {
                assert!(locks.insert(s.financing.clone(), s.id.clone()).is_none());
                assert!(s.transfer.is_none());
            }
            SaleStatus::Sold | SaleStatus::Paid => {
                let t = s.transfer.as_ref().expect("an accepted sale's transfer");
                assert_eq!(t.face, s.face(), "{} face moved", s.id);
                let f: Financing = w.get(DocKind::Financing, t.financing.as_str()).unwrap();
                assert_eq!(f.applicant, financing(w, &s.financing).applicant);
            }
            SaleStatus::Declined | SaleStatus::Withdrawn => {
                assert!(s.transfer.is_none() && s.closed_on.is_some());
            }
        }
    }
    let stored: BTreeMap<DocId, DocId> = w
        .store
        .scan_prefix(b"selling/", usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(k, v)| {
            let fin = String::from_utf8(k).unwrap();
            let fin = DocId::new(fin.trim_start_matches("selling/")).unwrap();
            (fin, decode(&v, 1024).unwrap())
        })
        .collect();
    assert_eq!(
        stored, locks,
        "open-sale locks differ from the offered sales"
    );
}
