//! The latest state's most read values in memory.
//!
//! Every transaction reads its signer's key record and nonce twice on each node (once
//! when a node admits it, from the API or from gossip, and once when it executes), and
//! most actions read a few more records that rarely change (the parties' orgs, the
//! parameters). Each read was a RocksDB lookup -- memtables, then table files through
//! their filter and index partitions -- some 5 us: about a tenth of a validator's CPU at
//! saturation (perf of `lianrong bench`, 2026-12-06). Here such a value is a hash lookup.
//!
//! Only the latest state is cached (reads at a snapshot bypass it). A key read and found
//! absent is kept too, as absent: every transaction asks whether its key is limited to
//! some actions and whether its org requires a second approval, and for almost every key
//! and org the answer is a key that does not exist. Such a lookup went through every
//! memtable and the filters of every table file that may hold it. Of a lifecycle step's
//! ~11 state reads, 2.7 went to RocksDB before and 1.5 after; of an order's ~5, 2.3 and
//! 2.1 (the node's `lianrong_state_reads_total`, `lianrong bench`, 2026-12-07): the rest
//! are new documents' keys, each read once. Entries never go stale, by a protocol with
//! the writer ([`Db`] brackets
//! every write that may change the state with [`StateCache::begin_write`] and
//! [`StateCache::end_write`]):
//!
//! - before the write, the keys it changes are forgotten, so a hit during the write is
//!   of a key the write leaves as it was;
//! - a reader that missed takes a [`Ticket`] before it reads the database, and may fill
//!   the cache with what it read only if no write began or ended since and none is under
//!   way: the value it read may otherwise predate the write;
//! - after a write is done, the writer may keep the values it wrote, with the ticket the
//!   write's end gave, under the same rule: they are the keys' latest values until the
//!   next write begins. A committed block's values are what the next blocks read first
//!   (every signer's nonce, the documents the next steps of their lives load), and each
//!   was a read of RocksDB's memtables (lifecycle bench, session 39).
//!
//! [`Db`]: crate::Db

use std::sync::{Arc, Mutex, MutexGuard};

use hashlink::LruCache;

use crate::cache_reads::{CacheReads, ReadCounter};

/// The cache's size when the node's memory plan does not give one: the values of some
/// tens of thousands of keys (a key record is ~100 bytes, a nonce 8).
pub const STATE_CACHE_BYTES: usize = 4 << 20;
/// Bookkeeping per entry besides the key and value bytes: the LRU's entry (the two
/// slices' pointers and lengths, its links), the shared value's counts, the entry's
/// hash-table slot (~95 bytes requested, `node/tests/memory_model.rs` measures it), and
/// the allocator's rounding of the three allocations to its size classes.
pub const ENTRY_OVERHEAD: usize = 128;
/// The largest share of the cache one value may take: a document's large record would
/// push out hundreds of small hot ones for a single later read.
const MAX_VALUE_SHARE: usize = 256;
/// Values [`StateCache::keep`] inserts under one hold of the lock (a block writes
/// thousands).
const KEEP_CHUNK: usize = 256;

/// A bounded, thread-safe LRU map of state keys to their latest values (`None`: the key
/// does not exist).
pub struct StateCache {
    inner: Mutex<Inner>,
    capacity_bytes: usize,
    /// Lookups since the start, by where they were answered
    /// (`lianrong_state_reads_total`).
    reads: ReadCounter,
}

struct Inner {
    values: LruCache<Box<[u8]>, Option<Arc<[u8]>>>,
    bytes: usize,
    /// Moves at the start and the end of every write.
    generation: u64,
    /// A write is under way: nothing read now may be kept.
    writing: bool,
}

/// What a reader that missed holds while it reads the database: the generation it
/// missed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

/// A cache lookup's answer.
#[derive(Debug)]
pub enum Lookup {
    /// The key's latest value (`None`: the key does not exist).
    Hit(Option<Vec<u8>>),
    /// Not cached: read the database, then [`StateCache::fill`] with this ticket.
    Miss(Ticket),
}

impl StateCache {
    /// An empty cache of at most `capacity_bytes`.
    pub fn new(capacity_bytes: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                values: LruCache::new_unbounded(),
                bytes: 0,
                generation: 0,
                writing: false,
            }),
            capacity_bytes,
            reads: ReadCounter::default(),
        }
    }

    /// The latest value of `key` if cached (or that it does not exist), else a ticket to
    /// fill it with.
    pub fn lookup(&self, key: &[u8]) -> Lookup {
        let mut inner = self.lock();
        let found = match inner.values.get(key) {
            Some(v) => Lookup::Hit(v.as_deref().map(<[u8]>::to_vec)),
            None => Lookup::Miss(Ticket(inner.generation)),
        };
        self.reads.count(matches!(found, Lookup::Hit(_)));
        found
    }

    /// Keeps `value`, read from the database as `key`'s latest after `ticket` was taken
    /// (`None`: not there), unless a write began since (the value may be older than the
    /// write) or it is too large to be worth its room.
    pub fn fill(&self, key: &[u8], value: Option<&[u8]>, ticket: Ticket) {
        self.keep(ticket, [(key, value)]);
    }

    /// Keeps `written`, the values a write that ended with `ticket` ([`Self::end_write`])
    /// gave their keys (`None`: deleted), unless another write began since; values too
    /// large to be worth their room are left out. What a block writes is what the next
    /// ones read first: every signer's nonce, the documents the next steps of their lives
    /// load. Taken a chunk at a time, so a reader waits on the lock for one chunk at most.
    pub fn keep<'k>(
        &self,
        ticket: Ticket,
        written: impl IntoIterator<Item = (&'k [u8], Option<&'k [u8]>)>,
    ) {
        let largest = self.capacity_bytes / MAX_VALUE_SHARE;
        let mut written = written
            .into_iter()
            .filter(|(key, value)| entry_cost(key, *value) <= largest)
            .peekable();
        while written.peek().is_some() {
            let mut inner = self.lock();
            if inner.writing || inner.generation != ticket.0 {
                return;
            }
            for (key, value) in written.by_ref().take(KEEP_CHUNK) {
                if let Some(old) = inner.values.insert(key.into(), value.map(Arc::from)) {
                    inner.bytes -= entry_cost(key, old.as_deref());
                }
                inner.bytes += entry_cost(key, value);
            }
            while inner.bytes > self.capacity_bytes {
                let Some((k, v)) = inner.values.remove_lru() else {
                    break;
                };
                inner.bytes -= entry_cost(&k, v.as_deref());
            }
        }
    }

    /// Before a write that changes `keys` (and no other state key): forgets them, and
    /// keeps nothing read until [`Self::end_write`].
    pub fn begin_write<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>) {
        let mut inner = self.lock();
        for key in keys {
            if let Some(old) = inner.values.remove(key) {
                inner.bytes -= entry_cost(key, old.as_deref());
            }
        }
        inner.writing = true;
        inner.generation += 1;
    }

    /// After a write (done or failed): reads from now on see it and may be kept. The
    /// ticket keeps what the write wrote, if it was done ([`Self::keep`]).
    pub fn end_write(&self) -> Ticket {
        let mut inner = self.lock();
        inner.writing = false;
        inner.generation += 1;
        Ticket(inner.generation)
    }

    /// Lookups since the start, by where they were answered.
    pub fn reads(&self) -> CacheReads {
        self.reads.reads()
    }

    /// Bytes it holds at most.
    pub fn capacity_bytes(&self) -> usize {
        self.capacity_bytes
    }

    /// Bytes held, as counted against the capacity.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.lock().values.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every operation leaves the map and its byte count consistent before it can
        // panic (none of them does), so a poisoned lock is safe to keep using.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What an entry counts against the capacity (an absent key's: its key and overhead).
fn entry_cost(key: &[u8], value: Option<&[u8]>) -> usize {
    key.len() + value.map_or(0, <[u8]>::len) + ENTRY_OVERHEAD
}

impl std::fmt::Debug for StateCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateCache")
            .field("capacity_bytes", &self.capacity_bytes)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    /// What the cache answers for `key`: `None` a miss, `Some(None)` known absent.
    fn hit(c: &StateCache, key: &[u8]) -> Option<Option<Vec<u8>>> {
        match c.lookup(key) {
            Lookup::Hit(v) => Some(v),
            Lookup::Miss(_) => None,
        }
    }

    /// A cached present value.
    fn value(v: &[u8]) -> Option<Option<Vec<u8>>> {
        Some(Some(v.to_vec()))
    }

    fn ticket(c: &StateCache, key: &[u8]) -> Ticket {
        match c.lookup(key) {
            Lookup::Hit(v) => panic!("{key:?} is cached as {v:?}"),
            Lookup::Miss(t) => t,
        }
    }

    #[test]
    fn a_value_filled_is_a_hit_until_a_write_changes_its_key() {
        let c = StateCache::new(STATE_CACHE_BYTES);
        let t = ticket(&c, b"nonce/a");
        c.fill(b"nonce/a", Some(b"1"), t);
        let t = ticket(&c, b"org/b");
        c.fill(b"org/b", Some(b"B"), t);
        assert_eq!(hit(&c, b"nonce/a"), value(b"1"));
        c.begin_write([&b"nonce/a"[..]]);
        assert_eq!(
            hit(&c, b"nonce/a"),
            None,
            "the key the write changes is gone"
        );
        assert_eq!(hit(&c, b"org/b"), value(b"B"), "the others stay");
        c.end_write();
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn a_key_found_absent_is_answered_absent_until_a_write_changes_it() {
        let c = StateCache::new(STATE_CACHE_BYTES);
        let t = ticket(&c, b"scopes/k");
        c.fill(b"scopes/k", None, t);
        assert_eq!(
            hit(&c, b"scopes/k"),
            Some(None),
            "known absent, from memory"
        );
        assert_eq!(c.bytes(), entry_cost(b"scopes/k", None));
        c.begin_write([&b"scopes/k"[..]]);
        assert_eq!(hit(&c, b"scopes/k"), None, "the write may create it");
        let ticket = c.end_write();
        c.keep(ticket, [(&b"scopes/k"[..], Some(&b"[pay]"[..]))]);
        assert_eq!(hit(&c, b"scopes/k"), value(b"[pay]"));
        // A key a block deletes is kept as absent.
        c.begin_write([&b"scopes/k"[..]]);
        let ticket = c.end_write();
        c.keep(ticket, [(&b"scopes/k"[..], None)]);
        assert_eq!(hit(&c, b"scopes/k"), Some(None));
        assert_eq!(c.len(), 1);
        assert_eq!(c.bytes(), entry_cost(b"scopes/k", None));
    }

    #[test]
    fn what_was_read_before_a_write_or_during_it_is_not_kept() {
        let c = StateCache::new(STATE_CACHE_BYTES);
        // Read before the write began, filled after it ended: maybe the old value.
        let before = ticket(&c, b"k");
        c.begin_write([&b"k"[..]]);
        // Read during the write: the old value or the new one.
        let during = ticket(&c, b"k");
        c.fill(b"k", Some(b"old"), during);
        assert_eq!(hit(&c, b"k"), None, "filled while the write is under way");
        c.end_write();
        c.fill(b"k", Some(b"old"), before);
        c.fill(b"k", None, during);
        assert_eq!(
            hit(&c, b"k"),
            None,
            "filled with a ticket of before the write's end"
        );
        // Read after the write: the new value.
        let after = ticket(&c, b"k");
        c.fill(b"k", Some(b"new"), after);
        assert_eq!(hit(&c, b"k"), value(b"new"));
    }

    #[test]
    fn the_least_recently_used_go_first_and_the_bytes_stay_bounded() {
        let capacity = 64 * 1024;
        let c = StateCache::new(capacity);
        let value = [7u8; 100];
        let per_entry = entry_cost(b"key/00000", Some(&value));
        for i in 0..1000u32 {
            let key = format!("key/{i:05}");
            if i >= 2 {
                // Keep the first key the most recently used.
                assert!(hit(&c, b"key/00000").is_some(), "{i}");
            }
            let t = ticket(&c, key.as_bytes());
            c.fill(key.as_bytes(), Some(&value), t);
            assert!(c.bytes() <= capacity, "{i}");
        }
        assert_eq!(c.len(), capacity / per_entry);
        assert!(hit(&c, b"key/00000").is_some(), "used last, kept");
        assert!(hit(&c, b"key/00001").is_none(), "used least, gone");
        assert!(hit(&c, b"key/00999").is_some(), "the newest is kept");
    }

    #[test]
    fn a_value_too_large_for_its_share_is_not_kept() {
        let c = StateCache::new(64 * 1024);
        let t = ticket(&c, b"doc/large");
        c.fill(b"doc/large", Some(&[0u8; 1024]), t);
        assert_eq!(hit(&c, b"doc/large"), None);
        assert_eq!(c.bytes(), 0);
    }

    /// One step of readers and a writer interleaved.
    #[derive(Debug, Clone)]
    enum Step {
        /// Reader `r` looks `key` up (a hit must be the database's value now).
        Lookup(usize, u8),
        /// Reader `r` reads the database.
        Read(usize),
        /// Reader `r` fills the cache with what it read.
        Fill(usize),
        /// The writer begins a write of these keys and values.
        Begin(Vec<(u8, Option<u8>)>),
        /// The writer's batch lands.
        Land,
        /// The writer ends its write.
        End,
        /// The writer keeps the values its last ended write wrote, with that end's ticket.
        Keep,
    }

    fn step() -> impl Strategy<Value = Step> {
        let key = 0u8..6;
        prop_oneof![
            3 => (0usize..3, key.clone()).prop_map(|(r, k)| Step::Lookup(r, k)),
            3 => (0usize..3).prop_map(Step::Read),
            3 => (0usize..3).prop_map(Step::Fill),
            // One value a key, as a block's changes have.
            1 => prop::collection::btree_map(key, prop::option::of(any::<u8>()), 1..4)
                .prop_map(|writes| Step::Begin(writes.into_iter().collect())),
            1 => Just(Step::Land),
            1 => Just(Step::End),
            1 => Just(Step::Keep),
        ]
    }

    /// A write's keys and values (`None` deletes).
    type Writes = Vec<(u8, Option<u8>)>;

    #[derive(Default, Clone)]
    struct Reader {
        key: Option<u8>,
        ticket: Option<Ticket>,
        read: Option<Option<u8>>,
    }

    proptest! {
        /// Whatever the order in which readers look up, read and fill and a writer
        /// forgets, lands, ends and keeps its writes (also after a later write began),
        /// every hit is the database's value at that moment.
        #[test]
        fn every_hit_is_the_value_the_database_holds_then(
            steps in prop::collection::vec(step(), 1..120),
        ) {
            let c = StateCache::new(STATE_CACHE_BYTES);
            let mut db: BTreeMap<u8, u8> = (0..6).map(|k| (k, k)).collect();
            let mut readers = vec![Reader::default(); 3];
            // The write begun and not yet landed, and whether one is under way.
            let mut pending: Option<Vec<(u8, Option<u8>)>> = None;
            let mut writing = false;
            // The write that landed and not yet ended, and the last one that ended.
            let mut landed: Writes = Vec::new();
            let mut ended: Option<(Ticket, Writes)> = None;
            for s in steps {
                match s {
                    Step::Lookup(r, k) => {
                        readers[r] = Reader { key: Some(k), ..Reader::default() };
                        match c.lookup(&[k]) {
                            Lookup::Hit(v) => prop_assert_eq!(
                                v.map(|v| v[0]),
                                db.get(&k).copied()
                            ),
                            Lookup::Miss(t) => readers[r].ticket = Some(t),
                        }
                    }
                    Step::Read(r) => {
                        if let (Some(k), Some(_)) = (readers[r].key, readers[r].ticket) {
                            readers[r].read = Some(db.get(&k).copied());
                        }
                    }
                    Step::Fill(r) => {
                        let rd = std::mem::take(&mut readers[r]);
                        if let (Some(k), Some(t), Some(read)) = (rd.key, rd.ticket, rd.read) {
                            let v = read.map(|v| [v]);
                            c.fill(&[k], v.as_ref().map(|v| &v[..]), t);
                        }
                    }
                    Step::Begin(writes) if !writing => {
                        let keys: Vec<[u8; 1]> = writes.iter().map(|(k, _)| [*k]).collect();
                        c.begin_write(keys.iter().map(|k| &k[..]));
                        pending = Some(writes);
                        writing = true;
                    }
                    Step::Land => {
                        landed = pending.clone().unwrap_or_default();
                        for (k, v) in pending.take().into_iter().flatten() {
                            match v {
                                Some(v) => db.insert(k, v),
                                None => db.remove(&k),
                            };
                        }
                    }
                    Step::End if writing && pending.is_none() => {
                        ended = Some((c.end_write(), std::mem::take(&mut landed)));
                        writing = false;
                    }
                    Step::Keep => {
                        if let Some((ticket, writes)) = ended.take() {
                            let values: Vec<([u8; 1], Option<[u8; 1]>)> = (writes.iter())
                                .map(|(k, v)| ([*k], v.map(|v| [v])))
                                .collect();
                            c.keep(
                                ticket,
                                values.iter().map(|(k, v)| (&k[..], v.as_ref().map(|v| &v[..]))),
                            );
                        }
                    }
                    Step::Begin(_) | Step::End => {}
                }
            }
        }
    }
}
