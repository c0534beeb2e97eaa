//! The node API's wire schema, written once: the node's handlers answer with these types,
//! the SDK, the bench and the explorer parse them, and the OpenAPI document describes them.
//!
//! - [`envelopes`]: every answer and request body of `/v1` and the `/v1/events` payloads
//!   (documents themselves are the contract records of `lianrong_contracts::model`).
//! - [`visibility`]: who may read which document, and what a reader outside a document's
//!   parties sees of it -- the one rule the node and the explorer both apply.

pub mod envelopes;
pub mod visibility;

pub use envelopes::*;
