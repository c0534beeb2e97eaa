#![doc = include_str!("../README.md")]

mod csv_layout;
mod error;
mod model;
mod plan;
mod resolve;
mod run;
mod ubl;
mod values;

pub use csv_layout::{
    canonical_row, parse_csv, CANONICAL_ROW_TAG, CSV_COLUMNS, MAX_CSV_ROWS, MAX_FIELD_CHARS,
};
pub use error::{ImportError, RowError};
pub use model::{
    IdKind, ImportedInvoice, PartyId, PartyRef, PartyRole, SourceFormat, MAX_BILLING_REFERENCES,
    MAX_PARTY_IDS,
};
pub use plan::{
    derived_invoice_id, mismatches, plan, ImportOptions, PlanError, PlannedInvoice,
    MAX_DEFAULT_DUE_DAYS,
};
pub use resolve::{
    MatchVia, PartyDirectory, PartyMap, PartyMapEntry, PartyMapError, ResolveError, Resolved,
    MAX_PARTY_MAP_BYTES, MAX_PARTY_MAP_ENTRIES,
};
pub use run::{
    detect_format, parse_file, run, BatchReport, BatchSummary, InvoiceLedger, ItemReport,
    LedgerError, Outcome, Stage, MAX_BATCH_FILES, MAX_BATCH_ITEMS,
};
pub use ubl::{parse_ubl, BILLING_REFERENCE, MAX_DEPTH, MAX_ELEMENTS, MAX_FILE_BYTES};
