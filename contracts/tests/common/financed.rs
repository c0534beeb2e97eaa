//! The disbursed financing the default and secondary-sale tests start from, and the
//! helpers both use: one fixture, so a change to how a financing is requested, offered,
//! accepted or disbursed is made once.

// Shared by several test binaries, each using a part.
#![allow(dead_code)]

use lianrong_contracts::model::{DocId, Financing};
use lianrong_contracts::money::{Amount, Rate};
use lianrong_contracts::state::keys;
use lianrong_contracts::testkit::{member_key, org, World};
use lianrong_contracts::{Action, ContractError, DocKind, Event};

/// A financing to disburse: `supplier`'s receivable of `face` on CORE-A due in `days`,
/// offered by `bank` at `rate` % with `fees` (and, with `default_terms`, the annual
/// penalty rate and recourse named in the offer), valid today.
#[derive(Debug, Clone)]
pub struct Fixture<'a> {
    pub supplier: &'a str,
    pub bank: &'a str,
    pub face: &'a str,
    pub days: i64,
    pub rate: &'a str,
    pub fees: &'a str,
    pub default_terms: Option<(Rate, bool)>,
}

impl<'a> Fixture<'a> {
    /// SUP-1's receivable of `face` due in 90 days, BANK-A at 3.65 % without fees or
    /// default terms.
    pub fn new(face: &'a str) -> Self {
        Fixture {
            supplier: "SUP-1",
            bank: "BANK-A",
            face,
            days: 90,
            rate: "3.65",
            fees: "0",
            default_terms: None,
        }
    }

    /// Requests, offers, accepts and disburses it the same day (the disbursement not
    /// acknowledged); returns (receivable, financing).
    pub fn disburse(&self, w: &mut World) -> (DocId, DocId) {
        let r = w.trade_to_receivable("CORE-A", self.supplier, self.face, self.days);
        let ev = w.ok(
            self.supplier,
            Action::RequestFinancing {
                receivable: r.clone(),
                banks: vec![org(self.bank)],
            },
        );
        let Event::FinancingRequested { financing: fid, .. } = &ev[0] else {
            panic!("{ev:?}")
        };
        let rate = Rate::parse(self.rate).unwrap();
        let fees = Amount::parse(self.fees).unwrap();
        let valid_until = w.today();
        let offer = match self.default_terms {
            Some((penalty_rate, recourse)) => Action::OfferFinancingWithTerms {
                financing: fid.clone(),
                rate,
                fees,
                valid_until,
                penalty_rate,
                recourse,
            },
            None => Action::OfferFinancing {
                financing: fid.clone(),
                rate,
                fees,
                valid_until,
            },
        };
        let ev = w.ok(self.bank, offer);
        let Event::OfferMade { offer, .. } = &ev[0] else {
            panic!("{ev:?}")
        };
        let ev = w.ok(
            self.supplier,
            Action::AcceptOffer {
                offer: offer.clone(),
            },
        );
        let Event::OfferAccepted { net, .. } = &ev[0] else {
            panic!("{ev:?}")
        };
        w.ok(
            self.bank,
            Action::Disburse {
                financing: fid.clone(),
                payment_ref: format!("PAY-{fid}"),
                net: net.amount,
            },
        );
        (r, fid.clone())
    }
}

/// A committed financing.
pub fn financing(w: &World, id: &DocId) -> Financing {
    w.get(DocKind::Financing, id.as_str()).unwrap()
}

/// Runs `action` as `who`, expects a refusal, and checks that only the signer's nonce and
/// the chain metadata were written.
pub fn refused(w: &mut World, who: &str, action: Action) -> ContractError {
    let tx = w.sign(who, action);
    let out = w.block(&[tx]);
    let e = match &out.receipts[0].outcome {
        Err(e) => e.clone(),
        Ok(ev) => panic!("{who} was allowed: {ev:?}"),
    };
    let nonce = keys::nonce(&member_key(who).public());
    for k in out.changes.values.keys() {
        assert!(
            k == &nonce || k.as_slice() == keys::META,
            "refused {e:?} wrote {}",
            String::from_utf8_lossy(k)
        );
    }
    e
}
