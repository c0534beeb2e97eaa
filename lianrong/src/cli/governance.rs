//! `lianrong gov` (alias `governance`): validator orgs propose every governance change --
//! admitting an org, adding and revoking member keys, network parameters, validator-set
//! changes -- approve proposals, and list and show them with their approvals; and
//! `lianrong key rotate`, an org's own member key rotation. A change applies once
//! validator orgs forming a BFT quorum (2f+1 of 3f+1, the proposer included) approved
//! it; a validator-set change takes over at the next epoch boundary. Like every client
//! verb: `--node`, `--key` (a signing org must run a validator), text or `--json` (the
//! committed transaction and its events, among them `proposal_opened` with the
//! ledger-assigned id `GOV-n`).
//!
//! The ledger has no self-service key action: only governance adds or revokes a member
//! key, and only orgs that run a validator open proposals. So `key rotate` writes a new
//! key file and opens two proposals -- add the new key, then revoke the old one -- signed
//! by the org itself when it runs a validator, else by a validator org's key given with
//! `--via` (the org's bank, say); the validator orgs then approve both.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::Subcommand;
use lianrong_contracts::exec::check_text;
use lianrong_contracts::exec::governance::validate_params;
use lianrong_contracts::exec::tax_id::canonical_tax_id;
use lianrong_contracts::model::{
    DocId, GovChange, OrgSpec, Params, Role, Validator, MAX_IDENTIFIERS, MAX_KEYS_PER_ORG,
};
use lianrong_contracts::money::{Amount, DayCount};
use lianrong_contracts::{Action, DocKind};
use lianrong_primitives::{OrgId, PublicKey};
use lianrong_sdk::api_types::governance::change_summary;
use lianrong_sdk::api_types::{ProposalState, ProposalView};
use lianrong_sdk::{args, Auth, Client, MemberKey, Signer};
use serde::Serialize;

use super::{output, parse_doc_id, parse_org, unreachable_verb, Ctx};

/// Longest validator address the ledger records.
const MAX_ADDRESS_LEN: usize = 256;

/// A public key as 64 hex digits, and one only its holder can sign for (what the ledger
/// registers), so a typo or a crafted key is refused before a vote.
fn parse_key(s: &str) -> std::result::Result<PublicKey, String> {
    let key = args::public_key(s).map_err(|e| e.to_string())?;
    key.check_registrable()
        .map_err(|e| format!("public key {}: {e}", s.trim()))?;
    Ok(key)
}

/// A libp2p TCP multiaddr such as `/ip4/10.0.0.5/tcp/26656` or
/// `/dns4/node.example.com/tcp/26656` (the only transport nodes speak). Checked here so a
/// typo is refused before a vote instead of leaving a validator nobody can dial.
fn parse_address(s: &str) -> std::result::Result<String, String> {
    let s = s.trim();
    let bad = |why: &str| {
        Err(format!(
            "{s:?} is not a validator address ({why}); use a multiaddr like /ip4/10.0.0.5/tcp/26656"
        ))
    };
    if s.is_empty() || s.len() > MAX_ADDRESS_LEN {
        return bad(&format!("1 to {MAX_ADDRESS_LEN} characters"));
    }
    if !s.is_ascii() || s.chars().any(|c| c.is_ascii_whitespace() || c.is_control()) {
        return bad("printable ASCII without spaces");
    }
    let parts: Vec<&str> = match s.strip_prefix('/') {
        Some(rest) => rest.split('/').collect(),
        None => return bad("it must start with /"),
    };
    if parts.len() % 2 != 0 || parts.iter().any(|p| p.is_empty()) {
        return bad("protocol/value pairs");
    }
    let host = ["ip4", "ip6", "dns", "dns4", "dns6"];
    if !host.contains(&parts[0]) {
        return bad("it must start with /ip4, /ip6, /dns, /dns4 or /dns6");
    }
    let tcp_port = parts
        .chunks(2)
        .find(|p| p[0] == "tcp")
        .map(|p| p[1].parse::<u16>());
    match tcp_port {
        Some(Ok(port)) if port > 0 => Ok(s.to_string()),
        _ => bad("no /tcp/PORT"),
    }
}

/// `gov` subcommands.
#[derive(Debug, Subcommand)]
pub enum GovernanceCmd {
    /// Open a proposal (a validator org); the proposer's approval counts.
    Propose {
        #[command(subcommand)]
        change: ProposeCmd,
    },
    /// Approve an open proposal (a validator org, once); the change applies at the quorum.
    Approve {
        /// The proposal (GOV-n, from `gov list` or the `proposal_opened` event).
        #[arg(value_parser = parse_doc_id)]
        proposal: DocId,
        /// Approve even a revocation of the org's last active key (a compromised key
        /// with no replacement yet): without it that approval is refused here, since
        /// the org could sign nothing until a new key is added.
        #[arg(long)]
        even_last_key: bool,
    },
    /// Open proposals (all with --all) with their approvals so far, how many are needed
    /// and which validator orgs have not approved.
    List {
        /// Also list executed and lapsed proposals.
        #[arg(long)]
        all: bool,
    },
    /// One proposal: its change, approvals, state and last day.
    Show {
        /// The proposal (GOV-n).
        #[arg(value_parser = parse_doc_id)]
        proposal: DocId,
    },
}

/// What `gov propose` proposes.
#[derive(Debug, Subcommand)]
pub enum ProposeCmd {
    /// Admit an organisation with its tax id, roles, identifiers and member keys.
    AdmitOrg {
        /// The new org's id, e.g. SUP-9 (2-32 of A-Z 0-9 -, starting with a letter).
        #[arg(long, value_parser = parse_org)]
        id: OrgId,
        /// Legal name (1-128 characters).
        #[arg(long)]
        name: String,
        /// Unified social credit code (18 characters), NO + 9 digits + MVA, or DE + 9
        /// digits; spaces and dashes are dropped.
        #[arg(long)]
        tax_id: String,
        /// A role: bank, core, supplier, logistics or auditor; repeat or separate with
        /// commas.
        #[arg(long = "role", required = true, value_delimiter = ',', value_parser = parse_role)]
        roles: Vec<Role>,
        /// Another identifier the org is known by in trade documents (GLN, VAT id);
        /// repeat, at most 8.
        #[arg(long = "identifier")]
        identifiers: Vec<String>,
        /// A member key's public key (64 hex digits; `lianrong keygen` prints it); repeat,
        /// at most 16.
        #[arg(long = "member-key", required = true, value_name = "HEX", value_parser = parse_key)]
        keys: Vec<PublicKey>,
    },
    /// Give an org another member key.
    AddKey {
        /// The org.
        #[arg(long, value_parser = parse_org)]
        org: OrgId,
        /// The new key's public key (64 hex digits).
        #[arg(long = "member-key", value_name = "HEX", value_parser = parse_key)]
        member_key: PublicKey,
    },
    /// Revoke one of an org's member keys for good.
    RevokeKey {
        /// The org.
        #[arg(long, value_parser = parse_org)]
        org: OrgId,
        /// The key's public key (64 hex digits, as `org show` lists it).
        #[arg(long = "member-key", value_name = "HEX", value_parser = parse_key)]
        member_key: PublicKey,
    },
    /// Change network parameters: those given replace the ones in force, the rest stay.
    SetParams(ParamsArgs),
    /// Add a validator node, run by an org with a bank, core or logistics role.
    AddValidator {
        /// The org that runs the node.
        #[arg(long, value_parser = parse_org)]
        org: OrgId,
        /// The node's public key (64 hex digits; `lianrong keygen` prints it).
        #[arg(long, value_name = "HEX", value_parser = parse_key)]
        node_key: PublicKey,
        /// Where the other validators dial it: a libp2p multiaddr, e.g.
        /// /ip4/10.0.0.5/tcp/26656.
        #[arg(long, value_name = "MULTIADDR", value_parser = parse_address)]
        address: String,
    },
    /// Remove a validator by its node key (the last one cannot be removed).
    RemoveValidator {
        /// The validator's node key (64 hex digits, as `status` lists it).
        #[arg(long, value_name = "HEX", value_parser = parse_key)]
        node_key: PublicKey,
    },
    /// Set a core enterprise's issuance limit (the cap on its live receivables'
    /// outstanding amounts), or remove it with --remove.
    SetIssuanceLimit {
        /// The core enterprise.
        #[arg(long, value_parser = parse_org)]
        debtor: OrgId,
        /// The limit (decimal, in --currency).
        #[arg(long, required_unless_present = "remove", conflicts_with = "remove")]
        limit: Option<String>,
        /// ISO 4217 currency of the limit.
        #[arg(long, default_value = "CNY")]
        currency: String,
        /// Remove the limit instead.
        #[arg(long)]
        remove: bool,
    },
}

/// `gov propose set-params`: each flag replaces one parameter in force.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ParamsArgs {
    /// Longest tenor from confirmation to maturity, days (1-365).
    #[arg(long)]
    pub max_tenor_days: Option<u32>,
    /// Tenor above which the explorer flags a receivable, days.
    #[arg(long)]
    pub flag_tenor_days: Option<u32>,
    /// Whether confirmation needs attested delivery (true or false).
    #[arg(long)]
    pub require_delivery: Option<bool>,
    /// Day count for discounting: act360 or act365.
    #[arg(long, value_parser = parse_day_count)]
    pub day_count: Option<DayCount>,
    /// Days after maturity before an unpaid receivable is overdue (0-365).
    #[arg(long)]
    pub grace_days: Option<u32>,
    /// Largest single amount accepted, in any currency's major unit.
    #[arg(long, value_parser = super::parse_amount)]
    pub amount_cap: Option<Amount>,
    /// The business time zone, minutes east of UTC (-720 to 840).
    #[arg(long, allow_hyphen_values = true)]
    pub utc_offset_minutes: Option<i32>,
    /// Days a governance proposal stays open (1-90).
    #[arg(long)]
    pub proposal_ttl_days: Option<u32>,
    /// Days an accepted financing may wait for its disbursement (1-90).
    #[arg(long)]
    pub disburse_within_days: Option<u32>,
    /// Longest validity of a bank's offer, days (1-90).
    #[arg(long)]
    pub max_offer_valid_days: Option<u32>,
}

impl ParamsArgs {
    /// The parameters in force (`current`) with the given ones replaced, checked by the
    /// ledger's own rule before anything is signed.
    pub fn apply(&self, current: &Params) -> Result<Params> {
        // Field by field onto a copy, so a parameter this CLI has no flag for keeps the
        // value in force.
        fn set<T>(field: &mut T, given: Option<T>) {
            if let Some(v) = given {
                *field = v;
            }
        }
        let mut p = current.clone();
        set(&mut p.max_tenor_days, self.max_tenor_days);
        set(&mut p.flag_tenor_days, self.flag_tenor_days);
        set(&mut p.require_delivery, self.require_delivery);
        set(&mut p.day_count, self.day_count);
        set(&mut p.grace_days, self.grace_days);
        set(&mut p.amount_cap, self.amount_cap);
        set(&mut p.utc_offset_minutes, self.utc_offset_minutes);
        set(&mut p.proposal_ttl_days, self.proposal_ttl_days);
        set(&mut p.disburse_within_days, self.disburse_within_days);
        set(&mut p.max_offer_valid_days, self.max_offer_valid_days);
        if &p == current {
            bail!("these parameters are already in force: give at least one that changes");
        }
        validate_params(&p).map_err(|e| anyhow!("{e}"))?;
        Ok(p)
    }
}

fn parse_role(s: &str) -> std::result::Result<Role, String> {
    serde_json::from_value(serde_json::Value::String(s.trim().to_ascii_lowercase()))
        .map_err(|_| format!("{s:?} is not a role; use bank, core, supplier, logistics or auditor"))
}

fn parse_day_count(s: &str) -> std::result::Result<DayCount, String> {
    match s
        .trim()
        .to_ascii_lowercase()
        .replace(['/', '-', '_'], "")
        .as_str()
    {
        "act360" => Ok(DayCount::Act360),
        "act365" => Ok(DayCount::Act365),
        _ => Err(format!("{s:?} is not a day count; use act360 or act365")),
    }
}

/// A legal name or identifier as the ledger takes it: trimmed, `min..=max` characters,
/// no control characters.
fn text(field: &str, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    check_text(field, v, 1, max).map_err(|e| anyhow!("{e}"))?;
    Ok(v.to_string())
}

/// The org an admission proposes, checked as the ledger will check it (apart from what
/// only the ledger knows: whether the id, tax id or keys are taken).
fn org_spec(cmd: &ProposeCmd) -> Result<OrgSpec> {
    let ProposeCmd::AdmitOrg {
        id,
        name,
        tax_id,
        roles,
        identifiers,
        keys,
    } = cmd
    else {
        bail!("internal: not an admission");
    };
    let tax_id = canonical_tax_id(tax_id).map_err(|e| anyhow!("--tax-id: {e}"))?;
    if roles.iter().collect::<BTreeSet<_>>().len() != roles.len() {
        bail!("--role: each role once");
    }
    if identifiers.len() > MAX_IDENTIFIERS {
        bail!("--identifier: at most {MAX_IDENTIFIERS}");
    }
    let identifiers = identifiers
        .iter()
        .map(|i| text("--identifier", i, 64))
        .collect::<Result<Vec<_>>>()?;
    if keys.len() > MAX_KEYS_PER_ORG {
        bail!("--member-key: an org holds at most {MAX_KEYS_PER_ORG} member keys");
    }
    if keys.iter().collect::<BTreeSet<_>>().len() != keys.len() {
        bail!("--member-key: each key once");
    }
    Ok(OrgSpec {
        id: id.clone(),
        name: text("--name", name, 128)?,
        tax_id,
        roles: roles.clone(),
        identifiers,
        keys: keys.clone(),
    })
}

impl GovernanceCmd {
    /// The action the verb signs when it needs nothing from the ledger to build it;
    /// `None` for reads, `set-params` (it starts from the parameters in force) and
    /// `approve` (it looks at the proposal first).
    pub fn action(&self) -> Result<Option<Action>> {
        match self {
            GovernanceCmd::Propose { change } => {
                Ok(change.change()?.map(|change| Action::Propose { change }))
            }
            _ => Ok(None),
        }
    }
}

impl ProposeCmd {
    fn change(&self) -> Result<Option<GovChange>> {
        Ok(Some(match self {
            ProposeCmd::AdmitOrg { .. } => GovChange::AdmitOrg(org_spec(self)?),
            // `member_key`: `key` is the global --key FILE of every verb.
            ProposeCmd::AddKey { org, member_key } => GovChange::AddMemberKey {
                org: org.clone(),
                key: *member_key,
            },
            ProposeCmd::RevokeKey { org, member_key } => GovChange::RevokeMemberKey {
                org: org.clone(),
                key: *member_key,
            },
            ProposeCmd::SetParams(_) => return Ok(None),
            ProposeCmd::AddValidator {
                org,
                node_key,
                address,
            } => GovChange::AddValidator(Validator {
                org: org.clone(),
                node_key: *node_key,
                address: address.clone(),
            }),
            ProposeCmd::RemoveValidator { node_key } => GovChange::RemoveValidator {
                node_key: *node_key,
            },
            ProposeCmd::SetIssuanceLimit {
                debtor,
                limit,
                currency,
                ..
            } => GovChange::SetIssuanceLimit {
                debtor: debtor.clone(),
                limit: match limit {
                    Some(l) => Some(args::money(l, currency).context("--limit")?),
                    None => None,
                },
            },
        }))
    }
}

/// `key` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeyCmd {
    /// Rotate the member key given with --key: write a new key file, and open the
    /// governance proposals that add it and then revoke the old key (signed by the org
    /// itself if it runs a validator, else by the validator org's key given with --via).
    /// Keep signing with the old key until both apply (`gov list`).
    Rotate {
        /// Where to write the new key (JSON, mode 0600; never overwritten).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// A member key of an org that runs a validator, to open the proposals for an
        /// org that does not (its bank, say).
        #[arg(long, value_name = "FILE")]
        via: Option<PathBuf>,
    },
}

/// `gov list` as a table.
fn proposals_table(list: &[ProposalView]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|v| {
            let names = |orgs: &[OrgId]| {
                let s: Vec<&str> = orgs.iter().map(OrgId::as_str).collect();
                if s.is_empty() {
                    "-".to_string()
                } else {
                    s.join(",")
                }
            };
            vec![
                v.proposal.id.to_string(),
                v.state.as_str().to_string(),
                format!("{}/{}", v.approvals, v.needed),
                names(&v.proposal.approvals),
                names(&v.waiting_for),
                v.expires_on.to_string(),
                change_summary(&v.proposal.change),
            ]
        })
        .collect();
    output::table(
        &[
            "id",
            "state",
            "approvals",
            "approved by",
            "waiting for",
            "last day",
            "change",
        ],
        &rows,
    )
}

/// Runs the `gov` verbs that read the ledger first.
pub(super) async fn run(ctx: &Ctx, cmd: &GovernanceCmd) -> Result<()> {
    let c = &ctx.client;
    match cmd {
        GovernanceCmd::List { all } => {
            let mut list: Vec<ProposalView> = c
                .proposals()
                .await?
                .into_iter()
                .filter(|v| *all || v.state == ProposalState::Open)
                .collect();
            // The API lists ids in text order (GOV-10 before GOV-2); people read numbers.
            list.sort_by_key(|v| {
                let id = v.proposal.id.as_str();
                let n: u64 = id
                    .rsplit('-')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                (n, id.to_string())
            });
            ctx.print(&list, |l| proposals_table(l))
        }
        GovernanceCmd::Show { proposal } => {
            let v = c.proposal(proposal).await?;
            ctx.print(&v, |v| {
                let mut s = proposals_table(std::slice::from_ref(v));
                s.push('\n');
                s.push_str(&output::document(
                    &serde_json::to_value(&v.proposal.change).unwrap_or_default(),
                ));
                s
            })
        }
        GovernanceCmd::Approve {
            proposal,
            even_last_key,
        } => {
            if !even_last_key {
                refuse_locking_out(c, proposal).await?;
            }
            ctx.sign_and_submit(Action::Approve {
                proposal: proposal.clone(),
            })
            .await
        }
        GovernanceCmd::Propose {
            change: ProposeCmd::SetParams(p),
        } => {
            let params = p.apply(&c.status().await?.params)?;
            ctx.sign_and_submit(Action::Propose {
                change: GovChange::SetParams(params),
            })
            .await
        }
        GovernanceCmd::Propose { .. } => unreachable_verb(),
    }
}

/// Refuses to approve the revocation of an org's only active key: the org could sign
/// nothing until governance adds another (approve the proposal adding it first).
async fn refuse_locking_out(c: &Client, proposal: &DocId) -> Result<()> {
    let v = match c.proposal(proposal).await {
        Ok(v) => v,
        // Not readable by the signer (it runs no validator): the ledger says why.
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let GovChange::RevokeMemberKey { org, key } = &v.proposal.change else {
        return Ok(());
    };
    let o = c.org(org).await?;
    if o.keys.iter().any(|k| k != key) || !o.keys.contains(key) {
        return Ok(());
    }
    let adding: Vec<String> = c
        .proposals()
        .await?
        .into_iter()
        .filter(|p| p.state == ProposalState::Open)
        .filter(
            |p| matches!(&p.proposal.change, GovChange::AddMemberKey { org: o, .. } if o == org),
        )
        .map(|p| p.proposal.id.to_string())
        .collect();
    let first = match adding.as_slice() {
        [] => "no proposal to add one is open".to_string(),
        ids => format!("approve {} first", ids.join(", ")),
    };
    bail!(
        "{proposal} revokes the only active key of {org}, which could then sign nothing \
         until another is added ({first}); --even-last-key approves anyway"
    )
}

/// What `key rotate` did.
#[derive(Debug, Serialize)]
struct Rotation {
    org: OrgId,
    old_key: PublicKey,
    new_key: PublicKey,
    key_file: PathBuf,
    /// Who opened the proposals.
    proposer: OrgId,
    /// The proposal adding the new key, then the one revoking the old key.
    add: ProposalView,
    revoke: ProposalView,
}

/// Who opens a rotation's proposals: the org itself, or the validator org `--via` names;
/// refused unless it runs a validator (only those propose).
async fn rotation_proposer(ctx: &Ctx, via: Option<&Path>) -> Result<Signer> {
    let c = &ctx.client;
    let signer = match via {
        Some(path) => {
            let via = MemberKey::load(path)?;
            let opts = c.options().clone();
            let client = Client::with_options(c.base_url(), Auth::Key(via.clone()), opts)?;
            Signer::new(client, via).await?
        }
        None => ctx.signer().await?,
    };
    let status = c.status().await?;
    if !status.validators.iter().any(|v| &v.org == signer.org()) {
        bail!(
            "{} runs no validator, so it cannot open governance proposals: give the key \
             of an org that does (its bank, say) with --via FILE",
            signer.org()
        );
    }
    Ok(signer)
}

/// Opens a proposal of `change` and reads it back with its standing.
async fn open_proposal(signer: &Signer, change: GovChange) -> Result<ProposalView> {
    let done = signer.submit(Action::Propose { change }).await?;
    let id = done
        .created(DocKind::Proposal)
        .ok_or_else(|| anyhow!("the ledger opened no proposal"))?;
    Ok(signer.client().proposal(&id).await?)
}

/// `key rotate`: a new key file, and the proposals that add it and revoke the old key.
pub(super) async fn run_key(ctx: &Ctx, cmd: &KeyCmd) -> Result<()> {
    let KeyCmd::Rotate { out, via } = cmd;
    let old = ctx
        .key
        .clone()
        .ok_or_else(|| anyhow!("give the member key to rotate with --key FILE"))?;
    let info = ctx.client.key_info(&old.public()).await?;
    if !info.active {
        bail!(
            "member key {} of {} is already revoked",
            old.public(),
            info.org
        );
    }
    let signer = rotation_proposer(ctx, via.as_deref()).await?;
    let chain_id = ctx.client.chain_id().await?;
    let org = info.org;
    let new = lianrong_primitives::keyfile::write_new(out, Some(org.clone()), Some(chain_id))
        .map_err(|e| anyhow!("{e}"))?;
    // From here the new key exists only in its file: say so if the proposals fail.
    let proposals = async {
        let add = GovChange::AddMemberKey {
            org: org.clone(),
            key: new,
        };
        let add = open_proposal(&signer, add).await?;
        let revoke = GovChange::RevokeMemberKey {
            org: org.clone(),
            key: old.public(),
        };
        Ok::<_, anyhow::Error>((add, open_proposal(&signer, revoke).await?))
    };
    let (add, revoke) = proposals.await.with_context(|| {
        format!(
            "new key {new} written to {}, but its proposals were not all opened",
            out.display()
        )
    })?;
    let r = Rotation {
        org,
        old_key: old.public(),
        new_key: new,
        key_file: out.clone(),
        proposer: signer.org().clone(),
        add,
        revoke,
    };
    ctx.print(&r, rotation_text)
}

fn rotation_text(r: &Rotation) -> String {
    format!(
        "new key {} of {} written to {}\n{}\nthe validator orgs approve {} first, then {}; \
         keep signing with the old key until both are executed",
        r.new_key,
        r.org,
        r.key_file.display(),
        proposals_table(&[r.add.clone(), r.revoke.clone()]),
        r.add.proposal.id,
        r.revoke.proposal.id
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::tests::{action, parse};
    use crate::cli::ClientCommand;

    fn key() -> PublicKey {
        lianrong_primitives::SecretKey::from_seed([7; 32]).public()
    }

    #[test]
    fn propose_add_and_remove_validator_and_approve() {
        let k = key();
        let a = action(&format!(
            "governance propose add-validator --org BANK-B --node-key {k} \
             --address /ip4/127.0.0.1/tcp/4001 --node http://n:1 --key k.json --json"
        ));
        assert_eq!(
            a,
            Action::Propose {
                change: GovChange::AddValidator(Validator {
                    org: OrgId::new("BANK-B").unwrap(),
                    node_key: k,
                    address: "/ip4/127.0.0.1/tcp/4001".into(),
                })
            }
        );
        let r = action(&format!(
            "governance propose remove-validator --node-key {k}"
        ));
        assert_eq!(
            r,
            Action::Propose {
                change: GovChange::RemoveValidator { node_key: k }
            }
        );
        // `gov` is the name, `governance` the alias the earlier scripts use.
        assert_eq!(
            action(&format!("gov propose remove-validator --node-key {k}")),
            r
        );
        let cmd = parse("governance approve GOV-3 --node http://n:1 --key k.json --json").unwrap();
        assert_eq!(cmd.conn().node.as_deref(), Some("http://n:1"));
        assert!(cmd.conn().json);
        // Approve looks at the proposal first (a last key's revocation is refused).
        assert_eq!(cmd.action().unwrap(), None);
        match parse("gov approve GOV-3 --even-last-key").unwrap() {
            ClientCommand::Governance {
                cmd:
                    GovernanceCmd::Approve {
                        proposal,
                        even_last_key: true,
                    },
                ..
            } => assert_eq!(proposal.as_str(), "GOV-3"),
            other => panic!("{other:?}"),
        }
    }

    const USCC: &str = "91440300MA5GYT9014";

    #[test]
    fn admit_org_carries_the_canonical_tax_id_roles_identifiers_and_keys() {
        let (k1, k2) = (
            key(),
            lianrong_primitives::SecretKey::from_seed([8; 32]).public(),
        );
        let a = action(&format!(
            "gov propose admit-org --id SUP-9 --name Shenzhen-Widgets --tax-id 9144-0300-ma5g-yt90-14 \
             --role supplier,logistics --identifier GLN-6901234567892 --member-key {k1} --member-key {k2}"
        ));
        let Action::Propose {
            change: GovChange::AdmitOrg(spec),
        } = a
        else {
            panic!("{a:?}");
        };
        assert_eq!(spec.id.as_str(), "SUP-9");
        assert_eq!(spec.name, "Shenzhen-Widgets");
        assert_eq!(spec.tax_id, USCC, "stored in its canonical form");
        assert_eq!(spec.roles, [Role::Supplier, Role::Logistics]);
        assert_eq!(spec.identifiers, ["GLN-6901234567892"]);
        assert_eq!(spec.keys, [k1, k2]);
    }

    #[test]
    fn add_and_revoke_key_name_the_org_and_the_key() {
        let k = key();
        assert_eq!(
            action(&format!("gov propose add-key --org SUP-1 --member-key {k}")),
            Action::Propose {
                change: GovChange::AddMemberKey {
                    org: OrgId::new("SUP-1").unwrap(),
                    key: k
                }
            }
        );
        assert_eq!(
            action(&format!(
                "gov propose revoke-key --org SUP-1 --member-key {k}"
            )),
            Action::Propose {
                change: GovChange::RevokeMemberKey {
                    org: OrgId::new("SUP-1").unwrap(),
                    key: k
                }
            }
        );
    }

    /// The refusal of a command line that parses but is not a change the ledger takes.
    fn refused(line: &str) -> String {
        let cmd = parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        match cmd.action() {
            Err(e) => e.to_string(),
            Ok(a) => panic!("{line} was accepted: {a:?}"),
        }
    }

    #[test]
    fn a_bad_admission_is_refused_with_the_reason() {
        let k = key();
        let base = format!("gov propose admit-org --id SUP-9 --name N --member-key {k}");
        let e = refused(&format!(
            "{base} --role supplier --tax-id 91440300MA5GYT9015"
        ));
        assert!(
            e.contains("--tax-id") && e.contains("check character"),
            "{e}"
        );
        let e = refused(&format!("{base} --role supplier --tax-id 12345"));
        assert!(e.contains("NO + 9 digits + MVA"), "{e}");
        let e = refused(&format!("{base} --role supplier,supplier --tax-id {USCC}"));
        assert!(e.contains("each role once"), "{e}");
        let e = refused(&format!(
            "{base} --role supplier --tax-id {USCC} --member-key {k}"
        ));
        assert!(e.contains("each key once"), "{e}");
        let ids = (0..9)
            .map(|i| format!(" --identifier ID{i}"))
            .collect::<String>();
        let e = refused(&format!("{base} --role supplier --tax-id {USCC}{ids}"));
        assert!(e.contains("at most 8"), "{e}");
        let long = "x".repeat(129);
        let e = refused(&format!(
            "gov propose admit-org --id SUP-9 --name {long} --member-key {k} --role bank --tax-id {USCC}"
        ));
        assert!(e.contains("--name") && e.contains("1..=128"), "{e}");
        for bad in [
            format!("gov propose admit-org --id SUP-9 --name N --tax-id {USCC} --role supplier"),
            format!("gov propose admit-org --id SUP-9 --name N --tax-id {USCC} --member-key {k}"),
            format!("{base} --role supplyer --tax-id {USCC}"),
            format!("{base} --role supplier --tax-id {USCC} --member-key 00"),
            // The all-zero key is a small-order point anyone can sign for.
            format!("{base} --role supplier --tax-id {USCC} --member-key {}", "00".repeat(32)),
            format!("gov propose admit-org --id sup9 --name N --tax-id {USCC} --role supplier --member-key {k}"),
        ] {
            assert!(parse(&bad).is_err(), "accepted: {bad}");
        }
        let e = parse(&format!("{base} --role supplyer --tax-id {USCC}")).unwrap_err();
        assert!(
            e.contains("use bank, core, supplier, logistics or auditor"),
            "{e}"
        );
    }

    fn params() -> Params {
        Params::default()
    }

    fn params_args(line: &str) -> ParamsArgs {
        match parse(&format!("gov propose set-params {line}")) {
            Ok(ClientCommand::Governance {
                cmd:
                    GovernanceCmd::Propose {
                        change: ProposeCmd::SetParams(p),
                    },
                ..
            }) => p,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn set_params_replaces_only_what_is_given_and_checks_the_ledger_rule() {
        let cur = params();
        let p = params_args("--proposal-ttl-days 14 --day-count act365 --utc-offset-minutes -300")
            .apply(&cur)
            .unwrap();
        assert_eq!(p.proposal_ttl_days, 14);
        assert_eq!(p.day_count, DayCount::Act365);
        assert_eq!(p.utc_offset_minutes, -300);
        assert_eq!(p.max_tenor_days, cur.max_tenor_days, "the rest stays");
        let e = params_args("--max-tenor-days 400").apply(&cur).unwrap_err();
        assert!(e.to_string().contains("1..=365"), "{e}");
        let e = params_args(&format!("--grace-days {}", cur.grace_days))
            .apply(&cur)
            .unwrap_err();
        assert!(e.to_string().contains("already in force"), "{e}");
        assert!(parse("gov propose set-params --day-count act999").is_err());
        assert!(parse("gov propose set-params --amount-cap 1,000").is_err());
        // Set-params starts from the parameters in force, read from the node.
        assert_eq!(
            parse("gov propose set-params --grace-days 3")
                .unwrap()
                .action()
                .unwrap(),
            None
        );
    }

    #[test]
    fn an_issuance_limit_is_set_in_its_currency_or_removed() {
        let a = action("gov propose set-issuance-limit --debtor CORE-A --limit 5000000.00");
        let Action::Propose {
            change: GovChange::SetIssuanceLimit { debtor, limit },
        } = a
        else {
            panic!("{a:?}");
        };
        assert_eq!(debtor.as_str(), "CORE-A");
        assert_eq!(limit.unwrap().to_string(), "5000000.00 CNY");
        assert_eq!(
            action("gov propose set-issuance-limit --debtor CORE-A --remove"),
            Action::Propose {
                change: GovChange::SetIssuanceLimit {
                    debtor: OrgId::new("CORE-A").unwrap(),
                    limit: None
                }
            }
        );
        assert!(parse("gov propose set-issuance-limit --debtor CORE-A").is_err());
        assert!(
            parse("gov propose set-issuance-limit --debtor CORE-A --limit 1 --remove").is_err()
        );
        let e = refused("gov propose set-issuance-limit --debtor CORE-A --limit 1.005");
        assert!(e.contains("--limit"), "{e}");
    }

    #[test]
    fn list_show_and_key_rotate_parse_and_sign_nothing_up_front() {
        for line in [
            "gov list --node http://n:1 --token t",
            "gov list --all",
            "gov show GOV-12",
            "key rotate --out new.json --key old.json",
            "key rotate --out new.json --via bank.json --key old.json",
        ] {
            let cmd = parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(cmd.action().unwrap(), None, "{line}");
        }
        assert!(parse("key rotate").is_err(), "--out is required");
        assert!(parse("gov show GOV/1").is_err());
    }

    #[test]
    fn bad_arguments_are_refused_before_signing() {
        let k = key();
        for bad in [
            format!("governance propose add-validator --org BANK-B --node-key {k}"),
            "governance propose add-validator --org BANK-B --node-key 12 --address /ip4/1.2.3.4/tcp/1".to_string(),
            format!("governance propose add-validator --org bank_b! --node-key {k} --address /ip4/1.2.3.4/tcp/1"),
            format!("governance propose add-validator --org BANK-B --node-key {k} --address 1.2.3.4:26656"),
            "governance propose remove-validator".to_string(),
            "governance approve".to_string(),
            "governance approve GOV/1".to_string(),
        ] {
            assert!(parse(&bad).is_err(), "accepted: {bad}");
        }
    }

    #[test]
    fn validator_addresses_are_tcp_multiaddrs() {
        for good in [
            "/ip4/10.0.0.5/tcp/26656",
            "/ip6/::1/tcp/26656",
            "/dns4/node-1.example.com/tcp/26656",
            "/dns/node/tcp/1/p2p/12D3KooW",
        ] {
            assert_eq!(parse_address(good).as_deref(), Ok(good), "{good}");
        }
        for bad in [
            "",
            "10.0.0.5:26656",
            "/ip4/10.0.0.5",
            "/ip4/10.0.0.5/tcp/0",
            "/ip4/10.0.0.5/tcp/99999",
            "/ip4/10.0.0.5/udp/26656",
            "/ip4//tcp/26656",
            "/unix/tmp/sock/tcp/1",
            "/ip4/10.0.0.5/tcp/26656 /ip4/1.1.1.1/tcp/1",
        ] {
            assert!(parse_address(bad).is_err(), "accepted {bad:?}");
        }
        assert!(parse_address(&format!("/dns/{}/tcp/1", "a".repeat(300))).is_err());
    }
}
