-- The key store: each person's data key, wrapped by their tenant's key-encryption key, and the
-- blind indexes that find a person by an identifier. It lives in its own database, backed up on a
-- short retention, so that destroying a person's key here erases them from every service's data
-- and from every backup of it (issue 4, docs/encryption.md). Runs as the schema owner; the
-- runtime role `dps_app` gets only what it needs.

GRANT USAGE ON SCHEMA keystore TO dps_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA keystore GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO dps_app;

CREATE TABLE keystore.data_keys (
    tenant_id  text        NOT NULL,
    key_id     uuid        NOT NULL,
    -- The suite's opaque reference to the person, never a name or NHS number.
    person_id  text        NOT NULL,
    -- Which key-encryption key wrapped it: the re-wrap job moves rows to the current one.
    kek_id     text        NOT NULL,
    wrapped    bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT data_keys_pkey PRIMARY KEY (tenant_id, key_id),
    CONSTRAINT data_keys_person_key UNIQUE (tenant_id, person_id)
);

CREATE INDEX data_keys_kek_id_idx ON keystore.data_keys (kek_id);

-- Keyed hashes of identifiers (NHS number, email, phone), so a person is found without storing
-- the identifier; deleted with the person's key, as a short identifier can be brute-forced.
CREATE TABLE keystore.blind_index (
    tenant_id text  NOT NULL,
    kind      text  NOT NULL,
    digest    bytea NOT NULL,
    person_id text  NOT NULL,
    CONSTRAINT blind_index_pkey PRIMARY KEY (tenant_id, kind, digest, person_id)
);

CREATE INDEX blind_index_person_idx ON keystore.blind_index (tenant_id, person_id);

-- What was shredded, when and at whose request: evidence of erasure, with no key material.
CREATE TABLE keystore.shreds (
    tenant_id           text        NOT NULL,
    person_id           text        NOT NULL,
    key_ids             uuid[]      NOT NULL,
    blind_index_entries integer     NOT NULL,
    shredded_by         text        NOT NULL,
    shredded_at         timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX shreds_person_idx ON keystore.shreds (tenant_id, person_id);

-- The evidence is append-only for the runtime role.
REVOKE UPDATE, DELETE ON keystore.shreds FROM dps_app;
