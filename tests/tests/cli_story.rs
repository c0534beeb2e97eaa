//! The demo's supply-chain finance story (lianrong/src/demo/story.rs) as an integration test
//! against a real 4-node `lianrong testnet`, driven through the `lianrong` client verbs
//! with `--json`: trade, CSV import with confirmation, duplicate invoice and double
//! financing refused, split, transfer to tier 2, two offers, disbursement of the exact
//! net, overdue after a clock jump, repayment to the current holders, `tx show` and
//! `receivable history`, and a secondary sale of part of a financing between banks.
//! Every amount, holder and status is read back from the ledger;
//! every refusal is a non-zero exit with a one-line reason on stderr.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::time::{Duration, Instant};

use lianrong_contracts::exec::business_date;
use lianrong_contracts::money::Amount;
use lianrong_primitives::sha256;
use lianrong_tests::{run_cli, wait_until, Cluster};
use serde_json::{json, Value};

/// One day of the ledger clock.
const DAY_MS: u64 = 86_400_000;
/// How long any awaited condition may take.
const WAIT: Duration = Duration::from_secs(20);

/// Each org talks to its own validator, as in the demo (and as it would in production).
fn node_of(org: &str) -> usize {
    match org {
        "SUP-1" | "BANK-A" | "AUDIT" => 0,
        "CORE-A" | "BANK-B" => 1,
        "CORE-B" | "SUP-3" => 2,
        "SUP-2" | "LOGI" => 3,
        other => panic!("no node for {other}"),
    }
}

/// Runs the client verbs and remembers the highest block a write was committed in, so a
/// read on another node first waits until that node has applied it.
struct Story<'a> {
    c: &'a Cluster,
    last: u64,
}

impl Story<'_> {
    /// A write that must commit; returns its `{hash, height, events}`.
    fn write(&mut self, org: &str, args: &[&str]) -> Value {
        self.caught_up(node_of(org));
        let out = self.c.cli(node_of(org), org, args);
        let v = out.ok().clone();
        let height = v["height"]
            .as_u64()
            .unwrap_or_else(|| panic!("{args:?}: no height in {v}"));
        assert!(
            v["hash"].as_str().is_some_and(|h| h.len() == 64),
            "{args:?}: {v}"
        );
        self.last = self.last.max(height);
        v
    }

    /// A command that must fail: non-zero exit, one line on stderr containing `reason`.
    fn refused(&mut self, org: &str, args: &[&str], reason: &str) -> String {
        self.caught_up(node_of(org));
        let out = self.c.cli(node_of(org), org, args);
        let line = out.refused().to_string();
        assert!(
            line.contains(reason),
            "{org} {args:?} refused, but not for {reason:?}: {line}"
        );
        // A refusal by the ledger is committed (and uses the nonce): "refused at height N".
        if let Some(h) = line
            .split("refused at height ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|h| h.parse::<u64>().ok())
        {
            self.last = self.last.max(h);
        }
        line
    }

    /// A read as `org` on its own node, once that node has every block written so far.
    fn read(&self, org: &str, args: &[&str]) -> Value {
        let i = node_of(org);
        self.caught_up(i);
        self.c.cli(i, org, args).ok().clone()
    }

    /// Waits until node `i` has every block written so far: an org acts on what its own
    /// node shows, as a user would, and a verb that reads first (an offer reads its
    /// financing) must not race the block another node just committed.
    fn caught_up(&self, i: usize) {
        wait_until(
            &format!("{} reaches block {}", self.c.nodes[i].name, self.last),
            WAIT,
            || self.c.height(i) >= self.last,
        );
    }
}

/// The first event named `name` in a committed transaction's events.
fn event<'v>(committed: &'v Value, name: &str) -> &'v Value {
    committed["events"]
        .as_array()
        .and_then(|evs| evs.iter().find_map(|e| e.get(name)))
        .unwrap_or_else(|| panic!("no {name} event in {committed}"))
}

/// Asserts a money object is `amount` CNY (compared as decimals: `0` equals `0.00`).
#[track_caller]
fn assert_cny(v: &Value, amount: &str) {
    assert_eq!(v["currency"], "CNY", "{v}");
    let got = v["amount"]
        .as_str()
        .unwrap_or_else(|| panic!("no amount in {v}"));
    assert_eq!(
        Amount::parse(got).unwrap(),
        Amount::parse(amount).unwrap(),
        "expected {amount} CNY, got {v}"
    );
}

/// Asserts a bare decimal string equals `amount`.
#[track_caller]
fn assert_dec(v: &Value, amount: &str) {
    let got = v.as_str().unwrap_or_else(|| panic!("not a decimal: {v}"));
    assert_eq!(
        Amount::parse(got).unwrap(),
        Amount::parse(amount).unwrap(),
        "expected {amount}, got {got}"
    );
}

fn str_of(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_string()
}

fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Waits until every node has finalized a block stamped at or after `ms`.
fn wait_block_time(c: &Cluster, ms: u64) {
    wait_until(&format!("every node has a block at {ms} ms"), WAIT, || {
        (0..c.nodes.len()).all(|i| {
            c.get(i, "/v1/blocks/latest", "AUDIT")
                .ok()
                .and_then(|b| b["timestamp_ms"].as_u64())
                .is_some_and(|t| t >= ms)
        })
    });
}

/// A document kept off the ledger; the CLI puts its SHA-256 on it.
fn doc(c: &Cluster, name: &str, text: &str) -> (String, String) {
    let path = c.dir.join(name);
    std::fs::write(&path, text).unwrap();
    (
        path.to_string_lossy().into_owned(),
        sha256(text.as_bytes()).to_hex(),
    )
}

/// Order, acceptance, shipment and delivery through the CLI, each checked on the ledger.
fn trade(s: &mut Story, buyer: &str, seller: &str, order: &str, amount: &str) {
    let (po_doc, po_hash) = doc(
        s.c,
        &format!("{order}.pdf"),
        &format!("{order} purchase order"),
    );
    let issued = s.write(
        buyer,
        &[
            "order",
            "create",
            "--id",
            order,
            "--seller",
            seller,
            "--amount",
            amount,
            "--terms",
            "net 90, DAP Shenzhen",
            "--carrier",
            "LOGI",
            "--doc",
            &po_doc,
        ],
    );
    assert_eq!(event(&issued, "carrier_added")["carrier"], "LOGI");
    let e = event(&issued, "order_issued");
    assert_eq!(e["order"], order);
    assert_eq!(e["buyer"], buyer);
    assert_eq!(e["seller"], seller);
    assert_cny(&e["amount"], amount);
    let accepted = s.write(seller, &["order", "accept", order]);
    assert_eq!(event(&accepted, "order_accepted")["order"], order);

    let shipment = format!("SHP-{order}");
    let (bl_doc, bl_hash) = doc(
        s.c,
        &format!("{shipment}.pdf"),
        &format!("{order} bill of lading"),
    );
    let shipped = s.write(
        "LOGI",
        &[
            "shipment", "attest", "--id", &shipment, "--order", order, "--value", amount, "--doc",
            &bl_doc,
        ],
    );
    let e = event(&shipped, "shipment_attested");
    assert_eq!(
        (&e["shipment"], &e["order"], &e["carrier"]),
        (&json!(shipment), &json!(order), &json!("LOGI"))
    );
    assert_cny(&e["value"], amount);
    let delivered = s.write("LOGI", &["shipment", "deliver", &shipment]);
    assert_eq!(
        event(&delivered, "shipment_delivered")["shipment"],
        shipment.as_str()
    );

    let o = s.read(buyer, &["order", "show", order]);
    assert_eq!(o["status"], "accepted", "{o}");
    assert_eq!(o["buyer"], buyer);
    assert_eq!(o["seller"], seller);
    assert_cny(&o["amount"], amount);
    assert_eq!(
        o["doc_hash"],
        po_hash.as_str(),
        "the order commits to its document"
    );
    // The whole order was shipped and delivered, by the carrier it names.
    for field in ["shipped", "delivered"] {
        let v = o[field]
            .as_str()
            .unwrap_or_else(|| panic!("no {field} in {o}"));
        assert_eq!(Amount::parse(v).unwrap(), Amount::parse(amount).unwrap());
    }
    assert_eq!(o["carriers"], json!(["LOGI"]));
    assert_eq!(o["shipments"], json!([shipment]));
    let sh = s.read("AUDIT", &["shipment", "show", &shipment]);
    assert_eq!(sh["status"], "delivered", "{sh}");
    assert_eq!(sh["carrier"], "LOGI");
    assert_eq!(sh["doc_hash"], bl_hash.as_str());
    assert_cny(&sh["value"], amount);
}

/// Checks a receivable's holder, debtor, face, repaid amount, maturity and status.
#[allow(clippy::too_many_arguments)]
#[track_caller]
fn assert_receivable(
    r: &Value,
    id: &str,
    holder: &str,
    debtor: &str,
    face: &str,
    repaid: &str,
    maturity: &str,
    status: &str,
) {
    assert_eq!(r["id"], id, "{r}");
    assert_eq!(r["holder"], holder, "{id} holder: {r}");
    assert_eq!(r["debtor"], debtor, "{id} debtor: {r}");
    assert_cny(&r["face"], face);
    assert_dec(&r["repaid"], repaid);
    assert_eq!(r["maturity"], maturity, "{id} maturity: {r}");
    assert_eq!(r["status"], status, "{id} status: {r}");
}

/// LOGI holds SUP-1's goods in a lot and issues a receipt; SUP-1 offers it in pledge to
/// BANK-B, which declines, then to BANK-A, which accepts; the goods are released only
/// after SUP-1's instruction and BANK-A's release of its pledge; the lot is then free.
fn warehouse_pledge(s: &mut Story) {
    let wr = "WR-2027-07";
    let (wr_doc, wr_hash) = doc(s.c, "WR-2027-07.pdf", "warehouse receipt, lot LOT-2027-07");
    // The file's SHA-256 goes on the ledger (`--doc`); the second receipt names it by hash.
    let issue = |id: &'static str, lot: &'static str| {
        vec![
            "warehouse",
            "issue",
            "--id",
            id,
            "--owner",
            "SUP-1",
            "--lot",
            lot,
            "--goods",
            "copper cathode",
            "--quantity",
            "120",
            "--unit",
            "t",
        ]
    };
    let issued = s.write(
        "LOGI",
        &[&issue(wr, "LOT-2027-07")[..], &["--doc", &wr_doc]].concat(),
    );
    let e = event(&issued, "warehouse_receipt_issued");
    assert_eq!((&e["receipt"], &e["owner"]), (&json!(wr), &json!("SUP-1")));
    // The same lot typed another way is the same lot: one live receipt per lot.
    let again = [
        &issue("WR-2027-07B", "lot 2027 07")[..],
        &["--doc-hash", &wr_hash],
    ]
    .concat();
    s.refused("LOGI", &again, "lot_already_receipted");

    let offered = s.write(
        "SUP-1",
        &["warehouse", "pledge", "offer", wr, "--bank", "BANK-B"],
    );
    assert_eq!(
        event(&offered, "warehouse_receipt_pledge_offered")["bank"],
        "BANK-B"
    );
    let declined = s.write("BANK-B", &["warehouse", "pledge", "decline", wr]);
    assert_eq!(
        event(&declined, "warehouse_receipt_pledge_declined")["bank"],
        "BANK-B"
    );
    s.write(
        "SUP-1",
        &["warehouse", "pledge", "offer", wr, "--bank", "BANK-A"],
    );
    // Only the bank offered the pledge accepts it.
    s.refused(
        "BANK-B",
        &["warehouse", "pledge", "accept", wr],
        "not_party",
    );
    let pledged = s.write("BANK-A", &["warehouse", "pledge", "accept", wr]);
    assert_eq!(
        event(&pledged, "warehouse_receipt_pledged")["bank"],
        "BANK-A"
    );
    let r = s.read("SUP-1", &["warehouse", "show", wr]);
    assert_eq!(
        (&r["status"], &r["pledgee"], &r["pledge_offer"]),
        (&json!("pledged"), &json!("BANK-A"), &Value::Null),
        "{r}"
    );
    assert_eq!(
        (&r["warehouse"], &r["owner"]),
        (&json!("LOGI"), &json!("SUP-1"))
    );
    assert_eq!(
        (&r["lot"], &r["doc_hash"]),
        (&json!("LOT-2027-07"), &json!(wr_hash))
    );
    assert_eq!((&r["quantity"], &r["unit"]), (&json!("120"), &json!("t")));

    // Release: the owner instructs, the warehouse waits for the pledgee's release, which
    // only the pledgee gives.
    let instructed = s.write("SUP-1", &["warehouse", "instruct-release", wr]);
    assert_eq!(
        event(&instructed, "warehouse_receipt_release_instructed")["owner"],
        "SUP-1"
    );
    s.refused("LOGI", &["warehouse", "release", wr], "wrong_status");
    s.refused(
        "SUP-1",
        &["warehouse", "pledge", "release", wr],
        "missing_role",
    );
    s.refused(
        "BANK-B",
        &["warehouse", "pledge", "release", wr],
        "not_party",
    );
    let lifted = s.write("BANK-A", &["warehouse", "pledge", "release", wr]);
    assert_eq!(
        event(&lifted, "warehouse_receipt_pledge_released")["bank"],
        "BANK-A"
    );
    let released = s.write("LOGI", &["warehouse", "release", wr]);
    assert_eq!(
        event(&released, "warehouse_receipt_released")["receipt"],
        wr
    );
    let r = s.read("AUDIT", &["warehouse", "show", wr]);
    assert_eq!(
        (&r["status"], &r["pledgee"], &r["release_instructed"]),
        (&json!("released"), &Value::Null, &json!(true)),
        "{r}"
    );
    // The lot is free for a new receipt.
    s.write("LOGI", &again);
}

/// Inventory finance: LOGI holds 100 t, 50 t and 40 t of SUP-1's copper, pledged to
/// BANK-A, which prices copper at 70,000.00/t and lends 6,000,000.00 on the first two
/// (10,500,000.00 of goods, LTV 57.1429 %). Copper falls to 45,000.00: 6,750,000.00,
/// LTV 88.8889 % > 80 %, BANK-A calls for margin; SUP-1 tops up with the 40 t (8,550,000.00,
/// 70.1755 %: cured) and asks for the 50 t back: refused (6,300,000.00 left, 95.2381 %)
/// until it repaid 1,590,000.00 (acknowledged): 4,410,000.00 is exactly 70 % of it.
fn inventory_loan(s: &mut Story, maturity: &str) {
    for (id, qty) in [
        ("WR-2027-08", "100"),
        ("WR-2027-09", "50"),
        ("WR-2027-10", "40"),
    ] {
        let lot = format!("LOT-{id}");
        let goods = [
            "warehouse",
            "issue",
            "--id",
            id,
            "--owner",
            "SUP-1",
            "--lot",
            &lot,
            "--goods",
            "copper cathode",
            "--quantity",
            qty,
            "--unit",
            "t",
            "--doc-hash",
        ];
        let hash = "ab".repeat(32);
        s.write("LOGI", &[&goods[..], &[hash.as_str()]].concat());
        s.write(
            "SUP-1",
            &["warehouse", "pledge", "offer", id, "--bank", "BANK-A"],
        );
        s.write("BANK-A", &["warehouse", "pledge", "accept", id]);
    }
    let price = |p: &'static str| {
        vec![
            "loan",
            "price",
            "--goods",
            "copper cathode",
            "--unit",
            "t",
            "--price",
            p,
        ]
    };
    s.refused("SUP-1", &price("70000.00"), "missing_role");
    s.write("BANK-A", &price("70000.00"));
    let requested = s.write(
        "SUP-1",
        &[
            "loan",
            "request",
            "--receipt",
            "WR-2027-08,WR-2027-09",
            "--amount",
            "6000000.00",
        ],
    );
    let loan = str_of(&event(&requested, "loan_requested")["loan"]);
    let l = loan.as_str();
    s.write(
        "BANK-A",
        &[
            "loan",
            "offer",
            l,
            "--rate",
            "4.5",
            "--ltv-max",
            "70",
            "--margin-call-ltv",
            "80",
            "--cure-days",
            "5",
            "--maturity",
            maturity,
        ],
    );
    s.write("SUP-1", &["loan", "accept", l]);
    s.write(
        "BANK-A",
        &["loan", "disburse", l, "--payment-ref", "BANK-A-LOAN-0001"],
    );
    s.write("SUP-1", &["loan", "ack", l]);
    let v = s.read("SUP-1", &["loan", "show", l]);
    assert_eq!(
        (&v["status"], &v["ltv_percent"], &v["value"]["amount"]),
        (
            &json!("disbursed"),
            &json!("57.1429"),
            &json!("10500000.00")
        ),
        "{v}"
    );

    // Copper falls: not yet called, LTV above 80 %.
    s.write("BANK-A", &price("45000.00"));
    let v = s.read("AUDIT", &["loan", "show", l]);
    assert_eq!(
        (&v["ltv_percent"], &v["above_margin_call"]),
        (&json!("88.8889"), &json!(true)),
        "{v}"
    );
    let called = s.write("BANK-A", &["loan", "margin-call", l]);
    assert_eq!(
        event(&called, "margin_called")["value"]["amount"],
        "6750000.00"
    );
    s.refused("BANK-A", &["loan", "enforce", l], "cure_period_running");
    let topped = s.write("SUP-1", &["loan", "top-up", l, "--receipt", "WR-2027-10"]);
    assert!(
        topped["events"].to_string().contains("margin_call_cured"),
        "{topped}"
    );

    // 赎货: the 50 t back only once the goods left cover the balance at 70 %.
    let release = ["loan", "release", l, "--receipt", "WR-2027-09"];
    let why = s.refused("SUP-1", &release, "ltv_exceeded");
    assert!(why.contains("95.2381%"), "{why}");
    s.write(
        "SUP-1",
        &[
            "loan",
            "repay",
            l,
            "--amount",
            "1590000.00",
            "--payment-ref",
            "SUP-1-LOAN-R1",
        ],
    );
    s.refused("SUP-1", &release, "ltv_exceeded");
    s.write("BANK-A", &["loan", "ack-repayment", l]);
    let released = s.write("SUP-1", &release);
    assert_eq!(event(&released, "goods_released")["receipt"], "WR-2027-09");
    let v = s.read("AUDIT", &["loan", "show", l]);
    assert_eq!(
        (
            &v["balance"]["amount"],
            &v["ltv_percent"],
            &v["loan"]["released"]
        ),
        (
            &json!("4410000.00"),
            &json!("70.0000"),
            &json!(["WR-2027-09"])
        ),
        "{v}"
    );
    let r = s.read("SUP-1", &["warehouse", "show", "WR-2027-09"]);
    assert_eq!(
        (&r["status"], &r["pledgee"]),
        (&json!("issued"), &Value::Null)
    );
    // Another supplier reads nothing of it.
    s.c.cli(node_of("SUP-2"), "SUP-2", &["loan", "show", l])
        .refused();
}

/// CORE-A's ERP imports SUP-1's corrected invoice (UBL 384, the importer's fixture with
/// this network's parties, dates and currency): refused while the original it names is
/// live on the ledger, imported and confirmed once SUP-1 voided the original.
fn corrected_invoice(s: &mut Story, today: &str, due: &str, sup1_tax: &str, core_a_tax: &str) {
    let order = "PO-2027-0003";
    trade(s, "CORE-A", "SUP-1", order, "1600.00");
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../importer/tests/fixtures/import/corrected-384.xml");
    let xml = std::fs::read_to_string(fixture)
        .unwrap()
        .replace("Snippet1", "JN-2027-0301")
        .replace("GB1232434", sup1_tax)
        .replace("SE4598375937", core_a_tax)
        .replace("2017-11-13", today)
        .replace("2017-12-01", due)
        .replace("EUR", "CNY");
    let file = s.c.dir.join("JN-2027-0301-C.xml");
    std::fs::write(&file, xml).unwrap();
    let file = file.to_string_lossy().into_owned();
    let import = ["invoice", "import", &file, "--confirm", "--order", order];

    s.write(
        "SUP-1",
        &[
            "invoice",
            "register",
            "--id",
            "INV-JN-2027-0301",
            "--order",
            order,
            "--number",
            "JN-2027-0301",
            "--issue-date",
            today,
            "--due-date",
            due,
            "--amount",
            "1600.00",
            "--doc-hash",
            &sha256(b"JN-2027-0301").to_hex(),
        ],
    );
    s.read("CORE-A", &["invoice", "show", "INV-JN-2027-0301"]);
    let refused = s.c.cli(node_of("CORE-A"), "CORE-A", &import);
    assert!(
        refused.refused().contains("1 rejected"),
        "{}",
        refused.stderr
    );
    let item = &refused.json["items"][0];
    assert_eq!(item["outcome"]["stage"], "plan", "{item}");
    let reason = str_of(&item["outcome"]["reason"]);
    assert!(
        reason.contains("384 (corrected invoice)")
            && reason.contains("INV-JN-2027-0301, registered on the ledger, not voided"),
        "{reason}"
    );

    s.write("SUP-1", &["invoice", "void", "INV-JN-2027-0301"]);
    s.read("CORE-A", &["invoice", "show", "INV-JN-2027-0301"]);
    let report = s.c.cli(node_of("CORE-A"), "CORE-A", &import).ok().clone();
    assert_eq!(report["summary"]["registered"], 1, "{report}");
    let outcome = &report["items"][0]["outcome"];
    assert_eq!(outcome["confirmed"], true, "{report}");
    s.last = s.last.max(s.c.height(node_of("CORE-A")));
    let i = s.read("AUDIT", &["invoice", "show", &str_of(&outcome["invoice"])]);
    assert_eq!(
        (&i["number"], &i["status"], &i["seller"], &i["order"]),
        (
            &json!("JN-2027-0301-C"),
            &json!("confirmed"),
            &json!("SUP-1"),
            &json!(order)
        ),
        "{i}"
    );
    assert_cny(&i["amount"], "1600.00");
    let original = s.read("AUDIT", &["invoice", "show", "INV-JN-2027-0301"]);
    assert_eq!(original["status"], "voided", "{original}");
}

/// Dual control: CORE-A gets a second finance key through governance and a policy that
/// confirmations above 1,000,000.00 CNY need two keys; a 1,500,000.00 confirmation (made
/// at registration, which counts as a confirmation) waits in `pending` until the second
/// key approves it, and then the receivable exists.
fn maker_checker(s: &mut Story, today: &str, due: &str) {
    let checker = s.c.dir.join("keys").join("CORE-A-checker.json");
    let chain = s.c.chain_id.clone();
    let made = run_cli(&[
        "keygen",
        "--out",
        checker.to_str().unwrap(),
        "--org",
        "CORE-A",
        "--chain-id",
        &chain,
    ]);
    assert!(made.status.success(), "{}", made.stderr);
    let checker_pub = made.stdout.trim().to_string();
    let opened = s.write(
        "CORE-A",
        &[
            "gov",
            "propose",
            "add-key",
            "--org",
            "CORE-A",
            "--member-key",
            &checker_pub,
        ],
    );
    let proposal = str_of(&event(&opened, "proposal_opened")["proposal"]);
    s.write("BANK-A", &["gov", "approve", &proposal]);
    let applied = s.write("CORE-B", &["gov", "approve", &proposal]);
    assert_eq!(
        event(&applied, "member_key_added")["key"],
        checker_pub.as_str()
    );
    let set = s.write(
        "CORE-A",
        &[
            "policy",
            "set",
            "--rule",
            "confirm_invoice,2,1000000,CNY",
            "--ttl-days",
            "3",
        ],
    );
    assert_eq!(event(&set, "approval_policy_set")["org"], "CORE-A");

    let order = "PO-2027-0004";
    trade(s, "CORE-A", "SUP-2", order, "1500000.00");
    let (inv_doc, _) = doc(s.c, "HX-2027-88.pdf", "HX-2027-88 invoice");
    let held = s.write(
        "CORE-A",
        &[
            "invoice",
            "register",
            "--id",
            "INV-HX-2027-88",
            "--order",
            order,
            "--number",
            "HX-2027-88",
            "--issue-date",
            today,
            "--due-date",
            due,
            "--amount",
            "1500000.00",
            "--doc",
            &inv_doc,
            "--confirm",
        ],
    );
    let requested = event(&held, "approval_requested");
    assert_eq!(
        (&requested["action"], &requested["required"]),
        (&json!("register_invoice"), &json!(2)),
        "{held}"
    );
    let apr = str_of(&requested["approval"]);
    // Nothing is registered yet; the held action waits for CORE-A's second key.
    let waiting = s.read("CORE-A", &["pending"]);
    let item = &waiting.as_array().unwrap()[0];
    assert_eq!(
        (&item["state"], &item["counted"], &item["required"]),
        (&json!("pending"), &json!(1), &json!(2)),
        "{waiting}"
    );
    // The maker cannot be its own checker.
    s.refused("CORE-A", &["approve", &apr], "key_already_approved");
    let out =
        s.c.cli_with_key(node_of("CORE-A"), &checker, &["approve", &apr]);
    let approved = out.ok().clone();
    s.last = s.last.max(approved["height"].as_u64().unwrap());
    assert!(
        approved["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.get("approval_executed").is_some()),
        "{approved}"
    );
    let receivable = str_of(&event(&approved, "receivable_issued")["receivable"]);
    let r = s.read("SUP-2", &["receivable", "show", &receivable]);
    assert_eq!(
        (&r["holder"], &r["debtor"]),
        (&json!("SUP-2"), &json!("CORE-A"))
    );
    assert_cny(&r["face"], "1500000.00");
    let done = s.read("CORE-A", &["pending", "--all"]);
    assert_eq!(done[0]["state"], "executed", "{done}");
    assert_eq!(done[0]["approval"]["approvals"][1], checker_pub.as_str());
}

/// The registry record (中登网) BANK-A files for the disbursed financing `fin`, and the
/// registration number it then records on the ledger (issue 13, registration).
fn registry(s: &mut Story, fin: &str, value_date: &str, maturity: &str) {
    let rec = s.read("BANK-A", &["financing", "registration", fin]);
    assert_eq!(
        (
            &rec["transferor_org"],
            &rec["transferee_org"],
            &rec["contract_amount"],
            &rec["currency"],
            &rec["contract_start"],
            &rec["contract_end"],
        ),
        (
            &json!("SUP-3"),
            &json!("BANK-A"),
            &json!("400000.00"),
            &json!("CNY"),
            &json!(value_date),
            &json!(maturity)
        ),
        "{rec}"
    );
    // 90 days: three whole months, or four when the maturity's day of the month is later.
    assert!(matches!(rec["term_months"].as_u64(), Some(3 | 4)), "{rec}");
    assert!(
        rec["debtor_credit_code"]
            .as_str()
            .is_some_and(|t| t.len() == 18),
        "{rec}"
    );
    assert!(rec["registration_number"].is_null(), "{rec}");
    let csv = s.c.run_as(
        node_of("BANK-A"),
        "BANK-A",
        &["financing", "registration", fin, "--csv"],
    );
    assert!(csv.status.success(), "{}", csv.stderr);
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", csv.stdout);
    assert!(
        lines[0].starts_with("registration_type,term_months,"),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains("400000.00"), "{}", lines[1]);

    let number = "05383857000123456789";
    let register = ["financing", "register", fin, "--number", number];
    s.refused("SUP-3", &register, "missing_role");
    s.refused("BANK-B", &register, "not_party");
    let done = s.write("BANK-A", &register);
    assert_eq!(event(&done, "financing_registered")["number"], number);
    let rec = s.read("AUDIT", &["financing", "registration", fin]);
    assert_eq!(rec["registration_number"], number, "{rec}");
    s.refused("BANK-A", &register, "already registered");
}

/// BANK-A sets up a programme with CORE-A (SUP-1 and SUP-3 eligible; 3.00 % up to 30
/// days, 3.65 % up to 90, 4.20 % up to 180; fees 0.10 % of the advanced amount + 50.00;
/// 80 % advanced; auto-offer valid 5 days; a 5,000,000.00 limit); CORE-A accepts it
/// (nothing happens under it before), SUP-1 joins and finances a 600,000.00 receivable
/// maturing in 60 days: the ledger's offer is the grid's, SUP-1 accepts, BANK-A pays the
/// net the CLI computes, and the programme's use is the face financed.
fn programme(s: &mut Story, today: &str, due: &str) {
    let order = "PO-2027-0005";
    trade(s, "CORE-A", "SUP-1", order, "600000.00");
    let (inv_doc, _) = doc(s.c, "HX-2027-91.pdf", "HX-2027-91 invoice");
    let confirmed = s.write(
        "CORE-A",
        &[
            "invoice",
            "register",
            "--id",
            "INV-HX-2027-91",
            "--order",
            order,
            "--number",
            "HX-2027-91",
            "--issue-date",
            today,
            "--due-date",
            due,
            "--amount",
            "600000.00",
            "--doc",
            &inv_doc,
            "--confirm",
        ],
    );
    let rcv = str_of(&event(&confirmed, "receivable_issued")["receivable"]);

    let created = s.write(
        "BANK-A",
        &[
            "programme",
            "create",
            "--core",
            "CORE-A",
            "--supplier",
            "SUP-1,SUP-3",
            "--max-tier",
            "2",
            "--grid",
            "30:3.00,90:3.65,180:4.20",
            "--fee-percent",
            "0.10",
            "--fee-fixed",
            "50.00",
            "--max-tenor-days",
            "180",
            "--advance",
            "80",
            "--auto-offer",
            "--offer-valid-days",
            "5",
            "--limit",
            "5000000.00",
        ],
    );
    let e = event(&created, "programme_created");
    assert_eq!(
        (&e["bank"], &e["core"]),
        (&json!("BANK-A"), &json!("CORE-A"))
    );
    let prg = str_of(&e["programme"]);
    // Nothing under it before the core accepts.
    s.refused("SUP-1", &["programme", "join", &prg], "proposed");
    s.refused("CORE-B", &["programme", "accept", &prg], "not_party");
    s.write("CORE-A", &["programme", "accept", &prg]);
    let joined = s.write("SUP-1", &["programme", "join", &prg]);
    assert_eq!(event(&joined, "programme_joined")["supplier"], "SUP-1");
    let shown = s.read("SUP-1", &["programme", "show", &prg]);
    assert_eq!(shown["status"], "active", "{shown}");
    assert_eq!(shown["programme"]["members"], json!(["SUP-1"]));
    // SUP-2 is not eligible: it does not even see the programme.
    s.refused("SUP-2", &["programme", "show", &prg], "not found");

    // 60 days: the 3.65 % bucket. Advanced 600,000.00 x 80 % = 480,000.00; fees
    // 480,000.00 x 0.10 % = 480.00 + 50.00 = 530.00.
    let asked = s.write(
        "SUP-1",
        &["financing", "request", &rcv, "--programme", &prg],
    );
    let e = event(&asked, "financing_requested");
    assert_eq!(
        (&e["programme"], &e["banks"]),
        (&json!(prg), &json!(["BANK-A"]))
    );
    let fin = str_of(&e["financing"]);
    let o = event(&asked, "offer_made");
    assert_eq!((&o["bank"], &o["rate"]), (&json!("BANK-A"), &json!("3.65")));
    assert_cny(&o["fees"], "530.00");
    let offer = str_of(&o["offer"]);
    // Discount on the advanced amount: 480,000.00 x 3.65 % x 60 / 360 = 2,920.00; net
    // 480,000.00 - 2,920.00 - 530.00 = 476,550.00.
    let accepted = s.write("SUP-1", &["financing", "accept", &offer]);
    let e = event(&accepted, "offer_accepted");
    assert_eq!(e["days"], 60, "{e}");
    assert_cny(&e["discount"], "2920.00");
    assert_cny(&e["net"], "476550.00");
    let f = s.read("BANK-A", &["financing", "show", &fin]);
    assert_eq!(
        (&f["financing"]["programme"], &f["financing"]["recourse"]),
        (&json!(prg), &json!(false))
    );
    assert_cny(&f["financing"]["terms"]["advanced"], "480000.00");
    let paid = s.write(
        "BANK-A",
        &[
            "financing",
            "disburse",
            &fin,
            "--payment-ref",
            "CMB-PRG-0001",
        ],
    );
    assert_cny(&event(&paid, "financing_disbursed")["net"], "476550.00");
    let r = s.read("BANK-A", &["receivable", "show", &rcv]);
    assert_eq!((&r["holder"], &r["tier"]), (&json!("BANK-A"), &json!(1)));
    // The programme's limit counts the face financed.
    let shown = s.read("CORE-A", &["programme", "show", &prg]);
    assert_cny(&shown["used"], "600000.00");
    assert_cny(&shown["headroom"], "4400000.00");
    let listed = s.read("BANK-A", &["programme", "list"]);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["programme"]["id"] == prg.as_str()),
        "{listed}"
    );
}

/// Secondary sale (issue 13): SUP-3's 500,000.00 receivable on CORE-B, financed by BANK-A
/// at 3.60 % for 60 days (discount 3,000.00, net 497,000.00). BANK-B may not sell what
/// it does not fund, nor BANK-A more than the face; BANK-A offers 200,000.00 of it to
/// BANK-B for 198,500.00, BANK-B declines; the second offer, 199,100.00, BANK-B accepts:
/// the receivable splits into the 200,000.00 part BANK-B now holds and funds (advanced
/// 200,000.00, discount 3,000.00 x 2/5 = 1,200.00) and the 300,000.00 rest BANK-A keeps
/// (discount 1,800.00); BANK-B pays the price, BANK-A acknowledges it.
fn secondary_sale(s: &mut Story, today: &str, due: &str) {
    let order = "PO-2027-0006";
    trade(s, "CORE-B", "SUP-3", order, "500000.00");
    let (inv_doc, _) = doc(s.c, "DF-2027-12.pdf", "DF-2027-12 invoice");
    let confirmed = s.write(
        "CORE-B",
        &[
            "invoice",
            "register",
            "--id",
            "INV-DF-2027-12",
            "--order",
            order,
            "--number",
            "DF-2027-12",
            "--issue-date",
            today,
            "--due-date",
            due,
            "--amount",
            "500000.00",
            "--doc",
            &inv_doc,
            "--confirm",
        ],
    );
    let rcv = str_of(&event(&confirmed, "receivable_issued")["receivable"]);
    let asked = s.write("SUP-3", &["financing", "request", &rcv, "--bank", "BANK-A"]);
    let fin = str_of(&event(&asked, "financing_requested")["financing"]);
    let made = s.write("BANK-A", &["financing", "offer", &fin, "--rate", "3.60"]);
    let offer = str_of(&event(&made, "offer_made")["offer"]);
    let accepted = s.write("SUP-3", &["financing", "accept", &offer]);
    // 500,000.00 x 3.60 % x 60 / 360 = 3,000.00.
    let e = event(&accepted, "offer_accepted");
    assert_eq!(e["days"], 60, "{e}");
    assert_cny(&e["discount"], "3000.00");
    assert_cny(&e["net"], "497000.00");
    let paid = s.write(
        "BANK-A",
        &[
            "financing",
            "disburse",
            &fin,
            "--payment-ref",
            "CMB-SZ-2027-0412",
        ],
    );
    assert_cny(&event(&paid, "financing_disbursed")["net"], "497000.00");

    let sell = |price: &'static str, part: &'static str| {
        vec![
            "financing",
            "sell",
            fin.as_str(),
            "--to",
            "BANK-B",
            "--part",
            part,
            "--price",
            price,
        ]
    };
    // Only the funding bank sells, and no more than the receivable's face.
    s.refused(
        "BANK-B",
        &[
            "financing",
            "sell",
            &fin,
            "--to",
            "BANK-A",
            "--price",
            "100000.00",
        ],
        "not_party",
    );
    let why = s.refused("BANK-A", &sell("590000.00", "600000.00"), "invalid_field");
    assert!(why.contains("500000.00"), "{why}");
    s.refused("BANK-A", &sell("200000.01", "200000.00"), "invalid_field");

    let first = s.write("BANK-A", &sell("198500.00", "200000.00"));
    let e = event(&first, "sale_offered");
    assert_eq!(
        (&e["financing"], &e["seller"], &e["buyer"]),
        (&json!(fin), &json!("BANK-A"), &json!("BANK-B")),
        "{e}"
    );
    assert_cny(&e["face"], "200000.00");
    assert_cny(&e["price"], "198500.00");
    let declined_sale = str_of(&e["sale"]);
    // One open sale per financing.
    s.refused(
        "BANK-A",
        &sell("199100.00", "200000.00"),
        "offer_not_allowed",
    );
    // Only the buyer answers.
    s.refused(
        "BANK-A",
        &["financing", "sale", "accept", &declined_sale],
        "not_party",
    );
    let declined = s.write("BANK-B", &["financing", "sale", "decline", &declined_sale]);
    assert_eq!(event(&declined, "sale_declined")["buyer"], "BANK-B");

    let second = s.write("BANK-A", &sell("199100.00", "200000.00"));
    let e = event(&second, "sale_offered");
    assert_cny(&e["price"], "199100.00");
    let sale = str_of(&e["sale"]);
    let took = s.write("BANK-B", &["financing", "sale", "accept", &sale]);
    let split = event(&took, "receivable_split");
    assert_eq!(split["receivable"], rcv.as_str(), "{took}");
    let e = event(&took, "sale_accepted");
    assert_eq!(
        (&e["sale"], &e["seller"], &e["buyer"], &e["financing"]),
        (
            &json!(sale),
            &json!("BANK-A"),
            &json!("BANK-B"),
            &json!(fin)
        ),
        "{e}"
    );
    assert_cny(&e["face"], "200000.00");
    assert_cny(&e["advanced"], "200000.00");
    let bought = str_of(&e["bought"]);
    let part = str_of(&e["receivable"]);
    let kept = str_of(&e["kept"]);
    assert_ne!(bought, fin);
    assert_eq!(split["parts"], json!([part, kept]), "{took}");

    s.refused(
        "BANK-A",
        &["financing", "sale", "pay", &sale, "--payment-ref", "X-1"],
        "not_party",
    );
    let instructed = s.write(
        "BANK-B",
        &[
            "financing",
            "sale",
            "pay",
            &sale,
            "--payment-ref",
            "BANK-B-SAL-0001",
        ],
    );
    let e = event(&instructed, "sale_payment_instructed");
    assert_eq!(
        (&e["buyer"], &e["seller"], &e["payment_ref"]),
        (
            &json!("BANK-B"),
            &json!("BANK-A"),
            &json!("BANK-B-SAL-0001")
        ),
        "{e}"
    );
    assert_cny(&e["price"], "199100.00");
    s.refused("BANK-B", &["financing", "sale", "ack", &sale], "not_party");
    let acked = s.write("BANK-A", &["financing", "sale", "ack", &sale]);
    let e = event(&acked, "sale_payment_acknowledged");
    assert_eq!(e["seller"], "BANK-A", "{e}");
    assert_cny(&e["price"], "199100.00");

    // The sale read back: paid, what changed hands, the payment acknowledged.
    let v = s.read("BANK-B", &["financing", "sale", "show", &sale]);
    assert_eq!(
        (&v["status"], &v["lapsed"]),
        (&json!("paid"), &json!(false)),
        "{v}"
    );
    assert_cny(&v["face"], "200000.00");
    let sv = &v["sale"];
    assert_eq!(
        (
            &sv["financing"],
            &sv["receivable"],
            &sv["seller"],
            &sv["buyer"]
        ),
        (&json!(fin), &json!(rcv), &json!("BANK-A"), &json!("BANK-B")),
        "{v}"
    );
    assert_cny(&sv["price"], "199100.00");
    assert_cny(&sv["part"], "200000.00");
    assert_cny(&sv["outstanding"], "500000.00");
    let t = &sv["transfer"];
    assert_eq!(
        (
            &t["financing"],
            &t["receivable"],
            &t["kept"],
            &t["accepted_on"]
        ),
        (&json!(bought), &json!(part), &json!(kept), &json!(today)),
        "{v}"
    );
    assert_cny(&t["face"], "200000.00");
    assert_cny(&t["advanced"], "200000.00");
    assert_eq!(
        (&sv["payment"]["payment_ref"], &sv["payment"]["status"]),
        (&json!("BANK-B-SAL-0001"), &json!("acknowledged")),
        "{v}"
    );
    let listed = s.read(
        "BANK-A",
        &["financing", "sale", "list", "--financing", &fin],
    );
    let mut rows: Vec<(String, String, String)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                str_of(&i["sale"]["id"]),
                str_of(&i["status"]),
                str_of(&i["sale"]["price"]["amount"]),
            )
        })
        .collect();
    rows.sort();
    let mut want = vec![
        (
            declined_sale.clone(),
            "declined".to_string(),
            "198500.00".to_string(),
        ),
        (sale.clone(), "paid".into(), "199100.00".into()),
    ];
    want.sort();
    assert_eq!(rows, want, "{listed}");

    // The part is BANK-B's, funded by its own financing; BANK-A keeps the rest.
    let r = s.read("BANK-B", &["receivable", "show", &part]);
    assert_receivable(
        &r,
        &part,
        "BANK-B",
        "CORE-B",
        "200000.00",
        "0",
        due,
        "active",
    );
    assert_eq!(
        (&r["parent"], &r["financing"]),
        (&json!(rcv), &json!(bought))
    );
    let r = s.read("AUDIT", &["receivable", "show", &kept]);
    assert_receivable(
        &r,
        &kept,
        "BANK-A",
        "CORE-B",
        "300000.00",
        "0",
        due,
        "active",
    );
    assert_eq!((&r["parent"], &r["financing"]), (&json!(rcv), &json!(fin)));
    let r = s.read("AUDIT", &["receivable", "show", &rcv]);
    assert_eq!(r["status"], "split", "{r}");
    for (id, bank, face, discount) in [
        (&bought, "BANK-B", "200000.00", "1200.00"),
        (&fin, "BANK-A", "300000.00", "1800.00"),
    ] {
        let f = s.read("AUDIT", &["financing", "show", id]);
        let terms = &f["financing"]["terms"];
        assert_eq!(
            (&f["financing"]["status"], &terms["bank"]),
            (&json!("disbursed"), &json!(bank)),
            "{f}"
        );
        assert_cny(&terms["face"], face);
        assert_cny(&f["financing"]["disbursement"]["discount"], discount);
    }
    // Its history names the sale: the part's lineage from the root, the acceptance by
    // BANK-B, after BANK-A's assignment on disbursement.
    let h = s.read("BANK-B", &["receivable", "history", &part]);
    assert_eq!(h["receivable"]["holder"], "BANK-B", "{h}");
    let lineage: Vec<&Value> = h["lineage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["id"])
        .collect();
    assert_eq!(lineage, vec![&json!(rcv), &json!(part)], "{h}");
    let steps: Vec<(String, String, String)> = h["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|st| {
            st["history"].as_array().unwrap().iter().map(move |e| {
                let name = e["event"].as_object().unwrap().keys().next().unwrap();
                (
                    str_of(&st["receivable"]),
                    e["signer"].as_str().unwrap_or("(ledger)").to_string(),
                    name.clone(),
                )
            })
        })
        .collect();
    let at = |want: (&str, &str, &str)| {
        steps
            .iter()
            .position(|(r, who, n)| (r.as_str(), who.as_str(), n.as_str()) == want)
            .unwrap_or_else(|| panic!("history lacks {want:?}: {steps:?}"))
    };
    assert!(
        at((&rcv, "BANK-A", "receivable_assigned")) < at((&rcv, "BANK-B", "receivable_split")),
        "{steps:?}"
    );
    at((&part, "BANK-B", "sale_accepted"));
}

#[test]
fn the_demo_story_through_the_cli_on_four_nodes() {
    let started = Instant::now();
    let c = Cluster::start_with_clock(4);
    let genesis: Value =
        serde_json::from_str(&std::fs::read_to_string(c.dir.join("genesis.json")).unwrap())
            .unwrap();
    let utc_offset_min = genesis["params"]["utc_offset_minutes"].as_i64().unwrap();
    let grace_days = genesis["params"]["grace_days"].as_u64().unwrap();
    assert_eq!(
        grace_days, 3,
        "the story assumes the default grace of 3 days"
    );
    assert_eq!(
        genesis["params"]["day_count"], "Act360",
        "{}",
        genesis["params"]
    );

    // The ledger's business day must not change while the story runs (the discount is
    // for exactly 90 days), so first move the ledger clock to the next local noon.
    let offset_ms = utc_offset_min * 60_000;
    let local = wall_ms() as i64 + offset_ms;
    let day = DAY_MS as i64;
    let mut noon = local.div_euclid(day) * day + day / 2;
    if noon < local {
        noon += day;
    }
    let base = (noon - local) as u64;
    let t0 = (noon - offset_ms) as u64;
    let date = |days: u64| {
        business_date(t0 + days * DAY_MS, utc_offset_min as i32)
            .unwrap()
            .to_string()
    };
    c.set_clock_offset_ms(base);
    wait_block_time(&c, t0);
    let (today, due90, due30) = (date(0), date(90), date(30));

    let mut s = Story { c: &c, last: 0 };

    // ---- 1. Trade: CORE-A orders 1,000,000.00 CNY from SUP-1; LOGI ships and delivers.
    trade(&mut s, "CORE-A", "SUP-1", "PO-2026-0001", "1000000.00");
    for org in ["SUP-1", "CORE-A", "LOGI"] {
        let status = s.read(org, &["status"]);
        assert_eq!(status["chain_id"], c.chain_id.as_str());
        assert_eq!(
            status["validators"].as_array().map(Vec::len),
            Some(4),
            "{status}"
        );
    }

    // ---- 2. CORE-A's ERP imports SUP-1's two invoices (CSV) and confirms them.
    // CORE-A and SUP-1 trade (SUP-1 accepted PO-2026-0001): each reads the other's tax
    // id. Other members see it masked; the auditor sees it whole.
    let sup1_tax = str_of(&s.read("AUDIT", &["org", "show", "SUP-1"])["tax_id"]);
    let seen = s.read("CORE-A", &["org", "show", "SUP-1"]);
    assert_eq!(
        seen["tax_id"],
        sup1_tax.as_str(),
        "the buyer reads its seller's"
    );
    let masked = s.read("CORE-B", &["org", "show", "SUP-1"]);
    assert!(str_of(&masked["tax_id"]).contains('*'), "{masked}");
    assert_ne!(masked["tax_id"], sup1_tax.as_str());
    let core_a_tax = str_of(&s.read("CORE-A", &["org", "show", "CORE-A"])["tax_id"]);
    assert!(
        !core_a_tax.contains('*'),
        "an org sees its own tax id: {core_a_tax}"
    );
    let csv = c.dir.join("erp-export-2026-11.csv");
    std::fs::write(
        &csv,
        format!(
            "invoice_number,issue_date,due_date,currency,amount,seller_id,buyer_id,order_id\n\
             JN-2026-0117,{today},{due90},CNY,700000.00,{sup1_tax},{core_a_tax},PO-2026-0001\n\
             JN-2026-0118,{today},{due90},CNY,300000.00,{sup1_tax},{core_a_tax},PO-2026-0001\n"
        ),
    )
    .unwrap();
    // CORE-A's vendor master: SUP-1's tax id is SUP-1 on the ledger.
    let party_map = c.dir.join("vendor-master.csv");
    std::fs::write(
        &party_map,
        format!("external_id,org_id\n{sup1_tax},SUP-1\n"),
    )
    .unwrap();
    let (csv, party_map) = (csv.to_string_lossy(), party_map.to_string_lossy());
    let import = [
        "invoice",
        "import",
        &*csv,
        "--confirm",
        "--party-map",
        &*party_map,
    ];
    let report = c.cli(node_of("CORE-A"), "CORE-A", &import).ok().clone();
    assert_eq!(
        report["summary"],
        json!({"registered": 2, "confirmed_existing": 0, "already_on_ledger": 0, "rejected": 0}),
        "{report}"
    );
    assert_eq!(report["error"], Value::Null);
    let items = report["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let mut invoices = Vec::new();
    for (item, (number, amount)) in items
        .iter()
        .zip([("JN-2026-0117", "700000.00"), ("JN-2026-0118", "300000.00")])
    {
        assert_eq!(item["number"], number, "{item}");
        assert_eq!(item["seller"], "SUP-1");
        assert_eq!(item["buyer"], "CORE-A");
        assert_cny(&item["amount"], amount);
        assert_eq!(item["outcome"]["status"], "registered", "{item}");
        assert_eq!(item["outcome"]["confirmed"], true, "{item}");
        invoices.push((str_of(&item["outcome"]["invoice"]), number, amount));
    }
    // The import waited for each commit on CORE-A's node.
    s.last = s.last.max(c.height(node_of("CORE-A")));
    let mut roots = Vec::new();
    for (inv, number, amount) in &invoices {
        let i = s.read("CORE-A", &["invoice", "show", inv]);
        assert_eq!(i["number"], *number);
        assert_eq!(i["status"], "confirmed", "{i}");
        assert_eq!(i["order"], "PO-2026-0001");
        assert_eq!(
            (&i["seller"], &i["buyer"]),
            (&json!("SUP-1"), &json!("CORE-A"))
        );
        assert_eq!(i["issue_date"], today.as_str());
        assert_eq!(i["due_date"], due90.as_str());
        assert_eq!(
            i["seller_tax_id"],
            sup1_tax.as_str(),
            "registered under the real tax id"
        );
        assert_eq!(i["registered_by"], "CORE-A");
        assert_cny(&i["amount"], amount);
        let rcv = str_of(&i["receivable"]);
        let r = s.read("SUP-1", &["receivable", "show", &rcv]);
        assert_receivable(&r, &rcv, "SUP-1", "CORE-A", amount, "0", &due90, "active");
        assert_eq!(r["issue_date"], today.as_str());
        assert_eq!(r["root"], rcv.as_str());
        assert_eq!(r["parent"], Value::Null);
        roots.push(rcv);
    }
    let (big, small) = (roots[0].clone(), roots[1].clone());
    let o = s.read("AUDIT", &["order", "show", "PO-2026-0001"]);
    assert_dec(&o["invoiced"], "1000000.00");
    assert_dec(&o["confirmed"], "1000000.00");

    // Importing the same file again registers nothing: both are already on the ledger.
    let again = c.cli(node_of("CORE-A"), "CORE-A", &import).ok().clone();
    assert_eq!(
        again["summary"],
        json!({"registered": 0, "confirmed_existing": 0, "already_on_ledger": 2, "rejected": 0}),
        "{again}"
    );
    for (item, (inv, _, _)) in again["items"].as_array().unwrap().iter().zip(&invoices) {
        assert_eq!(item["outcome"]["status"], "already_on_ledger", "{item}");
        assert_eq!(item["outcome"]["invoice"], inv.as_str(), "{item}");
    }

    // SUP-1 registers the same invoice again, re-typed under another id: refused, and the
    // refused transaction is on the ledger with its typed error and nothing else.
    let args = [
        "invoice",
        "register",
        "--id",
        "JN-2026-0117-BIS",
        "--order",
        "PO-2026-0001",
        "--number",
        " jn-2026-0117 ",
        "--issue-date",
        &today,
        "--due-date",
        &due90,
        "--amount",
        "700000.00",
        "--doc-hash",
        &sha256(b"a re-typed copy of the same invoice").to_hex(),
    ];
    // SUP-1 reads its buyer's tax id (they trade), so the CLI fills both in.
    let line = s.refused("SUP-1", &args, "duplicate");
    assert!(line.contains(&invoices[0].0), "names the original: {line}");
    let dup_tx = line
        .split_whitespace()
        .find(|w| w.len() == 64 && w.chars().all(|ch| ch.is_ascii_hexdigit()))
        .unwrap_or_else(|| panic!("no transaction hash in {line:?}"))
        .to_string();
    let shown = s.read("AUDIT", &["tx", "show", &dup_tx]);
    assert_eq!(shown["action_name"], "register_invoice", "{shown}");
    assert_eq!(shown["signer"]["org"], "SUP-1");
    assert!(
        shown["receipt"]["outcome"]["Err"]
            .get("DuplicateInvoice")
            .is_some(),
        "{shown}"
    );
    let missing = c.cli(0, "AUDIT", &["invoice", "show", "JN-2026-0117-BIS"]);
    missing.refused();

    // ---- 3. SUP-1 splits the 700,000.00 receivable; 400,000.00 of it pays SUP-3.
    let split = s.write(
        "SUP-1",
        &[
            "receivable",
            "split",
            &big,
            "--part",
            "400000.00",
            "--part",
            "300000.00",
        ],
    );
    let parts: Vec<String> = event(&split, "receivable_split")["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(str_of)
        .collect();
    let [pass, keep] = parts.as_slice() else {
        panic!("the split did not make two parts: {split}");
    };
    let (pass, keep) = (pass.clone(), keep.clone());
    let parent = s.read("SUP-1", &["receivable", "show", &big]);
    assert_receivable(
        &parent,
        &big,
        "SUP-1",
        "CORE-A",
        "700000.00",
        "0",
        &due90,
        "split",
    );
    assert_eq!(parent["children"], json!([pass, keep]));
    for (id, face) in [(&pass, "400000.00"), (&keep, "300000.00")] {
        let r = s.read("SUP-1", &["receivable", "show", id]);
        assert_receivable(&r, id, "SUP-1", "CORE-A", face, "0", &due90, "active");
        assert_eq!((&r["root"], &r["parent"]), (&json!(big), &json!(big)));
    }
    let moved = s.write("SUP-1", &["receivable", "transfer", &pass, "--to", "SUP-3"]);
    let e = event(&moved, "receivable_transferred");
    assert_eq!((&e["from"], &e["to"]), (&json!("SUP-1"), &json!("SUP-3")));
    let r = s.read("SUP-3", &["receivable", "show", &pass]);
    assert_receivable(
        &r,
        &pass,
        "SUP-3",
        "CORE-A",
        "400000.00",
        "0",
        &due90,
        "active",
    );
    // The tier-2 holder sees where its receivable comes from, but the root invoice's
    // tax ids (SUP-1's and CORE-A's) only masked: it is not a party to that invoice.
    let h = s.read("SUP-3", &["receivable", "history", &pass]);
    assert_eq!(h["invoice"]["number"], "JN-2026-0117", "{h}");
    for (field, whole) in [("seller_tax_id", &sup1_tax), ("buyer_tax_id", &core_a_tax)] {
        let shown = str_of(&h["invoice"][field]);
        assert!(
            shown.contains('*') && shown != *whole,
            "SUP-3 sees the invoice's {field} unmasked: {shown}"
        );
    }

    // ---- 4. SUP-3 asks both banks; BANK-A's offer is better and wins.
    let requested = s.write(
        "SUP-3",
        &[
            "financing",
            "request",
            &pass,
            "--bank",
            "BANK-A",
            "--bank",
            "BANK-B",
        ],
    );
    let e = event(&requested, "financing_requested");
    assert_eq!(e["banks"], json!(["BANK-A", "BANK-B"]));
    let fin = str_of(&e["financing"]);
    let made = s.write("BANK-A", &["financing", "offer", &fin, "--rate", "3.65"]);
    let e = event(&made, "offer_made");
    assert_eq!((&e["bank"], &e["rate"]), (&json!("BANK-A"), &json!("3.65")));
    assert_cny(&e["fees"], "0.00");
    let offer_a = str_of(&e["offer"]);
    let made = s.write(
        "BANK-B",
        &[
            "financing",
            "offer",
            &fin,
            "--rate",
            "4.20",
            "--fees",
            "200.00",
        ],
    );
    let e = event(&made, "offer_made");
    assert_eq!((&e["bank"], &e["rate"]), (&json!("BANK-B"), &json!("4.20")));
    assert_cny(&e["fees"], "200.00");
    let offer_b = str_of(&e["offer"]);
    let accepted = s.write("SUP-3", &["financing", "accept", &offer_a]);
    let e = event(&accepted, "offer_accepted");
    // 400,000.00 x 3.65% x 90 / 360 = 3,650.00; SUP-3 receives 396,350.00.
    assert_eq!(e["days"], 90, "{e}");
    assert_eq!(e["bank"], "BANK-A");
    assert_eq!(
        e["discount"],
        json!({"amount": "3650.00", "currency": "CNY"})
    );
    assert_eq!(e["net"], json!({"amount": "396350.00", "currency": "CNY"}));
    let w = event(&accepted, "offer_withdrawn");
    assert_eq!(
        w["offer"],
        offer_b.as_str(),
        "BANK-B's offer is withdrawn: {accepted}"
    );
    let shown = s.read("SUP-3", &["financing", "show", &fin]);
    let f = &shown["financing"];
    assert_eq!(f["status"], "accepted", "{shown}");
    assert_eq!(f["applicant"], "SUP-3");
    assert_eq!(f["receivable"], pass.as_str());
    let terms = &f["terms"];
    assert_eq!(
        (&terms["bank"], &terms["offer"]),
        (&json!("BANK-A"), &json!(offer_a))
    );
    assert_eq!(
        (&terms["rate"], &terms["days"]),
        (&json!("3.65"), &json!(90))
    );
    assert_eq!(terms["value_date"], today.as_str());
    assert_cny(&terms["face"], "400000.00");
    assert_cny(&terms["fees"], "0.00");
    assert_eq!(
        terms["discount"],
        json!({"amount": "3650.00", "currency": "CNY"})
    );
    assert_eq!(
        terms["net"],
        json!({"amount": "396350.00", "currency": "CNY"})
    );
    let statuses: Vec<(Value, Value)> = shown["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["id"].clone(), o["status"].clone()))
        .collect();
    assert_eq!(
        statuses,
        vec![
            (json!(offer_a), json!("accepted")),
            (json!(offer_b), json!("withdrawn"))
        ]
    );
    // What each offer costs SUP-3, all-in a year (lianrong_contracts::pricing): the
    // accepted one 3,650.00 / 396,350.00 x 360/90 x 100 = 29,200/7,927 = 3.683612...;
    // BANK-B's 4.20 % + 200.00 fees: 4,400.00 / 395,600.00 x 4 x 100 = 4.448938...
    let all_in: Vec<(Value, Value, Value)> = shown["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let c = &o["all_in"];
            (c["all_in"].clone(), c["days"].clone(), c["as_of"].clone())
        })
        .collect();
    assert_eq!(
        all_in,
        vec![
            (json!("3.6836"), json!(90), json!("today")),
            (json!("4.4489"), json!(90), json!("today"))
        ],
        "{shown}"
    );
    assert_cny(&shown["offers"][0]["all_in"]["net"], "396350.00");
    let text =
        s.c.run_as(node_of("SUP-3"), "SUP-3", &["financing", "show", &fin]);
    assert!(text.status.success(), "{}", text.stderr);
    let accepted_line = text
        .stdout
        .lines()
        .find(|l| l.starts_with(offer_a.as_str()))
        .unwrap_or_else(|| panic!("no line for {offer_a}: {}", text.stdout));
    assert!(
        accepted_line.contains("all-in 3.6836 % p.a. (90 days from"),
        "{accepted_line}"
    );
    // Financing the same receivable a second time is refused.
    s.refused(
        "SUP-3",
        &["financing", "request", &pass, "--bank", "BANK-B"],
        "under_financing",
    );
    // A disbursement of another amount than the agreed net is refused.
    s.refused(
        "BANK-A",
        &[
            "financing",
            "disburse",
            &fin,
            "--payment-ref",
            "CMB-SZ-2026-000730",
            "--net",
            "396000.00",
        ],
        "net_amount_mismatch",
    );
    let paid = s.write(
        "BANK-A",
        &[
            "financing",
            "disburse",
            &fin,
            "--payment-ref",
            "CMB-SZ-2026-000731",
            "--net",
            "396350.00",
        ],
    );
    let e = event(&paid, "financing_disbursed");
    assert_eq!(e["net"], json!({"amount": "396350.00", "currency": "CNY"}));
    assert_eq!(e["payment_ref"], "CMB-SZ-2026-000731");
    let e = event(&paid, "receivable_assigned");
    assert_eq!(
        (&e["receivable"], &e["from"], &e["to"]),
        (&json!(pass), &json!("SUP-3"), &json!("BANK-A"))
    );
    let disburse_tx = str_of(&paid["hash"]);
    let r = s.read("BANK-A", &["receivable", "show", &pass]);
    assert_receivable(
        &r,
        &pass,
        "BANK-A",
        "CORE-A",
        "400000.00",
        "0",
        &due90,
        "active",
    );
    assert_eq!(r["financing"], fin.as_str());
    let f = s.read("AUDIT", &["financing", "show", &fin]);
    assert_eq!(f["financing"]["status"], "disbursed", "{f}");
    assert_eq!(f["financing"]["payment_ref"], "CMB-SZ-2026-000731");
    // Disbursed: the accepted offer's all-in is now the disbursement's, the same figure.
    let cost = &f["offers"][0]["all_in"];
    assert_eq!(
        (&cost["all_in"], &cost["as_of"], &cost["days"]),
        (&json!("3.6836"), &json!("disbursement"), &json!(90)),
        "{f}"
    );
    // Disbursed the same day as accepted: 90 days from the value date.
    let d = &f["financing"]["disbursement"];
    assert_eq!(
        (&d["value_date"], &d["days"], &d["status"]),
        (&json!(today), &json!(90), &json!("unacknowledged")),
        "{f}"
    );
    // Only the applicant acknowledges the money; then it is a fact.
    s.refused("BANK-A", &["financing", "ack", &fin], "not_party");
    let acked = s.write("SUP-3", &["financing", "ack", &fin]);
    assert_eq!(
        event(&acked, "disbursement_acknowledged")["applicant"],
        "SUP-3"
    );
    let f = s.read("AUDIT", &["financing", "show", &fin]);
    assert_eq!(f["financing"]["disbursement"]["status"], "acknowledged");
    registry(&mut s, &fin, &today, &due90);

    // `tx show` of the disbursement: committed, by BANK-A, with the same receipt.
    let t = s.read("AUDIT", &["tx", "show", &disburse_tx]);
    assert_eq!(t["status"], "committed", "{t}");
    assert_eq!(t["height"], paid["height"]);
    assert_eq!(t["action_name"], "disburse");
    assert_eq!(t["signer"]["org"], "BANK-A");
    assert_eq!(t["receipt"]["tx_hash"], disburse_tx.as_str());
    assert_eq!(t["receipt"]["outcome"]["Ok"], paid["events"], "{t}");

    // ---- 5. Another trade: CORE-B owes SUP-2 250,000.00 CNY, due in 30 days.
    trade(&mut s, "CORE-B", "SUP-2", "PO-2026-0002", "250000.00");
    let sup2_tax = str_of(&s.read("AUDIT", &["org", "show", "SUP-2"])["tax_id"]);
    let (inv_doc, _) = doc(&c, "DF-2026-55.pdf", "DF-2026-55 invoice");
    let register = [
        "invoice",
        "register",
        "--id",
        "INV-DF-2026-55",
        "--order",
        "PO-2026-0002",
        "--number",
        "DF-2026-55",
        "--issue-date",
        &today,
        "--due-date",
        &due30,
        "--amount",
        "250000.00",
        "--doc",
        &inv_doc,
        "--confirm",
    ];
    // CORE-B and SUP-2 trade (SUP-2 accepted PO-2026-0002): the CLI fills in SUP-2's tax
    // id, which CORE-B reads as its counterparty (it used to be masked, so this failed).
    let confirmed = s.write("CORE-B", &register);
    let registered = s.read("CORE-B", &["invoice", "show", "INV-DF-2026-55"]);
    assert_eq!(
        registered["seller_tax_id"],
        sup2_tax.as_str(),
        "{registered}"
    );
    let issued = event(&confirmed, "receivable_issued");
    let late = str_of(&issued["receivable"]);
    let r = s.read("SUP-2", &["receivable", "show", &late]);
    assert_receivable(
        &r,
        &late,
        "SUP-2",
        "CORE-B",
        "250000.00",
        "0",
        &due30,
        "active",
    );

    // ---- 6. Time passes. Maturity + 3 grace days is day 33: still active then ...
    c.set_clock_offset_ms(base + 33 * DAY_MS);
    wait_block_time(&c, t0 + 33 * DAY_MS);
    let r = s.read("AUDIT", &["receivable", "show", &late]);
    assert_eq!(
        r["status"], "active",
        "not overdue within the grace days: {r}"
    );
    // ... and overdue on day 34.
    c.set_clock_offset_ms(base + 34 * DAY_MS);
    wait_until(&format!("{late} is overdue"), WAIT, || {
        c.cli(node_of("SUP-2"), "SUP-2", &["receivable", "show", &late])
            .ok()["status"]
            == "overdue"
    });
    // The sweep ran in a block no story step waited for: reads on other nodes must
    // first reach the block where SUP-2's node saw it.
    s.last = s.last.max(c.height(node_of("SUP-2")));
    let overdue = s.read(
        "CORE-B",
        &[
            "receivable",
            "list",
            "--debtor",
            "CORE-B",
            "--status",
            "overdue",
        ],
    );
    let ids: Vec<&Value> = overdue
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["id"])
        .collect();
    assert_eq!(ids, vec![&json!(late)], "{overdue}");
    // CORE-A's receivables mature on day 90: not overdue.
    for id in [&pass, &keep, &small] {
        assert_eq!(
            s.read("AUDIT", &["receivable", "show", id])["status"],
            "active"
        );
    }

    // ---- 7. Maturity of CORE-A's receivables (day 91): CORE-A pays the holders -- the
    // maturity settlement (清分) of the split root, a repayment of the other -- and each
    // holder acknowledges; only the acknowledgement counts.
    c.set_clock_offset_ms(base + 91 * DAY_MS);
    wait_block_time(&c, t0 + 91 * DAY_MS);
    let cleared = s.write(
        "CORE-A",
        &[
            "settlement",
            "root",
            &big,
            "--payment-ref",
            "HX-PAY-2027-0201",
        ],
    );
    let mut lines: Vec<(String, String, String)> = cleared["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e.get("settlement_instructed"))
        .map(|e| {
            (
                str_of(&e["receivable"]),
                str_of(&e["payee"]),
                str_of(&e["settlement"]),
            )
        })
        .collect();
    lines.sort();
    let mut want_lines = vec![
        (pass.clone(), "BANK-A".to_string()),
        (keep.clone(), "SUP-1".to_string()),
    ];
    want_lines.sort();
    assert_eq!(
        lines
            .iter()
            .map(|(r, p, _)| (r.clone(), p.clone()))
            .collect::<Vec<_>>(),
        want_lines,
        "one line per current holder: {cleared}"
    );
    let single = s.write(
        "CORE-A",
        &[
            "repay",
            &small,
            "--amount",
            "300000.00",
            "--payment-ref",
            "HX-PAY-2027-0203",
        ],
    );
    let e = event(&single, "settlement_instructed");
    assert_eq!(e["payee"], "SUP-1", "the payee defaults to the holder: {e}");
    lines.push((small.clone(), "SUP-1".into(), str_of(&e["settlement"])));
    let settlement_of = |rcv: &str| {
        lines
            .iter()
            .find(|(r, ..)| r == rcv)
            .map(|(_, _, st)| st.clone())
            .unwrap()
    };
    for (rcv, holder, amount) in [
        (&pass, "BANK-A", "400000.00"),
        (&keep, "SUP-1", "300000.00"),
        (&small, "SUP-1", "300000.00"),
    ] {
        // Instructed but not acknowledged: nothing repaid yet.
        let before = s.read("CORE-A", &["receivable", "show", rcv]);
        assert_receivable(
            &before, rcv, holder, "CORE-A", amount, "0", &due90, "active",
        );
        let stl = settlement_of(rcv);
        let shown = s.read(holder, &["settlement", "show", &stl]);
        assert_eq!(
            (&shown["status"], &shown["payee"]),
            (&json!("pending"), &json!(holder)),
            "{shown}"
        );
        s.refused("CORE-A", &["settlement", "ack", &stl], "not_party");
        let repaid = s.write(holder, &["settlement", "ack", &stl]);
        s.refused(holder, &["settlement", "ack", &stl], "wrong_status");
        let e = event(&repaid, "receivable_repaid");
        assert_eq!(e["to"], holder, "repaid to the current holder: {e}");
        assert_cny(&e["amount"], amount);
        assert_cny(&e["outstanding"], "0.00");
        assert_eq!(
            event(&repaid, "receivable_settled")["receivable"],
            rcv.as_str()
        );
        let after = s.read(holder, &["receivable", "show", rcv]);
        assert_receivable(
            &after, rcv, holder, "CORE-A", amount, amount, &due90, "settled",
        );
    }
    // Conservation: for each root, live face + repaid = the confirmed amount.
    let all = s.read("AUDIT", &["receivable", "list", "--debtor", "CORE-A"]);
    let mut got: Vec<(String, String, String)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (str_of(&r["id"]), str_of(&r["status"]), str_of(&r["holder"])))
        .collect();
    got.sort();
    let mut want = vec![
        (big.clone(), "split".to_string(), "SUP-1".to_string()),
        (small.clone(), "settled".into(), "SUP-1".into()),
        (pass.clone(), "settled".into(), "BANK-A".into()),
        (keep.clone(), "settled".into(), "SUP-1".into()),
    ];
    want.sort();
    assert_eq!(got, want);
    let f = s.read("BANK-A", &["financing", "show", &fin]);
    assert_eq!(
        f["financing"]["status"], "closed",
        "repaid in full closes it: {f}"
    );
    let late_now = s.read("AUDIT", &["receivable", "show", &late]);
    assert_receivable(
        &late_now,
        &late,
        "SUP-2",
        "CORE-B",
        "250000.00",
        "0",
        &due30,
        "overdue",
    );

    // `receivable history`: the lineage root -> part, and every step with its block,
    // signer and transaction.
    let h = s.read("AUDIT", &["receivable", "history", &pass]);
    assert_eq!(h["receivable"]["id"], pass.as_str());
    assert_eq!(h["receivable"]["status"], "settled");
    let lineage: Vec<&Value> = h["lineage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["id"])
        .collect();
    assert_eq!(lineage, vec![&json!(big), &json!(pass)], "{h}");
    assert_eq!(h["invoice"]["id"], invoices[0].0.as_str());
    assert_eq!(h["invoice"]["number"], "JN-2026-0117");
    let steps: Vec<(String, String, String, Value)> = h["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|step| {
            step["history"].as_array().unwrap().iter().map(move |e| {
                assert!(e["height"].as_u64().is_some_and(|h| h > 0), "{e}");
                // A signed step names its transaction; the ledger's own (overdue) none.
                let signer = e["signer"].as_str().unwrap_or("(ledger)").to_string();
                if signer != "(ledger)" {
                    assert!(e["tx"].as_str().is_some_and(|t| t.len() == 64), "{e}");
                }
                let (name, fields) = e["event"].as_object().unwrap().iter().next().unwrap();
                (
                    str_of(&step["receivable"]),
                    signer,
                    name.clone(),
                    fields.clone(),
                )
            })
        })
        .collect();
    let names: Vec<(&str, &str, &str)> = steps
        .iter()
        .map(|(r, signer, name, _)| (r.as_str(), signer.as_str(), name.as_str()))
        .collect();
    for expected in [
        (big.as_str(), "CORE-A", "invoice_confirmed"),
        (big.as_str(), "SUP-1", "receivable_split"),
        (pass.as_str(), "SUP-1", "receivable_transferred"),
        (pass.as_str(), "SUP-3", "financing_requested"),
        (pass.as_str(), "BANK-A", "receivable_assigned"),
        (pass.as_str(), "CORE-A", "settlement_instructed"),
        (pass.as_str(), "BANK-A", "settlement_acknowledged"),
        (pass.as_str(), "BANK-A", "receivable_repaid"),
        (pass.as_str(), "BANK-A", "receivable_settled"),
    ] {
        assert!(
            names.contains(&expected),
            "history lacks {expected:?}: {names:?}"
        );
    }
    let positions: Vec<usize> = [
        "receivable_transferred",
        "financing_requested",
        "receivable_assigned",
        "settlement_instructed",
        "settlement_acknowledged",
        "receivable_repaid",
    ]
    .iter()
    .map(|n| names.iter().position(|(_, _, name)| name == n).unwrap())
    .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "history out of order: {names:?}"
    );
    let assigned = h["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|st| st["history"].as_array().unwrap())
        .find(|e| e["event"].get("receivable_assigned").is_some())
        .unwrap();
    assert_eq!(
        assigned["tx"],
        disburse_tx.as_str(),
        "the assignment is the disbursement"
    );
    assert_eq!(assigned["height"], paid["height"]);

    // ---- 8. A warehouse receipt pledged to a bank, accepted, and released.
    warehouse_pledge(&mut s);

    // ---- 9. A corrected invoice (UBL 384) is imported only once its original is voided.
    corrected_invoice(&mut s, &date(91), &date(121), &sup1_tax, &core_a_tax);

    // ---- 10. Dual control: a large confirmation waits for CORE-A's second key.
    maker_checker(&mut s, &date(91), &date(151));

    // ---- 11. A programme: BANK-A's with CORE-A, accepted, SUP-1 joins; its request
    // gets the grid's offer at once, accepted and disbursed at 80 % advanced.
    programme(&mut s, &date(91), &date(151));

    // ---- 12. Inventory finance: a loan against pledged copper, a price drop, a margin
    // call, a top-up and a partial release against repayment.
    inventory_loan(&mut s, &date(151));

    // ---- 13. A secondary sale: BANK-A sells part of a financing to BANK-B.
    secondary_sale(&mut s, &date(91), &date(151));

    eprintln!(
        "story through the CLI on 4 nodes: {} blocks, {:.1} s",
        s.last,
        started.elapsed().as_secs_f64()
    );
}
