//! ERP import: UBL 2.1 invoices and a documented CSV layout, mapped to ledger invoices.
