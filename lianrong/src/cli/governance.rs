//! `lianrong governance`: validator orgs propose validator-set changes and approve
//! proposals. A change applies once validator orgs forming a BFT quorum (2f+1 of 3f+1,
//! the proposer included) approved it; the new set then takes over at the next epoch
//! boundary. Like every client verb: `--node`, `--key` (the signing org must run a
//! validator), text or `--json` (the committed transaction and its events, among them
//! `proposal_opened` with the ledger-assigned id `GOV-n`).

use clap::Subcommand;
use lianrong_contracts::model::{DocId, GovChange, Validator};
use lianrong_contracts::Action;
use lianrong_primitives::{OrgId, PublicKey};
use lianrong_sdk::args;

use super::{parse_doc_id, parse_org};

/// Longest validator address the ledger records.
const MAX_ADDRESS_LEN: usize = 256;

fn parse_key(s: &str) -> std::result::Result<PublicKey, String> {
    args::public_key(s).map_err(|e| e.to_string())
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

/// `governance` subcommands.
#[derive(Debug, Subcommand)]
pub enum GovernanceCmd {
    /// Open a proposal (a validator org); the proposer's approval counts.
    Propose {
        #[command(subcommand)]
        change: ProposeCmd,
    },
    /// Approve an open proposal (a validator org, once); the change applies at the quorum.
    Approve {
        /// The proposal (GOV-n, from the `proposal_opened` event of its proposal).
        #[arg(value_parser = parse_doc_id)]
        proposal: DocId,
    },
}

/// What `governance propose` proposes.
#[derive(Debug, Subcommand)]
pub enum ProposeCmd {
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
}

impl GovernanceCmd {
    /// The action the verb signs (every governance verb is one action).
    pub fn action(&self) -> Action {
        match self {
            GovernanceCmd::Approve { proposal } => Action::Approve {
                proposal: proposal.clone(),
            },
            GovernanceCmd::Propose { change } => Action::Propose {
                change: change.change(),
            },
        }
    }
}

impl ProposeCmd {
    fn change(&self) -> GovChange {
        match self {
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::tests::{action, parse};

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
        let cmd = parse("governance approve GOV-3 --node http://n:1 --key k.json --json").unwrap();
        assert_eq!(cmd.conn().node.as_deref(), Some("http://n:1"));
        assert!(cmd.conn().json);
        assert_eq!(
            cmd.action().unwrap(),
            Some(Action::Approve {
                proposal: DocId::new("GOV-3").unwrap()
            })
        );
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
