-- Erasure, the rest of flow 1 (issue 10): from the retention service's answer, each holding
-- system gets an erase task scoped to the records that may go; the person is told, by a notice
-- task, which records are kept and why (Art 12(4), 17(3)); every recipient in the consent
-- service's disclosures log gets a notice task (Art 19).

-- The records of the holding system a task is about (their ids there); NULL: every record of the
-- person in the system, as for tasks given at intake.
ALTER TABLE subject_requests.fulfilment_tasks ADD COLUMN records text[];
-- For a notice task: what to tell, drafted by the service from what it learnt.
ALTER TABLE subject_requests.fulfilment_tasks ADD COLUMN notice text;

-- Two actions that tell someone rather than change a system: a recipient of a disclosure
-- (`system` names the recipient) and the person themselves.
ALTER TABLE subject_requests.fulfilment_tasks DROP CONSTRAINT fulfilment_tasks_action_check;
ALTER TABLE subject_requests.fulfilment_tasks ADD CONSTRAINT fulfilment_tasks_action_check
    CHECK (action IN ('export', 'erase', 'rectify', 'restrict', 'notify_recipient', 'notify_person'));
