//! Secondary sale (issue 13): a funding bank sells a disbursed financing -- whole, or a
//! part of its receivable carved out by a split -- to another bank at a price both sign.
//!
//! `OfferSale` (the funding bank, `SAL-n`) -> `AcceptSale` (the buyer) | `DeclineSale`
//! (the buyer) | `WithdrawSale` (the seller). Acceptance is the buyer's signature on the
//! seller's terms: the buyer becomes the financing's funder and the receivable's holder,
//! so the debtor's payment at maturity goes to it (`payee_not_holder` for the seller);
//! the buyer's exposure limits are checked and the seller's use falls
//! (`limits::financing_sold`). The price moves like every settlement, two-sided:
//! `PaySale` (the buyer, a payment reference counted once among its references) ->
//! `AcknowledgeSalePayment` | `DisputeSalePayment` (the seller; the buyer may pay again
//! under a new reference, at most [`MAX_SALE_PAYMENTS`] times).
//!
//! A part: at acceptance the receivable (nothing repaid) is split like any split into
//! `[part, rest]`; a new financing of the buyer carries the part and the seller's
//! financing continues on the rest. The figures are divided pro rata: the part's
//! advanced amount, fees and discounts (quoted and disbursed) are the whole's x part /
//! face, each rounded toward zero to the minor unit ([`pro_rata`]); the seller's side
//! keeps the remainder; each side's net is its advanced - discount - fees, so both sides
//! add up to the whole's figures exactly.
//!
//! Not sold: financings under a programme (the supplier's reserve and the programme
//! limit bind the programme's bank), anything not disbursed, overdue, past maturity or
//! with a settlement pending, and a financing already offered in another open sale.

use chrono::NaiveDate;
use lianrong_primitives::OrgId;

use super::financing::{check_not_expired, check_validity, load_funded};
use super::receivables::{save as save_receivable, split_into};
use super::{check_text, load_doc, load_party, next_id, status_err, Ctx};
use crate::action::Action;
use crate::error::{ContractError, DocKind, ExecError, StoreError};
use crate::events::Event;
use crate::model::{
    Disbursement, DocId, Financing, FinancingStatus, FinancingTerms, Receivable, ReceivableStatus,
    Role, Sale, SalePayment, SaleStatus, SaleTransfer, SettlementStatus, MAX_SALE_PAYMENTS,
};
use crate::money::{Amount, Money, MoneyError};
use crate::state::{keys, StateView};

/// [`super::apply_action`] of the sale actions.
pub fn apply(ctx: &Ctx, st: &mut StateView<'_>, action: &Action) -> Result<Vec<Event>, ExecError> {
    use Action as A;
    match action {
        A::OfferSale {
            financing,
            buyer,
            part,
            price,
            valid_until,
        } => offer(ctx, st, financing, buyer, *part, *price, *valid_until),
        A::AcceptSale { sale } => accept(ctx, st, sale),
        A::DeclineSale { sale } => close_offer(ctx, st, sale, Side::Buyer),
        A::WithdrawSale { sale } => close_offer(ctx, st, sale, Side::Seller),
        A::PaySale { sale, payment_ref } => pay(ctx, st, sale, payment_ref),
        A::AcknowledgeSalePayment { sale } => answer_payment(ctx, st, sale, None),
        A::DisputeSalePayment { sale, reason } => answer_payment(ctx, st, sale, Some(reason)),
        other => {
            Err(StoreError::Invariant(format!("{} is not a sale action", other.name())).into())
        }
    }
}

/// The amount a dual-control policy judges a sale action by: the sale's price.
pub fn action_amount(st: &StateView<'_>, action: &Action) -> Result<Option<Money>, ExecError> {
    use Action as A;
    let sale = match action {
        A::OfferSale {
            financing, price, ..
        } => {
            let f: Financing = load_doc(st, DocKind::Financing, financing.as_str())?;
            let r: Receivable = load_doc(st, DocKind::Receivable, f.receivable.as_str())?;
            return Ok(Some(Money {
                amount: *price,
                currency: r.face.currency,
            }));
        }
        A::AcceptSale { sale }
        | A::DeclineSale { sale }
        | A::WithdrawSale { sale }
        | A::PaySale { sale, .. }
        | A::AcknowledgeSalePayment { sale }
        | A::DisputeSalePayment { sale, .. } => sale,
        other => {
            return Err(
                StoreError::Invariant(format!("{} is not a sale action", other.name())).into(),
            )
        }
    };
    Ok(Some(load(st, sale)?.price))
}

impl Event {
    /// [`Event::documents`] of the sale events: the sale; an acceptance also belongs to
    /// the financings and receivables it moves (so their histories and the lineage keep
    /// both banks), the others to the sale alone (the banks' price is theirs).
    pub(crate) fn sale_documents(&self) -> Vec<(DocKind, String)> {
        use DocKind as K;
        let d = |k: DocKind, id: &DocId| (k, id.as_str().to_string());
        match self {
            Event::SaleAccepted {
                sale,
                financing,
                bought,
                receivable,
                kept,
                ..
            } => {
                let mut v = vec![d(K::Sale, sale), d(K::Financing, financing)];
                if bought != financing {
                    v.push(d(K::Financing, bought));
                }
                v.push(d(K::Receivable, receivable));
                v.extend(kept.iter().map(|k| d(K::Receivable, k)));
                v
            }
            Event::SaleOffered { sale, .. }
            | Event::SaleDeclined { sale, .. }
            | Event::SaleWithdrawn { sale, .. }
            | Event::SalePaymentInstructed { sale, .. }
            | Event::SalePaymentAcknowledged { sale, .. }
            | Event::SalePaymentDisputed { sale, .. } => vec![d(K::Sale, sale)],
            _ => vec![],
        }
    }
}

/// Which bank of a sale acts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Seller,
    Buyer,
}

fn save(st: &mut StateView<'_>, s: &Sale) {
    st.store(keys::doc(DocKind::Sale, s.id.as_str()), s);
}

fn load(st: &StateView<'_>, id: &DocId) -> Result<Sale, ExecError> {
    load_doc(st, DocKind::Sale, id.as_str())
}

fn save_financing(st: &mut StateView<'_>, f: &Financing) {
    st.store(keys::doc(DocKind::Financing, f.id.as_str()), f);
}

/// Loads sale `id` for its `side` (a bank; the other side, or anyone else, is refused).
fn load_as(ctx: &Ctx, st: &StateView<'_>, id: &DocId, side: Side) -> Result<Sale, ExecError> {
    ctx.require_role(Role::Bank)?;
    let s = load(st, id)?;
    let (who, party) = match side {
        Side::Seller => (&s.seller, "selling bank"),
        Side::Buyer => (&s.buyer, "buying bank"),
    };
    ctx.require_party(who, party, DocKind::Sale, id)?;
    Ok(s)
}

/// `expected` in words, for a refusal naming what the sale is instead.
fn sale_status_err(s: &Sale, status: &str, expected: &str) -> ExecError {
    ContractError::WrongStatus {
        kind: DocKind::Sale,
        id: s.id.to_string(),
        status: status.into(),
        expected: expected.into(),
    }
    .into()
}

/// Refuses a financing that cannot be sold today; returns its receivable and
/// disbursement. Sold is only what is disbursed (outside programmes) on a receivable
/// still active before maturity with no settlement waiting, so what changes hands is
/// exactly what the documents say.
fn check_sellable(
    ctx: &Ctx,
    st: &StateView<'_>,
    f: &Financing,
) -> Result<(Receivable, Disbursement), ExecError> {
    if f.status != FinancingStatus::Disbursed {
        return Err(status_err(DocKind::Financing, &f.id, f.status, "disbursed"));
    }
    if let Some(p) = &f.programme {
        return Err(ContractError::OfferNotAllowed(format!(
            "{} is financed under programme {p}: the supplier's reserve and the programme \
             limit bind the programme's bank, so it is not sold",
            f.id
        ))
        .into());
    }
    let r: Receivable = load_doc(st, DocKind::Receivable, f.receivable.as_str())?;
    match r.status {
        ReceivableStatus::Active if ctx.today < r.maturity => {}
        ReceivableStatus::Active | ReceivableStatus::Overdue => {
            return Err(ContractError::PastMaturity(r.id.to_string()).into())
        }
        s => return Err(status_err(DocKind::Receivable, &r.id, s, "active")),
    }
    let funded = f.terms.as_ref().is_some_and(|t| t.bank == r.holder);
    let (Some(d), true, true) = (
        f.disbursement.clone(),
        funded,
        r.financing.as_ref() == Some(&f.id),
    ) else {
        return Err(StoreError::Invariant(format!(
            "disbursed financing {} and its receivable {} disagree",
            f.id, r.id
        ))
        .into());
    };
    super::settlement::require_not_settling(st, &r.id)?;
    Ok((r, d))
}

/// `OfferSale`: the funding bank offers financing `fid` -- whole, or `part` of its
/// receivable's face -- to `buyer` at `price`, valid through `valid_until`.
pub fn offer(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    fid: &DocId,
    buyer: &OrgId,
    part: Option<Amount>,
    price: Amount,
    valid_until: NaiveDate,
) -> Result<Vec<Event>, ExecError> {
    let (f, t) = load_funded(ctx, st, fid)?;
    let (r, d) = check_sellable(ctx, st, &f)?;
    if let Some(open) = st.load::<DocId>(&keys::open_sale(fid.as_str()))? {
        return Err(ContractError::OfferNotAllowed(format!(
            "{fid} is already offered in sale {open}; withdraw it first"
        ))
        .into());
    }
    if buyer == ctx.org_id() {
        return Err(ContractError::InvalidParty {
            org: buyer.clone(),
            party: "buyer".into(),
            reason: "must be another bank than the seller".into(),
        }
        .into());
    }
    load_party(st, buyer, "buyer", Some(Role::Bank))?;
    check_validity(ctx, valid_until)?;
    let currency = r.face.currency;
    let outstanding = Money {
        amount: r.checked_outstanding()?,
        currency,
    };
    let part = part.map(|amount| Money { amount, currency });
    if let Some(p) = &part {
        p.validate(ctx.params.amount_cap)?;
        // Refused now rather than at acceptance: a part the split or the figures cannot
        // carry.
        divide(&t, &d, &r, p)?;
    }
    let face = part.unwrap_or(outstanding);
    let price = Money {
        amount: price,
        currency,
    };
    price.validate(ctx.params.amount_cap)?;
    if price.amount > face.amount {
        return Err(ContractError::InvalidField {
            field: "price".into(),
            reason: format!("{price} is more than the face sold, {face}"),
        }
        .into());
    }
    let sid = next_id(st, "sale", "SAL")?;
    let s = Sale {
        id: sid.clone(),
        financing: fid.clone(),
        receivable: r.id.clone(),
        seller: ctx.org_id().clone(),
        buyer: buyer.clone(),
        outstanding,
        part,
        price,
        offered_on: ctx.today,
        valid_until,
        status: SaleStatus::Offered,
        closed_on: None,
        transfer: None,
        payment: None,
        payments: 0,
    };
    save(st, &s);
    st.store(keys::open_sale(fid.as_str()), &sid);
    Ok(vec![Event::SaleOffered {
        sale: sid,
        financing: fid.clone(),
        seller: s.seller,
        buyer: s.buyer,
        face,
        price,
        valid_until,
    }])
}

/// Ends the open-sale lock of `s`'s financing, which must be `s`.
fn unlock(st: &mut StateView<'_>, s: &Sale) -> Result<(), ExecError> {
    let key = keys::open_sale(s.financing.as_str());
    if st.load::<DocId>(&key)?.as_ref() != Some(&s.id) {
        return Err(StoreError::Invariant(format!(
            "offered sale {} does not lock financing {}",
            s.id, s.financing
        ))
        .into());
    }
    st.delete(key);
    Ok(())
}

/// `DeclineSale` (the buyer) and `WithdrawSale` (the seller) of an offered sale.
fn close_offer(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    sid: &DocId,
    side: Side,
) -> Result<Vec<Event>, ExecError> {
    let mut s = load_as(ctx, st, sid, side)?;
    if s.status != SaleStatus::Offered {
        return Err(status_err(DocKind::Sale, sid, s.status, "offered"));
    }
    unlock(st, &s)?;
    s.closed_on = Some(ctx.today);
    let event = match side {
        Side::Buyer => {
            s.status = SaleStatus::Declined;
            Event::SaleDeclined {
                sale: sid.clone(),
                buyer: s.buyer.clone(),
            }
        }
        Side::Seller => {
            s.status = SaleStatus::Withdrawn;
            Event::SaleWithdrawn {
                sale: sid.clone(),
                seller: s.seller.clone(),
            }
        }
    };
    save(st, &s);
    Ok(vec![event])
}

/// `AcceptSale`: the buyer takes the financing (or the part) on the seller's terms.
pub fn accept(ctx: &Ctx, st: &mut StateView<'_>, sid: &DocId) -> Result<Vec<Event>, ExecError> {
    let mut s = load_as(ctx, st, sid, Side::Buyer)?;
    if s.status != SaleStatus::Offered {
        return Err(status_err(DocKind::Sale, sid, s.status, "offered"));
    }
    check_not_expired(ctx, sid, s.valid_until)?;
    let f: Financing = load_doc(st, DocKind::Financing, s.financing.as_str())?;
    if f.terms.as_ref().map(|t| &t.bank) != Some(&s.seller) {
        return Err(ContractError::OfferNotAllowed(format!(
            "{} no longer funds {}",
            s.seller, s.financing
        ))
        .into());
    }
    let (r, d) = check_sellable(ctx, st, &f)?;
    let owed = r.checked_outstanding()?;
    if r.id != s.receivable || owed != s.outstanding.amount {
        return Err(ContractError::OfferNotAllowed(format!(
            "{sid} was offered on {} owing {}; {} owes {} {} now: the seller withdraws it and \
             offers again",
            s.receivable, s.outstanding, r.id, owed, r.face.currency
        ))
        .into());
    }
    unlock(st, &s)?;
    let (mut events, transfer) = match s.part {
        None => (vec![], sell_whole(ctx, st, &s, f, r)?),
        Some(part) => sell_part(ctx, st, &s, f, &d, r, &part)?,
    };
    events.push(Event::SaleAccepted {
        sale: sid.clone(),
        seller: s.seller.clone(),
        buyer: s.buyer.clone(),
        financing: s.financing.clone(),
        bought: transfer.financing.clone(),
        receivable: transfer.receivable.clone(),
        kept: transfer.kept.clone(),
        face: transfer.face,
        advanced: transfer.advanced,
    });
    s.status = SaleStatus::Sold;
    s.transfer = Some(transfer);
    save(st, &s);
    Ok(events)
}

/// The whole financing changes funder, its receivable holder.
fn sell_whole(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    s: &Sale,
    mut f: Financing,
    mut r: Receivable,
) -> Result<SaleTransfer, ExecError> {
    let before = f.clone();
    let Some(t) = f.terms.as_mut() else {
        return Err(StoreError::Invariant(format!("financing {} has no terms", f.id)).into());
    };
    t.bank = s.buyer.clone();
    let advanced = t.advanced;
    super::limits::financing_sold(st, &before, &f, &r, &s.outstanding)?;
    save_financing(st, &f);
    r.holder = s.buyer.clone();
    save_receivable(st, &r);
    Ok(SaleTransfer {
        accepted_on: ctx.today,
        financing: f.id,
        receivable: r.id,
        kept: None,
        face: s.outstanding,
        advanced,
    })
}

/// The part is split off the receivable; a new financing of the buyer carries it, the
/// seller's continues on the rest, their figures divided pro rata.
fn sell_part(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    s: &Sale,
    mut f: Financing,
    d: &Disbursement,
    mut r: Receivable,
    part: &Money,
) -> Result<(Vec<Event>, SaleTransfer), ExecError> {
    let Some(t) = f.terms.clone() else {
        return Err(StoreError::Invariant(format!("financing {} has no terms", f.id)).into());
    };
    let div = divide(&t, d, &r, part)?;
    let rest = checked_sub(&r.face, part)?;
    // The split receivable is closed; the parts carry the financings from here.
    r.financing = None;
    let events = split_into(ctx, st, &mut r, &[part.amount, rest.amount])?;
    let [sold_id, kept_id] = r.children.as_slice() else {
        return Err(StoreError::Invariant(format!("split of {} not in two", r.id)).into());
    };
    let mut bought = f.clone();
    bought.id = next_id(st, "financing", "FIN")?;
    bought.receivable = sold_id.clone();
    bought.banks = vec![s.buyer.clone()];
    bought.offers = vec![];
    bought.terms = Some(FinancingTerms {
        bank: s.buyer.clone(),
        ..div.sold.0
    });
    bought.disbursement = Some(div.sold.1);
    // The registry entry (中登网) is the seller's filing; the buyer records its own.
    bought.registration = None;
    f.receivable = kept_id.clone();
    f.terms = Some(div.kept.0);
    f.disbursement = Some(div.kept.1);
    super::limits::financing_sold(st, &f, &bought, &r, part)?;
    save_financing(st, &f);
    save_financing(st, &bought);
    let link = |st: &mut StateView<'_>, id: &DocId, fin: &DocId, holder: &OrgId| {
        let mut child: Receivable = load_doc(st, DocKind::Receivable, id.as_str())?;
        child.financing = Some(fin.clone());
        child.holder = holder.clone();
        save_receivable(st, &child);
        Ok::<(), ExecError>(())
    };
    link(st, sold_id, &bought.id, &s.buyer)?;
    link(st, kept_id, &f.id, &s.seller)?;
    let transfer = SaleTransfer {
        accepted_on: ctx.today,
        financing: bought.id.clone(),
        receivable: sold_id.clone(),
        kept: Some(kept_id.clone()),
        face: *part,
        advanced: div.sold.0.advanced,
    };
    Ok((events, transfer))
}

/// A financing's terms and disbursement, divided into the part sold and the rest kept.
struct Division {
    sold: (FinancingTerms, Disbursement),
    kept: (FinancingTerms, Disbursement),
}

fn checked_sub(a: &Money, b: &Money) -> Result<Money, ExecError> {
    let amount = a
        .amount
        .checked_sub(b.amount)
        .ok_or_else(|| StoreError::Invariant(format!("{a} less {b} is negative")))?;
    Ok(Money {
        amount,
        currency: a.currency,
    })
}

/// `x` x `part` / `whole`, rounded toward zero to `x`'s minor unit: the part's share of a
/// figure of the whole (the seller's side keeps the remainder). Exact: computed on
/// integer minor units.
pub fn pro_rata(x: &Money, part: Amount, whole: Amount) -> Result<Money, MoneyError> {
    let places = x.currency.minor_units();
    let minor = |a: Amount| {
        let mut d = a.value();
        d.rescale(places);
        d.mantissa()
    };
    let (w, p) = (minor(whole), minor(part));
    if w <= 0 {
        return Err(MoneyError::NotPositive(whole.to_string()));
    }
    let share = minor(x.amount)
        .checked_mul(p)
        .map(|n| n / w)
        .ok_or(MoneyError::Overflow)?;
    let d = rust_decimal::Decimal::try_from_i128_with_scale(share, places)
        .map_err(|_| MoneyError::Overflow)?;
    Ok(Money {
        amount: Amount::from_decimal(d)?,
        currency: x.currency,
    })
}

/// Divides terms `t` and disbursement `d` of receivable `r` (nothing repaid, the face
/// financed) into `part` sold and the rest kept: see the module's rule.
fn divide(
    t: &FinancingTerms,
    d: &Disbursement,
    r: &Receivable,
    part: &Money,
) -> Result<Division, ExecError> {
    if !r.repaid.is_zero() {
        return Err(ContractError::PartlyRepaid(r.id.to_string()).into());
    }
    let whole = r.face;
    if part.amount >= whole.amount || t.face.amount != whole.amount {
        return Err(ContractError::InvalidField {
            field: "part".into(),
            reason: format!(
                "{part} is not below {whole}, the face of {}: sell the whole without a part",
                r.id
            ),
        }
        .into());
    }
    let share = |x: &Money| pro_rata(x, part.amount, whole.amount);
    let sold = [
        *part,
        share(&t.advanced)?,
        share(&t.fees)?,
        share(&t.discount)?,
        share(&d.discount)?,
    ];
    let whole_figures = [whole, t.advanced, t.fees, t.discount, d.discount];
    let mut kept = sold;
    for (k, (w, s)) in kept.iter_mut().zip(whole_figures.iter().zip(&sold)) {
        *k = checked_sub(w, s)?;
    }
    Ok(Division {
        sold: side(t, d, sold, part)?,
        kept: side(t, d, kept, part)?,
    })
}

/// One side of a division from its [face, advanced, fees, quoted discount, disbursed
/// discount]: its nets are advanced - discount - fees.
fn side(
    t: &FinancingTerms,
    d: &Disbursement,
    [face, advanced, fees, quoted, discount]: [Money; 5],
    part: &Money,
) -> Result<(FinancingTerms, Disbursement), ExecError> {
    let net = |disc: &Money| {
        advanced
            .amount
            .checked_sub(disc.amount)
            .and_then(|x| x.checked_sub(fees.amount))
            .map(|amount| Money {
                amount,
                currency: advanced.currency,
            })
    };
    let (Some(quoted_net), Some(paid_net)) = (net(&quoted), net(&discount)) else {
        return Err(ContractError::InvalidField {
            field: "part".into(),
            reason: format!("{part} leaves a side whose discount and fees exceed its advance"),
        }
        .into());
    };
    let terms = FinancingTerms {
        face,
        advanced,
        fees,
        discount: quoted,
        net: quoted_net,
        ..t.clone()
    };
    let disbursement = Disbursement {
        discount,
        net: paid_net,
        ..d.clone()
    };
    Ok((terms, disbursement))
}

/// `PaySale`: the buyer instructs the payment of the price.
pub fn pay(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    sid: &DocId,
    payment_ref: &str,
) -> Result<Vec<Event>, ExecError> {
    let mut s = load_as(ctx, st, sid, Side::Buyer)?;
    if s.status != SaleStatus::Sold {
        return Err(status_err(
            DocKind::Sale,
            sid,
            s.status,
            "sold, its price unpaid",
        ));
    }
    if s.payment
        .as_ref()
        .is_some_and(|p| p.status == SettlementStatus::Pending)
    {
        return Err(sale_status_err(
            &s,
            "sold, a payment pending",
            "sold with no payment pending",
        ));
    }
    if s.payments >= MAX_SALE_PAYMENTS {
        return Err(ContractError::LimitReached(format!(
            "{MAX_SALE_PAYMENTS} price payments per sale"
        ))
        .into());
    }
    super::settlement::claim_payment_ref(ctx, st, payment_ref, sid)?;
    s.payment = Some(SalePayment {
        payment_ref: payment_ref.to_string(),
        instructed_on: ctx.today,
        status: SettlementStatus::Pending,
        answered_on: None,
        dispute_reason: None,
    });
    s.payments += 1;
    save(st, &s);
    Ok(vec![Event::SalePaymentInstructed {
        sale: sid.clone(),
        buyer: s.buyer.clone(),
        seller: s.seller.clone(),
        price: s.price,
        payment_ref: payment_ref.to_string(),
    }])
}

/// `AcknowledgeSalePayment` (no reason: the price is paid) or `DisputeSalePayment` (the
/// seller's reason: nothing is paid) of the pending price payment.
fn answer_payment(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    sid: &DocId,
    dispute: Option<&String>,
) -> Result<Vec<Event>, ExecError> {
    let mut s = load_as(ctx, st, sid, Side::Seller)?;
    let pending = s.status == SaleStatus::Sold
        && s.payment
            .as_ref()
            .is_some_and(|p| p.status == SettlementStatus::Pending);
    let Some(mut p) = s.payment.clone().filter(|_| pending) else {
        let status = format!("{:?}", s.status).to_lowercase();
        return Err(sale_status_err(&s, &status, "a price payment pending"));
    };
    p.answered_on = Some(ctx.today);
    let event = match dispute {
        None => {
            p.status = SettlementStatus::Acknowledged;
            s.status = SaleStatus::Paid;
            Event::SalePaymentAcknowledged {
                sale: sid.clone(),
                seller: s.seller.clone(),
                price: s.price,
            }
        }
        Some(reason) => {
            check_text("reason", reason, 1, 256)?;
            p.status = SettlementStatus::Disputed;
            p.dispute_reason = Some(reason.clone());
            Event::SalePaymentDisputed {
                sale: sid.clone(),
                reason: reason.clone(),
            }
        }
    };
    s.payment = Some(p);
    save(st, &s);
    Ok(vec![event])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cny(s: &str) -> Money {
        Money::parse(s, "CNY").unwrap()
    }

    #[test]
    fn a_share_rounds_toward_zero_on_minor_units() {
        let part = Amount::parse("333333.33").unwrap();
        let whole = Amount::parse("1000000.00").unwrap();
        // 9,125.00 x 333,333.33 / 1,000,000.00 = 3,041.666636...
        assert_eq!(
            pro_rata(&cny("9125.00"), part, whole).unwrap(),
            cny("3041.66")
        );
        assert_eq!(pro_rata(&cny("0"), part, whole).unwrap(), cny("0.00"));
        let jpy = Money::parse("1001", "JPY").unwrap();
        let half = pro_rata(
            &jpy,
            Amount::parse("1").unwrap(),
            Amount::parse("2").unwrap(),
        );
        assert_eq!(half.unwrap(), Money::parse("500", "JPY").unwrap());
    }
}
