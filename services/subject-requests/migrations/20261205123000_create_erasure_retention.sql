-- Erasure (issue 10, flow 1): once an erasure request is accepted, the retention service is asked
-- which of the person's records must be kept (retention not ended, legal hold) and why. Its
-- answer is kept here, one row per record, so refusals carry their reason; written once, with
-- `erasure_checked_at` on the request, so an answer to a redelivered question is a no-op.
CREATE TABLE subject_requests.erasure_retention (
    tenant_id          text        NOT NULL,
    subject_request_id uuid        NOT NULL,
    -- `records/{id}` in the retention registry.
    record             text        NOT NULL,
    record_class_code  text        NOT NULL,
    system             text        NOT NULL,
    external_id        text        NOT NULL,
    must_keep          boolean     NOT NULL,
    reasons            text[]      NOT NULL,
    checked_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT erasure_retention_pkey PRIMARY KEY (tenant_id, subject_request_id, record)
);

-- The first answer arrived (possibly about no records at all).
ALTER TABLE subject_requests.subject_requests ADD COLUMN erasure_checked_at timestamptz;
