//! Transactions submitted through this node's API, gathered for one signature check.
//!
//! A submission checked alone on the request's task cost a whole Ed25519 verification
//! (~39 us on the bench machine), where the batch equation over the transactions a node
//! gossips together costs ~18 us a signature (`lianrong_primitives::BatchVerifier`). A
//! submission waited for its gossip bundle anyway -- up to `BUNDLE_WINDOW_MS` before any
//! peer saw it -- so the loop now gathers submissions over that window, checks them with
//! one equation off the loop, admits those that pass and gossips them as one bundle at
//! once. A peer sees a transaction no later than before; the submitter's answer comes
//! after the window instead of before it.
//!
//! Windows are checked one after another on one thread ([`Checker`]) and come back in
//! the order they were gathered, so a key's transactions are admitted in the order they
//! arrived. Checked in parallel, a later window could be admitted first and fill the
//! mempool or the key's share, and its key's earlier transactions, refused, left a
//! nonce gap behind the admitted ones: `lianrong bench --total N --catch-up` found
//! mempools that never emptied. A window that finds the checker's queue full is refused
//! as busy (the API's 503), as a full command queue is.
//!
//! The loop (`runtime`) owns the gathering and admits what comes back.

use lianrong_contracts::{verify_envelopes, Envelope, TxError, VerifiedTransaction};
use lianrong_node_formats::gossip;
use lianrong_primitives::Hash;
use tokio::sync::{mpsc, oneshot};

use crate::mempool::AdmitError;

/// Why the loop refused a submission.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SubmitError {
    /// Its envelope failed the signature check (or chain and size, checked with it).
    #[error(transparent)]
    Refused(#[from] TxError),
    /// The mempool did not admit it.
    #[error(transparent)]
    Admit(#[from] AdmitError),
    /// The signature checks are behind by [`QUEUED_WINDOWS`] windows.
    #[error("the node is busy checking signatures; try again shortly")]
    Busy,
}

/// Windows waiting for the checker beyond the one it checks: ~0.5 MiB of transactions at
/// most, some 40 ms of checks when full.
pub const QUEUED_WINDOWS: usize = 4;

/// The thread that checks windows of submissions, in order.
pub struct Checker {
    windows: mpsc::Sender<Vec<Submission>>,
}

impl Checker {
    /// Starts the `submissions` thread: it checks each window handed to it and passes the
    /// verdicts to `deliver`, in order, until `deliver` says the loop is gone or the
    /// checker is dropped.
    pub fn start(
        chain_id: String,
        deliver: impl Fn(Checked) -> bool + Send + 'static,
    ) -> std::io::Result<Checker> {
        let (windows, mut queued) = mpsc::channel::<Vec<Submission>>(QUEUED_WINDOWS);
        std::thread::Builder::new()
            .name("submissions".into())
            .spawn(move || {
                while let Some(window) = queued.blocking_recv() {
                    if !deliver(check(window, &chain_id)) {
                        break;
                    }
                }
            })?;
        Ok(Checker { windows })
    }

    /// Hands a window to the checker; if [`QUEUED_WINDOWS`] wait already, refuses each of
    /// its submissions as busy.
    pub fn check(&self, window: Vec<Submission>) {
        if let Err(e) = self.windows.try_send(window) {
            let window = match e {
                mpsc::error::TrySendError::Full(w) | mpsc::error::TrySendError::Closed(w) => w,
            };
            for s in window {
                // The submitter may have gone; nothing else waits for the answer.
                drop(s.reply.send(Err(SubmitError::Busy)));
            }
        }
    }
}

/// Where the loop answers one submission: its hash once admitted.
pub type Reply = oneshot::Sender<Result<Hash, SubmitError>>;

/// A submission the API passed its cheap checks, its signature not checked yet.
#[derive(Debug)]
pub struct Submission {
    /// The transaction as submitted (decoded, hashed, its bytes kept).
    pub envelope: Envelope,
    /// The answer.
    pub reply: Reply,
}

/// Submissions waiting for their window's check: at most one gossip bundle's worth, so
/// the transactions admitted from one check always fit the bundle they are sent in.
#[derive(Debug, Default)]
pub struct Gathered {
    waiting: Vec<Submission>,
    bytes: usize,
}

impl Gathered {
    /// Adds a submission; returns the waiting ones to check now when it would not fit
    /// beside them in one bundle (it then waits alone).
    pub fn push(&mut self, s: Submission) -> Option<Vec<Submission>> {
        let len = s.envelope.bytes().len();
        let full = !gossip::fits_beside(self.waiting.len(), self.bytes, len);
        let ready = if full { Some(self.take()) } else { None };
        self.waiting.push(s);
        self.bytes += len;
        ready
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Everything waiting, in the order it arrived (emptying the list).
    pub fn take(&mut self) -> Vec<Submission> {
        self.bytes = 0;
        std::mem::take(&mut self.waiting)
    }
}

/// The check's verdict on each submission of a batch, in the order they arrived.
#[derive(Debug)]
pub struct Checked {
    verdicts: Vec<(Result<VerifiedTransaction, TxError>, Reply)>,
}

impl Checked {
    /// Answers every refused submission; returns the verified ones, in order, with the
    /// replies their admission answers.
    pub fn answer_refused(self) -> Vec<(VerifiedTransaction, Reply)> {
        let mut verified = Vec::with_capacity(self.verdicts.len());
        for (verdict, reply) in self.verdicts {
            match verdict {
                Ok(tx) => verified.push((tx, reply)),
                // The submitter may have gone; nothing else waits for the answer.
                Err(e) => drop(reply.send(Err(SubmitError::Refused(e)))),
            }
        }
        verified
    }
}

/// Checks a window's submissions: chain id and size, then every signature with one batch
/// equation (each alone only if the batch fails, to find which). Milliseconds of CPU for
/// a full window: run it off the loop.
pub fn check(batch: Vec<Submission>, chain_id: &str) -> Checked {
    let (envelopes, replies): (Vec<Envelope>, Vec<Reply>) =
        batch.into_iter().map(|s| (s.envelope, s.reply)).unzip();
    let verdicts = verify_envelopes(envelopes, chain_id);
    // One verdict per envelope, in order (`verify_envelopes`' contract).
    assert_eq!(verdicts.len(), replies.len(), "a verdict per submission");
    Checked {
        verdicts: verdicts.into_iter().zip(replies).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_contracts::testkit;
    use lianrong_node_formats::gossip::MAX_BUNDLE_TXS;

    fn envelope(nonce: u64, chain_id: &str, bad_signature: bool) -> Envelope {
        let mut signed = crate::api::tests_support::accept_order(nonce);
        if chain_id != testkit::CHAIN_ID {
            signed.tx.chain_id = chain_id.into();
            signed = signed.tx.sign(&testkit::member_key("SUP-1"));
        }
        if bad_signature {
            signed.signature.0[0] ^= 1;
        }
        Envelope::decode(&signed.encode()).unwrap()
    }

    fn submission(e: Envelope) -> (Submission, oneshot::Receiver<Result<Hash, SubmitError>>) {
        let (reply, answer) = oneshot::channel();
        (Submission { envelope: e, reply }, answer)
    }

    /// Each submission of a batch gets its own verdict, in order: a broken signature or a
    /// wrong chain refuses that one only, and the others are verified.
    #[test]
    fn each_submission_of_a_batch_gets_its_own_verdict() {
        let chain = testkit::CHAIN_ID;
        let inputs = [
            envelope(0, chain, false),
            envelope(1, chain, true),
            envelope(2, "another-chain", false),
            envelope(3, chain, false),
        ];
        let hashes: Vec<Hash> = inputs.iter().map(Envelope::hash).collect();
        let (batch, mut answers): (Vec<Submission>, Vec<_>) =
            inputs.into_iter().map(submission).unzip();
        let verified = check(batch, chain).answer_refused();
        let verified_hashes: Vec<Hash> = verified.iter().map(|(t, _)| t.hash()).collect();
        assert_eq!(verified_hashes, vec![hashes[0], hashes[3]]);
        assert!(matches!(
            answers[1].try_recv(),
            Ok(Err(SubmitError::Refused(TxError::BadSignature(_))))
        ));
        assert!(matches!(
            answers[2].try_recv(),
            Ok(Err(SubmitError::Refused(TxError::WrongChain { .. })))
        ));
        // The verified ones are not answered yet: their admission answers them.
        assert!(answers[0].try_recv().is_err());
        assert!(answers[3].try_recv().is_err());
    }

    /// Windows come back in the order they were handed over, and a window beyond the
    /// queue's room is refused as busy, each of its submissions answered.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn windows_are_checked_in_order_and_a_full_queue_answers_busy() {
        let (done_tx, done) = std::sync::mpsc::channel::<Checked>();
        // The checker's first window waits here until released, so the queue fills.
        let (release_tx, release) = std::sync::mpsc::channel::<()>();
        let release = std::sync::Mutex::new(release);
        let checker = Checker::start(testkit::CHAIN_ID.into(), move |c| {
            let _ = release.lock().unwrap().recv();
            done_tx.send(c).is_ok()
        })
        .unwrap();
        let mut answers = Vec::new();
        // The first window is taken at once; QUEUED_WINDOWS more fill the queue. Each
        // window is handed over only once the one before has left for the thread, so
        // the count is exact.
        for w in 0..=QUEUED_WINDOWS + 1 {
            let (s, a) = submission(envelope(w as u64, testkit::CHAIN_ID, false));
            answers.push(a);
            checker.check(vec![s]);
            if w == 0 {
                while checker.windows.capacity() < QUEUED_WINDOWS {
                    tokio::task::yield_now().await;
                }
            }
        }
        // The last one found the queue full.
        let busy = answers.pop().unwrap();
        assert_eq!(busy.await.unwrap(), Err(SubmitError::Busy));
        for _ in 0..=QUEUED_WINDOWS {
            release_tx.send(()).unwrap();
        }
        let order: Vec<u64> = (0..=QUEUED_WINDOWS)
            .map(|_| {
                let checked = done.recv().unwrap();
                let verified = checked.answer_refused();
                assert_eq!(verified.len(), 1);
                verified[0].0.tx().nonce
            })
            .collect();
        assert_eq!(order, (0..=QUEUED_WINDOWS as u64).collect::<Vec<_>>());
    }

    /// The gathered submissions never exceed one bundle: the one that would not fit is
    /// held back for the next check, and nothing is lost or reordered.
    #[test]
    fn a_window_holds_at_most_one_bundle() {
        let mut gathered = Gathered::default();
        let mut checked = Vec::new();
        let mut answers = Vec::new();
        for nonce in 0..(MAX_BUNDLE_TXS as u64 + 10) {
            let (s, a) = submission(envelope(nonce, testkit::CHAIN_ID, false));
            answers.push(a);
            if let Some(ready) = gathered.push(s) {
                assert_eq!(ready.len(), MAX_BUNDLE_TXS);
                checked.extend(ready);
            }
        }
        assert!(!gathered.is_empty());
        checked.extend(gathered.take());
        assert!(gathered.is_empty());
        let nonces: Vec<u64> = checked
            .iter()
            .map(|s| s.envelope.signed().tx.nonce)
            .collect();
        assert_eq!(
            nonces,
            (0..(MAX_BUNDLE_TXS as u64 + 10)).collect::<Vec<_>>()
        );
    }
}
