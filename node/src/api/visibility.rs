//! Who may read what: the rule is written once in `lianrong_api_types::visibility` (the
//! explorer applies the same one); here a caller becomes its reader.

use lianrong_api_types::visibility::Reader;

use super::auth::Caller;

impl Caller {
    /// The caller as the visibility rule sees it.
    pub fn reader(&self) -> Reader {
        if self.sees_everything() {
            Reader::Everything
        } else {
            Reader::Org(self.org.clone())
        }
    }
}
