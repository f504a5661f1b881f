-- The breach register (issue 7): classification, sealed details, the assessment, reports to the
-- regulator, notices to individuals, actions, third parties, the review and per-tenant settings.
-- Free text that may name people is sealed with a data key (dps-crypto) and stored as bytea.

ALTER TABLE breaches.incidents
    -- Who reported it and what happened: sealed with the incident's key.
    ADD COLUMN reported_by          bytea,
    ADD COLUMN description          bytea,
    ADD COLUMN reported_to_dpo_at   timestamptz,
    ADD COLUMN systems              text[]  NOT NULL DEFAULT '{}',
    -- NULL until classified.
    ADD COLUMN personal_data_breach boolean,
    ADD COLUMN serious              boolean,
    ADD COLUMN kinds                text[]  NOT NULL DEFAULT '{}',
    -- Of the latest assessment.
    ADD COLUMN severity             text,
    ADD COLUMN outcome              text,
    -- The first report to the regulator (003 §12.3).
    ADD COLUMN first_reported_at    timestamptz,
    ADD COLUMN reported_late        boolean,
    -- The DPO's alarm view: breaches whose 72-hour clock still runs. Derived, so it cannot
    -- disagree with the columns it reads.
    ADD COLUMN clock_running        boolean GENERATED ALWAYS AS (
        coalesce(personal_data_breach, false)
        AND first_reported_at IS NULL
        AND outcome IS DISTINCT FROM 'not_reportable') STORED,
    ADD CONSTRAINT incidents_severity_check
        CHECK (severity IN ('low', 'medium', 'high', 'very_high')),
    ADD CONSTRAINT incidents_outcome_check
        CHECK (outcome IN ('not_reportable', 'report_to_regulator', 'tell_individuals'));

-- Open breaches by time left: the due time is awareness + 72 h, so awareness orders them.
CREATE INDEX incidents_clock_running_idx
    ON breaches.incidents (tenant_id, aware_at, incident_id) WHERE clock_running;

-- Every assessment is kept; the incident carries the latest's severity and outcome.
CREATE TABLE breaches.assessments (
    tenant_id               text        NOT NULL,
    incident_id             uuid        NOT NULL,
    assessment_id           uuid        NOT NULL,
    -- ENISA inputs (DPC 1-4, EI 0.25-1, each loss none/limited/severe); quarters and
    -- sixteenths are exact in float8.
    data_processing_context float8      NOT NULL,
    ease_of_identification  float8      NOT NULL,
    confidentiality         text        NOT NULL,
    integrity               text        NOT NULL,
    availability            text        NOT NULL,
    malicious               boolean     NOT NULL,
    score                   float8      NOT NULL,
    severity                text        NOT NULL,
    explanation             text[]      NOT NULL,
    likelihood              text        NOT NULL,
    approximate_subjects    bigint      NOT NULL,
    approximate_records     bigint      NOT NULL,
    computed_outcome        text        NOT NULL,
    outcome                 text        NOT NULL,
    rationale               text        NOT NULL,
    individual_exception    text,
    exception_detail        text        NOT NULL DEFAULT '',
    assessed_by             text        NOT NULL,
    assessed_at             timestamptz NOT NULL,
    CONSTRAINT assessments_pkey PRIMARY KEY (tenant_id, incident_id, assessment_id),
    CONSTRAINT assessments_incident_fkey FOREIGN KEY (tenant_id, incident_id)
        REFERENCES breaches.incidents (tenant_id, incident_id),
    -- 001: not reporting needs a documented rationale.
    CONSTRAINT assessments_rationale_check
        CHECK (outcome <> 'not_reportable' OR rationale <> '')
);

CREATE TABLE breaches.regulator_notifications (
    tenant_id            text        NOT NULL,
    incident_id          uuid        NOT NULL,
    notification_id      uuid        NOT NULL,
    phase                text        NOT NULL,
    submitted_at         timestamptz NOT NULL,
    data_categories      text[]      NOT NULL,
    subject_categories   text[]      NOT NULL,
    approximate_subjects bigint      NOT NULL,
    approximate_records  bigint      NOT NULL,
    nature               text        NOT NULL,
    likely_consequences  text        NOT NULL,
    measures             text        NOT NULL,
    delay_reason         text        NOT NULL,
    further_information  text        NOT NULL,
    financial_services_commission boolean,
    signed_by            text        NOT NULL,
    -- Fixed when made, so the document reads as it was sent.
    jurisdiction         text        NOT NULL,
    organisation         text        NOT NULL,
    dpo_name             text        NOT NULL,
    dpo_designation      text        NOT NULL,
    dpo_work_address     text        NOT NULL,
    dpo_telephone        text        NOT NULL,
    dpo_email            text        NOT NULL,
    severity             text        NOT NULL,
    individuals_told     text        NOT NULL,
    late                 boolean     NOT NULL,
    created_by           text        NOT NULL,
    CONSTRAINT regulator_notifications_pkey PRIMARY KEY (tenant_id, incident_id, notification_id),
    CONSTRAINT regulator_notifications_incident_fkey FOREIGN KEY (tenant_id, incident_id)
        REFERENCES breaches.incidents (tenant_id, incident_id),
    -- Art 33(1): a late first report gives the reasons for the delay.
    CONSTRAINT regulator_notifications_delay_reason_check
        CHECK (NOT late OR delay_reason <> '')
);

-- One initial report per incident.
CREATE UNIQUE INDEX regulator_notifications_one_initial_key
    ON breaches.regulator_notifications (tenant_id, incident_id) WHERE phase = 'initial';

CREATE TABLE breaches.individual_notifications (
    tenant_id           text        NOT NULL,
    incident_id         uuid        NOT NULL,
    notification_id     uuid        NOT NULL,
    audience            text        NOT NULL,
    person_id           text,
    -- Sealed with the person's key (or the incident's, for a group or the public).
    recipient           bytea       NOT NULL,
    what_happened       bytea       NOT NULL,
    likely_consequences bytea       NOT NULL,
    measures_taken      bytea       NOT NULL,
    what_they_can_do    bytea       NOT NULL,
    channel             text        NOT NULL,
    sent_at             timestamptz NOT NULL,
    created_by          text        NOT NULL,
    CONSTRAINT individual_notifications_pkey
        PRIMARY KEY (tenant_id, incident_id, notification_id),
    CONSTRAINT individual_notifications_incident_fkey FOREIGN KEY (tenant_id, incident_id)
        REFERENCES breaches.incidents (tenant_id, incident_id)
);

CREATE TABLE breaches.actions (
    tenant_id    text        NOT NULL,
    incident_id  uuid        NOT NULL,
    action_id    uuid        NOT NULL,
    description  text        NOT NULL,
    owner        text        NOT NULL,
    due_at       timestamptz NOT NULL,
    playbook     text,
    completed_at timestamptz,
    outcome      text        NOT NULL DEFAULT '',
    created_by   text        NOT NULL,
    CONSTRAINT actions_pkey PRIMARY KEY (tenant_id, incident_id, action_id),
    CONSTRAINT actions_incident_fkey FOREIGN KEY (tenant_id, incident_id)
        REFERENCES breaches.incidents (tenant_id, incident_id)
);

-- A playbook applies once: its first action's row claims it.
CREATE TABLE breaches.playbooks_applied (
    tenant_id   text        NOT NULL,
    incident_id uuid        NOT NULL,
    playbook    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT playbooks_applied_pkey PRIMARY KEY (tenant_id, incident_id, playbook),
    CONSTRAINT playbooks_applied_incident_fkey FOREIGN KEY (tenant_id, incident_id)
        REFERENCES breaches.incidents (tenant_id, incident_id)
);

CREATE TABLE breaches.third_party_notices (
    tenant_id    text        NOT NULL,
    incident_id  uuid        NOT NULL,
    notice_id    uuid        NOT NULL,
    party        text        NOT NULL,
    organisation text        NOT NULL,
    reference    text        NOT NULL,
    notified_at  timestamptz NOT NULL,
    created_by   text        NOT NULL,
    CONSTRAINT third_party_notices_pkey PRIMARY KEY (tenant_id, incident_id, notice_id),
    CONSTRAINT third_party_notices_incident_fkey FOREIGN KEY (tenant_id, incident_id)
        REFERENCES breaches.incidents (tenant_id, incident_id)
);

CREATE TABLE breaches.reviews (
    tenant_id       text        NOT NULL,
    incident_id     uuid        NOT NULL,
    facts_and_cause text        NOT NULL,
    effects         text        NOT NULL,
    lessons_learned text        NOT NULL,
    reviewed_at     timestamptz NOT NULL,
    reviewed_by     text        NOT NULL,
    CONSTRAINT reviews_pkey PRIMARY KEY (tenant_id, incident_id),
    CONSTRAINT reviews_incident_fkey FOREIGN KEY (tenant_id, incident_id)
        REFERENCES breaches.incidents (tenant_id, incident_id)
);

CREATE TABLE breaches.settings (
    tenant_id             text NOT NULL,
    jurisdiction          text NOT NULL,
    organisation          text NOT NULL,
    dpo_name              text NOT NULL,
    dpo_designation       text NOT NULL,
    dpo_work_address      text NOT NULL,
    dpo_telephone         text NOT NULL,
    dpo_email             text NOT NULL,
    report_from           text NOT NULL,
    tell_individuals_from text NOT NULL,
    CONSTRAINT settings_pkey PRIMARY KEY (tenant_id)
);
