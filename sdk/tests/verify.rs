//! Local verification from the genesis file alone: what a dishonest node can serve --
//! a forged value under a genuine certificate, a proof of another key, a block below the
//! certified one with a foreign hash, a root of another height, a certificate of the wrong
//! epoch's set, reordered history -- is INVALID; the honest answers are VALID.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use lianrong_consensus::{
    epoch_end_vote, executed_height, genesis_hash, Block, CommitCertificate, ExecutionCommit,
    QuorumCert, ValidatorSet, VoteData, EXECUTION_LAG,
};
use lianrong_contracts::exec::history::HistoryHead;
use lianrong_contracts::merkle::{compute_changes, prove, DocLeaf, MemoryStorage};
use lianrong_contracts::state::{keys, Writes};
use lianrong_contracts::{DocKind, Event, HistoryEntry};
use lianrong_primitives::{Hash, SecretKey};
use lianrong_sdk::{
    verify_block, verify_document, verify_epochs, verify_history, BlockView, EpochChange, Finality,
    ProofResponse, ProofSubject, TrustRoot,
};

const CHAIN: &str = "verify-chain";

fn keys_from(seed: u8, n: u8) -> Vec<SecretKey> {
    (0..n)
        .map(|i| SecretKey::from_seed([seed + i; 32]))
        .collect()
}

fn set_of(keys: &[SecretKey]) -> ValidatorSet {
    ValidatorSet::from_keys(&keys.iter().map(|k| k.public()).collect::<Vec<_>>()).unwrap()
}

/// A quorum certificate on `b` signed by the first three of `keys`.
fn qc_on(b: &Block, keys: &[SecretKey]) -> QuorumCert {
    sign(VoteData::for_block(b), keys)
}

fn sign(vote: VoteData, keys: &[SecretKey]) -> QuorumCert {
    let msg = vote.signing_bytes(CHAIN);
    QuorumCert {
        vote,
        signers: vec![0, 1, 2],
        signatures: keys[..3].iter().map(|k| k.sign(&msg)).collect(),
    }
}

/// A chain under construction, with the state its blocks certify.
struct Chain {
    keys: Vec<SecretKey>,
    root: TrustRoot,
    blocks: Vec<Block>,
    /// Execution commit per height (0 = genesis).
    executed: Vec<ExecutionCommit>,
    store: MemoryStorage,
    epoch: u64,
    epochs: Vec<EpochChange>,
}

impl Chain {
    fn new() -> Chain {
        let keys = keys_from(1, 4);
        let set = set_of(&keys);
        let root = TrustRoot {
            chain_id: CHAIN.into(),
            genesis_hash: genesis_hash(CHAIN, &set, 0),
            validators: set,
        };
        Chain {
            keys,
            root,
            blocks: Vec::new(),
            executed: vec![ExecutionCommit::genesis(Hash([0x11; 32]))],
            store: MemoryStorage::new(),
            epoch: 0,
            epochs: Vec::new(),
        }
    }

    /// Appends a block in consecutive rounds (so each QC commits the grandparent) whose
    /// execution writes `writes`; returns its height.
    fn push(&mut self, writes: Writes, reconfig: Option<ValidatorSet>) -> u64 {
        let (parent, justify, parent_hands_on, round) = match self.blocks.last() {
            Some(p) if p.epoch == self.epoch => {
                (p.hash(), qc_on(p, &self.keys), p.hands_on(), p.round + 1)
            }
            Some(p) => {
                // The first block of a new epoch: the signature-free epoch-root QC.
                let qc = QuorumCert {
                    vote: VoteData {
                        epoch: self.epoch,
                        block_hash: p.hash(),
                        height: p.height,
                        round: 0,
                        parent_hash: Hash::ZERO,
                        parent_round: 0,
                    },
                    signers: vec![],
                    signatures: vec![],
                };
                (p.hash(), qc, p.hands_on(), 1)
            }
            None => (
                self.root.genesis_hash,
                QuorumCert::genesis(self.root.genesis_hash),
                0,
                1,
            ),
        };
        let height = self.blocks.len() as u64 + 1;
        let k = executed_height(&justify, parent_hands_on);
        let b = Block {
            chain_id: CHAIN.into(),
            epoch: self.epoch,
            height,
            round,
            parent,
            justify,
            proposer: (round % 4) as u16,
            timestamp_ms: height,
            payload: vec![height as u8],
            reconfig,
            executed: self.executed[k as usize],
        };
        self.blocks.push(b);
        let changes = compute_changes(&self.store, height, writes).unwrap();
        self.store.apply(&changes);
        self.executed.push(ExecutionCommit {
            height,
            state_root: changes.root,
            results_root: Hash([height as u8; 32]),
        });
        height
    }

    /// Appends empty blocks until the last one certifies the state of `height` (with
    /// [`EXECUTION_LAG`], a block after the one whose certificate commits it); returns
    /// the last height.
    fn certify(&mut self, height: u64) -> u64 {
        while self
            .blocks
            .last()
            .is_none_or(|b| b.executed.height < height)
        {
            self.push(Writes::new(), None);
        }
        self.blocks.len() as u64
    }

    fn block(&self, height: u64) -> &Block {
        &self.blocks[height as usize - 1]
    }

    /// The certificate committing block `height` (a QC on a child in the next round).
    fn cert(&self, height: u64) -> CommitCertificate {
        let b = self.block(height);
        let vote = VoteData {
            epoch: b.epoch,
            block_hash: Hash([0x99; 32]),
            height: height + 1,
            round: b.round + 1,
            parent_hash: b.hash(),
            parent_round: b.round,
        };
        CommitCertificate {
            qc: sign(vote, &self.keys),
        }
    }

    /// Ends the epoch at a reconfiguration block to `next` (keys seeded `seed`).
    fn reconfigure(&mut self, seed: u8) {
        let next_keys = keys_from(seed, 4);
        let next = set_of(&next_keys);
        let h = self.push(Writes::new(), Some(next.clone()));
        let r = self.block(h).clone();
        let cert = CommitCertificate {
            qc: sign(epoch_end_vote(self.epoch, &r.id()), &self.keys),
        };
        self.epochs.push(lianrong_sdk::EpochChange {
            epoch: self.epoch,
            header: r.header(),
            validators: next,
            certificate: cert,
        });
        self.epoch += 1;
        self.keys = next_keys;
    }

    /// The node's proof answer for `kind`/`id`, certified by block `by`.
    fn proof(&self, kind: DocKind, id: &str, by: u64, subject: ProofSubject) -> ProofResponse {
        let header = self.block(by).header();
        let e = header.executed;
        let key = match subject {
            ProofSubject::Document => keys::doc(kind, id),
            ProofSubject::History => keys::history_head(kind, id),
        };
        let p = prove(&self.store, &key, e.height, e.state_root).unwrap();
        ProofResponse {
            kind: kind.to_string(),
            id: id.into(),
            subject,
            height: e.height,
            state_root: e.state_root,
            key: String::from_utf8_lossy(&key).into_owned(),
            value_hex: p.value.as_ref().map(hex::encode),
            leaf_hex: p.leaf.as_ref().map(hex::encode),
            proof: serde_json::to_value(&p.proof).unwrap(),
            header,
            certificate: self.cert(by),
            epochs: self.epochs.clone(),
            history: Vec::new(),
            history_next: None,
        }
    }

    fn view(&self, height: u64, cert: CommitCertificate, descendants: u64) -> BlockView {
        let b = self.block(height);
        BlockView {
            height,
            hash: b.hash(),
            parent: b.parent,
            epoch: b.epoch,
            round: b.round,
            proposer: b.proposer,
            timestamp_ms: b.timestamp_ms,
            tx_hashes: vec![],
            dropped_tx_hashes: vec![],
            state_root: None,
            header: b.header(),
            commit_certificate: Some(cert),
            descendants: (height + 1..=height + descendants)
                .map(|h| self.block(h).header())
                .collect(),
            ledger_events: vec![],
        }
    }
}

/// The answer is INVALID, for the reason named.
fn invalid<T: std::fmt::Debug>(r: Result<T, lianrong_sdk::SdkError>, why: &str) {
    match r {
        Ok(v) => panic!("accepted: {v:?}"),
        Err(e) => assert!(
            e.to_string().contains(why),
            "refused for another reason: {e}"
        ),
    }
}

fn doc_writes(pairs: &[(&str, &[u8])]) -> Writes {
    let mut w = Writes::new();
    for (id, v) in pairs {
        w.insert(keys::doc(DocKind::Receivable, id), Some(v.to_vec()));
    }
    w
}

/// Genesis, RCV-1 and RCV-12 written at height 1, and empty blocks up to [`CERTIFIER`]
/// (the first that certifies the state of height 1).
fn three_blocks() -> Chain {
    let mut c = Chain::new();
    c.push(
        doc_writes(&[("RCV-1", b"one"), ("RCV-12", b"twelve")]),
        None,
    );
    assert_eq!(c.certify(1), CERTIFIER);
    c
}

/// The block certifying height 1 of a chain in consecutive rounds: block 3's certificate
/// commits it (two-chain rule), and [`EXECUTION_LAG`] blocks later it is certified.
const CERTIFIER: u64 = 3 + EXECUTION_LAG;

#[test]
fn an_honest_proof_verifies_from_genesis_alone() {
    let c = three_blocks();
    let p = c.proof(
        DocKind::Receivable,
        "RCV-1",
        CERTIFIER,
        ProofSubject::Document,
    );
    let v = verify_document(&p, DocKind::Receivable, "RCV-1", &c.root).unwrap();
    assert_eq!(v.value.as_deref(), Some(&b"one"[..]));
    assert_eq!((v.height, v.certified_by.height), (1, CERTIFIER));
    // An absent document is proven absent.
    let p = c.proof(
        DocKind::Receivable,
        "RCV-2",
        CERTIFIER,
        ProofSubject::Document,
    );
    let v = verify_document(&p, DocKind::Receivable, "RCV-2", &c.root).unwrap();
    assert_eq!(v.value, None);
}

#[test]
fn a_dishonest_nodes_proofs_are_invalid() {
    let c = three_blocks();
    let honest = c.proof(
        DocKind::Receivable,
        "RCV-1",
        CERTIFIER,
        ProofSubject::Document,
    );
    let check = |p: &ProofResponse| verify_document(p, DocKind::Receivable, "RCV-1", &c.root);

    // A forged value under a genuine certificate: alone, and with the leaf that would
    // hold it.
    let mut forged = honest.clone();
    let fake = b"forged: unfinanced, held by someone else".to_vec();
    forged.value_hex = Some(hex::encode(&fake));
    invalid(
        check(&forged),
        "the value is not the one its document leaf holds",
    );
    let leaf = DocLeaf::decode(&hex::decode(honest.leaf_hex.as_ref().unwrap()).unwrap()).unwrap();
    let forged_leaf = DocLeaf {
        document: Some(fake),
        ..leaf
    };
    forged.leaf_hex = forged_leaf.encode().map(hex::encode);
    invalid(check(&forged), "Value hashes do not match");

    // A proof of another key, relabelled as RCV-1 (RCV-12 contains "RCV-1").
    let mut other = c.proof(
        DocKind::Receivable,
        "RCV-12",
        CERTIFIER,
        ProofSubject::Document,
    );
    other.id = "RCV-1".into();
    other.key = "doc/receivable/RCV-1".into();
    invalid(check(&other), "state proof does not verify");

    // A root the certified header does not carry (the node's own, of another height).
    let mut root = honest.clone();
    root.state_root = c.executed[2].state_root;
    root.height = 2;
    invalid(
        check(&root),
        &format!("but block {CERTIFIER} certifies root"),
    );

    // A header altered to carry a forged root: its hash no longer is the certified one.
    let mut header = honest.clone();
    header.header.executed.state_root = Hash([0xee; 32]);
    invalid(check(&header), "not the header given");

    // A certificate signed by strangers.
    let mut strangers = honest.clone();
    let outsiders = keys_from(100, 4);
    let b = c.block(CERTIFIER);
    strangers.certificate.qc = sign(
        VoteData {
            epoch: 0,
            block_hash: Hash([0x99; 32]),
            height: CERTIFIER + 1,
            round: b.round + 1,
            parent_hash: b.hash(),
            parent_round: b.round,
        },
        &outsiders,
    );
    invalid(check(&strangers), "certificate");

    // An answer about another document than the one asked for.
    invalid(
        verify_document(&honest, DocKind::Receivable, "RCV-12", &c.root),
        "not of receivable RCV-12",
    );
    assert!(check(&honest).is_ok());
}

#[test]
fn blocks_are_final_directly_or_through_hashed_descendants() {
    let c = three_blocks();
    let sets = verify_epochs(&c.root, &[]).unwrap();
    let v = verify_block(&c.view(3, c.cert(3), 0), &c.root, &sets).unwrap();
    assert_eq!((v.height, v.finality), (3, Finality::Direct));
    // Block 1 is final because block 3 is, through block 2 and 3's headers.
    let v = verify_block(&c.view(1, c.cert(3), 2), &c.root, &sets).unwrap();
    assert!(matches!(v.finality, Finality::ByDescendant { committed } if committed.height == 3));

    // A block below the certified height with a foreign hash.
    let mut foreign = c.view(1, c.cert(3), 2);
    foreign.header.payload_hash = Hash([0xab; 32]);
    foreign.hash = foreign.header.hash();
    assert!(
        verify_block(&foreign, &c.root, &sets).is_err(),
        "foreign block"
    );
    // Headers between that do not chain.
    let mut gap = c.view(1, c.cert(3), 2);
    gap.descendants[0].timestamp_ms += 1;
    assert!(verify_block(&gap, &c.root, &sets).is_err(), "broken link");
    let short = c.view(1, c.cert(3), 1);
    assert!(
        verify_block(&short, &c.root, &sets).is_err(),
        "missing header"
    );
    // The hash shown is not the header's.
    let mut shown = c.view(3, c.cert(3), 0);
    shown.hash = Hash([1; 32]);
    assert!(
        verify_block(&shown, &c.root, &sets).is_err(),
        "hash not the header's"
    );
    // No quorum: two signatures of four.
    let mut weak = c.cert(3);
    weak.qc.signers.truncate(2);
    weak.qc.signatures.truncate(2);
    assert!(verify_block(&c.view(3, weak, 0), &c.root, &sets).is_err());
}

#[test]
fn a_validator_set_change_is_followed_from_genesis() {
    let mut c = three_blocks();
    c.reconfigure(50);
    let written = c.push(doc_writes(&[("RCV-1", b"one, later")]), None);
    let last = c.certify(written);
    let sets = verify_epochs(&c.root, &c.epochs).unwrap();
    assert_eq!(sets.len(), 2);
    let v = verify_block(&c.view(last, c.cert(last), 0), &c.root, &sets).unwrap();
    assert_eq!(v.header.epoch, 1);
    let p = c.proof(DocKind::Receivable, "RCV-1", last, ProofSubject::Document);
    let v = verify_document(&p, DocKind::Receivable, "RCV-1", &c.root).unwrap();
    assert_eq!(v.value.as_deref(), Some(&b"one, later"[..]));

    // Without the epoch change, the new set's certificate proves nothing.
    let mut no_epochs = p.clone();
    no_epochs.epochs.clear();
    assert!(verify_document(&no_epochs, DocKind::Receivable, "RCV-1", &c.root).is_err());
    // A substituted next set (one the reconfiguration block did not commit).
    let mut swapped = c.epochs.clone();
    swapped[0].validators = set_of(&keys_from(100, 4));
    assert!(verify_epochs(&c.root, &swapped).is_err(), "substituted set");
    // An epoch-1 block checked with epoch 0's set only.
    assert!(verify_block(&c.view(last, c.cert(last), 0), &c.root, &sets[..1]).is_err());
}

#[test]
fn a_history_verifies_only_whole_and_in_order() {
    let entry = |h: u64| HistoryEntry {
        height: h,
        tx: Some(Hash([h as u8; 32])),
        signer: None,
        key: None,
        time_ms: h,
        event: Event::OrgAdmitted {
            org: lianrong_primitives::OrgId::new("CORE-A").unwrap(),
        },
    };
    let entries = vec![entry(1), entry(1), entry(2)];
    let mut c = Chain::new();
    let mut w = Writes::new();
    w.insert(
        keys::history_head(DocKind::Receivable, "RCV-1"),
        Some(lianrong_primitives::encode(&HistoryHead::of(&entries))),
    );
    c.push(w, None);
    assert_eq!(c.certify(1), CERTIFIER);
    let mut p = c.proof(
        DocKind::Receivable,
        "RCV-1",
        CERTIFIER,
        ProofSubject::History,
    );
    p.history = entries.clone();
    let v = verify_history(&p, DocKind::Receivable, "RCV-1", &c.root).unwrap();
    assert_eq!(v.entries, entries);
    let check = |h: Vec<HistoryEntry>| {
        let mut q = p.clone();
        q.history = h;
        verify_history(&q, DocKind::Receivable, "RCV-1", &c.root)
    };
    assert!(check(entries[..2].to_vec()).is_err(), "an entry left out");
    assert!(
        check(vec![
            entries[2].clone(),
            entries[0].clone(),
            entries[1].clone()
        ])
        .is_err(),
        "reordered"
    );
    let mut changed = entries.clone();
    changed[1].time_ms += 1;
    assert!(check(changed).is_err(), "an entry changed");
    // A document proof is not a history proof.
    let doc = c.proof(
        DocKind::Receivable,
        "RCV-1",
        CERTIFIER,
        ProofSubject::Document,
    );
    assert!(verify_history(&doc, DocKind::Receivable, "RCV-1", &c.root).is_err());
}

/// A history longer than a page (a bank's org record gains an entry per limit and per
/// price, without end): the pages verify together, gathered by `HistoryPages`; one page
/// alone, or the pages with one left out, do not.
#[test]
fn a_long_history_verifies_only_with_every_page() {
    use lianrong_contracts::state::HistoryPos;
    use lianrong_sdk::HistoryPages;
    let entry = |i: u64| HistoryEntry {
        height: 1,
        tx: Some(Hash([(i % 251) as u8; 32])),
        signer: None,
        key: None,
        time_ms: i,
        event: Event::OrgAdmitted {
            org: lianrong_primitives::OrgId::new("BANK-A").unwrap(),
        },
    };
    let entries: Vec<HistoryEntry> = (0..2_500).map(entry).collect();
    let pos = |i: usize| HistoryPos {
        height: 1,
        tx_index: i as u32,
        seq: 0,
    };
    let mut c = Chain::new();
    let mut w = Writes::new();
    w.insert(
        keys::history_head(DocKind::Org, "BANK-A"),
        Some(lianrong_primitives::encode(&HistoryHead::of(&entries))),
    );
    c.push(w, None);
    assert_eq!(c.certify(1), CERTIFIER);
    let base = c.proof(DocKind::Org, "BANK-A", CERTIFIER, ProofSubject::History);
    // The node's pages of 1,000, each naming where the next starts.
    let page = |from: usize, to: usize| {
        let mut p = base.clone();
        p.history = entries[from..to].to_vec();
        p.history_next = (to < entries.len()).then(|| pos(to - 1).to_string());
        p
    };
    let gather = |pages: Vec<ProofResponse>| {
        let mut g = HistoryPages::new("/v1/proofs/org/BANK-A?of=history");
        for p in pages {
            assert!(!g.is_done());
            g.add(p)?;
        }
        g.finish()
    };
    let whole = gather(vec![page(0, 1_000), page(1_000, 2_000), page(2_000, 2_500)]).unwrap();
    let v = verify_history(&whole, DocKind::Org, "BANK-A", &c.root).unwrap();
    assert_eq!(v.entries, entries);

    let e = verify_history(&page(0, 1_000), DocKind::Org, "BANK-A", &c.root).unwrap_err();
    assert!(e.to_string().contains("one page of the history"), "{e}");
    // A node that skips the middle page: its last page follows the first's cursor.
    let skipped = gather(vec![page(0, 1_000), page(2_000, 2_500)]).unwrap();
    invalid(
        verify_history(&skipped, DocKind::Org, "BANK-A", &c.root),
        "do not chain to the certified head",
    );
    // Pages gathered only part way are not an answer.
    let mut g = HistoryPages::new("/h");
    g.add(page(0, 1_000)).unwrap();
    assert_eq!(g.after(), Some(&pos(999)));
    assert!(g.finish().is_err());
    // A cursor that is not a position, or does not move forward, is a malformed answer.
    let mut bad = page(0, 1_000);
    bad.history_next = Some("999".into());
    assert!(matches!(
        gather(vec![bad]),
        Err(lianrong_sdk::SdkError::BadResponse { .. })
    ));
    let mut back = page(1_000, 2_000);
    back.history_next = Some(pos(10).to_string());
    assert!(matches!(
        gather(vec![page(0, 1_000), back]),
        Err(lianrong_sdk::SdkError::BadResponse { .. })
    ));
}
