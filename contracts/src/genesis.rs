//! The genesis state: chain id, starting orgs, validators and parameters.

use std::collections::{BTreeMap, BTreeSet};

use lianrong_primitives::OrgId;

use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::exec::governance::{admit, validate_params, MAX_VALIDATORS};
use crate::exec::tax_id::canonical_tax_id;
use crate::exec::{business_date, ChainMeta};
use crate::merkle::{compute_changes, StateChanges};
use crate::model::{OrgSpec, Params, Validator, MAX_IDENTIFIERS, MAX_KEYS_PER_ORG};
use crate::state::{keys, StateView, Storage};
use crate::tx::MAX_CHAIN_ID_LEN;

/// The starting state of a network, as in `genesis.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// The chain id every transaction and vote names.
    pub chain_id: String,
    /// Genesis time, ms since the Unix epoch.
    pub genesis_time_ms: u64,
    /// Organisations admitted at genesis.
    pub orgs: Vec<OrgSpec>,
    /// The first validator set.
    pub validators: Vec<Validator>,
    /// Network parameters.
    pub params: Params,
}

/// A genesis that cannot start a network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// The file is inconsistent.
    #[error("invalid genesis: {0}")]
    Invalid(String),
    /// The store is not empty or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Every org's tax id is in a recognised form and no two orgs share one once written
/// canonically (the same rule governance applies when admitting an org).
fn validate_tax_ids(orgs: &[OrgSpec]) -> Result<(), GenesisError> {
    let mut seen: BTreeMap<String, &OrgId> = BTreeMap::new();
    for o in orgs {
        let canonical = canonical_tax_id(&o.tax_id)
            .map_err(|e| GenesisError::Invalid(format!("tax id of org {}: {e}", o.id)))?;
        if let Some(first) = seen.insert(canonical.clone(), &o.id) {
            return Err(GenesisError::Invalid(format!(
                "org {} has tax id {canonical}, which org {first} already has: one company is admitted once",
                o.id
            )));
        }
    }
    Ok(())
}

impl Genesis {
    /// Checks that the genesis can start a network.
    pub fn validate(&self) -> Result<(), GenesisError> {
        let bad = |m: String| Err(GenesisError::Invalid(m));
        let id_ok = !self.chain_id.is_empty()
            && self.chain_id.len() <= MAX_CHAIN_ID_LEN
            && self
                .chain_id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !id_ok {
            return bad(format!(
                "chain id {:?} must be 1-{MAX_CHAIN_ID_LEN} of a-z 0-9 -",
                self.chain_id
            ));
        }
        validate_params(&self.params).map_err(|e| GenesisError::Invalid(e.to_string()))?;
        validate_tax_ids(&self.orgs)?;
        let mut ids = BTreeSet::new();
        let mut member_keys = BTreeSet::new();
        for o in &self.orgs {
            if !ids.insert(&o.id) {
                return bad(format!("org {} appears twice", o.id));
            }
            if o.roles.is_empty()
                || o.keys.is_empty()
                || o.keys.len() > MAX_KEYS_PER_ORG
                || o.identifiers.len() > MAX_IDENTIFIERS
            {
                return bad(format!(
                    "org {} needs roles and 1-{MAX_KEYS_PER_ORG} keys",
                    o.id
                ));
            }
            for k in &o.keys {
                if let Err(e) = k.check_registrable() {
                    return bad(format!("member key {k} of {}: {e}", o.id));
                }
                if !member_keys.insert(k) {
                    return bad(format!("member key {k} appears twice"));
                }
            }
        }
        if self.validators.is_empty() || self.validators.len() > MAX_VALIDATORS {
            return bad(format!("1 to {MAX_VALIDATORS} validators are needed"));
        }
        let mut node_keys = BTreeSet::new();
        for v in &self.validators {
            if !ids.contains(&v.org) {
                return bad(format!("validator org {} is not among the orgs", v.org));
            }
            if let Err(e) = v.node_key.check_registrable() {
                return bad(format!("node key {} of {}: {e}", v.node_key, v.org));
            }
            if !node_keys.insert(&v.node_key) {
                return bad(format!("node key {} appears twice", v.node_key));
            }
        }
        Ok(())
    }

    /// The state changes (version 0) that create the genesis state in an empty store.
    pub fn changes<S: Storage>(&self, store: &S) -> Result<StateChanges, GenesisError> {
        self.validate()?;
        if store.latest()?.is_some() {
            return Err(GenesisError::Invalid(
                "the store already holds a chain".into(),
            ));
        }
        let mut st = StateView::new(store);
        for o in &self.orgs {
            admit(&mut st, o, 0).map_err(|e| GenesisError::Invalid(e.to_string()))?;
        }
        st.store(keys::VALIDATORS.to_vec(), &self.validators);
        st.store(keys::PARAMS.to_vec(), &self.params);
        let meta = ChainMeta {
            chain_id: self.chain_id.clone(),
            height: 0,
            time_ms: self.genesis_time_ms,
            overdue_swept_through: business_date(
                self.genesis_time_ms,
                self.params.utc_offset_minutes,
            )
            .ok_or_else(|| {
                GenesisError::Invalid(format!(
                    "genesis_time_ms {} is past the calendar's range",
                    self.genesis_time_ms
                ))
            })?,
        };
        st.store(keys::META.to_vec(), &meta);
        st.commit_tx();
        Ok(compute_changes(store, 0, st.into_writes())?)
    }
}
