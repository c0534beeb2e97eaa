//! Dual control (maker-checker) from the command line: `lianrong pending` lists the
//! actions held for another member key of the caller's org, `lianrong approve APR-n`
//! approves one (the action executes once the org's policy is met), `lianrong reject`
//! closes one, and `lianrong policy` sets the org's approval policy and its keys' scopes.
//! Every write is one action signed with `--key`; text or `--json` like every verb.

use clap::Subcommand;
use lianrong_contracts::action::ACTION_NAMES;
use lianrong_contracts::model::{ApprovalPolicy, ApprovalRule, ANY_ACTION};
use lianrong_contracts::money::Money;
use lianrong_contracts::Action;
use lianrong_primitives::PublicKey;
use lianrong_sdk::api_types::{ApprovalState, ApprovalView};
use lianrong_sdk::args;

/// `policy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PolicyCmd {
    /// Replace the org's approval policy (itself an action the current policy governs).
    Set {
        /// A rule: `ACTION,N` (every ACTION needs N distinct member keys) or
        /// `ACTION,N,ABOVE,CCY` (only amounts above ABOVE CCY, and amounts in other
        /// currencies); ACTION is an action name (`confirm_invoice`, `disburse`, ...) or
        /// `*`. Repeat for more rules; the strictest matching rule applies.
        #[arg(long = "rule", value_parser = parse_rule, required = true)]
        rules: Vec<ApprovalRule>,
        /// Days a held action waits for its approvals (1-30).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=30))]
        ttl_days: u32,
    },
    /// Remove the org's policy: one key signs anything in its scope again.
    Clear,
    /// Name the actions one of the org's member keys may sign.
    Scope {
        /// The member key (64 hex digits).
        #[arg(long, value_parser = parse_key)]
        key: PublicKey,
        /// Action names, comma-separated; without it, every action.
        #[arg(long, value_delimiter = ',')]
        allow: Vec<String>,
    },
}

impl PolicyCmd {
    /// The action this verb signs.
    pub fn action(&self) -> Action {
        match self {
            PolicyCmd::Set { rules, ttl_days } => Action::SetApprovalPolicy {
                policy: Some(ApprovalPolicy {
                    rules: rules.clone(),
                    ttl_days: *ttl_days,
                }),
            },
            PolicyCmd::Clear => Action::SetApprovalPolicy { policy: None },
            PolicyCmd::Scope { key, allow } => Action::SetKeyScopes {
                key: *key,
                scopes: (!allow.is_empty()).then(|| allow.clone()),
            },
        }
    }
}

fn parse_key(s: &str) -> std::result::Result<PublicKey, String> {
    args::public_key(s).map_err(|e| e.to_string())
}

/// `ACTION,N` or `ACTION,N,ABOVE,CCY`, checked here so a typo is refused before signing.
pub fn parse_rule(s: &str) -> std::result::Result<ApprovalRule, String> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let usage = || {
        format!("{s:?}: use ACTION,N or ACTION,N,ABOVE,CCY (e.g. confirm_invoice,2,1000000,CNY)")
    };
    let (action, n, above) = match parts.as_slice() {
        [a, n] => (*a, *n, None),
        [a, n, amount, ccy] => (*a, *n, Some((*amount, *ccy))),
        _ => return Err(usage()),
    };
    if action != ANY_ACTION && !ACTION_NAMES.contains(&action) {
        return Err(format!(
            "{action:?} is not an action name; one of: {}",
            ACTION_NAMES.join(", ")
        ));
    }
    let approvals: u8 = n
        .parse()
        .map_err(|_| format!("{n:?}: the number of keys is a whole number 1-16"))?;
    let above = match above {
        Some((amount, ccy)) => {
            Some(Money::parse(amount, ccy).map_err(|e| format!("{amount} {ccy}: {e}"))?)
        }
        None => None,
    };
    Ok(ApprovalRule {
        action: action.into(),
        above,
        approvals,
    })
}

/// `pending`: the held actions waiting for a member key of the caller's org (all of
/// them, any state, with `all`).
pub fn state_filter(all: bool) -> Option<ApprovalState> {
    (!all).then_some(ApprovalState::Pending)
}

/// One line per held action.
pub fn text(items: &[ApprovalView]) -> String {
    if items.is_empty() {
        return "no held actions".into();
    }
    items
        .iter()
        .map(|v| {
            let a = &v.approval;
            let amount = a.amount.map(|m| format!(" {m}")).unwrap_or_default();
            format!(
                "{} {} {}{} by {}: {} of {} approvals, {} (until {})",
                a.id,
                v.state.as_str(),
                v.action,
                amount,
                a.org,
                v.counted,
                v.required,
                summary(&a.action),
                a.expires_on
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The document an action is about, for the list.
fn summary(action: &Action) -> String {
    let v = serde_json::to_value(action).unwrap_or_default();
    // `{"VariantName": {fields}}`: the first id-like field names the document.
    let fields = v.as_object().and_then(|o| o.values().next()).cloned();
    let doc = fields.as_ref().and_then(|f| {
        [
            "invoice",
            "receivable",
            "financing",
            "offer",
            "settlement",
            "order",
            "root",
            "id",
        ]
        .iter()
        .find_map(|k| f.get(*k).and_then(|x| x.as_str().map(String::from)))
    });
    doc.unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_with_and_without_a_band_and_typos_are_named() {
        let r = parse_rule("confirm_invoice,2,1000000,CNY").unwrap();
        assert_eq!(r.action, "confirm_invoice");
        assert_eq!(r.approvals, 2);
        assert_eq!(r.above.unwrap().to_string(), "1000000.00 CNY");
        let r = parse_rule("*,2").unwrap();
        assert!(r.above.is_none());
        assert!(parse_rule("confirm,2")
            .unwrap_err()
            .contains("not an action name"));
        assert!(parse_rule("repay,two")
            .unwrap_err()
            .contains("whole number"));
        assert!(parse_rule("repay,2,100").unwrap_err().contains("ACTION,N"));
        assert!(parse_rule("repay,2,100,XXX").is_err());
    }

    #[test]
    fn a_scope_without_names_allows_every_action() {
        let key = lianrong_primitives::SecretKey::from_seed([3; 32]).public();
        let all = PolicyCmd::Scope { key, allow: vec![] };
        assert_eq!(all.action(), Action::SetKeyScopes { key, scopes: None });
    }
}
