-- Counts and totals kept as rows are written (explorer/README.md, "The store"), so the
-- dashboard's counts and the risk views' totals cost what a viewer's own groups cost,
-- not what the ledger holds (a COUNT(*) or SUM over every row grew with it).
-- PostgreSQL's copy adds `COLLATE "C"` to the text columns (a test keeps the two
-- identical otherwise).

-- `counts`: the rows the dashboard counts, per viewer: `scope` '' is the whole ledger
-- (banks and auditors: every `docs` row of a kind, every `txs` row), else an org (its
-- `doc_parties` rows of a kind, its `tx_parties` rows: the documents and transactions
-- it is party to; org ids are never empty); `what` a document kind or 'tx'. Moved by
-- exactly the rows each write inserts or deletes, in the same transaction (`store::totals`).
CREATE TABLE counts (
    scope TEXT NOT NULL,
    what TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (scope, what)
);
INSERT INTO counts (scope, what, n) SELECT '', kind, COUNT(*) FROM docs GROUP BY kind;
INSERT INTO counts (scope, what, n) SELECT org, kind, COUNT(*) FROM doc_parties GROUP BY org, kind;
INSERT INTO counts (scope, what, n) SELECT '', 'tx', COUNT(*) FROM txs;
INSERT INTO counts (scope, what, n) SELECT org, 'tx', COUNT(*) FROM tx_parties GROUP BY org;

-- An org's receivables (holder or debtor), live or not: the totals of one org's
-- receivables with another org read them (`receivable_scopes` with the other org).
CREATE INDEX receivables_by_holder ON receivables (holder, live, debtor);
CREATE INDEX receivables_by_debtor ON receivables (debtor, live, holder);

-- `receivable_groups`: what each receivable adds to the risk views' totals, one row per
-- grouping it counts in: every live receivable by its maturity (the ladder: `group_key`
-- the date, `day` its day number) and by its debtor (core enterprise exposure), and the
-- live ones carrying a live financing (`financed`, `views::bank_exposure`) by their
-- holder ('bank': the view keeps the holders with the bank role, read when asked, so a
-- role granted later counts). The ONE definition of what the totals hold: the kept
-- totals and the queries that still total in SQL both read it. (The casts give every
-- arm's column one type, so SQLite pushes a query's conditions into each arm.)
CREATE VIEW receivable_groups AS
SELECT r.id, r.holder, r.debtor, CAST('maturity' AS TEXT) AS grouped_by,
    r.maturity AS group_key, r.maturity_day AS day, r.currency, r.minor_units, r.outstanding
FROM receivables r WHERE r.live = 1
UNION ALL
SELECT r.id, r.holder, r.debtor, CAST('debtor' AS TEXT), r.debtor, CAST(0 AS BIGINT),
    r.currency, r.minor_units, r.outstanding
FROM receivables r WHERE r.live = 1
UNION ALL
SELECT r.id, r.holder, r.debtor, CAST('bank' AS TEXT), r.holder, CAST(0 AS BIGINT),
    r.currency, r.minor_units, r.outstanding
FROM receivables r WHERE r.live = 1 AND r.financed = 1;

-- `receivable_scopes`: the same rows under each viewer's scope: '' the whole ledger, and
-- each org the receivable is party to (its holder, its debtor), as the risk views'
-- visibility reads them.
CREATE VIEW receivable_scopes AS
SELECT CAST('' AS TEXT) AS scope, g.* FROM receivable_groups g
UNION ALL
SELECT g.holder, g.* FROM receivable_groups g
UNION ALL
SELECT g.debtor, g.* FROM receivable_groups g WHERE g.debtor <> g.holder;

-- `receivable_totals`: `receivable_scopes` counted (`n`) and summed (`outstanding`, minor
-- units, a NULL outstanding adding 0) per scope, grouping, key and currency. Moved by
-- each write of a receivable (its old rows in `receivable_scopes` subtracted, its new
-- ones added) in the same transaction; a group whose count falls to 0 is deleted.
CREATE TABLE receivable_totals (
    scope TEXT NOT NULL,
    grouped_by TEXT NOT NULL,
    day BIGINT NOT NULL,
    group_key TEXT NOT NULL,
    currency TEXT NOT NULL,
    minor_units BIGINT NOT NULL,
    n BIGINT NOT NULL,
    outstanding BIGINT NOT NULL,
    PRIMARY KEY (scope, grouped_by, day, group_key, currency, minor_units)
);
INSERT INTO receivable_totals
    (scope, grouped_by, day, group_key, currency, minor_units, n, outstanding)
SELECT scope, grouped_by, day, group_key, currency, minor_units, COUNT(*),
    COALESCE(SUM(outstanding), 0)
FROM receivable_scopes GROUP BY scope, grouped_by, day, group_key, currency, minor_units;
