-- Records of our own work (issue 10, flow 5): an incident is closed by its post-incident review,
-- and is then itself a record kept on the retention schedule (003 §19: serious incidents 20
-- years, others 10). The registration is owed to the retention service and written here in the
-- review's transaction; a dispatcher delivers it over gRPC at least once, and the registry keeps
-- one record per system and external id, so a redelivery registers nothing twice. The same
-- pattern as `subject_requests.outbox`.
CREATE TABLE breaches.outbox (
    tenant_id         text        NOT NULL,
    message_id        uuid        NOT NULL,
    incident_id       uuid        NOT NULL,
    -- What to do where, e.g. `retention.register_closed_incident`.
    effect            text        NOT NULL,
    -- The record class decided when the incident was closed (`serious-incident` or `incident`).
    record_class_code text        NOT NULL,
    -- The record's creation (the incident recorded) and closure (the review) dates.
    created_on        date        NOT NULL,
    closed_on         date        NOT NULL,
    -- Who closed it, and their roles: the receiver acts for them.
    caller            text        NOT NULL,
    roles             text[]      NOT NULL,
    -- W3C trace context of the review, so the delivery joins its trace.
    traceparent       text,
    attempts          integer     NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    last_error        text,
    delivered_at      timestamptz,
    -- Refused by the receiver for good: kept for an operator, never retried.
    failed_at         timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT outbox_pkey PRIMARY KEY (tenant_id, message_id),
    CONSTRAINT outbox_effect_key UNIQUE (tenant_id, incident_id, effect)
);

-- The dispatcher's queue: what is still owed, soonest first.
CREATE INDEX outbox_due_idx ON breaches.outbox (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
