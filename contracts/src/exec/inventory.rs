//! Inventory finance (存货融资): loans against warehouse receipts pledged to the lending
//! bank, valued at the bank's posted prices, with a margin call, a cure period,
//! enforcement, and release of goods against repayment (赎货).
//!
//! Figures, all exact (`rust_decimal`, checked):
//! - the value of one receipt = quantity x the bank's latest price for (goods, unit) in
//!   the loan's currency, rounded half away from zero to the currency's minor unit (the
//!   only rounding); a loan's goods value is the sum of its receipts' values;
//! - balance = principal disbursed - repayments the bank acknowledged (0 before the
//!   disbursement);
//! - LTV = balance / goods value, compared without division: `balance x 100 > value x
//!   limit%`, so exactly at a limit is within it and a cent over is not; shown in
//!   percent rounded up to 4 decimals in messages and views only;
//! - interest is simple on the balance at the loan's rate and the network's day count
//!   (ACT/360 by default): each period between balance changes accrues balance x rate x
//!   days / basis, rounded like a discount (`money::discount`). It is reported, not
//!   collected: repayments reduce principal.

use chrono::{Duration, NaiveDate};
use lianrong_primitives::OrgId;
use rust_decimal::{Decimal, RoundingStrategy};

use super::{check_payment_ref, check_text, load_doc, next_id, status_err, warehouse, Ctx};
use crate::action::Action;
use crate::error::{ContractError, DocKind, ExecError, StoreError};
use crate::events::Event;
use crate::model::{
    DocId, Loan, LoanDisbursement, LoanRepayment, LoanStatus, LoanTerms, MarginCallState,
    PostedPrice, ReceiptStatus, Role, WarehouseReceipt, MAX_CURE_DAYS, MAX_LOAN_RECEIPTS,
    MAX_PRICES_PER_BANK,
};
use crate::money::{discount, Amount, Currency, DayCount, Money, MoneyError, Rate, Unit};
use crate::state::{keys, StateView};

/// Applies an inventory-finance action (see [`super::apply_action`]).
pub fn apply(ctx: &Ctx, st: &mut StateView<'_>, action: &Action) -> Result<Vec<Event>, ExecError> {
    use Action as A;
    match action {
        A::PostPrice { goods, unit, price } => post_price(ctx, st, goods, unit, price),
        A::RequestLoan { receipts, amount } => request(ctx, st, receipts, amount),
        A::OfferLoan {
            loan,
            rate,
            ltv_max,
            margin_call_ltv,
            cure_days,
            maturity,
        } => {
            let terms = LoanTerms {
                rate: *rate,
                ltv_max: *ltv_max,
                margin_call_ltv: *margin_call_ltv,
                cure_days: *cure_days,
                maturity: *maturity,
                offered_on: ctx.today,
            };
            offer(ctx, st, loan, terms)
        }
        A::AcceptLoan { loan } => accept(ctx, st, loan),
        A::CancelLoan { loan } => cancel(ctx, st, loan),
        A::DisburseLoan { loan, payment_ref } => disburse(ctx, st, loan, payment_ref),
        A::AcknowledgeLoanDisbursement { loan } => acknowledge_disbursement(ctx, st, loan),
        A::RepayLoan {
            loan,
            amount,
            payment_ref,
        } => repay(ctx, st, loan, *amount, payment_ref),
        A::AcknowledgeLoanRepayment { loan } => acknowledge_repayment(ctx, st, loan),
        A::MarginCall { loan } => margin_call(ctx, st, loan),
        A::TopUp { loan, receipt } => top_up(ctx, st, loan, receipt),
        A::ReleaseGoods { loan, receipt } => release_goods(ctx, st, loan, receipt),
        A::Enforce { loan } => enforce(ctx, st, loan),
        other => Err(StoreError::Invariant(format!(
            "{} is not an inventory-finance action",
            other.name()
        ))
        .into()),
    }
}

// --- records -------------------------------------------------------------------------

fn load(st: &StateView<'_>, id: &DocId) -> Result<Loan, ExecError> {
    load_doc(st, DocKind::Loan, id.as_str())
}

fn save(st: &mut StateView<'_>, l: &Loan) {
    st.store(keys::doc(DocKind::Loan, l.id.as_str()), l);
}

fn wrong(l: &Loan, expected: &str) -> ExecError {
    status_err(DocKind::Loan, &l.id, l.status, expected)
}

fn terms(l: &Loan) -> Result<&LoanTerms, ExecError> {
    l.terms.as_ref().ok_or_else(|| {
        StoreError::Invariant(format!("loan {} is {:?} without terms", l.id, l.status)).into()
    })
}

/// The balance as money; an inconsistent record (repaid above principal) stops the block.
fn balance(l: &Loan) -> Result<Money, ExecError> {
    let amount = l
        .balance()
        .ok_or_else(|| StoreError::Invariant(format!("loan {} repaid more than it lent", l.id)))?;
    Ok(Money {
        amount,
        currency: l.amount.currency,
    })
}

/// Loads a loan in `status`, signed by its `party` (`lender` or `borrower`).
fn load_as(
    ctx: &Ctx,
    st: &StateView<'_>,
    id: &DocId,
    party: &str,
    status: LoanStatus,
) -> Result<Loan, ExecError> {
    let l = load(st, id)?;
    let who = if party == "lender" {
        ctx.require_role(Role::Bank)?;
        &l.bank
    } else {
        &l.borrower
    };
    ctx.require_party(who, party, DocKind::Loan, id)?;
    if l.status != status {
        return Err(wrong(&l, &format!("{status:?}").to_lowercase()));
    }
    Ok(l)
}

// --- prices and values ---------------------------------------------------------------

/// The bank's latest price for (goods, unit) in `currency`, or `NoPrice`.
pub fn price_of(
    st: &StateView<'_>,
    bank: &OrgId,
    goods: &str,
    unit: &Unit,
    currency: Currency,
) -> Result<PostedPrice, ExecError> {
    let key = keys::price(bank, goods, unit.as_str(), currency.code());
    st.load(&key)?.ok_or_else(|| {
        ContractError::NoPrice {
            bank: bank.clone(),
            goods: goods.to_string(),
            unit: unit.to_string(),
            currency: currency.to_string(),
        }
        .into()
    })
}

/// The value of one receipt's goods at `bank`'s prices (rounded to the minor unit).
pub fn receipt_value(
    st: &StateView<'_>,
    bank: &OrgId,
    r: &WarehouseReceipt,
    currency: Currency,
) -> Result<Money, ExecError> {
    let p = price_of(st, bank, &r.goods, &r.unit, currency)?;
    Ok(r.quantity.value_at(&p.price)?)
}

/// The goods value of `receipts` at `bank`'s prices: the sum of their rounded values.
pub fn goods_value(
    st: &StateView<'_>,
    bank: &OrgId,
    receipts: &[DocId],
    currency: Currency,
) -> Result<Money, ExecError> {
    let mut total = Money {
        amount: Amount::ZERO,
        currency,
    };
    for id in receipts {
        let r = warehouse::load(st, id)?;
        total.amount = total
            .amount
            .checked_add(receipt_value(st, bank, &r, currency)?.amount)?;
    }
    Ok(total)
}

/// True when `balance / value` is strictly above `limit` percent, exactly:
/// `balance x 100 > value x limit`.
pub fn ltv_above(balance: Amount, value: Amount, limit: Rate) -> Result<bool, MoneyError> {
    let lhs = balance
        .value()
        .checked_mul(Decimal::ONE_HUNDRED)
        .ok_or(MoneyError::Overflow)?;
    let rhs = value
        .value()
        .checked_mul(limit.percent())
        .ok_or(MoneyError::Overflow)?;
    Ok(lhs > rhs)
}

/// LTV in percent for people, rounded *up* to 4 decimals so that a figure above a limit
/// never reads as the limit itself; `None` for goods of no value. (Decisions never use
/// it: they compare exactly, [`ltv_above`].)
pub fn ltv_percent(balance: Amount, value: Amount) -> Option<Decimal> {
    if value.is_zero() {
        return None;
    }
    let exact = balance
        .value()
        .checked_mul(Decimal::ONE_HUNDRED)?
        .checked_div(value.value())?;
    Some(exact.round_dp_with_strategy(4, RoundingStrategy::AwayFromZero))
}

/// `6000000.00 CNY against goods worth 7500000.00 CNY is an LTV of 80.0000%`.
fn ltv_figures(balance: &Money, value: &Money) -> String {
    let ltv = ltv_percent(balance.amount, value.amount)
        .map_or_else(|| "inf".into(), |d| format!("{d:.4}"));
    format!("{balance} against goods worth {value} is an LTV of {ltv}%")
}

/// Refuses `balance` against `value` above `limit` (`ltv_exceeded`, with the figures).
fn require_within(l: &Loan, balance: &Money, value: &Money, limit: Rate) -> Result<(), ExecError> {
    if ltv_above(balance.amount, value.amount, limit)? {
        return Err(ContractError::LtvExceeded {
            loan: l.id.to_string(),
            figures: ltv_figures(balance, value),
            limit: limit.percent().to_string(),
        }
        .into());
    }
    Ok(())
}

/// A bank posts the price of one unit of some goods in a currency; it replaces its
/// earlier price for the same (goods, unit, currency).
fn post_price(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    goods: &str,
    unit: &Unit,
    price: &Money,
) -> Result<Vec<Event>, ExecError> {
    ctx.require_role(Role::Bank)?;
    check_text("goods", goods, 1, 256)?;
    price.validate(ctx.params.amount_cap)?;
    let bank = ctx.org_id();
    let key = keys::price(bank, goods, unit.as_str(), price.currency.code());
    if !st.exists(&key)? {
        let count_key = keys::price_count(bank);
        let n: u64 = st.load(&count_key)?.unwrap_or(0);
        if n >= MAX_PRICES_PER_BANK {
            return Err(ContractError::LimitReached(format!(
                "{bank} keeps {n} prices, the most one bank may; re-post existing ones"
            ))
            .into());
        }
        st.store(count_key, &(n + 1));
    }
    let posted = PostedPrice {
        bank: bank.clone(),
        goods: goods.to_string(),
        unit: unit.clone(),
        price: *price,
        posted_on: ctx.today,
        height: ctx.height,
    };
    st.store(key, &posted);
    Ok(vec![Event::PricePosted {
        bank: bank.clone(),
        goods: goods.to_string(),
        unit: unit.clone(),
        price: *price,
    }])
}

// --- the loan's life -----------------------------------------------------------------

/// A receipt the signer owns, pledged (to `bank` if named), with no release instructed
/// and in no live loan: what may secure a loan.
fn free_pledged_receipt(
    ctx: &Ctx,
    st: &StateView<'_>,
    id: &DocId,
    bank: Option<&OrgId>,
) -> Result<WarehouseReceipt, ExecError> {
    let r = warehouse::load(st, id)?;
    ctx.require_party(&r.owner, "owner", DocKind::WarehouseReceipt, id)?;
    let pledgee = match (&r.pledgee, r.status, r.release_instructed) {
        (Some(p), ReceiptStatus::Pledged, false) => p.clone(),
        _ => {
            return Err(status_err(
                DocKind::WarehouseReceipt,
                id,
                r.status,
                "pledged to a bank, with no release instructed",
            ))
        }
    };
    if let Some(loan) = st.load::<DocId>(&keys::loan_receipt(id.as_str()))? {
        return Err(ContractError::UnderLoan {
            receipt: id.to_string(),
            loan: loan.to_string(),
        }
        .into());
    }
    if let Some(bank) = bank.filter(|b| **b != pledgee) {
        return Err(ContractError::InvalidField {
            field: "receipt".into(),
            reason: format!("{id} is pledged to {pledgee}, not to the loan's bank {bank}"),
        }
        .into());
    }
    Ok(r)
}

/// The owner of receipts pledged to one bank asks that bank for a loan against them.
fn request(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    receipts: &[DocId],
    amount: &Money,
) -> Result<Vec<Event>, ExecError> {
    amount.validate(ctx.params.amount_cap)?;
    if receipts.is_empty() || receipts.len() > MAX_LOAN_RECEIPTS {
        return Err(ContractError::InvalidField {
            field: "receipts".into(),
            reason: format!(
                "{} given; a loan takes 1-{MAX_LOAN_RECEIPTS}",
                receipts.len()
            ),
        }
        .into());
    }
    let mut bank: Option<OrgId> = None;
    for (i, id) in receipts.iter().enumerate() {
        if receipts[..i].contains(id) {
            return Err(ContractError::InvalidField {
                field: "receipts".into(),
                reason: format!("{id} named twice"),
            }
            .into());
        }
        let r = free_pledged_receipt(ctx, st, id, bank.as_ref())?;
        bank = bank.or(r.pledgee);
    }
    let bank =
        bank.ok_or_else(|| StoreError::Invariant("a pledged receipt without pledgee".into()))?;
    let id = next_id(st, "loan", "LOAN")?;
    for r in receipts {
        st.store(keys::loan_receipt(r.as_str()), &id);
    }
    let l = Loan {
        id: id.clone(),
        borrower: ctx.org_id().clone(),
        bank: bank.clone(),
        receipts: receipts.to_vec(),
        released: vec![],
        amount: *amount,
        terms: None,
        status: LoanStatus::Requested,
        requested_on: ctx.today,
        accepted_on: None,
        disbursement: None,
        repaid: Amount::ZERO,
        pending_repayment: None,
        interest_accrued: Amount::ZERO,
        accrued_through: None,
        margin_call: None,
        closed_on: None,
    };
    save(st, &l);
    Ok(vec![Event::LoanRequested {
        loan: id,
        borrower: l.borrower,
        bank,
        receipts: receipts.to_vec(),
        amount: *amount,
    }])
}

/// Refuses terms that do not fit together or the network's tenor cap.
fn check_terms(ctx: &Ctx, t: &LoanTerms) -> Result<(), ExecError> {
    let field = |field: &str, reason: String| -> ExecError {
        ContractError::InvalidField {
            field: field.into(),
            reason,
        }
        .into()
    };
    if t.ltv_max.percent().is_zero() {
        return Err(field("ltv_max", "must be above 0 %".into()));
    }
    if t.margin_call_ltv < t.ltv_max {
        return Err(field(
            "margin_call_ltv",
            format!("{} is below ltv_max {}", t.margin_call_ltv, t.ltv_max),
        ));
    }
    if !(1..=MAX_CURE_DAYS).contains(&t.cure_days) {
        return Err(field(
            "cure_days",
            format!("{} is outside 1..={MAX_CURE_DAYS}", t.cure_days),
        ));
    }
    let days = (t.maturity - ctx.today).num_days();
    if days <= 0 {
        return Err(ContractError::InvalidDates(format!(
            "maturity {} is not after today {}",
            t.maturity, ctx.today
        ))
        .into());
    }
    if days > i64::from(ctx.params.max_tenor_days) {
        return Err(ContractError::TenorTooLong {
            days,
            cap: ctx.params.max_tenor_days,
        }
        .into());
    }
    Ok(())
}

/// The bank offers terms on a requested loan.
fn offer(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
    t: LoanTerms,
) -> Result<Vec<Event>, ExecError> {
    let mut l = load_as(ctx, st, id, "lender", LoanStatus::Requested)?;
    check_terms(ctx, &t)?;
    l.terms = Some(t);
    l.status = LoanStatus::Offered;
    save(st, &l);
    Ok(vec![Event::LoanOffered {
        loan: id.clone(),
        bank: l.bank,
    }])
}

/// The principal against today's goods value, within `ltv_max` and before maturity.
fn require_lendable(ctx: &Ctx, st: &StateView<'_>, l: &Loan) -> Result<Money, ExecError> {
    let t = terms(l)?;
    if t.maturity <= ctx.today {
        return Err(ContractError::InvalidDates(format!(
            "loan {} matures on {}, not after today {}",
            l.id, t.maturity, ctx.today
        ))
        .into());
    }
    let value = goods_value(st, &l.bank, &l.receipts, l.amount.currency)?;
    require_within(l, &l.amount, &value, t.ltv_max)?;
    Ok(value)
}

/// The borrower accepts the offered terms, if the principal is within `ltv_max` of the
/// goods value today.
fn accept(ctx: &Ctx, st: &mut StateView<'_>, id: &DocId) -> Result<Vec<Event>, ExecError> {
    let mut l = load_as(ctx, st, id, "borrower", LoanStatus::Offered)?;
    let value = require_lendable(ctx, st, &l)?;
    l.status = LoanStatus::Accepted;
    l.accepted_on = Some(ctx.today);
    save(st, &l);
    Ok(vec![Event::LoanAccepted {
        loan: id.clone(),
        value,
    }])
}

/// Takes receipts out of a loan's index (they are free for another loan).
fn unindex(st: &mut StateView<'_>, receipts: &[DocId]) {
    for r in receipts {
        st.delete(keys::loan_receipt(r.as_str()));
    }
}

/// Either side cancels a loan before the money moves.
fn cancel(ctx: &Ctx, st: &mut StateView<'_>, id: &DocId) -> Result<Vec<Event>, ExecError> {
    let mut l = load(st, id)?;
    if ctx.org_id() != &l.borrower {
        ctx.require_party(&l.bank, "borrower or lender", DocKind::Loan, id)?;
    }
    if !matches!(
        l.status,
        LoanStatus::Requested | LoanStatus::Offered | LoanStatus::Accepted
    ) {
        return Err(wrong(
            &l,
            "requested, offered or accepted (not yet disbursed)",
        ));
    }
    unindex(st, &l.receipts);
    l.status = LoanStatus::Cancelled;
    l.closed_on = Some(ctx.today);
    save(st, &l);
    Ok(vec![Event::LoanCancelled {
        loan: id.clone(),
        by: ctx.org_id().clone(),
    }])
}

/// The bank pays the principal, if still within `ltv_max` today; interest runs from today.
fn disburse(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
    payment_ref: &str,
) -> Result<Vec<Event>, ExecError> {
    let mut l = load_as(ctx, st, id, "lender", LoanStatus::Accepted)?;
    check_payment_ref(payment_ref)?;
    require_lendable(ctx, st, &l)?;
    l.status = LoanStatus::Disbursed;
    l.disbursement = Some(LoanDisbursement {
        payment_ref: payment_ref.to_string(),
        value_date: ctx.today,
        acknowledged: false,
    });
    l.accrued_through = Some(ctx.today);
    save(st, &l);
    Ok(vec![Event::LoanDisbursed {
        loan: id.clone(),
        amount: l.amount,
        payment_ref: payment_ref.to_string(),
        value_date: ctx.today,
    }])
}

/// The borrower acknowledges the principal (once, whatever became of the loan since).
fn acknowledge_disbursement(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
) -> Result<Vec<Event>, ExecError> {
    let mut l = load(st, id)?;
    ctx.require_party(&l.borrower, "borrower", DocKind::Loan, id)?;
    match l.disbursement.as_mut() {
        Some(d) if !d.acknowledged => d.acknowledged = true,
        _ => return Err(wrong(&l, "disbursed and not yet acknowledged")),
    }
    save(st, &l);
    Ok(vec![Event::LoanDisbursementAcknowledged {
        loan: id.clone(),
    }])
}

/// The borrower instructs a repayment of principal: one waits for the bank at a time.
fn repay(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
    amount: Amount,
    payment_ref: &str,
) -> Result<Vec<Event>, ExecError> {
    let mut l = load_as(ctx, st, id, "borrower", LoanStatus::Disbursed)?;
    if l.pending_repayment.is_some() {
        return Err(wrong(
            &l,
            "disbursed, with no repayment waiting for the bank",
        ));
    }
    check_payment_ref(payment_ref)?;
    let money = Money {
        amount,
        currency: l.amount.currency,
    };
    money.validate(ctx.params.amount_cap)?;
    let owed = balance(&l)?;
    if amount > owed.amount {
        return Err(ContractError::Overpayment {
            amount: money.to_string(),
            outstanding: owed.to_string(),
        }
        .into());
    }
    l.pending_repayment = Some(LoanRepayment {
        amount: money,
        payment_ref: payment_ref.to_string(),
        instructed_on: ctx.today,
    });
    save(st, &l);
    Ok(vec![Event::LoanRepaymentInstructed {
        loan: id.clone(),
        amount: money,
        payment_ref: payment_ref.to_string(),
    }])
}

/// Interest on the current balance from `accrued_through` to `today`.
fn period_interest(l: &Loan, today: NaiveDate, day_count: DayCount) -> Result<Money, ExecError> {
    let zero = Money {
        amount: Amount::ZERO,
        currency: l.amount.currency,
    };
    let (Some(t), Some(from)) = (l.terms.as_ref(), l.accrued_through) else {
        return Ok(zero);
    };
    let days = u32::try_from((today - from).num_days()).unwrap_or(0);
    let owed = balance(l)?;
    if days == 0 || owed.amount.is_zero() {
        return Ok(zero);
    }
    Ok(discount(&owed, t.rate, days, day_count)?)
}

/// Interest accrued through `today` (earlier periods plus the running one): what the
/// loan view reports.
pub fn accrued_interest(
    l: &Loan,
    today: NaiveDate,
    day_count: DayCount,
) -> Result<Money, ExecError> {
    let running = if l.status == LoanStatus::Disbursed {
        period_interest(l, today, day_count)?.amount
    } else {
        Amount::ZERO
    };
    Ok(Money {
        amount: l.interest_accrued.checked_add(running)?,
        currency: l.amount.currency,
    })
}

/// Folds the running period's interest into `interest_accrued` before the balance changes.
fn accrue(l: &mut Loan, today: NaiveDate, day_count: DayCount) -> Result<(), ExecError> {
    let interest = period_interest(l, today, day_count)?;
    l.interest_accrued = l.interest_accrued.checked_add(interest.amount)?;
    l.accrued_through = Some(today);
    Ok(())
}

/// Lifts the loan's pledge on a receipt leaving it (release or full repayment).
fn lift_pledge(st: &mut StateView<'_>, l: &Loan, id: &DocId) -> Result<(), ExecError> {
    let mut r = warehouse::load(st, id)?;
    if r.pledgee.as_ref() != Some(&l.bank) || r.status != ReceiptStatus::Pledged {
        return Err(StoreError::Invariant(format!(
            "receipt {id} of live loan {} is not pledged to {}",
            l.id, l.bank
        ))
        .into());
    }
    r.pledgee = None;
    r.status = ReceiptStatus::Issued;
    warehouse::save(st, &r);
    Ok(())
}

/// Clears an outstanding margin call once the LTV is back at or below its threshold.
fn cure_if_within(
    st: &StateView<'_>,
    l: &mut Loan,
    events: &mut Vec<Event>,
) -> Result<(), ExecError> {
    if l.margin_call.is_none() {
        return Ok(());
    }
    let threshold = terms(l)?.margin_call_ltv;
    let value = goods_value(st, &l.bank, &l.receipts, l.amount.currency)?;
    if !ltv_above(balance(l)?.amount, value.amount, threshold)? {
        l.margin_call = None;
        events.push(Event::MarginCallCured { loan: l.id.clone() });
    }
    Ok(())
}

/// The bank acknowledges the pending repayment: the balance falls; paid in full, the loan
/// closes and its receipts leave their pledge.
fn acknowledge_repayment(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
) -> Result<Vec<Event>, ExecError> {
    let mut l = load_as(ctx, st, id, "lender", LoanStatus::Disbursed)?;
    let Some(p) = l.pending_repayment.take() else {
        return Err(wrong(
            &l,
            "disbursed, with a repayment waiting for the bank",
        ));
    };
    accrue(&mut l, ctx.today, ctx.params.day_count)?;
    l.repaid = l.repaid.checked_add(p.amount.amount)?;
    let left = balance(&l)?;
    let mut events = vec![Event::LoanRepaymentAcknowledged {
        loan: id.clone(),
        amount: p.amount,
        balance: left,
    }];
    if left.amount.is_zero() {
        for r in &l.receipts {
            lift_pledge(st, &l, r)?;
        }
        unindex(st, &l.receipts);
        l.status = LoanStatus::Repaid;
        l.margin_call = None;
        l.closed_on = Some(ctx.today);
        events.push(Event::LoanRepaid {
            loan: id.clone(),
            receipts: l.receipts.clone(),
        });
    } else {
        cure_if_within(st, &mut l, &mut events)?;
    }
    save(st, &l);
    Ok(events)
}

/// The refusal of a margin call or enforcement while the LTV is within the threshold.
fn within_threshold(l: &Loan, owed: &Money, value: &Money, threshold: Rate) -> ExecError {
    ContractError::LtvWithinThreshold {
        loan: l.id.to_string(),
        figures: ltv_figures(owed, value),
        threshold: threshold.percent().to_string(),
    }
    .into()
}

/// The bank calls for margin: only while the LTV is strictly above the threshold, and
/// once until cured; the borrower has `cure_days` days.
fn margin_call(ctx: &Ctx, st: &mut StateView<'_>, id: &DocId) -> Result<Vec<Event>, ExecError> {
    let mut l = load_as(ctx, st, id, "lender", LoanStatus::Disbursed)?;
    if l.margin_call.is_some() {
        return Err(wrong(&l, "disbursed, with no margin call outstanding"));
    }
    let t = terms(&l)?.clone();
    let owed = balance(&l)?;
    let value = goods_value(st, &l.bank, &l.receipts, l.amount.currency)?;
    if !ltv_above(owed.amount, value.amount, t.margin_call_ltv)? {
        return Err(within_threshold(&l, &owed, &value, t.margin_call_ltv));
    }
    let deadline = ctx
        .today
        .checked_add_signed(Duration::days(i64::from(t.cure_days)))
        .ok_or_else(|| ContractError::InvalidDates("cure deadline out of range".into()))?;
    l.margin_call = Some(MarginCallState {
        called_on: ctx.today,
        deadline,
        balance: owed,
        value,
    });
    save(st, &l);
    Ok(vec![Event::MarginCalled {
        loan: id.clone(),
        balance: owed,
        value,
        deadline,
    }])
}

/// The borrower adds a receipt pledged to the loan's bank (priced in its currency).
fn top_up(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
    receipt: &DocId,
) -> Result<Vec<Event>, ExecError> {
    let mut l = load_as(ctx, st, id, "borrower", LoanStatus::Disbursed)?;
    if l.receipts.len() >= MAX_LOAN_RECEIPTS {
        return Err(ContractError::LimitReached(format!(
            "loan {id} is secured by {MAX_LOAN_RECEIPTS} receipts, the most one loan takes"
        ))
        .into());
    }
    let r = free_pledged_receipt(ctx, st, receipt, Some(&l.bank))?;
    receipt_value(st, &l.bank, &r, l.amount.currency)?;
    l.receipts.push(receipt.clone());
    st.store(keys::loan_receipt(receipt.as_str()), id);
    let mut events = vec![Event::LoanToppedUp {
        loan: id.clone(),
        receipt: receipt.clone(),
    }];
    cure_if_within(st, &mut l, &mut events)?;
    save(st, &l);
    Ok(events)
}

/// The borrower takes one receipt out of the loan and its pledge (赎货), only if the goods
/// left keep the balance (after acknowledged repayments) within `ltv_max`.
fn release_goods(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    id: &DocId,
    receipt: &DocId,
) -> Result<Vec<Event>, ExecError> {
    let mut l = load_as(ctx, st, id, "borrower", LoanStatus::Disbursed)?;
    let Some(pos) = l.receipts.iter().position(|r| r == receipt) else {
        return Err(ContractError::InvalidField {
            field: "receipt".into(),
            reason: format!("{receipt} does not secure loan {id}"),
        }
        .into());
    };
    let mut left = l.receipts.clone();
    left.remove(pos);
    let value = goods_value(st, &l.bank, &left, l.amount.currency)?;
    require_within(&l, &balance(&l)?, &value, terms(&l)?.ltv_max)?;
    lift_pledge(st, &l, receipt)?;
    unindex(st, std::slice::from_ref(receipt));
    l.receipts = left;
    l.released.push(receipt.clone());
    let mut events = vec![Event::GoodsReleased {
        loan: id.clone(),
        receipt: receipt.clone(),
    }];
    cure_if_within(st, &mut l, &mut events)?;
    save(st, &l);
    Ok(events)
}

/// The bank enforces: a margin call outstanding, its cure period over, and the LTV still
/// above the threshold. The loan's receipts become the bank's (unpledged: the goods are
/// its own now); the loan closes as enforced, its balance recorded as it stood.
fn enforce(ctx: &Ctx, st: &mut StateView<'_>, id: &DocId) -> Result<Vec<Event>, ExecError> {
    let mut l = load_as(ctx, st, id, "lender", LoanStatus::Disbursed)?;
    let Some(call) = l.margin_call.clone() else {
        return Err(wrong(&l, "disbursed, with a margin call outstanding"));
    };
    if ctx.today <= call.deadline {
        return Err(ContractError::CurePeriodRunning {
            loan: id.to_string(),
            deadline: call.deadline.to_string(),
        }
        .into());
    }
    let threshold = terms(&l)?.margin_call_ltv;
    let owed = balance(&l)?;
    let value = goods_value(st, &l.bank, &l.receipts, l.amount.currency)?;
    if !ltv_above(owed.amount, value.amount, threshold)? {
        return Err(within_threshold(&l, &owed, &value, threshold));
    }
    for rid in &l.receipts {
        lift_pledge(st, &l, rid)?;
        let mut r = warehouse::load(st, rid)?;
        r.owner = l.bank.clone();
        r.release_instructed = false;
        warehouse::save(st, &r);
    }
    unindex(st, &l.receipts);
    accrue(&mut l, ctx.today, ctx.params.day_count)?;
    l.status = LoanStatus::Enforced;
    l.closed_on = Some(ctx.today);
    save(st, &l);
    Ok(vec![Event::LoanEnforced {
        loan: id.clone(),
        bank: l.bank.clone(),
        receipts: l.receipts.clone(),
    }])
}

// --- views and policies --------------------------------------------------------------

/// A loan's figures as of a day, for the API and the explorer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoanFigures {
    /// The goods value at the bank's prices (`Err`: why it cannot be valued).
    pub value: Result<Money, String>,
    /// Principal owed.
    pub balance: Money,
    /// LTV in percent (4 decimals), when valued and the goods have a value.
    pub ltv_percent: Option<Decimal>,
    /// Whether the LTV is strictly above the margin-call threshold.
    pub above_margin_call: bool,
    /// Whether the LTV is strictly above `ltv_max`.
    pub above_ltv_max: bool,
    /// Interest accrued through the day.
    pub accrued_interest: Money,
}

/// [`LoanFigures`] of `l` on `today`; a refusal-type error (a price missing) is reported
/// in `value`, a storage failure is returned.
pub fn figures(
    st: &StateView<'_>,
    l: &Loan,
    today: NaiveDate,
    day_count: DayCount,
) -> Result<LoanFigures, StoreError> {
    let store = |e: ExecError| match e {
        ExecError::Store(s) => s,
        ExecError::Rejected(r) => StoreError::Invariant(r.to_string()),
    };
    let owed = balance(l).map_err(store)?;
    let value = match goods_value(st, &l.bank, &l.receipts, l.amount.currency) {
        Ok(v) => Ok(v),
        Err(ExecError::Rejected(e)) => Err(e.to_string()),
        Err(ExecError::Store(e)) => return Err(e),
    };
    let above = |limit: Option<Rate>| match (&value, limit) {
        (Ok(v), Some(limit)) => ltv_above(owed.amount, v.amount, limit).unwrap_or(true),
        _ => false,
    };
    Ok(LoanFigures {
        ltv_percent: value
            .as_ref()
            .ok()
            .and_then(|v| ltv_percent(owed.amount, v.amount)),
        above_margin_call: above(l.terms.as_ref().map(|t| t.margin_call_ltv)),
        above_ltv_max: above(l.terms.as_ref().map(|t| t.ltv_max)),
        accrued_interest: accrued_interest(l, today, day_count).map_err(store)?,
        value,
        balance: owed,
    })
}

/// The amount a dual-control policy judges an inventory-finance action by (see
/// `approvals::action_amount`): the principal for the request and the steps before the
/// money moves, a repayment's amount, the balance a call, release or enforcement puts at
/// stake. A price posts no money and a top-up adds security: `None`.
pub fn action_amount(st: &StateView<'_>, action: &Action) -> Result<Option<Money>, ExecError> {
    use Action as A;
    Ok(Some(match action {
        A::PostPrice { .. } | A::TopUp { .. } => return Ok(None),
        A::RequestLoan { amount, .. } => *amount,
        A::OfferLoan { loan, .. }
        | A::AcceptLoan { loan }
        | A::CancelLoan { loan }
        | A::DisburseLoan { loan, .. }
        | A::AcknowledgeLoanDisbursement { loan } => load(st, loan)?.amount,
        A::RepayLoan { loan, amount, .. } => Money {
            amount: *amount,
            currency: load(st, loan)?.amount.currency,
        },
        A::AcknowledgeLoanRepayment { loan } => {
            let l = load(st, loan)?;
            match l.pending_repayment {
                Some(p) => p.amount,
                None => balance(&l)?,
            }
        }
        A::MarginCall { loan } | A::ReleaseGoods { loan, .. } | A::Enforce { loan } => {
            balance(&load(st, loan)?)?
        }
        other => {
            return Err(StoreError::Invariant(format!(
                "{} is not an inventory-finance action",
                other.name()
            ))
            .into())
        }
    }))
}
