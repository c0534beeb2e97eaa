//! Who the preload's orgs are and what each of its transactions says: everything is a
//! function of the org counts, the number of documents and an item (a few integers), so
//! a million documents' transactions are never held as transactions, only as items.
//!
//! The mix: cores (`PC-nnnn`) order from SMEs (`PS-nnnn`) -- the seller spread over
//! every SME by a multiplicative hash of the order's number --, a carrier (`PL-nn`)
//! attests each order's one shipment and its delivery, and the core registers and
//! confirms [`INVOICES_PER_ORDER`] invoices per order, each creating a receivable held by
//! the SME and owed by the core. Then, by the receivable's number: one in ten is split
//! 60/40, one in ten is transferred to the next SME, one in fifty is repaid in full and
//! the repayment acknowledged (settled). Holder, debtor and status lists all have pages.

use anyhow::{anyhow, Result};
use chrono::{Days, NaiveDate};
use lianrong_contracts::action::InvoiceSpec;
use lianrong_contracts::model::{DocId, OrgSpec, Role};
use lianrong_contracts::money::{Amount, Money};
use lianrong_contracts::Action;
use lianrong_primitives::{sha256, OrgId, SecretKey};

/// Invoices (so receivables) registered against one order.
pub const INVOICES_PER_ORDER: u64 = 8;
/// Member keys of each core enterprise and carrier (genesis allows 16).
pub const KEYS_PER_CORE: usize = 4;
/// Logistics orgs added next to the cores and SMEs.
pub const CARRIERS: usize = 8;
/// One core enterprise per this many bench orgs (`--orgs 1100`: 100 cores, 1,000 SMEs).
pub const ORGS_PER_CORE: usize = 11;
/// Days from the invoices' issue date to their due date (the receivables' maturity).
const TENOR_DAYS: u64 = 90;

/// What a root receivable's number makes of it in the mix phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Stays active with its first holder.
    Keep,
    /// Split 60/40 by its holder.
    Split,
    /// Transferred to the next SME.
    Transfer,
    /// Repaid in full by its debtor and acknowledged by its holder.
    Settle,
}

/// The fate of root receivable `RCV-n`.
pub fn fate(n: u64) -> Fate {
    match (n % 10, n % 50) {
        (1, _) => Fate::Split,
        (2, _) => Fate::Transfer,
        (_, 3) => Fate::Settle,
        _ => Fate::Keep,
    }
}

/// One transaction of the preload, as the few numbers it is made from.
#[derive(Debug, Clone, Copy)]
pub enum Item {
    /// Order `o` issued by its core.
    Order(u32),
    /// Order `o` accepted by its SME.
    Accept(u32),
    /// Order `o`'s shipment attested by its carrier.
    Ship(u32),
    /// That shipment's delivery confirmed.
    Deliver(u32),
    /// Invoice `j` of order `o` registered and confirmed by the core.
    Invoice(u32, u8),
    /// Receivable `RCV-n` of face `cents` split by its holder.
    Split(u32, u64),
    /// Receivable `RCV-n` transferred to SME `to`.
    Transfer(u32, u32),
    /// Receivable `RCV-n` repaid in full (`cents`) to SME `payee` by its debtor.
    Repay(u32, u32, u64),
    /// Settlement `STL-s` acknowledged by its payee.
    Ack(u32),
}

/// The preload's shape.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Core enterprises.
    pub cores: usize,
    /// SMEs (suppliers).
    pub smes: usize,
    /// Receivables created through invoices (the documents asked for).
    pub docs: u64,
    /// The invoices' issue date (the day before the ledger's date at the start).
    pub issue_date: NaiveDate,
}

/// Id of core `i`.
pub fn core_id(i: usize) -> String {
    format!("PC-{i:04}")
}

/// Id of SME `i`.
pub fn sme_id(i: usize) -> String {
    format!("PS-{i:04}")
}

/// Id of carrier `i`.
pub fn carrier_id(i: usize) -> String {
    format!("PL-{i:02}")
}

/// The index of the SME `id` names, if it is one.
pub fn sme_index(id: &str) -> Option<u32> {
    id.strip_prefix("PS-")?.parse().ok()
}

/// The index of the core `id` names, if it is one.
pub fn core_index(id: &str) -> Option<u32> {
    id.strip_prefix("PC-")?.parse().ok()
}

/// The number `n` of a document id `PREFIX-n`.
pub fn doc_number(id: &str, prefix: &str) -> Option<u64> {
    id.strip_prefix(prefix)?.strip_prefix('-')?.parse().ok()
}

/// Member key `k` of `org` (deterministic).
pub fn member_key(org: &str, k: usize) -> SecretKey {
    SecretKey::from_seed(sha256(format!("lianrong-bench-preload-{org}-{k}").as_bytes()).0)
}

/// A valid unified social credit code for bench org number `n` (distinct for each `n`
/// below ten million).
fn tax_id(n: usize) -> Result<String> {
    let first17 = format!("91000000PL{:07}", n % 10_000_000);
    let check = lianrong_contracts::exec::tax_id::uscc_check_char(&first17)
        .ok_or_else(|| anyhow!("{first17} is no code prefix"))?;
    Ok(format!("{first17}{check}"))
}

fn cents(c: u64) -> Result<Amount> {
    Amount::parse(&format!("{}.{:02}", c / 100, c % 100)).map_err(|e| anyhow!("{c}: {e}"))
}

fn cny(c: u64) -> Result<Money> {
    let currency = Money::parse("1.00", "CNY")?.currency;
    Ok(Money {
        amount: cents(c)?,
        currency,
    })
}

fn doc_id(s: String) -> Result<DocId> {
    DocId::new(s.clone()).map_err(|e| anyhow!("{s}: {e}"))
}

fn org_id(s: String) -> Result<OrgId> {
    OrgId::new(s.clone()).map_err(|e| anyhow!("{s}: {e}"))
}

/// Cents of an amount (the ledger's amounts have at most two decimals in CNY).
pub fn cents_of(a: Amount) -> Option<u64> {
    a.to_fixed(2).replace('.', "").parse().ok()
}

impl Plan {
    /// The split of `orgs` bench orgs into cores and SMEs, for `docs` receivables.
    pub fn new(orgs: usize, docs: u64, issue_date: NaiveDate) -> Plan {
        let cores = (orgs / ORGS_PER_CORE).max(1);
        Plan {
            cores,
            smes: orgs - cores,
            docs,
            issue_date,
        }
    }

    /// Orders (the last may carry fewer invoices).
    pub fn orders(&self) -> u64 {
        self.docs.div_ceil(INVOICES_PER_ORDER)
    }

    /// Invoices of order `o`.
    pub fn invoices_of(&self, o: u64) -> u64 {
        self.docs
            .saturating_sub(o * INVOICES_PER_ORDER)
            .min(INVOICES_PER_ORDER)
    }

    /// The core that issues order `o`.
    pub fn core_of(&self, o: u64) -> usize {
        (o % self.cores as u64) as usize
    }

    /// Which of its core's keys signs for order `o`.
    pub fn core_key_of(&self, o: u64) -> usize {
        (o / self.cores as u64 % KEYS_PER_CORE as u64) as usize
    }

    /// The SME order `o` buys from: spread over every SME by a multiplicative hash.
    pub fn seller_of(&self, o: u64) -> usize {
        let h = (o.wrapping_add(1)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 17;
        (h % self.smes as u64) as usize
    }

    /// The carrier of order `o`.
    pub fn carrier_of(&self, o: u64) -> usize {
        (o % CARRIERS as u64) as usize
    }

    /// Cents of invoice `j` of order `o` (about 50,000 CNY, varied to the cent).
    pub fn invoice_cents(&self, o: u64, j: u64) -> u64 {
        5_000_000 + ((o * INVOICES_PER_ORDER + j) % 997) * 1_000 + (o + j) % 100
    }

    /// Cents of order `o`: its invoices together.
    pub fn order_cents(&self, o: u64) -> u64 {
        (0..self.invoices_of(o))
            .map(|j| self.invoice_cents(o, j))
            .sum()
    }

    /// The orgs (ids, roles, keys) the preload adds to a genesis, with tax ids.
    pub fn org_specs(&self) -> Result<Vec<OrgSpec>> {
        let spec = |id: String, role: Role, keys: usize, n: usize| -> Result<OrgSpec> {
            Ok(OrgSpec {
                id: org_id(id.clone())?,
                name: format!("Preload {role:?} {id}"),
                tax_id: tax_id(n)?,
                roles: vec![role],
                identifiers: vec![],
                keys: (0..keys).map(|k| member_key(&id, k).public()).collect(),
            })
        };
        let mut out = Vec::with_capacity(self.cores + self.smes + CARRIERS);
        for i in 0..self.cores {
            out.push(spec(core_id(i), Role::Core, KEYS_PER_CORE, i)?);
        }
        for i in 0..self.smes {
            out.push(spec(sme_id(i), Role::Supplier, 1, 1_000_000 + i)?);
        }
        for i in 0..CARRIERS {
            out.push(spec(
                carrier_id(i),
                Role::Logistics,
                KEYS_PER_CORE,
                2_000_000 + i,
            )?);
        }
        Ok(out)
    }

    /// The action of `item`; tax ids of the order's parties are needed for invoices.
    pub fn action(&self, item: Item) -> Result<Action> {
        Ok(match item {
            Item::Order(o) => {
                let o = u64::from(o);
                Action::IssueOrder {
                    id: doc_id(format!("PO-P{o}"))?,
                    seller: org_id(sme_id(self.seller_of(o)))?,
                    amount: cny(self.order_cents(o))?,
                    terms: "net 90".into(),
                    doc_hash: sha256(format!("PO-P{o}").as_bytes()),
                    carriers: vec![org_id(carrier_id(self.carrier_of(o)))?],
                }
            }
            Item::Accept(o) => Action::AcceptOrder {
                order: doc_id(format!("PO-P{o}"))?,
            },
            Item::Ship(o) => Action::AttestShipment {
                id: doc_id(format!("SH-P{o}"))?,
                order: doc_id(format!("PO-P{o}"))?,
                value: cny(self.order_cents(u64::from(o)))?,
                doc_hash: sha256(format!("SH-P{o}").as_bytes()),
            },
            Item::Deliver(o) => Action::ConfirmDelivery {
                shipment: doc_id(format!("SH-P{o}"))?,
            },
            Item::Invoice(o, j) => self.invoice(u64::from(o), u64::from(j))?,
            other => self.mix_action(other)?,
        })
    }

    fn invoice(&self, o: u64, j: u64) -> Result<Action> {
        let seller = self.seller_of(o);
        Ok(Action::RegisterInvoice {
            invoice: InvoiceSpec {
                id: doc_id(format!("IN-P{o}-{j}"))?,
                order: doc_id(format!("PO-P{o}"))?,
                number: format!("P{o}-{j}"),
                issue_date: self.issue_date,
                due_date: self.issue_date + Days::new(TENOR_DAYS),
                maturity: None,
                amount: cny(self.invoice_cents(o, j))?,
                seller_tax_id: tax_id(1_000_000 + seller)?,
                buyer_tax_id: tax_id(self.core_of(o))?,
                doc_hash: sha256(format!("IN-P{o}-{j}").as_bytes()),
            },
            confirm: true,
        })
    }

    /// The mix phase's actions (split, transfer, repay, acknowledge).
    fn mix_action(&self, item: Item) -> Result<Action> {
        let rcv = |n: u32| doc_id(format!("RCV-{n}"));
        Ok(match item {
            Item::Split(n, face) => {
                let kept = face * 2 / 5;
                Action::SplitReceivable {
                    receivable: rcv(n)?,
                    parts: vec![cents(face - kept)?, cents(kept)?],
                }
            }
            Item::Transfer(n, to) => Action::TransferReceivable {
                receivable: rcv(n)?,
                to: org_id(sme_id(to as usize))?,
            },
            Item::Repay(n, payee, face) => Action::Repay {
                receivable: rcv(n)?,
                payee: org_id(sme_id(payee as usize))?,
                amount: cents(face)?,
                payment_ref: format!("PAY-R{n}"),
            },
            Item::Ack(s) => Action::AcknowledgeSettlement {
                settlement: doc_id(format!("STL-{s}"))?,
            },
            _ => return Err(anyhow!("{item:?} is not a mix step")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(orgs: usize, docs: u64) -> Plan {
        Plan::new(orgs, docs, "2026-03-01".parse().unwrap())
    }

    #[test]
    fn the_orgs_split_into_cores_and_smes_with_valid_distinct_tax_ids() {
        let p = plan(1_100, 1_000);
        assert_eq!((p.cores, p.smes), (100, 1_000));
        let specs = p.org_specs().unwrap();
        assert_eq!(specs.len(), 1_100 + CARRIERS);
        let taxes: std::collections::BTreeSet<_> = specs.iter().map(|s| &s.tax_id).collect();
        assert_eq!(taxes.len(), specs.len());
    }

    #[test]
    fn every_document_belongs_to_one_order_and_every_sme_sells() {
        let p = plan(120, 10_001);
        assert_eq!(p.orders(), 1_251);
        let invoices: u64 = (0..p.orders()).map(|o| p.invoices_of(o)).sum();
        assert_eq!(invoices, 10_001);
        let sellers: std::collections::BTreeSet<_> =
            (0..p.orders()).map(|o| p.seller_of(o)).collect();
        assert_eq!(sellers.len(), p.smes, "every SME gets orders");
    }

    #[test]
    fn fates_are_disjoint_and_in_proportion() {
        let count = |f: Fate| (1..=10_000).filter(|n| fate(*n) == f).count();
        assert_eq!(count(Fate::Split), 1_000);
        assert_eq!(count(Fate::Transfer), 1_000);
        assert_eq!(count(Fate::Settle), 200);
    }

    #[test]
    fn ids_parse_back() {
        assert_eq!(sme_index(&sme_id(12)), Some(12));
        assert_eq!(core_index(&core_id(7)), Some(7));
        assert_eq!(doc_number("RCV-42", "RCV"), Some(42));
        assert_eq!(cents_of(cents(123_456).unwrap()), Some(123_456));
        assert!(plan(12, 9).action(Item::Invoice(1, 0)).is_ok());
    }
}
