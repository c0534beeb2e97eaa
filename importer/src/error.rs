//! Why a file or a row could not be read as an invoice.

use serde::Serialize;

/// Longest piece of input quoted back in an error message: enough to recognise a value,
/// never a whole hostile file echoed into a report.
pub(crate) const MAX_QUOTED_CHARS: usize = 64;

/// `s` cut to [`MAX_QUOTED_CHARS`] characters, with `...` when cut.
pub(crate) fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(MAX_QUOTED_CHARS).collect();
    if s.chars().nth(MAX_QUOTED_CHARS).is_some() {
        out.push_str("...");
    }
    out
}

/// Why a UBL file or a CSV row was refused by the parser.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ImportError {
    /// The input is larger than the parser accepts; nothing was read.
    #[error("file is {size} bytes, above the limit of {limit} bytes")]
    TooLarge {
        /// Size of the input.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Not well-formed XML (or not UTF-8), or truncated.
    #[error("malformed XML at byte {position}: {message}")]
    MalformedXml {
        /// Byte offset where the problem was found.
        position: u64,
        /// What is wrong.
        message: String,
    },
    /// A credit note (UBL `CreditNote` root, or type code 381): it reduces a debt and is
    /// never registered as an invoice.
    #[error("{element}: a credit note is not an invoice and is not imported")]
    CreditNote {
        /// The element that shows it is a credit note.
        element: String,
    },
    /// The root element is not a UBL 2.1 `Invoice`.
    #[error("root element is {found}, expected a UBL 2.1 Invoice (urn:oasis:names:specification:ubl:schema:xsd:Invoice-2)")]
    NotAnInvoice {
        /// The root as found (`{namespace}name`).
        found: String,
    },
    /// Elements nested deeper than the limit.
    #[error("XML nested deeper than {limit} elements")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// More elements than the limit.
    #[error("more than {limit} XML elements")]
    TooManyElements {
        /// The limit.
        limit: usize,
    },
    /// A required element or column is missing or empty.
    #[error("missing {element}")]
    Missing {
        /// The element or column.
        element: String,
    },
    /// An element that must appear once appears again.
    #[error("{element} appears more than once")]
    Repeated {
        /// The element.
        element: String,
    },
    /// A value that cannot be used.
    #[error("{element}: {value:?} {reason}")]
    Invalid {
        /// The element or column.
        element: String,
        /// The value (clipped).
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A zero or negative payable amount.
    #[error("{element}: payable amount must be positive, got {value}")]
    NotPositive {
        /// The element or column.
        element: String,
        /// The amount as written.
        value: String,
    },
    /// An amount in a currency other than the document currency.
    #[error("{element}: currency {found} does not match the document currency {expected}")]
    CurrencyMismatch {
        /// The element whose currency differs.
        element: String,
        /// The document currency (UBL `cbc:DocumentCurrencyCode`).
        expected: String,
        /// The currency found on the element.
        found: String,
    },
    /// The CSV header does not follow the documented layout.
    #[error("CSV header: {message}")]
    CsvHeader {
        /// What is wrong.
        message: String,
    },
    /// A CSV record that could not be read (bad quoting, wrong number of fields).
    #[error("CSV: {message}")]
    CsvRecord {
        /// What is wrong.
        message: String,
    },
    /// A CSV file with a header and no rows.
    #[error("the CSV file has no invoice rows")]
    NoRows,
    /// More CSV rows than one file may hold.
    #[error("more than {limit} rows in one file; split the file")]
    TooManyRows {
        /// The limit.
        limit: usize,
    },
}

impl ImportError {
    /// The element or column the error is about, when there is one.
    pub fn element(&self) -> Option<&str> {
        match self {
            ImportError::CreditNote { element }
            | ImportError::Missing { element }
            | ImportError::Repeated { element }
            | ImportError::Invalid { element, .. }
            | ImportError::NotPositive { element, .. }
            | ImportError::CurrencyMismatch { element, .. } => Some(element),
            _ => None,
        }
    }

    pub(crate) fn invalid(
        element: impl Into<String>,
        value: &str,
        reason: impl Into<String>,
    ) -> Self {
        ImportError::Invalid {
            element: element.into(),
            value: clip(value),
            reason: reason.into(),
        }
    }
}

/// A CSV row that could not be read, with its line in the file (1 is the header).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("line {line}: {error}")]
pub struct RowError {
    /// Line number in the file where the record starts.
    pub line: u64,
    /// What is wrong.
    pub error: ImportError,
}
