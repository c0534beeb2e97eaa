//! What a transaction must pass before this node spends a signature check or mempool room
//! on it, whichever door it comes through (the API or gossip): the envelope checks
//! execution would refuse it for -- its key registered to the named org and active, its
//! nonce not already used -- against committed state. One rule for both doors: gossip once
//! skipped it, so a peer could fill the mempool with transactions from throwaway keys.

use lianrong_contracts::error::ExecError;
use lianrong_contracts::state::{keys, StateRead, StateView};
use lianrong_contracts::{ContractError, StoreError, Transaction};

/// Why a transaction is not admissible.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Its nonce was already used on the ledger.
    #[error("{0}")]
    StaleNonce(ContractError),
    /// Execution would refuse its envelope (unknown or revoked key, key of another org).
    #[error("{0}")]
    Envelope(ContractError),
    /// Committed state could not be read: the node's own fault.
    #[error("reading committed state: {0}")]
    Store(StoreError),
}

/// The envelope checks against committed state, as execution makes them
/// (`check_envelope`'s key checks, then the nonce), in two reads: the key's record and its
/// nonce. A nonce ahead of the next one passes: earlier ones may still be waiting in a
/// mempool. (Execution also reads the org's record, which a registered key always has.)
pub fn check(state: &dyn StateRead, tx: &Transaction) -> Result<(), Refusal> {
    let view = StateView::new(state);
    let refusal = |e: ExecError| match e {
        ExecError::Rejected(c) => Refusal::Envelope(c),
        ExecError::Store(e) => Refusal::Store(e),
    };
    lianrong_contracts::exec::check_key(&view, &tx.signer.org, &tx.signer.key).map_err(refusal)?;
    let next: u64 = view
        .load(&keys::nonce(&tx.signer.key))
        .map_err(Refusal::Store)?
        .unwrap_or(0);
    if tx.nonce < next {
        return Err(Refusal::StaleNonce(ContractError::WrongNonce {
            expected: next,
            got: tx.nonce,
        }));
    }
    Ok(())
}

/// Splits gossiped transactions into those worth a signature check and the number left
/// out. Leaving one out blames no one: a key revoked or a nonce used in a block the
/// sender had not applied yet is an honest race. A read error is the node's own fault.
pub fn admissible<T>(
    state: &dyn StateRead,
    txs: Vec<T>,
    tx_of: impl Fn(&T) -> &Transaction,
) -> Result<(Vec<T>, usize), StoreError> {
    let mut kept = Vec::with_capacity(txs.len());
    let mut left_out = 0;
    for t in txs {
        match check(state, tx_of(&t)) {
            Ok(()) => kept.push(t),
            Err(Refusal::Store(e)) => return Err(e),
            Err(Refusal::StaleNonce(_) | Refusal::Envelope(_)) => left_out += 1,
        }
    }
    Ok((kept, left_out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_contracts::testkit::{doc, member_key, org, World, CHAIN_ID};
    use lianrong_contracts::{Action, Signer};

    fn signed_by(key: &lianrong_primitives::SecretKey, org_id: &str, nonce: u64) -> Transaction {
        Transaction {
            chain_id: CHAIN_ID.into(),
            signer: Signer {
                org: org(org_id),
                key: key.public(),
            },
            nonce,
            action: Action::CancelOrder {
                order: doc("PO-NONE"),
            },
        }
    }

    /// The finding: a gossiped transaction from a key the ledger does not know reached the
    /// mempool. It is left out before any signature check, as the API refuses it.
    #[test]
    fn gossip_leaves_out_unknown_keys_other_orgs_keys_and_used_nonces() {
        let w = World::new();
        let throwaway = lianrong_primitives::SecretKey::from_seed([9; 32]);
        let good = signed_by(&member_key("CORE-A"), "CORE-A", 0);
        let txs = vec![
            signed_by(&throwaway, "CORE-A", 0),
            signed_by(&member_key("SUP-1"), "CORE-A", 0),
            good.clone(),
        ];
        let (kept, left_out) = admissible(&w.store, txs, |t| t).unwrap();
        assert_eq!(kept, vec![good.clone()]);
        assert_eq!(left_out, 2);
        assert!(matches!(
            check(&w.store, &signed_by(&throwaway, "CORE-A", 0)),
            Err(Refusal::Envelope(_))
        ));
    }

    /// A store that counts the reads made of it.
    struct Counting<'a>(&'a dyn StateRead, std::cell::Cell<usize>);

    impl StateRead for Counting<'_> {
        fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
            self.1.set(self.1.get() + 1);
            self.0.get(key)
        }
    }

    /// Admission is on every transaction's path, through the API and through gossip on
    /// every node: two reads (the key's record, its nonce), where it once made four (the
    /// nonce twice, and the org's record, which it does not need).
    #[test]
    fn admission_reads_the_key_and_the_nonce_once_each() {
        let w = World::new();
        let store = Counting(&w.store, std::cell::Cell::new(0));
        let tx = signed_by(&member_key("CORE-A"), "CORE-A", 0);
        assert_eq!(check(&store, &tx), Ok(()));
        assert_eq!(store.1.get(), 2);
    }

    /// A key revoked, and a key named for another org, are refused as execution refuses
    /// them.
    #[test]
    fn a_revoked_key_or_another_orgs_key_is_refused_with_executions_reason() {
        let mut w = World::new();
        let key = member_key("CORE-A");
        assert!(matches!(
            check(&w.store, &signed_by(&key, "SUP-1", 0)),
            Err(Refusal::Envelope(ContractError::KeyNotOfOrg { .. }))
        ));
        let sup = member_key("SUP-1");
        w.revoke_member_key("SUP-1", sup.public());
        assert!(matches!(
            check(&w.store, &signed_by(&sup, "SUP-1", 0)),
            Err(Refusal::Envelope(ContractError::RevokedKey))
        ));
    }

    #[test]
    fn a_used_nonce_is_stale_and_a_nonce_ahead_is_admissible() {
        let mut w = World::new();
        // Refused by the contracts, but the nonce is spent all the same.
        w.exec(
            "CORE-A",
            Action::CancelOrder {
                order: doc("PO-NONE"),
            },
        );
        let key = member_key("CORE-A");
        assert!(matches!(
            check(&w.store, &signed_by(&key, "CORE-A", 0)),
            Err(Refusal::StaleNonce(_))
        ));
        assert_eq!(check(&w.store, &signed_by(&key, "CORE-A", 5)), Ok(()));
    }
}
