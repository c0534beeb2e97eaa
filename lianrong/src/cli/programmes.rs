//! `lianrong programme`: supply-chain finance programmes (docs/domain.md, "Programmes").
//! A bank creates one with a core enterprise (its eligible suppliers and tiers, currency,
//! pricing grid, fees, maximum tenor, advance ratio, recourse, auto-offer, limit), the
//! core accepts it, eligible suppliers join and leave, the bank removes members and
//! closes it; `show` and `list` read programmes with their members and the use of their
//! limit. A member finances under one with `financing request RCV --programme PRG-n`.
//! Text or `--json` like every client verb.

use anyhow::{bail, Result};
use clap::Subcommand;
use lianrong_contracts::model::{DocId, GridBucket, ProgrammeTerms};
use lianrong_contracts::money::{Currency, Money, Rate};
use lianrong_contracts::Action;
use lianrong_primitives::OrgId;
use lianrong_sdk::api_types::programmes::terms_summary;
use lianrong_sdk::api_types::ProgrammeView;
use lianrong_sdk::args;

use super::{output, parse_amount, parse_doc_id, parse_org, parse_rate, Ctx};

/// `programme` subcommands.
#[derive(Debug, Subcommand)]
pub enum ProgrammeCmd {
    /// Set up a programme with a core enterprise (a bank): PRG-n, active once the core
    /// accepts it.
    Create {
        /// The core enterprise (the debtor of the receivables financed).
        #[arg(long, value_parser = parse_org)]
        core: OrgId,
        /// An eligible supplier: repeat --supplier or separate with commas (1-256).
        #[arg(long = "supplier", required = true, value_delimiter = ',', value_parser = parse_org)]
        suppliers: Vec<OrgId>,
        /// The deepest tier financed (1: only suppliers that sold to the core itself).
        #[arg(long, default_value_t = 1)]
        max_tier: u32,
        /// ISO 4217 currency of the programme.
        #[arg(long, default_value = "CNY")]
        currency: String,
        /// A pricing grid bucket DAYS:RATE (tenors up to DAYS days at RATE % a year):
        /// repeat --grid or separate with commas, DAYS increasing, the last covering
        /// --max-tenor-days (1-8 buckets).
        #[arg(long = "grid", required = true, value_delimiter = ',', value_parser = parse_bucket)]
        grid: Vec<GridBucket>,
        /// Fee in percent of the advanced amount (rounded half away from zero).
        #[arg(long, default_value = "0", value_parser = parse_rate)]
        fee_percent: Rate,
        /// Fixed fee per financing (decimal, in the programme's currency).
        #[arg(long, default_value = "0", value_parser = parse_amount)]
        fee_fixed: lianrong_contracts::money::Amount,
        /// Longest tenor financed, in days from the offer to maturity (1-365).
        #[arg(long, default_value_t = 180)]
        max_tenor_days: u32,
        /// Advance ratio in percent of the face (above 0, at most 100): face x ratio,
        /// rounded down to the minor unit, is advanced.
        #[arg(long, default_value = "100", value_parser = parse_rate)]
        advance: Rate,
        /// The bank keeps recourse to the supplier: on default the supplier buys the
        /// financing back (without it the bank may write it off).
        #[arg(long)]
        recourse: bool,
        /// Annual penalty rate in percent on its overdue financings (ACT/360 by default:
        /// 18 is 0.05 % a day); 0 charges none.
        #[arg(long, default_value = "0", value_parser = parse_rate)]
        penalty_rate: Rate,
        /// Every request gets the grid's offer from the ledger at once.
        #[arg(long)]
        auto_offer: bool,
        /// Days an offer under the programme stays valid (0: today only).
        #[arg(long, default_value_t = 5)]
        offer_valid_days: u32,
        /// The programme limit: the financed face still owed on its live financings
        /// (decimal, in the programme's currency).
        #[arg(long)]
        limit: String,
    },
    /// Accept a programme set up with the caller as its core enterprise.
    Accept {
        /// The programme.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// Join an active programme the caller is eligible for (a supplier).
    Join {
        /// The programme.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// Leave a programme (a member supplier); its financings run their course.
    Leave {
        /// The programme.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// Remove a member supplier (the programme's bank); its financings run their course.
    Remove {
        /// The programme.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
        /// The member supplier.
        #[arg(long, value_parser = parse_org)]
        supplier: OrgId,
    },
    /// Close a programme (its bank): no new financing under it; deals untouched.
    Close {
        /// The programme.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// A programme: terms, status, members and the use of its limit.
    Show {
        /// The programme.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// Every programme the caller may read, with the use of its limit.
    List,
}

/// `DAYS:RATE`.
fn parse_bucket(s: &str) -> std::result::Result<GridBucket, String> {
    let (days, rate) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?}: give a grid bucket as DAYS:RATE, e.g. 90:3.65"))?;
    let max_days = days
        .trim()
        .parse::<u32>()
        .map_err(|_| format!("{days:?}: the bucket's days are a whole number"))?;
    let rate = args::rate(rate.trim()).map_err(|e| e.to_string())?;
    Ok(GridBucket { max_days, rate })
}

impl ProgrammeCmd {
    /// The action a write verb signs; `None` for the reads.
    pub fn action(&self) -> Result<Option<Action>> {
        Ok(Some(match self {
            ProgrammeCmd::Create {
                core,
                suppliers,
                max_tier,
                currency,
                grid,
                fee_percent,
                fee_fixed,
                max_tenor_days,
                advance,
                recourse,
                penalty_rate,
                auto_offer,
                offer_valid_days,
                limit,
            } => {
                let code = currency.trim().to_ascii_uppercase();
                let currency = Currency::new(&code)?;
                let limit: Money = args::money(limit, &code)?;
                Action::CreateProgramme {
                    terms: ProgrammeTerms {
                        core: core.clone(),
                        suppliers: suppliers.clone(),
                        max_tier: *max_tier,
                        currency,
                        grid: grid.clone(),
                        fee_percent: *fee_percent,
                        fee_fixed: *fee_fixed,
                        max_tenor_days: *max_tenor_days,
                        advance: *advance,
                        recourse: *recourse,
                        auto_offer: *auto_offer,
                        offer_valid_days: *offer_valid_days,
                        limit,
                        penalty_rate: *penalty_rate,
                    },
                }
            }
            ProgrammeCmd::Accept { id } => Action::AcceptProgramme {
                programme: id.clone(),
            },
            ProgrammeCmd::Join { id } => Action::JoinProgramme {
                programme: id.clone(),
            },
            ProgrammeCmd::Leave { id } => Action::LeaveProgramme {
                programme: id.clone(),
            },
            ProgrammeCmd::Remove { id, supplier } => Action::RemoveFromProgramme {
                programme: id.clone(),
                supplier: supplier.clone(),
            },
            ProgrammeCmd::Close { id } => Action::CloseProgramme {
                programme: id.clone(),
            },
            ProgrammeCmd::Show { .. } | ProgrammeCmd::List => return Ok(None),
        }))
    }
}

/// The reads.
pub(super) async fn run(ctx: &Ctx, cmd: &ProgrammeCmd) -> Result<()> {
    match cmd {
        ProgrammeCmd::Show { id } => {
            let v = ctx.client.programme(id).await?;
            ctx.print(&v, show_text)
        }
        ProgrammeCmd::List => {
            let items = ctx.client.programmes().await?;
            ctx.print(&items, |i| list_text(i))
        }
        _ => {
            bail!("internal: this programme verb has no handler")
        }
    }
}

/// One programme: its terms, status, members and limit with use and headroom.
pub fn show_text(v: &ProgrammeView) -> String {
    let p = &v.programme;
    let t = &p.terms;
    let status = serde_json::to_value(v.status)
        .ok()
        .and_then(|s| s.as_str().map(str::to_string))
        .unwrap_or_default();
    let list = |orgs: &[OrgId]| {
        if orgs.is_empty() {
            "none".to_string()
        } else {
            orgs.iter()
                .map(OrgId::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let mut lines = vec![
        format!(
            "{} of {} with {}: {status} (created {}{}{})",
            p.id,
            p.bank,
            t.core,
            p.created_on,
            p.accepted_on
                .map(|d| format!(", accepted {d}"))
                .unwrap_or_default(),
            p.closed_on
                .map(|d| format!(", closed {d}"))
                .unwrap_or_default(),
        ),
        format!("terms: {}", terms_summary(p)),
        format!("eligible: {}", list(&t.suppliers)),
        format!("members: {}", list(&p.members)),
        format!(
            "limit {}, used {}, headroom {}",
            t.limit, v.used, v.headroom
        ),
    ];
    lines.retain(|l| !l.is_empty());
    lines.join("\n")
}

/// One line per programme.
pub fn list_text(items: &[ProgrammeView]) -> String {
    if items.is_empty() {
        return "no programmes".into();
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|v| {
            let p = &v.programme;
            vec![
                p.id.to_string(),
                p.bank.to_string(),
                p.terms.core.to_string(),
                serde_json::to_value(v.status)
                    .ok()
                    .and_then(|s| s.as_str().map(str::to_string))
                    .unwrap_or_default(),
                p.members.len().to_string(),
                p.terms.limit.to_string(),
                v.used.to_string(),
                v.headroom.to_string(),
            ]
        })
        .collect();
    output::table(
        &[
            "id", "bank", "core", "status", "members", "limit", "used", "headroom",
        ],
        &rows,
    )
}

/// `financing request RCV --programme PRG-n` (the request under a programme, its bank
/// invited) or `--bank ...` (the open auction).
pub fn request_action(receivable: &DocId, programme: Option<&DocId>, banks: &[OrgId]) -> Action {
    match programme {
        Some(p) => Action::RequestProgrammeFinancing {
            receivable: receivable.clone(),
            programme: p.clone(),
        },
        None => Action::RequestFinancing {
            receivable: receivable.clone(),
            banks: banks.to_vec(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{action, parse};
    use super::*;
    use lianrong_contracts::model::{Programme, ProgrammeStatus};
    use lianrong_contracts::money::Amount;

    fn org(s: &str) -> OrgId {
        OrgId::new(s).unwrap()
    }

    #[test]
    fn programme_create_builds_the_terms() {
        let a = action(
            "programme create --core CORE-A --supplier SUP-1,SUP-3 --max-tier 2 --grid 30:3.00 --grid 90:3.65,180:4.2 --fee-percent 0.10 --fee-fixed 50.00 --max-tenor-days 180 --advance 80 --auto-offer --limit 2000000.00 --currency cny",
        );
        let Action::CreateProgramme { terms } = a else {
            panic!("{a:?}")
        };
        assert_eq!(terms.core, org("CORE-A"));
        assert_eq!(terms.suppliers, [org("SUP-1"), org("SUP-3")]);
        assert_eq!(
            terms
                .grid
                .iter()
                .map(|b| (b.max_days, b.rate.to_string()))
                .collect::<Vec<_>>(),
            [
                (30, "3.00%".to_string()),
                (90, "3.65%".into()),
                (180, "4.2%".into())
            ]
        );
        assert_eq!(
            (terms.max_tier, terms.max_tenor_days, terms.offer_valid_days),
            (2, 180, 5)
        );
        assert!(terms.auto_offer && !terms.recourse);
        assert_eq!(terms.limit, Money::parse("2000000.00", "CNY").unwrap());
        assert_eq!(terms.fee_fixed, Amount::parse("50.00").unwrap());
        assert_eq!(
            action("programme remove PRG-1 --supplier SUP-1"),
            Action::RemoveFromProgramme {
                programme: DocId::new("PRG-1").unwrap(),
                supplier: org("SUP-1"),
            }
        );
        assert_eq!(
            action("financing request RCV-3 --programme PRG-1"),
            Action::RequestProgrammeFinancing {
                receivable: DocId::new("RCV-3").unwrap(),
                programme: DocId::new("PRG-1").unwrap(),
            }
        );
        assert!(parse("programme show PRG-1")
            .unwrap()
            .action()
            .unwrap()
            .is_none());
        assert!(parse("programme list").unwrap().action().unwrap().is_none());
    }

    #[test]
    fn bad_programme_lines_are_refused_with_the_reason() {
        let e = parse("programme create --core CORE-A --supplier SUP-1 --grid 90 --limit 1")
            .unwrap_err();
        assert!(e.contains("DAYS:RATE"), "{e}");
        let e = parse("programme create --core CORE-A --supplier SUP-1 --grid 90:3 --limit 1.001")
            .unwrap()
            .action()
            .unwrap_err()
            .to_string();
        assert!(e.contains("decimal places"), "{e}");
        // Under a programme its bank is the one invited.
        assert!(parse("financing request RCV-3 --programme PRG-1 --bank BANK-B").is_err());
        assert!(
            parse("financing request RCV-3").is_err(),
            "a bank or a programme"
        );
    }

    #[test]
    fn the_text_names_terms_members_and_the_use_of_the_limit() {
        let p: Programme = serde_json::from_value(serde_json::json!({
            "id": "PRG-1", "bank": "BANK-A",
            "terms": {"core": "CORE-A", "suppliers": ["SUP-1", "SUP-3"], "max_tier": 2,
                "currency": "CNY", "grid": [{"max_days": 90, "rate": "3.65"}],
                "fee_percent": "0.1", "fee_fixed": "50", "max_tenor_days": 90,
                "advance": "80", "recourse": false, "auto_offer": true,
                "offer_valid_days": 5, "limit": {"amount": "2000000.00", "currency": "CNY"}},
            "members": ["SUP-1"], "status": "active", "created_on": "2026-01-05",
            "accepted_on": "2026-01-06", "closed_on": null
        }))
        .unwrap();
        let v = ProgrammeView::new(p, Amount::parse("1000000.00").unwrap());
        assert_eq!(v.status, ProgrammeStatus::Active);
        let text = show_text(&v);
        assert!(
            text.starts_with(
                "PRG-1 of BANK-A with CORE-A: active (created 2026-01-05, accepted 2026-01-06)"
            ),
            "{text}"
        );
        assert!(text.contains("members: SUP-1\n"), "{text}");
        assert!(
            text.ends_with("limit 2000000.00 CNY, used 1000000.00 CNY, headroom 1000000.00 CNY"),
            "{text}"
        );
        let list = list_text(&[v]);
        assert!(list.lines().nth(1).unwrap().starts_with("PRG-1"), "{list}");
        assert_eq!(list_text(&[]), "no programmes");
    }
}
