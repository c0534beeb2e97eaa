//! `GET /openapi.json`: the OpenAPI 3.1 description of this API, generated from the
//! handlers' `#[utoipa::path]` annotations and the `lianrong-api-types` envelopes, so the
//! document cannot promise a route, a parameter or an answer the server does not have.

use utoipa::openapi::security::{ApiKey, ApiKeyValue};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::Modify;

/// The document's frame: title, description, authentication. The paths come from the
/// router (`super::router`).
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "LianRong node API",
        description = "Supply-chain finance ledger. Authenticate with 'Authorization: Bearer <token>' or sign the request with a member key (x-lianrong-key, x-lianrong-time, x-lianrong-signature over namespace 'lianrong/api/v1', the chain id, and 'HOST:PORT\\nMETHOD\\nPATH?QUERY\\nTIME', HOST:PORT being the node's address as sent in the Host header: a request signed for one node is refused by the others). Every error is {\"error\": {\"code\", \"message\"}}: 4xx for the caller's mistake, 5xx only for the node's own fault."
    ),
    modifiers(&Authentication),
    security(("bearer" = []), ("memberKey" = [])),
    tags(
        (name = "node", description = "the node itself"),
        (name = "transactions", description = "submitting and reading transactions"),
        (name = "blocks", description = "finalized blocks and their certificates"),
        (name = "documents", description = "ledger documents, as the caller may read them"),
        (name = "proofs", description = "Merkle proofs against a committed state root"),
        (name = "snapshots", description = "the state at a certified height, for a node that joins without replaying the chain"),
        (name = "events", description = "the live stream of finalized blocks")
    )
)]
pub struct ApiDoc;

/// The two ways to authenticate.
struct Authentication;

impl Modify for Authentication {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "memberKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-lianrong-signature"))),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::document;

    /// Every route the router serves is in the document, and nothing else.
    #[test]
    fn the_document_lists_exactly_the_routes_served() {
        let doc = document();
        let mut paths: Vec<&str> = doc["paths"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        paths.sort_unstable();
        assert_eq!(
            paths,
            [
                "/v1/approvals",
                "/v1/approvals/{id}",
                "/v1/blocks/latest",
                "/v1/blocks/{height}",
                "/v1/blocks/{height}/raw",
                "/v1/epochs",
                "/v1/events",
                "/v1/evidence",
                "/v1/financings/{id}",
                "/v1/invoices",
                "/v1/invoices/{id}",
                "/v1/keys/{public_key}",
                "/v1/limits",
                "/v1/limits/{org}",
                "/v1/loans",
                "/v1/loans/{id}",
                "/v1/offers/{id}",
                "/v1/orders/{id}",
                "/v1/orgs",
                "/v1/orgs/{id}",
                "/v1/programmes",
                "/v1/programmes/{id}",
                "/v1/proofs/{kind}/{id}",
                "/v1/proposals",
                "/v1/proposals/{id}",
                "/v1/receivables",
                "/v1/receivables/{id}",
                "/v1/receivables/{id}/history",
                "/v1/sales",
                "/v1/sales/{id}",
                "/v1/settlements/{id}",
                "/v1/shipments/{id}",
                "/v1/snapshot",
                "/v1/snapshot/{height}/history",
                "/v1/snapshot/{height}/state",
                "/v1/status",
                "/v1/transactions",
                "/v1/transactions/batch",
                "/v1/transactions/{hash}",
                "/v1/warehouse-receipts/{id}",
            ]
        );
    }

    /// Answers are described by the envelopes themselves: a field the node writes is in
    /// the schema, with its type.
    #[test]
    fn answers_are_described_by_the_envelope_types() {
        let doc = document();
        let status = &doc["components"]["schemas"]["Status"];
        for field in [
            "chain_id",
            "height",
            "validators",
            "peers",
            "round",
            "mempool",
            "sync",
        ] {
            assert!(
                status["properties"][field].is_object(),
                "Status.{field}: {status}"
            );
        }
        let block = &doc["components"]["schemas"]["BlockView"]["properties"];
        assert!(block["dropped_tx_hashes"].is_object(), "{block}");
        let submit = &doc["paths"]["/v1/transactions"]["post"];
        let content = &submit["requestBody"]["content"];
        assert!(
            content["application/json"].is_object()
                && content["application/octet-stream"].is_object()
        );
        assert_eq!(submit["parameters"][0]["name"], "wait");
        let filter = &doc["paths"]["/v1/receivables"]["get"]["parameters"];
        let names: Vec<&str> = filter
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["holder", "debtor", "status", "after", "limit"]);
    }
}
