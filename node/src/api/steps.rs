//! `GET /v1/receivables/{id}/history`: a receivable's lineage from its root and every
//! step of each member, in pages of at most [`HISTORY_STEPS_PAGE`] entries.
//!
//! Each member's steps were cut at 500 entries without a word (a receivable repaid in
//! many instalments, or one offered to many banks, outgrows that), and the explorer's
//! lineage check then reported the cut history as not proven. A page now ends at an
//! entry and names where the next starts (`next`, a [`StepsPos`]).

use axum::extract::State;
use axum::Json;
use lianrong_api_types::visibility::{self as vis, Reader};
use lianrong_api_types::{
    ErrorBody, HistoryQuery, HistorySteps, ReceivableHistory, StepsPos, HISTORY_STEPS_PAGE,
};
use lianrong_contracts::model::{DocId, Invoice, Receivable};
use lianrong_contracts::state::HistoryPos;
use lianrong_contracts::{DocKind, HistoryEntry};

use super::auth::Caller;
use super::error::{ApiError, ApiPath, ApiQuery, ApiResult};
use super::handlers::{doc, maybe_doc};
use super::AppState;

/// Most ancestors walked. Lineage depth is bounded by the number of splits, each of
/// which needs a block; the walk is capped anyway. A deeper lineage starts at a member
/// whose `parent` is set.
pub const MAX_LINEAGE: usize = 1024;

// A page reads one entry past its budget to know whether it cuts; the store answers at
// most `MAX_QUERY_LIMIT` a read.
const _: () = assert!(HISTORY_STEPS_PAGE < lianrong_storage::schema::MAX_QUERY_LIMIT);

/// `GET /v1/receivables/{id}/history`.
#[utoipa::path(get, path = "/v1/receivables/{id}/history", tag = "documents",
    summary = "Lineage and every step with tx, signer, block (in pages of 500 entries)",
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$", description = "document id: 1-64 of A-Z a-z 0-9 . _ -"), HistoryQuery),
    responses((status = 200, body = ReceivableHistory), (status = 400, description = "the caller's mistake", body = ErrorBody), (status = 401, description = "no or bad credentials", body = ErrorBody), (status = 404, description = "not found, or not readable by the caller", body = ErrorBody)))]
pub async fn receivable_history(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<ReceivableHistory>> {
    let after = steps_cursor(&q)?;
    let r: Receivable = doc(&state, DocKind::Receivable, &id)?;
    let reader = caller.reader();
    if !vis::may_read(&reader, &r) {
        return Err(ApiError::not_found(format!("receivable {id}")));
    }
    let chain = lineage(&state, &reader, &r)?;
    if let Some(a) = after.filter(|a| a.member as usize >= chain.len()) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!(
                "after: member {} of a lineage of {}; pass the `next` of the previous page",
                a.member,
                chain.len()
            ),
        ));
    }
    let members: Vec<DocId> = chain.iter().map(|r| r.id.clone()).collect();
    let (steps, next) = steps_page(&members, after, HISTORY_STEPS_PAGE, |id, from, limit| {
        state
            .db
            .history_after(DocKind::Receivable, id.as_str(), from, limit)
            .map_err(ApiError::internal)
    })?;
    let invoice = maybe_doc::<Invoice>(&state, DocKind::Invoice, r.invoice.as_str())?
        .map(|i| vis::seen_from_outside(&reader, i));
    let (certified, _) = super::proofs::certified_tip(&state)?;
    Ok(Json(ReceivableHistory {
        receivable: r,
        lineage: chain,
        steps,
        invoice,
        certified_height: certified.executed.height,
        next: next.map(|n| n.to_string()),
    }))
}

/// `?after=`, read (a mistake is the caller's: named, 400).
fn steps_cursor(q: &HistoryQuery) -> ApiResult<Option<StepsPos>> {
    q.after
        .as_deref()
        .map(|a| {
            a.parse().map_err(|e: String| {
                ApiError::bad_request(
                    "invalid_query",
                    format!("after: {e}; pass the `next` of the previous page"),
                )
            })
        })
        .transpose()
}

/// `r`'s ancestors from the root down to `r`, each as `reader` sees it.
fn lineage(state: &AppState, reader: &Reader, r: &Receivable) -> ApiResult<Vec<Receivable>> {
    let mut chain = vec![r.clone()];
    let mut cur = r.clone();
    for _ in 0..MAX_LINEAGE {
        let Some(p) = cur.parent.clone() else { break };
        cur = doc(state, DocKind::Receivable, p.as_str())?;
        chain.push(vis::seen_from_outside(reader, cur.clone()));
    }
    chain.reverse();
    Ok(chain)
}

/// One page of the steps of `members` (the lineage, root first) from `after`: each
/// member's entries oldest first, at most `budget` entries over the page, and where the
/// next page starts when more may follow. `read(id, after, limit)` reads a member's
/// entries after a position.
///
/// A page that ends exactly at a member's last entry names that entry; the next page
/// then starts with the member's (empty) remainder, so a client joins a page's first
/// step to the previous page's last when they are of one receivable. `next` always names
/// an entry of this page, so it moves forward.
fn steps_page<E>(
    members: &[DocId],
    after: Option<StepsPos>,
    budget: usize,
    mut read: impl FnMut(
        &DocId,
        Option<HistoryPos>,
        usize,
    ) -> Result<Vec<(HistoryPos, HistoryEntry)>, E>,
) -> Result<(Vec<HistorySteps>, Option<StepsPos>), E> {
    assert!(budget > 0, "a page holds at least one entry");
    let start = after.map_or(0, |a| a.member as usize);
    let mut left = budget;
    let mut last = None;
    let mut steps = Vec::new();
    for (i, id) in members.iter().enumerate().skip(start) {
        let from = after.filter(|a| a.member as usize == i).map(|a| a.pos);
        // One more than fits: whether the page cuts here.
        let rows = read(id, from, left + 1)?;
        let cut = rows.len() > left;
        let mut history = Vec::with_capacity(rows.len().min(left));
        for (pos, entry) in rows.into_iter().take(left) {
            last = Some(StepsPos {
                member: i as u32,
                pos,
            });
            history.push(entry);
        }
        left -= history.len();
        // A member cut before its first entry here starts the next page instead: the
        // cursor names the previous member's last entry, whose (empty) remainder opens
        // that page, so each page's steps follow the last page's in order.
        if cut && history.is_empty() {
            return Ok((steps, last));
        }
        steps.push(HistorySteps {
            receivable: id.clone(),
            history,
        });
        if cut {
            return Ok((steps, last));
        }
    }
    Ok((steps, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_contracts::Event;

    fn entry(height: u64) -> HistoryEntry {
        HistoryEntry {
            height,
            tx: None,
            signer: None,
            key: None,
            time_ms: height,
            event: Event::ParamsChanged,
        }
    }

    /// Member `i` of three has `sizes[i]` entries at heights `1..`.
    fn lineage(sizes: [u64; 3]) -> (Vec<DocId>, Vec<Vec<(HistoryPos, HistoryEntry)>>) {
        let ids = (0..3)
            .map(|i| DocId::new(format!("RCV-{i}")).unwrap())
            .collect();
        let rows = sizes
            .iter()
            .map(|&n| {
                (1..=n)
                    .map(|h| {
                        let pos = HistoryPos {
                            height: h,
                            tx_index: 0,
                            seq: 0,
                        };
                        (pos, entry(h))
                    })
                    .collect()
            })
            .collect();
        (ids, rows)
    }

    /// Every page of the steps, walked as a client does: the entries of each member
    /// gathered (consecutive steps of one receivable merged) and the page sizes.
    fn walk(sizes: [u64; 3], budget: usize) -> (Vec<(String, usize)>, Vec<usize>) {
        let (ids, rows) = lineage(sizes);
        let read = |id: &DocId, from: Option<HistoryPos>, limit: usize| {
            let i = ids.iter().position(|x| x == id).unwrap();
            let out: Vec<_> = rows[i]
                .iter()
                .filter(|(p, _)| from.is_none_or(|f| *p > f))
                .take(limit)
                .cloned()
                .collect();
            Ok::<_, ()>(out)
        };
        let (mut merged, mut sizes_seen) = (Vec::<(String, usize)>::new(), vec![]);
        let mut after = None;
        loop {
            let (steps, next) = steps_page(&ids, after, budget, read).unwrap();
            sizes_seen.push(steps.iter().map(|s| s.history.len()).sum());
            for s in steps {
                match merged.last_mut() {
                    Some((id, n)) if *id == s.receivable.as_str() => *n += s.history.len(),
                    _ => merged.push((s.receivable.to_string(), s.history.len())),
                }
            }
            match next {
                None => return (merged, sizes_seen),
                Some(n) => {
                    assert!(after.is_none_or(|a| n > a), "forward: {after:?} -> {n:?}");
                    after = Some(n);
                }
            }
        }
    }

    #[test]
    fn pages_cut_at_the_budget_and_together_hold_every_entry_once() {
        let whole = |a, b, c| {
            vec![
                ("RCV-0".to_string(), a),
                ("RCV-1".to_string(), b),
                ("RCV-2".to_string(), c),
            ]
        };
        // Fits one page.
        assert_eq!(walk([2, 3, 4], 10), (whole(2, 3, 4), vec![9]));
        // One member longer than a page.
        assert_eq!(walk([1, 25, 2], 10), (whole(1, 25, 2), vec![10, 10, 8]));
        // A page ending exactly at a member's end.
        assert_eq!(walk([5, 5, 0], 5), (whole(5, 5, 0), vec![5, 5]));
        assert_eq!(walk([5, 5, 1], 5), (whole(5, 5, 1), vec![5, 5, 1]));
        // Empty histories are still listed.
        assert_eq!(walk([0, 0, 0], 1), (whole(0, 0, 0), vec![0]));
    }

    #[test]
    fn cursors_are_written_and_read_back() {
        let p = StepsPos {
            member: 3,
            pos: HistoryPos {
                height: 12,
                tx_index: 4,
                seq: 1,
            },
        };
        assert_eq!(p.to_string(), "3:12.4.1");
        assert_eq!("3:12.4.1".parse::<StepsPos>(), Ok(p));
        for bad in [
            "12.4.1",
            ":12.4.1",
            "x:12.4.1",
            "3:12.4",
            "+3:12.4.1",
            "3:12.4.1.0",
        ] {
            assert!(bad.parse::<StepsPos>().is_err(), "{bad}");
        }
    }
}
