-- Nothing on SQLite (see the PostgreSQL migration of the same name): its foreign key checks are
-- index lookups that lock nothing, as the one writer holds the whole database.
SELECT 1;
