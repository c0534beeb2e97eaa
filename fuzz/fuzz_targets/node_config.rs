//! A node's `config.toml`.
#![no_main]

use std::path::Path;

use lianrong_fuzz::text;
use lianrong_node_formats::config::NodeConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = text(data) else {
        return;
    };
    let Ok(cfg) = NodeConfig::parse(text, Path::new("/etc/lianrong/bank/config.toml")) else {
        return;
    };
    let _ = cfg.api.answers_to();
    let _ = cfg.token_org("token");
    // `lianrong testnet` writes configs with the same types: what is accepted can be
    // written, and reads back the same (its paths are anchored already).
    let written = toml::to_string(&cfg).expect("an accepted config serializes");
    let again = NodeConfig::parse(&written, Path::new("/elsewhere/config.toml"))
        .expect("a written config parses");
    assert_eq!(again, cfg);
});
