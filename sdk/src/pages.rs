//! Reading a paged list to its end. Every list of the node API (`/v1/orgs`,
//! `/v1/receivables`, `/v1/evidence`) answers one page: `items` and a `next` cursor that
//! is absent only on the last page. Pass `next` back as `after` until it is absent; a
//! page may be short, even empty, and still have a `next`.

use std::fmt::Display;
use std::future::Future;

use crate::error::SdkError;

/// Most items the all-pages helpers ([`crate::Client::orgs`],
/// [`crate::Client::receivables`]) gather into memory; a longer list is an error (read
/// it page by page) rather than a silent cut.
pub const MAX_LISTED: usize = 100_000;
/// Most pages one walk reads: a page may be empty (a caller who may read few of many
/// entries), so this, not the item count, stops a node whose list never ends.
pub const MAX_PAGES: usize = 100_000;

/// Where a walk through a paged list stands: the `after` of the next request, and
/// whether the last page was read. It refuses a node whose cursor does not move forward
/// (which would repeat items or loop for ever).
#[derive(Debug, Clone)]
pub struct PageWalk<C> {
    url: String,
    after: Option<C>,
    pages: usize,
    done: bool,
}

impl<C: Ord + Clone + Display> PageWalk<C> {
    /// A walk through the list at `url` (named in errors) starting after `after` (from
    /// the first entry when `None`).
    pub fn new(url: impl Into<String>, after: Option<C>) -> Self {
        PageWalk {
            url: url.into(),
            after,
            pages: 0,
            done: false,
        }
    }

    /// The list's path, as errors name it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The cursor of the next request (`None`: from the first entry).
    pub fn after(&self) -> Option<&C> {
        self.after.as_ref()
    }

    /// True once a page without `next` was read.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Pages read so far.
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// Records the `next` of the page just read: the walk moves on to it, or ends when
    /// it is absent. A cursor that does not move past the previous one, or a list longer
    /// than [`MAX_PAGES`] pages, is a malformed answer.
    pub fn advance(&mut self, next: Option<C>) -> Result<(), SdkError> {
        let bad = |reason: String| SdkError::BadResponse {
            url: self.url.clone(),
            reason,
        };
        if self.done {
            return Err(bad("a page was read after the last one".into()));
        }
        self.pages += 1;
        let Some(next) = next else {
            self.done = true;
            return Ok(());
        };
        if let Some(prev) = &self.after {
            if &next <= prev {
                return Err(bad(format!(
                    "the page cursor went from {prev} to {next}, not forward"
                )));
            }
        }
        if self.pages >= MAX_PAGES {
            return Err(bad(format!(
                "the list does not end within {MAX_PAGES} pages"
            )));
        }
        self.after = Some(next);
        Ok(())
    }
}

/// Every item of the paged list at `url` from `after` on, in the node's order:
/// `fetch(after)` reads one page (its items and `next`), until a page has no `next`.
/// More than `max_items` items is [`SdkError::TooLong`], never a shortened list.
pub async fn collect_pages<T, C, F, Fut>(
    url: &str,
    after: Option<C>,
    max_items: usize,
    mut fetch: F,
) -> Result<Vec<T>, SdkError>
where
    C: Ord + Clone + Display,
    F: FnMut(Option<C>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<C>), SdkError>>,
{
    let mut walk = PageWalk::new(url, after);
    let mut all = Vec::new();
    while !walk.is_done() {
        let (items, next) = fetch(walk.after().cloned()).await?;
        if all.len() + items.len() > max_items {
            return Err(SdkError::TooLong {
                url: url.to_string(),
                limit: max_items,
            });
        }
        all.extend(items);
        walk.advance(next)?;
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages of `size` over `0..n`, as a node answers them.
    fn page(n: u32, size: usize, after: Option<u32>) -> (Vec<u32>, Option<u32>) {
        let items: Vec<u32> = (0..n)
            .filter(|i| after.is_none_or(|a| *i > a))
            .take(size)
            .collect();
        let next = items.last().copied().filter(|l| l + 1 < n);
        (items, next)
    }

    #[tokio::test]
    async fn every_page_is_read_once_in_order() {
        let mut asked = Vec::new();
        let all = collect_pages("/l", None, 10_000, |after| {
            asked.push(after);
            async move { Ok(page(1_234, 500, after)) }
        })
        .await
        .unwrap();
        assert_eq!(all, (0..1_234).collect::<Vec<_>>());
        assert_eq!(asked, [None, Some(499), Some(999)]);
    }

    #[tokio::test]
    async fn a_list_longer_than_the_limit_is_an_error_not_a_cut() {
        let e = collect_pages("/l", None, 1_000, |after| async move {
            Ok(page(1_001, 500, after))
        })
        .await
        .unwrap_err();
        assert!(matches!(e, SdkError::TooLong { limit: 1_000, .. }), "{e:?}");
    }

    #[tokio::test]
    async fn a_cursor_that_does_not_move_forward_is_refused() {
        // A node answering the same page for ever.
        let e = collect_pages("/l", None, 1_000_000, |_| async {
            Ok((vec![1u32], Some(7u32)))
        })
        .await
        .unwrap_err();
        assert!(e.to_string().contains("from 7 to 7"), "{e}");
        let mut w = PageWalk::new("/l", Some(5u32));
        assert!(w.advance(Some(3)).is_err(), "backwards");
        let mut w = PageWalk::new("/l", None::<u32>);
        w.advance(None).unwrap();
        assert!(w.is_done() && w.advance(None).is_err());
    }
}
