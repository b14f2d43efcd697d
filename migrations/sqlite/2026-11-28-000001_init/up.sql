-- Users, sessions, machines, enrollment tokens, audit log and raw metrics.
-- Times are epoch milliseconds UTC in BIGINT columns.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'user')),
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE machines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    api_key_hash TEXT UNIQUE,
    key_prefix TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    last_seen BIGINT,
    hostname TEXT,
    os TEXT,
    kernel TEXT,
    arch TEXT,
    cpu_model TEXT,
    cores INTEGER,
    mem_total_bytes BIGINT,
    boot_time_s BIGINT,
    agent_version TEXT,
    interval_ms BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX machines_owner ON machines (owner_id);

CREATE TABLE enrollment_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    token_prefix TEXT NOT NULL,
    expires_at BIGINT,
    uses_left BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX enrollment_tokens_owner ON enrollment_tokens (owner_id);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts BIGINT NOT NULL,
    actor_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id BIGINT,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_ts ON audit_log (ts);

-- A rowid table: rows are appended in arrival order and the (machine_id, ts) key is a
-- separate index, so inserts from thousands of interleaved machines stay sequential
-- writes and the large `detail` column does not spill every key page.
CREATE TABLE metrics_history (
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
