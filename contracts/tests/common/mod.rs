//! Invariant checks shared by the integration tests.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

pub mod default;
pub mod financed;
pub mod inventory;
pub mod secondary;

use std::collections::BTreeMap;

use lianrong_contracts::exec::fingerprint::canonical_number;
use lianrong_contracts::exec::history::HistoryHead;
use lianrong_contracts::model::{
    CreditLimit, DocId, ExposureScope, Financing, FinancingStatus, Invoice, LimitScope, Order, Org,
    Params, Programme, ProgrammeStatus, ReceiptStatus, Receivable, ReceivableStatus, Role,
    Settlement, SettlementStatus, Shipment, ShipmentStatus, WarehouseReceipt,
    MAX_CARRIERS_PER_ORDER,
};
use lianrong_contracts::money::{share_down, Amount, Money};
use lianrong_contracts::state::{keys, Storage};
use lianrong_contracts::testkit::World;
use lianrong_contracts::{DocKind, HistoryEntry};
use lianrong_primitives::{decode, Hash};

fn all<T: serde::Serialize + serde::de::DeserializeOwned>(w: &World, kind: DocKind) -> Vec<T> {
    w.store
        .scan_prefix(&keys::doc_prefix(kind), usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(_, v)| decode(&v, 1 << 20).unwrap())
        .collect()
}

/// Checks every invariant of domain.md on the committed state; panics with the broken one.
pub fn check_invariants(w: &World) {
    let receivables: Vec<Receivable> = all(w, DocKind::Receivable);
    let by_id: BTreeMap<&DocId, &Receivable> = receivables.iter().map(|r| (&r.id, r)).collect();

    // Conservation per root: leaves' face sums to the root's face, and live outstanding
    // plus everything repaid equals the confirmed amount.
    for root in receivables.iter().filter(|r| r.parent.is_none()) {
        assert_eq!(root.root, root.id);
        let mut leaves_face = Amount::ZERO;
        let mut live_outstanding = Amount::ZERO;
        let mut repaid = Amount::ZERO;
        let mut stack = vec![&root.id];
        let mut seen = 0;
        while let Some(id) = stack.pop() {
            seen += 1;
            assert!(seen <= receivables.len(), "lineage loop under {}", root.id);
            let r = by_id[id];
            assert_eq!(r.root, root.id, "{} has the wrong root", r.id);
            if r.status == ReceivableStatus::Split {
                let sum = r.children.iter().fold(Amount::ZERO, |a, c| {
                    a.checked_add(by_id[c].face.amount).unwrap()
                });
                assert_eq!(sum, r.face.amount, "children of {} do not sum to it", r.id);
                stack.extend(r.children.iter());
            } else {
                assert!(r.children.is_empty());
                leaves_face = leaves_face.checked_add(r.face.amount).unwrap();
                repaid = repaid.checked_add(r.repaid).unwrap();
                if r.status.is_live() {
                    live_outstanding = live_outstanding
                        .checked_add(r.outstanding().unwrap())
                        .unwrap();
                } else {
                    assert_eq!(
                        r.outstanding(),
                        Some(Amount::ZERO),
                        "settled {} still owes",
                        r.id
                    );
                }
            }
        }
        assert_eq!(
            leaves_face, root.face.amount,
            "leaves of {} do not conserve face",
            root.id
        );
        assert_eq!(
            live_outstanding.checked_add(repaid).unwrap(),
            root.face.amount,
            "conservation broken for {}",
            root.id
        );
    }

    // One fingerprint, one invoice; one invoice, one root receivable.
    let invoices: Vec<Invoice> = all(w, DocKind::Invoice);
    let fps = w.store.scan_prefix(b"fp/", usize::MAX).unwrap();
    assert_eq!(
        fps.len(),
        invoices.len(),
        "fingerprints and invoices differ in number"
    );
    let mut fp_seen: BTreeMap<Hash, &DocId> = BTreeMap::new();
    for inv in &invoices {
        assert!(
            fp_seen.insert(inv.fingerprint, &inv.id).is_none(),
            "two invoices share a fingerprint"
        );
        let holder: DocId =
            decode(&w.raw(&keys::fingerprint(&inv.fingerprint)).unwrap(), 1024).unwrap();
        assert_eq!(holder, inv.id);
        let roots: Vec<_> = receivables
            .iter()
            .filter(|r| r.parent.is_none() && r.invoice == inv.id)
            .collect();
        match &inv.receivable {
            Some(rid) => {
                assert_eq!(
                    roots.len(),
                    1,
                    "invoice {} has {} root receivables",
                    inv.id,
                    roots.len()
                );
                assert_eq!(&roots[0].id, rid);
                assert_eq!(roots[0].face, inv.amount);
            }
            None => assert!(roots.is_empty()),
        }
    }

    // One live financing per receivable, and the receivable points at it.
    let financings: Vec<Financing> = all(w, DocKind::Financing);
    let mut live: BTreeMap<&DocId, &DocId> = BTreeMap::new();
    for f in financings.iter().filter(|f| f.status.is_live()) {
        assert!(
            live.insert(&f.receivable, &f.id).is_none(),
            "two live financings on {}",
            f.receivable
        );
    }
    for r in &receivables {
        assert_eq!(
            r.financing.as_ref(),
            live.get(&r.id).copied(),
            "receivable {} financing link",
            r.id
        );
    }

    check_settlements(w, &receivables, &financings);
    check_limits(w, &receivables, &financings);
    check_programmes(w, &financings);
    default::check_defaults(w, &financings);
    check_trade(w);
    check_receipts(w);
    inventory::check_loans(w);
    secondary::check_sales(w);
    check_history_heads(w);
}

/// Warehouse receipts: one live receipt per (warehouse, lot), and the lot index points
/// at exactly the live ones; a pledged receipt has exactly one accepted pledgee (a bank)
/// and no open offer; an unpledged one has no pledgee.
fn check_receipts(w: &World) {
    let mut live: BTreeMap<(String, String), DocId> = BTreeMap::new();
    for r in all::<WarehouseReceipt>(w, DocKind::WarehouseReceipt) {
        let lot = canonical_number(&r.lot).unwrap();
        let indexed: Option<DocId> = w
            .raw(&keys::receipt_lot(&r.warehouse, &lot))
            .map(|v| decode(&v, 1024).unwrap());
        if r.status == ReceiptStatus::Released {
            assert_ne!(
                indexed.as_ref(),
                Some(&r.id),
                "released {} still holds its lot",
                r.id
            );
        } else {
            assert_eq!(indexed.as_ref(), Some(&r.id), "{} lot index", r.id);
            let prev = live.insert((r.warehouse.to_string(), lot), r.id.clone());
            assert!(prev.is_none(), "two live receipts for the lot of {}", r.id);
        }
        match r.status {
            ReceiptStatus::Pledged => {
                let bank = r
                    .pledgee
                    .as_ref()
                    .expect("a pledged receipt has its pledgee");
                let org: Org = w.get(DocKind::Org, bank.as_str()).unwrap();
                assert!(org.has(Role::Bank), "{} pledged to a non-bank", r.id);
                assert!(
                    r.pledge_offer.is_none(),
                    "{} pledged with an open offer",
                    r.id
                );
            }
            ReceiptStatus::Issued => assert!(r.pledgee.is_none(), "{} pledgee unpledged", r.id),
            ReceiptStatus::Released => {
                assert!(r.pledgee.is_none() && r.pledge_offer.is_none() && r.release_instructed);
            }
        }
    }
    let lots = w.store.scan_prefix(b"wrlot/", usize::MAX).unwrap();
    assert_eq!(
        lots.len(),
        live.len(),
        "lot index entries without a live receipt"
    );
}

/// Trade evidence: an order's shipments are attested by carriers it names (never its
/// buyer or seller, at most four), are worth no more than the order together, its
/// shipped and delivered values are exactly the sums of its (delivered) shipments, and
/// what was confirmed against it never exceeds what was delivered.
fn check_trade(w: &World) {
    let params: Params = w
        .raw(keys::PARAMS)
        .map(|v| decode(&v, 1 << 16).unwrap())
        .unwrap();
    let shipments: BTreeMap<DocId, Shipment> = all::<Shipment>(w, DocKind::Shipment)
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    let mut counted = 0;
    for o in all::<Order>(w, DocKind::Order) {
        assert!(
            o.carriers.len() <= MAX_CARRIERS_PER_ORDER,
            "{} carriers",
            o.id
        );
        assert!(
            !o.carriers.contains(&o.buyer) && !o.carriers.contains(&o.seller),
            "{} names a party as carrier",
            o.id
        );
        let (mut shipped, mut delivered) = (Amount::ZERO, Amount::ZERO);
        for sid in &o.shipments {
            let s = &shipments[sid];
            counted += 1;
            assert_eq!(s.order, o.id);
            assert!(
                o.carriers.contains(&s.carrier),
                "{} by an unnamed carrier",
                s.id
            );
            assert_eq!(s.value.currency, o.amount.currency);
            shipped = shipped.checked_add(s.value.amount).unwrap();
            if s.status == ShipmentStatus::Delivered {
                delivered = delivered.checked_add(s.value.amount).unwrap();
            }
        }
        assert_eq!(
            (o.shipped, o.delivered),
            (shipped, delivered),
            "{} sums",
            o.id
        );
        assert!(
            shipped <= o.amount.amount,
            "{} shipped over its amount",
            o.id
        );
        if params.require_delivery {
            assert!(
                o.confirmed <= o.delivered,
                "{} confirmed over delivery",
                o.id
            );
        }
    }
    assert_eq!(counted, shipments.len(), "a shipment outside its order");
}

/// Money movements are facts: every receivable's repaid amount is exactly the sum of its
/// acknowledged settlements (each counted once); a pending settlement is the one lock on
/// its receivable and fits what it still owes; what holders were paid never exceeds a
/// root's face; no receivable (so no part of a root) is disbursed on twice.
fn check_settlements(w: &World, receivables: &[Receivable], financings: &[Financing]) {
    let settlements: Vec<Settlement> = all(w, DocKind::Settlement);
    let by_id: BTreeMap<&DocId, &Receivable> = receivables.iter().map(|r| (&r.id, r)).collect();
    let mut acknowledged: BTreeMap<&DocId, Amount> = BTreeMap::new();
    let mut pending: BTreeMap<&DocId, &DocId> = BTreeMap::new();
    let mut paid_per_root: BTreeMap<&DocId, Amount> = BTreeMap::new();
    for s in &settlements {
        let r = by_id[&s.receivable];
        assert_eq!(
            (&s.debtor, &s.root),
            (&r.debtor, &r.root),
            "{} parties",
            s.id
        );
        assert!(!s.amount.amount.is_zero(), "{} pays nothing", s.id);
        match s.status {
            SettlementStatus::Acknowledged => {
                let a = acknowledged.entry(&s.receivable).or_insert(Amount::ZERO);
                *a = a.checked_add(s.amount.amount).unwrap();
                let p = paid_per_root.entry(&s.root).or_insert(Amount::ZERO);
                *p = p.checked_add(s.amount.amount).unwrap();
            }
            SettlementStatus::Pending => {
                assert!(
                    pending.insert(&s.receivable, &s.id).is_none(),
                    "two pending settlements on {}",
                    s.receivable
                );
                assert!(r.status.is_live(), "pending {} on closed {}", s.id, r.id);
                assert_eq!(s.payee, r.holder, "pending {} to a former holder", s.id);
                assert!(
                    r.outstanding()
                        .unwrap()
                        .checked_sub(s.amount.amount)
                        .is_some(),
                    "pending {} exceeds what {} owes",
                    s.id,
                    r.id
                );
            }
            SettlementStatus::Disputed => assert!(s.dispute_reason.is_some()),
        }
    }
    for r in receivables {
        assert_eq!(
            r.repaid,
            acknowledged.get(&r.id).copied().unwrap_or(Amount::ZERO),
            "{} repaid differs from its acknowledged settlements",
            r.id
        );
        let lock: Option<DocId> = w
            .raw(&keys::pending_settlement(r.id.as_str()))
            .map(|v| decode(&v, 1024).unwrap());
        assert_eq!(lock.as_ref(), pending.get(&r.id).copied(), "{} lock", r.id);
    }
    for (root, paid) in paid_per_root {
        let face = by_id[root].face.amount;
        assert!(
            face.checked_sub(paid).is_some(),
            "holders of {root} were paid {paid:?}, over its face"
        );
    }
    let mut disbursed: BTreeMap<&DocId, &DocId> = BTreeMap::new();
    for f in financings.iter().filter(|f| f.disbursement.is_some()) {
        assert!(
            matches!(
                f.status,
                FinancingStatus::Disbursed | FinancingStatus::Closed
            ),
            "{} has a disbursement but is {:?}",
            f.id,
            f.status
        );
        assert!(
            disbursed.insert(&f.receivable, &f.id).is_none(),
            "{} financed twice",
            f.receivable
        );
        let (t, d) = (f.terms.as_ref().unwrap(), f.disbursement.as_ref().unwrap());
        assert!(d.value_date >= t.value_date && d.value_date <= t.valid_until);
        assert_eq!(
            t.advanced.amount.value(),
            d.net.amount.value() + d.discount.amount.value() + t.fees.amount.value()
        );
    }
}

/// Every document's history chain head in the state tree is the chain of exactly the
/// entries its history index lists, in order: a proof of the head proves the history.
fn check_history_heads(w: &World) {
    let heads = w.store.scan_prefix(b"hhead/", usize::MAX).unwrap();
    let mut entries_by_doc: BTreeMap<String, Vec<HistoryEntry>> = BTreeMap::new();
    for (k, v) in w.store.scan_prefix(b"hist/", usize::MAX).unwrap() {
        let key = String::from_utf8(k).unwrap();
        // hist/<kind>/<id>/<height>/<tx>/<seq>: the document is everything before the
        // last three parts.
        let doc: Vec<&str> = key.rsplitn(4, '/').collect();
        let doc = doc[3].trim_start_matches("hist/").to_string();
        entries_by_doc
            .entry(doc)
            .or_default()
            .push(decode(&v, 1 << 20).unwrap());
    }
    assert_eq!(
        heads.len(),
        entries_by_doc.len(),
        "documents with history and history heads differ in number"
    );
    for (k, v) in heads {
        let doc = String::from_utf8(k).unwrap();
        let doc = doc.trim_start_matches("hhead/");
        let head: HistoryHead = decode(&v, 1024).unwrap();
        let entries = &entries_by_doc[doc];
        assert_eq!(head, HistoryHead::of(entries), "history head of {doc}");
    }
}

/// The use of every limit in every currency as the documents say it is: each live
/// receivable's outstanding amount against its debtor's issuance, each accepted or
/// disbursed financing's receivable's outstanding amount against its bank's exposure on
/// the debtor and on the applicant. Keyed like the ledger's counters.
fn uses_from_documents(
    receivables: &[Receivable],
    financings: &[Financing],
) -> BTreeMap<Vec<u8>, Amount> {
    let by_id: BTreeMap<&DocId, &Receivable> = receivables.iter().map(|r| (&r.id, r)).collect();
    let mut uses: BTreeMap<Vec<u8>, Amount> = BTreeMap::new();
    let mut add = |scope: LimitScope, m: Money| {
        if !m.amount.is_zero() {
            let u = uses
                .entry(keys::limit_use(&scope, m.currency.code()))
                .or_insert(Amount::ZERO);
            *u = u.checked_add(m.amount).unwrap();
        }
    };
    for r in receivables.iter().filter(|r| r.status.is_live()) {
        let owed = Money {
            amount: r.outstanding().unwrap(),
            currency: r.face.currency,
        };
        let debtor = r.debtor.clone();
        add(LimitScope::Issuance { debtor }, owed);
    }
    for f in financings {
        let counted = matches!(
            f.status,
            FinancingStatus::Accepted | FinancingStatus::Disbursed
        );
        let Some(t) = f.terms.as_ref().filter(|_| counted) else {
            continue;
        };
        let r = by_id[&f.receivable];
        let owed = Money {
            amount: r.outstanding().unwrap(),
            currency: r.face.currency,
        };
        for (scope, on) in [
            (ExposureScope::Debtor, &r.debtor),
            (ExposureScope::Supplier, &f.applicant),
        ] {
            let bank = t.bank.clone();
            let on = on.clone();
            add(LimitScope::Exposure { bank, scope, on }, owed);
        }
        // A programme's use: the sum of its live financings' outstanding amounts.
        if let Some(programme) = &f.programme {
            let bank = t.bank.clone();
            let programme = programme.clone();
            add(LimitScope::Programme { bank, programme }, owed);
        }
    }
    uses
}

/// Limits: every utilisation counter equals the sum of the live exposures recomputed
/// from the documents (no counter without use, no use without its counter), and no use
/// is above its limit unless it already was when the limit was set (a lowered limit
/// blocks increases, it unwinds nothing).
fn check_limits(w: &World, receivables: &[Receivable], financings: &[Financing]) {
    let expected = uses_from_documents(receivables, financings);
    let stored: BTreeMap<Vec<u8>, Amount> = w
        .store
        .scan_prefix(b"use/", usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, decode(&v, 1024).unwrap()))
        .collect();
    let show = |m: &BTreeMap<Vec<u8>, Amount>| -> Vec<String> {
        m.iter()
            .map(|(k, v)| format!("{}={v}", String::from_utf8_lossy(k)))
            .collect()
    };
    assert_eq!(
        show(&stored),
        show(&expected),
        "utilisation counters differ from the documents"
    );
    for (k, v) in w.store.scan_prefix(b"limit/", usize::MAX).unwrap() {
        let l: CreditLimit = decode(&v, 1024).unwrap();
        assert_eq!(k, keys::limit(&l.scope), "limit stored under another key");
        let used = expected
            .get(&keys::limit_use(&l.scope, l.limit.currency.code()))
            .copied()
            .unwrap_or(Amount::ZERO);
        let ceiling = l.limit.amount.max(l.used_when_set);
        assert!(
            used <= ceiling,
            "{} is {} but {used} is used",
            l.scope,
            l.limit
        );
    }
}

/// Programmes: members are distinct eligible suppliers (none before the core accepted);
/// the status matches its dates; each has its limit as a credit limit in its currency;
/// every financing under it invites its bank alone, records its recourse term, and (once
/// accepted) advances exactly the face x its advance ratio rounded down, funded by its
/// bank; outside programmes the whole face is advanced.
fn check_programmes(w: &World, financings: &[Financing]) {
    let programmes: BTreeMap<DocId, Programme> = all::<Programme>(w, DocKind::Programme)
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    for p in programmes.values() {
        let distinct: std::collections::BTreeSet<_> = p.members.iter().collect();
        assert_eq!(distinct.len(), p.members.len(), "{} members twice", p.id);
        for m in &p.members {
            assert!(
                p.terms.suppliers.contains(m),
                "{} member {m} not eligible",
                p.id
            );
        }
        match p.status {
            ProgrammeStatus::Proposed => {
                assert!(p.accepted_on.is_none() && p.closed_on.is_none() && p.members.is_empty());
            }
            ProgrammeStatus::Active => {
                assert!(p.accepted_on.is_some() && p.closed_on.is_none());
            }
            ProgrammeStatus::Closed => assert!(p.closed_on.is_some()),
        }
        let l: CreditLimit = decode(&w.raw(&keys::limit(&p.limit_scope())).unwrap(), 1024).unwrap();
        assert_eq!(l.limit, p.terms.limit, "{} limit", p.id);
        assert_eq!(l.limit.currency, p.terms.currency);
    }
    for f in financings {
        let Some(pid) = &f.programme else {
            // Outside programmes the accepted offer's recourse term (`check_defaults`).
            if let Some(t) = &f.terms {
                assert_eq!(t.advanced, t.face, "{} advanced outside programmes", f.id);
            }
            continue;
        };
        let p = &programmes[pid];
        assert_eq!(
            f.banks,
            std::slice::from_ref(&p.bank),
            "{} invites other banks",
            f.id
        );
        assert_eq!(f.recourse, Some(p.terms.recourse), "{} recourse", f.id);
        if let Some(t) = &f.terms {
            assert_eq!(t.bank, p.bank);
            assert_eq!(t.face.currency, p.terms.currency);
            assert_eq!(
                t.advanced,
                share_down(&t.face, p.terms.advance).unwrap(),
                "{} advanced",
                f.id
            );
        }
    }
}
