//! The `lianrong` binary as a user runs it.

use std::process::Command;

fn lianrong() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lianrong"))
}

#[test]
fn demo_plays_the_story_and_exits_zero() {
    let out = lianrong().args(["demo", "--exit"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Every step behaved."));
    assert!(stdout.contains("discount 3650.00"), "{stdout}");
    assert!(stdout.contains("SUP-3 will receive 396350.00"), "{stdout}");
    assert!(stdout.contains("refused: duplicate invoice"));
    assert!(stdout.contains("importing the same file again registers nothing"));
    assert!(stdout.contains("is overdue after maturity"));
    assert!(stdout.contains("is now held by BANK-A"));
    assert_eq!(stdout.matches(" is settled").count(), 3, "{stdout}");
    assert!(!stdout.contains("FAIL"));
}

#[test]
fn keygen_writes_a_private_key_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("member.json");
    let out = lianrong()
        .args(["keygen", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let public = String::from_utf8(out.stdout).unwrap();
    assert_eq!(public.trim().len(), 64);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["public_key"].as_str().unwrap(), public.trim());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "key file readable by others: {mode:o}");
    }
    // Never overwrite an existing key.
    let again = lianrong()
        .args(["keygen", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwritten"));
}

#[test]
fn bench_paces_the_load_reports_every_node_and_stops_its_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let out = lianrong()
        .args([
            "bench",
            "--keys",
            "8",
            "--warmup",
            "2",
            "--seconds",
            "4",
            "--rate",
            "100",
            "--json",
            "--dir",
        ])
        .arg(&net)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["offered_tx_per_second"], 100);
    let committed = r["committed"].as_u64().unwrap();
    assert!(committed > 0, "nothing committed: {r}");
    // Paced clients cannot commit more than they offered since they started.
    assert!(committed as f64 <= 100.0 * 6.0, "more than offered: {r}");
    assert!(r["latency_samples"].as_u64().unwrap() > 0, "{r}");
    assert!(r["finality_p50_ms"].as_f64().unwrap() <= r["finality_p99_ms"].as_f64().unwrap());
    let nodes = r["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 4);
    for n in nodes {
        assert!(n["peak_rss_mib"].as_f64().unwrap() > 1.0, "{n}");
        assert!(n["cpu_seconds"].as_f64().unwrap() > 0.0, "{n}");
    }
    // Every node process it started is gone.
    let needle = net.display().to_string();
    let left: Vec<_> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&needle))
        .collect();
    assert!(left.is_empty(), "nodes left running: {left:?}");
}
