//! The `lianrong` client verbs (`org`, `order`, `shipment`, `invoice`, `receivable`,
//! `financing`, `repay`, `settlement`, `limit`, `warehouse`, `tx`, `status`, `gov`, `key`): every one
//! goes through `lianrong_sdk`, takes `--node URL` and `--key FILE` (or `--token`), and
//! prints text or, with `--json`, JSON.
//! Amounts are decimal strings, dates `YYYY-MM-DD`. On any failure the caller gets a
//! non-zero exit and a one-line reason on stderr (see `main.rs`).

pub mod dual_control;
pub mod governance;
pub mod limits;
pub mod loans;
pub mod offers;
pub mod output;
pub mod overdue;
pub mod programmes;
pub mod sales;
pub mod warehouse;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use lianrong_contracts::model::{DocId, Invoice, Org, ReceivableStatus};
use lianrong_contracts::{Action, InvoiceSpec};
use lianrong_importer::{ImportOptions, InvoiceLedger, LedgerError, PartyMap};
use lianrong_primitives::{Hash, OrgId};
use lianrong_sdk::{args, Auth, Client, ClientOptions, MemberKey, SdkError, Signer, TlsFiles};
use serde::Serialize;

/// Largest token file read with `--token @FILE`.
const MAX_TOKEN_FILE_BYTES: u64 = 4096;

/// How to reach and authenticate to a node; shared by every client verb.
#[derive(Debug, Clone, Default, Args)]
pub struct Conn {
    /// Node API URL, e.g. http://127.0.0.1:8080.
    #[arg(long, global = true, value_name = "URL")]
    pub node: Option<String>,
    /// Member key file: signs requests and transactions.
    #[arg(long, global = true, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// API token for reads (or @FILE to read it from a file); with --key, the key still
    /// signs transactions.
    #[arg(long, global = true, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Chain id, when the key file does not name it.
    #[arg(long, global = true, value_name = "ID")]
    pub chain_id: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Seconds to wait for each answer.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 10)]
    pub timeout: u64,
    /// For an https:// node: the CA certificate(s) (PEM) its certificate must chain to;
    /// only they are trusted (default: $LIANRONG_CA, else the system's trust store).
    #[arg(long, global = true, value_name = "PEM")]
    pub ca: Option<PathBuf>,
    /// Client certificate (PEM) for a node that requires one, with --client-key
    /// (default: $LIANRONG_CLIENT_CERT).
    #[arg(long, global = true, value_name = "PEM")]
    pub client_cert: Option<PathBuf>,
    /// Private key (PEM) of --client-cert (default: $LIANRONG_CLIENT_KEY).
    #[arg(long, global = true, value_name = "PEM")]
    pub client_key: Option<PathBuf>,
}

impl Conn {
    /// The TLS files of the flags, each falling back to its environment variable.
    pub(crate) fn tls_files(&self) -> TlsFiles {
        let or_env = |flag: &Option<PathBuf>, var: &str| {
            flag.clone().or_else(|| {
                std::env::var_os(var)
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
        };
        TlsFiles {
            ca: or_env(&self.ca, "LIANRONG_CA"),
            client_cert: or_env(&self.client_cert, "LIANRONG_CLIENT_CERT"),
            client_key: or_env(&self.client_key, "LIANRONG_CLIENT_KEY"),
        }
    }
}

/// A document's commitment: the file (hashed here) or its SHA-256.
#[derive(Debug, Clone, Default, Args)]
pub struct DocArg {
    /// The full document; its SHA-256 goes on the ledger, the file stays with you.
    #[arg(long, value_name = "FILE", conflicts_with = "doc_hash")]
    pub doc: Option<PathBuf>,
    /// SHA-256 of the full document (64 hex digits).
    #[arg(long, value_name = "HEX", value_parser = parse_hash)]
    pub doc_hash: Option<Hash>,
}

impl DocArg {
    fn hash(&self) -> Result<Hash> {
        match (&self.doc, self.doc_hash) {
            (Some(p), _) => Ok(args::file_hash(p)?),
            (None, Some(h)) => Ok(h),
            (None, None) => {
                bail!("give the document with --doc FILE or its SHA-256 with --doc-hash HEX")
            }
        }
    }
}

fn parse_doc_id(s: &str) -> std::result::Result<DocId, String> {
    args::doc_id(s).map_err(|e| e.to_string())
}
pub(crate) fn parse_org(s: &str) -> std::result::Result<OrgId, String> {
    args::org_id(s).map_err(|e| e.to_string())
}
fn parse_hash(s: &str) -> std::result::Result<Hash, String> {
    args::hash(s).map_err(|e| e.to_string())
}
fn parse_date(s: &str) -> std::result::Result<lianrong_sdk::NaiveDate, String> {
    args::date(s).map_err(|e| e.to_string())
}
fn parse_amount(s: &str) -> std::result::Result<lianrong_contracts::money::Amount, String> {
    args::amount(s).map_err(|e| e.to_string())
}
fn parse_rate(s: &str) -> std::result::Result<lianrong_contracts::money::Rate, String> {
    args::rate(s).map_err(|e| e.to_string())
}
fn parse_status(s: &str) -> std::result::Result<ReceivableStatus, String> {
    serde_json::from_value(serde_json::Value::String(s.to_ascii_lowercase()))
        .map_err(|_| format!("{s:?}: use active, overdue, split or settled"))
}

/// The client verbs, flattened into the `lianrong` command.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Organisations: list, show.
    Org {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: OrgCmd,
    },
    /// Purchase orders: create, add-carrier, accept, cancel, fulfil, show.
    Order {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: OrderCmd,
    },
    /// Shipments: attest, deliver, show.
    Shipment {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: ShipmentCmd,
    },
    /// Invoices: register, confirm, dispute, void, show, import.
    Invoice {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: InvoiceCmd,
    },
    /// Receivables: show, list, history, split, transfer.
    Receivable {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: ReceivableCmd,
    },
    /// Financing: request, offer, accept, disburse, cancel, withdraw, abandon, show.
    Financing {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: FinancingCmd,
    },
    /// Instruct a repayment of a receivable to its holder (the debtor): a pending
    /// settlement until the payee acknowledges it (`settlement ack`).
    Repay {
        #[command(flatten)]
        conn: Conn,
        /// The receivable.
        #[arg(value_parser = parse_doc_id)]
        receivable: DocId,
        /// The holder paid (default: the current holder, read from the ledger); refused
        /// if it no longer holds the receivable.
        #[arg(long, value_parser = parse_org)]
        payee: Option<OrgId>,
        /// Amount paid (decimal, in the receivable's currency).
        #[arg(long, value_parser = parse_amount)]
        amount: lianrong_contracts::money::Amount,
        /// Payment reference.
        #[arg(long)]
        payment_ref: String,
    },
    /// Settlements: root (maturity settlement 清分, the debtor), ack and dispute (the
    /// payee), show.
    Settlement {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: SettlementCmd,
    },
    /// Credit limits: set (a core's issuance limit by governance proposal, a bank's own
    /// exposure limit on a debtor or a supplier), show an org's, list all, each with its
    /// use and headroom.
    Limit {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: limits::LimitCmd,
    },
    /// Supply-chain finance programmes: create (a bank), accept (the core), join and
    /// leave (eligible suppliers), remove and close (the bank), show, list.
    Programme {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: programmes::ProgrammeCmd,
    },
    /// Warehouse receipts: issue, pledge (offer, accept, decline, withdraw, release),
    /// instruct-release, release, show.
    Warehouse {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: warehouse::WarehouseCmd,
    },
    /// Loans against pledged warehouse receipts: request, offer, accept, cancel,
    /// disburse, ack, price, margin-call, top-up, repay, ack-repayment, release,
    /// enforce, show, list.
    Loan {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: loans::LoanCmd,
    },
    /// Transactions: show.
    Tx {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: TxCmd,
    },
    /// The node's chain id, height, validators, peers and sync state.
    Status {
        #[command(flatten)]
        conn: Conn,
    },
    /// Governance (validator orgs): propose admitting an org, adding or revoking a member
    /// key, parameters, adding or removing a validator; approve; list and show proposals.
    #[command(name = "gov", visible_alias = "governance")]
    Governance {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: governance::GovernanceCmd,
    },
    /// Member keys: rotate (a new key file; governance adds it and revokes the old one).
    Key {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: governance::KeyCmd,
    },
    /// Dual control: the org's approval policy (which actions, above which amounts, need
    /// how many of its member keys) and its keys' scopes: set, clear, scope.
    Policy {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        cmd: dual_control::PolicyCmd,
    },
    /// Actions of the caller's org held for another member key's approval (`--all`: in
    /// any state, with who approved).
    Pending {
        #[command(flatten)]
        conn: Conn,
        /// Every held action, executed, rejected and lapsed ones too.
        #[arg(long)]
        all: bool,
    },
    /// Approve an action held for a second key (APR-n); it executes, its rules checked
    /// as of today, once the org's policy is met.
    Approve {
        #[command(flatten)]
        conn: Conn,
        /// The held action.
        #[arg(value_parser = parse_doc_id)]
        approval: DocId,
    },
    /// Reject an action held for approval (the maker withdraws it this way too).
    Reject {
        #[command(flatten)]
        conn: Conn,
        /// The held action.
        #[arg(value_parser = parse_doc_id)]
        approval: DocId,
        /// Why.
        #[arg(long)]
        reason: String,
    },
}

/// `org` subcommands.
#[derive(Debug, Subcommand)]
pub enum OrgCmd {
    /// Every admitted organisation.
    List,
    /// One organisation.
    Show {
        /// Org id.
        #[arg(value_parser = parse_org)]
        id: OrgId,
    },
}

/// `order` subcommands.
#[derive(Debug, Subcommand)]
pub enum OrderCmd {
    /// Issue a purchase order to a supplier (core enterprise).
    Create {
        /// New order id.
        #[arg(long, value_parser = parse_doc_id)]
        id: DocId,
        /// The supplier.
        #[arg(long, value_parser = parse_org)]
        seller: OrgId,
        /// Order amount (decimal).
        #[arg(long)]
        amount: String,
        /// ISO 4217 currency.
        #[arg(long, default_value = "CNY")]
        currency: String,
        /// Short terms text.
        #[arg(long, default_value = "")]
        terms: String,
        /// A carrier (logistics org) that may attest shipments; repeat, at most 4.
        #[arg(long = "carrier", value_parser = parse_org)]
        carriers: Vec<OrgId>,
        #[command(flatten)]
        doc: DocArg,
    },
    /// Name one more carrier for an issued or accepted order (the buyer).
    AddCarrier {
        /// The order.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
        /// The logistics org.
        #[arg(long, value_parser = parse_org)]
        carrier: OrgId,
    },
    /// Accept an issued order (the supplier).
    Accept {
        /// The order.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// Cancel an order without invoices (the buyer).
    Cancel {
        /// The order.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// Mark a delivered order fulfilled (the buyer).
    Fulfil {
        /// The order.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// Show an order.
    Show {
        /// The order.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
}

/// `shipment` subcommands.
#[derive(Debug, Subcommand)]
pub enum ShipmentCmd {
    /// Attest that goods of an order shipped (a carrier the order names).
    Attest {
        /// New shipment id.
        #[arg(long, value_parser = parse_doc_id)]
        id: DocId,
        /// The order.
        #[arg(long, value_parser = parse_doc_id)]
        order: DocId,
        /// Value of the goods shipped (decimal, the order's currency).
        #[arg(long)]
        value: String,
        /// ISO 4217 currency.
        #[arg(long, default_value = "CNY")]
        currency: String,
        #[command(flatten)]
        doc: DocArg,
    },
    /// Attest delivery (the carrier).
    Deliver {
        /// The shipment.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// Show a shipment.
    Show {
        /// The shipment.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
}

/// `invoice` subcommands.
#[derive(Debug, Subcommand)]
pub enum InvoiceCmd {
    /// Register an invoice (seller or buyer); --confirm also confirms it (buyer).
    Register {
        /// Ledger id of the invoice.
        #[arg(long, value_parser = parse_doc_id)]
        id: DocId,
        /// The order it bills.
        #[arg(long, value_parser = parse_doc_id)]
        order: DocId,
        /// Invoice number as printed.
        #[arg(long)]
        number: String,
        /// Issue date (YYYY-MM-DD).
        #[arg(long, value_parser = parse_date)]
        issue_date: lianrong_sdk::NaiveDate,
        /// Due date (YYYY-MM-DD); the receivable's maturity unless --maturity.
        #[arg(long, value_parser = parse_date)]
        due_date: lianrong_sdk::NaiveDate,
        /// The receivable's maturity (YYYY-MM-DD); named by the seller it is the seller's
        /// acceptance of it, named by the buyer past the due date it waits for the seller.
        #[arg(long, value_parser = parse_date)]
        maturity: Option<lianrong_sdk::NaiveDate>,
        /// Payable amount (decimal).
        #[arg(long)]
        amount: String,
        /// ISO 4217 currency.
        #[arg(long, default_value = "CNY")]
        currency: String,
        /// Seller tax id as printed (default: the seller's registered one, if visible).
        #[arg(long)]
        seller_tax_id: Option<String>,
        /// Buyer tax id as printed (default: the buyer's registered one, if visible).
        #[arg(long)]
        buyer_tax_id: Option<String>,
        #[command(flatten)]
        doc: DocArg,
        /// Confirm in the same transaction (the buyer only).
        #[arg(long)]
        confirm: bool,
    },
    /// Confirm (确权) an invoice, creating its receivable (the buyer).
    Confirm {
        /// The invoice.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
        /// Maturity (YYYY-MM-DD; default: named at registration, else the due date); past
        /// the due date it waits for the seller's accept-maturity.
        #[arg(long, value_parser = parse_date)]
        maturity: Option<lianrong_sdk::NaiveDate>,
    },
    /// Accept the maturity past the due date the buyer confirmed with (the seller).
    AcceptMaturity {
        /// The invoice.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// Dispute an invoice (the buyer).
    Dispute {
        /// The invoice.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Void a registered or disputed invoice (the seller).
    Void {
        /// The invoice.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// Show an invoice.
    Show {
        /// The invoice.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// Import UBL 2.1 XML or CSV invoices; re-running a batch submits nothing twice.
    Import {
        /// Files (.xml UBL 2.1, .csv in the documented layout).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Register and confirm in one transaction (the key's org must be the buyer).
        #[arg(long)]
        confirm: bool,
        /// CSV `external_id,org_id` mapping the documents' party ids to org ids.
        #[arg(long, value_name = "FILE")]
        party_map: Option<PathBuf>,
        /// Order billed by documents that name none.
        #[arg(long, value_parser = parse_doc_id)]
        order: Option<DocId>,
        /// Due date = issue date + DAYS for documents without one.
        #[arg(long, value_name = "DAYS")]
        due_days: Option<u32>,
    },
}

/// `receivable` subcommands.
#[derive(Debug, Subcommand)]
pub enum ReceivableCmd {
    /// Show a receivable.
    Show {
        /// The receivable.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// List receivables by holder, debtor and status.
    List {
        /// Current holder.
        #[arg(long, value_parser = parse_org)]
        holder: Option<OrgId>,
        /// Debtor.
        #[arg(long, value_parser = parse_org)]
        debtor: Option<OrgId>,
        /// active, overdue, split or settled.
        #[arg(long, value_parser = parse_status)]
        status: Option<ReceivableStatus>,
        /// Print at most this many (default 100,000); every matching receivable is
        /// read page by page, and a cut list says so on stderr.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// The lineage from the root and every step with block, signer and transaction.
    History {
        /// The receivable.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
    },
    /// Split into parts that sum exactly to the face (the holder).
    Split {
        /// The receivable.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
        /// Part amounts: repeat --part or separate with commas.
        #[arg(long = "part", required = true, value_delimiter = ',', value_parser = parse_amount)]
        parts: Vec<lianrong_contracts::money::Amount>,
    },
    /// Transfer to another organisation (the holder).
    Transfer {
        /// The receivable.
        #[arg(value_parser = parse_doc_id)]
        id: DocId,
        /// The new holder.
        #[arg(long, value_parser = parse_org)]
        to: OrgId,
    },
}

/// `financing` subcommands.
#[derive(Debug, Subcommand)]
pub enum FinancingCmd {
    /// Ask named banks for financing on a receivable (the holder).
    Request {
        /// The receivable.
        #[arg(value_parser = parse_doc_id)]
        receivable: DocId,
        /// Banks invited: repeat --bank or separate with commas.
        #[arg(long = "bank", required_unless_present = "programme", value_delimiter = ',', value_parser = parse_org)]
        banks: Vec<OrgId>,
        /// Ask under a programme (a member supplier): its bank is invited, offers follow
        /// its grid, with auto-offer the grid's offer comes at once.
        #[arg(long, value_parser = parse_doc_id, conflicts_with = "banks")]
        programme: Option<DocId>,
    },
    /// Offer an annual discount rate and fees (an invited bank).
    Offer {
        /// The financing request.
        #[arg(value_parser = parse_doc_id)]
        financing: DocId,
        /// Annual discount rate in percent, e.g. 3.65.
        #[arg(long, value_parser = parse_rate)]
        rate: lianrong_contracts::money::Rate,
        /// Flat fees (decimal, in the receivable's currency).
        #[arg(long, default_value = "0", value_parser = parse_amount)]
        fees: lianrong_contracts::money::Amount,
        /// Last business date the offer may be accepted and disbursed on (default: 7 days
        /// after the ledger's business date).
        #[arg(long, value_parser = parse_date)]
        valid_until: Option<lianrong_sdk::NaiveDate>,
        /// Annual penalty rate in percent on the financing once overdue (ACT/360 by
        /// default: 18 is 0.05 % a day); names the offer's default terms.
        #[arg(long, value_parser = parse_rate)]
        penalty_rate: Option<lianrong_contracts::money::Rate>,
        /// The bank keeps recourse to the supplier: once overdue the supplier buys the
        /// financing back (without it the bank may write it off).
        #[arg(long)]
        recourse: bool,
    },
    /// Accept an offer; other open offers are withdrawn (the holder).
    Accept {
        /// The offer.
        #[arg(value_parser = parse_doc_id)]
        offer: DocId,
    },
    /// Record the payment of the agreed net; the receivable passes to the bank.
    Disburse {
        /// The financing.
        #[arg(value_parser = parse_doc_id)]
        financing: DocId,
        /// The bank's payment reference.
        #[arg(long)]
        payment_ref: String,
        /// Net paid (default: the net counted from the ledger's business date, the value
        /// date, to maturity).
        #[arg(long, value_parser = parse_amount)]
        net: Option<lianrong_contracts::money::Amount>,
    },
    /// Acknowledge receiving a disbursement's net amount (the applicant).
    Ack {
        /// The financing.
        #[arg(value_parser = parse_doc_id)]
        financing: DocId,
    },
    /// Dispute a disbursement: the net did not arrive, or not in full (the applicant).
    Dispute {
        /// The financing.
        #[arg(value_parser = parse_doc_id)]
        financing: DocId,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Cancel a request not yet accepted (the holder).
    Cancel {
        /// The financing.
        #[arg(value_parser = parse_doc_id)]
        financing: DocId,
    },
    /// Withdraw an open offer (its bank).
    Withdraw {
        /// The offer.
        #[arg(value_parser = parse_doc_id)]
        offer: DocId,
    },
    /// Abandon an accepted financing before paying (the accepted bank).
    Abandon {
        /// The financing.
        #[arg(value_parser = parse_doc_id)]
        financing: DocId,
    },
    /// Show a financing and its offers, each with its all-in annualised cost to the
    /// supplier ("all-in 3.6836 % p.a.": discount and fees over the net received, a year
    /// by the day count in force).
    Show {
        /// The financing.
        #[arg(value_parser = parse_doc_id)]
        financing: DocId,
    },
    /// Record the financing's registration number in the PBoC movable-property
    /// financing registry (中登网) on the ledger (the funding bank, once, after disbursing).
    Register {
        /// The financing.
        #[arg(value_parser = parse_doc_id)]
        financing: DocId,
        /// The registry's registration number (登记证明编号).
        #[arg(long)]
        number: String,
    },
    /// Sell a disbursed financing to another bank at a price (the funding bank): the
    /// whole, or with --part a part of its receivable's face, split off when the buyer
    /// accepts (its advanced amount, fees and discount divided pro rata to the cent).
    Sell {
        /// The financing.
        #[arg(value_parser = parse_doc_id)]
        financing: DocId,
        /// The buying bank.
        #[arg(long, value_parser = parse_org)]
        to: OrgId,
        /// The price (decimal, in the receivable's currency; at most the face sold).
        #[arg(long, value_parser = parse_amount)]
        price: lianrong_contracts::money::Amount,
        /// The face of the part sold (decimal); without it, the whole financing.
        #[arg(long, value_parser = parse_amount)]
        part: Option<lianrong_contracts::money::Amount>,
        /// Last business date the buyer may accept (default: 7 days after the ledger's
        /// business date).
        #[arg(long, value_parser = parse_date)]
        valid_until: Option<lianrong_sdk::NaiveDate>,
    },
    /// A secondary sale: the buyer accepts, declines or pays the price; the seller
    /// withdraws, acknowledges or disputes the payment; show and list sales.
    Sale {
        #[command(subcommand)]
        cmd: sales::SaleCmd,
    },
    /// Buy back an overdue financing with recourse (the applicant): pay the bank its
    /// outstanding advance + the penalty as of today; it counts once the bank
    /// acknowledges it.
    Buyback {
        /// The financing.
        #[arg(value_parser = parse_doc_id)]
        financing: DocId,
        /// The supplier's payment reference.
        #[arg(long)]
        payment_ref: String,
        /// The amount paid (default: the claim as of the ledger's business date, read
        /// from the node); the ledger refuses any other.
        #[arg(long, value_parser = parse_amount)]
        amount: Option<lianrong_contracts::money::Amount>,
    },
    /// Acknowledge the buy-back money (the funding bank): the receivable returns to the
    /// supplier and the financing closes.
    BuybackAck {
        /// The financing.
        #[arg(value_parser = parse_doc_id)]
        financing: DocId,
    },
    /// Dispute the buy-back money: it did not arrive, or not in full (the funding bank).
    BuybackDispute {
        /// The financing.
        #[arg(value_parser = parse_doc_id)]
        financing: DocId,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Write off an overdue financing without recourse (the funding bank): the amount
    /// (its outstanding advance + the penalty as of today, see `financing show`) and
    /// the reason are recorded; its exposure ends.
    WriteOff {
        /// The financing.
        #[arg(value_parser = parse_doc_id)]
        financing: DocId,
        /// The amount written off; the ledger refuses any other than its claim today.
        #[arg(long, value_parser = parse_amount)]
        amount: lianrong_contracts::money::Amount,
        /// Why (1-256 characters).
        #[arg(long)]
        reason: String,
    },
    /// Print the registry record of a disbursed financing (中登网 fields: transferor,
    /// transferee, debtor, amount, term, property description) to file with the registry:
    /// JSON with `--json`, one CSV row with its header with `--csv`, else text.
    Registration {
        /// The financing.
        #[arg(value_parser = parse_doc_id)]
        financing: DocId,
        /// Print CSV (header and one row).
        #[arg(long)]
        csv: bool,
    },
}

/// `settlement` subcommands.
#[derive(Debug, Subcommand)]
pub enum SettlementCmd {
    /// Maturity settlement (清分): pay every current holder of a root's live parts their
    /// outstanding amounts under one reference (the debtor).
    Root {
        /// The root receivable.
        #[arg(value_parser = parse_doc_id)]
        root: DocId,
        /// Payment reference of the whole batch.
        #[arg(long)]
        payment_ref: String,
    },
    /// Acknowledge receiving a settlement; only now the outstanding amount falls (the
    /// payee).
    Ack {
        /// The settlement.
        #[arg(value_parser = parse_doc_id)]
        settlement: DocId,
    },
    /// Dispute a settlement; nothing is repaid (the payee).
    Dispute {
        /// The settlement.
        #[arg(value_parser = parse_doc_id)]
        settlement: DocId,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Show a settlement.
    Show {
        /// The settlement.
        #[arg(value_parser = parse_doc_id)]
        settlement: DocId,
    },
}

impl SettlementCmd {
    fn action(&self) -> Option<Action> {
        Some(match self {
            SettlementCmd::Root { root, payment_ref } => Action::SettleRoot {
                root: root.clone(),
                payment_ref: payment_ref.clone(),
            },
            SettlementCmd::Ack { settlement } => Action::AcknowledgeSettlement {
                settlement: settlement.clone(),
            },
            SettlementCmd::Dispute { settlement, reason } => Action::DisputeSettlement {
                settlement: settlement.clone(),
                reason: reason.clone(),
            },
            SettlementCmd::Show { .. } => return None,
        })
    }
}

/// `tx` subcommands.
#[derive(Debug, Subcommand)]
pub enum TxCmd {
    /// A committed transaction and its receipt.
    Show {
        /// Transaction hash (64 hex digits).
        #[arg(value_parser = parse_hash)]
        hash: Hash,
    },
}

impl ClientCommand {
    fn conn(&self) -> &Conn {
        match self {
            ClientCommand::Org { conn, .. }
            | ClientCommand::Order { conn, .. }
            | ClientCommand::Shipment { conn, .. }
            | ClientCommand::Invoice { conn, .. }
            | ClientCommand::Receivable { conn, .. }
            | ClientCommand::Financing { conn, .. }
            | ClientCommand::Repay { conn, .. }
            | ClientCommand::Settlement { conn, .. }
            | ClientCommand::Warehouse { conn, .. }
            | ClientCommand::Loan { conn, .. }
            | ClientCommand::Limit { conn, .. }
            | ClientCommand::Programme { conn, .. }
            | ClientCommand::Tx { conn, .. }
            | ClientCommand::Status { conn }
            | ClientCommand::Governance { conn, .. }
            | ClientCommand::Key { conn, .. }
            | ClientCommand::Policy { conn, .. }
            | ClientCommand::Pending { conn, .. }
            | ClientCommand::Approve { conn, .. }
            | ClientCommand::Reject { conn, .. } => conn,
        }
    }

    /// The action a write verb signs, when it needs nothing from the ledger to build it;
    /// `None` for reads and for verbs that look something up first.
    pub fn action(&self) -> Result<Option<Action>> {
        use ClientCommand as C;
        match self {
            C::Order { cmd, .. } => cmd.action(),
            C::Shipment { cmd, .. } => cmd.action(),
            C::Invoice { cmd, .. } => Ok(cmd.action()),
            C::Receivable { cmd, .. } => Ok(cmd.action()),
            C::Financing { cmd, .. } => Ok(cmd.action()),
            C::Repay {
                receivable,
                payee: Some(payee),
                amount,
                payment_ref,
                ..
            } => Ok(Some(Action::Repay {
                receivable: receivable.clone(),
                payee: payee.clone(),
                amount: *amount,
                payment_ref: payment_ref.clone(),
            })),
            // Without --payee, the current holder is read from the ledger first.
            C::Repay { .. } => Ok(None),
            C::Settlement { cmd, .. } => Ok(cmd.action()),
            C::Warehouse { cmd, .. } => cmd.action(),
            C::Loan { cmd, .. } => cmd.action(),
            C::Limit { cmd, .. } => cmd.action(),
            C::Programme { cmd, .. } => cmd.action(),
            C::Governance { cmd, .. } => cmd.action(),
            C::Policy { cmd, .. } => Ok(Some(cmd.action())),
            C::Approve { approval, .. } => Ok(Some(Action::ApproveAction {
                approval: approval.clone(),
            })),
            C::Reject {
                approval, reason, ..
            } => Ok(Some(Action::RejectAction {
                approval: approval.clone(),
                reason: reason.clone(),
            })),
            C::Org { .. } | C::Tx { .. } | C::Status { .. } | C::Key { .. } | C::Pending { .. } => {
                Ok(None)
            }
        }
    }
}

impl OrderCmd {
    fn action(&self) -> Result<Option<Action>> {
        Ok(Some(match self {
            OrderCmd::Create {
                id,
                seller,
                amount,
                currency,
                terms,
                carriers,
                doc,
            } => Action::IssueOrder {
                id: id.clone(),
                seller: seller.clone(),
                amount: args::money(amount, currency)?,
                terms: terms.clone(),
                doc_hash: doc.hash()?,
                carriers: carriers.clone(),
            },
            OrderCmd::AddCarrier { id, carrier } => Action::AddCarrier {
                order: id.clone(),
                carrier: carrier.clone(),
            },
            OrderCmd::Accept { id } => Action::AcceptOrder { order: id.clone() },
            OrderCmd::Cancel { id } => Action::CancelOrder { order: id.clone() },
            OrderCmd::Fulfil { id } => Action::FulfilOrder { order: id.clone() },
            OrderCmd::Show { .. } => return Ok(None),
        }))
    }
}

impl ShipmentCmd {
    fn action(&self) -> Result<Option<Action>> {
        Ok(Some(match self {
            ShipmentCmd::Attest {
                id,
                order,
                value,
                currency,
                doc,
            } => Action::AttestShipment {
                id: id.clone(),
                order: order.clone(),
                value: args::money(value, currency)?,
                doc_hash: doc.hash()?,
            },
            ShipmentCmd::Deliver { id } => Action::ConfirmDelivery {
                shipment: id.clone(),
            },
            ShipmentCmd::Show { .. } => return Ok(None),
        }))
    }
}

impl InvoiceCmd {
    fn action(&self) -> Option<Action> {
        Some(match self {
            InvoiceCmd::Confirm { id, maturity } => Action::ConfirmInvoice {
                invoice: id.clone(),
                maturity: *maturity,
            },
            InvoiceCmd::AcceptMaturity { id } => Action::AcceptMaturity {
                invoice: id.clone(),
            },
            InvoiceCmd::Dispute { id, reason } => Action::DisputeInvoice {
                invoice: id.clone(),
                reason: reason.clone(),
            },
            InvoiceCmd::Void { id } => Action::VoidInvoice {
                invoice: id.clone(),
            },
            // Register may look up tax ids; show and import are not one action.
            _ => return None,
        })
    }
}

impl ReceivableCmd {
    fn action(&self) -> Option<Action> {
        Some(match self {
            ReceivableCmd::Split { id, parts } => Action::SplitReceivable {
                receivable: id.clone(),
                parts: parts.clone(),
            },
            ReceivableCmd::Transfer { id, to } => Action::TransferReceivable {
                receivable: id.clone(),
                to: to.clone(),
            },
            _ => return None,
        })
    }
}

impl FinancingCmd {
    fn action(&self) -> Option<Action> {
        Some(match self {
            FinancingCmd::Request {
                receivable,
                banks,
                programme,
            } => programmes::request_action(receivable, programme.as_ref(), banks),
            FinancingCmd::Offer {
                financing,
                rate,
                fees,
                valid_until: Some(valid_until),
                penalty_rate,
                recourse,
            } => overdue::offer_action(
                financing,
                (*rate, *fees, *valid_until),
                *penalty_rate,
                *recourse,
            ),
            FinancingCmd::Ack { financing } => Action::AcknowledgeDisbursement {
                financing: financing.clone(),
            },
            FinancingCmd::Dispute { financing, reason } => Action::DisputeDisbursement {
                financing: financing.clone(),
                reason: reason.clone(),
            },
            FinancingCmd::Accept { offer } => Action::AcceptOffer {
                offer: offer.clone(),
            },
            FinancingCmd::Disburse {
                financing,
                payment_ref,
                net: Some(net),
            } => Action::Disburse {
                financing: financing.clone(),
                payment_ref: payment_ref.clone(),
                net: *net,
            },
            FinancingCmd::Cancel { financing } => Action::CancelFinancing {
                financing: financing.clone(),
            },
            FinancingCmd::Withdraw { offer } => Action::WithdrawOffer {
                offer: offer.clone(),
            },
            FinancingCmd::Abandon { financing } => Action::AbandonFinancing {
                financing: financing.clone(),
            },
            FinancingCmd::Register { financing, number } => Action::RecordRegistration {
                financing: financing.clone(),
                number: number.clone(),
            },
            FinancingCmd::Sell {
                financing,
                to,
                price,
                part,
                valid_until: Some(valid_until),
            } => sales::sell_action(financing, to, *part, *price, *valid_until),
            FinancingCmd::Sale { cmd } => return cmd.action(),
            FinancingCmd::Buyback { .. }
            | FinancingCmd::BuybackAck { .. }
            | FinancingCmd::BuybackDispute { .. }
            | FinancingCmd::WriteOff { .. } => return overdue::action(self),
            // Disbursing without --net, and offering or selling without --valid-until,
            // read the ledger first.
            _ => return None,
        })
    }
}

/// Runs a client verb to completion on its own runtime.
pub fn run(cmd: ClientCommand) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(run_async(cmd))
        // stderr gets one line, whatever the cause chain looked like.
        .map_err(|e| anyhow!(output::one_line(&format!("{e:#}"))))
}

/// What a verb needs to talk to the node.
struct Ctx {
    client: Client,
    key: Option<MemberKey>,
    json: bool,
}

fn read_token(arg: &str) -> Result<String> {
    let Some(path) = arg.strip_prefix('@') else {
        return Ok(arg.trim().to_string());
    };
    let meta = std::fs::metadata(path).with_context(|| format!("token file {path}"))?;
    if meta.len() > MAX_TOKEN_FILE_BYTES {
        bail!("token file {path} is too large to hold a token");
    }
    Ok(std::fs::read_to_string(path)
        .with_context(|| format!("token file {path}"))?
        .trim()
        .to_string())
}

/// The client `conn` describes (node, credential, chain id, timeout) and the member key
/// it names, if any; shared by the client verbs, `verify` and `audit`.
pub(crate) fn connect(conn: &Conn) -> Result<(Client, Option<MemberKey>)> {
    let node = conn
        .node
        .as_deref()
        .ok_or_else(|| anyhow!("give the node's API with --node URL"))?;
    let key = match &conn.key {
        Some(p) => Some(MemberKey::load(p)?),
        None => None,
    };
    let auth = match (&conn.token, &key) {
        (Some(t), _) => Auth::Token(read_token(t)?),
        (None, Some(k)) => Auth::Key(k.clone()),
        (None, None) => bail!("give a member key with --key FILE (or a token with --token)"),
    };
    let opts = ClientOptions {
        timeout: Duration::from_secs(conn.timeout.clamp(1, 600)),
        chain_id: conn.chain_id.clone(),
        tls: Some(conn.tls_files().load()?),
        ..ClientOptions::default()
    };
    Ok((Client::with_options(node, auth, opts)?, key))
}

impl Ctx {
    fn new(conn: &Conn) -> Result<Self> {
        let (client, key) = connect(conn)?;
        Ok(Self {
            client,
            key,
            json: conn.json,
        })
    }

    async fn signer(&self) -> Result<Signer> {
        let key = self
            .key
            .clone()
            .ok_or_else(|| anyhow!("this verb signs a transaction: give --key FILE"))?;
        Ok(Signer::new(self.client.clone(), key).await?)
    }

    /// Prints `value` as JSON, or `text` of it.
    fn print<T: Serialize>(&self, value: &T, text: impl FnOnce(&T) -> String) -> Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value)?);
        } else {
            println!("{}", text(value));
        }
        Ok(())
    }

    fn show<T: Serialize>(&self, value: &T) -> Result<()> {
        self.print(value, |v| {
            output::document(&serde_json::to_value(v).unwrap_or_default())
        })
    }

    async fn sign_and_submit(&self, action: Action) -> Result<()> {
        let name = action.name();
        let signer = self.signer().await?;
        let done = signer.submit(action).await?;
        self.print(&done, |d| output::committed(name, d))
    }
}

async fn run_async(cmd: ClientCommand) -> Result<()> {
    let ctx = Ctx::new(cmd.conn())?;
    if let Some(action) = cmd.action()? {
        return ctx.sign_and_submit(action).await;
    }
    let c = &ctx.client;
    use ClientCommand as C;
    match &cmd {
        C::Status { .. } => ctx.show(&c.status().await?),
        C::Org { cmd, .. } => match cmd {
            OrgCmd::List => ctx.print(&c.orgs().await?, |o| output::orgs(o)),
            OrgCmd::Show { id } => ctx.show(&c.org(id).await?),
        },
        C::Order {
            cmd: OrderCmd::Show { id },
            ..
        } => ctx.show(&c.order(id).await?),
        C::Shipment {
            cmd: ShipmentCmd::Show { id },
            ..
        } => ctx.show(&c.shipment(id).await?),
        C::Invoice { cmd, .. } => run_invoice(&ctx, cmd).await,
        C::Receivable { cmd, .. } => run_receivable(&ctx, cmd).await,
        C::Financing { cmd, .. } => run_financing(&ctx, cmd).await,
        C::Repay {
            receivable,
            amount,
            payment_ref,
            ..
        } => {
            let holder = c.receivable(receivable).await?.holder;
            ctx.sign_and_submit(Action::Repay {
                receivable: receivable.clone(),
                payee: holder,
                amount: *amount,
                payment_ref: payment_ref.clone(),
            })
            .await
        }
        C::Settlement {
            cmd: SettlementCmd::Show { settlement },
            ..
        } => ctx.show(&c.settlement(settlement).await?),
        C::Warehouse {
            cmd: warehouse::WarehouseCmd::Show { id },
            ..
        } => ctx.show(&c.warehouse_receipt(id).await?),
        C::Tx {
            cmd: TxCmd::Show { hash },
            ..
        } => ctx.show(&c.transaction(hash).await?),
        C::Governance { cmd, .. } => governance::run(&ctx, cmd).await,
        C::Limit { cmd, .. } => limits::run(&ctx, cmd).await,
        C::Programme { cmd, .. } => programmes::run(&ctx, cmd).await,
        C::Loan { cmd, .. } => loans::run(&ctx, cmd).await,
        C::Key { cmd, .. } => governance::run_key(&ctx, cmd).await,
        C::Pending { all, .. } => {
            let items = c.approvals(dual_control::state_filter(*all)).await?;
            ctx.print(&items, |i| dual_control::text(i))
        }
        _ => unreachable_verb(),
    }
}

/// The `invoice` verbs that are not a single ready-made action.
async fn run_invoice(ctx: &Ctx, cmd: &InvoiceCmd) -> Result<()> {
    let c = &ctx.client;
    match cmd {
        InvoiceCmd::Show { id } => ctx.show(&c.invoice(id).await?),
        InvoiceCmd::Register { .. } => {
            let action = register_action(c, cmd).await?;
            ctx.sign_and_submit(action).await
        }
        InvoiceCmd::Import {
            files,
            confirm,
            party_map,
            order,
            due_days,
        } => {
            let signer = ctx.signer().await?;
            let mut opts = ImportOptions::new(signer.org().clone());
            opts.confirm = *confirm;
            opts.default_order = order.clone();
            opts.default_due_days = *due_days;
            if let Some(p) = party_map {
                opts.party_map =
                    PartyMap::load(p).map_err(|e| anyhow!("party map {}: {e}", p.display()))?;
            }
            let report = lianrong_importer::run(&SignerLedger(&signer), files, &opts).await;
            ctx.print(&report, |r| r.to_string())?;
            if !report.is_success() {
                bail!(
                    "import incomplete: {} rejected{}",
                    report.summary.rejected,
                    report
                        .error
                        .as_deref()
                        .map(|e| format!("; {e}"))
                        .unwrap_or_default()
                );
            }
            Ok(())
        }
        _ => unreachable_verb(),
    }
}

/// The `receivable` reads.
/// At most `at_most` receivables matching `filter`, read page by page, and whether the
/// list was cut there (the node's list goes on).
async fn receivables_up_to(
    c: &Client,
    filter: &lianrong_sdk::ReceivableFilter,
    at_most: usize,
) -> Result<(Vec<lianrong_contracts::model::Receivable>, bool)> {
    let mut walk = lianrong_sdk::PageWalk::new("/v1/receivables", None);
    let mut out = Vec::new();
    while !walk.is_done() {
        if out.len() >= at_most {
            return Ok((out, true));
        }
        let f = lianrong_sdk::ReceivableFilter {
            after: walk.after().cloned(),
            limit: Some(lianrong_sdk::MAX_PAGE),
            ..filter.clone()
        };
        let page = c.receivables_page(&f).await?;
        walk.advance(page.next)?;
        out.extend(page.items);
        if out.len() > at_most {
            out.truncate(at_most);
            return Ok((out, true));
        }
    }
    Ok((out, false))
}

async fn run_receivable(ctx: &Ctx, cmd: &ReceivableCmd) -> Result<()> {
    let c = &ctx.client;
    match cmd {
        ReceivableCmd::Show { id } => ctx.show(&c.receivable(id).await?),
        ReceivableCmd::List {
            holder,
            debtor,
            status,
            limit,
        } => {
            let filter = lianrong_sdk::ReceivableFilter {
                holder: holder.clone(),
                debtor: debtor.clone(),
                status: *status,
                ..Default::default()
            };
            let at_most = limit.unwrap_or(lianrong_sdk::MAX_LISTED);
            let (list, cut) = receivables_up_to(c, &filter, at_most).await?;
            ctx.print(&list, |r| output::receivables(r))?;
            if cut {
                eprintln!(
                    "only the first {} receivables are shown; more may match (raise --limit)",
                    list.len()
                );
            }
            Ok(())
        }
        ReceivableCmd::History { id } => {
            ctx.print(&c.receivable_history(id).await?, output::history)
        }
        _ => unreachable_verb(),
    }
}

/// `financing show`, and `financing disburse` without `--net`.
async fn run_financing(ctx: &Ctx, cmd: &FinancingCmd) -> Result<()> {
    let c = &ctx.client;
    match cmd {
        FinancingCmd::Show { financing } => {
            let view = c.financing_view(financing).await?;
            let f = &view.financing;
            let mut offers = Vec::new();
            for o in f
                .offers
                .iter()
                .take(lianrong_contracts::model::MAX_INVITED_BANKS)
            {
                offers.push(c.offer_view(o).await?);
            }
            let both = serde_json::json!({"financing": view, "offers": offers});
            ctx.print(&both, |_| {
                let overdue = overdue::overdue_text(&view);
                let text = offers::financing_text(f, &offers);
                if overdue.is_empty() {
                    text
                } else {
                    format!("{text}\n\n{overdue}")
                }
            })
        }
        FinancingCmd::Buyback {
            financing,
            payment_ref,
            amount: None,
        } => overdue::buyback_today(ctx, financing, payment_ref).await,
        FinancingCmd::Disburse {
            financing,
            payment_ref,
            net: None,
        } => {
            let net = net_as_of_today(c, financing).await?;
            ctx.sign_and_submit(Action::Disburse {
                financing: financing.clone(),
                payment_ref: payment_ref.clone(),
                net,
            })
            .await
        }
        FinancingCmd::Registration { financing, csv } => {
            let record = registration_record(c, financing).await?;
            if *csv && !ctx.json {
                print!("{}", registration_csv(&record)?);
                Ok(())
            } else {
                ctx.show(&record)
            }
        }
        FinancingCmd::Sell { .. } | FinancingCmd::Sale { .. } => sales::run(ctx, cmd).await,
        FinancingCmd::Offer {
            financing,
            rate,
            fees,
            valid_until: None,
            penalty_rate,
            recourse,
        } => {
            let (today, _) = ledger_today(c).await?;
            // Under a programme, offers stay valid as long as its terms say.
            let days = match c.financing(financing).await?.programme {
                Some(p) => u64::from(c.programme(&p).await?.programme.terms.offer_valid_days),
                None => DEFAULT_OFFER_VALID_DAYS,
            };
            let until = today + chrono::Days::new(days);
            let action =
                overdue::offer_action(financing, (*rate, *fees, until), *penalty_rate, *recourse);
            ctx.sign_and_submit(action).await
        }
        _ => unreachable_verb(),
    }
}

/// The 中登网 record of a disbursed financing, from the ledger's documents.
async fn registration_record(
    c: &Client,
    financing: &DocId,
) -> Result<lianrong_sdk::api_types::registration::RegistrationRecord> {
    use lianrong_sdk::api_types::registration::{Parties, RegistrationRecord};
    let f = c.financing(financing).await?;
    let r = c.receivable(&f.receivable).await?;
    let invoice = c.invoice(&r.invoice).await?;
    let Some(terms) = &f.terms else {
        bail!("financing {financing} has no funding bank yet: nothing to register");
    };
    let supplier = c.org(&f.applicant).await?;
    let bank = c.org(&terms.bank).await?;
    let debtor = c.org(&r.debtor).await?;
    let chain_id = c.status().await?.chain_id;
    let parties = Parties {
        supplier: &supplier,
        bank: &bank,
        debtor: &debtor,
    };
    Ok(RegistrationRecord::build(
        &chain_id, &f, &r, &invoice, &parties,
    )?)
}

/// The record as one CSV row under its header.
fn registration_csv(
    record: &lianrong_sdk::api_types::registration::RegistrationRecord,
) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.serialize(record)?;
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// Days an offer stays valid when `financing offer` is given no `--valid-until`.
const DEFAULT_OFFER_VALID_DAYS: u64 = 7;

/// The ledger's business date (of its last finalized block) and its day count.
async fn ledger_today(
    c: &Client,
) -> Result<(lianrong_sdk::NaiveDate, lianrong_contracts::money::DayCount)> {
    let st = c.status().await?;
    let today = lianrong_contracts::exec::business_date(
        st.last_finalized_at_ms,
        st.params.utc_offset_minutes,
    )
    .ok_or_else(|| anyhow!("the ledger's block time is out of the calendar's range"))?;
    Ok((today, st.params.day_count))
}

/// The net a disbursement recorded today must state: the accepted terms' face, rate and
/// fees, with the days counted from today (the value date) to maturity, exactly as the
/// ledger computes them.
async fn net_as_of_today(
    c: &Client,
    financing: &DocId,
) -> Result<lianrong_contracts::money::Amount> {
    let f = c.financing(financing).await?;
    let terms = f.terms.ok_or_else(|| {
        anyhow!("{financing} has no accepted offer yet, so there is no agreed net")
    })?;
    let r = c.receivable(&f.receivable).await?;
    let (today, day_count) = ledger_today(c).await?;
    let days = u32::try_from((r.maturity - today).num_days())
        .map_err(|_| anyhow!("{} is past maturity", r.id))?;
    // The discount runs on what is advanced (the whole face outside programmes).
    let disc = lianrong_contracts::money::discount(&terms.advanced, terms.rate, days, day_count)?;
    terms
        .advanced
        .amount
        .checked_sub(disc.amount)
        .and_then(|n| n.checked_sub(terms.fees.amount))
        .ok_or_else(|| {
            anyhow!(
                "discount and fees leave nothing of {}",
                terms.advanced.to_fixed()
            )
        })
}

/// Every write verb returns an action from [`ClientCommand::action`] before the match.
fn unreachable_verb() -> Result<()> {
    bail!("internal: this verb has no handler")
}

/// `invoice register`: the tax ids default to the parties' registered ones (readable for
/// one's own org and, once the seller accepted an order between them, for its
/// counterparty; otherwise masked, so pass it explicitly).
async fn register_action(c: &Client, cmd: &InvoiceCmd) -> Result<Action> {
    let InvoiceCmd::Register {
        id,
        order,
        number,
        issue_date,
        due_date,
        maturity,
        amount,
        currency,
        seller_tax_id,
        buyer_tax_id,
        doc,
        confirm,
    } = cmd
    else {
        bail!("internal: not a register command");
    };
    let amount = args::money(amount, currency)?;
    let doc_hash = doc.hash()?;
    let (seller_tax_id, buyer_tax_id) = match (seller_tax_id, buyer_tax_id) {
        (Some(s), Some(b)) => (s.clone(), b.clone()),
        (s, b) => {
            let o = c.order(order).await?;
            let pick = |given: &Option<String>, org: Org, flag: &str| -> Result<String> {
                match given {
                    Some(g) => Ok(g.clone()),
                    None if org.tax_id.contains('*') => bail!(
                        "the tax id of {} is masked for you; pass it with {flag}",
                        org.id
                    ),
                    None => Ok(org.tax_id),
                }
            };
            (
                pick(s, c.org(&o.seller).await?, "--seller-tax-id")?,
                pick(b, c.org(&o.buyer).await?, "--buyer-tax-id")?,
            )
        }
    };
    Ok(Action::RegisterInvoice {
        invoice: InvoiceSpec {
            id: id.clone(),
            order: order.clone(),
            number: number.clone(),
            issue_date: *issue_date,
            due_date: *due_date,
            maturity: *maturity,
            amount,
            seller_tax_id,
            buyer_tax_id,
            doc_hash,
        },
        confirm: *confirm,
    })
}

/// The importer's view of the ledger (`lianrong_importer::InvoiceLedger`) through a
/// signer and its client; used by `invoice import` and the demo.
pub struct SignerLedger<'a>(
    /// Signs the registrations; its client answers the queries.
    pub &'a Signer,
);

fn ledger_error(e: SdkError) -> LedgerError {
    // The caller's (or the ledger's) refusal, versus a node that could not answer.
    match &e {
        SdkError::Refused { .. } => LedgerError::Rejected(e.to_string()),
        SdkError::Api { status, .. } if (400..500).contains(status) && *status != 429 => {
            LedgerError::Rejected(e.to_string())
        }
        _ => LedgerError::Unavailable(e.to_string()),
    }
}

impl InvoiceLedger for SignerLedger<'_> {
    async fn orgs(&self) -> std::result::Result<Vec<Org>, LedgerError> {
        self.0.client().orgs().await.map_err(ledger_error)
    }

    async fn invoice_by_fingerprint(
        &self,
        fingerprint: &Hash,
    ) -> std::result::Result<Option<Invoice>, LedgerError> {
        let found = self
            .0
            .client()
            .invoices_by_fingerprint(fingerprint)
            .await
            .map_err(ledger_error)?;
        Ok(found.into_iter().next())
    }

    async fn invoice_by_number(
        &self,
        seller: &OrgId,
        number: &str,
    ) -> std::result::Result<Option<Invoice>, LedgerError> {
        self.0
            .client()
            .invoice_by_number(seller, number)
            .await
            .map_err(ledger_error)
    }

    async fn confirm(&self, invoice: &DocId) -> std::result::Result<(), LedgerError> {
        self.0
            .confirm_invoice(invoice.clone(), None)
            .await
            .map(|_| ())
            .map_err(ledger_error)
    }

    async fn register(
        &self,
        spec: &InvoiceSpec,
        confirm: bool,
    ) -> std::result::Result<DocId, LedgerError> {
        self.0
            .register_invoice(spec.clone(), confirm)
            .await
            .map(|_| spec.id.clone())
            .map_err(ledger_error)
    }
}

#[cfg(test)]
mod tests;
