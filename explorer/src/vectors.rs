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
    use lianrong_contracts::MemoryStorage;
    use lianrong_primitives::{encode, Hash, SecretKey};
    use serde_json::{json, Value};

    const CHAIN: &str = "lianrong-vectors";

    fn cert_json(cert: &CommitCertificate) -> Value {
        let mut v = serde_json::to_value(cert).unwrap();
        vote_numbers_as_strings(&mut v["qc"]["vote"]);
        v
    }

    fn generate() -> Value {
        let keys: Vec<SecretKey> = (1..=4u8).map(|i| SecretKey::from_seed([i; 32])).collect();
        let publics: Vec<_> = keys.iter().map(|k| k.public()).collect();
        let set = ValidatorSet::from_keys(&publics).unwrap();
        let vote = VoteData {
            epoch: 0,
            block_hash: Hash([0xb2; 32]),
            height: 8,
            round: 12,
            parent_hash: Hash([0xa1; 32]),
            parent_round: 11,
        };
        let msg = vote.signing_bytes(CHAIN);
        let signers = [0u16, 1, 3];
        let cert = CommitCertificate {
            qc: QuorumCert {
                vote,
                signers: signers.to_vec(),
                signatures: signers
                    .iter()
                    .map(|&i| keys[i as usize].sign(&msg))
                    .collect(),
            },
        };
        let committed = cert.verify(&set, CHAIN, Hash::ZERO).unwrap();
        let mut tampered = cert.clone();
        tampered.qc.signatures[1].0[5] ^= 1;
        assert!(tampered.verify(&set, CHAIN, Hash::ZERO).is_err());
        let mut short = cert.clone();
        short.qc.signers.pop();
        short.qc.signatures.pop();
        assert!(short.verify(&set, CHAIN, Hash::ZERO).is_err());

        // A block final through its child: the certificate commits height 8, block 7 is
        // linked to it by the child's parent hash.
        let carried_vote = VoteData {
            epoch: 0,
            block_hash: Hash([0xe5; 32]),
            height: 9,
            round: 13,
            parent_hash: Hash([0xc3; 32]),
            parent_round: 12,
        };
        let cmsg = carried_vote.signing_bytes(CHAIN);
        let carried = CommitCertificate {
            qc: QuorumCert {
                vote: carried_vote,
                signers: vec![0, 2, 3],
                signatures: [0usize, 2, 3]
                    .iter()
                    .map(|&i| keys[i].sign(&cmsg))
                    .collect(),
            },
        };
        assert_eq!(carried.verify(&set, CHAIN, Hash::ZERO).unwrap().height, 8);
        let (seven, eight) = (Hash([0xd4; 32]), Hash([0xc3; 32]));
        let good_chain = json!([
            {"height": 7, "hash": seven, "parent": Hash([0x11; 32])},
            {"height": 8, "hash": eight, "parent": seven},
        ]);
        let broken_chain = json!([
            {"height": 7, "hash": seven, "parent": Hash([0x11; 32])},
            {"height": 8, "hash": eight, "parent": Hash([0x99; 32])},
        ]);

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

        // A state tree with a few documents, proofs at version 1.
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
        let key = b"doc/invoice/INV-7".to_vec();
        let p = prove(&s, &key, 1, c1.root).unwrap();
        p.verify(&c1.root).unwrap();
        let absent = prove(&s, b"doc/invoice/NOPE", 1, c1.root).unwrap();
        absent.verify(&c1.root).unwrap();
        assert!(absent.value.is_none());
        let proof_json = |p: &lianrong_contracts::StateProof| {
            json!({
                "key": String::from_utf8_lossy(&p.key),
                "value_hex": p.value.as_ref().map(hex::encode),
                "state_root": p.root,
                "proof": serde_json::to_value(&p.proof).unwrap(),
            })
        };
        let mut bad_value = proof_json(&p);
        bad_value["value_hex"] = json!(hex::encode(b"value-8"));
        let mut bad_sibling = proof_json(&p);
        // Flip one byte of the first non-null sibling.
        let sibs = bad_sibling["proof"]["siblings"].as_array_mut().unwrap();
        let sib = sibs.iter_mut().find(|s| s.is_object()).unwrap();
        let inner = sib.as_object_mut().unwrap().values_mut().next().unwrap();
        let field = inner.as_object_mut().unwrap().values_mut().next().unwrap();
        let b0 = field[0].as_u64().unwrap();
        field[0] = json!((b0 + 1) % 256);

        let mut vote_json = serde_json::to_value(vote).unwrap();
        vote_numbers_as_strings(&mut vote_json);
        let mut other_root = proof_json(&p);
        other_root["state_root"] = json!(c0.root);
        json!({
            "vote": {
                "chain_id": CHAIN,
                "vote": vote_json,
                "encoded_hex": hex::encode(encode(&vote)),
                "signing_bytes_hex": hex::encode(&msg),
            },
            "epoch_end_vote": {
                "chain_id": CHAIN,
                "vote": ee,
                "signing_bytes_hex": hex::encode(epoch_end.signing_bytes(CHAIN)),
            },
            "certificate": {
                "chain_id": CHAIN,
                "validators": publics,
                "block": {"height": committed.height, "hash": committed.hash},
                "cert": cert_json(&cert),
                "expect": true,
            },
            "tampered_certificate": {
                "chain_id": CHAIN,
                "validators": publics,
                "block": {"height": committed.height, "hash": committed.hash},
                "cert": cert_json(&tampered),
                "expect": false,
            },
            "short_certificate": {
                "chain_id": CHAIN,
                "validators": publics,
                "block": {"height": committed.height, "hash": committed.hash},
                "cert": cert_json(&short),
                "expect": false,
            },
            "carried_certificate": {
                "chain_id": CHAIN,
                "validators": publics,
                "block": {"height": 7, "hash": seven},
                "cert": cert_json(&carried),
                "chain": good_chain,
                "expect": true,
            },
            "broken_carry": {
                "chain_id": CHAIN,
                "validators": publics,
                "block": {"height": 7, "hash": seven},
                "cert": cert_json(&carried),
                "chain": broken_chain,
                "expect": false,
            },
            "proofs": [
                {"name": "inclusion", "expect": true, "input": proof_json(&p)},
                {"name": "exclusion", "expect": true, "input": proof_json(&absent)},
                {"name": "tampered value", "expect": false, "input": bad_value},
                {"name": "tampered sibling", "expect": false, "input": bad_sibling},
                {"name": "other root", "expect": false, "input": other_root},
            ],
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
