//! Setting a run up through the hub's public API only: users (as the admin), a login
//! per user, and machines (each created by the user who owns it, so that user's
//! dashboards see it). The result is a [`Plan`], which can be written to a file and
//! shared by several loadgen processes. Also the REST reads at the end of a run.

use std::path::Path;
use std::time::Duration;

use futures_util::{StreamExt, stream};
use lunasentri_schema::api::{
    CreateMachine, CreateUser, Latest, LoginRequest, MachineWithKey, Role,
};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};

use crate::Error;

/// Name of the session cookie the hub sets at login.
pub const SESSION_COOKIE: &str = "lunasentri_session";

/// Requests in flight while creating machines (key hashing and one insert each).
const CREATE_CONCURRENCY: usize = 16;
/// Logins in flight (each costs the hub an argon2 verification).
const LOGIN_CONCURRENCY: usize = 2;
/// Attempts of a request the hub rate-limits (429) before giving up.
const RATE_LIMIT_ATTEMPTS: u32 = 20;
/// How long an idle connection stays pooled: below the hub's 5 s keep-alive, so a
/// request never goes out on a connection the hub is closing at that moment.
const POOL_IDLE: Duration = Duration::from_secs(3);

/// One simulated user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanUser {
    pub email: String,
    pub password: String,
    /// Value of the session cookie.
    pub session: String,
}

/// One simulated machine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanMachine {
    pub id: i64,
    /// Index into [`Plan::users`].
    pub user: usize,
    pub api_key: String,
}

/// Users, sessions, machines and keys of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub hub: String,
    pub run_id: String,
    pub users: Vec<PlanUser>,
    pub machines: Vec<PlanMachine>,
}

impl Plan {
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Setup(format!("plan {}: {e}", path.display())))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::Setup(format!("plan {}: not a loadgen plan: {e}", path.display())))
    }

    /// Writes the plan readable by its owner only: it holds keys and sessions.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        use std::io::Write;
        #[cfg(unix)]
        use std::os::unix::fs::OpenOptionsExt;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        opts.mode(0o600);
        let text = serde_json::to_vec(self).map_err(|e| Error::Setup(e.to_string()))?;
        opts.open(path)
            .and_then(|mut f| f.write_all(&text))
            .map_err(|e| Error::Setup(format!("plan {}: {e}", path.display())))
    }

    /// A made-up plan for the bare relay, which checks nothing: machine ids
    /// `1..=machines`, each key its machine id, dealt round-robin over `users`.
    pub fn synthetic(hub: &str, users: usize, machines: usize) -> Self {
        let users = users.max(1);
        Self {
            hub: hub.to_owned(),
            run_id: run_id(),
            users: (0..users)
                .map(|u| PlanUser {
                    email: format!("relay-u{u}@loadgen.example.com"),
                    password: String::new(),
                    session: format!("relay-u{u}"),
                })
                .collect(),
            machines: (0..machines)
                .map(|i| PlanMachine {
                    id: i as i64 + 1,
                    user: i % users,
                    api_key: (i + 1).to_string(),
                })
                .collect(),
        }
    }

    /// Machines of each user, in plan order (index into [`Plan::machines`]).
    pub fn machines_by_user(&self) -> Vec<Vec<usize>> {
        let mut by = vec![Vec::new(); self.users.len()];
        for (i, m) in self.machines.iter().enumerate() {
            if let Some(v) = by.get_mut(m.user) {
                v.push(i);
            }
        }
        by
    }
}

/// What dashboard `d` watches: its user and the machines (indices into the plan).
/// Dashboards are dealt round-robin over users; a user's dashboards take consecutive,
/// wrapping slices of `watch` machines so that the machines are watched evenly.
pub fn dashboard_assignment(
    d: usize,
    users: usize,
    by_user: &[Vec<usize>],
    watch: usize,
) -> (usize, Vec<usize>) {
    let user = d % users.max(1);
    let own = by_user.get(user).map(Vec::as_slice).unwrap_or(&[]);
    if watch == 0 || own.is_empty() {
        return (user, own.to_vec());
    }
    let nth = d / users.max(1);
    let k = watch.min(own.len());
    let start = nth * k;
    (user, (0..k).map(|i| own[(start + i) % own.len()]).collect())
}

/// A small REST client for the hub.
#[derive(Debug, Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
}

fn cookie_header(session: &str) -> String {
    format!("{SESSION_COOKIE}={session}")
}

impl Api {
    pub fn new(base: &str) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .pool_idle_timeout(POOL_IDLE)
            .build()
            .map_err(|e| Error::Setup(format!("HTTP client: {e}")))?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request built by `make`, waiting out 429 answers.
    async fn send(
        &self,
        what: &str,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Error> {
        for _ in 0..RATE_LIMIT_ATTEMPTS {
            let req = make()
                .build()
                .map_err(|e| Error::Setup(format!("{what}: {e}")))?;
            let res = match req.try_clone() {
                // A read is safe to repeat once: a connection closed under it (a proxy's
                // or the hub's idle timeout) says nothing about the hub.
                Some(again) if req.method() == Method::GET => match self.http.execute(req).await {
                    Err(e) if !e.is_timeout() => self.http.execute(again).await,
                    res => res,
                },
                _ => self.http.execute(req).await,
            }
            .map_err(|e| Error::Setup(format!("{what}: hub not reachable: {e}")))?;
            if res.status() != StatusCode::TOO_MANY_REQUESTS {
                return Ok(res);
            }
            let wait = res
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(2)
                .clamp(1, 60);
            tracing::warn!(
                what,
                wait_s = wait,
                "rate-limited by the hub; raise its login limits for load runs"
            );
            tokio::time::sleep(Duration::from_secs(wait)).await;
        }
        Err(Error::Setup(format!(
            "{what}: still rate-limited after {RATE_LIMIT_ATTEMPTS} attempts; raise the hub's limits.login_per_minute_ip / _account"
        )))
    }

    async fn expect(res: reqwest::Response, what: &str) -> Result<reqwest::Response, Error> {
        if res.status().is_success() {
            return Ok(res);
        }
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        Err(Error::Setup(format!(
            "{what}: hub answered {status}: {}",
            body.chars().take(300).collect::<String>()
        )))
    }

    /// Logs in and returns the session cookie's value.
    pub async fn login(&self, email: &str, password: &str) -> Result<String, Error> {
        let body = LoginRequest {
            email: email.into(),
            password: password.into(),
        };
        let what = format!("login as {email}");
        let res = self
            .send(&what, || {
                self.http.post(self.url("/api/auth/login")).json(&body)
            })
            .await?;
        let res = Self::expect(res, &what).await?;
        res.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| {
                v.split(';')
                    .next()?
                    .trim()
                    .strip_prefix(SESSION_COOKIE)?
                    .strip_prefix('=')
                    .map(str::to_owned)
            })
            .ok_or_else(|| {
                Error::Setup(format!("{what}: no {SESSION_COOKIE} cookie in the answer"))
            })
    }

    pub async fn create_user(&self, admin: &str, email: &str, password: &str) -> Result<(), Error> {
        let body = CreateUser {
            email: email.into(),
            password: password.into(),
            role: Role::User,
        };
        let what = format!("create user {email}");
        let res = self
            .send(&what, || {
                self.http
                    .post(self.url("/api/users"))
                    .header("cookie", cookie_header(admin))
                    .json(&body)
            })
            .await?;
        Self::expect(res, &what).await.map(drop)
    }

    pub async fn create_machine(&self, session: &str, name: &str) -> Result<MachineWithKey, Error> {
        let body = CreateMachine { name: name.into() };
        let what = format!("create machine {name}");
        let res = self
            .send(&what, || {
                self.http
                    .post(self.url("/api/machines"))
                    .header("cookie", cookie_header(session))
                    .json(&body)
            })
            .await?;
        Self::expect(res, &what)
            .await?
            .json()
            .await
            .map_err(|e| Error::Setup(format!("{what}: unexpected answer: {e}")))
    }

    /// Creates an alert rule as the session's user.
    pub async fn create_rule(&self, session: &str, body: &serde_json::Value) -> Result<(), Error> {
        let what = "create alert rule";
        let res = self
            .send(what, || {
                self.http
                    .post(self.url("/api/alert-rules"))
                    .header("cookie", cookie_header(session))
                    .json(body)
            })
            .await?;
        Self::expect(res, what).await.map(drop)
    }

    /// `GET /api/machines/{id}/latest` as the machine's owner.
    pub async fn latest(&self, session: &str, id: i64) -> Result<Latest, Error> {
        let what = format!("latest sample of machine {id}");
        let res = self
            .send(&what, || {
                self.http
                    .get(self.url(&format!("/api/machines/{id}/latest")))
                    .header("cookie", cookie_header(session))
            })
            .await?;
        Self::expect(res, &what)
            .await?
            .json()
            .await
            .map_err(|e| Error::Setup(format!("{what}: unexpected answer: {e}")))
    }

    /// The hub's `/metrics` text.
    pub async fn prometheus(&self) -> Result<String, Error> {
        let res = self
            .send("/metrics", || self.http.get(self.url("/metrics")))
            .await?;
        Self::expect(res, "/metrics")
            .await?
            .text()
            .await
            .map_err(|e| Error::Setup(format!("/metrics: {e}")))
    }
}

/// Creates `users` users and `machines` machines spread round-robin over them.
pub async fn provision(
    api: &Api,
    admin_email: &str,
    admin_password: &str,
    users: usize,
    machines: usize,
    mut progress: impl FnMut(&str),
) -> Result<Plan, Error> {
    let run_id = run_id();
    progress("logging in as admin");
    let admin = api.login(admin_email, admin_password).await?;
    let accounts: Vec<(String, String)> = (0..users)
        .map(|u| {
            (
                format!("loadgen-{run_id}-u{u}@loadgen.example.com"),
                format!("loadgen-{run_id}-pw-{u}"),
            )
        })
        .collect();
    progress(&format!("creating {users} users"));
    let created: Vec<Result<(), Error>> = stream::iter(&accounts)
        .map(|(e, p)| api.create_user(&admin, e, p))
        .buffered(LOGIN_CONCURRENCY)
        .collect()
        .await;
    created.into_iter().collect::<Result<Vec<_>, _>>()?;
    progress(&format!("logging in {users} users"));
    let sessions: Vec<Result<String, Error>> = stream::iter(&accounts)
        .map(|(e, p)| api.login(e, p))
        .buffered(LOGIN_CONCURRENCY)
        .collect()
        .await;
    let users: Vec<PlanUser> = accounts
        .into_iter()
        .zip(sessions)
        .map(|((email, password), s)| {
            s.map(|session| PlanUser {
                email,
                password,
                session,
            })
        })
        .collect::<Result<_, _>>()?;
    progress(&format!("creating {machines} machines"));
    let id = &run_id;
    let made: Vec<Result<PlanMachine, Error>> = stream::iter(0..machines)
        .map(|i| {
            let user = i % users.len();
            let session = users[user].session.clone();
            async move {
                let m = api
                    .create_machine(&session, &format!("loadgen-{id}-m{i}"))
                    .await?;
                Ok(PlanMachine {
                    id: m.machine.id,
                    user,
                    api_key: m.api_key,
                })
            }
        })
        .buffered(CREATE_CONCURRENCY)
        .collect()
        .await;
    let machines = made.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(Plan {
        hub: api.base.clone(),
        run_id,
        users,
        machines,
    })
}

/// The `i`-th rule body: metrics and thresholds the simulated samples never reach.
fn rule_body(i: u16) -> serde_json::Value {
    let (metric, threshold) = match i % 5 {
        0 => ("cpu_pct", 99.9),
        1 => ("mem_used_pct", 99.9),
        2 => ("disk_used_pct", 99.9),
        3 => ("load1", 1000.0),
        _ => ("swap_used_pct", 99.9),
    };
    serde_json::json!({
        "name": format!("loadgen rule {i}"),
        "metric": metric,
        "comparator": "gt",
        "threshold": threshold,
        "for_s": 60,
    })
}

/// Gives every user `per_machine` rules covering all of their machines.
pub async fn create_rules(api: &Api, plan: &Plan, per_machine: u16) -> Result<(), Error> {
    let jobs: Vec<(String, serde_json::Value)> = plan
        .users
        .iter()
        .flat_map(|u| (0..per_machine).map(move |i| (u.session.clone(), rule_body(i))))
        .collect();
    let made: Vec<Result<(), Error>> = stream::iter(&jobs)
        .map(|(session, body)| api.create_rule(session, body))
        .buffered(CREATE_CONCURRENCY)
        .collect()
        .await;
    made.into_iter().collect()
}

/// A short id that keeps the names of successive runs on one hub apart.
fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{:x}",
        (nanos as u64 ^ u64::from(std::process::id())) & 0xff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dashboards are dealt over users and watch even, wrapping slices of their own machines.
    #[test]
    fn dashboards_watch_even_slices() {
        // 2 users, machines 0..6 alternate between them.
        let by_user = vec![vec![0, 2, 4], vec![1, 3, 5]];
        assert_eq!(dashboard_assignment(0, 2, &by_user, 2), (0, vec![0, 2]));
        assert_eq!(dashboard_assignment(1, 2, &by_user, 2), (1, vec![1, 3]));
        assert_eq!(dashboard_assignment(2, 2, &by_user, 2), (0, vec![4, 0]));
        assert_eq!(dashboard_assignment(3, 2, &by_user, 0), (1, vec![1, 3, 5]));
        assert_eq!(dashboard_assignment(0, 2, &by_user, 10), (0, vec![0, 2, 4]));
    }

    /// A server that reads each request; it closes the first connection without an
    /// answer and answers `body` on the next. Returns its base URL.
    async fn closes_first_connection(body: &'static str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            for n in 0.. {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                if n > 0 {
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    socket.write_all(answer.as_bytes()).await.unwrap();
                }
            }
        });
        base
    }

    /// A read whose connection is closed under it is sent once more.
    #[tokio::test]
    async fn a_read_is_retried_on_a_closed_connection() {
        let base = closes_first_connection("lunasentri_up 1\n").await;
        let api = Api::new(&base).unwrap();
        assert_eq!(api.prometheus().await.unwrap(), "lunasentri_up 1\n");
    }

    /// A write is not repeated: the hub may have acted on it.
    #[tokio::test]
    async fn a_write_is_not_retried() {
        let base = closes_first_connection("{}").await;
        let api = Api::new(&base).unwrap();
        let err = api
            .send("a write", || api.http.post(api.url("/api/machines")))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("hub not reachable"), "{err}");
    }
}
