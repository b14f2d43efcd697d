-- Raw rows keyed by time first. With (machine_id, ts) as the key every flush of the
-- writer touched one index page per machine that reported (thousands of pages, each
-- written to the log and checkpointed again), and once the index outgrew the page cache
-- each insert also read its page back. Keyed by 10-second slot first, a flush touches
-- only the pages of the current slots, whatever the number of machines or the size of
-- the history; reads of one machine seek slot by slot (db/raw_slots.rs), retention
-- deletes a contiguous range. The slot is ts / 10000 (integer division). A foreign key
-- would make every machine deletion scan the whole table for the machine's rows (the
-- hub deletes them by slot instead); the trigger keeps the foreign key's other half, a
-- row of a machine that does not exist (deleted a moment ago) is refused.
CREATE TABLE metrics_history_slots (
    machine_id BIGINT NOT NULL,
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
    detail TEXT NOT NULL
);
INSERT INTO metrics_history_slots SELECT * FROM metrics_history;
DROP TABLE metrics_history;
ALTER TABLE metrics_history_slots RENAME TO metrics_history;
CREATE UNIQUE INDEX metrics_history_slot ON metrics_history (ts / 10000, machine_id, ts);
CREATE TRIGGER metrics_history_machine_exists BEFORE INSERT ON metrics_history
WHEN NOT EXISTS (SELECT 1 FROM machines WHERE id = NEW.machine_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: metrics_history.machine_id');
END;
