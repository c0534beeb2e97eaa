//! An imported invoice with resolved parties to the ledger action that registers it, and
//! its fingerprint (computed by the contracts' own function, so the pre-submit duplicate
//! check and the ledger's guard can never disagree).

use chrono::{Days, NaiveDate};
use lianrong_contracts::exec::check_text;
use lianrong_contracts::exec::invoices::{canonical_number, fingerprint, normalize_identifier};
use lianrong_contracts::model::{DocId, Invoice, Org};
use lianrong_contracts::{Action, InvoiceSpec};
use lianrong_primitives::{Hash, OrgId};
use serde::Serialize;

use super::error::clip;
use super::model::{IdKind, ImportedInvoice, PartyRef};
use super::resolve::PartyMap;
use super::ubl::BILLING_REFERENCE;

/// Longest default payment term accepted, in days (the ledger's tenor cap is below it).
pub const MAX_DEFAULT_DUE_DAYS: u32 = 3650;

/// What the importer needs to know besides the files (the CLI flags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// The org whose key signs the registrations; it must be the seller or the buyer.
    pub importer: OrgId,
    /// Register and confirm in one transaction (`--confirm`); the importer must then be
    /// the buyer of every invoice.
    pub confirm: bool,
    /// The order to bill when a document names none (`--order`).
    pub default_order: Option<DocId>,
    /// Due date = issue date + this many days when a document has no due date
    /// (`--due-days`); without it such a document is refused.
    pub default_due_days: Option<u32>,
    /// External party ids to org ids (`--party-map FILE`), on top of the orgs' registered
    /// tax ids and identifiers.
    pub party_map: PartyMap,
}

impl ImportOptions {
    /// Options for `importer`: no confirmation, no defaults.
    pub fn new(importer: OrgId) -> Self {
        ImportOptions {
            importer,
            confirm: false,
            default_order: None,
            default_due_days: None,
            party_map: PartyMap::new(),
        }
    }
}

/// Why an invoice cannot become a ledger action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlanError {
    /// No order reference in the document and no `--order` default.
    #[error("missing {element} (no order reference; pass --order to bill a known order)")]
    MissingOrder {
        /// Where the order reference belongs.
        element: String,
    },
    /// No due date in the document and no `--due-days` default.
    #[error("missing {element} (no due date; pass --due-days to derive one from the issue date)")]
    MissingDueDate {
        /// Where the due date belongs.
        element: String,
    },
    /// A field the ledger would refuse.
    #[error("{element}: {value:?} {reason}")]
    Invalid {
        /// The element or column.
        element: String,
        /// The value (clipped).
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// The ledger shows the party's tax id masked to this importer and no identifier in
    /// the file fits it: the invoice would carry a tax id the ledger refuses.
    #[error(
        "the {role} {org}'s registered tax id is masked for you ({masked}) and the file prints \
         no identifier that fits it (it prints {printed:?}): print the {role}'s registered tax \
         id on the invoice, or ask {org} for it"
    )]
    TaxIdNotInFile {
        /// seller or buyer.
        role: String,
        /// The org the party resolved to.
        org: String,
        /// Its tax id as the ledger shows it.
        masked: String,
        /// The identifiers the file prints for the party (clipped).
        printed: Vec<String>,
    },
    /// The due date is before the issue date.
    #[error("due date {due} is before issue date {issue}")]
    DueBeforeIssue {
        /// Due date.
        due: NaiveDate,
        /// Issue date.
        issue: NaiveDate,
    },
    /// Seller and buyer are the same org.
    #[error("seller and buyer are both {org}")]
    SameParty {
        /// The org.
        org: OrgId,
    },
    /// The importer is neither seller nor buyer, so the ledger would refuse it.
    #[error("importer {importer} is neither the seller ({seller}) nor the buyer ({buyer})")]
    NotAParty {
        /// The importing org.
        importer: OrgId,
        /// The seller.
        seller: OrgId,
        /// The buyer.
        buyer: OrgId,
    },
    /// The document is payable to another party than the seller: the claim was assigned
    /// (to a factor, usually), so it is not the seller's to register or finance again.
    #[error(
        "cac:PayeeParty {payee} is not the seller {seller}: the invoice is payable to another \
         party (assigned to a factor?), and an assigned claim cannot be registered for \
         financing; import the invoice as the seller issued it, payable to itself"
    )]
    PayeeNotSeller {
        /// The payee as the file names it (name and identifiers, clipped).
        payee: String,
        /// The seller org.
        seller: OrgId,
    },
    /// UNTDID 1001 type 393: the claim was sold to a factor before it reached the ledger.
    #[error(
        "cbc:InvoiceTypeCode 393 (factored invoice): the claim already belongs to a factor, \
         so registering it would finance it twice"
    )]
    FactoredInvoice,
    /// UNTDID 1001 type 384 naming no original: a correction replaces an invoice, and
    /// without its number nobody can check that the original was voided on the ledger.
    #[error(
        "cbc:InvoiceTypeCode 384 (corrected invoice) without an original: it names no \
         {BILLING_REFERENCE}, so nothing shows that the invoice it corrects was voided on the \
         ledger; reference the original's number, or import it as a commercial invoice (380)"
    )]
    CorrectedWithoutOriginal,
    /// UNTDID 1001 type 384 whose original is not voided on the ledger (or not there):
    /// registering the correction would put the same claim on the ledger twice.
    #[error(
        "cbc:InvoiceTypeCode 384 (corrected invoice): its original {number:?} {state}; a \
         correction is imported only once its original is voided on the ledger (the seller \
         runs `lianrong invoice void ID`)"
    )]
    OriginalNotVoided {
        /// The original's number as the file references it (clipped).
        number: String,
        /// What the ledger holds under it, e.g. "is INV-7, confirmed on the ledger".
        state: String,
    },
    /// The file prints a tax id for a party that is not the one the org registered.
    #[error(
        "{element}: the file prints {role} tax id {printed:?}, but {org} is registered with \
         {registered:?}: correct the invoice (or the org's registration) before importing"
    )]
    TaxIdDiffers {
        /// The element printing it.
        element: String,
        /// seller or buyer.
        role: String,
        /// The org the party resolved to.
        org: String,
        /// As printed (clipped).
        printed: String,
        /// As the ledger shows it (masked for other orgs).
        registered: String,
    },
    /// `--confirm` was asked but only the buyer confirms.
    #[error("--confirm: only the buyer ({buyer}) confirms, the importer {importer} is the seller")]
    ConfirmNotBuyer {
        /// The importing org.
        importer: OrgId,
        /// The buyer.
        buyer: OrgId,
    },
}

impl PlanError {
    /// The element or column the error is about, when there is one.
    pub fn element(&self) -> Option<&str> {
        match self {
            PlanError::MissingOrder { element }
            | PlanError::MissingDueDate { element }
            | PlanError::Invalid { element, .. }
            | PlanError::TaxIdDiffers { element, .. } => Some(element),
            PlanError::PayeeNotSeller { .. } => Some("cac:PayeeParty"),
            PlanError::FactoredInvoice | PlanError::CorrectedWithoutOriginal => {
                Some("cbc:InvoiceTypeCode")
            }
            PlanError::OriginalNotVoided { .. } => Some(BILLING_REFERENCE),
            _ => None,
        }
    }
}

/// One invoice ready to submit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedInvoice {
    /// The registration data.
    pub spec: InvoiceSpec,
    /// Whether to confirm in the same transaction.
    pub confirm: bool,
    /// The ledger-wide duplicate guard for this invoice.
    pub fingerprint: Hash,
    /// The seller org.
    pub seller: OrgId,
    /// The buyer org.
    pub buyer: OrgId,
}

impl PlannedInvoice {
    /// The action to sign.
    pub fn action(&self) -> Action {
        Action::RegisterInvoice {
            invoice: self.spec.clone(),
            confirm: self.confirm,
        }
    }
}

/// The ledger id used when the source gives none: derived from the fingerprint, so a
/// re-run or another importer of the same invoice picks the same id, and two sellers'
/// invoices with the same number never collide.
#[allow(
    clippy::expect_used,
    reason = "'INV-' and 32 hex digits always form a valid DocId"
)]
pub fn derived_invoice_id(fp: &Hash) -> DocId {
    let hex = fp.to_hex();
    // 128 bits of the fingerprint: collisions are not a practical concern, and the id
    // stays readable. Hex digits and '-' are always a valid DocId.
    DocId::new(format!("INV-{}", &hex[..32])).expect("INV- and hex digits form a valid DocId")
}

fn doc_id(element: &str, value: &str) -> Result<DocId, PlanError> {
    DocId::new(value).map_err(|_| PlanError::Invalid {
        element: element.into(),
        value: clip(value),
        reason: "is not a valid ledger id (1-64 characters A-Z a-z 0-9 - _ .)".into(),
    })
}

/// Builds the registration for `inv` whose parties resolved to `seller` and `buyer`.
///
/// The spec carries the orgs' *registered* tax ids (the file may name the party by a VAT
/// number or endpoint instead); the contracts fingerprint the seller's registered tax id,
/// so this is also what the duplicate pre-check must use.
pub fn plan(
    inv: &ImportedInvoice,
    seller: &Org,
    buyer: &Org,
    opts: &ImportOptions,
) -> Result<PlannedInvoice, PlanError> {
    check_parties(seller, buyer, opts)?;
    check_document_kind(inv)?;
    check_payee(inv, seller)?;
    check_printed_tax_ids(&inv.seller, seller)?;
    check_printed_tax_ids(&inv.buyer, buyer)?;
    check_text("number", &inv.number, 1, 64).map_err(|e| PlanError::Invalid {
        element: inv.number_element().into(),
        value: clip(&inv.number),
        reason: e.to_string(),
    })?;
    let order = order_of(inv, opts)?;
    let due_date = due_date_of(inv, opts)?;
    let seller_tax_id = tax_id_of(seller, &inv.seller)?;
    let buyer_tax_id = tax_id_of(buyer, &inv.buyer)?;
    let fp = fingerprint(
        &seller_tax_id,
        &inv.number,
        inv.issue_date,
        inv.amount.currency,
        inv.amount.amount,
    );
    let id = match &inv.ledger_id {
        Some(id) => doc_id("column invoice_id", id)?,
        None => derived_invoice_id(&fp),
    };
    Ok(PlannedInvoice {
        spec: InvoiceSpec {
            id,
            order,
            number: inv.number.clone(),
            issue_date: inv.issue_date,
            due_date,
            // The receivable matures on the due date: a file names no other maturity.
            maturity: None,
            amount: inv.amount,
            seller_tax_id,
            buyer_tax_id,
            doc_hash: inv.doc_hash,
        },
        confirm: opts.confirm,
        fingerprint: fp,
        seller: seller.id.clone(),
        buyer: buyer.id.clone(),
    })
}

/// How an invoice already on the ledger differs from the planned one, field by field
/// (seller, buyer, order, number, dates, amount), each as "field: file X, ledger Y";
/// empty when it is the same invoice.
pub fn mismatches(planned: &PlannedInvoice, existing: &Invoice) -> Vec<String> {
    let spec = &planned.spec;
    let mut out = Vec::new();
    let mut differ = |field: &str, file: String, ledger: String| {
        if file != ledger {
            out.push(format!("{field}: file {file}, ledger {ledger}"));
        }
    };
    differ(
        "seller",
        planned.seller.to_string(),
        existing.seller.to_string(),
    );
    differ(
        "buyer",
        planned.buyer.to_string(),
        existing.buyer.to_string(),
    );
    differ("order", spec.order.to_string(), existing.order.to_string());
    differ(
        "number",
        normalize_identifier(&spec.number),
        normalize_identifier(&existing.number),
    );
    differ(
        "issue date",
        spec.issue_date.to_string(),
        existing.issue_date.to_string(),
    );
    differ(
        "due date",
        spec.due_date.to_string(),
        existing.due_date.to_string(),
    );
    differ(
        "amount",
        spec.amount.to_string(),
        existing.amount.to_string(),
    );
    out
}

/// Refuses what the ledger would refuse about who registers: the importer must be the
/// seller or the buyer, and only the buyer confirms.
fn check_parties(seller: &Org, buyer: &Org, opts: &ImportOptions) -> Result<(), PlanError> {
    if seller.id == buyer.id {
        return Err(PlanError::SameParty {
            org: seller.id.clone(),
        });
    }
    if opts.importer != seller.id && opts.importer != buyer.id {
        return Err(PlanError::NotAParty {
            importer: opts.importer.clone(),
            seller: seller.id.clone(),
            buyer: buyer.id.clone(),
        });
    }
    if opts.confirm && opts.importer != buyer.id {
        return Err(PlanError::ConfirmNotBuyer {
            importer: opts.importer.clone(),
            buyer: buyer.id.clone(),
        });
    }
    Ok(())
}

/// Refuses the UNTDID 1001 invoice types whose claim is not plainly the seller's: 393
/// (factored), and 384 (corrected) naming no original or an original that cannot be an
/// invoice number. Whether a 384's originals are voided is the ledger's to say: the run
/// looks them up ([`corrected_originals`]) before submitting anything.
fn check_document_kind(inv: &ImportedInvoice) -> Result<(), PlanError> {
    match inv.type_code.as_deref() {
        Some("393") => Err(PlanError::FactoredInvoice),
        Some("384") => {
            if inv.billing_references.is_empty() {
                return Err(PlanError::CorrectedWithoutOriginal);
            }
            for number in &inv.billing_references {
                canonical_number(number).map_err(|reason| PlanError::Invalid {
                    element: BILLING_REFERENCE.into(),
                    value: clip(number),
                    reason,
                })?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The originals a corrected invoice (type code 384) replaces, by number; empty for any
/// other document. Each must be voided on the ledger, by the same seller, before the
/// correction is registered.
pub(crate) fn corrected_originals(inv: &ImportedInvoice) -> &[String] {
    match inv.type_code.as_deref() {
        Some("384") => &inv.billing_references,
        _ => &[],
    }
}

/// An identifier as the ledger compares them (the contracts' normalisation).
fn norm(s: &str) -> String {
    normalize_identifier(s)
}

/// Does `value` name `org`: its tax id or one of its identifiers (also as
/// `scheme:value`), compared normalised, or fitting one the ledger shows masked?
fn names_org(org: &Org, scheme: Option<&str>, value: &str) -> bool {
    let given = norm(value);
    let with_scheme = scheme.map(|s| norm(&format!("{s}:{value}")));
    std::iter::once(&org.tax_id)
        .chain(org.identifiers.iter())
        .any(|known| {
            if known.contains('*') {
                lianrong_primitives::mask(value.trim()) == *known
            } else {
                let k = norm(known);
                k == given || with_scheme.as_ref() == Some(&k)
            }
        })
}

/// A `cac:PayeeParty` must be the seller: one of its identifiers names the seller (in the
/// file or on the ledger), or, with no identifiers, its name is the seller's.
fn check_payee(inv: &ImportedInvoice, seller: &Org) -> Result<(), PlanError> {
    let Some(payee) = &inv.payee else {
        return Ok(());
    };
    let printed: Vec<String> = inv.seller.ids.iter().map(|i| norm(&i.value)).collect();
    let same = if payee.ids.is_empty() {
        let name = |p: &PartyRef| p.name.as_deref().map(|n| n.trim().to_lowercase());
        name(payee).is_some() && name(payee) == name(&inv.seller)
    } else {
        payee.ids.iter().any(|i| {
            printed.contains(&norm(&i.value)) || names_org(seller, i.scheme.as_deref(), &i.value)
        })
    };
    if same {
        return Ok(());
    }
    let mut described: Vec<String> = payee.name.iter().map(|n| clip(n)).collect();
    described.extend(payee.ids.iter().map(|i| clip(&i.value)));
    Err(PlanError::PayeeNotSeller {
        payee: format!("{described:?}"),
        seller: seller.id.clone(),
    })
}

/// Every tax id the file prints for a party (`cac:PartyTaxScheme/cbc:CompanyID`) must be
/// the org's registered tax id or one of its registered identifiers: a different one means
/// the file and the ledger disagree about who this is, and is reported before anything is
/// submitted.
fn check_printed_tax_ids(party: &PartyRef, org: &Org) -> Result<(), PlanError> {
    for id in party.ids.iter().filter(|i| i.kind == IdKind::TaxCompanyId) {
        if !names_org(org, id.scheme.as_deref(), &id.value) {
            return Err(PlanError::TaxIdDiffers {
                element: party.element(id.kind),
                role: party.role.to_string(),
                org: org.id.to_string(),
                printed: clip(&id.value),
                registered: org.tax_id.clone(),
            });
        }
    }
    Ok(())
}

/// The document's order reference, else the `--order` default.
fn order_of(inv: &ImportedInvoice, opts: &ImportOptions) -> Result<DocId, PlanError> {
    match (&inv.order, &opts.default_order) {
        (Some(o), _) => doc_id(inv.order_element(), o),
        (None, Some(d)) => Ok(d.clone()),
        (None, None) => Err(PlanError::MissingOrder {
            element: inv.order_element().into(),
        }),
    }
}

/// The document's due date, else the issue date plus `--due-days`; never before the
/// issue date.
fn due_date_of(inv: &ImportedInvoice, opts: &ImportOptions) -> Result<NaiveDate, PlanError> {
    let due_date = match (inv.due_date, opts.default_due_days) {
        (Some(d), _) => d,
        (None, Some(days)) if days <= MAX_DEFAULT_DUE_DAYS => inv
            .issue_date
            .checked_add_days(Days::new(u64::from(days)))
            .ok_or_else(|| PlanError::Invalid {
                element: "--due-days".into(),
                value: days.to_string(),
                reason: "leaves the calendar".into(),
            })?,
        (None, Some(days)) => {
            return Err(PlanError::Invalid {
                element: "--due-days".into(),
                value: days.to_string(),
                reason: format!("is above {MAX_DEFAULT_DUE_DAYS}"),
            })
        }
        (None, None) => {
            return Err(PlanError::MissingDueDate {
                element: inv.due_date_element().into(),
            })
        }
    };
    if due_date < inv.issue_date {
        return Err(PlanError::DueBeforeIssue {
            due: due_date,
            issue: inv.issue_date,
        });
    }
    Ok(due_date)
}

/// The tax id to put on the invoice for `org`. A node shows members other orgs' tax ids
/// masked (first four and last two characters kept); then the full value must come from
/// the file itself: the party identifier that the masked one could have come from. A
/// masked value never goes into a transaction: without a fitting identifier in the file
/// the item stops here, naming what the file prints instead.
fn tax_id_of(org: &Org, party: &PartyRef) -> Result<String, PlanError> {
    if !org.tax_id.contains('*') {
        return Ok(org.tax_id.clone());
    }
    let fits = |value: &str| lianrong_primitives::mask(value) == org.tax_id;
    if let Some(v) = party.ids.iter().map(|id| id.value.trim()).find(|v| fits(v)) {
        return Ok(v.to_string());
    }
    let printed: Vec<String> = party.ids.iter().map(|id| clip(&id.value)).collect();
    Err(PlanError::TaxIdNotInFile {
        role: party.role.to_string(),
        org: org.id.to_string(),
        masked: org.tax_id.clone(),
        printed,
    })
}
