//! Book-keeping of peers, kept apart from the swarm so that it can be tested without
//! sockets: re-dial back-off for configured peers, and strikes and bans for misbehaving
//! ones. All maps are keyed by allowed peers only, so their size is bounded by genesis.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::{Multiaddr, PeerId};

/// Re-dial state of one configured peer.
#[derive(Debug, Clone)]
struct Redial {
    addr: Multiaddr,
    /// The address came from the node's own configuration (`[p2p.peers]`), not from the
    /// ledger: an operator's word for how to reach that peer from here (a private link,
    /// a NAT, a proxy) outranks the address the validator registered for everyone.
    configured: bool,
    /// Delay used for the next failure.
    backoff: Duration,
    /// Earliest time of the next dial.
    next_at: Instant,
    /// A dial is in progress; do not start another.
    dialing: bool,
    /// When the current connection came up, if connected.
    connected_since: Option<Instant>,
}

/// Exponential, capped re-dial back-off for the peers we must stay connected to.
#[derive(Debug)]
pub struct RedialSchedule {
    peers: HashMap<PeerId, Redial>,
    initial: Duration,
    max: Duration,
    stable: Duration,
}

impl RedialSchedule {
    /// A schedule for `peers`, all due immediately.
    pub fn new(
        peers: impl IntoIterator<Item = (PeerId, Multiaddr)>,
        initial: Duration,
        max: Duration,
        stable: Duration,
        now: Instant,
    ) -> Self {
        let peers = peers
            .into_iter()
            .map(|(p, addr)| {
                let r = Redial {
                    addr,
                    configured: true,
                    backoff: initial,
                    next_at: now,
                    dialing: false,
                    connected_since: None,
                };
                (p, r)
            })
            .collect();
        Self {
            peers,
            initial,
            max: max.max(initial),
            stable,
        }
    }

    /// Adds `peer` at the address the ledger records for it to the peers kept connected
    /// (due now). A peer known from the ledger gets the new address; a peer configured
    /// with an address of its own keeps that one.
    pub fn add(&mut self, peer: PeerId, addr: Multiaddr, now: Instant) {
        match self.peers.get_mut(&peer) {
            Some(r) if r.configured => {}
            Some(r) => r.addr = addr,
            None => {
                let r = Redial {
                    addr,
                    configured: false,
                    backoff: self.initial,
                    next_at: now,
                    dialing: false,
                    connected_since: None,
                };
                self.peers.insert(peer, r);
            }
        }
    }

    /// The configured peers to dial now (not connected, not dialing, back-off elapsed);
    /// they are marked as dialing.
    pub fn due(&mut self, now: Instant) -> Vec<(PeerId, Multiaddr)> {
        let mut out = Vec::new();
        for (p, r) in &mut self.peers {
            if r.connected_since.is_none() && !r.dialing && r.next_at <= now {
                r.dialing = true;
                out.push((*p, r.addr.clone()));
            }
        }
        out
    }

    /// The first connection to `peer` is up.
    pub fn connected(&mut self, peer: &PeerId, now: Instant) {
        if let Some(r) = self.peers.get_mut(peer) {
            r.dialing = false;
            r.connected_since = Some(now);
        }
    }

    /// The last connection to `peer` closed. A connection that lasted resets the
    /// back-off; one that dropped quickly (the peer refuses us, crashes at once) counts as
    /// a failure, so a flapping peer is not hammered.
    pub fn disconnected(&mut self, peer: &PeerId, now: Instant) {
        let (initial, max, stable) = (self.initial, self.max, self.stable);
        if let Some(r) = self.peers.get_mut(peer) {
            let lasted = r
                .connected_since
                .take()
                .map(|since| now.saturating_duration_since(since));
            r.dialing = false;
            if lasted.is_some_and(|d| d >= stable) {
                r.backoff = initial;
            }
            r.next_at = now + r.backoff;
            r.backoff = (r.backoff * 2).min(max);
        }
    }

    /// A dial to `peer` failed: wait the back-off, then double it (up to the cap).
    pub fn dial_failed(&mut self, peer: &PeerId, now: Instant) {
        let max = self.max;
        if let Some(r) = self.peers.get_mut(peer) {
            if r.connected_since.is_some() {
                // Another connection is up (e.g. the peer dialed us meanwhile).
                r.dialing = false;
                return;
            }
            r.dialing = false;
            r.next_at = now + r.backoff;
            r.backoff = (r.backoff * 2).min(max);
        }
    }

    /// Do not dial `peer` before `until` (it is banned).
    pub fn hold_until(&mut self, peer: &PeerId, until: Instant) {
        if let Some(r) = self.peers.get_mut(peer) {
            r.next_at = r.next_at.max(until);
        }
    }
}

/// What a strike led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrikeOutcome {
    /// Counted; the peer stays connected.
    Counted(u32),
    /// That was one too many: disconnect and ban the peer until the given time.
    Ban(Instant),
    /// The peer is banned already (a late message); nothing more to do.
    AlreadyBanned,
}

/// Strikes against peers and the bans they lead to. Every peer here is allow-listed (a
/// validator or a declared full node), so a ban only ever lasts `ban_duration` and
/// strikes are forgotten after `strike_memory` without a new one: a rare fault spread
/// over weeks never adds up to a ban, and a wrong ban heals on its own.
#[derive(Debug)]
pub struct Discipline {
    /// Strikes of each peer and when the last one was counted.
    strikes: HashMap<PeerId, (u32, Instant)>,
    bans: HashMap<PeerId, Instant>,
    strikes_before_ban: u32,
    ban_duration: Duration,
    strike_memory: Duration,
}

impl Discipline {
    /// `strikes_before_ban` (at least 1) strikes, each within `strike_memory` of the
    /// previous one, ban a peer for `ban_duration`.
    pub fn new(strikes_before_ban: u32, ban_duration: Duration, strike_memory: Duration) -> Self {
        Self {
            strikes: HashMap::new(),
            bans: HashMap::new(),
            strikes_before_ban: strikes_before_ban.max(1),
            ban_duration,
            strike_memory,
        }
    }

    /// Counts one misbehaviour of `peer`.
    pub fn strike(&mut self, peer: PeerId, now: Instant) -> StrikeOutcome {
        if self.bans.contains_key(&peer) {
            return StrikeOutcome::AlreadyBanned;
        }
        let memory = self.strike_memory;
        let (n, last) = self.strikes.entry(peer).or_insert((0, now));
        if now.saturating_duration_since(*last) > memory {
            *n = 0;
        }
        *n = n.saturating_add(1);
        *last = now;
        let n = *n;
        if n >= self.strikes_before_ban {
            self.strikes.remove(&peer);
            let until = now + self.ban_duration;
            self.bans.insert(peer, until);
            StrikeOutcome::Ban(until)
        } else {
            StrikeOutcome::Counted(n)
        }
    }

    /// Whether `peer` is banned now.
    pub fn is_banned(&self, peer: &PeerId) -> bool {
        self.bans.contains_key(peer)
    }

    /// When the ban of `peer` ends, if it is banned.
    pub fn banned_until(&self, peer: &PeerId) -> Option<Instant> {
        self.bans.get(peer).copied()
    }

    /// Lifts the bans that have expired and returns those peers.
    pub fn expire(&mut self, now: Instant) -> Vec<PeerId> {
        let expired: Vec<PeerId> = self
            .bans
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(p, _)| *p)
            .collect();
        for p in &expired {
            self.bans.remove(p);
        }
        expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn schedule(now: Instant) -> (RedialSchedule, PeerId) {
        let p = PeerId::random();
        let addr: Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().expect("valid");
        (
            RedialSchedule::new([(p, addr)], 100 * MS, 800 * MS, 1000 * MS, now),
            p,
        )
    }

    #[test]
    fn a_configured_address_outranks_the_ledger_address() {
        let t0 = Instant::now();
        let (mut s, configured) = schedule(t0);
        let ledger: Multiaddr = "/ip4/10.0.0.9/tcp/7000".parse().expect("valid");
        s.add(configured, ledger.clone(), t0);
        let due = s.due(t0);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].1.to_string(), "/ip4/127.0.0.1/tcp/1", "config wins");
        // A peer known only from the ledger follows the ledger.
        let other = PeerId::random();
        s.add(other, ledger, t0);
        let moved: Multiaddr = "/ip4/10.0.0.10/tcp/7000".parse().expect("valid");
        s.add(other, moved.clone(), t0);
        assert_eq!(s.due(t0), vec![(other, moved)]);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_resets_after_a_stable_link() {
        let t0 = Instant::now();
        let (mut s, p) = schedule(t0);
        assert_eq!(s.due(t0).len(), 1);
        assert!(s.due(t0).is_empty(), "no second dial while one is pending");
        let mut now = t0;
        for expected in [100, 200, 400, 800, 800] {
            s.dial_failed(&p, now);
            assert!(s.due(now + (expected - 1) * MS).is_empty());
            now += expected * MS;
            assert_eq!(s.due(now).len(), 1, "due after {expected} ms");
        }
        // A link that lasted resets the back-off.
        s.connected(&p, now);
        now += 2000 * MS;
        s.disconnected(&p, now);
        assert_eq!(s.due(now + 100 * MS).len(), 1);
        // A link that dropped at once keeps growing it.
        s.connected(&p, now);
        s.disconnected(&p, now + MS);
        assert!(s.due(now + 150 * MS).is_empty());
        assert_eq!(s.due(now + 201 * MS).len(), 1);
    }

    #[test]
    fn connected_peers_are_not_dialed_and_holds_delay_dials() {
        let t0 = Instant::now();
        let (mut s, p) = schedule(t0);
        s.connected(&p, t0);
        assert!(s.due(t0 + 10_000 * MS).is_empty());
        s.disconnected(&p, t0 + 10_000 * MS);
        s.hold_until(&p, t0 + 60_000 * MS);
        assert!(s.due(t0 + 59_999 * MS).is_empty());
        assert_eq!(s.due(t0 + 60_000 * MS).len(), 1);
    }

    #[test]
    fn strikes_lead_to_a_ban_that_expires() {
        let t0 = Instant::now();
        let mut d = Discipline::new(3, 1000 * MS, 60_000 * MS);
        let p = PeerId::random();
        assert_eq!(d.strike(p, t0), StrikeOutcome::Counted(1));
        assert_eq!(d.strike(p, t0), StrikeOutcome::Counted(2));
        assert_eq!(d.strike(p, t0), StrikeOutcome::Ban(t0 + 1000 * MS));
        assert!(d.is_banned(&p));
        assert_eq!(d.strike(p, t0), StrikeOutcome::AlreadyBanned);
        assert!(d.expire(t0 + 999 * MS).is_empty());
        assert_eq!(d.expire(t0 + 1000 * MS), vec![p]);
        assert!(!d.is_banned(&p));
        assert_eq!(
            d.strike(p, t0),
            StrikeOutcome::Counted(1),
            "strikes restart"
        );
    }

    #[test]
    fn strikes_far_apart_are_forgotten() {
        let t0 = Instant::now();
        let mut d = Discipline::new(3, 1000 * MS, 60_000 * MS);
        let p = PeerId::random();
        // One strike a day for a month never bans an allow-listed peer.
        for day in 0..30u32 {
            let at = t0 + day * 86_400_000 * MS;
            assert_eq!(d.strike(p, at), StrikeOutcome::Counted(1), "day {day}");
        }
        // Three within the memory still do.
        let late = t0 + 31 * 86_400_000 * MS;
        d.strike(p, late);
        d.strike(p, late + 30_000 * MS);
        assert_eq!(
            d.strike(p, late + 60_000 * MS),
            StrikeOutcome::Ban(late + 61_000 * MS)
        );
    }
}
