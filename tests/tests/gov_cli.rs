//! Onboarding and key rotation from the command line, against a real 4-node `lianrong
//! testnet` (validator orgs BANK-A, CORE-A, CORE-B, LOGI; a change needs 3 of them):
//!
//! - a bank admits a new supplier with `lianrong gov propose admit-org` (its tax id, role,
//!   identifier and the public key the supplier generated with `lianrong keygen`); a bad
//!   tax id and a tax id another org holds are refused with a one-line reason; `gov list`
//!   shows the approvals so far and who is still missing as the validator orgs `gov
//!   approve`; a supplier may not approve and does not see the proposal; once executed
//!   the new org signs a transaction with its own key;
//! - `lianrong key rotate`: SUP-1 (no validator) rotates its key through its bank
//!   (`--via`); approving the old key's revocation before the new key is added is refused
//!   (SUP-1 could sign nothing); once both apply the new key signs and the old one is
//!   refused by the CLI and by the node.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use lianrong_contracts::model::DocId;
use lianrong_contracts::Action;
use lianrong_primitives::sha256;
use lianrong_tests::{run_cli, sign, Cluster};
use serde_json::Value;

/// Every verb talks to the first node: its commit is what the next read sees.
const NODE: usize = 0;

/// A valid unified social credit code no org of the testnet holds.
const NEW_TAX_ID: &str = "91440300MA5GYT9014";

/// A write that must commit, as `org`.
fn write(c: &Cluster, org: &str, args: &[&str]) -> Value {
    let v = c.cli(NODE, org, args).ok().clone();
    assert!(v["height"].as_u64().is_some(), "{args:?}: {v}");
    v
}

/// The first `name` event of a committed transaction.
fn event<'a>(committed: &'a Value, name: &str) -> &'a Value {
    committed["events"]
        .as_array()
        .and_then(|evs| evs.iter().find_map(|e| e.get(name)))
        .unwrap_or_else(|| panic!("no {name} event in {committed}"))
}

/// `gov list` (with `extra` flags) as `org`: the proposals by id.
fn listed(c: &Cluster, org: &str, extra: &[&str]) -> Vec<Value> {
    let args = [&["gov", "list"], extra].concat();
    c.cli(NODE, org, &args).ok().as_array().unwrap().clone()
}

fn find<'a>(list: &'a [Value], id: &str) -> Option<&'a Value> {
    list.iter().find(|p| p["proposal"]["id"] == id)
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Borrowed arguments.
fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// A client verb with an explicit key file (an org the testnet did not write keys for).
fn as_key(c: &Cluster, key: &std::path::Path, args: &[&str]) -> lianrong_tests::CliRun {
    let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    all.extend([
        "--node".into(),
        c.nodes[NODE].api.clone(),
        "--key".into(),
        key.to_string_lossy().into_owned(),
        // `keygen` writes no chain id into a key file (SUP-9's); rotation does.
        "--chain-id".into(),
        c.chain_id.clone(),
        "--json".into(),
    ]);
    run_cli(&all)
}

/// CORE-A orders from `seller` (an order the seller then accepts with its key).
fn order_to(c: &Cluster, id: &str, seller: &str) {
    let doc = sha256(id.as_bytes()).to_string();
    write(
        c,
        "CORE-A",
        &[
            "order",
            "create",
            "--id",
            id,
            "--seller",
            seller,
            "--amount",
            "1000.00",
            "--doc-hash",
            &doc,
        ],
    );
}

#[test]
fn a_bank_onboards_a_supplier_and_a_supplier_rotates_its_key_from_the_command_line() {
    let c = Cluster::start(4);
    c.wait_up(NODE);
    onboarding(&c);
    rotation(&c);
}

fn onboarding(c: &Cluster) {
    let key_file = c.dir.join("SUP-9.json");
    let keygen = run_cli(&["keygen", "--out", key_file.to_str().unwrap()]);
    assert!(keygen.status.success(), "{}", keygen.stderr);
    let public = keygen.stdout.trim().to_string();
    let admit = |tax_id: &str| -> Vec<String> {
        [
            "gov",
            "propose",
            "admit-org",
            "--id",
            "SUP-9",
            "--name",
            "Shenzhen-Widgets",
            "--tax-id",
            tax_id,
            "--role",
            "supplier",
            "--identifier",
            "GLN-6901234567892",
            "--member-key",
            &public,
        ]
        .map(String::from)
        .to_vec()
    };

    // Refused at the CLI edge (check character), and by the ledger (SUP-1 holds it).
    let bad = admit("91440300MA5GYT9015");
    let why = c.cli(NODE, "BANK-A", &args(&bad)).refused().to_string();
    assert!(
        why.contains("--tax-id") && why.contains("check character"),
        "{why}"
    );
    let taken = admit("9133 0000 MA25 UP10 60");
    let why = c.cli(NODE, "BANK-A", &args(&taken)).refused().to_string();
    assert!(why.contains("SUP-1"), "names the org holding it: {why}");

    let opened = write(c, "BANK-A", &args(&admit(NEW_TAX_ID)));
    let id = event(&opened, "proposal_opened")["proposal"]
        .as_str()
        .unwrap()
        .to_string();

    let open = listed(c, "CORE-A", &[]);
    let p = find(&open, &id).expect("CORE-A, a validator org, lists the open proposal");
    assert_eq!(p["state"], "open");
    assert_eq!(
        (p["approvals"].as_u64(), p["needed"].as_u64()),
        (Some(1), Some(3))
    );
    assert_eq!(names(&p["waiting_for"]), ["CORE-A", "CORE-B", "LOGI"]);
    assert_eq!(p["proposal"]["change"]["AdmitOrg"]["tax_id"], NEW_TAX_ID);
    // A supplier neither votes nor reads others' proposals.
    let why = c
        .cli(NODE, "SUP-2", &["gov", "approve", &id])
        .refused()
        .to_string();
    assert!(why.contains("validator"), "{why}");
    assert!(find(&listed(c, "SUP-2", &["--all"]), &id).is_none());

    write(c, "CORE-A", &["gov", "approve", &id]);
    let p = c.cli(NODE, "AUDIT", &["gov", "show", &id]).ok().clone();
    assert_eq!(p["approvals"], 2);
    assert_eq!(names(&p["waiting_for"]), ["CORE-B", "LOGI"]);
    let text = c.run_as(NODE, "BANK-A", &["gov", "list"]);
    assert!(text.status.success(), "{}", text.stderr);
    assert!(
        text.stdout.contains(&id)
            && text.stdout.contains("2/3")
            && text.stdout.contains("CORE-B,LOGI"),
        "the table shows the progress: {}",
        text.stdout
    );

    let applied = write(c, "LOGI", &["gov", "approve", &id]);
    assert_eq!(event(&applied, "org_admitted")["org"], "SUP-9");
    assert!(
        find(&listed(c, "BANK-A", &[]), &id).is_none(),
        "no longer open"
    );
    let all = listed(c, "BANK-A", &["--all"]);
    assert_eq!(find(&all, &id).unwrap()["state"], "executed");

    // The new supplier signs with its own key.
    order_to(c, "PO-9", "SUP-9");
    let accepted = as_key(c, &key_file, &["order", "accept", "PO-9"]);
    assert_eq!(event(accepted.ok(), "order_accepted")["order"], "PO-9");
}

fn rotation(c: &Cluster) {
    let new_key = c.dir.join("SUP-1-new.json");
    let out = new_key.to_str().unwrap();
    let why = c
        .cli(NODE, "SUP-1", &["key", "rotate", "--out", out])
        .refused()
        .to_string();
    assert!(
        why.contains("runs no validator") && why.contains("--via"),
        "{why}"
    );
    assert!(
        !new_key.exists(),
        "nothing written when nothing can be proposed"
    );

    let bank = c.key_file("BANK-A");
    let r = c
        .cli(
            NODE,
            "SUP-1",
            &[
                "key",
                "rotate",
                "--out",
                out,
                "--via",
                bank.to_str().unwrap(),
            ],
        )
        .ok()
        .clone();
    assert_eq!(r["org"], "SUP-1");
    assert_eq!(r["proposer"], "BANK-A");
    let add = r["add"]["proposal"]["id"].as_str().unwrap().to_string();
    let revoke = r["revoke"]["proposal"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        r["add"]["proposal"]["change"]["AddMemberKey"]["key"],
        r["new_key"]
    );

    // Revoking SUP-1's only key first would leave it unable to sign: refused here.
    let why = c
        .cli(NODE, "CORE-A", &["gov", "approve", &revoke])
        .refused()
        .to_string();
    assert!(
        why.contains("only active key") && why.contains(&add),
        "{why}"
    );

    for org in ["CORE-A", "LOGI"] {
        write(c, org, &["gov", "approve", &add]);
    }
    for org in ["CORE-A", "LOGI"] {
        write(c, org, &["gov", "approve", &revoke]);
    }
    let all = listed(c, "AUDIT", &["--all"]);
    for id in [&add, &revoke] {
        assert_eq!(find(&all, id).unwrap()["state"], "executed", "{id}");
    }

    // The new key signs; the old one is refused by the CLI and by the node itself.
    order_to(c, "PO-10", "SUP-1");
    let accepted = as_key(c, &new_key, &["order", "accept", "PO-10"]);
    assert_eq!(event(accepted.ok(), "order_accepted")["order"], "PO-10");
    order_to(c, "PO-11", "SUP-1");
    let why = c
        .cli(NODE, "SUP-1", &["order", "accept", "PO-11"])
        .refused()
        .to_string();
    assert!(why.contains("revoked"), "{why}");
    let old = c.member_key("SUP-1");
    let info = c
        .get(NODE, &format!("/v1/keys/{}", old.public()), "AUDIT")
        .unwrap();
    assert_eq!(info["active"], false);
    let tx = sign(
        &c.chain_id,
        "SUP-1",
        &old,
        info["next_nonce"].as_u64().unwrap(),
        Action::AcceptOrder {
            order: DocId::new("PO-11").unwrap(),
        },
    );
    let (code, body) = c.submit(NODE, &tx, "AUDIT", true).unwrap_err();
    assert!(code == 403 && body.contains("revoked"), "{code}: {body}");
}
