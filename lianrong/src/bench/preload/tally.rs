//! What the preload expects the ledger to hold, counted from the events of its committed
//! transactions (never from what it submitted): receivables per holder, per debtor and
//! per status, and what the later phases need to know of earlier ones (the root
//! receivables chosen for the mix, the settlements to acknowledge).
//!
//! The measurement compares the API's pages with these counts.

use std::collections::{BTreeMap, HashMap};

use lianrong_contracts::Event;

use super::plan::{cents_of, core_index, doc_number, fate, sme_index, Fate};

/// A root receivable the mix phase acts on.
#[derive(Debug, Clone, Copy)]
pub struct Root {
    /// Its number (`RCV-n`).
    pub n: u32,
    /// The SME holding it.
    pub holder: u32,
    /// The core owing it.
    pub debtor: u32,
    /// Its face, cents.
    pub cents: u64,
    /// What the mix does with it.
    pub fate: Fate,
}

/// The expected ledger.
#[derive(Debug, Default)]
pub struct Tally {
    /// Receivables (any status) per holder.
    pub holder: HashMap<String, u64>,
    /// Receivables per debtor.
    pub debtor: HashMap<String, u64>,
    /// Receivables per status (`active`, `split`, `settled`).
    pub status: BTreeMap<&'static str, u64>,
    /// Receivables in all.
    pub receivables: u64,
    /// Highest receivable number seen.
    pub max_receivable: u64,
    /// Roots the mix acts on (a fate other than `Keep`).
    pub roots: Vec<Root>,
    /// Settlements to acknowledge: (number, payee SME).
    pub settlements: Vec<(u32, u32)>,
    /// Events the tally could not read (a bench org it does not know); none expected.
    pub unreadable: u64,
}

fn bump(m: &mut HashMap<String, u64>, k: &str, up: bool) {
    let v = m.entry(k.to_string()).or_default();
    *v = if up { *v + 1 } else { v.saturating_sub(1) };
}

impl Tally {
    fn move_status(&mut self, from: &'static str, to: &'static str) {
        let f = self.status.entry(from).or_default();
        *f = f.saturating_sub(1);
        *self.status.entry(to).or_default() += 1;
    }

    /// Counts the events of one committed transaction.
    pub fn apply(&mut self, events: &[Event]) {
        for e in events {
            match e {
                Event::ReceivableIssued {
                    receivable,
                    holder,
                    debtor,
                    face,
                    parent,
                    ..
                } => {
                    bump(&mut self.holder, holder.as_str(), true);
                    bump(&mut self.debtor, debtor.as_str(), true);
                    *self.status.entry("active").or_default() += 1;
                    self.receivables += 1;
                    let n = doc_number(receivable.as_str(), "RCV").unwrap_or(0);
                    self.max_receivable = self.max_receivable.max(n);
                    if parent.is_none() {
                        self.note_root(n, holder.as_str(), debtor.as_str(), face.amount);
                    }
                }
                Event::ReceivableSplit { .. } => self.move_status("active", "split"),
                Event::ReceivableTransferred { from, to, .. } => {
                    bump(&mut self.holder, from.as_str(), false);
                    bump(&mut self.holder, to.as_str(), true);
                }
                Event::ReceivableSettled { .. } => self.move_status("active", "settled"),
                Event::SettlementInstructed {
                    settlement, payee, ..
                } => match (
                    doc_number(settlement.as_str(), "STL").and_then(|s| u32::try_from(s).ok()),
                    sme_index(payee.as_str()),
                ) {
                    (Some(s), Some(p)) => self.settlements.push((s, p)),
                    _ => self.unreadable += 1,
                },
                _ => {}
            }
        }
    }

    /// Keeps a new root receivable if the mix acts on it.
    fn note_root(
        &mut self,
        n: u64,
        holder: &str,
        debtor: &str,
        face: lianrong_contracts::money::Amount,
    ) {
        let f = fate(n);
        if f == Fate::Keep {
            return;
        }
        let root = root_of(n, holder, debtor, face, f);
        match root {
            Some(r) => self.roots.push(r),
            None => self.unreadable += 1,
        }
    }

    /// Receivables `status` names (0 if none).
    pub fn in_status(&self, status: &str) -> u64 {
        self.status.get(status).copied().unwrap_or(0)
    }
}

/// A root as the mix needs it (`None` if an id is not a bench org's).
fn root_of(
    n: u64,
    holder: &str,
    debtor: &str,
    face: lianrong_contracts::money::Amount,
    fate: Fate,
) -> Option<Root> {
    Some(Root {
        n: u32::try_from(n).ok()?,
        holder: sme_index(holder)?,
        debtor: core_index(debtor)?,
        cents: cents_of(face)?,
        fate,
    })
}
