-- Alerting. alert_rules belong to a user; machine_ids is a JSON array of machine ids
-- or NULL for every machine of the user. alert_events is one row per alert, from
-- firing to resolved; the open ones (state 'firing') rebuild the engine's state after
-- a restart, so nothing fires twice. alert_deliveries records
-- each notification of an event on a channel. notification_channels.config is the JSON
-- channel configuration, secrets included (never returned by the API).
CREATE TABLE notification_channels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX notification_channels_user ON notification_channels (user_id);

CREATE TABLE alert_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    machine_ids TEXT,
    metric TEXT NOT NULL,
    comparator TEXT NOT NULL,
    threshold DOUBLE NOT NULL,
    clear_threshold DOUBLE NOT NULL,
    for_s BIGINT NOT NULL,
    repeat_s BIGINT,
    severity TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    quiet_start TEXT,
    quiet_end TEXT,
    channel_ids TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX alert_rules_user ON alert_rules (user_id);

CREATE TABLE alert_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id BIGINT REFERENCES alert_rules (id) ON DELETE SET NULL,
    rule_name TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    machine_id BIGINT NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    metric TEXT NOT NULL,
    comparator TEXT NOT NULL,
    threshold DOUBLE NOT NULL,
    severity TEXT NOT NULL,
    state TEXT NOT NULL,
    value DOUBLE,
    resolved_value DOUBLE,
    started_at BIGINT NOT NULL,
    resolved_at BIGINT,
    acknowledged_at BIGINT,
    acknowledged_by BIGINT,
    last_notified_at BIGINT
);
CREATE INDEX alert_events_user_started ON alert_events (user_id, started_at);
CREATE INDEX alert_events_machine_started ON alert_events (machine_id, started_at);
CREATE INDEX alert_events_open ON alert_events (rule_id, machine_id) WHERE state = 'firing';


CREATE TABLE alert_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id BIGINT NOT NULL REFERENCES alert_events (id) ON DELETE CASCADE,
    channel_id BIGINT REFERENCES notification_channels (id) ON DELETE SET NULL,
    channel_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX alert_deliveries_event ON alert_deliveries (event_id);
