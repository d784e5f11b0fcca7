-- PostgreSQL drops the foreign keys of its event logs and message rows (each check locked the
-- tenant's or the campaign's row). SQLite's checks are index lookups that lock nothing, and
-- dropping one means rebuilding the table. This file keeps both backends' migration numbers in
-- step.
SELECT 1;
