-- The incident and breach register of each tenant (DESIGN §3.2): "store occurrence, discovery,
-- report-to-DPO and awareness times separately; the 72-hour clock uses awareness". Occurrence
-- and discovery are often unknown at first, so they are nullable; awareness is required.
-- Runs as the schema owner; the runtime role `dps_app` gets only what it needs.

GRANT USAGE ON SCHEMA breaches TO dps_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA breaches GRANT SELECT, INSERT, UPDATE ON TABLES TO dps_app;

CREATE TABLE breaches.incidents (
    tenant_id     text        NOT NULL,
    incident_id   uuid        NOT NULL,
    title         text        NOT NULL,
    occurred_at   timestamptz,
    discovered_at timestamptz,
    -- Art 33(1): the 72 hours to notify the regulator run from here.
    aware_at      timestamptz NOT NULL,
    -- Idempotency: a retried create with the same client request id returns the original.
    created_by    text        NOT NULL,
    request_id    uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT incidents_pkey PRIMARY KEY (tenant_id, incident_id),
    CONSTRAINT incidents_request_id_key UNIQUE (tenant_id, created_by, request_id),
    -- Defence in depth for the domain's ordering rule; unknown (NULL) times pass.
    CONSTRAINT incidents_occurred_before_discovery_check CHECK (occurred_at <= discovered_at),
    CONSTRAINT incidents_occurred_before_awareness_check CHECK (occurred_at <= aware_at),
    CONSTRAINT incidents_discovered_before_awareness_check CHECK (discovered_at <= aware_at)
);
