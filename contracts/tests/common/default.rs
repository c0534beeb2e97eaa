//! Overdue and default shared by the tests: a disbursed financing with default terms, the
//! clock moved to a day past due, the ledger's figures, the permission matrix's fixture,
//! and the invariants of overdue financings.

// Shared by several test binaries, each using a part.
#![allow(dead_code)]

use chrono::Days;
use lianrong_contracts::exec::default::{figures, DefaultFigures};
use lianrong_contracts::model::{
    DocId, Financing, FinancingStatus, Offer, SettlementStatus, MAX_INVITED_BANKS,
};
use lianrong_contracts::money::{Amount, Rate};
use lianrong_contracts::testkit::World;
use lianrong_contracts::{Action, DocKind, Event};

use super::financed::Fixture;

/// The grace days of the test worlds' default parameters.
pub const GRACE_DAYS: u64 = 3;

pub use super::financed::financing;

/// `supplier`'s receivable of `face` on CORE-A due in `days`, financed by `bank` at
/// 3.65 % without fees (with `terms` = (annual penalty rate, recourse) named in the
/// offer, or a plain offer), accepted and disbursed the same day; returns (receivable,
/// financing).
pub fn financed(
    w: &mut World,
    supplier: &str,
    bank: &str,
    face: &str,
    days: i64,
    terms: Option<(Rate, bool)>,
) -> (DocId, DocId) {
    Fixture {
        supplier,
        bank,
        days,
        default_terms: terms,
        ..Fixture::new(face)
    }
    .disburse(w)
}

/// Moves the clock to `n` days past due of receivable `r` (maturity + grace + `n`) and
/// runs an empty block there, so the overdue sweep has run; returns that block's ledger
/// events.
pub fn overdue_on(w: &mut World, r: &DocId, n: u64) -> Vec<Event> {
    let target = w
        .receivable(r)
        .maturity
        .checked_add_days(Days::new(GRACE_DAYS + n))
        .unwrap();
    let ahead = (target - w.today()).num_days();
    assert!(ahead >= 0, "{r} is already past {n} days past due");
    w.advance_days(u64::try_from(ahead).unwrap());
    w.block(&[]).ledger_events
}

/// The ledger's figures of overdue financing `fid` as of the next block's date.
pub fn figures_today(w: &World, fid: &DocId) -> DefaultFigures {
    let f = financing(w, fid);
    let r = w.receivable(&f.receivable);
    figures(&f, &r, w.today())
        .unwrap()
        .unwrap_or_else(|| panic!("{fid} is not overdue"))
}

pub fn buyback(fid: &DocId, amount: &str, payment_ref: &str) -> Action {
    Action::InstructBuyback {
        financing: fid.clone(),
        amount: Amount::parse(amount).unwrap(),
        payment_ref: payment_ref.into(),
    }
}

pub fn write_off(fid: &DocId, amount: &str, reason: &str) -> Action {
    Action::WriteOff {
        financing: fid.clone(),
        amount: Amount::parse(amount).unwrap(),
        reason: reason.into(),
    }
}

/// The permission matrix's overdue financings: `recourse` (SUP-1 and BANK-A, with
/// recourse), `plain` (SUP-2 and BANK-B, without) and `pending` (SUP-3 and BANK-A, its
/// buy-back instructed); and today's claims of the first two.
pub struct MatrixDefaults {
    pub recourse: DocId,
    pub recourse_claim: Amount,
    pub plain: DocId,
    pub plain_claim: Amount,
    pub pending: DocId,
}

/// Builds [`MatrixDefaults`]: receivables due tomorrow, financed today, then the clock
/// moved one day past due.
pub fn matrix_defaults(w: &mut World) -> MatrixDefaults {
    let pct = |s: &str| Rate::parse(s).unwrap();
    let (r, recourse) = financed(w, "SUP-1", "BANK-A", "1000.00", 1, Some((pct("18"), true)));
    let (_, plain) = financed(w, "SUP-2", "BANK-B", "2000.00", 1, Some((pct("18"), false)));
    let (_, pending) = financed(w, "SUP-3", "BANK-A", "3000.00", 1, Some((pct("18"), true)));
    overdue_on(w, &r, 1);
    let claim = figures_today(w, &pending).claim.amount;
    w.ok(
        "SUP-3",
        Action::InstructBuyback {
            financing: pending.clone(),
            amount: claim,
            payment_ref: "SUP3-BB-FIX".into(),
        },
    );
    MatrixDefaults {
        recourse_claim: figures_today(w, &recourse).claim.amount,
        plain_claim: figures_today(w, &plain).claim.amount,
        recourse,
        plain,
        pending,
    }
}

/// Overdue financings: only disbursed ones are marked; a pending buy-back only on a
/// disbursed financing with recourse; a settled buy-back or a write-off closes the
/// financing, which no receivable links any more, and records exactly advance +
/// penalty; a write-off only without recourse; outside programmes the recourse recorded
/// is the accepted offer's.
pub fn check_defaults(w: &World, financings: &[Financing]) {
    for f in financings {
        if f.programme.is_none() {
            let offered = f
                .terms
                .as_ref()
                .and_then(|t| w.get::<Offer>(DocKind::Offer, t.offer.as_str()))
                .and_then(|o| o.recourse);
            assert_eq!(f.recourse, offered, "{} recourse is not its offer's", f.id);
        }
        assert!(f.banks.len() <= MAX_INVITED_BANKS);
        let Some(o) = &f.overdue else {
            continue;
        };
        assert!(f.disbursement.is_some(), "{} overdue undisbursed", f.id);
        assert!(
            o.penalty_from < o.since,
            "{} marked before it was due",
            f.id
        );
        let ended = o.ended_on().is_some();
        match f.status {
            FinancingStatus::Disbursed => assert!(!ended, "{} ended but live", f.id),
            FinancingStatus::Closed => {}
            s => panic!("{} overdue in status {s:?}", f.id),
        }
        if let Some(b) = &o.buyback {
            assert!(o.recourse, "{} bought back without recourse", f.id);
            assert_eq!(
                b.amount.amount,
                b.advanced.amount.checked_add(b.penalty.amount).unwrap()
            );
            if b.status == SettlementStatus::Pending {
                assert_eq!(f.status, FinancingStatus::Disbursed, "{} pending", f.id);
            }
        }
        if let Some(x) = &o.write_off {
            assert!(!o.recourse, "{} written off with recourse", f.id);
            assert!(o.buyback.is_none());
            assert_eq!(
                x.amount.amount,
                x.advanced.amount.checked_add(x.penalty.amount).unwrap()
            );
        }
        if ended {
            assert_eq!(f.status, FinancingStatus::Closed, "{} ended", f.id);
            let r = w.receivable(&f.receivable);
            assert_ne!(r.financing.as_ref(), Some(&f.id), "{} still linked", f.id);
        }
    }
}
