//! UBL 2.1 `Invoice` (Peppol BIS Billing 3.0) to [`ImportedInvoice`], streaming with
//! quick-xml and matching elements by namespace URI, never by prefix.

use lianrong_primitives::sha256;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use quick_xml::XmlVersion;

use super::error::{clip, ImportError};
use super::model::{
    IdKind, ImportedInvoice, PartyId, PartyRef, PartyRole, SourceFormat, MAX_BILLING_REFERENCES,
    MAX_PARTY_IDS,
};
use super::values::{parse_currency, parse_date, parse_payable};

/// Largest file accepted (4 MiB): a Peppol invoice with hundreds of lines is well below;
/// checked before the first byte is parsed.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;
/// Deepest element nesting accepted (UBL invoices nest about 8 deep).
pub const MAX_DEPTH: usize = 64;
/// Most elements accepted in one document.
pub const MAX_ELEMENTS: usize = 200_000;
/// Longest text kept from one element we read; longer values are refused, not cut.
const MAX_VALUE_CHARS: usize = 256;

const NS_INVOICE: &[u8] = b"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2";
const NS_CAC: &[u8] = b"urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2";
const NS_CBC: &[u8] = b"urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2";

const PAYABLE: &str = "cac:LegalMonetaryTotal/cbc:PayableAmount";
/// Where a referenced invoice's number sits (BT-25 in EN 16931).
pub const BILLING_REFERENCE: &str = "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID";

/// UNTDID 1001 document types that are credit notes (381 is the usual one; Peppol sends
/// them as `CreditNote` documents, but an ERP may mislabel an `Invoice`).
const CREDIT_NOTE_CODES: [&str; 11] = [
    "81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532",
];

/// The namespaces that matter; everything else (extensions, signatures) is skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    Cac,
    Cbc,
    Other,
}

/// An element below the root, by namespace and local name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tag {
    ns: Ns,
    name: String,
}

/// The elements this parser reads.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Number,
    IssueDate,
    DueDate,
    TypeCode,
    Currency,
    Order,
    BillingReference,
    Payable,
    /// Another amount in `cac:LegalMonetaryTotal`, checked for its currency only.
    OtherTotal(String),
    PartyId(PartyRole, IdKind),
    PartyName(PartyRole, bool),
}

/// The element being read: its target, depth, text so far and the attribute we need.
struct Capture {
    target: Target,
    depth: usize,
    text: String,
    attr: Option<String>,
}

/// What the document said, before validation.
#[derive(Default)]
struct Found {
    number: Option<String>,
    issue_date: Option<String>,
    due_date: Option<String>,
    type_code: Option<String>,
    currency: Option<String>,
    order: Option<String>,
    billing_references: Vec<String>,
    payable: Option<(String, Option<String>)>,
    other_totals: Vec<(String, Option<String>)>,
    seller: PartyFound,
    buyer: PartyFound,
    payee: PartyFound,
    seen_payee: bool,
    seen_supplier: bool,
    seen_customer: bool,
    seen_totals: bool,
}

#[derive(Default)]
struct PartyFound {
    ids: Vec<PartyId>,
    registration_name: Option<String>,
    trading_name: Option<String>,
    has_endpoint: bool,
    has_legal_id: bool,
}

fn malformed(position: u64, message: impl Into<String>) -> ImportError {
    ImportError::MalformedXml {
        position,
        message: message.into(),
    }
}

fn classify(res: &ResolveResult<'_>, position: u64) -> Result<(Ns, Vec<u8>), ImportError> {
    match res {
        ResolveResult::Bound(ns) if ns.0 == NS_CAC => Ok((Ns::Cac, ns.0.to_vec())),
        ResolveResult::Bound(ns) if ns.0 == NS_CBC => Ok((Ns::Cbc, ns.0.to_vec())),
        ResolveResult::Bound(ns) => Ok((Ns::Other, ns.0.to_vec())),
        ResolveResult::Unbound => Ok((Ns::Other, Vec::new())),
        ResolveResult::Unknown(p) => Err(malformed(
            position,
            format!(
                "unknown namespace prefix {:?}",
                clip(&String::from_utf8_lossy(p))
            ),
        )),
    }
}

/// Which element of interest the path below the root names, if any.
fn target_of(path: &[Tag]) -> Option<Target> {
    use Ns::{Cac, Cbc};
    let is = |t: &Tag, ns: Ns, name: &str| t.ns == ns && t.name == name;
    match path {
        [a] if a.ns == Cbc => match a.name.as_str() {
            "ID" => Some(Target::Number),
            "IssueDate" => Some(Target::IssueDate),
            "DueDate" => Some(Target::DueDate),
            "InvoiceTypeCode" => Some(Target::TypeCode),
            "DocumentCurrencyCode" => Some(Target::Currency),
            _ => None,
        },
        [a, b] if is(a, Cac, "OrderReference") && is(b, Cbc, "ID") => Some(Target::Order),
        [a, b, c]
            if is(a, Cac, "BillingReference")
                && is(b, Cac, "InvoiceDocumentReference")
                && is(c, Cbc, "ID") =>
        {
            Some(Target::BillingReference)
        }
        [a, b] if is(a, Cac, "LegalMonetaryTotal") && b.ns == Cbc => {
            if b.name == "PayableAmount" {
                Some(Target::Payable)
            } else {
                Some(Target::OtherTotal(b.name.clone()))
            }
        }
        [side, party, rest @ ..] if party.ns == Cac && party.name == "Party" && side.ns == Cac => {
            let role = match side.name.as_str() {
                "AccountingSupplierParty" => PartyRole::Seller,
                "AccountingCustomerParty" => PartyRole::Buyer,
                _ => return None,
            };
            party_target(role, rest)
        }
        // `cac:PayeeParty` is a party itself (no `cac:Party` inside).
        [payee, rest @ ..] if is(payee, Cac, "PayeeParty") => party_target(PartyRole::Payee, rest),
        _ => None,
    }
}

/// Which identifier or name of a party the path below the party element names.
fn party_target(role: PartyRole, rest: &[Tag]) -> Option<Target> {
    use Ns::{Cac, Cbc};
    let is = |t: &Tag, ns: Ns, name: &str| t.ns == ns && t.name == name;
    match rest {
        [x] if is(x, Cbc, "EndpointID") => Some(Target::PartyId(role, IdKind::EndpointId)),
        [x, y] if is(x, Cac, "PartyIdentification") && is(y, Cbc, "ID") => {
            Some(Target::PartyId(role, IdKind::PartyIdentification))
        }
        [x, y] if is(x, Cac, "PartyTaxScheme") && is(y, Cbc, "CompanyID") => {
            Some(Target::PartyId(role, IdKind::TaxCompanyId))
        }
        [x, y] if is(x, Cac, "PartyLegalEntity") && is(y, Cbc, "CompanyID") => {
            Some(Target::PartyId(role, IdKind::LegalCompanyId))
        }
        [x, y] if is(x, Cac, "PartyLegalEntity") && is(y, Cbc, "RegistrationName") => {
            Some(Target::PartyName(role, true))
        }
        [x, y] if is(x, Cac, "PartyName") && is(y, Cbc, "Name") => {
            Some(Target::PartyName(role, false))
        }
        _ => None,
    }
}

/// The attribute a target needs: `schemeID` on identifiers, `currencyID` on amounts.
fn wanted_attr(target: &Target) -> Option<&'static str> {
    match target {
        Target::PartyId(..) => Some("schemeID"),
        Target::Payable | Target::OtherTotal(_) => Some("currencyID"),
        _ => None,
    }
}

fn read_attr(e: &BytesStart<'_>, name: &str, position: u64) -> Result<Option<String>, ImportError> {
    let attr = e
        .try_get_attribute(name)
        .map_err(|err| malformed(position, err.to_string()))?;
    match attr {
        None => Ok(None),
        Some(a) => {
            let v = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| malformed(position, err.to_string()))?;
            Ok(Some(v.trim().to_string()))
        }
    }
}

fn set_once(slot: &mut Option<String>, value: String, element: &str) -> Result<(), ImportError> {
    if slot.is_some() {
        return Err(ImportError::Repeated {
            element: element.into(),
        });
    }
    *slot = Some(value);
    Ok(())
}

impl Found {
    fn party(&mut self, role: PartyRole) -> &mut PartyFound {
        match role {
            PartyRole::Seller => &mut self.seller,
            PartyRole::Buyer => &mut self.buyer,
            PartyRole::Payee => &mut self.payee,
        }
    }

    /// Stores a finished element's text.
    fn store(&mut self, c: Capture) -> Result<(), ImportError> {
        let text = c.text.trim().to_string();
        match c.target {
            Target::Number => set_once(&mut self.number, text, "cbc:ID"),
            Target::IssueDate => set_once(&mut self.issue_date, text, "cbc:IssueDate"),
            Target::DueDate => set_once(&mut self.due_date, text, "cbc:DueDate"),
            Target::TypeCode => set_once(&mut self.type_code, text, "cbc:InvoiceTypeCode"),
            Target::Currency => set_once(&mut self.currency, text, "cbc:DocumentCurrencyCode"),
            Target::Order => set_once(&mut self.order, text, "cac:OrderReference/cbc:ID"),
            Target::BillingReference => {
                if text.is_empty() {
                    return Ok(());
                }
                if self.billing_references.len() >= MAX_BILLING_REFERENCES {
                    return Err(ImportError::invalid(
                        BILLING_REFERENCE,
                        &text,
                        format!("is one reference too many (at most {MAX_BILLING_REFERENCES})"),
                    ));
                }
                self.billing_references.push(text);
                Ok(())
            }
            Target::Payable => {
                if self.payable.is_some() {
                    return Err(ImportError::Repeated {
                        element: PAYABLE.into(),
                    });
                }
                self.payable = Some((text, c.attr));
                Ok(())
            }
            Target::OtherTotal(name) => {
                // Bounded by the element limit; a Peppol total has at most 7 amounts.
                if self.other_totals.len() < 32 {
                    self.other_totals.push((name, c.attr));
                }
                Ok(())
            }
            Target::PartyId(role, kind) => {
                let r = PartyRef::new(role);
                let element = r.element(kind);
                let p = self.party(role);
                // A party has one electronic address and one legal entity; a second one
                // would make "which org is this" ambiguous.
                let single = match kind {
                    IdKind::EndpointId => &mut p.has_endpoint,
                    IdKind::LegalCompanyId => &mut p.has_legal_id,
                    _ => &mut false,
                };
                if *single {
                    return Err(ImportError::Repeated { element });
                }
                *single = true;
                if text.is_empty() {
                    return Ok(());
                }
                if p.ids.len() >= MAX_PARTY_IDS {
                    return Err(ImportError::invalid(
                        element,
                        &text,
                        format!("is one identifier too many (at most {MAX_PARTY_IDS} per party)"),
                    ));
                }
                p.ids.push(PartyId {
                    kind,
                    scheme: c.attr.filter(|s| !s.is_empty()),
                    value: text,
                });
                Ok(())
            }
            Target::PartyName(role, registration) => {
                let p = self.party(role);
                let slot = if registration {
                    &mut p.registration_name
                } else {
                    &mut p.trading_name
                };
                if slot.is_none() && !text.is_empty() {
                    *slot = Some(text);
                }
                Ok(())
            }
        }
    }
}

/// Parses one UBL 2.1 `Invoice` document.
///
/// Refuses, with the element at fault: input over [`MAX_FILE_BYTES`] (before reading it),
/// malformed or truncated XML, a `CreditNote` (or type code 381), a missing or repeated
/// required element, an unsupported currency, a payable amount that is zero, negative or
/// in another currency than `cbc:DocumentCurrencyCode`. `doc_hash` is SHA-256 of `bytes`
/// exactly as given.
pub fn parse_ubl(bytes: &[u8]) -> Result<ImportedInvoice, ImportError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ImportError::TooLarge {
            size: bytes.len() as u64,
            limit: MAX_FILE_BYTES as u64,
        });
    }
    let doc_hash = sha256(bytes);
    // Peppol requires UTF-8; checking up front lets the reader work on &str.
    let text = std::str::from_utf8(bytes)
        .map_err(|e| malformed(e.valid_up_to() as u64, "the file is not UTF-8 text"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let found = scan(text)?;
    build(found, doc_hash)
}

/// Where the walk over the document stands.
#[derive(Default)]
struct Scan {
    found: Found,
    /// Elements below the root (the root itself is checked separately).
    path: Vec<Tag>,
    capture: Option<Capture>,
    root_open: bool,
    root_done: bool,
    elements: usize,
}

impl Scan {
    /// A start or empty element: the root is checked, anything below it may start a
    /// capture.
    fn open(
        &mut self,
        e: &BytesStart<'_>,
        ns: Ns,
        ns_uri: &[u8],
        is_empty: bool,
        position: u64,
    ) -> Result<(), ImportError> {
        self.elements += 1;
        if self.elements > MAX_ELEMENTS {
            return Err(ImportError::TooManyElements {
                limit: MAX_ELEMENTS,
            });
        }
        let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
        if self.root_done {
            return Err(malformed(position, "content after the root element"));
        }
        if !self.root_open {
            check_root(&local, ns_uri)?;
            if is_empty {
                self.root_done = true;
            } else {
                self.root_open = true;
            }
            return Ok(());
        }
        // The new element sits at depth path.len() + 2, counting the root as 1.
        if self.path.len() + 2 > MAX_DEPTH {
            return Err(ImportError::TooDeep { limit: MAX_DEPTH });
        }
        self.path.push(Tag { ns, name: local });
        note_aggregate(&mut self.found, &self.path)?;
        if self.capture.is_none() {
            if let Some(target) = target_of(&self.path) {
                let attr = match wanted_attr(&target) {
                    Some(name) => read_attr(e, name, position)?,
                    None => None,
                };
                self.capture = Some(Capture {
                    target,
                    depth: self.path.len(),
                    text: String::new(),
                    attr,
                });
            }
        }
        if is_empty {
            self.close_element()?;
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), ImportError> {
        if self.path.is_empty() {
            self.root_open = false;
            self.root_done = true;
            Ok(())
        } else {
            self.close_element()
        }
    }

    fn close_element(&mut self) -> Result<(), ImportError> {
        finish(&mut self.found, &mut self.capture, self.path.len())?;
        self.path.pop();
        Ok(())
    }

    /// The capture whose element directly holds the text now being read, if any: text of
    /// nested elements does not belong to it.
    fn capture_here(&mut self) -> Option<&mut Capture> {
        let depth = self.path.len();
        self.capture.as_mut().filter(|c| c.depth == depth)
    }

    fn end_of_file(self, position: u64) -> Result<Found, ImportError> {
        if self.root_open {
            let open = self
                .path
                .last()
                .map(|t| t.name.clone())
                .unwrap_or_else(|| "Invoice".into());
            return Err(malformed(
                position,
                format!(
                    "unexpected end of file: <{}> is not closed (truncated?)",
                    clip(&open)
                ),
            ));
        }
        if !self.root_done {
            return Err(malformed(position, "no root element"));
        }
        Ok(self.found)
    }
}

/// Walks the document once, collecting the elements of interest.
fn scan(text: &str) -> Result<Found, ImportError> {
    let mut reader = NsReader::from_str(text);
    let mut scan = Scan::default();
    loop {
        let position = reader.buffer_position();
        let (res, event) = reader
            .read_resolved_event()
            .map_err(|e| malformed(position, e.to_string()))?;
        let (ns, ns_uri) = match &event {
            Event::Start(_) | Event::Empty(_) => classify(&res, position)?,
            _ => (Ns::Other, Vec::new()),
        };
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(event, Event::Empty(_));
                scan.open(e, ns, &ns_uri, is_empty, position)?;
            }
            Event::End(_) => scan.close()?,
            Event::Text(t) => {
                if !scan.root_open {
                    // Only white space may surround the root element.
                    if t.iter().any(|b| !b.is_ascii_whitespace()) {
                        return Err(malformed(position, "text outside the root element"));
                    }
                } else if let Some(c) = scan.capture_here() {
                    let s = t.decode().map_err(|e| malformed(position, e.to_string()))?;
                    push_text(c, &s)?;
                }
            }
            Event::CData(t) => {
                if let Some(c) = scan.capture_here() {
                    let s = t.decode().map_err(|e| malformed(position, e.to_string()))?;
                    push_text(c, &s)?;
                }
            }
            Event::GeneralRef(r) => {
                let resolved = resolve_ref(&r, position)?;
                if let Some(c) = scan.capture_here() {
                    push_text(c, &resolved)?;
                }
            }
            Event::DocType(_) => {
                // A DTD could declare entities; UBL never uses one, so refuse it outright.
                return Err(malformed(
                    position,
                    "a DOCTYPE is not allowed in an invoice",
                ));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => return scan.end_of_file(position),
        }
    }
}

/// Only the five predefined entities and character references exist in a document
/// without a DTD; anything else is not well-formed.
fn resolve_ref(r: &BytesRef<'_>, position: u64) -> Result<String, ImportError> {
    match r
        .resolve_char_ref()
        .map_err(|e| malformed(position, e.to_string()))?
    {
        Some(ch) => Ok(ch.to_string()),
        None => {
            let name = r.decode().map_err(|e| malformed(position, e.to_string()))?;
            match quick_xml::escape::resolve_predefined_entity(&name) {
                Some(s) => Ok(s.to_string()),
                None => Err(malformed(
                    position,
                    format!("unknown entity &{};", clip(&name)),
                )),
            }
        }
    }
}

fn check_root(local: &str, ns: &[u8]) -> Result<(), ImportError> {
    if local == "Invoice" && ns == NS_INVOICE {
        return Ok(());
    }
    if local == "CreditNote" {
        return Err(ImportError::CreditNote {
            element: "CreditNote (root element)".into(),
        });
    }
    Err(ImportError::NotAnInvoice {
        found: format!("{{{}}}{}", clip(&String::from_utf8_lossy(ns)), clip(local)),
    })
}

/// Refuses a second supplier, customer or monetary total: merging two would silently
/// pick one of two amounts or two parties.
fn note_aggregate(found: &mut Found, path: &[Tag]) -> Result<(), ImportError> {
    let [only] = path else { return Ok(()) };
    if only.ns != Ns::Cac {
        return Ok(());
    }
    let seen = match only.name.as_str() {
        "AccountingSupplierParty" => &mut found.seen_supplier,
        "AccountingCustomerParty" => &mut found.seen_customer,
        "LegalMonetaryTotal" => &mut found.seen_totals,
        "PayeeParty" => &mut found.seen_payee,
        _ => return Ok(()),
    };
    if *seen {
        return Err(ImportError::Repeated {
            element: format!("cac:{}", only.name),
        });
    }
    *seen = true;
    Ok(())
}

fn push_text(c: &mut Capture, s: &str) -> Result<(), ImportError> {
    if c.text.len() + s.len() > MAX_VALUE_CHARS * 4
        || c.text.chars().count() + s.chars().count() > MAX_VALUE_CHARS
    {
        let element = target_element(&c.target);
        return Err(ImportError::invalid(
            element,
            &c.text,
            format!("is longer than {MAX_VALUE_CHARS} characters"),
        ));
    }
    c.text.push_str(s);
    Ok(())
}

fn target_element(t: &Target) -> String {
    match t {
        Target::Number => "cbc:ID".into(),
        Target::IssueDate => "cbc:IssueDate".into(),
        Target::DueDate => "cbc:DueDate".into(),
        Target::TypeCode => "cbc:InvoiceTypeCode".into(),
        Target::Currency => "cbc:DocumentCurrencyCode".into(),
        Target::Order => "cac:OrderReference/cbc:ID".into(),
        Target::BillingReference => BILLING_REFERENCE.into(),
        Target::Payable => PAYABLE.into(),
        Target::OtherTotal(n) => format!("cac:LegalMonetaryTotal/cbc:{n}"),
        Target::PartyId(role, kind) => PartyRef::new(*role).element(*kind),
        Target::PartyName(role, true) => {
            format!(
                "{}/cac:PartyLegalEntity/cbc:RegistrationName",
                party_path(*role)
            )
        }
        Target::PartyName(role, false) => format!("{}/cac:PartyName/cbc:Name", party_path(*role)),
    }
}

fn party_path(role: PartyRole) -> &'static str {
    match role {
        PartyRole::Seller => "cac:AccountingSupplierParty/cac:Party",
        PartyRole::Buyer => "cac:AccountingCustomerParty/cac:Party",
        PartyRole::Payee => "cac:PayeeParty",
    }
}

/// Completes the capture if the element closing at `depth` is the one being read.
fn finish(
    found: &mut Found,
    capture: &mut Option<Capture>,
    depth: usize,
) -> Result<(), ImportError> {
    if capture.as_ref().is_some_and(|c| c.depth == depth) {
        if let Some(c) = capture.take() {
            found.store(c)?;
        }
    }
    Ok(())
}

fn required(v: Option<String>, element: &str) -> Result<String, ImportError> {
    v.filter(|s| !s.is_empty())
        .ok_or_else(|| ImportError::Missing {
            element: element.into(),
        })
}

fn party(role: PartyRole, p: PartyFound) -> PartyRef {
    PartyRef {
        role,
        name: p.registration_name.or(p.trading_name),
        ids: p.ids,
    }
}

/// Validates what was found and maps it to an [`ImportedInvoice`].
fn build(f: Found, doc_hash: lianrong_primitives::Hash) -> Result<ImportedInvoice, ImportError> {
    // First what kind of document it is: a credit note's other faults do not matter.
    if let Some(code) = f.type_code.as_deref() {
        if CREDIT_NOTE_CODES.contains(&code) {
            return Err(ImportError::CreditNote {
                element: format!("cbc:InvoiceTypeCode {code}"),
            });
        }
    }
    let number = required(f.number, "cbc:ID")?;
    let issue_date = parse_date("cbc:IssueDate", &required(f.issue_date, "cbc:IssueDate")?)?;
    let due_date = match f.due_date {
        Some(d) => Some(parse_date("cbc:DueDate", &d)?),
        None => None,
    };
    let currency = parse_currency(
        "cbc:DocumentCurrencyCode",
        &required(f.currency, "cbc:DocumentCurrencyCode")?,
    )?;
    let (payable, payable_currency) = f.payable.ok_or_else(|| ImportError::Missing {
        element: PAYABLE.into(),
    })?;
    let amount = parse_payable(PAYABLE, &payable, currency)?;
    let payable_currency = required(payable_currency, &format!("{PAYABLE}/@currencyID"))?;
    let totals = std::iter::once((PAYABLE.to_string(), Some(payable_currency))).chain(
        f.other_totals
            .into_iter()
            .map(|(n, c)| (format!("cac:LegalMonetaryTotal/cbc:{n}"), c)),
    );
    for (element, cur) in totals {
        if let Some(cur) = cur {
            if cur != currency.code() {
                return Err(ImportError::CurrencyMismatch {
                    element: format!("{element}/@currencyID"),
                    expected: currency.code().to_string(),
                    found: clip(&cur),
                });
            }
        }
    }
    if !f.seen_supplier {
        return Err(ImportError::Missing {
            element: "cac:AccountingSupplierParty".into(),
        });
    }
    if !f.seen_customer {
        return Err(ImportError::Missing {
            element: "cac:AccountingCustomerParty".into(),
        });
    }
    Ok(ImportedInvoice {
        format: SourceFormat::Ubl,
        number,
        issue_date,
        due_date,
        type_code: f.type_code.filter(|s| !s.is_empty()),
        amount,
        seller: party(PartyRole::Seller, f.seller),
        buyer: party(PartyRole::Buyer, f.buyer),
        payee: f.seen_payee.then(|| party(PartyRole::Payee, f.payee)),
        order: f.order.filter(|s| !s.is_empty()),
        billing_references: f.billing_references,
        ledger_id: None,
        doc_hash,
        line: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = r#"<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2" xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2">"#;

    fn minimal(extra: &str) -> String {
        format!(
            "{HEAD}<cbc:ID>A-1</cbc:ID><cbc:IssueDate>2026-01-02</cbc:IssueDate>\
             <cbc:DocumentCurrencyCode>CNY</cbc:DocumentCurrencyCode>\
             <cac:AccountingSupplierParty><cac:Party><cbc:EndpointID>S1</cbc:EndpointID></cac:Party></cac:AccountingSupplierParty>\
             <cac:AccountingCustomerParty><cac:Party><cbc:EndpointID>B1</cbc:EndpointID></cac:Party></cac:AccountingCustomerParty>\
             <cac:LegalMonetaryTotal><cbc:PayableAmount currencyID=\"CNY\">10.00</cbc:PayableAmount></cac:LegalMonetaryTotal>\
             {extra}</Invoice>"
        )
    }

    #[test]
    fn a_minimal_invoice_parses() {
        let inv = parse_ubl(minimal("").as_bytes()).unwrap();
        assert_eq!(inv.number, "A-1");
        assert_eq!(inv.amount.to_fixed(), "10.00");
        assert_eq!(inv.seller.ids.len(), 1);
        assert_eq!(inv.buyer.ids[0].value, "B1");
    }

    #[test]
    fn credit_note_type_codes_are_refused() {
        let typed = |code: &str| {
            minimal("").replace(
                "<cbc:IssueDate>",
                &format!("<cbc:InvoiceTypeCode>{code}</cbc:InvoiceTypeCode><cbc:IssueDate>"),
            )
        };
        for code in ["381", "396"] {
            assert_eq!(
                parse_ubl(typed(code).as_bytes()).unwrap_err(),
                ImportError::CreditNote {
                    element: format!("cbc:InvoiceTypeCode {code}")
                }
            );
        }
        assert!(parse_ubl(typed("380").as_bytes()).is_ok());
    }

    #[test]
    fn billing_references_are_read_in_document_order_and_bounded() {
        let one = |n: &str| {
            format!(
                "<cac:BillingReference><cac:InvoiceDocumentReference><cbc:ID> {n} </cbc:ID>\
                 <cbc:IssueDate>2026-01-01</cbc:IssueDate></cac:InvoiceDocumentReference>\
                 </cac:BillingReference>"
            )
        };
        let inv = parse_ubl(minimal(&format!("{}{}", one("A-0"), one("A-00"))).as_bytes()).unwrap();
        assert_eq!(inv.billing_references, ["A-0", "A-00"]);
        assert!(parse_ubl(minimal("").as_bytes())
            .unwrap()
            .billing_references
            .is_empty());
        let many: String = (0..=MAX_BILLING_REFERENCES)
            .map(|i| one(&format!("A-{i}")))
            .collect();
        let err = parse_ubl(minimal(&many).as_bytes()).unwrap_err();
        assert_eq!(err.element(), Some(BILLING_REFERENCE));
    }

    #[test]
    fn depth_limit_counts_the_root() {
        // MAX_DEPTH levels in all (root included) is fine; one more is refused.
        let nest = |n: usize| minimal(&format!("{}{}", "<x>".repeat(n), "</x>".repeat(n)));
        assert!(parse_ubl(nest(MAX_DEPTH - 1).as_bytes()).is_ok());
        assert_eq!(
            parse_ubl(nest(MAX_DEPTH).as_bytes()).unwrap_err(),
            ImportError::TooDeep { limit: MAX_DEPTH }
        );
    }

    #[test]
    fn text_may_be_split_by_comments_and_cdata() {
        let xml = minimal("").replace(
            "<cbc:ID>A-1</cbc:ID>",
            "<cbc:ID> A<!-- x -->-<![CDATA[1]]> </cbc:ID>",
        );
        assert_eq!(parse_ubl(xml.as_bytes()).unwrap().number, "A-1");
    }

    #[test]
    fn stray_text_and_second_roots_are_malformed() {
        for bad in [
            format!("junk{}", minimal("")),
            format!("{}<Invoice/>", minimal("")),
        ] {
            assert!(
                matches!(
                    parse_ubl(bad.as_bytes()),
                    Err(ImportError::MalformedXml { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn overlong_values_are_refused_not_cut() {
        let long = "9".repeat(MAX_VALUE_CHARS + 1);
        let xml = minimal("").replace(">S1<", &format!(">{long}<"));
        let err = parse_ubl(xml.as_bytes()).unwrap_err();
        assert_eq!(
            err.element(),
            Some("cac:AccountingSupplierParty/cac:Party/cbc:EndpointID")
        );
    }
}
