//! An in-memory ledger with a standard cast of organisations, for tests, benchmarks and
//! the in-process demo. Keys are derived from fixed seeds: never use them on a real
//! network.
//!
//! ```
//! use lianrong_contracts::testkit::World;
//! let mut w = World::new();
//! let receivable = w.trade_to_receivable("CORE-A", "SUP-1", "1000.00", 90);
//! assert_eq!(w.receivable(&receivable).holder.as_str(), "SUP-1");
//! ```

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use lianrong_primitives::{sha256, Hash, OrgId, PublicKey, SecretKey};
use serde::{de::DeserializeOwned, Serialize};

use crate::action::{Action, InvoiceSpec};
use crate::error::DocKind;
use crate::events::Receipt;
use crate::exec::{business_date, execute_block, BlockContext, BlockOutcome};
use crate::genesis::Genesis;
use crate::merkle::MemoryStorage;
use crate::model::{DocId, OrgSpec, Params, Receivable, Role, Validator};
use crate::money::Money;
use crate::state::{keys, load, StateRead, Storage};
use crate::tx::{Signer, Transaction, VerifiedTransaction};

/// The chain id of test worlds.
pub const CHAIN_ID: &str = "lianrong-test";
/// 2026-01-05 00:00 in Beijing time.
pub const GENESIS_TIME_MS: u64 = 1_767_542_400_000;
/// Milliseconds per day.
pub const DAY_MS: u64 = 86_400_000;

/// The standard cast: (id, name, tax id, roles, runs a validator).
pub const CAST: &[(&str, &str, &str, &[Role], bool)] = &[
    (
        "BANK-A",
        "Shenzhen Merchants Bank",
        "91440300BANKA0001R",
        &[Role::Bank],
        true,
    ),
    (
        "BANK-B",
        "Pearl River Commercial Bank",
        "91440100BANKB0002A",
        &[Role::Bank],
        false,
    ),
    (
        "CORE-A",
        "Huaxin Electronics Group",
        "91310000C0REA0003R",
        &[Role::Core],
        true,
    ),
    (
        "CORE-B",
        "Dongfang Motor Works",
        "91320000C0REB0004Q",
        &[Role::Core],
        true,
    ),
    (
        "LOGI",
        "Yangtze Logistics",
        "91420000L0G100005Y",
        &[Role::Logistics],
        true,
    ),
    (
        "SUP-1",
        "Jiangnan Components",
        "913300005UP1000068",
        &[Role::Supplier],
        false,
    ),
    (
        "SUP-2",
        "Minjiang Plastics",
        "913500005UP2000076",
        &[Role::Supplier],
        false,
    ),
    (
        "SUP-3",
        "Xiaoshan Fasteners (tier 2)",
        "913301005UP300008Q",
        &[Role::Supplier],
        false,
    ),
    (
        "AUDIT",
        "Bank Audit Office",
        "91110000AUD1T00090",
        &[Role::Auditor],
        false,
    ),
];

/// The member key of a cast org (deterministic).
pub fn member_key(org: &str) -> SecretKey {
    SecretKey::from_seed(sha256(format!("lianrong-testkit/member/{org}").as_bytes()).0)
}

/// The `n`th extra member key of a cast org (deterministic), for dual control; give it
/// to the org with [`World::add_member_key`].
pub fn extra_member_key(org: &str, n: u32) -> SecretKey {
    SecretKey::from_seed(sha256(format!("lianrong-testkit/member/{org}/{n}").as_bytes()).0)
}

/// The node key of a cast validator (deterministic).
pub fn node_key(org: &str) -> SecretKey {
    SecretKey::from_seed(sha256(format!("lianrong-testkit/node/{org}").as_bytes()).0)
}

/// Parses a cast org id.
pub fn org(id: &str) -> OrgId {
    OrgId::new(id).unwrap_or_else(|e| panic!("test org id: {e}"))
}

/// Parses a document id.
pub fn doc(id: &str) -> DocId {
    DocId::new(id).unwrap_or_else(|e| panic!("test doc id: {e}"))
}

/// CNY money.
pub fn cny(amount: &str) -> Money {
    Money::parse(amount, "CNY").unwrap_or_else(|e| panic!("test amount: {e}"))
}

/// A valid unified social credit code (`91330000MA` + 7 digits + check character) for
/// orgs a test admits, distinct for distinct `n` below 10,000,000.
pub fn tax_id_for(n: u32) -> String {
    let first17 = format!("91330000MA{:07}", n % 10_000_000);
    let check = crate::exec::tax_id::uscc_check_char(&first17)
        .unwrap_or_else(|| panic!("{first17} is outside the code's characters"));
    format!("{first17}{check}")
}

/// The genesis of the standard cast.
pub fn genesis(params: Params) -> Genesis {
    Genesis {
        chain_id: CHAIN_ID.into(),
        genesis_time_ms: GENESIS_TIME_MS,
        orgs: CAST
            .iter()
            .map(|(id, name, tax, roles, _)| OrgSpec {
                id: org(id),
                name: (*name).into(),
                tax_id: (*tax).into(),
                roles: roles.to_vec(),
                identifiers: vec![format!("GLN-{id}")],
                keys: vec![member_key(id).public()],
            })
            .collect(),
        validators: CAST
            .iter()
            .filter(|c| c.4)
            .map(|(id, ..)| Validator {
                org: org(id),
                node_key: node_key(id).public(),
                address: format!("/dns4/{}/tcp/26656", id.to_lowercase()),
            })
            .collect(),
        params,
    }
}

/// An in-memory ledger driven one block at a time.
#[derive(Clone)]
pub struct World {
    /// The committed state.
    pub store: MemoryStorage,
    /// Time of the next block.
    pub time_ms: u64,
    /// Height of the last block.
    pub height: u64,
    pending_nonces: BTreeMap<PublicKey, u64>,
    doc_seq: u64,
    /// Every block executed so far, for replay.
    pub log: Vec<(BlockContext, Vec<VerifiedTransaction>, Hash)>,
    params: Params,
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    /// The standard cast with default parameters.
    pub fn new() -> Self {
        Self::with_params(Params::default())
    }

    /// The standard cast with `params`.
    pub fn with_params(params: Params) -> Self {
        let mut store = MemoryStorage::new();
        let changes = genesis(params.clone())
            .changes(&store)
            .unwrap_or_else(|e| panic!("genesis: {e}"));
        store.apply(&changes);
        World {
            store,
            time_ms: GENESIS_TIME_MS + DAY_MS / 2,
            height: 0,
            pending_nonces: BTreeMap::new(),
            doc_seq: 0,
            log: Vec::new(),
            params,
        }
    }

    /// The committed state root.
    pub fn root(&self) -> Hash {
        self.store
            .latest()
            .ok()
            .flatten()
            .map(|(_, r)| r)
            .unwrap_or(Hash::ZERO)
    }

    /// Today's business date (of the next block).
    pub fn today(&self) -> NaiveDate {
        let params: Params = load(&self.store, keys::PARAMS)
            .ok()
            .flatten()
            .unwrap_or_default();
        business_date(self.time_ms, params.utc_offset_minutes).expect("a test clock in range")
    }

    /// Moves the clock of the next block forward.
    pub fn advance_days(&mut self, days: u64) {
        self.time_ms += days * DAY_MS;
    }

    /// A fresh document id with `prefix`.
    pub fn fresh_id(&mut self, prefix: &str) -> DocId {
        self.doc_seq += 1;
        doc(&format!("{prefix}-{}", self.doc_seq))
    }

    /// Signs `action` as `org`'s member key with the next nonce.
    pub fn sign(&mut self, org_id: &str, action: Action) -> VerifiedTransaction {
        self.sign_with(org_id, &member_key(org_id), action)
    }

    /// Signs `action` as `org` with `key` (one of its member keys) and the next nonce.
    pub fn sign_with(
        &mut self,
        org_id: &str,
        key: &SecretKey,
        action: Action,
    ) -> VerifiedTransaction {
        let pk = key.public();
        let committed: u64 = load(&self.store, &keys::nonce(&pk))
            .ok()
            .flatten()
            .unwrap_or(0);
        let nonce = *self.pending_nonces.get(&pk).unwrap_or(&committed);
        self.pending_nonces.insert(pk, nonce + 1);
        Transaction {
            chain_id: CHAIN_ID.into(),
            signer: Signer {
                org: org(org_id),
                key: pk,
            },
            nonce,
            action,
        }
        .sign(key)
        .verify(CHAIN_ID)
        .unwrap_or_else(|e| panic!("test transaction: {e}"))
    }

    /// Executes and commits one block.
    pub fn block(&mut self, txs: &[VerifiedTransaction]) -> BlockOutcome {
        let ctx = BlockContext {
            height: self.height + 1,
            time_ms: self.time_ms,
        };
        let out = execute_block(&self.store, &ctx, txs).unwrap_or_else(|e| panic!("block: {e}"));
        self.store.apply(&out.changes);
        self.log.push((ctx, txs.to_vec(), out.changes.root));
        self.height += 1;
        self.time_ms += 1000;
        self.pending_nonces.clear();
        out
    }

    /// Executes `action` by `org` alone in a block and returns its receipt.
    pub fn exec(&mut self, org_id: &str, action: Action) -> Receipt {
        let tx = self.sign(org_id, action);
        let mut out = self.block(&[tx]);
        out.receipts.remove(0)
    }

    /// Executes `action` by `org` signed with `key` alone in a block.
    pub fn exec_with(&mut self, org_id: &str, key: &SecretKey, action: Action) -> Receipt {
        let tx = self.sign_with(org_id, key, action);
        let mut out = self.block(&[tx]);
        out.receipts.remove(0)
    }

    /// Gives a cast org its `n`th extra member key ([`extra_member_key`]) through
    /// governance, every validator org approving; returns the key.
    pub fn add_member_key(&mut self, org_id: &str, n: u32) -> SecretKey {
        let key = extra_member_key(org_id, n);
        let change = crate::model::GovChange::AddMemberKey {
            org: org(org_id),
            key: key.public(),
        };
        let mut validators = CAST.iter().filter(|c| c.4).map(|c| c.0);
        let proposer = validators
            .next()
            .unwrap_or_else(|| panic!("no validator org"));
        let events = self.ok(proposer, Action::Propose { change });
        let proposal = events
            .iter()
            .find_map(|e| match e {
                crate::events::Event::ProposalOpened { proposal, .. } => Some(proposal.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no proposal opened"));
        for v in validators {
            let applied: Option<crate::model::Proposal> =
                self.get(DocKind::Proposal, proposal.as_str());
            if applied.is_some_and(|p| p.status == crate::model::ProposalStatus::Executed) {
                break;
            }
            self.ok(
                v,
                Action::Approve {
                    proposal: proposal.clone(),
                },
            );
        }
        key
    }

    /// The keys blocks of orders come from, as `lianrong bench` signs them: each core
    /// enterprise's member key and `extra` more of its keys, registered through
    /// governance.
    pub fn order_signers(&mut self, extra: u32) -> Vec<(&'static str, SecretKey)> {
        let mut signers = Vec::new();
        for core in ["CORE-A", "CORE-B"] {
            signers.push((core, member_key(core)));
            for n in 0..extra {
                signers.push((core, self.add_member_key(core, n)));
            }
        }
        signers
    }

    /// `n` purchase orders of fresh ids, signed round-robin by `signers`, to SUP-1 and
    /// SUP-2 in turn.
    pub fn orders(
        &mut self,
        signers: &[(&'static str, SecretKey)],
        n: usize,
    ) -> Vec<VerifiedTransaction> {
        assert!(!signers.is_empty(), "orders need a signer");
        (0..n)
            .map(|i| {
                let (core, key) = &signers[i % signers.len()];
                let action = Action::IssueOrder {
                    id: self.fresh_id("PO"),
                    seller: org(if i % 2 == 0 { "SUP-1" } else { "SUP-2" }),
                    amount: cny("12345.67"),
                    terms: "net 60".into(),
                    doc_hash: Hash::ZERO,
                    carriers: vec![],
                };
                self.sign_with(core, key, action)
            })
            .collect()
    }

    /// Like [`World::exec`] but panics with the reason if the action was refused.
    pub fn ok(&mut self, org_id: &str, action: Action) -> Vec<crate::events::Event> {
        let name = action.name();
        match self.exec(org_id, action).outcome {
            Ok(events) => events,
            Err(e) => panic!("{org_id} {name} refused: {e}"),
        }
    }

    /// Governance revokes `org_id`'s member `key`: CORE-A proposes, CORE-B and LOGI
    /// approve (three of the four validator orgs), and the proposal passes.
    pub fn revoke_member_key(&mut self, org_id: &str, key: PublicKey) {
        let change = crate::model::GovChange::RevokeMemberKey {
            org: org(org_id),
            key,
        };
        let opened = self.ok("CORE-A", Action::Propose { change });
        let Some(crate::events::Event::ProposalOpened { proposal, .. }) = opened.first() else {
            panic!("no proposal opened: {opened:?}");
        };
        let proposal = doc(proposal.as_str());
        let approve = |proposal: &DocId| Action::Approve {
            proposal: proposal.clone(),
        };
        self.ok("CORE-B", approve(&proposal));
        self.ok("LOGI", approve(&proposal));
    }

    /// A committed document.
    pub fn get<T: Serialize + DeserializeOwned>(&self, kind: DocKind, id: &str) -> Option<T> {
        load(&self.store, &keys::doc(kind, id)).unwrap_or_else(|e| panic!("state: {e}"))
    }

    /// A committed receivable (panics if missing).
    pub fn receivable(&self, id: &DocId) -> Receivable {
        self.get(DocKind::Receivable, id.as_str())
            .unwrap_or_else(|| panic!("no receivable {id}"))
    }

    /// The registered tax id of a cast org.
    pub fn tax_id(org_id: &str) -> String {
        CAST.iter()
            .find(|c| c.0 == org_id)
            .map(|c| c.2.to_string())
            .unwrap_or_default()
    }

    /// Issues an order naming LOGI as its carrier, accepts it, and has LOGI ship and
    /// deliver its whole amount; returns its id.
    pub fn delivered_order(&mut self, buyer: &str, seller: &str, amount: &str) -> DocId {
        let id = self.fresh_id("PO");
        self.ok(
            buyer,
            Action::IssueOrder {
                id: id.clone(),
                seller: org(seller),
                amount: cny(amount),
                terms: "net 90".into(),
                doc_hash: sha256(id.as_str().as_bytes()),
                carriers: vec![org("LOGI")],
            },
        );
        self.ok(seller, Action::AcceptOrder { order: id.clone() });
        let shipment = self.fresh_id("SHP");
        self.ok(
            "LOGI",
            Action::AttestShipment {
                id: shipment.clone(),
                order: id.clone(),
                value: cny(amount),
                doc_hash: sha256(shipment.as_str().as_bytes()),
            },
        );
        self.ok("LOGI", Action::ConfirmDelivery { shipment });
        id
    }

    /// An invoice spec for `order` between cast orgs, due in `days`.
    pub fn invoice_spec(
        &mut self,
        order: &DocId,
        buyer: &str,
        seller: &str,
        amount: &str,
        days: i64,
    ) -> InvoiceSpec {
        let id = self.fresh_id("INV");
        let today = self.today();
        InvoiceSpec {
            id: id.clone(),
            order: order.clone(),
            number: format!("NO-{}", id.as_str()),
            issue_date: today,
            due_date: today + Duration::days(days),
            maturity: None,
            amount: cny(amount),
            seller_tax_id: Self::tax_id(seller),
            buyer_tax_id: Self::tax_id(buyer),
            doc_hash: sha256(id.as_str().as_bytes()),
        }
    }

    /// The whole trade: a delivered order, an invoice registered and confirmed by the
    /// buyer; returns the root receivable held by `seller`.
    pub fn trade_to_receivable(
        &mut self,
        buyer: &str,
        seller: &str,
        amount: &str,
        days: i64,
    ) -> DocId {
        let order = self.delivered_order(buyer, seller, amount);
        let spec = self.invoice_spec(&order, buyer, seller, amount, days);
        let inv = spec.id.clone();
        self.ok(
            buyer,
            Action::RegisterInvoice {
                invoice: spec,
                confirm: true,
            },
        );
        let invoice: crate::model::Invoice = self
            .get(DocKind::Invoice, inv.as_str())
            .unwrap_or_else(|| panic!("no invoice"));
        invoice
            .receivable
            .unwrap_or_else(|| panic!("invoice not confirmed"))
    }

    /// Executes the logged blocks again on a fresh genesis and returns the state root after
    /// each; a deterministic ledger gives exactly the roots in the log.
    pub fn replay(&self) -> Vec<Hash> {
        let mut store = MemoryStorage::new();
        let changes = genesis(self.params.clone())
            .changes(&store)
            .unwrap_or_else(|e| panic!("genesis: {e}"));
        store.apply(&changes);
        let mut roots = Vec::with_capacity(self.log.len());
        for (ctx, txs, _) in &self.log {
            let out = execute_block(&store, ctx, txs).unwrap_or_else(|e| panic!("replay: {e}"));
            store.apply(&out.changes);
            roots.push(out.changes.root);
        }
        roots
    }

    /// Committed raw value (for tests that inspect keys).
    pub fn raw(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.store.get(key).ok().flatten()
    }
}
