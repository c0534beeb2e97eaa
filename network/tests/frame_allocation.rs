//! What reading a consensus frame costs in memory: a peer that announces a frame of the
//! size limit and then sends little or nothing (until the request timeout) must cost us
//! about what it sent, not the limit -- per stream, with 128 streams per connection.
//!
//! A counting global allocator measures the peak bytes held by the reading thread.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use futures::executor::block_on;
use futures::io::Cursor;
use lianrong_network::codec::{ConsensusCodec, FrameError};

struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn note_alloc(size: usize) {
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
    (r, PEAK.with(Cell::get) - before)
}

/// A limit of the node's order (`lianrong_consensus::MAX_MESSAGE_BYTES`: 4.5 MiB, 9 MiB
/// until 2026-12-05).
const LIMIT: usize = 9 * 1024 * 1024;

fn stream(announced: u32, body: &[u8]) -> Cursor<Vec<u8>> {
    Cursor::new([&announced.to_be_bytes()[..], body].concat())
}

#[test]
fn an_announced_frame_costs_what_was_sent_not_what_was_announced() {
    let codec = ConsensusCodec::new(LIMIT);
    for sent in [0usize, 1000, 100_000] {
        let mut io = stream(LIMIT as u32, &vec![7u8; sent]);
        let (r, peak) = peak_during(|| block_on(codec.read_frame(&mut io)));
        let e = r.expect_err("a truncated frame");
        assert_eq!(FrameError::from_io(&e), Some(&FrameError::Truncated));
        assert!(
            peak <= 2 * sent + 64 * 1024,
            "{sent} bytes sent of {LIMIT} announced: {peak} bytes allocated"
        );
    }
}

#[test]
fn frames_up_to_the_limit_still_read() {
    let codec = ConsensusCodec::new(LIMIT);
    for len in [0usize, 1, 170, 300_000, LIMIT] {
        let body: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let got = block_on(codec.read_frame(&mut stream(len as u32, &body))).unwrap();
        assert_eq!(got, body);
    }
}
