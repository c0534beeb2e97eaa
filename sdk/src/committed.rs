//! What the [`crate::Signer`] hands back for a transaction that is final.

use lianrong_contracts::model::DocId;
use lianrong_contracts::Event;
use lianrong_primitives::Hash;
use serde::{Deserialize, Serialize};

/// A transaction that is final and that the ledger executed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committed {
    /// Transaction hash.
    pub hash: Hash,
    /// Block height it was committed in.
    pub height: u64,
    /// What changed.
    pub events: Vec<Event>,
}

impl Committed {
    /// The first id of a newly created document of the given kind in the events
    /// (`RCV-n`, `FIN-n`, `OFR-n`, `PRG-n` are assigned by the ledger).
    pub fn created(&self, kind: lianrong_contracts::DocKind) -> Option<DocId> {
        use lianrong_contracts::DocKind as K;
        self.events.iter().find_map(|e| match (kind, e) {
            (K::Receivable, Event::ReceivableIssued { receivable, .. }) => Some(receivable.clone()),
            (K::Financing, Event::FinancingRequested { financing, .. }) => Some(financing.clone()),
            (K::Offer, Event::OfferMade { offer, .. }) => Some(offer.clone()),
            (K::Proposal, Event::ProposalOpened { proposal, .. }) => Some(proposal.clone()),
            (K::Programme, Event::ProgrammeCreated { programme, .. }) => Some(programme.clone()),
            (K::Sale, Event::SaleOffered { sale, .. }) => Some(sale.clone()),
            // A part sold: the buyer's new financing.
            (
                K::Financing,
                Event::SaleAccepted {
                    bought, financing, ..
                },
            ) if bought != financing => Some(bought.clone()),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_contracts::DocKind;

    #[test]
    fn created_finds_the_ledger_assigned_id() {
        let d = |s: &str| DocId::new(s).unwrap();
        let c = Committed {
            hash: Hash::ZERO,
            height: 1,
            events: vec![
                Event::ReceivableSplit {
                    receivable: d("RCV-1"),
                    parts: vec![d("RCV-2"), d("RCV-3")],
                },
                Event::FinancingRequested {
                    financing: d("FIN-4"),
                    receivable: d("RCV-2"),
                    banks: vec![],
                    programme: None,
                },
            ],
        };
        assert_eq!(c.created(DocKind::Financing), Some(d("FIN-4")));
        assert_eq!(c.created(DocKind::Offer), None);
    }
}
