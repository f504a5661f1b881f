-- Lifting the restriction an accepted restriction request put in place (issue 10 flow 2; Art
-- 18(3); 003 §11.7.3): the person is told first, and the time they were told is kept with the
-- lift, here and (through the outbox) in the consent service.
ALTER TABLE subject_requests.subject_requests ADD COLUMN restriction_told_at timestamptz;
ALTER TABLE subject_requests.subject_requests ADD COLUMN restriction_lifted_at timestamptz;
ALTER TABLE subject_requests.subject_requests ADD COLUMN restriction_lifted_by text;
