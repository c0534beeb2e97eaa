-- `overdue_state`: where a financing stands in the overdue-and-default view
-- (`/risk/overdue`): 'overdue' (went overdue while disbursed, not written off),
-- 'written off', NULL for every other document. The view reads only these rows, and
-- judges each again from its document (`overdue::entry`), so the column only narrows.
-- Rows written before this column are not judged yet: a financing that was disbursed or
-- has closed (a write-off closes it) is marked 'unknown', which the view reads too, until
-- the financing is next written. Same file for both databases.
ALTER TABLE docs ADD COLUMN overdue_state TEXT;
UPDATE docs SET overdue_state = 'unknown'
WHERE kind = 'financing' AND status IN ('disbursed', 'closed');
CREATE INDEX docs_by_overdue_state ON docs (kind, overdue_state, id);
