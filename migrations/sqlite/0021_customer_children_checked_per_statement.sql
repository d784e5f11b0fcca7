-- PostgreSQL checks that values and tags name an existing customer once per statement instead of
-- once per row (its foreign-key checks were a query each). SQLite's checks are index lookups in
-- process and stay. This file keeps both backends' migration numbers in step.
SELECT 1;
