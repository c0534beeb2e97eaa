//! Test vectors the in-browser verifier (`static/verify.js`) must reproduce: the exact
//! bytes consensus signs for a vote, a commit certificate of a 4-validator set (and a
//! tampered copy), and jmt state proofs (inclusion, exclusion, tampered).
//!
//! They are pinned in `static/vectors.json`; a unit test regenerates them with the real
//! consensus and contracts code and fails if a byte differs. The explorer serves them at
//! `/static/vectors.json` so the end-to-end test can run the browser's code against them.

/// The pinned vectors (JSON).
pub const VECTORS_JSON: &str = include_str!("../static/vectors.json");

/// The pinned vectors, parsed.
pub fn test_vectors() -> serde_json::Value {
    serde_json::from_str(VECTORS_JSON).unwrap_or(serde_json::Value::Null)
}

/// JSON numbers of a vote's u64 fields as decimal strings (browsers parse JSON numbers as
/// doubles, which cannot hold u64 values such as the epoch-end round `u64::MAX`).
pub fn vote_numbers_as_strings(v: &mut serde_json::Value) {
    if let Some(obj) = v.as_object_mut() {
        for k in ["epoch", "height", "round", "parent_round"] {
            if let Some(n) = obj.get(k).and_then(|n| n.as_u64()) {
                obj.insert(k.to_string(), serde_json::Value::String(n.to_string()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_consensus::{CommitCertificate, QuorumCert, ValidatorSet, VoteData};
    use lianrong_contracts::merkle::{compute_changes, prove};
    use lianrong_contracts::{MemoryStorage, StateProof};
    use lianrong_primitives::{encode, Hash, PublicKey, SecretKey};
    use serde_json::{json, Value};

    const CHAIN: &str = "lianrong-vectors";

    fn cert_json(cert: &CommitCertificate) -> Value {
        let mut v = serde_json::to_value(cert).unwrap();
        vote_numbers_as_strings(&mut v["qc"]["vote"]);
        v
    }

    fn sample_vote() -> VoteData {
        VoteData {
            epoch: 0,
            block_hash: Hash([0xb2; 32]),
            height: 8,
            round: 12,
            parent_hash: Hash([0xa1; 32]),
            parent_round: 11,
        }
    }

    /// A commit certificate of `vote` signed by the validators at `signers`.
    fn certify(keys: &[SecretKey], vote: VoteData, signers: &[u16]) -> CommitCertificate {
        let msg = vote.signing_bytes(CHAIN);
        CommitCertificate {
            qc: QuorumCert {
                vote,
                signers: signers.to_vec(),
                signatures: signers
                    .iter()
                    .map(|&i| keys[i as usize].sign(&msg))
                    .collect(),
            },
        }
    }

    /// The bytes validators sign: a vote, and the vote that ends an epoch.
    fn vote_vectors(vote: VoteData) -> Value {
        let mut vote_json = serde_json::to_value(vote).unwrap();
        vote_numbers_as_strings(&mut vote_json);
        let epoch_end = lianrong_consensus::epoch_end_vote(
            3,
            &lianrong_consensus::BlockId {
                hash: Hash([7; 32]),
                height: 41,
                round: 99,
            },
        );
        let mut ee = serde_json::to_value(epoch_end).unwrap();
        vote_numbers_as_strings(&mut ee);
        json!({
            "vote": {
                "chain_id": CHAIN,
                "vote": vote_json,
                "encoded_hex": hex::encode(encode(&vote)),
                "signing_bytes_hex": hex::encode(vote.signing_bytes(CHAIN)),
            },
            "epoch_end_vote": {
                "chain_id": CHAIN,
                "vote": ee,
                "signing_bytes_hex": hex::encode(epoch_end.signing_bytes(CHAIN)),
            },
        })
    }

    /// A certificate of `vote` by three of four validators, and copies with a tampered
    /// signature and with too few signers.
    fn certificate_vectors(
        keys: &[SecretKey],
        publics: &[PublicKey],
        set: &ValidatorSet,
        vote: VoteData,
    ) -> Value {
        let cert = certify(keys, vote, &[0, 1, 3]);
        let committed = cert.verify(set, CHAIN, Hash::ZERO).unwrap();
        let mut tampered = cert.clone();
        tampered.qc.signatures[1].0[5] ^= 1;
        assert!(tampered.verify(set, CHAIN, Hash::ZERO).is_err());
        let mut short = cert.clone();
        short.qc.signers.pop();
        short.qc.signatures.pop();
        assert!(short.verify(set, CHAIN, Hash::ZERO).is_err());
        let case = |cert: &CommitCertificate, expect: bool| {
            json!({
                "chain_id": CHAIN,
                "validators": publics,
                "block": {"height": committed.height, "hash": committed.hash},
                "cert": cert_json(cert),
                "expect": expect,
            })
        };
        json!({
            "certificate": case(&cert, true),
            "tampered_certificate": case(&tampered, false),
            "short_certificate": case(&short, false),
        })
    }

    /// A block final through its child: the certificate commits height 8, block 7 is
    /// linked to it by the child's parent hash (and, in the broken carry, is not).
    fn carried_vectors(keys: &[SecretKey], publics: &[PublicKey], set: &ValidatorSet) -> Value {
        let carried_vote = VoteData {
            epoch: 0,
            block_hash: Hash([0xe5; 32]),
            height: 9,
            round: 13,
            parent_hash: Hash([0xc3; 32]),
            parent_round: 12,
        };
        let carried = certify(keys, carried_vote, &[0, 2, 3]);
        assert_eq!(carried.verify(set, CHAIN, Hash::ZERO).unwrap().height, 8);
        let (seven, eight) = (Hash([0xd4; 32]), Hash([0xc3; 32]));
        let good_chain = json!([
            {"height": 7, "hash": seven, "parent": Hash([0x11; 32])},
            {"height": 8, "hash": eight, "parent": seven},
        ]);
        let broken_chain = json!([
            {"height": 7, "hash": seven, "parent": Hash([0x11; 32])},
            {"height": 8, "hash": eight, "parent": Hash([0x99; 32])},
        ]);
        let case = |chain: Value, expect: bool| {
            json!({
                "chain_id": CHAIN,
                "validators": publics,
                "block": {"height": 7, "hash": seven},
                "cert": cert_json(&carried),
                "chain": chain,
                "expect": expect,
            })
        };
        json!({
            "carried_certificate": case(good_chain, true),
            "broken_carry": case(broken_chain, false),
        })
    }

    /// A state tree of 24 invoices at version 0 and a receivable added at version 1;
    /// the roots of both versions.
    fn sample_state() -> (MemoryStorage, Hash, Hash) {
        let mut s = MemoryStorage::new();
        let w0: Vec<(Vec<u8>, Option<Vec<u8>>)> = (0..24)
            .map(|i| {
                (
                    format!("doc/invoice/INV-{i}").into_bytes(),
                    Some(format!("value-{i}").into_bytes()),
                )
            })
            .collect();
        let c0 = compute_changes(&s, 0, w0.into_iter().collect()).unwrap();
        s.apply(&c0);
        let w1 = vec![(
            b"doc/receivable/RCV-1".to_vec(),
            Some(b"receivable one".to_vec()),
        )];
        let c1 = compute_changes(&s, 1, w1.into_iter().collect()).unwrap();
        s.apply(&c1);
        (s, c0.root, c1.root)
    }

    fn proof_json(p: &StateProof) -> Value {
        json!({
            "key": String::from_utf8_lossy(&p.key),
            "value_hex": p.value.as_ref().map(hex::encode),
            "state_root": p.root,
            "proof": serde_json::to_value(&p.proof).unwrap(),
        })
    }

    /// Flips one byte of the first non-null sibling of a proof in JSON.
    fn tamper_first_sibling(proof: &mut Value) {
        let sibs = proof["proof"]["siblings"].as_array_mut().unwrap();
        let sib = sibs.iter_mut().find(|s| s.is_object()).unwrap();
        let inner = sib.as_object_mut().unwrap().values_mut().next().unwrap();
        let field = inner.as_object_mut().unwrap().values_mut().next().unwrap();
        let b0 = field[0].as_u64().unwrap();
        field[0] = json!((b0 + 1) % 256);
    }

    /// Inclusion and exclusion proofs at version 1, and proofs that must fail.
    fn proof_vectors() -> Value {
        let (s, root0, root1) = sample_state();
        let key = b"doc/invoice/INV-7".to_vec();
        let p = prove(&s, &key, 1, root1).unwrap();
        p.verify(&root1).unwrap();
        let absent = prove(&s, b"doc/invoice/NOPE", 1, root1).unwrap();
        absent.verify(&root1).unwrap();
        assert!(absent.value.is_none());
        let mut bad_value = proof_json(&p);
        bad_value["value_hex"] = json!(hex::encode(b"value-8"));
        let mut bad_sibling = proof_json(&p);
        tamper_first_sibling(&mut bad_sibling);
        let mut other_root = proof_json(&p);
        other_root["state_root"] = json!(root0);
        json!([
            {"name": "inclusion", "expect": true, "input": proof_json(&p)},
            {"name": "exclusion", "expect": true, "input": proof_json(&absent)},
            {"name": "tampered value", "expect": false, "input": bad_value},
            {"name": "tampered sibling", "expect": false, "input": bad_sibling},
            {"name": "other root", "expect": false, "input": other_root},
        ])
    }

    fn generate() -> Value {
        let keys: Vec<SecretKey> = (1..=4u8).map(|i| SecretKey::from_seed([i; 32])).collect();
        let publics: Vec<_> = keys.iter().map(|k| k.public()).collect();
        let set = ValidatorSet::from_keys(&publics).unwrap();
        let votes = vote_vectors(sample_vote());
        let certs = certificate_vectors(&keys, &publics, &set, sample_vote());
        let carried = carried_vectors(&keys, &publics, &set);
        json!({
            "vote": votes["vote"],
            "epoch_end_vote": votes["epoch_end_vote"],
            "certificate": certs["certificate"],
            "tampered_certificate": certs["tampered_certificate"],
            "short_certificate": certs["short_certificate"],
            "carried_certificate": carried["carried_certificate"],
            "broken_carry": carried["broken_carry"],
            "proofs": proof_vectors(),
        })
    }

    #[test]
    fn pinned_vectors_match_consensus_and_jmt() {
        let fresh = generate();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/static/vectors.json");
        if std::env::var_os("LIANRONG_WRITE_VECTORS").is_some() {
            std::fs::write(path, serde_json::to_string_pretty(&fresh).unwrap() + "\n").unwrap();
        }
        // (assert!, not assert_eq!: the vectors are too long to print usefully)
        assert!(
            test_vectors() == fresh,
            "static/vectors.json is stale: rerun with LIANRONG_WRITE_VECTORS=1 and check verify.js"
        );
        // The signing bytes are namespace || chain id || the 96-byte canonical vote.
        let sb = fresh["vote"]["signing_bytes_hex"].as_str().unwrap();
        assert_eq!(sb.len() / 2, 1 + 16 + 1 + CHAIN.len() + 96);
    }
}
