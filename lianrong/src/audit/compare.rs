//! `audit verify`'s last step: each derived file of a package against the one this audit
//! wrote from the same blocks, naming the first line (and its height) that differs.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use serde_json::Value;

use super::package::{read_line, DERIVED, MAX_LINE_BYTES};
use super::replay::AuditFailure;

/// Compares every derived file of `package` with its twin in `regenerated`.
pub fn package(package: &Path, regenerated: &Path) -> Result<(), AuditFailure> {
    for name in DERIVED {
        let given = package.join(name);
        if !given.is_file() {
            return Err(AuditFailure::Package(format!(
                "{name} is missing from the package"
            )));
        }
        let ours = regenerated.join(name);
        if name.ends_with(".csv") {
            csv_file(name, &given, &ours)?;
        } else if name.ends_with(".json") {
            json_file(name, &given, &ours)?;
        } else {
            lines(name, &given, &ours)?;
        }
    }
    Ok(())
}

fn open(path: &Path) -> Result<BufReader<File>, AuditFailure> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|e| AuditFailure::Unavailable(anyhow::anyhow!("opening {}: {e}", path.display())))
}

/// A JSON-lines (or JSON) file, line by line.
fn lines(name: &str, given: &Path, ours: &Path) -> Result<(), AuditFailure> {
    let (mut a, mut b) = (open(given)?, open(ours)?);
    let read = |r: &mut BufReader<File>| {
        read_line(r, MAX_LINE_BYTES).map_err(|e| AuditFailure::Package(format!("{name}: {e}")))
    };
    let mut n = 0u64;
    loop {
        n += 1;
        let (x, y) = (read(&mut a)?, read(&mut b)?);
        match (x, y) {
            (None, None) => return Ok(()),
            (Some(x), Some(y)) if x == y => {}
            (x, y) => return Err(line_difference(name, n, x.as_deref(), y.as_deref())),
        }
    }
}

/// A whole JSON file (the manifest), as a value.
fn json_file(name: &str, given: &Path, ours: &Path) -> Result<(), AuditFailure> {
    let read = |p: &Path| -> Result<Value, AuditFailure> {
        let small = std::fs::metadata(p).is_ok_and(|m| m.len() <= MAX_LINE_BYTES as u64);
        let text = small
            .then(|| std::fs::read_to_string(p).ok())
            .flatten()
            .ok_or_else(|| AuditFailure::Package(format!("{name} cannot be read")))?;
        serde_json::from_str(&text)
            .map_err(|e| AuditFailure::Package(format!("{name} is not JSON: {e}")))
    };
    let (g, o) = (read(given)?, read(ours)?);
    match first_difference("", &g, &o) {
        None => Ok(()),
        Some(d) => Err(AuditFailure::Package(format!("{name}: {d}"))),
    }
}

/// The `height` field of a JSON line, if it has one.
fn height_of(line: Option<&str>) -> Option<u64> {
    let v: Value = serde_json::from_str(line?).ok()?;
    v.get("height").and_then(Value::as_u64)
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        format!("{}...", s.chars().take(117).collect::<String>())
    } else {
        s
    }
}

/// The first field of `given` that differs from `ours`, for JSON objects (nested
/// objects are followed, so the path names the field).
fn first_difference(path: &str, given: &Value, ours: &Value) -> Option<String> {
    match (given, ours) {
        (Value::Object(g), Value::Object(o)) => {
            for (k, ov) in o {
                let p = join(path, k);
                match g.get(k) {
                    None => return Some(format!("field {p} is missing")),
                    Some(gv) if gv != ov => return first_difference(&p, gv, ov),
                    Some(_) => {}
                }
            }
            g.keys()
                .find(|k| !o.contains_key(*k))
                .map(|k| format!("field {} is not one the audit writes", join(path, k)))
        }
        _ if given == ours => None,
        _ => Some(format!(
            "field {path} is {} in the package, {} by re-execution",
            short(given),
            short(ours)
        )),
    }
}

fn line_difference(name: &str, n: u64, given: Option<&str>, ours: Option<&str>) -> AuditFailure {
    let detail = match (given, ours) {
        (None, _) => "is missing: the package's file ends early".to_string(),
        (_, None) => "is one the re-execution does not produce".to_string(),
        (Some(g), Some(o)) => {
            match (
                serde_json::from_str::<Value>(g),
                serde_json::from_str::<Value>(o),
            ) {
                (Ok(gv), Ok(ov)) => first_difference("", &gv, &ov)
                    .unwrap_or_else(|| "differs in its formatting".into()),
                _ => "is not JSON".into(),
            }
        }
    };
    let reason = format!("{name} line {n} {detail}");
    match height_of(ours).or_else(|| height_of(given)) {
        Some(height) => AuditFailure::Discrepancy { height, reason },
        None => AuditFailure::Package(reason),
    }
}

/// A CSV file, record by record.
fn csv_file(name: &str, given: &Path, ours: &Path) -> Result<(), AuditFailure> {
    let reader = |p: &Path| {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_path(p)
            .map_err(|e| AuditFailure::Package(format!("{name}: {e}")))
    };
    let (mut a, mut b) = (reader(given)?, reader(ours)?);
    let mut given_records = a.records();
    let mut n = 0u64;
    for ours in b.records() {
        n += 1;
        let ours = ours.map_err(|e| AuditFailure::Unavailable(anyhow::anyhow!("{name}: {e}")))?;
        let given = match given_records.next() {
            None => {
                return Err(csv_difference(
                    name,
                    n,
                    &ours,
                    "is missing: the file ends early",
                ))
            }
            Some(Err(e)) => {
                return Err(csv_difference(name, n, &ours, &format!("is not CSV: {e}")))
            }
            Some(Ok(g)) => g,
        };
        if given != ours {
            let column = (0..ours.len().max(given.len()))
                .find(|&i| given.get(i) != ours.get(i))
                .unwrap_or(0);
            let detail = format!(
                "column {} is {:?} in the package, {:?} by re-execution",
                column + 1,
                given.get(column).unwrap_or(""),
                ours.get(column).unwrap_or("")
            );
            return Err(csv_difference(name, n, &ours, &detail));
        }
    }
    if given_records.next().is_some() {
        return Err(AuditFailure::Package(format!(
            "{name} has records after the last one the re-execution produces"
        )));
    }
    Ok(())
}

fn csv_difference(name: &str, n: u64, ours: &csv::StringRecord, detail: &str) -> AuditFailure {
    let reason = format!("{name} record {n} {detail}");
    match ours.get(0).and_then(|h| h.parse::<u64>().ok()) {
        Some(height) if n > 1 => AuditFailure::Discrepancy { height, reason },
        _ => AuditFailure::Package(reason),
    }
}
