//! Local verification: a certificate signed by a quorum verifies, anything else does not;
//! a state proof verifies only for its own document, value and root.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use lianrong_consensus::{CommitCertificate, QuorumCert, ValidatorSet, VoteData};
use lianrong_contracts::merkle::{compute_changes, prove, MemoryStorage};
use lianrong_contracts::state::{keys, Writes};
use lianrong_contracts::DocKind;
use lianrong_primitives::{Hash, SecretKey};
use lianrong_sdk::{verify_block, verify_proof, BlockView, Finality, ProofResponse};
use serde_json::json;

const CHAIN: &str = "verify-chain";

fn keys4() -> Vec<SecretKey> {
    (1..=4u8).map(|i| SecretKey::from_seed([i; 32])).collect()
}

fn set() -> ValidatorSet {
    ValidatorSet::from_keys(&keys4().iter().map(|k| k.public()).collect::<Vec<_>>()).unwrap()
}

/// A certificate on a child at (height + 1, round + 1) of the block (hash, height, round),
/// signed by `signers`.
fn cert(hash: Hash, height: u64, round: u64, signers: &[u16], chain: &str) -> CommitCertificate {
    let vote = VoteData {
        epoch: 0,
        block_hash: Hash([9; 32]),
        height: height + 1,
        round: round + 1,
        parent_hash: hash,
        parent_round: round,
    };
    let msg = vote.signing_bytes(chain);
    let k = keys4();
    CommitCertificate {
        qc: QuorumCert {
            vote,
            signers: signers.to_vec(),
            signatures: signers.iter().map(|&i| k[i as usize].sign(&msg)).collect(),
        },
    }
}

fn block(cert: Option<CommitCertificate>) -> BlockView {
    // Through JSON, as the node serves it.
    serde_json::from_value(json!({
        "height": 5, "hash": "aa".repeat(32), "parent": "bb".repeat(32), "epoch": 0,
        "round": 8, "proposer": 0, "timestamp_ms": 1, "tx_hashes": [], "dropped_tx_hashes": [],
        "state_root": "cc".repeat(32), "commit_certificate": cert,
    }))
    .unwrap()
}

#[test]
fn a_quorum_certificate_proves_the_block_final() {
    let h = Hash([0xaa; 32]);
    let v = verify_block(
        &block(Some(cert(h, 5, 8, &[0, 1, 3], CHAIN))),
        &set(),
        CHAIN,
        Hash::ZERO,
    )
    .unwrap();
    assert_eq!((v.height, v.finality), (5, Finality::Direct));
    // A certificate committing a later block of the run.
    let v = verify_block(
        &block(Some(cert(Hash([1; 32]), 7, 10, &[0, 1, 2], CHAIN))),
        &set(),
        CHAIN,
        Hash::ZERO,
    )
    .unwrap();
    assert!(matches!(v.finality, Finality::ByDescendant { committed } if committed.height == 7));
}

#[test]
fn bad_certificates_are_refused() {
    let h = Hash([0xaa; 32]);
    let s = set();
    let check = |c: Option<CommitCertificate>| verify_block(&block(c), &s, CHAIN, Hash::ZERO);
    assert!(check(None).is_err(), "no certificate");
    assert!(
        check(Some(cert(h, 5, 8, &[0, 1], CHAIN))).is_err(),
        "2 of 4 is no quorum"
    );
    assert!(
        check(Some(cert(h, 5, 8, &[0, 1, 2], "other"))).is_err(),
        "another chain"
    );
    assert!(
        check(Some(cert(Hash([1; 32]), 5, 8, &[0, 1, 2], CHAIN))).is_err(),
        "another block"
    );
    assert!(
        check(Some(cert(h, 4, 7, &[0, 1, 2], CHAIN))).is_err(),
        "an older block"
    );
    let mut forged = cert(h, 5, 8, &[0, 1, 2], CHAIN);
    forged.qc.signatures[1].0[0] ^= 1;
    assert!(check(Some(forged)).is_err(), "a forged signature");
    let other_set = ValidatorSet::from_keys(&[SecretKey::from_seed([42; 32]).public()]).unwrap();
    assert!(
        verify_block(
            &block(Some(cert(h, 5, 8, &[0, 1, 2], CHAIN))),
            &other_set,
            CHAIN,
            Hash::ZERO
        )
        .is_err(),
        "signed by strangers"
    );
}

fn proof_fixture() -> (ProofResponse, Hash) {
    let mut s = MemoryStorage::new();
    let mut w = Writes::new();
    w.insert(
        keys::doc(DocKind::Invoice, "INV-1"),
        Some(b"invoice one".to_vec()),
    );
    w.insert(
        keys::doc(DocKind::Invoice, "INV-2"),
        Some(b"invoice two".to_vec()),
    );
    let c = compute_changes(&s, 1, w).unwrap();
    s.apply(&c);
    let key = keys::doc(DocKind::Invoice, "INV-1");
    let p = prove(&s, &key, 1, c.root).unwrap();
    // Exactly the node's JSON.
    let body = json!({
        "kind": DocKind::Invoice, "id": "INV-1", "height": 1, "state_root": c.root,
        "key": String::from_utf8_lossy(&key), "value_hex": p.value.as_ref().map(hex::encode),
        "proof": p.proof,
    });
    (serde_json::from_value(body).unwrap(), c.root)
}

#[test]
fn a_state_proof_verifies_for_its_document_only() {
    let (p, root) = proof_fixture();
    assert_eq!(
        verify_proof(&p, &root).unwrap().as_deref(),
        Some(&b"invoice one"[..])
    );
    assert!(verify_proof(&p, &Hash([7; 32])).is_err(), "another root");
    let mut forged = p.clone();
    forged.value_hex = Some(hex::encode(b"invoice 999"));
    assert!(verify_proof(&forged, &root).is_err(), "a changed value");
    let mut other = p.clone();
    other.id = "INV-2".into();
    assert!(
        verify_proof(&other, &root).is_err(),
        "a proof of INV-1 passed off as INV-2"
    );
    let mut garbage = p;
    garbage.proof = json!({"nonsense": true});
    assert!(verify_proof(&garbage, &root).is_err());
}
