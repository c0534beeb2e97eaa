//! Validator-set changes on real processes (`lianrong testnet --spares`, the
//! `lianrong governance` verbs, nodes as separate processes):
//!
//! - the main scenario: 4 validators and a spare; the validator orgs add the spare as a
//!   fifth validator, then remove one of the original four. After each change the epoch
//!   switches on every node, the chain keeps finalizing with the new set (the joined node
//!   leads blocks and its vote is needed; the removed node keeps following as a full
//!   node, also across restarts), and the SDK proves, from the genesis file alone, the
//!   three validator sets, a block of the newest epoch and a receivable created after the
//!   second change; `lianrong audit chain` passes across both changes; and the explorer,
//!   with genesis.json pinned, has headless Chromium (skipped without chromedriver unless
//!   `CI` is set) verify a block of epoch 2 and one of epoch 1 in the page, chaining the
//!   validator sets from genesis itself;
//! - a node no config names joins through governance alone (admitted from the ledger);
//! - two validators added at once (one block or two in a row decide the two changes);
//! - validators restarted between the block deciding a change and the switch.
//!
//! Everywhere, the newest epoch's consensus set must be the ledger's validator set.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::time::{Duration, Instant};

use fantoccini::wd::TimeoutConfiguration;
use fantoccini::Locator;
use lianrong_contracts::model::{DocId, Receivable};
use lianrong_contracts::{Action, DocKind, SignedTransaction};
use lianrong_explorer::{AccountRole, ExplorerConfig};
use lianrong_primitives::{sha256, PublicKey};
use lianrong_sdk::{
    validator_set, verify_block, verify_document, verify_epochs, Auth, Client, TrustRoot,
};
use lianrong_tests::browser::{
    account, chromedriver_available, click_verify, connect, login, open_until, serve_explorer,
    shot, Chromedriver, PageVerdict, Shows,
};
use lianrong_tests::{sign, wait_until, Cluster, Spare};
use serde_json::Value;

/// How long a condition around a reconfiguration may take to show.
const WAIT: Duration = Duration::from_secs(90);

/// Node indexes in the cluster (the spare is listed after the four validators).
const BANK: usize = 0;
const CORE_A: usize = 1;
const CORE_B: usize = 2;
const LOGISTICS: usize = 3;

/// The first event named `name` of a committed transaction (`{hash, height, events}`).
fn event<'v>(committed: &'v Value, name: &str) -> &'v Value {
    committed["events"]
        .as_array()
        .and_then(|evs| evs.iter().find_map(|e| e.get(name)))
        .unwrap_or_else(|| panic!("no {name} event in {committed}"))
}

fn has_event(committed: &Value, name: &str) -> bool {
    committed["events"]
        .as_array()
        .is_some_and(|evs| evs.iter().any(|e| e.get(name).is_some()))
}

/// A client verb that must commit, as `org` on node `i`.
fn write(c: &Cluster, i: usize, org: &str, args: &[&str]) -> Value {
    let v = c.cli(i, org, args).ok().clone();
    assert!(v["height"].as_u64().is_some(), "{args:?}: {v}");
    v
}

/// `governance propose` as `org` on node `i`, `change` its arguments (`add-validator ...`
/// or `remove-validator ...`): the committed transaction and the proposal it opened.
fn propose(c: &Cluster, i: usize, org: &str, change: &[&str]) -> (Value, String) {
    let proposed = write(c, i, org, &[&["governance", "propose"], change].concat());
    let id = event(&proposed, "proposal_opened")["proposal"]
        .as_str()
        .unwrap()
        .to_string();
    (proposed, id)
}

/// CORE-A proposes `spare` as a validator, run by the org meant for it.
fn propose_adding(c: &Cluster, spare: &Spare) -> (Value, String) {
    propose(
        c,
        CORE_A,
        "CORE-A",
        &[
            "add-validator",
            "--org",
            &spare.org,
            "--node-key",
            &spare.node_key,
            "--address",
            &spare.address,
        ],
    )
}

/// `governance approve` of `proposal` as `org` on node `i` (it must commit).
fn approve(c: &Cluster, i: usize, org: &str, proposal: &str) -> Value {
    write(c, i, org, &["governance", "approve", proposal])
}

/// `org`'s approvals of `proposals`, signed here with consecutive nonces from its next one
/// as node `i` knows it (to be submitted other than through the CLI).
fn signed_approvals(
    c: &Cluster,
    i: usize,
    org: &str,
    proposals: &[String],
) -> Vec<SignedTransaction> {
    let key = c.member_key(org);
    let nonce = c
        .get(i, &format!("/v1/keys/{}", key.public()), org)
        .unwrap()["next_nonce"]
        .as_u64()
        .unwrap();
    proposals
        .iter()
        .zip(nonce..)
        .map(|(id, n)| {
            sign(
                &c.chain_id,
                org,
                &key,
                n,
                Action::Approve {
                    proposal: DocId::new(id).unwrap(),
                },
            )
        })
        .collect()
}

/// With core-b frozen, the nodes `live` finalize three more blocks (so the validators
/// among them are a quorum and each of them votes); then core-b resumes and the nodes
/// `all` catch up.
fn finalizes_without_core_b(c: &Cluster, live: &[usize], all: &[usize]) {
    c.nodes[CORE_B].pause();
    c.wait_nodes_height(live, top(c, live) + 3, WAIT);
    c.nodes[CORE_B].resume();
    c.wait_nodes_height(all, top(c, live), WAIT);
}

fn tax_id(genesis: &Value, org: &str) -> String {
    genesis["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == org)
        .and_then(|o| o["tax_id"].as_str())
        .unwrap_or_else(|| panic!("{org} is not in genesis"))
        .to_string()
}

/// Trade through the CLI (CORE-A orders from SUP-1, SUP-1 accepts, LOGI ships and
/// delivers, CORE-A registers and confirms the invoice), each org on the node given;
/// returns the receivable the confirmation issued and the block it was committed in.
fn trade_to_receivable(
    c: &Cluster,
    genesis: &Value,
    tag: &str,
    nodes: [usize; 3],
) -> (String, u64) {
    let [core_a, sup_1, logi] = nodes;
    let order = format!("PO-{tag}");
    let hash = |what: &str| sha256(format!("{what} of {tag}").as_bytes()).to_hex();
    let issued = write(
        c,
        core_a,
        "CORE-A",
        &[
            "order",
            "create",
            "--id",
            &order,
            "--seller",
            "SUP-1",
            "--amount",
            "250000.00",
            "--carrier",
            "LOGI",
            "--doc-hash",
            &hash("order"),
        ],
    );
    assert_eq!(event(&issued, "order_issued")["order"], order.as_str());
    write(c, sup_1, "SUP-1", &["order", "accept", &order]);
    let shipment = format!("SHP-{tag}");
    write(
        c,
        logi,
        "LOGI",
        &[
            "shipment",
            "attest",
            "--id",
            &shipment,
            "--order",
            &order,
            "--value",
            "250000.00",
            "--doc-hash",
            &hash("bill of lading"),
        ],
    );
    write(c, logi, "LOGI", &["shipment", "deliver", &shipment]);
    let (today, due) = (c.business_date(0), c.business_date(60));
    let confirmed = write(
        c,
        core_a,
        "CORE-A",
        &[
            "invoice",
            "register",
            "--id",
            &format!("INV-{tag}"),
            "--order",
            &order,
            "--number",
            &format!("SUP1-{tag}"),
            "--issue-date",
            &today.to_string(),
            "--due-date",
            &due.to_string(),
            "--amount",
            "250000.00",
            "--seller-tax-id",
            &tax_id(genesis, "SUP-1"),
            "--buyer-tax-id",
            &tax_id(genesis, "CORE-A"),
            "--doc-hash",
            &hash("invoice"),
            "--confirm",
        ],
    );
    let rcv = event(&confirmed, "receivable_issued")["receivable"]
        .as_str()
        .unwrap_or_else(|| panic!("no receivable id in {confirmed}"))
        .to_string();
    (rcv, confirmed["height"].as_u64().unwrap())
}

fn validator_keys(status: &Value) -> Vec<String> {
    status["validators"]
        .as_array()
        .map(|vs| {
            vs.iter()
                .map(|v| v["node_key"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn epoch_changes(c: &Cluster, i: usize) -> usize {
    c.get(i, "/v1/epochs", "AUDIT")
        .ok()
        .and_then(|e| e["changes"].as_array().map(Vec::len))
        .unwrap_or(0)
}

/// Polls every node in `which` until its `state` is `done`; after [`WAIT`] fails with
/// `what`, each node's state as `show` says it, its height and the tail of its log.
fn wait_nodes<T>(
    c: &Cluster,
    which: &[usize],
    what: &str,
    state: impl Fn(usize) -> T,
    done: impl Fn(&T) -> bool,
    show: impl Fn(&T) -> String,
) {
    let deadline = Instant::now() + WAIT;
    loop {
        let now: Vec<T> = which.iter().map(|i| state(*i)).collect();
        if now.iter().all(&done) {
            return;
        }
        if Instant::now() > deadline {
            let report: Vec<String> = which
                .iter()
                .zip(&now)
                .map(|(i, s)| format!("{}: {}, height {}", c.nodes[*i].name, show(s), c.height(*i)))
                .collect();
            let logs: Vec<String> = which
                .iter()
                .map(|i| format!("--- {}:\n{}", c.nodes[*i].name, c.nodes[*i].log_tail(30)))
                .collect();
            panic!("{what}:\n{}\n{}", report.join("\n"), logs.join("\n"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until every node in `which` records `validators` validators and lists
/// `changes` epoch changes.
fn wait_epoch(c: &Cluster, which: &[usize], validators: usize, changes: usize) {
    wait_nodes(
        c,
        which,
        &format!("epoch change {changes} ({validators} validators) not reached"),
        |i| (validator_keys(&c.status(i)).len(), epoch_changes(c, i)),
        |now| *now == (validators, changes),
        |(v, n)| format!("{v} validators, {n} epoch changes"),
    );
}

/// Says how long `what` took since `started` (on stderr, for the test's log).
fn took(what: &str, started: Instant) {
    eprintln!("{what} took {:.1} s", started.elapsed().as_secs_f64());
}

fn top(c: &Cluster, which: &[usize]) -> u64 {
    which.iter().map(|i| c.height(*i)).max().unwrap()
}

/// The trust root of the cluster's genesis file.
fn genesis_root(c: &Cluster) -> TrustRoot {
    TrustRoot::from_genesis_file(&c.genesis_file()).unwrap()
}

/// A runtime for the SDK's calls.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// An SDK client of node `i`, as the auditor.
fn auditor(c: &Cluster, i: usize) -> Client {
    Client::new(&c.nodes[i].api, Auth::Token(c.token("AUDIT"))).unwrap()
}

/// Per node: (validators its ledger records, validators of the newest epoch it proves
/// from the genesis file, whether the two sets are equal, epoch changes).
fn sets_of(c: &Cluster, i: usize) -> (usize, usize, bool, usize) {
    let root = genesis_root(c);
    runtime().block_on(async {
        let client = auditor(c, i);
        let changes = client.epochs().await.unwrap().changes;
        let sets = verify_epochs(&root, &changes).unwrap();
        let ledger = validator_set(&client.status().await.unwrap().validators).unwrap();
        let newest = sets.last().unwrap();
        (ledger.len(), newest.len(), *newest == ledger, changes.len())
    })
}

/// Waits until every node in `which` records `validators` validators in its ledger and
/// the newest epoch it proves has exactly that set: governance and consensus agree on who
/// validates.
fn wait_consensus_follows_ledger(c: &Cluster, which: &[usize], validators: usize) {
    wait_nodes(
        c,
        which,
        &format!("consensus did not follow the ledger's {validators} validators"),
        |i| sets_of(c, i),
        |(l, _, same, _)| *l == validators && *same,
        |(l, e, same, n)| {
            format!(
                "ledger {l} validators, newest of {n} epoch changes {e} ({})",
                if *same { "same set" } else { "another set" }
            )
        },
    );
}

/// Waits until node `i` has finalized a block of `epoch` proposed by validator `index`
/// of that epoch's set, scanning from height `from`.
fn wait_block_led_by(c: &Cluster, i: usize, epoch: u64, index: u64, from: u64) -> u64 {
    let mut next = from;
    let mut found = None;
    wait_until(
        &format!("a block of epoch {epoch} led by validator {index}"),
        WAIT,
        || {
            while found.is_none() && next <= c.height(i) {
                let b = c.get(i, &format!("/v1/blocks/{next}"), "AUDIT").unwrap();
                if b["epoch"] == epoch && b["proposer"] == index {
                    found = Some(next);
                }
                next += 1;
            }
            found.is_some()
        },
    );
    found.unwrap()
}

/// What the explorer's page of a block showed after a click on its verify button: the
/// verdict, and the note on where the trust root came from and how many validator-set
/// changes the browser verified from it.
struct BlockPage {
    verdict: PageVerdict,
    note: String,
}

/// The explorer, reading node `i` with the cluster's genesis.json pinned, and headless
/// Chromium logged in as its auditor: opens the page of each block of `heights` (polled
/// until the explorer shows it), clicks "Verify block" and reads what the page says
/// (screenshots: `target/explorer-screenshots/reconfiguration-block-{height}.png`).
fn browser_verifies_blocks(c: &Cluster, i: usize, heights: &[u64]) -> Vec<BlockPage> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut cfg = ExplorerConfig::new(&c.nodes[i].api, c.token("AUDIT"));
    cfg.genesis = Some(c.genesis_file());
    cfg.accounts = vec![account(
        "auditor",
        "audit-pw",
        AccountRole::Auditor,
        "AUDIT",
    )];
    let driver = Chromedriver::start();
    rt.block_on(async {
        let explorer = serve_explorer(cfg).await;
        let timeouts = TimeoutConfiguration::new(
            Some(Duration::from_secs(60)),
            Some(Duration::from_secs(60)),
            Some(Duration::ZERO),
        );
        let b = connect(&driver, timeouts).await;
        login(&b, &explorer.base, "auditor", "audit-pw").await;
        let mut pages = Vec::new();
        for h in heights {
            let url = format!("{}/blocks/{h}", explorer.base);
            open_until(&b, &url, Shows::Element("verify-block")).await;
            let verdict = click_verify(&b, "verify-block").await;
            let note = b
                .find(Locator::Css("#verify-result p.muted"))
                .await
                .unwrap_or_else(|e| panic!("no trust-root note on block {h}'s page: {e}"))
                .text()
                .await
                .unwrap();
            shot(&b, &format!("reconfiguration-block-{h}")).await;
            pages.push(BlockPage { verdict, note });
        }
        b.close().await.unwrap();
        explorer.stop().await.unwrap();
        pages
    })
}

#[test]
fn a_spare_joins_as_validator_and_an_original_validator_leaves() {
    let started = Instant::now();
    let (mut c, spares) = Cluster::start_with_spares(4, 1);
    let spare = spares[0].clone();
    let s = spare.index;
    assert_eq!((s, c.nodes[s].name.as_str()), (4, "spare-1"));
    assert_eq!(
        spare.org, "BANK-B",
        "the spare is run by a bank without validators"
    );
    let all = [BANK, CORE_A, CORE_B, LOGISTICS, s];
    let genesis = c.genesis();

    // ---- 0. The spare is no validator but follows the chain as a full node.
    let keys = validator_keys(&c.status(BANK));
    assert_eq!(keys.len(), 4);
    assert!(!keys.contains(&spare.node_key));
    c.wait_nodes_height(&all, top(&c, &all[..4]) + 2, WAIT);

    // ---- 1. Business before any change.
    let (rcv_before, _) = trade_to_receivable(&c, &genesis, "E0", [CORE_A, CORE_B, LOGISTICS]);

    // ---- 2. CORE-A proposes the spare (run by BANK-B) as a fifth validator; two more of
    // the four validator orgs approve (quorum 3 of 4).
    let logistics_key = keys[LOGISTICS].clone();
    let (proposed, add) = propose_adding(&c, &spare);
    assert!(!has_event(&proposed, "proposal_executed"), "{proposed}");
    // Not a validator org: refused by the ledger, with one line on stderr.
    let refused = c.cli(CORE_A, "SUP-1", &["governance", "approve", &add]);
    assert!(
        refused.refused().contains("(not_validator_org)"),
        "{}",
        refused.stderr
    );
    let approved = approve(&c, BANK, "BANK-A", &add);
    let e = event(&approved, "proposal_approved");
    assert_eq!(
        (e["approvals"].as_u64(), e["needed"].as_u64()),
        (Some(2), Some(3)),
        "{e}"
    );
    assert!(!has_event(&approved, "proposal_executed"));
    let executed = approve(&c, CORE_B, "CORE-B", &add);
    assert_eq!(
        event(&executed, "proposal_executed")["proposal"],
        add.as_str()
    );
    let set = event(&executed, "validator_set_changed")["validators"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(set.len(), 5, "{executed}");
    assert_eq!(set[4]["node_key"], spare.node_key.as_str());
    assert_eq!(set[4]["address"], spare.address.as_str());
    let late = c.cli(LOGISTICS, "LOGI", &["governance", "approve", &add]);
    assert!(late.refused().contains("(wrong_status)"), "{}", late.stderr);

    // ---- 3. The epoch switches everywhere, the spare included, and the chain goes on
    // with five validators.
    wait_epoch(&c, &all, 5, 1);
    let epochs = c.get(BANK, "/v1/epochs", "AUDIT").unwrap();
    let switch1 = epochs["changes"][0]["header"]["height"].as_u64().unwrap();
    assert!(switch1 >= executed["height"].as_u64().unwrap(), "{epochs}");
    let after_add = top(&c, &all);
    c.wait_nodes_height(&all, after_add + 5, WAIT);
    // The joined validator leads blocks of epoch 1 (index 4 of the new set)...
    let led = wait_block_led_by(&c, BANK, 1, 4, switch1 + 1);
    eprintln!("epoch 1 began after block {switch1}; the joined validator led block {led}");
    // ... and its vote is needed: with core-b frozen, four of the five (the quorum) are
    // left only if the joined validator votes.
    finalizes_without_core_b(&c, &[BANK, CORE_A, LOGISTICS, s], &all);

    // ---- 4. BANK-A proposes removing the logistics validator; with five validator orgs
    // the quorum is 4, and BANK-B (the new one) approves through its own node.
    let (_, remove) = propose(
        &c,
        BANK,
        "BANK-A",
        &["remove-validator", "--node-key", &logistics_key],
    );
    assert_ne!(remove, add);
    let approved = approve(&c, CORE_A, "CORE-A", &remove);
    let e = event(&approved, "proposal_approved");
    assert_eq!(
        (e["approvals"].as_u64(), e["needed"].as_u64()),
        (Some(2), Some(4)),
        "{e}"
    );
    approve(&c, s, "BANK-B", &remove);
    let executed = approve(&c, CORE_B, "CORE-B", &remove);
    assert!(has_event(&executed, "proposal_executed"), "{executed}");
    let set = event(&executed, "validator_set_changed")["validators"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(set.len(), 4);
    assert!(set.iter().all(|v| v["node_key"] != logistics_key.as_str()));

    // ---- 5. The second switch: the remaining four go on, and the removed validator
    // (still running) follows as a full node.
    wait_epoch(&c, &all, 4, 2);
    let remaining = [BANK, CORE_A, CORE_B, s];
    let after_remove = top(&c, &remaining);
    c.wait_nodes_height(&remaining, after_remove + 5, WAIT);
    c.wait_nodes_height(&[LOGISTICS], after_remove + 5, WAIT);
    let keys = validator_keys(&c.status(LOGISTICS));
    assert!(
        !keys.contains(&logistics_key) && keys.contains(&spare.node_key),
        "{keys:?}"
    );
    // Restarts resume in the right epoch: the removed validator (now a follower), then
    // the joined one (a validator: the other three are a quorum meanwhile).
    let three = [BANK, CORE_A, CORE_B];
    for i in [LOGISTICS, s] {
        c.nodes[i].kill();
        c.wait_nodes_height(&three, top(&c, &three) + 2, WAIT);
        c.nodes[i].start();
        c.wait_up(i);
        c.wait_nodes_height(&[i], top(&c, &three) + 2, WAIT);
    }
    // The restarted validator votes again: with core-b frozen, the quorum (3 of 4) is
    // left only if it does.
    finalizes_without_core_b(&c, &[BANK, CORE_A, s], &all);

    // ---- 6. Business after both changes: LOGI still ships through its own (now full)
    // node, SUP-1 works through the joined validator.
    let (rcv_after, rcv_height) = trade_to_receivable(&c, &genesis, "E2", [CORE_A, s, LOGISTICS]);
    assert_ne!(rcv_after, rcv_before);

    // ---- 7. Proven from the genesis file alone, on a validator, the joined validator and
    // the removed one.
    let root = genesis_root(&c);
    let rt = runtime();
    for i in [BANK, s, LOGISTICS] {
        // A block certifies the state its parent's certificate committed (consensus's
        // EXECUTION_LAG), three heights below it in consecutive rounds.
        c.wait_nodes_height(&[i], rcv_height + 3, WAIT);
        rt.block_on(async {
            let client = auditor(&c, i);
            let name = &c.nodes[i].name;
            let changes = client.epochs().await.unwrap().changes;
            let sets = verify_epochs(&root, &changes)
                .unwrap_or_else(|e| panic!("{name}: epochs do not verify: {e}"));
            assert_eq!(sets.len(), 3, "{name}");
            assert_eq!(
                sets.iter().map(|s| s.len()).collect::<Vec<_>>(),
                [4, 5, 4],
                "{name}"
            );
            let joined = PublicKey::from_hex(&spare.node_key).unwrap();
            let left = PublicKey::from_hex(&logistics_key).unwrap();
            assert_eq!(sets[1].index_of(&joined), Some(4));
            assert!(sets[2].index_of(&joined).is_some() && sets[2].index_of(&left).is_none());
            let latest = client.latest_block().await.unwrap();
            assert_eq!(latest.epoch, 2, "{name}: block {}", latest.height);
            let v = verify_block(&latest, &root, &sets)
                .unwrap_or_else(|e| panic!("{name}: block {} does not verify: {e}", latest.height));
            assert_eq!(v.height, latest.height);
            // A wrong trust root proves nothing: epoch 0's set alone cannot check epoch 2.
            assert!(verify_block(&latest, &root, &sets[..1]).is_err());

            let mut proof = client.proof(DocKind::Receivable, &rcv_after).await.unwrap();
            let deadline = Instant::now() + WAIT;
            while proof.height < rcv_height {
                assert!(
                    Instant::now() < deadline,
                    "{name}: no proof covers {rcv_height}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
                proof = client.proof(DocKind::Receivable, &rcv_after).await.unwrap();
            }
            assert_eq!(proof.header.epoch, 2, "{name}");
            let doc = verify_document(&proof, DocKind::Receivable, &rcv_after, &root)
                .unwrap_or_else(|e| panic!("{name}: {rcv_after} does not verify: {e}"));
            let value = doc.value.expect("the receivable is present");
            let r: Receivable = lianrong_primitives::codec::decode_stored(&value, 1 << 20).unwrap();
            assert_eq!(r.id.as_str(), rcv_after);
            assert_eq!(r.holder.as_str(), "SUP-1");
            assert_eq!(r.debtor.as_str(), "CORE-A");
        });
    }
    wait_consensus_follows_ledger(&c, &all, 4);
    assert!(all.iter().all(|i| epoch_changes(&c, *i) == 2));

    // ---- 8. The auditor's replay: every certificate across both epoch changes, every
    // block re-executed, every certified root compared, each set change the ledger's.
    let genesis_file = c.genesis_file();
    let audit = lianrong_tests::run_cli(&[
        "audit",
        "chain",
        "--node",
        &c.nodes[BANK].api,
        "--genesis",
        genesis_file.to_str().unwrap(),
        "--token",
        &c.token("AUDIT"),
        "--json",
    ]);
    assert!(
        audit.status.success(),
        "audit chain failed: {}{}",
        audit.stdout,
        audit.stderr
    );
    assert_eq!(audit.json["passed"], true, "{}", audit.stdout);
    assert_eq!(
        audit.json["summary"]["validator_set_changes"], 2,
        "{}",
        audit.stdout
    );

    // ---- 9. The browser checks it too: the explorer reads the bank's node with
    // genesis.json pinned, and the page's verifier chains the validator sets from genesis
    // itself -- through both changes for the newest block (of epoch 2), through the first
    // for the first block of epoch 1.
    let switch2 = c.get(BANK, "/v1/epochs", "AUDIT").unwrap()["changes"][1]["header"]["height"]
        .as_u64()
        .unwrap();
    if chromedriver_available() {
        let browsing = Instant::now();
        let latest = c.height(BANK);
        let first_of_1 = switch1 + 1;
        for (h, epoch) in [(latest, 2), (first_of_1, 1)] {
            let b = c.get(BANK, &format!("/v1/blocks/{h}"), "AUDIT").unwrap();
            assert_eq!(b["epoch"], epoch, "block {h}");
        }
        let pages = browser_verifies_blocks(&c, BANK, &[latest, first_of_1]);
        for (page, h, changes) in [(&pages[0], latest, 2), (&pages[1], first_of_1, 1)] {
            let v = &page.verdict;
            assert!(
                v.result == "valid"
                    && v.title == format!("VALID -- block {h} is final")
                    && v.failed.is_empty(),
                "block {h}: the page said {v:?}"
            );
            assert_eq!(
                page.note,
                format!(
                    "Trust root: chain {}, 4 genesis validators from the genesis.json pinned \
                     in the explorer config; {changes} validator-set changes verified from \
                     genesis in this browser.",
                    c.chain_id
                ),
                "block {h}"
            );
        }
        took("the browser part", browsing);
    }
    eprintln!(
        "reconfiguration scenario took {:.1} s (switches after blocks {switch1} and {switch2})",
        started.elapsed().as_secs_f64(),
    );
}

/// The operator's path without preparation: no validator's config names the new node
/// (it is refused until governance adds it), so it is let in, dialed and caught up from
/// genesis only because the ledger's validator set says so -- also after a restart of a
/// validator whose config still does not name it.
#[test]
fn a_node_no_config_names_joins_through_governance_alone() {
    let started = Instant::now();
    let (mut c, spares) = Cluster::write_with_spares(4, 1);
    let spare = spares[0].clone();
    let s = spare.index;
    for i in 0..4 {
        c.edit_config(i, |cfg| {
            let p2p = cfg.get_mut("p2p").and_then(|p| p.as_table_mut()).unwrap();
            p2p.insert("full_nodes".into(), toml::Value::Array(vec![]));
        });
    }
    c.start_all();
    let all = [BANK, CORE_A, CORE_B, LOGISTICS, s];
    let validators = [BANK, CORE_A, CORE_B, LOGISTICS];
    c.wait_nodes_height(&validators, 3, WAIT);
    // The validators refuse it: it is neither a validator nor a declared full node.
    wait_until("a validator refused the unknown node", WAIT, || {
        c.nodes[BANK].log().contains("refused a peer")
    });
    assert_eq!(
        c.height(s),
        0,
        "the unknown node synced before being admitted"
    );

    let (_, add) = propose_adding(&c, &spare);
    approve(&c, BANK, "BANK-A", &add);
    let executed = approve(&c, LOGISTICS, "LOGI", &add);
    assert!(has_event(&executed, "validator_set_changed"), "{executed}");

    // Admitted and dialed by the validators, it syncs from genesis through the switch.
    wait_epoch(&c, &all, 5, 1);
    c.wait_nodes_height(&all, top(&c, &validators) + 5, WAIT);
    // Its vote is needed with core-b frozen (quorum 4 of 5).
    let live = [BANK, CORE_A, LOGISTICS, s];
    finalizes_without_core_b(&c, &live, &all);

    // A validator restarted with a config that still does not name it lets it in from
    // the ledger's set, and the chain (which needs both with core-b frozen) goes on.
    c.nodes[BANK].kill();
    c.nodes[BANK].start();
    c.wait_up(BANK);
    wait_until(
        "the restarted bank node is connected to the joined one",
        WAIT,
        || {
            c.status(BANK)["peers"]
                .as_array()
                .is_some_and(|p| p.iter().any(|k| k == spare.node_key.as_str()))
        },
    );
    c.wait_nodes_height(&[BANK], top(&c, &all), WAIT);
    finalizes_without_core_b(&c, &live, &all);

    let root = genesis_root(&c);
    runtime().block_on(async {
        let client = auditor(&c, s);
        let sets = verify_epochs(&root, &client.epochs().await.unwrap().changes).unwrap();
        assert_eq!(sets.len(), 2);
        let latest = client.latest_block().await.unwrap();
        assert_eq!(latest.epoch, 1);
        verify_block(&latest, &root, &sets).unwrap();
    });
    wait_consensus_follows_ledger(&c, &all, 5);
    assert!(all.iter().all(|i| epoch_changes(&c, *i) == 1));
    took("unannounced join", started);
}

/// Two validators added at once: the approvals that apply both changes are submitted as
/// one batch to a full node, which gossips them together, so one block executes both or
/// two blocks in a row do (both happen; the run says which). In a row, the second change
/// is decided while the reconfiguration block of the first is already on its way, so it
/// is not in it. Either way the second change must not be lost: the ledger's final set
/// (six) must become an epoch's set, and both joined validators must vote.
#[test]
fn two_validators_added_at_once_both_join() {
    let started = Instant::now();
    let (c, spares) = Cluster::start_with_spares(4, 2);
    let (one, two) = (spares[0].clone(), spares[1].clone());
    let all = [BANK, CORE_A, CORE_B, LOGISTICS, one.index, two.index];
    let validators = [BANK, CORE_A, CORE_B, LOGISTICS];
    c.wait_nodes_height(&all, 3, WAIT);
    // spare-2 is run by a validator org (BANK-A), spare-1 by BANK-B: approving spare-2
    // first keeps the quorum at 3 of 4 orgs for both.
    assert_eq!((one.org.as_str(), two.org.as_str()), ("BANK-B", "BANK-A"));
    let mut proposals = Vec::new();
    for spare in [&two, &one] {
        let (_, id) = propose_adding(&c, spare);
        approve(&c, BANK, "BANK-A", &id);
        proposals.push(id);
    }
    // CORE-B's two approvals, signed here, submitted as one batch to spare-1 (a full node
    // that never proposes).
    let txs = signed_approvals(&c, CORE_B, "CORE-B", &proposals);
    let r = ureq::post(&format!("{}/v1/transactions/batch", c.nodes[one.index].api))
        .set("Authorization", &format!("Bearer {}", c.token("CORE-B")))
        .send_json(serde_json::json!({
            "txs": txs.iter().map(|t| hex::encode(t.encode())).collect::<Vec<_>>()
        }))
        .unwrap()
        .into_json::<Value>()
        .unwrap();
    assert!(
        r.as_array()
            .is_some_and(|a| a.iter().all(|x| x["status"] == "pending")),
        "{r}"
    );
    let mut committed = Vec::new();
    for t in &txs {
        let path = format!("/v1/transactions/{}", t.hash());
        let mut view = Value::Null;
        wait_until("an approval is committed", WAIT, || {
            view = c.get(BANK, &path, "AUDIT").unwrap_or(Value::Null);
            view["status"] == "committed"
        });
        committed.push(view);
    }
    let heights: Vec<u64> = committed
        .iter()
        .map(|v| v["height"].as_u64().unwrap())
        .collect();
    for v in &committed {
        let events = &v["receipt"]["outcome"]["Ok"];
        assert!(
            events
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e.get("validator_set_changed").is_some())),
            "{v}"
        );
    }
    eprintln!("the two approvals were committed at heights {heights:?}");

    // Both joined: six validators in the ledger and in the new epoch, everywhere.
    wait_consensus_follows_ledger(&c, &all, 6);
    c.wait_nodes_height(&all, top(&c, &validators) + 5, WAIT);
    // Both vote: with core-b frozen the other five are exactly the quorum (5 of 6).
    finalizes_without_core_b(&c, &[BANK, CORE_A, LOGISTICS, one.index, two.index], &all);
    took("two joins at once", started);
}

/// Two of four validators restart after the block deciding a change is final on them but
/// before the reconfiguration block carrying it is: their consensus engines come back
/// without the decided change (an engine keeps only its epoch), so their nodes must hand
/// it over again from the ledger -- or they never vote for the reconfiguration block, and
/// without their votes (2 of 4 are no quorum) the change never takes effect.
#[test]
fn validators_restarted_between_decision_and_switch_still_switch() {
    let started = Instant::now();
    let (mut c, spares) = Cluster::start_with_spares(4, 1);
    let spare = spares[0].clone();
    let s = spare.index;
    let all = [BANK, CORE_A, CORE_B, LOGISTICS, s];
    c.wait_nodes_height(&all, 3, WAIT);
    let (_, add) = propose_adding(&c, &spare);
    approve(&c, BANK, "BANK-A", &add);
    // CORE-B's approval decides the change; as soon as the bank and logistics nodes have
    // applied it, both are killed.
    let tx = signed_approvals(&c, CORE_B, "CORE-B", &[add]).remove(0);
    c.submit(CORE_B, &tx, "CORE-B", false).unwrap();
    let path = format!("/v1/transactions/{}", tx.hash());
    let applied = |i: usize| c.get(i, &path, "AUDIT").is_ok();
    let deadline = Instant::now() + WAIT;
    while !(applied(BANK) && applied(LOGISTICS)) {
        assert!(Instant::now() < deadline, "the approval was not committed");
        std::thread::sleep(Duration::from_millis(2));
    }
    c.nodes[BANK].kill();
    c.nodes[LOGISTICS].kill();
    let decided_at = c.get(CORE_A, &path, "AUDIT").unwrap()["height"]
        .as_u64()
        .unwrap();
    let switched_early = epoch_changes(&c, CORE_A) > 0;
    eprintln!(
        "decided at height {decided_at}; the switch {} before the two stopped",
        if switched_early {
            "happened"
        } else {
            "had not happened"
        }
    );
    c.nodes[BANK].start();
    c.nodes[LOGISTICS].start();
    c.wait_up(BANK);
    c.wait_up(LOGISTICS);
    wait_consensus_follows_ledger(&c, &all, 5);
    c.wait_nodes_height(&all, top(&c, &all) + 3, WAIT);
    took("restarts between decision and switch", started);
}
