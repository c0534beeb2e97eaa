//! Who may read what (docs/domain.md, "Privacy"), written once for the node's API and the
//! explorer.
//!
//! - Banks and auditors read everything, unmasked.
//! - Any other org reads the documents it is a party to, whole: a party to an invoice sees
//!   both tax ids on it (it is its own contract).
//! - A document shown to a reader outside its parties (a later holder reading the lineage
//!   of its receivable: the root invoice, its ancestors) has every identifier masked.
//! - Org records are public within the network (names, roles, keys); their tax id and
//!   identifiers are masked for everyone but the org itself and its counterparties: the
//!   buyer and seller of an accepted order read each other's (each is a party to the
//!   order and its invoices, and puts the other's tax id on them), non-parties never.
//! - Transactions ([`tx_access`]): the signer's org, banks and auditors read one whole; a
//!   party to a document it touched reads it with every field named in
//!   [`SENSITIVE_FIELDS`] masked wherever it appears ([`mask_json`]), since its action and
//!   events may name other orgs' identifiers; anyone else does not see it.

use lianrong_contracts::model::{
    Financing, GovChange, Invoice, LimitScope, Loan, Offer, Order, Org, PendingApproval, Programme,
    Proposal, Receivable, Settlement, Shipment, WarehouseReceipt,
};
use lianrong_contracts::Action;
use lianrong_primitives::OrgId;
use serde_json::Value;

pub use lianrong_primitives::mask;

/// Who is reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reader {
    /// A bank or an auditor (or the explorer's own node token): everything, unmasked.
    Everything,
    /// Any other org.
    Org(OrgId),
}

impl Reader {
    /// True for banks and auditors.
    pub fn sees_everything(&self) -> bool {
        matches!(self, Reader::Everything)
    }

    /// True if the reader is this org.
    pub fn is(&self, org: &str) -> bool {
        matches!(self, Reader::Org(o) if o.as_str() == org)
    }

    /// May this reader see something whose parties are `parties`?
    pub fn may_see<'a>(&self, mut parties: impl Iterator<Item = &'a str>) -> bool {
        match self {
            Reader::Everything => true,
            Reader::Org(o) => parties.any(|p| p == o.as_str()),
        }
    }
}

/// Something with parties who read it whole, and identifiers masked for everyone else.
pub trait Document {
    /// The orgs party to it.
    fn parties(&self) -> Vec<&str>;
    /// Masks the identifiers a reader outside its parties must not read in full.
    fn mask_identifiers(&mut self);
}

/// The document if `reader` may read it (a party, a bank, an auditor), whole; `None`
/// otherwise, which callers show exactly like a missing document.
pub fn readable<T: Document>(reader: &Reader, doc: T) -> Option<T> {
    reader.may_see(doc.parties().into_iter()).then_some(doc)
}

/// True if `reader` may read `doc`.
pub fn may_read<T: Document>(reader: &Reader, doc: &T) -> bool {
    reader.may_see(doc.parties().into_iter())
}

/// The items `reader` may read. Every list goes through this.
pub fn filter<T: Document>(reader: &Reader, items: impl IntoIterator<Item = T>) -> Vec<T> {
    items
        .into_iter()
        .filter_map(|d| readable(reader, d))
        .collect()
}

/// A document shown to `reader` because something it may read leads there (the lineage
/// of a receivable it holds): whole for its parties, banks and auditors, masked for
/// anyone else.
pub fn seen_from_outside<T: Document>(reader: &Reader, mut doc: T) -> T {
    if !may_read(reader, &doc) {
        doc.mask_identifiers();
    }
    doc
}

/// An org record as `reader` sees it: public, with its identifiers masked unless the
/// reader is that org, a bank or an auditor, or its `counterparty` (the caller looks it up:
/// contract state key `trades/{reader}/{org}`, written when the seller accepts an order).
pub fn org_for(reader: &Reader, mut org: Org, counterparty: bool) -> Org {
    if !reader.sees_everything() && !reader.is(org.id.as_str()) && !counterparty {
        org.mask_identifiers();
    }
    org
}

impl Document for Org {
    /// An org is the only party to its own record.
    fn parties(&self) -> Vec<&str> {
        vec![self.id.as_str()]
    }
    fn mask_identifiers(&mut self) {
        self.tax_id = mask(&self.tax_id);
        self.identifiers = self.identifiers.iter().map(|i| mask(i)).collect();
    }
}

impl Document for Order {
    /// The buyer, the seller and the carriers it names (they attest its shipments).
    fn parties(&self) -> Vec<&str> {
        let mut v = vec![self.buyer.as_str(), self.seller.as_str()];
        v.extend(self.carriers.iter().map(OrgId::as_str));
        v
    }
    fn mask_identifiers(&mut self) {}
}

impl Document for Invoice {
    fn parties(&self) -> Vec<&str> {
        vec![self.seller.as_str(), self.buyer.as_str()]
    }
    fn mask_identifiers(&mut self) {
        self.seller_tax_id = mask(&self.seller_tax_id);
        self.buyer_tax_id = mask(&self.buyer_tax_id);
    }
}

impl Document for Receivable {
    fn parties(&self) -> Vec<&str> {
        vec![self.holder.as_str(), self.debtor.as_str()]
    }
    fn mask_identifiers(&mut self) {}
}

impl Document for Financing {
    /// The applicant and the invited banks (banks read everything anyway).
    fn parties(&self) -> Vec<&str> {
        let mut v = vec![self.applicant.as_str()];
        v.extend(self.banks.iter().map(OrgId::as_str));
        v
    }
    fn mask_identifiers(&mut self) {
        self.payment_ref = self.payment_ref.as_deref().map(mask);
        if let Some(d) = &mut self.disbursement {
            d.payment_ref = mask(&d.payment_ref);
        }
    }
}

impl Document for Programme {
    /// Its bank, its core enterprise and its eligible suppliers (the members are among
    /// them: a supplier reads the programmes it may join, and still reads one it left);
    /// banks and auditors read everything anyway.
    fn parties(&self) -> Vec<&str> {
        let mut v = vec![self.bank.as_str(), self.terms.core.as_str()];
        v.extend(self.terms.suppliers.iter().map(OrgId::as_str));
        v
    }
    fn mask_identifiers(&mut self) {}
}

/// A programme with its use, read like its record.
impl Document for crate::programmes::ProgrammeView {
    fn parties(&self) -> Vec<&str> {
        self.programme.parties()
    }
    fn mask_identifiers(&mut self) {}
}

/// A loan with its figures, read like its record.
impl Document for crate::loans::LoanView {
    fn parties(&self) -> Vec<&str> {
        self.loan.parties()
    }
    fn mask_identifiers(&mut self) {
        self.loan.mask_identifiers();
    }
}

impl Document for Settlement {
    /// The paying debtor and the payee (banks and auditors read everything anyway).
    fn parties(&self) -> Vec<&str> {
        vec![self.debtor.as_str(), self.payee.as_str()]
    }
    fn mask_identifiers(&mut self) {
        self.payment_ref = mask(&self.payment_ref);
    }
}

impl Document for PendingApproval {
    /// The org whose policy holds it: its approvals are its internal control (banks and
    /// auditors read everything anyway).
    fn parties(&self) -> Vec<&str> {
        vec![self.org.as_str()]
    }
    fn mask_identifiers(&mut self) {
        match &mut self.action {
            Action::RegisterInvoice { invoice, .. } => {
                invoice.seller_tax_id = mask(&invoice.seller_tax_id);
                invoice.buyer_tax_id = mask(&invoice.buyer_tax_id);
            }
            Action::Repay { payment_ref, .. }
            | Action::SettleRoot { payment_ref, .. }
            | Action::Disburse { payment_ref, .. }
            | Action::PaySale { payment_ref, .. } => *payment_ref = mask(payment_ref),
            _ => {}
        }
    }
}

impl Document for WarehouseReceipt {
    /// The warehouse, the owner, the pledgee and the bank offered the pledge.
    fn parties(&self) -> Vec<&str> {
        let mut v = vec![self.warehouse.as_str(), self.owner.as_str()];
        v.extend(self.pledgee.as_ref().map(OrgId::as_str));
        v.extend(self.pledge_offer.as_ref().map(OrgId::as_str));
        v
    }
    fn mask_identifiers(&mut self) {}
}

impl Document for lianrong_contracts::model::Sale {
    /// The selling and the buying bank (other banks and auditors read everything): the
    /// price is theirs.
    fn parties(&self) -> Vec<&str> {
        vec![self.seller.as_str(), self.buyer.as_str()]
    }
    fn mask_identifiers(&mut self) {
        if let Some(p) = self.payment.as_mut() {
            p.payment_ref = mask(&p.payment_ref);
        }
    }
}

/// A sale with its face and lapse, read like its record.
impl Document for crate::sales::SaleView {
    fn parties(&self) -> Vec<&str> {
        self.sale.parties()
    }
    fn mask_identifiers(&mut self) {
        self.sale.mask_identifiers();
    }
}

impl Document for Loan {
    /// The borrower and the lending bank (other banks and auditors read everything).
    fn parties(&self) -> Vec<&str> {
        vec![self.borrower.as_str(), self.bank.as_str()]
    }
    fn mask_identifiers(&mut self) {
        // Payment references are bank-account detail, like a repayment's.
        if let Some(d) = self.disbursement.as_mut() {
            d.payment_ref = mask(&d.payment_ref);
        }
        if let Some(p) = self.pending_repayment.as_mut() {
            p.payment_ref = mask(&p.payment_ref);
        }
    }
}

/// A shipment with its order's parties: the carrier and the order's buyer and seller
/// read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipmentOfOrder {
    /// The shipment.
    pub shipment: Shipment,
    /// Buyer and seller of its order (empty if the order is unknown).
    pub order_parties: Vec<OrgId>,
}

impl Document for ShipmentOfOrder {
    fn parties(&self) -> Vec<&str> {
        let mut v = vec![self.shipment.carrier.as_str()];
        v.extend(self.order_parties.iter().map(OrgId::as_str));
        v
    }
    fn mask_identifiers(&mut self) {}
}

/// An offer with its financing's applicant: the offering bank and the applicant read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferOfFinancing {
    /// The offer.
    pub offer: Offer,
    /// The applicant of the financing it answers (none if unknown).
    pub applicant: Option<OrgId>,
}

impl Document for OfferOfFinancing {
    fn parties(&self) -> Vec<&str> {
        let mut v = vec![self.offer.bank.as_str()];
        v.extend(self.applicant.as_ref().map(OrgId::as_str));
        v
    }
    fn mask_identifiers(&mut self) {}
}

impl Document for Proposal {
    /// The proposer, the orgs that approved it and the org the change is about (admitted,
    /// given or losing a key, running the validator added, given an issuance limit).
    fn parties(&self) -> Vec<&str> {
        let mut v = vec![self.proposer.as_str()];
        v.extend(self.approvals.iter().map(OrgId::as_str));
        match &self.change {
            GovChange::AdmitOrg(spec) => v.push(spec.id.as_str()),
            GovChange::AddMemberKey { org, .. } | GovChange::RevokeMemberKey { org, .. } => {
                v.push(org.as_str())
            }
            GovChange::AddValidator(val) => v.push(val.org.as_str()),
            GovChange::SetIssuanceLimit { debtor, .. } => v.push(debtor.as_str()),
            GovChange::SetParams(_) | GovChange::RemoveValidator { .. } => {}
        }
        v
    }
    /// An admission carries the new org's tax id and identifiers.
    fn mask_identifiers(&mut self) {
        if let GovChange::AdmitOrg(spec) = &mut self.change {
            spec.tax_id = mask(&spec.tax_id);
            spec.identifiers = spec.identifiers.iter().map(|i| mask(i)).collect();
        }
    }
}

/// A governance proposal as `reader` sees it: whole for banks, auditors, every org that
/// runs a validator (`runs_validator`: each is asked to vote on it, and judges an
/// admission by the tax id it names) and the proposal's parties; `None` for anyone else.
pub fn proposal_for(reader: &Reader, proposal: Proposal, runs_validator: bool) -> Option<Proposal> {
    if runs_validator || may_read(reader, &proposal) {
        Some(proposal)
    } else {
        None
    }
}

/// Who reads a credit limit and its use (`/v1/limits`, the CLI's `limit show|list`, the
/// explorer's risk view): banks and auditors every limit; a core enterprise its own
/// issuance limit; no one else any (a bank's limit on a supplier is its credit policy,
/// not the supplier's business).
///
/// Banks read other banks' exposure limits too, unlike what issue 15's design first
/// said: a bank reads every transaction whole (`SetExposureLimit` names the limit) and
/// every raw block (`lianrong audit` re-executes the chain), so hiding them here would
/// only pretend.
pub fn may_read_limit(reader: &Reader, scope: &LimitScope) -> bool {
    reader.may_see(limit_parties(scope).into_iter())
}

/// The orgs besides banks and auditors that read a limit: the debtor of its issuance
/// limit; nobody of an exposure or programme limit (a programme's parties read its use
/// on the programme itself).
fn limit_parties(scope: &LimitScope) -> Vec<&str> {
    match scope {
        LimitScope::Issuance { debtor } => vec![debtor.as_str()],
        LimitScope::Exposure { .. } | LimitScope::Programme { .. } => vec![],
    }
}

/// A held action as the API shows it: read like its record.
impl Document for crate::approvals::ApprovalView {
    fn parties(&self) -> Vec<&str> {
        self.approval.parties()
    }
    fn mask_identifiers(&mut self) {
        self.approval.mask_identifiers();
    }
}

/// A limit with its use, read as [`may_read_limit`] says (the explorer's filters take
/// it as a document).
impl Document for crate::limits::LimitView {
    fn parties(&self) -> Vec<&str> {
        limit_parties(&self.scope)
    }
    fn mask_identifiers(&mut self) {}
}

/// How a reader sees a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxAccess {
    /// As signed.
    Whole,
    /// With [`SENSITIVE_FIELDS`] masked.
    Masked,
    /// Not at all (answered like a missing transaction).
    Hidden,
}

/// The transaction rule: `party_to_touched` is whether the reader is a party to any
/// document the transaction touched (its receipt's events name them).
pub fn tx_access(reader: &Reader, signer_org: &str, party_to_touched: bool) -> TxAccess {
    if reader.sees_everything() || reader.is(signer_org) {
        TxAccess::Whole
    } else if party_to_touched {
        TxAccess::Masked
    } else {
        TxAccess::Hidden
    }
}

/// Field names whose values are identifiers, masked for restricted readers wherever they
/// appear in transactions, actions and events shown as JSON.
pub const SENSITIVE_FIELDS: [&str; 5] = [
    "tax_id",
    "seller_tax_id",
    "buyer_tax_id",
    "payment_ref",
    "identifiers",
];

/// Masks every [`SENSITIVE_FIELDS`] value anywhere inside a JSON value.
pub fn mask_json(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if SENSITIVE_FIELDS.contains(&k.as_str()) {
                    mask_json_strings(val);
                } else {
                    mask_json(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_json),
        _ => {}
    }
}

/// Masks a string, or each string of an array.
fn mask_json_strings(v: &mut Value) {
    match v {
        Value::String(s) => *s = mask(s),
        Value::Array(items) => {
            for i in items {
                if let Value::String(s) = i {
                    *s = mask(s);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lianrong_contracts::model::{DocId, InvoiceStatus, Role};
    use lianrong_contracts::money::Money;
    use lianrong_primitives::Hash;

    fn org_id(s: &str) -> OrgId {
        OrgId::new(s).unwrap()
    }

    fn reader(s: &str) -> Reader {
        Reader::Org(org_id(s))
    }

    fn invoice() -> Invoice {
        let day = |m| chrono::NaiveDate::from_ymd_opt(2026, m, 1).unwrap();
        let id = |s: &str| DocId::new(s).unwrap();
        Invoice {
            id: id("INV-1"),
            order: id("PO-1"),
            seller: org_id("SUP-1"),
            buyer: org_id("CORE-A"),
            number: "JN-1".into(),
            issue_date: day(1),
            due_date: day(4),
            maturity: None,
            proposed_maturity: None,
            amount: Money::parse("100.00", "CNY").unwrap(),
            seller_tax_id: "91310000MA1SUP0001".into(),
            buyer_tax_id: "91310000MA1COREA3X".into(),
            doc_hash: Hash::ZERO,
            fingerprint: Hash::ZERO,
            status: InvoiceStatus::Confirmed,
            receivable: Some(id("RCV-1")),
            dispute_reason: None,
            registered_by: org_id("CORE-A"),
        }
    }

    #[test]
    fn parties_banks_and_auditors_read_a_document_whole_others_not_at_all() {
        let inv = invoice();
        for r in [reader("SUP-1"), reader("CORE-A"), Reader::Everything] {
            assert_eq!(readable(&r, inv.clone()), Some(inv.clone()), "{r:?}");
        }
        assert_eq!(readable(&reader("SUP-3"), inv.clone()), None);
        assert_eq!(filter(&reader("SUP-3"), [inv.clone()]), vec![]);
    }

    #[test]
    fn a_document_seen_from_outside_its_parties_has_every_identifier_masked() {
        let inv = invoice();
        let tier2 = seen_from_outside(&reader("SUP-3"), inv.clone());
        assert_eq!(tier2.seller_tax_id, "9131************01");
        assert_eq!(tier2.buyer_tax_id, "9131************3X");
        for r in [reader("SUP-1"), reader("CORE-A"), Reader::Everything] {
            assert_eq!(seen_from_outside(&r, inv.clone()), inv, "{r:?}");
        }
    }

    #[test]
    fn org_records_are_public_with_identifiers_masked_for_others() {
        let org = Org {
            id: org_id("CORE-A"),
            name: "Core".into(),
            tax_id: "91310000MA1COREA3X".into(),
            roles: vec![Role::Core],
            identifiers: vec!["0088:1234567890".into()],
            keys: vec![],
            revoked_keys: vec![],
            admitted_at: 0,
        };
        let seen = org_for(&reader("SUP-1"), org.clone(), false);
        assert_eq!(seen.tax_id, "9131************3X");
        assert_eq!(seen.identifiers, ["0088*********90"]);
        assert_eq!(org_for(&Reader::Everything, org.clone(), false), org);
        assert_eq!(org_for(&reader("CORE-A"), org.clone(), false), org);
    }

    /// Issue 12 item 3: `invoice register` as CORE-A said SUP-1's tax id was masked for
    /// it, though CORE-A is the buyer on SUP-1's invoices. Counterparties read each
    /// other's tax id; anyone else still sees it masked.
    #[test]
    fn counterparties_read_each_others_tax_id_and_others_do_not() {
        let sup1 = Org {
            id: org_id("SUP-1"),
            name: "Jiangnan Components".into(),
            tax_id: "91330000MA25UP1060".into(),
            roles: vec![Role::Supplier],
            identifiers: vec![],
            keys: vec![],
            revoked_keys: vec![],
            admitted_at: 0,
        };
        assert_eq!(org_for(&reader("CORE-A"), sup1.clone(), true), sup1);
        assert_eq!(
            org_for(&reader("CORE-B"), sup1.clone(), false).tax_id,
            "9133************60"
        );
        // The invoice between them shows both tax ids to both, masked to a later holder.
        let inv = invoice();
        for r in [reader("SUP-1"), reader("CORE-A")] {
            let seen = readable(&r, inv.clone()).unwrap();
            assert_eq!(
                (seen.seller_tax_id.as_str(), seen.buyer_tax_id.as_str()),
                (inv.seller_tax_id.as_str(), inv.buyer_tax_id.as_str())
            );
        }
        assert!(seen_from_outside(&reader("SUP-3"), inv)
            .seller_tax_id
            .contains('*'));
    }

    #[test]
    fn a_transaction_is_whole_for_its_signer_masked_for_parties_hidden_from_others() {
        assert_eq!(
            tx_access(&reader("CORE-A"), "CORE-A", false),
            TxAccess::Whole
        );
        assert_eq!(
            tx_access(&Reader::Everything, "CORE-A", false),
            TxAccess::Whole
        );
        assert_eq!(
            tx_access(&reader("SUP-1"), "CORE-A", true),
            TxAccess::Masked
        );
        assert_eq!(
            tx_access(&reader("SUP-2"), "CORE-A", false),
            TxAccess::Hidden
        );
    }

    #[test]
    fn limits_are_read_by_banks_auditors_and_a_debtor_its_own_issuance_limit() {
        use lianrong_contracts::model::ExposureScope;
        let issuance = LimitScope::Issuance {
            debtor: org_id("CORE-A"),
        };
        let exposure = LimitScope::Exposure {
            bank: org_id("BANK-A"),
            scope: ExposureScope::Supplier,
            on: org_id("SUP-1"),
        };
        for scope in [&issuance, &exposure] {
            assert!(may_read_limit(&Reader::Everything, scope));
        }
        assert!(may_read_limit(&reader("CORE-A"), &issuance));
        for r in ["CORE-B", "SUP-1", "LOGI"] {
            assert!(!may_read_limit(&reader(r), &issuance), "{r}");
        }
        // The supplier a bank's limit is on does not read it, nor anyone else not reading
        // everything.
        for r in ["SUP-1", "CORE-A", "SUP-2"] {
            assert!(!may_read_limit(&reader(r), &exposure), "{r}");
        }
    }

    #[test]
    fn a_programme_is_read_by_its_bank_core_and_eligible_suppliers() {
        let p = crate::programmes::tests::programme("1000.00");
        for r in [
            reader("BANK-A"),
            reader("CORE-A"),
            reader("SUP-1"),
            reader("SUP-3"),
            Reader::Everything,
        ] {
            assert!(may_read(&r, &p), "{r:?}");
        }
        // Not eligible, or another core: not at all.
        for r in ["SUP-2", "CORE-B", "LOGI"] {
            assert!(!may_read(&reader(r), &p), "{r}");
        }
    }

    #[test]
    fn sensitive_json_fields_are_masked_at_any_depth() {
        let mut v = serde_json::json!({"RegisterInvoice": {"invoice": {
            "seller_tax_id": "91330000MA2SUP106X", "number": "FP-1"},
            "identifiers": ["0088:1234567890"]}, "payment_ref": "6222020200112233"});
        mask_json(&mut v);
        assert_eq!(
            v["RegisterInvoice"]["invoice"]["seller_tax_id"],
            "9133************6X"
        );
        assert_eq!(v["RegisterInvoice"]["invoice"]["number"], "FP-1");
        assert_eq!(v["RegisterInvoice"]["identifiers"][0], "0088*********90");
        assert_eq!(v["payment_ref"], "6222**********33");
    }
}
