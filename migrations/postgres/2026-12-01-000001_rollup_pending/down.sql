DROP TABLE rollup_pending;
