//! `machines`: registered servers, their owner, key hash and last reported facts.

use diesel::prelude::*;

use super::DbConn;
use super::schema::machines;
use lunasentri_schema::api::Machine;
use lunasentri_schema::{Hello, MachineStatus};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = machines)]
pub struct MachineRow {
    pub id: i64,
    pub owner_id: i64,
    pub name: String,
    pub api_key_hash: Option<String>,
    pub key_prefix: Option<String>,
    pub status: String,
    pub last_seen: Option<i64>,
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

#[derive(Debug, Insertable)]
#[diesel(table_name = machines)]
pub struct NewMachine<'a> {
    pub owner_id: i64,
    pub name: &'a str,
    pub api_key_hash: &'a str,
    pub key_prefix: &'a str,
    pub status: &'a str,
    pub hostname: Option<&'a str>,
    pub created_at: i64,
}

impl MachineRow {
    /// The API view; never includes the key hash.
    pub fn to_api(&self) -> Machine {
        Machine {
            id: self.id,
            name: self.name.clone(),
            owner_id: self.owner_id,
            status: MachineStatus::parse(&self.status),
            last_seen: self.last_seen,
            key_prefix: self.key_prefix.clone(),
            hostname: self.hostname.clone(),
            os: self.os.clone(),
            kernel: self.kernel.clone(),
            arch: self.arch.clone(),
            cpu_model: self.cpu_model.clone(),
            cores: self.cores,
            mem_total_bytes: self.mem_total_bytes,
            boot_time_s: self.boot_time_s,
            agent_version: self.agent_version.clone(),
            interval_ms: self.interval_ms,
            created_at: self.created_at,
        }
    }
}

pub fn insert(conn: &mut DbConn, new: &NewMachine) -> QueryResult<MachineRow> {
    crate::on_backend!(conn, c => diesel::insert_into(machines::table)
        .values(new)
        .returning(MachineRow::as_returning())
        .get_result(c))
}

pub fn by_id(conn: &mut DbConn, id: i64) -> QueryResult<Option<MachineRow>> {
    machines::table
        .find(id)
        .select(MachineRow::as_select())
        .first(conn)
        .optional()
}

/// The machine whose current key hashes to `hash` (revoked keys match nothing).
pub fn by_key_hash(conn: &mut DbConn, hash: &str) -> QueryResult<Option<MachineRow>> {
    machines::table
        .filter(machines::api_key_hash.eq(hash))
        .select(MachineRow::as_select())
        .first(conn)
        .optional()
}

/// Machines of one owner, or of everyone when `owner` is `None`.
pub fn list(conn: &mut DbConn, owner: Option<i64>) -> QueryResult<Vec<MachineRow>> {
    let mut q = machines::table
        .order(machines::id)
        .select(MachineRow::as_select())
        .into_boxed();
    if let Some(o) = owner {
        q = q.filter(machines::owner_id.eq(o));
    }
    q.load(conn)
}

/// Ids of one owner's machines, or of all machines.
pub fn ids(conn: &mut DbConn, owner: Option<i64>) -> QueryResult<Vec<i64>> {
    let mut q = machines::table
        .order(machines::id)
        .select(machines::id)
        .into_boxed();
    if let Some(o) = owner {
        q = q.filter(machines::owner_id.eq(o));
    }
    q.load(conn)
}

pub fn rename(conn: &mut DbConn, id: i64, name: &str) -> QueryResult<usize> {
    diesel::update(machines::table.find(id))
        .set(machines::name.eq(name))
        .execute(conn)
}

/// Replaces the key: the old hash stops matching in the same statement.
pub fn set_key(
    conn: &mut DbConn,
    id: i64,
    hash: Option<&str>,
    prefix: Option<&str>,
) -> QueryResult<usize> {
    diesel::update(machines::table.find(id))
        .set((
            machines::api_key_hash.eq(hash),
            machines::key_prefix.eq(prefix),
        ))
        .execute(conn)
}

/// Stores the facts an agent reports in `hello`.
pub fn set_hello(conn: &mut DbConn, id: i64, h: &Hello) -> QueryResult<usize> {
    let clip = |s: &str| s.chars().take(200).collect::<String>();
    diesel::update(machines::table.find(id))
        .set((
            machines::hostname.eq(clip(&h.hostname)),
            machines::os.eq(clip(&h.os)),
            machines::kernel.eq(clip(&h.kernel)),
            machines::arch.eq(clip(&h.arch)),
            machines::cpu_model.eq(clip(&h.cpu_model)),
            machines::cores.eq(i32::try_from(h.cores).unwrap_or(i32::MAX)),
            machines::mem_total_bytes.eq(i64::try_from(h.mem_total_bytes).unwrap_or(i64::MAX)),
            machines::boot_time_s.eq(i64::try_from(h.boot_time_s).unwrap_or(i64::MAX)),
            machines::agent_version.eq(clip(&h.agent_version)),
            machines::interval_ms.eq(i64::try_from(h.interval_ms).unwrap_or(i64::MAX)),
        ))
        .execute(conn)
}

/// Stores a status change; `last_seen: None` keeps the stored one.
pub fn set_status(
    conn: &mut DbConn,
    id: i64,
    status: MachineStatus,
    last_seen: Option<i64>,
) -> QueryResult<usize> {
    let row = diesel::update(machines::table.find(id));
    match last_seen {
        Some(ts) => row
            .set((
                machines::status.eq(status.as_str()),
                machines::last_seen.eq(ts),
            ))
            .execute(conn),
        None => row.set(machines::status.eq(status.as_str())).execute(conn),
    }
}

/// Deletes the machine and its metrics: raw rows first (see
/// [`super::metrics::delete_machines`]), rollups through ON DELETE CASCADE.
pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    conn.write_transaction(|c| {
        super::metrics::delete_machines(c, &[id])?;
        diesel::delete(machines::table.find(id)).execute(c)
    })
}

/// Moves `last_seen` forward (never back) while the machine is reporting.
pub fn touch_last_seen(conn: &mut DbConn, id: i64, ts: i64) -> QueryResult<usize> {
    diesel::update(machines::table.find(id))
        .filter(machines::last_seen.is_null().or(machines::last_seen.lt(ts)))
        .set(machines::last_seen.eq(ts))
        .execute(conn)
}

#[derive(diesel::QueryableByName)]
struct ServerNow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    ms: i64,
}

/// The database server's clock in epoch milliseconds: one clock for every hub on it.
fn server_now_ms(conn: &mut DbConn) -> QueryResult<i64> {
    let sql = match conn {
        DbConn::Sqlite(_) => {
            "SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS BIGINT) AS ms"
        }
        DbConn::Pg(_) => "SELECT (extract(epoch from clock_timestamp()) * 1000)::BIGINT AS ms",
    };
    diesel::sql_query(sql)
        .get_result::<ServerNow>(conn)
        .map(|n| n.ms)
}

/// Marks offline every machine still `online` whose `last_seen` is older than `silent`
/// by the database server's clock, one conditional update per machine, and returns the
/// ones this call changed (with their `last_seen`): when several hubs sweep at once,
/// each machine is claimed by exactly one of them.
pub fn claim_silent(
    conn: &mut DbConn,
    silent: std::time::Duration,
) -> QueryResult<Vec<(i64, Option<i64>)>> {
    let cutoff = server_now_ms(conn)? - silent.as_millis() as i64;
    let online = MachineStatus::Online.as_str();
    let candidates: Vec<(i64, Option<i64>)> = machines::table
        .filter(machines::status.eq(online))
        .filter(machines::last_seen.lt(cutoff))
        .select((machines::id, machines::last_seen))
        .load(conn)?;
    let mut claimed = Vec::new();
    for (id, last_seen) in candidates {
        let n = diesel::update(machines::table.find(id))
            .filter(machines::status.eq(online))
            .filter(machines::last_seen.lt(cutoff))
            .set(machines::status.eq(MachineStatus::Offline.as_str()))
            .execute(conn)?;
        if n == 1 {
            claimed.push((id, last_seen));
        }
    }
    Ok(claimed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::users::{self, NewUser};
    use crate::testing::TestDb;

    fn claim_on(db: &TestDb) {
        let (pool, _) = crate::db::connect(&db.url, 1).expect("database");
        let c = &mut pool.get().expect("connection");
        let user = users::insert(
            c,
            &NewUser {
                email: "sweep@example.com",
                password_hash: "x",
                role: "user",
                created_at: 0,
            },
        )
        .expect("user");
        let now = server_now_ms(c).expect("server clock");
        assert!(
            (now - crate::db::now_ms()).abs() < 60_000,
            "server clock {now}"
        );
        let mut ids = Vec::new();
        for (i, (status, age_s)) in [("online", 200), ("online", 10), ("offline", 500)]
            .into_iter()
            .enumerate()
        {
            let (name, hash) = (format!("m{i}"), format!("h{i}"));
            let m = insert(
                c,
                &NewMachine {
                    owner_id: user.id,
                    name: &name,
                    api_key_hash: &hash,
                    key_prefix: "p",
                    status,
                    hostname: None,
                    created_at: 0,
                },
            )
            .expect("machine");
            touch_last_seen(c, m.id, now - age_s * 1000).expect("last seen");
            ids.push(m.id);
        }
        let silent = std::time::Duration::from_secs(120);
        let claimed = claim_silent(c, silent).expect("claim");
        assert_eq!(claimed, vec![(ids[0], Some(now - 200_000))]);
        assert!(claim_silent(c, silent).expect("claim again").is_empty());
        let status = by_id(c, ids[0]).expect("read").expect("row").status;
        assert_eq!(status, "offline");
    }

    /// Only machines online and silent past the window are claimed, each once.
    #[test]
    fn claim_silent_sqlite() {
        claim_on(&TestDb::sqlite());
    }

    #[test]
    fn claim_silent_postgres() {
        if let Some(db) = TestDb::postgres() {
            claim_on(&db);
        }
    }
}
