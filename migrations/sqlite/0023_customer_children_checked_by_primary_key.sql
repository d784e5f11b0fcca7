-- PostgreSQL's per-statement check of values and tags now looks their customers up by primary
-- key as the tables' owner. SQLite keeps its foreign keys. This file keeps both backends'
-- migration numbers in step.
SELECT 1;
