-- The access response pack's sources (issue 10, flow 4): what the other services said of the
-- person once an access or portability request was accepted — purposes and their lawful bases
-- (consent), recipients (consent's disclosures log and the asset register), retention periods
-- (the retention schedule, per record), categories and international transfers (the asset
-- register). One row per pack field and the answer it came from; the first answer counts.
-- BuildResponsePack fills each list the handler leaves empty from these.
CREATE TABLE subject_requests.pack_sources (
    tenant_id          text        NOT NULL,
    subject_request_id uuid        NOT NULL,
    -- The SupplementaryInformation field, e.g. `recipients`.
    field              text        NOT NULL,
    -- The outbox effect whose answer it is, e.g. `consent.list_disclosures`.
    origin             text        NOT NULL,
    entries            text[]      NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pack_sources_pkey PRIMARY KEY (tenant_id, subject_request_id, field, origin),
    CONSTRAINT pack_sources_request_fkey FOREIGN KEY (tenant_id, subject_request_id)
        REFERENCES subject_requests.subject_requests (tenant_id, subject_request_id),
    CONSTRAINT pack_sources_field_check CHECK (field IN (
        'purposes', 'categories', 'recipients', 'retention', 'international_transfer_safeguards'))
);
