//! A CSV invoice file given to `lianrong invoice import`.
#![no_main]

use lianrong_importer::{parse_csv, SourceFormat};
use libfuzzer_sys::fuzz_target;

// Each row is checked on its own here; dates against each other, parties and limits are
// the plan stage's (they need the ledger's orgs).
fuzz_target!(|data: &[u8]| {
    let rows = parse_csv(data);
    let mut last_line = 0;
    for row in &rows {
        let line = match row {
            Ok(invoice) => {
                assert_eq!(invoice.format, SourceFormat::Csv);
                assert!(!invoice.number.trim().is_empty());
                assert!(!invoice.amount.amount.is_zero());
                invoice.line.expect("a CSV invoice names its line")
            }
            Err(e) => e.line,
        };
        // One result per row, in file order (two records may share a line: a bare CR
        // ends a record but not a line).
        assert!(line >= last_line, "rows out of order");
        last_line = line;
    }
});
