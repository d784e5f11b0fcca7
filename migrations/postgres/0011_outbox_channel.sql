-- The dev outbox records SMS as well as email (there is no SMS provider yet): `channel` says
-- which; an SMS has the phone number in `to_addr`, its text in `text_body`, and no subject.
ALTER TABLE email_outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'sms'));
