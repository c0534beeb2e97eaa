//! The signed transaction envelope, as the API, gossip and block payloads decode it.
#![no_main]

use lianrong_contracts::testkit::CHAIN_ID;
use lianrong_contracts::SignedTransaction;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(signed) = SignedTransaction::decode(data) else {
        return;
    };
    // Strict and canonical: a decoded transaction is exactly the bytes it came from, so
    // its hash and signature cover nothing else.
    assert_eq!(signed.encode(), data, "accepted a non-canonical encoding");
    let _ = signed.hash();
    if let Ok(verified) = signed.clone().verify(CHAIN_ID) {
        assert_eq!(verified.signed(), &signed);
    }
});
