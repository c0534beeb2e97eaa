//! Who may read what: the rule is written once in `lianrong_api_types::visibility` (the
//! explorer applies the same one); here a caller becomes its reader.

use lianrong_api_types::visibility::Reader;
use lianrong_contracts::state::{keys, load};
use lianrong_contracts::{Event, StoreError};
use lianrong_primitives::OrgId;
use lianrong_storage::Db;

use super::auth::Caller;

/// True if `reader` is a counterparty of `org` (buyer and seller of an accepted order,
/// recorded in contract state both ways), which lets it read `org`'s tax id.
pub fn trades_with(db: &Db, reader: &Reader, org: &OrgId) -> Result<bool, StoreError> {
    match reader {
        Reader::Everything => Ok(false),
        Reader::Org(r) => Ok(load::<bool>(db, &keys::counterparty(r, org))?.unwrap_or(false)),
    }
}

impl Caller {
    /// The caller as the visibility rule sees it.
    pub fn reader(&self) -> Reader {
        if self.sees_everything() {
            Reader::Everything
        } else {
            Reader::Org(self.org.clone())
        }
    }

    /// The changes the ledger made by itself (overdue sweeps) this caller may see: they
    /// name any org's receivables and financings, so banks and auditors see them and
    /// everyone else none. The one rule for block notices and blocks alike.
    pub fn ledger_events(&self, events: &[Event]) -> Vec<Event> {
        if self.sees_everything() {
            events.to_vec()
        } else {
            Vec::new()
        }
    }
}
