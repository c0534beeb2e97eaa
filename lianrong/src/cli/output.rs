//! How the client verbs print: `--json` prints the API's JSON (pretty); otherwise a
//! readable text form. Pure functions, so the formats are tested without a node.

use serde_json::Value;

/// One value as text: money as `400000.00 CNY`, lists comma-joined, null as `-`.
pub fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some("-".into()),
        Value::Bool(b) => Some(if *b { "yes" } else { "no" }.into()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        Value::Array(a) if a.is_empty() => Some("-".into()),
        Value::Array(a) => a
            .iter()
            .map(scalar)
            .collect::<Option<Vec<_>>>()
            .map(|v| v.join(", ")),
        Value::Object(o) => match (o.get("amount"), o.get("currency"), o.len()) {
            (Some(Value::String(a)), Some(Value::String(c)), 2) => Some(format!("{a} {c}")),
            _ => None,
        },
    }
}

/// An object as aligned `field  value` lines (fields by name), nested objects indented.
pub fn document(v: &Value) -> String {
    let mut out = String::new();
    write_doc(&mut out, v, 0);
    out.trim_end().to_string()
}

fn write_doc(out: &mut String, v: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(o) => {
            let width = o.keys().map(|k| k.len()).max().unwrap_or(0);
            for (k, val) in o {
                match scalar(val) {
                    Some(s) => out.push_str(&format!("{pad}{k:<width$}  {s}\n")),
                    None => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        write_doc(out, val, indent + 2);
                    }
                }
            }
        }
        Value::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                match scalar(item) {
                    Some(s) => out.push_str(&format!("{pad}- {s}\n")),
                    None => {
                        out.push_str(&format!("{pad}[{i}]\n"));
                        write_doc(out, item, indent + 2);
                    }
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other).unwrap_or_default())),
    }
}

/// An event (`{"receivable_issued": {...}}`) as one line: `receivable_issued
/// receivable=RCV-1 face=400000.00 CNY ...`.
pub fn event_line(v: &Value) -> String {
    match v {
        Value::Object(o) if o.len() == 1 => {
            let (name, fields) = o
                .iter()
                .next()
                .map(|(k, v)| (k.as_str(), v))
                .unwrap_or(("", v));
            match fields {
                Value::Object(f) => {
                    let parts: Vec<String> = f
                        .iter()
                        .map(|(k, v)| format!("{k}={}", scalar(v).unwrap_or_else(|| v.to_string())))
                        .collect();
                    format!("{name} {}", parts.join(" "))
                }
                other => format!("{name} {}", scalar(other).unwrap_or_default()),
            }
        }
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A committed transaction: the block, the hash, then one line per event.
pub fn committed(action: &str, c: &lianrong_sdk::Committed) -> String {
    let mut out = format!("{action}: committed in block {} (tx {})", c.height, c.hash);
    for e in &c.events {
        let v = serde_json::to_value(e).unwrap_or(Value::Null);
        out.push_str("\n  ");
        out.push_str(&event_line(&v));
    }
    out
}

/// A table with a header row, columns padded to their widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(w - c.chars().count() + 2));
            }
        }
        s
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for r in rows {
        out.push('\n');
        out.push_str(&line(r.clone()));
    }
    out
}

/// Receivables as a table.
pub fn receivables(list: &[lianrong_contracts::model::Receivable]) -> String {
    if list.is_empty() {
        return "no receivables".into();
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                r.holder.to_string(),
                r.debtor.to_string(),
                r.face.to_string(),
                format!(
                    "{} {}",
                    r.outstanding().map_or_else(
                        || format!("INVALID: repaid {} beyond face", r.repaid),
                        |o| o.to_fixed(r.face.currency.minor_units())
                    ),
                    r.face.currency
                ),
                r.maturity.to_string(),
                status_name(&r.status),
                r.financing.as_ref().map_or("-".into(), |f| f.to_string()),
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "HOLDER",
            "DEBTOR",
            "FACE",
            "OUTSTANDING",
            "MATURITY",
            "STATUS",
            "FINANCING",
        ],
        &rows,
    )
}

/// Orgs as a table.
pub fn orgs(list: &[lianrong_contracts::model::Org]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|o| {
            vec![
                o.id.to_string(),
                o.roles
                    .iter()
                    .map(status_name)
                    .collect::<Vec<_>>()
                    .join(","),
                o.tax_id.clone(),
                o.name.clone(),
            ]
        })
        .collect();
    table(&["ID", "ROLES", "TAX ID", "NAME"], &rows)
}

/// A receivable's lineage and every step, oldest first.
pub fn history(h: &lianrong_sdk::ReceivableHistory) -> String {
    let lineage: Vec<String> = h.lineage.iter().map(|r| r.id.to_string()).collect();
    let mut out = format!(
        "{} ({}, {} held by {}), lineage {}",
        h.receivable.id,
        status_name(&h.receivable.status),
        h.receivable.face,
        h.receivable.holder,
        lineage.join(" -> ")
    );
    if let Some(i) = &h.invoice {
        out.push_str(&format!(
            "\ninvoice {} no. {} of {}, {} -> {}",
            i.id, i.number, i.amount, i.seller, i.buyer
        ));
    }
    let mut rows = Vec::new();
    for s in &h.steps {
        for e in &s.history {
            let ev = serde_json::to_value(&e.event).unwrap_or(Value::Null);
            rows.push(vec![
                e.height.to_string(),
                s.receivable.to_string(),
                e.signer
                    .as_ref()
                    .map_or("(ledger)".into(), |o| o.to_string()),
                e.tx.map_or("-".into(), |t| t.to_hex()[..12].to_string()),
                event_line(&ev),
            ]);
        }
    }
    out.push('\n');
    out.push_str(&table(
        &["BLOCK", "RECEIVABLE", "SIGNER", "TX", "EVENT"],
        &rows,
    ));
    out
}

/// A serde enum's name (`active`, `bank`).
fn status_name<T: serde::Serialize>(s: &T) -> String {
    match serde_json::to_value(s) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => "?".into(),
    }
}

/// An error as one line (stderr's contract: non-zero exit, one-line reason).
pub fn one_line(msg: &str) -> String {
    let s: String = msg.split_whitespace().collect::<Vec<_>>().join(" ");
    s.chars().take(1000).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn money_lists_and_nulls_read_naturally() {
        assert_eq!(
            scalar(&json!({"amount": "400000.00", "currency": "CNY"})).as_deref(),
            Some("400000.00 CNY")
        );
        assert_eq!(
            scalar(&json!(["BANK-A", "BANK-B"])).as_deref(),
            Some("BANK-A, BANK-B")
        );
        assert_eq!(scalar(&json!(null)).as_deref(), Some("-"));
        assert_eq!(
            scalar(&json!({"a": 1})),
            None,
            "other objects are nested, not flattened"
        );
    }

    #[test]
    fn documents_print_one_aligned_field_per_line() {
        let text = document(&json!({
            "id": "RCV-1", "face": {"amount": "400000.00", "currency": "CNY"},
            "parent": null, "terms": {"bank": "BANK-A", "rate": "3.65"}
        }));
        assert_eq!(
            text,
            // serde_json orders fields by name.
            "face    400000.00 CNY\nid      RCV-1\nparent  -\nterms:\n  bank  BANK-A\n  rate  3.65"
        );
    }

    #[test]
    fn events_print_on_one_line() {
        let line = event_line(
            &json!({"receivable_split": {"receivable": "RCV-1", "parts": ["RCV-2", "RCV-3"]}}),
        );
        assert_eq!(line, "receivable_split parts=RCV-2, RCV-3 receivable=RCV-1");
        assert_eq!(event_line(&json!("params_changed")), "params_changed");
    }

    #[test]
    fn tables_pad_columns_to_the_widest_cell() {
        let t = table(
            &["ID", "STATUS"],
            &[
                vec!["RCV-10".into(), "active".into()],
                vec!["R".into(), "split".into()],
            ],
        );
        assert_eq!(t, "ID      STATUS\nRCV-10  active\nR       split");
    }

    #[test]
    fn errors_become_one_line() {
        assert_eq!(
            one_line("node refused\n  (409 duplicate):\tagain "),
            "node refused (409 duplicate): again"
        );
    }
}
