-- `financed`: 1 when the receivable carries a live financing (`views::bank_exposure`):
-- a bank's exposure counts only those it holds. A written-off financing leaves its
-- receivable with the bank, still owed by the debtor, but the bank's exposure ended
-- (docs/domain.md, "Overdue and default"), so that receivable is not financed.
-- Rows written before this column: a receivable a bank held was financed (write-offs
-- are recomputed when their receivable is next written). Same file for both databases.
ALTER TABLE receivables ADD COLUMN financed BIGINT NOT NULL DEFAULT 0;
UPDATE receivables SET financed = 1
WHERE EXISTS (SELECT 1 FROM org_roles o WHERE o.org = receivables.holder AND o.role = 'bank');
