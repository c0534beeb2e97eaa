//! A block's payload: the list of signed transactions every node executes.
#![no_main]

use lianrong_consensus::MAX_PAYLOAD_BYTES;
use lianrong_contracts::testkit::CHAIN_ID;
use lianrong_node_formats::payload::{self, MAX_BLOCK_TXS};
use lianrong_primitives::codec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let listed = payload::listed(data, MAX_PAYLOAD_BYTES);
    assert!(listed.len() <= MAX_BLOCK_TXS);
    if !listed.is_empty() {
        // Every node must read the same list from the same bytes: one encoding only.
        assert_eq!(
            codec::encode(&listed),
            data,
            "accepted a non-canonical payload"
        );
    }
    let executed = payload::decode(data, CHAIN_ID, MAX_PAYLOAD_BYTES);
    assert!(executed.len() <= listed.len());
    // The executed transactions are the listed ones, in order, less the invalid ones.
    let mut rest = listed.iter();
    for t in &executed {
        assert!(rest.any(|l| l == t.signed()), "a transaction out of order");
    }
});
