//! OpenAPI schemas of path and query values the node reads as text but accepts only from
//! a fixed set (feature `openapi`). Each is built from the type the node parses with, so
//! the document names exactly the values the server takes: a value outside it is a 400,
//! one inside it never is.

use lianrong_contracts::model::ReceivableStatus;
use lianrong_contracts::DocKind;
use utoipa::openapi::schema::{
    KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::RefOr;

/// A string schema allowing exactly `values`.
fn one_of(values: impl IntoIterator<Item = String>, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .description(Some(description))
        .into()
}

/// A document kind in a URL (`/v1/proofs/{kind}/{id}`): [`DocKind::as_str`] of each kind.
pub struct DocKindName;

impl utoipa::PartialSchema for DocKindName {
    fn schema() -> RefOr<Schema> {
        one_of(
            DocKind::ALL.iter().map(|k| k.as_str().to_string()),
            "document kind",
        )
    }
}

impl utoipa::ToSchema for DocKindName {}

/// A receivable status in a query (`?status=`): its JSON name.
pub struct ReceivableStatusName;

impl utoipa::PartialSchema for ReceivableStatusName {
    fn schema() -> RefOr<Schema> {
        one_of(
            ReceivableStatus::ALL.iter().map(|s| {
                serde_json::to_value(s)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            }),
            "receivable status",
        )
    }
}

impl utoipa::ToSchema for ReceivableStatusName {}

/// One server-sent event of `GET /v1/events` (an OpenAPI 3.1 `text/event-stream` schema
/// describes each event: its `event` name and `data`): a `block` with a [`crate::BlockNotice`]
/// as JSON, `lagged` with how many blocks the subscriber missed, or `revoked`, after which
/// the stream ends.
pub struct StreamEvent;

impl utoipa::PartialSchema for StreamEvent {
    fn schema() -> RefOr<Schema> {
        use crate::event_names::{BLOCK, LAGGED, REVOKED};
        let event = |name: &str, data: ObjectBuilder| -> Schema {
            ObjectBuilder::new()
                .property(
                    "event",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some([name])),
                )
                .property("data", data.schema_type(Type::String))
                .required("event")
                .required("data")
                .into()
        };
        OneOfBuilder::new()
            .item(event(
                BLOCK,
                ObjectBuilder::new()
                    .content_media_type("application/json")
                    .description(Some("a BlockNotice as JSON")),
            ))
            .item(event(
                LAGGED,
                ObjectBuilder::new()
                    .pattern(Some("^[0-9]+$"))
                    .description(Some("how many blocks the subscriber skipped")),
            ))
            .item(event(REVOKED, ObjectBuilder::new()))
            .into()
    }
}

impl utoipa::ToSchema for StreamEvent {}

/// A request body of raw bytes (`application/octet-stream`): a signed transaction, or a
/// list of them, in the canonical encoding.
pub struct RawBytes;

impl utoipa::PartialSchema for RawBytes {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .description(Some("the canonical encoding"))
            .into()
    }
}

impl utoipa::ToSchema for RawBytes {}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::PartialSchema;

    fn values(schema: RefOr<Schema>) -> Vec<String> {
        let v = serde_json::to_value(schema).unwrap();
        serde_json::from_value(v["enum"].clone()).unwrap()
    }

    /// The lists the schemas are built from hold every variant (a new variant fails to
    /// compile here until it is listed), and every listed name parses back.
    #[test]
    fn every_kind_and_status_is_listed_and_parses() {
        let kind_index = |k: DocKind| match k {
            DocKind::Org => 0,
            DocKind::Proposal => 1,
            DocKind::Order => 2,
            DocKind::Shipment => 3,
            DocKind::WarehouseReceipt => 4,
            DocKind::Invoice => 5,
            DocKind::Receivable => 6,
            DocKind::Financing => 7,
            DocKind::Offer => 8,
            DocKind::Settlement => 9,
            DocKind::Approval => 10,
            DocKind::Programme => 11,
            DocKind::Loan => 12,
            DocKind::Sale => 13,
        };
        let mut seen: Vec<usize> = DocKind::ALL.into_iter().map(kind_index).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..14).collect::<Vec<_>>());
        let kinds = values(DocKindName::schema());
        assert_eq!(kinds.len(), DocKind::ALL.len());
        for k in &kinds {
            assert!(DocKind::parse(k).is_some(), "{k}");
        }

        let status_index = |s: ReceivableStatus| match s {
            ReceivableStatus::Active => 0,
            ReceivableStatus::Overdue => 1,
            ReceivableStatus::Split => 2,
            ReceivableStatus::Settled => 3,
        };
        let mut seen: Vec<usize> = ReceivableStatus::ALL
            .into_iter()
            .map(status_index)
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..4).collect::<Vec<_>>());
        let statuses = values(ReceivableStatusName::schema());
        assert_eq!(statuses, ["active", "overdue", "split", "settled"]);
        for s in &statuses {
            let parsed: ReceivableStatus = serde_json::from_value(serde_json::json!(s)).unwrap();
            assert!(ReceivableStatus::ALL.contains(&parsed));
        }
    }
}
