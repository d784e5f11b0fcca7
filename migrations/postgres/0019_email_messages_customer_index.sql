-- `email_messages_customer (tenant_id, customer_id)` is a prefix of `email_messages_customer_sent
-- (tenant_id, customer_id, sent_at)`, which answers every lookup it did. Each message row is
-- inserted once and updated twice as it is sent (on PostgreSQL the second update sets indexed
-- columns, so it is never HOT and writes an entry in every index): one index fewer to keep.
DROP INDEX email_messages_customer;
