use super::*;

pub(super) const CHAIN: &str = "unit-chain";

/// The genesis state every test application starts from.
pub(super) fn genesis_state() -> ExecutionCommit {
    ExecutionCommit::genesis(lianrong_primitives::sha256(b"unit/genesis"))
}

/// The test application's roots after executing `block`.
fn executed_by(block: &Block) -> ExecutionCommit {
    ExecutionCommit {
        height: block.height,
        state_root: lianrong_primitives::hash::sha256_parts(&[
            b"unit/state",
            block.hash().as_bytes(),
        ]),
        results_root: Hash::ZERO,
    }
}

/// A block at `height` (and round) with `payload_len` bytes of payload, signed by no one:
/// for the stores that hold blocks without judging them (`pending`, `recent`).
pub(super) fn unsigned_block(height: u64, payload_len: usize) -> Block {
    let genesis = Hash::ZERO;
    Block {
        chain_id: CHAIN.into(),
        epoch: 0,
        height,
        round: height,
        parent: genesis,
        justify: QuorumCert::genesis(genesis),
        proposer: 0,
        timestamp_ms: height,
        payload: vec![height as u8; payload_len],
        reconfig: None,
        executed: ExecutionCommit::genesis(genesis),
    }
}

pub(super) fn keys() -> Vec<SecretKey> {
    (1..=4u8).map(|i| SecretKey::from_seed([i; 32])).collect()
}

fn config(me: usize) -> EngineConfig {
    let k = keys();
    let set = ValidatorSet::from_keys(&k.iter().map(|k| k.public()).collect::<Vec<_>>()).unwrap();
    EngineConfig::new(CHAIN, set, k[me].clone())
}

/// A round-1 proposal by its leader (validator 1) on top of genesis.
pub(super) fn proposal(payload: &[u8], timestamp_ms: u64) -> Proposal {
    let cfg = config(1);
    let genesis = cfg.genesis_hash();
    let block = Block {
        chain_id: CHAIN.into(),
        epoch: 0,
        height: 1,
        round: 1,
        parent: genesis,
        justify: QuorumCert::genesis(genesis),
        proposer: 1,
        timestamp_ms,
        payload: payload.to_vec(),
        reconfig: None,
        executed: genesis_state(),
    };
    Proposal::sign(block, None, &keys()[1])
}

pub(super) fn started(me: usize, safety: Option<SafetyState>) -> Engine {
    let cfg = config(me);
    let safety = safety.unwrap_or_else(|| SafetyState::genesis(&cfg));
    let mut e = Engine::new(cfg, safety, None);
    let _ = e.handle(1_000, Input::Start);
    let _ = e.handle(1_000, Input::Executed(genesis_state()));
    e
}

pub(super) fn deliver(e: &mut Engine, from: u16, m: Message) -> Vec<Output> {
    e.handle(1_000, Input::Message { from, message: m })
        .into_outputs()
}

fn deliver_step(e: &mut Engine, from: u16, m: Message) -> Step {
    e.handle(1_000, Input::Message { from, message: m })
}

fn votes(out: &[Output]) -> Vec<Vote> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send {
                message: Message::Vote(v),
                ..
            } => Some(v.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn votes_once_and_persists_before_sending() {
    let mut e = started(3, None);
    let step = deliver_step(&mut e, 1, Message::Proposal(Box::new(proposal(b"a", 900))));
    assert!(step.persists_first());
    assert!(matches!(step.safety(), Some(s) if s.last_voted_round == 1));
    let out = step.into_outputs();
    let v = votes(&out);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].data.round, 1);
    let again = deliver(&mut e, 1, Message::Proposal(Box::new(proposal(b"a", 900))));
    assert!(votes(&again).is_empty());
}

#[test]
fn restart_never_double_votes() {
    let mut e = started(3, None);
    let step = deliver_step(&mut e, 1, Message::Proposal(Box::new(proposal(b"a", 900))));
    assert!(
        step.persists_first(),
        "the vote's state is stored before it leaves"
    );
    let persisted = step.safety().cloned().unwrap();
    // Crash, restart from exactly what was persisted, and be shown a conflicting block.
    let mut e = started(3, Some(persisted));
    let out = deliver(&mut e, 1, Message::Proposal(Box::new(proposal(b"b", 900))));
    assert!(votes(&out).is_empty(), "voted twice in round 1: {out:?}");
}

#[test]
fn equivocating_leader_yields_verifiable_evidence() {
    let mut e = started(2, None);
    deliver(&mut e, 1, Message::Proposal(Box::new(proposal(b"a", 900))));
    let out = deliver(&mut e, 1, Message::Proposal(Box::new(proposal(b"b", 900))));
    let ev = out
        .iter()
        .find_map(|o| match o {
            Output::Evidence(ev) => Some(ev.clone()),
            _ => None,
        })
        .expect("evidence");
    assert_eq!(ev.offender(), 1);
    assert_eq!(ev.verify(&config(0).validators, CHAIN), Ok(()));
}

#[test]
fn double_vote_yields_evidence_and_is_counted_once() {
    // Validator 2 leads round 2, so it collects round-1 votes.
    let mut e = started(2, None);
    let p = proposal(b"a", 900);
    let mut data = VoteData {
        epoch: 0,
        block_hash: p.block.hash(),
        height: 1,
        round: 1,
        parent_hash: p.block.parent,
        parent_round: 0,
    };
    deliver(
        &mut e,
        0,
        Message::Vote(Vote::sign(data, 0, &keys()[0], CHAIN)),
    );
    data.block_hash = Hash([9; 32]);
    let out = deliver(
        &mut e,
        0,
        Message::Vote(Vote::sign(data, 0, &keys()[0], CHAIN)),
    );
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Evidence(ev) if ev.offender() == 0)));
}

#[test]
fn bad_signatures_and_bad_timestamps_are_rejected_without_a_vote() {
    let mut e = started(2, None);
    let mut p = proposal(b"a", 900);
    p.signature.0[0] ^= 1;
    let out = deliver(&mut e, 1, Message::Proposal(Box::new(p)));
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Rejected {
            reason: RejectReason::BadSignature,
            ..
        }
    )));
    assert!(votes(&out).is_empty());
    let far_future = proposal(b"a", 1_000 + 60_000);
    let out = deliver(&mut e, 1, Message::Proposal(Box::new(far_future)));
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Rejected {
            reason: RejectReason::BadTimestamp,
            ..
        }
    )));
    assert!(votes(&out).is_empty());
}

/// A certificate on `block` signed by validators 0, 1 and 2.
pub(super) fn qc_on(block: &Block) -> QuorumCert {
    let vote = VoteData {
        epoch: 0,
        block_hash: block.hash(),
        height: block.height,
        round: block.round,
        parent_hash: block.parent,
        parent_round: block.justify.round(),
    };
    let msg = vote.signing_bytes(CHAIN);
    QuorumCert {
        vote,
        signers: vec![0, 1, 2],
        signatures: keys()[..3].iter().map(|k| k.sign(&msg)).collect(),
    }
}

#[test]
fn sync_accepts_only_certified_chains() {
    let b1 = proposal(b"one", 900).block;
    let b2 = Block {
        height: 2,
        round: 2,
        parent: b1.hash(),
        justify: qc_on(&b1),
        proposer: 2,
        timestamp_ms: 950,
        ..b1.clone()
    };
    let cert = CommitCertificate { qc: qc_on(&b2) };
    let mut forged = cert.clone();
    forged.qc.signatures[1].0[0] ^= 1;
    let mut e = started(3, None);
    let out = deliver(
        &mut e,
        0,
        Message::SyncResponse {
            blocks: vec![b1.clone()],
            cert: forged,
        },
    );
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Rejected {
            reason: RejectReason::Cert(_),
            ..
        }
    )));
    assert_eq!(e.finalized_height(), 0);
    let mut short = cert.clone();
    short.qc.signers.pop();
    short.qc.signatures.pop();
    let out = deliver(
        &mut e,
        0,
        Message::SyncResponse {
            blocks: vec![b1.clone()],
            cert: short,
        },
    );
    assert!(out.iter().any(|o| matches!(o, Output::Rejected { .. })));
    let out = deliver(
        &mut e,
        0,
        Message::SyncResponse {
            blocks: vec![b1.clone()],
            cert,
        },
    );
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Finalized(f) if f.block == b1)));
    assert_eq!(e.finalized_height(), 1);
}

#[test]
fn restart_through_a_safety_store_never_double_votes() {
    use crate::persist::{carry_out, MemorySafetyStore, SafetyStore};
    let mut store = MemorySafetyStore::default();
    let mut e = started(3, None);
    let step = deliver_step(&mut e, 1, Message::Proposal(Box::new(proposal(b"a", 900))));
    let mut rest = Vec::new();
    carry_out(&mut store, step, |o| rest.push(o)).unwrap();
    assert_eq!(votes(&rest).len(), 1);
    let loaded = store.load().unwrap().expect("stored");
    let mut e = started(3, Some(loaded));
    let out = deliver(&mut e, 1, Message::Proposal(Box::new(proposal(b"b", 900))));
    assert!(votes(&out).is_empty());
}

#[test]
fn a_block_not_after_its_parent_gets_no_vote() {
    let mut e = started(3, None);
    // Genesis time is 0, so a block at time 0 does not move time forward.
    let out = deliver(&mut e, 1, Message::Proposal(Box::new(proposal(b"a", 0))));
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Rejected {
            reason: RejectReason::BadTimestamp,
            ..
        }
    )));
    assert!(votes(&out).is_empty());
}

#[test]
fn mutated_messages_never_panic() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let p = proposal(b"payload", 900);
    let b2 = Block {
        height: 2,
        round: 2,
        parent: p.block.hash(),
        justify: qc_on(&p.block),
        proposer: 2,
        timestamp_ms: 950,
        ..p.block.clone()
    };
    let timeout = {
        let data = TimeoutData {
            epoch: 0,
            round: 1,
            high_qc_round: 0,
        };
        Timeout {
            epoch: 0,
            round: 1,
            high_qc: p.block.justify.clone(),
            voter: 0,
            signature: keys()[0].sign(&data.signing_bytes(CHAIN)),
            last_tc: None,
        }
    };
    let samples: Vec<Vec<u8>> = vec![
        Message::Proposal(Box::new(p.clone())).to_bytes(),
        Message::Proposal(Box::new(Proposal::sign(b2.clone(), None, &keys()[2]))).to_bytes(),
        Message::Vote(Vote::sign(qc_on(&p.block).vote, 0, &keys()[0], CHAIN)).to_bytes(),
        Message::Timeout(Box::new(timeout)).to_bytes(),
        Message::SyncResponse {
            blocks: vec![p.block.clone()],
            cert: CommitCertificate { qc: qc_on(&b2) },
        }
        .to_bytes(),
        Message::EpochEnd(Vote::sign(qc_on(&b2).vote, 1, &keys()[1], CHAIN)).to_bytes(),
    ];
    let mut decoded = 0;
    for i in 0..3000 {
        let mut bytes = samples[i % samples.len()].clone();
        for _ in 0..rng.gen_range(1..4) {
            let at = rng.gen_range(0..bytes.len());
            // Flip bits, or write extreme values into what may be an integer field.
            bytes[at] = if rng.gen_bool(0.5) {
                bytes[at] ^ (1 << rng.gen_range(0..8))
            } else {
                0xff
            };
        }
        if let Ok(m) = decode_message(&bytes) {
            decoded += 1;
            let mut e = started(2, None);
            let from = rng.gen_range(0..6);
            let _ = e.handle(1_000, Input::Message { from, message: m });
            let _ = e.handle(
                5_000,
                Input::Timer(TimerId {
                    round: 1,
                    generation: 1,
                }),
            );
        }
    }
    assert!(decoded > 500, "only {decoded} mutants decoded");
}

#[test]
fn restart_between_storing_the_reconfiguration_block_and_persisting_the_epoch() {
    let mut r = proposal(b"", 900).block;
    let next =
        ValidatorSet::from_keys(&keys().iter().rev().map(|k| k.public()).collect::<Vec<_>>())
            .unwrap();
    r.reconfig = Some(next.clone());
    let b2 = Block {
        height: 2,
        round: 2,
        parent: r.hash(),
        justify: qc_on(&r),
        ..r.clone()
    };
    let stored = FinalizedBlock {
        block: r.clone(),
        cert: CommitCertificate { qc: qc_on(&b2) },
    };
    let cfg = config(3);
    let mut e = Engine::new(cfg.clone(), SafetyState::genesis(&cfg), Some(&stored));
    assert_eq!(e.current_epoch(), 1);
    assert_eq!(e.validators(), &next);
    let step = e.handle(1_000, Input::Start);
    assert!(step.persists_first());
    assert!(matches!(step.safety(), Some(s) if s.epoch == 1 && s.epoch_root == Some(r.id())));
}

#[test]
fn a_proposal_from_a_non_leader_is_rejected() {
    let mut e = started(2, None);
    let mut p = proposal(b"a", 900);
    p.block.proposer = 3;
    let p = Proposal::sign(p.block, None, &keys()[3]);
    let out = deliver(&mut e, 3, Message::Proposal(Box::new(p)));
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Rejected {
            reason: RejectReason::NotLeader,
            ..
        }
    )));
}

#[test]
fn four_engines_finalize_with_certificates() {
    // A tiny synchronous network: deliver every message immediately, in order.
    let mut engines: Vec<Engine> = (0..4)
        .map(|i| {
            let cfg = config(i);
            let safety = SafetyState::genesis(&cfg);
            Engine::new(cfg, safety, None)
        })
        .collect();
    let mut queue: VecDeque<(u16, Target, Message)> = VecDeque::new();
    let mut finalized = vec![Vec::new(); 4];
    let mut pending: Vec<(usize, Vec<Output>)> = Vec::new();
    for (i, e) in engines.iter_mut().enumerate() {
        let mut out = e.handle(1_000, Input::Start).into_outputs();
        out.extend(
            e.handle(1_000, Input::Executed(genesis_state()))
                .into_outputs(),
        );
        pending.push((i, out));
    }
    for step in 0..400u64 {
        while let Some((i, outs)) = pending.pop() {
            for o in outs {
                match o {
                    Output::Send { to, message } => queue.push_back((i as u16, to, message)),
                    Output::RequestPayload { round, .. } => {
                        let out = engines[i].handle(
                            1_000 + step,
                            Input::Payload {
                                round,
                                payload: vec![i as u8],
                            },
                        );
                        pending.push((i, out.into_outputs()));
                    }
                    Output::Finalized(fb) => {
                        // The application executes the block and reports its roots.
                        let commit = executed_by(&fb.block);
                        finalized[i].push(fb);
                        let out = engines[i].handle(1_000 + step, Input::Executed(commit));
                        pending.push((i, out.into_outputs()));
                    }
                    _ => {}
                }
            }
        }
        let Some((from, to, m)) = queue.pop_front() else {
            break;
        };
        for (j, engine) in engines.iter_mut().enumerate() {
            let hit = match to {
                Target::All => j != from as usize,
                Target::One(t) => t as usize == j,
            };
            if hit {
                let out = engine.handle(
                    1_000 + step,
                    Input::Message {
                        from,
                        message: m.clone(),
                    },
                );
                pending.push((j, out.into_outputs()));
            }
        }
    }
    assert!(finalized[0].len() >= 3, "finalized {}", finalized[0].len());
    check_same_certified_chains(&finalized);
}

/// Every validator finalized a prefix of validator 0's chain, each block with a
/// certificate that commits it, certifying exactly what the application computed.
fn check_same_certified_chains(finalized: &[Vec<FinalizedBlock>]) {
    let set = config(0).validators;
    let genesis = config(0).genesis_hash();
    for f in finalized {
        for (a, b) in f.iter().zip(&finalized[0]) {
            assert_eq!(a.block, b.block);
            let id = a.cert.verify(&set, CHAIN, genesis).unwrap();
            assert!(id.height >= a.block.height);
            // Every block certifies exactly what the application computed.
            let expected = match a.block.executed.height {
                0 => genesis_state(),
                h => executed_by(&finalized[0][h as usize - 1].block),
            };
            assert_eq!(a.block.executed, expected);
        }
    }
    assert!(
        finalized[0].iter().any(|f| f.block.executed.height > 0),
        "no block certified an executed height"
    );
}

/// Every way a certificate enters the verified cache respects its bound (a QC formed
/// from this node's own votes once went in without the check: 513 entries under load).
#[test]
fn the_verified_certificate_cache_stays_bounded() {
    let mut e = started(3, None);
    for i in 0..(3 * QC_CACHE as u64) {
        e.remember_verified(lianrong_primitives::sha256(&i.to_le_bytes()));
        assert!(e.verified_qcs.len() <= QC_CACHE);
    }
}

/// The block of the next round after `parent` (whose leader proposes it), extending it
/// through a certificate on it and certifying `executed`.
pub(super) fn child(parent: &Block, executed: ExecutionCommit) -> Block {
    let round = parent.round + 1;
    Block {
        height: parent.height + 1,
        round,
        parent: parent.hash(),
        justify: qc_on(parent),
        proposer: (round % 4) as u16,
        timestamp_ms: parent.timestamp_ms + 10,
        executed,
        ..parent.clone()
    }
}

pub(super) fn signed(block: Block) -> Message {
    let key = keys()[block.proposer as usize].clone();
    Message::Proposal(Box::new(Proposal::sign(block, None, &key)))
}

fn wrong_execution(out: &[Output]) -> Option<u64> {
    out.iter().find_map(|o| match o {
        Output::Rejected {
            reason: RejectReason::WrongExecution { height },
            ..
        } => Some(*height),
        _ => None,
    })
}

/// Blocks 1 to 3 (each certifies the genesis state: with [`EXECUTION_LAG`], block 3
/// certifies what its parent's certificate made final, nothing yet) and block 4, which
/// certifies height 1 (made final by block 3's certificate on block 2) with `executed_1`.
fn chain_to_4(executed_1: impl FnOnce(&Block) -> ExecutionCommit) -> [Block; 4] {
    assert_eq!(
        EXECUTION_LAG, 1,
        "these chains are drawn for a lag of one height"
    );
    let b1 = proposal(b"one", 900).block;
    let b2 = child(&b1, genesis_state());
    let b3 = child(&b2, genesis_state());
    let e1 = executed_1(&b1);
    let b4 = child(&b3, e1);
    [b1, b2, b3, b4]
}

fn forged(mut c: ExecutionCommit) -> ExecutionCommit {
    c.state_root = Hash([0xf0; 32]);
    c
}

#[test]
fn a_block_certifying_a_state_this_node_did_not_compute_gets_no_vote() {
    let mut e = started(0, None);
    let [b1, b2, ..] = chain_to_4(executed_by);
    assert_eq!(votes(&deliver(&mut e, 1, signed(b1.clone()))).len(), 1);
    // Block 2 certifies the genesis state, which this node has: refused at once.
    let bad = child(&b1, forged(genesis_state()));
    let out = deliver(&mut e, 2, signed(bad));
    assert_eq!(wrong_execution(&out), Some(0), "{out:?}");
    assert!(votes(&out).is_empty());
    assert_eq!(e.safety().last_voted_round, 1);
    // A wrong results root is as wrong as a wrong state root.
    let mut results = genesis_state();
    results.results_root = Hash([1; 32]);
    let mut e = started(0, None);
    deliver(&mut e, 1, signed(b1));
    let out = deliver(
        &mut e,
        2,
        signed(Block {
            executed: results,
            ..b2
        }),
    );
    assert_eq!(wrong_execution(&out), Some(0), "{out:?}");
    assert_eq!(e.safety().last_voted_round, 1);
}

/// Block 4 certifies height 1, which this node finalized on seeing block 3's certificate
/// on block 2 (in block 3) and has not executed yet: it waits for its application, then
/// votes (right roots) or refuses. Its application's report arriving a block after the
/// finalization is the pipelining [`EXECUTION_LAG`] makes room for.
#[test]
fn a_vote_waits_for_the_execution_it_certifies() {
    for right in [true, false] {
        let [b1, b2, b3, b4] = chain_to_4(|b| {
            if right {
                executed_by(b)
            } else {
                forged(executed_by(b))
            }
        });
        let mut e = started(0, None);
        deliver(&mut e, 1, signed(b1.clone()));
        deliver(&mut e, 2, signed(b2));
        let out = deliver(&mut e, 3, signed(b3));
        assert!(out
            .iter()
            .any(|o| matches!(o, Output::Finalized(f) if f.block == b1)));
        // Block 3 certifies the genesis state: voted for at once.
        assert_eq!(e.safety().last_voted_round, 3);
        let out = deliver(&mut e, 0, signed(b4));
        assert!(
            !out.iter().any(|o| matches!(o, Output::Rejected { .. })),
            "{out:?}"
        );
        assert_eq!(e.safety().last_voted_round, 3, "voted before executing");
        let out = e
            .handle(1_000, Input::Executed(executed_by(&b1)))
            .into_outputs();
        if right {
            assert_eq!(votes(&out).len(), 1, "{out:?}");
            assert_eq!(e.safety().last_voted_round, 4);
        } else {
            assert_eq!(wrong_execution(&out), Some(1));
            assert!(votes(&out).is_empty());
            assert_eq!(e.safety().last_voted_round, 3);
        }
    }
}

/// A leader whose block must certify a height its application has not reported yet
/// proposes once it has, with exactly its roots.
#[test]
fn a_leader_proposes_once_its_application_has_executed() {
    let [b1, b2, b3, _] = chain_to_4(executed_by);
    // Validator 0 leads round 4 and collects the round-3 votes.
    let mut e = started(0, None);
    deliver(&mut e, 1, signed(b1.clone()));
    deliver(&mut e, 2, signed(b2.clone()));
    deliver(&mut e, 3, signed(b3.clone()));
    let data = VoteData::for_block(&b3);
    deliver(
        &mut e,
        1,
        Message::Vote(Vote::sign(data, 1, &keys()[1], CHAIN)),
    );
    let out = deliver(
        &mut e,
        2,
        Message::Vote(Vote::sign(data, 2, &keys()[2], CHAIN)),
    );
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Finalized(f) if f.block == b2)));
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::RequestPayload { round: 4, .. })),
        "{out:?}"
    );
    let out = e
        .handle(
            1_000,
            Input::Payload {
                round: 4,
                payload: b"four".to_vec(),
            },
        )
        .into_outputs();
    let proposals = |out: &[Output]| -> Vec<Block> {
        out.iter()
            .filter_map(|o| match o {
                Output::Send {
                    message: Message::Proposal(p),
                    ..
                } => Some(p.block.clone()),
                _ => None,
            })
            .collect()
    };
    assert!(proposals(&out).is_empty(), "proposed before executing");
    let out = e
        .handle(1_000, Input::Executed(executed_by(&b1)))
        .into_outputs();
    let sent = proposals(&out);
    assert_eq!(sent.len(), 1, "{out:?}");
    assert_eq!(sent[0].round, 4);
    assert_eq!(sent[0].payload, b"four");
    assert_eq!(sent[0].executed, executed_by(&b1));
}

/// A finalized block certifying roots this node's application did not compute stops the
/// engine for good: `Diverged`, then nothing for any input.
#[test]
fn a_finalized_block_certifying_another_state_stops_the_engine() {
    let [b1, b2, b3, b4] = chain_to_4(|b| forged(executed_by(b)));
    let b5 = child(&b4, executed_by(&b2));
    let mut e = started(0, None);
    let out = deliver(
        &mut e,
        2,
        Message::SyncResponse {
            blocks: vec![b1.clone(), b2.clone(), b3.clone(), b4.clone()],
            cert: CommitCertificate { qc: qc_on(&b5) },
        },
    );
    let finalized = out
        .iter()
        .filter(|o| matches!(o, Output::Finalized(_)))
        .count();
    assert_eq!(finalized, 4, "{out:?}");
    // Height 1 is not executed yet: nothing to compare with so far.
    assert!(!out.iter().any(|o| matches!(o, Output::Diverged(_))));
    assert!(e.divergence().is_none());
    // The application executes height 1 and gets other roots than block 4 certifies.
    let ours = executed_by(&b1);
    let out = e.handle(1_000, Input::Executed(ours)).into_outputs();
    let expected = Divergence {
        block: b4.id(),
        certified: forged(ours),
        ours,
    };
    assert!(
        matches!(out.as_slice(), [Output::Diverged(d)] if *d == expected),
        "{out:?}"
    );
    assert_eq!(e.divergence(), Some(&expected));
    // Stopped: no input gets anything out of it any more.
    let round = e.round();
    let inputs = vec![
        Input::Executed(executed_by(&b2)),
        Input::Timer(TimerId {
            round,
            generation: 1,
        }),
        Input::Start,
        Input::Message {
            from: 1,
            message: signed(child(&b5, executed_by(&b3))),
        },
    ];
    for input in inputs {
        let step = e.handle(60_000, input);
        assert!(step.safety().is_none());
        assert!(step.into_outputs().is_empty());
    }
    assert_eq!(e.finalized_height(), 4);
}

/// The same when the roots are known before the block is finalized: `Diverged` in the
/// very step that finalizes it.
#[test]
fn a_divergence_on_an_executed_height_is_reported_with_the_block() {
    let b1 = Block {
        executed: forged(genesis_state()),
        ..proposal(b"one", 900).block
    };
    let b2 = child(&b1, genesis_state());
    let mut e = started(0, None);
    let out = deliver(
        &mut e,
        2,
        Message::SyncResponse {
            blocks: vec![b1.clone()],
            cert: CommitCertificate { qc: qc_on(&b2) },
        },
    );
    assert!(
        out.iter().any(|o| matches!(
            o,
            Output::Diverged(d) if d.block == b1.id() && d.ours == genesis_state()
        )),
        "{out:?}"
    );
    assert!(e.divergence().is_some());
}

/// A voter that missed the certificate finalizing the height a block certifies (nothing
/// it will see commits that height again: the chain waits for its vote) fetches the
/// finalized blocks rather than wait for an execution that never comes (found by the
/// 10,000-seed run: seed 3334 stalled for good after GST).
#[test]
fn a_voter_behind_on_the_certified_height_catches_up_and_votes() {
    let [b1, b2, b3, _] = chain_to_4(executed_by);
    // Block 4 comes a round late (so the certificate on it commits nothing) and certifies
    // height 1; block 5 certifies height 2, which block 4's certificate on block 3
    // committed.
    let b4 = Block {
        round: 5,
        proposer: 1,
        ..child(&b3, executed_by(&b1))
    };
    let b5 = child(&b4, executed_by(&b2));
    let mut e = started(3, None);
    deliver(&mut e, 1, signed(b1.clone()));
    deliver(&mut e, 2, signed(b2.clone()));
    // This node saw neither block 3 nor block 4 as proposals (so nor the certificates in
    // them that committed blocks 1 and 2).
    let out = deliver(&mut e, 2, signed(b5.clone()));
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Send { message: Message::BlockRequest(h), .. } if *h == b4.hash()
    )));
    let out = deliver(&mut e, 1, Message::BlockResponse(Box::new(b4)));
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Send { message: Message::BlockRequest(h), .. } if *h == b3.hash()
    )));
    let out = deliver(&mut e, 1, Message::BlockResponse(Box::new(b3.clone())));
    assert!(votes(&out).is_empty());
    assert!(
        out.iter().any(|o| matches!(
            o,
            Output::Send {
                message: Message::SyncRequest { from_height: 1 },
                ..
            }
        )),
        "{out:?}"
    );
    let out = deliver(
        &mut e,
        0,
        Message::SyncResponse {
            blocks: vec![b1.clone(), b2.clone()],
            cert: CommitCertificate { qc: qc_on(&b3) },
        },
    );
    let finalized = out
        .iter()
        .filter(|o| matches!(o, Output::Finalized(_)))
        .count();
    assert_eq!(finalized, 2, "{out:?}");
    let out = e
        .handle(1_000, Input::Executed(executed_by(&b1)))
        .into_outputs();
    assert!(votes(&out).is_empty(), "{out:?}");
    assert_eq!(
        e.safety().last_voted_round,
        2,
        "voted before executing height 2"
    );
    // The vote goes to the leader of round 7, this node itself: it shows as the safety
    // state stored before it is counted.
    let step = e.handle(1_000, Input::Executed(executed_by(&b2)));
    assert!(step.persists_first());
    assert!(matches!(step.safety(), Some(s) if s.last_voted_round == b5.round));
}

/// A timeout certificate for `round` of epoch 0, signed by validators 1, 2 and 3 (a
/// quorum of four), none of whom had a QC above genesis.
fn timeout_cert(round: u64) -> TimeoutCert {
    let data = TimeoutData {
        epoch: 0,
        round,
        high_qc_round: 0,
    };
    let bytes = data.signing_bytes(CHAIN);
    let signers = vec![1u16, 2, 3];
    TimeoutCert {
        epoch: 0,
        round,
        high_qc_rounds: vec![0; signers.len()],
        signatures: signers
            .iter()
            .map(|&v| keys()[v as usize].sign(&bytes))
            .collect(),
        signers,
    }
}

/// A validator left far behind, that for many rounds heard from one peer only (so counts
/// the others silent), receives a proposal from far ahead: its certificates move the
/// validator into the proposer's own round, and the validator must vote for it there --
/// not find that round's leader silent and give the round up as it enters it, losing
/// the one proposal it has. (The proposer was heard from only after its certificates had
/// been taken in, until this was pinned.)
#[test]
fn a_far_ahead_proposal_from_a_leader_counted_silent_gets_a_vote() {
    let mut e = started(0, None);
    let genesis = config(0).genesis_hash();
    // Validator 3 alone relays each round's timeout certificate: every round change
    // leaves validators 1 and 2 one round quieter.
    for r in 1..=12u64 {
        let data = TimeoutData {
            epoch: 0,
            round: r + 1,
            high_qc_round: 0,
        };
        let t = Timeout {
            epoch: 0,
            round: r + 1,
            high_qc: QuorumCert::genesis(genesis),
            voter: 3,
            signature: keys()[3].sign(&data.signing_bytes(CHAIN)),
            last_tc: Some(timeout_cert(r)),
        };
        deliver(&mut e, 3, Message::Timeout(Box::new(t)));
    }
    assert_eq!(e.round, 13);
    assert!(e.silent(1) && e.silent(2), "1 and 2 count as silent");
    // A round beyond reach, led by validator 1, after a timeout certificate of the round
    // before it.
    let round = (e.round + MAX_ROUNDS_AHEAD + 1..)
        .find(|r| e.leader(*r) == 1)
        .unwrap();
    let block = Block {
        chain_id: CHAIN.into(),
        epoch: 0,
        height: 1,
        round,
        parent: genesis,
        justify: QuorumCert::genesis(genesis),
        proposer: 1,
        timestamp_ms: 1_000,
        payload: b"late".to_vec(),
        reconfig: None,
        executed: genesis_state(),
    };
    let p = Proposal::sign(block, Some(timeout_cert(round - 1)), &keys()[1]);
    let out = deliver(&mut e, 1, Message::Proposal(Box::new(p)));
    assert_eq!(e.round, round);
    let voted = votes(&out);
    assert_eq!(voted.len(), 1, "{out:?}");
    assert_eq!(voted[0].data.round, round);
}
