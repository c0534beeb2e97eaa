-- The explorer's index (see explorer/README.md, "The store"). Written once for both
-- databases: migrations/postgres/ holds the same file with `COLLATE "C"` on the text keys
-- (so PostgreSQL sorts ids byte-wise like SQLite whatever the database's locale); a test
-- checks the two stay identical otherwise. Integers are BIGINT, dates are ISO text
-- (`YYYY-MM-DD`, sorting as dates) or days since 1970-01-01, JSON is text.

-- `chain_id`: the chain this database indexes (another chain's node is refused);
-- `height`: the last block written whole (the follower continues above it);
-- `gap_since`, `gap_reason`: the first data lost for good (a transaction the node did
-- not hold, a block notice that did not decode).
CREATE TABLE meta (
    name TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE blocks (
    height BIGINT NOT NULL PRIMARY KEY,
    hash TEXT NOT NULL,
    time_ms BIGINT NOT NULL,
    tx_count BIGINT NOT NULL,
    row_json TEXT NOT NULL
);
CREATE INDEX blocks_by_hash ON blocks (hash);

CREATE TABLE txs (
    hash TEXT NOT NULL PRIMARY KEY,
    height BIGINT NOT NULL,
    position BIGINT NOT NULL,
    time_ms BIGINT NOT NULL,
    action TEXT NOT NULL,
    signer_org TEXT NOT NULL,
    ok BIGINT NOT NULL,
    search TEXT NOT NULL,
    record_json TEXT NOT NULL
);
CREATE UNIQUE INDEX txs_by_position ON txs (height, position);

-- The orgs party to a transaction (its signer and the parties of what it touched).
CREATE TABLE tx_parties (
    org TEXT NOT NULL,
    height BIGINT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (org, height, position)
);

-- Every document as the node served it last, with the columns lists filter on:
-- `status` (lower case; `alt_status`: a second word the status filter matches, a
-- warehouse receipt's pledge state), `day` (the date a list's from/to filter: an invoice's issue
-- date, a receivable's maturity, a settlement's instruction date), `search` (lower-case
-- texts `q` matches, separated by U+001F), `ref` (an invoice's number).
CREATE TABLE docs (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    status TEXT NOT NULL,
    alt_status TEXT,
    day TEXT,
    search TEXT NOT NULL,
    ref TEXT,
    doc_json TEXT NOT NULL,
    updated_height BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX docs_by_status ON docs (kind, status, id);
CREATE INDEX docs_by_day ON docs (kind, day, id);
CREATE INDEX docs_by_ref ON docs (ref);

-- The orgs party to a document (the node's visibility rule reads by them, and a list's
-- `org` filter matches them): a shipment's include its order's, an offer's its
-- financing's applicant.
CREATE TABLE doc_parties (
    org TEXT NOT NULL,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (org, kind, id)
);
CREATE INDEX doc_parties_by_doc ON doc_parties (kind, id);

-- The transactions that touched each document, in chain order.
CREATE TABLE tx_docs (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    height BIGINT NOT NULL,
    position BIGINT NOT NULL,
    tx TEXT NOT NULL,
    PRIMARY KEY (kind, id, height, position)
);

-- Each transaction's events, in order (`kind`: the event's name).
CREATE TABLE events (
    height BIGINT NOT NULL,
    position BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    tx TEXT NOT NULL,
    kind TEXT NOT NULL,
    event_json TEXT NOT NULL,
    PRIMARY KEY (height, position, seq)
);
CREATE INDEX events_by_kind ON events (kind, height);

-- The figures the risk views total, one row per receivable: `outstanding` in minor
-- units of `currency` (NULL when the record is repaid beyond its face or the amount
-- does not fit), days since 1970-01-01 for the dates the tenor counts.
CREATE TABLE receivables (
    id TEXT NOT NULL PRIMARY KEY,
    holder TEXT NOT NULL,
    debtor TEXT NOT NULL,
    status TEXT NOT NULL,
    live BIGINT NOT NULL,
    currency TEXT NOT NULL,
    minor_units BIGINT NOT NULL,
    outstanding BIGINT,
    maturity TEXT NOT NULL,
    maturity_day BIGINT NOT NULL,
    issue_day BIGINT NOT NULL,
    root TEXT NOT NULL
);
CREATE INDEX receivables_live ON receivables (live, maturity);
CREATE INDEX receivables_by_root ON receivables (root);

-- Each org's roles (`bank`, `core`, ...): exposure counts the receivables banks hold.
CREATE TABLE org_roles (
    org TEXT NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (org, role)
);
