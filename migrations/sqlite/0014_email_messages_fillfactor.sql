-- PostgreSQL leaves free space on email_messages pages for in-place updates; SQLite has no such
-- setting. This file keeps both backends' migration numbers in step.
SELECT 1;
