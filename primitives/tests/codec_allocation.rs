//! What decoding costs in memory: a few bytes that *claim* a long string or list must be
//! refused before anything near that length is allocated, while valid values of any size
//! up to the limit -- including ones larger in memory than on the wire -- still decode.
//!
//! A counting global allocator measures the peak bytes held by the decoding thread
//! (per thread, so tests running in parallel do not disturb each other).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};

use lianrong_primitives::codec::{decode, decode_stored, encode, MAX_DECODE_BYTES};
use serde::{Deserialize, Serialize};

struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn note_alloc(size: usize) {
    // `try_with`: the thread-locals may be gone while a thread shuts down.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + size;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn note_free(size: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(size)));
}

// SAFETY: every call is passed to `System` unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note_free(layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_free(layout.size());
        note_alloc(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak bytes allocated (beyond what was live before) while `f` runs on this thread.
fn peak_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(before));
    let r = f();
    let peak = PEAK.with(Cell::get);
    (r, peak - before)
}

/// What a hostile 8- or 16-byte input may cost at most.
const SMALL: usize = 64 * 1024;

/// Lengths an input may claim: just under bincode's own limit (the case that allocated
/// ~15 MiB), around it, and far beyond it.
const CLAIMS: [u64; 6] = [
    1 << 20,
    15 << 20,
    (16 << 20) - 8,
    1 << 24,
    1 << 30,
    u64::MAX,
];

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Record {
    n: u64,
    tag: Option<String>,
    parts: Vec<u32>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum Msg {
    Ping,
    Text(String),
    Batch { items: Vec<Vec<u8>> },
}

/// Decodes `bytes` as `T` with the largest limit and returns the peak allocation.
fn cost<T: Serialize + serde::de::DeserializeOwned>(bytes: &[u8]) -> usize {
    let (r, peak) = peak_during(|| decode::<T>(bytes, MAX_DECODE_BYTES));
    assert!(r.is_err(), "a claim without the bytes must be refused");
    let (r, peak_stored) = peak_during(|| decode_stored::<T>(bytes, MAX_DECODE_BYTES));
    assert!(r.is_err());
    peak.max(peak_stored)
}

/// Every (type, input) case of a claimed length, with the input it is given.
fn claim_cases(claim: u64) -> Vec<(&'static str, usize)> {
    let eight = claim.to_le_bytes();
    let sixteen: Vec<u8> = [eight, [0u8; 8]].concat();
    // The claim deeper inside a value: after a struct's fixed field and an option's tag,
    // after an enum's variant index, inside a list of lists.
    let mut rec = 7u64.to_le_bytes().to_vec();
    rec.push(1);
    rec.extend_from_slice(&eight);
    let mut text = 1u32.to_le_bytes().to_vec();
    text.extend_from_slice(&eight);
    let mut batch = 2u32.to_le_bytes().to_vec();
    batch.extend_from_slice(&1u64.to_le_bytes());
    batch.extend_from_slice(&eight);
    vec![
        ("String", cost::<String>(&eight)),
        ("Vec<u8>", cost::<Vec<u8>>(&eight)),
        ("Vec<u64>", cost::<Vec<u64>>(&eight)),
        ("Vec<u64> + 8 bytes", cost::<Vec<u64>>(&sixteen)),
        ("Vec<String>", cost::<Vec<String>>(&eight)),
        ("Vec<Vec<u64>>", cost::<Vec<Vec<u64>>>(&sixteen)),
        ("BTreeMap<u64, u64>", cost::<BTreeMap<u64, u64>>(&eight)),
        ("HashMap<u64, String>", cost::<HashMap<u64, String>>(&eight)),
        ("Record.tag", cost::<Record>(&rec)),
        ("Msg::Text", cost::<Msg>(&text)),
        ("Msg::Batch item", cost::<Msg>(&batch)),
    ]
}

#[test]
fn a_claimed_length_without_the_bytes_allocates_nothing_near_it() {
    let mut over = Vec::new();
    for claim in CLAIMS {
        for (what, peak) in claim_cases(claim) {
            if peak >= SMALL {
                over.push(format!("{what} claiming {claim}: {peak} bytes"));
            }
        }
    }
    assert!(
        over.is_empty(),
        "allocated before refusing:\n{}",
        over.join("\n")
    );
}

#[test]
fn large_valid_values_still_decode() {
    let text = "链".repeat(4 << 20); // 12 MiB of UTF-8
    let bytes = encode(&text);
    assert_eq!(decode::<String>(&bytes, MAX_DECODE_BYTES).unwrap(), text);

    let blob = vec![0xA5u8; MAX_DECODE_BYTES - 8];
    let bytes = encode(&blob);
    assert_eq!(bytes.len(), MAX_DECODE_BYTES);
    assert_eq!(decode::<Vec<u8>>(&bytes, MAX_DECODE_BYTES).unwrap(), blob);

    let numbers: Vec<u64> = (0..1_000_000).collect();
    assert_eq!(
        decode::<Vec<u64>>(&encode(&numbers), MAX_DECODE_BYTES).unwrap(),
        numbers
    );
    let msg = Msg::Batch {
        items: vec![vec![1, 2, 3]; 1000],
    };
    assert_eq!(decode::<Msg>(&encode(&msg), 1 << 20).unwrap(), msg);
}

#[test]
fn values_larger_in_memory_than_on_the_wire_decode() {
    // 2^20 empty lists: 8 MiB encoded, 24 MiB of `Vec` headers in memory.
    let lists: Vec<Vec<u64>> = vec![Vec::new(); 1 << 20];
    let bytes = encode(&lists);
    assert_eq!(bytes.len(), 8 + (8 << 20));
    let (back, peak) = peak_during(|| decode::<Vec<Vec<u64>>>(&bytes, MAX_DECODE_BYTES));
    assert_eq!(back.unwrap(), lists);
    assert!(peak > bytes.len(), "more in memory ({peak}) than encoded");

    // One byte each on the wire, a heap allocation each in memory.
    let boxes: Vec<Box<u8>> = (0..=255u8).cycle().take(1 << 16).map(Box::new).collect();
    assert_eq!(
        decode::<Vec<Box<u8>>>(&encode(&boxes), MAX_DECODE_BYTES).unwrap(),
        boxes
    );
    // Zero bytes each on the wire.
    let units = vec![(); 1 << 20];
    assert_eq!(decode::<Vec<()>>(&encode(&units), 64).unwrap(), units);
}
