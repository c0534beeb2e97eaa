-- What the document pages look documents up by (explorer/README.md, "The store"):
--
-- `docs.receivable`: the receivable a financing or a settlement is on (NULL for other
-- kinds): an invoice's "registered once, financed once?" reads the financings of its
-- receivables, a receivable's page its settlements.
-- `receivables.invoice`: the invoice a receivable (and every part split from it) is
-- born of.
-- `settlements`: a settlement's lineage root, its instruction (debtor and payment
-- reference) and its place in it, the order the settlement tables list lines in
-- (instruction date as days since 1970-01-01, payment reference, line).
-- `prices`: each `price_posted` event (its JSON in `events`) by bank, goods, unit and
-- currency: a loan's LTV chart reads its bank's prices of the goods it holds.
--
-- Rows written before these columns: filled from their stored JSON when the store is
-- next opened (`Store::backfill`, in Rust, before the follower writes anything: SQLite's
-- `json_extract` and PostgreSQL's `->>` differ, and the two copies of this file may
-- differ only by collation). PostgreSQL's copy adds `COLLATE "C"` to the text columns,
-- so payment references sort byte-wise as in SQLite (a test keeps the two identical
-- otherwise).
ALTER TABLE docs ADD COLUMN receivable TEXT COLLATE "C";
CREATE INDEX docs_by_receivable ON docs (kind, receivable, id);

ALTER TABLE receivables ADD COLUMN invoice TEXT COLLATE "C";
CREATE INDEX receivables_by_invoice ON receivables (invoice, id);

CREATE TABLE settlements (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    root TEXT COLLATE "C" NOT NULL,
    debtor TEXT COLLATE "C" NOT NULL,
    payment_ref TEXT COLLATE "C" NOT NULL,
    instructed_day BIGINT NOT NULL,
    line BIGINT NOT NULL
);
CREATE INDEX settlements_by_root ON settlements (root, instructed_day, payment_ref, line);
CREATE INDEX settlements_by_instruction ON settlements (debtor, payment_ref, root);

CREATE TABLE prices (
    height BIGINT NOT NULL,
    position BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    bank TEXT COLLATE "C" NOT NULL,
    goods TEXT COLLATE "C" NOT NULL,
    unit TEXT COLLATE "C" NOT NULL,
    currency TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (height, position, seq)
);
CREATE INDEX prices_by_goods ON prices (bank, goods, unit, currency, height, position, seq);
