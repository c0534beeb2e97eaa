//! Executing blocks: envelope checks, dispatch to the action rules, the overdue sweep,
//! history, and the state changes with their Merkle root.

pub mod approvals;
pub mod default;
pub mod financing;
pub mod fingerprint;
pub mod governance;
pub mod history;
pub mod inventory;
pub mod invoices;
pub mod limits;
pub mod programmes;
pub mod receivables;
pub mod registration;
pub mod secondary;
pub mod settlement;
pub mod tax_id;
pub mod trade;
pub mod warehouse;

use chrono::{Duration, NaiveDate};
use lianrong_primitives::{Hash, OrgId, PublicKey};
use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::error::{ContractError, DocKind, ExecError, StoreError};
use crate::events::{Event, Receipt};
use crate::merkle::{compute_changes, StateChanges};
use crate::model::{DocId, KeyRecord, Org, Params, Role};
use crate::state::{keys, load, StateView, Storage};
use crate::tx::VerifiedTransaction;

/// Chain-wide bookkeeping kept in state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainMeta {
    /// The chain id transactions must name.
    pub chain_id: String,
    /// Height of the last executed block (0 = genesis).
    pub height: u64,
    /// Time of the last executed block, ms since the Unix epoch.
    pub time_ms: u64,
    /// Every maturity date up to and including this one has been swept for overdue.
    pub overdue_swept_through: NaiveDate,
}

/// The block being executed: its height and agreed time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockContext {
    /// Height; must be the last height plus one.
    pub height: u64,
    /// Block time in ms since the Unix epoch (agreed by consensus; never a wall clock).
    pub time_ms: u64,
}

/// What executing a block produced.
#[derive(Debug, Clone)]
pub struct BlockOutcome {
    /// One receipt per transaction, in block order.
    pub receipts: Vec<Receipt>,
    /// Changes the ledger made by itself (overdue receivables).
    pub ledger_events: Vec<Event>,
    /// The state writes, tree update and new root, to be committed atomically.
    pub changes: StateChanges,
    /// The root of the receipts and ledger events ([`history::results_root`]).
    pub results_root: Hash,
}

impl BlockOutcome {
    /// The state root after this block.
    pub fn state_root(&self) -> Hash {
        self.changes.root
    }
}

/// Why a whole block could not be executed (the caller's or the storage's fault).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No genesis in this store.
    #[error("state has no genesis")]
    NoGenesis,
    /// Blocks must be executed in height order.
    #[error("expected block height {expected}, got {got}")]
    WrongHeight {
        /// Next height.
        expected: u64,
        /// Given.
        got: u64,
    },
    /// A block time past the calendar's range.
    #[error("block time {time_ms} ms is past the calendar's range")]
    TimeOutOfRange {
        /// Given.
        time_ms: u64,
    },
    /// Consensus guarantees monotonic time; anything else is a bug upstream.
    #[error("block time {got} is before the previous block's {previous}")]
    TimeWentBackwards {
        /// Previous block time.
        previous: u64,
        /// Given.
        got: u64,
    },
}

/// Most receivables the overdue sweep looks at in one block; the rest continue in the
/// next block, so a block's work stays bounded even after a long halt.
pub const MAX_SWEEP_PER_BLOCK: usize = 4096;
/// Most days a single sweep walks forward (a halted chain catches up over blocks).
const MAX_SWEEP_DAYS_PER_BLOCK: u32 = 400;

/// The business date of a block time under the network's UTC offset; `None` for a time
/// past the calendar's range (over 200,000 years: honest validators never vote for such
/// a block, genesis refuses one).
pub fn business_date(time_ms: u64, utc_offset_minutes: i32) -> Option<NaiveDate> {
    let shifted = i64::try_from(time_ms)
        .ok()?
        .checked_add(i64::from(utc_offset_minutes) * 60_000)?;
    let days = shifted.div_euclid(86_400_000);
    NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(Duration::try_days(days)?)
}

/// Who is acting in the current transaction, and when.
pub struct Ctx {
    /// Block height.
    pub height: u64,
    /// Block time.
    pub time_ms: u64,
    /// Business date of the block.
    pub today: NaiveDate,
    /// Network parameters in force.
    pub params: Params,
    /// The signer's org.
    pub org: Org,
    /// The signing member key (approvals count keys, not orgs).
    pub key: PublicKey,
}

impl Ctx {
    /// The signer's org id.
    pub fn org_id(&self) -> &OrgId {
        &self.org.id
    }

    /// Requires the signer's org to hold `role`.
    pub fn require_role(&self, role: Role) -> Result<(), ContractError> {
        if self.org.has(role) {
            Ok(())
        } else {
            Err(ContractError::MissingRole {
                org: self.org.id.clone(),
                role,
            })
        }
    }

    /// Requires the signer's org to be `party` (the buyer, holder, ...) of a document.
    pub fn require_party(
        &self,
        expected: &OrgId,
        party: &str,
        kind: DocKind,
        id: &DocId,
    ) -> Result<(), ContractError> {
        if &self.org.id == expected {
            Ok(())
        } else {
            Err(ContractError::NotParty {
                org: self.org.id.clone(),
                party: party.to_string(),
                kind,
                id: id.to_string(),
            })
        }
    }
}

/// A `WrongStatus` refusal.
pub fn status_err(
    kind: DocKind,
    id: &DocId,
    status: impl std::fmt::Debug,
    expected: &str,
) -> ExecError {
    ContractError::WrongStatus {
        kind,
        id: id.to_string(),
        status: format!("{status:?}").to_lowercase(),
        expected: expected.into(),
    }
    .into()
}

/// Loads a document or refuses with `NotFound`.
pub fn load_doc<T: Serialize + serde::de::DeserializeOwned>(
    st: &StateView<'_>,
    kind: DocKind,
    id: &str,
) -> Result<T, ExecError> {
    st.load(&keys::doc(kind, id))?.ok_or_else(|| {
        ContractError::NotFound {
            kind,
            id: id.to_string(),
        }
        .into()
    })
}

/// Refuses if a document with this id exists.
pub fn require_new(st: &StateView<'_>, kind: DocKind, id: &DocId) -> Result<(), ExecError> {
    if st.exists(&keys::doc(kind, id.as_str()))? {
        return Err(ContractError::AlreadyExists {
            kind,
            id: id.to_string(),
        }
        .into());
    }
    Ok(())
}

/// Loads an admitted org or refuses with `InvalidParty`.
pub fn load_party(
    st: &StateView<'_>,
    org: &OrgId,
    party: &str,
    role: Option<Role>,
) -> Result<Org, ExecError> {
    let Some(o) = st.load::<Org>(&keys::doc(DocKind::Org, org.as_str()))? else {
        return Err(ContractError::InvalidParty {
            org: org.clone(),
            party: party.to_string(),
            reason: "not an admitted organisation".into(),
        }
        .into());
    };
    if let Some(role) = role {
        if !o.has(role) {
            return Err(ContractError::InvalidParty {
                org: org.clone(),
                party: party.to_string(),
                reason: format!("lacks the {role:?} role"),
            }
            .into());
        }
    }
    Ok(o)
}

/// Checks a free-text field's length (in characters) and that it has no control
/// characters.
pub fn check_text(field: &str, value: &str, min: usize, max: usize) -> Result<(), ContractError> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(ContractError::InvalidField {
            field: field.into(),
            reason: format!("length {n} is outside {min}..={max}"),
        });
    }
    if value.chars().any(char::is_control) {
        return Err(ContractError::InvalidField {
            field: field.into(),
            reason: "control characters".into(),
        });
    }
    Ok(())
}

/// The one rule for payment references (repayments and disbursements alike).
pub fn check_payment_ref(payment_ref: &str) -> Result<(), ContractError> {
    check_text("payment_ref", payment_ref, 1, 64)
}

/// Takes the next ledger-assigned id of a kind, e.g. `RCV-7`.
pub fn next_id(st: &mut StateView<'_>, counter: &str, prefix: &str) -> Result<DocId, ExecError> {
    let key = keys::counter(counter);
    let n: u64 = st.load(&key)?.unwrap_or(1);
    st.store(key, &(n + 1));
    DocId::new(format!("{prefix}-{n}")).map_err(|e| {
        StoreError::Corrupt {
            key: counter.into(),
            reason: e.to_string(),
        }
        .into()
    })
}

/// Enters a receivable in the index of its maturity date, for the overdue sweep.
pub fn index_maturity(
    st: &mut StateView<'_>,
    date: NaiveDate,
    id: &DocId,
) -> Result<(), ExecError> {
    st.store(keys::due(&date.to_string(), id.as_str()), &());
    Ok(())
}

/// Takes a receivable out of the maturity index once it can no longer go overdue
/// (split or settled), so the index only holds live receivables.
pub fn unindex_maturity(
    st: &mut StateView<'_>,
    date: NaiveDate,
    id: &DocId,
) -> Result<(), ExecError> {
    let key = keys::due(&date.to_string(), id.as_str());
    // The sweep already removed overdue ones; deleting only what exists keeps the
    // write set exact.
    if st.exists(&key)? {
        st.delete(key);
    }
    Ok(())
}

fn load_meta(st: &StateView<'_>) -> Result<ChainMeta, BlockError> {
    st.load(keys::META)?.ok_or(BlockError::NoGenesis)
}

/// Executes one block of verified transactions on top of `store`'s latest state and
/// returns the receipts and the changes; `store` itself is not modified.
pub fn execute_block<S: Storage>(
    store: &S,
    block: &BlockContext,
    txs: &[VerifiedTransaction],
) -> Result<BlockOutcome, BlockError> {
    let mut st = StateView::new(store);
    let mut meta = load_meta(&st)?;
    if block.height != meta.height + 1 {
        return Err(BlockError::WrongHeight {
            expected: meta.height + 1,
            got: block.height,
        });
    }
    if block.time_ms < meta.time_ms {
        return Err(BlockError::TimeWentBackwards {
            previous: meta.time_ms,
            got: block.time_ms,
        });
    }
    let params: Params = st.load(keys::PARAMS)?.ok_or(BlockError::NoGenesis)?;
    let today = business_date(block.time_ms, params.utc_offset_minutes).ok_or(
        BlockError::TimeOutOfRange {
            time_ms: block.time_ms,
        },
    )?;

    let ledger_events = sweep_overdue(store, &mut st, &mut meta, today, &params)?;
    st.commit_tx();

    let mut receipts = Vec::with_capacity(txs.len());
    for vtx in txs {
        let receipt = execute_tx(&mut st, block, today, &params, vtx)?;
        receipts.push(receipt);
    }

    meta.height = block.height;
    meta.time_ms = block.time_ms;
    st.store(keys::META.to_vec(), &meta);
    st.commit_tx();
    let index = history::record_history(&mut st, block, &ledger_events, txs, &receipts)?;
    let mut changes = compute_changes(store, block.height, st.into_writes())?;
    changes.index = index;
    let results_root = history::results_root(&receipts, &ledger_events);
    Ok(BlockOutcome {
        receipts,
        ledger_events,
        changes,
        results_root,
    })
}

fn execute_tx(
    st: &mut StateView<'_>,
    block: &BlockContext,
    today: NaiveDate,
    params: &Params,
    vtx: &VerifiedTransaction,
) -> Result<Receipt, StoreError> {
    let tx = vtx.tx();
    let receipt = |outcome| Receipt {
        tx_hash: vtx.hash(),
        signer: tx.signer.org.clone(),
        outcome,
    };

    // The envelope: a refusal here changes nothing at all, not even the nonce.
    let org = match check_envelope(st, &tx.signer.org, &tx.signer.key, tx.nonce) {
        Ok(org) => org,
        Err(ExecError::Rejected(e)) => return Ok(receipt(Err(e))),
        Err(ExecError::Store(e)) => return Err(e),
    };
    // The nonce is spent even if the action is refused, so these signed bytes can never
    // be replayed later when the action might succeed.
    st.store(keys::nonce(&tx.signer.key), &(tx.nonce + 1));
    st.commit_tx();

    let ctx = Ctx {
        height: block.height,
        time_ms: block.time_ms,
        today,
        params: params.clone(),
        org,
        key: tx.signer.key,
    };
    match approvals::run_signed(&ctx, st, &tx.action) {
        Ok(events) => {
            st.commit_tx();
            Ok(receipt(Ok(events)))
        }
        Err(ExecError::Rejected(e)) => {
            st.rollback_tx();
            Ok(receipt(Err(e)))
        }
        Err(ExecError::Store(e)) => Err(e),
    }
}

/// Checks that `key` is an active member key of `org` and `nonce` is its next nonce;
/// returns the org.
pub fn check_envelope(
    st: &StateView<'_>,
    org: &OrgId,
    key: &PublicKey,
    nonce: u64,
) -> Result<Org, ExecError> {
    check_key(st, org, key)?;
    let expected: u64 = st.load(&keys::nonce(key))?.unwrap_or(0);
    if nonce != expected {
        return Err(ContractError::WrongNonce {
            expected,
            got: nonce,
        }
        .into());
    }
    let org: Org = st
        .load(&keys::doc(DocKind::Org, org.as_str()))?
        .ok_or_else(|| StoreError::Corrupt {
            key: format!("org {org}"),
            reason: "key of a missing org".into(),
        })?;
    Ok(org)
}

/// The first of the envelope checks: `key` is registered, to `org`, and active. Public
/// for the node's admission, which checks this and the nonce alone (one read each).
pub fn check_key(st: &StateView<'_>, org: &OrgId, key: &PublicKey) -> Result<(), ExecError> {
    let record: KeyRecord = st
        .load(&keys::member_key(key))?
        .ok_or(ContractError::UnknownKey)?;
    if &record.org != org {
        return Err(ContractError::KeyNotOfOrg {
            claimed: org.clone(),
            actual: record.org,
        }
        .into());
    }
    if !record.active {
        return Err(ContractError::RevokedKey.into());
    }
    Ok(())
}

/// Applies one action's rules, whoever's policy held it ([`approvals::run_signed`] is
/// the way in for a signed transaction). On `Err`, the caller discards every write it
/// made.
// The dispatch of every action, no wildcard (a new action must be routed here), one
// line per action or group: it grows with the action list, not with logic.
#[allow(clippy::too_many_lines)]
pub fn apply_action(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    action: &Action,
) -> Result<Vec<Event>, ExecError> {
    use Action as A;
    match action {
        A::Propose { change } => governance::propose(ctx, st, change),
        A::Approve { proposal } => governance::approve(ctx, st, proposal),
        A::IssueOrder {
            id,
            seller,
            amount,
            terms,
            doc_hash,
            carriers,
        } => trade::issue_order(ctx, st, id, seller, amount, terms, *doc_hash, carriers),
        A::AddCarrier { order, carrier } => trade::add_carrier(ctx, st, order, carrier),
        A::AcceptOrder { order } => trade::accept_order(ctx, st, order),
        A::CancelOrder { order } => trade::cancel_order(ctx, st, order),
        A::FulfilOrder { order } => trade::fulfil_order(ctx, st, order),
        A::AttestShipment {
            id,
            order,
            value,
            doc_hash,
        } => trade::attest_shipment(ctx, st, id, order, value, *doc_hash),
        A::ConfirmDelivery { shipment } => trade::confirm_delivery(ctx, st, shipment),
        A::IssueWarehouseReceipt { .. } => warehouse::issue_action(ctx, st, action),
        A::OfferPledge { receipt, bank } => warehouse::offer_pledge(ctx, st, receipt, bank),
        A::AcceptPledge { receipt } => warehouse::accept_pledge(ctx, st, receipt),
        A::DeclinePledge { receipt } => warehouse::decline_pledge(ctx, st, receipt),
        A::WithdrawPledgeOffer { receipt } => warehouse::withdraw_pledge_offer(ctx, st, receipt),
        A::ReleasePledge { receipt } => warehouse::release_pledge(ctx, st, receipt),
        A::InstructRelease { receipt } => warehouse::instruct_release(ctx, st, receipt),
        A::ReleaseWarehouseReceipt { receipt } => warehouse::release(ctx, st, receipt),
        A::PostPrice { .. }
        | A::RequestLoan { .. }
        | A::OfferLoan { .. }
        | A::AcceptLoan { .. }
        | A::CancelLoan { .. }
        | A::DisburseLoan { .. }
        | A::AcknowledgeLoanDisbursement { .. }
        | A::RepayLoan { .. }
        | A::AcknowledgeLoanRepayment { .. }
        | A::MarginCall { .. }
        | A::TopUp { .. }
        | A::ReleaseGoods { .. }
        | A::Enforce { .. } => inventory::apply(ctx, st, action),
        A::RegisterInvoice { invoice, confirm } => invoices::register(ctx, st, invoice, *confirm),
        A::ConfirmInvoice { invoice, maturity } => invoices::confirm(ctx, st, invoice, *maturity),
        A::AcceptMaturity { invoice } => invoices::accept_maturity(ctx, st, invoice),
        A::DisputeInvoice { invoice, reason } => invoices::dispute(ctx, st, invoice, reason),
        A::VoidInvoice { invoice } => invoices::void(ctx, st, invoice),
        A::SplitReceivable { .. }
        | A::TransferReceivable { .. }
        | A::Repay { .. }
        | A::SettleRoot { .. }
        | A::AcknowledgeSettlement { .. }
        | A::DisputeSettlement { .. }
        | A::RequestFinancing { .. }
        | A::CancelFinancing { .. }
        | A::OfferFinancing { .. }
        | A::WithdrawOffer { .. }
        | A::AcceptOffer { .. }
        | A::AbandonFinancing { .. }
        | A::Disburse { .. }
        | A::AcknowledgeDisbursement { .. }
        | A::DisputeDisbursement { .. } => apply_money_action(ctx, st, action),
        A::RecordRegistration { financing, number } => {
            registration::record(ctx, st, financing, number)
        }
        A::SetExposureLimit { on, scope, limit } => limits::set_exposure(ctx, st, on, scope, limit),
        A::ApproveAction { approval } => approvals::approve(ctx, st, approval),
        A::RejectAction { approval, reason } => approvals::reject(ctx, st, approval, reason),
        A::SetApprovalPolicy { policy } => approvals::set_policy(ctx, st, policy.as_ref()),
        A::SetKeyScopes { key, scopes } => {
            approvals::set_key_scopes(ctx, st, key, scopes.as_deref())
        }
        A::CreateProgramme { .. }
        | A::AcceptProgramme { .. }
        | A::JoinProgramme { .. }
        | A::LeaveProgramme { .. }
        | A::RemoveFromProgramme { .. }
        | A::CloseProgramme { .. }
        | A::RequestProgrammeFinancing { .. } => programmes::apply(ctx, st, action),
        A::OfferFinancingWithTerms { .. }
        | A::InstructBuyback { .. }
        | A::AcknowledgeBuyback { .. }
        | A::DisputeBuyback { .. }
        | A::WriteOff { .. } => default::apply(ctx, st, action),
        A::OfferSale { .. }
        | A::AcceptSale { .. }
        | A::DeclineSale { .. }
        | A::WithdrawSale { .. }
        | A::PaySale { .. }
        | A::AcknowledgeSalePayment { .. }
        | A::DisputeSalePayment { .. } => secondary::apply(ctx, st, action),
    }
}

/// [`apply_action`] of the receivable, settlement and financing actions.
fn apply_money_action(
    ctx: &Ctx,
    st: &mut StateView<'_>,
    action: &Action,
) -> Result<Vec<Event>, ExecError> {
    use Action as A;
    match action {
        A::SplitReceivable { receivable, parts } => receivables::split(ctx, st, receivable, parts),
        A::TransferReceivable { receivable, to } => receivables::transfer(ctx, st, receivable, to),
        A::Repay {
            receivable,
            payee,
            amount,
            payment_ref,
        } => settlement::repay(ctx, st, receivable, payee, *amount, payment_ref),
        A::SettleRoot { root, payment_ref } => settlement::settle_root(ctx, st, root, payment_ref),
        A::AcknowledgeSettlement { settlement } => settlement::acknowledge(ctx, st, settlement),
        A::DisputeSettlement { settlement, reason } => {
            settlement::dispute(ctx, st, settlement, reason)
        }
        A::RequestFinancing { receivable, banks } => financing::request(ctx, st, receivable, banks),
        A::CancelFinancing { financing } => financing::cancel(ctx, st, financing),
        A::OfferFinancing {
            financing,
            rate,
            fees,
            valid_until,
        } => financing::offer(ctx, st, financing, *rate, *fees, *valid_until),
        A::WithdrawOffer { offer } => financing::withdraw_offer(ctx, st, offer),
        A::AcceptOffer { offer } => financing::accept_offer(ctx, st, offer),
        A::AbandonFinancing { financing } => financing::abandon(ctx, st, financing),
        A::Disburse {
            financing,
            payment_ref,
            net,
        } => financing::disburse(ctx, st, financing, payment_ref, *net),
        A::AcknowledgeDisbursement { financing } => {
            financing::acknowledge_disbursement(ctx, st, financing)
        }
        A::DisputeDisbursement { financing, reason } => {
            financing::dispute_disbursement(ctx, st, financing, reason)
        }
        other => Err(StoreError::Invariant(format!(
            "{} is not a receivable, settlement or financing action",
            other.name()
        ))
        .into()),
    }
}

/// Marks receivables overdue whose maturity plus grace days lies before `today`, walking
/// the maturity index date by date, and with each one a disbursed financing on it
/// (`default::mark_overdue`: one financing more per receivable, within the same bound).
/// Each swept entry leaves the index, so a sweep that stops at its per-block limit simply
/// continues from the same date next block.
fn sweep_overdue<S: Storage>(
    store: &S,
    st: &mut StateView<'_>,
    meta: &mut ChainMeta,
    today: NaiveDate,
    params: &Params,
) -> Result<Vec<Event>, StoreError> {
    let grace_days = params.grace_days;
    // The sweep runs first in the block, so the committed state is all there is to scan.
    assert!(
        st.is_clean(),
        "the overdue sweep must run before any transaction"
    );
    let mut events = Vec::new();
    // Maturities on or before `last_due` are overdue today.
    let Some(last_due) = today.checked_sub_signed(Duration::days(i64::from(grace_days) + 1)) else {
        return Ok(events);
    };
    let mut budget = MAX_SWEEP_PER_BLOCK;
    for _ in 0..MAX_SWEEP_DAYS_PER_BLOCK {
        let Some(date) = meta.overdue_swept_through.succ_opt() else {
            break;
        };
        if date > last_due {
            break;
        }
        let entries = store.scan_prefix(&keys::due_prefix(&date.to_string()), budget)?;
        let complete = entries.len() < budget;
        budget -= entries.len();
        for (key, _) in entries {
            st.delete(key.clone());
            let id = key.rsplit(|b| *b == b'/').next().unwrap_or_default();
            let id = String::from_utf8_lossy(id);
            let rkey = keys::doc(DocKind::Receivable, &id);
            let Some(mut r) = st.load::<crate::model::Receivable>(&rkey)? else {
                continue;
            };
            if r.status == crate::model::ReceivableStatus::Active {
                r.status = crate::model::ReceivableStatus::Overdue;
                events.push(Event::ReceivableOverdue {
                    receivable: r.id.clone(),
                    maturity: r.maturity,
                });
                st.store(rkey, &r);
                events.extend(default::mark_overdue(st, &r, today, params)?);
            }
        }
        if !complete {
            break;
        }
        meta.overdue_swept_through = date;
    }
    Ok(events)
}

/// Reads the committed chain metadata.
pub fn chain_meta<S: Storage>(store: &S) -> Result<Option<ChainMeta>, StoreError> {
    load(store, keys::META)
}
