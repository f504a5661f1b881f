-- Processing purposes of each tenant, each with its lawful basis (DESIGN §3.4; 004 §7.1).
-- Runs as the schema owner; the runtime role `dps_app` gets only what it needs.

GRANT USAGE ON SCHEMA consent TO dps_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA consent GRANT SELECT, INSERT, UPDATE ON TABLES TO dps_app;

CREATE TABLE consent.purposes (
    tenant_id    text        NOT NULL,
    purpose_id   uuid        NOT NULL,
    display_name text        NOT NULL,
    description  text        NOT NULL DEFAULT '',
    lawful_basis text        NOT NULL,
    -- Idempotency: a retried create with the same client request id returns the original.
    created_by   text        NOT NULL,
    request_id   uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT purposes_pkey PRIMARY KEY (tenant_id, purpose_id),
    CONSTRAINT purposes_request_id_key UNIQUE (tenant_id, created_by, request_id),
    CONSTRAINT purposes_lawful_basis_check CHECK (lawful_basis IN (
        'consent', 'contract', 'legal_obligation', 'vital_interests', 'public_task',
        'legitimate_interests', 'recognised_legitimate_interests'))
);
