//! The node API measured on the preloaded ledger: for each endpoint class a few hundred
//! requests, one at a time (latency, not throughput), over random targets, through the
//! SDK with the auditor's token (who reads everything, so list pages are never cut by
//! visibility and their counts can be checked against the tally).
//!
//! Lists by holder and by debtor are read from their first page and followed one page
//! by `next` (cursor paging); by status from a random cursor (`after=RCV-n`) deep in
//! the list; and each status list is walked to its end, counting every receivable.

use std::collections::BTreeMap;

use lianrong_contracts::model::{DocId, ReceivableStatus};
use lianrong_contracts::DocKind;
use lianrong_primitives::OrgId;
use lianrong_sdk::api_types::{ReceivableFilter, MAX_PAGE};
use lianrong_sdk::Client;

use super::plan::{core_id, sme_id, Plan};
use super::sample::{EndpointFigures, Rng, Sampler};
use super::tally::Tally;

/// Page size of the sampled list requests.
const PAGE: usize = 100;
/// Most pages a status walk reads (ten million receivables).
const MAX_WALK_PAGES: usize = 20_000;
/// The statuses the preload leaves receivables in.
pub const STATUSES: [(&str, ReceivableStatus); 3] = [
    ("active", ReceivableStatus::Active),
    ("split", ReceivableStatus::Split),
    ("settled", ReceivableStatus::Settled),
];

/// What the API measurement found.
pub struct ApiFigures {
    /// Per endpoint class.
    pub endpoints: Vec<EndpointFigures>,
    /// Receivables counted per status by walking each list to its end.
    pub counted: BTreeMap<String, u64>,
}

/// What a probe needs.
pub struct Probe<'a> {
    /// The node read (it has applied every preload block).
    pub api: &'a Client,
    /// The preload's shape.
    pub plan: &'a Plan,
    /// The expected ledger.
    pub tally: &'a Tally,
    /// Requests per class.
    pub samples: usize,
}

fn org(s: String) -> Option<OrgId> {
    OrgId::new(s).ok()
}

fn rcv(n: u64) -> Option<DocId> {
    DocId::new(format!("RCV-{n}")).ok()
}

impl Probe<'_> {
    /// Every class, one after the other.
    pub async fn run(&self) -> ApiFigures {
        let mut endpoints = vec![
            self.by_party(true).await,
            self.by_party(false).await,
            self.by_status_from_cursor().await,
        ];
        let (walk, counted) = self.walk_statuses().await;
        endpoints.push(walk);
        endpoints.push(self.lookups("receivable").await);
        endpoints.push(self.lookups("invoice").await);
        endpoints.push(self.lookups("order").await);
        endpoints.push(self.lookups("history").await);
        endpoints.push(self.lookups("proof").await);
        endpoints.push(self.lookups("history proof").await);
        endpoints.push(self.orgs_pages().await);
        ApiFigures { endpoints, counted }
    }

    /// First pages by holder (an SME) or debtor (a core), each followed one page on.
    async fn by_party(&self, holder: bool) -> EndpointFigures {
        let (name, n, seed) = if holder {
            (
                "GET /v1/receivables?holder=&limit=100[&after=]",
                self.plan.smes,
                1,
            )
        } else {
            (
                "GET /v1/receivables?debtor=&limit=100[&after=]",
                self.plan.cores,
                2,
            )
        };
        let mut s = Sampler::new(name);
        let mut rng = Rng::new(seed);
        while s.taken() < self.samples {
            let i = rng.below(n as u64) as usize;
            let id = if holder { sme_id(i) } else { core_id(i) };
            let counts = if holder {
                &self.tally.holder
            } else {
                &self.tally.debtor
            };
            let mut left = counts.get(&id).copied().unwrap_or(0);
            let mut f = ReceivableFilter {
                limit: Some(PAGE),
                ..Default::default()
            };
            if holder {
                f.holder = org(id.clone());
            } else {
                f.debtor = org(id.clone());
            }
            for _ in 0..2 {
                let Some(page) = s.time(self.api.receivables_page(&f)).await else {
                    break;
                };
                let want = left.min(PAGE as u64);
                s.count(&id, page.items.len() as u64, Some(want));
                left -= want;
                match page.next {
                    Some(next) if s.taken() < self.samples => f.after = Some(next),
                    _ => break,
                }
            }
        }
        s.finish()
    }

    /// A page of a random status from a random receivable on.
    async fn by_status_from_cursor(&self) -> EndpointFigures {
        let mut s = Sampler::new("GET /v1/receivables?status=&after=RCV-n&limit=100");
        let mut rng = Rng::new(3);
        let top = self.tally.max_receivable.max(1);
        while s.taken() < self.samples {
            let (_, status) = STATUSES[rng.below(STATUSES.len() as u64) as usize];
            let f = ReceivableFilter {
                status: Some(status),
                after: rcv(1 + rng.below(top)),
                limit: Some(PAGE),
                ..Default::default()
            };
            if let Some(page) = s.time(self.api.receivables_page(&f)).await {
                s.count("status page", page.items.len() as u64, None);
            }
        }
        s.finish()
    }

    /// Each status list from its first page to its last (pages of 500): every
    /// receivable counted once.
    async fn walk_statuses(&self) -> (EndpointFigures, BTreeMap<String, u64>) {
        let mut s = Sampler::new("GET /v1/receivables?status=&limit=500 (every page)");
        let mut counted = BTreeMap::new();
        for (name, status) in STATUSES {
            let mut f = ReceivableFilter {
                status: Some(status),
                limit: Some(MAX_PAGE),
                ..Default::default()
            };
            let mut total = 0u64;
            for _ in 0..MAX_WALK_PAGES {
                let Some(page) = s.time(self.api.receivables_page(&f)).await else {
                    break;
                };
                let n = page.items.len() as u64;
                total += n;
                s.count(name, n, None);
                match page.next {
                    Some(next) => f.after = Some(next),
                    None => break,
                }
            }
            let want = self.tally.in_status(name);
            if total != want {
                s.count(&format!("{name} list walked"), total, Some(want));
            }
            counted.insert(name.to_string(), total);
        }
        (s.finish(), counted)
    }

    /// One document (or its history, or a proof) per request, at random.
    async fn lookups(&self, what: &str) -> EndpointFigures {
        let name = match what {
            "receivable" => "GET /v1/receivables/{id}",
            "invoice" => "GET /v1/invoices/{id}",
            "order" => "GET /v1/orders/{id}",
            "history" => "GET /v1/receivables/{id}/history",
            "proof" => "GET /v1/proofs/receivable/{id}",
            _ => "GET /v1/proofs/receivable/{id}?of=history",
        };
        let mut s = Sampler::new(name);
        let mut rng = Rng::new(10 + what.len() as u64);
        let top = self.tally.max_receivable.max(1);
        let orders = self.plan.orders().max(1);
        while s.taken() < self.samples {
            let n = 1 + rng.below(top);
            let o = rng.below(orders);
            let j = rng.below(self.plan.invoices_of(o).max(1));
            let (Some(r), Ok(inv), Ok(po)) = (
                rcv(n),
                DocId::new(format!("IN-P{o}-{j}")),
                DocId::new(format!("PO-P{o}")),
            ) else {
                break;
            };
            let api = self.api;
            let id = r.as_str();
            let ok = match what {
                "receivable" => s.time(api.receivable(&r)).await.is_some(),
                "invoice" => s.time(api.invoice(&inv)).await.is_some(),
                "order" => s.time(api.order(&po)).await.is_some(),
                "history" => s.time(api.receivable_history(&r)).await.is_some(),
                "proof" => s.time(api.proof(DocKind::Receivable, id)).await.is_some(),
                _ => s
                    .time(api.history_proof(DocKind::Receivable, id))
                    .await
                    .is_some(),
            };
            s.count(what, u64::from(ok), None);
        }
        s.finish()
    }

    /// Pages of the org list from a random org on.
    async fn orgs_pages(&self) -> EndpointFigures {
        let mut s = Sampler::new("GET /v1/orgs?after=&limit=100");
        let mut rng = Rng::new(20);
        while s.taken() < self.samples {
            let after = org(sme_id(rng.below(self.plan.smes as u64) as usize));
            if let Some(p) = s.time(self.api.orgs_page(after.as_ref(), Some(PAGE))).await {
                s.count("orgs page", p.items.len() as u64, None);
            }
        }
        s.finish()
    }
}
