//! Inventory finance over random price paths: whatever the prices, days, calls, top-ups,
//! repayments, releases and enforcement attempts, the goods value is the sum of
//! quantity x price rounded per receipt, the balance is the principal less acknowledged
//! repayments, every decision agrees with the exact LTV rule recomputed here, the loan
//! invariants hold, and an enforcement only ever follows an uncured margin call whose
//! cure period is over.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

mod common;

use chrono::NaiveDate;
use common::inventory::{disbursed_loan, loan, pledged_receipt, post_price};
use lianrong_contracts::exec::inventory::figures;
use lianrong_contracts::model::{DocId, LoanStatus};
use lianrong_contracts::money::{Amount, DayCount};
use lianrong_contracts::state::StateView;
use lianrong_contracts::testkit::{cny, World};
use lianrong_contracts::Action;
use proptest::prelude::*;
use rust_decimal::{Decimal, RoundingStrategy};

/// What the test believes, kept apart from the ledger.
struct Model {
    /// Copper price per tonne, in cents.
    price_cents: i64,
    /// Tonnes per receipt.
    tonnes: Vec<(DocId, i64)>,
    /// Receipts securing the loan now.
    held: Vec<DocId>,
    /// A receipt free for a top-up.
    spare: Option<DocId>,
    /// Principal in cents and acknowledged repayments in cents.
    principal: i64,
    repaid: i64,
    /// The outstanding call's deadline.
    called: Option<NaiveDate>,
    status: LoanStatus,
}

impl Model {
    fn qty(&self, id: &DocId) -> i64 {
        self.tonnes.iter().find(|(r, _)| r == id).unwrap().1
    }

    /// Value in cents of `receipts` (whole tonnes x cents: no rounding needed here; the
    /// fractional case is the unit test's).
    fn value(&self, receipts: &[DocId]) -> i64 {
        receipts
            .iter()
            .map(|r| self.qty(r) * self.price_cents)
            .sum()
    }

    fn balance(&self) -> i64 {
        self.principal - self.repaid
    }

    /// balance / value > limit %, exactly.
    fn above(&self, receipts: &[DocId], limit: i64) -> bool {
        i128::from(self.balance()) * 100 > i128::from(self.value(receipts)) * i128::from(limit)
    }
}

fn money(cents: i64) -> lianrong_contracts::money::Money {
    cny(&Decimal::new(cents, 2).to_string())
}

fn run(w: &mut World, m: &mut Model, id: &DocId, op: u8, x: u32) {
    let live = m.status == LoanStatus::Disbursed;
    match op {
        // A new price: 30,000.00 to 89,999.99 per tonne.
        0 => {
            m.price_cents = 3_000_000 + i64::from(x % 6_000_000);
            post_price(
                w,
                "BANK-A",
                "copper",
                "t",
                &Decimal::new(m.price_cents, 2).to_string(),
            );
        }
        1 => w.advance_days(u64::from(x % 4) + 1),
        2 => {
            let expect = live && m.called.is_none() && m.above(&m.held, 80);
            let r = w.exec("BANK-A", Action::MarginCall { loan: id.clone() });
            assert_eq!(r.outcome.is_ok(), expect, "margin call {:?}", r.outcome);
            if expect {
                m.called = Some(w.today() + chrono::Days::new(5));
            }
        }
        3 => {
            let Some(spare) = m.spare.clone() else { return };
            let r = w.exec(
                "SUP-1",
                Action::TopUp {
                    loan: id.clone(),
                    receipt: spare.clone(),
                },
            );
            assert_eq!(r.outcome.is_ok(), live, "top-up {:?}", r.outcome);
            if live {
                m.held.push(spare);
                m.spare = None;
                cure(m);
            }
        }
        4 => {
            // Repay 1 cent to the whole balance, acknowledged.
            if !live {
                return;
            }
            let cents = 1 + i64::from(x) % m.balance();
            let amount = Amount::parse(&Decimal::new(cents, 2).to_string()).unwrap();
            let payment_ref = format!("R-{}", w.height);
            w.ok(
                "SUP-1",
                Action::RepayLoan {
                    loan: id.clone(),
                    amount,
                    payment_ref,
                },
            );
            w.ok(
                "BANK-A",
                Action::AcknowledgeLoanRepayment { loan: id.clone() },
            );
            m.repaid += cents;
            if m.balance() == 0 {
                m.status = LoanStatus::Repaid;
                m.called = None;
                m.held.clear();
            } else {
                cure(m);
            }
        }
        5 => {
            if m.held.is_empty() {
                return;
            }
            let pick = m.held[x as usize % m.held.len()].clone();
            let left: Vec<DocId> = m.held.iter().filter(|r| **r != pick).cloned().collect();
            let expect = live && !m.above(&left, 70);
            let r = w.exec(
                "SUP-1",
                Action::ReleaseGoods {
                    loan: id.clone(),
                    receipt: pick,
                },
            );
            assert_eq!(r.outcome.is_ok(), expect, "release {:?}", r.outcome);
            if expect {
                m.held = left;
                cure(m);
            }
        }
        _ => {
            let due = m.called.is_some_and(|d| w.today() > d);
            let expect = live && due && m.above(&m.held, 80);
            let r = w.exec("BANK-A", Action::Enforce { loan: id.clone() });
            assert_eq!(r.outcome.is_ok(), expect, "enforce {:?}", r.outcome);
            if expect {
                // Only ever after an uncured call whose cure period is over.
                assert!(m.called.is_some_and(|d| w.today() > d));
                m.status = LoanStatus::Enforced;
            }
        }
    }
}

/// A top-up, repayment or release cures an outstanding call once LTV <= 80 %.
fn cure(m: &mut Model) {
    if m.called.is_some() && !m.above(&m.held, 80) {
        m.called = None;
    }
}

fn check(w: &World, m: &Model, id: &DocId) {
    let l = loan(w, id);
    assert_eq!(l.status, m.status);
    // An enforced loan keeps the call it followed; otherwise the call is the model's.
    if m.status != LoanStatus::Enforced {
        assert_eq!(l.margin_call.as_ref().map(|c| c.deadline), m.called);
    }
    if m.status != LoanStatus::Disbursed {
        return;
    }
    assert_eq!(l.receipts, m.held);
    let st = StateView::new(&w.store);
    let f = figures(&st, &l, w.today(), DayCount::Act360).unwrap();
    assert_eq!(f.balance, money(m.balance()));
    assert_eq!(f.value, Ok(money(m.value(&m.held))));
    assert_eq!(f.above_margin_call, m.above(&m.held, 80));
    let ltv = Decimal::from(m.balance()) * Decimal::ONE_HUNDRED / Decimal::from(m.value(&m.held));
    assert_eq!(
        f.ltv_percent,
        Some(ltv.round_dp_with_strategy(4, RoundingStrategy::AwayFromZero))
    );
}

fn op() -> impl Strategy<Value = (u8, u32)> {
    (0u8..7, any::<u32>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn goods_value_and_balance_hold_over_random_price_paths(ops in prop::collection::vec(op(), 1..40)) {
        let mut w = World::new();
        let a = pledged_receipt(&mut w, "SUP-1", "BANK-A", "copper", "100", "t");
        let b = pledged_receipt(&mut w, "SUP-1", "BANK-A", "copper", "50", "t");
        let c = pledged_receipt(&mut w, "SUP-1", "BANK-A", "copper", "40", "t");
        post_price(&mut w, "BANK-A", "copper", "t", "70000.00");
        let id = disbursed_loan(&mut w, "SUP-1", "BANK-A", &[a.clone(), b.clone()], "6000000.00");
        let mut m = Model {
            price_cents: 7_000_000,
            tonnes: vec![(a.clone(), 100), (b.clone(), 50), (c.clone(), 40)],
            held: vec![a, b],
            spare: Some(c),
            principal: 600_000_000,
            repaid: 0,
            called: None,
            status: LoanStatus::Disbursed,
        };
        for (o, x) in ops {
            run(&mut w, &mut m, &id, o, x);
            check(&w, &m, &id);
            common::check_invariants(&w);
        }
    }
}
