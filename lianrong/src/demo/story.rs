//! The supply-chain finance story, played through the SDK against the demo network:
//! every step is a signed transaction submitted to a validator's API and waited on until
//! final, and every figure printed is read back from the ledger.

use anyhow::{anyhow, bail, Result};
use chrono::Days;
use lianrong_contracts::exec::business_date;
use lianrong_contracts::model::{DocId, Params, ReceivableStatus};
use lianrong_contracts::money::{Amount, Money, Rate};
use lianrong_contracts::{Action, DocKind, Event};
use lianrong_importer::{self as import, ImportOptions, Outcome};
use lianrong_primitives::{sha256, OrgId};
use lianrong_sdk::{Committed, NaiveDate, SdkError, Signer};

use super::network::DemoNetwork;
use crate::cli::SignerLedger;
use lianrong_node::clock::LedgerClock;

/// One day of the ledger clock.
const DAY_MS: u64 = 86_400_000;

/// Collects a readable account and whether each step behaved as it should.
struct Story {
    failures: Vec<String>,
    /// Highest block a step of the story was committed in.
    last: u64,
}

impl Story {
    /// A step that must succeed.
    async fn step(&mut self, who: &Signer, action: Action, what: &str) -> Option<Committed> {
        let org = who.org().to_string();
        match who.submit(action).await {
            Ok(c) => {
                self.last = self.last.max(c.height);
                println!("  ok   {org:<7} {what}  (block {})", c.height);
                Some(c)
            }
            Err(e) => {
                println!("  FAIL {org:<7} {what}: {e}");
                self.failures.push(format!("{org} {what}: {e}"));
                None
            }
        }
    }

    /// A step that the ledger must refuse with `code`.
    async fn refused(&mut self, who: &Signer, action: Action, what: &str, code: &str) {
        let org = who.org().to_string();
        match who.submit(action).await {
            Err(SdkError::Refused {
                code: got, message, ..
            }) if got == code => {
                println!("  ok   {org:<7} {what} -> refused: {message}")
            }
            Err(e) => {
                println!("  FAIL {org:<7} {what} -> refused for the wrong reason: {e}");
                self.failures
                    .push(format!("{org} {what}: wrong refusal {e}"));
            }
            Ok(_) => {
                println!("  FAIL {org:<7} {what} -> was accepted");
                self.failures.push(format!("{org} {what}: accepted"));
            }
        }
    }

    /// Waits until `reader`'s node has applied every block the story committed so far
    /// (each org talks to its own validator; the reader's may be a block behind).
    async fn caught_up(&self, reader: &lianrong_sdk::Client) -> Result<()> {
        for _ in 0..100 {
            if reader.status().await?.height >= self.last {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        bail!("the reading node did not reach block {}", self.last)
    }

    fn check(&mut self, ok: bool, what: String) {
        if ok {
            println!("  ok   {what}");
        } else {
            println!("  FAIL {what}");
            self.failures.push(what);
        }
    }
}

fn amt(s: &str) -> Result<Amount> {
    Amount::parse(s).map_err(|e| anyhow!("{s}: {e}"))
}

fn cny(s: &str) -> Result<Money> {
    Money::parse(s, "CNY").map_err(|e| anyhow!("{s}: {e}"))
}

fn id(s: &str) -> Result<DocId> {
    DocId::new(s).map_err(|e| anyhow!("{s}: {e}"))
}

fn org(s: &str) -> Result<OrgId> {
    OrgId::new(s).map_err(|e| anyhow!("{s}: {e}"))
}

/// The ledger's business date now.
fn today(clock: &LedgerClock, params: &Params) -> Result<NaiveDate> {
    business_date(clock.now_ms(), params.utc_offset_minutes)
        .ok_or_else(|| anyhow!("the ledger clock is past the calendar's range"))
}

/// Order, acceptance, shipment and delivery: a trade the ledger can vouch for.
async fn trade(
    s: &mut Story,
    buyer: &Signer,
    seller: &Signer,
    carrier: &Signer,
    order: &str,
    amount: &str,
) -> Result<DocId> {
    let order_id = id(order)?;
    s.step(
        buyer,
        Action::IssueOrder {
            id: order_id.clone(),
            seller: seller.org().clone(),
            amount: cny(amount)?,
            terms: "net 90, DAP Shenzhen".into(),
            doc_hash: sha256(format!("{order} purchase order PDF").as_bytes()),
            carriers: vec![carrier.org().clone()],
        },
        &format!(
            "issue order {order} for {amount} CNY to {}, carrier {}",
            seller.org(),
            carrier.org()
        ),
    )
    .await;
    s.step(
        seller,
        Action::AcceptOrder {
            order: order_id.clone(),
        },
        &format!("accept order {order}"),
    )
    .await;
    let shipment = id(&format!("SHP-{order}"))?;
    s.step(
        carrier,
        Action::AttestShipment {
            id: shipment.clone(),
            order: order_id.clone(),
            value: cny(amount)?,
            doc_hash: sha256(format!("{order} bill of lading").as_bytes()),
        },
        &format!("attest shipment {shipment} worth {amount} CNY"),
    )
    .await;
    s.step(
        carrier,
        Action::ConfirmDelivery { shipment },
        "confirm delivery",
    )
    .await;
    Ok(order_id)
}

fn rate(r: &str) -> Result<Rate> {
    Rate::parse(r).map_err(|e| anyhow!("{r}: {e}"))
}

/// The network, the orgs of the story and the auditor that reads every figure back.
struct Demo<'n> {
    net: &'n DemoNetwork,
    params: Params,
    core_a: Signer,
    core_b: Signer,
    sup1: Signer,
    sup2: Signer,
    sup3: Signer,
    logi: Signer,
    bank_a: Signer,
    bank_b: Signer,
    reader: lianrong_sdk::Client,
    story: Story,
}

/// Plays the story; returns an error listing every step that misbehaved.
pub async fn play(net: &DemoNetwork) -> Result<()> {
    let mut d = Demo::new(net).await?;
    let order = d.first_trade().await?;
    let (big, small) = d.invoices(&order).await?;
    let (pass, keep) = d.split_and_transfer(&big).await?;
    d.financing(&pass).await?;
    let late = d.second_trade().await?;
    d.overdue(&late).await?;
    d.repayment(&big, [&pass, &keep], &small).await?;
    d.finish().await
}

impl<'n> Demo<'n> {
    async fn new(net: &'n DemoNetwork) -> Result<Demo<'n>> {
        let genesis = lianrong_node::config::load_genesis(&net.genesis())?;
        let params = genesis.params.clone();
        // Each org talks to a different validator, as it would in production.
        Ok(Demo {
            net,
            params,
            core_a: net.signer(1, "CORE-A").await?,
            core_b: net.signer(2, "CORE-B").await?,
            sup1: net.signer(0, "SUP-1").await?,
            sup2: net.signer(3, "SUP-2").await?,
            sup3: net.signer(2, "SUP-3").await?,
            logi: net.signer(3, "LOGI").await?,
            bank_a: net.signer(0, "BANK-A").await?,
            bank_b: net.signer(1, "BANK-B").await?,
            reader: net.client(0, "AUDIT")?,
            story: Story {
                failures: vec![],
                last: 0,
            },
        })
    }

    /// Act 1; returns the order.
    async fn first_trade(&mut self) -> Result<DocId> {
        println!("1. Trade: CORE-A orders 1,000,000.00 CNY of components from SUP-1; LOGI ships and delivers.");
        trade(
            &mut self.story,
            &self.core_a,
            &self.sup1,
            &self.logi,
            "PO-2026-0001",
            "1000000.00",
        )
        .await
    }

    /// Act 2; returns the receivables of the 700,000.00 and the 300,000.00 invoice.
    async fn invoices(&mut self, order: &DocId) -> Result<(DocId, DocId)> {
        println!("2. CORE-A's ERP imports SUP-1's two invoices (CSV) and confirms them (确权).");
        let (csv_path, opts) = self.erp_export(order).await?;
        let ledger = SignerLedger(&self.core_a);
        let report = import::run(&ledger, std::slice::from_ref(&csv_path), &opts).await;
        let mut receivables = Vec::new();
        for item in &report.items {
            match &item.outcome {
                Outcome::Registered { invoice, .. } => {
                    // Read from the importer's own validator, which confirmed the commit.
                    let inv = self.core_a.client().invoice(invoice).await?;
                    let rcv = inv.receivable.clone();
                    println!(
                        "  ok   CORE-A  invoice {} ({}) {} confirmed -> receivable {}",
                        inv.number,
                        invoice,
                        inv.amount,
                        rcv.as_ref().map(|r| r.to_string()).unwrap_or("none".into())
                    );
                    if let Some(r) = rcv {
                        receivables.push(r);
                    }
                }
                other => {
                    println!("  FAIL CORE-A  import: {other:?}");
                    self.story.failures.push(format!("import: {other:?}"));
                }
            }
        }
        let [big, small] = receivables.as_slice() else {
            bail!("the import did not create two receivables");
        };
        let again = import::run(&ledger, std::slice::from_ref(&csv_path), &opts).await;
        self.story.check(
            again.summary.already_on_ledger == 2 && again.summary.registered == 0,
            "importing the same file again registers nothing (both already on the ledger)".into(),
        );
        self.refuse_retyped_copy(&report).await?;
        Ok((big.clone(), small.clone()))
    }

    /// CORE-A's ERP export of SUP-1's invoices for `order`, and the import options that
    /// register and confirm them.
    async fn erp_export(&self, order: &DocId) -> Result<(std::path::PathBuf, ImportOptions)> {
        let issue = today(&self.net.clock, &self.params)?;
        let due = issue
            .checked_add_days(Days::new(90))
            .unwrap_or(NaiveDate::MAX);
        let seller = self.reader.org(self.sup1.org()).await?;
        let buyer = self.reader.org(self.core_a.org()).await?;
        let csv = format!(
            "invoice_number,issue_date,due_date,currency,amount,seller_id,buyer_id,order_id\n\
             JN-2026-0117,{issue},{due},CNY,700000.00,{},{},{order}\n\
             JN-2026-0118,{issue},{due},CNY,300000.00,{},{},{order}\n",
            seller.tax_id, buyer.tax_id, seller.tax_id, buyer.tax_id
        );
        let csv_path = self.net.path().join("erp-export-2026-11.csv");
        std::fs::write(&csv_path, csv)?;
        // CORE-A sees other orgs' tax ids masked (domain.md, privacy), so its ERP maps its
        // suppliers' tax ids to ledger orgs with its vendor master: the party map.
        let party_map = format!(
            "external_id,org_id\n{},{}\n",
            seller.tax_id,
            self.sup1.org()
        );
        let mut opts = ImportOptions::new(self.core_a.org().clone());
        opts.confirm = true;
        opts.party_map =
            import::PartyMap::parse(party_map.as_bytes()).map_err(|e| anyhow!("party map: {e}"))?;
        Ok((csv_path, opts))
    }

    /// The ledger-wide fingerprint catches the first imported invoice typed in again by
    /// its seller, under another id and with other spacing and case.
    async fn refuse_retyped_copy(&mut self, report: &import::BatchReport) -> Result<()> {
        let original = match &report.items.first().map(|i| &i.outcome) {
            Some(Outcome::Registered { invoice, .. }) => {
                self.core_a.client().invoice(invoice).await?
            }
            _ => bail!("no first invoice"),
        };
        self.story
            .refused(
                &self.sup1,
                Action::RegisterInvoice {
                    invoice: lianrong_contracts::action::InvoiceSpec {
                        id: id("JN-2026-0117-BIS")?,
                        order: original.order.clone(),
                        number: " jn-2026-0117 ".into(),
                        issue_date: original.issue_date,
                        due_date: original.due_date,
                        maturity: original.maturity,
                        amount: original.amount,
                        seller_tax_id: original.seller_tax_id.clone(),
                        buyer_tax_id: original.buyer_tax_id.clone(),
                        doc_hash: sha256(b"a re-typed copy of the same invoice"),
                    },
                    confirm: false,
                },
                "register invoice JN-2026-0117 again (re-typed, under another id)",
                "duplicate_invoice",
            )
            .await;
        Ok(())
    }

    /// Act 3; returns the part passed to SUP-3 and the part SUP-1 keeps.
    async fn split_and_transfer(&mut self, big: &DocId) -> Result<(DocId, DocId)> {
        println!("3. SUP-1 splits the 700,000.00 receivable and pays its tier-2 supplier SUP-3 with 400,000.00 of it.");
        let split = self
            .story
            .step(
                &self.sup1,
                Action::SplitReceivable {
                    receivable: big.clone(),
                    parts: vec![amt("400000.00")?, amt("300000.00")?],
                },
                "split 400,000.00 + 300,000.00",
            )
            .await;
        let parts: Vec<DocId> = split
            .iter()
            .flat_map(|c| &c.events)
            .find_map(|e| match e {
                Event::ReceivableSplit { parts, .. } => Some(parts.clone()),
                _ => None,
            })
            .unwrap_or_default();
        let [pass, keep] = parts.as_slice() else {
            bail!("the split did not make two parts");
        };
        self.story
            .step(
                &self.sup1,
                Action::TransferReceivable {
                    receivable: pass.clone(),
                    to: org("SUP-3")?,
                },
                &format!("transfer {pass} (400,000.00) to SUP-3"),
            )
            .await;
        Ok((pass.clone(), keep.clone()))
    }

    /// Act 4: SUP-3 finances the receivable it was paid with.
    async fn financing(&mut self, pass: &DocId) -> Result<()> {
        println!("4. SUP-3 asks both banks to finance it; the better offer wins.");
        let Some(fin) = self
            .story
            .step(
                &self.sup3,
                Action::RequestFinancing {
                    receivable: pass.clone(),
                    banks: vec![org("BANK-A")?, org("BANK-B")?],
                },
                "request financing from BANK-A and BANK-B",
            )
            .await
            .and_then(|c| c.created(DocKind::Financing))
        else {
            bail!("no financing request");
        };
        let net_amount = self.offers(&fin).await?;
        self.story
            .refused(
                &self.sup3,
                Action::RequestFinancing {
                    receivable: pass.clone(),
                    banks: vec![org("BANK-B")?],
                },
                "finance the same receivable a second time",
                "under_financing",
            )
            .await;
        self.story
            .step(
                &self.bank_a,
                Action::Disburse {
                    financing: fin.clone(),
                    payment_ref: "CMB-SZ-2026-000731".into(),
                    net: net_amount,
                },
                "BANK-A disburses (days count from today, the value date); the receivable is assigned to BANK-A",
            )
            .await;
        self.story.caught_up(&self.reader).await?;
        let assigned = self.reader.receivable(pass).await?;
        self.story.check(
            assigned.holder == org("BANK-A")?,
            format!("{pass} is now held by {}", assigned.holder),
        );
        self.story
            .step(
                &self.sup3,
                Action::AcknowledgeDisbursement {
                    financing: fin.clone(),
                },
                "SUP-3 acknowledges receiving the net: the disbursement is a fact",
            )
            .await;
        Ok(())
    }

    /// Both banks offer, SUP-3 accepts BANK-A's offer and the other is withdrawn; returns
    /// the net SUP-3 is to receive.
    async fn offers(&mut self, fin: &DocId) -> Result<Amount> {
        let offer_a = self
            .story
            .step(
                &self.bank_a,
                Action::OfferFinancing {
                    financing: fin.clone(),
                    rate: rate("3.65")?,
                    fees: amt("0.00")?,
                    valid_until: today(&self.net.clock, &self.params)? + chrono::Days::new(7),
                },
                "BANK-A offers 3.65% a year, no fees",
            )
            .await
            .and_then(|c| c.created(DocKind::Offer));
        let offer_b = self
            .story
            .step(
                &self.bank_b,
                Action::OfferFinancing {
                    financing: fin.clone(),
                    rate: rate("4.20")?,
                    fees: amt("200.00")?,
                    valid_until: today(&self.net.clock, &self.params)? + chrono::Days::new(7),
                },
                "BANK-B offers 4.20% a year, fees 200.00",
            )
            .await
            .and_then(|c| c.created(DocKind::Offer));
        let (Some(best), Some(other)) = (offer_a, offer_b) else {
            bail!("offers missing");
        };
        let accepted = self
            .story
            .step(
                &self.sup3,
                Action::AcceptOffer { offer: best },
                "accept BANK-A's offer",
            )
            .await;
        let mut net_amount = Amount::ZERO;
        for e in accepted.iter().flat_map(|c| &c.events) {
            if let Event::OfferAccepted {
                discount,
                net,
                days,
                ..
            } = e
            {
                println!(
                    "       400,000.00 x 3.65% x {days}/360 = discount {discount}; SUP-3 will receive {net}"
                );
                net_amount = net.amount;
            }
        }
        self.story.caught_up(&self.reader).await?;
        let withdrawn = self.reader.offer(&other).await?;
        self.story.check(
            format!("{:?}", withdrawn.status).to_lowercase() == "withdrawn",
            format!(
                "BANK-B's offer {other} is withdrawn ({:?})",
                withdrawn.status
            ),
        );
        Ok(net_amount)
    }

    /// Act 5; returns the receivable that will fall overdue.
    async fn second_trade(&mut self) -> Result<DocId> {
        println!("5. Another trade: CORE-B owes SUP-2 250,000.00 CNY due in 30 days.");
        let order_b = trade(
            &mut self.story,
            &self.core_b,
            &self.sup2,
            &self.logi,
            "PO-2026-0002",
            "250000.00",
        )
        .await?;
        let today_b = today(&self.net.clock, &self.params)?;
        let sup2_org = self.reader.org(self.sup2.org()).await?;
        let core_b_org = self.reader.org(self.core_b.org()).await?;
        let late = self
            .story
            .step(
                &self.core_b,
                Action::RegisterInvoice {
                    invoice: lianrong_contracts::action::InvoiceSpec {
                        id: id("INV-DF-2026-55")?,
                        order: order_b,
                        number: "DF-2026-55".into(),
                        issue_date: today_b,
                        due_date: today_b
                            .checked_add_days(Days::new(30))
                            .unwrap_or(NaiveDate::MAX),
                        maturity: None,
                        amount: cny("250000.00")?,
                        seller_tax_id: sup2_org.tax_id.clone(),
                        buyer_tax_id: core_b_org.tax_id.clone(),
                        doc_hash: sha256(b"DF-2026-55 invoice PDF"),
                    },
                    confirm: true,
                },
                "register and confirm invoice DF-2026-55, due in 30 days",
            )
            .await
            .and_then(|c| c.created(DocKind::Receivable));
        let Some(late) = late else {
            bail!("no receivable for DF-2026-55");
        };
        Ok(late)
    }

    /// Act 6.
    async fn overdue(&mut self, late: &DocId) -> Result<()> {
        println!("6. Time passes: 34 days (the demo moves the network's clock forward).");
        self.net.clock.advance(34 * DAY_MS);
        // The reader's node must know the receivable before it is asked about it.
        self.story.caught_up(&self.reader).await?;
        // The overdue sweep runs with the next blocks; give it a moment.
        let mut status = ReceivableStatus::Active;
        for _ in 0..50 {
            status = self.reader.receivable(late).await?.status;
            if status == ReceivableStatus::Overdue {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        self.story.check(
            status == ReceivableStatus::Overdue,
            format!(
                "{late} (CORE-B -> SUP-2) is overdue after maturity + {} grace days",
                self.params.grace_days
            ),
        );
        Ok(())
    }

    /// Act 7: the maturity settlement (清分) of `root`, whose live `parts` are held by
    /// BANK-A and SUP-1, then a plain repayment of `single`; each holder acknowledges.
    async fn repayment(&mut self, root: &DocId, parts: [&DocId; 2], single: &DocId) -> Result<()> {
        println!("7. Maturity of CORE-A's receivables: CORE-A pays the current holders, who acknowledge.");
        self.net.clock.advance(57 * DAY_MS);
        self.clear(root, parts[0]).await?;
        let holder = self.reader.receivable(single).await?.holder;
        let one = self
            .story
            .step(
                &self.core_a,
                Action::Repay {
                    receivable: single.clone(),
                    payee: holder.clone(),
                    amount: amt("300000.00")?,
                    payment_ref: "HX-PAY-2027-0203".into(),
                },
                &format!("repay {single} 300000.00 to {holder}"),
            )
            .await
            .map(|c| instructed(&c.events))
            .unwrap_or_default();
        for (settlement, payee, amount) in &one {
            self.acknowledge(settlement, payee, &format!("{amount} received"))
                .await?;
        }
        self.story.caught_up(&self.reader).await?;
        for rcv in [parts[0], parts[1], single] {
            let r = self.reader.receivable(rcv).await?;
            self.story.check(
                r.status == ReceivableStatus::Settled,
                format!("{rcv} is settled"),
            );
        }
        Ok(())
    }

    /// The maturity settlement (清分) of `root`: one line per current holder of its live
    /// parts, nothing repaid (`first` still owes) until each holder acknowledges its line,
    /// and a second acknowledgement refused.
    async fn clear(&mut self, root: &DocId, first: &DocId) -> Result<()> {
        self.story.caught_up(&self.reader).await?;
        let lines = self
            .story
            .step(
                &self.core_a,
                Action::SettleRoot {
                    root: root.clone(),
                    payment_ref: "HX-PAY-2027-0201".into(),
                },
                &format!("maturity settlement (清分) of {root}: one line per current holder"),
            )
            .await
            .map(|c| instructed(&c.events))
            .unwrap_or_default();
        self.story.check(
            lines.len() == 2,
            format!(
                "{} settlement lines for the 2 live parts of {root}",
                lines.len()
            ),
        );
        self.story.caught_up(&self.reader).await?;
        let before = self.reader.receivable(first).await?;
        self.story.check(
            before.status == ReceivableStatus::Active,
            format!("{} still owes until its holder acknowledges", first),
        );
        for (settlement, payee, amount) in &lines {
            self.acknowledge(settlement, payee, &format!("{amount} received"))
                .await?;
        }
        if let Some((settlement, payee, _)) = lines.first() {
            let signers = [
                &self.sup1,
                &self.sup2,
                &self.sup3,
                &self.bank_a,
                &self.bank_b,
            ];
            let who = signer_of(signers, payee)?;
            self.story
                .refused(
                    who,
                    Action::AcknowledgeSettlement {
                        settlement: settlement.clone(),
                    },
                    "acknowledge the same settlement twice",
                    "wrong_status",
                )
                .await;
        }
        Ok(())
    }

    /// `payee` acknowledges `settlement`.
    async fn acknowledge(&mut self, settlement: &DocId, payee: &OrgId, what: &str) -> Result<()> {
        let signers = [
            &self.sup1,
            &self.sup2,
            &self.sup3,
            &self.bank_a,
            &self.bank_b,
        ];
        let who = signer_of(signers, payee)?;
        self.story
            .step(
                who,
                Action::AcknowledgeSettlement {
                    settlement: settlement.clone(),
                },
                &format!("{payee} acknowledges {settlement}: {what}"),
            )
            .await;
        Ok(())
    }

    /// The final state of the chain, and the verdict.
    async fn finish(self) -> Result<()> {
        let status = self.reader.status().await?;
        println!(
            "\nHeight {} on {} validators; last block {}.",
            status.height,
            self.net.nodes.len(),
            status
                .last_block_hash
                .map(|h| h.to_string())
                .unwrap_or_default()
        );
        let failures = self.story.failures;
        if failures.is_empty() {
            println!("Every step behaved.");
            Ok(())
        } else {
            bail!(
                "{} step(s) misbehaved:\n{}",
                failures.len(),
                failures.join("\n")
            )
        }
    }
}

/// The settlements an instruction created: (settlement, payee, amount).
fn instructed(events: &[Event]) -> Vec<(DocId, OrgId, Money)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::SettlementInstructed {
                settlement,
                payee,
                amount,
                ..
            } => Some((settlement.clone(), payee.clone(), *amount)),
            _ => None,
        })
        .collect()
}

/// The demo's signer of `org` among `signers`.
fn signer_of<'s>(signers: [&'s Signer; 5], org: &OrgId) -> Result<&'s Signer> {
    signers
        .into_iter()
        .find(|s| s.org() == org)
        .ok_or_else(|| anyhow!("the demo has no signer for {org}"))
}
