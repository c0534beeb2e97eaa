//! The explorer's TOML config.
#![no_main]

use std::path::Path;

use lianrong_explorer::ExplorerConfig;
use lianrong_fuzz::text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = text(data) else {
        return;
    };
    let Ok(cfg) = ExplorerConfig::parse(text, Path::new("/etc/lianrong/explorer.toml")) else {
        return;
    };
    let written = toml::to_string(&cfg).expect("an accepted config serializes");
    let again = ExplorerConfig::parse(&written, Path::new("/elsewhere/explorer.toml"))
        .expect("a written config parses");
    assert_eq!(again, cfg);
});
