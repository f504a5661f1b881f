-- What an automated-decision request asks of the decision (UK GDPR Art 22C safeguards, or the
-- Jersey objection). Empty for every other kind.
ALTER TABLE subject_requests.subject_requests
    ADD COLUMN automated_decision_remedies text[] NOT NULL DEFAULT '{}';
