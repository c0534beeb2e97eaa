use serde::{Deserialize, Serialize};
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
struct Tx { chain: String, org: String, key: [u8; 32], nonce: u64, action: Vec<u8>, note: Option<String>, sig: (u64, u64, u64, u64, u64, u64, u64, u64) }
#[test]
fn speed() {
    let t = Tx { chain: "lianrong-test".into(), org: "SUP-1".into(), key: [7; 32], nonce: 9, action: vec![1; 120], note: Some("hello".into()), sig: (1,2,3,4,5,6,7,8) };
    let v = vec![t; 4096];
    let bytes = lianrong_primitives::encode(&v);
    let cfg = bincode::config::standard().with_little_endian().with_fixed_int_encoding().with_limit::<{16 << 20}>();
    for _ in 0..3 {
        let s = std::time::Instant::now();
        for _ in 0..20 { let (x, _): (Vec<Tx>, usize) = bincode::serde::decode_from_slice(&bytes, cfg).unwrap(); assert_eq!(x.len(), 4096); }
        let old = s.elapsed();
        let s = std::time::Instant::now();
        for _ in 0..20 { let x: Vec<Tx> = lianrong_primitives::codec::decode_stored(&bytes, 16 << 20).unwrap(); assert_eq!(x.len(), 4096); }
        let new = s.elapsed();
        println!("bytes {} old {:?} new {:?}", bytes.len(), old / 20, new / 20);
    }
}
