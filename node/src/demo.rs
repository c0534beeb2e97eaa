//! `lianrong demo`: the supply-chain finance story, played today on the in-process
//! contract ledger (deterministic test keys, memory state). The networked version (four
//! validators over libp2p, the SDK and the explorer) replaces this as those parts land.

use anyhow::{bail, Result};
use lianrong_contracts::action::Action;
use lianrong_contracts::model::{DocId, ReceivableStatus};
use lianrong_contracts::money::{Amount, Rate};
use lianrong_contracts::testkit::{org, World};
use lianrong_contracts::{ContractError, Event};

/// Collects a readable account and whether each step behaved as it should.
struct Story {
    world: World,
    failures: Vec<String>,
}

impl Story {
    fn step(&mut self, who: &str, action: Action, what: &str) -> Vec<Event> {
        match self.world.exec(who, action).outcome {
            Ok(events) => {
                println!("  ok   {who:<7} {what}");
                events
            }
            Err(e) => {
                println!("  FAIL {who:<7} {what}: {e}");
                self.failures.push(format!("{who} {what}: {e}"));
                vec![]
            }
        }
    }

    fn refused(
        &mut self,
        who: &str,
        action: Action,
        what: &str,
        expect: fn(&ContractError) -> bool,
    ) {
        match self.world.exec(who, action).outcome {
            Err(e) if expect(&e) => println!("  ok   {who:<7} {what} -> refused: {e}"),
            Err(e) => {
                println!("  FAIL {who:<7} {what} -> refused for the wrong reason: {e}");
                self.failures
                    .push(format!("{who} {what}: wrong refusal {e}"));
            }
            Ok(_) => {
                println!("  FAIL {who:<7} {what} -> was accepted");
                self.failures.push(format!("{who} {what}: accepted"));
            }
        }
    }
}

fn amt(s: &str) -> Amount {
    Amount::parse(s).unwrap_or(Amount::ZERO)
}

fn first<T>(events: &[Event], f: impl Fn(&Event) -> Option<T>) -> Option<T> {
    events.iter().find_map(f)
}

/// Plays the story; returns an error listing every step that misbehaved.
pub fn run() -> Result<()> {
    println!("LianRong demo -- the contract layer in one process (test keys, memory state).");
    println!("The networked demo (4 validators, SDK, explorer) arrives with the node issue.\n");
    let mut s = Story {
        world: World::new(),
        failures: vec![],
    };

    println!("1. Trade: CORE-A orders from SUP-1, LOGI ships and delivers.");
    let order = s.world.delivered_order("CORE-A", "SUP-1", "1000000.00");
    println!("  ok   order {order} for 1,000,000.00 CNY accepted and delivered");

    println!("2. CORE-A's ERP registers SUP-1's invoice and confirms it (确权).");
    let spec = s
        .world
        .invoice_spec(&order, "CORE-A", "SUP-1", "1000000.00", 90);
    let ev = s.step(
        "CORE-A",
        Action::RegisterInvoice {
            invoice: spec.clone(),
            confirm: true,
        },
        "register + confirm invoice, due in 90 days",
    );
    let Some(root) = first(&ev, |e| match e {
        Event::InvoiceConfirmed { receivable, .. } => Some(receivable.clone()),
        _ => None,
    }) else {
        bail!("no receivable was created");
    };
    println!(
        "       receivable {root}: CORE-A owes SUP-1 1,000,000.00 CNY on {}",
        spec.due_date
    );
    let mut dup = spec.clone();
    dup.id = s.world.fresh_id("INV-AGAIN");
    s.refused(
        "SUP-1",
        Action::RegisterInvoice {
            invoice: dup,
            confirm: false,
        },
        "register the same invoice again",
        |e| matches!(e, ContractError::DuplicateInvoice { .. }),
    );

    println!("3. SUP-1 splits the receivable and pays its tier-2 supplier SUP-3 with part of it.");
    let ev = s.step(
        "SUP-1",
        Action::SplitReceivable {
            receivable: root.clone(),
            parts: vec![amt("600000.00"), amt("400000.00")],
        },
        "split 600,000.00 + 400,000.00",
    );
    let parts: Vec<DocId> = first(&ev, |e| match e {
        Event::ReceivableSplit { parts, .. } => Some(parts.clone()),
        _ => None,
    })
    .unwrap_or_default();
    let [keep, pass] = parts.as_slice() else {
        bail!("split did not make two parts")
    };
    s.step(
        "SUP-1",
        Action::TransferReceivable {
            receivable: pass.clone(),
            to: org("SUP-3"),
        },
        &format!("transfer {pass} (400,000.00) to SUP-3"),
    );

    println!("4. SUP-3 asks both banks for financing; the better offer wins.");
    let ev = s.step(
        "SUP-3",
        Action::RequestFinancing {
            receivable: pass.clone(),
            banks: vec![org("BANK-A"), org("BANK-B")],
        },
        "request financing from BANK-A and BANK-B",
    );
    let Some(fin) = first(&ev, |e| match e {
        Event::FinancingRequested { financing, .. } => Some(financing.clone()),
        _ => None,
    }) else {
        bail!("no financing")
    };
    let offer = |s: &mut Story, bank: &str, rate: &str, fees: &str| {
        let ev = s.step(
            bank,
            Action::OfferFinancing {
                financing: fin.clone(),
                rate: Rate::parse(rate).unwrap_or(Rate::parse("0").expect("zero rate")),
                fees: amt(fees),
            },
            &format!("offer {rate}% a year, fees {fees}"),
        );
        first(&ev, |e| match e {
            Event::OfferMade { offer, .. } => Some(offer.clone()),
            _ => None,
        })
    };
    let (Some(best), Some(_other)) = (
        offer(&mut s, "BANK-A", "3.65", "0.00"),
        offer(&mut s, "BANK-B", "4.20", "200.00"),
    ) else {
        bail!("offers missing")
    };
    let ev = s.step(
        "SUP-3",
        Action::AcceptOffer { offer: best },
        "accept BANK-A's offer (BANK-B's is withdrawn)",
    );
    let net = first(&ev, |e| match e {
        Event::OfferAccepted {
            discount,
            net,
            days,
            ..
        } => {
            println!("       400,000.00 x 3.65% x {days}/360 = discount {discount}; SUP-3 receives {net}");
            Some(net.amount)
        }
        _ => None,
    });
    s.refused(
        "SUP-3",
        Action::RequestFinancing {
            receivable: pass.clone(),
            banks: vec![org("BANK-B")],
        },
        "finance the same receivable twice",
        |e| matches!(e, ContractError::UnderFinancing { .. }),
    );
    s.step(
        "BANK-A",
        Action::Disburse {
            financing: fin.clone(),
            payment_ref: "BANK-A-PAY-0001".into(),
            net: net.unwrap_or(Amount::ZERO),
        },
        "disburse; the receivable is assigned to BANK-A",
    );

    println!("5. Another receivable: CORE-B owes SUP-2, due in 30 days, and is not paid.");
    let late = s
        .world
        .trade_to_receivable("CORE-B", "SUP-2", "250000.00", 30);
    s.world.advance_days(34);
    s.world.block(&[]);
    let status = s.world.receivable(&late).status;
    if status == ReceivableStatus::Overdue {
        println!("  ok   {late} is overdue after maturity + 3 grace days");
    } else {
        s.failures
            .push(format!("{late} should be overdue, is {status:?}"));
    }

    println!("6. Maturity: CORE-A repays the current holders.");
    s.world.advance_days(56);
    s.step(
        "CORE-A",
        Action::Repay {
            receivable: pass.clone(),
            amount: amt("400000.00"),
            payment_ref: "CORE-A-PAY-1".into(),
        },
        &format!("repay {pass} 400,000.00 to BANK-A"),
    );
    s.step(
        "CORE-A",
        Action::Repay {
            receivable: keep.clone(),
            amount: amt("600000.00"),
            payment_ref: "CORE-A-PAY-2".into(),
        },
        &format!("repay {keep} 600,000.00 to SUP-1"),
    );
    for id in [pass, keep] {
        let r = s.world.receivable(id);
        if r.status != ReceivableStatus::Settled {
            s.failures.push(format!("{id} should be settled"));
        }
    }

    println!(
        "\nState root after {} blocks: {}",
        s.world.height,
        s.world.root()
    );
    if s.failures.is_empty() {
        println!("Every step behaved.");
        Ok(())
    } else {
        bail!(
            "{} step(s) misbehaved:\n{}",
            s.failures.len(),
            s.failures.join("\n")
        )
    }
}
