//! `lunasentri-agent`: collects host metrics and streams them to the hub.

fn main() {}
