-- The sweep raises a review without rewriting the record (issue 8: a sweep over 1,000,000
-- records in ≤ 2 s). Marking each due record 'under_review' rewrote a wide row into five indexes
-- (~26 µs a record, 6 s of a 234,529-record first sweep); the open review already says it.

-- A record is under review exactly when it has an open review (at most one: the partial unique
-- key disposal_reviews_open_key); its row stays 'active'. Readers derive 'under_review'.
-- Backfill, then forbid the old value, so no writer can bring the two facts apart again (an old
-- replica still running during a rollout fails loudly instead of writing it).
UPDATE retention.records SET state = 'active' WHERE state = 'under_review';
ALTER TABLE retention.records DROP CONSTRAINT records_state_check;
ALTER TABLE retention.records ADD CONSTRAINT records_state_check CHECK (state IN
    ('active', 'disposal_approved', 'destroyed', 'transferred'));

-- The sweep raises reviews in windows of record ids (bounded statements, inserts in key order);
-- with the record id in the key, a window's start is tested in the index, not the table.
DROP INDEX retention.records_due_idx;
CREATE INDEX records_due_idx ON retention.records (tenant_id, review_on, record_id)
    WHERE state = 'active';

-- Reviews are only ever inserted from a record row read in the same statement or locked in the
-- same transaction, and records are never deleted (the runtime role has no DELETE): the foreign
-- key's per-row check (~6 µs, and a FOR KEY SHARE lock that dirties every reviewed record's page)
-- guarded nothing the code does not. The service's joins are inner joins on the record.
ALTER TABLE retention.disposal_reviews DROP CONSTRAINT disposal_reviews_record_fkey;

-- The list orders by COALESCE(review_on, …), which this index cannot serve (EXPLAIN: a scan and
-- a sort either way); it only cost every review an index insert.
DROP INDEX retention.disposal_reviews_list_idx;

-- A version 7 UUID (RFC 9562: 48-bit Unix milliseconds, then random bits), as the service's ids
-- made in Rust (`Uuid::now_v7`). Reviews raised in bulk get ascending keys, so their inserts land
-- at the right edge of the primary key instead of at random pages. Postgres 15 has no uuidv7().
CREATE FUNCTION retention.uuid_v7() RETURNS uuid
LANGUAGE sql VOLATILE AS $$
    SELECT encode(
        set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                    PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                    FROM 1),
            52, 1), 53, 1),
        'hex')::uuid
$$;
GRANT EXECUTE ON FUNCTION retention.uuid_v7() TO dps_app;
