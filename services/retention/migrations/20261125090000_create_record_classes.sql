-- The classes of records in each tenant's retention schedule (DESIGN §3.3; 003 §19), each with
-- a stable code unique in the tenant. Runs as the schema owner; the runtime role `dps_app` gets
-- only what it needs.

GRANT USAGE ON SCHEMA retention TO dps_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA retention GRANT SELECT, INSERT, UPDATE ON TABLES TO dps_app;

CREATE TABLE retention.record_classes (
    tenant_id       text        NOT NULL,
    record_class_id uuid        NOT NULL,
    code            text        NOT NULL,
    display_name    text        NOT NULL,
    description     text        NOT NULL DEFAULT '',
    -- Idempotency: a retried create with the same client request id returns the original.
    created_by      text        NOT NULL,
    request_id      uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT record_classes_pkey PRIMARY KEY (tenant_id, record_class_id),
    -- The store turns a violation of this one into ALREADY_EXISTS.
    CONSTRAINT record_classes_code_key UNIQUE (tenant_id, code),
    CONSTRAINT record_classes_request_id_key UNIQUE (tenant_id, created_by, request_id)
);
