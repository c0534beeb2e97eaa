//! Gathering a receivable's lineage and steps (`GET /v1/receivables/{id}/history`) from
//! its pages: the node answers at most `HISTORY_STEPS_PAGE` entries a page and names the
//! next (`next`, a [`StepsPos`]). Sans-IO: [`crate::Client::receivable_history`] fetches.

use lianrong_api_types::{ReceivableHistory, StepsPos};

use crate::error::SdkError;
use crate::pages::{PageWalk, MAX_LISTED};

/// The pages of one receivable's history read so far, gathered into one answer.
#[derive(Debug)]
pub struct StepsPages {
    walk: PageWalk<StepsPos>,
    whole: Option<ReceivableHistory>,
    entries: usize,
}

impl StepsPages {
    /// Gathering the answer at `url` (named in errors).
    pub fn new(url: impl Into<String>) -> Self {
        StepsPages {
            walk: PageWalk::new(url, None),
            whole: None,
            entries: 0,
        }
    }

    /// The `after=` of the next page (`None`: the first).
    pub fn after(&self) -> Option<&StepsPos> {
        self.walk.after()
    }

    /// True once a page without `next` was added.
    pub fn is_done(&self) -> bool {
        self.walk.is_done()
    }

    /// Adds the page just fetched: its steps follow the previous page's (a first step of
    /// the receivable the previous page ended with continues it). A page of another
    /// lineage, a cursor that does not move forward, or more than [`MAX_LISTED`] entries
    /// is an error, never a cut or spliced history.
    pub fn add(&mut self, mut page: ReceivableHistory) -> Result<(), SdkError> {
        let url = self.walk.url().to_string();
        let bad = |reason: String| SdkError::BadResponse {
            url: url.clone(),
            reason,
        };
        let next = page
            .next
            .take()
            .map(|t| t.parse::<StepsPos>().map_err(|e| bad(format!("next: {e}"))))
            .transpose()?;
        let n: usize = page.steps.iter().map(|s| s.history.len()).sum();
        if self.entries + n > MAX_LISTED {
            return Err(SdkError::TooLong {
                url,
                limit: MAX_LISTED,
            });
        }
        self.walk.advance(next)?;
        self.entries += n;
        let Some(whole) = &mut self.whole else {
            self.whole = Some(page);
            return Ok(());
        };
        let ids =
            |h: &ReceivableHistory| h.lineage.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        if ids(whole) != ids(&page) {
            return Err(bad("a later page is of another lineage".into()));
        }
        let mut steps = page.steps.into_iter();
        if let (Some(first), Some(last)) = (steps.next(), whole.steps.last_mut()) {
            if first.receivable == last.receivable {
                last.history.extend(first.history);
            } else {
                whole.steps.push(first);
            }
        }
        whole.steps.extend(steps);
        // Entries at or below it are certified on every page.
        whole.certified_height = whole.certified_height.min(page.certified_height);
        Ok(())
    }

    /// The gathered answer (`next` absent).
    pub fn finish(self) -> Result<ReceivableHistory, SdkError> {
        let unread = || SdkError::BadResponse {
            url: self.walk.url().to_string(),
            reason: "the history's last page was not read".into(),
        };
        if !self.is_done() {
            return Err(unread());
        }
        self.whole.ok_or_else(unread)
    }
}
