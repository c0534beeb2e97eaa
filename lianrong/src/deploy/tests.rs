//! Four organisations, each with keys only it holds, assemble a genesis from public
//! entries and write their configs; what a node would refuse is refused here first.

use std::path::{Path, PathBuf};

use super::config::{build as build_config, init, parse_grant, ConfigInput};
use super::genesis::{assemble, check, make_entry, read_entry, write_new, EntryInput};
use lianrong_contracts::model::Role;
use lianrong_node::config::NodeConfig;
use lianrong_node::keyfile;
use lianrong_primitives::OrgId;

const CHAIN: &str = "scf-test-1";

/// Org id, tax id, role, host address.
const ORGS: [(&str, &str, Role, &str); 4] = [
    ("BANK-A", "91440300MA5BANKA1J", Role::Bank, "10.9.0.1"),
    ("CORE-A", "91310000MA1C0REA3U", Role::Core, "10.9.0.2"),
    ("CORE-B", "91320000MA1C0REB44", Role::Core, "10.9.0.3"),
    ("LOGI", "91420000MA4L0G105Y", Role::Logistics, "10.9.0.4"),
];

fn org(id: &str) -> OrgId {
    OrgId::new(id).unwrap()
}

/// One host's keys and the input of its entry.
fn host(dir: &Path, i: usize) -> EntryInput {
    let (id, tax, role, addr) = ORGS[i];
    let home = dir.join(id);
    std::fs::create_dir_all(&home).unwrap();
    keyfile::write_new(&home.join("node_key.json")).unwrap();
    keyfile::write_new_member(&home.join("member.json"), &org(id), CHAIN).unwrap();
    EntryInput {
        chain_id: CHAIN.into(),
        org: org(id),
        name: format!("{id} Ltd"),
        tax_id: tax.into(),
        roles: vec![role],
        identifiers: vec![],
        member_keys: vec![home.join("member.json")],
        validator: Some((home.join("node_key.json"), format!("/ip4/{addr}/tcp/26656"))),
    }
}

/// Entries written and read back, as the assembler receives them.
fn entry_files(dir: &Path) -> Vec<PathBuf> {
    (0..4)
        .map(|i| {
            let entry = make_entry(host(dir, i)).unwrap();
            let path = dir.join(format!("{}.entry.json", ORGS[i].0));
            write_new(&path, &serde_json::to_string_pretty(&entry).unwrap()).unwrap();
            path
        })
        .collect()
}

#[test]
fn entries_hold_public_keys_only_and_make_a_genesis_every_host_configures_from() {
    let dir = tempfile::tempdir().unwrap();
    let files = entry_files(dir.path());
    for (f, (id, ..)) in files.iter().zip(ORGS) {
        let text = std::fs::read_to_string(f).unwrap();
        let member = std::fs::read_to_string(dir.path().join(id).join("member.json")).unwrap();
        let secret: serde_json::Value = serde_json::from_str(&member).unwrap();
        let secret = secret["secret_key"].as_str().unwrap();
        assert!(!text.contains(secret) && !text.contains("secret"), "{text}");
    }
    let entries = files.iter().map(|f| read_entry(f).unwrap()).collect();
    let g = assemble(CHAIN, 1_767_542_400_000, entries).unwrap();
    assert_eq!(g.validators.len(), 4);
    let genesis = dir.path().join("genesis.json");
    write_new(&genesis, &serde_json::to_string_pretty(&g).unwrap()).unwrap();
    let (back, sha) = check(&genesis).unwrap();
    assert_eq!(back, g);
    assert_eq!(sha.len(), 64);

    for (i, (id, _, _, addr)) in ORGS.iter().enumerate() {
        let out = dir.path().join(id).join("config.toml");
        let cfg = init(&ConfigInput {
            out: out.clone(),
            genesis: genesis.clone(),
            node_key: dir.path().join(id).join("node_key.json"),
            data_dir: dir.path().join(id).join("data"),
            api_listen: format!("{addr}:8080").parse().unwrap(),
            p2p_listen: None,
            public_addresses: vec![format!("node{i}.example.cn:443")],
            name: None,
            grants: vec![parse_grant(&format!("AUDIT={}", "ab".repeat(32))).unwrap()],
        })
        .unwrap();
        assert_eq!(cfg.p2p.listen, format!("/ip4/{addr}/tcp/26656"));
        assert_eq!(cfg.p2p.peers.len(), 3);
        assert!(cfg
            .p2p
            .peers
            .iter()
            .all(|p| p.key != g.validators[i].node_key));
        assert_eq!(cfg.node.name, id.to_ascii_lowercase());
        assert_eq!(NodeConfig::load(&out).unwrap(), cfg);
        // Written once: a second run refuses to overwrite.
        let again = init(&ConfigInput {
            out: out.clone(),
            genesis: genesis.clone(),
            node_key: dir.path().join(id).join("node_key.json"),
            data_dir: dir.path().join("x"),
            api_listen: "127.0.0.1:1".parse().unwrap(),
            p2p_listen: None,
            public_addresses: vec![],
            name: None,
            grants: vec![],
        });
        assert!(again.unwrap_err().to_string().contains("must not exist"));
    }
}

#[test]
fn wrong_inputs_are_refused_with_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let err = |input: EntryInput| make_entry(input).unwrap_err().to_string();

    let mut other_org = host(dir.path(), 0);
    other_org.org = org("BANK-B");
    assert!(err(other_org).contains("belongs to BANK-A, not BANK-B"));

    let mut bad_tax = host(&dir.path().join("t"), 1);
    bad_tax.tax_id = "123".into();
    assert!(err(bad_tax).contains("--tax-id"));

    let mut bad_addr = host(&dir.path().join("a"), 2);
    bad_addr.validator.as_mut().unwrap().1 = "10.0.0.1:26656".into();
    assert!(err(bad_addr).contains("is not a multiaddr"));

    // An entry for another chain is refused by the assembler.
    let files = entry_files(&dir.path().join("net"));
    let mut entries: Vec<_> = files.iter().map(|f| read_entry(f).unwrap()).collect();
    let wrong = assemble("scf-other", 0, entries.clone())
        .unwrap_err()
        .to_string();
    assert!(wrong.contains("for chain \"scf-test-1\""), "{wrong}");
    // The same org twice is the ledger's refusal, named.
    entries.push(entries[0].clone());
    let twice = assemble(CHAIN, 0, entries).unwrap_err().to_string();
    assert!(twice.contains("BANK-A"), "{twice}");
    // A node key that is not a genesis validator gets no config.
    let entries = files
        .iter()
        .take(3)
        .map(|f| read_entry(f).unwrap())
        .collect();
    let g = assemble(CHAIN, 0, entries).unwrap();
    let genesis = dir.path().join("three.json");
    write_new(&genesis, &serde_json::to_string(&g).unwrap()).unwrap();
    let not_in = build_config(&ConfigInput {
        out: dir.path().join("c.toml"),
        genesis,
        node_key: dir.path().join("net/LOGI/node_key.json"),
        data_dir: dir.path().join("d"),
        api_listen: "127.0.0.1:1".parse().unwrap(),
        p2p_listen: None,
        public_addresses: vec![],
        name: None,
        grants: vec![],
    })
    .unwrap_err()
    .to_string();
    assert!(not_in.contains("is not a validator of"), "{not_in}");
    assert!(parse_grant("AUDIT").unwrap_err().contains("ORG=SHA256"));
    assert!(parse_grant("AUDIT=xyz")
        .unwrap_err()
        .contains("64 hex digits"));
}
