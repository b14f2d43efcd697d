-- Rollup buckets whose latest additions the writer still holds in memory: the writer
-- folds new samples into the rollup tiers in memory and writes each bucket's pending
-- part a few seconds later. A row here is inserted in the transaction that stores the
-- first raw row of such a pending part and deleted in the one that writes it; rows left
-- after a crash name exactly the buckets to recompute from the finer tier at start-up.
-- tier: 1 = metrics_1m, 2 = metrics_1h.
CREATE TABLE rollup_pending (
    machine_id BIGINT NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    tier INTEGER NOT NULL,
    bucket_ts BIGINT NOT NULL,
    PRIMARY KEY (machine_id, tier, bucket_ts)
);
