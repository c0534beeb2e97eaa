//! `lianrong limit`: credit limits (docs/domain.md, "Limits"). `limit set issuance` opens
//! the governance proposal that sets a core enterprise's issuance limit (validator orgs
//! approve it with `gov approve`); `limit set exposure` sets the signing bank's own
//! exposure limit on a debtor or a supplier; `limit show ORG` and `limit list` read the
//! limits the caller may see with their use and headroom. Text or `--json` like every
//! client verb.

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use lianrong_contracts::model::{ExposureScope, GovChange};
use lianrong_contracts::money::Money;
use lianrong_contracts::Action;
use lianrong_primitives::OrgId;
use lianrong_sdk::api_types::LimitView;
use lianrong_sdk::args;

use super::{parse_org, Ctx};

/// `limit` subcommands.
#[derive(Debug, Subcommand)]
pub enum LimitCmd {
    /// Set (or `--remove`) a limit.
    Set {
        #[command(subcommand)]
        kind: SetCmd,
    },
    /// The limits an org holds (its issuance limit, or a bank's exposure limits) with
    /// their use and headroom.
    Show {
        /// The org.
        #[arg(value_parser = parse_org)]
        org: OrgId,
    },
    /// Every limit the caller may read, with its use and headroom.
    List,
}

/// `limit set` subcommands.
#[derive(Debug, Subcommand)]
pub enum SetCmd {
    /// Propose a core enterprise's issuance limit (a validator org; applied once a
    /// quorum approved it with `gov approve`).
    Issuance {
        /// The core enterprise.
        #[arg(long, value_parser = parse_org)]
        debtor: OrgId,
        #[command(flatten)]
        limit: LimitArg,
    },
    /// Set the signing bank's exposure limit on a core enterprise (`--scope debtor`) or a
    /// supplier (`--scope supplier`).
    Exposure {
        /// The counterparty.
        #[arg(long, value_parser = parse_org)]
        on: OrgId,
        /// Whether the counterparty is capped as debtor or as applicant.
        #[arg(long, value_enum)]
        scope: ScopeArg,
        #[command(flatten)]
        limit: LimitArg,
    },
}

/// `AMOUNT CCY`, or `--remove`.
#[derive(Debug, Args)]
pub struct LimitArg {
    /// The limit (decimal; 0 allows no new use at all).
    #[arg(required_unless_present = "remove")]
    amount: Option<String>,
    /// Its currency (ISO 4217); the limit refuses amounts in any other.
    #[arg(required_unless_present = "remove")]
    currency: Option<String>,
    /// Remove the limit instead (the use is still counted).
    #[arg(long, conflicts_with_all = ["amount", "currency"])]
    remove: bool,
}

impl LimitArg {
    fn money(&self) -> Result<Option<Money>> {
        match (&self.amount, &self.currency, self.remove) {
            (Some(a), Some(c), false) => Ok(Some(limit_money(a, c)?)),
            _ => Ok(None),
        }
    }
}

/// A limit amount: like any amount, but zero is a limit too.
fn limit_money(amount: &str, currency: &str) -> Result<Money> {
    let m = Money::parse(amount.trim(), &currency.trim().to_ascii_uppercase())?;
    if m.amount.is_zero() {
        return Ok(m);
    }
    Ok(args::money(amount, currency)?)
}

/// `--scope`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScopeArg {
    /// The core enterprise owing the financed receivables.
    Debtor,
    /// The supplier applying for the financings.
    Supplier,
}

impl From<ScopeArg> for ExposureScope {
    fn from(s: ScopeArg) -> ExposureScope {
        match s {
            ScopeArg::Debtor => ExposureScope::Debtor,
            ScopeArg::Supplier => ExposureScope::Supplier,
        }
    }
}

impl LimitCmd {
    /// The action a `set` signs; `None` for the reads.
    pub fn action(&self) -> Result<Option<Action>> {
        let LimitCmd::Set { kind } = self else {
            return Ok(None);
        };
        Ok(Some(match kind {
            SetCmd::Issuance { debtor, limit } => Action::Propose {
                change: GovChange::SetIssuanceLimit {
                    debtor: debtor.clone(),
                    limit: limit.money()?,
                },
            },
            SetCmd::Exposure { on, scope, limit } => Action::SetExposureLimit {
                on: on.clone(),
                scope: (*scope).into(),
                limit: limit.money()?,
            },
        }))
    }
}

/// The reads.
pub(super) async fn run(ctx: &Ctx, cmd: &LimitCmd) -> Result<()> {
    let holder = match cmd {
        LimitCmd::Show { org } => Some(org),
        LimitCmd::List => None,
        LimitCmd::Set { .. } => return super::unreachable_verb(),
    };
    let items = ctx.client.limits(holder).await?;
    ctx.print(&items, |i| text(i))
}

/// One line per limit: what it caps, the limit, the use, the headroom, and a mark when
/// the use is above a lowered limit or counted in other currencies.
pub fn text(items: &[LimitView]) -> String {
    if items.is_empty() {
        return "no limits".into();
    }
    let rows: Vec<String> = items
        .iter()
        .map(|v| {
            let mut line = format!(
                "{}: limit {}, used {}, headroom {}",
                v.scope, v.limit, v.used, v.headroom
            );
            if v.over {
                line.push_str(" (OVER: lowered below its use)");
            }
            for m in &v.other_use {
                line.push_str(&format!(" (also {m} used in another currency)"));
            }
            line
        })
        .collect();
    rows.join("\n")
}

#[cfg(test)]
mod tests {
    use super::super::tests::{action, parse};
    use super::*;
    use lianrong_contracts::model::{CreditLimit, LimitScope};
    use lianrong_contracts::money::Amount;

    fn org(s: &str) -> OrgId {
        OrgId::new(s).unwrap()
    }

    #[test]
    fn limit_set_builds_the_proposal_or_the_banks_action() {
        assert_eq!(
            action("limit set issuance --debtor CORE-A 50000000.00 cny"),
            Action::Propose {
                change: GovChange::SetIssuanceLimit {
                    debtor: org("CORE-A"),
                    limit: Some(Money::parse("50000000.00", "CNY").unwrap()),
                },
            }
        );
        assert_eq!(
            action("limit set exposure --on SUP-1 --scope supplier 0 CNY"),
            Action::SetExposureLimit {
                on: org("SUP-1"),
                scope: ExposureScope::Supplier,
                limit: Some(Money::parse("0", "CNY").unwrap()),
            }
        );
        assert_eq!(
            action("limit set exposure --on CORE-A --scope debtor --remove"),
            Action::SetExposureLimit {
                on: org("CORE-A"),
                scope: ExposureScope::Debtor,
                limit: None,
            }
        );
        let reads = parse("limit show BANK-A --node http://n:1 --json").unwrap();
        assert!(reads.action().unwrap().is_none(), "show signs nothing");
        assert!(parse("limit list").unwrap().action().unwrap().is_none());
    }

    #[test]
    fn bad_limits_are_refused_with_the_reason() {
        assert!(parse("limit set exposure --on CORE-A --scope bank 1 CNY").is_err());
        assert!(parse("limit set exposure --on CORE-A --scope debtor").is_err());
        assert!(parse("limit set exposure --on CORE-A --scope debtor 1 CNY --remove").is_err());
        let e = parse("limit set issuance --debtor CORE-A 1.001 CNY")
            .unwrap()
            .action()
            .unwrap_err()
            .to_string();
        assert!(e.contains("decimal places"), "{e}");
    }

    #[test]
    fn text_names_the_limit_its_use_and_its_headroom() {
        let l = CreditLimit {
            scope: LimitScope::Issuance {
                debtor: org("CORE-A"),
            },
            limit: Money::parse("1000.00", "CNY").unwrap(),
            used_when_set: Amount::ZERO,
            set_at: 3,
            set_on: "2026-01-05".parse().unwrap(),
        };
        let uses = [Money::parse("1200.00", "CNY").unwrap()];
        let out = text(&[LimitView::new(l, &uses)]);
        assert_eq!(
            out,
            "issuance limit of CORE-A: limit 1000.00 CNY, used 1200.00 CNY, headroom 0.00 CNY (OVER: lowered below its use)"
        );
        assert_eq!(text(&[]), "no limits");
    }
}
