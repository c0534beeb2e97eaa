//! Every action a member key can sign (domain.md, "Documents and their lives").

use chrono::NaiveDate;
use lianrong_primitives::{Hash, OrgId, PublicKey};
use serde::{Deserialize, Serialize};

use crate::model::{ApprovalPolicy, DocId, ExposureScope, GovChange, ProgrammeTerms};
use crate::money::{Amount, Money, Quantity, Rate, Unit};

/// The data of an invoice to register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceSpec {
    /// Id on the ledger (often the ERP's document id).
    pub id: DocId,
    /// The order it bills.
    pub order: DocId,
    /// Invoice number as printed.
    pub number: String,
    /// Issue date.
    pub issue_date: NaiveDate,
    /// Due date.
    pub due_date: NaiveDate,
    /// The receivable's maturity the registrant names (`None`: the due date). Named by
    /// the seller, a later maturity counts as the seller's acceptance of it; named by the
    /// buyer, a maturity past the due date waits for the seller (`AcceptMaturity`).
    pub maturity: Option<NaiveDate>,
    /// Payable amount.
    pub amount: Money,
    /// Seller tax id as printed (must match the seller's registered tax id).
    pub seller_tax_id: String,
    /// Buyer tax id as printed (must match the buyer's registered tax id).
    pub buyer_tax_id: String,
    /// SHA-256 of the original invoice file.
    pub doc_hash: Hash,
}

/// One signed action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Open a governance proposal (validator orgs only); counts as the first approval.
    Propose {
        /// What to change.
        change: GovChange,
    },
    /// Approve an open proposal (validator orgs only, once per org).
    Approve {
        /// The proposal.
        proposal: DocId,
    },

    /// The buyer (`core`) issues a purchase order to a supplier.
    IssueOrder {
        /// New order id.
        id: DocId,
        /// The supplier.
        seller: OrgId,
        /// Order amount.
        amount: Money,
        /// Short terms text.
        terms: String,
        /// Commitment to the full order document.
        doc_hash: Hash,
        /// The carriers (logistics orgs, at most 4, neither buyer nor seller) that may
        /// attest shipments of this order; more can be added with `AddCarrier`.
        carriers: Vec<OrgId>,
    },
    /// The buyer names one more carrier for an issued or accepted order.
    AddCarrier {
        /// The order.
        order: DocId,
        /// The logistics org.
        carrier: OrgId,
    },
    /// The seller accepts an issued order.
    AcceptOrder {
        /// The order.
        order: DocId,
    },
    /// The buyer cancels an order that has no invoices.
    CancelOrder {
        /// The order.
        order: DocId,
    },
    /// The buyer marks an accepted order fulfilled after a delivery.
    FulfilOrder {
        /// The order.
        order: DocId,
    },

    /// A carrier the order names attests that goods of an accepted order shipped.
    AttestShipment {
        /// New shipment id.
        id: DocId,
        /// The order.
        order: DocId,
        /// Value of the goods shipped, in the order's currency; the order's shipments
        /// never add up to more than its amount.
        value: Money,
        /// Commitment to the waybill.
        doc_hash: Hash,
    },
    /// The same logistics firm attests delivery.
    ConfirmDelivery {
        /// The shipment.
        shipment: DocId,
    },

    /// A logistics warehouse issues a receipt for goods it holds for `owner` in `lot`
    /// (refused while it has another live receipt for that lot).
    IssueWarehouseReceipt {
        /// New receipt id.
        id: DocId,
        /// Owner of the goods.
        owner: OrgId,
        /// The warehouse's lot number (1-64 characters, ASCII letters and digits once
        /// normalised).
        lot: String,
        /// Short description of the goods (what prices name, exactly).
        goods: String,
        /// How much, exactly (positive, at most 3 decimals).
        quantity: Quantity,
        /// The unit counted (`t`, `kg`, `pcs`, `m3`).
        unit: Unit,
        /// Commitment to the full receipt.
        doc_hash: Hash,
    },
    /// The owner offers to pledge a receipt to a bank; pledged only once it accepts.
    OfferPledge {
        /// The receipt.
        receipt: DocId,
        /// The bank offered the pledge.
        bank: OrgId,
    },
    /// The offered bank accepts the pledge: the receipt is pledged to it.
    AcceptPledge {
        /// The receipt.
        receipt: DocId,
    },
    /// The offered bank declines the pledge.
    DeclinePledge {
        /// The receipt.
        receipt: DocId,
    },
    /// The owner withdraws a pledge offer the bank has not answered.
    WithdrawPledgeOffer {
        /// The receipt.
        receipt: DocId,
    },
    /// The pledgee bank releases its pledge (alone: it gives up only its security).
    ReleasePledge {
        /// The receipt.
        receipt: DocId,
    },
    /// The owner instructs the warehouse to release the goods.
    InstructRelease {
        /// The receipt.
        receipt: DocId,
    },
    /// The warehouse releases the goods: on the owner's instruction, and not while
    /// pledged.
    ReleaseWarehouseReceipt {
        /// The receipt.
        receipt: DocId,
    },

    /// A bank posts the price of one unit of some goods; its loans value their receipts
    /// at its latest price for (goods, unit) in the loan's currency.
    PostPrice {
        /// The goods, exactly as receipts name them.
        goods: String,
        /// The unit priced.
        unit: Unit,
        /// The price of one unit.
        price: Money,
    },
    /// The owner of receipts pledged to one bank asks that bank for a loan against them.
    RequestLoan {
        /// The receipts (1-16, all pledged to the same bank, in no other live loan).
        receipts: Vec<DocId>,
        /// The principal asked for.
        amount: Money,
    },
    /// The bank offers terms on a requested loan.
    OfferLoan {
        /// The loan.
        loan: DocId,
        /// Annual interest rate.
        rate: Rate,
        /// Highest LTV (balance / goods value) at acceptance, disbursement and release.
        ltv_max: Rate,
        /// LTV strictly above which the bank may call for margin (>= `ltv_max`).
        margin_call_ltv: Rate,
        /// Days to cure a margin call (1-90).
        cure_days: u32,
        /// Maturity of the loan.
        maturity: NaiveDate,
    },
    /// The borrower accepts the offered terms (refused above `ltv_max` today).
    AcceptLoan {
        /// The loan.
        loan: DocId,
    },
    /// Either side cancels a loan before its disbursement; its receipts are free again.
    CancelLoan {
        /// The loan.
        loan: DocId,
    },
    /// The bank pays the principal (refused above `ltv_max` today).
    DisburseLoan {
        /// The loan.
        loan: DocId,
        /// The bank's payment reference.
        payment_ref: String,
    },
    /// The borrower acknowledges receiving the principal.
    AcknowledgeLoanDisbursement {
        /// The loan.
        loan: DocId,
    },
    /// The borrower instructs a repayment of principal; the balance falls only when the
    /// bank acknowledges it.
    RepayLoan {
        /// The loan.
        loan: DocId,
        /// Principal repaid, in the loan's currency.
        amount: Amount,
        /// The borrower's payment reference.
        payment_ref: String,
    },
    /// The bank acknowledges the pending repayment: the balance falls.
    AcknowledgeLoanRepayment {
        /// The loan.
        loan: DocId,
    },
    /// The bank calls for margin: only while LTV is strictly above the threshold.
    MarginCall {
        /// The loan.
        loan: DocId,
    },
    /// The borrower adds a receipt pledged to the loan's bank to the loan's security.
    TopUp {
        /// The loan.
        loan: DocId,
        /// The receipt.
        receipt: DocId,
    },
    /// The borrower takes one receipt out of the loan and its pledge (赎货), only if the
    /// goods left keep LTV within `ltv_max`.
    ReleaseGoods {
        /// The loan.
        loan: DocId,
        /// The receipt.
        receipt: DocId,
    },
    /// The bank enforces a loan after an uncured margin call's cure period: the loan's
    /// receipts become the bank's.
    Enforce {
        /// The loan.
        loan: DocId,
    },

    /// Register an invoice (by its seller or buyer); with `confirm` the buyer also
    /// confirms it in the same transaction.
    RegisterInvoice {
        /// The invoice.
        invoice: InvoiceSpec,
        /// Confirm at once (buyer only).
        confirm: bool,
    },
    /// The buyer confirms (确权) an invoice, creating a receivable maturing on
    /// `maturity`; a maturity past the due date the seller did not name waits for the
    /// seller's `AcceptMaturity` and creates nothing yet.
    ConfirmInvoice {
        /// The invoice.
        invoice: DocId,
        /// The receivable's maturity (`None`: the maturity named at registration, else
        /// the due date).
        maturity: Option<NaiveDate>,
    },
    /// The seller accepts the maturity past the due date the buyer confirmed with: the
    /// confirmation completes and the receivable is created.
    AcceptMaturity {
        /// The invoice.
        invoice: DocId,
    },
    /// The buyer disputes an invoice.
    DisputeInvoice {
        /// The invoice.
        invoice: DocId,
        /// Why.
        reason: String,
    },
    /// The seller voids a registered or disputed invoice.
    VoidInvoice {
        /// The invoice.
        invoice: DocId,
    },

    /// The holder splits a receivable into parts summing exactly to its face.
    SplitReceivable {
        /// The receivable.
        receivable: DocId,
        /// Amounts of the parts, in the receivable's currency.
        parts: Vec<Amount>,
    },
    /// The holder transfers a receivable to another supplier.
    TransferReceivable {
        /// The receivable.
        receivable: DocId,
        /// The new holder.
        to: OrgId,
    },

    /// The holder asks named banks for financing on a receivable.
    RequestFinancing {
        /// The receivable.
        receivable: DocId,
        /// Banks invited to offer.
        banks: Vec<OrgId>,
    },
    /// The holder cancels a request that has not been accepted yet.
    CancelFinancing {
        /// The financing.
        financing: DocId,
    },
    /// An invited bank offers a discount rate and fees, valid through a business date.
    OfferFinancing {
        /// The financing request.
        financing: DocId,
        /// Annual discount rate in percent.
        rate: Rate,
        /// Flat fees, in the receivable's currency.
        fees: Amount,
        /// Last business date the offer may be accepted and disbursed on (today up to
        /// `max_offer_valid_days` ahead).
        valid_until: NaiveDate,
    },
    /// A bank withdraws its open offer.
    WithdrawOffer {
        /// The offer.
        offer: DocId,
    },
    /// The holder accepts an offer; other open offers are withdrawn.
    AcceptOffer {
        /// The offer.
        offer: DocId,
    },
    /// The accepted bank abandons the deal before paying, releasing the receivable.
    AbandonFinancing {
        /// The financing.
        financing: DocId,
    },
    /// The accepted bank records its payment; the receivable is assigned to it. The
    /// discount counts days from today (the value date), so `net` is today's figure.
    Disburse {
        /// The financing.
        financing: DocId,
        /// The bank's payment reference.
        payment_ref: String,
        /// Net amount paid; must equal the agreed net.
        net: Amount,
    },

    /// The funding bank records the financing's registration number in the PBoC
    /// movable-property financing registry (中登网), once, after disbursing.
    RecordRegistration {
        /// The financing.
        financing: DocId,
        /// The registry's registration number.
        number: String,
    },

    /// The applicant acknowledges receiving a disbursement's net amount.
    AcknowledgeDisbursement {
        /// The financing.
        financing: DocId,
    },
    /// The applicant disputes a disbursement (the net did not arrive, or not in full).
    DisputeDisbursement {
        /// The financing.
        financing: DocId,
        /// Why.
        reason: String,
    },
    /// A bank sets (or with `None` removes) its exposure limit on a debtor or a
    /// supplier: the financed face of its live financings with that counterparty.
    SetExposureLimit {
        /// The counterparty.
        on: OrgId,
        /// Whether `on` is capped as debtor or as applicant (supplier).
        scope: ExposureScope,
        /// The cap (`None` removes the limit).
        limit: Option<Money>,
    },

    /// The debtor instructs a payment to the receivable's holder: a pending settlement
    /// that lowers nothing until the payee acknowledges it.
    Repay {
        /// The receivable.
        receivable: DocId,
        /// The holder paid; refused if it no longer holds the receivable.
        payee: OrgId,
        /// Amount paid.
        amount: Amount,
        /// Payment reference.
        payment_ref: String,
    },
    /// Maturity settlement (清分): the debtor pays every current holder of a root's live
    /// parts their outstanding amounts under one reference; one settlement per part.
    SettleRoot {
        /// The root receivable.
        root: DocId,
        /// Payment reference (of the whole batch).
        payment_ref: String,
    },
    /// The payee acknowledges receiving a settlement; only now the receivable's
    /// outstanding amount falls.
    AcknowledgeSettlement {
        /// The settlement.
        settlement: DocId,
    },
    /// The payee disputes a settlement; nothing is repaid.
    DisputeSettlement {
        /// The settlement.
        settlement: DocId,
        /// Why.
        reason: String,
    },

    /// Another member key of the maker's org approves a held action (see
    /// `exec::approvals`); it executes in this transaction, its rules checked as of
    /// today, once the org's policy is met.
    ApproveAction {
        /// The held action (`APR-n`).
        approval: DocId,
    },
    /// A member key of the org rejects a held action (the maker withdraws it this way).
    RejectAction {
        /// The held action.
        approval: DocId,
        /// Why.
        reason: String,
    },
    /// The org replaces its approval policy (`None` removes it); the change is itself an
    /// action the current policy governs.
    SetApprovalPolicy {
        /// The new policy.
        policy: Option<ApprovalPolicy>,
    },
    /// The org names the actions one of its member keys may sign (`None`: every action).
    SetKeyScopes {
        /// The org's member key.
        key: PublicKey,
        /// Action names ([`Action::name`]).
        scopes: Option<Vec<String>>,
    },

    /// A bank sets up a supply-chain finance programme with a core enterprise
    /// (`PRG-n`, with its programme limit); it is active once the core accepts it.
    CreateProgramme {
        /// Its terms.
        terms: ProgrammeTerms,
    },
    /// The programme's core enterprise accepts it: it becomes active.
    AcceptProgramme {
        /// The programme.
        programme: DocId,
    },
    /// An eligible supplier joins an active programme.
    JoinProgramme {
        /// The programme.
        programme: DocId,
    },
    /// A member supplier leaves a programme (its deals run their course).
    LeaveProgramme {
        /// The programme.
        programme: DocId,
    },
    /// The programme's bank removes a member supplier (its deals run their course).
    RemoveFromProgramme {
        /// The programme.
        programme: DocId,
        /// The member supplier.
        supplier: OrgId,
    },
    /// The programme's bank closes it: no new financing under it, existing deals
    /// untouched.
    CloseProgramme {
        /// The programme.
        programme: DocId,
    },
    /// The holder, a member supplier, asks for financing under a programme: its bank is
    /// the one invited, every offer follows the programme's grid, and with auto-offer
    /// the ledger makes the grid's offer at once.
    RequestProgrammeFinancing {
        /// The receivable.
        receivable: DocId,
        /// The programme.
        programme: DocId,
    },

    /// An invited bank offers like `OfferFinancing` and names the default terms too: the
    /// annual penalty rate on an overdue financing and whether it keeps recourse to the
    /// supplier (under a programme both must be the programme's).
    OfferFinancingWithTerms {
        /// The financing request.
        financing: DocId,
        /// Annual discount rate in percent.
        rate: Rate,
        /// Flat fees, in the receivable's currency.
        fees: Amount,
        /// Last business date the offer may be accepted and disbursed on.
        valid_until: NaiveDate,
        /// Annual penalty rate in percent (ACT/360 by default: 18 is 0.05 % a day).
        penalty_rate: Rate,
        /// Whether the bank keeps recourse to the supplier.
        recourse: bool,
    },
    /// The supplier (the applicant) buys back an overdue financing with recourse: it pays
    /// the bank's outstanding advance plus the penalty as of today; nothing changes hands
    /// on the ledger until the bank acknowledges the money.
    InstructBuyback {
        /// The financing.
        financing: DocId,
        /// What the supplier pays; must equal the ledger's figure for today.
        amount: Amount,
        /// The supplier's payment reference.
        payment_ref: String,
    },
    /// The funding bank acknowledges the buy-back money: the receivable returns to the
    /// supplier and the financing closes.
    AcknowledgeBuyback {
        /// The financing.
        financing: DocId,
    },
    /// The funding bank disputes the buy-back money; nothing changes, the supplier may
    /// instruct again.
    DisputeBuyback {
        /// The financing.
        financing: DocId,
        /// Why.
        reason: String,
    },
    /// The funding bank writes off an overdue financing without recourse: the amount
    /// (its outstanding advance plus the penalty as of today) and the reason are
    /// recorded, the financing closes and its exposure ends.
    WriteOff {
        /// The financing.
        financing: DocId,
        /// The amount written off; must equal the ledger's figure for today.
        amount: Amount,
        /// Why.
        reason: String,
    },

    /// The funding bank offers a disbursed financing to another bank at a price: the
    /// whole, or with `part` a part of its receivable's face, carved out by a split when
    /// the buyer accepts (`exec::secondary`).
    OfferSale {
        /// The financing.
        financing: DocId,
        /// The buying bank.
        buyer: OrgId,
        /// The face of the part sold, in the receivable's currency (`None`: the whole).
        part: Option<Amount>,
        /// The price, in the receivable's currency (at most the face sold).
        price: Amount,
        /// Last business date the buyer may accept (today up to
        /// `max_offer_valid_days` ahead).
        valid_until: NaiveDate,
    },
    /// The buying bank accepts: it becomes the financing's funder and the receivable's
    /// holder (its exposure limits checked), and owes the price.
    AcceptSale {
        /// The sale.
        sale: DocId,
    },
    /// The buying bank declines a sale offered to it.
    DeclineSale {
        /// The sale.
        sale: DocId,
    },
    /// The selling bank withdraws a sale not yet answered.
    WithdrawSale {
        /// The sale.
        sale: DocId,
    },
    /// The buying bank instructs the payment of the price; it is a fact only once the
    /// seller acknowledges it.
    PaySale {
        /// The sale.
        sale: DocId,
        /// The buyer's payment reference.
        payment_ref: String,
    },
    /// The selling bank acknowledges receiving the price.
    AcknowledgeSalePayment {
        /// The sale.
        sale: DocId,
    },
    /// The selling bank disputes the price payment; the buyer may pay again under a new
    /// reference.
    DisputeSalePayment {
        /// The sale.
        sale: DocId,
        /// Why.
        reason: String,
    },
}

/// Every [`Action::name`]: what approval policies and key scopes may name. The
/// permission matrix test checks that every action's name is listed here.
pub const ACTION_NAMES: &[&str] = &[
    "propose",
    "approve",
    "issue_order",
    "add_carrier",
    "accept_order",
    "cancel_order",
    "fulfil_order",
    "attest_shipment",
    "confirm_delivery",
    "issue_warehouse_receipt",
    "offer_pledge",
    "accept_pledge",
    "decline_pledge",
    "withdraw_pledge_offer",
    "release_pledge",
    "instruct_release",
    "release_warehouse_receipt",
    "post_price",
    "request_loan",
    "offer_loan",
    "accept_loan",
    "cancel_loan",
    "disburse_loan",
    "acknowledge_loan_disbursement",
    "repay_loan",
    "acknowledge_loan_repayment",
    "margin_call",
    "top_up",
    "release_goods",
    "enforce_loan",
    "register_invoice",
    "confirm_invoice",
    "accept_maturity",
    "dispute_invoice",
    "void_invoice",
    "split_receivable",
    "transfer_receivable",
    "request_financing",
    "cancel_financing",
    "offer_financing",
    "withdraw_offer",
    "accept_offer",
    "abandon_financing",
    "disburse",
    "record_registration",
    "acknowledge_disbursement",
    "dispute_disbursement",
    "set_exposure_limit",
    "repay",
    "settle_root",
    "acknowledge_settlement",
    "dispute_settlement",
    "approve_action",
    "reject_action",
    "set_approval_policy",
    "set_key_scopes",
    "create_programme",
    "accept_programme",
    "join_programme",
    "leave_programme",
    "remove_from_programme",
    "close_programme",
    "request_programme_financing",
    "offer_financing_with_terms",
    "instruct_buyback",
    "acknowledge_buyback",
    "dispute_buyback",
    "write_off",
    "offer_sale",
    "accept_sale",
    "decline_sale",
    "withdraw_sale",
    "pay_sale",
    "acknowledge_sale_payment",
    "dispute_sale_payment",
];

impl Action {
    /// A short name for logs, metrics and the explorer.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Propose { .. } => "propose",
            Action::Approve { .. } => "approve",
            Action::IssueOrder { .. } => "issue_order",
            Action::AddCarrier { .. } => "add_carrier",
            Action::AcceptOrder { .. } => "accept_order",
            Action::CancelOrder { .. } => "cancel_order",
            Action::FulfilOrder { .. } => "fulfil_order",
            Action::AttestShipment { .. } => "attest_shipment",
            Action::ConfirmDelivery { .. } => "confirm_delivery",
            Action::IssueWarehouseReceipt { .. } => "issue_warehouse_receipt",
            Action::OfferPledge { .. } => "offer_pledge",
            Action::AcceptPledge { .. } => "accept_pledge",
            Action::DeclinePledge { .. } => "decline_pledge",
            Action::WithdrawPledgeOffer { .. } => "withdraw_pledge_offer",
            Action::ReleasePledge { .. } => "release_pledge",
            Action::InstructRelease { .. } => "instruct_release",
            Action::ReleaseWarehouseReceipt { .. } => "release_warehouse_receipt",
            Action::PostPrice { .. } => "post_price",
            Action::RequestLoan { .. } => "request_loan",
            Action::OfferLoan { .. } => "offer_loan",
            Action::AcceptLoan { .. } => "accept_loan",
            Action::CancelLoan { .. } => "cancel_loan",
            Action::DisburseLoan { .. } => "disburse_loan",
            Action::AcknowledgeLoanDisbursement { .. } => "acknowledge_loan_disbursement",
            Action::RepayLoan { .. } => "repay_loan",
            Action::AcknowledgeLoanRepayment { .. } => "acknowledge_loan_repayment",
            Action::MarginCall { .. } => "margin_call",
            Action::TopUp { .. } => "top_up",
            Action::ReleaseGoods { .. } => "release_goods",
            Action::Enforce { .. } => "enforce_loan",
            Action::RegisterInvoice { .. } => "register_invoice",
            Action::ConfirmInvoice { .. } => "confirm_invoice",
            Action::AcceptMaturity { .. } => "accept_maturity",
            Action::DisputeInvoice { .. } => "dispute_invoice",
            Action::VoidInvoice { .. } => "void_invoice",
            Action::SplitReceivable { .. } => "split_receivable",
            Action::TransferReceivable { .. } => "transfer_receivable",
            Action::RequestFinancing { .. } => "request_financing",
            Action::CancelFinancing { .. } => "cancel_financing",
            Action::OfferFinancing { .. } => "offer_financing",
            Action::WithdrawOffer { .. } => "withdraw_offer",
            Action::AcceptOffer { .. } => "accept_offer",
            Action::AbandonFinancing { .. } => "abandon_financing",
            Action::Disburse { .. } => "disburse",
            Action::RecordRegistration { .. } => "record_registration",
            Action::AcknowledgeDisbursement { .. } => "acknowledge_disbursement",
            Action::DisputeDisbursement { .. } => "dispute_disbursement",
            Action::SetExposureLimit { .. } => "set_exposure_limit",
            Action::Repay { .. } => "repay",
            Action::SettleRoot { .. } => "settle_root",
            Action::AcknowledgeSettlement { .. } => "acknowledge_settlement",
            Action::DisputeSettlement { .. } => "dispute_settlement",
            Action::ApproveAction { .. } => "approve_action",
            Action::RejectAction { .. } => "reject_action",
            Action::SetApprovalPolicy { .. } => "set_approval_policy",
            Action::SetKeyScopes { .. } => "set_key_scopes",
            Action::CreateProgramme { .. } => "create_programme",
            Action::AcceptProgramme { .. } => "accept_programme",
            Action::JoinProgramme { .. } => "join_programme",
            Action::LeaveProgramme { .. } => "leave_programme",
            Action::RemoveFromProgramme { .. } => "remove_from_programme",
            Action::CloseProgramme { .. } => "close_programme",
            Action::RequestProgrammeFinancing { .. } => "request_programme_financing",
            Action::OfferFinancingWithTerms { .. } => "offer_financing_with_terms",
            Action::InstructBuyback { .. } => "instruct_buyback",
            Action::AcknowledgeBuyback { .. } => "acknowledge_buyback",
            Action::DisputeBuyback { .. } => "dispute_buyback",
            Action::WriteOff { .. } => "write_off",
            Action::OfferSale { .. } => "offer_sale",
            Action::AcceptSale { .. } => "accept_sale",
            Action::DeclineSale { .. } => "decline_sale",
            Action::WithdrawSale { .. } => "withdraw_sale",
            Action::PaySale { .. } => "pay_sale",
            Action::AcknowledgeSalePayment { .. } => "acknowledge_sale_payment",
            Action::DisputeSalePayment { .. } => "dispute_sale_payment",
        }
    }
}
