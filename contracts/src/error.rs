//! Typed reasons for refusing a transaction. A refused action changes nothing but the
//! signer's nonce, and its receipt carries one of these.

use lianrong_primitives::OrgId;
use serde::{Deserialize, Serialize};

use crate::model::{LimitScope, Role};
use crate::money::MoneyError;

/// The kinds of document, for error messages, history and proofs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// An organisation.
    Org,
    /// A governance proposal.
    Proposal,
    /// A purchase order.
    Order,
    /// A shipment.
    Shipment,
    /// A warehouse receipt.
    WarehouseReceipt,
    /// An invoice.
    Invoice,
    /// A receivable.
    Receivable,
    /// A financing request/deal.
    Financing,
    /// A bank's offer.
    Offer,
    /// A settlement (a debtor's payment to a holder, and the holder's answer).
    Settlement,
    /// An action held for more member keys' approval (maker-checker).
    Approval,
    /// A supply-chain finance programme.
    Programme,
    /// A loan against pledged warehouse receipts.
    Loan,
    /// A bank's secondary sale of a financing to another bank.
    Sale,
}

impl DocKind {
    /// Every kind (the API's `/v1/proofs/{kind}/...` takes exactly these).
    pub const ALL: [DocKind; 14] = [
        DocKind::Org,
        DocKind::Proposal,
        DocKind::Order,
        DocKind::Shipment,
        DocKind::WarehouseReceipt,
        DocKind::Invoice,
        DocKind::Receivable,
        DocKind::Financing,
        DocKind::Offer,
        DocKind::Settlement,
        DocKind::Approval,
        DocKind::Programme,
        DocKind::Loan,
        DocKind::Sale,
    ];

    /// The short name used in state keys and URLs.
    pub fn as_str(&self) -> &'static str {
        match self {
            DocKind::Org => "org",
            DocKind::Proposal => "proposal",
            DocKind::Order => "order",
            DocKind::Shipment => "shipment",
            DocKind::WarehouseReceipt => "warehouse_receipt",
            DocKind::Invoice => "invoice",
            DocKind::Receivable => "receivable",
            DocKind::Financing => "financing",
            DocKind::Offer => "offer",
            DocKind::Settlement => "settlement",
            DocKind::Approval => "approval",
            DocKind::Programme => "programme",
            DocKind::Loan => "loan",
            DocKind::Sale => "sale",
        }
    }

    /// Parses [`DocKind::as_str`] output.
    pub fn parse(s: &str) -> Option<DocKind> {
        DocKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for DocKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ContractError {
    // --- the envelope ---
    /// The signing key is not registered to any org.
    #[error("key is not a member key of any organisation")]
    UnknownKey,
    /// The signing key belongs to another org than the one named.
    #[error("key belongs to {actual}, not {claimed}")]
    KeyNotOfOrg {
        /// The org named in the transaction.
        claimed: OrgId,
        /// The org the key belongs to.
        actual: OrgId,
    },
    /// The signing key was revoked.
    #[error("member key was revoked")]
    RevokedKey,
    /// The nonce is not the next one for this key.
    #[error("wrong nonce: expected {expected}, got {got}")]
    WrongNonce {
        /// The next nonce.
        expected: u64,
        /// The nonce given.
        got: u64,
    },

    // --- who may act ---
    /// The signer's org lacks a role this action needs.
    #[error("{org} lacks the {role:?} role")]
    MissingRole {
        /// The signer's org.
        org: OrgId,
        /// The role needed.
        role: Role,
    },
    /// The signer's org has the role but is not the party this action needs.
    #[error("{org} is not the {party} of {kind} {id}")]
    NotParty {
        /// The signer's org.
        org: OrgId,
        /// The party needed (buyer, seller, holder, ...).
        party: String,
        /// Document kind.
        kind: DocKind,
        /// Document id.
        id: String,
    },
    /// Governance actions come only from validator orgs.
    #[error("{0} is not a validator organisation")]
    NotValidatorOrg(OrgId),

    // --- documents ---
    /// No such document.
    #[error("{kind} {id} does not exist")]
    NotFound {
        /// Document kind.
        kind: DocKind,
        /// Document id.
        id: String,
    },
    /// A document with this id already exists.
    #[error("{kind} {id} already exists")]
    AlreadyExists {
        /// Document kind.
        kind: DocKind,
        /// Document id.
        id: String,
    },
    /// The document is not in a status that allows this action.
    #[error("{kind} {id} is {status}; this needs {expected}")]
    WrongStatus {
        /// Document kind.
        kind: DocKind,
        /// Document id.
        id: String,
        /// Its status.
        status: String,
        /// What the action needs.
        expected: String,
    },
    /// An org named in the action is not admitted, or lacks the role it is named for.
    #[error("{org} cannot be the {party}: {reason}")]
    InvalidParty {
        /// The org named.
        org: OrgId,
        /// The party it was named for.
        party: String,
        /// Why not.
        reason: String,
    },
    /// A text or list field breaks its bounds.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// Field name.
        field: String,
        /// Why.
        reason: String,
    },
    /// A money rule was broken.
    #[error(transparent)]
    Money(#[from] MoneyError),

    // --- business rules ---
    /// The same invoice (same fingerprint) is already on the ledger.
    #[error("duplicate invoice: the same invoice is already registered as {existing}")]
    DuplicateInvoice {
        /// The invoice id holding the fingerprint.
        existing: String,
    },
    /// The seller already issued an invoice with this number, with another date or amount.
    #[error("invoice number {number:?} of this seller is already registered as {existing} with another date or amount")]
    InvoiceNumberConflict {
        /// The invoice holding the number.
        existing: String,
        /// The number as given.
        number: String,
    },
    /// The receivable no longer owes the face the accepted terms financed.
    #[error("financing {financing} priced a face of {financed} but the receivable now owes {outstanding}: abandon it and ask again")]
    FinancedFaceChanged {
        /// The financing.
        financing: String,
        /// The face the terms priced.
        financed: String,
        /// What the receivable owes now.
        outstanding: String,
    },
    /// The debtor already recorded a payment with this reference.
    #[error("payment reference {payment_ref:?} was already recorded for {receivable}: one payment is counted once")]
    DuplicatePaymentRef {
        /// The reference as given.
        payment_ref: String,
        /// The receivable that payment settled.
        receivable: String,
    },
    /// The repayment names a payee that no longer holds the receivable.
    #[error("{payee} no longer holds receivable {receivable} (the holder is {holder}): instruct the payment to the holder")]
    PayeeNotHolder {
        /// The receivable.
        receivable: String,
        /// The payee named.
        payee: OrgId,
        /// The holder now.
        holder: OrgId,
    },
    /// The receivable has a settlement waiting for its payee's answer.
    #[error("receivable {receivable} has settlement {settlement} waiting for the payee's answer")]
    SettlementPending {
        /// The receivable.
        receivable: String,
        /// The pending settlement.
        settlement: String,
    },
    /// The offer's validity ran out.
    #[error("offer {offer} was valid until {valid_until}")]
    OfferExpired {
        /// The offer.
        offer: String,
        /// Its last valid business date.
        valid_until: String,
    },
    /// The accepted financing was not disbursed in time and has lapsed.
    #[error("financing {financing} accepted on {accepted} was not disbursed within {days} days and has lapsed; the applicant may cancel it")]
    FinancingLapsed {
        /// The financing.
        financing: String,
        /// Its acceptance (value) date.
        accepted: String,
        /// The parameter in force.
        days: u32,
    },
    /// The action would take a credit limit's use past the limit.
    #[error("{scope} is {limit} with {used} in use: {amount} more would exceed it")]
    LimitExceeded {
        /// The limit (its kind and who and what it caps); boxed to keep every refusal
        /// small.
        scope: Box<LimitScope>,
        /// The limit.
        limit: String,
        /// Its use before this action.
        used: String,
        /// What this action would add.
        amount: String,
    },
    /// An amount in another currency than a limit that caps it: it cannot be compared
    /// with the limit, so it is refused rather than left unlimited.
    #[error("{scope} is in {limit_currency}; {amount} cannot be counted against it")]
    LimitCurrencyMismatch {
        /// The limit.
        scope: Box<LimitScope>,
        /// The limit's currency.
        limit_currency: String,
        /// The amount refused.
        amount: String,
    },
    /// A tax id on the invoice does not match the org's registered tax id.
    #[error("{party} tax id {given:?} does not match the registered {registered:?}")]
    TaxIdMismatch {
        /// seller or buyer.
        party: String,
        /// As printed on the invoice.
        given: String,
        /// As registered for the org.
        registered: String,
    },
    /// Invoices would exceed the order amount.
    #[error(
        "order {order} amount {order_amount} would be exceeded: invoiced {invoiced} + {amount}"
    )]
    OrderAmountExceeded {
        /// The order.
        order: String,
        /// Its amount.
        order_amount: String,
        /// Already invoiced (or confirmed).
        invoiced: String,
        /// This invoice.
        amount: String,
    },
    /// No delivery is attested for the order and the network requires one.
    #[error("no delivery is attested for order {0}")]
    DeliveryNotAttested(String),
    /// Confirmed invoices would exceed the value delivered on their order.
    #[error("order {order} has {delivered} delivered; confirming {amount} on top of {confirmed} confirmed would exceed it: confirm after more delivery")]
    DeliveredValueExceeded {
        /// The order.
        order: String,
        /// Value of its delivered shipments.
        delivered: String,
        /// Already confirmed against it.
        confirmed: String,
        /// This invoice.
        amount: String,
    },
    /// The warehouse already has a live receipt for this lot.
    #[error("warehouse {warehouse} already has live receipt {existing} for lot {lot:?}: one lot backs one receipt until released")]
    LotAlreadyReceipted {
        /// The warehouse.
        warehouse: OrgId,
        /// The lot as given.
        lot: String,
        /// The live receipt for it.
        existing: String,
    },
    /// A receipt is under a live loan, which its action would break.
    #[error("warehouse receipt {receipt} secures live loan {loan}")]
    UnderLoan {
        /// The receipt.
        receipt: String,
        /// The loan.
        loan: String,
    },
    /// No price is posted by the loan's bank for some goods of a loan.
    #[error("{bank} has posted no price for {goods:?} per {unit} in {currency}: post one (post_price) first")]
    NoPrice {
        /// The bank.
        bank: OrgId,
        /// The goods.
        goods: String,
        /// The unit.
        unit: String,
        /// The loan's currency.
        currency: String,
    },
    /// A loan's balance would exceed its goods value times the LTV limit.
    #[error("loan {loan}: {figures}, above the limit of {limit}%")]
    LtvExceeded {
        /// The loan.
        loan: String,
        /// The balance (or principal), the goods value and the LTV in percent (rounded
        /// up to 4 decimals; "inf" for goods of no value), in words.
        figures: String,
        /// The limit in percent.
        limit: String,
    },
    /// A margin call or enforcement while the LTV is at or below the call threshold.
    #[error("loan {loan}: {figures}, not above the margin-call threshold of {threshold}%")]
    LtvWithinThreshold {
        /// The loan.
        loan: String,
        /// The balance, the goods value and the LTV, in words.
        figures: String,
        /// The threshold in percent.
        threshold: String,
    },
    /// Enforcement before a margin call's cure period ended.
    #[error("loan {loan}: the cure period of the margin call runs through {deadline}; enforcement is possible from the day after")]
    CurePeriodRunning {
        /// The loan.
        loan: String,
        /// Last day of the cure period.
        deadline: String,
    },
    /// Attested shipments would be worth more than the order.
    #[error("order {order} amount {order_amount} would be exceeded by shipments: {shipped} shipped + {value}")]
    ShipmentValueExceeded {
        /// The order.
        order: String,
        /// Its amount.
        order_amount: String,
        /// Value already attested.
        shipped: String,
        /// This shipment's value.
        value: String,
    },
    /// Dates that do not fit together.
    #[error("invalid dates: {0}")]
    InvalidDates(String),
    /// Maturity too far from confirmation.
    #[error("tenor of {days} days exceeds the cap of {cap} days")]
    TenorTooLong {
        /// Tenor asked.
        days: i64,
        /// The cap.
        cap: u32,
    },
    /// Split parts do not sum to the parent.
    #[error("split parts sum to {sum}, not the face amount {face}")]
    SplitSumMismatch {
        /// Sum of parts.
        sum: String,
        /// Parent's face.
        face: String,
    },
    /// The receivable is under a live financing.
    #[error("receivable {receivable} is under financing {financing}")]
    UnderFinancing {
        /// The receivable.
        receivable: String,
        /// The financing holding it.
        financing: String,
    },
    /// Financing or moving a receivable that is overdue or past maturity.
    #[error("receivable {0} is past maturity")]
    PastMaturity(String),
    /// The receivable was partly repaid, so it can no longer be split.
    #[error("receivable {0} is partly repaid")]
    PartlyRepaid(String),
    /// A repayment above the outstanding amount.
    #[error("repayment {amount} exceeds the outstanding {outstanding}")]
    Overpayment {
        /// Paid.
        amount: String,
        /// Outstanding.
        outstanding: String,
    },
    /// The bank's stated net amount differs from the computed one.
    #[error("net amount {given} differs from the agreed {expected}")]
    NetAmountMismatch {
        /// Stated by the bank.
        given: String,
        /// Face - discount - fees.
        expected: String,
    },
    /// The bank was not invited, or already has an open offer.
    #[error("{0}")]
    OfferNotAllowed(String),
    /// Discount and fees would eat the whole face amount.
    #[error("discount {discount} plus fees {fees} leave nothing of {face}")]
    NothingToPay {
        /// Computed discount.
        discount: String,
        /// Fees.
        fees: String,
        /// Face.
        face: String,
    },
    /// The org already approved this proposal.
    #[error("{0} already approved this proposal")]
    AlreadyApproved(OrgId),
    /// The proposal's time ran out.
    #[error("proposal {0} expired")]
    ProposalExpired(String),
    /// A governance change that cannot apply to the current state.
    #[error("governance change refused: {0}")]
    InvalidChange(String),
    /// A list or counter reached its limit.
    #[error("limit reached: {0}")]
    LimitReached(String),
    /// A tax id in no form the ledger can check (the reason names the accepted forms).
    #[error("tax id refused: {0}")]
    InvalidTaxId(String),
    /// Another org is already registered with this (canonical) tax id.
    #[error("tax id {tax_id} is already registered to org {org}: one company is admitted once")]
    TaxIdTaken {
        /// The canonical tax id.
        tax_id: String,
        /// The org holding it.
        org: OrgId,
    },
    /// The signing member key's scopes do not include this action.
    #[error("this member key may not sign {action}: its org limited it to other actions (set_key_scopes)")]
    OutOfScope {
        /// The action's name.
        action: String,
    },
    /// A held action waited past its last day.
    #[error("held action {approval} lapsed after {expired_on}; sign the action again")]
    ApprovalLapsed {
        /// The held action.
        approval: String,
        /// Its last day.
        expired_on: chrono::NaiveDate,
    },
    /// This member key already signed the held action.
    #[error("this member key already approved {0}; another key of the org must approve")]
    KeyAlreadyApproved(String),
    /// A financing request outside a programme's terms (debtor, tier, currency, tenor).
    #[error("outside programme {programme}: {reason}")]
    OutsideProgramme {
        /// The programme.
        programme: String,
        /// Which term the request breaks.
        reason: String,
    },
    /// A bank's offer under a programme that does not follow its pricing grid.
    #[error("offer off programme {programme}'s grid: {offered} offered, the grid gives {grid} for {days} days")]
    OfferOffGrid {
        /// The programme.
        programme: String,
        /// The rate and fees offered (`3.60% and fees 850.00`).
        offered: String,
        /// The grid's rate for the tenor and its fees on the advanced amount.
        grid: String,
        /// The tenor priced, days from today to maturity.
        days: u32,
    },
    /// A stated amount differs from the ledger's figure for the day (a buy-back's or a
    /// write-off's outstanding advance plus penalty).
    #[error("{what} {given} differs from the ledger's {expected} as of today")]
    AmountMismatch {
        /// What the amount is (`buy-back of FIN-3`).
        what: String,
        /// Stated by the signer.
        given: String,
        /// The ledger's figure.
        expected: String,
    },
    /// A default action the financing's recourse term does not allow (a buy-back
    /// without recourse, a write-off with it).
    #[error("financing {financing}: {reason}")]
    RecourseTerm {
        /// The financing.
        financing: String,
        /// Which term forbids it.
        reason: String,
    },
    /// The supplier's buy-back of the receivable's financing waits for the bank's answer:
    /// no settlement of it may be instructed meanwhile.
    #[error("receivable {receivable} has the buy-back of financing {financing} pending")]
    BuybackPending {
        /// The receivable.
        receivable: String,
        /// Its financing.
        financing: String,
    },
}

impl ContractError {
    /// A refusal of the envelope (who signed, with which nonce) rather than of the
    /// action: the transaction changed nothing, not even its signer's nonce, so the same
    /// signed bytes may still execute in a later block (a nonce not yet due) or already
    /// did (a replay). `check_envelope` is the only source of these.
    pub fn is_envelope_refusal(&self) -> bool {
        matches!(
            self,
            ContractError::UnknownKey
                | ContractError::KeyNotOfOrg { .. }
                | ContractError::RevokedKey
                | ContractError::WrongNonce { .. }
        )
    }

    /// A stable machine-readable code for API errors (`snake_case` of the variant).
    pub fn code(&self) -> &'static str {
        match self {
            ContractError::UnknownKey => "unknown_key",
            ContractError::KeyNotOfOrg { .. } => "key_not_of_org",
            ContractError::RevokedKey => "revoked_key",
            ContractError::WrongNonce { .. } => "wrong_nonce",
            ContractError::MissingRole { .. } => "missing_role",
            ContractError::NotParty { .. } => "not_party",
            ContractError::NotValidatorOrg(_) => "not_validator_org",
            ContractError::NotFound { .. } => "not_found",
            ContractError::AlreadyExists { .. } => "already_exists",
            ContractError::WrongStatus { .. } => "wrong_status",
            ContractError::InvalidParty { .. } => "invalid_party",
            ContractError::InvalidField { .. } => "invalid_field",
            ContractError::Money(_) => "invalid_money",
            ContractError::DuplicateInvoice { .. } => "duplicate_invoice",
            ContractError::InvoiceNumberConflict { .. } => "invoice_number_conflict",
            ContractError::FinancingLapsed { .. } => "financing_lapsed",
            ContractError::LimitExceeded { .. } => "limit_exceeded",
            ContractError::LimitCurrencyMismatch { .. } => "limit_currency_mismatch",
            ContractError::DuplicatePaymentRef { .. } => "duplicate_payment_ref",
            ContractError::FinancedFaceChanged { .. } => "financed_face_changed",
            ContractError::PayeeNotHolder { .. } => "payee_not_holder",
            ContractError::SettlementPending { .. } => "settlement_pending",
            ContractError::OfferExpired { .. } => "offer_expired",
            ContractError::TaxIdMismatch { .. } => "tax_id_mismatch",
            ContractError::OrderAmountExceeded { .. } => "order_amount_exceeded",
            ContractError::DeliveryNotAttested(_) => "delivery_not_attested",
            ContractError::DeliveredValueExceeded { .. } => "delivered_value_exceeded",
            ContractError::ShipmentValueExceeded { .. } => "shipment_value_exceeded",
            ContractError::LotAlreadyReceipted { .. } => "lot_already_receipted",
            ContractError::UnderLoan { .. } => "under_loan",
            ContractError::NoPrice { .. } => "no_price",
            ContractError::LtvExceeded { .. } => "ltv_exceeded",
            ContractError::LtvWithinThreshold { .. } => "ltv_within_threshold",
            ContractError::CurePeriodRunning { .. } => "cure_period_running",
            ContractError::InvalidDates(_) => "invalid_dates",
            ContractError::TenorTooLong { .. } => "tenor_too_long",
            ContractError::SplitSumMismatch { .. } => "split_sum_mismatch",
            ContractError::UnderFinancing { .. } => "under_financing",
            ContractError::PastMaturity(_) => "past_maturity",
            ContractError::PartlyRepaid(_) => "partly_repaid",
            ContractError::Overpayment { .. } => "overpayment",
            ContractError::NetAmountMismatch { .. } => "net_amount_mismatch",
            ContractError::OfferNotAllowed(_) => "offer_not_allowed",
            ContractError::NothingToPay { .. } => "nothing_to_pay",
            ContractError::AlreadyApproved(_) => "already_approved",
            ContractError::ProposalExpired(_) => "proposal_expired",
            ContractError::InvalidChange(_) => "invalid_change",
            ContractError::LimitReached(_) => "limit_reached",
            ContractError::InvalidTaxId(_) => "invalid_tax_id",
            ContractError::TaxIdTaken { .. } => "tax_id_taken",
            ContractError::OutOfScope { .. } => "out_of_scope",
            ContractError::ApprovalLapsed { .. } => "approval_lapsed",
            ContractError::KeyAlreadyApproved(_) => "key_already_approved",
            ContractError::OutsideProgramme { .. } => "outside_programme",
            ContractError::OfferOffGrid { .. } => "offer_off_grid",
            ContractError::AmountMismatch { .. } => "amount_mismatch",
            ContractError::RecourseTerm { .. } => "recourse_term",
            ContractError::BuybackPending { .. } => "buyback_pending",
        }
    }

    /// True for the "who may act" family the permission matrix checks.
    pub fn is_permission(&self) -> bool {
        matches!(
            self,
            ContractError::MissingRole { .. }
                | ContractError::NotParty { .. }
                | ContractError::NotValidatorOrg(_)
        )
    }
}

/// The storage under the state failed or returned bytes it should not have. This is the
/// node's fault, never the caller's: block execution stops rather than guess.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The backend reported an error.
    #[error("storage backend: {0}")]
    Backend(String),
    /// The stored state breaks one of the ledger's invariants (a record that must exist
    /// is missing, an amount that cannot go negative would): execution stops rather than
    /// carry on from a guess.
    #[error("state breaks an invariant: {0}")]
    Invariant(String),
    /// A stored value did not decode.
    #[error("corrupt state at key {key}: {reason}")]
    Corrupt {
        /// The key, as text.
        key: String,
        /// Decoder's message.
        reason: String,
    },
}

/// Either a refusal (goes into the receipt) or a storage failure (stops the block).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// The action was refused.
    #[error(transparent)]
    Rejected(#[from] ContractError),
    /// The state could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<MoneyError> for ExecError {
    fn from(e: MoneyError) -> Self {
        ExecError::Rejected(ContractError::Money(e))
    }
}
