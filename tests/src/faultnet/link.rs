//! A controllable network link: a userspace TCP proxy between one validator and the peer
//! it dials. Every byte of that peer connection passes through here, so the harness can
//! delay it, lose it (as TCP shows loss: a chunk held for a retransmission time, and
//! everything behind it), stall one direction, or cut the link, at run time.
//!
//! Why a proxy and not netem in network namespaces: it needs no root, no kernel module
//! and no second network stack, so every developer machine and CI runs the same faults;
//! and TCP above a lossy netem link shows its peers exactly what this shows them --
//! delayed, stalled or reset streams. (Packet-level effects below TCP, such as
//! congestion control, are out of its reach; multi-host runs with netem are documented
//! in network-configs/.)

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a link does to the bytes crossing it now. `Clean` is a plain pipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkState {
    /// Added to every chunk, both ways (one-way latency), in milliseconds.
    pub delay_ms: u64,
    /// Per chunk, the percentage held back for [`RETRANSMIT`] (what a lost segment costs
    /// TCP), both ways.
    pub loss_pct: u8,
    /// Bytes from the dialer to the dialed peer stay unread (a one-way partition: the
    /// sender's writes block, nothing arrives; the other way still flows).
    pub stall_out: bool,
    /// The same for bytes from the dialed peer back to the dialer.
    pub stall_back: bool,
    /// No connection lives or opens: open ones are reset, new ones closed on accept.
    pub cut: bool,
}

impl LinkState {
    /// A plain pipe.
    pub const CLEAN: LinkState = LinkState {
        delay_ms: 0,
        loss_pct: 0,
        stall_out: false,
        stall_back: false,
        cut: false,
    };
}

/// What a lost segment costs a TCP stream: the minimum retransmission timeout.
pub const RETRANSMIT: Duration = Duration::from_millis(200);

/// Bytes a stalled or delayed direction may hold before the proxy stops reading (the
/// kernel's buffers then push back on the sender, as a full receive window does).
const MAX_IN_FLIGHT_CHUNKS: usize = 256;

struct Shared {
    state: Mutex<LinkState>,
    conns: Mutex<Vec<TcpStream>>,
    stop: AtomicBool,
    rng: Mutex<ChaCha8Rng>,
}

/// One link: listens on a loopback port of its own and forwards to `target`.
pub struct Link {
    /// Where the dialer is told the peer is.
    pub listen: SocketAddr,
    shared: Arc<Shared>,
}

impl Link {
    /// Starts a clean link to `target`; `seed` drives its loss decisions.
    pub fn start(target: SocketAddr, seed: u64) -> Link {
        let listener = crate::ports::bind_fresh();
        let listen = listener.local_addr().expect("link address");
        listener.set_nonblocking(true).expect("non-blocking accept");
        let shared = Arc::new(Shared {
            state: Mutex::new(LinkState::CLEAN),
            conns: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
        });
        let s = shared.clone();
        std::thread::spawn(move || accept_loop(&listener, target, &s));
        Link { listen, shared }
    }

    /// Sets what the link does from now on; cutting it resets its open connections.
    pub fn set(&self, state: LinkState) {
        *self.shared.state.lock().unwrap() = state;
        if state.cut {
            for c in self.shared.conns.lock().unwrap().drain(..) {
                let _ = c.shutdown(Shutdown::Both);
            }
        }
    }

    /// What the link does now.
    pub fn state(&self) -> LinkState {
        *self.shared.state.lock().unwrap()
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for c in self.shared.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

fn accept_loop(listener: &TcpListener, target: SocketAddr, s: &Arc<Shared>) {
    while !s.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((inbound, _)) => {
                if s.state.lock().unwrap().cut {
                    let _ = inbound.shutdown(Shutdown::Both);
                    continue;
                }
                // The peer may be down (killed): the dialer sees its connection closed.
                let Ok(outbound) = TcpStream::connect_timeout(&target, Duration::from_secs(2))
                else {
                    let _ = inbound.shutdown(Shutdown::Both);
                    continue;
                };
                splice(inbound, outbound, s);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Pumps both directions of one proxied connection.
fn splice(inbound: TcpStream, outbound: TcpStream, s: &Arc<Shared>) {
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    {
        let mut conns = s.conns.lock().unwrap();
        conns.push(inbound.try_clone().expect("clone socket"));
        conns.push(outbound.try_clone().expect("clone socket"));
    }
    for (from, to, out) in [
        (inbound.try_clone(), outbound.try_clone(), true),
        (outbound.try_clone(), inbound.try_clone(), false),
    ] {
        let (Ok(from), Ok(to)) = (from, to) else {
            return;
        };
        let s = s.clone();
        std::thread::spawn(move || pump(from, to, out, &s));
    }
}

/// One direction: a reader that timestamps chunks (and stalls when told) and a writer
/// that releases each chunk at its due time, in order, as TCP does.
fn pump(mut from: TcpStream, to: TcpStream, out: bool, s: &Arc<Shared>) {
    let (tx, rx) = mpsc::sync_channel::<(Instant, Vec<u8>)>(MAX_IN_FLIGHT_CHUNKS);
    let writer = std::thread::spawn(move || deliver(to, &rx));
    let _ = from.set_read_timeout(Some(Duration::from_millis(50)));
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if s.stop.load(Ordering::SeqCst) {
            break;
        }
        let st = *s.state.lock().unwrap();
        if st.cut {
            break;
        }
        if (out && st.stall_out) || (!out && st.stall_back) {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                // What the link does when the bytes arrive, not when the read began: a
                // direction stalled meanwhile holds them.
                let Some(st) = hold_while_stalled(s, out) else {
                    break;
                };
                let lost = st.loss_pct > 0 && s.rng.lock().unwrap().gen_range(0..100) < st.loss_pct;
                let extra = if lost { RETRANSMIT } else { Duration::ZERO };
                let due = Instant::now() + Duration::from_millis(st.delay_ms) + extra;
                if tx.send((due, buf[..n].to_vec())).is_err() {
                    break;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    drop(tx);
    let _ = writer.join();
    let _ = from.shutdown(Shutdown::Both);
}

/// Waits while this direction is stalled; the state to forward under, or `None` once the
/// link is cut or stopped.
fn hold_while_stalled(s: &Shared, out: bool) -> Option<LinkState> {
    loop {
        let st = *s.state.lock().unwrap();
        if st.cut || s.stop.load(Ordering::SeqCst) {
            return None;
        }
        if !((out && st.stall_out) || (!out && st.stall_back)) {
            return Some(st);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn deliver(mut to: TcpStream, rx: &mpsc::Receiver<(Instant, Vec<u8>)>) {
    // A chunk is never released before the one read before it (TCP is in order), so a
    // lost chunk holds back everything behind it.
    let mut not_before = Instant::now();
    while let Ok((due, bytes)) = rx.recv() {
        not_before = not_before.max(due);
        let now = Instant::now();
        if not_before > now {
            std::thread::sleep(not_before - now);
        }
        if to.write_all(&bytes).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo_server() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for c in l.incoming() {
                let Ok(mut c) = c else { return };
                std::thread::spawn(move || {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = c.read(&mut buf) {
                        if n == 0 || c.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    fn round_trip(c: &mut TcpStream) -> std::io::Result<Duration> {
        let t = Instant::now();
        c.write_all(b"ping")?;
        let mut buf = [0u8; 4];
        c.read_exact(&mut buf)?;
        assert_eq!(&buf, b"ping");
        Ok(t.elapsed())
    }

    #[test]
    fn a_link_delays_stalls_and_cuts_what_crosses_it() {
        let link = Link::start(echo_server(), 7);
        let mut c = TcpStream::connect(link.listen).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        round_trip(&mut c).unwrap();

        link.set(LinkState {
            delay_ms: 150,
            ..LinkState::CLEAN
        });
        let rtt = round_trip(&mut c).unwrap();
        assert!(
            rtt >= Duration::from_millis(300),
            "two delayed legs: {rtt:?}"
        );

        // One way stalled: the echo never comes back until the stall ends.
        link.set(LinkState {
            stall_back: true,
            ..LinkState::CLEAN
        });
        c.write_all(b"ping").unwrap();
        c.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut buf = [0u8; 4];
        assert!(
            c.read_exact(&mut buf).is_err(),
            "a stalled direction delivered"
        );
        link.set(LinkState::CLEAN);
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping", "the held bytes arrive after the stall");

        // Cut: the open connection ends and a new one is closed at once.
        link.set(LinkState {
            cut: true,
            ..LinkState::CLEAN
        });
        assert!(round_trip(&mut c).is_err(), "a cut link carried bytes");
        let mut again = TcpStream::connect(link.listen).unwrap();
        again
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        assert!(round_trip(&mut again).is_err(), "a cut link accepted");
        link.set(LinkState::CLEAN);
        let mut healed = TcpStream::connect(link.listen).unwrap();
        healed
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        round_trip(&mut healed).unwrap();
    }
}
