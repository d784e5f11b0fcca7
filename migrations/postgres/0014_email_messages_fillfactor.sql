-- A message row is updated twice after it is written (frozen, then sent). Free space on each page
-- lets PostgreSQL keep the first update on the page without touching the six indexes (a HOT
-- update: the status is in none of them).
ALTER TABLE email_messages SET (fillfactor = 70);
