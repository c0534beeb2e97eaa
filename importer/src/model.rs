//! What the parsers produce: an invoice as read from a file, before its parties are
//! known on the ledger.

use chrono::NaiveDate;
use lianrong_contracts::money::Money;
use lianrong_primitives::Hash;
use serde::Serialize;

/// The file format an invoice was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    /// UBL 2.1 `Invoice` XML (Peppol BIS Billing 3.0).
    Ubl,
    /// The documented CSV layout (see the module README).
    Csv,
}

/// Which side of the invoice a party is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PartyRole {
    /// The supplier (UBL `AccountingSupplierParty`, CSV `seller_id`).
    Seller,
    /// The debtor (UBL `AccountingCustomerParty`, CSV `buyer_id`).
    Buyer,
    /// Who is to be paid, when the document names one (UBL `PayeeParty`): another party
    /// than the seller means the claim was assigned (to a factor, usually).
    Payee,
}

impl std::fmt::Display for PartyRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PartyRole::Seller => "seller",
            PartyRole::Buyer => "buyer",
            PartyRole::Payee => "payee",
        })
    }
}

/// Which identifier of a party a value came from, so errors can name the element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdKind {
    /// `cbc:EndpointID` (the Peppol electronic address).
    EndpointId,
    /// `cac:PartyIdentification/cbc:ID`.
    PartyIdentification,
    /// `cac:PartyTaxScheme/cbc:CompanyID` (VAT or tax registration number).
    TaxCompanyId,
    /// `cac:PartyLegalEntity/cbc:CompanyID` (legal registration number).
    LegalCompanyId,
    /// A CSV column (`seller_id` or `buyer_id`).
    CsvColumn,
}

/// One identifier of a party as written in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartyId {
    /// Where it came from.
    pub kind: IdKind,
    /// The `schemeID` attribute, if any (e.g. `0088` for a GLN).
    pub scheme: Option<String>,
    /// The identifier, white space trimmed.
    pub value: String,
}

/// Most identifiers kept per party: UBL allows repeats, real documents carry a few.
pub const MAX_PARTY_IDS: usize = 16;

/// Most invoices one document may reference (`cac:BillingReference`): a correction
/// replaces one original, rarely a few.
pub const MAX_BILLING_REFERENCES: usize = 16;

/// A party as the file names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartyRef {
    /// Seller or buyer.
    pub role: PartyRole,
    /// Registration or trading name, for messages only (never used to match).
    pub name: Option<String>,
    /// Every identifier found, in document order.
    pub ids: Vec<PartyId>,
}

impl PartyRef {
    /// An empty party reference for `role`.
    pub fn new(role: PartyRole) -> Self {
        PartyRef {
            role,
            name: None,
            ids: Vec::new(),
        }
    }

    /// Where this party sits in a source of `format`: the UBL party element or the CSV
    /// column.
    pub fn location(&self, format: SourceFormat) -> &'static str {
        match (format, self.role) {
            (SourceFormat::Ubl, PartyRole::Seller) => "cac:AccountingSupplierParty/cac:Party",
            (SourceFormat::Ubl, PartyRole::Buyer) => "cac:AccountingCustomerParty/cac:Party",
            (SourceFormat::Csv, PartyRole::Seller) => "column seller_id",
            (SourceFormat::Csv, PartyRole::Buyer) => "column buyer_id",
            (_, PartyRole::Payee) => "cac:PayeeParty",
        }
    }

    /// Where an identifier of this party sits in the source, e.g.
    /// `cac:AccountingSupplierParty/cac:Party/cbc:EndpointID` or `column seller_id`.
    pub fn element(&self, kind: IdKind) -> String {
        let party = match self.role {
            PartyRole::Seller => "cac:AccountingSupplierParty/cac:Party",
            PartyRole::Buyer => "cac:AccountingCustomerParty/cac:Party",
            PartyRole::Payee => "cac:PayeeParty",
        };
        match kind {
            IdKind::EndpointId => format!("{party}/cbc:EndpointID"),
            IdKind::PartyIdentification => format!("{party}/cac:PartyIdentification/cbc:ID"),
            IdKind::TaxCompanyId => format!("{party}/cac:PartyTaxScheme/cbc:CompanyID"),
            IdKind::LegalCompanyId => format!("{party}/cac:PartyLegalEntity/cbc:CompanyID"),
            IdKind::CsvColumn => match self.role {
                PartyRole::Seller => "column seller_id".into(),
                PartyRole::Buyer | PartyRole::Payee => "column buyer_id".into(),
            },
        }
    }
}

/// An invoice as read from one file (UBL) or one row (CSV), not yet tied to ledger orgs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportedInvoice {
    /// The format it was read from.
    pub format: SourceFormat,
    /// Invoice number as printed (UBL `cbc:ID`).
    pub number: String,
    /// Issue date.
    pub issue_date: NaiveDate,
    /// Due date, when the document states one (UBL `cbc:DueDate` is optional).
    pub due_date: Option<NaiveDate>,
    /// UBL `cbc:InvoiceTypeCode` (e.g. `380`); `None` for CSV.
    pub type_code: Option<String>,
    /// Amount payable, in the document currency.
    pub amount: Money,
    /// The seller as named in the file.
    pub seller: PartyRef,
    /// The buyer as named in the file.
    pub buyer: PartyRef,
    /// The payee (UBL `cac:PayeeParty`), when the document names one; `None` for CSV.
    pub payee: Option<PartyRef>,
    /// The purchase order referenced (UBL `cac:OrderReference/cbc:ID`, CSV `order_id`).
    pub order: Option<String>,
    /// The earlier invoices this one refers to, by number (UBL
    /// `cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID`, in document order): the
    /// originals a corrected invoice (type code 384) replaces. Empty for CSV.
    pub billing_references: Vec<String>,
    /// An explicit ledger id (CSV `invoice_id`); otherwise one is derived from the
    /// fingerprint.
    pub ledger_id: Option<String>,
    /// Commitment to the original: SHA-256 of the file bytes (UBL) or of the canonical
    /// row (CSV).
    pub doc_hash: Hash,
    /// The CSV line the row starts on (1 is the header); `None` for UBL.
    pub line: Option<u64>,
}

impl ImportedInvoice {
    /// Where the order reference sits in this invoice's format.
    pub fn order_element(&self) -> &'static str {
        match self.format {
            SourceFormat::Ubl => "cac:OrderReference/cbc:ID",
            SourceFormat::Csv => "column order_id",
        }
    }

    /// Where the due date sits in this invoice's format.
    pub fn due_date_element(&self) -> &'static str {
        match self.format {
            SourceFormat::Ubl => "cbc:DueDate",
            SourceFormat::Csv => "column due_date",
        }
    }

    /// Where the invoice number sits in this invoice's format.
    pub fn number_element(&self) -> &'static str {
        match self.format {
            SourceFormat::Ubl => "cbc:ID",
            SourceFormat::Csv => "column invoice_number",
        }
    }
}
