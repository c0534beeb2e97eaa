//! Loopback ports for test processes: one place decides which port a test may use, so
//! no two users in this process get the same one. A released port is often the next one
//! `bind(0)` returns, so "bind, read the port, close" twice in a row can name one port
//! twice (CI once saw a node's API and p2p listeners collide). Ports that nodes were
//! configured with but have not bound yet are marked taken here for the same reason.

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::{Mutex, OnceLock};

/// How many candidates to reject before giving up (a kernel that keeps offering the same
/// few ports is a broken machine, not a slow one).
const MAX_REJECTED: usize = 1000;

fn taken() -> &'static Mutex<HashSet<u16>> {
    static TAKEN: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    TAKEN.get_or_init(Default::default)
}

/// Marks `port` as used by something that has not bound it yet (a node's config).
pub fn mark_taken(port: u16) {
    taken().lock().expect("port set").insert(port);
}

/// A loopback listener on a port nothing else in this process was given or marked.
/// Rejected candidates stay bound while looking, so the kernel moves on.
pub fn bind_fresh() -> TcpListener {
    let mut rejected = Vec::new();
    loop {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = l
            .local_addr()
            .expect("a bound listener has an address")
            .port();
        if taken().lock().expect("port set").insert(port) {
            return l;
        }
        assert!(
            rejected.len() < MAX_REJECTED,
            "no fresh loopback port after {MAX_REJECTED} tries"
        );
        rejected.push(l);
    }
}

/// A free loopback port for a server this test starts (closed again here: a race with
/// other processes remains until the server binds it).
pub fn free_port() -> u16 {
    bind_fresh()
        .local_addr()
        .expect("a bound listener has an address")
        .port()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_port_is_handed_out_twice_or_after_being_marked() {
        let first = free_port();
        mark_taken(first.wrapping_add(1));
        let mut seen = HashSet::from([first]);
        for _ in 0..200 {
            let p = free_port();
            assert_ne!(p, first.wrapping_add(1), "a marked port was handed out");
            assert!(seen.insert(p), "port {p} handed out twice");
        }
    }
}
