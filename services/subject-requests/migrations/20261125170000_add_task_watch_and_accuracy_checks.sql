-- Holding systems follow their pending tasks over a server stream (issue 16 §6): a new task
-- wakes the stream on every replica through `LISTEN subject_requests_tasks`.
CREATE FUNCTION subject_requests.notify_task() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('subject_requests_tasks', NEW.tenant_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER fulfilment_tasks_notify AFTER INSERT ON subject_requests.fulfilment_tasks
    FOR EACH ROW EXECUTE FUNCTION subject_requests.notify_task();

-- A rectification request's accuracy check (Art 18(1)(a), Art 16; issue 16 §6): processing is
-- restricted while accuracy is checked, and the person is told before the restriction is
-- lifted (Art 18(3)); after a refusal, the person's statement that they dispute the accuracy is
-- kept with the request (sealed with the person's key, like the request's other details).
CREATE TABLE subject_requests.accuracy_checks (
    tenant_id          text        NOT NULL,
    subject_request_id uuid        NOT NULL,
    restricted_at      timestamptz,
    restricted_by      text,
    lifted_at          timestamptz,
    lifted_by          text,
    -- When the person was told the restriction would be lifted: required to lift.
    told_before_lift_at timestamptz,
    disputed_note      bytea,
    disputed_at        timestamptz,
    disputed_by        text,
    CONSTRAINT accuracy_checks_pkey PRIMARY KEY (tenant_id, subject_request_id),
    CONSTRAINT accuracy_checks_request_fkey FOREIGN KEY (tenant_id, subject_request_id)
        REFERENCES subject_requests.subject_requests (tenant_id, subject_request_id),
    CONSTRAINT accuracy_checks_lift_check CHECK (
        lifted_at IS NULL OR (restricted_at IS NOT NULL AND told_before_lift_at IS NOT NULL
                              AND told_before_lift_at <= lifted_at))
);
