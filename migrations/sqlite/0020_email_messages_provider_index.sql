-- Resend's events now find their message by our id, which each email carries as its
-- `message_id` tag, so nothing looks messages up by the provider's id any more. That index took
-- one write at a random place per email sent (Resend's ids are random): at 1,000,000 recipients
-- every window of sends dirtied about a thousand of its pages. Events of emails sent before this
-- migration carry no tag and are ignored.
DROP INDEX email_messages_provider;
