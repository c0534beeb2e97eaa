//! Lists read page by page against a mock node that pages like the real one: the
//! all-pages helpers return every item exactly once, in order, passing each page's
//! `next` back as `after`, and a node whose pages never end is refused.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::Uri;
use axum::routing::get;
use axum::{Json, Router};
use lianrong_sdk::contracts::model::{Org, Receivable, ReceivableStatus, Role};
use lianrong_sdk::contracts::money::{Amount, Money};
use lianrong_sdk::contracts::{Event, HistoryEntry};
use lianrong_sdk::primitives::OrgId;
use lianrong_sdk::{
    args, Auth, Client, HistorySteps, OrgPage, OrgQuery, ReceivableFilter, ReceivableHistory,
    ReceivablePage, StepsPages,
};

/// What the mock node holds, and the requests it answered.
#[derive(Default)]
struct Mock {
    receivables: Vec<Receivable>,
    orgs: Vec<Org>,
    asked: Mutex<Vec<String>>,
}

fn receivable(i: usize) -> Receivable {
    let id = args::doc_id(&format!("RCV-{i:05}")).unwrap();
    Receivable {
        id: id.clone(),
        debtor: args::org_id("CORE-A").unwrap(),
        holder: args::org_id(if i % 3 == 0 { "SUP-1" } else { "SUP-2" }).unwrap(),
        face: Money::parse("1.00", "CNY").unwrap(),
        repaid: Amount::ZERO,
        issue_date: "2026-01-01".parse().unwrap(),
        maturity: "2026-06-30".parse().unwrap(),
        root: id,
        parent: None,
        children: vec![],
        invoice: args::doc_id("INV-1").unwrap(),
        status: ReceivableStatus::Active,
        financing: None,
        tier: 1,
    }
}

fn org(i: usize) -> Org {
    Org {
        id: OrgId::new(format!("ORG-{i:04}")).unwrap(),
        name: String::new(),
        tax_id: String::new(),
        roles: vec![Role::Supplier],
        identifiers: vec![],
        keys: vec![],
        revoked_keys: vec![],
        admitted_at: 0,
    }
}

/// `items` after `after`, at most `limit`, and `next` while more remain: the node's rule.
fn page_of<T: Clone, K: PartialOrd>(
    items: impl Iterator<Item = T>,
    key: impl Fn(&T) -> K,
    after: Option<K>,
    limit: usize,
) -> (Vec<T>, Option<K>) {
    let mut rest = items.filter(|t| after.as_ref().is_none_or(|a| &key(t) > a));
    let page: Vec<T> = rest.by_ref().take(limit).collect();
    let more = rest.next().is_some();
    let next = page.last().filter(|_| more).map(&key);
    (page, next)
}

async fn receivables(
    State(m): State<Arc<Mock>>,
    uri: Uri,
    Query(f): Query<ReceivableFilter>,
) -> Json<ReceivablePage> {
    m.asked.lock().unwrap().push(uri.to_string());
    let held = m
        .receivables
        .iter()
        .filter(|r| f.holder.as_ref().is_none_or(|h| &r.holder == h))
        .cloned();
    let (items, next) = page_of(held, |r| r.id.clone(), f.after, f.limit.unwrap_or(100));
    Json(ReceivablePage { items, next })
}

async fn orgs(State(m): State<Arc<Mock>>, Query(q): Query<OrgQuery>) -> Json<OrgPage> {
    let (items, next) = page_of(
        m.orgs.iter().cloned(),
        |o| o.id.clone(),
        q.after,
        q.limit.unwrap_or(100),
    );
    Json(OrgPage { items, next })
}

async fn mock(m: Arc<Mock>) -> Client {
    let app = Router::new()
        .route("/v1/receivables", get(receivables))
        .route("/v1/orgs", get(orgs))
        .with_state(m);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Client::new(&format!("http://{addr}"), Auth::Token("t".into())).unwrap()
}

/// The finding: a list was one page of at most 500, read as if whole. Now every
/// receivable comes back once, in order, from pages linked by their cursors.
#[tokio::test]
async fn every_page_is_read_and_each_item_comes_back_once() {
    let m = Arc::new(Mock {
        receivables: (0..1_234).map(receivable).collect(),
        orgs: (0..612).map(org).collect(),
        ..Mock::default()
    });
    let client = mock(m.clone()).await;
    let all = client
        .receivables(&ReceivableFilter::default())
        .await
        .unwrap();
    assert_eq!(all, m.receivables);
    assert_eq!(
        m.asked.lock().unwrap().as_slice(),
        [
            "/v1/receivables?limit=500",
            "/v1/receivables?after=RCV-00499&limit=500",
            "/v1/receivables?after=RCV-00999&limit=500",
        ]
    );

    // With a filter and a page size of its own, starting after a cursor.
    m.asked.lock().unwrap().clear();
    let filter = ReceivableFilter {
        holder: Some(args::org_id("SUP-1").unwrap()),
        after: Some(args::doc_id("RCV-00600").unwrap()),
        limit: Some(100),
        ..Default::default()
    };
    let held = client.receivables(&filter).await.unwrap();
    let want: Vec<Receivable> = (601..1_234)
        .filter(|i| i % 3 == 0)
        .map(receivable)
        .collect();
    assert_eq!(held, want);
    assert_eq!(
        m.asked.lock().unwrap().len(),
        3,
        "211 items in pages of 100"
    );
    let first = client.receivables_page(&filter).await.unwrap();
    assert_eq!(first.items.len(), 100);
    assert_eq!(first.next, Some(first.items[99].id.clone()));

    let orgs = client.orgs().await.unwrap();
    assert_eq!(orgs, m.orgs);
    let page = client.orgs_page(None, Some(10)).await.unwrap();
    assert_eq!(page.next, Some(m.orgs[9].id.clone()));
}

/// A node that answers the same page for ever is refused, not followed for ever.
#[tokio::test]
async fn a_node_whose_list_never_ends_is_refused() {
    let app = Router::new().route(
        "/v1/orgs",
        get(|| async { Json(serde_json::json!({"items": [], "next": "ORG-0001"})) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client = Client::new(&format!("http://{addr}"), Auth::Token("t".into())).unwrap();
    let e = client.orgs().await.unwrap_err();
    assert!(e.to_string().contains("not forward"), "{e}");
}

/// One page of a receivable's history: lineage `RCV-00000..=RCV-00002`, the steps given
/// as (member, entries at heights), `next` as written by the node.
fn steps_page(steps: &[(usize, &[u64])], next: Option<&str>, certified: u64) -> ReceivableHistory {
    let entry = |height: u64| HistoryEntry {
        height,
        tx: None,
        signer: None,
        key: None,
        time_ms: height,
        event: Event::ParamsChanged,
    };
    let lineage: Vec<Receivable> = (0..3).map(receivable).collect();
    ReceivableHistory {
        receivable: lineage[2].clone(),
        steps: steps
            .iter()
            .map(|(m, hs)| HistorySteps {
                receivable: lineage[*m].id.clone(),
                history: hs.iter().map(|h| entry(*h)).collect(),
            })
            .collect(),
        lineage,
        invoice: None,
        certified_height: certified,
        next: next.map(str::to_string),
    }
}

/// The finding: each receivable's steps were cut at 500 entries without a word. Pages
/// now name the next; gathered, a member cut across pages is one step again, and a page
/// of another lineage or a cursor going back is refused rather than spliced in.
#[test]
fn a_receivables_history_pages_gather_into_one_answer() {
    let mut pages = StepsPages::new("/v1/receivables/RCV-00002/history");
    pages
        .add(steps_page(
            &[(0, &[1, 2]), (1, &[3, 4, 5])],
            Some("1:5.0.0"),
            9,
        ))
        .unwrap();
    assert_eq!(
        pages.after().map(ToString::to_string).as_deref(),
        Some("1:5.0.0")
    );
    pages
        .add(steps_page(&[(1, &[6, 7])], Some("1:7.0.0"), 8))
        .unwrap();
    pages
        .add(steps_page(&[(1, &[]), (2, &[8])], None, 10))
        .unwrap();
    let whole = pages.finish().unwrap();
    let shape: Vec<(String, Vec<u64>)> = whole
        .steps
        .iter()
        .map(|s| {
            let hs = s.history.iter().map(|e| e.height).collect();
            (s.receivable.to_string(), hs)
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            ("RCV-00000".to_string(), vec![1, 2]),
            ("RCV-00001".to_string(), vec![3, 4, 5, 6, 7]),
            ("RCV-00002".to_string(), vec![8]),
        ]
    );
    assert_eq!(whole.certified_height, 8, "certified on every page");
    assert_eq!(whole.next, None);

    let first = || steps_page(&[(0, &[1])], Some("0:1.0.0"), 1);
    let mut other = StepsPages::new("u");
    other.add(first()).unwrap();
    let mut page = steps_page(&[(0, &[2])], None, 1);
    page.lineage.swap(0, 1);
    assert!(other
        .add(page)
        .unwrap_err()
        .to_string()
        .contains("another lineage"));

    let mut back = StepsPages::new("u");
    back.add(first()).unwrap();
    let err = back
        .add(steps_page(&[(0, &[])], Some("0:0.0.0"), 1))
        .unwrap_err();
    assert!(err.to_string().contains("not forward"), "{err}");

    let mut unread = StepsPages::new("u");
    unread.add(first()).unwrap();
    assert!(unread.finish().is_err());
    let mut bad = StepsPages::new("u");
    assert!(bad
        .add(steps_page(&[], Some("12.0.0"), 1))
        .unwrap_err()
        .to_string()
        .contains("MEMBER:HEIGHT.TX.SEQ"));
}
