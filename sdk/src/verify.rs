//! Local verification, trusting nothing but the genesis file: blocks, documents and
//! document histories as a node serves them, checked against certificates of the right
//! validator set for their epoch, chained from genesis.
//!
//! The chain of trust, each link checked here:
//! 1. [`TrustRoot`]: chain id, genesis time and genesis validators, from `genesis.json`.
//! 2. [`verify_epochs`]: each validator-set change is a reconfiguration block whose header
//!    commits the next set (`reconfig_hash`) and whose epoch-end certificate is signed by
//!    a quorum of the set before it.
//! 3. A header's hash is computed here, never taken from the node; a certificate of the
//!    header's epoch must commit exactly that hash (or a descendant reached through
//!    headers whose parent links are recomputed here).
//! 4. The header's `executed` field is the state root a quorum of validators computed
//!    themselves (they vote for no other); a Merkle proof of the key computed here from
//!    the asked kind and id, against that root, proves the value.
//!
//! The browser verifier (`explorer/static/verify.js`) implements the same steps.

use lianrong_api_types::{BlockView, EpochChange, ProofResponse, ProofSubject};
use lianrong_consensus::{
    genesis_hash, reconfig_hash, BlockHeader, BlockId, CommitCertificate, ValidatorSet,
};
use lianrong_contracts::exec::history::HistoryHead;
use lianrong_contracts::genesis::Genesis;
use lianrong_contracts::state::{keys, HistoryPos};
use lianrong_contracts::{DocKind, HistoryEntry, StateProof};
use lianrong_primitives::Hash;

use crate::error::SdkError;
use crate::pages::{PageWalk, MAX_LISTED};

fn bad(m: impl Into<String>) -> SdkError {
    SdkError::Verify(m.into())
}

/// What a client trusts: the chain id, the genesis hash and the genesis validator set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustRoot {
    /// The chain id under every signature.
    pub chain_id: String,
    /// Hash of the implicit genesis block.
    pub genesis_hash: Hash,
    /// The validators of epoch 0.
    pub validators: ValidatorSet,
}

impl TrustRoot {
    /// The trust root a genesis file (`genesis.json`) defines.
    pub fn from_genesis(g: &Genesis) -> Result<TrustRoot, SdkError> {
        let validators = validator_set(&g.validators)?;
        Ok(TrustRoot {
            genesis_hash: genesis_hash(&g.chain_id, &validators, g.genesis_time_ms),
            chain_id: g.chain_id.clone(),
            validators,
        })
    }

    /// Reads and parses a genesis file.
    pub fn from_genesis_file(path: &std::path::Path) -> Result<TrustRoot, SdkError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad(format!("reading genesis {}: {e}", path.display())))?;
        let g: Genesis = serde_json::from_str(&text).map_err(|e| {
            bad(format!(
                "genesis {} is not a genesis file: {e}",
                path.display()
            ))
        })?;
        TrustRoot::from_genesis(&g)
    }
}

/// The consensus validator set from the validators `GET /v1/status` (or genesis) lists,
/// in index order.
pub fn validator_set(
    validators: &[lianrong_contracts::model::Validator],
) -> Result<ValidatorSet, SdkError> {
    lianrong_api_types::consensus_set(validators).map_err(|e| bad(e.to_string()))
}

/// The validator set of every epoch up to the last change: epoch 0's from the trust root,
/// each next one from a certified reconfiguration block. `changes` must start at epoch 0
/// and be consecutive.
pub fn verify_epochs(
    root: &TrustRoot,
    changes: &[EpochChange],
) -> Result<Vec<ValidatorSet>, SdkError> {
    let mut sets = vec![root.validators.clone()];
    for (i, c) in changes.iter().enumerate() {
        let epoch = i as u64;
        if c.epoch != epoch || c.header.epoch != epoch {
            return Err(bad(format!(
                "validator-set change {i} is for epoch {} (header epoch {}), expected {epoch}",
                c.epoch, c.header.epoch
            )));
        }
        if reconfig_hash(&Some(c.validators.clone())) != c.header.reconfig_hash {
            return Err(bad(format!(
                "the validator set given for epoch {} is not the one block {} commits",
                epoch + 1,
                c.header.height
            )));
        }
        let set = &sets[i];
        certified_directly(root, set, &c.header, &c.certificate)
            .map_err(|e| bad(format!("end of epoch {epoch}: {e}")))?;
        sets.push(c.validators.clone());
    }
    Ok(sets)
}

/// The set of `epoch`, from sets [`verify_epochs`] proved.
fn set_of(sets: &[ValidatorSet], epoch: u64) -> Result<&ValidatorSet, SdkError> {
    usize::try_from(epoch)
        .ok()
        .and_then(|e| sets.get(e))
        .ok_or_else(|| {
            bad(format!(
                "no proven validator set for epoch {epoch} (the answer proves {} epoch changes)",
                sets.len().saturating_sub(1)
            ))
        })
}

/// The block `cert` commits, checked against `set` (a quorum of valid signatures for the
/// trust root's chain).
fn committed_by(
    root: &TrustRoot,
    set: &ValidatorSet,
    cert: &CommitCertificate,
) -> Result<BlockId, SdkError> {
    cert.verify(set, &root.chain_id, root.genesis_hash)
        .map_err(|e| bad(format!("certificate: {e}")))
}

/// Checks that `cert`, signed by `set`, commits exactly `header` (by the hash computed
/// here).
fn certified_directly(
    root: &TrustRoot,
    set: &ValidatorSet,
    header: &BlockHeader,
    cert: &CommitCertificate,
) -> Result<Hash, SdkError> {
    if header.chain_id != root.chain_id {
        return Err(bad(format!(
            "header is of chain {:?}, not {:?}",
            header.chain_id, root.chain_id
        )));
    }
    if cert.qc.vote.epoch != header.epoch {
        return Err(bad(format!(
            "the certificate is of epoch {}, the header of epoch {}",
            cert.qc.vote.epoch, header.epoch
        )));
    }
    let hash = header.hash();
    let committed = committed_by(root, set, cert)?;
    if committed.height != header.height || committed.hash != hash {
        return Err(bad(format!(
            "the certificate commits block {} at height {}, not the header given (height {}, hash {hash})",
            committed.hash, committed.height, header.height
        )));
    }
    Ok(hash)
}

/// How a block's finality was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finality {
    /// The certificate commits exactly this block.
    Direct,
    /// The certificate commits a later block; this block is final because that one is
    /// and the parent links of the headers between them (hashed here) lead back here.
    ByDescendant {
        /// The block the certificate commits.
        committed: BlockId,
    },
}

/// A block whose certificate verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedBlock {
    /// Height.
    pub height: u64,
    /// Block hash (computed from the header).
    pub hash: Hash,
    /// How finality was proven.
    pub finality: Finality,
    /// The header, including the application state it certifies.
    pub header: BlockHeader,
}

/// Checks a block as `GET /v1/blocks/{height}` serves it: its header hashes to its hash,
/// the fields shown match the header, and a certificate of the block's epoch (sets from
/// [`verify_epochs`]) commits it directly or commits a descendant reached through
/// `descendants`.
///
/// ```no_run
/// # async fn demo(client: lianrong_sdk::Client) -> Result<(), lianrong_sdk::SdkError> {
/// let root = lianrong_sdk::TrustRoot::from_genesis_file("genesis.json".as_ref())?;
/// let sets = lianrong_sdk::verify_epochs(&root, &client.epochs().await?.changes)?;
/// let block = client.block(7).await?;
/// let v = lianrong_sdk::verify_block(&block, &root, &sets)?;
/// println!("block {} is final: {:?}", v.height, v.finality);
/// # Ok(()) }
/// ```
pub fn verify_block(
    block: &BlockView,
    root: &TrustRoot,
    sets: &[ValidatorSet],
) -> Result<VerifiedBlock, SdkError> {
    let h = &block.header;
    let hash = h.hash();
    let shown = (block.height, block.parent, block.epoch, block.round);
    if hash != block.hash || shown != (h.height, h.parent, h.epoch, h.round) {
        return Err(bad(format!(
            "block {}: the header does not hash to the block shown (header hashes to {hash})",
            block.height
        )));
    }
    if block.proposer != h.proposer || block.timestamp_ms != h.timestamp_ms {
        return Err(bad(format!(
            "block {}: proposer or time differ from the header",
            block.height
        )));
    }
    if h.chain_id != root.chain_id {
        return Err(bad(format!(
            "block {} is of chain {:?}",
            block.height, h.chain_id
        )));
    }
    let cert = block
        .commit_certificate
        .as_ref()
        .ok_or_else(|| bad(format!("block {} has no commit certificate", block.height)))?;
    if cert.qc.vote.epoch != h.epoch {
        return Err(bad(format!(
            "certificate is for epoch {}, block {} is in epoch {}",
            cert.qc.vote.epoch, block.height, h.epoch
        )));
    }
    let committed = committed_by(root, set_of(sets, h.epoch)?, cert)
        .map_err(|e| bad(format!("block {}: {e}", block.height)))?;
    let finality = if committed.height == h.height {
        if committed.hash != hash {
            return Err(bad(format!(
                "the certificate commits block {} at height {}, not {hash}",
                committed.hash, committed.height
            )));
        }
        Finality::Direct
    } else if committed.height > h.height {
        link_to(hash, h.height, &block.descendants, committed)?;
        Finality::ByDescendant { committed }
    } else {
        return Err(bad(format!(
            "the certificate commits height {}, below block {}",
            committed.height, h.height
        )));
    };
    Ok(VerifiedBlock {
        height: h.height,
        hash,
        finality,
        header: h.clone(),
    })
}

/// Follows `descendants` (headers of heights `height + 1 ..= committed.height`) from the
/// block `hash` to the committed block, hashing each header here.
fn link_to(
    mut hash: Hash,
    height: u64,
    descendants: &[BlockHeader],
    committed: BlockId,
) -> Result<(), SdkError> {
    let needed = committed.height - height;
    if descendants.len() as u64 != needed {
        return Err(bad(format!(
            "block {height} is final through block {}, but {} of the {needed} headers between \
             them were given",
            committed.height,
            descendants.len()
        )));
    }
    for (i, d) in descendants.iter().enumerate() {
        if d.height != height + 1 + i as u64 || d.parent != hash {
            return Err(bad(format!(
                "the header at height {} does not extend the block below it",
                d.height
            )));
        }
        hash = d.hash();
    }
    if hash != committed.hash {
        return Err(bad(format!(
            "the headers lead to {hash}, not to the certified block {}",
            committed.hash
        )));
    }
    Ok(())
}

/// A document (or its absence) proven against a certified state root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDocument {
    /// Kind asked for.
    pub kind: DocKind,
    /// Id asked for.
    pub id: String,
    /// The height of the state the value is proven in.
    pub height: u64,
    /// The certified state root.
    pub state_root: Hash,
    /// The block whose header certifies the root.
    pub certified_by: BlockId,
    /// The document's canonical bytes, or `None`: proven absent from that state.
    pub value: Option<Vec<u8>>,
}

/// Checks a proof answer (`GET /v1/proofs/{kind}/{id}`) for the document `kind`/`id`
/// the caller asked about, trusting only `root`. The state key is computed here from
/// `kind` and `id`, so a proof of another document never passes for this one.
pub fn verify_document(
    proof: &ProofResponse,
    kind: DocKind,
    id: &str,
    root: &TrustRoot,
) -> Result<VerifiedDocument, SdkError> {
    verify_subject(proof, kind, id, root, ProofSubject::Document)
}

fn verify_subject(
    proof: &ProofResponse,
    kind: DocKind,
    id: &str,
    root: &TrustRoot,
    subject: ProofSubject,
) -> Result<VerifiedDocument, SdkError> {
    if proof.subject != subject || proof.kind != kind.as_str() || proof.id != id {
        return Err(bad(format!(
            "the answer is a {:?} proof of {} {}, not of {kind} {id}",
            proof.subject, proof.kind, proof.id
        )));
    }
    let sets = verify_epochs(root, &proof.epochs)?;
    let header = &proof.header;
    let set = set_of(&sets, header.epoch)?;
    let hash = certified_directly(root, set, header, &proof.certificate)?;
    let executed = header.executed;
    if proof.height != executed.height || proof.state_root != executed.state_root {
        return Err(bad(format!(
            "the proof is against root {} of height {}, but block {} certifies root {} of \
             height {}",
            proof.state_root, proof.height, header.height, executed.state_root, executed.height
        )));
    }
    let key = match subject {
        ProofSubject::Document => keys::doc(kind, id),
        ProofSubject::History => keys::history_head(kind, id),
    };
    let value = merkle_value(proof, key, executed.height, &executed.state_root)?;
    Ok(VerifiedDocument {
        kind,
        id: id.to_string(),
        height: executed.height,
        state_root: executed.state_root,
        certified_by: BlockId {
            hash,
            height: header.height,
            round: header.round,
        },
        value,
    })
}

/// The value the Merkle proof shows for `key` under `state_root`.
fn merkle_value(
    proof: &ProofResponse,
    key: Vec<u8>,
    version: u64,
    state_root: &Hash,
) -> Result<Option<Vec<u8>>, SdkError> {
    let hex_field = |name: &str, h: &Option<String>| match h {
        Some(h) => hex::decode(h)
            .map(Some)
            .map_err(|e| bad(format!("{name}: {e}"))),
        None => Ok(None),
    };
    let value = hex_field("value_hex", &proof.value_hex)?;
    let leaf = hex_field("leaf_hex", &proof.leaf_hex)?;
    let sp: StateProof = serde_json::from_value(serde_json::json!({
        "key": key,
        "value": value,
        "leaf": leaf,
        "version": version,
        "root": state_root,
        "proof": proof.proof,
    }))
    .map_err(|e| bad(format!("malformed proof: {e}")))?;
    sp.verify(state_root).map_err(|e| bad(e.to_string()))?;
    Ok(value)
}

/// A document's history, proven: every entry up to the certified height, in order, with
/// nothing added or left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedHistory {
    /// Where the head was proven.
    pub document: VerifiedDocument,
    /// The proven entries, oldest first.
    pub entries: Vec<HistoryEntry>,
}

/// The pages of one history proof (`GET /v1/proofs/{kind}/{id}?of=history`, then
/// `&after=` each page's `history_next`) gathered into the one answer [`verify_history`]
/// checks: the last page's proof -- the newest head, which chains every entry up to its
/// height -- with every page's entries in order. Sans-IO: the caller fetches
/// [`Self::after`] until [`Self::is_done`].
///
/// Pages from one node fit together (each lists entries up to its own proof's height, and
/// heights only grow); pages from nodes at different heights may not, and then the chain
/// check fails -- never a false positive.
#[derive(Debug, Clone)]
pub struct HistoryPages {
    walk: PageWalk<HistoryPos>,
    entries: Vec<HistoryEntry>,
    last: Option<ProofResponse>,
}

impl HistoryPages {
    /// Gathering the history proof at `url` (named in errors).
    pub fn new(url: impl Into<String>) -> Self {
        HistoryPages {
            walk: PageWalk::new(url, None),
            entries: Vec::new(),
            last: None,
        }
    }

    /// The `after=` of the next page (`None`: the first).
    pub fn after(&self) -> Option<&HistoryPos> {
        self.walk.after()
    }

    /// True once a page without `history_next` was added.
    pub fn is_done(&self) -> bool {
        self.walk.is_done()
    }

    /// Adds the page just fetched. A cursor that does not move forward, more than
    /// [`MAX_LISTED`] entries or more than `MAX_PAGES` pages is an error, never a cut
    /// history.
    pub fn add(&mut self, mut page: ProofResponse) -> Result<(), SdkError> {
        let url = self.walk.url().to_string();
        let next = match page.history_next.take() {
            None => None,
            Some(text) => Some(
                text.parse::<HistoryPos>()
                    .map_err(|e| SdkError::BadResponse {
                        url: url.clone(),
                        reason: format!("history_next: {e}"),
                    })?,
            ),
        };
        if self.entries.len() + page.history.len() > MAX_LISTED {
            return Err(SdkError::TooLong {
                url,
                limit: MAX_LISTED,
            });
        }
        self.walk.advance(next)?;
        self.entries.append(&mut page.history);
        self.last = Some(page);
        Ok(())
    }

    /// The gathered answer, for [`verify_history`].
    pub fn finish(self) -> Result<ProofResponse, SdkError> {
        if !self.is_done() {
            return Err(SdkError::BadResponse {
                url: self.walk.url().to_string(),
                reason: "the history's last page was not read".into(),
            });
        }
        let mut proof = self.last.ok_or_else(|| SdkError::BadResponse {
            url: self.walk.url().to_string(),
            reason: "no page".into(),
        })?;
        proof.history = self.entries;
        Ok(proof)
    }
}

/// Checks a history proof (`GET /v1/proofs/{kind}/{id}?of=history`, every page gathered
/// by [`HistoryPages`]): the head of the document's history chain is proven like a
/// document, and the entries served must chain to exactly that head.
pub fn verify_history(
    proof: &ProofResponse,
    kind: DocKind,
    id: &str,
    root: &TrustRoot,
) -> Result<VerifiedHistory, SdkError> {
    if let Some(next) = &proof.history_next {
        return Err(bad(format!(
            "this is one page of the history of {kind} {id} (the next starts after {next}): \
             the head proves the whole history, so gather every page first (HistoryPages, \
             or Client::history_proof)"
        )));
    }
    let document = verify_subject(proof, kind, id, root, ProofSubject::History)?;
    let head: HistoryHead = match &document.value {
        Some(bytes) => lianrong_primitives::codec::decode(bytes, 1024)
            .map_err(|e| bad(format!("history head: {e}")))?,
        None => HistoryHead::EMPTY,
    };
    let served = HistoryHead::of(&proof.history);
    if served != head {
        return Err(bad(format!(
            "the {} history entries served do not chain to the certified head ({} entries \
             at height {}): entries were added, dropped, changed or reordered",
            proof.history.len(),
            head.count,
            document.height
        )));
    }
    Ok(VerifiedHistory {
        document,
        entries: proof.history.clone(),
    })
}
