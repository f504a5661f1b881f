-- Lawful processing (DESIGN §3.4): purposes' conditions and flags, settings, notices, persons,
-- the append-only consent ledger, restrictions, objections, disclosures, and the change log that
-- feeds the processing check's cache and the change stream. Personal free text (givers' names,
-- authority and evidence references, reasons) is sealed with the person's key (bytea).

ALTER TABLE consent.purposes
    ADD COLUMN legitimate_interests_assessment text NOT NULL DEFAULT '',
    ADD COLUMN recognised_condition text,
    ADD COLUMN special_category_condition text,
    ADD COLUMN data_categories text[] NOT NULL DEFAULT '{}',
    ADD COLUMN direct_marketing boolean NOT NULL DEFAULT false,
    ADD COLUMN child_online_service boolean NOT NULL DEFAULT false,
    ADD COLUMN research_planning boolean NOT NULL DEFAULT false,
    ADD COLUMN restriction_exemption text,
    ADD COLUMN notice_audience text NOT NULL DEFAULT 'service_users',
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

CREATE TABLE consent.settings (
    tenant_id             text        PRIMARY KEY,
    jurisdiction          text        NOT NULL,
    child_consent_age     smallint    NOT NULL CHECK (child_consent_age BETWEEN 13 AND 16),
    national_data_opt_out boolean     NOT NULL,
    updated_by            text        NOT NULL,
    updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE consent.persons (
    tenant_id  text        NOT NULL,
    person_id  text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, person_id)
);

CREATE TABLE consent.notices (
    tenant_id       text        NOT NULL,
    notice_id       uuid        NOT NULL,
    audience        text        NOT NULL,
    version         integer     NOT NULL CHECK (version > 0),
    title           text        NOT NULL,
    uri             text        NOT NULL,
    material_change boolean     NOT NULL,
    published_at    timestamptz NOT NULL DEFAULT now(),
    created_by      text        NOT NULL,
    request_id      uuid,
    PRIMARY KEY (tenant_id, notice_id),
    UNIQUE (tenant_id, audience, version),
    CONSTRAINT notices_request_id_key UNIQUE (tenant_id, created_by, request_id)
);

CREATE TABLE consent.acknowledgements (
    tenant_id       text        NOT NULL,
    acknowledgement_id uuid     NOT NULL,
    person_id       text        NOT NULL,
    notice_id       uuid        NOT NULL,
    method          text        NOT NULL,
    acknowledged_at timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    created_by      text        NOT NULL,
    request_id      uuid,
    PRIMARY KEY (tenant_id, acknowledgement_id),
    FOREIGN KEY (tenant_id, notice_id) REFERENCES consent.notices,
    FOREIGN KEY (tenant_id, person_id) REFERENCES consent.persons,
    CONSTRAINT acknowledgements_request_id_key UNIQUE (tenant_id, created_by, request_id)
);

-- The ledger: one row per give or withdrawal, never updated or deleted.
CREATE TABLE consent.consent_events (
    tenant_id            text        NOT NULL,
    consent_id           uuid        NOT NULL,
    seq                  bigserial   NOT NULL,
    person_id            text        NOT NULL,
    purpose_id           uuid        NOT NULL,
    event                text        NOT NULL CHECK (event IN ('given', 'withdrawn')),
    occurred_at          timestamptz NOT NULL,
    method               text        NOT NULL,
    action               text,
    notice_id            uuid,
    expires_at           timestamptz,
    giver_role           text,
    giver_name           bytea,
    authority_reference  bytea,
    authority_expires_at timestamptz,
    evidence_reference   bytea,
    competence_assessment bytea,
    subject_age          smallint,
    recorded_at          timestamptz NOT NULL DEFAULT now(),
    created_by           text        NOT NULL,
    request_id           uuid,
    PRIMARY KEY (tenant_id, consent_id),
    FOREIGN KEY (tenant_id, purpose_id) REFERENCES consent.purposes,
    FOREIGN KEY (tenant_id, notice_id) REFERENCES consent.notices,
    FOREIGN KEY (tenant_id, person_id) REFERENCES consent.persons,
    CONSTRAINT consent_events_request_id_key UNIQUE (tenant_id, created_by, request_id),
    CHECK (event = 'withdrawn' OR (action IS NOT NULL AND notice_id IS NOT NULL AND giver_role IS NOT NULL))
);
CREATE INDEX consent_events_person ON consent.consent_events (tenant_id, person_id, purpose_id, seq);

CREATE TABLE consent.restrictions (
    tenant_id       text        NOT NULL,
    restriction_id  uuid        NOT NULL,
    person_id       text        NOT NULL,
    ground          text        NOT NULL,
    reason          bytea,
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz,
    subject_request text        NOT NULL DEFAULT '',
    lifted_at       timestamptz,
    person_told_at  timestamptz,
    created_by      text        NOT NULL,
    request_id      uuid,
    PRIMARY KEY (tenant_id, restriction_id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES consent.persons,
    CONSTRAINT restrictions_request_id_key UNIQUE (tenant_id, created_by, request_id),
    CHECK ((lifted_at IS NULL) = (person_told_at IS NULL))
);
CREATE INDEX restrictions_person ON consent.restrictions (tenant_id, person_id);

CREATE TABLE consent.objections (
    tenant_id        text        NOT NULL,
    objection_id     uuid        NOT NULL,
    person_id        text        NOT NULL,
    kind             text        NOT NULL,
    purpose_id       uuid,
    reason           bytea,
    starts_at        timestamptz NOT NULL,
    subject_request  text        NOT NULL DEFAULT '',
    override_grounds bytea,
    overridden_at    timestamptz,
    overridden_by    text,
    withdrawn_at     timestamptz,
    created_by       text        NOT NULL,
    request_id       uuid,
    PRIMARY KEY (tenant_id, objection_id),
    FOREIGN KEY (tenant_id, purpose_id) REFERENCES consent.purposes,
    FOREIGN KEY (tenant_id, person_id) REFERENCES consent.persons,
    CONSTRAINT objections_request_id_key UNIQUE (tenant_id, created_by, request_id)
);
CREATE INDEX objections_person ON consent.objections (tenant_id, person_id);

CREATE TABLE consent.disclosures (
    tenant_id       text        NOT NULL,
    disclosure_id   uuid        NOT NULL,
    seq             bigserial   NOT NULL,
    person_id       text        NOT NULL,
    recipient       text        NOT NULL,
    data_categories text[]      NOT NULL,
    reason          bytea       NOT NULL,
    lawful_basis    text        NOT NULL,
    consent_id      uuid,
    authorised_by   text        NOT NULL,
    authoriser_role text        NOT NULL,
    disclosed_at    timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    created_by      text        NOT NULL,
    request_id      uuid,
    PRIMARY KEY (tenant_id, disclosure_id),
    FOREIGN KEY (tenant_id, person_id) REFERENCES consent.persons,
    FOREIGN KEY (tenant_id, consent_id) REFERENCES consent.consent_events,
    CONSTRAINT disclosures_request_id_key UNIQUE (tenant_id, created_by, request_id)
);
CREATE INDEX disclosures_person ON consent.disclosures (tenant_id, person_id, seq);

-- The change log. Every write that can change a processing decision takes the tenant's counter
-- row (serialising the tenant's writers, so changes commit in `seq` order) and appends a change
-- in the same transaction. Reading the counter therefore tells a reader every change up to it
-- is committed: the check's cache catches up to it before answering (no stale allow), and the
-- change stream resumes from a cursor without gaps.
CREATE TABLE consent.change_counters (
    tenant_id text   PRIMARY KEY,
    seq       bigint NOT NULL
);

CREATE TABLE consent.changes (
    tenant_id  text        NOT NULL,
    seq        bigint      NOT NULL,
    kind       text        NOT NULL,
    person_id  text,
    purpose_id uuid,
    record     text        NOT NULL DEFAULT '',
    changed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, seq)
);

-- Append-only for the runtime role: the ledger, the change log and disclosures keep history.
REVOKE UPDATE ON consent.consent_events, consent.changes, consent.disclosures,
    consent.acknowledgements FROM dps_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA consent TO dps_app;

-- Wake change-stream subscribers on every replica when a change commits.
CREATE FUNCTION consent.notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('consent_changes', NEW.tenant_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER changes_notify AFTER INSERT ON consent.changes
    FOR EACH ROW EXECUTE FUNCTION consent.notify_change();
