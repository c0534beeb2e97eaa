//! A consensus message from a peer, decoded as the node decodes it and handed to a
//! validator's engine. Input: one byte naming the sender (its index in the fixture's set,
//! or a follower label), then the message bytes as they arrive in a network frame.
#![no_main]

use lianrong_consensus::{decode_message, Input, MemorySafetyStore};
use lianrong_fuzz::{engine, settle, NOW_MS, VALIDATORS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sender, bytes)) = data.split_first() else {
        return;
    };
    let Ok(message) = decode_message(bytes) else {
        return;
    };
    assert_eq!(
        message.to_bytes(),
        bytes,
        "accepted a non-canonical message"
    );
    // Validator 3 receives it (validator 1 leads round 1); senders 0-3 are the set,
    // 4 a follower.
    let mut store = MemorySafetyStore::default();
    let mut engine = engine(3, &mut store);
    let from = u16::from(sender) % (VALIDATORS as u16 + 1);
    settle(
        &mut store,
        engine.handle(NOW_MS + 1, Input::Message { from, message }),
    );
});
