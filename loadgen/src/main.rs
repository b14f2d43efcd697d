//! `lunasentri-loadgen`: simulates agents and dashboards against a hub.

fn main() {}
