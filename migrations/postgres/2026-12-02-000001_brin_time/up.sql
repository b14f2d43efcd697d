-- PostgreSQL keeps rows roughly in arrival order, so a block-range (BRIN) index on each
-- history table's time column is tiny (about 280 kB for 7.2 million raw rows, against
-- 286 MB for the primary key) and finds one time slice of every machine in a few
-- neighbouring pages. Retention deletes by such slices (hub/src/retention.rs);
-- autosummarize keeps newly filled block ranges indexed without waiting for a vacuum.
CREATE INDEX metrics_history_ts_brin ON metrics_history USING brin (ts) WITH (autosummarize = on);
CREATE INDEX metrics_1m_bucket_brin ON metrics_1m USING brin (bucket_ts) WITH (autosummarize = on);
CREATE INDEX metrics_1h_bucket_brin ON metrics_1h USING brin (bucket_ts) WITH (autosummarize = on);
