//! ERP import: the shared UBL samples mapped field by field, hand-made bad files, CSV with
//! bad rows among good ones, party maps, and idempotent batches against an in-memory
//! ledger.

// Test code: a failed unwrap is a failed test, and a scenario reads top to bottom.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

// One module so that `cargo test -p lianrong-importer import` selects every test here.
mod import {

    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::sync::Mutex;

    use chrono::NaiveDate;
    use lianrong_contracts::exec::invoices::{fingerprint, normalize_identifier};
    use lianrong_contracts::model::{DocId, Invoice, InvoiceStatus, Org, Role};
    use lianrong_contracts::money::Money;
    use lianrong_contracts::InvoiceSpec;
    use lianrong_importer::*;
    use lianrong_primitives::{sha256, Hash, OrgId};

    // ---------------------------------------------------------------------------------------
    // Fixtures and helpers

    fn fixture_path(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/import")
            .join(name)
    }

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(fixture_path(name)).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn org_id(s: &str) -> OrgId {
        OrgId::new(s).unwrap()
    }

    fn doc_id(s: &str) -> DocId {
        DocId::new(s).unwrap()
    }

    fn org(id: &str, tax_id: &str, roles: &[Role], identifiers: &[&str]) -> Org {
        Org {
            id: org_id(id),
            name: format!("{id} Ltd"),
            tax_id: tax_id.into(),
            roles: roles.to_vec(),
            identifiers: identifiers.iter().map(|s| s.to_string()).collect(),
            keys: vec![],
            revoked_keys: vec![],
            admitted_at: 0,
        }
    }

    /// The orgs of the sample documents, known by their tax ids and registered identifiers.
    fn sample_orgs() -> Vec<Org> {
        vec![
            // Seller of base-example and Allowance-example (VAT number GB1232434).
            org("SUP-GB", "GB1232434", &[Role::Supplier], &[]),
            // Buyer of base-example and Allowance-example (VAT number SE4598375937).
            org("CORE-SE", "SE4598375937", &[Role::Core], &[]),
            // vat-category-E: seller by VAT number, buyer only by its Peppol endpoint.
            org("SUP-GB2", "GB928741974", &[Role::Supplier], &[]),
            org("CORE-DK", "DK11223344", &[Role::Core], &["0184:12345678"]),
            // The CSV parties: Chinese unified social credit codes, and a GLN.
            org(
                "SUP-CN",
                "91310000MA1K4SUP1X",
                &[Role::Supplier],
                &["6901234567892"],
            ),
            org("CORE-CN", "91440300MA5CORE01Y", &[Role::Core], &[]),
            org("BANK-SZ", "91440300BANK00001Z", &[Role::Bank], &[]),
        ]
    }

    /// One registration the fake ledger accepted.
    #[derive(Debug, Clone)]
    struct Registered {
        spec: InvoiceSpec,
        confirm: bool,
    }

    #[derive(Default)]
    struct FakeState {
        by_fingerprint: HashMap<Hash, Invoice>,
        confirm_calls: usize,
        registered: Vec<Registered>,
        register_calls: usize,
        lookups: usize,
    }

    /// An in-memory ledger with the contract's two duplicate rules (fingerprint and id), and
    /// switches to make lookups or registrations fail.
    struct FakeLedger {
        orgs: Vec<Org>,
        state: Mutex<FakeState>,
        fail_lookups: bool,
        refuse_numbers: Vec<String>,
    }

    impl FakeLedger {
        fn new(orgs: Vec<Org>) -> Self {
            FakeLedger {
                orgs,
                state: Mutex::new(FakeState::default()),
                fail_lookups: false,
                refuse_numbers: vec![],
            }
        }

        fn registered(&self) -> Vec<Registered> {
            self.state.lock().unwrap().registered.clone()
        }

        fn register_calls(&self) -> usize {
            self.state.lock().unwrap().register_calls
        }

        fn confirm_calls(&self) -> usize {
            self.state.lock().unwrap().confirm_calls
        }

        /// The org registered with `tax_id` (the fake's stand-in for the order's parties).
        fn org_by_tax_id(&self, tax_id: &str) -> OrgId {
            self.orgs
                .iter()
                .find(|o| o.tax_id == tax_id)
                .map(|o| o.id.clone())
                .unwrap_or_else(|| panic!("no org with tax id {tax_id}"))
        }

        /// The ledger record a registration makes.
        fn invoice_of(&self, spec: &InvoiceSpec, fp: Hash, confirmed: bool) -> Invoice {
            let seller = self.org_by_tax_id(&spec.seller_tax_id);
            Invoice {
                id: spec.id.clone(),
                order: spec.order.clone(),
                buyer: self.org_by_tax_id(&spec.buyer_tax_id),
                registered_by: seller.clone(),
                seller,
                number: spec.number.clone(),
                issue_date: spec.issue_date,
                due_date: spec.due_date,
                maturity: spec.maturity,
                proposed_maturity: None,
                amount: spec.amount,
                seller_tax_id: spec.seller_tax_id.clone(),
                buyer_tax_id: spec.buyer_tax_id.clone(),
                doc_hash: spec.doc_hash,
                fingerprint: fp,
                status: if confirmed {
                    InvoiceStatus::Confirmed
                } else {
                    InvoiceStatus::Registered
                },
                receivable: None,
                dispute_reason: None,
            }
        }

        /// The seller registers `spec` itself (before the buyer's ERP runs).
        fn seller_registers(&self, spec: &InvoiceSpec) {
            let fp = fingerprint(
                &spec.seller_tax_id,
                &spec.number,
                spec.issue_date,
                spec.amount.currency,
                spec.amount.amount,
            );
            let invoice = self.invoice_of(spec, fp, false);
            self.state
                .lock()
                .unwrap()
                .by_fingerprint
                .insert(fp, invoice);
        }

        /// The seller voids an invoice (as `lianrong invoice void` would).
        fn void(&self, id: &DocId) {
            let mut st = self.state.lock().unwrap();
            let inv = st
                .by_fingerprint
                .values_mut()
                .find(|i| &i.id == id)
                .unwrap();
            inv.status = InvoiceStatus::Voided;
        }

        fn status_of(&self, id: &DocId) -> Option<InvoiceStatus> {
            let st = self.state.lock().unwrap();
            st.by_fingerprint
                .values()
                .find(|i| &i.id == id)
                .map(|i| i.status)
        }
    }

    impl InvoiceLedger for FakeLedger {
        async fn orgs(&self) -> Result<Vec<Org>, LedgerError> {
            Ok(self.orgs.clone())
        }

        async fn invoice_by_fingerprint(&self, fp: &Hash) -> Result<Option<Invoice>, LedgerError> {
            if self.fail_lookups {
                return Err(LedgerError::Unavailable("connection refused".into()));
            }
            let mut st = self.state.lock().unwrap();
            st.lookups += 1;
            Ok(st.by_fingerprint.get(fp).cloned())
        }

        async fn invoice_by_number(
            &self,
            seller: &OrgId,
            number: &str,
        ) -> Result<Option<Invoice>, LedgerError> {
            if self.fail_lookups {
                return Err(LedgerError::Unavailable("connection refused".into()));
            }
            let mut st = self.state.lock().unwrap();
            st.lookups += 1;
            let n = normalize_identifier(number);
            Ok(st
                .by_fingerprint
                .values()
                .find(|i| &i.seller == seller && normalize_identifier(&i.number) == n)
                .cloned())
        }

        async fn register(&self, spec: &InvoiceSpec, confirm: bool) -> Result<DocId, LedgerError> {
            let mut st = self.state.lock().unwrap();
            st.register_calls += 1;
            if self.refuse_numbers.contains(&spec.number) {
                return Err(LedgerError::Rejected(format!(
                    "order {} has no room for {}",
                    spec.order, spec.amount
                )));
            }
            // The contract fingerprints the seller's registered tax id, as here.
            let fp = fingerprint(
                &spec.seller_tax_id,
                &spec.number,
                spec.issue_date,
                spec.amount.currency,
                spec.amount.amount,
            );
            if let Some(existing) = st.by_fingerprint.get(&fp) {
                return Err(LedgerError::Rejected(format!(
                    "duplicate invoice (existing {})",
                    existing.id
                )));
            }
            if st.registered.iter().any(|r| r.spec.id == spec.id) {
                return Err(LedgerError::Rejected(format!(
                    "invoice {} already exists",
                    spec.id
                )));
            }
            let invoice = self.invoice_of(spec, fp, confirm);
            st.by_fingerprint.insert(fp, invoice);
            st.registered.push(Registered {
                spec: spec.clone(),
                confirm,
            });
            Ok(spec.id.clone())
        }

        async fn confirm(&self, invoice: &DocId) -> Result<(), LedgerError> {
            let mut st = self.state.lock().unwrap();
            st.confirm_calls += 1;
            let found = st.by_fingerprint.values_mut().find(|i| &i.id == invoice);
            match found {
                Some(i) if i.status == InvoiceStatus::Registered => {
                    i.status = InvoiceStatus::Confirmed;
                    Ok(())
                }
                Some(i) => Err(LedgerError::Rejected(format!(
                    "invoice {invoice} is {:?}",
                    i.status
                ))),
                None => Err(LedgerError::Rejected(format!("no invoice {invoice}"))),
            }
        }
    }

    fn opts(importer: &str) -> ImportOptions {
        let mut o = ImportOptions::new(org_id(importer));
        o.default_order = Some(doc_id("PO-1"));
        o
    }

    fn id(kind: IdKind, scheme: Option<&str>, value: &str) -> PartyId {
        PartyId {
            kind,
            scheme: scheme.map(str::to_string),
            value: value.into(),
        }
    }

    fn rejection(item: &ItemReport) -> (Stage, &str, Option<&str>) {
        match &item.outcome {
            Outcome::Rejected {
                stage,
                reason,
                element,
            } => (*stage, reason.as_str(), element.as_deref()),
            other => panic!("{}: expected a rejection, got {other:?}", item.file),
        }
    }

    fn file_name(item: &ItemReport) -> String {
        PathBuf::from(&item.file)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    // ---------------------------------------------------------------------------------------
    // The shared UBL samples, field by field

    #[test]
    fn base_example_maps_every_field() {
        let bytes = fixture("base-example.xml");
        let inv = parse_ubl(&bytes).unwrap();
        assert_eq!(inv.format, SourceFormat::Ubl);
        assert_eq!(inv.number, "Snippet1");
        assert_eq!(inv.issue_date, date(2017, 11, 13));
        assert_eq!(inv.due_date, Some(date(2017, 12, 1)));
        assert_eq!(inv.type_code.as_deref(), Some("380"));
        assert_eq!(inv.amount, Money::parse("1656.25", "EUR").unwrap());
        assert_eq!(inv.order, None);
        assert_eq!(inv.ledger_id, None);
        assert_eq!(inv.line, None);
        // The commitment is SHA-256 of the exact file bytes (as `sha256sum` prints it).
        assert_eq!(inv.doc_hash, sha256(&bytes));
        assert_eq!(
            inv.doc_hash.to_hex(),
            "1b7cc3ff1834c8963f2c93f30f171b58002cbf0b2c52dc8765e7e83aebb9f7c9"
        );
        assert_eq!(inv.seller.role, PartyRole::Seller);
        assert_eq!(inv.seller.name.as_deref(), Some("SupplierOfficialName Ltd"));
        assert_eq!(
            inv.seller.ids,
            vec![
                id(IdKind::EndpointId, Some("0088"), "9482348239847239874"),
                id(IdKind::PartyIdentification, None, "99887766"),
                id(IdKind::TaxCompanyId, None, "GB1232434"),
                id(IdKind::LegalCompanyId, None, "GB983294"),
            ]
        );
        assert_eq!(inv.buyer.role, PartyRole::Buyer);
        assert_eq!(inv.buyer.name.as_deref(), Some("Buyer Official Name"));
        assert_eq!(
            inv.buyer.ids,
            vec![
                id(IdKind::EndpointId, Some("0002"), "FR23342"),
                id(IdKind::PartyIdentification, Some("0002"), "FR23342"),
                id(IdKind::TaxCompanyId, None, "SE4598375937"),
                id(IdKind::LegalCompanyId, Some("0183"), "39937423947"),
            ]
        );
    }

    #[test]
    fn allowance_example_maps_every_field() {
        let bytes = fixture("Allowance-example.xml");
        let inv = parse_ubl(&bytes).unwrap();
        assert_eq!(inv.number, "Snippet1");
        assert_eq!(inv.issue_date, date(2017, 11, 13));
        assert_eq!(inv.due_date, Some(date(2017, 12, 1)));
        assert_eq!(inv.type_code.as_deref(), Some("380"));
        // Payable after the 1000 EUR prepayment; the SEK tax total is not a payable amount.
        assert_eq!(inv.amount, Money::parse("6125.00", "EUR").unwrap());
        assert_eq!(inv.order, None);
        assert_eq!(
            inv.doc_hash.to_hex(),
            "aa3df18eb8c634624637eb229891d989c5cfb7cd0d08894ff8e58c58f247ea5b"
        );
        assert_eq!(inv.seller.name.as_deref(), Some("SupplierOfficialName Ltd"));
        assert_eq!(
            inv.seller.ids,
            vec![
                id(IdKind::EndpointId, Some("0088"), "7300010000001"),
                id(IdKind::PartyIdentification, None, "99887766"),
                id(IdKind::TaxCompanyId, None, "GB1232434"),
                id(IdKind::LegalCompanyId, None, "GB983294"),
            ]
        );
        assert_eq!(inv.buyer.name.as_deref(), Some("Buyer Official Name"));
        assert_eq!(
            inv.buyer.ids,
            vec![
                id(IdKind::EndpointId, Some("0002"), "4598375937"),
                id(IdKind::PartyIdentification, Some("0002"), "4598375937"),
                id(IdKind::TaxCompanyId, None, "SE4598375937"),
                id(IdKind::LegalCompanyId, Some("0183"), "39937423947"),
            ]
        );
    }

    #[test]
    fn vat_category_e_maps_every_field_and_has_no_due_date() {
        let bytes = fixture("vat-category-E.xml");
        let inv = parse_ubl(&bytes).unwrap();
        assert_eq!(inv.number, "Vat-Z");
        assert_eq!(inv.issue_date, date(2018, 8, 30));
        assert_eq!(inv.due_date, None, "the sample states payment terms only");
        assert_eq!(inv.type_code.as_deref(), Some("380"));
        assert_eq!(inv.amount, Money::parse("1200.00", "GBP").unwrap());
        assert_eq!(
            inv.doc_hash.to_hex(),
            "c699bb2bd290be769e082796873a528265bb5717285562feac030f0065e34742"
        );
        assert_eq!(
            inv.seller.name.as_deref(),
            Some("The Sellercompany Incorporated")
        );
        assert_eq!(
            inv.seller.ids,
            vec![
                id(IdKind::EndpointId, Some("0088"), "7300010000001"),
                id(IdKind::PartyIdentification, None, "7300010000001"),
                id(IdKind::TaxCompanyId, None, "GB928741974"),
            ]
        );
        assert_eq!(inv.buyer.name.as_deref(), Some("The Buyercompany"));
        assert_eq!(
            inv.buyer.ids,
            vec![id(IdKind::EndpointId, Some("0184"), "12345678")]
        );
    }

    #[test]
    fn prefixes_do_not_matter_only_namespaces() {
        let base = parse_ubl(&fixture("base-example.xml")).unwrap();
        let other = parse_ubl(&fixture("other-prefixes.xml")).unwrap();
        assert_eq!(other.number, "PREFIX-1");
        assert_eq!(other.order.as_deref(), Some("PO-UBL-7"));
        assert_eq!(other.amount, base.amount);
        assert_eq!(other.issue_date, base.issue_date);
        assert_eq!(other.due_date, base.due_date);
        assert_eq!(other.seller, base.seller);
        assert_eq!(other.buyer, base.buyer);
    }

    #[test]
    fn an_element_in_a_foreign_namespace_is_not_read() {
        // `cbc:ID` bound to another URI is not the invoice number, whatever its prefix says.
        let xml = String::from_utf8(fixture("base-example.xml"))
            .unwrap()
            .replace(
                "<cbc:ID>Snippet1</cbc:ID>",
                r#"<cbc:ID xmlns:cbc="urn:example:not-ubl">Snippet1</cbc:ID>"#,
            );
        let err = parse_ubl(xml.as_bytes()).unwrap_err();
        assert_eq!(
            err,
            ImportError::Missing {
                element: "cbc:ID".into()
            }
        );
    }

    // ---------------------------------------------------------------------------------------
    // Hand-made bad files: the exact reason and element

    #[test]
    fn bad_ubl_files_are_refused_with_reason_and_element() {
        let cases: [(&str, ImportError); 5] = [
            (
                "credit-note.xml",
                ImportError::CreditNote {
                    element: "CreditNote (root element)".into(),
                },
            ),
            (
                "bad-type-381.xml",
                ImportError::CreditNote {
                    element: "cbc:InvoiceTypeCode 381".into(),
                },
            ),
            (
                "bad-zero-payable.xml",
                ImportError::NotPositive {
                    element: "cac:LegalMonetaryTotal/cbc:PayableAmount".into(),
                    value: "0.00".into(),
                },
            ),
            (
                "bad-negative-payable.xml",
                ImportError::NotPositive {
                    element: "cac:LegalMonetaryTotal/cbc:PayableAmount".into(),
                    value: "-1656.25".into(),
                },
            ),
            (
                "bad-currency-mismatch.xml",
                ImportError::CurrencyMismatch {
                    element: "cac:LegalMonetaryTotal/cbc:PayableAmount/@currencyID".into(),
                    expected: "EUR".into(),
                    found: "USD".into(),
                },
            ),
        ];
        for (name, expected) in cases {
            assert_eq!(parse_ubl(&fixture(name)).unwrap_err(), expected, "{name}");
        }
        // An unknown party is not a parse error: only the ledger's orgs can tell (see the
        // batch test).
        assert!(parse_ubl(&fixture("bad-unknown-buyer.xml")).is_ok());
    }

    #[test]
    fn malformed_and_truncated_xml_are_refused() {
        for name in ["bad-malformed.xml", "bad-truncated.xml"] {
            let err = parse_ubl(&fixture(name)).unwrap_err();
            assert!(
                matches!(err, ImportError::MalformedXml { .. }),
                "{name}: {err:?}"
            );
        }
        let err = parse_ubl(&fixture("bad-truncated.xml")).unwrap_err();
        assert!(err.to_string().contains("not closed"), "{err}");
        // Truncated at every tenth byte: always an error, never a panic or a partial invoice.
        let full = fixture("base-example.xml");
        for cut in (0..full.len() - 10).step_by(10) {
            assert!(parse_ubl(&full[..cut]).is_err(), "accepted a cut at {cut}");
        }
        for junk in [
            &b""[..],
            b"not xml",
            b"<a>",
            b"\xff\xfe<Invoice/>",
            b"<Invoice/>",
        ] {
            assert!(parse_ubl(junk).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn a_doctype_and_unknown_entities_are_refused() {
        let xml = String::from_utf8(fixture("base-example.xml")).unwrap();
        let with_dtd = xml.replacen(
            "<Invoice ",
            "<!DOCTYPE Invoice [<!ENTITY x \"boom\">]>\n<Invoice ",
            1,
        );
        let err = parse_ubl(with_dtd.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("DOCTYPE"), "{err}");
        let with_entity = xml.replace("<cbc:ID>Snippet1</cbc:ID>", "<cbc:ID>&x;</cbc:ID>");
        assert!(parse_ubl(with_entity.as_bytes()).is_err());
        // Predefined entities and character references are text like any other.
        let escaped = xml.replace(
            "<cbc:ID>Snippet1</cbc:ID>",
            "<cbc:ID>A&amp;B&#x2D;1</cbc:ID>",
        );
        assert_eq!(parse_ubl(escaped.as_bytes()).unwrap().number, "A&B-1");
    }

    #[test]
    fn oversize_deep_and_wide_documents_are_refused_early() {
        let big = vec![b' '; MAX_FILE_BYTES + 1];
        assert_eq!(
            parse_ubl(&big).unwrap_err(),
            ImportError::TooLarge {
                size: MAX_FILE_BYTES as u64 + 1,
                limit: MAX_FILE_BYTES as u64
            }
        );
        let head = r#"<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">"#;
        let deep = format!(
            "{head}{}{}</Invoice>",
            "<x>".repeat(MAX_DEPTH + 1),
            "</x>".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(
            parse_ubl(deep.as_bytes()).unwrap_err(),
            ImportError::TooDeep { limit: MAX_DEPTH }
        );
        let wide = format!("{head}{}</Invoice>", "<x/>".repeat(MAX_ELEMENTS + 1));
        assert_eq!(
            parse_ubl(wide.as_bytes()).unwrap_err(),
            ImportError::TooManyElements {
                limit: MAX_ELEMENTS
            }
        );
    }

    #[test]
    fn repeated_single_elements_are_refused_not_guessed() {
        let xml = String::from_utf8(fixture("base-example.xml")).unwrap();
        let two_totals = xml.replace(
        "<cbc:PayableAmount currencyID=\"EUR\">1656.25</cbc:PayableAmount>",
        "<cbc:PayableAmount currencyID=\"EUR\">1656.25</cbc:PayableAmount>\n<cbc:PayableAmount currencyID=\"EUR\">1.00</cbc:PayableAmount>",
    );
        assert_eq!(
            parse_ubl(two_totals.as_bytes()).unwrap_err(),
            ImportError::Repeated {
                element: "cac:LegalMonetaryTotal/cbc:PayableAmount".into()
            }
        );
        let too_precise = xml.replace(
            ">1656.25</cbc:PayableAmount>",
            ">1656.255</cbc:PayableAmount>",
        );
        let err = parse_ubl(too_precise.as_bytes()).unwrap_err();
        assert_eq!(
            err.element(),
            Some("cac:LegalMonetaryTotal/cbc:PayableAmount")
        );
        assert!(
            err.to_string().contains("more than 2 decimal places"),
            "{err}"
        );
        let other_total = xml.replace(
            "<cbc:ChargeTotalAmount currencyID=\"EUR\">25</cbc:ChargeTotalAmount>",
            "<cbc:ChargeTotalAmount currencyID=\"SEK\">25</cbc:ChargeTotalAmount>",
        );
        assert_eq!(
            parse_ubl(other_total.as_bytes()).unwrap_err(),
            ImportError::CurrencyMismatch {
                element: "cac:LegalMonetaryTotal/cbc:ChargeTotalAmount/@currencyID".into(),
                expected: "EUR".into(),
                found: "SEK".into(),
            }
        );
    }

    // ---------------------------------------------------------------------------------------
    // CSV

    #[test]
    fn csv_rows_map_every_field_and_commit_to_the_canonical_row() {
        let rows = parse_csv(&fixture("invoices.csv"));
        assert_eq!(rows.len(), 3);
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first.format, SourceFormat::Csv);
        assert_eq!(first.line, Some(2));
        assert_eq!(first.number, "INV-2026-001");
        assert_eq!(first.issue_date, date(2026, 11, 1));
        assert_eq!(first.due_date, Some(date(2027, 2, 1)));
        assert_eq!(first.type_code, None);
        assert_eq!(first.amount, Money::parse("120000.00", "CNY").unwrap());
        assert_eq!(
            first.seller.ids,
            vec![id(IdKind::CsvColumn, None, "91310000MA1K4SUP1X")]
        );
        assert_eq!(
            first.buyer.ids,
            vec![id(IdKind::CsvColumn, None, "91440300MA5CORE01Y")]
        );
        assert_eq!(first.order.as_deref(), Some("PO-2026-001"));
        assert_eq!(first.ledger_id, None);
        // The README's worked example, hashed independently with `sha256sum`.
        assert_eq!(
            first.doc_hash.to_hex(),
            "545d0baf7f487497245dd02677d3c75ae845937107a2625a5de595c9032a0bda"
        );
        let third = rows[2].as_ref().unwrap();
        assert_eq!(third.line, Some(4));
        assert_eq!(third.number, "INV-2026-003");
        assert_eq!(third.amount, Money::parse("5000", "CNY").unwrap());
        assert_eq!(third.order, None, "empty order_id falls back to --order");
        assert_eq!(third.ledger_id.as_deref(), Some("LR-INV-3"));
    }

    #[test]
    fn csv_canonical_row_ignores_column_order_and_padding() {
        let a = parse_csv(
            b"invoice_number,issue_date,due_date,currency,amount,seller_id,buyer_id,order_id\n\
          N-1,2026-11-01,2027-01-01,CNY,10.00,S,B,PO-1\n",
        );
        let b = parse_csv(
        b"\xEF\xBB\xBForder_id,buyer_id,seller_id,amount,currency,due_date,issue_date,invoice_number,invoice_id\n\
          PO-1 , B,S,10.00,CNY,2027-01-01,2026-11-01, N-1,\n",
    );
        let (a, b) = (a[0].as_ref().unwrap(), b[0].as_ref().unwrap());
        assert_eq!(a.doc_hash, b.doc_hash);
        assert_eq!(a.number, b.number);
    }

    #[test]
    fn csv_bad_rows_are_reported_by_line_and_the_rest_still_parse() {
        let rows = parse_csv(&fixture("invoices-one-bad-row.csv"));
        assert_eq!(rows.len(), 9);
        let ok: Vec<&str> = rows
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|i| i.number.as_str())
            .collect();
        // 104 (unknown party) and 105 (due before issue) parse; the ledger rules catch them.
        assert_eq!(
            ok,
            [
                "INV-2026-101",
                "INV-2026-103",
                "INV-2026-104",
                "INV-2026-105",
                "INV-2026-107",
                "INV-2026-109"
            ]
        );
        let errs: Vec<&RowError> = rows.iter().filter_map(|r| r.as_ref().err()).collect();
        assert_eq!(errs.len(), 3);
        assert_eq!(errs[0].line, 3);
        assert_eq!(
            errs[0].error,
            ImportError::NotPositive {
                element: "column amount".into(),
                value: "-300.00".into()
            }
        );
        assert_eq!(errs[1].line, 7);
        assert!(
            matches!(errs[1].error, ImportError::CsvRecord { .. }),
            "{:?}",
            errs[1]
        );
        assert!(errs[1].to_string().contains("7 fields"), "{}", errs[1]);
        assert_eq!(errs[2].line, 9);
        assert_eq!(errs[2].error.element(), Some("column amount"));
    }

    #[test]
    fn csv_header_faults_reject_the_file_once() {
        for (csv, needle) in [
        (&b"invoice_number,issue_date\nA,2026-01-01\n"[..], "missing column"),
        (
            b"invoice_number,issue_date,due_date,currency,ammount,seller_id,buyer_id,order_id\n",
            "unknown column \"ammount\"",
        ),
        (
            b"invoice_number,invoice_number,issue_date,due_date,currency,amount,seller_id,buyer_id,order_id\n",
            "appears twice",
        ),
        (b"", "missing column"),
    ] {
        let rows = parse_csv(csv);
        assert_eq!(rows.len(), 1, "{needle}");
        let err = rows[0].as_ref().unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.to_string().contains(needle), "{err}");
    }
    }

    // ---------------------------------------------------------------------------------------
    // Party resolution

    #[test]
    fn parties_resolve_by_tax_id_and_by_scheme_qualified_identifier() {
        let dir = PartyDirectory::new(sample_orgs(), &PartyMap::new()).unwrap();
        let base = parse_ubl(&fixture("base-example.xml")).unwrap();
        let seller = dir.resolve(&base.seller).unwrap();
        assert_eq!(seller.org.id, org_id("SUP-GB"));
        assert_eq!(seller.via, MatchVia::TaxId);
        assert_eq!(dir.resolve(&base.buyer).unwrap().org.id, org_id("CORE-SE"));
        let vat = parse_ubl(&fixture("vat-category-E.xml")).unwrap();
        let buyer = dir.resolve(&vat.buyer).unwrap();
        assert_eq!(buyer.org.id, org_id("CORE-DK"));
        assert_eq!(buyer.via, MatchVia::Identifier);
    }

    #[test]
    fn unknown_party_names_every_identifier_tried() {
        let dir = PartyDirectory::new(sample_orgs(), &PartyMap::new()).unwrap();
        let inv = parse_ubl(&fixture("bad-unknown-buyer.xml")).unwrap();
        let err = dir.resolve(&inv.buyer).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("unknown buyer \"Buyer Official Name\""),
            "{msg}"
        );
        for needle in [
        "cac:AccountingCustomerParty/cac:Party/cbc:EndpointID 0002:NO999999",
        "cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID NO999999MVA",
        "cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID 0183:11111111111",
    ] {
        assert!(msg.contains(needle), "{needle} not in {msg}");
    }
    }

    /// Orgs that registered none of the sample identifiers: only a party map can place them.
    fn unmapped_orgs() -> Vec<Org> {
        vec![
            org("SUP-MAPPED", "91110000SUPMAP001", &[Role::Supplier], &[]),
            org("CORE-MAPPED", "91110000COREMAP01", &[Role::Core], &[]),
        ]
    }

    #[test]
    fn party_map_matches_endpoint_id_party_identification_and_company_id() {
        let inv = parse_ubl(&fixture("Allowance-example.xml")).unwrap();
        for (external, kind) in [
            ("7300010000001", IdKind::EndpointId),
            ("0088:7300010000001", IdKind::EndpointId),
            ("99887766", IdKind::PartyIdentification),
            ("GB1232434", IdKind::TaxCompanyId),
            ("gb 983294", IdKind::LegalCompanyId),
        ] {
            let map = PartyMap::parse(format!("{external},SUP-MAPPED\n").as_bytes()).unwrap();
            let dir = PartyDirectory::new(unmapped_orgs(), &map).unwrap();
            let r = dir
                .resolve(&inv.seller)
                .unwrap_or_else(|e| panic!("{external} ({kind:?}): {e}"));
            assert_eq!(r.org.id, org_id("SUP-MAPPED"), "{external}");
            assert_eq!(r.via, MatchVia::PartyMap { line: 1 }, "{external}");
        }
        // The checked-in map: endpoint for the seller, scheme-qualified endpoint for the buyer.
        let map = PartyMap::load(&fixture_path("party-map.csv")).unwrap();
        assert_eq!(map, PartyMap::parse(&fixture("party-map.csv")).unwrap());
        assert!(matches!(
            PartyMap::load(&fixture_path("no-such-map.csv")),
            Err(PartyMapError::Io { .. })
        ));
        assert_eq!(map.entries().len(), 2);
        let dir = PartyDirectory::new(unmapped_orgs(), &map).unwrap();
        assert_eq!(
            dir.resolve(&inv.buyer).unwrap().org.id,
            org_id("CORE-MAPPED")
        );
    }

    #[test]
    fn identifiers_naming_two_orgs_are_a_conflict_not_a_guess() {
        // The map says the endpoint is SUP-MAPPED, but the VAT number is SUP-GB's tax id.
        let mut orgs = sample_orgs();
        orgs.extend(unmapped_orgs());
        let map = PartyMap::parse(b"7300010000001,SUP-MAPPED\n").unwrap();
        let dir = PartyDirectory::new(orgs, &map).unwrap();
        let inv = parse_ubl(&fixture("Allowance-example.xml")).unwrap();
        let err = dir.resolve(&inv.seller).unwrap_err();
        assert!(matches!(err, ResolveError::Conflict { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("SUP-MAPPED") && msg.contains("SUP-GB"),
            "{msg}"
        );
    }

    #[test]
    fn party_map_faults_are_reported_by_line() {
        let err = PartyMap::parse(b"external_id,org_id\nX1,SUP-A\nX1,SUP-B\n").unwrap_err();
        assert!(
            matches!(err, PartyMapError::Conflict { line: 3, .. }),
            "{err}"
        );
        let err = PartyMap::parse(b"X1,not an org\n").unwrap_err();
        assert!(
            matches!(err, PartyMapError::BadLine { line: 1, .. }),
            "{err}"
        );
        let err = PartyMap::parse(b"X1\n").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        let map = PartyMap::parse(b"X1,NOBODY\n").unwrap();
        let err = PartyDirectory::new(sample_orgs(), &map).unwrap_err();
        assert_eq!(
            err,
            PartyMapError::UnknownOrg {
                line: 1,
                org: org_id("NOBODY")
            }
        );
    }

    // ---------------------------------------------------------------------------------------
    // Planning

    #[test]
    fn plan_uses_registered_tax_ids_and_the_contracts_fingerprint() {
        let orgs = sample_orgs();
        let dir = PartyDirectory::new(orgs, &PartyMap::new()).unwrap();
        let inv = parse_ubl(&fixture("base-example.xml")).unwrap();
        let seller = dir.resolve(&inv.seller).unwrap().org;
        let buyer = dir.resolve(&inv.buyer).unwrap().org;
        let mut o = opts("CORE-SE");
        o.confirm = true;
        let p = plan(&inv, seller, buyer, &o).unwrap();
        let fp = fingerprint(
            "GB1232434",
            "Snippet1",
            date(2017, 11, 13),
            inv.amount.currency,
            inv.amount.amount,
        );
        assert_eq!(p.fingerprint, fp);
        assert_eq!(p.spec.id, derived_invoice_id(&fp));
        assert!(p.spec.id.as_str().starts_with("INV-"));
        assert_eq!(p.spec.order, doc_id("PO-1"));
        assert_eq!(p.spec.number, "Snippet1");
        assert_eq!(p.spec.issue_date, date(2017, 11, 13));
        assert_eq!(p.spec.due_date, date(2017, 12, 1));
        assert_eq!(p.spec.amount, Money::parse("1656.25", "EUR").unwrap());
        assert_eq!(p.spec.seller_tax_id, "GB1232434");
        assert_eq!(p.spec.buyer_tax_id, "SE4598375937");
        assert_eq!(p.spec.doc_hash, inv.doc_hash);
        assert!(p.confirm);
        assert_eq!(
            p.action(),
            lianrong_contracts::Action::RegisterInvoice {
                invoice: p.spec.clone(),
                confirm: true
            }
        );
    }

    /// The finding: with the seller's tax id masked for the importing buyer and no
    /// matching id printed in the file, the importer sent the *masked* value to the
    /// ledger, which refused a mismatch the user never typed. A masked value never reaches
    /// a transaction: the plan stops, naming what the file prints.
    #[test]
    fn a_masked_tax_id_never_reaches_a_transaction() {
        let inv = parse_ubl(&fixture("base-example.xml")).unwrap();
        let masked_seller = org(
            "SUP-GB",
            &lianrong_primitives::mask("GB1232434"),
            &[Role::Supplier],
            &[],
        );
        let buyer = org("CORE-SE", "SE4598375937", &[Role::Core], &[]);
        // The file prints GB1232434: it fits the mask, so that full value is used.
        let p = plan(&inv, &masked_seller, &buyer, &opts("CORE-SE")).unwrap();
        assert_eq!(p.spec.seller_tax_id, "GB1232434");
        // A seller whose registered id the file does not print: refused at the plan stage.
        let other = org(
            "SUP-GB",
            &lianrong_primitives::mask("GB9999999"),
            &[Role::Supplier],
            &[],
        );
        // The file prints a tax id that cannot be the registered one: reported as such.
        let err = plan(&inv, &other, &buyer, &opts("CORE-SE")).unwrap_err();
        assert!(matches!(err, PlanError::TaxIdDiffers { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("GB1232434") && text.contains("GB99***99"),
            "{text}"
        );
        // A file printing no tax id at all for the seller: refused, naming the mask.
        let mut unprinted = inv.clone();
        unprinted
            .seller
            .ids
            .retain(|i| i.kind != IdKind::TaxCompanyId && i.value != "GB1232434");
        let err = plan(&unprinted, &other, &buyer, &opts("CORE-SE")).unwrap_err();
        assert!(matches!(err, PlanError::TaxIdNotInFile { .. }), "{err}");
        assert!(err.to_string().contains("masked"), "{err}");
    }

    #[test]
    fn plan_refuses_what_the_ledger_would_refuse() {
        let dir = PartyDirectory::new(sample_orgs(), &PartyMap::new()).unwrap();
        let inv = parse_ubl(&fixture("base-example.xml")).unwrap();
        let seller = dir.resolve(&inv.seller).unwrap().org;
        let buyer = dir.resolve(&inv.buyer).unwrap().org;

        let mut o = opts("SUP-GB");
        o.confirm = true;
        assert!(matches!(
            plan(&inv, seller, buyer, &o),
            Err(PlanError::ConfirmNotBuyer { .. })
        ));
        assert!(matches!(
            plan(&inv, seller, buyer, &opts("BANK-SZ")),
            Err(PlanError::NotAParty { .. })
        ));
        assert!(matches!(
            plan(&inv, seller, seller, &opts("SUP-GB")),
            Err(PlanError::SameParty { .. })
        ));
        let no_order = ImportOptions::new(org_id("SUP-GB"));
        let err = plan(&inv, seller, buyer, &no_order).unwrap_err();
        assert_eq!(err.element(), Some("cac:OrderReference/cbc:ID"));

        // vat-category-E has no due date: refused unless --due-days gives one.
        let vat = parse_ubl(&fixture("vat-category-E.xml")).unwrap();
        let vs = dir.resolve(&vat.seller).unwrap().org;
        let vb = dir.resolve(&vat.buyer).unwrap().org;
        let err = plan(&vat, vs, vb, &opts("SUP-GB2")).unwrap_err();
        assert_eq!(err.element(), Some("cbc:DueDate"));
        let mut o = opts("SUP-GB2");
        o.default_due_days = Some(30);
        assert_eq!(
            plan(&vat, vs, vb, &o).unwrap().spec.due_date,
            date(2018, 9, 29)
        );
    }

    // ---------------------------------------------------------------------------------------
    // Batches against the fake ledger

    fn paths(names: &[&str]) -> Vec<PathBuf> {
        names.iter().map(|n| fixture_path(n)).collect()
    }

    #[tokio::test]
    async fn a_ubl_batch_registers_the_good_rejects_the_bad_and_a_rerun_changes_nothing() {
        let ledger = FakeLedger::new(sample_orgs());
        let files = paths(&[
            "base-example.xml",
            "credit-note.xml",
            "bad-zero-payable.xml",
            "Allowance-example.xml",
            "bad-negative-payable.xml",
            "bad-unknown-buyer.xml",
            "bad-currency-mismatch.xml",
            "bad-malformed.xml",
            "bad-truncated.xml",
            "other-prefixes.xml",
        ]);
        let mut o = opts("CORE-SE");
        o.confirm = true;
        let report = run(&ledger, &files, &o).await;
        assert!(report.error.is_none(), "{report}");
        assert_eq!(report.items.len(), files.len());
        assert_eq!(
            report.summary,
            BatchSummary {
                confirmed_existing: 0,
                registered: 3,
                already_on_ledger: 0,
                rejected: 7
            },
            "{report}"
        );
        for item in &report.items {
            let name = file_name(item);
            match name.as_str() {
                "base-example.xml" | "Allowance-example.xml" | "other-prefixes.xml" => {
                    assert!(
                        matches!(
                            item.outcome,
                            Outcome::Registered {
                                confirmed: true,
                                ..
                            }
                        ),
                        "{name}: {:?}",
                        item.outcome
                    );
                    assert_eq!(item.seller, Some(org_id("SUP-GB")));
                    assert_eq!(item.buyer, Some(org_id("CORE-SE")));
                }
                "credit-note.xml" => {
                    let (stage, reason, element) = rejection(item);
                    assert_eq!(stage, Stage::Parse);
                    assert!(reason.contains("credit note"), "{reason}");
                    assert_eq!(element, Some("CreditNote (root element)"));
                }
                "bad-zero-payable.xml" | "bad-negative-payable.xml" => {
                    let (stage, reason, element) = rejection(item);
                    assert_eq!(stage, Stage::Parse);
                    assert!(reason.contains("must be positive"), "{reason}");
                    assert_eq!(element, Some("cac:LegalMonetaryTotal/cbc:PayableAmount"));
                }
                "bad-currency-mismatch.xml" => {
                    let (stage, reason, element) = rejection(item);
                    assert_eq!(stage, Stage::Parse);
                    assert!(reason.contains("USD") && reason.contains("EUR"), "{reason}");
                    assert_eq!(
                        element,
                        Some("cac:LegalMonetaryTotal/cbc:PayableAmount/@currencyID")
                    );
                }
                "bad-unknown-buyer.xml" => {
                    let (stage, reason, element) = rejection(item);
                    assert_eq!(stage, Stage::Resolve);
                    assert_eq!(element, Some("cac:AccountingCustomerParty/cac:Party"));
                    assert!(reason.contains("unknown buyer"), "{reason}");
                    assert!(reason.contains("NO999999"), "{reason}");
                }
                "bad-malformed.xml" | "bad-truncated.xml" => {
                    let (stage, reason, _) = rejection(item);
                    assert_eq!(stage, Stage::Parse);
                    assert!(reason.contains("malformed XML"), "{reason}");
                }
                other => panic!("unexpected item {other}"),
            }
        }
        // What reached the ledger: the three good invoices, confirmed, with their commitments.
        let registered = ledger.registered();
        assert_eq!(registered.len(), 3);
        assert!(registered.iter().all(|r| r.confirm));
        let prefixed = registered
            .iter()
            .find(|r| r.spec.number == "PREFIX-1")
            .unwrap();
        assert_eq!(
            prefixed.spec.order,
            doc_id("PO-UBL-7"),
            "the document's own order wins"
        );
        assert_eq!(
            prefixed.spec.doc_hash,
            sha256(&fixture("other-prefixes.xml"))
        );
        let calls = ledger.register_calls();

        // The same batch again: everything good is already there, nothing is submitted.
        let again = run(&ledger, &files, &o).await;
        assert_eq!(
            again.summary,
            BatchSummary {
                confirmed_existing: 0,
                registered: 0,
                already_on_ledger: 3,
                rejected: 7
            },
            "{again}"
        );
        assert_eq!(
            ledger.register_calls(),
            calls,
            "a re-run submitted something"
        );
        assert_eq!(ledger.registered().len(), 3);
        for (first, second) in report.items.iter().zip(&again.items) {
            if let Outcome::Registered { invoice, .. } = &first.outcome {
                assert_eq!(
                    second.outcome,
                    Outcome::AlreadyOnLedger {
                        invoice: invoice.clone()
                    }
                );
            }
        }
    }

    #[tokio::test]
    async fn a_csv_with_bad_rows_still_registers_every_good_row() {
        let ledger = FakeLedger::new(sample_orgs());
        let files = paths(&["invoices-one-bad-row.csv", "invoices.csv"]);
        let o = opts("CORE-CN");
        let report = run(&ledger, &files, &o).await;
        assert_eq!(
            report.summary,
            BatchSummary {
                confirmed_existing: 0,
                registered: 7,
                already_on_ledger: 0,
                rejected: 5
            },
            "{report}"
        );
        let outcome_at = |line: u64| {
            report
                .items
                .iter()
                .find(|i| i.file.ends_with("invoices-one-bad-row.csv") && i.line == Some(line))
                .unwrap_or_else(|| panic!("no item for line {line}"))
        };
        for line in [2, 4, 8, 10] {
            assert!(
                matches!(
                    outcome_at(line).outcome,
                    Outcome::Registered {
                        confirmed: false,
                        ..
                    }
                ),
                "line {line}: {:?}",
                outcome_at(line).outcome
            );
        }
        let (stage, _, element) = rejection(outcome_at(3));
        assert_eq!((stage, element), (Stage::Parse, Some("column amount")));
        let (stage, reason, element) = rejection(outcome_at(5));
        assert_eq!(stage, Stage::Resolve);
        assert_eq!(element, Some("column buyer_id"));
        assert!(
            reason.contains("column buyer_id UNKNOWN-TAX-ID"),
            "{reason}"
        );
        let (stage, reason, _) = rejection(outcome_at(6));
        assert_eq!(stage, Stage::Plan);
        assert!(reason.contains("before issue date"), "{reason}");
        let (stage, _, _) = rejection(outcome_at(7));
        assert_eq!(stage, Stage::Parse);
        let (stage, reason, _) = rejection(outcome_at(9));
        assert_eq!(stage, Stage::Parse);
        assert!(reason.contains("decimal places"), "{reason}");

        // The third row of invoices.csv: GLN seller, --order default, explicit ledger id.
        let r = ledger
            .registered()
            .into_iter()
            .find(|r| r.spec.number == "INV-2026-003")
            .unwrap();
        assert_eq!(r.spec.id, doc_id("LR-INV-3"));
        assert_eq!(r.spec.order, doc_id("PO-1"));
        assert_eq!(r.spec.seller_tax_id, "91310000MA1K4SUP1X");

        let calls = ledger.register_calls();
        let again = run(&ledger, &files, &o).await;
        assert_eq!(again.summary.registered, 0, "{again}");
        assert_eq!(again.summary.already_on_ledger, 7);
        assert_eq!(ledger.register_calls(), calls);
    }

    #[tokio::test]
    async fn the_same_invoice_twice_in_one_batch_is_submitted_once() {
        let ledger = FakeLedger::new(sample_orgs());
        let files = paths(&["base-example.xml", "base-example.xml"]);
        let report = run(&ledger, &files, &opts("SUP-GB")).await;
        assert_eq!(report.summary.registered, 1, "{report}");
        assert_eq!(report.summary.already_on_ledger, 1);
        assert_eq!(ledger.register_calls(), 1);
    }

    #[tokio::test]
    async fn ledger_failures_reject_only_their_item() {
        let mut ledger = FakeLedger::new(sample_orgs());
        ledger.refuse_numbers = vec!["INV-2026-002".into()];
        let report = run(&ledger, &paths(&["invoices.csv"]), &opts("CORE-CN")).await;
        assert_eq!(report.summary.registered, 2, "{report}");
        let (stage, reason, _) = rejection(&report.items[1]);
        assert_eq!(stage, Stage::Ledger);
        assert!(reason.contains("no room"), "{reason}");

        // Without the duplicate check nothing is submitted at all.
        let mut blind = FakeLedger::new(sample_orgs());
        blind.fail_lookups = true;
        let report = run(&blind, &paths(&["invoices.csv"]), &opts("CORE-CN")).await;
        assert_eq!(report.summary.rejected, 3, "{report}");
        assert_eq!(blind.register_calls(), 0);
        assert!(report.to_string().contains("duplicate check failed"));
    }

    /// The finding (issue "money movements"): a re-typed invoice number -- full-width
    /// forms, a zero-width space, a Unicode hyphen, the dash dropped -- registered the same
    /// invoice again. The importer's pre-check uses the ledger's own fingerprint, so each
    /// re-typed copy is already on the ledger and nothing is submitted.
    #[tokio::test]
    async fn retyped_invoice_numbers_are_already_on_the_ledger() {
        let ledger = FakeLedger::new(sample_orgs());
        let first = run(&ledger, &paths(&["invoices.csv"]), &opts("CORE-CN")).await;
        assert_eq!(first.summary.registered, 3, "{first}");
        let calls = ledger.register_calls();
        let dir = tempfile::tempdir().unwrap();
        let header = "invoice_number,issue_date,due_date,currency,amount,seller_id,buyer_id,order_id,invoice_id\n";
        let mut files = Vec::new();
        for (i, number) in [
            "ＩＮＶ－２０２６－００１",
            "INV-2026\u{200B}-001",
            "INV\u{2010}2026\u{2010}001",
            "inv2026001",
        ]
        .iter()
        .enumerate()
        {
            let row = format!("{number},2026-11-01,2027-02-01,CNY,120000.00,91310000MA1K4SUP1X,91440300MA5CORE01Y,PO-2026-001,\n");
            let path = dir.path().join(format!("retyped-{i}.csv"));
            std::fs::write(&path, format!("{header}{row}")).unwrap();
            files.push(path);
        }
        let again = run(&ledger, &files, &opts("CORE-CN")).await;
        assert_eq!(again.summary.registered, 0, "{again}");
        assert_eq!(again.summary.already_on_ledger, 4, "{again}");
        assert_eq!(ledger.register_calls(), calls);
    }

    #[tokio::test]
    async fn unreadable_and_oversize_files_are_rejected_without_reading_them() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.xml");
        std::fs::write(&big, vec![b' '; MAX_FILE_BYTES + 1]).unwrap();
        let missing = dir.path().join("missing.xml");
        let files = vec![big.clone(), missing, fixture_path("base-example.xml")];
        let ledger = FakeLedger::new(sample_orgs());
        let report = run(&ledger, &files, &opts("SUP-GB")).await;
        assert_eq!(report.summary.registered, 1, "{report}");
        let (stage, reason, _) = rejection(&report.items[0]);
        assert_eq!(stage, Stage::Read);
        assert!(reason.contains("above the limit"), "{reason}");
        let (stage, _, _) = rejection(&report.items[1]);
        assert_eq!(stage, Stage::Read);
    }

    #[tokio::test]
    async fn a_bad_party_map_stops_the_batch_before_anything_is_submitted() {
        let ledger = FakeLedger::new(sample_orgs());
        let mut o = opts("SUP-GB");
        o.party_map = PartyMap::parse(b"X1,NOBODY\n").unwrap();
        let report = run(&ledger, &paths(&["base-example.xml"]), &o).await;
        assert!(!report.is_success());
        assert!(report.items.is_empty());
        assert!(report.error.as_deref().unwrap().contains("NOBODY"));
        assert_eq!(ledger.register_calls(), 0);
    }

    #[tokio::test]
    async fn an_importer_that_cannot_register_stops_the_batch_at_once() {
        let ledger = FakeLedger::new(sample_orgs());
        let files = paths(&["base-example.xml"]);
        for (importer, confirm, needle) in [
            ("NOBODY", false, "not an admitted org"),
            ("SUP-GB", true, "--confirm needs a core enterprise"),
            ("BANK-SZ", false, "only suppliers and core enterprises"),
        ] {
            let mut o = opts(importer);
            o.confirm = confirm;
            let report = run(&ledger, &files, &o).await;
            assert!(report.items.is_empty(), "{report}");
            let error = report.error.unwrap_or_default();
            assert!(error.contains(needle), "{importer}: {error}");
        }
        assert_eq!(ledger.register_calls(), 0);
    }

    #[tokio::test]
    async fn the_report_serializes_to_json_and_reads_as_text() {
        let ledger = FakeLedger::new(sample_orgs());
        let report = run(
            &ledger,
            &paths(&["base-example.xml", "credit-note.xml"]),
            &opts("SUP-GB"),
        )
        .await;
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["summary"]["registered"], 1);
        assert_eq!(json["summary"]["rejected"], 1);
        assert_eq!(json["items"][0]["outcome"]["status"], "registered");
        assert_eq!(json["items"][0]["amount"]["amount"], "1656.25");
        assert_eq!(json["items"][1]["outcome"]["status"], "rejected");
        assert_eq!(json["items"][1]["outcome"]["stage"], "parse");
        assert_eq!(
            json["items"][1]["outcome"]["element"],
            "CreditNote (root element)"
        );
        let text = report.to_string();
        assert!(text.contains("registered"), "{text}");
        assert!(text.contains("credit-note.xml (parse)"), "{text}");
        assert!(
            text.ends_with("1 registered, 0 already on the ledger, 1 rejected"),
            "{text}"
        );
    }

    // ---------------------------------------------------------------------------------------
    // Issue 12 item 7: what a buyer's ERP and a new Peppol user met

    /// base-example.xml as a file in `dir` with `edit` applied to its text.
    fn edited_sample(
        dir: &tempfile::TempDir,
        name: &str,
        edit: impl Fn(String) -> String,
    ) -> PathBuf {
        let text = String::from_utf8(fixture("base-example.xml")).unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, edit(text)).unwrap();
        path
    }

    fn sample_plan(importer: &str) -> PlannedInvoice {
        let dir = PartyDirectory::new(sample_orgs(), &PartyMap::new()).unwrap();
        let inv = parse_ubl(&fixture("base-example.xml")).unwrap();
        let seller = dir.resolve(&inv.seller).unwrap().org;
        let buyer = dir.resolve(&inv.buyer).unwrap().org;
        plan(&inv, seller, buyer, &opts(importer)).unwrap()
    }

    /// The finding: `--confirm` of an invoice the supplier had already registered said
    /// "already on ledger" and confirmed nothing. It confirms the matching invoice now.
    #[tokio::test]
    async fn confirm_of_an_invoice_the_seller_registered_confirms_it() {
        let ledger = FakeLedger::new(sample_orgs());
        let by_seller = sample_plan("SUP-GB");
        ledger.seller_registers(&by_seller.spec);
        let mut o = opts("CORE-SE");
        o.confirm = true;
        let report = run(&ledger, &paths(&["base-example.xml"]), &o).await;
        assert_eq!(
            report.items[0].outcome,
            Outcome::ConfirmedExisting {
                invoice: by_seller.spec.id.clone()
            },
            "{report}"
        );
        assert_eq!(ledger.confirm_calls(), 1);
        assert_eq!(ledger.register_calls(), 0);
        assert_eq!(
            ledger.status_of(&by_seller.spec.id),
            Some(InvoiceStatus::Confirmed)
        );
        assert!(report.is_success());
        assert!(report
            .to_string()
            .contains("1 confirmed after the seller registered them"));
        // Again: already confirmed, nothing more is sent.
        let again = run(&ledger, &paths(&["base-example.xml"]), &o).await;
        assert!(matches!(
            again.items[0].outcome,
            Outcome::AlreadyOnLedger { .. }
        ));
        assert_eq!(ledger.confirm_calls(), 1);
    }

    /// The same fingerprint with another due date or order is not the file's invoice: every
    /// difference is reported and nothing is confirmed.
    #[tokio::test]
    async fn confirm_reports_field_mismatches_and_confirms_nothing() {
        let ledger = FakeLedger::new(sample_orgs());
        let mut by_seller = sample_plan("SUP-GB").spec;
        by_seller.due_date = date(2018, 1, 15);
        by_seller.order = doc_id("PO-7");
        ledger.seller_registers(&by_seller);
        let mut o = opts("CORE-SE");
        o.confirm = true;
        let report = run(&ledger, &paths(&["base-example.xml"]), &o).await;
        let (stage, reason, _) = rejection(&report.items[0]);
        assert_eq!(stage, Stage::Confirm);
        assert!(
            reason.contains("due date: file 2017-12-01, ledger 2018-01-15")
                && reason.contains("order: file PO-1, ledger PO-7")
                && reason.contains("nothing confirmed"),
            "{reason}"
        );
        assert_eq!(ledger.confirm_calls(), 0);
        assert_eq!(
            ledger.status_of(&by_seller.id),
            Some(InvoiceStatus::Registered)
        );
    }

    /// An invoice payable to someone else than its seller (assigned to a factor), a
    /// factored invoice (393) and a corrected one (384) are refused at the plan stage.
    #[tokio::test]
    async fn assigned_factored_and_corrected_invoices_are_refused_at_plan() {
        let payee = |ids: &'static str| {
            move |t: String| {
                t.replace(
                    "<cac:LegalMonetaryTotal>",
                    &format!("<cac:PayeeParty>{ids}</cac:PayeeParty><cac:LegalMonetaryTotal>"),
                )
            }
        };
        // Removed when dropped: a test leaves nothing behind in the temporary directory.
        let dir = tempfile::tempdir().unwrap();
        let factor = edited_sample(
            &dir,
            "payee-factor.xml",
            payee(
                "<cac:PartyIdentification><cbc:ID>FACTOR-NO-1</cbc:ID></cac:PartyIdentification>\
                   <cac:PartyName><cbc:Name>Nordic Factoring AS</cbc:Name></cac:PartyName>",
            ),
        );
        let itself = edited_sample(
            &dir,
            "payee-seller.xml",
            payee("<cac:PartyLegalEntity><cbc:CompanyID>GB1232434</cbc:CompanyID></cac:PartyLegalEntity>"),
        );
        let code = |c: &'static str| {
            move |t: String| {
                t.replace(
                    "<cbc:InvoiceTypeCode>380<",
                    &format!("<cbc:InvoiceTypeCode>{c}<"),
                )
            }
        };
        let factored = edited_sample(&dir, "type-393.xml", code("393"));
        let corrected = edited_sample(&dir, "type-384.xml", code("384"));
        let ledger = FakeLedger::new(sample_orgs());
        let files = [factor, factored, corrected, itself];
        let report = run(&ledger, &files, &opts("SUP-GB")).await;
        let expect = [
            ("cac:PayeeParty", "Nordic Factoring AS"),
            ("cbc:InvoiceTypeCode", "393 (factored invoice)"),
            ("cbc:InvoiceTypeCode", "384 (corrected invoice)"),
        ];
        for (item, (element, needle)) in report.items.iter().zip(expect) {
            let (stage, reason, at) = rejection(item);
            assert_eq!((stage, at), (Stage::Plan, Some(element)), "{reason}");
            assert!(reason.contains(needle), "{reason}");
        }
        assert!(
            matches!(report.items[3].outcome, Outcome::Registered { .. }),
            "a payee that is the seller is fine: {report}"
        );
        assert_eq!(ledger.register_calls(), 1);
    }

    /// Issue 12, Deliver 7: a corrected invoice (384) is refused, with the reason, while its
    /// original is live on the ledger, missing, or not named; once the seller voided the
    /// original it is imported like any invoice, and a re-run submits nothing.
    #[tokio::test]
    async fn a_corrected_invoice_is_imported_once_its_original_is_voided() {
        let ledger = FakeLedger::new(sample_orgs());
        let corrected = paths(&["corrected-384.xml"]);
        let parsed = parse_ubl(&fixture("corrected-384.xml")).unwrap();
        assert_eq!(parsed.type_code.as_deref(), Some("384"));
        assert_eq!(parsed.billing_references, ["Snippet1"]);
        assert_eq!(parsed.amount.to_fixed(), "1600.00");

        // No original on the ledger yet.
        let report = run(&ledger, &corrected, &opts("SUP-GB")).await;
        let (stage, reason, at) = rejection(&report.items[0]);
        assert_eq!((stage, at), (Stage::Plan, Some(BILLING_REFERENCE)));
        assert!(
            reason.contains("\"Snippet1\" of SUP-GB is not on the ledger"),
            "{reason}"
        );

        // The original is registered (live): still refused, naming it.
        let original = run(&ledger, &paths(&["base-example.xml"]), &opts("SUP-GB")).await;
        let Outcome::Registered { invoice: orig, .. } = &original.items[0].outcome else {
            panic!("{original}");
        };
        let report = run(&ledger, &corrected, &opts("SUP-GB")).await;
        let (stage, reason, _) = rejection(&report.items[0]);
        assert_eq!(stage, Stage::Plan);
        assert!(
            reason.contains(&format!("is {orig}, registered on the ledger, not voided"))
                && reason.contains("lianrong invoice void"),
            "{reason}"
        );
        assert_eq!(
            ledger.register_calls(),
            1,
            "nothing submitted for the correction"
        );

        // Voided by its seller: the correction is registered, once.
        ledger.void(orig);
        let report = run(&ledger, &corrected, &opts("SUP-GB")).await;
        let Outcome::Registered { invoice, .. } = &report.items[0].outcome else {
            panic!("{report}");
        };
        let spec = ledger.registered().last().unwrap().spec.clone();
        assert_eq!((&spec.id, spec.number.as_str()), (invoice, "Snippet1-C"));
        assert_eq!(spec.amount.to_fixed(), "1600.00");
        let again = run(&ledger, &corrected, &opts("SUP-GB")).await;
        assert!(
            matches!(again.items[0].outcome, Outcome::AlreadyOnLedger { .. }),
            "{again}"
        );
        assert_eq!(ledger.register_calls(), 2);
    }

    /// A 384 that names no original, or one that cannot be an invoice number, is refused
    /// at plan without asking the ledger; a failed lookup refuses it at the ledger stage
    /// (never submitted blind).
    #[tokio::test]
    async fn a_corrected_invoice_without_a_usable_original_is_refused() {
        let text = String::from_utf8(fixture("corrected-384.xml")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, body: String| {
            let p = dir.path().join(name);
            std::fs::write(&p, body).unwrap();
            p
        };
        let start = text.find("<cac:BillingReference>").unwrap();
        let end = text.find("</cac:BillingReference>").unwrap() + "</cac:BillingReference>".len();
        let unnamed = write(
            "no-reference.xml",
            format!("{}{}", &text[..start], &text[end..]),
        );
        let bad = write(
            "bad-reference.xml",
            text.replace("<cbc:ID>Snippet1</cbc:ID>", "<cbc:ID>发票 1</cbc:ID>"),
        );
        let ledger = FakeLedger::new(sample_orgs());
        let report = run(&ledger, &[unnamed, bad], &opts("SUP-GB")).await;
        let (stage, reason, at) = rejection(&report.items[0]);
        assert_eq!(
            (stage, at),
            (Stage::Plan, Some("cbc:InvoiceTypeCode")),
            "{reason}"
        );
        assert!(
            reason.contains("384 (corrected invoice) without an original"),
            "{reason}"
        );
        let (stage, reason, at) = rejection(&report.items[1]);
        assert_eq!(
            (stage, at),
            (Stage::Plan, Some(BILLING_REFERENCE)),
            "{reason}"
        );
        assert_eq!(ledger.state.lock().unwrap().lookups, 0);

        let mut down = FakeLedger::new(sample_orgs());
        down.fail_lookups = true;
        let report = run(&down, &paths(&["corrected-384.xml"]), &opts("SUP-GB")).await;
        let (stage, reason, _) = rejection(&report.items[0]);
        assert_eq!(stage, Stage::Ledger, "{reason}");
        assert!(reason.contains("original \"Snippet1\""), "{reason}");
        assert_eq!(down.register_calls(), 0);
    }

    /// A new Peppol user's seller prints a VAT number other than the registered tax id:
    /// reported at the plan stage, naming both.
    #[test]
    fn a_printed_seller_tax_id_other_than_the_registered_one_is_reported_at_plan() {
        let orgs = vec![
            org(
                "SUP-GB",
                "GB1232434",
                &[Role::Supplier],
                &["0088:9482348239847239874"],
            ),
            org("CORE-SE", "SE4598375937", &[Role::Core], &[]),
        ];
        let dir = PartyDirectory::new(orgs, &PartyMap::new()).unwrap();
        let text = String::from_utf8(fixture("base-example.xml"))
            .unwrap()
            .replace(">GB1232434<", ">GB7777777<");
        let inv = parse_ubl(text.as_bytes()).unwrap();
        let seller = dir.resolve(&inv.seller).unwrap().org;
        let buyer = dir.resolve(&inv.buyer).unwrap().org;
        let err = plan(&inv, seller, buyer, &opts("CORE-SE")).unwrap_err();
        assert!(matches!(err, PlanError::TaxIdDiffers { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("GB7777777") && text.contains("GB1232434") && text.contains("SUP-GB"),
            "{text}"
        );
        assert_eq!(
            err.element(),
            Some("cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID")
        );
    }

    // ---------------------------------------------------------------------------------------
    // Hostile input never panics

    mod never_panics {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig {
                cases: 512,
                // An integration test has no lib.rs next to it to store failures by.
                failure_persistence: None,
                ..ProptestConfig::default()
            })]

            #[test]
            fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
                let _ = parse_ubl(&bytes);
                let _ = parse_csv(&bytes);
                let _ = PartyMap::parse(&bytes);
            }

            #[test]
            fn mutated_samples(pos in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
                for name in ["base-example.xml", "invoices.csv"] {
                    let mut bytes = fixture(name);
                    let i = pos.index(bytes.len());
                    bytes[i] = byte;
                    let end = cut.index(bytes.len() + 1);
                    let _ = parse_ubl(&bytes[..end]);
                    let _ = parse_csv(&bytes[..end]);
                }
            }
        }
    }
}
