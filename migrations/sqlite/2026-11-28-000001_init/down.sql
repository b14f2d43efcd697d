DROP TABLE metrics_history;
DROP TABLE audit_log;
DROP TABLE enrollment_tokens;
DROP TABLE machines;
DROP TABLE sessions;
DROP TABLE users;
