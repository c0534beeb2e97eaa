//! One wire schema, read two ways: a real 4-node `lianrong testnet` commits a trade (order,
//! acceptance, shipment, delivery, an invoice registered and confirmed into a receivable)
//! through the SDK's signer, then every answer a user relies on -- status, a block, a
//! transaction, documents, the org and receivable list pages, a receivable's history, a
//! Merkle proof, a history proof of many pages and one `/v1/events` block notice -- is read through the SDK's typed
//! client AND through the explorer's `NodeApi` (`SdkNode`). Both must give equal typed
//! values, every field must be present and agree with the others (heights, hashes, the
//! block listing the transaction, the proof verifying against the block's state root), and
//! the explorer's follower must index the same block, transaction and documents from the
//! live node.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::stream::BoxStream;
use futures::StreamExt;
use lianrong_api_types::{BlockNotice, ProofResponse, ReceivableHistory, Status};
use lianrong_contracts::action::InvoiceSpec;
use lianrong_contracts::exec::business_date;
use lianrong_contracts::model::{DocId, Invoice, Receivable};
use lianrong_contracts::money::{Money, Unit};
use lianrong_contracts::{Action, DocKind, Event};
use lianrong_explorer::index::{Follower, Index};
use lianrong_explorer::node::{Doc, NodeApi, NodeError, SdkNode};
use lianrong_primitives::{sha256, Hash, OrgId};
use lianrong_sdk::{Auth, Client, MemberKey, NodeEvent, SdkError, Signer, TrustRoot};
use lianrong_tests::Cluster;

/// How long any awaited condition may take.
const WAIT: Duration = Duration::from_secs(30);
/// One day in ms.
const DAY_MS: u64 = 86_400_000;
/// The network's business time zone (UTC+8).
const UTC_OFFSET_MIN: i32 = 480;

const ORDER: &str = "PO-WIRE-1";
const SHIPMENT: &str = "SHP-WIRE-1";
const INVOICE: &str = "INV-WIRE-1";

fn id(s: &str) -> DocId {
    DocId::new(s).unwrap()
}

fn org(s: &str) -> OrgId {
    OrgId::new(s).unwrap()
}

fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Polls `f` until it gives `Some`; panics after [`WAIT`], naming `what`.
async fn poll<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut f: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The signer of `who` (its member key file) on node `i`.
async fn signer(c: &Cluster, i: usize, who: &str) -> Signer {
    let client = Client::new(&c.nodes[i].api, Auth::Token(c.token(who))).unwrap();
    let key = MemberKey::load(&c.key_file(who)).unwrap();
    Signer::new(client, key).await.unwrap()
}

/// CORE-A orders from SUP-1, SUP-1 accepts, LOGI ships and delivers: every step through
/// the SDK, each on another node.
async fn trade(c: &Cluster) {
    let core = signer(c, 1, "CORE-A").await;
    let sup = signer(c, 0, "SUP-1").await;
    let logi = signer(c, 3, "LOGI").await;
    let amount = Money::parse("1000000.00", "CNY").unwrap();
    let po_hash = sha256(b"PO-WIRE-1 purchase order");
    core.issue_order(
        id(ORDER),
        org("SUP-1"),
        amount,
        "net 90".into(),
        po_hash,
        vec![org("LOGI")],
    )
    .await
    .unwrap();
    sup.accept_order(id(ORDER)).await.unwrap();
    logi.attest_shipment(id(SHIPMENT), id(ORDER), amount, sha256(b"bill of lading"))
        .await
        .unwrap();
    logi.confirm_delivery(id(SHIPMENT)).await.unwrap();
}

/// CORE-A registers and confirms SUP-1's invoice of 400,000.00 CNY, due in 90 days: the
/// transaction's hash and height and the receivable it created.
async fn register_invoice(c: &Cluster, sdk: &Client) -> (Hash, u64, DocId) {
    let core = signer(c, 1, "CORE-A").await;
    let seller = sdk.org(&org("SUP-1")).await.unwrap();
    let buyer = sdk.org(&org("CORE-A")).await.unwrap();
    let date = |days: u64| business_date(wall_ms() + days * DAY_MS, UTC_OFFSET_MIN).unwrap();
    let spec = InvoiceSpec {
        id: id(INVOICE),
        order: id(ORDER),
        number: "FP-WIRE-0001".into(),
        issue_date: date(0),
        due_date: date(90),
        maturity: None,
        amount: Money::parse("400000.00", "CNY").unwrap(),
        seller_tax_id: seller.tax_id,
        buyer_tax_id: buyer.tax_id,
        doc_hash: sha256(b"invoice FP-WIRE-0001"),
    };
    let done = core.register_invoice(spec, true).await.unwrap();
    let rcv = done
        .created(DocKind::Receivable)
        .unwrap_or_else(|| panic!("no receivable created: {:?}", done.events));
    (done.hash, done.height, rcv)
}

type SdkEvents = BoxStream<'static, Result<NodeEvent, SdkError>>;
type ExplorerEvents = BoxStream<'static, Result<BlockNotice, NodeError>>;

/// The next block notice of the SDK's stream.
async fn next_sdk_notice(s: &mut SdkEvents) -> BlockNotice {
    match s.next().await {
        Some(Ok(NodeEvent::Block(b))) => *b,
        other => panic!("expected a block notice through the SDK, got {other:?}"),
    }
}

/// The notice of the block that holds `tx`, read from both streams (subscribed before it
/// was submitted, so both see that block).
async fn notices_of(
    sdk: &mut SdkEvents,
    exp: &mut ExplorerEvents,
    tx: Hash,
) -> (BlockNotice, BlockNotice) {
    let holds = |n: &BlockNotice| n.receipts.iter().any(|r| r.tx_hash == tx);
    let read = async {
        let mut a = next_sdk_notice(sdk).await;
        while !holds(&a) {
            a = next_sdk_notice(sdk).await;
        }
        let mut b = exp.next().await.unwrap().unwrap();
        while b.height < a.height {
            b = exp.next().await.unwrap().unwrap();
        }
        (a, b)
    };
    tokio::time::timeout(WAIT, read)
        .await
        .expect("no block notice with the transaction")
}

/// Told of block `height` on the event stream, a client reads a status of at least that
/// height from the same node: the stream never runs ahead of `/v1/status` (it did, and a
/// client that waited for status heights read a nonce a block old; docs/field-notes.md).
async fn status_keeps_up_with(sdk: &Client, height: u64) {
    let status = sdk.status().await.unwrap();
    assert!(
        status.height >= height,
        "told of block {height}, the status says {}",
        status.height
    );
}

/// Status read as SDK, explorer, SDK: the same chain and validators, heights in order,
/// and every field present and plausible.
async fn check_status(c: &Cluster, sdk: &Client, exp: &SdkNode, tx_height: u64) -> Status {
    let before = sdk.status().await.unwrap();
    let s = exp.status().await.unwrap();
    let after = sdk.status().await.unwrap();
    assert_eq!(s.chain_id, c.chain_id);
    assert_eq!(
        (&before.chain_id, &after.chain_id),
        (&s.chain_id, &s.chain_id)
    );
    assert_eq!(before.validators, s.validators);
    assert_eq!(after.validators, s.validators);
    assert!(
        before.height <= s.height && s.height <= after.height && s.height >= tx_height,
        "heights {} <= {} <= {}, tx at {tx_height}",
        before.height,
        s.height,
        after.height
    );
    assert_eq!(s.validators.len(), 4, "{:?}", s.validators);
    let orgs: Vec<&str> = s.validators.iter().map(|v| v.org.as_str()).collect();
    assert!(
        orgs.contains(&"BANK-A") && orgs.contains(&"CORE-A"),
        "{orgs:?}"
    );
    let keys: Vec<_> = s.validators.iter().map(|v| v.node_key).collect();
    assert!(s.peers.iter().all(|p| keys.contains(p)), "{:?}", s.peers);
    assert!(
        s.last_block_hash.is_some() && s.state_root.is_some(),
        "{s:?}"
    );
    let age = wall_ms().abs_diff(s.last_finalized_at_ms);
    assert!(age < 600_000, "last finalized {age} ms from now: {s:?}");
    assert!(s.round > 0, "{s:?}");
    s
}

/// Block `h` and transaction `tx` through both: equal, and consistent with each other and
/// with the notice of that block.
async fn check_block_and_tx(sdk: &Client, exp: &SdkNode, h: u64, tx: Hash, notice: &BlockNotice) {
    let b = exp.block(h).await.unwrap();
    assert_eq!(sdk.block(h).await.unwrap(), b, "block {h} differs");
    assert_eq!(b.height, h);
    assert!(b.tx_hashes.contains(&tx), "block {h} lacks {tx}: {b:?}");
    assert_eq!(b.hash, notice.block_hash);
    assert_eq!(b.state_root, Some(notice.state_root));
    assert_eq!(b.timestamp_ms, notice.time_ms);
    assert_eq!(b.tx_hashes.len() as u64, notice.tx_count);
    assert!(b.timestamp_ms > 0 && wall_ms().abs_diff(b.timestamp_ms) < 600_000);
    let cert = b
        .commit_certificate
        .as_ref()
        .expect("block without certificate");
    assert!(cert.qc.signers.len() >= 3, "{:?}", cert.qc.signers);
    assert_eq!(cert.qc.signers.len(), cert.qc.signatures.len());
    let parent = exp.block(h - 1).await.unwrap();
    assert_eq!(b.parent, parent.hash);

    let t = exp.transaction(tx).await.unwrap();
    assert_eq!(
        sdk.transaction(&tx).await.unwrap(),
        t,
        "transaction {tx} differs"
    );
    assert_eq!((t.hash, t.height, t.status.as_str()), (tx, h, "committed"));
    assert_eq!(b.tx_hashes[t.index as usize], tx);
    assert_eq!(t.signer.org.as_str(), "CORE-A");
    assert_eq!(t.action_name, "register_invoice");
    assert_eq!(t.action.name(), "register_invoice");
    let receipt = t.receipt.as_ref().expect("no receipt");
    assert_eq!((receipt.tx_hash, receipt.signer.as_str()), (tx, "CORE-A"));
    let events = receipt.outcome.as_ref().expect("refused");
    assert!(!events.is_empty());
    let in_notice = notice.receipts.iter().find(|r| r.tx_hash == tx).unwrap();
    assert_eq!(in_notice, receipt);
}

/// The order, invoice and receivable through both: equal and as committed.
async fn check_documents(sdk: &Client, exp: &SdkNode, rcv: &DocId) -> (Invoice, Receivable) {
    let Doc::Order(o) = exp.document(DocKind::Order, ORDER).await.unwrap() else {
        panic!("not an order")
    };
    assert_eq!(sdk.order(&id(ORDER)).await.unwrap(), o);
    assert!(
        o.delivered == o.amount.amount && o.shipments == [id(SHIPMENT)],
        "{o:?}"
    );
    let Doc::Invoice(inv) = exp.document(DocKind::Invoice, INVOICE).await.unwrap() else {
        panic!("not an invoice")
    };
    assert_eq!(sdk.invoice(&id(INVOICE)).await.unwrap(), inv);
    assert_eq!(inv.receivable.as_ref(), Some(rcv));
    assert_eq!(
        (inv.seller.as_str(), inv.buyer.as_str()),
        ("SUP-1", "CORE-A")
    );
    assert_eq!(inv.amount, Money::parse("400000.00", "CNY").unwrap());
    let Doc::Receivable(r) = exp
        .document(DocKind::Receivable, rcv.as_str())
        .await
        .unwrap()
    else {
        panic!("not a receivable")
    };
    assert_eq!(sdk.receivable(rcv).await.unwrap(), r);
    assert_eq!((r.holder.as_str(), r.debtor.as_str()), ("SUP-1", "CORE-A"));
    assert_eq!((r.face, r.invoice.as_str()), (inv.amount, INVOICE));
    assert_eq!(r.maturity, inv.due_date);
    (inv, r)
}

/// The receivable's history and a Merkle proof through both: equal, the history naming
/// the transaction, the proof verifying from the genesis file alone against a certified
/// state root, and the history proven entry by entry.
async fn check_history_and_proof(
    c: &Cluster,
    sdk: &Client,
    exp: &SdkNode,
    (r, tx, h): (&Receivable, Hash, u64),
) {
    let hist = exp.receivable_history(r.id.as_str()).await.unwrap();
    assert_eq!(sdk.receivable_history(&r.id).await.unwrap(), hist);
    assert_eq!(&hist.receivable, r);
    assert_eq!(hist.lineage, std::slice::from_ref(r));
    assert_eq!(hist.invoice.as_ref().map(|i| i.id.as_str()), Some(INVOICE));
    let steps = &hist.steps[0];
    assert_eq!(steps.receivable, r.id);
    assert!(
        steps
            .history
            .iter()
            .any(|e| e.tx == Some(tx) && e.height == h && e.signer == Some(org("CORE-A"))),
        "{steps:?}"
    );
    // The proof is against the latest certified state root (a block or two behind):
    // read both until they agree on one that covers the invoice's block.
    let (a, p) = poll(
        "the SDK and the explorer read a proof at one certified height",
        || async {
            let a = sdk.proof(DocKind::Receivable, r.id.as_str()).await.unwrap();
            let p = exp.proof(DocKind::Receivable, r.id.as_str()).await.unwrap();
            (a.height == p.height && p.height >= h).then_some((a, p))
        },
    )
    .await;
    assert_eq!(a, p, "proofs differ");
    assert_eq!(
        (p.kind.as_str(), p.id.as_str()),
        ("receivable", r.id.as_str())
    );
    let at = exp.block(p.height).await.unwrap();
    assert_eq!(at.state_root, Some(p.state_root));
    let root = TrustRoot::from_genesis_file(&c.dir.join("genesis.json")).unwrap();
    let v = lianrong_sdk::verify_document(&p, DocKind::Receivable, r.id.as_str(), &root).unwrap();
    assert_eq!((v.height, v.state_root), (p.height, p.state_root));
    assert!(v.certified_by.height > v.height, "{v:?}");
    let value = v
        .value
        .expect("an absence proof for an existing receivable");
    let proven: Receivable = lianrong_primitives::codec::decode_stored(&value, 1 << 20).unwrap();
    assert_eq!(&proven, r);
    // Not a proof of another document, whatever the node says it is.
    assert!(lianrong_sdk::verify_document(&p, DocKind::Receivable, "RCV-OTHER", &root).is_err());
    let hp = sdk
        .history_proof(DocKind::Receivable, r.id.as_str())
        .await
        .unwrap();
    let proven =
        lianrong_sdk::verify_history(&hp, DocKind::Receivable, r.id.as_str(), &root).unwrap();
    assert!(
        proven.entries.iter().any(|e| e.tx == Some(tx)),
        "{proven:?}"
    );
}

/// A bank's own org record gains an entry per price it posts, without end: past one page
/// (1,000 entries) its history proof comes in pages (`history_next`, `after=`), which the
/// SDK and the explorer gather and verify whole -- one page alone verifies nothing.
async fn check_long_history(c: &Cluster, sdk: &Client, exp: &SdkNode) {
    const PRICES: usize = 1_100;
    let bank = signer(c, 2, "BANK-A").await;
    let mut committed_at = 0;
    // In runs the mempool's per-signer bound (512) admits; a run's last commit means the
    // whole run committed (one signer's nonces execute in order).
    for run in (0..PRICES).collect::<Vec<_>>().chunks(400) {
        let mut last = None;
        for i in run {
            let price = Money::parse(&format!("{}.00", 50_000 + i), "CNY").unwrap();
            let action = Action::PostPrice {
                goods: "copper".into(),
                unit: Unit::parse("t").unwrap(),
                price,
            };
            last = Some(bank.submit_nowait(action).await.unwrap());
        }
        committed_at = committed_height(&bank, last.unwrap()).await;
    }
    let root = TrustRoot::from_genesis_file(&c.dir.join("genesis.json")).unwrap();
    let whole = poll("the certified history covers every price", || async {
        let p = sdk.history_proof(DocKind::Org, "BANK-A").await.unwrap();
        (p.height >= committed_at).then_some(p)
    })
    .await;
    let v = lianrong_sdk::verify_history(&whole, DocKind::Org, "BANK-A", &root).unwrap();
    let prices = |entries: &[lianrong_contracts::HistoryEntry]| {
        entries
            .iter()
            .filter(|e| matches!(e.event, Event::PricePosted { .. }))
            .count()
    };
    assert_eq!(prices(&v.entries), PRICES);
    let first: ProofResponse = sdk
        .get_json("/v1/proofs/org/BANK-A?of=history")
        .await
        .unwrap();
    assert_eq!(first.history.len(), 1_000);
    let next = first.history_next.clone().expect("a next page");
    assert!(lianrong_sdk::verify_history(&first, DocKind::Org, "BANK-A", &root).is_err());
    let second: ProofResponse = sdk
        .get_json(&format!("/v1/proofs/org/BANK-A?of=history&after={next}"))
        .await
        .unwrap();
    assert_eq!(second.history.first(), whole.history.get(1_000));
    // The explorer gathers the same pages.
    let e = exp.history_proof(DocKind::Org, "BANK-A").await.unwrap();
    let ev = lianrong_sdk::verify_history(&e, DocKind::Org, "BANK-A", &root).unwrap();
    assert_eq!(prices(&ev.entries), PRICES);
    // A cursor that is not one is the caller's mistake, named.
    let bad = sdk
        .get_json::<serde_json::Value>("/v1/proofs/org/BANK-A?of=history&after=12")
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("HEIGHT.TX.SEQ"), "{bad}");
}

/// The finding: `GET /v1/receivables/{id}/history` cut each receivable's steps at 500
/// entries without a word, so a long lineage or a long-lived receivable showed a short
/// history, and the explorer's lineage check (which proves every entry) reported it not
/// proven. SUP-1 splits off 0.01 two hundred times, each time from the newest remainder:
/// the last remainder's lineage is 201 receivables with ~600 entries. The node's first
/// page holds 500 and a `next`; the SDK's and the explorer's readers gather every page,
/// and each member's gathered steps are exactly the entries its certified history proves.
async fn check_long_lineage(c: &Cluster, sdk: &Client, exp: &SdkNode, r: &Receivable) {
    const SPLITS: u64 = 200;
    let sup = signer(c, 0, "SUP-1").await;
    let first_child: u64 = sdk
        .receivables(&lianrong_sdk::ReceivableFilter::default())
        .await
        .unwrap()
        .len() as u64
        + 1;
    let cent = Money::parse("0.01", "CNY").unwrap().amount;
    let (mut parent, mut rest, mut last) = (r.id.clone(), r.face.amount, None);
    for k in 0..SPLITS {
        rest = rest.checked_sub(cent).unwrap();
        let action = Action::SplitReceivable {
            receivable: parent.clone(),
            parts: vec![cent, rest],
        };
        last = Some(sup.submit_nowait(action).await.unwrap());
        // The parts take the next receivable numbers in order; the remainder is second.
        parent = id(&format!("RCV-{}", first_child + 2 * k + 1));
    }
    let committed_at = committed_height(&sup, last.unwrap()).await;
    let leaf = parent;
    let url = format!("/v1/receivables/{leaf}/history");
    let first: ReceivableHistory = sdk.get_json(&url).await.unwrap();
    let listed: usize = first.steps.iter().map(|s| s.history.len()).sum();
    assert_eq!(listed, lianrong_api_types::HISTORY_STEPS_PAGE);
    assert!(first.next.is_some(), "a first page of 500 says more follow");
    let whole = sdk.receivable_history(&leaf).await.unwrap();
    assert_eq!(whole, exp.receivable_history(leaf.as_str()).await.unwrap());
    assert_eq!(whole.next, None);
    assert_eq!(whole.lineage.len() as u64, SPLITS + 1);
    assert_eq!(
        whole.steps.len(),
        whole.lineage.len(),
        "one step per member"
    );
    let entries: usize = whole.steps.iter().map(|s| s.history.len()).sum();
    assert!(entries > listed, "{entries} entries gathered");
    let root = TrustRoot::from_genesis_file(&c.dir.join("genesis.json")).unwrap();
    for (member, step) in whole.lineage.iter().zip(&whole.steps).step_by(40) {
        assert_eq!(member.id, step.receivable);
        let proof = poll("the certified history covers every split", || async {
            let p = sdk
                .history_proof(DocKind::Receivable, member.id.as_str())
                .await
                .unwrap();
            (p.height >= committed_at).then_some(p)
        })
        .await;
        let v =
            lianrong_sdk::verify_history(&proof, DocKind::Receivable, member.id.as_str(), &root)
                .unwrap();
        assert_eq!(
            step.history, v.entries,
            "{}: the gathered steps are the proven history",
            member.id
        );
    }
}

/// The height `tx` (submitted by `s`) committed at.
async fn committed_height(s: &Signer, tx: Hash) -> u64 {
    s.wait(&tx).await.unwrap().height
}

/// The org and receivable lists page the same through both readers (`next` on every page
/// but the last), and the SDK's all-pages helpers follow them to the end.
async fn check_lists(sdk: &Client, exp: &SdkNode, r: &Receivable) {
    let a = sdk.orgs_page(None, Some(2)).await.unwrap();
    assert_eq!(a, exp.orgs_page(None, 2).await.unwrap(), "org pages differ");
    let next = a.next.clone().expect("the testnet has more than two orgs");
    assert_eq!(Some(&next), a.items.last().map(|o| &o.id));
    let b = sdk.orgs_page(Some(&next), Some(2)).await.unwrap();
    assert!(b.items.iter().all(|o| o.id > next), "{b:?}");
    let all = sdk.orgs().await.unwrap();
    assert!(all.len() > 2 && all.windows(2).all(|w| w[0].id < w[1].id));
    let filter = lianrong_sdk::ReceivableFilter {
        limit: Some(1),
        ..Default::default()
    };
    let page = sdk.receivables_page(&filter).await.unwrap();
    assert_eq!(page, exp.receivables_page(None, 1).await.unwrap());
    let every = sdk.receivables(&filter).await.unwrap();
    assert!(every.contains(r), "{every:?}");
}

/// The explorer's follower over the live node indexes the block, the transaction and the
/// documents exactly as read above.
async fn check_index(exp: SdkNode, b_hash: Hash, tx: Hash, h: u64, inv: &Invoice, r: &Receivable) {
    let index = Arc::new(Index::new(10_000));
    let (updates, _rx) = tokio::sync::broadcast::channel(1024);
    let store = lianrong_explorer::store::Store::memory().await.unwrap();
    let follower = Follower::new(Arc::new(exp), index.clone(), store.clone(), updates);
    follower.rebuild().await.unwrap();
    // The store holds every block (the in-memory cache only the newest 120).
    let row = store.block(h).await.unwrap().expect("the block is stored");
    index.read(|d| {
        assert!(d.height >= h && d.last_error.is_none());
        assert_eq!(row.hash, b_hash.to_hex());
        assert!(row.tx_hashes.contains(&tx.to_hex()));
        assert!(row.signers.as_ref().is_some_and(|s| s.len() >= 3));
        let t = d.tx(&tx.to_hex()).expect("transaction not indexed");
        assert_eq!(
            (t.height, t.ok, t.action_name.as_str()),
            (h, true, "register_invoice")
        );
        assert_eq!((t.signer_org.as_str(), t.time_ms), ("CORE-A", row.time_ms));
        assert!(t.parties.contains(&"SUP-1".to_string()), "{:?}", t.parties);
        assert_eq!(d.invoices.get(INVOICE), Some(inv));
        assert_eq!(d.receivables.get(r.id.as_str()), Some(r));
        assert!(!d.orders[ORDER].delivered.is_zero());
    });
}

async fn scenario(c: &Cluster) {
    let api = &c.nodes[0].api;
    let sdk = Client::new(api, Auth::Token(c.token("AUDIT"))).unwrap();
    let exp = SdkNode::new(api, &c.token("AUDIT")).unwrap();
    trade(c).await;
    // Subscribe both before the invoice, so both see its block.
    let mut sdk_events = sdk.events().await.unwrap();
    let mut exp_events = exp.events().await.unwrap();
    let (tx, h, rcv) = register_invoice(c, &sdk).await;
    let (notice, exp_notice) = notices_of(&mut sdk_events, &mut exp_events, tx).await;
    status_keeps_up_with(&sdk, notice.height).await;
    assert_eq!(notice, exp_notice, "the block notice differs");
    assert_eq!((notice.height, notice.tx_count > 0), (h, true));
    assert!(notice.ledger_events.is_empty(), "{notice:?}");
    // Node 0 has committed two blocks past it (its certificate is stored).
    poll("node 0 is two blocks past the invoice", || async {
        (sdk.status().await.unwrap().height >= h + 2).then_some(())
    })
    .await;
    check_status(c, &sdk, &exp, h).await;
    for _ in 0..4 {
        let next = tokio::time::timeout(WAIT, next_sdk_notice(&mut sdk_events))
            .await
            .expect("no next block notice");
        status_keeps_up_with(&sdk, next.height).await;
    }
    check_block_and_tx(&sdk, &exp, h, tx, &notice).await;
    let (inv, r) = check_documents(&sdk, &exp, &rcv).await;
    check_history_and_proof(c, &sdk, &exp, (&r, tx, h)).await;
    check_lists(&sdk, &exp, &r).await;
    check_long_history(c, &sdk, &exp).await;
    check_index(exp, notice.block_hash, tx, h, &inv, &r).await;
    // Last: it splits the receivable the checks above compare.
    let exp = SdkNode::new(api, &c.token("AUDIT")).unwrap();
    check_long_lineage(c, &sdk, &exp, &r).await;
}

#[test]
fn the_sdk_and_the_explorer_read_the_same_typed_answers() {
    let c = Cluster::start(4);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(scenario(&c));
    // Dropping the cluster SIGKILLs every node.
}
