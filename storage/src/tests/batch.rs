//! A block's write batch is allocated once: the room reserved for it
//! ([`Db::batch_bytes_estimate`]) holds what is staged, on plain, pruning and encrypted
//! databases, for blocks of every kind of transaction and for a block of many orders.

use super::prune::genesis_db_with;
use super::*;
use crate::{DataKey, DbOptions};

/// Stages and commits every block of `w` on `db`, checking each batch against its room;
/// returns the largest batch's size and room.
fn check_batches(db: &Db, w: &World, what: &str) -> (usize, usize) {
    let mut largest = (0, 0);
    for (ctx, txs, _) in &w.log {
        let c = commit_of(ctx, txs, db);
        let (batch, _) = db.stage_block(&c).expect("stage");
        let (staged, reserved) = (batch.size_in_bytes(), db.batch_bytes_estimate(&c));
        assert!(
            staged <= reserved,
            "{what}, height {}: {staged} bytes staged in {reserved} reserved ({} txs)",
            ctx.height,
            txs.len()
        );
        largest = largest.max((staged, reserved));
        db.commit_block(&c).expect("commit");
    }
    largest
}

/// The scenario's blocks, then one block of 256 orders from 18 keys (as
/// `lianrong bench` fills a block).
fn world_with_a_full_block() -> World {
    let mut w = scenario(2);
    let signers = w.order_signers(8);
    let txs = w.orders(&signers, 256);
    w.block(&txs);
    w
}

#[test]
fn a_block_batch_fits_the_room_reserved_for_it() {
    let w = world_with_a_full_block();
    let cases = [
        ("plain", DbOptions::default()),
        (
            "pruning every version but the last 2",
            DbOptions {
                keep_versions: Some(2),
                ..DbOptions::default()
            },
        ),
        (
            "encrypted",
            DbOptions {
                encryption: Some(DataKey::generate()),
                ..DbOptions::default()
            },
        ),
    ];
    for (what, options) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = genesis_db_with(dir.path(), &options);
        let (staged, reserved) = check_batches(&db, &w, what);
        // Not reserved wildly beyond need either: address space is cheap, not free.
        assert!(
            staged > 400_000 && reserved <= 2 * staged,
            "{what}: the full block staged {staged} bytes in {reserved} reserved"
        );
    }
}
