-- The lifecycle of a request (issue 16): intake details, the state machine with its history, the
-- clock events and the deadlines the engine computes from them, refusals, fulfilment tasks, and
-- the tenant settings that choose the law. Rows recorded before this migration have no computed
-- deadlines (NULL dates) until their next clock event.

-- Per-tenant settings; a tenant without a row gets the defaults (England and Wales).
CREATE TABLE subject_requests.tenant_settings (
    tenant_id    text        NOT NULL,
    jurisdiction text        NOT NULL,
    -- 003 §11.4: by default health data is released only once a health professional approved it.
    health_release_without_approval boolean NOT NULL DEFAULT false,
    updated_by   text        NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenant_settings_pkey PRIMARY KEY (tenant_id),
    CONSTRAINT tenant_settings_jurisdiction_check CHECK (jurisdiction IN (
        'england_and_wales', 'scotland', 'northern_ireland', 'jersey'))
);

ALTER TABLE subject_requests.subject_requests
    DROP CONSTRAINT subject_requests_state_check,
    ADD CONSTRAINT subject_requests_state_check CHECK (state IN (
        'received', 'awaiting_identity', 'awaiting_clarification', 'awaiting_fee', 'in_progress',
        'awaiting_review', 'completed', 'refused', 'withdrawn', 'appealed', 'closed')),
    -- Portability failing Art 20(1) is handled as access: the kind asked for and why are kept.
    ADD COLUMN requested_kind text,
    ADD COLUMN kind_reason text NOT NULL DEFAULT '',
    ADD COLUMN requester_relationship text NOT NULL DEFAULT 'self',
    -- Sealed with the person's key, like the other personal details.
    ADD COLUMN requester_basis bytea,
    ADD COLUMN competence_note bytea,
    ADD COLUMN child_age smallint,
    -- The rules are fixed at receipt: changing the tenant's settings later moves no date.
    ADD COLUMN jurisdiction text NOT NULL DEFAULT 'england_and_wales',
    ADD COLUMN handler text,
    -- The engine's answer on the last clock event.
    ADD COLUMN clock_status text NOT NULL DEFAULT 'running',
    ADD COLUMN start_on date,
    ADD COLUMN due_on date,
    ADD COLUMN refusal_due_on date,
    ADD COLUMN extension_notice_due_on date,
    ADD COLUMN extended_on date,
    ADD COLUMN explanation text[] NOT NULL DEFAULT '{}',
    ADD COLUMN warnings text[] NOT NULL DEFAULT '{}',
    ADD COLUMN refusal_ground text,
    ADD COLUMN refusal_reason text,
    ADD COLUMN refusal_exemption text,
    ADD COLUMN refused_at timestamptz,
    ADD COLUMN refused_by text,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
    -- When the completion was recorded, for the dashboard's time to complete and on-time rate.
    ADD COLUMN completed_at timestamptz,
    -- Sort key: undated requests (clock not started, or paused) after every dated one.
    ADD COLUMN due_sort date GENERATED ALWAYS AS (coalesce(due_on, 'infinity'::date)) STORED,
    -- Kept in step with RequestState::is_open.
    ADD COLUMN is_open boolean GENERATED ALWAYS AS (state IN (
        'received', 'awaiting_identity', 'awaiting_clarification', 'awaiting_fee', 'in_progress',
        'awaiting_review')) STORED,
    ADD CONSTRAINT subject_requests_relationship_check CHECK (requester_relationship IN (
        'self', 'parent_or_guardian', 'attorney_or_deputy', 'relative_with_consent', 'solicitor',
        'other')),
    ADD CONSTRAINT subject_requests_jurisdiction_check CHECK (jurisdiction IN (
        'england_and_wales', 'scotland', 'northern_ireland', 'jersey')),
    ADD CONSTRAINT subject_requests_clock_status_check CHECK (clock_status IN (
        'running', 'awaiting_identity', 'awaiting_fee', 'paused', 'refused')),
    ADD CONSTRAINT subject_requests_refusal_ground_check CHECK (refusal_ground IN (
        'manifestly_unfounded', 'manifestly_excessive', 'exemption')),
    ADD CONSTRAINT subject_requests_child_age_check CHECK (child_age BETWEEN 0 AND 17);

UPDATE subject_requests.subject_requests SET requested_kind = kind WHERE requested_kind IS NULL;
ALTER TABLE subject_requests.subject_requests ALTER COLUMN requested_kind SET NOT NULL;

-- The DPO's "soonest due open requests": a keyset walk of this index, open rows only.
CREATE INDEX subject_requests_open_due_idx
    ON subject_requests.subject_requests (tenant_id, due_sort, subject_request_id) WHERE is_open;
CREATE INDEX subject_requests_due_idx
    ON subject_requests.subject_requests (tenant_id, due_sort, subject_request_id);

-- Events of the clock, replayed by the engine on every new one (receipt is the request's own
-- received_at).
CREATE TABLE subject_requests.clock_events (
    tenant_id          text        NOT NULL,
    event_id           uuid        NOT NULL,
    subject_request_id uuid        NOT NULL,
    kind               text        NOT NULL,
    occurred_at        timestamptz NOT NULL,
    reason             text        NOT NULL DEFAULT '',
    fee_ground         text,
    fee_amount_pence   bigint,
    recorded_by        text        NOT NULL,
    recorded_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT clock_events_pkey PRIMARY KEY (tenant_id, event_id),
    CONSTRAINT clock_events_request_fkey FOREIGN KEY (tenant_id, subject_request_id)
        REFERENCES subject_requests.subject_requests (tenant_id, subject_request_id),
    CONSTRAINT clock_events_kind_check CHECK (kind IN (
        'identity_requested', 'identity_received', 'fee_requested', 'fee_paid',
        'clarification_requested', 'clarification_received', 'extended', 'refused')),
    CONSTRAINT clock_events_fee_check CHECK ((kind = 'fee_requested') = (fee_ground IS NOT NULL))
);
CREATE INDEX clock_events_request_idx
    ON subject_requests.clock_events (tenant_id, subject_request_id);

-- Every move of a request: who, when, why. Append-only by use.
CREATE TABLE subject_requests.request_history (
    tenant_id          text        NOT NULL,
    entry_id           uuid        NOT NULL,
    subject_request_id uuid        NOT NULL,
    action             text        NOT NULL,
    from_state         text,
    to_state           text        NOT NULL,
    actor              text        NOT NULL,
    reason             text        NOT NULL DEFAULT '',
    recorded_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT request_history_pkey PRIMARY KEY (tenant_id, entry_id),
    CONSTRAINT request_history_request_fkey FOREIGN KEY (tenant_id, subject_request_id)
        REFERENCES subject_requests.subject_requests (tenant_id, subject_request_id)
);
CREATE INDEX request_history_request_idx
    ON subject_requests.request_history (tenant_id, subject_request_id, entry_id);

-- One task per system and action (issue 16 §6).
CREATE TABLE subject_requests.fulfilment_tasks (
    tenant_id                      text        NOT NULL,
    task_id                        uuid        NOT NULL,
    subject_request_id             uuid        NOT NULL,
    system                         text        NOT NULL,
    action                         text        NOT NULL,
    state                          text        NOT NULL DEFAULT 'pending',
    -- An export is personal data: sealed with the person's key.
    export_json                    bytea,
    affected_records               bigint,
    waiver_reason                  text,
    disproportionate_justification text,
    done_by                        text,
    done_at                        timestamptz,
    created_at                     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT fulfilment_tasks_pkey PRIMARY KEY (tenant_id, task_id),
    CONSTRAINT fulfilment_tasks_system_action_key UNIQUE (tenant_id, subject_request_id, system, action),
    CONSTRAINT fulfilment_tasks_request_fkey FOREIGN KEY (tenant_id, subject_request_id)
        REFERENCES subject_requests.subject_requests (tenant_id, subject_request_id),
    CONSTRAINT fulfilment_tasks_action_check CHECK (action IN ('export', 'erase', 'rectify', 'restrict')),
    CONSTRAINT fulfilment_tasks_state_check CHECK (state IN ('pending', 'completed', 'waived'))
);
-- A system's queue of pending work, oldest first.
CREATE INDEX fulfilment_tasks_pending_idx
    ON subject_requests.fulfilment_tasks (tenant_id, system, created_at, task_id)
    WHERE state = 'pending';
CREATE INDEX fulfilment_tasks_request_idx
    ON subject_requests.fulfilment_tasks (tenant_id, subject_request_id);

-- Parts of a response reviewed before release (issue 16 §5): third-party data, health data and
-- its approval, and what is withheld under which exemption. `description` is a reference to the
-- records, not their content.
CREATE TABLE subject_requests.review_parts (
    tenant_id          text        NOT NULL,
    part_id            uuid        NOT NULL,
    subject_request_id uuid        NOT NULL,
    description        text        NOT NULL,
    third_party        text        NOT NULL,
    health_data        boolean     NOT NULL,
    exemption          text,
    withheld_what      text,
    opinion_by         text,
    opinion_on         date,
    approved_by        text,
    approved_at        timestamptz,
    created_by         text        NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT review_parts_pkey PRIMARY KEY (tenant_id, part_id),
    CONSTRAINT review_parts_request_fkey FOREIGN KEY (tenant_id, subject_request_id)
        REFERENCES subject_requests.subject_requests (tenant_id, subject_request_id),
    CONSTRAINT review_parts_third_party_check CHECK (third_party IN ('none', 'redacted', 'consented')),
    CONSTRAINT review_parts_exemption_check CHECK (exemption IN (
        'legal_privilege', 'serious_harm', 'child_at_risk', 'adoption_or_court_records', 'other')),
    -- DESIGN §3.1: serious harm is withheld only on a health professional's dated opinion.
    CONSTRAINT review_parts_serious_harm_check CHECK (
        exemption IS DISTINCT FROM 'serious_harm' OR (opinion_by IS NOT NULL AND opinion_on IS NOT NULL))
);
CREATE INDEX review_parts_request_idx
    ON subject_requests.review_parts (tenant_id, subject_request_id);

-- The assembled response of an access or portability request (issue 16 §7): one JSON document,
-- sealed with the person's key like the exports it is made of. Rebuilding replaces it.
CREATE TABLE subject_requests.response_packs (
    tenant_id          text        NOT NULL,
    subject_request_id uuid        NOT NULL,
    pack               bytea       NOT NULL,
    size_bytes         bigint      NOT NULL,
    built_by           text        NOT NULL,
    built_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT response_packs_pkey PRIMARY KEY (tenant_id, subject_request_id),
    CONSTRAINT response_packs_request_fkey FOREIGN KEY (tenant_id, subject_request_id)
        REFERENCES subject_requests.subject_requests (tenant_id, subject_request_id)
);
