//! Catch-up windows: which ranges of final blocks to ask which peers for, ahead of the
//! range being executed, and the verified ranges that arrived before their turn.
//!
//! Separate because it is the part of catch-up with choices -- how far ahead to ask,
//! whom to ask, when to give up on a peer -- and pure bookkeeping over heights, peer
//! indexes and times, so each choice is tested without an engine. Nothing here judges a
//! block: the engine verifies a range (hash chain, certificate) before handing it over.
//!
//! Several requests go out at once, each for the range starting at a different height
//! (a request asks for [`MAX_SYNC_BLOCKS`] blocks from its height; the answer may hold up
//! to twice that, ending at a block its own certificate commits), to different peers.
//! Answers may come back in any order; a range waits here until the range before it has
//! been finalized. A peer that never answers loses its requests after a timeout (counted
//! from this node's last execution: while it executes, answers wait in its queue), and
//! one whose answer failed verification loses them at once; either is skipped for a
//! while. A late answer is still taken if it is still of use.

use std::collections::BTreeMap;

use crate::types::{Block, CommitCertificate, MAX_SYNC_BLOCKS};

/// Requests in flight plus verified ranges waiting when a new request is opened, at
/// most: bounds the look-ahead (about this many times [`MAX_SYNC_BLOCKS`] heights past the
/// last finalized block). Each of the two is also bounded by it on its own (an answer
/// nobody asked for may still be kept), so catch-up holds at most this many answers of
/// at most `2 * MAX_SYNC_BLOCKS` blocks.
///
/// Two: ranges are fetched from two peers at once, and one range is still executing
/// below them (it has left the windows for the node's executor), so fetching overlaps
/// executing. Four held up to 32 MiB of blocks ahead (8 MiB a full range, when requests
/// asked for 16 blocks) on a node whose executor, not the network, set the pace: its
/// peak RSS after 360,000 transactions fell by ~10 MiB with two, at the same catch-up
/// rate (node/README.md).
pub const SYNC_WINDOWS: usize = 2;
/// A peer whose answer failed verification, or that let a request time out, is not
/// asked again for this long (ms) while another peer can be: a silent peer would
/// otherwise hold up the range it was asked for once per timeout.
pub const SHUN_MS: u64 = 30_000;

/// A request in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Asked {
    peer: u16,
    at: u64,
}

/// Consecutive final blocks, the last committed by `cert` (verified by the engine).
#[derive(Debug, Clone)]
pub struct Range {
    /// Who sent it (blamed if it does not join the chain below it).
    pub from: u16,
    /// The blocks, in height order; never empty.
    pub blocks: Vec<Block>,
    /// Commits the last block.
    pub cert: CommitCertificate,
}

impl Range {
    /// Height of its first block.
    pub fn first(&self) -> u64 {
        self.blocks.first().map_or(0, |b| b.height)
    }

    /// Height of its last block.
    pub fn last(&self) -> u64 {
        self.blocks.last().map_or(0, |b| b.height)
    }
}

/// The state of catch-up (see the module docs). Every map is bounded: requests and
/// ranges each by `max` ([`SYNC_WINDOWS`] in an engine), skipped peers by the validator
/// set's size.
#[derive(Debug)]
pub struct SyncWindows {
    /// Most requests in flight, and most ranges waiting.
    max: usize,
    /// Requests in flight by the height they ask from.
    asked: BTreeMap<u64, Asked>,
    /// Verified ranges waiting for their turn, by first height.
    ready: BTreeMap<u64, Range>,
    /// The highest height the peers are known to have final.
    target: u64,
    /// The first height known to belong to a later epoch, whose certificates this
    /// node cannot check before it has switched: nothing at or above it is asked for.
    barrier: Option<u64>,
    /// Peers skipped until the given time.
    shunned: BTreeMap<u16, u64>,
    /// Where the round-robin over peers goes on.
    next_peer: u64,
    /// When the application last reported an execution.
    executed_at: u64,
    /// Useful answers since catch-up (re)started: one request is opened at first, one
    /// more per useful answer, up to `max` (see [`SyncWindows::open`]).
    grown: usize,
}

impl Default for SyncWindows {
    fn default() -> Self {
        Self::with_max(SYNC_WINDOWS)
    }
}

impl SyncWindows {
    /// Windows of at most `max` requests and `max` waiting ranges (at least one).
    pub fn with_max(max: usize) -> Self {
        Self {
            max: max.max(1),
            asked: BTreeMap::new(),
            ready: BTreeMap::new(),
            target: 0,
            barrier: None,
            shunned: BTreeMap::new(),
            next_peer: 0,
            executed_at: 0,
            grown: 0,
        }
    }

    /// Most requests in flight, and most ranges waiting.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Raises the height known final at the peers (it never goes down).
    pub fn raise_target(&mut self, height: u64) {
        self.target = self.target.max(height);
    }

    /// The height known final at the peers.
    pub fn target(&self) -> u64 {
        self.target
    }

    /// Requests in flight.
    pub fn in_flight(&self) -> usize {
        self.asked.len()
    }

    /// Verified ranges waiting.
    pub fn waiting(&self) -> usize {
        self.ready.len()
    }

    /// The application executed a block at `now`: requests sent before count from now,
    /// since their answers waited in this node's queue while it executed.
    pub fn executed(&mut self, now: u64) {
        self.executed_at = self.executed_at.max(now);
    }

    /// The requests to send now, as (peer, height to sync from), for a node whose last
    /// finalized block is `root`, among `peers` validators of which it is `me`.
    /// Requests older than `timeout_ms` are given up first (their peer skipped for
    /// [`SHUN_MS`]). Asks for the heights above `root` up to the target not covered by a
    /// request in flight or a waiting range, while fewer than [`SyncWindows::open`] are
    /// open -- and `root + 1` whenever it is not asked for yet and a target was raised
    /// above `root`.
    pub fn plan(
        &mut self,
        now: u64,
        root: u64,
        peers: u16,
        me: Option<u16>,
        timeout_ms: u64,
    ) -> Vec<(u16, u64)> {
        self.expire(now, timeout_ms);
        self.ready.retain(|_, r| r.last() > root);
        let next = root.saturating_add(1);
        // A barrier the chain has passed in this epoch was a lie (it cannot be checked
        // when it arrives); one never holds back the next height, so a lying peer can
        // slow catch-up down to one range at a time up to its barrier, never stop it.
        self.barrier = self.barrier.filter(|&b| b > next);
        let limit = match self.barrier {
            Some(b) => self.target.min(b.saturating_sub(1)),
            None => self.target,
        };
        let mut out = Vec::new();
        let mut cursor = next;
        let open = self.open();
        while cursor <= limit && self.asked.len() < self.max {
            if let Some(end) = self.covered(cursor) {
                cursor = end.saturating_add(1);
                continue;
            }
            // The next height is asked for whatever is open: it is the one range that
            // can be executed, and the ranges waiting above it wait for it.
            if self.asked.len() + self.ready.len() >= open && cursor != next {
                break;
            }
            let Some(peer) = self.pick(now, peers, me) else {
                break;
            };
            self.asked.insert(cursor, Asked { peer, at: now });
            out.push((peer, cursor));
            cursor = cursor.saturating_add(MAX_SYNC_BLOCKS as u64);
        }
        out
    }

    /// How many requests and waiting ranges may be open: one at first, one more per
    /// useful answer, up to `max`. Several answers asked for at once arrive
    /// together and are read, sent and decoded together: on a busy machine the first
    /// range, the only one that can be executed, then came last (10 s to the first block
    /// in a debug build against 3.5 s with one request first).
    fn open(&self) -> usize {
        self.grown.saturating_add(1).min(self.max)
    }

    /// The last height of the waiting range or request in flight that covers `height`.
    fn covered(&self, height: u64) -> Option<u64> {
        let range = self
            .ready
            .range(..=height)
            .next_back()
            .map(|(_, r)| r.last())
            .filter(|&last| last >= height);
        let asked = self
            .asked
            .range(..=height)
            .next_back()
            .map(|(&from, _)| from.saturating_add(MAX_SYNC_BLOCKS as u64 - 1))
            .filter(|&last| last >= height);
        range.max(asked)
    }

    /// Gives up on requests unanswered for `timeout_ms` (not counting time this node spent
    /// executing) and skips their peers for [`SHUN_MS`].
    fn expire(&mut self, now: u64, timeout_ms: u64) {
        let executed_at = self.executed_at;
        let mut late: Vec<u16> = Vec::new();
        self.asked.retain(|_, a| {
            let expired = a.at.max(executed_at).saturating_add(timeout_ms) <= now;
            if expired {
                late.push(a.peer);
            }
            !expired
        });
        if !late.is_empty() {
            // The peers are slower than thought: start over with one request.
            self.grown = 0;
        }
        for peer in late {
            self.skip(peer, now.saturating_add(SHUN_MS));
        }
    }

    fn skip(&mut self, peer: u16, until: u64) {
        let at = self.shunned.entry(peer).or_insert(0);
        *at = (*at).max(until);
    }

    /// The next peer to ask: one not skipped with the fewest requests in flight, in
    /// round-robin order among equals; if every peer is skipped, the one skipped the
    /// shortest (catch-up slows down but never stops). `None` without another peer.
    fn pick(&mut self, now: u64, peers: u16, me: Option<u16>) -> Option<u16> {
        let n = u64::from(peers);
        if n == 0 {
            return None;
        }
        let mut best: Option<((u64, usize, u64), u16)> = None;
        for k in 0..n {
            let Ok(peer) = u16::try_from((self.next_peer + k) % n) else {
                continue;
            };
            if Some(peer) == me {
                continue;
            }
            let skipped_until = self.shunned.get(&peer).copied().filter(|&t| t > now);
            let load = self.asked.values().filter(|a| a.peer == peer).count();
            let key = (skipped_until.unwrap_or(0), load, k);
            if best.is_none_or(|(b, _)| key < b) {
                best = Some((key, peer));
            }
        }
        let (_, peer) = best?;
        self.next_peer = u64::from(peer) + 1;
        Some(peer)
    }

    /// Starts the round-robin over peers at `peer` (who showed this node it is behind,
    /// so likely has the blocks); the least loaded peer still goes first.
    pub fn prefer(&mut self, peer: u16) {
        self.next_peer = u64::from(peer);
    }

    /// An answer to the request from `height` came (from whichever peer): it is no
    /// longer in flight.
    pub fn answered(&mut self, height: u64) {
        self.asked.remove(&height);
    }

    /// `peer` sent an answer that failed verification: skip it for [`SHUN_MS`] and ask
    /// others for what it was asked.
    pub fn blame(&mut self, peer: u16, now: u64) {
        self.asked.retain(|_, a| a.peer != peer);
        self.skip(peer, now.saturating_add(SHUN_MS));
    }

    /// The answer from `height` holds blocks of a later epoch: ask for nothing at or
    /// above it until this node has switched epochs (or its chain reached the barrier
    /// in this epoch, which shows it was a lie).
    pub fn later_epoch(&mut self, height: u64) {
        self.asked.remove(&height);
        self.barrier = Some(self.barrier.map_or(height, |b| b.min(height)));
    }

    /// Keeps a verified range for its turn; `false` when it brings nothing new for a node
    /// whose last finalized block is `root`: wholly finalized already, within a waiting
    /// range, or further ahead than the windows reach while they are full.
    pub fn accept(&mut self, range: Range, root: u64) -> bool {
        let (first, last) = (range.first(), range.last());
        if range.blocks.is_empty() || last <= root {
            return false;
        }
        self.ready.retain(|_, r| r.last() > root);
        let within = self
            .ready
            .range(..=first)
            .next_back()
            .is_some_and(|(_, r)| r.last() >= last);
        if within {
            return false;
        }
        let reach = root.saturating_add((self.max * 2 * MAX_SYNC_BLOCKS) as u64);
        if first > reach {
            return false;
        }
        if self.ready.len() >= self.max {
            // Full: make room only for a range nearer than the farthest one waiting.
            match self.ready.last_key_value() {
                Some((&far, _)) if far > first => {
                    self.ready.remove(&far);
                }
                _ => return false,
            }
        }
        self.ready.insert(first, range);
        self.grown = self.grown.saturating_add(1).min(self.max);
        true
    }

    /// The waiting range that goes on from `root` (it may start below `root + 1`: the
    /// caller drops what it has already), if it has come.
    pub fn next(&mut self, root: u64) -> Option<Range> {
        self.ready.retain(|_, r| r.last() > root);
        let (&first, _) = self.ready.first_key_value()?;
        if first > root.saturating_add(1) {
            return None;
        }
        self.ready.remove(&first)
    }

    /// A new epoch began: peer indexes refer to a new set and ranges of the old epoch
    /// are of no use; what the peers have final stays known.
    pub fn new_epoch(&mut self) {
        self.asked.clear();
        self.ready.clear();
        self.barrier = None;
        self.shunned.clear();
        self.grown = 0;
    }

    /// Opens every window at once, as after a few answers (tests of what comes after).
    #[cfg(test)]
    pub fn open_all(&mut self) {
        self.grown = self.max;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{QuorumCert, VoteData};
    use lianrong_primitives::Hash;

    const TIMEOUT: u64 = 2_000;
    /// Windows in these tests: more than an engine opens, so that requests to all three
    /// peers, a peer asked twice and answers in every order are exercised; the logic
    /// does not depend on the number (the engine's own is checked by
    /// `sync_tests::an_engine_fetches_two_ranges_at_once_from_two_peers`).
    const WINDOWS: usize = 4;
    const W: u64 = MAX_SYNC_BLOCKS as u64;

    /// A range of heights `first..=last` (contents do not matter here).
    fn range(from: u16, first: u64, last: u64) -> Range {
        let block = |h| Block {
            chain_id: "c".into(),
            epoch: 0,
            height: h,
            round: h,
            parent: Hash::ZERO,
            justify: QuorumCert::genesis(Hash::ZERO),
            proposer: 0,
            timestamp_ms: h,
            payload: Vec::new(),
            reconfig: None,
            executed: crate::types::ExecutionCommit::genesis(Hash::ZERO),
        };
        let vote = VoteData {
            epoch: 0,
            block_hash: Hash::ZERO,
            height: last + 1,
            round: last + 1,
            parent_hash: Hash::ZERO,
            parent_round: last,
        };
        Range {
            from,
            blocks: (first..=last).map(block).collect(),
            cert: CommitCertificate {
                qc: QuorumCert {
                    vote,
                    signers: Vec::new(),
                    signatures: Vec::new(),
                },
            },
        }
    }

    /// Windows past their slow start, with the peers known to have `target` final.
    fn windows(target: u64) -> SyncWindows {
        let mut w = SyncWindows::with_max(WINDOWS);
        w.raise_target(target);
        w.open_all();
        w
    }

    #[test]
    fn one_request_first_then_one_more_per_useful_answer() {
        let mut w = SyncWindows::with_max(WINDOWS);
        w.raise_target(1_000);
        assert_eq!(w.plan(0, 0, 4, Some(3), TIMEOUT), vec![(0, 1)]);
        w.answered(1);
        assert!(w.accept(range(0, 1, W), 0));
        let r = w.next(0).unwrap();
        let asked = w.plan(1, r.last(), 4, Some(3), TIMEOUT);
        assert_eq!(
            asked.iter().map(|a| a.1).collect::<Vec<_>>(),
            vec![W + 1, 2 * W + 1]
        );
        // A useless answer opens nothing.
        assert!(!w.accept(range(1, 1, W), r.last()));
        assert!(w.plan(2, r.last(), 4, Some(3), TIMEOUT).is_empty());
        // A timeout starts over with one.
        let after = w.plan(2 + TIMEOUT, r.last(), 4, Some(3), TIMEOUT);
        assert_eq!(after.len(), 1, "{after:?}");
        // The next height is asked for even when the ranges above it fill the windows.
        let mut w = windows(1_000);
        w.plan(0, 0, 4, Some(3), TIMEOUT);
        for first in [1 + W, 1 + 2 * W, 1 + 3 * W] {
            w.answered(first);
            assert!(w.accept(range(1, first, first + W - 1), 0));
        }
        w.grown = 0;
        assert_eq!(w.plan(TIMEOUT, 0, 4, Some(3), TIMEOUT), vec![(1, 1)]);
    }

    #[test]
    fn asks_several_peers_for_consecutive_ranges_up_to_the_target() {
        let mut w = windows(1_000);
        let asked = w.plan(0, 10, 4, Some(3), TIMEOUT);
        assert_eq!(
            asked,
            vec![(0, 11), (1, 11 + W), (2, 11 + 2 * W), (0, 11 + 3 * W)]
        );
        assert!(w.plan(0, 10, 4, Some(3), TIMEOUT).is_empty(), "all open");
        // Not beyond the target, but always the next height.
        let mut w = windows(10 + W);
        assert_eq!(w.plan(0, 10, 4, Some(0), TIMEOUT), vec![(1, 11)]);
        let mut w = windows(0);
        assert!(w.plan(0, 10, 4, None, TIMEOUT).is_empty(), "no target");
    }

    #[test]
    fn out_of_order_ranges_wait_for_their_turn() {
        let mut w = windows(1_000);
        let asked = w.plan(0, 0, 4, Some(0), TIMEOUT);
        assert_eq!(asked.len(), WINDOWS);
        // The second and third answers arrive first.
        for first in [1 + W, 1 + 2 * W] {
            w.answered(first);
            assert!(w.accept(range(1, first, first + W - 1), 0));
        }
        assert!(w.next(0).is_none(), "the first range has not come");
        // Their windows stay taken until they are used.
        assert!(w.plan(10, 0, 4, Some(0), TIMEOUT).is_empty());
        w.answered(1);
        assert!(w.accept(range(2, 1, W), 0));
        let mut root = 0;
        while let Some(r) = w.next(root) {
            assert_eq!(r.first(), root + 1);
            root = r.last();
        }
        assert_eq!(root, 3 * W);
        // Three windows free: the next three ranges go out (one is still in flight).
        let asked = w.plan(20, root, 4, Some(0), TIMEOUT);
        let froms: Vec<u64> = asked.iter().map(|a| a.1).collect();
        assert_eq!(froms, vec![4 * W + 1, 5 * W + 1, 6 * W + 1]);
    }

    #[test]
    fn a_longer_answer_moves_the_next_request_past_it() {
        let mut w = windows(1_000);
        w.plan(0, 0, 4, Some(0), TIMEOUT);
        // The first answer went on to a block 20 heights in (no direct commit before).
        w.answered(1);
        assert!(w.accept(range(1, 1, W + 4), 0));
        let r = w.next(0).unwrap();
        assert_eq!(r.last(), W + 4);
        // The range asked from W + 1 is in flight and covers up to 2W; what it does not
        // cover is asked from right after it.
        let asked = w.plan(1, r.last(), 4, Some(0), TIMEOUT);
        assert_eq!(asked.first().map(|a| a.1), Some(4 * W + 1));
        // An overlapping range is used from the root on.
        w.answered(W + 1);
        assert!(w.accept(range(2, W + 1, 2 * W), r.last()));
        assert_eq!(w.next(r.last()).map(|r| r.first()), Some(W + 1));
    }

    #[test]
    fn a_silent_peer_loses_its_request_to_another_peer() {
        let mut w = windows(1_000);
        let asked = w.plan(0, 0, 4, Some(3), TIMEOUT);
        assert_eq!(asked[0], (0, 1));
        // Peers 1, 2 and the second request of peer 0 answer; peer 0's first never does.
        for &(_, first) in &asked[1..] {
            w.answered(first);
            w.accept(range(1, first, first + W - 1), 0);
        }
        assert!(w.plan(TIMEOUT - 1, 0, 4, Some(3), TIMEOUT).is_empty());
        let again = w.plan(TIMEOUT, 0, 4, Some(3), TIMEOUT);
        assert_eq!(again, vec![(1, 1)], "asked again, of another peer");
        // Peer 0 stays skipped while others can be asked.
        w.answered(1);
        w.accept(range(1, 1, W), 0);
        let mut root = 0;
        while let Some(r) = w.next(root) {
            root = r.last();
        }
        let next = w.plan(TIMEOUT + 1, root, 4, Some(3), TIMEOUT);
        assert!(next.iter().all(|&(p, _)| p != 0), "{next:?}");
    }

    #[test]
    fn time_spent_executing_does_not_count_against_a_request() {
        let mut w = windows(1_000);
        w.plan(0, 0, 4, Some(3), TIMEOUT);
        // The node executed until long after the timeout: its answers wait in the queue.
        w.executed(5 * TIMEOUT);
        assert!(w.plan(5 * TIMEOUT + 1, 0, 4, Some(3), TIMEOUT).is_empty());
        assert_eq!(w.in_flight(), WINDOWS);
        // Once it has passed, they are asked again, starting over with one.
        assert_eq!(w.plan(6 * TIMEOUT, 0, 4, Some(3), TIMEOUT).len(), 1);
    }

    #[test]
    fn a_blamed_peer_is_skipped_and_its_requests_go_to_others() {
        let mut w = windows(1_000);
        let asked = w.plan(0, 0, 4, Some(3), TIMEOUT);
        assert_eq!(asked.iter().filter(|a| a.0 == 0).count(), 2);
        w.blame(0, 100);
        let again = w.plan(100, 0, 4, Some(3), TIMEOUT);
        assert_eq!(again.len(), 2);
        assert!(again.iter().all(|&(p, _)| p != 0), "{again:?}");
        // Once every other peer is skipped too, the blamed one is still asked (never stall).
        for p in [1, 2] {
            w.blame(p, 200);
        }
        let last = w.plan(300, 0, 4, Some(3), TIMEOUT);
        assert_eq!(last.len(), WINDOWS);
        assert!(last.iter().all(|&(p, _)| p == 0), "{last:?}");
        // With no peer at all, nothing is asked.
        let mut alone = windows(1_000);
        assert!(alone.plan(0, 0, 1, Some(0), TIMEOUT).is_empty());
    }

    #[test]
    fn nothing_is_asked_past_a_later_epoch() {
        let mut w = windows(1_000);
        w.plan(0, 0, 4, Some(0), TIMEOUT);
        // The answer from 1 + W holds blocks of the next epoch.
        w.later_epoch(1 + W);
        w.answered(1 + 3 * W);
        assert!(
            w.plan(1, 0, 4, Some(0), TIMEOUT).is_empty(),
            "below it all asked"
        );
        w.answered(1);
        let asked = w.plan(2, 0, 4, Some(0), TIMEOUT);
        assert_eq!(asked.iter().map(|a| a.1).collect::<Vec<_>>(), vec![1]);
        w.new_epoch();
        assert_eq!(w.plan(3, W, 4, Some(0), TIMEOUT).len(), 1, "starts over");
        // A lie (the barrier cannot be checked when it comes) never holds back the next
        // height, and is forgotten once the chain reaches it.
        let mut w = windows(1_000);
        w.later_epoch(1);
        assert_eq!(w.plan(0, 0, 4, Some(0), TIMEOUT).len(), WINDOWS);
        let mut w = windows(1_000);
        w.later_epoch(1 + W);
        assert_eq!(w.plan(0, 0, 4, Some(0), TIMEOUT).len(), 1);
        w.answered(1);
        assert_eq!(w.plan(1, W, 4, Some(0), TIMEOUT).len(), WINDOWS);
    }

    #[test]
    fn waiting_ranges_are_bounded_and_useless_ones_refused() {
        let mut w = windows(10_000);
        assert!(!w.accept(range(0, 1, 5), 5), "finalized already");
        let reach = (WINDOWS * 2 * MAX_SYNC_BLOCKS) as u64;
        assert!(
            !w.accept(range(0, reach + 2, reach + 5), 0),
            "too far ahead"
        );
        for k in 0..WINDOWS as u64 {
            assert!(w.accept(range(0, 2 + k * W, 1 + (k + 1) * W), 0));
        }
        assert!(!w.accept(range(0, 3, 4), 0), "within a waiting range");
        let far = 2 + (WINDOWS as u64) * W;
        assert!(!w.accept(range(0, far, far + 3), 0), "full, and farther");
        assert!(
            w.accept(range(0, 1, 1), 0),
            "nearer: the farthest makes room"
        );
        assert_eq!(w.waiting(), WINDOWS);
        assert_eq!(w.next(0).map(|r| r.first()), Some(1));
    }
}
