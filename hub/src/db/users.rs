//! `users`: accounts with an argon2id password hash and a role.

use diesel::prelude::*;

use super::DbConn;
use super::schema::users;
use lunasentri_schema::api::{Role, User};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: i64,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub created_at: i64,
}

impl UserRow {
    /// The role column as the API enum (anything but `admin` is a plain user).
    pub fn role(&self) -> Role {
        if self.role == "admin" {
            Role::Admin
        } else {
            Role::User
        }
    }

    /// The API view: never includes the hash.
    pub fn to_api(&self) -> User {
        User {
            id: self.id,
            email: self.email.clone(),
            role: self.role(),
            created_at: self.created_at,
        }
    }
}

pub fn insert(conn: &mut DbConn, new: &NewUser) -> QueryResult<UserRow> {
    crate::on_backend!(conn, c => diesel::insert_into(users::table)
        .values(new)
        .returning(UserRow::as_returning())
        .get_result(c))
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

pub fn by_id(conn: &mut DbConn, id: i64) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::email.eq(email))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut DbConn) -> QueryResult<Vec<UserRow>> {
    users::table
        .order(users::id)
        .select(UserRow::as_select())
        .load(conn)
}

pub fn set_email(conn: &mut DbConn, id: i64, email: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::email.eq(email))
        .execute(conn)
}

pub fn set_role(conn: &mut DbConn, id: i64, role: Role) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::role.eq(role.as_str()))
        .execute(conn)
}

pub fn set_password_hash(conn: &mut DbConn, id: i64, hash: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::password_hash.eq(hash))
        .execute(conn)
}

/// How many admins there are. On PostgreSQL their rows stay locked until the
/// transaction ends, so of two transactions that each check "another admin remains"
/// before demoting or deleting one, the second counts after the first has committed
/// (SQLite's write transactions are serialised already, see
/// [`DbConn::write_transaction`]).
pub fn count_admins(conn: &mut DbConn) -> QueryResult<i64> {
    let admins = users::table.filter(users::role.eq("admin"));
    match conn {
        DbConn::Pg(c) => Ok(admins.select(users::id).for_update().load::<i64>(c)?.len() as i64),
        DbConn::Sqlite(c) => admins.count().get_result(c),
    }
}

/// Deletes the user; machines, metrics, sessions and tokens go with it (raw rows
/// explicitly, see [`super::metrics::delete_machines`]; the rest by ON DELETE CASCADE).
pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    conn.write_transaction(|c| {
        let machine_ids = super::machines::ids(c, Some(id))?;
        super::metrics::delete_machines(c, &machine_ids)?;
        diesel::delete(users::table.find(id)).execute(c)
    })
}

/// Erases an account and everything of it: its machines with their raw history and
/// rollups, its sessions and enrollment tokens (all by ON DELETE CASCADE), and every
/// audit row about it or its machines. Run it inside a transaction.
pub fn erase(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    let machine_ids = super::machines::ids(conn, Some(id))?;
    super::audit::delete_about_user(conn, id, &machine_ids)?;
    delete(conn, id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDb;

    /// Two admins, each demoting the other at the same moment as the users handler
    /// does it (count, then demote, in one write transaction): one of them stays admin,
    /// on both backends.
    fn one_admin_always_remains(db: &TestDb) {
        let (pool, _) = crate::db::connect(&db.url, 4).unwrap();
        let ids: Vec<i64> = ["a@x.io", "b@x.io"]
            .iter()
            .map(|email| {
                let new = NewUser {
                    email,
                    password_hash: "x",
                    role: "admin",
                    created_at: 0,
                };
                insert(&mut pool.get().unwrap(), &new).unwrap().id
            })
            .collect();
        let gate = std::sync::Arc::new(std::sync::Barrier::new(2));
        let demotions: Vec<_> = [ids[1], ids[0]]
            .into_iter()
            .map(|other| {
                let (pool, gate) = (pool.clone(), gate.clone());
                std::thread::spawn(move || {
                    let mut c = pool.get().unwrap();
                    gate.wait();
                    c.write_transaction(|c| {
                        if count_admins(c)? <= 1 {
                            return Ok(false);
                        }
                        set_role(c, other, Role::User)?;
                        Ok::<_, diesel::result::Error>(true)
                    })
                    .unwrap()
                })
            })
            .collect();
        let done = demotions
            .into_iter()
            .filter_map(|d| d.join().unwrap().then_some(()))
            .count();
        let mut c = pool.get().unwrap();
        assert_eq!(count_admins(&mut c).unwrap(), 1, "demotions done: {done}");
        assert_eq!(done, 1);
    }

    #[test]
    fn one_admin_always_remains_sqlite() {
        one_admin_always_remains(&TestDb::sqlite());
    }

    #[test]
    fn one_admin_always_remains_postgres() {
        if let Some(db) = TestDb::postgres() {
            one_admin_always_remains(&db);
        }
    }
}
