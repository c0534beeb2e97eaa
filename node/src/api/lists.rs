//! The paged list endpoints: `/v1/orgs`, `/v1/receivables` and `/v1/evidence`.
//!
//! Every list is kept in key order and read with a cursor: `after` (the `next` of the
//! previous page) and `limit` (1 to [`MAX_PAGE`]). An answer's `next` is absent only on
//! the last page, so an answer cut at its page size never looks complete. One request
//! examines at most [`MAX_SCANNED`] stored entries, whatever the filters and the caller's
//! visibility leave of them: storage work per request stays bounded, and a page can come
//! back short, even empty, with a `next`.

use axum::extract::State;
use axum::Json;
use lianrong_api_types::visibility::{self as vis, Reader};
use lianrong_api_types::{
    ErrorBody, EvidencePage, EvidenceQuery, EvidenceRecord, OrgPage, OrgQuery, ReceivableFilter,
    ReceivablePage, DEFAULT_PAGE, MAX_PAGE,
};
use lianrong_contracts::model::{DocId, Org, Receivable};
use lianrong_contracts::state::{keys, load};
use lianrong_contracts::DocKind;
use lianrong_primitives::{codec, OrgId};
use lianrong_storage::schema::MAX_VALUE_BYTES;
use lianrong_storage::{Db, ReceivableIndex};
use serde::de::DeserializeOwned;

use super::auth::Caller;
use super::error::{ApiError, ApiQuery, ApiResult};
use super::AppState;

/// Most stored entries one list request examines (four full pages).
pub const MAX_SCANNED: usize = 4 * MAX_PAGE;
/// Fewest entries read from storage at once (a small page still reads a useful chunk).
const MIN_CHUNK: usize = 64;
/// Longest evidence cursor accepted, in bytes (record ids are 40).
const MAX_EVIDENCE_CURSOR: usize = 64;

/// The page size a request asks for: its `limit`, or [`DEFAULT_PAGE`].
pub(super) fn page_size(limit: Option<usize>) -> ApiResult<usize> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit {n}: give 1 to {MAX_PAGE} and follow `next` for more"),
        )),
    }
}

/// One page of a list kept in key order, and the cursor of the next page (`None` only
/// when nothing follows). `scan(after, n)` reads at most `n` entries after the key
/// `after`, in key order, each with its key; `keep` says which go into the page.
pub(super) fn read_page<K: Clone, T>(
    after: Option<K>,
    limit: usize,
    mut scan: impl FnMut(Option<&K>, usize) -> ApiResult<Vec<(K, T)>>,
    mut keep: impl FnMut(&T) -> bool,
) -> ApiResult<(Vec<T>, Option<K>)> {
    let mut cursor = after;
    let mut items = Vec::new();
    let mut scanned = 0usize;
    loop {
        // One entry beyond the page tells whether anything follows it.
        let want = (limit + 1)
            .max(MIN_CHUNK)
            .min(MAX_SCANNED.saturating_sub(scanned));
        if want == 0 {
            // Budget spent: the next page starts after the last entry examined.
            return Ok((items, cursor));
        }
        let rows = scan(cursor.as_ref(), want)?;
        let ended = rows.len() < want;
        scanned += rows.len();
        for (key, item) in rows {
            if items.len() == limit {
                return Ok((items, cursor));
            }
            cursor = Some(key);
            if keep(&item) {
                items.push(item);
            }
        }
        if ended {
            return Ok((items, None));
        }
    }
}

/// At most `n` documents of `kind` after the id `after`, decoded, each with its id.
fn docs_after<T: DeserializeOwned>(
    db: &Db,
    kind: DocKind,
    after: Option<&str>,
    n: usize,
) -> ApiResult<Vec<(String, T)>> {
    let rows = db.docs_after(kind, after, n).map_err(ApiError::internal)?;
    rows.into_iter()
        .map(|(id, v)| {
            let doc = codec::decode_stored(&v, MAX_VALUE_BYTES).map_err(ApiError::internal)?;
            Ok((id, doc))
        })
        .collect()
}

/// The network parameters in force and the ledger's business date: the date of its last
/// executed block, the one its next transaction is judged by (give or take that block's
/// time). Lapses, expiries and as-of figures are read against it, never a wall clock.
pub(super) fn ledger_today(
    db: &Db,
) -> ApiResult<(lianrong_contracts::model::Params, chrono::NaiveDate)> {
    let params: lianrong_contracts::model::Params = load(db, keys::PARAMS)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::internal("no parameters in state"))?;
    let meta: lianrong_contracts::exec::ChainMeta = load(db, keys::META)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::internal("no chain metadata in state"))?;
    let today = lianrong_contracts::exec::business_date(meta.time_ms, params.utc_offset_minutes)
        .ok_or_else(|| ApiError::internal("block time outside the calendar"))?;
    Ok((params, today))
}

/// One page of the documents of `kind` as `view` shows them to a reader (`None`: not
/// shown), in id order after `after`, with the next page's cursor: the one way the
/// document lists (proposals, approvals, programmes, loans) page.
pub(super) fn view_page<T: DeserializeOwned, V>(
    db: &Db,
    kind: DocKind,
    after: Option<DocId>,
    limit: Option<usize>,
    mut view: impl FnMut(T) -> ApiResult<Option<V>>,
) -> ApiResult<(Vec<V>, Option<DocId>)> {
    let limit = page_size(limit)?;
    let scan = |after: Option<&DocId>, n| -> ApiResult<Vec<(DocId, Option<V>)>> {
        docs_after::<T>(db, kind, after.map(DocId::as_str), n)?
            .into_iter()
            .map(|(id, doc)| Ok((DocId::new(id).map_err(ApiError::internal)?, view(doc)?)))
            .collect()
    };
    let (items, next) = read_page(after, limit, scan, Option::is_some)?;
    Ok((items.into_iter().flatten().collect(), next))
}

/// The document of `kind` with the id of a request path, as `view` shows it to the
/// caller: a malformed id is 400 `invalid_id`; an absent document and one the caller may
/// not read are the same 404 naming `noun`.
pub(super) fn view_one<T: serde::Serialize + DeserializeOwned, V>(
    db: &Db,
    kind: DocKind,
    noun: &str,
    id: &str,
    view: impl FnOnce(T) -> ApiResult<Option<V>>,
) -> ApiResult<V> {
    let doc_id = DocId::new(id).map_err(|e| ApiError::bad_request("invalid_id", e.to_string()))?;
    let missing = || ApiError::not_found(format!("{noun} {doc_id}"));
    let doc: T = load(db, &keys::doc(kind, doc_id.as_str()))
        .map_err(ApiError::internal)?
        .ok_or_else(missing)?;
    view(doc)?.ok_or_else(missing)
}

/// `GET /v1/orgs?after=&limit=`.
#[utoipa::path(get, path = "/v1/orgs", tag = "documents",
    summary = "One page of organisations in id order (identifiers masked but the caller's own); pass `next` as `after` until an answer has none",
    params(OrgQuery),
    responses((status = 200, body = OrgPage), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody)))]
pub async fn orgs(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<OrgQuery>,
) -> ApiResult<Json<OrgPage>> {
    org_page(&state.db, &caller.reader(), q).map(Json)
}

/// The page of orgs `q` asks for, as `reader` sees them.
pub(super) fn org_page(db: &Db, reader: &Reader, q: OrgQuery) -> ApiResult<OrgPage> {
    let limit = page_size(q.limit)?;
    let scan = |after: Option<&OrgId>, n| -> ApiResult<Vec<(OrgId, Org)>> {
        docs_after::<Org>(db, DocKind::Org, after.map(OrgId::as_str), n)?
            .into_iter()
            .map(|(id, o)| Ok((OrgId::new(id).map_err(ApiError::internal)?, o)))
            .collect()
    };
    let (orgs, next) = read_page(q.after, limit, scan, |_| true)?;
    let items = orgs
        .into_iter()
        .map(|o| {
            let counterparty =
                super::visibility::trades_with(db, reader, &o.id).map_err(ApiError::internal)?;
            Ok(vis::org_for(reader, o, counterparty))
        })
        .collect::<ApiResult<Vec<Org>>>()?;
    Ok(OrgPage { items, next })
}

/// `GET /v1/receivables?holder=&debtor=&status=&after=&limit=`.
#[utoipa::path(get, path = "/v1/receivables", tag = "documents",
    summary = "One page of receivables by holder, debtor and status, in id order; pass `next` as `after` until an answer has none",
    params(ReceivableFilter),
    responses((status = 200, body = ReceivablePage), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody)))]
pub async fn receivables(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ReceivableFilter>,
) -> ApiResult<Json<ReceivablePage>> {
    receivable_page(&state.db, &caller.reader(), q).map(Json)
}

/// The page of receivables `q` asks for, of those `reader` may read.
pub(super) fn receivable_page(
    db: &Db,
    reader: &Reader,
    q: ReceivableFilter,
) -> ApiResult<ReceivablePage> {
    let limit = page_size(q.limit)?;
    let ReceivableFilter {
        holder,
        debtor,
        status,
        after,
        ..
    } = q;
    // Page over the most selective index given (in id order, like the documents), then
    // filter on the rest.
    let by = match (&holder, &debtor, status) {
        (Some(h), ..) => Some(ReceivableIndex::Holder(h.clone())),
        (None, Some(d), _) => Some(ReceivableIndex::Debtor(d.clone())),
        (None, None, Some(s)) => Some(ReceivableIndex::Status(s)),
        (None, None, None) => None,
    };
    let scan = |after: Option<&DocId>, n| -> ApiResult<Vec<(DocId, Receivable)>> {
        let Some(by) = &by else {
            let kind = DocKind::Receivable;
            return docs_after::<Receivable>(db, kind, after.map(DocId::as_str), n)?
                .into_iter()
                .map(|(id, r)| Ok((DocId::new(id).map_err(ApiError::internal)?, r)))
                .collect();
        };
        let found = db
            .receivables_by(by, n, after)
            .map_err(ApiError::internal)?;
        Ok(found.into_iter().map(|r| (r.id.clone(), r)).collect())
    };
    let keep = |r: &Receivable| {
        holder.as_ref().is_none_or(|h| &r.holder == h)
            && debtor.as_ref().is_none_or(|d| &r.debtor == d)
            && status.is_none_or(|s| r.status == s)
            && vis::may_read(reader, r)
    };
    let (items, next) = read_page(after, limit, scan, keep)?;
    Ok(ReceivablePage { items, next })
}

/// `GET /v1/evidence?after=&limit=`.
#[utoipa::path(get, path = "/v1/evidence", tag = "node",
    summary = "One page of the equivocation evidence this node saw (banks and auditors); pass `next` as `after` until an answer has none",
    params(EvidenceQuery),
    responses((status = 200, body = EvidencePage), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 403, description = "not a bank or an auditor", body = ErrorBody)))]
pub async fn evidence(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<EvidenceQuery>,
) -> ApiResult<Json<EvidencePage>> {
    if !caller.sees_everything() {
        return Err(ApiError::forbidden("evidence is for banks and auditors"));
    }
    evidence_page(&state.db, q).map(Json)
}

/// The page of evidence records `q` asks for.
pub(super) fn evidence_page(db: &Db, q: EvidenceQuery) -> ApiResult<EvidencePage> {
    let limit = page_size(q.limit)?;
    let after = q.after.as_deref().map(evidence_cursor).transpose()?;
    let scan = |after: Option<&Vec<u8>>, n| {
        db.evidence_page(after.map(Vec::as_slice), n)
            .map_err(ApiError::internal)
    };
    let (found, next) = read_page(after, limit, scan, |_| true)?;
    let set: Option<Vec<lianrong_contracts::model::Validator>> =
        load(db, keys::VALIDATORS).map_err(ApiError::internal)?;
    let current_epoch_key = |i: u16| {
        set.as_ref()
            .and_then(|s| s.get(usize::from(i)))
            .map(|v| v.node_key)
    };
    let items = found
        .into_iter()
        .map(|e| EvidenceRecord {
            epoch: e.epoch(),
            offender: e.offender(),
            offender_key: current_epoch_key(e.offender()),
            evidence: e,
        })
        .collect();
    Ok(EvidencePage {
        items,
        next: next.map(hex::encode),
    })
}

/// The record id an evidence cursor names (hex, at most [`MAX_EVIDENCE_CURSOR`] bytes).
fn evidence_cursor(hex_id: &str) -> ApiResult<Vec<u8>> {
    match hex::decode(hex_id) {
        Ok(id) if !id.is_empty() && id.len() <= MAX_EVIDENCE_CURSOR => Ok(id),
        _ => Err(ApiError::bad_request(
            "invalid_cursor",
            format!(
                "after: give the `next` of the previous page (hex, 1-{MAX_EVIDENCE_CURSOR} bytes)"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_contracts::exec::ChainMeta;
    use lianrong_contracts::merkle::compute_changes;
    use lianrong_contracts::model::{ReceivableStatus, Role};
    use lianrong_contracts::money::{Amount, Money};
    use lianrong_contracts::state::Writes;

    fn org(id: &str) -> Org {
        Org {
            id: OrgId::new(id).unwrap(),
            name: id.into(),
            tax_id: "91330000MA2SUP106X".into(),
            roles: vec![Role::Supplier],
            identifiers: vec![],
            keys: vec![],
            revoked_keys: vec![],
            admitted_at: 0,
        }
    }

    /// Receivable `RCV-<i>` (zero-padded, so id order is number order), owed by CORE-A
    /// and held by SUP-3 when `i % 250 == 3` (rarely), else by SUP-1 when `i` is even and
    /// by SUP-2 otherwise.
    fn receivable(i: usize) -> Receivable {
        let id = DocId::new(format!("RCV-{i:05}")).unwrap();
        let holder = match i {
            _ if i % 250 == 3 => "SUP-3",
            _ if i % 2 == 0 => "SUP-1",
            _ => "SUP-2",
        };
        Receivable {
            id: id.clone(),
            debtor: OrgId::new("CORE-A").unwrap(),
            holder: OrgId::new(holder).unwrap(),
            face: Money::parse("100.00", "CNY").unwrap(),
            repaid: Amount::ZERO,
            issue_date: "2026-01-01".parse().unwrap(),
            maturity: "2026-12-31".parse().unwrap(),
            root: id,
            parent: None,
            children: vec![],
            invoice: DocId::new("INV-1").unwrap(),
            status: ReceivableStatus::Active,
            financing: None,
            tier: 1,
        }
    }

    /// A database whose genesis state holds `orgs` orgs and `rcvs` receivables (written
    /// in a scrambled order: the lists come back in id order anyway).
    fn db_with(orgs: usize, rcvs: usize) -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), "c").unwrap();
        let meta = ChainMeta {
            chain_id: "c".into(),
            height: 0,
            time_ms: 0,
            overdue_swept_through: "2026-01-01".parse().unwrap(),
        };
        let mut w = Writes::new();
        w.insert(keys::META.to_vec(), Some(codec::encode(&meta)));
        for i in (0..orgs).rev() {
            let o = org(&format!("ORG-{i:04}"));
            w.insert(
                keys::doc(DocKind::Org, o.id.as_str()),
                Some(codec::encode(&o)),
            );
        }
        for i in (0..rcvs).map(|i| (i * 7919) % rcvs) {
            let r = receivable(i);
            w.insert(
                keys::doc(DocKind::Receivable, r.id.as_str()),
                Some(codec::encode(&r)),
            );
        }
        db.apply_genesis(&compute_changes(&db, 0, w).unwrap())
            .unwrap();
        (dir, db)
    }

    /// Follows `next` from the first page to the last: every page's items, and the
    /// number of pages.
    fn every_page(
        mut page: impl FnMut(Option<DocId>) -> ReceivablePage,
    ) -> (Vec<Vec<DocId>>, usize) {
        let mut pages = Vec::new();
        let mut after = None;
        loop {
            let p = page(after.clone());
            pages.push(p.items.iter().map(|r| r.id.clone()).collect());
            match p.next {
                Some(n) => {
                    assert!(
                        after.as_ref().is_none_or(|a| &n > a),
                        "the cursor went back"
                    );
                    after = Some(n);
                }
                None => break,
            }
            assert!(pages.len() < 1_000, "no last page");
        }
        let n = pages.len();
        (pages, n)
    }

    /// The finding: `/v1/receivables` cut the list at 500 with nothing saying so. Now
    /// 1,234 receivables come back across pages, each exactly once, in id order, and
    /// only the last page has no `next`.
    #[test]
    fn every_receivable_comes_back_once_across_pages() {
        let (_dir, db) = db_with(3, 1_234);
        let all = |after| {
            let q = ReceivableFilter {
                after,
                limit: Some(MAX_PAGE),
                ..Default::default()
            };
            receivable_page(&db, &Reader::Everything, q).unwrap()
        };
        let (pages, n) = every_page(all);
        assert_eq!(n, 3);
        assert_eq!(
            pages.iter().map(Vec::len).collect::<Vec<_>>(),
            [500, 500, 234]
        );
        let ids: Vec<DocId> = pages.concat();
        let want: Vec<DocId> = (0..1_234).map(|i| receivable(i).id).collect();
        assert_eq!(ids, want, "each exactly once, in id order");

        // The same through an index (holder), and for a supplier who reads its own only.
        let sup1 = OrgId::new("SUP-1").unwrap();
        let held = |after| {
            let q = ReceivableFilter {
                holder: Some(sup1.clone()),
                after,
                limit: Some(200),
                ..Default::default()
            };
            receivable_page(&db, &Reader::Org(sup1.clone()), q).unwrap()
        };
        let (pages, n) = every_page(held);
        assert_eq!(n, 4);
        let want: Vec<DocId> = (0..1_234).step_by(2).map(|i| receivable(i).id).collect();
        assert_eq!(pages.concat(), want);
    }

    /// A caller who may read few of many receivables gets short pages, each from a
    /// scan of at most `MAX_SCANNED` entries, with a `next` until the end: nothing is
    /// skipped or repeated.
    #[test]
    fn a_sparse_list_is_read_in_bounded_steps_to_the_end() {
        let (_dir, db) = db_with(1, 5_000);
        let sup3 = OrgId::new("SUP-3").unwrap();
        // Through the status index every receivable is a candidate; SUP-3 reads 20.
        let page = |after| {
            let q = ReceivableFilter {
                status: Some(ReceivableStatus::Active),
                after,
                limit: Some(MAX_PAGE),
                ..Default::default()
            };
            receivable_page(&db, &Reader::Org(sup3.clone()), q).unwrap()
        };
        let (pages, n) = every_page(page);
        assert_eq!(n, 5_000usize.div_ceil(MAX_SCANNED));
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [8, 8, 4]);
        let want: Vec<DocId> = (0..5_000)
            .filter(|i| i % 250 == 3)
            .map(|i| receivable(i).id)
            .collect();
        assert_eq!(pages.concat(), want);
    }

    /// `/v1/orgs` pages the same way (it was cut at 500 too).
    #[test]
    fn every_org_comes_back_once_across_pages() {
        let (_dir, db) = db_with(612, 0);
        let mut ids = Vec::new();
        let mut after = None;
        let mut pages = 0;
        loop {
            let q = OrgQuery { after, limit: None };
            let p = org_page(&db, &Reader::Everything, q).unwrap();
            pages += 1;
            ids.extend(p.items.into_iter().map(|o| o.id));
            if p.next.is_none() {
                break;
            }
            after = p.next;
        }
        assert_eq!(pages, 7, "612 orgs in pages of {DEFAULT_PAGE}");
        let want: Vec<OrgId> = (0..612)
            .map(|i| OrgId::new(format!("ORG-{i:04}")).unwrap())
            .collect();
        assert_eq!(ids, want);
    }

    /// A page size out of range is the caller's mistake, never silently another size.
    #[test]
    fn a_limit_out_of_range_is_refused() {
        let (_dir, db) = db_with(2, 2);
        for limit in [0, MAX_PAGE + 1] {
            let q = OrgQuery {
                after: None,
                limit: Some(limit),
            };
            let e = org_page(&db, &Reader::Everything, q).unwrap_err();
            assert_eq!(e.code, "invalid_limit");
        }
        let q = EvidenceQuery {
            after: Some("not hex".into()),
            limit: None,
        };
        assert_eq!(evidence_page(&db, q).unwrap_err().code, "invalid_cursor");
        let q = EvidenceQuery {
            after: None,
            limit: None,
        };
        let p = evidence_page(&db, q).unwrap();
        assert!(p.items.is_empty() && p.next.is_none());
    }

    /// Vote `round` of epoch `epoch` twice, for two blocks (unsigned: the store does not
    /// check signatures).
    fn double_vote(epoch: u64, round: u64) -> lianrong_consensus::Evidence {
        let vote = |b: u8| {
            let data = lianrong_consensus::VoteData {
                epoch,
                block_hash: lianrong_primitives::Hash([b; 32]),
                height: round,
                round,
                parent_hash: lianrong_primitives::Hash::ZERO,
                parent_round: round - 1,
            };
            (data, lianrong_primitives::Signature([0; 64]))
        };
        lianrong_consensus::Evidence::DoubleVote {
            voter: 1,
            a: vote(1),
            b: vote(2),
        }
    }

    /// `/v1/evidence` pages the same way, oldest epoch first, each record once.
    #[test]
    fn every_evidence_record_comes_back_once_across_pages() {
        let (_dir, db) = db_with(1, 0);
        let mut stored = Vec::new();
        for (epoch, round) in [
            (6, 1),
            (3, 1),
            (0, 1),
            (3, 2),
            (5, 1),
            (1, 1),
            (2, 1),
            (4, 1),
        ] {
            let e = double_vote(epoch, round);
            db.record_evidence(&e).unwrap();
            stored.push(e);
        }
        let mut seen = Vec::new();
        let mut after = None;
        let mut pages = 0;
        loop {
            let p = evidence_page(
                &db,
                EvidenceQuery {
                    after,
                    limit: Some(3),
                },
            )
            .unwrap();
            pages += 1;
            seen.extend(p.items.into_iter().map(|r| r.evidence));
            match p.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        assert_eq!(pages, 3);
        assert!(
            seen.windows(2).all(|w| w[0].epoch() <= w[1].epoch()),
            "{seen:?}"
        );
        assert_eq!(seen.len(), stored.len());
        assert!(stored.iter().all(|e| seen.contains(e)));
    }

    /// The paging rule itself: a page that ends exactly at the end of the list has no
    /// `next` (one entry beyond the page is read to know).
    #[test]
    fn a_full_last_page_has_no_next() {
        let keys: Vec<(u32, u32)> = (0..10).map(|i| (i, i)).collect();
        let scan = |after: Option<&u32>, n: usize| {
            Ok(keys
                .iter()
                .filter(|(k, _)| after.is_none_or(|a| k > a))
                .take(n)
                .copied()
                .collect())
        };
        let (items, next) = read_page(None, 5, scan, |_| true).unwrap();
        assert_eq!((items, next), (vec![0, 1, 2, 3, 4], Some(4)));
        let (items, next) = read_page(Some(4), 5, scan, |_| true).unwrap();
        assert_eq!((items, next), (vec![5, 6, 7, 8, 9], None));
    }

    /// The OpenAPI document describes the cursor: `after` and `limit` (1 to `MAX_PAGE`)
    /// on every list, and pages whose `items` are required and whose `next` is not.
    #[test]
    fn the_document_describes_the_cursor() {
        let doc = super::super::tests_support::document();
        for path in ["/v1/orgs", "/v1/receivables", "/v1/evidence"] {
            let params = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
            let param = |name: &str| {
                params
                    .iter()
                    .find(|p| p["name"] == name)
                    .unwrap_or_else(|| panic!("{path}: no {name}"))
                    .clone()
            };
            assert!(param("after")["schema"]["pattern"].is_string(), "{path}");
            let limit = &param("limit")["schema"];
            assert_eq!(limit["minimum"], 1, "{path}: {limit}");
            assert_eq!(limit["maximum"], MAX_PAGE, "{path}: {limit}");
        }
        for page in ["OrgPage", "ReceivablePage", "EvidencePage"] {
            let schema = &doc["components"]["schemas"][page];
            assert_eq!(schema["required"], serde_json::json!(["items"]), "{schema}");
            assert!(schema["properties"]["next"].is_object(), "{schema}");
        }
    }
}
