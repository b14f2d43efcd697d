//! Constants of the agent link, protocol v1 (`docs/protocol.md` is the normative text).

/// Version of the agent link spoken by this build. Sent by the agent in
/// [`PROTOCOL_HEADER`]; the hub refuses versions it does not speak before the upgrade.
pub const PROTOCOL_VERSION: u32 = 1;

/// Request header carrying the agent's protocol version.
pub const PROTOCOL_HEADER: &str = "X-LunaSentri-Protocol";

/// Prefix of every machine API key, so a leaked key is recognisable in a scan.
pub const API_KEY_PREFIX: &str = "lsk_";

/// Prefix of every enrollment token.
pub const ENROLLMENT_TOKEN_PREFIX: &str = "lse_";

/// Largest text frame the hub accepts from an agent, except a `batch`.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Largest `batch` frame (backlog replay) or HTTP body the hub accepts.
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;

/// Most samples one `batch` may carry (one hour at 1 Hz).
pub const MAX_BATCH_SAMPLES: usize = 3600;

/// How far in the future a sample's `ts` may lie before it is refused (clock skew).
pub const MAX_FUTURE_SKEW_MS: i64 = 5 * 60 * 1000;

/// How old a sample's `ts` may be before it is refused (older than the raw retention
/// default plus a margin: such a sample could never be queried).
pub const MAX_SAMPLE_AGE_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// Shortest and longest sampling interval the hub tells agents to use.
pub const MIN_INTERVAL_MS: u64 = 1000;
/// See [`MIN_INTERVAL_MS`].
pub const MAX_INTERVAL_MS: u64 = 3_600_000;

/// WebSocket close codes the hub uses (4000–4999 is the application range).
pub mod close {
    /// The frame could not be parsed or failed validation.
    pub const BAD_FRAME: u16 = 4400;
    /// The machine's key was rotated or revoked, or the machine was deleted.
    pub const KEY_REVOKED: u16 = 4401;
    /// Another connection with the same key replaced this one.
    pub const REPLACED: u16 = 4409;
    /// The agent sent faster than its rate limit allows.
    pub const RATE_LIMITED: u16 = 4429;
    /// The hub is shutting down; reconnect with backoff.
    pub const GOING_AWAY: u16 = 1001;
    /// Dashboard sockets: the login ended (logout, password change, account deleted).
    pub const SESSION_ENDED: u16 = 4401;
}
