//! `lianrong audit export --blocks` and `lianrong audit verify` on a chain built here,
//! without a node: the contract fixtures' cast decides by governance to remove LOGI's
//! validator (block 1), then trades through eight more blocks; the blocks are real
//! consensus blocks carrying the certified roots of an independent execution, certified
//! by signatures of the fixtures' validators (their testkit node keys), with the
//! validator-set change the ledger decided carried by block 5 (so the certificates of
//! blocks 6..9 are checked against the second epoch's set). The package must pass, and
//! every kind of tampering must fail with the height it happened at.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lianrong_consensus::{
    epoch_end_vote, executed_height, genesis_hash, Block, CommitCertificate, ExecutionCommit,
    QuorumCert, Validator, ValidatorSet, VoteData, MAX_MESSAGE_BYTES,
};
use lianrong_contracts::model::{GovChange, Params};
use lianrong_contracts::testkit::{self, doc, org, World, CHAIN_ID};
use lianrong_contracts::{execute_block, Action, Event, MemoryStorage, SignedTransaction};
use lianrong_primitives::{codec, Hash, SecretKey};
use serde_json::{json, Value};

fn lianrong() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lianrong"))
}

/// A validator set and the keys that sign for it.
struct Signers {
    keys: Vec<SecretKey>,
    set: ValidatorSet,
}

impl Signers {
    /// A quorum (the first three: of four, or all of three) signing `vote`.
    fn sign(&self, vote: VoteData) -> QuorumCert {
        let msg = vote.signing_bytes(CHAIN_ID);
        QuorumCert {
            vote,
            signers: vec![0, 1, 2],
            signatures: self.keys[..3].iter().map(|k| k.sign(&msg)).collect(),
        }
    }
}

/// The validator whose removal the ledger decides in block 1.
const REMOVED: &str = "LOGI";

/// The genesis validators of the fixtures (node keys of BANK-A, CORE-A, CORE-B, LOGI),
/// labelled with their orgs as the genesis file makes them.
fn genesis_signers() -> Signers {
    cast_signers_without(None)
}

/// The set the ledger decides and block `reconfig_at` hands over to: the genesis
/// validators without LOGI's, in the ledger's order, labelled with their orgs.
fn second_signers() -> Signers {
    cast_signers_without(Some(REMOVED))
}

/// The cast's validators in genesis order, without `removed`'s.
fn cast_signers_without(removed: Option<&str>) -> Signers {
    let cast: Vec<_> = testkit::CAST
        .iter()
        .filter(|c| c.4 && Some(c.0) != removed)
        .collect();
    let keys: Vec<SecretKey> = cast.iter().map(|c| testkit::node_key(c.0)).collect();
    let set = ValidatorSet::new(
        cast.iter()
            .zip(&keys)
            .map(|(c, k)| Validator {
                key: k.public(),
                org: Some(org(c.0)),
            })
            .collect(),
    )
    .unwrap();
    Signers { keys, set }
}

/// What the ledger did, block by block: time, payload, and an independent execution's
/// commit of each height (index 0 = genesis).
struct Ledger {
    blocks: Vec<(u64, Vec<u8>)>,
    commits: Vec<ExecutionCommit>,
}

/// Nine blocks: the removal of LOGI's validator, proposed by BANK-A and approved by
/// CORE-A and CORE-B (3 of 4 validator orgs, the quorum) (1), a trade to a receivable
/// (2-6), a transfer with a refused transaction and a transaction whose signature fails
/// (7), an empty block (8), and, 100 days later, the overdue sweep (9).
fn ledger() -> Ledger {
    let mut w = World::new();
    let propose = w.sign(
        "BANK-A",
        Action::Propose {
            change: GovChange::RemoveValidator {
                node_key: testkit::node_key(REMOVED).public(),
            },
        },
    );
    // Proposal ids count from GOV-1.
    let approvals = ["CORE-A", "CORE-B"].map(|o| {
        w.sign(
            o,
            Action::Approve {
                proposal: doc("GOV-1"),
            },
        )
    });
    let out = w.block(&[propose, approvals[0].clone(), approvals[1].clone()]);
    let decided: Vec<_> = out
        .receipts
        .iter()
        .flat_map(|r| r.outcome.clone().unwrap())
        .filter_map(|e| match e {
            Event::ValidatorSetChanged { validators } => Some(validators),
            _ => None,
        })
        .collect();
    assert_eq!(decided.len(), 1, "the third approval executes the removal");
    let decided: Vec<_> = decided[0]
        .iter()
        .map(|v| (v.org.clone(), v.node_key))
        .collect();
    let expected: Vec<_> = second_signers()
        .set
        .validators()
        .iter()
        .map(|v| (v.org.clone().unwrap(), v.key))
        .collect();
    assert_eq!(decided, expected, "the ledger decides the second set");
    let receivable = w.trade_to_receivable("CORE-A", "SUP-1", "1000.00", 90);
    let transfer = w.sign(
        "SUP-1",
        Action::TransferReceivable {
            receivable,
            to: org("SUP-3"),
        },
    );
    let refused = w.sign(
        "CORE-B",
        Action::AcceptOrder {
            order: doc("PO-NONE"),
        },
    );
    // Every node drops this one: its signature fails.
    let mut forged = w
        .sign(
            "LOGI",
            Action::AcceptOrder {
                order: doc("PO-FORGED"),
            },
        )
        .signed()
        .clone();
    forged.signature.0[0] ^= 1;
    w.block(&[transfer, refused]);
    w.block(&[]);
    w.advance_days(100);
    w.block(&[]);
    let mut store = MemoryStorage::new();
    let genesis = testkit::genesis(Params::default());
    let changes = genesis.changes(&store).unwrap();
    store.apply(&changes);
    let mut commits = vec![ExecutionCommit::genesis(changes.root)];
    let mut blocks = Vec::new();
    for (ctx, txs, root) in &w.log {
        let out = execute_block(&store, ctx, txs).unwrap();
        store.apply(&out.changes);
        assert_eq!(out.state_root(), *root, "a deterministic ledger");
        commits.push(ExecutionCommit {
            height: ctx.height,
            state_root: out.state_root(),
            results_root: out.results_root,
        });
        let mut signed: Vec<SignedTransaction> = txs.iter().map(|t| t.signed().clone()).collect();
        if ctx.height == 7 {
            signed.push(forged.clone());
        }
        blocks.push((ctx.time_ms, codec::encode(&signed)));
    }
    assert_eq!(blocks.len(), 9);
    Ledger { blocks, commits }
}

/// The consensus blocks of `ledger` (one extra child at the end, whose certificate makes
/// the last one final) and each exported block's certificate. Block `reconfig_at` hands
/// over to `next` (the ledger's decision is `second_signers()`). With `lie`, the quorum
/// certifies a wrong state root for that height.
fn chain(
    ledger: &Ledger,
    reconfig_at: u64,
    next: Signers,
    lie: Option<u64>,
) -> Vec<(Block, CommitCertificate)> {
    let sets = [genesis_signers(), next];
    let genesis = genesis_hash(CHAIN_ID, &sets[0].set, testkit::GENESIS_TIME_MS);
    let mut blocks: Vec<Block> = Vec::new();
    let (mut epoch, mut round) = (0u64, 0u64);
    let n = ledger.blocks.len() as u64;
    for h in 1..=n + 1 {
        let (time, payload) = match ledger.blocks.get(h as usize - 1) {
            Some((t, p)) => (*t, p.clone()),
            None => (
                ledger.blocks[n as usize - 1].0 + 1000,
                codec::encode(&Vec::<u8>::new()),
            ),
        };
        let (parent, justify, parent_hands_on) = match blocks.last() {
            None => (genesis, QuorumCert::genesis(genesis), 0),
            Some(p) if p.reconfig.is_some() => {
                epoch += 1;
                round = 0;
                // The signature-free certificate that starts an epoch on its root block.
                let root = QuorumCert {
                    vote: VoteData {
                        epoch,
                        block_hash: p.hash(),
                        height: p.height,
                        round: 0,
                        parent_hash: Hash::ZERO,
                        parent_round: 0,
                    },
                    signers: vec![],
                    signatures: vec![],
                };
                (p.hash(), root, p.hands_on())
            }
            Some(p) => (
                p.hash(),
                sets[epoch as usize].sign(VoteData::for_block(p)),
                p.hands_on(),
            ),
        };
        round += 1;
        let k = executed_height(&justify, parent_hands_on);
        let mut executed = ledger.commits[k as usize];
        if lie == Some(k) {
            executed.state_root = Hash([0xee; 32]);
        }
        blocks.push(Block {
            chain_id: CHAIN_ID.into(),
            epoch,
            height: h,
            round,
            parent,
            justify,
            proposer: sets[epoch as usize].set.leader(round),
            timestamp_ms: time,
            payload,
            reconfig: (h == reconfig_at).then(|| sets[1].set.clone()),
            executed,
        });
    }
    let mut out = Vec::new();
    for i in 0..n as usize {
        let b = &blocks[i];
        let signers = &sets[b.epoch as usize];
        let qc = if b.reconfig.is_some() {
            signers.sign(epoch_end_vote(b.epoch, &b.id()))
        } else {
            signers.sign(VoteData::for_block(&blocks[i + 1]))
        };
        out.push((b.clone(), CommitCertificate { qc }));
    }
    out
}

fn raw_line(block: &Block, cert: &CommitCertificate) -> String {
    json!({
        "height": block.height,
        "block_hex": hex::encode(codec::encode(block)),
        "certificate_hex": hex::encode(codec::encode(cert)),
    })
    .to_string()
}

/// genesis.json and raw.jsonl of a chain in `dir`.
fn write_inputs(dir: &Path, chain: &[(Block, CommitCertificate)]) -> (PathBuf, PathBuf) {
    let genesis = dir.join("genesis.json");
    let g = serde_json::to_string_pretty(&testkit::genesis(Params::default())).unwrap();
    std::fs::write(&genesis, g).unwrap();
    let raw = dir.join("raw.jsonl");
    let lines: Vec<String> = chain.iter().map(|(b, c)| raw_line(b, c)).collect();
    std::fs::write(&raw, lines.join("\n") + "\n").unwrap();
    (genesis, raw)
}

fn run(args: &[&OsStr]) -> Output {
    lianrong().args(args).output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn export(raw: &Path, genesis: &Path, out: &Path) -> Output {
    run(&[
        "audit".as_ref(),
        "export".as_ref(),
        "--blocks".as_ref(),
        raw.as_os_str(),
        "--genesis".as_ref(),
        genesis.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ])
}

fn verify(dir: &Path, genesis: &Path) -> Output {
    run(&[
        "audit".as_ref(),
        "verify".as_ref(),
        dir.as_os_str(),
        "--genesis".as_ref(),
        genesis.as_os_str(),
    ])
}

/// Asserts `out` is a failed audit (exit 1) at `height`, mentioning `what`.
fn fails_at(out: &Output, height: u64, what: &str) {
    let t = text(out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains(&format!("AUDIT FAILED at height {height}:")),
        "expected a failure at height {height}: {t}"
    );
    assert!(t.contains(what), "expected {what:?} in: {t}");
}

/// A copy of the package `from` in `to`, with `edit` applied to file `name`'s lines.
fn tampered(from: &Path, to: &Path, name: &str, edit: impl FnOnce(&mut Vec<String>)) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
    let path = to.join(name);
    let mut lines: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    edit(&mut lines);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
}

/// The JSON line of `lines` whose `height` is `h` (the first one).
fn line_at(lines: &mut [String], h: u64) -> (usize, Value) {
    lines
        .iter()
        .enumerate()
        .find_map(|(i, l)| {
            let v: Value = serde_json::from_str(l).ok()?;
            (v["height"] == json!(h)).then_some((i, v))
        })
        .unwrap_or_else(|| panic!("no line for height {h}"))
}

/// Decodes the block of blocks.jsonl line for `h`, lets `edit` change it, re-encodes.
fn edit_block(lines: &mut [String], h: u64, edit: impl FnOnce(&mut Block)) {
    let (i, mut v) = line_at(lines, h);
    let bytes = hex::decode(v["block_hex"].as_str().unwrap()).unwrap();
    let mut block: Block = codec::decode(&bytes, MAX_MESSAGE_BYTES).unwrap();
    edit(&mut block);
    v["block_hex"] = json!(hex::encode(codec::encode(&block)));
    lines[i] = v.to_string();
}

#[test]
fn an_exported_package_verifies_and_every_tampering_is_found_at_its_height() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger();
    let (genesis, raw) = write_inputs(dir.path(), &chain(&ledger, 5, second_signers(), None));
    let pkg = dir.path().join("pkg");
    let out = export(&raw, &genesis, &pkg);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("AUDIT PASSED"), "{t}");
    assert!(t.contains("blocks        9 (heights 1 to 9)"), "{t}");
    assert!(t.contains("transactions  10 (1 dropped"), "{t}");
    assert!(
        t.contains("epochs        2 (1 validator-set changes)"),
        "{t}"
    );
    // Block 9 certifies the state after block 6: its parent's certificate commits it
    // (two-chain rule, consecutive rounds; EXECUTION_LAG: one block later).
    assert!(t.contains("after height 6, certified by block 9"), "{t}");
    assert!(
        t.contains(&ledger.commits[6].state_root.to_string()),
        "the certified root is the independent execution's: {t}"
    );
    for f in [
        "genesis.json",
        "blocks.jsonl",
        "certificates.jsonl",
        "transactions.jsonl",
        "transactions.csv",
        "receipts.jsonl",
        "receipts.csv",
        "manifest.json",
        "README.txt",
    ] {
        assert!(pkg.join(f).is_file(), "{f} missing");
    }
    let names: Vec<_> = std::fs::read_dir(&pkg).unwrap().collect();
    assert_eq!(names.len(), 9, "no staging folder left behind");
    let receipts = std::fs::read_to_string(pkg.join("receipts.jsonl")).unwrap();
    assert!(receipts.contains(r#""status":"refused""#), "{receipts}");
    assert!(receipts.contains("receivable_transferred"), "{receipts}");
    assert!(receipts.contains(r#""status":"ledger""#), "{receipts}");
    assert!(receipts.contains("validator_set_changed"), "{receipts}");
    let blocks = std::fs::read_to_string(pkg.join("blocks.jsonl")).unwrap();
    assert_eq!(blocks.lines().count(), 9);
    assert!(blocks
        .lines()
        .nth(6)
        .unwrap()
        .contains("dropped_tx_hashes\":[\""));
    let certs = std::fs::read_to_string(pkg.join("certificates.jsonl")).unwrap();
    assert!(certs.lines().nth(4).unwrap().contains("\"epoch_end\":true"));

    let ok = verify(&pkg, &genesis);
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(text(&ok).contains("AUDIT PASSED"));

    // A transaction changed in transactions.jsonl.
    let bad = dir.path().join("tx");
    tampered(&pkg, &bad, "transactions.jsonl", |l| {
        let (i, mut v) = line_at(l, 7);
        v["nonce"] = json!(v["nonce"].as_u64().unwrap() + 1);
        l[i] = v.to_string();
    });
    fails_at(
        &verify(&bad, &genesis),
        7,
        "transactions.jsonl line 9 field nonce",
    );

    // A transaction changed inside a block's payload: the certificate commits another block.
    let bad = dir.path().join("payload");
    tampered(&pkg, &bad, "blocks.jsonl", |l| {
        edit_block(l, 4, |b| {
            let mut txs: Vec<SignedTransaction> =
                codec::decode(&b.payload, MAX_MESSAGE_BYTES).unwrap();
            txs[0].tx.nonce += 1;
            b.payload = codec::encode(&txs);
        })
    });
    fails_at(&verify(&bad, &genesis), 4, "commits another block");

    // A certified root changed in a block.
    let bad = dir.path().join("root");
    tampered(&pkg, &bad, "blocks.jsonl", |l| {
        edit_block(l, 8, |b| b.executed.state_root = Hash([1; 32]))
    });
    fails_at(&verify(&bad, &genesis), 8, "commits another block");

    // A block left out, in the middle and at the end.
    let bad = dir.path().join("gap");
    tampered(&pkg, &bad, "blocks.jsonl", |l| {
        l.remove(5);
    });
    fails_at(&verify(&bad, &genesis), 6, "block 6 is missing");
    let bad = dir.path().join("short");
    tampered(&pkg, &bad, "blocks.jsonl", |l| {
        l.pop();
    });
    fails_at(&verify(&bad, &genesis), 9, "certificates.jsonl line 9");

    // A derived field of blocks.jsonl, and a CSV cell.
    let bad = dir.path().join("field");
    tampered(&pkg, &bad, "blocks.jsonl", |l| {
        let (i, mut v) = line_at(l, 3);
        v["state_root"] = json!(Hash([2; 32]));
        l[i] = v.to_string();
    });
    fails_at(&verify(&bad, &genesis), 3, "field state_root");
    let bad = dir.path().join("csv");
    tampered(&pkg, &bad, "receipts.csv", |l| {
        l[1] = l[1].replace(",ok,", ",refused,");
    });
    fails_at(&verify(&bad, &genesis), 1, "receipts.csv record 2 column 5");

    // The reconfiguration block hands over to another set than the ledger decided
    // (CORE-B's validator removed instead of LOGI's), the chain re-signed from there on
    // (block 4's certificate commits block 5) by the sets it names: consensus certifies
    // it, only the ledger check finds it.
    let wrong = dir.path().join("wrong-set");
    std::fs::create_dir_all(&wrong).unwrap();
    let resigned = chain(&ledger, 5, cast_signers_without(Some("CORE-B")), None);
    let (_, wrong_raw) = write_inputs(&wrong, &resigned);
    let bad = dir.path().join("set");
    tampered(&pkg, &bad, "blocks.jsonl", |l| {
        for (b, c) in &resigned {
            let (i, mut v) = line_at(l, b.height);
            let same = v["block_hex"] == json!(hex::encode(codec::encode(b)));
            assert_eq!(
                same,
                b.height < 5,
                "only blocks 5 on differ (block {})",
                b.height
            );
            v["block_hex"] = json!(hex::encode(codec::encode(b)));
            v["certificate_hex"] = json!(hex::encode(codec::encode(c)));
            l[i] = v.to_string();
        }
    });
    fails_at(
        &verify(&bad, &genesis),
        5,
        "block 5 changes the validator set to another set than the ledger decided",
    );
    let out = export(&wrong_raw, &genesis, &wrong.join("pkg"));
    fails_at(&out, 5, "another set than the ledger decided");

    // Another genesis than the package's.
    let mut other = testkit::genesis(Params::default());
    other.genesis_time_ms += 1;
    let other_path = dir.path().join("other-genesis.json");
    std::fs::write(&other_path, serde_json::to_string(&other).unwrap()).unwrap();
    let out = verify(&pkg, &other_path);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("is not the genesis in"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_root_certified_by_a_lying_quorum_is_found_by_re_execution() {
    let dir = tempfile::tempdir().unwrap();
    // Validly signed throughout, but the state after block 3 is certified wrongly (by
    // block 6: its parent's certificate commits block 3, EXECUTION_LAG).
    let (genesis, raw) = write_inputs(dir.path(), &chain(&ledger(), 0, second_signers(), Some(3)));
    let out = export(&raw, &genesis, &dir.path().join("pkg"));
    fails_at(&out, 6, "block 6 certifies state root");
    assert!(text(&out).contains("after height 3"), "{}", text(&out));
    assert!(
        !dir.path().join("pkg").join("blocks.jsonl").exists(),
        "no package is left for a chain that fails"
    );

    // The same blocks as a bare package: the offline audit finds the same.
    let pkg = dir.path().join("bare");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::copy(&genesis, pkg.join("genesis.json")).unwrap();
    std::fs::copy(&raw, pkg.join("blocks.jsonl")).unwrap();
    fails_at(&verify(&pkg, &genesis), 6, "re-execution gives");
}

#[test]
fn audit_and_verify_say_when_they_cannot_check() {
    let dir = tempfile::tempdir().unwrap();
    let (genesis, _) = write_inputs(dir.path(), &[]);
    // No node there: exit 2, not a finding about the chain.
    let g = genesis.to_string_lossy();
    let no_node = [
        "--node",
        "http://127.0.0.1:9",
        "--token",
        "t",
        "--genesis",
        &g,
    ];
    for verb in [&["audit", "chain"][..], &["verify", "block", "1"][..]] {
        let args: Vec<&OsStr> = verb.iter().chain(&no_node).map(OsStr::new).collect();
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{verb:?}: {}", text(&out));
    }
    // A package folder without blocks is a failed audit; a trusted genesis file that
    // cannot be read is an error.
    let out = verify(dir.path(), &genesis);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("blocks.jsonl is missing"));
    std::fs::write(dir.path().join("blocks.jsonl"), "").unwrap();
    let out = verify(dir.path(), &dir.path().join("nope.json"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn a_certificate_carried_from_a_descendant_proves_a_block_only_with_that_descendant() {
    let dir = tempfile::tempdir().unwrap();
    let mut blocks = chain(&ledger(), 5, second_signers(), None);
    // Block 8 finalized together with block 9 by the certificate committing block 9.
    blocks[7].1 = blocks[8].1.clone();
    let (genesis, raw) = write_inputs(dir.path(), &blocks);
    let out = export(&raw, &genesis, &dir.path().join("pkg"));
    assert!(out.status.success(), "{}", text(&out));
    let certs = std::fs::read_to_string(dir.path().join("pkg/certificates.jsonl")).unwrap();
    assert!(certs.lines().nth(7).unwrap().contains("\"direct\":false"));

    let (_, raw) = write_inputs(dir.path(), &blocks[..8]);
    let out = export(&raw, &genesis, &dir.path().join("cut"));
    fails_at(&out, 8, "1 trailing blocks are not yet proven");
}
