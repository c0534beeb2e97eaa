//! Building, signing and submitting transactions for one member key.

use std::time::Duration;

use chrono::NaiveDate;

use lianrong_contracts::model::{DocId, ExposureScope, GovChange, ProgrammeTerms};
use lianrong_contracts::money::{Amount, Money, Quantity, Rate, Unit};
use lianrong_contracts::{Action, InvoiceSpec, Receipt, SignedTransaction, Transaction};
use lianrong_primitives::{Hash, OrgId, PublicKey};
use tokio::sync::Mutex;

use crate::client::Client;
use crate::committed::Committed;
use crate::error::SdkError;
use crate::key::MemberKey;

/// Most times one submission re-signs with another nonce after the node said the nonce
/// was used (by another process sharing the key).
const MAX_NONCE_RETRIES: u32 = 8;

#[derive(Debug)]
struct NonceState {
    next: u64,
    /// False when the last submission's fate is unknown (e.g. the connection dropped):
    /// the next one asks the node first.
    known: bool,
}

/// Signs and submits transactions for one member key: one typed method per action of
/// `lianrong_contracts::Action`, nonces managed for the caller, idempotent retries, and
/// finality awaited.
///
/// Submissions through one `Signer` are admitted in call order (a lock serialises
/// nonce assignment); share it behind an `Arc` rather than making two for one key.
///
/// ```no_run
/// use lianrong_sdk::{args, Auth, Client, MemberKey, Signer};
/// # async fn demo() -> Result<(), lianrong_sdk::SdkError> {
/// let key = MemberKey::load("/tmp/net/keys/SUP-1.json".as_ref())?;
/// let signer = Signer::new(Client::new("http://127.0.0.1:8080", Auth::Key(key.clone()))?, key).await?;
/// let done = signer.split_receivable(args::doc_id("RCV-1")?,
///     vec![args::amount("150000.00")?, args::amount("250000.00")?]).await?;
/// let part = done.created(lianrong_contracts::DocKind::Receivable);
/// println!("split in block {}: first part {part:?}", done.height);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Signer {
    client: Client,
    key: MemberKey,
    org: OrgId,
    chain_id: String,
    nonce: Mutex<NonceState>,
}

fn receipt_result(hash: Hash, height: u64, receipt: Receipt) -> Result<Committed, SdkError> {
    match receipt.outcome {
        Ok(events) => Ok(Committed {
            hash,
            height,
            events,
        }),
        Err(e) => Err(SdkError::Refused {
            hash,
            height,
            code: e.code().to_string(),
            message: e.to_string(),
        }),
    }
}

impl Signer {
    /// A signer for `key`: learns the chain id, the key's org (from the key file, else
    /// from the node) and its next nonce from the node.
    pub async fn new(client: Client, key: MemberKey) -> Result<Self, SdkError> {
        let chain_id = client.chain_id().await?;
        let info = match client.key_info(&key.public()).await {
            Ok(i) => Some(i),
            // A node without `/v1/keys` (or one that hides the key): fall back below.
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e),
        };
        let org = match (key.org(), &info) {
            (Some(o), _) => o.clone(),
            (None, Some(i)) => i.org.clone(),
            (None, None) => resolve_org(&client, &key.public()).await?,
        };
        if let Some(i) = &info {
            if i.org != org {
                return Err(SdkError::Invalid(format!(
                    "the key file says {org}, but the ledger registers this key to {}",
                    i.org
                )));
            }
            if !i.active {
                return Err(SdkError::Invalid(format!(
                    "member key {} of {org} was revoked",
                    key.public()
                )));
            }
        }
        Ok(Self {
            client,
            key,
            org,
            chain_id,
            nonce: Mutex::new(NonceState {
                next: info.as_ref().map_or(0, |i| i.next_nonce),
                known: info.is_some(),
            }),
        })
    }

    /// The org this signer acts for.
    pub fn org(&self) -> &OrgId {
        &self.org
    }

    /// The member key's public key.
    pub fn public_key(&self) -> PublicKey {
        self.key.public()
    }

    /// The chain id transactions are signed for.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// The client used.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Signs `action` with an explicit nonce (no submission; for offline signing).
    pub fn sign(&self, action: Action, nonce: u64) -> SignedTransaction {
        Transaction {
            chain_id: self.chain_id.clone(),
            signer: lianrong_contracts::Signer {
                org: self.org.clone(),
                key: self.key.public(),
            },
            nonce,
            action,
        }
        .sign(self.key.secret())
    }

    async fn fetch_nonce(&self) -> Result<u64, SdkError> {
        Ok(self.client.key_info(&self.key.public()).await?.next_nonce)
    }

    /// Assigns the next nonce, signs and gets the transaction admitted. With `wait`, the
    /// node is asked to answer only after finality.
    async fn admit(
        &self,
        action: Action,
        wait: bool,
    ) -> Result<(SignedTransaction, crate::SubmitResponse), SdkError> {
        let mut st = self.nonce.lock().await;
        if !st.known {
            st.next = self.fetch_nonce().await?;
            st.known = true;
        }
        let mut tries = 0;
        loop {
            let tx = self.sign(action.clone(), st.next);
            match self.client.submit_signed(&tx, wait).await {
                Ok(r) => {
                    st.next += 1;
                    return Ok((tx, r));
                }
                Err(e) if tries < MAX_NONCE_RETRIES => match e.code() {
                    // Used by a committed transaction of another process with this key:
                    // these bytes can never commit, so a new nonce is safe.
                    Some("stale_nonce" | "nonce_too_far") => {
                        st.next = self.fetch_nonce().await?;
                        tries += 1;
                    }
                    // Held by a pending transaction of another process: try the next.
                    Some("nonce_taken") => {
                        st.next += 1;
                        tries += 1;
                    }
                    _ => {
                        // After a transport failure the node may or may not hold the
                        // transaction: ask it next time instead of guessing.
                        if e.is_retryable() {
                            st.known = false;
                        }
                        return Err(e);
                    }
                },
                Err(e) => {
                    st.known = false;
                    return Err(e);
                }
            }
        }
    }

    /// Signs and submits `action`, waits for finality and returns what changed. A
    /// transaction the ledger refused is [`SdkError::Refused`] with the contract's code.
    pub async fn submit(&self, action: Action) -> Result<Committed, SdkError> {
        let (tx, r) = self.admit(action, true).await?;
        let hash = tx.hash();
        if let (Some(height), Some(receipt)) = (r.height, r.receipt) {
            return self.settle(receipt_result(hash, height, receipt));
        }
        self.wait(&hash).await
    }

    /// Signs and submits `action` without waiting for finality; returns its hash (see
    /// [`Signer::wait`]). Many of these in a row fill a block together.
    pub async fn submit_nowait(&self, action: Action) -> Result<Hash, SdkError> {
        let (tx, _) = self.admit(action, false).await?;
        Ok(tx.hash())
    }

    /// Submits every action in order without waiting, then waits for each. One result
    /// per action; an action that could not be admitted does not stop the rest.
    pub async fn submit_all(&self, actions: Vec<Action>) -> Vec<Result<Committed, SdkError>> {
        let mut admitted = Vec::with_capacity(actions.len());
        for a in actions {
            admitted.push(self.submit_nowait(a).await);
        }
        let mut out = Vec::with_capacity(admitted.len());
        for a in admitted {
            out.push(match a {
                Ok(h) => self.wait(&h).await,
                Err(e) => Err(e),
            });
        }
        out
    }

    /// Waits until the transaction `hash` is final and returns its outcome.
    pub async fn wait(&self, hash: &Hash) -> Result<Committed, SdkError> {
        let t = self.client.wait_for_commit(hash).await?;
        let receipt = t.receipt.ok_or_else(|| SdkError::BadResponse {
            url: format!("/v1/transactions/{hash}"),
            reason: "committed transaction without a receipt".into(),
        })?;
        self.settle(receipt_result(*hash, t.height, receipt))
    }

    /// A ledger refusal for a wrong nonce means this signer's count drifted: resync.
    fn settle(&self, r: Result<Committed, SdkError>) -> Result<Committed, SdkError> {
        if matches!(&r, Err(e) if e.code() == Some("wrong_nonce")) {
            if let Ok(mut st) = self.nonce.try_lock() {
                st.known = false;
            }
        }
        r
    }

    /// Time to wait for finality, from the client's options.
    pub fn commit_timeout(&self) -> Duration {
        self.client.options().commit_timeout
    }

    // --- one method per action ---

    /// Opens a governance proposal (validator orgs only).
    pub async fn propose(&self, change: GovChange) -> Result<Committed, SdkError> {
        self.submit(Action::Propose { change }).await
    }

    /// Approves a governance proposal (validator orgs only).
    pub async fn approve(&self, proposal: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::Approve { proposal }).await
    }

    /// Issues a purchase order to `seller` (`core`), naming the carriers (logistics
    /// orgs, at most 4, neither party) that may attest its shipments.
    pub async fn issue_order(
        &self,
        id: DocId,
        seller: OrgId,
        amount: Money,
        terms: String,
        doc_hash: Hash,
        carriers: Vec<OrgId>,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::IssueOrder {
            id,
            seller,
            amount,
            terms,
            doc_hash,
            carriers,
        })
        .await
    }

    /// Names one more carrier for an issued or accepted order (its buyer).
    pub async fn add_carrier(&self, order: DocId, carrier: OrgId) -> Result<Committed, SdkError> {
        self.submit(Action::AddCarrier { order, carrier }).await
    }

    /// Accepts an issued order (its seller).
    pub async fn accept_order(&self, order: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::AcceptOrder { order }).await
    }

    /// Cancels an order without invoices (its buyer).
    pub async fn cancel_order(&self, order: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::CancelOrder { order }).await
    }

    /// Marks an accepted, delivered order fulfilled (its buyer).
    pub async fn fulfil_order(&self, order: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::FulfilOrder { order }).await
    }

    /// Attests that goods worth `value` of an order shipped (a carrier the order names).
    pub async fn attest_shipment(
        &self,
        id: DocId,
        order: DocId,
        value: Money,
        doc_hash: Hash,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::AttestShipment {
            id,
            order,
            value,
            doc_hash,
        })
        .await
    }

    /// Attests delivery of a shipment (its carrier).
    pub async fn confirm_delivery(&self, shipment: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::ConfirmDelivery { shipment }).await
    }

    /// Issues a warehouse receipt for `quantity` (an amount in a unit) of `goods` held
    /// for `owner` in `lot` (`logistics`; one live receipt per lot of a warehouse).
    pub async fn issue_warehouse_receipt(
        &self,
        id: DocId,
        owner: OrgId,
        lot: String,
        goods: String,
        quantity: (Quantity, Unit),
        doc_hash: Hash,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::IssueWarehouseReceipt {
            id,
            owner,
            lot,
            goods,
            quantity: quantity.0,
            unit: quantity.1,
            doc_hash,
        })
        .await
    }

    /// Offers a warehouse receipt in pledge to a bank (its owner); pledged only once the
    /// bank accepts.
    pub async fn offer_pledge(&self, receipt: DocId, bank: OrgId) -> Result<Committed, SdkError> {
        self.submit(Action::OfferPledge { receipt, bank }).await
    }

    /// Accepts a pledge offered to this bank.
    pub async fn accept_pledge(&self, receipt: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::AcceptPledge { receipt }).await
    }

    /// Declines a pledge offered to this bank.
    pub async fn decline_pledge(&self, receipt: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::DeclinePledge { receipt }).await
    }

    /// Withdraws an unanswered pledge offer (the owner).
    pub async fn withdraw_pledge_offer(&self, receipt: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::WithdrawPledgeOffer { receipt }).await
    }

    /// Releases the pledge (the pledgee bank).
    pub async fn release_pledge(&self, receipt: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::ReleasePledge { receipt }).await
    }

    /// Instructs the warehouse to release the goods (the owner).
    pub async fn instruct_release(&self, receipt: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::InstructRelease { receipt }).await
    }

    /// Releases the goods (the warehouse; on the owner's instruction, not while pledged).
    pub async fn release_warehouse_receipt(&self, receipt: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::ReleaseWarehouseReceipt { receipt })
            .await
    }

    /// Posts this bank's price of one `unit` of `goods` (inventory finance).
    pub async fn post_price(
        &self,
        goods: String,
        unit: Unit,
        price: Money,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::PostPrice { goods, unit, price }).await
    }

    /// Asks the pledgee bank of `receipts` (their owner) for a loan of `amount`.
    pub async fn request_loan(
        &self,
        receipts: Vec<DocId>,
        amount: Money,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::RequestLoan { receipts, amount }).await
    }

    /// Offers terms on a requested loan (the bank): `rates` = (interest rate, ltv_max,
    /// margin-call LTV) in percent, `cure_days` after a call, `maturity`.
    pub async fn offer_loan(
        &self,
        loan: DocId,
        rates: (Rate, Rate, Rate),
        cure_days: u32,
        maturity: NaiveDate,
    ) -> Result<Committed, SdkError> {
        let (rate, ltv_max, margin_call_ltv) = rates;
        self.submit(Action::OfferLoan {
            loan,
            rate,
            ltv_max,
            margin_call_ltv,
            cure_days,
            maturity,
        })
        .await
    }

    /// Accepts the offered terms (the borrower).
    pub async fn accept_loan(&self, loan: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::AcceptLoan { loan }).await
    }

    /// Cancels a loan before its disbursement (borrower or bank).
    pub async fn cancel_loan(&self, loan: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::CancelLoan { loan }).await
    }

    /// Pays the principal (the bank).
    pub async fn disburse_loan(
        &self,
        loan: DocId,
        payment_ref: String,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::DisburseLoan { loan, payment_ref })
            .await
    }

    /// Acknowledges receiving the principal (the borrower).
    pub async fn acknowledge_loan_disbursement(&self, loan: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::AcknowledgeLoanDisbursement { loan })
            .await
    }

    /// Instructs a repayment of principal (the borrower); the bank acknowledges it.
    pub async fn repay_loan(
        &self,
        loan: DocId,
        amount: Amount,
        payment_ref: String,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::RepayLoan {
            loan,
            amount,
            payment_ref,
        })
        .await
    }

    /// Acknowledges the pending repayment (the bank): the balance falls.
    pub async fn acknowledge_loan_repayment(&self, loan: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::AcknowledgeLoanRepayment { loan }).await
    }

    /// Calls for margin (the bank; only while LTV is above the threshold).
    pub async fn margin_call(&self, loan: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::MarginCall { loan }).await
    }

    /// Adds a receipt pledged to the loan's bank to its security (the borrower).
    pub async fn top_up(&self, loan: DocId, receipt: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::TopUp { loan, receipt }).await
    }

    /// Takes one receipt out of the loan and its pledge (the borrower; 赎货).
    pub async fn release_goods(&self, loan: DocId, receipt: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::ReleaseGoods { loan, receipt }).await
    }

    /// Enforces after an uncured margin call's cure period (the bank).
    pub async fn enforce_loan(&self, loan: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::Enforce { loan }).await
    }

    /// Registers an invoice (seller or buyer); `confirm` also confirms it (buyer only).
    pub async fn register_invoice(
        &self,
        invoice: InvoiceSpec,
        confirm: bool,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::RegisterInvoice { invoice, confirm })
            .await
    }

    /// Confirms (确权) an invoice, creating a receivable maturing on `maturity` (its
    /// buyer; `None`: the maturity named at registration, else the due date). A maturity
    /// past the due date the seller did not name waits for the seller's acceptance.
    pub async fn confirm_invoice(
        &self,
        invoice: DocId,
        maturity: Option<NaiveDate>,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::ConfirmInvoice { invoice, maturity })
            .await
    }

    /// Accepts the maturity past the due date the buyer confirmed with (the seller): the
    /// receivable is created.
    pub async fn accept_maturity(&self, invoice: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::AcceptMaturity { invoice }).await
    }

    /// Disputes an invoice (its buyer).
    pub async fn dispute_invoice(
        &self,
        invoice: DocId,
        reason: String,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::DisputeInvoice { invoice, reason })
            .await
    }

    /// Voids a registered or disputed invoice (its seller).
    pub async fn void_invoice(&self, invoice: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::VoidInvoice { invoice }).await
    }

    /// Splits a receivable into parts summing exactly to its face (its holder).
    pub async fn split_receivable(
        &self,
        receivable: DocId,
        parts: Vec<Amount>,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::SplitReceivable { receivable, parts })
            .await
    }

    /// Transfers a receivable to another org (its holder).
    pub async fn transfer_receivable(
        &self,
        receivable: DocId,
        to: OrgId,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::TransferReceivable { receivable, to })
            .await
    }

    /// Asks named banks for financing on a receivable (its holder).
    pub async fn request_financing(
        &self,
        receivable: DocId,
        banks: Vec<OrgId>,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::RequestFinancing { receivable, banks })
            .await
    }

    /// Cancels a financing request not yet accepted (the holder).
    pub async fn cancel_financing(&self, financing: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::CancelFinancing { financing }).await
    }

    /// Offers an annual discount rate (percent) and flat fees, valid through the
    /// business date `valid_until` (an invited bank).
    pub async fn offer_financing(
        &self,
        financing: DocId,
        rate: Rate,
        fees: Amount,
        valid_until: NaiveDate,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::OfferFinancing {
            financing,
            rate,
            fees,
            valid_until,
        })
        .await
    }

    /// Withdraws an open offer (its bank).
    pub async fn withdraw_offer(&self, offer: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::WithdrawOffer { offer }).await
    }

    /// Accepts an offer; other open offers are withdrawn (the holder).
    pub async fn accept_offer(&self, offer: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::AcceptOffer { offer }).await
    }

    /// Abandons an accepted financing before paying (the accepted bank).
    pub async fn abandon_financing(&self, financing: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::AbandonFinancing { financing }).await
    }

    /// Records the bank's payment of exactly the net counted from today's business date
    /// (the value date) to maturity (the accepted bank).
    pub async fn disburse(
        &self,
        financing: DocId,
        payment_ref: String,
        net: Amount,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::Disburse {
            financing,
            payment_ref,
            net,
        })
        .await
    }

    /// Acknowledges receiving a disbursement's net amount (the applicant).
    pub async fn acknowledge_disbursement(&self, financing: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::AcknowledgeDisbursement { financing })
            .await
    }

    /// Disputes a disbursement (the applicant).
    pub async fn dispute_disbursement(
        &self,
        financing: DocId,
        reason: String,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::DisputeDisbursement { financing, reason })
            .await
    }

    /// Sets (or with `None` removes) the bank's own exposure limit on a core enterprise
    /// (`ExposureScope::Debtor`) or a supplier (`ExposureScope::Supplier`) (banks only).
    pub async fn set_exposure_limit(
        &self,
        on: OrgId,
        scope: ExposureScope,
        limit: Option<Money>,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::SetExposureLimit { on, scope, limit })
            .await
    }

    /// Sets up a supply-chain finance programme with a core enterprise (a bank; `PRG-n`,
    /// see [`Committed::created`]); active once the core accepts it.
    pub async fn create_programme(&self, terms: ProgrammeTerms) -> Result<Committed, SdkError> {
        self.submit(Action::CreateProgramme { terms }).await
    }

    /// Accepts a programme set up with the signer's org as its core enterprise.
    pub async fn accept_programme(&self, programme: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::AcceptProgramme { programme }).await
    }

    /// Joins an active programme the signer's org is eligible for (a supplier).
    pub async fn join_programme(&self, programme: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::JoinProgramme { programme }).await
    }

    /// Leaves a programme (a member supplier); its financings run their course.
    pub async fn leave_programme(&self, programme: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::LeaveProgramme { programme }).await
    }

    /// Removes a member supplier from the signer's programme (its bank).
    pub async fn remove_from_programme(
        &self,
        programme: DocId,
        supplier: OrgId,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::RemoveFromProgramme {
            programme,
            supplier,
        })
        .await
    }

    /// Closes the signer's programme (its bank): no new financing under it.
    pub async fn close_programme(&self, programme: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::CloseProgramme { programme }).await
    }

    /// Asks for financing of a receivable under a programme (its holder, a member): with
    /// auto-offer the grid's offer is among the events (`OfferMade`).
    pub async fn request_programme_financing(
        &self,
        receivable: DocId,
        programme: DocId,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::RequestProgrammeFinancing {
            receivable,
            programme,
        })
        .await
    }

    /// Proposes a core enterprise's issuance limit (or with `None` its removal): a
    /// governance change, applied once a quorum of validator orgs approved it.
    pub async fn propose_issuance_limit(
        &self,
        debtor: OrgId,
        limit: Option<Money>,
    ) -> Result<Committed, SdkError> {
        self.propose(GovChange::SetIssuanceLimit { debtor, limit })
            .await
    }

    /// Instructs a payment to `payee`, the receivable's holder (the debtor): a pending
    /// settlement until the payee acknowledges it.
    pub async fn repay(
        &self,
        receivable: DocId,
        payee: OrgId,
        amount: Amount,
        payment_ref: String,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::Repay {
            receivable,
            payee,
            amount,
            payment_ref,
        })
        .await
    }

    /// Maturity settlement (清分): pays every current holder of a root's live parts
    /// their outstanding amounts under one reference (the debtor).
    pub async fn settle_root(
        &self,
        root: DocId,
        payment_ref: String,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::SettleRoot { root, payment_ref }).await
    }

    /// Acknowledges receiving a settlement; only now the outstanding amount falls (the
    /// payee).
    pub async fn acknowledge_settlement(&self, settlement: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::AcknowledgeSettlement { settlement })
            .await
    }

    /// Disputes a settlement; nothing is repaid (the payee).
    pub async fn dispute_settlement(
        &self,
        settlement: DocId,
        reason: String,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::DisputeSettlement { settlement, reason })
            .await
    }

    /// Records a disbursed financing's registration number in the PBoC movable-property
    /// financing registry (中登网) (the funding bank, once).
    pub async fn record_registration(
        &self,
        financing: DocId,
        number: String,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::RecordRegistration { financing, number })
            .await
    }

    /// Approves an action of this org held for another member key (`APR-n`); it
    /// executes once the org's policy is met.
    pub async fn approve_action(&self, approval: DocId) -> Result<Committed, SdkError> {
        self.submit(Action::ApproveAction { approval }).await
    }

    /// Rejects an action of this org held for approval.
    pub async fn reject_action(
        &self,
        approval: DocId,
        reason: String,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::RejectAction { approval, reason }).await
    }

    /// Replaces (or with `None` removes) this org's approval policy.
    pub async fn set_approval_policy(
        &self,
        policy: Option<lianrong_contracts::model::ApprovalPolicy>,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::SetApprovalPolicy { policy }).await
    }

    /// Names the actions one of this org's member keys may sign (`None`: every action).
    pub async fn set_key_scopes(
        &self,
        key: PublicKey,
        scopes: Option<Vec<String>>,
    ) -> Result<Committed, SdkError> {
        self.submit(Action::SetKeyScopes { key, scopes }).await
    }
}

/// Finds the org whose active keys include `key` (for key files without an `org`).
async fn resolve_org(client: &Client, key: &PublicKey) -> Result<OrgId, SdkError> {
    let orgs = client.orgs().await?;
    orgs.into_iter()
        .find(|o| o.keys.contains(key))
        .map(|o| o.id)
        .ok_or_else(|| {
            SdkError::Invalid(format!("no admitted organisation holds member key {key}"))
        })
}
