//! Secondary indexes of receivables (by holder, by debtor, by status), derived from the
//! `doc/receivable/<id>` values a block writes and kept in the same batch as the block.
//!
//! Keys live in the `index` column family with empty values:
//! `rcv/holder/<org>/<id>`, `rcv/debtor/<org>/<id>`, `rcv/status/<status>/<id>`.
//! Org ids, statuses and document ids never contain `/`, so a prefix selects exactly one
//! org or status. Every receivable is indexed, closed ones too; the status index tells
//! live from closed.

use std::collections::BTreeSet;

use lianrong_contracts::model::{Receivable, ReceivableStatus};
use lianrong_contracts::state::keys;
use lianrong_contracts::DocKind;
use lianrong_primitives::{codec, OrgId};

use super::error::DbError;
use super::schema::MAX_VALUE_BYTES;

/// Which receivable index to query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceivableIndex {
    /// Receivables currently held by an org.
    Holder(OrgId),
    /// Receivables owed by an org.
    Debtor(OrgId),
    /// Receivables in a status.
    Status(ReceivableStatus),
}

/// The name of a status in index keys. Written out here (not taken from serde) so that a
/// change to the API's JSON cannot silently change the on-disk layout.
pub fn status_name(status: ReceivableStatus) -> &'static str {
    match status {
        ReceivableStatus::Active => "active",
        ReceivableStatus::Overdue => "overdue",
        ReceivableStatus::Split => "split",
        ReceivableStatus::Settled => "settled",
    }
}

impl ReceivableIndex {
    /// The key prefix of every entry of this index value.
    pub(crate) fn prefix(&self) -> Vec<u8> {
        match self {
            ReceivableIndex::Holder(org) => format!("rcv/holder/{org}/"),
            ReceivableIndex::Debtor(org) => format!("rcv/debtor/{org}/"),
            ReceivableIndex::Status(s) => format!("rcv/status/{}/", status_name(*s)),
        }
        .into_bytes()
    }
}

/// The index keys of one receivable.
fn index_keys(r: &Receivable) -> BTreeSet<Vec<u8>> {
    [
        ReceivableIndex::Holder(r.holder.clone()),
        ReceivableIndex::Debtor(r.debtor.clone()),
        ReceivableIndex::Status(r.status),
    ]
    .iter()
    .map(|ix| {
        let mut k = ix.prefix();
        k.extend_from_slice(r.id.as_str().as_bytes());
        k
    })
    .collect()
}

/// Index keys to delete and to add for one state write.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct IndexDiff {
    /// Keys no longer true.
    pub remove: Vec<Vec<u8>>,
    /// Keys newly true.
    pub add: Vec<Vec<u8>>,
}

/// True for the state keys of receivables.
pub(crate) fn is_receivable_key(key: &[u8]) -> bool {
    key.starts_with(&keys::doc_prefix(DocKind::Receivable))
}

fn decode(what: &str, key: &[u8], bytes: &[u8]) -> Result<Receivable, DbError> {
    codec::decode_stored(bytes, MAX_VALUE_BYTES).map_err(|e| {
        DbError::codec(
            format!("{what} receivable {}", String::from_utf8_lossy(key)),
            e,
        )
    })
}

/// The index changes of writing `new` (or deleting, if `None`) over `old` at `key`.
/// Only keys that change are touched, so an unchanged holder costs nothing.
pub(crate) fn diff(
    key: &[u8],
    old: Option<&[u8]>,
    new: Option<&[u8]>,
) -> Result<IndexDiff, DbError> {
    let old = match old {
        Some(b) => index_keys(&decode("stored", key, b)?),
        None => BTreeSet::new(),
    };
    let new = match new {
        Some(b) => index_keys(&decode("new", key, b)?),
        None => BTreeSet::new(),
    };
    Ok(IndexDiff {
        remove: old.difference(&new).cloned().collect(),
        add: new.difference(&old).cloned().collect(),
    })
}
