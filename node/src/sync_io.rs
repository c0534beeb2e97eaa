//! The IO side of catch-up that runs beside the event loop: answering a peer's sync
//! request from the database, and decoding a sync answer as it arrives, each on a
//! blocking thread.
//!
//! Separate from `runtime` because neither needs the engine: serving reads only final
//! blocks from RocksDB (readable while the loop writes), and decoding is a pure function of
//! the received bytes. Done on the loop, a server stopped its own consensus for the time it
//! read and encoded up to `2 * MAX_SYNC_BLOCKS` blocks, and a catching-up node decoded the
//! next answer only once it had executed the range before (the loop takes no event while it
//! executes), instead of meanwhile. A bounded number of jobs run at once ([`Slots`]); when
//! all are busy the loop does the work itself, as before.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::{anyhow, Result};
use lianrong_consensus::{
    decode_message, sync_answer, Block, CommitCertificate, FinalizedBlock, Message,
    MAX_MESSAGE_BYTES, MAX_PAYLOAD_BYTES,
};
use lianrong_network::{NetEvent, NetworkHandle};
use lianrong_primitives::{codec, PublicKey};
use lianrong_storage::Db;
use tokio::sync::mpsc;

/// Sync answers served from the database at once, off the loop.
pub const SERVE_JOBS: usize = 2;
/// Received messages decoded at once, off the loop.
pub const DECODE_JOBS: usize = 2;
/// A consensus message larger than this is decoded off the loop: only a sync answer of
/// several blocks is (a proposal or a block answer holds one payload of at most
/// `MAX_PAYLOAD_BYTES`), so consensus messages keep their order among themselves.
pub const DECODE_OFF_LOOP_BYTES: usize = 2 * MAX_PAYLOAD_BYTES;

/// A bounded count of jobs running.
#[derive(Debug, Clone)]
pub struct Slots {
    running: Arc<AtomicUsize>,
    max: usize,
}

/// A slot taken; given back when dropped (also when its job panics).
#[derive(Debug)]
pub struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Slots {
    /// At most `max` at once.
    pub fn new(max: usize) -> Self {
        Slots {
            running: Arc::new(AtomicUsize::new(0)),
            max,
        }
    }

    /// A slot, if fewer than `max` are taken.
    pub fn try_take(&self) -> Option<Slot> {
        if self.running.fetch_add(1, Ordering::SeqCst) >= self.max {
            self.running.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(Slot(self.running.clone()))
    }
}

/// The finalized block at `height` with the certificate stored beside it.
pub fn finalized_at(db: &Db, height: u64) -> Result<Option<FinalizedBlock>> {
    let (Some(block), Some(cert)) = (db.block(height)?, db.cert(height)?) else {
        return Ok(None);
    };
    Ok(Some(FinalizedBlock {
        block: codec::decode_stored::<Block>(&block, MAX_MESSAGE_BYTES)?,
        cert: codec::decode_stored::<CommitCertificate>(&cert, MAX_MESSAGE_BYTES)?,
    }))
}

/// A sync answer from the database, for a peer further behind than the engine's memory
/// of recent blocks reaches: consecutive blocks from `from_height`, shaped by the rule
/// the engine's answers follow too ([`sync_answer`]).
pub fn sync_from_db(db: &Db, from_height: u64) -> Result<Option<Message>> {
    let top = db.latest()?.map_or(0, |(h, _)| h);
    if from_height == 0 || from_height > top {
        return Ok(None);
    }
    let stored = (from_height..=top).map_while(|h| finalized_at(db, h).transpose());
    sync_answer(stored)
}

/// The encoded sync answer from `from_height` for `to` (None when this node holds no
/// certified block there), timed: how long reading and encoding up to
/// `2 * MAX_SYNC_BLOCKS` blocks takes is what a catching-up peer waits for.
pub fn answer_bytes(db: &Db, to: &PublicKey, from_height: u64) -> Result<Option<Vec<u8>>> {
    let started = std::time::Instant::now();
    let Some(answer) = sync_from_db(db, from_height)? else {
        return Ok(None);
    };
    let bytes = answer.to_bytes();
    tracing::debug!(
        peer = %to,
        from_height,
        bytes = bytes.len(),
        read_ms = started.elapsed().as_millis() as u64,
        "sync answered from the database"
    );
    Ok(Some(bytes))
}

/// Reads, encodes and sends the sync answer from `from_height` to `to` on a blocking
/// thread, holding `slot` until it is sent. A read error is logged: the peer asks another.
pub fn serve_off_loop(
    db: Arc<Db>,
    net: NetworkHandle,
    to: PublicKey,
    from_height: u64,
    slot: Slot,
) {
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let answer = match answer_bytes(&db, &to, from_height) {
            Ok(Some(answer)) => answer,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(peer = %to, from_height, error = %e, "sync answer not read");
                return;
            }
        };
        // Best effort, like every consensus send.
        let _ = runtime.block_on(net.send(to, answer));
        drop(slot);
    });
}

/// A message decoded off the loop, for the loop to hand to the engine.
pub struct Decoded {
    /// Who sent it.
    pub from: PublicKey,
    /// The message, or why its bytes were refused.
    pub message: Result<Message, codec::CodecError>,
}

/// Network events queued for the loop, besides the large messages decoded ahead.
const FORWARD_QUEUE: usize = 1024;

/// Passes the network's events on to the loop, decoding each large consensus message (a
/// sync answer) on a blocking thread as soon as it arrives -- while the loop may still
/// be executing the previous range -- and queueing the decoded message on `decoded`.
/// Other events keep their order; a large message may overtake them, as the network may
/// reorder messages anyway. With every decoding slot taken a large message is passed on
/// as it came, and the loop decodes it. Ends when either side closes.
pub fn decode_ahead(
    mut raw: mpsc::Receiver<NetEvent>,
    decoded: mpsc::Sender<Decoded>,
    slots: Slots,
) -> mpsc::Receiver<NetEvent> {
    let (tx, rx) = mpsc::channel(FORWARD_QUEUE);
    tokio::spawn(async move {
        while let Some(ev) = raw.recv().await {
            let ev = match ev {
                NetEvent::Consensus { from, bytes } if bytes.len() > DECODE_OFF_LOOP_BYTES => {
                    match slots.try_take() {
                        Some(slot) => {
                            decode_off_loop(bytes, from, decoded.clone(), slot);
                            continue;
                        }
                        None => NetEvent::Consensus { from, bytes },
                    }
                }
                other => other,
            };
            if tx.send(ev).await.is_err() {
                return;
            }
        }
    });
    rx
}

/// Decodes `bytes` from `from` on a blocking thread and queues the result for the loop.
fn decode_off_loop(bytes: Vec<u8>, from: PublicKey, back: mpsc::Sender<Decoded>, slot: Slot) {
    tokio::task::spawn_blocking(move || {
        let message = decode_message(&bytes);
        drop(bytes);
        // Waits for room in the (bounded) queue; the loop always drains it.
        let _ = back.blocking_send(Decoded { from, message });
        drop(slot);
    });
}

/// Whether the database holds the block at `from_height` (then the answer comes from it).
pub fn has_height(db: &Db, from_height: u64) -> Result<bool> {
    let top = db
        .latest()
        .map_err(|e| anyhow!("reading the stored tip: {e}"))?
        .map_or(0, |(h, _)| h);
    Ok(from_height != 0 && from_height <= top)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_and_given_back() {
        let slots = Slots::new(2);
        let a = slots.try_take().unwrap();
        let b = slots.try_take().unwrap();
        assert!(slots.try_take().is_none());
        drop(a);
        let c = slots.try_take().unwrap();
        assert!(slots.try_take().is_none());
        drop((b, c));
        assert!(slots.try_take().is_some());
    }
}
