//! `lianrong verify doc|history|block`: asks a node for a document, a document's history
//! or a block with the evidence behind it, and checks that evidence here, trusting only
//! the genesis file. Every check is the SDK's (`lianrong_sdk::verify_*`): this module
//! fetches, calls them and prints.
//!
//! Exit codes: 0 valid, 1 invalid (the evidence does not prove what the node says),
//! 2 the check could not be made (bad arguments, unreadable genesis, node unreachable
//! or refusing).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use clap::{Args, Subcommand};
use lianrong_contracts::genesis::Genesis;
use lianrong_contracts::model::{
    Financing, Invoice, Loan, Offer, Order, Org, PendingApproval, Programme, Proposal, Receivable,
    Settlement, Shipment, WarehouseReceipt,
};
use lianrong_contracts::state::MAX_VALUE_BYTES;
use lianrong_contracts::DocKind;
use lianrong_primitives::codec;
use lianrong_sdk::{Client, Finality, SdkError, TrustRoot, VerifiedDocument};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use crate::cli::Conn;

/// Exit code of a verified answer.
pub const EXIT_VALID: i32 = 0;
/// Exit code of evidence that does not verify.
pub const EXIT_INVALID: i32 = 1;
/// Exit code when no check could be made (arguments, genesis file, network, node).
pub const EXIT_ERROR: i32 = 2;

/// What `--help` says after the verbs.
pub const AFTER_HELP: &str = "Exit codes: 0 VALID, 1 INVALID (the node's evidence does not \
prove its answer), 2 the check could not be made (bad arguments, unreadable genesis file, \
node unreachable or refusing).\n\nNothing the node says is trusted: the genesis file \
(chain id, genesis time, genesis validators) is the only trust root.";

/// `lianrong verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    conn: Conn,
    /// The network's genesis file (genesis.json): the only thing trusted.
    #[arg(long, global = true, value_name = "FILE")]
    genesis: Option<PathBuf>,
    #[command(subcommand)]
    what: VerifyWhat,
}

/// What to verify.
#[derive(Debug, Subcommand)]
enum VerifyWhat {
    /// A document (or its absence), proven against the latest certified state root.
    Doc {
        /// org, proposal, order, shipment, warehouse_receipt, invoice, receivable,
        /// financing or offer.
        #[arg(value_parser = parse_kind)]
        kind: DocKind,
        /// The document's id.
        id: String,
    },
    /// A document's history, every entry up to the certified height, nothing left out.
    History {
        /// The document's kind (as for `doc`).
        #[arg(value_parser = parse_kind)]
        kind: DocKind,
        /// The document's id.
        id: String,
    },
    /// A finalized block: its header, committed by a certificate of its epoch's
    /// validators (directly, or through the headers of its descendants).
    Block {
        /// Height (1 or more).
        #[arg(value_parser = clap::value_parser!(u64).range(1..))]
        height: u64,
    },
}

fn parse_kind(s: &str) -> std::result::Result<DocKind, String> {
    DocKind::parse(s).ok_or_else(|| {
        format!(
            "{s:?} is no document kind: use org, proposal, order, shipment, \
             warehouse_receipt, invoice, receivable, financing or offer"
        )
    })
}

/// Why a verification did not end VALID.
enum Failure {
    /// The evidence does not verify (exit 1).
    Invalid(String),
    /// No check could be made (exit 2).
    Error(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Error(e)
    }
}

/// A verification failure is INVALID; anything else (network, refusal) is an error.
fn classify(e: SdkError) -> Failure {
    match e {
        SdkError::Verify(reason) => Failure::Invalid(reason),
        other => Failure::Error(other.into()),
    }
}

/// A verified answer, ready to print.
struct Verified {
    /// The proven value (document, history entries, header), as JSON.
    value: Value,
    /// The height whose state (or block) is proven.
    height: u64,
    /// The block whose certificate proves it.
    certified_by: (u64, lianrong_primitives::Hash),
    /// The epoch whose validators signed.
    epoch: u64,
    /// Extra JSON fields for `--json`.
    extra: Value,
}

/// Runs `lianrong verify` and returns the process exit code.
pub fn run(args: VerifyArgs) -> i32 {
    let json = args.conn.json;
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Error(e.into()))
        .and_then(|rt| rt.block_on(verify(&args)));
    match result {
        Ok(v) => {
            print_valid(&v, json);
            EXIT_VALID
        }
        Err(Failure::Invalid(reason)) => {
            if json {
                println!("{}", json!({"valid": false, "reason": reason}));
            } else {
                println!("INVALID: {}", crate::cli::output::one_line(&reason));
            }
            EXIT_INVALID
        }
        Err(Failure::Error(e)) => {
            eprintln!("error: {}", crate::cli::output::one_line(&format!("{e:#}")));
            EXIT_ERROR
        }
    }
}

fn print_valid(v: &Verified, json: bool) {
    let line = format!(
        "VALID (certified at height {} by block {}, epoch {})",
        v.height, v.certified_by.0, v.epoch
    );
    if json {
        let mut out = json!({
            "valid": true,
            "height": v.height,
            "certified_by": {"height": v.certified_by.0, "hash": v.certified_by.1},
            "epoch": v.epoch,
            "value": v.value,
        });
        if let (Some(o), Value::Object(extra)) = (out.as_object_mut(), &v.extra) {
            o.extend(extra.clone());
        }
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else if v.value.is_null() {
        println!("(no such document: proven absent from the certified state)");
        println!("{line}");
    } else {
        println!(
            "{}",
            serde_json::to_string_pretty(&v.value).unwrap_or_default()
        );
        println!("{line}");
    }
}

/// The trust root of a genesis file (an unreadable one is an error, not INVALID).
pub fn trust_root(path: &Path) -> Result<(Genesis, TrustRoot)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading genesis {}", path.display()))?;
    let genesis: Genesis = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a genesis file", path.display()))?;
    let root = TrustRoot::from_genesis(&genesis)
        .map_err(|e| anyhow!("genesis {}: {e}", path.display()))?;
    Ok((genesis, root))
}

async fn verify(args: &VerifyArgs) -> std::result::Result<Verified, Failure> {
    let path = args
        .genesis
        .as_deref()
        .ok_or_else(|| anyhow!("give the network's genesis file with --genesis FILE"))?;
    let (_, root) = trust_root(path)?;
    let (client, _) = crate::cli::connect(&args.conn)?;
    match &args.what {
        VerifyWhat::Doc { kind, id } => verify_doc(&client, &root, *kind, id).await,
        VerifyWhat::History { kind, id } => verify_history(&client, &root, *kind, id).await,
        VerifyWhat::Block { height } => verify_block(&client, &root, *height).await,
    }
}

async fn verify_doc(
    client: &Client,
    root: &TrustRoot,
    kind: DocKind,
    id: &str,
) -> std::result::Result<Verified, Failure> {
    let proof = client.proof(kind, id).await.map_err(classify)?;
    let doc = lianrong_sdk::verify_document(&proof, kind, id, root).map_err(classify)?;
    let value = match &doc.value {
        Some(bytes) => document_json(kind, bytes).map_err(|e| {
            Failure::Error(anyhow!(
                "{kind} {id} is proven, but its bytes do not decode as a {kind}: {e} \
                 (is this lianrong older than the network?)"
            ))
        })?,
        None => Value::Null,
    };
    let exists = doc.value.is_some();
    // `verify_document` chose the validator set by this header's epoch.
    let epoch = proof.header.epoch;
    Ok(proven_in_state(
        &doc,
        epoch,
        value,
        ("exists", json!(exists)),
    ))
}

async fn verify_history(
    client: &Client,
    root: &TrustRoot,
    kind: DocKind,
    id: &str,
) -> std::result::Result<Verified, Failure> {
    let proof = client.history_proof(kind, id).await.map_err(classify)?;
    let h = lianrong_sdk::verify_history(&proof, kind, id, root).map_err(classify)?;
    let value = serde_json::to_value(&h.entries).map_err(|e| Failure::Error(e.into()))?;
    Ok(proven_in_state(
        &h.document,
        proof.header.epoch,
        value,
        ("entries", json!(h.entries.len())),
    ))
}

/// The answer about a document (its value, or its history) proven as `doc` by a
/// certificate of epoch `epoch`: `value`, and for `--json` the document's kind, id and
/// certified state root and the field `more`.
fn proven_in_state(
    doc: &VerifiedDocument,
    epoch: u64,
    value: Value,
    more: (&str, Value),
) -> Verified {
    let mut extra = json!({"kind": doc.kind, "id": doc.id, "state_root": doc.state_root});
    if let Value::Object(fields) = &mut extra {
        fields.insert(more.0.into(), more.1);
    }
    Verified {
        value,
        height: doc.height,
        certified_by: (doc.certified_by.height, doc.certified_by.hash),
        epoch,
        extra,
    }
}

async fn verify_block(
    client: &Client,
    root: &TrustRoot,
    height: u64,
) -> std::result::Result<Verified, Failure> {
    let epochs = client.epochs().await.map_err(classify)?;
    let block = client.block(height).await.map_err(classify)?;
    let sets = lianrong_sdk::verify_epochs(root, &epochs.changes).map_err(classify)?;
    let v = lianrong_sdk::verify_block(&block, root, &sets).map_err(classify)?;
    let (certified_by, finality) = match v.finality {
        Finality::Direct => ((v.height, v.hash), "direct"),
        Finality::ByDescendant { committed } => {
            ((committed.height, committed.hash), "by_descendant")
        }
    };
    Ok(Verified {
        value: json!({"hash": v.hash, "header": v.header}),
        height: v.height,
        certified_by,
        epoch: v.header.epoch,
        extra: json!({"finality": finality}),
    })
}

fn decode_as<T: Serialize + DeserializeOwned>(bytes: &[u8]) -> Result<Value> {
    let doc: T = codec::decode(bytes, MAX_VALUE_BYTES)?;
    Ok(serde_json::to_value(doc)?)
}

/// A document's canonical bytes (as state holds them) as JSON.
pub fn document_json(kind: DocKind, bytes: &[u8]) -> Result<Value> {
    match kind {
        DocKind::Org => decode_as::<Org>(bytes),
        DocKind::Proposal => decode_as::<Proposal>(bytes),
        DocKind::Order => decode_as::<Order>(bytes),
        DocKind::Shipment => decode_as::<Shipment>(bytes),
        DocKind::WarehouseReceipt => decode_as::<WarehouseReceipt>(bytes),
        DocKind::Invoice => decode_as::<Invoice>(bytes),
        DocKind::Receivable => decode_as::<Receivable>(bytes),
        DocKind::Financing => decode_as::<Financing>(bytes),
        DocKind::Offer => decode_as::<Offer>(bytes),
        DocKind::Settlement => decode_as::<Settlement>(bytes),
        DocKind::Approval => decode_as::<PendingApproval>(bytes),
        DocKind::Programme => decode_as::<Programme>(bytes),
        DocKind::Loan => decode_as::<Loan>(bytes),
        DocKind::Sale => decode_as::<lianrong_contracts::model::Sale>(bytes),
    }
}
