//! Writes the seed corpus of every target into `fuzz/corpus/<target>/`: real inputs, made
//! by the code's own encoders (transactions, payloads, bundles, consensus messages, frames)
//! or copied from the repository's example files (UBL and CSV invoices, party map, key
//! files, configs, genesis). Run again after a format changes:
//!
//! ```sh
//! cargo +nightly run --manifest-path fuzz/Cargo.toml --example seeds
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use futures::executor::block_on;
use lianrong_consensus::{
    carry_out, Engine, EngineConfig, ExecutionCommit, FinalizedBlock, Input, MemorySafetyStore,
    Message, Output, SafetyState, Target, MAX_MESSAGE_BYTES,
};
use lianrong_contracts::testkit::{doc, org, World};
use lianrong_contracts::{Action, VerifiedTransaction};
use lianrong_explorer::{Account, AccountRole, ExplorerConfig};
use lianrong_fuzz::{
    engine, execute, genesis_commit, settle, validator_keys, validator_set, CHAIN, NOW_MS,
    VALIDATORS,
};
use lianrong_network::codec::ConsensusCodec;
use lianrong_node_formats::{gossip, payload};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo = fuzz.parent().ok_or("fuzz/ has a parent")?;
    let out = Corpus(fuzz.join("corpus"));

    let txs = transactions();
    for (i, t) in txs.iter().enumerate() {
        let name = format!("{i}-{}", t.tx().action.name());
        out.write("transaction", &name, &t.signed().encode())?;
    }
    out.write("block_payload", "one-tx", &payload::encode(&txs[..1]))?;
    out.write("block_payload", "trade", &payload::encode(&txs))?;
    let mut outbox = gossip::Outbox::default();
    for t in &txs[..3] {
        let _ = outbox.push(t.clone(), t.signed().encode().len());
    }
    out.write(
        "gossip_bundle",
        "three-txs",
        &outbox.take().ok_or("a bundle")?,
    )?;

    let messages = consensus_messages(payload::encode(&txs[..2]));
    let codec = ConsensusCodec::new(MAX_MESSAGE_BYTES);
    for (name, (from, message)) in &messages {
        let bytes = message.to_bytes();
        out.write("consensus_message", name, &[&[*from][..], &bytes].concat())?;
        if matches!(name.as_str(), "vote" | "sync-request" | "proposal") {
            let mut frame = futures::io::Cursor::new(Vec::new());
            block_on(codec.write_frame(&mut frame, &bytes))?;
            out.write("network_frame", name, &frame.into_inner())?;
        }
    }
    out.write("network_frame", "empty", &[0, 0, 0, 0])?;

    let import = repo.join("importer/tests/fixtures/import");
    for f in [
        "base-example.xml",
        "Allowance-example.xml",
        "other-prefixes.xml",
        "vat-category-E.xml",
        "credit-note.xml",
    ] {
        out.copy("ubl_invoice", &import.join(f))?;
    }
    out.copy("csv_invoices", &import.join("invoices.csv"))?;
    out.copy("csv_invoices", &import.join("invoices-one-bad-row.csv"))?;
    out.copy("party_map", &import.join("party-map.csv"))?;

    let net = repo.join("network-configs/local-4");
    out.copy("key_file", &net.join("bank/node_key.json"))?;
    out.copy("key_file", &net.join("keys/SUP-1.json"))?;
    for node in ["bank", "core-a"] {
        let text = std::fs::read(net.join(node).join("config.toml"))?;
        out.write("node_config", &format!("{node}.toml"), &text)?;
    }
    out.copy("genesis", &net.join("genesis.json"))?;
    out.write(
        "explorer_config",
        "two-accounts",
        explorer_config()?.as_bytes(),
    )?;
    Ok(())
}

/// Where the seeds go: `corpus/<target>/<name>`, overwritten (other files are kept).
struct Corpus(PathBuf);

impl Corpus {
    fn write(&self, target: &str, name: &str, bytes: &[u8]) -> Result<()> {
        let dir = self.0.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), bytes)?;
        println!("{target}/{name}: {} bytes", bytes.len());
        Ok(())
    }

    fn copy(&self, target: &str, file: &Path) -> Result<()> {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or("a file name")?;
        self.write(target, name, &std::fs::read(file)?)
    }
}

/// A trade through to a confirmed receivable, then a transfer and a financing request:
/// one transaction of each of the commonest actions, signed by the test cast.
fn transactions() -> Vec<VerifiedTransaction> {
    let mut w = World::new();
    let receivable = w.trade_to_receivable("CORE-A", "SUP-1", "1000000.00", 90);
    let mut txs: Vec<VerifiedTransaction> =
        w.log.iter().flat_map(|(_, txs, _)| txs.clone()).collect();
    txs.push(w.sign(
        "SUP-1",
        Action::TransferReceivable {
            receivable: receivable.clone(),
            to: org("SUP-3"),
        },
    ));
    txs.push(w.sign(
        "SUP-1",
        Action::RequestFinancing {
            receivable,
            banks: vec![org("BANK-A"), org("BANK-B")],
        },
    ));
    txs.push(w.sign("SUP-1", Action::AcceptOrder { order: doc("PO-9") }));
    txs
}

/// The fixture network run until a few blocks are final, recording the first message of
/// each kind with its sender, plus requests and answers built from its final blocks.
fn consensus_messages(payload: Vec<u8>) -> BTreeMap<String, (u8, Message)> {
    let mut net = Network::new(payload);
    net.run(2_000);
    let mut seen = std::mem::take(&mut net.seen);
    let finalized = &net.finalized;
    // Two blocks keep the seed small; the second's certificate commits it.
    if let (Some(first), Some(last)) = (finalized.first(), finalized.get(1)) {
        let blocks: Vec<_> = finalized[..2].iter().map(|f| f.block.clone()).collect();
        let sync = Message::SyncResponse {
            blocks,
            cert: last.cert.clone(),
        };
        seen.insert("sync-response".into(), (1, sync));
        let hash = first.block.hash();
        seen.insert("block-request".into(), (2, Message::BlockRequest(hash)));
        let answer = Message::BlockResponse(Box::new(first.block.clone()));
        seen.insert("block-response".into(), (1, answer));
    }
    seen.insert(
        "sync-request".into(),
        (4, Message::SyncRequest { from_height: 1 }),
    );
    // A timeout: validator 0's round timer fires.
    if let Some(t) = net.timeout() {
        seen.insert("timeout".into(), (0, t));
    }
    seen
}

/// Four engines of the fixture exchanging messages in order, without loss.
struct Network {
    engines: Vec<Engine>,
    stores: Vec<MemorySafetyStore>,
    executed: Vec<ExecutionCommit>,
    queue: VecDeque<(u16, u16, Message)>,
    payload: Vec<u8>,
    seen: BTreeMap<String, (u8, Message)>,
    finalized: Vec<FinalizedBlock>,
    clock: u64,
}

impl Network {
    fn new(payload: Vec<u8>) -> Self {
        let mut stores: Vec<MemorySafetyStore> =
            (0..VALIDATORS).map(|_| Default::default()).collect();
        let engines = (0..VALIDATORS).map(|i| engine(i, &mut stores[i])).collect();
        let mut net = Network {
            engines,
            stores,
            executed: vec![genesis_commit(); VALIDATORS],
            queue: VecDeque::new(),
            payload,
            seen: BTreeMap::new(),
            finalized: Vec::new(),
            clock: NOW_MS,
        };
        // Round 1's leader was asked for a payload while starting; ask again by handing
        // it one now (the engine ignores a payload for a round it does not lead).
        for i in 0..VALIDATORS {
            net.input(
                i,
                Input::Payload {
                    round: 1,
                    payload: net.payload.clone(),
                },
            );
        }
        net
    }

    fn run(&mut self, max_steps: usize) {
        for _ in 0..max_steps {
            let Some((from, to, message)) = self.queue.pop_front() else {
                break;
            };
            if self.finalized.len() >= 3 && self.seen.len() >= 3 {
                break;
            }
            self.clock += 1;
            self.input(usize::from(to), Input::Message { from, message });
        }
    }

    /// Validator 0's first round timing out: its timeout message.
    fn timeout(&self) -> Option<Message> {
        let cfg = EngineConfig::new(CHAIN, validator_set(), validator_keys()[0].clone());
        let mut engine = Engine::new(cfg.clone(), SafetyState::genesis(&cfg), None);
        let step = engine.handle(NOW_MS, Input::Start);
        let timer = step.outputs().iter().find_map(|o| match o {
            Output::SetTimer { id, .. } => Some(*id),
            _ => None,
        })?;
        settle(&mut MemorySafetyStore::default(), step);
        let step = engine.handle(NOW_MS, Input::Executed(genesis_commit()));
        settle(&mut MemorySafetyStore::default(), step);
        let step = engine.handle(NOW_MS + 60_000, Input::Timer(timer));
        step.outputs().iter().find_map(|o| match o {
            Output::Send {
                message: m @ Message::Timeout(_),
                ..
            } => Some(m.clone()),
            _ => None,
        })
    }

    fn input(&mut self, i: usize, input: Input) {
        let step = self.engines[i].handle(self.clock, input);
        let mut outputs = Vec::new();
        if carry_out(&mut self.stores[i], step, |o| outputs.push(o)).is_err() {
            return;
        }
        for o in outputs {
            self.act(i, o);
        }
    }

    fn act(&mut self, i: usize, output: Output) {
        match output {
            Output::Send { to, message } => {
                let kind = kind(&message);
                self.seen
                    .entry(kind.into())
                    .or_insert((i as u8, message.clone()));
                let from = i as u16;
                match to {
                    Target::One(j) => self.queue.push_back((from, j, message)),
                    Target::All => {
                        for j in (0..VALIDATORS as u16).filter(|&j| j != from) {
                            self.queue.push_back((from, j, message.clone()));
                        }
                    }
                }
            }
            Output::RequestPayload { round, .. } => {
                let payload = self.payload.clone();
                self.input(i, Input::Payload { round, payload });
            }
            Output::Finalized(f) => {
                let commit = execute(&self.executed[i], &f.block);
                self.executed[i] = commit;
                if i == 0 {
                    self.finalized.push(f);
                }
                self.input(i, Input::Executed(commit));
            }
            _ => {}
        }
    }
}

fn kind(m: &Message) -> &'static str {
    match m {
        Message::Proposal(_) => "proposal",
        Message::Vote(_) => "vote",
        Message::Timeout(_) => "timeout",
        Message::BlockRequest(_) => "block-request",
        Message::BlockResponse(_) => "block-response",
        Message::SyncRequest { .. } => "sync-request",
        Message::EpochEnd(_) => "epoch-end",
        Message::EpochCert(_) => "epoch-cert",
        Message::SyncResponse { .. } => "sync-response",
    }
}

/// A real argon2id hash (of "correct horse"), fixed so that the seed does not change with
/// every run (`hash_password` salts at random).
const PASSWORD_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$CsSHp7e/36ljwB2HNe6eng$\
                             WcVNdBEfwH/IPCaHgKkYZqRFitxCwO49MRKsVnsnvLA";

/// An explorer config with an auditor and an org account.
fn explorer_config() -> Result<String> {
    let mut cfg = ExplorerConfig::new("http://127.0.0.1:7001", "node-api-token");
    let hash = PASSWORD_HASH.to_string();
    cfg.accounts = vec![
        Account {
            username: "auditor".into(),
            password_hash: hash.clone(),
            role: AccountRole::Auditor,
            org: None,
        },
        Account {
            username: "sup1".into(),
            password_hash: hash,
            role: AccountRole::Org,
            org: Some("SUP-1".into()),
        },
    ];
    cfg.genesis = Some("genesis.json".into());
    Ok(toml::to_string(&cfg)?)
}
