//! Credit limits and their utilisation (issue 15 item 2).
//!
//! Four kinds, each one [`Money`] (one currency):
//! - a core enterprise's **issuance limit** (set by governance): the outstanding amounts
//!   of the live receivables it owes;
//! - a bank's **exposure limit on a debtor** and **on a supplier** (set by the bank):
//!   the financed face still owed on its live financings whose receivable that debtor
//!   owes, or that supplier applied for;
//! - a **programme limit** (set with the programme by its bank): the financed face still
//!   owed on the live financings under the programme. It counts exactly like the
//!   exposure limits.
//!
//! Utilisation is a stored counter per limit and currency, kept whether or not a limit
//! is set (a limit set later applies to the real use). Issuance use grows when a
//! confirmation creates a receivable and falls with every acknowledged settlement.
//! Exposure counts a financing from its acceptance (its face) while accepted or
//! disbursed; it falls with every acknowledged settlement of the financed receivable and
//! the rest is removed when the financing ends unsettled (abandoned, cancelled after
//! lapsing, cancelled by a settlement). So a live financing's exposure is always its
//! receivable's outstanding amount. An increase is refused past the limit; a limit in
//! another currency than the amount refuses it too (it cannot be compared, and an
//! uncompared amount must not pass as unlimited).

use chrono::NaiveDate;
use lianrong_primitives::OrgId;

use super::{load_doc, load_party, Ctx};
use crate::error::{ContractError, DocKind, ExecError, StoreError};
use crate::events::Event;
use crate::model::{
    CreditLimit, DocId, ExposureScope, Financing, FinancingStatus, LimitScope, Receivable, Role,
};
use crate::money::{Amount, Currency, Money};
use crate::state::{keys, StateView};

/// The limit in force on `scope`, if any.
pub fn load_limit(
    st: &StateView<'_>,
    scope: &LimitScope,
) -> Result<Option<CreditLimit>, ExecError> {
    Ok(st.load(&keys::limit(scope))?)
}

/// The use of `scope` in `currency` (zero when nothing is counted).
pub fn used(
    st: &StateView<'_>,
    scope: &LimitScope,
    currency: Currency,
) -> Result<Amount, ExecError> {
    Ok(st
        .load::<Amount>(&keys::limit_use(scope, currency.code()))?
        .unwrap_or(Amount::ZERO))
}

fn store_use(st: &mut StateView<'_>, scope: &LimitScope, currency: Currency, amount: Amount) {
    let key = keys::limit_use(scope, currency.code());
    // Absent when zero, so the counters in state are exactly the scopes with use.
    if amount.is_zero() {
        st.delete(key);
    } else {
        st.store(key, &amount);
    }
}

/// Refuses `amount` on top of `others` (the use without it) under `scope`'s limit.
fn check_room(
    st: &StateView<'_>,
    scope: &LimitScope,
    others: Amount,
    amount: &Money,
) -> Result<Amount, ExecError> {
    let total = others.checked_add(amount.amount)?;
    let Some(l) = load_limit(st, scope)? else {
        return Ok(total);
    };
    if l.limit.currency != amount.currency {
        return Err(ContractError::LimitCurrencyMismatch {
            scope: Box::new(scope.clone()),
            limit_currency: l.limit.currency.to_string(),
            amount: amount.to_string(),
        }
        .into());
    }
    if total > l.limit.amount {
        let used = Money {
            amount: others,
            currency: amount.currency,
        };
        return Err(ContractError::LimitExceeded {
            scope: Box::new(scope.clone()),
            limit: l.limit.to_string(),
            used: used.to_string(),
            amount: amount.to_string(),
        }
        .into());
    }
    Ok(total)
}

/// Counts `amount` more against `scope`, refused past its limit.
fn add_use(st: &mut StateView<'_>, scope: &LimitScope, amount: &Money) -> Result<(), ExecError> {
    let others = used(st, scope, amount.currency)?;
    let total = check_room(st, scope, others, amount)?;
    store_use(st, scope, amount.currency, total);
    Ok(())
}

/// Counts `amount` less against `scope`. Falling below zero means the counter and the
/// documents disagree: execution stops rather than guess.
fn sub_use(st: &mut StateView<'_>, scope: &LimitScope, amount: &Money) -> Result<(), ExecError> {
    let now = used(st, scope, amount.currency)?;
    let left = now.checked_sub(amount.amount).ok_or_else(|| {
        StoreError::Invariant(format!(
            "use of the {scope} ({now} {}) is below {amount} to release",
            amount.currency
        ))
    })?;
    store_use(st, scope, amount.currency, left);
    Ok(())
}

/// The scopes a financing counts under: its bank's exposure on the receivable's debtor
/// and on the applicant, and the limit of the programme it was requested under, if any.
pub fn financing_scopes(
    bank: &OrgId,
    debtor: &OrgId,
    applicant: &OrgId,
    programme: Option<&DocId>,
) -> Vec<LimitScope> {
    let mut scopes = vec![
        LimitScope::Exposure {
            bank: bank.clone(),
            scope: ExposureScope::Debtor,
            on: debtor.clone(),
        },
        LimitScope::Exposure {
            bank: bank.clone(),
            scope: ExposureScope::Supplier,
            on: applicant.clone(),
        },
    ];
    scopes.extend(programme.map(|p| LimitScope::Programme {
        bank: bank.clone(),
        programme: p.clone(),
    }));
    scopes
}

/// The financing's counted scopes, if it counts (accepted or disbursed).
fn counted_scopes(f: &Financing, r: &Receivable) -> Option<Vec<LimitScope>> {
    let counts = matches!(
        f.status,
        FinancingStatus::Accepted | FinancingStatus::Disbursed
    );
    let terms = f.terms.as_ref().filter(|_| counts)?;
    Some(financing_scopes(
        &terms.bank,
        &r.debtor,
        &f.applicant,
        f.programme.as_ref(),
    ))
}

/// A confirmation created receivable `r`: its face counts against its debtor's issuance
/// limit.
pub fn receivable_issued(st: &mut StateView<'_>, r: &Receivable) -> Result<(), ExecError> {
    let scope = LimitScope::Issuance {
        debtor: r.debtor.clone(),
    };
    add_use(st, &scope, &r.face)
}

/// An offer was accepted on `r` (the financing `f` already accepted with its terms): the
/// face financed counts against the bank's limits on the debtor and the applicant, and
/// against its programme's limit.
pub fn offer_accepted(
    st: &mut StateView<'_>,
    f: &Financing,
    r: &Receivable,
) -> Result<(), ExecError> {
    let (Some(scopes), Some(t)) = (counted_scopes(f, r), f.terms.as_ref()) else {
        return Err(StoreError::Invariant(format!("financing {} counted unaccepted", f.id)).into());
    };
    for scope in &scopes {
        add_use(st, scope, &t.face)?;
    }
    Ok(())
}

/// Before a disbursement: the bank's use on the debtor and the applicant, and the
/// programme's use (this financing already in each), must still be within their limits,
/// which may have been lowered since the acceptance.
pub fn check_disbursement(
    st: &StateView<'_>,
    f: &Financing,
    r: &Receivable,
) -> Result<(), ExecError> {
    let (Some(scopes), Some(t)) = (counted_scopes(f, r), f.terms.as_ref()) else {
        return Err(StoreError::Invariant(format!("financing {} counted unaccepted", f.id)).into());
    };
    let mine = Money {
        amount: r.checked_outstanding()?,
        currency: t.face.currency,
    };
    for scope in &scopes {
        let others = used(st, scope, mine.currency)?
            .checked_sub(mine.amount)
            .ok_or_else(|| {
                StoreError::Invariant(format!("use of the {scope} lacks financing {}", f.id))
            })?;
        check_room(st, scope, others, &mine)?;
    }
    Ok(())
}

/// A settlement of `amount` on `r` was acknowledged (before the receivable is saved or
/// its financing ended): the debtor's issuance use falls, and so does the exposure of a
/// counted financing on it.
pub fn settlement_acknowledged(
    st: &mut StateView<'_>,
    r: &Receivable,
    amount: &Money,
) -> Result<(), ExecError> {
    let issuance = LimitScope::Issuance {
        debtor: r.debtor.clone(),
    };
    sub_use(st, &issuance, amount)?;
    if let Some(fid) = &r.financing {
        let f: Financing = load_doc(st, DocKind::Financing, fid.as_str())?;
        for scope in counted_scopes(&f, r).into_iter().flatten() {
            sub_use(st, &scope, amount)?;
        }
    }
    Ok(())
}

/// A secondary sale moved `amount` of exposure from the seller's financing `from` to the
/// buyer's `to` (both counted, on receivables of `r`'s debtor): the seller's use falls,
/// the buyer's grows, refused past any of the buyer's limits (`exec::secondary`).
pub fn financing_sold(
    st: &mut StateView<'_>,
    from: &Financing,
    to: &Financing,
    r: &Receivable,
    amount: &Money,
) -> Result<(), ExecError> {
    let (Some(out), Some(into)) = (counted_scopes(from, r), counted_scopes(to, r)) else {
        return Err(StoreError::Invariant(format!("financing {} sold uncounted", from.id)).into());
    };
    for scope in &out {
        sub_use(st, scope, amount)?;
    }
    for scope in &into {
        add_use(st, scope, amount)?;
    }
    Ok(())
}

/// Financing `f` (still in its counted status) ends without being repaid: what it still
/// counts (its receivable's outstanding amount) leaves the bank's use.
pub fn financing_ended(st: &mut StateView<'_>, f: &Financing) -> Result<(), ExecError> {
    let r: Receivable = load_doc(st, DocKind::Receivable, f.receivable.as_str())?;
    let Some(scopes) = counted_scopes(f, &r) else {
        return Ok(());
    };
    let left = Money {
        amount: r.checked_outstanding()?,
        currency: r.face.currency,
    };
    if left.amount.is_zero() {
        return Ok(());
    }
    for scope in &scopes {
        sub_use(st, scope, &left)?;
    }
    Ok(())
}

/// Writes (or with `None` removes) the limit on `scope`; refuses removing a limit that
/// is not set.
fn set(
    st: &mut StateView<'_>,
    scope: LimitScope,
    limit: Option<Money>,
    height: u64,
    today: NaiveDate,
) -> Result<Vec<Event>, ExecError> {
    let key = keys::limit(&scope);
    match limit {
        Some(limit) => {
            let used_when_set = used(st, &scope, limit.currency)?;
            let record = CreditLimit {
                scope: scope.clone(),
                limit,
                used_when_set,
                set_at: height,
                set_on: today,
            };
            st.store(key, &record);
        }
        None => {
            if !st.exists(&key)? {
                return Err(ContractError::InvalidField {
                    field: "limit".into(),
                    reason: format!("there is no {scope} to remove"),
                }
                .into());
            }
            st.delete(key);
        }
    }
    Ok(vec![Event::LimitSet { scope, limit }])
}

/// A limit's amount: a currency's minor units, at most the amount cap; zero is a limit
/// too (no new use at all).
fn check_amount(ctx: &Ctx, limit: &Option<Money>) -> Result<(), ExecError> {
    if let Some(l) = limit.filter(|l| !l.amount.is_zero()) {
        l.validate(ctx.params.amount_cap)?;
    }
    Ok(())
}

/// `SetExposureLimit`: a bank caps its own exposure on a core enterprise (as debtor) or
/// a supplier (as applicant).
pub fn set_exposure(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    on: &OrgId,
    scope: &ExposureScope,
    limit: &Option<Money>,
) -> Result<Vec<Event>, ExecError> {
    let (scope, limit) = (*scope, *limit);
    ctx.require_role(Role::Bank)?;
    let role = match scope {
        ExposureScope::Debtor => Role::Core,
        ExposureScope::Supplier => Role::Supplier,
    };
    load_party(st, on, scope.as_str(), Some(role))?;
    check_amount(ctx, &limit)?;
    let scope = LimitScope::Exposure {
        bank: ctx.org_id().clone(),
        scope,
        on: on.clone(),
    };
    set(st, scope, limit, ctx.height, ctx.today)
}

/// Sets the limit of a programme being created (`scope` is a [`LimitScope::Programme`]);
/// its use starts at what is counted under it (nothing, for a new programme).
pub fn set_programme_limit(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    scope: LimitScope,
    limit: Money,
) -> Result<Vec<Event>, ExecError> {
    check_amount(ctx, &Some(limit))?;
    set(st, scope, Some(limit), ctx.height, ctx.today)
}

/// Checks a governance `SetIssuanceLimit` as it is proposed and again as it executes.
pub fn validate_issuance_limit(
    ctx: &Ctx,
    st: &StateView<'_>,
    debtor: &OrgId,
    limit: &Option<Money>,
) -> Result<(), ExecError> {
    load_party(st, debtor, "debtor", Some(Role::Core))?;
    check_amount(ctx, limit)?;
    let scope = LimitScope::Issuance {
        debtor: debtor.clone(),
    };
    if limit.is_none() && load_limit(st, &scope)?.is_none() {
        return Err(ContractError::InvalidChange(format!("there is no {scope} to remove")).into());
    }
    Ok(())
}

/// Applies an approved `SetIssuanceLimit`.
pub fn set_issuance_limit(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    debtor: &OrgId,
    limit: Option<Money>,
) -> Result<Vec<Event>, ExecError> {
    let scope = LimitScope::Issuance {
        debtor: debtor.clone(),
    };
    set(st, scope, limit, ctx.height, ctx.today)
}
