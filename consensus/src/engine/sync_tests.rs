//! Catch-up through sync windows, on one engine fed by hand: several peers asked at once,
//! answers in any order, a peer that lies and one that never answers.

use super::tests::{child, deliver, genesis_state, proposal, qc_on, signed, started};
use super::*;

const W: u64 = MAX_SYNC_BLOCKS as u64;
/// A request unanswered this long (at the default base timeout) is asked elsewhere.
const TIMEOUT: u64 = 1_000 * super::sync::SYNC_TIMEOUT_ROUNDS;

/// Blocks 1..=n, each the child of the one before in the next round, so the
/// certificate on block h + 1 commits block h. `payload` tells forks apart.
fn chain(n: u64, payload: &[u8]) -> Vec<Block> {
    let mut blocks = vec![proposal(payload, 900).block];
    while (blocks.len() as u64) < n {
        let next = blocks.last().map(|b| child(b, genesis_state())).unwrap();
        blocks.push(next);
    }
    blocks
}

/// The sync answer for heights `first..=last` of `chain`, with the certificate on the
/// block after `last`.
fn answer(chain: &[Block], first: u64, last: u64) -> Message {
    Message::SyncResponse {
        blocks: chain[(first - 1) as usize..last as usize].to_vec(),
        cert: CommitCertificate {
            qc: qc_on(&chain[last as usize]),
        },
    }
}

fn deliver_at(e: &mut Engine, now: u64, from: u16, message: Message) -> Vec<Output> {
    e.handle(now, Input::Message { from, message })
        .into_outputs()
}

/// The sync requests among `out`, as (peer, from height).
fn requests(out: &[Output]) -> Vec<(u16, u64)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send {
                to: Target::One(p),
                message: Message::SyncRequest { from_height },
            } => Some((*p, *from_height)),
            _ => None,
        })
        .collect()
}

fn finalized(out: &[Output]) -> Vec<u64> {
    out.iter()
        .filter_map(|o| match o {
            Output::Finalized(f) => Some(f.block.height),
            _ => None,
        })
        .collect()
}

fn rejected(out: &[Output]) -> Vec<(u16, RejectReason)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Rejected { from, reason } => Some((*from, reason.clone())),
            _ => None,
        })
        .collect()
}

/// Validator 3, at genesis, shown a proposal of block 100 (far ahead): it learns that
/// block 98 is final and asks its three peers for the first four ranges at once (its
/// windows opened beforehand, as after a few answers).
fn behind() -> (Engine, Vec<Block>, Vec<(u16, u64)>) {
    // More windows than an engine opens (see `windows::tests::WINDOWS`).
    behind_with(4)
}

/// [`behind`] with `windows` sync windows, past the slow start (one request first):
/// tested in `windows`.
fn behind_with(windows: usize) -> (Engine, Vec<Block>, Vec<(u16, u64)>) {
    let blocks = chain(100, b"one");
    let mut e = started(3, None);
    e.windows = super::windows::SyncWindows::with_max(windows);
    e.windows.open_all();
    let tip = blocks[99].clone();
    let proposer = tip.proposer;
    let out = deliver(&mut e, proposer, signed(tip));
    let asked = requests(&out);
    (e, blocks, asked)
}

/// What a node does: [`SYNC_WINDOWS`] ranges fetched at once, each from another peer.
#[test]
fn an_engine_fetches_two_ranges_at_once_from_two_peers() {
    let (mut e, blocks, asked) = behind_with(SYNC_WINDOWS);
    assert_eq!(SYNC_WINDOWS, 2);
    assert_eq!(
        asked.iter().map(|a| a.1).collect::<Vec<_>>(),
        vec![1, 1 + W],
        "{asked:?}"
    );
    assert_ne!(asked[0].0, asked[1].0, "two peers: {asked:?}");
    // Windows full: the next range is asked once the first has come and gone.
    let out = deliver(&mut e, asked[0].0, answer(&blocks, 1, W));
    assert_eq!(finalized(&out), (1..=W).collect::<Vec<_>>());
    let next: Vec<u64> = requests(&out).iter().map(|a| a.1).collect();
    assert_eq!(next, vec![1 + 2 * W], "{out:?}");
}

#[test]
fn several_peers_are_asked_at_once_and_answers_are_taken_in_any_order() {
    let (mut e, blocks, asked) = behind();
    let froms: Vec<u64> = asked.iter().map(|a| a.1).collect();
    assert_eq!(froms, vec![1, 1 + W, 1 + 2 * W, 1 + 3 * W], "{asked:?}");
    let mut peers: Vec<u16> = asked.iter().map(|a| a.0).collect();
    peers.sort_unstable();
    peers.dedup();
    assert_eq!(peers, vec![0, 1, 2], "every peer asked: {asked:?}");
    // The second and third ranges come first: kept, nothing finalized, nothing asked.
    for k in [1, 2] {
        let (peer, first) = asked[k];
        let out = deliver(&mut e, peer, answer(&blocks, first, first + W - 1));
        assert!(finalized(&out).is_empty(), "{out:?}");
        assert!(requests(&out).is_empty(), "windows full: {out:?}");
    }
    assert_eq!(e.windows.waiting(), 2);
    // The first one: all three are finalized in order, and the requests that fill the
    // windows again leave ahead of them.
    let out = deliver(&mut e, asked[0].0, answer(&blocks, 1, W));
    assert_eq!(finalized(&out), (1..=3 * W).collect::<Vec<_>>());
    let next: Vec<u64> = requests(&out).iter().map(|a| a.1).collect();
    assert_eq!(next, vec![1 + 4 * W, 1 + 5 * W, 1 + 6 * W], "{out:?}");
    let first_finalized = out
        .iter()
        .position(|o| matches!(o, Output::Finalized(_)))
        .unwrap();
    let last_request = out
        .iter()
        .rposition(|o| !requests(std::slice::from_ref(o)).is_empty())
        .unwrap();
    assert!(last_request < first_finalized, "{out:?}");
    assert_eq!(e.finalized_height(), 3 * W);
}

#[test]
fn a_forged_answer_is_refused_and_asked_of_another_peer() {
    let (mut e, blocks, asked) = behind();
    let (liar, first) = asked[0];
    let Message::SyncResponse {
        blocks: b,
        mut cert,
    } = answer(&blocks, first, W)
    else {
        unreachable!()
    };
    cert.qc.signatures[1].0[3] ^= 1;
    let out = deliver(&mut e, liar, Message::SyncResponse { blocks: b, cert });
    assert!(
        matches!(rejected(&out).as_slice(), [(p, RejectReason::Cert(_))] if *p == liar),
        "{out:?}"
    );
    assert!(finalized(&out).is_empty());
    // Whatever the liar was asked goes to the others.
    let again = requests(&out);
    let liars: Vec<u64> = asked.iter().filter(|a| a.0 == liar).map(|a| a.1).collect();
    assert_eq!(again.iter().map(|a| a.1).collect::<Vec<_>>(), liars);
    assert!(again.iter().all(|a| a.0 != liar), "{again:?}");
    // Blocks that do not form a chain are refused too, and so is the certificate of
    // another range.
    let (peer, _) = again[0];
    let mut gap = blocks[..5].to_vec();
    gap.remove(2);
    let cert = CommitCertificate {
        qc: qc_on(&blocks[5]),
    };
    let out = deliver(&mut e, peer, Message::SyncResponse { blocks: gap, cert });
    assert!(matches!(
        rejected(&out).as_slice(),
        [(_, RejectReason::Malformed(_))]
    ));
    let other = CommitCertificate {
        qc: qc_on(&blocks[9]),
    };
    let out = deliver(
        &mut e,
        peer,
        Message::SyncResponse {
            blocks: blocks[..5].to_vec(),
            cert: other,
        },
    );
    assert!(matches!(
        rejected(&out).as_slice(),
        [(_, RejectReason::Malformed(_))]
    ));
    assert_eq!(e.finalized_height(), 0);
    // The one honest peer left still brings the chain.
    let honest = (0..3u16).find(|p| *p != liar && *p != peer).unwrap();
    let out = deliver(&mut e, honest, answer(&blocks, 1, W));
    assert_eq!(finalized(&out).last(), Some(&W));
}

#[test]
fn a_range_other_than_asked_is_used_where_it_fits_and_a_fork_is_refused() {
    let (mut e, blocks, asked) = behind();
    // A peer answers with a valid range that overlaps two windows.
    let out = deliver(&mut e, asked[1].0, answer(&blocks, 5, W + 4));
    assert!(finalized(&out).is_empty());
    // A certified range of another chain (more than f faulty validators) waits too...
    let fork = chain(3 * W + 1, b"fork");
    let forger = asked[2].0;
    let out = deliver(&mut e, forger, answer(&fork, 2 * W + 1, 3 * W));
    assert!(rejected(&out).is_empty(), "{out:?}");
    // ...until the chain below it is final: it does not join, and is dropped.
    let out = deliver(&mut e, asked[0].0, answer(&blocks, 1, W));
    assert_eq!(finalized(&out), (1..=W + 4).collect::<Vec<_>>());
    let out = deliver(&mut e, asked[1].0, answer(&blocks, W + 1, 2 * W));
    assert_eq!(finalized(&out), (W + 5..=2 * W).collect::<Vec<_>>());
    assert!(
        matches!(rejected(&out).as_slice(), [(p, RejectReason::Malformed(_))] if *p == forger),
        "{out:?}"
    );
    assert_eq!(e.finalized_height(), 2 * W);
    assert!(requests(&out).iter().any(|a| a.1 == 2 * W + 1), "{out:?}");
    assert!(requests(&out).iter().all(|a| a.0 != forger), "{out:?}");
}

#[test]
fn a_peer_that_never_answers_loses_its_requests_after_the_timeout() {
    let (mut e, blocks, asked) = behind();
    let silent = asked[0].0;
    let (p1, f1) = asked[1];
    deliver(&mut e, p1, answer(&blocks, f1, f1 + W - 1));
    // Time the node spent executing does not count against a request...
    let _ = e.handle(2_900, Input::Executed(genesis_state()));
    let (p2, f2) = asked[2];
    let out = deliver_at(&mut e, 3_000, p2, answer(&blocks, f2, f2 + W - 1));
    assert!(requests(&out).is_empty(), "{out:?}");
    // ...but a silent peer's requests go to others once it has passed.
    let (p3, f3) = asked[3];
    let late = if p3 == silent { p1 } else { p3 };
    let out = deliver_at(
        &mut e,
        2_900 + TIMEOUT,
        late,
        answer(&blocks, f3, f3 + W - 1),
    );
    let again = requests(&out);
    assert!(again.iter().any(|a| a.1 == 1), "{out:?}");
    assert!(again.iter().all(|a| a.0 != silent), "{again:?}");
    let out = deliver_at(&mut e, 3_000 + TIMEOUT, again[0].0, answer(&blocks, 1, W));
    assert_eq!(finalized(&out).last(), Some(&(4 * W)));
}

#[test]
fn unasked_answers_never_hold_more_than_the_windows() {
    let (mut e, blocks, _) = behind();
    for first in (2..=80).step_by(5) {
        let last = (first + W - 1).min(98);
        let _ = deliver(&mut e, 1, answer(&blocks, first, last));
        assert!(e.windows.waiting() <= e.windows.max() && e.windows.in_flight() <= e.windows.max());
    }
    assert_eq!(e.finalized_height(), 0);
    let out = deliver(&mut e, 2, answer(&blocks, 1, W));
    assert!(finalized(&out).len() as u64 >= W, "{out:?}");
}

/// A validator that caught up on 100 full blocks keeps two sync answers' worth of them
/// for its peers (4 MiB), not all 100 (25 MiB; with the old count bound of 1,024, a
/// quarter of a gigabyte under load), and answers from what it kept: older heights are
/// its host's to serve from its store.
#[test]
fn finalized_blocks_kept_for_peers_are_bounded_by_their_bytes() {
    let blocks = chain(100, &vec![7; MAX_PAYLOAD_BYTES]);
    let mut e = started(3, None);
    e.windows.open_all();
    let tip = blocks[99].clone();
    let proposer = tip.proposer;
    let mut queue = requests(&deliver(&mut e, proposer, signed(tip)));
    while let Some((peer, first)) = queue.pop() {
        let last = (first + W - 1).min(98);
        queue.extend(requests(&deliver(
            &mut e,
            peer,
            answer(&blocks, first, last),
        )));
    }
    assert_eq!(e.finalized_height(), 98);
    assert_eq!(e.recent.len(), 2 * MAX_SYNC_BLOCKS);
    assert!(e.recent.payload_bytes() <= RECENT_FINALIZED_BYTES);

    let oldest = 98 - 2 * W + 1;
    let sent = |out: &[Output]| -> Vec<Message> {
        out.iter()
            .filter_map(|o| match o {
                Output::Send {
                    to: Target::One(0),
                    message,
                } => Some(message.clone()),
                _ => None,
            })
            .collect()
    };
    let out = deliver(
        &mut e,
        0,
        Message::SyncRequest {
            from_height: oldest,
        },
    );
    match sent(&out).as_slice() {
        [Message::SyncResponse { blocks: b, .. }] => {
            let heights: Vec<u64> = b.iter().map(|b| b.height).collect();
            assert_eq!(
                heights,
                (oldest..oldest + b.len() as u64).collect::<Vec<_>>()
            );
        }
        other => panic!("no sync answer from the kept blocks: {other:?}"),
    }
    let out = deliver(&mut e, 0, Message::SyncRequest { from_height: 10 });
    assert!(sent(&out).is_empty(), "height 10 was dropped: {out:?}");
    let out = deliver(&mut e, 0, Message::BlockRequest(blocks[97].hash()));
    assert!(
        matches!(sent(&out).as_slice(), [Message::BlockResponse(b)] if b.height == 98),
        "{out:?}"
    );
    let out = deliver(&mut e, 0, Message::BlockRequest(blocks[9].hash()));
    assert!(sent(&out).is_empty(), "{out:?}");
}
