//! A bundle of transactions gossiped by a peer.
#![no_main]

use lianrong_contracts::testkit::CHAIN_ID;
use lianrong_node_formats::gossip::{self, MAX_BUNDLE_TXS};
use lianrong_primitives::codec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(txs) = gossip::decode(data) else {
        return;
    };
    assert!(txs.len() <= MAX_BUNDLE_TXS);
    let signed: Vec<_> = txs.iter().map(|t| t.signed()).collect();
    assert_eq!(codec::encode(&signed), data, "accepted a non-canonical bundle");
    for t in &txs {
        // Each transaction keeps its own bytes: exactly its canonical encoding.
        assert_eq!(t.bytes(), codec::encode(t.signed()), "a transaction's bytes");
    }
    let count = txs.len();
    let (ok, failure) = gossip::verify(txs, CHAIN_ID);
    assert!(
        ok.len() == count || failure.is_some(),
        "a dropped transaction needs a reason"
    );
});
