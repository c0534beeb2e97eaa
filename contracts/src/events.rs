//! What executing a block produces: per-transaction receipts with events, and the
//! history entries that let an auditor trace every document.

use chrono::NaiveDate;
use lianrong_primitives::{Hash, OrgId, PublicKey};
use serde::{Deserialize, Serialize};

use crate::error::{ContractError, DocKind};
use crate::model::{DocId, LimitScope, Validator};
use crate::money::{Money, Rate, Unit};

/// One thing that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// An org was admitted.
    OrgAdmitted { org: OrgId },
    /// A member key was added.
    MemberKeyAdded { org: OrgId, key: PublicKey },
    /// A member key was revoked.
    MemberKeyRevoked { org: OrgId, key: PublicKey },
    /// Network parameters changed.
    ParamsChanged,
    /// The validator set recorded in state changed; consensus applies it at its boundary.
    ValidatorSetChanged { validators: Vec<Validator> },
    /// A governance proposal was opened.
    ProposalOpened { proposal: DocId, proposer: OrgId },
    /// A validator org approved a proposal.
    ProposalApproved {
        proposal: DocId,
        org: OrgId,
        approvals: u32,
        needed: u32,
    },
    /// A proposal reached its quorum and was applied.
    ProposalExecuted { proposal: DocId },

    /// A purchase order was issued.
    OrderIssued {
        order: DocId,
        buyer: OrgId,
        seller: OrgId,
        amount: Money,
    },
    /// The seller accepted the order.
    OrderAccepted { order: DocId },
    /// The buyer marked the order fulfilled.
    OrderFulfilled { order: DocId },
    /// The buyer cancelled the order.
    OrderCancelled { order: DocId },
    /// The buyer named another carrier for the order.
    CarrierAdded { order: DocId, carrier: OrgId },

    /// Shipment attested.
    ShipmentAttested {
        shipment: DocId,
        order: DocId,
        carrier: OrgId,
        value: Money,
    },
    /// Delivery attested; the order's delivered value grew by `value`.
    ShipmentDelivered {
        shipment: DocId,
        order: DocId,
        value: Money,
    },

    /// Warehouse receipt issued.
    WarehouseReceiptIssued { receipt: DocId, owner: OrgId },
    /// The owner offered the receipt in pledge to a bank.
    WarehouseReceiptPledgeOffered { receipt: DocId, bank: OrgId },
    /// The bank accepted: the receipt is pledged to it.
    WarehouseReceiptPledged { receipt: DocId, bank: OrgId },
    /// The bank declined the pledge offer.
    WarehouseReceiptPledgeDeclined { receipt: DocId, bank: OrgId },
    /// The owner withdrew its pledge offer.
    WarehouseReceiptPledgeWithdrawn { receipt: DocId, bank: OrgId },
    /// The pledgee released its pledge.
    WarehouseReceiptPledgeReleased { receipt: DocId, bank: OrgId },
    /// The owner instructed the warehouse to release the goods.
    WarehouseReceiptReleaseInstructed { receipt: DocId, owner: OrgId },
    /// Goods released.
    WarehouseReceiptReleased { receipt: DocId },

    /// A bank posted the price of one unit of some goods.
    PricePosted {
        bank: OrgId,
        goods: String,
        unit: Unit,
        price: Money,
    },
    /// The owner of pledged receipts asked their bank for a loan.
    LoanRequested {
        loan: DocId,
        borrower: OrgId,
        bank: OrgId,
        receipts: Vec<DocId>,
        amount: Money,
    },
    /// The bank offered terms.
    LoanOffered { loan: DocId, bank: OrgId },
    /// The borrower accepted the terms; `value` is the goods value that day.
    LoanAccepted { loan: DocId, value: Money },
    /// Either side cancelled the loan before its disbursement.
    LoanCancelled { loan: DocId, by: OrgId },
    /// The bank paid the principal.
    LoanDisbursed {
        loan: DocId,
        amount: Money,
        payment_ref: String,
        value_date: NaiveDate,
    },
    /// The borrower acknowledged the principal.
    LoanDisbursementAcknowledged { loan: DocId },
    /// The borrower instructed a repayment (the balance falls on acknowledgement).
    LoanRepaymentInstructed {
        loan: DocId,
        amount: Money,
        payment_ref: String,
    },
    /// The bank acknowledged the repayment; `balance` is what is left.
    LoanRepaymentAcknowledged {
        loan: DocId,
        amount: Money,
        balance: Money,
    },
    /// The loan was repaid in full: closed, its receipts' pledges lifted.
    LoanRepaid { loan: DocId, receipts: Vec<DocId> },
    /// The bank called for margin: cure by `deadline`.
    MarginCalled {
        loan: DocId,
        balance: Money,
        value: Money,
        deadline: NaiveDate,
    },
    /// A top-up or repayment brought the LTV back to the threshold or below.
    MarginCallCured { loan: DocId },
    /// The borrower added a pledged receipt to the loan's security.
    LoanToppedUp { loan: DocId, receipt: DocId },
    /// A receipt left the loan and its pledge against repayment (赎货).
    GoodsReleased { loan: DocId, receipt: DocId },
    /// The bank enforced the loan: its receipts are the bank's.
    LoanEnforced {
        loan: DocId,
        bank: OrgId,
        receipts: Vec<DocId>,
    },

    /// Invoice registered.
    InvoiceRegistered {
        invoice: DocId,
        order: DocId,
        number: String,
        amount: Money,
        fingerprint: Hash,
    },
    /// Invoice confirmed (确权) and its receivable created.
    InvoiceConfirmed { invoice: DocId, receivable: DocId },
    /// The buyer confirmed with a maturity past the due date; it waits for the seller.
    MaturityProposed {
        invoice: DocId,
        maturity: NaiveDate,
        due_date: NaiveDate,
    },
    /// The seller accepted the proposed maturity; the confirmation completes.
    MaturityAccepted { invoice: DocId, maturity: NaiveDate },
    /// Invoice disputed.
    InvoiceDisputed { invoice: DocId, reason: String },
    /// Invoice voided.
    InvoiceVoided { invoice: DocId },

    /// A receivable came into being (from confirmation or a split).
    ReceivableIssued {
        receivable: DocId,
        holder: OrgId,
        debtor: OrgId,
        face: Money,
        maturity: NaiveDate,
        root: DocId,
        parent: Option<DocId>,
        invoice: DocId,
    },
    /// A receivable was split; it is closed and `parts` are live.
    ReceivableSplit {
        receivable: DocId,
        parts: Vec<DocId>,
    },
    /// A receivable changed holder by transfer.
    ReceivableTransferred {
        receivable: DocId,
        from: OrgId,
        to: OrgId,
    },
    /// A receivable changed holder by assignment to the financing bank.
    ReceivableAssigned {
        receivable: DocId,
        from: OrgId,
        to: OrgId,
        financing: DocId,
    },
    /// A repayment was recorded.
    ReceivableRepaid {
        receivable: DocId,
        amount: Money,
        to: OrgId,
        outstanding: Money,
    },
    /// Fully repaid.
    ReceivableSettled { receivable: DocId },
    /// The debtor instructed a payment to the holder; it waits for the payee's answer.
    SettlementInstructed {
        settlement: DocId,
        receivable: DocId,
        debtor: OrgId,
        payee: OrgId,
        amount: Money,
        payment_ref: String,
    },
    /// The payee acknowledged receipt; the amount is repaid.
    SettlementAcknowledged {
        settlement: DocId,
        receivable: DocId,
        payee: OrgId,
        amount: Money,
    },
    /// The payee disputed receipt; nothing is repaid.
    SettlementDisputed {
        settlement: DocId,
        receivable: DocId,
        reason: String,
    },
    /// Unpaid after maturity plus grace days.
    ReceivableOverdue {
        receivable: DocId,
        maturity: NaiveDate,
    },

    /// Financing requested (under `programme`, or an open auction among `banks`).
    FinancingRequested {
        financing: DocId,
        receivable: DocId,
        banks: Vec<OrgId>,
        programme: Option<DocId>,
    },
    /// Request cancelled by the holder.
    FinancingCancelled { financing: DocId },
    /// A bank offered.
    OfferMade {
        offer: DocId,
        financing: DocId,
        bank: OrgId,
        rate: Rate,
        fees: Money,
        valid_until: NaiveDate,
    },
    /// An offer was withdrawn (by its bank, or automatically).
    OfferWithdrawn { offer: DocId, financing: DocId },
    /// The holder accepted an offer; terms are fixed.
    OfferAccepted {
        offer: DocId,
        financing: DocId,
        bank: OrgId,
        discount: Money,
        net: Money,
        days: u32,
    },
    /// The accepted bank abandoned the deal before paying.
    FinancingAbandoned { financing: DocId },
    /// The bank recorded its payment; days and discount run from `value_date`.
    FinancingDisbursed {
        financing: DocId,
        bank: OrgId,
        net: Money,
        payment_ref: String,
        value_date: NaiveDate,
        days: u32,
        discount: Money,
    },
    /// The funding bank recorded the financing's registry registration number.
    FinancingRegistered { financing: DocId, number: String },
    /// The applicant acknowledged receiving the disbursement.
    DisbursementAcknowledged { financing: DocId, applicant: OrgId },
    /// The applicant disputed the disbursement.
    DisbursementDisputed { financing: DocId, reason: String },
    /// The financed receivable was repaid in full.
    FinancingClosed { financing: DocId },
    /// A credit limit was set (`None`: removed); it belongs to its holder's history.
    LimitSet {
        scope: LimitScope,
        limit: Option<Money>,
    },

    /// A bank set up a programme with a core enterprise; it waits for the core.
    ProgrammeCreated {
        programme: DocId,
        bank: OrgId,
        core: OrgId,
    },
    /// The core enterprise accepted the programme: it is active.
    ProgrammeAccepted { programme: DocId, core: OrgId },
    /// An eligible supplier joined the programme.
    ProgrammeJoined { programme: DocId, supplier: OrgId },
    /// A member supplier left the programme.
    ProgrammeLeft { programme: DocId, supplier: OrgId },
    /// The programme's bank removed a member supplier.
    ProgrammeMemberRemoved { programme: DocId, supplier: OrgId },
    /// The programme's bank closed it: no new financing under it.
    ProgrammeClosed { programme: DocId },

    /// A member key signed an action its org's policy holds for more keys' approval.
    ApprovalRequested {
        approval: DocId,
        org: OrgId,
        action: String,
        amount: Option<Money>,
        required: u32,
        key: PublicKey,
    },
    /// Another member key of the org approved a held action.
    ActionApproved {
        approval: DocId,
        key: PublicKey,
        approvals: u32,
        required: u32,
    },
    /// The policy was met: the held action executed in this transaction (its own events
    /// follow this one).
    ApprovalExecuted { approval: DocId },
    /// A member key of the org rejected a held action.
    ApprovalRejected {
        approval: DocId,
        key: PublicKey,
        reason: String,
    },
    /// The org replaced (or removed) its approval policy.
    ApprovalPolicySet { org: OrgId },
    /// The org named the actions one of its member keys may sign.
    KeyScopesSet {
        org: OrgId,
        key: PublicKey,
        scopes: Option<Vec<String>>,
    },

    /// The ledger marked a disbursed financing overdue with its receivable: the penalty
    /// runs after `penalty_from` at `penalty_rate` a year (`exec::default`).
    FinancingOverdue {
        financing: DocId,
        receivable: DocId,
        bank: OrgId,
        penalty_from: NaiveDate,
        penalty_rate: Rate,
        recourse: bool,
    },
    /// An acknowledged repayment is about to change an overdue financing's outstanding
    /// advance: the penalty so far (`accrued`, through `through`) is folded in.
    FinancingPenaltyAccrued {
        financing: DocId,
        through: NaiveDate,
        accrued: Money,
    },
    /// The supplier instructed the buy-back of an overdue financing (advance + penalty).
    BuybackInstructed {
        financing: DocId,
        supplier: OrgId,
        bank: OrgId,
        amount: Money,
        advanced: Money,
        penalty: Money,
        payment_ref: String,
    },
    /// The bank acknowledged the buy-back money: the receivable returns to the supplier.
    BuybackAcknowledged {
        financing: DocId,
        receivable: DocId,
        bank: OrgId,
        amount: Money,
    },
    /// The bank disputed the buy-back money; nothing changed.
    BuybackDisputed { financing: DocId, reason: String },
    /// The bank wrote off an overdue financing without recourse.
    FinancingWrittenOff {
        financing: DocId,
        receivable: DocId,
        bank: OrgId,
        amount: Money,
        advanced: Money,
        penalty: Money,
        reason: String,
    },

    /// A funding bank offered a disbursed financing to another bank: `face` is the face
    /// sold (the whole outstanding amount, or the part), at `price` (`exec::secondary`).
    SaleOffered {
        sale: DocId,
        financing: DocId,
        seller: OrgId,
        buyer: OrgId,
        face: Money,
        price: Money,
        valid_until: NaiveDate,
    },
    /// The buying bank accepted: it funds `bought` and holds `receivable` (for a part,
    /// split off `kept`, which the seller's `financing` continues on). No price here:
    /// the financing's and the receivable's readers learn who funds and holds them, not
    /// what the banks agreed.
    SaleAccepted {
        sale: DocId,
        seller: OrgId,
        buyer: OrgId,
        financing: DocId,
        bought: DocId,
        receivable: DocId,
        kept: Option<DocId>,
        face: Money,
        advanced: Money,
    },
    /// The buying bank declined the sale.
    SaleDeclined { sale: DocId, buyer: OrgId },
    /// The selling bank withdrew the sale.
    SaleWithdrawn { sale: DocId, seller: OrgId },
    /// The buying bank instructed the payment of the price.
    SalePaymentInstructed {
        sale: DocId,
        buyer: OrgId,
        seller: OrgId,
        price: Money,
        payment_ref: String,
    },
    /// The selling bank acknowledged receiving the price.
    SalePaymentAcknowledged {
        sale: DocId,
        seller: OrgId,
        price: Money,
    },
    /// The selling bank disputed the price payment.
    SalePaymentDisputed { sale: DocId, reason: String },
}

impl Event {
    /// The documents this event belongs to, for history and indexes.
    // One line per event kind, no wildcard: a new event cannot be left out of history
    // silently, so the match stays whole rather than split to fit a line count.
    #[allow(clippy::too_many_lines)]
    pub fn documents(&self) -> Vec<(DocKind, String)> {
        use DocKind as K;
        let d = |k: DocKind, id: &DocId| (k, id.as_str().to_string());
        let o = |id: &OrgId| (K::Org, id.as_str().to_string());
        match self {
            Event::OrgAdmitted { org }
            | Event::MemberKeyAdded { org, .. }
            | Event::MemberKeyRevoked { org, .. }
            | Event::ApprovalPolicySet { org }
            | Event::KeyScopesSet { org, .. } => vec![o(org)],
            Event::ApprovalRequested { .. }
            | Event::ActionApproved { .. }
            | Event::ApprovalExecuted { .. }
            | Event::ApprovalRejected { .. } => self.approval_documents(),
            Event::ParamsChanged | Event::ValidatorSetChanged { .. } => vec![],
            Event::FinancingOverdue { .. }
            | Event::FinancingPenaltyAccrued { .. }
            | Event::BuybackInstructed { .. }
            | Event::BuybackAcknowledged { .. }
            | Event::BuybackDisputed { .. }
            | Event::FinancingWrittenOff { .. } => self.default_documents(),
            Event::SaleOffered { .. }
            | Event::SaleAccepted { .. }
            | Event::SaleDeclined { .. }
            | Event::SaleWithdrawn { .. }
            | Event::SalePaymentInstructed { .. }
            | Event::SalePaymentAcknowledged { .. }
            | Event::SalePaymentDisputed { .. } => self.sale_documents(),
            Event::LimitSet { .. }
            | Event::ProgrammeCreated { .. }
            | Event::ProgrammeAccepted { .. }
            | Event::ProgrammeJoined { .. }
            | Event::ProgrammeLeft { .. }
            | Event::ProgrammeMemberRemoved { .. }
            | Event::ProgrammeClosed { .. } => self.limit_and_programme_documents(),
            Event::ProposalOpened { proposal, .. }
            | Event::ProposalApproved { proposal, .. }
            | Event::ProposalExecuted { proposal } => vec![d(K::Proposal, proposal)],
            Event::OrderIssued { order, .. }
            | Event::OrderAccepted { order }
            | Event::OrderFulfilled { order }
            | Event::OrderCancelled { order }
            | Event::CarrierAdded { order, .. } => vec![d(K::Order, order)],
            Event::ShipmentAttested {
                shipment, order, ..
            }
            | Event::ShipmentDelivered {
                shipment, order, ..
            } => {
                vec![d(K::Shipment, shipment), d(K::Order, order)]
            }
            Event::WarehouseReceiptIssued { receipt, .. }
            | Event::WarehouseReceiptPledgeOffered { receipt, .. }
            | Event::WarehouseReceiptPledged { receipt, .. }
            | Event::WarehouseReceiptPledgeDeclined { receipt, .. }
            | Event::WarehouseReceiptPledgeWithdrawn { receipt, .. }
            | Event::WarehouseReceiptPledgeReleased { receipt, .. }
            | Event::WarehouseReceiptReleaseInstructed { receipt, .. }
            | Event::WarehouseReceiptReleased { receipt } => vec![d(K::WarehouseReceipt, receipt)],
            Event::PricePosted { .. }
            | Event::LoanRequested { .. }
            | Event::LoanOffered { .. }
            | Event::LoanAccepted { .. }
            | Event::LoanCancelled { .. }
            | Event::LoanDisbursed { .. }
            | Event::LoanDisbursementAcknowledged { .. }
            | Event::LoanRepaymentInstructed { .. }
            | Event::LoanRepaymentAcknowledged { .. }
            | Event::LoanRepaid { .. }
            | Event::MarginCalled { .. }
            | Event::MarginCallCured { .. }
            | Event::LoanToppedUp { .. }
            | Event::GoodsReleased { .. }
            | Event::LoanEnforced { .. } => self.loan_documents(),
            Event::InvoiceRegistered { invoice, order, .. } => {
                vec![d(K::Invoice, invoice), d(K::Order, order)]
            }
            Event::InvoiceConfirmed {
                invoice,
                receivable,
            } => vec![d(K::Invoice, invoice), d(K::Receivable, receivable)],
            Event::InvoiceDisputed { invoice, .. }
            | Event::InvoiceVoided { invoice }
            | Event::MaturityProposed { invoice, .. }
            | Event::MaturityAccepted { invoice, .. } => {
                vec![d(K::Invoice, invoice)]
            }
            Event::ReceivableIssued { .. }
            | Event::ReceivableSplit { .. }
            | Event::ReceivableTransferred { .. }
            | Event::ReceivableRepaid { .. }
            | Event::ReceivableSettled { .. }
            | Event::ReceivableOverdue { .. }
            | Event::ReceivableAssigned { .. } => self.receivable_documents(),
            Event::FinancingRequested { .. }
            | Event::FinancingCancelled { .. }
            | Event::FinancingAbandoned { .. }
            | Event::FinancingDisbursed { .. }
            | Event::DisbursementAcknowledged { .. }
            | Event::DisbursementDisputed { .. }
            | Event::FinancingRegistered { .. }
            | Event::FinancingClosed { .. }
            | Event::SettlementInstructed { .. }
            | Event::SettlementAcknowledged { .. }
            | Event::SettlementDisputed { .. }
            | Event::OfferMade { .. }
            | Event::OfferWithdrawn { .. }
            | Event::OfferAccepted { .. } => self.money_documents(),
        }
    }

    /// [`Event::documents`] of the receivable events.
    fn receivable_documents(&self) -> Vec<(DocKind, String)> {
        use DocKind as K;
        let d = |k: DocKind, id: &DocId| (k, id.as_str().to_string());
        match self {
            Event::ReceivableIssued {
                receivable, parent, ..
            } => {
                let mut v = vec![d(K::Receivable, receivable)];
                if let Some(p) = parent {
                    v.push(d(K::Receivable, p));
                }
                v
            }
            Event::ReceivableSplit { receivable, .. }
            | Event::ReceivableTransferred { receivable, .. }
            | Event::ReceivableRepaid { receivable, .. }
            | Event::ReceivableSettled { receivable }
            | Event::ReceivableOverdue { receivable, .. } => vec![d(K::Receivable, receivable)],
            Event::ReceivableAssigned {
                receivable,
                financing,
                ..
            } => {
                vec![d(K::Receivable, receivable), d(K::Financing, financing)]
            }
            _ => vec![],
        }
    }

    /// [`Event::documents`] of limits (their holder's; a programme limit's programme's
    /// too) and programmes.
    fn limit_and_programme_documents(&self) -> Vec<(DocKind, String)> {
        let p = |id: &DocId| (DocKind::Programme, id.as_str().to_string());
        match self {
            Event::LimitSet { scope, .. } => {
                let mut v = vec![(DocKind::Org, scope.holder().as_str().to_string())];
                if let LimitScope::Programme { programme, .. } = scope {
                    v.push(p(programme));
                }
                v
            }
            Event::ProgrammeCreated { programme, .. }
            | Event::ProgrammeAccepted { programme, .. }
            | Event::ProgrammeJoined { programme, .. }
            | Event::ProgrammeLeft { programme, .. }
            | Event::ProgrammeMemberRemoved { programme, .. }
            | Event::ProgrammeClosed { programme } => vec![p(programme)],
            _ => vec![],
        }
    }

    /// [`Event::documents`] of inventory finance: a price is its bank's; a loan event
    /// belongs to the loan and to the receipts it moves.
    fn loan_documents(&self) -> Vec<(DocKind, String)> {
        use DocKind as K;
        let d = |k: DocKind, id: &DocId| (k, id.as_str().to_string());
        match self {
            Event::PricePosted { bank, .. } => vec![(K::Org, bank.as_str().to_string())],
            Event::LoanRequested { loan, receipts, .. }
            | Event::LoanRepaid { loan, receipts }
            | Event::LoanEnforced { loan, receipts, .. } => {
                let mut v = vec![d(K::Loan, loan)];
                v.extend(receipts.iter().map(|r| d(K::WarehouseReceipt, r)));
                v
            }
            Event::LoanToppedUp { loan, receipt } | Event::GoodsReleased { loan, receipt } => {
                vec![d(K::Loan, loan), d(K::WarehouseReceipt, receipt)]
            }
            Event::LoanOffered { loan, .. }
            | Event::LoanAccepted { loan, .. }
            | Event::LoanCancelled { loan, .. }
            | Event::LoanDisbursed { loan, .. }
            | Event::LoanDisbursementAcknowledged { loan }
            | Event::LoanRepaymentInstructed { loan, .. }
            | Event::LoanRepaymentAcknowledged { loan, .. }
            | Event::MarginCalled { loan, .. }
            | Event::MarginCallCured { loan } => vec![d(K::Loan, loan)],
            _ => vec![],
        }
    }

    /// [`Event::documents`] of overdue financings, buy-backs and write-offs: the
    /// financing, and the receivable when it changes too.
    fn default_documents(&self) -> Vec<(DocKind, String)> {
        use DocKind as K;
        let d = |k: DocKind, id: &DocId| (k, id.as_str().to_string());
        match self {
            Event::FinancingOverdue {
                financing,
                receivable,
                ..
            }
            | Event::BuybackAcknowledged {
                financing,
                receivable,
                ..
            }
            | Event::FinancingWrittenOff {
                financing,
                receivable,
                ..
            } => vec![d(K::Financing, financing), d(K::Receivable, receivable)],
            Event::BuybackInstructed { financing, .. }
            | Event::BuybackDisputed { financing, .. }
            | Event::FinancingPenaltyAccrued { financing, .. } => {
                vec![d(K::Financing, financing)]
            }
            _ => vec![],
        }
    }

    /// [`Event::documents`] of the dual-control events: the held action.
    fn approval_documents(&self) -> Vec<(DocKind, String)> {
        match self {
            Event::ApprovalRequested { approval, .. }
            | Event::ActionApproved { approval, .. }
            | Event::ApprovalExecuted { approval }
            | Event::ApprovalRejected { approval, .. } => {
                vec![(DocKind::Approval, approval.as_str().to_string())]
            }
            _ => vec![],
        }
    }

    /// [`Event::documents`] of the financing, offer and settlement events.
    fn money_documents(&self) -> Vec<(DocKind, String)> {
        use DocKind as K;
        let d = |k: DocKind, id: &DocId| (k, id.as_str().to_string());
        match self {
            Event::FinancingRequested {
                financing,
                receivable,
                programme,
                ..
            } => {
                let mut v = vec![d(K::Financing, financing), d(K::Receivable, receivable)];
                v.extend(programme.iter().map(|p| d(K::Programme, p)));
                v
            }
            Event::FinancingCancelled { financing }
            | Event::FinancingAbandoned { financing }
            | Event::FinancingDisbursed { financing, .. }
            | Event::DisbursementAcknowledged { financing, .. }
            | Event::DisbursementDisputed { financing, .. }
            | Event::FinancingRegistered { financing, .. }
            | Event::FinancingClosed { financing } => vec![d(K::Financing, financing)],
            Event::SettlementInstructed {
                settlement,
                receivable,
                ..
            }
            | Event::SettlementAcknowledged {
                settlement,
                receivable,
                ..
            }
            | Event::SettlementDisputed {
                settlement,
                receivable,
                ..
            } => vec![d(K::Settlement, settlement), d(K::Receivable, receivable)],
            Event::OfferMade {
                offer, financing, ..
            }
            | Event::OfferWithdrawn { offer, financing }
            | Event::OfferAccepted {
                offer, financing, ..
            } => vec![d(K::Offer, offer), d(K::Financing, financing)],
            _ => vec![],
        }
    }
}

/// The outcome of one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The transaction.
    pub tx_hash: Hash,
    /// Its signer's org.
    pub signer: OrgId,
    /// Events on success, the refusal otherwise.
    pub outcome: Result<Vec<Event>, ContractError>,
}

impl Receipt {
    /// Whether the ledger committed the transaction in this block: it executed (its
    /// action applied, or was refused by the rules) and spent its nonce, once and for
    /// all. An envelope refusal ([`ContractError::is_envelope_refusal`]) is not a
    /// commitment: the receipt stays in the block's results, but no one may be told the
    /// transaction is final because of it -- the same bytes may execute later.
    pub fn committed(&self) -> bool {
        match &self.outcome {
            Ok(_) => true,
            Err(e) => !e.is_envelope_refusal(),
        }
    }
}

/// One step in a document's history: what happened, by whom, in which transaction and
/// block. `tx` and `signer` are `None` for changes the ledger makes by itself (overdue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Block height.
    pub height: u64,
    /// The transaction, if any.
    pub tx: Option<Hash>,
    /// The signer's org, if any.
    pub signer: Option<OrgId>,
    /// The signing member key, if any.
    pub key: Option<PublicKey>,
    /// Block time in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// What happened.
    pub event: Event,
}
