//! The batch driver: read files, parse, resolve, plan, skip what the ledger already has,
//! register the rest, and report every file or row.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};

use lianrong_contracts::model::{DocId, Invoice, InvoiceStatus, Org, Role};
use lianrong_contracts::money::Money;
use lianrong_contracts::InvoiceSpec;
use lianrong_primitives::{Hash, OrgId};
use serde::Serialize;
use tokio::io::AsyncReadExt;

use super::csv_layout::parse_csv;
use super::error::{clip, ImportError};
use super::model::{ImportedInvoice, PartyRef, SourceFormat};
use super::plan::{
    corrected_originals, mismatches, plan, ImportOptions, PlanError, PlannedInvoice,
};
use super::resolve::PartyDirectory;
use super::ubl::{parse_ubl, MAX_FILE_BYTES};

/// Most files in one batch.
pub const MAX_BATCH_FILES: usize = 10_000;
/// Most items (files plus CSV rows) reported in one batch; the rest is left for another run.
pub const MAX_BATCH_ITEMS: usize = 100_000;

/// Why the ledger (or the way to it) failed a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
pub enum LedgerError {
    /// The node refused the transaction or query (the contract's typed error, as text).
    #[error("the ledger refused it: {0}")]
    Rejected(String),
    /// The node could not be reached or answered with a fault of its own.
    #[error("the node is unavailable: {0}")]
    Unavailable(String),
}

/// What the importer needs from a ledger: implemented by the SDK client (with its signer)
/// over the node API, and by an in-memory fake in tests.
pub trait InvoiceLedger {
    /// Every admitted org (`GET /v1/orgs`), to resolve parties.
    fn orgs(&self) -> impl Future<Output = Result<Vec<Org>, LedgerError>> + Send;

    /// The invoice with this fingerprint, if any and readable by the importer
    /// (`GET /v1/invoices?fingerprint=HEX`).
    fn invoice_by_fingerprint(
        &self,
        fingerprint: &Hash,
    ) -> impl Future<Output = Result<Option<Invoice>, LedgerError>> + Send;

    /// The invoice `seller` issued under `number` (compared in the ledger's normal form),
    /// voided ones included, if any and readable by the importer
    /// (`GET /v1/invoices?seller=ORG&number=N`): a corrected invoice's original.
    fn invoice_by_number(
        &self,
        seller: &OrgId,
        number: &str,
    ) -> impl Future<Output = Result<Option<Invoice>, LedgerError>> + Send;

    /// Signs and submits `ConfirmInvoice { invoice }` (the buyer's 确权 of an invoice the
    /// seller registered) and waits for commit.
    fn confirm(&self, invoice: &DocId) -> impl Future<Output = Result<(), LedgerError>> + Send;

    /// Signs and submits `RegisterInvoice { invoice: spec, confirm }`, waits for commit,
    /// and returns the registered invoice's id.
    fn register(
        &self,
        spec: &InvoiceSpec,
        confirm: bool,
    ) -> impl Future<Output = Result<DocId, LedgerError>> + Send;
}

/// The step at which an item was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The file could not be read.
    Read,
    /// The file or row is not a usable invoice.
    Parse,
    /// A party could not be tied to an org.
    Resolve,
    /// The invoice cannot become a valid registration.
    Plan,
    /// `--confirm` found the invoice already registered (by the seller) but it differs
    /// from the file, or is no longer confirmable: nothing was confirmed.
    Confirm,
    /// The ledger refused or could not be reached.
    Ledger,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Read => "read",
            Stage::Parse => "parse",
            Stage::Resolve => "resolve",
            Stage::Plan => "plan",
            Stage::Confirm => "confirm",
            Stage::Ledger => "ledger",
        })
    }
}

/// What happened to one file or row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Registered now (and confirmed, with `--confirm`).
    Registered {
        /// The new invoice's id.
        invoice: DocId,
        /// Whether it was confirmed in the same transaction.
        confirmed: bool,
    },
    /// `--confirm`: the seller had registered this invoice, it matches the file field by
    /// field, and the importer (its buyer) has now confirmed it.
    ConfirmedExisting {
        /// The existing invoice's id.
        invoice: DocId,
    },
    /// An invoice with the same fingerprint is already on the ledger (with `--confirm`:
    /// and already confirmed); nothing submitted.
    AlreadyOnLedger {
        /// The existing invoice's id.
        invoice: DocId,
    },
    /// Refused; nothing submitted (or the ledger refused the submission).
    Rejected {
        /// Where it failed.
        stage: Stage,
        /// The exact reason.
        reason: String,
        /// The element or column at fault, when known.
        element: Option<String>,
    },
}

/// The report for one file (UBL) or one row (CSV).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemReport {
    /// The file, as given.
    pub file: String,
    /// The CSV line (1 is the header); `None` for a UBL file.
    pub line: Option<u64>,
    /// The invoice number, once parsed.
    pub number: Option<String>,
    /// The seller org, once resolved.
    pub seller: Option<OrgId>,
    /// The buyer org, once resolved.
    pub buyer: Option<OrgId>,
    /// The payable amount, once parsed.
    pub amount: Option<Money>,
    /// The fingerprint, once planned.
    pub fingerprint: Option<Hash>,
    /// What happened.
    pub outcome: Outcome,
}

impl ItemReport {
    fn new(file: &str, line: Option<u64>, outcome: Outcome) -> Self {
        ItemReport {
            file: file.to_string(),
            line,
            number: None,
            seller: None,
            buyer: None,
            amount: None,
            fingerprint: None,
            outcome,
        }
    }

    fn where_(&self) -> String {
        match self.line {
            Some(l) => format!("{} line {l}", self.file),
            None => self.file.clone(),
        }
    }
}

/// Counts per outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BatchSummary {
    /// Registered now.
    pub registered: usize,
    /// Registered earlier by the seller, confirmed now (`--confirm`).
    pub confirmed_existing: usize,
    /// Already on the ledger.
    pub already_on_ledger: usize,
    /// Rejected.
    pub rejected: usize,
}

/// The result of a batch: one item per file or row, in input order. Serializes to JSON
/// for `--json`; `Display` is the human summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchReport {
    /// Counts per outcome.
    pub summary: BatchSummary,
    /// Every file or row, in input order.
    pub items: Vec<ItemReport>,
    /// A fault that stopped the whole batch (orgs unreadable, bad party map, limits).
    pub error: Option<String>,
}

impl BatchReport {
    /// True when nothing was rejected and the batch ran to the end.
    pub fn is_success(&self) -> bool {
        self.error.is_none() && self.summary.rejected == 0
    }

    fn push(&mut self, item: ItemReport) {
        match item.outcome {
            Outcome::Registered { .. } => self.summary.registered += 1,
            Outcome::ConfirmedExisting { .. } => self.summary.confirmed_existing += 1,
            Outcome::AlreadyOnLedger { .. } => self.summary.already_on_ledger += 1,
            Outcome::Rejected { .. } => self.summary.rejected += 1,
        }
        self.items.push(item);
    }

    fn failed(error: String) -> Self {
        BatchReport {
            error: Some(error),
            ..Default::default()
        }
    }
}

impl std::fmt::Display for BatchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for item in &self.items {
            let number = item.number.as_deref().map(clip).unwrap_or_default();
            match &item.outcome {
                Outcome::Registered { invoice, confirmed } => writeln!(
                    f,
                    "registered   {}: {number} as {invoice}{}",
                    item.where_(),
                    if *confirmed { " (confirmed)" } else { "" }
                )?,
                Outcome::ConfirmedExisting { invoice } => writeln!(
                    f,
                    "confirmed    {}: {number} is {invoice}, registered by the seller",
                    item.where_()
                )?,
                Outcome::AlreadyOnLedger { invoice } => writeln!(
                    f,
                    "already on ledger {}: {number} is {invoice}",
                    item.where_()
                )?,
                Outcome::Rejected { stage, reason, .. } => {
                    writeln!(f, "rejected     {} ({stage}): {reason}", item.where_())?
                }
            }
        }
        if let Some(e) = &self.error {
            writeln!(f, "batch stopped: {e}")?;
        }
        write!(f, "{} registered, ", self.summary.registered)?;
        if self.summary.confirmed_existing > 0 {
            write!(
                f,
                "{} confirmed after the seller registered them, ",
                self.summary.confirmed_existing
            )?;
        }
        write!(
            f,
            "{} already on the ledger, {} rejected",
            self.summary.already_on_ledger, self.summary.rejected
        )
    }
}

/// Which parser a file goes to: by extension (`.xml`, `.csv`), otherwise XML when the
/// first non-blank byte is `<`.
pub fn detect_format(path: &Path, bytes: &[u8]) -> SourceFormat {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("xml") => SourceFormat::Ubl,
        Some("csv") => SourceFormat::Csv,
        _ => {
            let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            match body.iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'<') => SourceFormat::Ubl,
                _ => SourceFormat::Csv,
            }
        }
    }
}

/// Parses one file's bytes: one entry for a UBL file, one per data row for CSV, each
/// with its CSV line.
pub fn parse_file(
    path: &Path,
    bytes: &[u8],
) -> Vec<(Option<u64>, Result<ImportedInvoice, ImportError>)> {
    match detect_format(path, bytes) {
        SourceFormat::Ubl => vec![(None, parse_ubl(bytes))],
        SourceFormat::Csv => parse_csv(bytes)
            .into_iter()
            .map(|r| match r {
                Ok(inv) => (inv.line, Ok(inv)),
                Err(e) => (Some(e.line), Err(e.error)),
            })
            .collect(),
    }
}

/// Reads a file, refusing one above [`MAX_FILE_BYTES`] without reading it all.
async fn read_limited(path: &Path) -> Result<Vec<u8>, ImportError> {
    let io = |e: std::io::Error| {
        ImportError::invalid("file", &path.display().to_string(), e.to_string())
    };
    let file = tokio::fs::File::open(path).await.map_err(io)?;
    let size = file.metadata().await.map_err(io)?.len();
    if size > MAX_FILE_BYTES as u64 {
        return Err(ImportError::TooLarge {
            size,
            limit: MAX_FILE_BYTES as u64,
        });
    }
    // The file may grow after the size check: read at most one byte past the limit.
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(io)?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ImportError::TooLarge {
            size: bytes.len() as u64,
            limit: MAX_FILE_BYTES as u64,
        });
    }
    Ok(bytes)
}

fn rejected(stage: Stage, reason: impl ToString, element: Option<&str>) -> Outcome {
    Outcome::Rejected {
        stage,
        reason: reason.to_string(),
        element: element.map(str::to_string),
    }
}

/// Imports `files` into `ledger`: every file or row ends up registered, already on the
/// ledger, or rejected with its reason; one bad item never stops the others.
///
/// Idempotent: each invoice's fingerprint is looked up *before* anything is submitted, so
/// running the same batch again submits nothing.
pub async fn run<L: InvoiceLedger>(
    ledger: &L,
    files: &[PathBuf],
    opts: &ImportOptions,
) -> BatchReport {
    if files.len() > MAX_BATCH_FILES {
        return BatchReport::failed(format!(
            "{} files given, at most {MAX_BATCH_FILES} per batch",
            files.len()
        ));
    }
    let orgs = match ledger.orgs().await {
        Ok(o) => o,
        Err(e) => return BatchReport::failed(format!("cannot list orgs: {e}")),
    };
    let directory = match PartyDirectory::new(orgs, &opts.party_map) {
        Ok(d) => d,
        Err(e) => return BatchReport::failed(e.to_string()),
    };
    // The ledger would refuse every item of a batch signed by the wrong org: say it once.
    match directory.org(&opts.importer) {
        None => {
            return BatchReport::failed(format!(
                "importer {} is not an admitted org",
                opts.importer
            ))
        }
        Some(o) if opts.confirm && !o.has(Role::Core) => {
            return BatchReport::failed(format!(
                "--confirm needs a core enterprise; {} is not one",
                o.id
            ))
        }
        Some(o) if !o.has(Role::Core) && !o.has(Role::Supplier) => {
            return BatchReport::failed(format!(
                "{} registers no invoices: only suppliers and core enterprises do",
                o.id
            ))
        }
        Some(_) => {}
    }
    let mut report = BatchReport::default();
    // Fingerprints settled earlier in this batch: the same invoice twice in one batch is
    // submitted once, even if the node's index lags behind its commits.
    let mut settled: HashMap<Hash, DocId> = HashMap::new();
    for path in files {
        let file = path.display().to_string();
        let parsed = match read_limited(path).await {
            Ok(bytes) => parse_file(path, &bytes),
            Err(e) => {
                let element = e.element().map(str::to_string);
                report.push(ItemReport::new(
                    &file,
                    None,
                    rejected(Stage::Read, &e, element.as_deref()),
                ));
                continue;
            }
        };
        for (line, item) in parsed {
            if report.items.len() >= MAX_BATCH_ITEMS {
                report.error = Some(format!(
                    "stopped after {MAX_BATCH_ITEMS} items; run the rest as another batch"
                ));
                return report;
            }
            let r = match item {
                Ok(inv) => import_one(ledger, &directory, opts, &mut settled, &file, &inv).await,
                Err(e) => ItemReport::new(&file, line, rejected(Stage::Parse, &e, e.element())),
            };
            report.push(r);
        }
    }
    report
}

/// Resolves, plans, checks and (if new) registers one parsed invoice.
async fn import_one<L: InvoiceLedger>(
    ledger: &L,
    directory: &PartyDirectory,
    opts: &ImportOptions,
    settled: &mut HashMap<Hash, DocId>,
    file: &str,
    inv: &ImportedInvoice,
) -> ItemReport {
    let line = inv.line;
    let mut item = ItemReport::new(file, line, rejected(Stage::Parse, "", None));
    item.number = Some(inv.number.clone());
    item.amount = Some(inv.amount);
    let (seller, buyer) = match resolve_parties(directory, inv, &mut item) {
        Ok(parties) => parties,
        Err(outcome) => {
            item.outcome = outcome;
            return item;
        }
    };
    let planned = match plan(inv, seller, buyer, opts) {
        Ok(p) => p,
        Err(e) => {
            item.outcome = rejected(Stage::Plan, &e, e.element());
            return item;
        }
    };
    item.fingerprint = Some(planned.fingerprint);
    if let Err(outcome) = check_originals_voided(ledger, inv, &planned.seller).await {
        item.outcome = outcome;
        return item;
    }
    if let Some(existing) = settled.get(&planned.fingerprint) {
        item.outcome = Outcome::AlreadyOnLedger {
            invoice: existing.clone(),
        };
        return item;
    }
    match ledger.invoice_by_fingerprint(&planned.fingerprint).await {
        Ok(Some(existing)) => {
            settled.insert(planned.fingerprint, existing.id.clone());
            item.outcome = if planned.confirm {
                confirm_existing(ledger, &planned, &existing).await
            } else {
                Outcome::AlreadyOnLedger {
                    invoice: existing.id,
                }
            };
            return item;
        }
        Ok(None) => {}
        Err(e) => {
            // Without the check we cannot promise not to double-register: skip it.
            item.outcome = rejected(Stage::Ledger, format!("duplicate check failed: {e}"), None);
            return item;
        }
    }
    item.outcome = match ledger.register(&planned.spec, planned.confirm).await {
        Ok(id) => {
            settled.insert(planned.fingerprint, id.clone());
            Outcome::Registered {
                invoice: id,
                confirmed: planned.confirm,
            }
        }
        Err(e) => {
            // Someone may have registered the same invoice since the check.
            match ledger.invoice_by_fingerprint(&planned.fingerprint).await {
                Ok(Some(existing)) => {
                    settled.insert(planned.fingerprint, existing.id.clone());
                    Outcome::AlreadyOnLedger {
                        invoice: existing.id,
                    }
                }
                _ => rejected(Stage::Ledger, &e, None),
            }
        }
    };
    item
}

/// The seller and buyer orgs of `inv`, each noted on `item` once resolved; otherwise the
/// rejection naming the party's element.
fn resolve_parties<'d>(
    directory: &'d PartyDirectory,
    inv: &ImportedInvoice,
    item: &mut ItemReport,
) -> Result<(&'d Org, &'d Org), Outcome> {
    let resolve = |party: &PartyRef| {
        directory
            .resolve(party)
            .map(|r| r.org)
            .map_err(|e| rejected(Stage::Resolve, &e, Some(party.location(inv.format))))
    };
    let seller = resolve(&inv.seller)?;
    item.seller = Some(seller.id.clone());
    let buyer = resolve(&inv.buyer)?;
    item.buyer = Some(buyer.id.clone());
    Ok((seller, buyer))
}

/// A corrected invoice (type code 384) is imported only if every original it references
/// is on the ledger, issued by the same seller, and voided: otherwise the correction would
/// be a second claim for the same goods. Checked before anything else touches the ledger,
/// also on a re-run and for `--confirm` of a correction the seller registered.
async fn check_originals_voided<L: InvoiceLedger>(
    ledger: &L,
    inv: &ImportedInvoice,
    seller: &OrgId,
) -> Result<(), Outcome> {
    for number in corrected_originals(inv) {
        let found = ledger
            .invoice_by_number(seller, number)
            .await
            .map_err(|e| {
                rejected(
                    Stage::Ledger,
                    format!("looking up the corrected invoice's original {number:?}: {e}"),
                    None,
                )
            })?;
        let state = match found {
            Some(o) if &o.seller == seller && o.status == InvoiceStatus::Voided => continue,
            Some(o) if &o.seller != seller => {
                format!("is {}, issued by {}, not {seller}", o.id, o.seller)
            }
            Some(o) => format!(
                "is {}, {} on the ledger, not voided",
                o.id,
                status_name(o.status)
            ),
            None => format!("of {seller} is not on the ledger (or not readable by you)"),
        };
        let e = PlanError::OriginalNotVoided {
            number: clip(number),
            state,
        };
        return Err(rejected(Stage::Plan, &e, e.element()));
    }
    Ok(())
}

/// An invoice status as the ledger's JSON names it.
fn status_name(s: InvoiceStatus) -> &'static str {
    match s {
        InvoiceStatus::Registered => "registered",
        InvoiceStatus::Confirmed => "confirmed",
        InvoiceStatus::Disputed => "disputed",
        InvoiceStatus::Voided => "voided",
    }
}

/// `--confirm` of an invoice already on the ledger: the seller registered it first. It is
/// confirmed only if it is the file's invoice field by field (a fingerprint match leaves
/// the due date, order and buyer unchecked); otherwise every difference is reported and
/// nothing is confirmed.
async fn confirm_existing<L: InvoiceLedger>(
    ledger: &L,
    planned: &PlannedInvoice,
    existing: &Invoice,
) -> Outcome {
    let id = existing.id.clone();
    match existing.status {
        InvoiceStatus::Confirmed => return Outcome::AlreadyOnLedger { invoice: id },
        InvoiceStatus::Voided => {
            return rejected(
                Stage::Confirm,
                format!("{id} is voided on the ledger: nothing to confirm"),
                None,
            )
        }
        InvoiceStatus::Registered | InvoiceStatus::Disputed => {}
    }
    let differences = mismatches(planned, existing);
    if !differences.is_empty() {
        return rejected(
            Stage::Confirm,
            format!(
                "{id}, registered by {}, differs from the file: {}; nothing confirmed",
                existing.registered_by,
                differences.join("; ")
            ),
            None,
        );
    }
    match ledger.confirm(&id).await {
        Ok(()) => Outcome::ConfirmedExisting { invoice: id },
        Err(e) => rejected(Stage::Ledger, format!("confirming {id}: {e}"), None),
    }
}
