//! State access: the storage traits the node implements, the key layout, and the
//! per-block overlay that makes a refused transaction change nothing.

use std::collections::{BTreeMap, HashMap};

use lianrong_primitives::{codec, Hash, PublicKey};
use serde::{de::DeserializeOwned, Serialize};

use crate::error::{DocKind, StoreError};

/// Largest stored value decoded (documents are far smaller; this only bounds damage).
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;

/// Key-value pairs from a prefix scan, in key order.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// Read access to the latest committed key-value state.
pub trait StateRead {
    /// The committed value at `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
}

/// What the ledger needs from a storage backend: the committed values, a prefix scan for
/// queries, the Merkle tree's nodes (jmt's [`jmt::storage::TreeReader`]), and the latest
/// committed version. The node backs this with RocksDB; [`crate::merkle::MemoryStorage`]
/// keeps it in memory.
pub trait Storage: StateRead + jmt::storage::TreeReader {
    /// Committed entries whose key starts with `prefix`, in key order, at most `limit`.
    fn scan_prefix(&self, prefix: &[u8], limit: usize) -> Result<Entries, StoreError>;
    /// The latest committed (version, state root), or `None` before genesis.
    fn latest(&self) -> Result<Option<(u64, Hash)>, StoreError>;
}

/// The state key layout. Keys are ASCII paths; ids never contain `/`.
pub mod keys {
    use super::*;

    /// Chain metadata ([`crate::exec::ChainMeta`]).
    pub const META: &[u8] = b"meta";
    /// Network parameters.
    pub const PARAMS: &[u8] = b"params";
    /// The validator set as recorded by governance.
    pub const VALIDATORS: &[u8] = b"validators";

    /// Prefix of every document key ([`doc`]).
    pub const DOC_PREFIX: &[u8] = b"doc/";
    /// Prefix of every history head key ([`history_head`]).
    pub const HEAD_PREFIX: &[u8] = b"hhead/";

    /// A document.
    pub fn doc(kind: DocKind, id: &str) -> Vec<u8> {
        [DOC_PREFIX, kind.as_str().as_bytes(), b"/", id.as_bytes()].concat()
    }

    /// Prefix of all documents of a kind.
    pub fn doc_prefix(kind: DocKind) -> Vec<u8> {
        format!("doc/{}/", kind.as_str()).into_bytes()
    }

    /// Member key -> owning org.
    pub fn member_key(key: &PublicKey) -> Vec<u8> {
        format!("key/{key}").into_bytes()
    }

    /// Prefix of every member key's nonce (its tree keys share a subtree:
    /// `crate::merkle::key_hash`).
    pub const NONCE_PREFIX: &[u8] = b"nonce/";

    /// Next nonce of a member key.
    pub fn nonce(key: &PublicKey) -> Vec<u8> {
        [NONCE_PREFIX, key.to_string().as_bytes()].concat()
    }

    /// Invoice fingerprint -> invoice id.
    pub fn fingerprint(fp: &Hash) -> Vec<u8> {
        format!("fp/{fp}").into_bytes()
    }

    /// (seller tax id, invoice number) identity -> invoice id (see
    /// `exec::fingerprint::number_identity`).
    pub fn invoice_number(identity: &Hash) -> Vec<u8> {
        format!("invno/{identity}").into_bytes()
    }

    /// Canonical tax id (`exec::tax_id::canonical_tax_id`) -> the org registered with
    /// it: one company, one org.
    pub fn tax_id(canonical: &str) -> Vec<u8> {
        format!("taxid/{canonical}").into_bytes()
    }

    /// (org, counterparty) -> `true`: the two are buyer and seller of an accepted order, so
    /// each reads the other's tax id (api-types' visibility rule); written both ways.
    pub fn counterparty(
        org: &lianrong_primitives::OrgId,
        other: &lianrong_primitives::OrgId,
    ) -> Vec<u8> {
        format!("trades/{org}/{other}").into_bytes()
    }

    /// (payer, payment reference) -> the receivable it was instructed for (the root, for
    /// a maturity settlement): a bank wire is counted once.
    pub fn payment_ref(payer: &lianrong_primitives::OrgId, reference: &Hash) -> Vec<u8> {
        format!("payref/{payer}/{reference}").into_bytes()
    }

    /// Receivable id -> its settlement waiting for the payee's answer (at most one; it
    /// locks the receivable against moves, financing and another instruction).
    pub fn pending_settlement(receivable: &str) -> Vec<u8> {
        format!("settling/{receivable}").into_bytes()
    }

    /// The path of a limit under its holder: `issuance`, `exposure/<scope>/<on>` or
    /// `programme/<id>`.
    fn limit_path(scope: &crate::model::LimitScope) -> String {
        use crate::model::LimitScope as S;
        match scope {
            S::Issuance { debtor } => format!("{debtor}/issuance"),
            S::Exposure { bank, scope, on } => format!("{bank}/exposure/{}/{on}", scope.as_str()),
            S::Programme { bank, programme } => format!("{bank}/programme/{programme}"),
        }
    }

    /// A credit limit in force ([`crate::model::CreditLimit`]): `limit/<holder>/...`, so
    /// one org's limits (a debtor's issuance limit, a bank's exposure limits) share the
    /// prefix [`limits_of`].
    pub fn limit(scope: &crate::model::LimitScope) -> Vec<u8> {
        format!("limit/{}", limit_path(scope)).into_bytes()
    }

    /// Prefix of every limit (`None`) or of one holder's limits.
    pub fn limits_of(holder: Option<&lianrong_primitives::OrgId>) -> Vec<u8> {
        match holder {
            Some(org) => format!("limit/{org}/").into_bytes(),
            None => b"limit/".to_vec(),
        }
    }

    /// A limit's utilisation in one currency (an `Amount`, absent when zero), kept
    /// whether or not the limit is set: `use/<holder>/.../<currency>`.
    pub fn limit_use(scope: &crate::model::LimitScope, currency: &str) -> Vec<u8> {
        format!("use/{}/{currency}", limit_path(scope)).into_bytes()
    }

    /// Prefix of a limit's utilisation in every currency.
    pub fn limit_use_prefix(scope: &crate::model::LimitScope) -> Vec<u8> {
        format!("use/{}/", limit_path(scope)).into_bytes()
    }

    /// (warehouse, canonical lot number) -> its live warehouse receipt: one live receipt
    /// per lot, so one lot never backs two pledges.
    pub fn receipt_lot(warehouse: &lianrong_primitives::OrgId, lot: &str) -> Vec<u8> {
        format!("wrlot/{warehouse}/{lot}").into_bytes()
    }

    /// A bank's latest price of some goods per unit in one currency
    /// ([`crate::model::PostedPrice`]): `price/<bank>/<sha256 of (goods, unit,
    /// currency)>`, since goods are free text.
    pub fn price(
        bank: &lianrong_primitives::OrgId,
        goods: &str,
        unit: &str,
        currency: &str,
    ) -> Vec<u8> {
        let id = lianrong_primitives::sha256(&codec::encode(&(goods, unit, currency)));
        format!("price/{bank}/{id}").into_bytes()
    }

    /// Prefix of one bank's prices (or every bank's).
    pub fn prices_of(bank: Option<&lianrong_primitives::OrgId>) -> Vec<u8> {
        match bank {
            Some(b) => format!("price/{b}/").into_bytes(),
            None => b"price/".to_vec(),
        }
    }

    /// How many prices a bank keeps (a `u64`), so their number stays bounded.
    pub fn price_count(bank: &lianrong_primitives::OrgId) -> Vec<u8> {
        format!("pricecount/{bank}").into_bytes()
    }

    /// Warehouse receipt id -> the live loan it secures: no receipt in two live loans,
    /// and no pledge lifted from under a loan.
    pub fn loan_receipt(receipt: &str) -> Vec<u8> {
        format!("loanrcpt/{receipt}").into_bytes()
    }

    /// Financing id -> its secondary sale offered and not yet answered (at most one).
    pub fn open_sale(financing: &str) -> Vec<u8> {
        format!("selling/{financing}").into_bytes()
    }

    /// An org's approval policy (maker-checker), if it set one.
    pub fn approval_policy(org: &lianrong_primitives::OrgId) -> Vec<u8> {
        format!("policy/{org}").into_bytes()
    }

    /// The action names a member key may sign, if its org limited it.
    pub fn key_scopes(key: &PublicKey) -> Vec<u8> {
        format!("scope/{key}").into_bytes()
    }

    /// A ledger-assigned id counter.
    pub fn counter(name: &str) -> Vec<u8> {
        format!("seq/{name}").into_bytes()
    }

    /// A live receivable maturing on `date` (YYYY-MM-DD), for the overdue sweep.
    pub fn due(date: &str, id: &str) -> Vec<u8> {
        format!("due/{date}/{id}").into_bytes()
    }

    /// Prefix of the receivables maturing on `date`.
    pub fn due_prefix(date: &str) -> Vec<u8> {
        format!("due/{date}/").into_bytes()
    }

    /// A history entry of a document, ordered by block, transaction and event.
    pub fn history(kind: DocKind, id: &str, height: u64, tx_index: u32, seq: u32) -> Vec<u8> {
        format!(
            "hist/{}/{}/{height:020}/{tx_index:06}/{seq:04}",
            kind.as_str(),
            id
        )
        .into_bytes()
    }

    /// The history entry of `kind`/`id` at `pos`.
    pub fn history_at(kind: DocKind, id: &str, pos: HistoryPos) -> Vec<u8> {
        history(kind, id, pos.height, pos.tx_index, pos.seq)
    }

    /// Where the history key `key` (of `kind`/`id`: a key under its
    /// [`history_prefix`]) places its entry, or `None` if it is not such a key.
    pub fn history_pos(kind: DocKind, id: &str, key: &[u8]) -> Option<HistoryPos> {
        let rest = key.strip_prefix(history_prefix(kind, id).as_slice())?;
        let pos: HistoryPos = std::str::from_utf8(rest)
            .ok()?
            .replace('/', ".")
            .parse()
            .ok()?;
        (history_at(kind, id, pos) == key).then_some(pos)
    }

    /// Prefix of a document's history.
    pub fn history_prefix(kind: DocKind, id: &str) -> Vec<u8> {
        format!("hist/{}/{}/", kind.as_str(), id).into_bytes()
    }

    /// The head of a document's history hash chain
    /// ([`crate::exec::history::HistoryHead`]): in the state tree (in its document's
    /// leaf, [`crate::merkle::leaf_of`]), so a proof of it proves every history entry.
    pub fn history_head(kind: DocKind, id: &str) -> Vec<u8> {
        [HEAD_PREFIX, kind.as_str().as_bytes(), b"/", id.as_bytes()].concat()
    }
}

/// Where an entry sits in a document's history: its block, its transaction's index in the
/// block (`u32::MAX` for the ledger's own events), and its event's index in the
/// transaction. Written `HEIGHT.TX.SEQ` (the `history_next` cursor of a history proof).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HistoryPos {
    /// Block height.
    pub height: u64,
    /// Transaction index in the block (`u32::MAX`: the ledger's own events).
    pub tx_index: u32,
    /// Event index in the transaction.
    pub seq: u32,
}

impl std::fmt::Display for HistoryPos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.height, self.tx_index, self.seq)
    }
}

impl std::str::FromStr for HistoryPos {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad =
            || format!("{s:?} is not a history position (HEIGHT.TX.SEQ, three decimal numbers)");
        let mut parts = s.split('.');
        let (Some(h), Some(t), Some(q), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        // Digits only: `u64::from_str` would also take a leading `+`.
        if [h, t, q]
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(bad());
        }
        Ok(HistoryPos {
            height: h.parse().map_err(|_| bad())?,
            tx_index: t.parse().map_err(|_| bad())?,
            seq: q.parse().map_err(|_| bad())?,
        })
    }
}

/// Decodes a state value. Without the codec's canonical re-encoding check
/// (`codec::decode_stored`): every state value was written by `codec::encode` while
/// executing, and the state root all validators certify vouches for the very bytes, so a
/// second encoding per read (the Org record behind every transaction's envelope, say) would
/// only prove it again. Limits and trailing bytes are still checked.
fn decode_value<T: Serialize + DeserializeOwned>(
    key: &[u8],
    bytes: &[u8],
) -> Result<T, StoreError> {
    codec::decode_stored(bytes, MAX_VALUE_BYTES).map_err(|e| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    })
}

/// Reads and decodes a committed record.
pub fn load<T: Serialize + DeserializeOwned>(
    store: &dyn StateRead,
    key: &[u8],
) -> Result<Option<T>, StoreError> {
    match store.get(key)? {
        Some(bytes) => decode_value(key, &bytes).map(Some),
        None => Ok(None),
    }
}

/// Pending writes: `None` deletes.
pub type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// The state as seen while executing a block: committed state, plus the block's writes so
/// far, plus the current transaction's writes. A refused transaction's writes are dropped
/// whole ([`StateView::rollback_tx`]); an accepted one's join the block's.
pub struct StateView<'a> {
    base: &'a dyn StateRead,
    block: Writes,
    tx: Writes,
    /// Committed values already read: the committed state does not change while a block
    /// executes, and its transactions read the same records (their orgs, their
    /// counterparties) over and over.
    read: std::cell::RefCell<HashMap<Vec<u8>, Option<Vec<u8>>>>,
}

/// Committed values a [`StateView`] remembers at most; further reads go to the store.
const MAX_REMEMBERED_READS: usize = 16_384;

impl<'a> StateView<'a> {
    /// A view over committed state with no writes yet.
    pub fn new(base: &'a dyn StateRead) -> Self {
        Self {
            base,
            block: Writes::new(),
            tx: Writes::new(),
            read: Default::default(),
        }
    }

    /// Raw bytes at `key`, seeing pending writes.
    pub fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(v) = self.tx.get(key) {
            return Ok(v.clone());
        }
        if let Some(v) = self.block.get(key) {
            return Ok(v.clone());
        }
        if let Some(v) = self.read.borrow().get(key) {
            return Ok(v.clone());
        }
        let v = self.base.get(key)?;
        let mut read = self.read.borrow_mut();
        if read.len() < MAX_REMEMBERED_READS {
            read.insert(key.to_vec(), v.clone());
        }
        Ok(v)
    }

    /// True if something is stored at `key`.
    pub fn exists(&self, key: &[u8]) -> Result<bool, StoreError> {
        Ok(self.get_raw(key)?.is_some())
    }

    /// Decodes the record at `key`.
    pub fn load<T: Serialize + DeserializeOwned>(
        &self,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        match self.get_raw(key)? {
            Some(bytes) => decode_value(key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Writes a record in the current transaction.
    pub fn store<T: Serialize>(&mut self, key: Vec<u8>, value: &T) {
        self.tx.insert(key, Some(codec::encode(value)));
    }

    /// Deletes a key in the current transaction.
    pub fn delete(&mut self, key: Vec<u8>) {
        self.tx.insert(key, None);
    }

    /// Keeps the current transaction's writes.
    pub fn commit_tx(&mut self) {
        let tx = std::mem::take(&mut self.tx);
        self.block.extend(tx);
    }

    /// Drops the current transaction's writes.
    pub fn rollback_tx(&mut self) {
        self.tx.clear();
    }

    /// True when the current transaction has written nothing yet.
    pub fn tx_is_empty(&self) -> bool {
        self.tx.is_empty()
    }

    /// True when nothing has been written yet, so the committed state is the whole truth
    /// (and a prefix scan of it is exact).
    pub fn is_clean(&self) -> bool {
        self.block.is_empty() && self.tx.is_empty()
    }

    /// The block's writes (the current transaction must be committed or rolled back).
    pub fn into_writes(self) -> Writes {
        assert!(
            self.tx.is_empty(),
            "a transaction was left open at the end of the block"
        );
        self.block
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A history proof's `history_next` cursor names exactly one entry key, and text that
    /// is not a position is refused rather than read as some other one.
    #[test]
    fn history_positions_round_trip_through_keys_and_text() {
        let kind = DocKind::Org;
        for pos in [
            HistoryPos {
                height: 1,
                tx_index: 0,
                seq: 0,
            },
            HistoryPos {
                height: 123_456,
                tx_index: 4_095,
                seq: 12,
            },
            HistoryPos {
                height: u64::MAX,
                tx_index: u32::MAX,
                seq: u32::MAX,
            },
        ] {
            let key = keys::history_at(kind, "BANK-A", pos);
            assert_eq!(keys::history_pos(kind, "BANK-A", &key), Some(pos));
            assert_eq!(pos.to_string().parse::<HistoryPos>(), Ok(pos));
            // Another document's key is not a position in this one's history.
            assert_eq!(keys::history_pos(kind, "BANK-B", &key), None);
            assert_eq!(keys::history_pos(DocKind::Invoice, "BANK-A", &key), None);
        }
        for bad in [
            "",
            "1.2",
            "1.2.3.4",
            "1..3",
            "+1.2.3",
            "a.2.3",
            "1.2.99999999999",
            "1/2/3",
        ] {
            assert!(bad.parse::<HistoryPos>().is_err(), "{bad:?} was read");
        }
        assert_eq!(
            keys::history_pos(kind, "BANK-A", b"hist/org/BANK-A/1/2/3"),
            None,
            "a key not in the canonical widths"
        );
    }
}
