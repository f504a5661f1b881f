-- The retention schedule as versioned data, the record registry, disposal reviews, tasks and
-- certificates, legal holds and the information asset register (issue 8; DESIGN §3.3).

-- A tenant's schedule version: bumped by every schedule change, under a row lock, so changes
-- to one tenant's schedule are serialised. The row's first insert seeds the default schedule.
CREATE TABLE retention.tenants (
    tenant_id        text        NOT NULL,
    schedule_version integer     NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenants_pkey PRIMARY KEY (tenant_id)
);

-- A class's current rule. Classes created before this migration had none: they get an empty
-- rule, which the store reports as corrupt until edited.
ALTER TABLE retention.record_classes
    ADD COLUMN triggers         text[]      NOT NULL DEFAULT '{}',
    ADD COLUMN rule             text        NOT NULL DEFAULT '',
    ADD COLUMN end_action       text        NOT NULL DEFAULT 'review_then_destroy',
    ADD COLUMN note             text        NOT NULL DEFAULT '',
    ADD COLUMN schedule_version integer     NOT NULL DEFAULT 1,
    ADD COLUMN updated_at       timestamptz NOT NULL DEFAULT now();

-- Every version of every class, never updated: what the schedule said when.
CREATE TABLE retention.schedule_changes (
    tenant_id        text        NOT NULL,
    schedule_version integer     NOT NULL,
    record_class_id  uuid        NOT NULL,
    code             text        NOT NULL,
    display_name     text        NOT NULL,
    triggers         text[]      NOT NULL,
    rule             text        NOT NULL,
    end_action       text        NOT NULL,
    note             text        NOT NULL,
    reason           text        NOT NULL,
    changed_by       text        NOT NULL,
    changed_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT schedule_changes_pkey PRIMARY KEY (tenant_id, schedule_version, record_class_id)
);

-- Registered records. Event dates are columns, so re-dating and the sweep are set-based.
-- `person_id` is the suite's opaque reference; the birth date is kept because birthday rules
-- need it.
CREATE TABLE retention.records (
    tenant_id              text        NOT NULL,
    record_id              uuid        NOT NULL,
    record_class_id        uuid        NOT NULL,
    person_id              text,
    system                 text        NOT NULL,
    external_id            text        NOT NULL,
    created_on             date        NOT NULL,
    born_on                date,
    discharged_on          date,
    died_on                date,
    died_in_care           boolean     NOT NULL DEFAULT false,
    left_employment_on     date,
    closed_on              date,
    appeal_closed_on       date,
    training_completed_on  date,
    recruitment_decided_on date,
    organisation_ended_on  date,
    review_on              date,
    explanation            text        NOT NULL,
    schedule_version       integer     NOT NULL,
    extended_until         date,
    state                  text        NOT NULL DEFAULT 'active',
    created_at             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT records_pkey PRIMARY KEY (tenant_id, record_id),
    -- Registering the same record again finds the original.
    CONSTRAINT records_external_key UNIQUE (tenant_id, system, external_id),
    CONSTRAINT records_class_fkey FOREIGN KEY (tenant_id, record_class_id)
        REFERENCES retention.record_classes (tenant_id, record_class_id),
    CONSTRAINT records_state_check CHECK (state IN
        ('active', 'under_review', 'disposal_approved', 'destroyed', 'transferred'))
);
-- The sweep: active records by review date.
CREATE INDEX records_due_idx ON retention.records (tenant_id, review_on) WHERE state = 'active';
CREATE INDEX records_person_idx ON retention.records (tenant_id, person_id);
CREATE INDEX records_class_idx ON retention.records (tenant_id, record_class_id);

CREATE TABLE retention.legal_holds (
    tenant_id       text        NOT NULL,
    hold_id         uuid        NOT NULL,
    person_id       text,
    record_class_id uuid,
    reason          text        NOT NULL,
    authority       text        NOT NULL,
    placed_by       text        NOT NULL,
    request_id      uuid,
    placed_at       timestamptz NOT NULL DEFAULT now(),
    released_by     text,
    released_at     timestamptz,
    release_reason  text,
    CONSTRAINT legal_holds_pkey PRIMARY KEY (tenant_id, hold_id),
    CONSTRAINT legal_holds_request_id_key UNIQUE (tenant_id, placed_by, request_id),
    CONSTRAINT legal_holds_scope_check CHECK (person_id IS NULL OR record_class_id IS NULL)
);
CREATE INDEX legal_holds_active_idx ON retention.legal_holds (tenant_id) WHERE released_at IS NULL;

CREATE TABLE retention.legal_hold_records (
    tenant_id text NOT NULL,
    hold_id   uuid NOT NULL,
    record_id uuid NOT NULL,
    CONSTRAINT legal_hold_records_pkey PRIMARY KEY (tenant_id, hold_id, record_id),
    CONSTRAINT legal_hold_records_hold_fkey FOREIGN KEY (tenant_id, hold_id)
        REFERENCES retention.legal_holds (tenant_id, hold_id),
    CONSTRAINT legal_hold_records_record_fkey FOREIGN KEY (tenant_id, record_id)
        REFERENCES retention.records (tenant_id, record_id)
);
CREATE INDEX legal_hold_records_record_idx ON retention.legal_hold_records (tenant_id, record_id);

-- Whether a record is under an active legal hold: one definition for the sweep, the decision,
-- the erasure check and the hold's own withdrawal of reviews.
CREATE FUNCTION retention.is_held(t text, r uuid, p text, c uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM retention.legal_holds h
        WHERE h.tenant_id = t AND h.released_at IS NULL
          AND (h.person_id = p OR h.record_class_id = c
               OR EXISTS (SELECT 1 FROM retention.legal_hold_records hr
                          WHERE hr.tenant_id = t AND hr.hold_id = h.hold_id AND hr.record_id = r)))
$$;
GRANT EXECUTE ON FUNCTION retention.is_held(text, uuid, text, uuid) TO dps_app;

CREATE TABLE retention.disposal_reviews (
    tenant_id      text        NOT NULL,
    review_id      uuid        NOT NULL,
    record_id      uuid        NOT NULL,
    -- The record's review date when raised; null for an early review of an undated record.
    review_on      date,
    explanation    text        NOT NULL,
    early          boolean     NOT NULL,
    state          text        NOT NULL DEFAULT 'open',
    raised_at      timestamptz NOT NULL DEFAULT now(),
    decision       text,
    decided_by     text,
    decided_at     timestamptz,
    reason         text,
    method         text,
    extended_until date,
    CONSTRAINT disposal_reviews_pkey PRIMARY KEY (tenant_id, review_id),
    CONSTRAINT disposal_reviews_record_fkey FOREIGN KEY (tenant_id, record_id)
        REFERENCES retention.records (tenant_id, record_id),
    CONSTRAINT disposal_reviews_state_check CHECK (state IN ('open', 'approved', 'extended', 'withdrawn'))
);
-- At most one open review per record, whoever raises it.
CREATE UNIQUE INDEX disposal_reviews_open_key ON retention.disposal_reviews (tenant_id, record_id)
    WHERE state = 'open';
CREATE INDEX disposal_reviews_list_idx ON retention.disposal_reviews (tenant_id, review_on, review_id);

CREATE TABLE retention.disposal_tasks (
    tenant_id  text        NOT NULL,
    task_id    uuid        NOT NULL,
    review_id  uuid        NOT NULL,
    record_id  uuid        NOT NULL,
    system     text        NOT NULL,
    external_id text       NOT NULL,
    action     text        NOT NULL,
    method     text        NOT NULL,
    state      text        NOT NULL DEFAULT 'pending',
    created_at timestamptz NOT NULL DEFAULT now(),
    claimed_by text,
    claimed_at timestamptz,
    CONSTRAINT disposal_tasks_pkey PRIMARY KEY (tenant_id, task_id),
    CONSTRAINT disposal_tasks_review_fkey FOREIGN KEY (tenant_id, review_id)
        REFERENCES retention.disposal_reviews (tenant_id, review_id),
    CONSTRAINT disposal_tasks_state_check CHECK (state IN ('pending', 'claimed', 'done', 'cancelled'))
);
CREATE INDEX disposal_tasks_pending_idx ON retention.disposal_tasks (tenant_id, system, created_at)
    WHERE state = 'pending';

-- Evidence of each disposal (002): copied values, so later schedule edits cannot change it.
CREATE TABLE retention.disposal_certificates (
    tenant_id               text        NOT NULL,
    certificate_id          uuid        NOT NULL,
    task_id                 uuid        NOT NULL,
    record_id               uuid        NOT NULL,
    record_class_code       text        NOT NULL,
    system                  text        NOT NULL,
    external_id             text        NOT NULL,
    person_id               text,
    action                  text        NOT NULL,
    method                  text        NOT NULL,
    review_on               date,
    explanation             text        NOT NULL,
    schedule_version        integer     NOT NULL,
    approved_by             text        NOT NULL,
    approved_at             timestamptz NOT NULL,
    confirmed_by            text        NOT NULL,
    disposed_at             timestamptz NOT NULL DEFAULT now(),
    outside_schedule_reason text,
    CONSTRAINT disposal_certificates_pkey PRIMARY KEY (tenant_id, certificate_id),
    CONSTRAINT disposal_certificates_task_key UNIQUE (tenant_id, task_id)
);

CREATE TABLE retention.information_assets (
    tenant_id               text        NOT NULL,
    asset_id                uuid        NOT NULL,
    system                  text        NOT NULL,
    display_name            text        NOT NULL,
    owner                   text        NOT NULL,
    service_area            text        NOT NULL,
    data_subjects           text[]      NOT NULL,
    category_names          text[]      NOT NULL,
    category_special        boolean[]   NOT NULL,
    protection_measures     text[]      NOT NULL,
    retention               text        NOT NULL,
    recipients              text[]      NOT NULL,
    transfer_destinations   text[]      NOT NULL,
    transfer_safeguards     text[]      NOT NULL,
    registers_records       boolean     NOT NULL,
    created_by              text        NOT NULL,
    request_id              uuid,
    created_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT information_assets_pkey PRIMARY KEY (tenant_id, asset_id),
    -- The store turns a violation of this one into ALREADY_EXISTS.
    CONSTRAINT information_assets_system_key UNIQUE (tenant_id, system),
    CONSTRAINT information_assets_request_id_key UNIQUE (tenant_id, created_by, request_id)
);
