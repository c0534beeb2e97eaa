//! A `genesis.json`, as the node, `lianrong verify` and the explorer read it.
#![no_main]

use std::path::Path;

use lianrong_contracts::MemoryStorage;
use lianrong_fuzz::text;
use lianrong_node_formats::config::{parse_genesis, validator_set};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = text(data) else {
        return;
    };
    let Ok(genesis) = parse_genesis(text, Path::new("genesis.json")) else {
        return;
    };
    // A genesis that validates starts a network: its validators form a consensus set.
    validator_set(&genesis).expect("a valid genesis has a consensus validator set");
    let _ = genesis.changes(&MemoryStorage::new());
    let written = serde_json::to_string(&genesis).expect("a genesis serializes");
    let again = parse_genesis(&written, Path::new("genesis.json")).expect("written genesis");
    assert_eq!(again, genesis);
});
