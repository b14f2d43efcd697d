//! Integration tests of the hub: each test starts a real hub on `127.0.0.1:0` with its
//! own database and talks to it over real HTTP and WebSocket connections.

mod agent_link;
mod alerts;
mod auth;
mod bad_input;
mod cluster;
mod common;
mod history;
mod isolation;
mod live;
mod machines;
mod ops;
mod receivers;
mod storage;
