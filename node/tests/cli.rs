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
