//! What the in-browser verifier (`static/verify.js`) is given, and the test vectors it must
//! reproduce.
//!
//! The verify API (`/api/verify/...`) answers with [`block_input`] and [`document_input`]:
//! raw evidence as the node served it (headers, certificates, validator-set changes, the
//! Merkle proof) and the trust root ([`trust_json`]) the browser chains every validator set
//! from. u64 numbers travel as decimal strings (browsers parse JSON numbers as doubles).
//!
//! The vectors are pinned in `static/vectors.json`; a unit test regenerates them with the
//! real consensus, contracts and SDK code and fails if a byte differs. They hold: the
//! exact bytes of a vote, a block header and its hash, the hash of a validator-set change;
//! certificates; an epoch change (genesis set of 4, a reconfiguration block they certify,
//! the next set); blocks and document proofs, valid ones and attacks that must come out
//! INVALID. Every block and document verdict is the SDK's reference verifier's
//! (`lianrong_sdk::verify_block`, `verify_document`). The explorer serves them at
//! `/static/vectors.json`; `LianRongVerify.selfTest` runs them all in the browser.

use lianrong_api_types::{BlockView, EpochChange, ProofResponse};
use serde::Serialize;
use serde_json::{json, Value};

/// The pinned vectors (JSON).
pub const VECTORS_JSON: &str = include_str!("../static/vectors.json");

/// The pinned vectors, parsed.
pub fn test_vectors() -> Value {
    serde_json::from_str(VECTORS_JSON).unwrap_or(Value::Null)
}

/// Replaces the u64 fields `keys` of the object `v` by decimal strings.
fn u64_fields_as_strings(v: &mut Value, keys: &[&str]) {
    if let Some(obj) = v.as_object_mut() {
        for k in keys {
            if let Some(n) = obj.get(*k).and_then(Value::as_u64) {
                obj.insert((*k).to_string(), Value::String(n.to_string()));
            }
        }
    }
}

/// JSON numbers of a vote's u64 fields as decimal strings (browsers parse JSON numbers as
/// doubles, which cannot hold u64 values such as the epoch-end round `u64::MAX`).
pub fn vote_numbers_as_strings(v: &mut Value) {
    u64_fields_as_strings(v, &["epoch", "height", "round", "parent_round"]);
}

/// A block header as the browser reads it: u64 fields as decimal strings.
pub fn header_json(header: &impl Serialize) -> Value {
    let mut v = serde_json::to_value(header).unwrap_or(Value::Null);
    u64_fields_as_strings(&mut v, &["epoch", "height", "round", "timestamp_ms"]);
    if let Some(x) = v.get_mut("executed") {
        u64_fields_as_strings(x, &["height"]);
    }
    v
}

/// A commit certificate as the browser reads it: the vote's u64 fields as strings.
pub fn cert_json(cert: &impl Serialize) -> Value {
    let mut v = serde_json::to_value(cert).unwrap_or(Value::Null);
    if let Some(vote) = v.get_mut("qc").and_then(|qc| qc.get_mut("vote")) {
        vote_numbers_as_strings(vote);
    }
    v
}

/// Validator-set changes as the browser reads them.
pub fn epochs_json(changes: &[EpochChange]) -> Value {
    Value::Array(
        changes
            .iter()
            .map(|c| {
                json!({
                    "epoch": c.epoch.to_string(),
                    "header": header_json(&c.header),
                    "validators": c.validators,
                    "certificate": cert_json(&c.certificate),
                })
            })
            .collect(),
    )
}

/// The trust root the browser starts from: the chain id and the hex keys of the genesis
/// validators in index order, and where they came from (shown on the page).
pub fn trust_json(chain_id: &str, validators: &[String], source: &str) -> Value {
    json!({"chain_id": chain_id, "validators": validators, "source": source})
}

/// What the browser checks a block with: the trust root, the validator-set changes before
/// the block's epoch, the fields the page shows, the header, the certificate and the
/// headers up to the block the certificate commits.
pub fn block_input(trust: Value, epochs: &[EpochChange], b: &BlockView) -> Value {
    json!({
        "trust": trust,
        "epochs": epochs_json(epochs),
        "block": {
            "height": b.height.to_string(),
            "hash": b.hash,
            "parent": b.parent,
            "epoch": b.epoch.to_string(),
            "round": b.round.to_string(),
            "proposer": b.proposer,
            "timestamp_ms": b.timestamp_ms.to_string(),
            "header": header_json(&b.header),
            "certificate": b.commit_certificate.as_ref().map(cert_json),
            "descendants": b.descendants.iter().map(header_json).collect::<Vec<_>>(),
        },
    })
}

/// What the browser checks a document proof with: the trust root, the proof's
/// validator-set changes, the certified header and its certificate, the proof itself, and
/// (`shown`) the canonical bytes of the copy the page shows, if any.
pub fn document_input(trust: Value, p: &ProofResponse, shown: Option<&[u8]>) -> Value {
    json!({
        "trust": trust,
        "epochs": epochs_json(&p.epochs),
        "header": header_json(&p.header),
        "certificate": cert_json(&p.certificate),
        "proof": {
            "kind": p.kind,
            "id": p.id,
            "subject": p.subject,
            "height": p.height.to_string(),
            "state_root": p.state_root,
            "key": p.key,
            "value_hex": p.value_hex,
            "leaf_hex": p.leaf_hex,
            "proof": p.proof,
        },
        "shown_hex": shown.map(hex::encode),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_api_types::ProofSubject;
    use lianrong_consensus::{
        epoch_end_vote, genesis_hash, payload_hash, reconfig_hash, BlockHeader, BlockId,
        CommitCertificate, ExecutionCommit, QuorumCert, Validator, ValidatorSet, VoteData,
    };
    use lianrong_contracts::merkle::{compute_changes, prove};
    use lianrong_contracts::{DocKind, MemoryStorage, StateProof};
    use lianrong_primitives::{encode, hash::sha256, Hash, OrgId, PublicKey, SecretKey};
    use lianrong_sdk::TrustRoot;

    const CHAIN: &str = "lianrong-vectors";
    const GENESIS_TIME_MS: u64 = 1_767_225_600_000;

    fn keys(seeds: std::ops::RangeInclusive<u8>) -> Vec<SecretKey> {
        seeds.map(|i| SecretKey::from_seed([i; 32])).collect()
    }

    fn publics(keys: &[SecretKey]) -> Vec<PublicKey> {
        keys.iter().map(|k| k.public()).collect()
    }

    fn hexes(keys: &[SecretKey]) -> Vec<String> {
        keys.iter().map(|k| k.public().to_hex()).collect()
    }

    /// A commit certificate of `vote` signed by the validators at `signers`.
    fn certify(keys: &[SecretKey], vote: VoteData, signers: &[u16]) -> CommitCertificate {
        certify_on(CHAIN, keys, vote, signers)
    }

    fn certify_on(
        chain: &str,
        keys: &[SecretKey],
        vote: VoteData,
        signers: &[u16],
    ) -> CommitCertificate {
        let msg = vote.signing_bytes(chain);
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

    /// The vote of `h`'s child in the next round: a quorum on it commits `h` (two-chain).
    fn child_vote(h: &BlockHeader) -> VoteData {
        VoteData {
            epoch: h.epoch,
            block_hash: sha256(format!("child of {}", h.height).as_bytes()),
            height: h.height + 1,
            round: h.round + 1,
            parent_hash: h.hash(),
            parent_round: h.round,
        }
    }

    fn header(
        epoch: u64,
        height: u64,
        round: u64,
        parent: Hash,
        executed: ExecutionCommit,
        reconfig: &Option<ValidatorSet>,
    ) -> BlockHeader {
        BlockHeader {
            chain_id: CHAIN.into(),
            epoch,
            height,
            round,
            parent,
            justify_hash: sha256(format!("justify {height}").as_bytes()),
            proposer: (round % 4) as u16,
            timestamp_ms: GENESIS_TIME_MS + 1_000 * height,
            payload_hash: payload_hash(format!("payload {height}").as_bytes()),
            reconfig_hash: reconfig_hash(reconfig),
            executed,
        }
    }

    fn view(h: &BlockHeader, cert: &CommitCertificate, descendants: &[BlockHeader]) -> BlockView {
        BlockView {
            height: h.height,
            hash: h.hash(),
            parent: h.parent,
            epoch: h.epoch,
            round: h.round,
            proposer: h.proposer,
            timestamp_ms: h.timestamp_ms,
            tx_hashes: vec![],
            dropped_tx_hashes: vec![],
            state_root: None,
            header: h.clone(),
            commit_certificate: Some(cert.clone()),
            descendants: descendants.to_vec(),
            ledger_events: vec![],
        }
    }

    /// A small network: genesis keys 1..=4 (epoch 0), a reconfiguration at height 3 to
    /// keys 5..=8 (epoch 1), an attacker's keys 9..=12; blocks 1..=5 and a state tree
    /// with versions 0 and 1.
    struct Net {
        root: TrustRoot,
        trust: Value,
        keys0: Vec<SecretKey>,
        keys1: Vec<SecretKey>,
        evil: Vec<SecretKey>,
        set1: ValidatorSet,
        evil_set: ValidatorSet,
        change: EpochChange,
        /// Headers of blocks 1..=5 (index 0 = block 1).
        blocks: Vec<BlockHeader>,
        /// Certificates committing blocks 1, 3 (epoch end) and 5 directly.
        cert1: CommitCertificate,
        cert3: CommitCertificate,
        cert5: CommitCertificate,
        state: MemoryStorage,
        roots: [Hash; 2],
        results: Hash,
    }

    fn org(s: &str) -> Option<OrgId> {
        Some(OrgId::new(s).unwrap())
    }

    /// The values a block writes to the state tree (`None` deletes).
    type Writes = Vec<(Vec<u8>, Option<Vec<u8>>)>;

    /// Values of the state tree: version 0, then what version 1 changes.
    fn state_writes() -> [Writes; 2] {
        let mut v0: Writes = (0..12)
            .map(|i| {
                (
                    format!("doc/invoice/INV-{i}").into_bytes(),
                    Some(format!("invoice {i}").into_bytes()),
                )
            })
            .collect();
        v0.push((
            b"doc/receivable/RCV-1".to_vec(),
            Some(b"RCV-1 held by SUP-1, 100.00 CNY".to_vec()),
        ));
        v0.push((
            b"doc/receivable/RCV-12".to_vec(),
            Some(b"RCV-12 held by SUP-3, 900000.00 CNY".to_vec()),
        ));
        // History heads share their documents' leaves; a nonce is a leaf of its own.
        v0.push((b"hhead/receivable/RCV-1".to_vec(), Some(b"head 1".to_vec())));
        v0.push((b"hhead/invoice/INV-7".to_vec(), Some(b"head 1".to_vec())));
        v0.push((b"nonce/SUP-1".to_vec(), Some(b"7".to_vec())));
        let v1 = vec![
            (
                b"doc/receivable/RCV-1".to_vec(),
                Some(b"RCV-1 held by SUP-2, 100.00 CNY".to_vec()),
            ),
            (b"hhead/receivable/RCV-1".to_vec(), Some(b"head 2".to_vec())),
        ];
        [v0, v1]
    }

    fn tree(writes: &[Writes]) -> (MemoryStorage, Vec<Hash>) {
        let mut s = MemoryStorage::new();
        let mut roots = Vec::new();
        for (version, w) in writes.iter().enumerate() {
            let c = compute_changes(&s, version as u64, w.iter().cloned().collect()).unwrap();
            s.apply(&c);
            roots.push(c.root);
        }
        (s, roots)
    }

    fn net() -> Net {
        let (keys0, keys1, evil) = (keys(1..=4), keys(5..=8), keys(9..=12));
        let set0 = ValidatorSet::new(
            publics(&keys0)
                .into_iter()
                .zip(["VAL-A", "VAL-B", "VAL-C", "VAL-D"])
                .map(|(key, o)| Validator { key, org: org(o) })
                .collect(),
        )
        .unwrap();
        // One member without an org label: the encoding of `None` is covered too.
        let set1 = ValidatorSet::new(
            publics(&keys1)
                .into_iter()
                .zip([org("BANK-A"), None, org("CORE-A"), org("VAL-E")])
                .map(|(key, org)| Validator { key, org })
                .collect(),
        )
        .unwrap();
        let evil_set = ValidatorSet::from_keys(&publics(&evil)).unwrap();
        let root = TrustRoot {
            chain_id: CHAIN.into(),
            genesis_hash: genesis_hash(CHAIN, &set0, GENESIS_TIME_MS),
            validators: set0,
        };
        let (state, roots) = tree(&state_writes());
        let results = sha256(b"results of block 1");
        let at0 = ExecutionCommit::genesis(roots[0]);
        let at1 = ExecutionCommit {
            height: 1,
            state_root: roots[1],
            results_root: results,
        };
        let b1 = header(0, 1, 1, root.genesis_hash, at0, &None);
        let b2 = header(0, 2, 2, b1.hash(), at0, &None);
        let b3 = header(0, 3, 3, b2.hash(), at1, &Some(set1.clone()));
        let b4 = header(1, 4, 1, b3.hash(), at1, &None);
        let b5 = header(1, 5, 2, b4.hash(), at1, &None);
        let cert1 = certify(&keys0, child_vote(&b1), &[0, 1, 3]);
        let end = BlockId {
            hash: b3.hash(),
            height: 3,
            round: 3,
        };
        let cert3 = certify(&keys0, epoch_end_vote(0, &end), &[0, 1, 2]);
        let cert5 = certify(&keys1, child_vote(&b5), &[1, 2, 3]);
        let change = EpochChange {
            epoch: 0,
            header: b3.clone(),
            validators: set1.clone(),
            certificate: cert3.clone(),
        };
        Net {
            trust: trust_json(CHAIN, &hexes(&keys0), "test vectors"),
            root,
            keys0,
            keys1,
            evil,
            set1,
            evil_set,
            change,
            blocks: vec![b1, b2, b3, b4, b5],
            cert1,
            cert3,
            cert5,
            state,
            roots: [roots[0], roots[1]],
            results,
        }
    }

    /// The bytes validators sign: a vote, and the vote that ends an epoch.
    fn vote_vectors() -> Value {
        let vote = VoteData {
            epoch: 0,
            block_hash: Hash([0xb2; 32]),
            height: 8,
            round: 12,
            parent_hash: Hash([0xa1; 32]),
            parent_round: 11,
        };
        let mut vote_json = serde_json::to_value(vote).unwrap();
        vote_numbers_as_strings(&mut vote_json);
        let epoch_end = epoch_end_vote(
            3,
            &BlockId {
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

    /// Header encodings and hashes: a block of the network, and one with every number at
    /// its extreme and a non-ASCII chain id.
    fn header_vectors(n: &Net) -> Value {
        let mut extreme = n.blocks[2].clone();
        extreme.chain_id = "链融-extreme".into();
        extreme.epoch = u64::MAX;
        extreme.height = u64::MAX - 1;
        extreme.round = 1 << 60;
        extreme.proposer = u16::MAX;
        extreme.timestamp_ms = (1 << 53) + 1;
        extreme.executed.height = u64::MAX;
        let case = |name: &str, h: &BlockHeader| {
            json!({
                "name": name,
                "header": header_json(h),
                "encoded_hex": hex::encode(encode(h)),
                "hash": h.hash(),
            })
        };
        json!([
            case("reconfiguration block", &n.blocks[2]),
            case("extreme numbers", &extreme),
        ])
    }

    fn reconfig_vectors(n: &Net) -> Value {
        json!([
            {"name": "no change", "validators": null, "hash": reconfig_hash(&None)},
            {"name": "set with and without org labels", "validators": n.set1,
             "hash": reconfig_hash(&Some(n.set1.clone()))},
        ])
    }

    /// Certificates against a set, and the block each commits (`null`: rejected).
    fn certificate_vectors(n: &Net) -> Value {
        let b1 = &n.blocks[0];
        let committed = json!({"height": b1.height.to_string(), "hash": b1.hash()});
        let mut tampered = n.cert1.clone();
        tampered.qc.signatures[1].0[5] ^= 1;
        let mut short = n.cert1.clone();
        short.qc.signers.pop();
        short.qc.signatures.pop();
        let mut duplicate = n.cert1.clone();
        duplicate.qc.signers = vec![0, 0, 1];
        duplicate.qc.signatures = vec![
            n.cert1.qc.signatures[0],
            n.cert1.qc.signatures[0],
            n.cert1.qc.signatures[1],
        ];
        let other_chain = certify_on("other-chain", &n.keys0, child_vote(b1), &[0, 1, 3]);
        let set0 = hexes(&n.keys0);
        let b3 = &n.blocks[2];
        let cases = [
            ("quorum of the set", &n.cert1, true),
            ("tampered signature", &tampered, false),
            ("too few signers", &short, false),
            ("a signer counted twice", &duplicate, false),
            ("signed for another chain", &other_chain, false),
        ];
        let mut out: Vec<Value> = cases
            .iter()
            .map(|(name, cert, ok)| {
                let verdict = cert.verify(&n.root.validators, CHAIN, n.root.genesis_hash);
                assert_eq!(verdict.is_ok(), *ok, "{name}");
                json!({
                    "name": name,
                    "input": {"chain_id": CHAIN, "validators": set0, "epoch": "0", "cert": cert_json(cert)},
                    "commits": if *ok { committed.clone() } else { Value::Null },
                })
            })
            .collect();
        out.push(json!({
            "name": "epoch-end certificate (rounds u64::MAX - 1, u64::MAX)",
            "input": {"chain_id": CHAIN, "validators": set0, "epoch": "0", "cert": cert_json(&n.cert3)},
            "commits": {"height": "3", "hash": b3.hash()},
        }));
        out.push(json!({
            "name": "certificate of epoch 0 checked as epoch 1's",
            "input": {"chain_id": CHAIN, "validators": set0, "epoch": "1", "cert": cert_json(&n.cert1)},
            "commits": Value::Null,
        }));
        Value::Array(out)
    }

    /// The Rust reference verdict on a block.
    fn sdk_block_verdict(n: &Net, epochs: &[EpochChange], b: &BlockView) -> bool {
        lianrong_sdk::verify_epochs(&n.root, epochs)
            .and_then(|sets| lianrong_sdk::verify_block(b, &n.root, &sets))
            .is_ok()
    }

    /// A block case: name, the validator-set changes given, the block view, the verdict.
    type BlockCase = (&'static str, Vec<EpochChange>, BlockView, bool);

    /// Blocks final directly, through a descendant, and through the epoch change.
    fn valid_block_cases(n: &Net) -> Vec<BlockCase> {
        let [b1, b2, b3, b4, b5] = [0, 1, 2, 3, 4].map(|i| n.blocks[i].clone());
        let change = vec![n.change.clone()];
        vec![
            (
                "epoch 0, certified directly",
                vec![],
                view(&b1, &n.cert1, &[]),
                true,
            ),
            (
                "epoch 0, final through its child's epoch-end certificate",
                vec![],
                view(&b2, &n.cert3, std::slice::from_ref(&b3)),
                true,
            ),
            (
                "epoch 1, through the validator-set change",
                change.clone(),
                view(&b5, &n.cert5, &[]),
                true,
            ),
            (
                "epoch 1, final through a descendant",
                change,
                view(&b4, &n.cert5, std::slice::from_ref(&b5)),
                true,
            ),
        ]
    }

    /// Forged certificates, headers and links to the certified block.
    fn forged_block_cases(n: &Net) -> Vec<BlockCase> {
        let (b1, b4, b5) = (&n.blocks[0], &n.blocks[3], &n.blocks[4]);
        let change = vec![n.change.clone()];
        let mut tampered = n.cert1.clone();
        tampered.qc.signatures[0].0[7] ^= 1;
        let mut short = n.cert1.clone();
        short.qc.signers.truncate(2);
        short.qc.signatures.truncate(2);
        // The node shows block 1's hash over another header.
        let mut edited = b1.clone();
        edited.payload_hash = payload_hash(b"forged payload");
        let mut shown = view(&edited, &n.cert1, &[]);
        shown.hash = b1.hash();
        // Below the certified height: a foreign block 4 (its own hash shown consistently)
        // whose child, the certified block 5, names another parent.
        let mut foreign = b4.clone();
        foreign.payload_hash = payload_hash(b"foreign payload");
        // A forged block 5 that names block 4 as parent: its hash, computed here, is not
        // the certified one.
        let mut forged5 = b5.clone();
        forged5.timestamp_ms += 1;
        vec![
            (
                "tampered signature",
                vec![],
                view(b1, &tampered, &[]),
                false,
            ),
            ("too few signers", vec![], view(b1, &short, &[]), false),
            (
                "header does not hash to the block shown",
                vec![],
                shown,
                false,
            ),
            (
                "below the certified height with a foreign hash",
                change.clone(),
                view(&foreign, &n.cert5, std::slice::from_ref(b5)),
                false,
            ),
            (
                "descendant that does not hash to the certified block",
                change,
                view(b4, &n.cert5, std::slice::from_ref(&forged5)),
                false,
            ),
        ]
    }

    /// Certificates by the wrong validators: another epoch's set, a set the node made up,
    /// another chain's.
    fn wrong_set_block_cases(n: &Net) -> Vec<BlockCase> {
        let (b1, b2, b3, b5) = (&n.blocks[0], &n.blocks[1], &n.blocks[2], &n.blocks[4]);
        let change = vec![n.change.clone()];
        let by_set0 = certify(&n.keys0, child_vote(b5), &[0, 1, 3]);
        let mut epoch0_vote = child_vote(b5);
        epoch0_vote.epoch = 0;
        let epoch0 = certify(&n.keys0, epoch0_vote, &[0, 1, 3]);
        // The node substitutes its own keys for epoch 1 (the reconfiguration block and its
        // certificate are genuine) and certifies block 5 with them ...
        let mut substituted = n.change.clone();
        substituted.validators = n.evil_set.clone();
        let evil_cert = certify(&n.evil, child_vote(b5), &[0, 1, 2]);
        // ... or forges a reconfiguration block to its keys, certified by them.
        let forged_reconfig = header(0, 3, 3, b2.hash(), b3.executed, &Some(n.evil_set.clone()));
        let evil_end = BlockId {
            hash: forged_reconfig.hash(),
            height: 3,
            round: 3,
        };
        let forged_change = EpochChange {
            epoch: 0,
            header: forged_reconfig,
            validators: n.evil_set.clone(),
            certificate: certify(&n.evil, epoch_end_vote(0, &evil_end), &[0, 1, 2]),
        };
        // A block of another network whose validators use the same keys.
        let mut other = b1.clone();
        other.chain_id = "other-chain".into();
        let other_cert = certify_on("other-chain", &n.keys0, child_vote(&other), &[0, 1, 3]);
        vec![
            (
                "certificate of the wrong epoch's set",
                change.clone(),
                view(b5, &by_set0, &[]),
                false,
            ),
            (
                "epoch-0 certificate for an epoch-1 block",
                change,
                view(b5, &epoch0, &[]),
                false,
            ),
            (
                "epoch 1 without its validator-set change",
                vec![],
                view(b5, &n.cert5, &[]),
                false,
            ),
            (
                "validator set substituted for epoch 1",
                vec![substituted],
                view(b5, &evil_cert, &[]),
                false,
            ),
            (
                "reconfiguration not certified by epoch 0's set",
                vec![forged_change],
                view(b5, &evil_cert, &[]),
                false,
            ),
            (
                "block of another chain",
                vec![],
                view(&other, &other_cert, &[]),
                false,
            ),
        ]
    }

    /// Blocks as the verify API gives them; each verdict is the SDK's.
    fn block_vectors(n: &Net) -> Value {
        let cases = [
            valid_block_cases(n),
            forged_block_cases(n),
            wrong_set_block_cases(n),
        ];
        Value::Array(
            cases
                .into_iter()
                .flatten()
                .map(|(name, epochs, b, expect)| {
                    assert_eq!(sdk_block_verdict(n, &epochs, &b), expect, "{name}");
                    json!({
                        "name": name,
                        "expect": expect,
                        "input": block_input(n.trust.clone(), &epochs, &b),
                    })
                })
                .collect(),
        )
    }

    fn proof_response(
        n: &Net,
        id: &str,
        p: &StateProof,
        header: &BlockHeader,
        certificate: &CommitCertificate,
    ) -> ProofResponse {
        ProofResponse {
            kind: "receivable".into(),
            id: id.into(),
            subject: ProofSubject::Document,
            height: p.version,
            state_root: p.root,
            key: String::from_utf8_lossy(&p.key).into_owned(),
            value_hex: p.value.as_ref().map(hex::encode),
            leaf_hex: p.leaf.as_ref().map(hex::encode),
            proof: serde_json::to_value(&p.proof).unwrap(),
            header: header.clone(),
            certificate: certificate.clone(),
            epochs: vec![n.change.clone()],
            history: vec![],
            history_next: None,
        }
    }

    /// A document case: the proof answer for `asked` (a receivable), the page's copy if
    /// any, and the verdict.
    struct DocCase {
        name: &'static str,
        asked: &'static str,
        proof: ProofResponse,
        shown: Option<Vec<u8>>,
        expect: bool,
    }

    fn case(
        name: &'static str,
        asked: &'static str,
        proof: ProofResponse,
        shown: Option<Vec<u8>>,
        expect: bool,
    ) -> DocCase {
        DocCase {
            name,
            asked,
            proof,
            shown,
            expect,
        }
    }

    /// RCV-`id`'s genuine proof in the state of `version`.
    fn rcv(n: &Net, id: &str, version: u64) -> StateProof {
        let key = format!("doc/receivable/{id}").into_bytes();
        prove(&n.state, &key, version, n.roots[version as usize]).unwrap()
    }

    /// Valid proofs, and forged values under the genuine certificate.
    fn forged_value_doc_cases(n: &Net) -> Vec<DocCase> {
        let b5 = &n.blocks[4];
        let genuine = rcv(n, "RCV-1", 1);
        let good = proof_response(n, "RCV-1", &genuine, b5, &n.cert5);
        // A tree of the node's own making, where RCV-1 holds a forged value.
        let mut forged_writes = state_writes();
        let forged_value = b"RCV-1 held by EVIL-1, 100.00 CNY".to_vec();
        forged_writes[1][0].1 = Some(forged_value.clone());
        let (forged_state, forged_roots) = tree(&forged_writes);
        let forged = prove(&forged_state, b"doc/receivable/RCV-1", 1, forged_roots[1]).unwrap();
        let mut claims_root = proof_response(n, "RCV-1", &forged, b5, &n.cert5);
        claims_root.state_root = n.roots[1];
        // The header edited to certify the forged root, under the genuine certificate.
        let mut edited = b5.clone();
        edited.executed.state_root = forged_roots[1];
        let mut edited_value = good.clone();
        edited_value.value_hex = Some(hex::encode(b"RCV-1 held by SUP-2, 999.00 CNY"));
        let absent = proof_response(n, "RCV-404", &rcv(n, "RCV-404", 1), b5, &n.cert5);
        vec![
            case(
                "RCV-1 at the certified root",
                "RCV-1",
                good.clone(),
                genuine.value.clone(),
                true,
            ),
            case(
                "absent document, proven absent",
                "RCV-404",
                absent,
                None,
                true,
            ),
            case(
                "forged value with a genuine certificate",
                "RCV-1",
                proof_response(n, "RCV-1", &forged, b5, &n.cert5),
                Some(forged_value.clone()),
                false,
            ),
            case(
                "forged value claiming the certified root",
                "RCV-1",
                claims_root,
                Some(forged_value.clone()),
                false,
            ),
            case(
                "header edited to certify another root",
                "RCV-1",
                proof_response(n, "RCV-1", &forged, &edited, &n.cert5),
                Some(forged_value),
                false,
            ),
            case(
                "value edited, proof genuine",
                "RCV-1",
                edited_value,
                None,
                false,
            ),
            // A genuine proof; the page shows another copy than the certified one.
            case(
                "page shows a copy other than the certified one",
                "RCV-1",
                good,
                Some(b"RCV-1 held by SUP-1, 100.00 CNY".to_vec()),
                false,
            ),
        ]
    }

    /// Genuine proofs and certificates that prove something else than asked: another
    /// key, another height, a certificate by another epoch's set.
    fn misplaced_doc_cases(n: &Net) -> Vec<DocCase> {
        let b5 = &n.blocks[4];
        let good = proof_response(n, "RCV-1", &rcv(n, "RCV-1", 1), b5, &n.cert5);
        let mut other_height = good.clone();
        other_height.height = 0;
        let by_set0 = certify(&n.keys0, child_vote(b5), &[0, 1, 3]);
        let mut wrong_set = good.clone();
        wrong_set.certificate = by_set0;
        let mut no_epochs = good;
        no_epochs.epochs.clear();
        vec![
            // RCV-12's genuine proof (its value names "RCV-1" as a substring) passed off
            // as RCV-1's, the envelope saying RCV-1.
            case(
                "proof of another key (RCV-12 for RCV-1)",
                "RCV-1",
                proof_response(n, "RCV-1", &rcv(n, "RCV-12", 1), b5, &n.cert5),
                None,
                false,
            ),
            // The previous state's genuine proof, against the root of height 0.
            case(
                "proof against the root of another height",
                "RCV-1",
                proof_response(n, "RCV-1", &rcv(n, "RCV-1", 0), b5, &n.cert5),
                None,
                false,
            ),
            // The genuine proof, said to be of another height than the header certifies.
            case(
                "proof said to be of another height",
                "RCV-1",
                other_height,
                None,
                false,
            ),
            case(
                "certificate of the wrong epoch's set",
                "RCV-1",
                wrong_set,
                None,
                false,
            ),
            case(
                "epoch 1 without its validator-set change",
                "RCV-1",
                no_epochs,
                None,
                false,
            ),
        ]
    }

    /// Document proofs against the root block 5 certifies (the state of height 1), as the
    /// verify API gives them; each verdict is the SDK's (and, where the page's copy is
    /// given, that copy must be the proven value).
    fn document_vectors(n: &Net) -> Value {
        let cases = [forged_value_doc_cases(n), misplaced_doc_cases(n)];
        Value::Array(
            cases
                .into_iter()
                .flatten()
                .map(|c| {
                    let verified = lianrong_sdk::verify_document(
                        &c.proof,
                        DocKind::Receivable,
                        c.asked,
                        &n.root,
                    );
                    let sdk = verified.is_ok_and(|v| c.shown.is_none() || v.value == c.shown);
                    assert_eq!(sdk, c.expect, "{}", c.name);
                    json!({
                        "name": c.name,
                        "expect": c.expect,
                        "kind": "receivable",
                        "id": c.asked,
                        "input": document_input(n.trust.clone(), &c.proof, c.shown.as_deref()),
                    })
                })
                .collect(),
        )
    }

    /// The epoch change and the sets it proves.
    fn epoch_vectors(n: &Net) -> Value {
        let sets = lianrong_sdk::verify_epochs(&n.root, std::slice::from_ref(&n.change)).unwrap();
        assert_eq!(sets[1], n.set1);
        let keys: Vec<Vec<String>> = sets
            .iter()
            .map(|s| s.validators().iter().map(|v| v.key.to_hex()).collect())
            .collect();
        assert_eq!(keys[1], hexes(&n.keys1));
        json!({
            "trust": n.trust,
            "changes": epochs_json(std::slice::from_ref(&n.change)),
            "sets": keys,
        })
    }

    fn proof_json(p: &StateProof) -> Value {
        json!({
            "key": String::from_utf8_lossy(&p.key),
            "value_hex": p.value.as_ref().map(hex::encode),
            "leaf_hex": p.leaf.as_ref().map(hex::encode),
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

    /// Bare jmt proofs (inclusion, exclusion) at version 1, and proofs that must fail.
    fn proof_vectors(n: &Net) -> Value {
        let (root0, root1) = (n.roots[0], n.roots[1]);
        let p = prove(&n.state, b"doc/invoice/INV-7", 1, root1).unwrap();
        p.verify(&root1).unwrap();
        let absent = prove(&n.state, b"doc/invoice/NOPE", 1, root1).unwrap();
        absent.verify(&root1).unwrap();
        assert!(absent.value.is_none());
        let mut bad_value = proof_json(&p);
        bad_value["value_hex"] = json!(hex::encode(b"invoice 8"));
        let mut bad_sibling = proof_json(&p);
        tamper_first_sibling(&mut bad_sibling);
        let mut other_root = proof_json(&p);
        other_root["state_root"] = json!(root0);
        let mut other_key = proof_json(&p);
        other_key["key"] = json!("doc/invoice/INV-8");
        let mut cases = vec![
            ("inclusion", true, proof_json(&p)),
            ("exclusion", true, proof_json(&absent)),
            ("tampered value", false, bad_value),
            ("tampered sibling", false, bad_sibling),
            ("other root", false, other_root),
            ("other key", false, other_key),
        ];
        cases.extend(shared_leaf_proof_cases(n));
        Value::Array(
            cases
                .into_iter()
                .map(
                    |(name, expect, input)| json!({"name": name, "expect": expect, "input": input}),
                )
                .collect(),
        )
    }

    /// Proofs of values in a shared leaf (a document and its history head), of one in a
    /// leaf of its own, and their forgeries.
    fn shared_leaf_proof_cases(n: &Net) -> Vec<(&'static str, bool, Value)> {
        let root1 = n.roots[1];
        let proven = |key: &[u8]| {
            let p = prove(&n.state, key, 1, root1).unwrap();
            p.verify(&root1).unwrap();
            proof_json(&p)
        };
        let head = proven(b"hhead/receivable/RCV-1");
        assert!(head["leaf_hex"].is_string());
        let no_head = proven(b"hhead/invoice/INV-3");
        assert!(no_head["value_hex"].is_null() && no_head["leaf_hex"].is_string());
        let own = proven(b"nonce/SUP-1");
        let doc = proven(b"doc/invoice/INV-7");
        let mut doc_as_head = head.clone();
        doc_as_head["value_hex"] = json!(hex::encode(b"RCV-1 held by SUP-2, 100.00 CNY"));
        let mut old_head = head.clone();
        old_head["value_hex"] = json!(hex::encode(b"head 1"));
        let mut without_leaf = doc.clone();
        without_leaf["leaf_hex"] = Value::Null;
        let mut claimed_head = no_head.clone();
        claimed_head["value_hex"] = json!(hex::encode(b"head 1"));
        let mut own_with_leaf = own.clone();
        own_with_leaf["leaf_hex"] = doc["leaf_hex"].clone();
        let mut trailing = doc.clone();
        trailing["leaf_hex"] = json!(format!("{}00", doc["leaf_hex"].as_str().unwrap()));
        for (forged, why) in [
            (&doc_as_head, "another part"),
            (&old_head, "an older head"),
            (&without_leaf, "no leaf"),
            (&claimed_head, "an absent head"),
            (&own_with_leaf, "an own leaf"),
            (&trailing, "trailing bytes"),
        ] {
            let p = StateProof {
                key: forged["key"].as_str().unwrap().as_bytes().to_vec(),
                value: forged["value_hex"]
                    .as_str()
                    .map(|h| hex::decode(h).unwrap()),
                leaf: forged["leaf_hex"].as_str().map(|h| hex::decode(h).unwrap()),
                version: 1,
                root: root1,
                proof: serde_json::from_value(forged["proof"].clone()).unwrap(),
            };
            assert!(p.verify(&root1).is_err(), "the SDK takes {why}");
        }
        vec![
            ("history head in its document's leaf", true, head),
            ("no history head, in its document's leaf", true, no_head),
            ("a leaf of its own", true, own),
            (
                "the document's part as the history head",
                false,
                doc_as_head,
            ),
            ("an older history head", false, old_head),
            ("a document without its leaf", false, without_leaf),
            ("an absent history head claimed", false, claimed_head),
            ("a shared leaf for an own key", false, own_with_leaf),
            ("a leaf with trailing bytes", false, trailing),
        ]
    }

    fn generate() -> Value {
        let n = net();
        assert_eq!(n.results, n.blocks[4].executed.results_root);
        assert_eq!(n.set1.len(), n.keys1.len());
        let votes = vote_vectors();
        json!({
            "vote": votes["vote"],
            "epoch_end_vote": votes["epoch_end_vote"],
            "headers": header_vectors(&n),
            "reconfig": reconfig_vectors(&n),
            "certificates": certificate_vectors(&n),
            "epochs": epoch_vectors(&n),
            "blocks": block_vectors(&n),
            "documents": document_vectors(&n),
            "proofs": proof_vectors(&n),
        })
    }

    #[test]
    fn pinned_vectors_match_consensus_jmt_and_the_sdk_verifier() {
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
        // A header is the length-prefixed chain id, then six hashes, five u64 and the u16
        // proposer.
        let h = &fresh["headers"][0];
        let chain = h["header"]["chain_id"].as_str().unwrap();
        let fields = 6 * 32 + 5 * 8 + 2;
        assert_eq!(
            h["encoded_hex"].as_str().unwrap().len() / 2,
            8 + chain.len() + fields
        );
        // Every attack the verifier must refuse is there.
        let names = |k: &str| -> Vec<String> {
            fresh[k]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["expect"] == false)
                .map(|c| c["name"].as_str().unwrap().to_string())
                .collect()
        };
        for (k, want) in [
            ("documents", "forged value with a genuine certificate"),
            ("documents", "proof of another key (RCV-12 for RCV-1)"),
            ("documents", "proof against the root of another height"),
            ("documents", "certificate of the wrong epoch's set"),
            ("blocks", "below the certified height with a foreign hash"),
            ("blocks", "certificate of the wrong epoch's set"),
        ] {
            assert!(names(k).iter().any(|n| n == want), "{k}: {want}");
        }
    }

    /// The verify API's document input carries the node's proof unchanged and the page's
    /// copy as hex.
    #[test]
    fn document_input_carries_the_proof_and_the_page_copy() {
        let n = net();
        let p = prove(&n.state, b"doc/receivable/RCV-1", 1, n.roots[1]).unwrap();
        let r = proof_response(&n, "RCV-1", &p, &n.blocks[4], &n.cert5);
        let v = document_input(n.trust.clone(), &r, Some(b"abc"));
        assert_eq!(v["shown_hex"], "616263");
        assert_eq!(v["proof"]["height"], "1");
        assert_eq!(v["proof"]["subject"], "document");
        assert_eq!(v["header"]["executed"]["height"], "1");
        assert_eq!(v["certificate"]["qc"]["vote"]["height"], "6");
        assert_eq!(v["epochs"][0]["epoch"], "0");
        assert_eq!(v["proof"]["proof"], r.proof);
        assert!(document_input(n.trust, &r, None)["shown_hex"].is_null());
    }
}
