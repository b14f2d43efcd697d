//! `enrollment_tokens`: user-scoped secrets that let agents register machines.

use diesel::prelude::*;

use super::DbConn;
use super::schema::enrollment_tokens as et;
use lunasentri_schema::api::EnrollmentToken;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = et)]
pub struct TokenRow {
    pub id: i64,
    pub owner_id: i64,
    pub name: String,
    pub token_hash: String,
    pub token_prefix: String,
    pub expires_at: Option<i64>,
    pub uses_left: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = et)]
pub struct NewToken<'a> {
    pub owner_id: i64,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub token_prefix: &'a str,
    pub expires_at: Option<i64>,
    pub uses_left: Option<i64>,
    pub created_at: i64,
}

impl TokenRow {
    pub fn to_api(&self) -> EnrollmentToken {
        EnrollmentToken {
            id: self.id,
            name: self.name.clone(),
            token_prefix: self.token_prefix.clone(),
            expires_at: self.expires_at,
            uses_left: self.uses_left,
            created_at: self.created_at,
        }
    }
}

pub fn insert(conn: &mut DbConn, new: &NewToken) -> QueryResult<TokenRow> {
    crate::on_backend!(conn, c => diesel::insert_into(et::table)
        .values(new)
        .returning(TokenRow::as_returning())
        .get_result(c))
}

pub fn list(conn: &mut DbConn, owner: i64) -> QueryResult<Vec<TokenRow>> {
    et::table
        .filter(et::owner_id.eq(owner))
        .order(et::id)
        .select(TokenRow::as_select())
        .load(conn)
}

pub fn by_id(conn: &mut DbConn, id: i64) -> QueryResult<Option<TokenRow>> {
    et::table
        .find(id)
        .select(TokenRow::as_select())
        .first(conn)
        .optional()
}

pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(et::table.find(id)).execute(conn)
}

/// Uses one registration of a valid token; returns the token, or `None` when it is
/// unknown, expired or used up. Call inside a transaction.
pub fn consume(conn: &mut DbConn, hash: &str, now: i64) -> QueryResult<Option<TokenRow>> {
    let Some(tok) = et::table
        .filter(et::token_hash.eq(hash))
        .select(TokenRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    if tok.expires_at.is_some_and(|e| e <= now) || tok.uses_left.is_some_and(|u| u <= 0) {
        return Ok(None);
    }
    // Counted down only while uses are left: of two registrations racing for the last
    // use (PostgreSQL's READ COMMITTED lets both read it), the second updates nothing.
    if tok.uses_left.is_some()
        && diesel::update(et::table.find(tok.id))
            .filter(et::uses_left.gt(0))
            .set(et::uses_left.eq(et::uses_left - 1))
            .execute(conn)?
            == 0
    {
        return Ok(None);
    }
    Ok(Some(tok))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(conn: &mut DbConn, hash: &str, expires_at: Option<i64>, uses_left: Option<i64>) {
        let owner = crate::db::users::insert(
            conn,
            &crate::db::users::NewUser {
                email: &format!("{hash}@x.io"),
                password_hash: "x",
                role: "user",
                created_at: 0,
            },
        )
        .unwrap()
        .id;
        let new = NewToken {
            owner_id: owner,
            name: "t",
            token_hash: hash,
            token_prefix: "lse_",
            expires_at,
            uses_left,
            created_at: 0,
        };
        insert(conn, &new).unwrap();
    }

    /// Expired and used-up tokens register nothing; limited tokens count down.
    #[test]
    fn consume_respects_expiry_and_uses() {
        let dir = tempfile::tempdir().unwrap();
        let (pool, _) = crate::db::connect(
            &format!("sqlite://{}", dir.path().join("t.db").display()),
            1,
        )
        .unwrap();
        let mut c = pool.get().unwrap();
        token(&mut c, "expired", Some(1_000), None);
        token(&mut c, "twice", Some(10_000), Some(2));
        token(&mut c, "forever", None, None);
        assert!(consume(&mut c, "expired", 1_000).unwrap().is_none());
        assert!(consume(&mut c, "twice", 5_000).unwrap().is_some());
        assert!(consume(&mut c, "twice", 5_000).unwrap().is_some());
        assert!(
            consume(&mut c, "twice", 5_000).unwrap().is_none(),
            "used up"
        );
        assert!(consume(&mut c, "forever", i64::MAX - 1).unwrap().is_some());
        assert!(consume(&mut c, "unknown", 0).unwrap().is_none());
    }

    /// Eight registrations racing for a token's last use on PostgreSQL, each in its own
    /// transaction as the enrollment handler runs it: exactly one gets it.
    #[test]
    fn the_last_use_goes_to_one_registration() {
        let Some(db) = crate::testing::TestDb::postgres() else {
            return;
        };
        let (pool, _) = crate::db::connect(&db.url, 8).unwrap();
        token(&mut pool.get().unwrap(), "once", None, Some(1));
        let gate = std::sync::Arc::new(std::sync::Barrier::new(8));
        let racers: Vec<_> = (0..8)
            .map(|_| {
                let (pool, gate) = (pool.clone(), gate.clone());
                std::thread::spawn(move || {
                    let mut c = pool.get().unwrap();
                    c.write_transaction(|c| {
                        gate.wait();
                        consume(c, "once", 0)
                    })
                    .unwrap()
                    .is_some()
                })
            })
            .collect();
        let won = racers
            .into_iter()
            .filter_map(|r| r.join().unwrap().then_some(()))
            .count();
        assert_eq!(won, 1, "a single-use token registered {won} machines");
    }
}
