//! The mempool: verified transactions waiting for a block, with duplicate and stale-nonce
//! refusal, per-signer and total limits, and fair (round-robin by signer) proposals.
//!
//! Only [`VerifiedTransaction`]s enter, so signatures are checked (in batches) before a
//! transaction takes any space here. Nonces must be contiguous per signing key: a
//! proposal takes each signer's run starting at its committed nonce, so a block never
//! carries a nonce gap that would only be refused.

use std::collections::{BTreeMap, HashMap};

use lianrong_contracts::VerifiedTransaction;
use lianrong_primitives::{Hash, PublicKey};

/// Limits of a mempool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MempoolLimits {
    /// Most transactions held.
    pub max_txs: usize,
    /// Most transactions held per signing key (also how far ahead of the committed nonce
    /// a transaction may be).
    pub max_per_signer: usize,
    /// Most encoded bytes of transactions held: with `max_txs` it bounds the mempool's
    /// memory whatever the transactions' sizes (`[memory]` derives both).
    pub max_bytes: usize,
}

/// Why a transaction was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    /// The same transaction is already waiting.
    #[error("duplicate transaction: already in the mempool")]
    Duplicate,
    /// Its nonce was already used on the ledger.
    #[error("stale nonce {got}: the next nonce of this key is {expected}")]
    StaleNonce {
        /// The key's next nonce on the ledger.
        expected: u64,
        /// The nonce given.
        got: u64,
    },
    /// Another waiting transaction of this key has the same nonce.
    #[error("nonce {0} is already taken by another waiting transaction of this key")]
    NonceTaken(u64),
    /// Too far ahead of the key's next nonce.
    #[error("nonce {got} is too far ahead of the next nonce {expected} (at most {limit} ahead)")]
    NonceTooFar {
        /// The key's next nonce on the ledger.
        expected: u64,
        /// The nonce given.
        got: u64,
        /// How far ahead is allowed.
        limit: usize,
    },
    /// This key already has its share of waiting transactions.
    #[error("this key already has {0} transactions waiting; wait for some to be committed")]
    SignerFull(usize),
    /// The mempool is full.
    #[error("the mempool is full (mempool.max_txs: {0} transactions); try again shortly")]
    Full(usize),
    /// The mempool's bytes are taken: the transaction does not fit.
    #[error(
        "the mempool is full (mempool.max_bytes: {0} bytes of transactions); try again shortly"
    )]
    FullBytes(usize),
}

/// Waiting transactions.
#[derive(Debug)]
pub struct Mempool {
    limits: MempoolLimits,
    /// Hash -> (signer, nonce, encoded size).
    by_hash: HashMap<Hash, (PublicKey, u64, usize)>,
    /// Boxed: a B-tree leaf keeps room for 11 values inline, so a signer with one
    /// waiting transaction would hold eleven transactions' inline size (424 bytes each)
    /// unboxed -- 5 KiB for a 156-byte transaction (`tests/memory_model.rs`).
    by_signer: BTreeMap<PublicKey, BTreeMap<u64, Box<VerifiedTransaction>>>,
    /// Encoded bytes of every waiting transaction together.
    bytes: usize,
    rotation: usize,
}

impl Mempool {
    /// An empty mempool.
    pub fn new(limits: MempoolLimits) -> Self {
        assert!(limits.max_txs > 0 && limits.max_per_signer > 0 && limits.max_bytes > 0);
        Self {
            limits,
            by_hash: HashMap::new(),
            by_signer: BTreeMap::new(),
            bytes: 0,
            rotation: 0,
        }
    }

    /// Number of waiting transactions.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Encoded bytes of the waiting transactions.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// True if this transaction waits here.
    pub fn contains(&self, hash: &Hash) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// The waiting transaction of `signer` at `nonce` whose canonical bytes are `bytes`
    /// (found without hashing, compared as bytes, not field by field): lets a block's
    /// transactions that this node already verified skip the check again.
    pub fn get_same(
        &self,
        signer: &PublicKey,
        nonce: u64,
        bytes: &[u8],
    ) -> Option<&VerifiedTransaction> {
        let t = self.by_signer.get(signer)?.get(&nonce)?;
        (t.bytes() == bytes).then_some(&**t)
    }

    /// The waiting transaction with this hash.
    pub fn get(&self, hash: &Hash) -> Option<&VerifiedTransaction> {
        let (key, nonce, _) = self.by_hash.get(hash)?;
        self.by_signer.get(key)?.get(nonce).map(|t| &**t)
    }

    /// Admits `tx` given its key's next nonce on the ledger.
    pub fn admit(&mut self, tx: VerifiedTransaction, next_nonce: u64) -> Result<Hash, AdmitError> {
        let hash = tx.hash();
        if self.by_hash.contains_key(&hash) {
            return Err(AdmitError::Duplicate);
        }
        let key = tx.tx().signer.key;
        let nonce = tx.tx().nonce;
        if nonce < next_nonce {
            return Err(AdmitError::StaleNonce {
                expected: next_nonce,
                got: nonce,
            });
        }
        if nonce - next_nonce >= self.limits.max_per_signer as u64 {
            return Err(AdmitError::NonceTooFar {
                expected: next_nonce,
                got: nonce,
                limit: self.limits.max_per_signer,
            });
        }
        let queue = self.by_signer.get(&key);
        if queue.is_some_and(|q| q.contains_key(&nonce)) {
            return Err(AdmitError::NonceTaken(nonce));
        }
        if queue.map_or(0, |q| q.len()) >= self.limits.max_per_signer {
            return Err(AdmitError::SignerFull(self.limits.max_per_signer));
        }
        if self.by_hash.len() >= self.limits.max_txs {
            return Err(AdmitError::Full(self.limits.max_txs));
        }
        let size = tx.bytes().len();
        if self.bytes.saturating_add(size) > self.limits.max_bytes {
            return Err(AdmitError::FullBytes(self.limits.max_bytes));
        }
        self.by_hash.insert(hash, (key, nonce, size));
        self.bytes += size;
        self.by_signer
            .entry(key)
            .or_default()
            .insert(nonce, Box::new(tx));
        Ok(hash)
    }

    /// Up to `max_txs` transactions for a block, at most `max_bytes` encoded: each
    /// signer's contiguous run from its next nonce, one transaction per signer in turn,
    /// starting with a different signer each time so no key can crowd out the others.
    /// A key whose next nonce cannot be read fails the whole proposal.
    pub fn proposal<E>(
        &mut self,
        next_nonce: impl Fn(&PublicKey) -> Result<u64, E>,
        max_txs: usize,
        max_bytes: usize,
    ) -> Result<Vec<VerifiedTransaction>, E> {
        let signers: Vec<&PublicKey> = self.by_signer.keys().collect();
        if signers.is_empty() {
            return Ok(vec![]);
        }
        let start = self.rotation % signers.len();
        self.rotation = self.rotation.wrapping_add(1);
        let mut cursors: Vec<Cursor<'_>> = signers[start..]
            .iter()
            .chain(&signers[..start])
            .map(|k| {
                let expected = next_nonce(k)?;
                Ok(Cursor {
                    expected,
                    range: self.by_signer[*k].range(expected..),
                    done: false,
                })
            })
            .collect::<Result<_, E>>()?;
        Ok(take_round_robin(&mut cursors, max_txs, max_bytes))
    }

    /// Drops everything a committed block made obsolete: its own transactions and any
    /// waiting transaction whose nonce is now below its key's next nonce.
    /// `committed` lists the block's transactions as (hash, signing key).
    /// A key whose next nonce cannot be read fails the prune (and the caller stops: it
    /// cannot tell what is obsolete).
    pub fn prune<E>(
        &mut self,
        committed: &[(Hash, PublicKey)],
        next_nonce: impl Fn(&PublicKey) -> Result<u64, E>,
    ) -> Result<(), E> {
        let mut touched: Vec<PublicKey> = committed.iter().map(|(_, k)| *k).collect();
        touched.sort();
        touched.dedup();
        for key in touched {
            let next = next_nonce(&key)?;
            if let Some(q) = self.by_signer.get_mut(&key) {
                let keep = q.split_off(&next);
                for tx in q.values() {
                    if let Some((_, _, size)) = self.by_hash.remove(&tx.hash()) {
                        self.bytes -= size;
                    }
                }
                *q = keep;
                if q.is_empty() {
                    self.by_signer.remove(&key);
                }
            }
        }
        // Anything else of the block still here was refused before execution (revoked
        // key, ...) and goes too -- except a transaction ahead of its key's next nonce:
        // it landed behind a gap (an earlier nonce sat in a proposal that never became
        // final) and can still succeed once the gap is filled, so it waits again.
        for (h, _) in committed {
            let Some(&(key, nonce, _)) = self.by_hash.get(h) else {
                continue;
            };
            if nonce > next_nonce(&key)? {
                continue;
            }
            if let Some((key, nonce, size)) = self.by_hash.remove(h) {
                self.bytes -= size;
                if let Some(q) = self.by_signer.get_mut(&key) {
                    q.remove(&nonce);
                    if q.is_empty() {
                        self.by_signer.remove(&key);
                    }
                }
            }
        }
        Ok(())
    }
}

/// One signer's queue as a proposal walks it: the nonce it needs next.
struct Cursor<'a> {
    expected: u64,
    range: std::collections::btree_map::Range<'a, u64, Box<VerifiedTransaction>>,
    done: bool,
}

/// One transaction per signer in turn, each signer's contiguous run only, until
/// `max_txs` or `max_bytes`.
fn take_round_robin(
    cursors: &mut [Cursor<'_>],
    max_txs: usize,
    max_bytes: usize,
) -> Vec<VerifiedTransaction> {
    let mut out = Vec::new();
    let mut bytes = 0usize;
    // Each pass takes at most one transaction per signer; passes end when nobody has
    // a next contiguous transaction, so the loop is bounded by the mempool size.
    loop {
        let mut progressed = false;
        for c in cursors.iter_mut().filter(|c| !c.done) {
            if out.len() >= max_txs {
                return out;
            }
            match c.range.next() {
                Some((nonce, tx)) if *nonce == c.expected => {
                    let size = tx.bytes().len();
                    if bytes + size > max_bytes {
                        return out;
                    }
                    bytes += size;
                    c.expected += 1;
                    out.push(VerifiedTransaction::clone(tx));
                    progressed = true;
                }
                // A gap or the end: the rest of this signer's queue must wait.
                _ => c.done = true,
            }
        }
        if !progressed {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A nonce read that cannot fail.
    fn ok(n: u64) -> Result<u64, std::convert::Infallible> {
        Ok(n)
    }
    use lianrong_contracts::testkit::{doc, World};
    use lianrong_contracts::Action;

    fn limits() -> MempoolLimits {
        MempoolLimits {
            max_txs: 10,
            max_per_signer: 4,
            max_bytes: usize::MAX,
        }
    }

    fn txs(w: &mut World, org: &str, n: usize) -> Vec<VerifiedTransaction> {
        (0..n)
            .map(|i| {
                w.sign(
                    org,
                    Action::AcceptOrder {
                        order: doc(&format!("PO-{i}")),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn duplicates_stale_nonces_and_limits_are_refused() {
        let mut w = World::new();
        let mut m = Mempool::new(limits());
        let a = txs(&mut w, "SUP-1", 6);
        assert!(m.admit(a[0].clone(), 0).is_ok());
        assert_eq!(m.admit(a[0].clone(), 0), Err(AdmitError::Duplicate));
        assert_eq!(
            m.admit(a[1].clone(), 2),
            Err(AdmitError::StaleNonce {
                expected: 2,
                got: 1
            })
        );
        assert!(matches!(
            m.admit(a[5].clone(), 0),
            Err(AdmitError::NonceTooFar { .. })
        ));
        for t in &a[1..4] {
            m.admit(t.clone(), 0).unwrap();
        }
        assert_eq!(m.admit(a[4].clone(), 1), Err(AdmitError::SignerFull(4)));
        let mut others = Vec::new();
        for org in ["SUP-2", "SUP-3", "CORE-A"] {
            others.extend(txs(&mut w, org, 2));
        }
        for t in &others[..6] {
            m.admit(t.clone(), 0).unwrap();
        }
        assert_eq!(m.len(), 10);
        let extra = txs(&mut w, "CORE-B", 1);
        assert_eq!(m.admit(extra[0].clone(), 0), Err(AdmitError::Full(10)));
    }

    #[test]
    fn the_same_transaction_is_found_by_its_bytes_only() {
        let mut w = World::new();
        let mut m = Mempool::new(limits());
        let a = txs(&mut w, "SUP-1", 1);
        m.admit(a[0].clone(), 0).unwrap();
        let key = a[0].tx().signer.key;
        let found = m.get_same(&key, 0, a[0].bytes());
        assert_eq!(found.map(|t| t.hash()), Some(a[0].hash()));
        // Another transaction of the same signer and nonce (another world signs the
        // same keys from nonce 0): not the one held.
        let mut other = World::new();
        let b = other.sign(
            "SUP-1",
            Action::AcceptOrder {
                order: doc("PO-other"),
            },
        );
        assert_eq!((b.tx().signer.key, b.tx().nonce), (key, 0));
        assert_ne!(b.hash(), a[0].hash());
        assert!(m.get_same(&key, 0, b.bytes()).is_none());
        assert!(m.get_same(&key, 1, a[0].bytes()).is_none(), "another nonce");
    }

    #[test]
    fn a_transaction_over_the_byte_bound_waits_until_a_block_makes_room() {
        let mut w = World::new();
        let a = txs(&mut w, "SUP-1", 2);
        let b = txs(&mut w, "SUP-2", 1);
        let size = |t: &VerifiedTransaction| t.signed().encode().len();
        // Room for SUP-1's two first transactions and not one byte more.
        let max_bytes = size(&a[0]) + size(&a[1]);
        assert_eq!(size(&b[0]), size(&a[0]), "same shape, same size");
        let mut m = Mempool::new(MempoolLimits {
            max_txs: 100,
            max_per_signer: 10,
            max_bytes,
        });
        m.admit(a[0].clone(), 0).unwrap();
        m.admit(a[1].clone(), 0).unwrap();
        assert_eq!(m.bytes(), max_bytes);
        let err = m.admit(b[0].clone(), 0).unwrap_err();
        assert_eq!(err, AdmitError::FullBytes(max_bytes));
        assert!(err.to_string().contains("mempool.max_bytes"), "{err}");
        assert!(!m.contains(&b[0].hash()) && m.len() == 2);
        // A block takes SUP-1's first transaction: its bytes are free again.
        let key = a[0].tx().signer.key;
        m.prune(&[(a[0].hash(), key)], |_| ok(1)).unwrap();
        assert_eq!(m.bytes(), size(&a[1]));
        m.admit(b[0].clone(), 0).unwrap();
        // Refused at its own nonce (the second prune path) frees its bytes too.
        m.prune(&[(a[1].hash(), key)], |_| ok(1)).unwrap();
        assert_eq!(m.bytes(), size(&b[0]));
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn proposals_are_fair_contiguous_and_bounded() {
        let mut w = World::new();
        let mut m = Mempool::new(MempoolLimits {
            max_txs: 100,
            max_per_signer: 10,
            max_bytes: usize::MAX,
        });
        let busy = txs(&mut w, "SUP-1", 8);
        let quiet = txs(&mut w, "SUP-2", 1);
        for t in busy.iter().chain(&quiet) {
            m.admit(t.clone(), 0).unwrap();
        }
        // With room for three, the quiet signer is not starved by the busy one.
        let p = m.proposal(|_| ok(0), 3, usize::MAX).unwrap();
        assert_eq!(p.len(), 3);
        assert!(p.iter().any(|t| t.hash() == quiet[0].hash()));
        // Nonces per signer are contiguous from the committed one.
        let p = m.proposal(|_| ok(0), 100, usize::MAX).unwrap();
        let mut by_key: BTreeMap<PublicKey, Vec<u64>> = BTreeMap::new();
        for t in &p {
            by_key
                .entry(t.tx().signer.key)
                .or_default()
                .push(t.tx().nonce);
        }
        assert!(by_key
            .values()
            .all(|n| n.iter().enumerate().all(|(i, x)| *x == i as u64)));
        // A byte limit is honoured.
        let one = busy[0].signed().encode().len();
        assert_eq!(m.proposal(|_| ok(0), 100, one * 2 + 1).unwrap().len(), 2);
    }

    #[test]
    fn a_nonce_gap_holds_back_the_rest_and_commit_prunes() {
        let mut w = World::new();
        let mut m = Mempool::new(MempoolLimits {
            max_txs: 100,
            max_per_signer: 10,
            max_bytes: usize::MAX,
        });
        let a = txs(&mut w, "SUP-1", 4);
        for i in [0usize, 1, 3] {
            m.admit(a[i].clone(), 0).unwrap();
        }
        let p = m.proposal(|_| ok(0), 100, usize::MAX).unwrap();
        assert_eq!(p.iter().map(|t| t.tx().nonce).collect::<Vec<_>>(), [0, 1]);
        let key = a[0].tx().signer.key;
        m.prune(&[(a[0].hash(), key), (a[1].hash(), key)], |_| ok(2))
            .unwrap();
        assert_eq!(m.len(), 1);
        assert!(m.contains(&a[3].hash()));
        // Nonce 2 was committed from another node's mempool: 3 is next and stays.
        m.prune(&[(a[2].hash(), key)], |_| ok(3)).unwrap();
        m.admit(a[2].clone(), 3).unwrap_err();
        assert_eq!(m.proposal(|_| ok(3), 100, usize::MAX).unwrap().len(), 1);
    }

    #[test]
    fn a_transaction_refused_behind_a_gap_waits_to_be_proposed_again() {
        let mut w = World::new();
        let mut m = Mempool::new(limits());
        let a = txs(&mut w, "SUP-1", 3);
        for t in &a {
            m.admit(t.clone(), 0).unwrap();
        }
        let key = a[0].tx().signer.key;
        // A block carried nonces 1 and 2 while nonce 0 sat in a proposal that never
        // became final: the ledger refused both and the next nonce is still 0.
        m.prune(&[(a[1].hash(), key), (a[2].hash(), key)], |_| ok(0))
            .unwrap();
        assert_eq!(m.len(), 3, "nothing may be lost to the gap");
        let again = m.proposal(|_| ok(0), 100, usize::MAX).unwrap();
        assert_eq!(
            again.iter().map(|t| t.tx().nonce).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        // A transaction refused at its own nonce (say, a revoked key) does go.
        m.prune(&[(a[0].hash(), key)], |_| ok(0)).unwrap();
        assert!(!m.contains(&a[0].hash()));
    }
}
