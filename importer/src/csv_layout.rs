//! The documented CSV layout (see the module README) to [`ImportedInvoice`]s, one result
//! per row so that one bad row never hides or spoils the others.

use lianrong_primitives::sha256;

use super::error::{clip, ImportError, RowError};
use super::model::{IdKind, ImportedInvoice, PartyId, PartyRef, PartyRole, SourceFormat};
use super::ubl::MAX_FILE_BYTES;
use super::values::{parse_currency, parse_date, parse_payable};

/// Most data rows read from one CSV file; later rows are reported as one error.
pub const MAX_CSV_ROWS: usize = 10_000;
/// Longest value accepted in one CSV field.
pub const MAX_FIELD_CHARS: usize = 128;

/// The columns, in the order the canonical row uses. `invoice_id` may be omitted from the
/// header; every other column is required (its value may be empty only for `order_id`).
pub const CSV_COLUMNS: [&str; 9] = [
    "invoice_number",
    "issue_date",
    "due_date",
    "currency",
    "amount",
    "seller_id",
    "buyer_id",
    "order_id",
    "invoice_id",
];

const OPTIONAL_COLUMNS: [&str; 1] = ["invoice_id"];

/// The prefix line of the canonical row; bump the version if the layout ever changes.
pub const CANONICAL_ROW_TAG: &str = "lianrong-invoice-csv/v1";

/// The canonical text of a row that `doc_hash` commits to: the tag line, then one
/// `column=value` line per column of [`CSV_COLUMNS`] in that order, each value with
/// surrounding white space removed, every line ending in `\n`.
pub fn canonical_row(values: &[&str; 9]) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(CANONICAL_ROW_TAG);
    out.push('\n');
    for (name, value) in CSV_COLUMNS.iter().zip(values.iter()) {
        out.push_str(name);
        out.push('=');
        out.push_str(value.trim());
        out.push('\n');
    }
    out
}

/// Parses a CSV file in the documented layout: one result per data row, in file order.
///
/// A file-level fault (too large, bad header) is one error on line 1; a bad row is an
/// error on its line and the other rows are still read.
pub fn parse_csv(bytes: &[u8]) -> Vec<Result<ImportedInvoice, RowError>> {
    let file_error = |error| vec![Err(RowError { line: 1, error })];
    if bytes.len() > MAX_FILE_BYTES {
        return file_error(ImportError::TooLarge {
            size: bytes.len() as u64,
            limit: MAX_FILE_BYTES as u64,
        });
    }
    // Spreadsheets often save a byte-order mark; it is not part of the first column name.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let columns = match reader.headers() {
        Ok(h) => match column_positions(h) {
            Ok(c) => c,
            Err(e) => return file_error(e),
        },
        Err(e) => {
            return file_error(ImportError::CsvHeader {
                message: clip(&e.to_string()),
            })
        }
    };
    let mut out = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line() + 1;
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(line, |p| p.line());
                if out.len() >= MAX_CSV_ROWS {
                    out.push(Err(RowError {
                        line,
                        error: ImportError::TooManyRows {
                            limit: MAX_CSV_ROWS,
                        },
                    }));
                    break;
                }
                out.push(
                    parse_row(&record, &columns, line).map_err(|error| RowError { line, error }),
                );
            }
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line());
                if out.len() >= MAX_CSV_ROWS {
                    break;
                }
                out.push(Err(RowError {
                    line,
                    error: ImportError::CsvRecord {
                        message: clip(&csv_message(&e)),
                    },
                }));
                // An I/O-level error cannot be skipped past; a record-level one can.
                if !matches!(
                    e.kind(),
                    csv::ErrorKind::UnequalLengths { .. } | csv::ErrorKind::Utf8 { .. }
                ) {
                    break;
                }
            }
        }
    }
    if out.is_empty() {
        // A file that yields nothing must still show up in the report.
        return file_error(ImportError::NoRows);
    }
    out
}

fn csv_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("row has {len} fields, the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "row is not UTF-8 text".into(),
        _ => e.to_string(),
    }
}

/// The index of each layout column in the file's header.
fn column_positions(h: &csv::StringRecord) -> Result<[Option<usize>; 9], ImportError> {
    let mut pos = [None; 9];
    for (i, name) in h.iter().enumerate() {
        let name = name.trim();
        let Some(k) = CSV_COLUMNS.iter().position(|c| *c == name) else {
            return Err(ImportError::CsvHeader {
                message: format!(
                    "unknown column {:?} (expected {})",
                    clip(name),
                    CSV_COLUMNS.join(",")
                ),
            });
        };
        if pos[k].is_some() {
            return Err(ImportError::CsvHeader {
                message: format!("column {name} appears twice"),
            });
        }
        pos[k] = Some(i);
    }
    let missing: Vec<&str> = CSV_COLUMNS
        .iter()
        .zip(pos.iter())
        .filter(|(c, p)| p.is_none() && !OPTIONAL_COLUMNS.contains(c))
        .map(|(c, _)| *c)
        .collect();
    if !missing.is_empty() {
        return Err(ImportError::CsvHeader {
            message: format!("missing column(s) {}", missing.join(",")),
        });
    }
    Ok(pos)
}

fn parse_row(
    record: &csv::StringRecord,
    pos: &[Option<usize>; 9],
    line: u64,
) -> Result<ImportedInvoice, ImportError> {
    let mut values = [""; 9];
    for (k, p) in pos.iter().enumerate() {
        if let Some(i) = p {
            let v = record.get(*i).unwrap_or("").trim();
            if v.chars().count() > MAX_FIELD_CHARS {
                return Err(ImportError::invalid(
                    format!("column {}", CSV_COLUMNS[k]),
                    v,
                    format!("is longer than {MAX_FIELD_CHARS} characters"),
                ));
            }
            if v.chars().any(char::is_control) {
                return Err(ImportError::invalid(
                    format!("column {}", CSV_COLUMNS[k]),
                    v,
                    "contains control characters (line breaks, tabs)",
                ));
            }
            values[k] = v;
        }
    }
    let [number, issue, due, currency, amount, seller, buyer, order, ledger_id] = values;
    let need = |v: &str, col: &str| -> Result<(), ImportError> {
        if v.is_empty() {
            Err(ImportError::Missing {
                element: format!("column {col}"),
            })
        } else {
            Ok(())
        }
    };
    need(number, "invoice_number")?;
    let issue_date = parse_date("column issue_date", issue)?;
    let due_date = parse_date("column due_date", due)?;
    let currency = parse_currency("column currency", currency)?;
    let amount = parse_payable("column amount", amount, currency)?;
    need(seller, "seller_id")?;
    need(buyer, "buyer_id")?;
    let party = |role, v: &str| PartyRef {
        role,
        name: None,
        ids: vec![PartyId {
            kind: IdKind::CsvColumn,
            scheme: None,
            value: v.to_string(),
        }],
    };
    let nonempty = |v: &str| (!v.is_empty()).then(|| v.to_string());
    Ok(ImportedInvoice {
        format: SourceFormat::Csv,
        number: number.to_string(),
        issue_date,
        due_date: Some(due_date),
        type_code: None,
        billing_references: Vec::new(),
        payee: None,
        amount,
        seller: party(PartyRole::Seller, seller),
        buyer: party(PartyRole::Buyer, buyer),
        order: nonempty(order),
        ledger_id: nonempty(ledger_id),
        doc_hash: sha256(canonical_row(&values).as_bytes()),
        line: Some(line),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "invoice_number,issue_date,due_date,currency,amount,seller_id,buyer_id,order_id";

    #[test]
    fn canonical_row_is_line_per_column_in_layout_order() {
        let row = canonical_row(&[
            "N",
            "2026-01-01",
            "2026-02-01",
            "CNY",
            "1.00",
            "S",
            "B",
            "",
            "",
        ]);
        assert_eq!(
            row,
            "lianrong-invoice-csv/v1\ninvoice_number=N\nissue_date=2026-01-01\n\
             due_date=2026-02-01\ncurrency=CNY\namount=1.00\nseller_id=S\nbuyer_id=B\n\
             order_id=\ninvoice_id=\n"
        );
    }

    #[test]
    fn a_header_without_rows_is_reported() {
        let rows = parse_csv(format!("{HEADER}\n").as_bytes());
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].as_ref().unwrap_err().error, ImportError::NoRows);
    }

    #[test]
    fn rows_past_the_limit_are_one_error() {
        let mut csv = format!("{HEADER}\n");
        for i in 0..=MAX_CSV_ROWS {
            csv.push_str(&format!("N-{i},2026-01-01,2026-02-01,CNY,1.00,S,B,PO\n"));
        }
        let rows = parse_csv(csv.as_bytes());
        assert_eq!(rows.len(), MAX_CSV_ROWS + 1);
        assert_eq!(
            rows[MAX_CSV_ROWS].as_ref().unwrap_err().error,
            ImportError::TooManyRows {
                limit: MAX_CSV_ROWS
            }
        );
    }

    #[test]
    fn line_breaks_inside_a_value_reject_only_that_row() {
        let csv = format!(
            "{HEADER}\n\"N-1\nX\",2026-01-01,2026-02-01,CNY,1.00,S,B,PO\nN-2,2026-01-01,2026-02-01,CNY,1.00,S,B,PO\n"
        );
        let rows = parse_csv(csv.as_bytes());
        assert_eq!(rows.len(), 2);
        let err = rows[0].as_ref().unwrap_err();
        assert_eq!(
            (err.line, err.error.element()),
            (2, Some("column invoice_number"))
        );
        assert_eq!(rows[1].as_ref().unwrap().line, Some(4));
    }
}
