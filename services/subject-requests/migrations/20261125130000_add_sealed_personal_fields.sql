-- Personal details of a request, each sealed with the person's data key (dps-crypto, issue 4): the
-- database and its backups hold ciphertext only, and shredding the key erases them everywhere.
-- NULL when not given.
ALTER TABLE subject_requests.subject_requests
    ADD COLUMN requester_name    bytea,
    ADD COLUMN requester_contact bytea,
    ADD COLUMN details           bytea;
