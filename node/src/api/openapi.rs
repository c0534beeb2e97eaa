//! `GET /openapi.json`: the OpenAPI 3 description of this API.

use axum::Json;
use serde_json::{json, Value};

fn op(summary: &str, tag: &str) -> Value {
    json!({
        "summary": summary,
        "tags": [tag],
        "security": [{"bearer": []}, {"memberKey": []}],
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {}}},
            "400": {"$ref": "#/components/responses/Error"},
            "401": {"$ref": "#/components/responses/Error"},
            "404": {"$ref": "#/components/responses/Error"}
        }
    })
}

fn id_param(name: &str) -> Value {
    json!([{"name": name, "in": "path", "required": true, "schema": {"type": "string"}}])
}

/// The document.
pub fn spec() -> Value {
    let mut get_tx = op("A committed transaction with its receipt", "transactions");
    get_tx["parameters"] = id_param("hash");
    let mut submit = op("Submit a signed transaction", "transactions");
    submit["parameters"] = json!([{"name": "wait", "in": "query", "schema": {"type": "string", "enum": ["commit"]}, "description": "answer after finality, with the receipt"}]);
    submit["requestBody"] = json!({"required": true, "content": {
        "application/json": {"schema": {"type": "object", "required": ["tx"], "properties": {"tx": {"type": "string", "description": "hex of the canonical signed transaction"}}}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
    }});
    submit["responses"]["202"] = json!({"description": "admitted, pending"});
    submit["responses"]["409"] = json!({"$ref": "#/components/responses/Error"});
    submit["responses"]["413"] = json!({"$ref": "#/components/responses/Error"});
    let mut submit_batch = op(
        "Submit up to 512 signed transactions; one result per transaction, in order",
        "transactions",
    );
    submit_batch["requestBody"] = json!({"required": true, "content": {
        "application/json": {"schema": {"type": "object", "required": ["txs"], "properties": {"txs": {"type": "array", "maxItems": 512, "items": {"type": "string", "description": "hex of a canonical signed transaction"}}}}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary", "description": "canonical encoding of the list (the block payload format)"}}
    }});
    submit_batch["responses"]["200"] = json!({"description": "per transaction: {hash, status: pending} or {hash, status: refused, code, message}"});
    let doc = |summary: &str, tag: &str| {
        let mut o = op(summary, tag);
        o["parameters"] = id_param("id");
        o
    };
    let mut key_info = op(
        "A member key's org, active flag and next nonce (own org's keys; banks and auditors: all)",
        "transactions",
    );
    key_info["parameters"] = id_param("public_key");
    let mut block = op(
        "A block with its commit certificate: `tx_hashes` lists the transactions it executed, `dropped_tx_hashes` those of its payload dropped before execution (signature failed: a faulty proposer's)",
        "blocks",
    );
    block["parameters"] = json!([{"name": "height", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}]);
    let mut receivables = op("Receivables by holder, debtor and status", "documents");
    receivables["parameters"] = json!([
        {"name": "holder", "in": "query", "schema": {"type": "string"}},
        {"name": "debtor", "in": "query", "schema": {"type": "string"}},
        {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["active", "overdue", "split", "settled"]}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 500}}
    ]);
    let mut invoices = op(
        "The invoice registered under a fingerprint (a list of zero or one)",
        "documents",
    );
    invoices["parameters"] = json!([
        {"name": "fingerprint", "in": "query", "required": true, "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}
    ]);
    let mut proof = op(
        "Merkle proof of a document against the latest state root",
        "proofs",
    );
    proof["parameters"] = json!([
        {"name": "kind", "in": "path", "required": true, "schema": {"type": "string", "enum": ["org", "proposal", "order", "shipment", "warehouse_receipt", "invoice", "receivable", "financing", "offer"]}},
        {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}
    ]);
    let mut events = op(
        "Server-sent events: one `block` event per finalized block",
        "events",
    );
    events["responses"]["200"] =
        json!({"description": "event stream", "content": {"text/event-stream": {}}});
    json!({
        "openapi": "3.0.3",
        "info": {"title": "LianRong node API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Supply-chain finance ledger. Authenticate with 'Authorization: Bearer <token>' or sign the request with a member key (x-lianrong-key, x-lianrong-time, x-lianrong-signature over namespace 'lianrong/api/v1', the chain id, and 'METHOD\\nPATH?QUERY\\nTIME')."},
        "paths": {
            "/v1/status": {"get": op("Chain id, height, validators, peers, sync state", "node")},
            "/v1/transactions": {"post": submit},
            "/v1/transactions/batch": {"post": submit_batch},
            "/v1/transactions/{hash}": {"get": get_tx},
            "/v1/blocks/latest": {"get": op("The latest finalized block", "blocks")},
            "/v1/blocks/{height}": {"get": block},
            "/v1/orgs": {"get": op("All organisations (tax ids masked for others)", "documents")},
            "/v1/orgs/{id}": {"get": doc("An organisation", "documents")},
            "/v1/keys/{public_key}": {"get": key_info},
            "/v1/orders/{id}": {"get": doc("A purchase order", "documents")},
            "/v1/shipments/{id}": {"get": doc("A shipment", "documents")},
            "/v1/warehouse-receipts/{id}": {"get": doc("A warehouse receipt", "documents")},
            "/v1/invoices": {"get": invoices},
            "/v1/invoices/{id}": {"get": doc("An invoice", "documents")},
            "/v1/receivables": {"get": receivables},
            "/v1/receivables/{id}": {"get": doc("A receivable", "documents")},
            "/v1/receivables/{id}/history": {"get": doc("Lineage and every step with tx, signer, block", "documents")},
            "/v1/financings/{id}": {"get": doc("A financing", "documents")},
            "/v1/offers/{id}": {"get": doc("A bank's offer", "documents")},
            "/v1/proofs/{kind}/{id}": {"get": proof},
            "/v1/events": {"get": events},
            "/metrics": {"get": {"summary": "Prometheus metrics", "tags": ["node"], "responses": {"200": {"description": "text format"}}}}
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "memberKey": {"type": "apiKey", "in": "header", "name": "x-lianrong-signature"}
            },
            "responses": {"Error": {"description": "error", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"error": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}
            }}}}}
        }
    })
}

/// `GET /openapi.json`.
pub async fn document() -> Json<Value> {
    Json(spec())
}
