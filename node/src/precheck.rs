//! Transaction signatures of finalized blocks checked ahead of their execution: when one
//! engine step finalizes several blocks (catch-up: a verified sync range), a blocking
//! thread checks the payloads of the blocks after the first while the event loop
//! executes the ones before, so on two cores execution no longer waits for signature
//! checks.
//!
//! Separate from `runtime` because it is the one place the loop's work is split across
//! threads. What a block executes does not change: [`crate::payload::decode`] gives
//! exactly the transactions the loop's own `decode_with` would (a transaction the mempool
//! knows was verified by the same ZIP-215 rule), so only where the checking happens moves.

use lianrong_consensus::{Output, Step, MAX_PAYLOAD_BYTES};
use lianrong_contracts::VerifiedTransaction;
use tokio::sync::mpsc;

use crate::payload;

/// A step finalizing fewer blocks than this is normal consensus (one block, two or three
/// after a timeout), whose transactions the mempool mostly holds checked already.
pub const AHEAD_FROM: usize = 3;
/// Most blocks of one step checked ahead (each payload is copied for the job, at most
/// 256 KiB): the rest of such a step is checked on the loop, as before.
pub const MAX_AHEAD: usize = 64;
/// Blocks whose checked transactions wait for the loop, at most: the checker stays this
/// far ahead of execution, no further. Unbounded (the whole step), a catching-up node
/// held a sync answer's worth of decoded transactions (~3x its 8 MiB then) besides the
/// executor's queue.
pub const CHECKED_WAITING: usize = 2;

/// The checks started for one step: the checked transactions of its blocks, by height,
/// in the order the job finishes them (the order of the blocks).
pub struct Ahead {
    /// The heights the job checks.
    covers: std::ops::RangeInclusive<u64>,
    rx: mpsc::Receiver<(u64, Vec<VerifiedTransaction>)>,
    /// A result read while looking for a lower height (never, while blocks come in order).
    peeked: Option<(u64, Vec<VerifiedTransaction>)>,
}

impl Ahead {
    /// Starts checking the payloads of the blocks `step` finalizes after its first one,
    /// if it finalizes at least [`AHEAD_FROM`].
    pub fn start(step: &Step, chain_id: &str) -> Option<Ahead> {
        let blocks: Vec<(u64, Vec<u8>)> = step
            .outputs()
            .iter()
            .filter_map(|o| match o {
                Output::Finalized(f) => Some((f.block.height, f.block.payload.clone())),
                _ => None,
            })
            .skip(1)
            .take(MAX_AHEAD)
            .collect();
        if blocks.len() + 1 < AHEAD_FROM {
            return None;
        }
        Self::check(blocks, chain_id)
    }

    /// Starts checking `blocks` (height and payload, in height order) on a blocking thread.
    fn check(blocks: Vec<(u64, Vec<u8>)>, chain_id: &str) -> Option<Ahead> {
        let (Some(first), Some(last)) = (blocks.first(), blocks.last()) else {
            return None;
        };
        let covers = first.0..=last.0;
        let (tx, rx) = mpsc::channel(CHECKED_WAITING);
        let chain_id = chain_id.to_string();
        tokio::task::spawn_blocking(move || {
            for (height, bytes) in blocks {
                let txs = payload::decode(&bytes, &chain_id, MAX_PAYLOAD_BYTES);
                // The loop gave up on the rest (it stopped on an error): stop too.
                if tx.blocking_send((height, txs)).is_err() {
                    return;
                }
            }
        });
        Some(Ahead {
            covers,
            rx,
            peeked: None,
        })
    }

    /// The checked transactions of the block at `height`, once the job has got there;
    /// `None` for a block it does not check (the step's first, or beyond [`MAX_AHEAD`]).
    pub async fn take(&mut self, height: u64) -> Option<Vec<VerifiedTransaction>> {
        if !self.covers.contains(&height) {
            return None;
        }
        loop {
            let (h, txs) = match self.peeked.take() {
                Some(p) => p,
                None => self.rx.recv().await?,
            };
            if h == height {
                return Some(txs);
            }
            if h > height {
                self.peeked = Some((h, txs));
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_contracts::testkit::{doc, World, CHAIN_ID};
    use lianrong_contracts::{Action, SignedTransaction};

    /// Payloads of three blocks, the second with a transaction whose signature is bad.
    fn payloads() -> Vec<Vec<u8>> {
        let mut w = World::new();
        let mut order = |i: usize| {
            let order = doc(&format!("PO-{i}"));
            w.sign("SUP-1", Action::AcceptOrder { order })
                .signed()
                .clone()
        };
        let mut blocks: Vec<Vec<SignedTransaction>> = (0..3)
            .map(|b| (0..4).map(|i| order(b * 4 + i)).collect())
            .collect();
        blocks[1][2].signature.0[0] ^= 1;
        blocks.iter().map(lianrong_primitives::encode).collect()
    }

    #[tokio::test]
    async fn checked_ahead_is_what_the_loop_would_check() {
        let payloads = payloads();
        let blocks: Vec<(u64, Vec<u8>)> = (11..).zip(payloads.iter().cloned()).collect();
        let mut ahead = Ahead::check(blocks, CHAIN_ID).unwrap();
        // A height it does not check is answered at once, without waiting for the job.
        assert!(ahead.take(10).await.is_none());
        for (height, bytes) in (11..).zip(&payloads) {
            let checked = ahead.take(height).await.unwrap();
            let on_loop = payload::decode_with(bytes, CHAIN_ID, MAX_PAYLOAD_BYTES, |_, _| None);
            assert_eq!(checked, on_loop, "height {height}");
        }
        assert_eq!(
            ahead.take(12).await,
            None,
            "taken already (blocks come in order)"
        );
        assert!(ahead.take(14).await.is_none());
        let kept: Vec<usize> = payloads
            .iter()
            .map(|p| payload::decode(p, CHAIN_ID, MAX_PAYLOAD_BYTES).len())
            .collect();
        assert_eq!(kept, vec![4, 3, 4], "the bad signature is left out");
    }
}
