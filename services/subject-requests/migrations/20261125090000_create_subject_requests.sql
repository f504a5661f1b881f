-- Requests by individuals to exercise their data-protection rights, as received (DESIGN §3.1).
-- Verbal requests are valid, so the channel is recorded; the person is the suite's opaque
-- reference, never a name or NHS number. Runs as the schema owner; the runtime role `dps_app`
-- gets only what it needs.

GRANT USAGE ON SCHEMA subject_requests TO dps_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA subject_requests GRANT SELECT, INSERT, UPDATE ON TABLES TO dps_app;

CREATE TABLE subject_requests.subject_requests (
    tenant_id          text        NOT NULL,
    subject_request_id uuid        NOT NULL,
    kind               text        NOT NULL,
    channel            text        NOT NULL,
    person_id          text        NOT NULL,
    state              text        NOT NULL,
    -- When the request reached the controller: the Art 12(3) deadline runs from here, not creation.
    received_at        timestamptz NOT NULL,
    -- Idempotency: a retried create with the same client request id returns the original.
    created_by         text        NOT NULL,
    request_id         uuid,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT subject_requests_pkey PRIMARY KEY (tenant_id, subject_request_id),
    CONSTRAINT subject_requests_request_id_key UNIQUE (tenant_id, created_by, request_id),
    CONSTRAINT subject_requests_kind_check CHECK (kind IN (
        'access', 'rectification', 'erasure', 'restriction', 'portability', 'objection',
        'direct_marketing_objection', 'automated_decision_review')),
    CONSTRAINT subject_requests_channel_check CHECK (channel IN (
        'letter', 'email', 'phone', 'in_person', 'web_form', 'platform')),
    CONSTRAINT subject_requests_state_check CHECK (state IN ('received'))
);
