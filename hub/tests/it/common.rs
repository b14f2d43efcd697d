//! Helpers shared by the integration tests: an HTTP client with a cookie jar, a test
//! agent and a test browser speaking the real WebSocket protocols.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use lunasentri_hub::testing::{ADMIN_EMAIL, ADMIN_PASSWORD, TestHub};
use lunasentri_schema::api::{MachineWithKey, User};
use lunasentri_schema::{AgentFrame, HubFrame, LiveFrame, Sample};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Longest wait for something that should happen promptly.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Generates one test per storage backend from `async fn NAME(db: &TestDb)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                /// Runs the test of the same name on a temp SQLite file.
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = lunasentri_hub::testing::TestDb::sqlite();
                    super::$name(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                /// Runs the test of the same name on a fresh PostgreSQL database.
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = lunasentri_hub::testing::TestDb::postgres() else { return };
                    super::$name(&db).await;
                }
            )*
        }
    };
}

/// An HTTP client with its own cookie jar (one per simulated person).
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
}

impl Client {
    pub fn anonymous(hub: &TestHub) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("client");
        Self {
            http,
            base: hub.base.clone(),
        }
    }

    /// Logged in as the built-in admin.
    pub async fn admin(hub: &TestHub) -> Self {
        Self::login(hub, ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    pub async fn login(hub: &TestHub, email: &str, password: &str) -> Self {
        let c = Self::anonymous(hub);
        let (s, body) = c
            .call(
                Method::POST,
                "/api/auth/login",
                Some(json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "login {email}: {body}");
        c
    }

    /// Creates a user through the admin API and logs in as them.
    pub async fn new_user(hub: &TestHub, admin: &Client, email: &str) -> (Self, User) {
        let (s, body) = admin
            .call(
                Method::POST,
                "/api/users",
                Some(json!({"email": email, "password": "user-password-1"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        let user: User = serde_json::from_value(body).expect("user");
        (Self::login(hub, email, "user-password-1").await, user)
    }

    /// Sends a request; returns status and JSON body (Null when empty or not JSON).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Sends a raw body with a content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> (StatusCode, Value) {
        let res = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body.to_owned())
            .send()
            .await
            .expect("request sent");
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn create_machine(&self, name: &str) -> MachineWithKey {
        let (s, body) = self
            .call(Method::POST, "/api/machines", Some(json!({"name": name})))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        serde_json::from_value(body).expect("machine with key")
    }
}

/// A sample with plausible values at `ts`.
pub fn sample(seq: u64, ts: i64) -> Sample {
    Sample {
        seq,
        ts,
        cpu_pct: (seq % 100) as f64,
        mem_used_pct: 42.0,
        disk_used_pct: 55.5,
        net_rx_bytes: seq * 1000,
        net_tx_bytes: seq * 500,
        load1: 0.5,
        ..Sample::default()
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    lunasentri_hub::db::now_ms()
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How a test socket reaches the hub.
#[derive(Debug, Clone, Copy)]
pub enum Via {
    /// The upgrade is the connection's first request (what agents and browsers do).
    FirstRequest,
    /// The upgrade follows `GET /healthz` on a kept-alive connection, the way a reverse
    /// proxy reusing its upstream connections sends it.
    KeptAlive,
}

/// Opens a WebSocket on `path` with extra request headers, returning the HTTP status
/// and body when the upgrade is refused.
pub async fn open_socket(
    hub: &TestHub,
    path: &str,
    headers: &[(&str, &str)],
    via: Via,
) -> Result<Ws, (u16, String)> {
    let mut req = hub.ws_url(path).into_client_request().expect("request");
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("header name");
        req.headers_mut()
            .insert(name, HeaderValue::from_str(value).expect("header"));
    }
    let res = match via {
        Via::FirstRequest => tokio_tungstenite::connect_async(req).await,
        Via::KeptAlive => {
            let tcp = after_healthz(hub).await;
            tokio_tungstenite::client_async(req, MaybeTlsStream::Plain(tcp)).await
        }
    };
    match res {
        Ok((ws, _)) => Ok(ws),
        Err(WsError::Http(res)) => {
            let body = res
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            Err((res.status().as_u16(), body))
        }
        Err(e) => Err((0, e.to_string())),
    }
}

/// A connection that has been asked `GET /healthz` and read the whole answer.
async fn after_healthz(hub: &TestHub) -> TcpStream {
    let mut tcp = TcpStream::connect(hub.addr).await.expect("connect");
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n")
        .await
        .expect("write");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(tcp.read_u8().await.expect("response head"));
    }
    let head = String::from_utf8(head).expect("utf-8 head");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().expect("length"))
        })
        .expect("content-length");
    tcp.read_exact(&mut vec![0; len]).await.expect("body");
    tcp
}

/// A test agent speaking protocol v1 over a real WebSocket.
pub struct TestAgent {
    pub ws: Ws,
}

impl TestAgent {
    /// Connects with a key; panics unless the upgrade succeeds.
    pub async fn connect(hub: &TestHub, key: &str) -> Self {
        Self::try_connect(hub, key, "1")
            .await
            .expect("agent connects")
    }

    /// Connects, returning the HTTP status when the upgrade is refused.
    pub async fn try_connect(
        hub: &TestHub,
        key: &str,
        protocol: &str,
    ) -> Result<Self, (u16, String)> {
        Self::try_connect_via(hub, key, protocol, Via::FirstRequest).await
    }

    pub async fn try_connect_via(
        hub: &TestHub,
        key: &str,
        protocol: &str,
        via: Via,
    ) -> Result<Self, (u16, String)> {
        let auth = format!("Bearer {key}");
        let headers = [
            ("Authorization", auth.as_str()),
            ("X-LunaSentri-Protocol", protocol),
        ];
        let ws = open_socket(hub, "/agent/stream", &headers, via).await?;
        Ok(Self { ws })
    }

    pub async fn send(&mut self, frame: &AgentFrame) {
        let text = serde_json::to_string(frame).expect("json");
        self.ws.send(Message::text(text)).await.expect("send");
    }

    pub async fn send_raw(&mut self, msg: Message) {
        self.ws.send(msg).await.expect("send");
    }

    /// The next hub frame, or `Err(close code)` when the hub closes.
    pub async fn next(&mut self) -> Result<HubFrame, Option<u16>> {
        loop {
            let msg = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("hub answered in time");
            match msg {
                Some(Ok(Message::Text(t))) => {
                    return Ok(serde_json::from_str(&t).expect("hub frame"));
                }
                Some(Ok(Message::Close(c))) => return Err(c.map(|c| u16::from(c.code))),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Err(None),
            }
        }
    }

    /// Waits for `ack` with seq ≥ `seq`.
    pub async fn wait_ack(&mut self, seq: u64) {
        loop {
            match self.next().await {
                Ok(HubFrame::Ack { seq: s }) if s >= seq => return,
                Ok(HubFrame::Ack { .. }) => continue,
                other => panic!("expected ack {seq}, got {other:?}"),
            }
        }
    }

    /// Reads until the hub closes; returns the error frame's code and the close code.
    pub async fn expect_error_and_close(&mut self) -> (String, Option<u16>) {
        let mut code = String::new();
        loop {
            match self.next().await {
                Ok(HubFrame::Error { code: c, .. }) => code = c,
                Ok(_) => continue,
                Err(close) => return (code, close),
            }
        }
    }
}

/// A test dashboard on `/api/live`, logged in through a session cookie.
pub struct TestBrowser {
    pub ws: Ws,
}

impl TestBrowser {
    pub async fn connect(hub: &TestHub, email: &str, password: &str) -> Self {
        let token = login_token(hub, email, password).await;
        Self::try_connect(hub, &token, &[], Via::FirstRequest)
            .await
            .expect("live socket opens")
    }

    /// Opens `/api/live` with session `token` and extra headers.
    pub async fn try_connect(
        hub: &TestHub,
        token: &str,
        headers: &[(&str, &str)],
        via: Via,
    ) -> Result<Self, (u16, String)> {
        let cookie = format!("lunasentri_session={token}");
        let mut all = vec![("Cookie", cookie.as_str())];
        all.extend_from_slice(headers);
        let ws = open_socket(hub, "/api/live", &all, via).await?;
        Ok(Self { ws })
    }

    pub async fn send(&mut self, v: Value) {
        self.ws
            .send(Message::text(v.to_string()))
            .await
            .expect("send");
    }

    pub async fn subscribe(&mut self, ids: Option<Vec<i64>>) {
        match ids {
            Some(ids) => {
                self.send(json!({"type": "subscribe", "machine_ids": ids}))
                    .await
            }
            None => self.send(json!({"type": "subscribe"})).await,
        }
    }

    /// The next live frame within `wait`, or `None`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<LiveFrame> {
        loop {
            match tokio::time::timeout(wait, self.ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => {
                    return Some(serde_json::from_str(&t).expect("live frame"));
                }
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) | Err(_) => {
                    return None;
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    pub async fn next(&mut self) -> LiveFrame {
        self.next_within(PATIENCE)
            .await
            .expect("a live frame in time")
    }

    /// Reads until the hub closes the socket; returns the close code.
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            let msg = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("hub closed in time");
            match msg {
                Some(Ok(Message::Close(c))) => return c.map(|c| u16::from(c.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Skips frames until one matches.
    pub async fn until(&mut self, pred: impl Fn(&LiveFrame) -> bool) -> LiveFrame {
        loop {
            let f = self.next().await;
            if pred(&f) {
                return f;
            }
        }
    }
}

/// The hub's `/metrics` text.
pub async fn metrics_text(hub: &TestHub) -> String {
    reqwest::get(hub.url("/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text")
}

/// Logs in and returns the raw session token from the Set-Cookie header.
pub async fn login_token(hub: &TestHub, email: &str, password: &str) -> String {
    let res = reqwest::Client::new()
        .post(hub.url("/api/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res
        .headers()
        .get("set-cookie")
        .expect("cookie set")
        .to_str()
        .expect("ascii")
        .to_owned();
    cookie
        .split(';')
        .next()
        .and_then(|kv| kv.split_once('='))
        .map(|(_, v)| v.to_owned())
        .expect("token")
}
