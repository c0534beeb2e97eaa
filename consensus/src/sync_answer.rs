//! What a sync answer holds: the one rule, for the engine (answering from its recent
//! finalized blocks) and for a node answering from its database (a peer further behind
//! than the engine's memory reaches).
//!
//! Separate from the engine because the node's database side uses it without an engine;
//! written once so that the two answers a peer may get for the same height cannot differ
//! in shape (the checks in `engine/sync.rs` refuse an answer whose certificate does not
//! commit its last block, or with a reconfiguration inside it).

use crate::types::{FinalizedBlock, Message, MAX_SYNC_BLOCKS};

/// The sync answer made of `finalized` (consecutive finalized blocks from the height
/// asked for, in height order): at least [`MAX_SYNC_BLOCKS`] blocks when there are that
/// many, ending at a block its own certificate commits -- the answer's certificate -- and
/// at most twice that many read to reach one. A reconfiguration block ends an answer
/// early: what follows it is checked against the next epoch's set. `None` when none of
/// the blocks read is committed by its own certificate.
///
/// Reads at most `2 * MAX_SYNC_BLOCKS` items; an error reading one is returned as is.
pub fn sync_answer<E>(
    finalized: impl IntoIterator<Item = Result<FinalizedBlock, E>>,
) -> Result<Option<Message>, E> {
    let mut blocks = Vec::new();
    let mut answer_cert = None;
    for f in finalized.into_iter().take(2 * MAX_SYNC_BLOCKS) {
        let FinalizedBlock { block, cert } = f?;
        let height = block.height;
        let reconfig = block.reconfig.is_some();
        blocks.push(block);
        if cert.committed().is_some_and(|id| id.height == height) {
            answer_cert = Some((height, cert));
            if blocks.len() >= MAX_SYNC_BLOCKS || reconfig {
                break;
            }
        }
    }
    let Some((end, cert)) = answer_cert else {
        return Ok(None);
    };
    blocks.retain(|b| b.height <= end);
    Ok(Some(Message::SyncResponse { blocks, cert }))
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use lianrong_primitives::{Hash, SecretKey};

    use super::*;
    use crate::types::{
        Block, CommitCertificate, ExecutionCommit, QuorumCert, ValidatorSet, VoteData,
    };

    const W: u64 = MAX_SYNC_BLOCKS as u64;

    /// A certificate that commits `height` (its vote is on the child, one round later).
    fn commits(height: u64) -> CommitCertificate {
        let vote = VoteData {
            epoch: 0,
            block_hash: Hash([1; 32]),
            height: height + 1,
            round: height + 1,
            parent_hash: Hash([2; 32]),
            parent_round: height,
        };
        CommitCertificate {
            qc: QuorumCert {
                vote,
                signers: Vec::new(),
                signatures: Vec::new(),
            },
        }
    }

    fn block(height: u64) -> Block {
        Block {
            chain_id: "sync-answer".into(),
            epoch: 0,
            height,
            round: height,
            parent: Hash::ZERO,
            justify: commits(height.saturating_sub(2)).qc,
            proposer: 0,
            timestamp_ms: 0,
            payload: Vec::new(),
            reconfig: None,
            executed: ExecutionCommit::genesis(Hash::ZERO),
        }
    }

    /// Finalized blocks `first..=last`, each stored with the certificate `cert_of` names
    /// (its own height for a block committed directly, a descendant's otherwise).
    fn stored(
        first: u64,
        last: u64,
        cert_of: impl Fn(u64) -> u64,
    ) -> Vec<Result<FinalizedBlock, &'static str>> {
        (first..=last)
            .map(|h| {
                Ok(FinalizedBlock {
                    block: block(h),
                    cert: commits(cert_of(h)),
                })
            })
            .collect()
    }

    /// The heights an answer holds and the height its certificate commits.
    fn shape(answer: Option<Message>) -> Option<(Vec<u64>, u64)> {
        match answer? {
            Message::SyncResponse { blocks, cert } => Some((
                blocks.iter().map(|b| b.height).collect(),
                cert.committed().map(|id| id.height)?,
            )),
            other => panic!("not a sync answer: {other:?}"),
        }
    }

    #[test]
    fn an_answer_holds_the_batch_when_every_block_is_committed_directly() {
        let answer = sync_answer(stored(5, 40, |h| h)).unwrap();
        assert_eq!(shape(answer), Some(((5..5 + W).collect(), 5 + W - 1)));
    }

    #[test]
    fn an_answer_reaches_past_the_batch_to_a_block_its_own_certificate_commits() {
        // Only every eleventh block committed directly (the rest by a two-chain above).
        let direct = |h: u64| h.div_ceil(11) * 11;
        let answer = sync_answer(stored(1, 40, direct)).unwrap();
        assert_eq!(shape(answer), Some(((1..=11).collect(), 11)));
    }

    #[test]
    fn blocks_after_the_last_certified_one_are_left_out() {
        // Fewer blocks than a batch: the answer ends at the last one committed directly.
        let answer = sync_answer(stored(1, 5, |h| if h <= 3 { h } else { 9 })).unwrap();
        assert_eq!(shape(answer), Some(((1..=3).collect(), 3)));
    }

    #[test]
    fn a_reconfiguration_ends_an_answer_early() {
        let set = ValidatorSet::from_keys(&[SecretKey::from_seed([1; 32]).public()]).unwrap();
        let mut blocks = stored(1, 40, |h| h);
        if let Some(Ok(f)) = blocks.get_mut(2) {
            f.block.reconfig = Some(set);
        }
        let answer = sync_answer(blocks).unwrap();
        assert_eq!(shape(answer), Some(((1..=3).collect(), 3)));
    }

    #[test]
    fn no_answer_without_a_directly_committed_block_within_twice_the_batch() {
        let read = Cell::new(0);
        let blocks = stored(1, 100, |_| 2 * W + 1).into_iter().inspect(|_| {
            read.set(read.get() + 1);
        });
        assert_eq!(shape(sync_answer(blocks).unwrap()), None);
        assert_eq!(
            read.get(),
            2 * MAX_SYNC_BLOCKS,
            "read past the answer's bound"
        );
    }

    #[test]
    fn an_error_reading_a_block_is_returned() {
        let mut blocks = stored(1, 40, |h| h);
        blocks[3] = Err("block 4 unreadable");
        assert_eq!(sync_answer(blocks).err(), Some("block 4 unreadable"));
    }
}
