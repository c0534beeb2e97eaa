//! Inventory finance for the integration tests: fixtures (pledged receipts, prices,
//! loans in every status) and the loan invariants of domain.md.

// Not every test binary uses every helper.
#![allow(dead_code)]

use std::collections::BTreeMap;

use lianrong_contracts::model::{
    DocId, Loan, LoanStatus, ReceiptStatus, WarehouseReceipt, MAX_LOAN_RECEIPTS,
};
use lianrong_contracts::money::{Amount, Quantity, Rate, Unit};
use lianrong_contracts::state::{keys, Storage};
use lianrong_contracts::testkit::{cny, org, World};
use lianrong_contracts::{Action, DocKind, Event};
use lianrong_primitives::{decode, Hash};

/// A receipt LOGI issues to `owner` for `qty` `unit` of `goods`, pledged to `bank`.
pub fn pledged_receipt(
    w: &mut World,
    owner: &str,
    bank: &str,
    goods: &str,
    qty: &str,
    unit: &str,
) -> DocId {
    let id = w.fresh_id("WR");
    w.ok(
        "LOGI",
        Action::IssueWarehouseReceipt {
            id: id.clone(),
            owner: org(owner),
            lot: format!("LOT-{id}"),
            goods: goods.into(),
            quantity: Quantity::parse(qty).unwrap(),
            unit: Unit::parse(unit).unwrap(),
            doc_hash: Hash::ZERO,
        },
    );
    w.ok(
        owner,
        Action::OfferPledge {
            receipt: id.clone(),
            bank: org(bank),
        },
    );
    w.ok(
        bank,
        Action::AcceptPledge {
            receipt: id.clone(),
        },
    );
    id
}

/// The bank posts a CNY price per unit.
pub fn post_price(w: &mut World, bank: &str, goods: &str, unit: &str, price: &str) {
    w.ok(bank, post_price_action(goods, unit, price));
}

/// The action posting a CNY price per unit.
pub fn post_price_action(goods: &str, unit: &str, price: &str) -> Action {
    Action::PostPrice {
        goods: goods.into(),
        unit: Unit::parse(unit).unwrap(),
        price: cny(price),
    }
}

/// Terms a bank offers: rate, ltv_max, margin-call LTV (percent), cure days; maturity
/// 180 days ahead.
pub fn offer_action(w: &World, loan: &DocId, ltv_max: &str, margin: &str, cure: u32) -> Action {
    Action::OfferLoan {
        loan: loan.clone(),
        rate: Rate::parse("4.5").unwrap(),
        ltv_max: Rate::parse(ltv_max).unwrap(),
        margin_call_ltv: Rate::parse(margin).unwrap(),
        cure_days: cure,
        maturity: w.today() + chrono::Days::new(180),
    }
}

/// The loan id a request's events name.
pub fn loan_id(events: &[Event]) -> DocId {
    match &events[0] {
        Event::LoanRequested { loan, .. } => loan.clone(),
        e => panic!("unexpected {e:?}"),
    }
}

/// `borrower` asks `bank` (the receipts' pledgee) for `amount` CNY.
pub fn request(w: &mut World, borrower: &str, receipts: &[DocId], amount: &str) -> DocId {
    loan_id(&w.ok(
        borrower,
        Action::RequestLoan {
            receipts: receipts.to_vec(),
            amount: cny(amount),
        },
    ))
}

/// A loan requested, offered (ltv_max 70 %, margin call above 80 %, 5 cure days, 4.5 %),
/// accepted and disbursed.
pub fn disbursed_loan(
    w: &mut World,
    borrower: &str,
    bank: &str,
    receipts: &[DocId],
    amount: &str,
) -> DocId {
    let id = request(w, borrower, receipts, amount);
    let offer = offer_action(w, &id, "70", "80", 5);
    w.ok(bank, offer);
    w.ok(borrower, Action::AcceptLoan { loan: id.clone() });
    w.ok(
        bank,
        Action::DisburseLoan {
            loan: id.clone(),
            payment_ref: format!("PAY-{id}"),
        },
    );
    id
}

/// A committed loan.
pub fn loan(w: &World, id: &DocId) -> Loan {
    w.get(DocKind::Loan, id.as_str()).unwrap()
}

/// A committed receipt.
pub fn receipt(w: &World, id: &DocId) -> WarehouseReceipt {
    w.get(DocKind::WarehouseReceipt, id.as_str()).unwrap()
}

/// Loans in the states the permission matrix needs, all of SUP-1 with BANK-A.
pub struct MatrixLoans {
    /// Requested (copper).
    pub requested: DocId,
    /// Offered.
    pub offered: DocId,
    /// Accepted.
    pub accepted: DocId,
    /// Disbursed, unacknowledged, two receipts, LTV 25 %: repay, release one, top up.
    pub disbursed: DocId,
    /// A receipt of the disbursed loan that may be released.
    pub releasable: DocId,
    /// A pledged copper receipt in no loan (top-up, request).
    pub free: DocId,
    /// Disbursed with a repayment waiting for the bank.
    pub repaying: DocId,
    /// Disbursed, nickel crashed: LTV above the margin-call threshold.
    pub crashed: DocId,
    /// Disbursed, zinc crashed, called, cure period over.
    pub callable: DocId,
}

/// Builds [`MatrixLoans`]; advances the clock 6 days (the cure period of the called
/// loan).
pub fn matrix_loans(w: &mut World) -> MatrixLoans {
    post_price(w, "BANK-A", "copper", "t", "100.00");
    post_price(w, "BANK-A", "nickel", "t", "100.00");
    post_price(w, "BANK-A", "zinc", "t", "100.00");
    let mut copper = || pledged_receipt(w, "SUP-1", "BANK-A", "copper", "100", "t");
    let (r1, r2, r3, r4, r5, r6, free) = (
        copper(),
        copper(),
        copper(),
        copper(),
        copper(),
        copper(),
        copper(),
    );
    let requested = request(w, "SUP-1", &[r1], "1000.00");
    let offered = request(w, "SUP-1", &[r2], "1000.00");
    w.ok("BANK-A", offer_action(w, &offered, "70", "80", 5));
    let accepted = request(w, "SUP-1", &[r3], "1000.00");
    w.ok("BANK-A", offer_action(w, &accepted, "70", "80", 5));
    w.ok(
        "SUP-1",
        Action::AcceptLoan {
            loan: accepted.clone(),
        },
    );
    let disbursed = disbursed_loan(w, "SUP-1", "BANK-A", &[r4, r5.clone()], "5000.00");
    let repaying = disbursed_loan(w, "SUP-1", "BANK-A", &[r6], "1000.00");
    w.ok(
        "SUP-1",
        Action::RepayLoan {
            loan: repaying.clone(),
            amount: Amount::parse("400.00").unwrap(),
            payment_ref: "LR-1".into(),
        },
    );
    let nickel = pledged_receipt(w, "SUP-1", "BANK-A", "nickel", "100", "t");
    let crashed = disbursed_loan(w, "SUP-1", "BANK-A", &[nickel], "7000.00");
    let zinc = pledged_receipt(w, "SUP-1", "BANK-A", "zinc", "100", "t");
    let callable = disbursed_loan(w, "SUP-1", "BANK-A", &[zinc], "7000.00");
    post_price(w, "BANK-A", "nickel", "t", "50.00");
    post_price(w, "BANK-A", "zinc", "t", "50.00");
    w.ok(
        "BANK-A",
        Action::MarginCall {
            loan: callable.clone(),
        },
    );
    w.advance_days(6);
    MatrixLoans {
        requested,
        offered,
        accepted,
        disbursed,
        releasable: r5,
        free,
        repaying,
        crashed,
        callable,
    }
}

/// Inventory finance: each live loan's receipts are pledged to its bank, owned by its
/// borrower and indexed to it, no receipt is in two live loans (and the index holds
/// exactly the live loans' receipts); balance = disbursed - acknowledged repayments >= 0;
/// a margin call only on a disbursed loan; closed loans hold no index entries.
pub fn check_loans(w: &World) {
    let loans: Vec<Loan> = w
        .store
        .scan_prefix(&keys::doc_prefix(DocKind::Loan), usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(_, v)| decode(&v, 1 << 20).unwrap())
        .collect();
    let mut held: BTreeMap<DocId, DocId> = BTreeMap::new();
    for l in &loans {
        let balance = l
            .balance()
            .unwrap_or_else(|| panic!("{} repaid over principal", l.id));
        let paid_out = matches!(
            l.status,
            LoanStatus::Disbursed | LoanStatus::Repaid | LoanStatus::Enforced
        );
        assert_eq!(l.disbursement.is_some(), paid_out, "{} disbursement", l.id);
        if l.disbursement.is_none() {
            assert!(l.repaid.is_zero(), "{} repaid before disbursement", l.id);
        }
        assert!(l.receipts.len() <= MAX_LOAN_RECEIPTS, "{} receipts", l.id);
        // A call is outstanding only on a disbursed loan, and an enforced loan keeps the
        // call it followed: enforcement never happens without one.
        match l.status {
            LoanStatus::Disbursed => {}
            LoanStatus::Enforced => assert!(l.margin_call.is_some(), "{} enforced uncalled", l.id),
            _ => assert!(
                l.margin_call.is_none(),
                "{} called while {:?}",
                l.id,
                l.status
            ),
        }
        match l.status {
            LoanStatus::Repaid => assert_eq!(l.repaid, l.amount.amount, "{} repaid", l.id),
            LoanStatus::Disbursed => assert!(!balance.is_zero(), "{} live at zero", l.id),
            _ => {}
        }
        if let Some(p) = &l.pending_repayment {
            assert_eq!(l.status, LoanStatus::Disbursed);
            assert!(
                balance.checked_sub(p.amount.amount).is_some(),
                "{} pending over balance",
                l.id
            );
        }
        if !l.status.is_live() {
            assert!(l.closed_on.is_some(), "{} closed without a date", l.id);
            continue;
        }
        for rid in &l.receipts {
            assert!(
                held.insert(rid.clone(), l.id.clone()).is_none(),
                "{rid} in two live loans"
            );
            let r = receipt(w, rid);
            assert_eq!(
                r.status,
                ReceiptStatus::Pledged,
                "{rid} of {} not pledged",
                l.id
            );
            assert_eq!(
                r.pledgee.as_ref(),
                Some(&l.bank),
                "{rid} pledgee of {}",
                l.id
            );
            assert_eq!(r.owner, l.borrower, "{rid} owner of {}", l.id);
            let indexed: DocId =
                decode(&w.raw(&keys::loan_receipt(rid.as_str())).unwrap(), 1024).unwrap();
            assert_eq!(indexed, l.id, "{rid} index");
        }
    }
    let index = w.store.scan_prefix(b"loanrcpt/", usize::MAX).unwrap();
    assert_eq!(
        index.len(),
        held.len(),
        "loan index entries outside live loans"
    );
}
