-- Cross-service steps (issue 10): a change that another service must learn of is written here in
-- the same transaction as the change itself, and a dispatcher delivers it over gRPC at least
-- once. The receiver is idempotent on `message_id` (sent as its `request_id`), so a redelivery
-- after a crash between sending and marking does nothing twice.
CREATE TABLE subject_requests.outbox (
    tenant_id          text        NOT NULL,
    message_id         uuid        NOT NULL,
    subject_request_id uuid        NOT NULL,
    -- What to do where, e.g. `consent.record_restriction`.
    effect             text        NOT NULL,
    -- The person the effect is about (the suite's opaque reference, never a name).
    person_id          text        NOT NULL,
    -- When the step that caused it happened (e.g. the restriction's start).
    occurred_at        timestamptz NOT NULL,
    -- The caller the step was made by: the receiver records it as theirs, and keys its
    -- idempotency on it.
    caller             text        NOT NULL,
    roles              text[]      NOT NULL,
    -- W3C trace context of the step, so the delivery joins its trace.
    traceparent        text,
    attempts           integer     NOT NULL DEFAULT 0,
    next_attempt_at    timestamptz NOT NULL DEFAULT now(),
    last_error         text,
    delivered_at       timestamptz,
    -- Refused by the receiver for good (bad input): kept for an operator, never retried.
    failed_at          timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT outbox_pkey PRIMARY KEY (tenant_id, message_id),
    -- One effect per request: re-entering a state (identity asked for again) adds nothing.
    CONSTRAINT outbox_effect_key UNIQUE (tenant_id, subject_request_id, effect)
);

-- The dispatcher's queue: what is still owed, soonest first.
CREATE INDEX outbox_due_idx ON subject_requests.outbox (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;

