DROP INDEX metrics_1h_bucket_brin;
DROP INDEX metrics_1m_bucket_brin;
DROP INDEX metrics_history_ts_brin;
