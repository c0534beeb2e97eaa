//! The importer's `--party-map` file (CSV `external_id,org_id`).
#![no_main]

use lianrong_importer::PartyMap;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(map) = PartyMap::parse(data) else {
        return;
    };
    // Written back as CSV (with the header line, as an operator's file has it), the map
    // reads as the same entries.
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(["external_id", "org_id"])
        .expect("in-memory CSV");
    for e in map.entries() {
        out.write_record([e.external_id.as_str(), e.org.as_str()])
            .expect("in-memory CSV");
    }
    let text = out.into_inner().expect("in-memory CSV");
    let again = PartyMap::parse(&text).expect("a written map parses");
    let pairs = |m: &PartyMap| {
        m.entries()
            .iter()
            .map(|e| (e.external_id.clone(), e.org.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(pairs(&again), pairs(&map));
});
