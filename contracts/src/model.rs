//! The records kept in state: organisations, parameters, validators, documents and their
//! statuses. Pure data; the rules live in `exec`.

use chrono::NaiveDate;
use lianrong_primitives::{Hash, OrgId, PublicKey};
use serde::{Deserialize, Serialize};

use crate::money::{Amount, Currency, DayCount, Money, Quantity, Rate, Unit};

/// Longest document id accepted.
pub const MAX_DOC_ID_LEN: usize = 64;

/// The id of a document (order, invoice, receivable, ...): 1-64 characters from
/// `A-Z a-z 0-9 - _ .`; never contains `/`, which separates state keys.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DocId(String);

/// A document id that breaks the rules of [`DocId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid document id {0:?}: use 1-64 characters A-Z a-z 0-9 - _ .")]
pub struct DocIdError(pub String);

impl DocId {
    /// Validates and wraps `s`.
    pub fn new(s: impl Into<String>) -> Result<Self, DocIdError> {
        let s = s.into();
        let ok = (1..=MAX_DOC_ID_LEN).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if ok {
            Ok(Self(s))
        } else {
            Err(DocIdError(s.chars().take(MAX_DOC_ID_LEN + 8).collect()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DocId {
    type Error = DocIdError;
    fn try_from(s: String) -> Result<Self, DocIdError> {
        Self::new(s)
    }
}

impl From<DocId> for String {
    fn from(id: DocId) -> String {
        id.0
    }
}

impl std::fmt::Display for DocId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for DocId {
    type Err = DocIdError;
    fn from_str(s: &str) -> Result<Self, DocIdError> {
        Self::new(s)
    }
}

/// What an organisation may do (domain.md, "Who takes part").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The funder.
    Bank,
    /// A core enterprise (anchor buyer).
    Core,
    /// An SME supplier of any tier.
    Supplier,
    /// A carrier or warehouse.
    Logistics,
    /// Reads everything, writes nothing.
    Auditor,
}

impl Role {
    /// All roles, for tests and tables.
    pub const ALL: [Role; 5] = [
        Role::Bank,
        Role::Core,
        Role::Supplier,
        Role::Logistics,
        Role::Auditor,
    ];
}

/// Most member keys an organisation may hold at once.
pub const MAX_KEYS_PER_ORG: usize = 16;
/// Most external identifiers (GLN, VAT number, ...) an organisation may register.
pub const MAX_IDENTIFIERS: usize = 8;

/// What is needed to admit an organisation (genesis or governance).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSpec {
    /// Stable id, e.g. `BANK-SZ`.
    pub id: OrgId,
    /// Legal name.
    pub name: String,
    /// Unified social credit code / tax id.
    pub tax_id: String,
    /// Roles, at least one.
    pub roles: Vec<Role>,
    /// Other identifiers the org is known by in trade documents (GLN, VAT id, ...).
    pub identifiers: Vec<String>,
    /// Initial member keys, at least one.
    pub keys: Vec<PublicKey>,
}

/// An admitted organisation as kept in state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Org {
    /// Stable id.
    pub id: OrgId,
    /// Legal name.
    pub name: String,
    /// Unified social credit code / tax id.
    pub tax_id: String,
    /// Roles, sorted, without duplicates.
    pub roles: Vec<Role>,
    /// External identifiers.
    pub identifiers: Vec<String>,
    /// Active member keys.
    pub keys: Vec<PublicKey>,
    /// Keys that were revoked (kept so history stays explainable).
    pub revoked_keys: Vec<PublicKey>,
    /// Height at which the org was admitted (0 for genesis).
    pub admitted_at: u64,
}

impl Org {
    /// True if the org holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// Which org a member key belongs to, and whether it may still sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// The owning organisation.
    pub org: OrgId,
    /// False once revoked; a revoked key never signs again.
    pub active: bool,
}

/// A consensus validator: the org that runs it and its node key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validator {
    /// The operating organisation.
    pub org: OrgId,
    /// The node's Ed25519 key (its libp2p identity and vote key).
    pub node_key: PublicKey,
    /// Where peers reach it (a libp2p multiaddr), informational for the ledger.
    pub address: String,
}

/// Network parameters, changed only by governance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    /// Longest allowed time from confirmation to maturity (default 365 days).
    pub max_tenor_days: u32,
    /// Tenor above which the explorer flags a receivable (default 180 days).
    pub flag_tenor_days: u32,
    /// Whether confirmation needs an attested delivery for the order (default true).
    pub require_delivery: bool,
    /// Day count for discounting (default ACT/360).
    pub day_count: DayCount,
    /// Days after maturity before an unpaid receivable is overdue.
    pub grace_days: u32,
    /// Largest single amount accepted, in any currency's major unit.
    pub amount_cap: Amount,
    /// The business time zone that turns block time into dates (default +480, China).
    pub utc_offset_minutes: i32,
    /// Days a governance proposal stays open.
    pub proposal_ttl_days: u32,
    /// Days an accepted financing may wait for its disbursement; after them it lapses:
    /// the bank can no longer disburse and the applicant may cancel (default 5).
    #[serde(default = "default_disburse_within_days")]
    pub disburse_within_days: u32,
    /// Longest validity a bank may give an offer, in days from the day it is made
    /// (default 30; an offer's `valid_until` lies within it).
    #[serde(default = "default_max_offer_valid_days")]
    pub max_offer_valid_days: u32,
}

fn default_disburse_within_days() -> u32 {
    5
}

fn default_max_offer_valid_days() -> u32 {
    30
}

impl Default for Params {
    fn default() -> Self {
        Params {
            max_tenor_days: 365,
            flag_tenor_days: 180,
            require_delivery: true,
            day_count: DayCount::Act360,
            grace_days: 3,
            amount_cap: Amount::whole(100_000_000_000),
            utc_offset_minutes: 480,
            proposal_ttl_days: 7,
            disburse_within_days: default_disburse_within_days(),
            max_offer_valid_days: default_max_offer_valid_days(),
        }
    }
}

/// A purchase order's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    /// Issued by the buyer, waiting for the seller.
    Issued,
    /// Accepted by the seller.
    Accepted,
    /// Marked fulfilled by the buyer after delivery.
    Fulfilled,
    /// Cancelled by the buyer before any invoice.
    Cancelled,
}

/// A purchase order (buyer `core` -> seller `supplier`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Id chosen by the buyer.
    pub id: DocId,
    /// The core enterprise buying.
    pub buyer: OrgId,
    /// The supplier selling.
    pub seller: OrgId,
    /// Order amount.
    pub amount: Money,
    /// Short terms text (payment terms, incoterms).
    pub terms: String,
    /// SHA-256 of the full commercial document, kept off the ledger.
    pub doc_hash: Hash,
    /// Status.
    pub status: OrderStatus,
    /// Sum of the non-voided invoices against this order.
    pub invoiced: Amount,
    /// Sum of the confirmed invoices against this order.
    pub confirmed: Amount,
    /// The carriers the buyer named: only they attest shipments of this order (never
    /// its buyer or seller), so no one else can fake delivery or fill the shipment cap.
    pub carriers: Vec<OrgId>,
    /// Shipments attested for this order, in order.
    pub shipments: Vec<DocId>,
    /// Sum of the attested shipments' values; never above the order amount.
    pub shipped: Amount,
    /// Sum of the delivered shipments' values: what confirmed invoices may add up to.
    pub delivered: Amount,
}

/// Most shipments against one order.
pub const MAX_SHIPMENTS_PER_ORDER: usize = 64;
/// Most carriers an order names.
pub const MAX_CARRIERS_PER_ORDER: usize = 4;

/// A shipment's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShipmentStatus {
    /// Goods left the seller.
    Shipped,
    /// Goods reached the buyer.
    Delivered,
}

/// A shipment attested by a logistics firm for an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    /// Id chosen by the carrier.
    pub id: DocId,
    /// The order shipped.
    pub order: DocId,
    /// The attesting logistics org.
    pub carrier: OrgId,
    /// Commitment to the waybill.
    pub doc_hash: Hash,
    /// Value of the goods shipped, in the order's currency.
    pub value: Money,
    /// Status.
    pub status: ShipmentStatus,
    /// Business date of the shipment attestation.
    pub shipped_on: NaiveDate,
    /// Business date of delivery, once delivered.
    pub delivered_on: Option<NaiveDate>,
}

/// A warehouse receipt's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReceiptStatus {
    /// Goods held for the owner (possibly with a pledge offered, not yet accepted).
    Issued,
    /// Pledged to a bank as collateral: the bank accepted the owner's offer.
    Pledged,
    /// Goods released; the receipt is closed.
    Released,
}

/// A warehouse receipt: goods held by a logistics warehouse for an owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarehouseReceipt {
    /// Id chosen by the warehouse.
    pub id: DocId,
    /// The issuing logistics org.
    pub warehouse: OrgId,
    /// Owner of the goods.
    pub owner: OrgId,
    /// The warehouse's lot (storage) number, as printed: one live receipt per
    /// (warehouse, lot), compared in the invoice numbers' normal form.
    pub lot: String,
    /// Short description of the goods (what a bank's posted prices name, exactly).
    pub goods: String,
    /// How much of the goods, exactly (positive, at most 3 decimals).
    pub quantity: Quantity,
    /// The unit the quantity counts (`t`, `kg`, `pcs`, `m3`).
    pub unit: Unit,
    /// Commitment to the full receipt document.
    pub doc_hash: Hash,
    /// Status.
    pub status: ReceiptStatus,
    /// The bank the owner offered the pledge to, until it accepts or declines (or the
    /// owner withdraws the offer).
    pub pledge_offer: Option<OrgId>,
    /// The bank that accepted the pledge: set exactly while pledged.
    pub pledgee: Option<OrgId>,
    /// Whether the owner instructed the warehouse to release the goods.
    pub release_instructed: bool,
}

/// Most warehouse receipts securing one loan at a time.
pub const MAX_LOAN_RECEIPTS: usize = 16;
/// Longest cure period a loan's terms may give after a margin call, in days.
pub const MAX_CURE_DAYS: u32 = 90;
/// Most (goods, unit, currency) prices one bank may keep.
pub const MAX_PRICES_PER_BANK: u64 = 1024;

/// The latest price a bank posted for one unit of some goods (inventory finance):
/// what the goods of its loans are valued at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostedPrice {
    /// The bank that posted it (prices are kept per bank).
    pub bank: OrgId,
    /// The goods, exactly as warehouse receipts name them.
    pub goods: String,
    /// The unit priced.
    pub unit: Unit,
    /// The price of one unit.
    pub price: Money,
    /// Business date it was posted.
    pub posted_on: NaiveDate,
    /// Height of the block that posted it.
    pub height: u64,
}

/// A loan against pledged warehouse receipts: its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoanStatus {
    /// Asked by the owner of the receipts, waiting for the bank's terms.
    Requested,
    /// The bank offered terms; waiting for the borrower.
    Offered,
    /// The borrower accepted the terms; waiting for the money.
    Accepted,
    /// The bank paid the principal; the loan runs until repaid or enforced.
    Disbursed,
    /// Repaid in full (acknowledged by the bank): closed, its pledges lifted.
    Repaid,
    /// Enforced after an uncured margin call: its receipts belong to the bank.
    Enforced,
    /// Cancelled by either side before the money was paid.
    Cancelled,
}

impl LoanStatus {
    /// Live loans hold their receipts (no receipt is in two live loans).
    pub fn is_live(&self) -> bool {
        matches!(
            self,
            LoanStatus::Requested
                | LoanStatus::Offered
                | LoanStatus::Accepted
                | LoanStatus::Disbursed
        )
    }
}

/// The terms a bank offers on a loan request. LTV is the loan balance over the goods
/// value, in percent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoanTerms {
    /// Annual interest rate (simple, on the balance, the network's day count).
    pub rate: Rate,
    /// Highest LTV at acceptance, disbursement and after a release of goods.
    pub ltv_max: Rate,
    /// The LTV strictly above which the bank may call for margin (at least `ltv_max`).
    pub margin_call_ltv: Rate,
    /// Days the borrower has after a margin call to top up or repay.
    pub cure_days: u32,
    /// Maturity of the loan.
    pub maturity: NaiveDate,
    /// Business date of the offer.
    pub offered_on: NaiveDate,
}

/// The bank's payment of a loan's principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoanDisbursement {
    /// The bank's payment reference.
    pub payment_ref: String,
    /// Business date of the payment: interest runs from it.
    pub value_date: NaiveDate,
    /// Whether the borrower acknowledged receiving it.
    pub acknowledged: bool,
}

/// A borrower's repayment instruction, waiting for the bank's acknowledgement (only then
/// the balance falls).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoanRepayment {
    /// Principal repaid.
    pub amount: Money,
    /// The borrower's payment reference.
    pub payment_ref: String,
    /// Business date of the instruction.
    pub instructed_on: NaiveDate,
}

/// A margin call the bank made and the borrower has not cured yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarginCallState {
    /// Business date of the call.
    pub called_on: NaiveDate,
    /// Last day of the cure period: the bank may enforce from the day after.
    pub deadline: NaiveDate,
    /// The balance when called.
    pub balance: Money,
    /// The goods value when called.
    pub value: Money,
}

/// A loan against warehouse receipts pledged to its bank (`LOAN-n`, inventory finance).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loan {
    /// Id assigned by the ledger (`LOAN-n`).
    pub id: DocId,
    /// The owner of the receipts.
    pub borrower: OrgId,
    /// The pledgee of the receipts, which lends.
    pub bank: OrgId,
    /// The receipts securing it now (pledged to `bank`).
    pub receipts: Vec<DocId>,
    /// Receipts released from it against repayment (赎货), in order.
    pub released: Vec<DocId>,
    /// The principal asked for and, once disbursed, paid.
    pub amount: Money,
    /// The bank's terms, once offered.
    pub terms: Option<LoanTerms>,
    /// Status.
    pub status: LoanStatus,
    /// Business date of the request.
    pub requested_on: NaiveDate,
    /// Business date of the borrower's acceptance.
    pub accepted_on: Option<NaiveDate>,
    /// The payment of the principal.
    pub disbursement: Option<LoanDisbursement>,
    /// Principal repaid, counted from the bank's acknowledgements only.
    pub repaid: Amount,
    /// A repayment instruction waiting for the bank.
    pub pending_repayment: Option<LoanRepayment>,
    /// Interest accrued on earlier balances, through `accrued_through`.
    pub interest_accrued: Amount,
    /// The day through which `interest_accrued` counts (the last balance change).
    pub accrued_through: Option<NaiveDate>,
    /// The margin call outstanding, if any.
    pub margin_call: Option<MarginCallState>,
    /// Business date it was repaid, enforced or cancelled.
    pub closed_on: Option<NaiveDate>,
}

impl Loan {
    /// The principal still owed: disbursed less acknowledged repayments (zero before
    /// the disbursement); `None` if the record is inconsistent.
    pub fn balance(&self) -> Option<Amount> {
        if self.disbursement.is_none() {
            return Some(Amount::ZERO);
        }
        self.amount.amount.checked_sub(self.repaid)
    }
}

/// An invoice's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InvoiceStatus {
    /// Registered, waiting for the buyer.
    Registered,
    /// Confirmed by the buyer (确权); a receivable exists.
    Confirmed,
    /// Disputed by the buyer.
    Disputed,
    /// Voided by the seller.
    Voided,
}

/// An invoice (seller -> buyer, against an order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    /// Id chosen by the registrant.
    pub id: DocId,
    /// The order invoiced.
    pub order: DocId,
    /// The supplier.
    pub seller: OrgId,
    /// The core enterprise owing the money.
    pub buyer: OrgId,
    /// The invoice number printed on it.
    pub number: String,
    /// Issue date.
    pub issue_date: NaiveDate,
    /// Due date: the receivable's maturity unless the seller agreed to another.
    pub due_date: NaiveDate,
    /// The maturity named at registration (`None`: the due date); the seller's own
    /// naming is its acceptance of that maturity.
    pub maturity: Option<NaiveDate>,
    /// A maturity past the due date the buyer confirmed with, waiting for the seller's
    /// acceptance; no receivable exists until then.
    pub proposed_maturity: Option<NaiveDate>,
    /// Payable amount.
    pub amount: Money,
    /// Seller's tax id as printed.
    pub seller_tax_id: String,
    /// Buyer's tax id as printed.
    pub buyer_tax_id: String,
    /// Commitment to the original invoice file.
    pub doc_hash: Hash,
    /// The ledger-wide duplicate guard (see [`crate::exec::invoices::fingerprint`]).
    pub fingerprint: Hash,
    /// Status.
    pub status: InvoiceStatus,
    /// The receivable created on confirmation.
    pub receivable: Option<DocId>,
    /// The buyer's reason, when disputed.
    pub dispute_reason: Option<String>,
    /// Who registered it.
    pub registered_by: OrgId,
}

/// A receivable's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReceivableStatus {
    /// Live and not yet due (or within grace).
    Active,
    /// Live, unpaid after maturity plus grace days.
    Overdue,
    /// Closed by a split into children.
    Split,
    /// Closed by full repayment.
    Settled,
}

impl ReceivableStatus {
    /// Every status (what the API's `?status=` takes).
    pub const ALL: [ReceivableStatus; 4] = [
        ReceivableStatus::Active,
        ReceivableStatus::Overdue,
        ReceivableStatus::Split,
        ReceivableStatus::Settled,
    ];

    /// Live receivables carry value; split and settled ones are closed.
    pub fn is_live(&self) -> bool {
        matches!(self, ReceivableStatus::Active | ReceivableStatus::Overdue)
    }
}

/// A digital debt certificate (电子债权凭证).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receivable {
    /// Id assigned by the ledger (`RCV-n`).
    pub id: DocId,
    /// Who owes (the core enterprise).
    pub debtor: OrgId,
    /// Who is owed now.
    pub holder: OrgId,
    /// Face amount.
    pub face: Money,
    /// Paid so far to holders.
    pub repaid: Amount,
    /// Business date of creation.
    pub issue_date: NaiveDate,
    /// Maturity date (the invoice's due date, or the later one its seller accepted).
    pub maturity: NaiveDate,
    /// The root of the lineage (itself for a root).
    pub root: DocId,
    /// The receivable this was split from.
    pub parent: Option<DocId>,
    /// Parts this was split into.
    pub children: Vec<DocId>,
    /// The source invoice.
    pub invoice: DocId,
    /// Status.
    pub status: ReceivableStatus,
    /// The live financing on it (requested, accepted or disbursed), if any.
    pub financing: Option<DocId>,
    /// Its tier in the supply chain: 1 when a confirmation creates it (the holder sold
    /// to the debtor), one more with each transfer to another supplier; a split keeps
    /// it (the same holder holds the parts). Programmes allow tiers up to a depth.
    pub tier: u32,
}

impl Receivable {
    /// Face minus repaid; `None` for a record repaid beyond its face, which the ledger
    /// never writes (repayments are refused past the outstanding amount): replicated code
    /// treats it as a broken invariant ([`Receivable::checked_outstanding`]), clients as a
    /// malformed record.
    pub fn outstanding(&self) -> Option<Amount> {
        self.face.amount.checked_sub(self.repaid)
    }

    /// [`Receivable::outstanding`], or the broken invariant as an error that stops
    /// execution.
    pub fn checked_outstanding(&self) -> Result<Amount, crate::StoreError> {
        self.outstanding().ok_or_else(|| {
            crate::StoreError::Invariant(format!(
                "receivable {} repaid {} beyond its face {}",
                self.id, self.repaid, self.face.amount
            ))
        })
    }
}

/// Most parts in one split.
pub const MAX_SPLIT_PARTS: usize = 16;
/// Most banks invited to one financing request.
pub const MAX_INVITED_BANKS: usize = 8;

/// A financing's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FinancingStatus {
    /// The holder asked; banks may offer.
    Requested,
    /// The holder accepted one offer; terms are fixed.
    Accepted,
    /// The bank paid and now holds the receivable.
    Disbursed,
    /// Ended: the receivable was repaid in full, the supplier's buy-back was settled, or
    /// the bank wrote it off (`Financing::overdue` says which).
    Closed,
    /// Cancelled by the holder, or abandoned by the accepted bank before paying.
    Cancelled,
}

impl FinancingStatus {
    /// Live financings lock the receivable against another one.
    pub fn is_live(&self) -> bool {
        matches!(
            self,
            FinancingStatus::Requested | FinancingStatus::Accepted | FinancingStatus::Disbursed
        )
    }
}

/// A receivable financing (factoring) deal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Financing {
    /// Id assigned by the ledger (`FIN-n`).
    pub id: DocId,
    /// The receivable financed.
    pub receivable: DocId,
    /// The holder who asked.
    pub applicant: OrgId,
    /// Banks invited to offer.
    pub banks: Vec<OrgId>,
    /// Offers made, in order.
    pub offers: Vec<DocId>,
    /// Status.
    pub status: FinancingStatus,
    /// Set on acceptance: the funding bank and the fixed terms.
    pub terms: Option<FinancingTerms>,
    /// Set on disbursement.
    pub payment_ref: Option<String>,
    /// Set on disbursement: the figures from its value date and the applicant's answer.
    pub disbursement: Option<Disbursement>,
    /// The funding bank's registration of the financing in the PBoC credit-reference
    /// centre's movable-property financing registry (中登网), once recorded.
    pub registration: Option<Registration>,
    /// The programme it was requested under (`None`: an open auction among the banks
    /// the applicant named).
    pub programme: Option<DocId>,
    /// Whether the bank has recourse to the applicant: the programme's term, or outside
    /// programmes the accepted offer's (`None`: nothing about recourse was agreed, which
    /// the default rules read as without recourse).
    pub recourse: Option<bool>,
    /// Set once its receivable went overdue while disbursed: the penalty terms, the
    /// supplier's buy-back (with recourse) or the bank's write-off (`exec::default`).
    #[serde(default)]
    pub overdue: Option<FinancingOverdue>,
}

/// A financing's entry in the PBoC movable-property financing registry (中登网,
/// required by 银发〔2025〕77号 for financing of e-receivable certificates), as the
/// funding bank recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Registration {
    /// The registry's registration number (登记证明编号), 1-64 ASCII letters, digits
    /// and dashes.
    pub number: String,
    /// Business date the bank recorded it on the ledger.
    pub recorded_on: NaiveDate,
}

/// The applicant's answer to a disbursement: money received is a fact only once the
/// receiving side says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DisbursementStatus {
    /// The bank recorded its payment; the applicant has not answered yet.
    Unacknowledged,
    /// The applicant acknowledged receiving the net amount.
    Acknowledged,
    /// The applicant says the net amount did not arrive (or not in full).
    Disputed,
}

/// A recorded disbursement: discount days run from its value date (the business date of
/// the block that recorded it), not from the acceptance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disbursement {
    /// The bank's payment reference.
    pub payment_ref: String,
    /// Value date: the business date of the disbursing block.
    pub value_date: NaiveDate,
    /// Actual days from the value date to maturity.
    pub days: u32,
    /// Discount for those days (see [`crate::money::discount`]).
    pub discount: Money,
    /// What the bank paid: advanced - discount - fees.
    pub net: Money,
    /// The applicant's answer.
    pub status: DisbursementStatus,
    /// The applicant's reason, when disputed.
    pub dispute_reason: Option<String>,
}

/// Terms fixed when the holder accepts an offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinancingTerms {
    /// The accepted offer.
    pub offer: DocId,
    /// The funding bank.
    pub bank: OrgId,
    /// Face amount financed: the receivable's outstanding amount, taken whole by
    /// assignment on disbursement.
    pub face: Money,
    /// What the bank advances against it: the face x the programme's advance ratio,
    /// rounded down to the minor unit (the whole face outside programmes). The discount
    /// runs on it, and discount and fees come off it.
    pub advanced: Money,
    /// Annual discount rate.
    pub rate: Rate,
    /// Flat fees.
    pub fees: Money,
    /// Acceptance date: the quote below (days, discount, net) is counted from it. The
    /// disbursement counts again from its own value date ([`Disbursement`]).
    pub value_date: NaiveDate,
    /// Actual days from the acceptance date to maturity.
    pub days: u32,
    /// Discount quoted at acceptance on the advanced amount, computed exactly (see
    /// [`crate::money::discount`]).
    pub discount: Money,
    /// Net quoted at acceptance: advanced - discount - fees.
    pub net: Money,
    /// The accepted offer's validity: no disbursement after it.
    pub valid_until: NaiveDate,
}

/// An offer's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OfferStatus {
    /// Open for acceptance.
    Open,
    /// Accepted by the holder.
    Accepted,
    /// Withdrawn by the bank, or automatically when another offer was accepted or the
    /// request was cancelled.
    Withdrawn,
}

/// A bank's offer on a financing request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// Id assigned by the ledger (`OFR-n`).
    pub id: DocId,
    /// The request offered on.
    pub financing: DocId,
    /// The offering bank.
    pub bank: OrgId,
    /// Annual discount rate.
    pub rate: Rate,
    /// Flat fees.
    pub fees: Money,
    /// Last business date on which it may be accepted (and the deal disbursed).
    pub valid_until: NaiveDate,
    /// Status.
    pub status: OfferStatus,
    /// The annual penalty rate on an overdue financing (ACT/360 by default: 18 % a year
    /// is 0.05 % a day), when the bank's offer named one (`OfferFinancingWithTerms`);
    /// under a programme its terms rule (`exec::default`).
    #[serde(default)]
    pub penalty_rate: Option<Rate>,
    /// Whether the bank keeps recourse to the supplier, when the offer said so.
    #[serde(default)]
    pub recourse: Option<bool>,
}

/// Which counterparty of its financings a bank's exposure limit caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExposureScope {
    /// The debtor (core enterprise) of the financed receivables.
    Debtor,
    /// The supplier applying for the financings.
    Supplier,
}

impl ExposureScope {
    /// The name used in state keys, URLs and the CLI.
    pub fn as_str(&self) -> &'static str {
        match self {
            ExposureScope::Debtor => "debtor",
            ExposureScope::Supplier => "supplier",
        }
    }
}

/// What a credit limit caps (see `exec::limits`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitScope {
    /// The outstanding amounts of the live receivables `debtor` owes (set by governance).
    Issuance {
        /// The core enterprise.
        debtor: OrgId,
    },
    /// The financed face still owed on `bank`'s live (accepted or disbursed) financings
    /// whose debtor or applicant is `on` (set by the bank itself).
    Exposure {
        /// The bank.
        bank: OrgId,
        /// Whether `on` is the debtor or the applicant.
        scope: ExposureScope,
        /// The counterparty.
        on: OrgId,
    },
    /// The financed face still owed on the live financings under `programme` (set with
    /// the programme by its bank).
    Programme {
        /// The programme's bank.
        bank: OrgId,
        /// The programme.
        programme: DocId,
    },
}

impl LimitScope {
    /// The org the limit belongs to: the debtor of an issuance limit, the bank of an
    /// exposure or programme limit. Its limits share one state key prefix.
    pub fn holder(&self) -> &OrgId {
        match self {
            LimitScope::Issuance { debtor } => debtor,
            LimitScope::Exposure { bank, .. } | LimitScope::Programme { bank, .. } => bank,
        }
    }
}

impl std::fmt::Display for LimitScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitScope::Issuance { debtor } => write!(f, "issuance limit of {debtor}"),
            LimitScope::Exposure { bank, scope, on } => {
                write!(f, "{bank}'s exposure limit on {} {on}", scope.as_str())
            }
            LimitScope::Programme { bank, programme } => {
                write!(f, "{bank}'s limit of programme {programme}")
            }
        }
    }
}

/// A credit limit in force. Its utilisation is kept apart (`keys::limit_use`), per
/// currency, whether or not a limit is set, so a limit set later applies to the real use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditLimit {
    /// What it caps.
    pub scope: LimitScope,
    /// The cap, in the one currency it applies to.
    pub limit: Money,
    /// The use in that currency when it was set: a limit lowered below the use blocks
    /// every increase but unwinds nothing, so the use may stay above it until it falls.
    pub used_when_set: Amount,
    /// Height of the block that set it.
    pub set_at: u64,
    /// Business date it was set.
    pub set_on: NaiveDate,
}

/// A settlement's life: the debtor's instruction waits for the payee's answer, and only
/// an acknowledgement lowers what the receivable owes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SettlementStatus {
    /// Instructed by the debtor; the payee has not answered.
    Pending,
    /// The payee acknowledged receipt; the amount counts as repaid (once).
    Acknowledged,
    /// The payee disputed receipt; nothing was repaid.
    Disputed,
}

impl SettlementStatus {
    /// Every status.
    pub const ALL: [SettlementStatus; 3] = [
        SettlementStatus::Pending,
        SettlementStatus::Acknowledged,
        SettlementStatus::Disputed,
    ];
}

/// Most settlement lines one maturity settlement (清分) instruction creates.
pub const MAX_SETTLEMENT_LINES: usize = 64;
/// Most receivables of one lineage a maturity settlement walks (splits and parts alike).
pub const MAX_SETTLEMENT_WALK: usize = 256;

/// One payment of a debtor to one holder of one receivable: created by the debtor's
/// instruction (`Repay`, or one line of a maturity settlement), answered by the payee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    /// Id assigned by the ledger (`STL-n`).
    pub id: DocId,
    /// The paying debtor.
    pub debtor: OrgId,
    /// The holder paid (the holder when the instruction was recorded).
    pub payee: OrgId,
    /// The receivable paid.
    pub receivable: DocId,
    /// Its root.
    pub root: DocId,
    /// Amount paid.
    pub amount: Money,
    /// The debtor's payment reference (shared by every line of one instruction).
    pub payment_ref: String,
    /// This line's number in its instruction (1-based).
    pub line: u32,
    /// Lines in its instruction (1 for a plain repayment).
    pub lines: u32,
    /// Business date of the instruction.
    pub instructed_on: NaiveDate,
    /// Status.
    pub status: SettlementStatus,
    /// Business date of the payee's answer.
    pub answered_on: Option<NaiveDate>,
    /// The payee's reason, when disputed.
    pub dispute_reason: Option<String>,
}

/// A governance change, applied once 2f+1 validator orgs approved it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum GovChange {
    /// Admit a new organisation.
    AdmitOrg(OrgSpec),
    /// Give an org another member key.
    AddMemberKey {
        /// The org.
        org: OrgId,
        /// The new key.
        key: PublicKey,
    },
    /// Revoke a member key for good.
    RevokeMemberKey {
        /// The org.
        org: OrgId,
        /// The key.
        key: PublicKey,
    },
    /// Replace the network parameters.
    SetParams(Params),
    /// Add a validator; effective at the boundary the consensus engine defines.
    AddValidator(Validator),
    /// Remove a validator by node key.
    RemoveValidator {
        /// Its node key.
        node_key: PublicKey,
    },
    /// Set (or with `None` remove) a core enterprise's issuance limit: the members
    /// jointly grant a core its issuance line.
    SetIssuanceLimit {
        /// The core enterprise.
        debtor: OrgId,
        /// The cap on the outstanding amounts of its live receivables.
        limit: Option<Money>,
    },
}

/// A proposal's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProposalStatus {
    /// Collecting approvals.
    Open,
    /// Approved by a quorum and applied.
    Executed,
}

/// A governance proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// Id assigned by the ledger (`GOV-n`).
    pub id: DocId,
    /// The validator org that proposed it.
    pub proposer: OrgId,
    /// What it changes.
    pub change: GovChange,
    /// Validator orgs that approved (the proposer first).
    pub approvals: Vec<OrgId>,
    /// Status.
    pub status: ProposalStatus,
    /// Business date it was opened; it expires `proposal_ttl_days` later.
    pub opened_on: NaiveDate,
}

/// Most rules in one org's approval policy.
pub const MAX_POLICY_RULES: usize = 32;
/// Most distinct member keys a rule may ask for (never more than an org may hold).
pub const MAX_REQUIRED_APPROVALS: u8 = MAX_KEYS_PER_ORG as u8;
/// Longest time a held action waits for its approvals, in days.
pub const MAX_APPROVAL_TTL_DAYS: u32 = 30;
/// The rule name that matches every action.
pub const ANY_ACTION: &str = "*";

/// One rule of an org's approval policy (maker-checker): `action` (an
/// [`crate::Action::name`], or [`ANY_ACTION`]) with an amount above `above` needs
/// `approvals` distinct member keys of the org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRule {
    /// The action kind the rule governs.
    pub action: String,
    /// The band: `None` covers every instance of the action; `Some(m)` covers amounts
    /// strictly above `m` -- and amounts in another currency, which cannot be compared
    /// with it (the stricter reading), but not actions that move no amount.
    pub above: Option<Money>,
    /// Distinct member keys that must sign (the maker's counts), 1..=16.
    pub approvals: u8,
}

/// An org's approval policy; with none, one member key signs anything in its scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalPolicy {
    /// The rules; an action needs the most approvals any matching rule asks.
    pub rules: Vec<ApprovalRule>,
    /// Days a held action waits for its approvals before it lapses (1..=30).
    pub ttl_days: u32,
}

/// A held action's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalStatus {
    /// Waiting for approvals (lapsed once `expires_on` has passed).
    Pending,
    /// The policy was met and the action executed.
    Executed,
    /// A member key of the org rejected it.
    Rejected,
}

/// An action one member key signed that the org's policy holds for more keys (`APR-n`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingApproval {
    /// Id assigned by the ledger (`APR-n`).
    pub id: DocId,
    /// The org acting.
    pub org: OrgId,
    /// What executes once approved.
    pub action: crate::Action,
    /// The amount the policy judged it by, if the action moves one.
    pub amount: Option<Money>,
    /// Distinct member keys needed when it was opened.
    pub required: u8,
    /// Keys that signed it, the maker first.
    pub approvals: Vec<PublicKey>,
    /// Status.
    pub status: ApprovalStatus,
    /// Business date it was opened.
    pub opened_on: NaiveDate,
    /// Last business date it may execute.
    pub expires_on: NaiveDate,
    /// The key that rejected it and why.
    pub rejection: Option<(PublicKey, String)>,
}

/// Most suppliers one programme names eligible.
pub const MAX_PROGRAMME_SUPPLIERS: usize = 256;
/// Most tenor buckets in a programme's pricing grid.
pub const MAX_GRID_BUCKETS: usize = 8;
/// Deepest tier a programme may allow.
pub const MAX_PROGRAMME_TIER: u32 = 16;

/// One bucket of a programme's pricing grid: tenors (days from the offer to maturity) up
/// to `max_days` that no earlier bucket covers are priced at `rate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GridBucket {
    /// The longest tenor, in days, the bucket covers.
    pub max_days: u32,
    /// Annual discount rate of the bucket.
    pub rate: Rate,
}

/// What a bank offers every eligible supplier of a core enterprise (reverse factoring,
/// 供应链金融项目): the terms of `CreateProgramme`, fixed once created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgrammeTerms {
    /// The core enterprise whose receivables it finances (their debtor); it must accept
    /// the programme before it is active.
    pub core: OrgId,
    /// The suppliers eligible to join (1 to 256, distinct, admitted suppliers).
    pub suppliers: Vec<OrgId>,
    /// The deepest tier financed ([`Receivable::tier`]: 1 = sold to the core itself).
    pub max_tier: u32,
    /// The one currency it finances.
    pub currency: Currency,
    /// The pricing grid: 1 to 8 buckets, `max_days` strictly increasing, the last
    /// covering `max_tenor_days`.
    pub grid: Vec<GridBucket>,
    /// Fee as a percentage of the advanced amount (rounded half away from zero to the
    /// minor unit), added to `fee_fixed`.
    pub fee_percent: Rate,
    /// Fixed fee per financing, in `currency` (may be zero).
    pub fee_fixed: Amount,
    /// Longest tenor financed, days from the offer to maturity (1 to 365).
    pub max_tenor_days: u32,
    /// Advance ratio in percent of the face (above 0, at most 100): the advanced
    /// amount is face x advance / 100 rounded down to the minor unit.
    pub advance: Rate,
    /// Whether the bank keeps recourse to the supplier (recorded on each financing).
    pub recourse: bool,
    /// Whether a request gets the grid's offer from the ledger at once.
    pub auto_offer: bool,
    /// Days an offer under the programme stays valid (0 = today only; at most
    /// `max_offer_valid_days`).
    pub offer_valid_days: u32,
    /// The programme limit: the financed face still owed on its live financings (kept
    /// as a credit limit, `LimitScope::Programme`).
    pub limit: Money,
    /// Annual penalty rate on its overdue financings (`exec::default`; ACT/360 by
    /// default, so 18 is 0.05 % a day); zero charges none.
    #[serde(default = "Rate::zero")]
    pub penalty_rate: Rate,
}

/// A programme's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProgrammeStatus {
    /// Set up by the bank, waiting for the core enterprise's acceptance.
    Proposed,
    /// Accepted by the core: suppliers join and finance under it.
    Active,
    /// Closed by the bank: no new financing; existing deals run their course.
    Closed,
}

/// A supply-chain finance programme (`PRG-n`): a bank, a core enterprise, its eligible
/// suppliers and the terms every financing under it follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Programme {
    /// Id assigned by the ledger (`PRG-n`).
    pub id: DocId,
    /// The bank that set it up and funds it.
    pub bank: OrgId,
    /// Its terms.
    pub terms: ProgrammeTerms,
    /// Eligible suppliers that joined (and have not left), in joining order.
    pub members: Vec<OrgId>,
    /// Status.
    pub status: ProgrammeStatus,
    /// Business date it was set up.
    pub created_on: NaiveDate,
    /// Business date the core accepted it.
    pub accepted_on: Option<NaiveDate>,
    /// Business date the bank closed it.
    pub closed_on: Option<NaiveDate>,
}

impl Programme {
    /// The grid's rate for a tenor of `days` (the first bucket covering it).
    pub fn rate_for(&self, days: u32) -> Option<Rate> {
        self.terms
            .grid
            .iter()
            .find(|b| days <= b.max_days)
            .map(|b| b.rate)
    }

    /// The credit limit scope of its programme limit.
    pub fn limit_scope(&self) -> LimitScope {
        LimitScope::Programme {
            bank: self.bank.clone(),
            programme: self.id.clone(),
        }
    }
}

/// What became of a financing whose receivable went overdue while it was disbursed
/// (`exec::default`): the penalty terms fixed that day, the penalty folded in so far, and
/// the supplier's buy-back (with recourse) or the bank's write-off (without).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinancingOverdue {
    /// Business date the ledger marked it overdue (its overdue sweep).
    pub since: NaiveDate,
    /// Maturity + the grace days in force that day: penalty days count after it, and
    /// days past due are counted from it.
    pub penalty_from: NaiveDate,
    /// Annual penalty rate (the programme's, else the accepted offer's, else zero).
    pub penalty_rate: Rate,
    /// The day count the rate is divided by (the network's that day).
    pub day_count: DayCount,
    /// Whether the bank has recourse to the supplier (buy-back) or not (write-off).
    pub recourse: bool,
    /// Penalty on earlier outstanding advanced amounts, through `accrued_through`
    /// (folded in when an acknowledged repayment changed the amount).
    pub accrued: Amount,
    /// The last day `accrued` counts.
    pub accrued_through: NaiveDate,
    /// The supplier's latest buy-back instruction and the bank's answer.
    pub buyback: Option<Buyback>,
    /// The bank's write-off.
    pub write_off: Option<WriteOff>,
}

impl FinancingOverdue {
    /// The day the penalty stopped: a settled buy-back's instruction day or the
    /// write-off's day; `None` while it runs.
    pub fn ended_on(&self) -> Option<NaiveDate> {
        match (&self.buyback, &self.write_off) {
            (_, Some(w)) => Some(w.written_off_on),
            (Some(b), None) if b.status == SettlementStatus::Acknowledged => Some(b.instructed_on),
            _ => None,
        }
    }
}

/// The supplier's buy-back of an overdue financing with recourse, two-sided like a
/// settlement: the supplier instructs it, the bank acknowledges (or disputes) receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buyback {
    /// What the supplier pays: `advanced` + `penalty`, as of `instructed_on`.
    pub amount: Money,
    /// The bank's advance not yet recovered, that day.
    pub advanced: Money,
    /// The penalty accrued through that day.
    pub penalty: Money,
    /// The supplier's payment reference.
    pub payment_ref: String,
    /// Business date of the instruction (the figures are as of it).
    pub instructed_on: NaiveDate,
    /// Pending until the bank answers.
    pub status: SettlementStatus,
    /// Business date of the bank's answer.
    pub answered_on: Option<NaiveDate>,
    /// The bank's reason, when disputed.
    pub dispute_reason: Option<String>,
}

/// The funding bank's write-off of an overdue financing without recourse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteOff {
    /// The amount written off: `advanced` + `penalty`, as of `written_off_on`.
    pub amount: Money,
    /// The bank's advance not yet recovered, that day.
    pub advanced: Money,
    /// The penalty accrued through that day.
    pub penalty: Money,
    /// Why (1-256 characters).
    pub reason: String,
    /// Business date of the write-off.
    pub written_off_on: NaiveDate,
}

/// Most price payments one secondary sale records: a disputed payment may be instructed
/// again under a new reference, this many times in all.
pub const MAX_SALE_PAYMENTS: u32 = 8;

/// A secondary sale's life (`exec::secondary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SaleStatus {
    /// The selling bank offered it; the buying bank has not answered.
    Offered,
    /// The buying bank accepted: it funds the financing sold and holds its receivable;
    /// the price is owed to the seller until the seller acknowledges it.
    Sold,
    /// The seller acknowledged receiving the price.
    Paid,
    /// The buying bank declined.
    Declined,
    /// The selling bank withdrew its offer.
    Withdrawn,
}

/// What changed hands when the buying bank accepted a sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleTransfer {
    /// Business date of the acceptance.
    pub accepted_on: NaiveDate,
    /// The buyer's financing: the one sold (whole), or the new one carrying the part.
    pub financing: DocId,
    /// The receivable the buyer holds now.
    pub receivable: DocId,
    /// For a part: the rest of the split, which the seller keeps (its financing
    /// continues on it).
    pub kept: Option<DocId>,
    /// The outstanding face sold.
    pub face: Money,
    /// The advanced amount sold (for a part: the whole's x part / face, rounded toward
    /// zero to the minor unit; the seller's side keeps the remainder).
    pub advanced: Money,
}

/// The buying bank's payment of the price, two-sided like a settlement: the buyer
/// instructs it, the seller acknowledges (or disputes) receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalePayment {
    /// The buyer's payment reference (counted once among the buyer's references).
    pub payment_ref: String,
    /// Business date of the instruction.
    pub instructed_on: NaiveDate,
    /// Pending until the seller answers.
    pub status: SettlementStatus,
    /// Business date of the seller's answer.
    pub answered_on: Option<NaiveDate>,
    /// The seller's reason, when disputed.
    pub dispute_reason: Option<String>,
}

/// A funding bank's sale of a disbursed financing -- whole, or a part of its receivable
/// carved out by a split -- to another bank at a price both sign (`SAL-n`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sale {
    /// Id assigned by the ledger (`SAL-n`).
    pub id: DocId,
    /// The seller's financing offered.
    pub financing: DocId,
    /// Its receivable when offered.
    pub receivable: DocId,
    /// The selling (funding) bank.
    pub seller: OrgId,
    /// The buying bank.
    pub buyer: OrgId,
    /// What the receivable owed when offered; the sale needs it unchanged at acceptance.
    pub outstanding: Money,
    /// The face of the part sold (`None`: the whole).
    pub part: Option<Money>,
    /// The price the buyer pays the seller.
    pub price: Money,
    /// Business date of the offer.
    pub offered_on: NaiveDate,
    /// Last business date the buyer may accept.
    pub valid_until: NaiveDate,
    /// Status.
    pub status: SaleStatus,
    /// Business date the buyer declined or the seller withdrew.
    pub closed_on: Option<NaiveDate>,
    /// Set on acceptance: what changed hands.
    pub transfer: Option<SaleTransfer>,
    /// The latest price payment and the seller's answer.
    pub payment: Option<SalePayment>,
    /// Price payments instructed so far (at most [`MAX_SALE_PAYMENTS`]).
    pub payments: u32,
}

impl Sale {
    /// The face sold: the part, or everything the receivable owed when offered.
    pub fn face(&self) -> Money {
        self.part.unwrap_or(self.outstanding)
    }
}
