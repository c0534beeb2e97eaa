//! Equivocation evidence this node has seen: kept (not only logged) so an operator or an
//! auditor can read it later and hand it to the network's governance. A record is the
//! evidence in the canonical encoding under `evidence/<epoch BE><digest>` in the `meta`
//! column family: the same evidence twice is one record, and at most
//! [`MAX_EVIDENCE_RECORDS`] are kept (a Byzantine validator can equivocate every round; the
//! first records prove the point).

use lianrong_consensus::Evidence;
use lianrong_contracts::state::Entries;
use lianrong_primitives::{codec, sha256};

use super::db::Db;
use super::error::DbError;
use super::schema::CF_META;

/// Most evidence records kept; later ones are counted by the caller, not stored.
pub const MAX_EVIDENCE_RECORDS: usize = 1024;
/// Largest encoded evidence accepted back from disk (two signed vote or proposal headers).
const MAX_EVIDENCE_BYTES: usize = 4096;
/// Key prefix of evidence records in `meta`.
const PREFIX: &[u8] = b"evidence/";

/// What recording a piece of evidence did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Stored as a new record.
    New,
    /// The same evidence was already stored.
    Known,
    /// Not stored: [`MAX_EVIDENCE_RECORDS`] are kept already.
    Full,
}

impl Db {
    /// Stores `evidence` unless it is already stored or the store is full.
    pub fn record_evidence(&self, evidence: &Evidence) -> Result<Recorded, DbError> {
        let bytes = codec::encode(evidence);
        let mut key = PREFIX.to_vec();
        key.extend_from_slice(&evidence.epoch().to_be_bytes());
        key.extend_from_slice(&sha256(&bytes).0);
        if self.read(CF_META, &key)?.is_some() {
            return Ok(Recorded::Known);
        }
        if self.evidence_records(MAX_EVIDENCE_RECORDS)?.len() >= MAX_EVIDENCE_RECORDS {
            return Ok(Recorded::Full);
        }
        self.put_now(CF_META, &key, &bytes, false)?;
        Ok(Recorded::New)
    }

    /// The stored evidence, oldest epoch first (in no particular order within an epoch),
    /// at most `limit`.
    pub fn evidence(&self, limit: usize) -> Result<Vec<Evidence>, DbError> {
        self.evidence_records(limit)?
            .iter()
            .map(|(_, v)| {
                codec::decode_stored(v, MAX_EVIDENCE_BYTES)
                    .map_err(|e| DbError::codec("evidence record", e))
            })
            .collect()
    }

    /// The stored evidence after the record `start_after` (a previous page's last),
    /// oldest epoch first, at most `limit` (at most [`MAX_EVIDENCE_RECORDS`]): each with
    /// its record id (the key after the prefix: the epoch, big-endian, and the digest).
    pub fn evidence_page(
        &self,
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Evidence)>, DbError> {
        let after = start_after.map(|id| [PREFIX, id].concat());
        let rows = self.scan_at(
            None,
            CF_META,
            PREFIX,
            after.as_deref(),
            limit.min(MAX_EVIDENCE_RECORDS),
        )?;
        rows.into_iter()
            .map(|(k, v)| {
                let e = codec::decode_stored(&v, MAX_EVIDENCE_BYTES)
                    .map_err(|e| DbError::codec("evidence record", e))?;
                Ok((k[PREFIX.len()..].to_vec(), e))
            })
            .collect()
    }

    fn evidence_records(&self, limit: usize) -> Result<Entries, DbError> {
        self.scan_at(None, CF_META, PREFIX, None, limit.min(MAX_EVIDENCE_RECORDS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_consensus::VoteData;
    use lianrong_primitives::{Hash, SecretKey};

    fn double_vote(round: u64) -> Evidence {
        let k = SecretKey::from_seed([3; 32]);
        let vote = |b: u8| {
            let data = VoteData {
                epoch: 0,
                block_hash: Hash([b; 32]),
                height: round,
                round,
                parent_hash: Hash::ZERO,
                parent_round: round - 1,
            };
            let sig = k.sign(&data.signing_bytes("test-chain"));
            (data, sig)
        };
        Evidence::DoubleVote {
            voter: 1,
            a: vote(1),
            b: vote(2),
        }
    }

    /// The finding: equivocation evidence was only logged. It is kept, once, and bounded.
    #[test]
    fn evidence_is_kept_once_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), "test-chain").unwrap();
        assert_eq!(db.record_evidence(&double_vote(1)).unwrap(), Recorded::New);
        assert_eq!(
            db.record_evidence(&double_vote(1)).unwrap(),
            Recorded::Known
        );
        assert_eq!(db.evidence(10).unwrap(), vec![double_vote(1)]);
        for r in 2..=MAX_EVIDENCE_RECORDS as u64 {
            assert_eq!(db.record_evidence(&double_vote(r)).unwrap(), Recorded::New);
        }
        let late = double_vote(MAX_EVIDENCE_RECORDS as u64 + 1);
        assert_eq!(db.record_evidence(&late).unwrap(), Recorded::Full);
        assert_eq!(db.evidence(usize::MAX).unwrap().len(), MAX_EVIDENCE_RECORDS);
        drop(db);
        let db = Db::open(dir.path(), "test-chain").unwrap();
        assert!(
            db.evidence(usize::MAX).unwrap().contains(&double_vote(1)),
            "kept across a restart"
        );
    }
}
