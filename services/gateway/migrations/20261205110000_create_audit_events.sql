-- The access audit log (issue 9 §6): one row per call through the gateway, hash-chained.
GRANT USAGE ON SCHEMA gateway TO dps_app;

CREATE TABLE gateway.audit_events (
    sequence       bigint      PRIMARY KEY CHECK (sequence > 0),
    at             timestamptz NOT NULL,
    caller         text        NOT NULL,
    roles          text[]      NOT NULL,
    tenant         text        NOT NULL,
    method         text        NOT NULL,
    resource_names text[]      NOT NULL,
    status_code    integer     NOT NULL,
    refusal_cause  text        NOT NULL,
    trace_id       text        NOT NULL,
    hash           bytea       NOT NULL CHECK (length(hash) = 32)
);

-- An auditor lists one tenant's events, newest first.
CREATE INDEX audit_events_tenant_idx ON gateway.audit_events (tenant, sequence DESC);

-- Append-only for the runtime role: it may read and insert, never update, delete or truncate.
GRANT SELECT, INSERT ON gateway.audit_events TO dps_app;
