-- Data-protection complaints made to the controller (DPA 2018 s164A, in force 19 Jun 2026; issue
-- 17): intake, the 30-day acknowledgement clock, handling and the outcome. Personal details (who
-- complained, how to reach them, what about, notes and the reply) are sealed with the person's
-- data key like a request's (dps-crypto): shredding the key erases them everywhere. Complaints are
-- kept 10 years (003 §19).

CREATE TABLE subject_requests.complaints (
    tenant_id                text        NOT NULL,
    complaint_id             uuid        NOT NULL,
    person_id                text        NOT NULL,
    complainant_relationship text        NOT NULL,
    complainant_name         bytea,
    complainant_contact      bytea       NOT NULL,
    complainant_basis        bytea,
    subject                  bytea       NOT NULL,
    -- What it concerns, at most one: a request of this service, a breach on the register (a
    -- reference, checked only for shape), or a consent or processing matter.
    about_subject_request_id uuid,
    about_incident           text,
    about_processing_matter  text,
    channel                  text        NOT NULL,
    -- The acknowledgement period runs from the local day of receipt, not from creation.
    received_at              timestamptz NOT NULL,
    -- The rules are fixed at receipt: changing the tenant's settings later moves no date.
    jurisdiction             text        NOT NULL,
    state                    text        NOT NULL,
    -- The engine's answer at receipt; NULL due date when no period applies.
    ack_due_on               date,
    ack_statutory            boolean     NOT NULL,
    ack_explanation          text[]      NOT NULL DEFAULT '{}',
    ack_warnings             text[]      NOT NULL DEFAULT '{}',
    acknowledged_at          timestamptz,
    acknowledged_channel     text,
    acknowledged_by          text,
    acknowledged_late        boolean,
    assignee                 text,
    outcome                  text,
    reply                    bytea,
    replied_at               timestamptz,
    reply_channel            text,
    outcome_by               text,
    -- Local days from receipt to the reply, for the median.
    days_to_outcome          integer,
    -- Idempotency: a retried create with the same client request id returns the original.
    created_by               text        NOT NULL,
    request_id               uuid,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    -- Sort key: undated complaints after every dated one.
    ack_due_sort date GENERATED ALWAYS AS (coalesce(ack_due_on, 'infinity'::date)) STORED,
    -- Kept in step with ComplaintState::is_open.
    is_open boolean GENERATED ALWAYS AS (state <> 'closed') STORED,
    CONSTRAINT complaints_pkey PRIMARY KEY (tenant_id, complaint_id),
    CONSTRAINT complaints_request_id_key UNIQUE (tenant_id, created_by, request_id),
    CONSTRAINT complaints_subject_request_fkey FOREIGN KEY (tenant_id, about_subject_request_id)
        REFERENCES subject_requests.subject_requests (tenant_id, subject_request_id),
    CONSTRAINT complaints_about_check CHECK (num_nonnulls(
        about_subject_request_id, about_incident, about_processing_matter) <= 1),
    CONSTRAINT complaints_relationship_check CHECK (complainant_relationship IN (
        'self', 'parent_or_guardian', 'attorney_or_deputy', 'relative_with_consent', 'solicitor',
        'other')),
    CONSTRAINT complaints_channel_check CHECK (channel IN (
        'letter', 'email', 'phone', 'in_person', 'web_form', 'platform')),
    CONSTRAINT complaints_jurisdiction_check CHECK (jurisdiction IN (
        'england_and_wales', 'scotland', 'northern_ireland', 'jersey')),
    CONSTRAINT complaints_state_check CHECK (state IN (
        'received', 'acknowledged', 'investigating', 'closed')),
    CONSTRAINT complaints_acknowledged_check CHECK (
        (acknowledged_at IS NULL) = (acknowledged_channel IS NULL)
        AND (acknowledged_at IS NULL) = (acknowledged_late IS NULL)),
    CONSTRAINT complaints_outcome_check CHECK (outcome IN (
        'upheld', 'partly_upheld', 'not_upheld', 'withdrawn')),
    -- s164A(4)(b): no outcome without the reply telling the complainant, and closed means told.
    CONSTRAINT complaints_reply_check CHECK (
        (outcome IS NULL) = (reply IS NULL) AND (outcome IS NULL) = (replied_at IS NULL)
        AND (outcome IS NULL) = (state <> 'closed'))
);

-- The DPO's "acknowledgements due soonest": a keyset walk of this index, open complaints only.
CREATE INDEX complaints_open_ack_due_idx
    ON subject_requests.complaints (tenant_id, ack_due_sort, complaint_id) WHERE is_open;
CREATE INDEX complaints_ack_due_idx
    ON subject_requests.complaints (tenant_id, ack_due_sort, complaint_id);
CREATE INDEX complaints_subject_request_idx
    ON subject_requests.complaints (tenant_id, about_subject_request_id)
    WHERE about_subject_request_id IS NOT NULL;

-- Every move of a complaint, and its notes and steps: who, when, what. Append-only by use. The
-- text is sealed with the person's key (notes and steps name people).
CREATE TABLE subject_requests.complaint_history (
    tenant_id    text        NOT NULL,
    entry_id     uuid        NOT NULL,
    complaint_id uuid        NOT NULL,
    action       text        NOT NULL,
    from_state   text,
    to_state     text        NOT NULL,
    actor        text        NOT NULL,
    text         bytea,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT complaint_history_pkey PRIMARY KEY (tenant_id, entry_id),
    CONSTRAINT complaint_history_complaint_fkey FOREIGN KEY (tenant_id, complaint_id)
        REFERENCES subject_requests.complaints (tenant_id, complaint_id)
);
CREATE INDEX complaint_history_complaint_idx
    ON subject_requests.complaint_history (tenant_id, complaint_id, entry_id);
