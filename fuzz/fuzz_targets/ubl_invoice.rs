//! A UBL 2.1 invoice file given to `lianrong invoice import`.
#![no_main]

use lianrong_importer::{parse_ubl, SourceFormat};
use lianrong_primitives::sha256;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(invoice) = parse_ubl(data) else {
        return;
    };
    assert_eq!(invoice.format, SourceFormat::Ubl);
    // The document commitment is the file's exact bytes.
    assert_eq!(invoice.doc_hash, sha256(data));
    assert!(
        !invoice.number.trim().is_empty(),
        "an invoice without a number"
    );
    assert!(!invoice.amount.amount.is_zero(), "a zero payable amount");
});
