//! Request and response bodies of the REST API (`docs/api/openapi.json` is generated
//! from the hub's handlers, which use these types).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{MachineStatus, Sample};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// Every error response: `{"error":{"code","message"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// A machine-readable code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub enum Role {
    Admin,
    User,
}

impl Role {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct User {
    pub id: i64,
    pub email: String,
    pub role: Role,
    /// Epoch milliseconds.
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateUser {
    pub email: String,
    pub password: String,
    #[serde(default = "default_role")]
    pub role: Role,
}

fn default_role() -> Role {
    Role::User
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UpdateUser {
    pub email: Option<String>,
    pub role: Option<Role>,
    /// Sets a new password and ends all of the user's sessions.
    pub password: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

/// A registered machine as the API shows it. The key itself is never shown again
/// after create or rotate; `key_prefix` identifies it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Machine {
    pub id: i64,
    pub name: String,
    pub owner_id: i64,
    pub status: MachineStatus,
    /// Epoch milliseconds of the last sample.
    pub last_seen: Option<i64>,
    /// First characters of the current key, for recognising it; `None` when revoked.
    pub key_prefix: Option<String>,
    pub hostname: Option<String>,
    pub os: Option<String>,
    pub kernel: Option<String>,
    pub arch: Option<String>,
    pub cpu_model: Option<String>,
    pub cores: Option<i32>,
    pub mem_total_bytes: Option<i64>,
    pub boot_time_s: Option<i64>,
    pub agent_version: Option<String>,
    pub interval_ms: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateMachine {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UpdateMachine {
    pub name: String,
}

/// Answer to create and rotate-key: the key, shown exactly once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MachineWithKey {
    pub machine: Machine,
    pub api_key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EnrollmentToken {
    pub id: i64,
    pub name: String,
    pub token_prefix: String,
    /// Epoch milliseconds; `None` never expires.
    pub expires_at: Option<i64>,
    /// Registrations left; `None` is unlimited.
    pub uses_left: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateEnrollmentToken {
    #[serde(default)]
    pub name: String,
    /// Seconds until the token stops working; omitted never expires.
    pub expires_in_s: Option<i64>,
    /// How many machines it may register; omitted is unlimited.
    pub max_uses: Option<i64>,
}

/// Answer to creating an enrollment token: the secret, shown exactly once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EnrollmentTokenWithSecret {
    pub token: EnrollmentToken,
    pub secret: String,
}

/// `POST /agent/register` body (Bearer: an enrollment token).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RegisterRequest {
    pub name: String,
    #[serde(default)]
    pub hostname: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RegisterResponse {
    pub machine_id: i64,
    pub api_key: String,
}

/// `GET /agent/health`: liveness, and with a Bearer key whether that key is valid.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AgentHealth {
    pub status: String,
    pub protocol_version: u32,
    pub key_valid: Option<bool>,
    pub machine_id: Option<i64>,
}

/// `POST /agent/metrics` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Accepted {
    pub accepted: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    pub ts: i64,
    pub actor_user_id: Option<i64>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<i64>,
    pub detail: String,
}

/// Avg/min/max of one scalar per bucket, columnar for charting; `None` is a gap.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Band {
    pub avg: Vec<Option<f64>>,
    pub min: Vec<Option<f64>>,
    pub max: Vec<Option<f64>>,
}

/// `GET /api/machines/{id}/metrics`: buckets of `step_ms` starting at `ts[i]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MetricSeries {
    pub machine_id: i64,
    pub from: i64,
    pub to: i64,
    pub step_ms: i64,
    /// Which stored tier answered: `raw`, `1m` or `1h`.
    pub tier: String,
    pub ts: Vec<i64>,
    pub series: BTreeMap<String, Band>,
}

/// `GET /api/machines/{id}/latest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Latest {
    pub machine_id: i64,
    pub status: MachineStatus,
    pub last_seen: Option<i64>,
    pub sample: Option<Sample>,
}

/// `GET/PUT /api/admin/retention`: how long each history tier is kept, in seconds.
/// Each is between 1 hour and 100 years, and coarser tiers are kept at least as long
/// as finer ones (`raw_s <= minute_s <= hour_s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Raw samples (default 48 h).
    pub raw_s: u64,
    /// 1-minute rollups (default 30 days).
    pub minute_s: u64,
    /// 1-hour rollups (default 400 days).
    pub hour_s: u64,
}
