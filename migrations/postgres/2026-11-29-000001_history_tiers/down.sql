DROP TABLE settings;
DROP TABLE metrics_1h;
DROP TABLE metrics_1m;
