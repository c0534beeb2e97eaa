//! LianRong SDK: an async client of a LianRong node's HTTP API.
//!
//! Module map (see README.md): `import` turns ERP files (UBL 2.1, CSV) into invoices.

pub mod import;
