//! The validator library links nothing of the explorer, the SDK or the importer: a validator
//! binary carries no HTML templating (maud), no password hashing (argon2), no XML parser
//! (quick-xml), no HTTP client (reqwest) and no command-line parser (clap), so none of their
//! code, bugs or advisories are in the process that signs votes.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::process::Command;

/// Crates the validator must never link, with the reason each is out.
const FORBIDDEN: &[(&str, &str)] = &[
    ("maud", "the explorer's HTML templates"),
    ("argon2", "the explorer's password hashing"),
    ("quick-xml", "the importer's UBL parser"),
    ("csv", "the importer's and explorer's CSV"),
    ("reqwest", "HTTP clients belong to the SDK and the bench"),
    ("clap", "the command line belongs to the lianrong binary"),
    ("lianrong-sdk", "the SDK is a client of the node"),
    ("lianrong-explorer", "the explorer is a client of the node"),
    ("lianrong-importer", "the importer is a client tool"),
];

/// Every package in the normal (non-dev, non-build) dependency tree of `package`.
fn normal_dependencies(package: &str) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "--locked",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .args(["--format", "{p}", "-p", package])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn the_validator_links_no_explorer_sdk_or_importer_code() {
    let deps = normal_dependencies("lianrong-node");
    assert!(
        deps.iter().any(|d| d == "rocksdb"),
        "cargo tree output not understood: {deps:?}"
    );
    let found: Vec<String> = FORBIDDEN
        .iter()
        .filter(|(name, _)| deps.iter().any(|d| d == name))
        .map(|(name, why)| format!("{name} ({why})"))
        .collect();
    assert!(
        found.is_empty(),
        "lianrong-node links: {}",
        found.join(", ")
    );
}

#[test]
fn the_check_sees_what_the_binary_links() {
    // The same reading of `cargo tree` finds these crates in the binary, so an empty result
    // above is a real absence, not a parse that finds nothing.
    let deps = normal_dependencies("lianrong");
    for name in ["maud", "argon2", "quick-xml", "clap", "lianrong-node"] {
        assert!(
            deps.iter().any(|d| d == name),
            "{name} not seen in the binary's tree"
        );
    }
}
