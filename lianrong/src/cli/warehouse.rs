//! `lianrong warehouse`: warehouse receipts and their pledges (docs/domain.md, "warehouse
//! receipt"). The warehouse (a logistics org) issues a receipt for a lot and releases the
//! goods; the owner offers the receipt in pledge to one bank, may withdraw an unanswered
//! offer and instructs the release; the bank accepts or declines the pledge and, as
//! pledgee, releases it. Every write is one action, signed with `--key`; `show` reads the
//! receipt. Text or `--json` like every client verb.

use anyhow::Result;
use clap::Subcommand;
use lianrong_contracts::model::DocId;
use lianrong_contracts::money::{Quantity, Unit};
use lianrong_contracts::Action;
use lianrong_primitives::OrgId;

use super::{parse_doc_id, parse_org, DocArg};

/// `warehouse` subcommands.
#[derive(Debug, Subcommand)]
pub enum WarehouseCmd {
    /// Issue a receipt for goods held in a lot (the warehouse); refused while the
    /// warehouse has another live receipt for the same lot.
    Issue {
        /// New receipt id.
        #[arg(long, value_parser = parse_doc_id)]
        id: DocId,
        /// Owner of the goods (a core enterprise or supplier).
        #[arg(long, value_parser = parse_org)]
        owner: OrgId,
        /// The warehouse's lot number as printed (compared like invoice numbers).
        #[arg(long)]
        lot: String,
        /// Short description of the goods (at most 256 characters): what a bank's prices
        /// name, exactly.
        #[arg(long)]
        goods: String,
        /// How much: a positive decimal with at most 3 places (e.g. 200 or 12.5).
        #[arg(long, value_parser = parse_quantity)]
        quantity: Quantity,
        /// The unit counted: 1-8 ASCII letters or digits (t, kg, pcs, m3).
        #[arg(long, value_parser = parse_unit)]
        unit: Unit,
        #[command(flatten)]
        doc: DocArg,
    },
    /// Pledges: offer (the owner), accept or decline (the offered bank), withdraw (the
    /// owner, before the bank answers), release (the pledgee bank).
    Pledge {
        #[command(subcommand)]
        cmd: PledgeCmd,
    },
    /// Instruct the warehouse to release the goods (the owner); while pledged the
    /// warehouse still waits for the pledgee's release.
    InstructRelease {
        /// The receipt.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// Release the goods (the warehouse): on the owner's instruction and not while
    /// pledged; the lot is then free for a new receipt.
    Release {
        /// The receipt.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// Show a receipt: lot, owner, status, open pledge offer, pledgee.
    Show {
        /// The receipt.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
}

/// Parses `--quantity` (the ledger's rule, so a bad one is refused before signing).
pub fn parse_quantity(s: &str) -> Result<Quantity, String> {
    Quantity::parse(s).map_err(|e| e.to_string())
}

/// Parses `--unit`.
pub fn parse_unit(s: &str) -> Result<Unit, String> {
    Unit::parse(s).map_err(|e| e.to_string())
}

/// `warehouse pledge` subcommands.
#[derive(Debug, Subcommand)]
pub enum PledgeCmd {
    /// Offer the receipt in pledge to a bank (the owner; one open offer at a time).
    Offer {
        /// The receipt.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
        /// The bank offered the pledge.
        #[arg(long, value_parser = parse_org)]
        bank: OrgId,
    },
    /// Accept the pledge offered to this bank: the receipt is pledged to it.
    Accept {
        /// The receipt.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// Decline the pledge offered to this bank.
    Decline {
        /// The receipt.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// Withdraw a pledge offer the bank has not answered (the owner).
    Withdraw {
        /// The receipt.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// Release the pledge (the pledgee bank, alone: it gives up only its security).
    Release {
        /// The receipt.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
}

impl WarehouseCmd {
    /// The action a write verb signs; `None` for `show`.
    pub fn action(&self) -> Result<Option<Action>> {
        Ok(Some(match self {
            WarehouseCmd::Issue {
                id,
                owner,
                lot,
                goods,
                quantity,
                unit,
                doc,
            } => Action::IssueWarehouseReceipt {
                id: id.clone(),
                owner: owner.clone(),
                lot: lot.clone(),
                goods: goods.clone(),
                quantity: *quantity,
                unit: unit.clone(),
                doc_hash: doc.hash()?,
            },
            WarehouseCmd::Pledge { cmd } => cmd.action(),
            WarehouseCmd::InstructRelease { id } => Action::InstructRelease {
                receipt: id.clone(),
            },
            WarehouseCmd::Release { id } => Action::ReleaseWarehouseReceipt {
                receipt: id.clone(),
            },
            WarehouseCmd::Show { .. } => return Ok(None),
        }))
    }
}

impl PledgeCmd {
    fn action(&self) -> Action {
        match self {
            PledgeCmd::Offer { id, bank } => Action::OfferPledge {
                receipt: id.clone(),
                bank: bank.clone(),
            },
            PledgeCmd::Accept { id } => Action::AcceptPledge {
                receipt: id.clone(),
            },
            PledgeCmd::Decline { id } => Action::DeclinePledge {
                receipt: id.clone(),
            },
            PledgeCmd::Withdraw { id } => Action::WithdrawPledgeOffer {
                receipt: id.clone(),
            },
            PledgeCmd::Release { id } => Action::ReleasePledge {
                receipt: id.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::tests::{action, parse};
    use lianrong_primitives::sha256;

    fn id(s: &str) -> DocId {
        DocId::new(s).unwrap()
    }

    fn org(s: &str) -> OrgId {
        OrgId::new(s).unwrap()
    }

    #[test]
    fn every_warehouse_verb_builds_its_action() {
        let hash = sha256(b"warehouse receipt WR-1");
        let issued = action(&format!(
            "warehouse issue --id WR-1 --owner SUP-1 --lot LOT-7 --goods copper \
             --quantity 200.5 --unit T --doc-hash {hash} --node http://n:1 --key k.json --json"
        ));
        assert_eq!(
            issued,
            Action::IssueWarehouseReceipt {
                id: id("WR-1"),
                owner: org("SUP-1"),
                lot: "LOT-7".into(),
                goods: "copper".into(),
                quantity: Quantity::parse("200.5").unwrap(),
                unit: Unit::parse("t").unwrap(),
                doc_hash: hash,
            }
        );
        let r = || id("WR-1");
        for (line, want) in [
            (
                "warehouse pledge offer WR-1 --bank BANK-A",
                Action::OfferPledge {
                    receipt: r(),
                    bank: org("BANK-A"),
                },
            ),
            (
                "warehouse pledge accept WR-1",
                Action::AcceptPledge { receipt: r() },
            ),
            (
                "warehouse pledge decline WR-1",
                Action::DeclinePledge { receipt: r() },
            ),
            (
                "warehouse pledge withdraw WR-1",
                Action::WithdrawPledgeOffer { receipt: r() },
            ),
            (
                "warehouse pledge release WR-1",
                Action::ReleasePledge { receipt: r() },
            ),
            (
                "warehouse instruct-release WR-1",
                Action::InstructRelease { receipt: r() },
            ),
            (
                "warehouse release WR-1",
                Action::ReleaseWarehouseReceipt { receipt: r() },
            ),
        ] {
            assert_eq!(action(line), want, "{line}");
        }
        let show = parse("warehouse show WR-1 --node http://n:1 --token t --json").unwrap();
        assert!(show.conn().json);
        assert!(show.action().unwrap().is_none(), "show signs nothing");
    }

    #[test]
    fn bad_warehouse_arguments_are_refused_before_signing() {
        for bad in [
            "warehouse issue --id WR/1 --owner SUP-1 --lot L --goods g --quantity 1 --unit t --doc-hash 00",
            "warehouse issue --id WR-1 --owner SUP-1 --lot L --goods g --quantity 0 --unit t --doc-hash 00",
            "warehouse issue --id WR-1 --owner SUP-1 --lot L --goods g --quantity 1.2345 --unit t --doc-hash 00",
            "warehouse issue --id WR-1 --owner SUP-1 --lot L --goods g --quantity 1 --unit metric-t --doc-hash 00",
            "warehouse issue --id WR-1 --owner SUP-1 --lot L --goods g --unit t --doc-hash 00",
            "warehouse pledge offer WR-1",
            "warehouse pledge offer WR-1 --bank bank_a!",
            "warehouse pledge accept",
            "warehouse release WR/1",
            "warehouse list",
        ] {
            assert!(parse(bad).is_err(), "accepted: {bad}");
        }
        // Without --doc or --doc-hash the issue verb says what to give.
        let e = parse(
            "warehouse issue --id WR-1 --owner SUP-1 --lot L --goods g --quantity 1 --unit t",
        )
        .unwrap()
        .action()
        .unwrap_err()
        .to_string();
        assert!(e.contains("--doc FILE"), "{e}");
    }
}
