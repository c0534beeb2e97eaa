//! A key file (node key or member key), as the node, the CLI and the SDK read it.
#![no_main]

use lianrong_fuzz::text;
use lianrong_primitives::KeyFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = text(data) else {
        return;
    };
    let Ok((file, key)) = KeyFile::parse(text) else {
        return;
    };
    assert_eq!(
        key.public(),
        file.public_key,
        "a secret that is not the public key's"
    );
    // What `write_new` would write for it reads back as the same key.
    let written = serde_json::to_string_pretty(&file).expect("a key file serializes");
    let (again, key_again) = KeyFile::parse(&written).expect("a written key file parses");
    assert_eq!(key_again.public(), key.public());
    assert_eq!((again.org, again.chain_id), (file.org, file.chain_id));
});
