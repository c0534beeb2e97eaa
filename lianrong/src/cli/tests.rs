//! Argument parsing and the actions verbs build, without a node.

use clap::Parser;

use super::*;

#[derive(Debug, Parser)]
#[command(name = "lianrong")]
struct TestCli {
    #[command(subcommand)]
    cmd: ClientCommand,
}

/// A client verb's command line (without `lianrong`), parsed as the binary parses it.
pub(super) fn parse(args: &str) -> std::result::Result<ClientCommand, String> {
    TestCli::try_parse_from(std::iter::once("lianrong").chain(args.split_whitespace()))
        .map(|c| c.cmd)
        .map_err(|e| e.to_string())
}

/// The action a write verb's command line builds.
pub(super) fn action(args: &str) -> Action {
    parse(args)
        .unwrap_or_else(|e| panic!("{args}: {e}"))
        .action()
        .unwrap()
        .expect("a write verb")
}

#[test]
fn connection_flags_go_anywhere_after_the_verb() {
    for line in [
        "receivable show RCV-1 --node http://n:1 --key k.json --json",
        "receivable --node http://n:1 show RCV-1 --json --key k.json",
    ] {
        let cmd = parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let c = cmd.conn();
        assert_eq!(c.node.as_deref(), Some("http://n:1"), "{line}");
        assert_eq!(c.key.as_deref(), Some(std::path::Path::new("k.json")));
        assert!(c.json);
        assert!(cmd.action().unwrap().is_none(), "show signs nothing");
    }
}

#[test]
fn split_parts_may_repeat_or_be_comma_separated() {
    let a = action("receivable split RCV-1 --part 150000.00 --part 250000.00");
    let b = action("receivable split RCV-1 --part 150000.00,250000.00");
    assert_eq!(a, b);
    match a {
        Action::SplitReceivable { receivable, parts } => {
            assert_eq!(receivable.as_str(), "RCV-1");
            assert_eq!(
                parts.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
                ["150000.00", "250000.00"]
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        parse("receivable split RCV-1").is_err(),
        "parts are required"
    );
    assert!(parse("receivable split RCV-1 --part 1,-2").is_err());
}

#[test]
fn bad_amounts_dates_and_ids_are_refused_with_the_reason() {
    let e = parse("repay RCV-1 --amount 1,000.00 --payment-ref P1").unwrap_err();
    assert!(e.contains("not a decimal number"), "{e}");
    let e = parse(
        "invoice register --id I --order PO --number 1 --issue-date 2026-3-1 \
         --due-date 2026-06-01 --amount 10 --doc-hash 00",
    )
    .unwrap_err();
    assert!(e.contains("YYYY-MM-DD"), "{e}");
    assert!(parse("order accept PO/1")
        .unwrap_err()
        .contains("invalid document id"));
    assert!(
        parse("receivable transfer RCV-1 --to sup-2").is_err(),
        "org ids are upper case"
    );
    assert!(parse("tx show abc").unwrap_err().contains("hash"));
    assert!(parse("receivable list --status frozen")
        .unwrap_err()
        .contains("active"));
    // The currency decides the decimals: caught before anything is sent.
    let cmd = parse(&format!(
        "order create --id PO-1 --seller SUP-1 --amount 10.001 --currency CNY --doc-hash {}",
        "00".repeat(32)
    ))
    .unwrap();
    let e = cmd.action().unwrap_err().to_string();
    assert!(e.contains("decimal places"), "{e}");
}

#[test]
fn write_verbs_build_the_documented_actions() {
    assert!(matches!(
        action("financing request RCV-2 --bank BANK-A,BANK-B"),
        Action::RequestFinancing { banks, .. } if banks.len() == 2
    ));
    match action("financing offer FIN-1 --rate 3.65 --valid-until 2026-03-10") {
        Action::OfferFinancing {
            rate,
            fees,
            valid_until,
            ..
        } => {
            assert_eq!((rate.to_string(), fees.is_zero()), ("3.65%".into(), true));
            assert_eq!(valid_until.to_string(), "2026-03-10");
        }
        other => panic!("{other:?}"),
    }
    // Without --valid-until the ledger's business date is read first.
    assert!(parse("financing offer FIN-1 --rate 3.65")
        .unwrap()
        .action()
        .unwrap()
        .is_none());
    assert!(matches!(
        action("financing disburse FIN-1 --payment-ref PAY-9 --net 396350.00"),
        Action::Disburse { net, .. } if net.to_string() == "396350.00"
    ));
    // Without --net the agreed net is read from the ledger first.
    assert!(parse("financing disburse FIN-1 --payment-ref PAY-9")
        .unwrap()
        .action()
        .unwrap()
        .is_none());
    assert!(matches!(
        action("repay RCV-3 --payee SUP-3 --amount 50000.00 --payment-ref REP-1"),
        Action::Repay { payment_ref, payee, .. } if payment_ref == "REP-1" && payee.as_str() == "SUP-3"
    ));
    // Without --payee the current holder is read from the ledger first.
    assert!(parse("repay RCV-3 --amount 50000.00 --payment-ref REP-1")
        .unwrap()
        .action()
        .unwrap()
        .is_none());
    assert!(matches!(
        action("settlement root RCV-1 --payment-ref MAT-1"),
        Action::SettleRoot { root, .. } if root.as_str() == "RCV-1"
    ));
    assert!(matches!(
        action("settlement ack STL-1"),
        Action::AcknowledgeSettlement { settlement } if settlement.as_str() == "STL-1"
    ));
    assert!(matches!(
        action("settlement dispute STL-1 --reason missing"),
        Action::DisputeSettlement { reason, .. } if reason == "missing"
    ));
    assert!(matches!(
        action("financing ack FIN-1"),
        Action::AcknowledgeDisbursement { .. }
    ));
    assert!(matches!(
        action("financing dispute FIN-1 --reason short"),
        Action::DisputeDisbursement { .. }
    ));
    assert!(matches!(
        action("invoice dispute INV-1 --reason short"),
        Action::DisputeInvoice { reason, .. } if reason == "short"
    ));
    assert!(matches!(
        action("shipment deliver SH-1"),
        Action::ConfirmDelivery { .. }
    ));
}

#[test]
fn carrier_and_maturity_verbs_build_their_actions() {
    let h = "ab".repeat(32);
    match action(&format!(
        "order create --id PO-1 --seller SUP-1 --amount 1000000.00 --terms net90 --carrier LOGI --doc-hash {h}"
    )) {
        Action::IssueOrder {
            id,
            seller,
            amount,
            terms,
            doc_hash,
            carriers,
        } => {
            assert_eq!((id.as_str(), seller.as_str()), ("PO-1", "SUP-1"));
            assert_eq!(amount.to_string(), "1000000.00 CNY", "CNY by default");
            assert_eq!((terms.as_str(), doc_hash.to_hex()), ("net90", h.clone()));
            assert_eq!(carriers, vec![lianrong_sdk::args::org_id("LOGI").unwrap()]);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        action("order add-carrier PO-1 --carrier LOGI-2"),
        Action::AddCarrier { carrier, .. } if carrier.as_str() == "LOGI-2"
    ));
    assert!(matches!(
        action("invoice confirm INV-1 --maturity 2026-09-30"),
        Action::ConfirmInvoice { maturity: Some(m), .. } if m.to_string() == "2026-09-30"
    ));
    assert!(matches!(
        action("invoice accept-maturity INV-1"),
        Action::AcceptMaturity { invoice } if invoice.as_str() == "INV-1"
    ));
    assert!(matches!(
        action("invoice confirm INV-1"),
        Action::ConfirmInvoice { maturity: None, .. }
    ));
}

#[test]
fn a_document_commitment_is_required_and_hashes_the_file() {
    let cmd = parse("shipment attest --id SH-1 --order PO-1 --value 10.00").unwrap();
    let e = cmd.action().unwrap_err().to_string();
    assert!(e.contains("--doc FILE"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("waybill.pdf");
    std::fs::write(&file, b"abc").unwrap();
    match action(&format!(
        "shipment attest --id SH-1 --order PO-1 --value 10.00 --doc {}",
        file.display()
    )) {
        Action::AttestShipment {
            doc_hash, value, ..
        } => {
            assert_eq!(
                doc_hash.to_hex(),
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            );
            assert_eq!(value.to_string(), "10.00 CNY");
        }
        other => panic!("{other:?}"),
    }
    let h = "00".repeat(32);
    assert!(
        parse(&format!(
            "shipment attest --id SH-1 --order PO-1 --value 1 --doc {} --doc-hash {h}",
            file.display()
        ))
        .is_err(),
        "one or the other"
    );
}

#[test]
fn import_takes_files_and_its_options() {
    match parse("invoice import a.xml b.csv --confirm --party-map map.csv --due-days 90").unwrap() {
        ClientCommand::Invoice {
            cmd:
                InvoiceCmd::Import {
                    files,
                    confirm,
                    party_map,
                    due_days,
                    ..
                },
            ..
        } => {
            assert_eq!(files.len(), 2);
            assert!(confirm);
            assert_eq!(party_map.as_deref(), Some(std::path::Path::new("map.csv")));
            assert_eq!(due_days, Some(90));
        }
        other => panic!("{other:?}"),
    }
    assert!(parse("invoice import").is_err(), "at least one file");
}

#[test]
fn missing_connection_details_fail_with_one_clear_line() {
    let cmd = parse("status").unwrap();
    let e = run(cmd).unwrap_err().to_string();
    assert_eq!(e, "give the node's API with --node URL");
    let cmd = parse("status --node http://127.0.0.1:9").unwrap();
    let e = run(cmd).unwrap_err().to_string();
    assert!(e.contains("--key FILE"), "{e}");
    let cmd = parse("status --node http://127.0.0.1:9 --key /nonexistent/k.json").unwrap();
    let e = run(cmd).unwrap_err().to_string();
    assert!(
        e.contains("/nonexistent/k.json") && !e.contains('\n'),
        "{e}"
    );
}

#[test]
fn a_node_that_is_down_is_a_one_line_failure() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cmd = parse(&format!(
        "org list --node http://127.0.0.1:{port} --token t --timeout 2"
    ))
    .unwrap();
    let e = run(cmd).unwrap_err().to_string();
    assert!(e.contains("cannot connect"), "{e}");
    assert!(!e.contains('\n'));
}

/// A mock node on its own thread: `/v1/keys/*` and a `POST /v1/transactions` that
/// commits every transaction with the ledger's refusal.
fn refusing_node() -> String {
    use axum::routing::{get, post};
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = axum::Router::new()
                .route(
                    "/v1/keys/{k}",
                    get(
                        |axum::extract::Path(k): axum::extract::Path<String>| async move {
                            axum::Json(serde_json::json!({
                                "public_key": k, "org": "SUP-1", "active": true, "next_nonce": 0
                            }))
                        },
                    ),
                )
                .route(
                    "/v1/transactions",
                    post(|body: axum::body::Bytes| async move {
                        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                        let raw = hex::decode(v["tx"].as_str().unwrap()).unwrap();
                        let t = lianrong_contracts::SignedTransaction::decode(&raw).unwrap();
                        let receipt = lianrong_contracts::Receipt {
                            tx_hash: t.hash(),
                            signer: t.tx.signer.org.clone(),
                            outcome: Err(lianrong_contracts::ContractError::RevokedKey),
                        };
                        axum::Json(serde_json::json!({
                            "hash": t.hash(), "status": "committed", "height": 9, "receipt": receipt
                        }))
                    }),
                );
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(format!("http://{}", l.local_addr().unwrap()))
                .unwrap();
            let _ = axum::serve(l, app).await;
        });
    });
    rx.recv().unwrap()
}

#[test]
fn a_transaction_the_ledger_refuses_fails_the_command_with_its_code() {
    let url = refusing_node();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("SUP-1.json");
    lianrong_primitives::keyfile::write_new(
        &key,
        Some(OrgId::new("SUP-1").unwrap()),
        Some("mock-chain".into()),
    )
    .unwrap();
    let cmd = parse(&format!(
        "receivable transfer RCV-1 --to SUP-3 --node {url} --key {}",
        key.display()
    ))
    .unwrap();
    let e = run(cmd).unwrap_err().to_string();
    assert!(
        e.contains("refused at height 9") && e.contains("revoked_key"),
        "{e}"
    );
    assert!(!e.contains('\n'));
}
