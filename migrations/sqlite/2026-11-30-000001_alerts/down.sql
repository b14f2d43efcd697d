DROP TABLE alert_deliveries;
DROP TABLE alert_events;
DROP TABLE alert_rules;
DROP TABLE notification_channels;
