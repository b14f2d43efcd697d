//! Start-up work on an opened database: the first admin, and the machines the live
//! registry must know.

use anyhow::Context as _;
use diesel::prelude::*;
use lunasentri_schema::MachineStatus;

use super::schema::machines;
use super::{DbConn, now_ms, users};
use crate::actors::subscription_registry::KnownMachine;
use crate::auth::secrets::{hash_password, random_token};

/// On an empty database, creates the admin from `LUNASENTRI_ADMIN_EMAIL` /
/// `LUNASENTRI_ADMIN_PASSWORD`, or with a generated password shown once on stderr.
pub fn ensure_admin(
    conn: &mut DbConn,
    email: Option<&str>,
    password: Option<&str>,
) -> anyhow::Result<()> {
    if users::count(conn)? > 0 {
        return Ok(());
    }
    let email = email.unwrap_or("admin@localhost").trim().to_lowercase();
    let generated = password.is_none();
    let password = match password {
        Some(p) => p.to_owned(),
        None => random_token("")[..20].to_owned(),
    };
    if password.chars().count() < 8 {
        anyhow::bail!("LUNASENTRI_ADMIN_PASSWORD: must be at least 8 characters");
    }
    let hash = hash_password(&password).map_err(anyhow::Error::msg)?;
    users::insert(
        conn,
        &users::NewUser {
            email: &email,
            password_hash: &hash,
            role: "admin",
            created_at: now_ms(),
        },
    )
    .context("creating the first admin")?;
    tracing::info!(email = %email, "created the first admin account");
    if generated {
        // The one place a secret is shown: the operator needs it to log in. It goes to
        // stderr once, never to the log or the database.
        eprintln!(
            "\n  LunaSentri: first start. Log in as {email} with password: {password}\n  \
             (set LUNASENTRI_ADMIN_PASSWORD to choose it; change it under Settings)\n"
        );
    }
    Ok(())
}

/// Every machine with owner and status. Machines still marked online but not seen
/// since `stale_before` (epoch ms) are marked offline: a single hub passes `i64::MAX`,
/// as none of its agents is connected yet and each reconnecting one brings its machine
/// back within one interval; in a cluster, machines other hubs hold stay online.
pub fn known_machines(conn: &mut DbConn, stale_before: i64) -> anyhow::Result<Vec<KnownMachine>> {
    let online = machines::status.eq(MachineStatus::Online.as_str());
    let stale = machines::last_seen
        .is_null()
        .or(machines::last_seen.lt(stale_before));
    diesel::update(machines::table.filter(online.and(stale)))
        .set(machines::status.eq(MachineStatus::Offline.as_str()))
        .execute(conn)?;
    load_machines(conn)
}

/// Every machine with owner and status, as stored.
pub fn load_machines(conn: &mut DbConn) -> anyhow::Result<Vec<KnownMachine>> {
    let rows: Vec<(i64, i64, String, Option<i64>)> = machines::table
        .select((
            machines::id,
            machines::owner_id,
            machines::status,
            machines::last_seen,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, owner_id, status, last_seen)| KnownMachine {
            id,
            owner_id,
            status: MachineStatus::parse(&status),
            last_seen,
        })
        .collect())
}
