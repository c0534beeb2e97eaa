//! Parties to ledger orgs: by each org's registered tax id and identifiers, and by an
//! optional party map (`external_id,org_id`).
//!
//! Identifiers are compared upper-cased with white space removed (the rule the contracts
//! use for tax ids). An identifier written with a `schemeID` also matches an org
//! identifier registered as `scheme:value` (e.g. `0088:7300010000001`). Every
//! identifier of a party is looked up; they must all agree on one org, because a
//! document whose VAT number names one org and whose endpoint names another is not
//! something to register silently.

use std::collections::{BTreeMap, HashMap};

use lianrong_contracts::model::Org;
use lianrong_primitives::OrgId;
use serde::Serialize;

use super::error::clip;
use super::model::{PartyId, PartyRef, PartyRole};

/// Largest party map file accepted.
pub const MAX_PARTY_MAP_BYTES: usize = 1024 * 1024;
/// Most entries in a party map.
pub const MAX_PARTY_MAP_ENTRIES: usize = 10_000;

/// The same normalisation the contracts apply to tax ids and invoice numbers.
fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Control characters and the invisible formatting characters that get pasted into
/// identifiers: soft hyphen, zero-width spaces and joiners, direction marks and
/// embeddings, word joiner and invisible operators, byte-order mark.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}' | '\u{feff}')
}

/// Why a party map file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PartyMapError {
    /// The file is larger than [`MAX_PARTY_MAP_BYTES`].
    #[error("party map is {size} bytes, above the limit of {limit} bytes")]
    TooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The file could not be read.
    #[error("cannot read party map {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's reason.
        message: String,
    },
    /// More than [`MAX_PARTY_MAP_ENTRIES`] entries.
    #[error("party map has more than {limit} entries")]
    TooManyEntries {
        /// The limit.
        limit: usize,
    },
    /// A line that is not `external_id,org_id`.
    #[error("party map line {line}: {message}")]
    BadLine {
        /// Line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// One external id mapped to two orgs.
    #[error("party map line {line}: {external_id:?} is mapped to {first} and to {second}")]
    Conflict {
        /// Line of the second mapping.
        line: u64,
        /// The external id.
        external_id: String,
        /// The first org.
        first: OrgId,
        /// The second org.
        second: OrgId,
    },
    /// An org id the ledger does not know.
    #[error("party map line {line}: org {org} is not admitted on the ledger")]
    UnknownOrg {
        /// Line number.
        line: u64,
        /// The org id.
        org: OrgId,
    },
}

/// One `external_id,org_id` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartyMapEntry {
    /// The identifier as written in the map.
    pub external_id: String,
    /// The org it stands for.
    pub org: OrgId,
    /// Line in the map file, for messages.
    pub line: u64,
}

/// An operator-supplied mapping from external party identifiers (a UBL party's
/// `EndpointID`, `PartyIdentification/ID` or `CompanyID`, or a CSV `seller_id` /
/// `buyer_id`) to org ids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PartyMap {
    entries: Vec<PartyMapEntry>,
}

impl PartyMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The entries, in file order.
    pub fn entries(&self) -> &[PartyMapEntry] {
        &self.entries
    }

    /// Reads and parses a party map file (`--party-map FILE`), refusing one larger than
    /// [`MAX_PARTY_MAP_BYTES`] before reading it.
    pub fn load(path: &std::path::Path) -> Result<Self, PartyMapError> {
        use std::io::Read;
        let io = |e: std::io::Error| PartyMapError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        if size > MAX_PARTY_MAP_BYTES as u64 {
            return Err(PartyMapError::TooLarge {
                size,
                limit: MAX_PARTY_MAP_BYTES as u64,
            });
        }
        let mut bytes = Vec::new();
        // One byte past the limit, in case the file grew since the size check.
        file.take(MAX_PARTY_MAP_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        Self::parse(&bytes)
    }

    /// Parses a CSV `external_id,org_id` file; a first line `external_id,org_id` is
    /// taken as a header and skipped.
    pub fn parse(bytes: &[u8]) -> Result<Self, PartyMapError> {
        if bytes.len() > MAX_PARTY_MAP_BYTES {
            return Err(PartyMapError::TooLarge {
                size: bytes.len() as u64,
                limit: MAX_PARTY_MAP_BYTES as u64,
            });
        }
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(false)
            .from_reader(bytes);
        let mut entries: Vec<PartyMapEntry> = Vec::new();
        let mut seen: HashMap<String, OrgId> = HashMap::new();
        for (i, rec) in reader.records().enumerate() {
            let rec = rec.map_err(|e| PartyMapError::BadLine {
                line: e.position().map_or(0, |p| p.line()),
                message: clip(&e.to_string()),
            })?;
            let line = rec.position().map_or(i as u64 + 1, |p| p.line());
            let (Some(ext), Some(org), None) = (rec.get(0), rec.get(1), rec.get(2)) else {
                return Err(PartyMapError::BadLine {
                    line,
                    message: "expected two fields: external_id,org_id".into(),
                });
            };
            let (ext, org) = (ext.trim(), org.trim());
            if i == 0 && ext == "external_id" && org == "org_id" {
                continue;
            }
            if entries.len() >= MAX_PARTY_MAP_ENTRIES {
                return Err(PartyMapError::TooManyEntries {
                    limit: MAX_PARTY_MAP_ENTRIES,
                });
            }
            let key = normalize(ext);
            if key.is_empty() || ext.chars().count() > 128 {
                return Err(PartyMapError::BadLine {
                    line,
                    message: format!("external id {:?} is empty or too long", clip(ext)),
                });
            }
            // An id with a character nobody can see (a byte-order mark left by joining two
            // files, a zero-width space pasted from a document) would never match the
            // party the operator reads in it: refused, not kept unmatchable.
            if ext.chars().any(is_invisible) {
                return Err(PartyMapError::BadLine {
                    line,
                    message: format!(
                        "external id {:?} contains a control or invisible character",
                        clip(ext)
                    ),
                });
            }
            let org = OrgId::new(org).map_err(|e| PartyMapError::BadLine {
                line,
                message: clip(&e.to_string()),
            })?;
            if let Some(first) = seen.get(&key) {
                if *first != org {
                    return Err(PartyMapError::Conflict {
                        line,
                        external_id: ext.to_string(),
                        first: first.clone(),
                        second: org,
                    });
                }
                continue;
            }
            seen.insert(key, org.clone());
            entries.push(PartyMapEntry {
                external_id: ext.to_string(),
                org,
                line,
            });
        }
        Ok(PartyMap { entries })
    }
}

/// How a party identifier was matched to an org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum MatchVia {
    /// A line of the party map.
    PartyMap {
        /// Its line.
        line: u64,
    },
    /// The org's registered tax id.
    TaxId,
    /// One of the org's registered identifiers.
    Identifier,
}

/// Why a party could not be tied to exactly one org.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ResolveError {
    /// The file names no identifier for the party at all.
    #[error("{role} has no identifier (EndpointID, PartyIdentification/ID or CompanyID)")]
    NoIdentifier {
        /// Seller or buyer.
        role: PartyRole,
    },
    /// No identifier matched an org or a party map entry.
    #[error("unknown {role}{name}: no org has tax id or identifier {tried}, and the party map lists none of them", name = name.as_deref().map(|n| format!(" {n:?}")).unwrap_or_default(), tried = tried.join(", "))]
    UnknownParty {
        /// Seller or buyer.
        role: PartyRole,
        /// The party's name in the file, if any.
        name: Option<String>,
        /// Each identifier tried, as `element value`.
        tried: Vec<String>,
    },
    /// Two identifiers of the same party point at different orgs.
    #[error("{role} is ambiguous: {first} is {first_org} but {second} is {second_org}")]
    Conflict {
        /// Seller or buyer.
        role: PartyRole,
        /// The first identifier, as `element value`.
        first: String,
        /// Its org.
        first_org: OrgId,
        /// The disagreeing identifier.
        second: String,
        /// Its org.
        second_org: OrgId,
    },
}

/// A party resolved to an org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved<'a> {
    /// The org.
    pub org: &'a Org,
    /// How the first matching identifier matched.
    pub via: MatchVia,
}

/// Looks parties up among the admitted orgs (and a party map), built once per batch.
#[derive(Debug, Clone)]
pub struct PartyDirectory {
    orgs: BTreeMap<OrgId, Org>,
    /// Normalised identifier -> the orgs it names and how.
    index: HashMap<String, Vec<(OrgId, MatchVia)>>,
}

impl PartyDirectory {
    /// Indexes `orgs` by tax id and identifiers, plus `map`; refuses a map naming an org
    /// that is not admitted.
    pub fn new(orgs: Vec<Org>, map: &PartyMap) -> Result<Self, PartyMapError> {
        let orgs: BTreeMap<OrgId, Org> = orgs.into_iter().map(|o| (o.id.clone(), o)).collect();
        let mut index: HashMap<String, Vec<(OrgId, MatchVia)>> = HashMap::new();
        let mut add = |key: String, org: &OrgId, via: MatchVia| {
            if key.is_empty() {
                return;
            }
            let e = index.entry(key).or_default();
            if !e.iter().any(|(o, _)| o == org) {
                e.push((org.clone(), via));
            }
        };
        // The party map goes first so that, for an identifier it lists, its line is the
        // one reported.
        for entry in &map.entries {
            if !orgs.contains_key(&entry.org) {
                return Err(PartyMapError::UnknownOrg {
                    line: entry.line,
                    org: entry.org.clone(),
                });
            }
            add(
                normalize(&entry.external_id),
                &entry.org,
                MatchVia::PartyMap { line: entry.line },
            );
        }
        for org in orgs.values() {
            add(normalize(&org.tax_id), &org.id, MatchVia::TaxId);
            for ident in &org.identifiers {
                add(normalize(ident), &org.id, MatchVia::Identifier);
            }
        }
        Ok(PartyDirectory { orgs, index })
    }

    /// The admitted org with this id.
    pub fn org(&self, id: &OrgId) -> Option<&Org> {
        self.orgs.get(id)
    }

    /// The orgs one identifier names (with and without its scheme prefix).
    fn lookup(&self, id: &PartyId) -> Vec<(&OrgId, &MatchVia)> {
        let mut keys = vec![normalize(&id.value)];
        if let Some(scheme) = &id.scheme {
            keys.push(normalize(&format!("{scheme}:{}", id.value)));
        }
        let mut out: Vec<(&OrgId, &MatchVia)> = Vec::new();
        for k in keys {
            for (org, via) in self.index.get(&k).into_iter().flatten() {
                if !out.iter().any(|(o, _)| *o == org) {
                    out.push((org, via));
                }
            }
        }
        out
    }

    /// Ties a party to exactly one org, or says which identifier failed.
    pub fn resolve(&self, party: &PartyRef) -> Result<Resolved<'_>, ResolveError> {
        let role = party.role;
        if party.ids.is_empty() {
            return Err(ResolveError::NoIdentifier { role });
        }
        let describe = |id: &PartyId| {
            let scheme = id
                .scheme
                .as_deref()
                .map(|s| format!("{s}:"))
                .unwrap_or_default();
            format!(
                "{} {}{}",
                party.element(id.kind),
                clip(&scheme),
                clip(&id.value)
            )
        };
        let mut chosen: Option<(&OrgId, &MatchVia, String)> = None;
        for id in &party.ids {
            for (org, via) in self.lookup(id) {
                match &chosen {
                    None => chosen = Some((org, via, describe(id))),
                    Some((first_org, _, first)) if *first_org != org => {
                        return Err(ResolveError::Conflict {
                            role,
                            first: first.clone(),
                            first_org: (*first_org).clone(),
                            second: describe(id),
                            second_org: org.clone(),
                        });
                    }
                    Some(_) => {}
                }
            }
        }
        match chosen.and_then(|(id, via, _)| self.orgs.get(id).map(|org| (org, via))) {
            Some((org, via)) => Ok(Resolved {
                org,
                via: via.clone(),
            }),
            None => {
                let mut tried: Vec<String> = Vec::new();
                for d in party.ids.iter().map(describe) {
                    if !tried.contains(&d) {
                        tried.push(d);
                    }
                }
                Err(ResolveError::UnknownParty {
                    role,
                    name: party.name.as_deref().map(clip),
                    tried,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_external_id_with_an_invisible_character_is_refused_not_kept_unmatchable() {
        // Found by fuzzing: two party maps joined into one file leave the second's
        // byte-order mark at the start of a line, and that id (U+FEFF + the real id)
        // was accepted but could never match the party it names.
        let joined = "external_id,org_id\n\u{feff}0088:7300010000001,SUP-1\n";
        match PartyMap::parse(joined.as_bytes()) {
            Err(PartyMapError::BadLine { line: 2, message }) => {
                assert!(message.contains("invisible"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        for hidden in ["73\u{200b}00", "7300\u{7}", "\u{2060}7300", "73\u{ad}00"] {
            let text = format!("{hidden},SUP-1\n");
            assert!(PartyMap::parse(text.as_bytes()).is_err(), "{hidden:?}");
        }
        // A byte-order mark opening the file is still just an encoding mark.
        let map = PartyMap::parse("\u{feff}7300,SUP-1\n".as_bytes()).unwrap();
        assert_eq!(map.entries()[0].external_id, "7300");
    }
}
