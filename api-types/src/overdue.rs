//! A financing as `GET /v1/financings/{id}` answers it: the ledger's record (its fields at
//! the top level, as before: `overdue` carries the penalty terms, the buy-back and the
//! write-off) and, once it went overdue, its figures as of the ledger's date -- days past
//! due, the outstanding advance, the day's penalty, the penalty accrued and the claim a
//! buy-back pays or a write-off writes off -- computed by the ledger's own rule
//! (`lianrong_contracts::exec::default::figures`), so the node, the SDK's callers, the
//! CLI and the explorer show the figure the ledger charges.

use chrono::NaiveDate;
use lianrong_contracts::exec::default::{figures, DefaultFigures};
use lianrong_contracts::model::{Financing, Receivable};
use serde::{Deserialize, Serialize};

/// A financing with its overdue figures as of a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinancingView {
    /// The ledger's record.
    #[serde(flatten)]
    pub financing: Financing,
    /// The figures as of `overdue_figures.as_of` (the ledger's date, or the day the
    /// penalty stopped); `null` while it never went overdue or when
    /// [`FinancingView::overdue_unavailable`] says why.
    pub overdue_figures: Option<DefaultFigures>,
    /// Why an overdue financing has no figures (its receivable not found, a broken
    /// record); `null` otherwise.
    pub overdue_unavailable: Option<String>,
}

impl FinancingView {
    /// `financing` with its figures as of `today` from its `receivable` (`None`: not
    /// found).
    pub fn new(
        financing: Financing,
        receivable: Option<&Receivable>,
        today: NaiveDate,
    ) -> FinancingView {
        let (overdue_figures, overdue_unavailable) = match (&financing.overdue, receivable) {
            (None, _) => (None, None),
            (Some(_), None) => (
                None,
                Some(format!("receivable {} not found", financing.receivable)),
            ),
            (Some(_), Some(r)) => match figures(&financing, r, today) {
                Ok(f) => (f, None),
                Err(e) => (None, Some(e.to_string())),
            },
        };
        FinancingView {
            financing,
            overdue_figures,
            overdue_unavailable,
        }
    }
}

/// Days-past-due buckets of the risk view: 1-30, 31-90 and over 90 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AgeingBucket {
    /// 1 to 30 days past due (0 counts here too: not yet a day past due).
    Upto30,
    /// 31 to 90 days past due.
    Upto90,
    /// More than 90 days past due.
    Over90,
}

impl AgeingBucket {
    /// The bucket of `days_past_due`.
    pub fn of(days_past_due: u32) -> AgeingBucket {
        match days_past_due {
            0..=30 => AgeingBucket::Upto30,
            31..=90 => AgeingBucket::Upto90,
            _ => AgeingBucket::Over90,
        }
    }

    /// Its column label.
    pub fn label(&self) -> &'static str {
        match self {
            AgeingBucket::Upto30 => "1-30 days",
            AgeingBucket::Upto90 => "31-90 days",
            AgeingBucket::Over90 => "90+ days",
        }
    }

    /// Every bucket, youngest first.
    pub const ALL: [AgeingBucket; 3] = [
        AgeingBucket::Upto30,
        AgeingBucket::Upto90,
        AgeingBucket::Over90,
    ];
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn buckets_split_at_30_and_90_days() {
        let b = |d| AgeingBucket::of(d);
        assert_eq!(
            [b(1), b(30), b(31), b(90), b(91), b(400)],
            [
                AgeingBucket::Upto30,
                AgeingBucket::Upto30,
                AgeingBucket::Upto90,
                AgeingBucket::Upto90,
                AgeingBucket::Over90,
                AgeingBucket::Over90
            ]
        );
        assert_eq!(AgeingBucket::Over90.label(), "90+ days");
    }
}
