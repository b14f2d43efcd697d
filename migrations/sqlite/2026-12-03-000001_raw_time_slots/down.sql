DROP TRIGGER metrics_history_machine_exists;
CREATE TABLE metrics_history_keyed (
    machine_id BIGINT NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    ts BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    cpu_pct DOUBLE NOT NULL,
    mem_used_pct DOUBLE NOT NULL,
    disk_used_pct DOUBLE NOT NULL,
    net_rx_bytes BIGINT NOT NULL,
    net_tx_bytes BIGINT NOT NULL,
    load1 DOUBLE NOT NULL,
    load5 DOUBLE NOT NULL,
    load15 DOUBLE NOT NULL,
    mem_used_bytes BIGINT NOT NULL,
    mem_total_bytes BIGINT NOT NULL,
    swap_used_bytes BIGINT NOT NULL,
    swap_total_bytes BIGINT NOT NULL,
    disk_read_bps DOUBLE NOT NULL,
    disk_write_bps DOUBLE NOT NULL,
    net_rx_bps DOUBLE NOT NULL,
    net_tx_bps DOUBLE NOT NULL,
    uptime_s BIGINT NOT NULL,
    procs BIGINT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (machine_id, ts)
);
INSERT INTO metrics_history_keyed SELECT * FROM metrics_history WHERE machine_id IN (SELECT id FROM machines);
DROP TABLE metrics_history;
ALTER TABLE metrics_history_keyed RENAME TO metrics_history;
