//! The link to the hub: samples every interval, streamed over the WebSocket (or posted
//! over HTTP as a fallback), kept in the [`Buffer`] until acked, replayed as `batch`
//! frames after a reconnect.
//!
//! One loop owns everything (sampling timer, connection state, buffer), so there are no
//! locks and sampling never waits for the network: connecting and posting are futures
//! the loop polls alongside the timer.
//!
//! - [`url`]: a hub's address and the URLs derived from it.
//! - [`hubs`]: the configured hubs and the rotation between them on failure.
//! - [`ws`]: opening the WebSocket.
//! - [`http`]: the minimal HTTP client for `/agent/metrics` and `/agent/health`.

pub mod http;
pub mod hubs;
pub mod url;
pub mod ws;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use lunasentri_schema::api::Accepted;
use lunasentri_schema::protocol::{self, MAX_BATCH_BYTES, MAX_BATCH_SAMPLES, MAX_FRAME_BYTES};
use lunasentri_schema::{AgentFrame, HubFrame, Sample};
use rustls::{ClientConfig, SignatureScheme};
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::buffer::Buffer;
use crate::collector::Collector;
use crate::config::{ApiKey, Config, HttpFallback, MAX_INTERVAL, MIN_INTERVAL};
use hubs::Hubs;
use ws::{ConnectError, Ws};

/// First reconnect delay; doubles per failed attempt.
pub const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// Longest reconnect delay.
pub const BACKOFF_CAP: Duration = Duration::from_secs(30);
/// Delay between attempts while the hub rejects the key: slow, never a spin.
pub const UNAUTHORIZED_RETRY: Duration = Duration::from_secs(60);
/// Consecutive refused upgrades before `http_fallback: auto` switches to HTTP.
pub const FALLBACK_AFTER_FAILURES: u32 = 3;
/// While on HTTP, how often the WebSocket is tried again.
pub const WS_RETRY_WHILE_ON_HTTP: Duration = Duration::from_secs(300);
/// Connect and request timeout.
pub const NETWORK_TIMEOUT: Duration = Duration::from_secs(10);
/// Silence after which an open connection is presumed dead (at least; 3 intervals if longer).
pub const STALL_TIMEOUT: Duration = Duration::from_secs(45);
/// How long shutdown waits for buffered samples to be delivered.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// The rustls client configuration: `ring` crypto and the OS's trusted roots.
pub fn tls_config() -> Result<Arc<ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for cert in found.certs {
        // A few odd certificates in a system store are normal; skip them.
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        return Err(format!(
            "no trusted CA certificates found on this system (install the ca-certificates package){}",
            found
                .errors
                .first()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ));
    }
    // TLS 1.3 with AES-GCM only: every TLS 1.3 server must support AES-128-GCM. The
    // provider is put together here rather than trimmed from ring's default one, whose
    // cipher-suite list and key loader would link ChaCha20 and the signing code; key
    // exchange and certificate verification are ring's, as in its default provider.
    let provider = Arc::new(rustls::crypto::CryptoProvider {
        cipher_suites: vec![
            rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256,
            rustls::crypto::ring::cipher_suite::TLS13_AES_256_GCM_SHA384,
        ],
        kx_groups: rustls::crypto::ring::ALL_KX_GROUPS.to_vec(),
        signature_verification_algorithms: SIGNATURE_ALGORITHMS,
        secure_random: &OsRandom,
        key_provider: &NoClientKeys,
    });
    let cfg = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// Certificate signature algorithms: exactly the set rustls's ring provider verifies
/// (ECDSA P-256/P-384, Ed25519, RSA PKCS#1 and PSS with 2048–8192-bit keys).
static SIGNATURE_ALGORITHMS: rustls::crypto::WebPkiSupportedAlgorithms =
    rustls::crypto::WebPkiSupportedAlgorithms {
        all: &[
            webpki::ring::ECDSA_P256_SHA256,
            webpki::ring::ECDSA_P256_SHA384,
            webpki::ring::ECDSA_P384_SHA256,
            webpki::ring::ECDSA_P384_SHA384,
            webpki::ring::ED25519,
            webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
            webpki::ring::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
            webpki::ring::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
            webpki::ring::RSA_PKCS1_2048_8192_SHA256,
            webpki::ring::RSA_PKCS1_2048_8192_SHA384,
            webpki::ring::RSA_PKCS1_2048_8192_SHA512,
            webpki::ring::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
            webpki::ring::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
            webpki::ring::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
        ],
        mapping: &[
            (
                SignatureScheme::ECDSA_NISTP384_SHA384,
                &[
                    webpki::ring::ECDSA_P384_SHA384,
                    webpki::ring::ECDSA_P256_SHA384,
                ],
            ),
            (
                SignatureScheme::ECDSA_NISTP256_SHA256,
                &[
                    webpki::ring::ECDSA_P256_SHA256,
                    webpki::ring::ECDSA_P384_SHA256,
                ],
            ),
            (SignatureScheme::ED25519, &[webpki::ring::ED25519]),
            (
                SignatureScheme::RSA_PSS_SHA512,
                &[webpki::ring::RSA_PSS_2048_8192_SHA512_LEGACY_KEY],
            ),
            (
                SignatureScheme::RSA_PSS_SHA384,
                &[webpki::ring::RSA_PSS_2048_8192_SHA384_LEGACY_KEY],
            ),
            (
                SignatureScheme::RSA_PSS_SHA256,
                &[webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY],
            ),
            (
                SignatureScheme::RSA_PKCS1_SHA512,
                &[webpki::ring::RSA_PKCS1_2048_8192_SHA512],
            ),
            (
                SignatureScheme::RSA_PKCS1_SHA384,
                &[webpki::ring::RSA_PKCS1_2048_8192_SHA384],
            ),
            (
                SignatureScheme::RSA_PKCS1_SHA256,
                &[webpki::ring::RSA_PKCS1_2048_8192_SHA256],
            ),
        ],
    };

/// Randomness for TLS: the OS's, through ring, as ring's own provider does.
#[derive(Debug)]
struct OsRandom;

impl rustls::crypto::SecureRandom for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), rustls::crypto::GetRandomFailed> {
        use ring::rand::SecureRandom as _;
        ring::rand::SystemRandom::new()
            .fill(buf)
            .map_err(|_| rustls::crypto::GetRandomFailed)
    }
}

/// The agent proves who it is with its API key, never with a client certificate, so
/// it loads no private keys.
#[derive(Debug)]
struct NoClientKeys;

impl rustls::crypto::KeyProvider for NoClientKeys {
    fn load_private_key(
        &self,
        _key: rustls::pki_types::PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn rustls::sign::SigningKey>, rustls::Error> {
        Err(rustls::Error::General(
            "client certificates are not supported".into(),
        ))
    }
}

/// Exponential backoff with jitter: each delay is drawn from the upper half of
/// `BACKOFF_BASE × 2^attempt` (capped), so a fleet of agents does not reconnect in step.
#[derive(Debug)]
pub struct Backoff {
    attempt: u32,
    rng: u64,
}

impl Backoff {
    /// A backoff seeded from the clock and process id.
    pub fn new() -> Self {
        let seed = crate::collector::now_ms() as u64 ^ (u64::from(std::process::id()) << 32);
        Self {
            attempt: 0,
            rng: seed | 1,
        }
    }

    /// The next delay.
    pub fn next_delay(&mut self) -> Duration {
        let exp = BACKOFF_BASE.saturating_mul(1u32 << self.attempt.min(16));
        let ceiling = exp.min(BACKOFF_CAP);
        self.attempt = self.attempt.saturating_add(1);
        ceiling / 2 + ceiling.mul_f64(self.unit() / 2.0)
    }

    /// A delay around `base` (±25 %).
    pub fn jittered(&mut self, base: Duration) -> Duration {
        base.mul_f64(0.75 + self.unit() / 2.0)
    }

    /// Start over after a connection proved healthy.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// xorshift64*: uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let x = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

type BoxFut<T> = Pin<Box<dyn Future<Output = T>>>;

/// Connection state.
enum Conn {
    /// Waiting to reconnect.
    Idle {
        retry_at: Instant,
    },
    Connecting(BoxFut<Result<Ws, ConnectError>>),
    Open(Box<OpenConn>),
    /// Posting over HTTP; the WebSocket is tried again at `ws_retry_at`.
    Http {
        ws_retry_at: Instant,
        post_at: Instant,
        inflight: Option<BoxFut<PostResult>>,
    },
}

struct OpenConn {
    ws: Ws,
    /// Highest `seq` sent on this connection.
    sent_upto: u64,
    last_rx: Instant,
    /// Silence after which the connection is presumed dead.
    stall: Duration,
    acked_once: bool,
}

/// Outcome of one fallback POST: the last `seq` it carried and the hub's answer.
struct PostResult {
    last_seq: u64,
    result: Result<http::Response, http::HttpError>,
}

enum Event {
    RetryDue,
    Connected(Result<Box<Ws>, ConnectError>),
    Frame(Option<Result<Message, tokio_tungstenite::tungstenite::Error>>),
    Posted(PostResult),
    TryWs,
}

/// The link loop's state. Built by [`crate::run`].
pub struct Link {
    hubs: Hubs,
    key: ApiKey,
    tls: Option<Arc<ClientConfig>>,
    fallback: HttpFallback,
    interval: Duration,
    collector: Collector,
    buffer: Buffer,
    conn: Conn,
    backoff: Backoff,
    /// Consecutive refused WebSocket upgrades (for `http_fallback: auto`).
    refused: u32,
    ticker: Interval,
}

fn new_ticker(interval: Duration) -> Interval {
    let mut t = tokio::time::interval(interval);
    t.set_missed_tick_behavior(MissedTickBehavior::Delay);
    t
}

impl Link {
    /// A link that has not connected yet.
    pub fn new(
        config: &Config,
        hubs: Hubs,
        key: ApiKey,
        tls: Option<Arc<ClientConfig>>,
        collector: Collector,
        buffer: Buffer,
    ) -> Self {
        let now = Instant::now();
        let conn = match config.http_fallback {
            HttpFallback::Always => Conn::Http {
                ws_retry_at: far_future(),
                post_at: now,
                inflight: None,
            },
            _ => Conn::Idle { retry_at: now },
        };
        Self {
            hubs,
            key,
            tls,
            fallback: config.http_fallback,
            interval: config.interval,
            collector,
            buffer,
            conn,
            backoff: Backoff::new(),
            refused: 0,
            ticker: new_ticker(config.interval),
        }
    }

    /// Samples and delivers until `shutdown` resolves, then tries to flush for up to
    /// [`FLUSH_TIMEOUT`].
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        tracing::info!(hub = %self.hubs.current(), hubs = self.hubs.all().len(), interval_ms = self.interval.as_millis() as u64, "agent started");
        loop {
            self.kick();
            tokio::select! {
                () = &mut shutdown => break,
                _ = self.ticker.tick() => self.on_tick().await,
                ev = next_event(&mut self.conn) => self.on_event(ev).await,
            }
        }
        self.flush().await;
    }

    /// Starts whatever is due: a connection attempt, or a fallback POST.
    fn kick(&mut self) {
        let now = Instant::now();
        match &mut self.conn {
            Conn::Idle { retry_at } if *retry_at <= now => {
                let (url, key, tls) = (
                    self.hubs.current().clone(),
                    self.key.clone(),
                    self.tls.clone(),
                );
                self.conn = Conn::Connecting(Box::pin(async move {
                    ws::connect(&url, &key, tls, NETWORK_TIMEOUT).await
                }));
            }
            Conn::Http {
                post_at, inflight, ..
            } if inflight.is_none() && *post_at <= now => {
                if let Some((body, last_seq)) = self.buffer.chunk(
                    0,
                    "{\"samples\":[",
                    "]}",
                    MAX_BATCH_SAMPLES,
                    MAX_BATCH_BYTES,
                ) {
                    let (url, key, tls) = (
                        self.hubs.current().clone(),
                        self.key.clone(),
                        self.tls.clone(),
                    );
                    *inflight = Some(Box::pin(async move {
                        let result = http::request(
                            &url,
                            tls.as_ref(),
                            &key,
                            "POST",
                            "/agent/metrics",
                            Some(body.as_bytes()),
                            NETWORK_TIMEOUT,
                        )
                        .await;
                        PostResult { last_seq, result }
                    }));
                }
            }
            _ => {}
        }
    }

    async fn on_tick(&mut self) {
        // A silent hub is noticed at the first tick past the stall timeout: the timeout is
        // at least three intervals, and checking here costs no timer of its own.
        if let Conn::Open(open) = &self.conn
            && open.last_rx.elapsed() >= open.stall
        {
            self.lost("no frame from the hub for too long".into());
        }
        let seq = self.buffer.take_seq();
        let mut sample = self.collector.sample(seq);
        let frame = sample_frame(&mut sample);
        self.buffer.push(sample);
        if let Conn::Open(open) = &mut self.conn
            && open.sent_upto + 1 == seq
        {
            match open.ws.send(ws::text(frame)).await {
                Ok(()) => open.sent_upto = seq,
                Err(e) => self.lost(format!("send failed: {e}")),
            }
        }
    }

    async fn on_event(&mut self, ev: Event) {
        match ev {
            Event::RetryDue => {}
            Event::TryWs => {
                tracing::info!("trying the WebSocket again");
                self.conn = Conn::Idle {
                    retry_at: Instant::now(),
                };
            }
            Event::Connected(Ok(ws)) => self.opened(*ws).await,
            Event::Connected(Err(e)) => self.connect_failed(e),
            Event::Frame(Some(Ok(msg))) => self.on_message(msg),
            Event::Frame(Some(Err(e))) => self.lost(format!("connection error: {e}")),
            Event::Frame(None) => self.lost("connection closed".into()),
            Event::Posted(p) => self.posted(p),
        }
    }

    async fn opened(&mut self, ws: Ws) {
        self.refused = 0;
        let stall = STALL_TIMEOUT.max(self.interval * 3);
        let mut open = OpenConn {
            ws,
            sent_upto: 0,
            last_rx: Instant::now(),
            stall,
            acked_once: false,
        };
        let hello = self.collector.hello(self.interval.as_millis() as u64);
        let result = async {
            let hello = serde_json::to_string(&AgentFrame::Hello(hello)).unwrap_or_default();
            open.ws.send(ws::text(hello)).await?;
            // Replay everything unacked, oldest first.
            while let Some((frame, last)) = self.buffer.chunk(
                open.sent_upto,
                "{\"type\":\"batch\",\"samples\":[",
                "]}",
                MAX_BATCH_SAMPLES,
                MAX_BATCH_BYTES,
            ) {
                open.ws.feed(ws::text(frame)).await?;
                open.sent_upto = last;
            }
            open.ws.flush().await
        }
        .await;
        if let Err(e) = result {
            self.lost(format!("send failed right after connecting: {e}"));
            return;
        }
        let backlog = self.buffer.len();
        tracing::info!(hub = %self.hubs.current(), replayed = backlog, "connected");
        // Samples taken from now on are sent live; none was skipped.
        if open.sent_upto == 0 {
            open.sent_upto = self.buffer.peek_seq() - 1;
        }
        self.conn = Conn::Open(Box::new(open));
    }

    /// A connection attempt failed: the next attempt goes to the next hub in the list.
    fn connect_failed(&mut self, e: ConnectError) {
        let now = Instant::now();
        let failed = self.hubs.current().clone();
        let next = self.hubs.advance().clone();
        let delay = match &e {
            ConnectError::Unauthorized => {
                tracing::error!(
                    hub = %failed,
                    next_hub = %next,
                    "the hub rejected the API key (401): check server.api_key, or rotate the key in the dashboard and update it here; retrying slowly"
                );
                self.backoff.jittered(UNAUTHORIZED_RETRY)
            }
            other => {
                let delay = self.backoff.next_delay();
                tracing::warn!(hub = %failed, next_hub = %next, error = %other, retry_in_ms = delay.as_millis() as u64, "cannot connect");
                delay
            }
        };
        if e.suggests_ws_blocked() {
            self.refused += 1;
        }
        if self.fallback == HttpFallback::Auto && self.refused >= FALLBACK_AFTER_FAILURES {
            tracing::warn!("WebSocket upgrades keep failing; posting samples over HTTP instead");
            self.refused = 0;
            self.conn = Conn::Http {
                ws_retry_at: now + WS_RETRY_WHILE_ON_HTTP,
                post_at: now,
                inflight: None,
            };
            return;
        }
        self.conn = Conn::Idle {
            retry_at: now + delay,
        };
    }

    /// The connection is gone: back off and reconnect, to the next hub in the list;
    /// unacked samples stay buffered and are replayed to whichever hub answers.
    fn lost(&mut self, why: String) {
        let healthy = matches!(&self.conn, Conn::Open(o) if o.acked_once);
        if healthy {
            self.backoff.reset();
        }
        let delay = self.backoff.next_delay();
        let lost = self.hubs.current().clone();
        let next = self.hubs.advance();
        tracing::warn!(hub = %lost, next_hub = %next, reason = %why, unacked = self.buffer.len(), retry_in_ms = delay.as_millis() as u64, "disconnected from the hub");
        self.conn = Conn::Idle {
            retry_at: Instant::now() + delay,
        };
    }

    fn on_message(&mut self, msg: Message) {
        let Conn::Open(open) = &mut self.conn else {
            return;
        };
        open.last_rx = Instant::now();
        match msg {
            Message::Text(text) => match quick_ack(&text)
                .map(|seq| Ok(HubFrame::Ack { seq }))
                .unwrap_or_else(|| serde_json::from_str::<HubFrame>(&text))
            {
                Ok(HubFrame::Ack { seq }) => {
                    open.acked_once = true;
                    self.buffer.ack(seq);
                    self.backoff.reset();
                }
                Ok(HubFrame::Config { interval_ms }) => {
                    let wanted =
                        Duration::from_millis(interval_ms).clamp(MIN_INTERVAL, MAX_INTERVAL);
                    if wanted != self.interval {
                        tracing::info!(
                            interval_ms = wanted.as_millis() as u64,
                            "the hub changed the sampling interval"
                        );
                        self.interval = wanted;
                        open.stall = STALL_TIMEOUT.max(wanted * 3);
                        self.ticker = new_ticker(wanted);
                        // The first tick of a new interval fires at once; skip it.
                        self.ticker.reset();
                    }
                }
                Ok(HubFrame::Error { code, message }) => {
                    tracing::warn!(%code, %message, "the hub reported an error");
                }
                Err(e) => tracing::debug!(error = %e, "ignoring an unknown frame from the hub"),
            },
            Message::Close(frame) => {
                let (code, reason) = frame
                    .map(|f| (u16::from(f.code), f.reason.to_string()))
                    .unwrap_or((1005, String::new()));
                if code == protocol::close::KEY_REVOKED {
                    tracing::error!(%reason, "the hub revoked this machine's key; update server.api_key");
                    self.conn = Conn::Idle {
                        retry_at: Instant::now() + self.backoff.jittered(UNAUTHORIZED_RETRY),
                    };
                    return;
                }
                if code == protocol::close::REPLACED {
                    tracing::warn!(
                        "another agent connected with this machine's key; is the key used twice?"
                    );
                }
                self.lost(format!(
                    "closed by the hub (code {code}{})",
                    if reason.is_empty() {
                        String::new()
                    } else {
                        format!(": {reason}")
                    }
                ));
            }
            // Pongs are answered by the WebSocket layer; binary frames are not part of v1.
            _ => {}
        }
    }

    fn posted(&mut self, p: PostResult) {
        let Conn::Http {
            post_at, inflight, ..
        } = &mut self.conn
        else {
            return;
        };
        *inflight = None;
        let now = Instant::now();
        match p.result {
            Ok(r) if r.status == 202 || r.status == 200 => {
                let accepted = serde_json::from_slice::<Accepted>(&r.body)
                    .map(|a| a.accepted)
                    .ok();
                tracing::debug!(last_seq = p.last_seq, ?accepted, "samples posted");
                self.buffer.ack(p.last_seq);
                self.backoff.reset();
                // More backlog goes out at once; otherwise wait for the next sample.
                *post_at = now;
            }
            Ok(r) if r.status == 401 => {
                tracing::error!(
                    "the hub rejected the API key (401) on POST /agent/metrics: check server.api_key; retrying slowly"
                );
                *post_at = now + self.backoff.jittered(UNAUTHORIZED_RETRY);
            }
            Ok(r) => {
                let delay = self.backoff.next_delay();
                tracing::warn!(status = r.status, body = %String::from_utf8_lossy(&r.body[..r.body.len().min(300)]), retry_in_ms = delay.as_millis() as u64, "the hub refused posted samples");
                *post_at = now + delay;
            }
            Err(e) => {
                // The hub is unreachable: the next post goes to the next hub.
                let delay = self.backoff.next_delay();
                let failed = self.hubs.current().clone();
                let next = self.hubs.advance();
                tracing::warn!(hub = %failed, next_hub = %next, error = %e, retry_in_ms = delay.as_millis() as u64, "cannot post samples");
                *post_at = now + delay;
            }
        }
    }

    /// Shutdown: give buffered samples up to [`FLUSH_TIMEOUT`] to reach the hub.
    async fn flush(&mut self) {
        let deadline = Instant::now() + FLUSH_TIMEOUT;
        if !self.buffer.is_empty() {
            let _ = tokio::time::timeout_at(deadline, self.drain()).await;
        }
        if let Conn::Open(open) = &mut self.conn {
            let close = CloseFrame {
                code: CloseCode::Normal,
                reason: "agent stopping".into(),
            };
            let _ =
                tokio::time::timeout(Duration::from_millis(300), open.ws.close(Some(close))).await;
        }
        self.buffer.compact();
        if self.buffer.is_empty() {
            tracing::info!("stopped; every sample was delivered");
        } else {
            tracing::warn!(
                unacked = self.buffer.len(),
                spooled = self.buffer.spooled(),
                "stopped with undelivered samples"
            );
        }
    }

    /// Works the connection until the buffer is empty (bounded by the caller's timeout).
    async fn drain(&mut self) {
        if let Conn::Idle { retry_at } = &mut self.conn {
            *retry_at = Instant::now();
        }
        if let Conn::Http { post_at, .. } = &mut self.conn {
            *post_at = Instant::now();
        }
        while !self.buffer.is_empty() {
            self.kick();
            let ev = next_event(&mut self.conn).await;
            if let Event::Connected(Err(_)) | Event::Frame(None) | Event::Frame(Some(Err(_))) = ev {
                return;
            }
            self.on_event(ev).await;
        }
    }
}

/// Waits for the next thing the connection state has to say.
async fn next_event(conn: &mut Conn) -> Event {
    match conn {
        Conn::Idle { retry_at } => {
            tokio::time::sleep_until(*retry_at).await;
            Event::RetryDue
        }
        Conn::Connecting(fut) => Event::Connected(fut.await.map(Box::new)),
        Conn::Open(open) => Event::Frame(open.ws.next().await),
        Conn::Http {
            inflight: Some(fut),
            ..
        } => Event::Posted(fut.await),
        Conn::Http { ws_retry_at, .. } => {
            tokio::time::sleep_until(*ws_retry_at).await;
            Event::TryWs
        }
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

/// The `seq` of an ack written exactly as the hub writes it, `{"type":"ack","seq":N}`:
/// the frame that arrives after every sample, read without the general frame parser
/// (which buffers an internally tagged enum). Anything else is left to that parser.
fn quick_ack(text: &str) -> Option<u64> {
    let digits = text
        .strip_prefix(r#"{"type":"ack","seq":"#)?
        .strip_suffix('}')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Serialises a `sample` frame, shedding detail rows if it would exceed the hub's frame
/// limit (the scalars always fit).
pub fn sample_frame(sample: &mut Sample) -> String {
    loop {
        let frame = serde_json::to_string(&SampleRef::Sample(sample)).unwrap_or_default();
        if frame.len() <= MAX_FRAME_BYTES {
            return frame;
        }
        if !sample.top.is_empty() {
            sample.top.clear();
        } else if !sample.ifaces.is_empty() || !sample.disks.is_empty() || !sample.temps.is_empty()
        {
            sample.ifaces.clear();
            sample.disks.clear();
            sample.temps.clear();
        } else {
            sample.cpus.clear();
        }
    }
}

/// [`AgentFrame::Sample`] by reference, to serialise without cloning the sample.
#[derive(serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum SampleRef<'a> {
    Sample(&'a Sample),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Backoff grows, stays under the cap, is jittered, and resets.
    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        let mut b = Backoff::new();
        let first = b.next_delay();
        assert!(
            first >= BACKOFF_BASE / 2 && first <= BACKOFF_BASE,
            "{first:?}"
        );
        let delays: Vec<Duration> = (0..20).map(|_| b.next_delay()).collect();
        assert!(delays.iter().all(|d| *d <= BACKOFF_CAP));
        assert!(delays[15..].iter().all(|d| *d >= BACKOFF_CAP / 2));
        assert!(
            delays[15..].windows(2).any(|w| w[0] != w[1]),
            "no jitter: {delays:?}"
        );
        b.reset();
        assert!(b.next_delay() <= BACKOFF_BASE);
    }

    /// The borrowed sample frame is exactly what the schema's `AgentFrame` parses.
    #[test]
    fn sample_frame_matches_schema() {
        let mut s = Sample {
            seq: 4,
            ts: 9,
            cpu_pct: 2.5,
            ..Sample::default()
        };
        let text = sample_frame(&mut s);
        assert_eq!(
            serde_json::from_str::<AgentFrame>(&text).unwrap(),
            AgentFrame::Sample(s)
        );
    }

    /// Acks as the hub writes them take the short path, with the seq the schema's
    /// parser reads; anything else is left to that parser.
    #[test]
    fn quick_ack_agrees_with_the_schema() {
        for seq in [0, 1, 1_795_917_043_123, u64::MAX] {
            let text = serde_json::to_string(&HubFrame::Ack { seq }).unwrap();
            assert_eq!(quick_ack(&text), Some(seq), "{text}");
        }
        for text in [
            r#"{"type":"ack","seq":-1}"#,
            r#"{"type":"ack","seq":1.5}"#,
            r#"{"type":"ack","seq":}"#,
            r#"{"type":"ack","seq":18446744073709551616}"#,
            r#"{"type":"ack","seq":1,"x":2}"#,
            r#"{"seq":1,"type":"ack"}"#,
            r#"{"type":"config","interval_ms":1000}"#,
        ] {
            assert_eq!(quick_ack(text), None, "{text}");
        }
    }

    /// An oversized sample sheds detail rows to fit the hub's frame limit.
    #[test]
    fn oversized_sample_sheds_detail() {
        let mut s = Sample {
            top: (0..5000)
                .map(|i| lunasentri_schema::sample::ProcSample {
                    pid: i,
                    name: "x".repeat(20),
                    ..Default::default()
                })
                .collect(),
            cpus: vec![1.0; 8],
            ..Sample::default()
        };
        let text = sample_frame(&mut s);
        assert!(text.len() <= MAX_FRAME_BYTES);
        assert!(s.top.is_empty());
        assert_eq!(s.cpus.len(), 8);
    }
}
