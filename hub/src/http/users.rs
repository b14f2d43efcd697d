//! `/api/users`: account administration (admins only).

use actix_web::{HttpResponse, web};
use lunasentri_schema::api::{CreateUser, ErrorBody, Role, UpdateUser, User};

use super::extract::Json;
use super::{access, validation};
use crate::auth::AuthUser;
use crate::auth::secrets::hash_password;
use crate::cluster::ControlEvent;
use crate::db::{now_ms, sessions, users};
use crate::error::{ApiError, ApiResult};
use crate::state::State;

/// Admin-only item endpoints answer 404 to everyone else, like any foreign resource.
fn admin_or_404(user: &AuthUser) -> ApiResult<()> {
    if user.is_admin() {
        Ok(())
    } else {
        Err(ApiError::NotFound("user"))
    }
}

/// All users.
#[utoipa::path(get, operation_id = "list_users", path = "/api/users", tag = "users",
    responses((status = 200, body = [User]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(state: State, user: AuthUser) -> ApiResult<Json<Vec<User>>> {
    user.require_admin()?;
    let rows = state.db(|c| Ok(users::list(c)?)).await?;
    Ok(Json(rows.iter().map(|u| u.to_api()).collect()))
}

/// Create a user.
#[utoipa::path(post, operation_id = "create_user", path = "/api/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = User), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    state: State,
    user: AuthUser,
    body: Json<CreateUser>,
) -> ApiResult<HttpResponse> {
    user.require_admin()?;
    let CreateUser {
        email,
        password,
        role,
    } = body.into_inner();
    let email = validation::email(&email)?;
    validation::password("password", &password)?;
    let admin = user.clone();
    let row = state
        .db(move |c| {
            if users::by_email(c, &email)?.is_some() {
                return Err(ApiError::Conflict(format!(
                    "email: {email} is already registered"
                )));
            }
            let hash = hash_password(&password).map_err(ApiError::Internal)?;
            let row = users::insert(
                c,
                &users::NewUser {
                    email: &email,
                    password_hash: &hash,
                    role: role.as_str(),
                    created_at: now_ms(),
                },
            )?;
            access::audit(
                c,
                &admin,
                "create_user",
                "user",
                Some(row.id),
                row.email.clone(),
            )?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Created().json(row.to_api()))
}

/// Change a user's e-mail, role or password.
#[utoipa::path(patch, operation_id = "update_user", path = "/api/users/{id}", tag = "users", request_body = UpdateUser,
    params(("id" = i64, Path, description = "User id")),
    responses((status = 200, body = User), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
    body: Json<UpdateUser>,
) -> ApiResult<Json<User>> {
    admin_or_404(&user)?;
    let id = id.into_inner();
    let UpdateUser {
        email,
        role,
        password,
    } = body.into_inner();
    let email = email.as_deref().map(validation::email).transpose()?;
    if let Some(p) = &password {
        validation::password("password", p)?;
    }
    let password_reset = password.is_some();
    let admin = user.clone();
    let (row, role_changed) = state
        .db(move |c| {
            c.write_transaction::<_, ApiError, _>(|c| {
                let before = users::by_id(c, id)?.ok_or(ApiError::NotFound("user"))?;
                if let Some(e) = &email
                    && users::by_email(c, e)?.is_some_and(|u| u.id != id)
                {
                    return Err(ApiError::Conflict(format!(
                        "email: {e} is already registered"
                    )));
                }
                if role == Some(Role::User)
                    && before.role() == Role::Admin
                    && users::count_admins(c)? <= 1
                {
                    return Err(ApiError::Conflict(
                        "role: the last admin cannot be demoted".into(),
                    ));
                }
                if let Some(e) = &email {
                    users::set_email(c, id, e)?;
                }
                if let Some(r) = role {
                    users::set_role(c, id, r)?;
                }
                if let Some(p) = &password {
                    let hash = hash_password(p).map_err(ApiError::Internal)?;
                    users::set_password_hash(c, id, &hash)?;
                    sessions::delete_for_user(c, id, None)?;
                }
                access::audit(c, &admin, "update_user", "user", Some(id), String::new())?;
                let after = users::by_id(c, id)?.ok_or(ApiError::NotFound("user"))?;
                let changed = after.role() != before.role();
                Ok((after, changed))
            })
        })
        .await?;
    if role_changed {
        state.live.control(ControlEvent::RoleChanged {
            user_id: id,
            is_admin: row.role() == Role::Admin,
        });
        state.alerts_changed().await;
    }
    if password_reset {
        state
            .live
            .control(ControlEvent::end_user_sessions(id, None, "password reset"));
    }
    Ok(Json(row.to_api()))
}

/// Delete a user and everything they own (as `DELETE /api/me` does for oneself).
#[utoipa::path(delete, operation_id = "delete_user", path = "/api/users/{id}", tag = "users",
    params(("id" = i64, Path, description = "User id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete(state: State, user: AuthUser, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    admin_or_404(&user)?;
    let id = id.into_inner();
    if id == user.id {
        return Err(ApiError::Conflict(
            "id: you cannot delete your own account here; use DELETE /api/me".into(),
        ));
    }
    let admin = user.clone();
    state
        .db(move |c| {
            c.write_transaction::<_, ApiError, _>(|c| {
                let target = users::by_id(c, id)?.ok_or(ApiError::NotFound("user"))?;
                if target.role() == Role::Admin && users::count_admins(c)? <= 1 {
                    return Err(ApiError::Conflict(
                        "the last admin cannot be deleted".into(),
                    ));
                }
                users::erase(c, id)?;
                // The erased account is not named: nothing of it is kept.
                access::audit(c, &admin, "delete_user", "user", None, String::new())?;
                Ok(())
            })
        })
        .await?;
    state
        .live
        .control(ControlEvent::UserRemoved { user_id: id });
    state.alerts_changed().await;
    Ok(HttpResponse::NoContent().finish())
}
