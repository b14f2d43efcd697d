//! The agent link against a fake hub: headers, hello, samples, acks, reconnect and
//! replay, failover between several hubs, HTTP fallback, a rejected key, the spool,
//! and graceful shutdown.

use std::time::Duration;

use lunasentri_schema::{AgentFrame, HubFrame, Sample};

use crate::AgentProcess;
use crate::fake_hub::{AgentConn, FakeHub};

/// Starts an agent sampling every 100 ms (the fastest allowed) against `url`.
fn fast_agent(url: &str, extra_env: &[(&str, &str)]) -> AgentProcess {
    let mut env = vec![
        ("LUNASENTRI_AGENT_TOP_PROCESSES", "0"),
        ("LUNASENTRI_AGENT_LOG_LEVEL", "debug"),
    ];
    env.extend_from_slice(extra_env);
    AgentProcess::start(
        &[
            "--server-url",
            url,
            "--api-key",
            "lsk_test_key",
            "--interval",
            "100ms",
        ],
        &env,
    )
}

/// Reads frames until `n` samples arrived (live or in batches); returns their seqs.
async fn read_samples(conn: &mut AgentConn, n: usize) -> Vec<Sample> {
    let mut out = Vec::new();
    while out.len() < n {
        match conn.frame().await {
            AgentFrame::Sample(s) => out.push(s),
            AgentFrame::Batch { samples } => out.extend(samples),
            AgentFrame::Hello(_) => panic!("hello twice on one connection"),
        }
    }
    out
}

fn seqs(samples: &[Sample]) -> Vec<u64> {
    samples.iter().map(|s| s.seq).collect()
}

fn assert_contiguous(seqs: &[u64]) {
    for w in seqs.windows(2) {
        assert_eq!(w[1], w[0] + 1, "gap or reorder in {seqs:?}");
    }
}

/// The agent sends the right headers, `hello` first, then consecutive samples; after the
/// hub drops the link, it reconnects and replays exactly the unacked samples as a
/// `batch`, with no seq gaps.
#[tokio::test]
async fn streams_and_replays_unacked_after_reconnect() {
    let hub = FakeHub::bind().await;
    let mut agent = fast_agent(&hub.url(), &[]);

    let mut conn = hub.accept_ws().await;
    assert_eq!(conn.headers["authorization"], "Bearer lsk_test_key");
    assert_eq!(conn.headers["x-lunasentri-protocol"], "1");
    let AgentFrame::Hello(hello) = conn.frame().await else {
        panic!("first frame must be hello")
    };
    assert_eq!(hello.interval_ms, 100);
    assert!(hello.cores > 0 && hello.mem_total_bytes > 0 && !hello.hostname.is_empty());
    assert_eq!(hello.agent_version, env!("CARGO_PKG_VERSION"));

    let first = read_samples(&mut conn, 6).await;
    assert_contiguous(&seqs(&first));
    assert!(first.iter().all(|s| s.ts > 0 && s.mem_total_bytes > 0));
    // The hub stores the first three, then the connection dies before the rest.
    let acked = first[2].seq;
    conn.send(&HubFrame::Ack { seq: acked }).await;
    let more = read_samples(&mut conn, 2).await;
    let last_before_drop = more.last().unwrap().seq;
    drop(conn);

    let mut conn = hub.accept_ws().await;
    assert!(matches!(conn.frame().await, AgentFrame::Hello(_)));
    let AgentFrame::Batch { samples: replay } = conn.frame().await else {
        panic!("the backlog must come as a batch right after hello")
    };
    assert_eq!(
        replay[0].seq,
        acked + 1,
        "replay must start right after the last ack"
    );
    assert!(replay.last().unwrap().seq >= last_before_drop);
    let live = read_samples(&mut conn, 3).await;
    let mut all = seqs(&replay);
    all.extend(seqs(&live));
    assert_contiguous(&all);

    conn.send(&HubFrame::Ack {
        seq: *all.last().unwrap(),
    })
    .await;
    let status = agent.terminate(Duration::from_secs(5));
    assert!(status.success(), "{status:?}\n{}", agent.log());
    let log = agent.log();
    assert!(log.contains("disconnected from the hub"), "{log}");
}

/// With two hubs, losing the first moves the agent to the second, which receives the
/// unacked samples as a batch with no seq gap; when the second drops too, the agent
/// tries the (dead) first again and comes back to the second.
#[tokio::test]
async fn fails_over_to_the_next_hub_and_replays() {
    let hub_a = FakeHub::bind().await;
    let hub_b = FakeHub::bind().await;
    let mut agent = fast_agent(&format!("{},{}", hub_a.url(), hub_b.url()), &[]);

    let (mut conn, _) = hub_a.accept_hello().await;
    let first = read_samples(&mut conn, 5).await;
    let acked = first[2].seq;
    conn.send(&HubFrame::Ack { seq: acked }).await;
    let last_on_a = read_samples(&mut conn, 2).await.last().unwrap().seq;
    // Hub A dies: its connection and its listener are gone.
    drop(conn);
    drop(hub_a);

    let (mut conn, _) = hub_b.accept_hello().await;
    let AgentFrame::Batch { samples: replay } = conn.frame().await else {
        panic!("the backlog must come to the new hub as a batch right after hello")
    };
    assert_eq!(replay[0].seq, acked + 1, "replay starts after the last ack");
    assert!(replay.last().unwrap().seq >= last_on_a);
    let mut all = seqs(&replay);
    all.extend(seqs(&read_samples(&mut conn, 3).await));
    assert_contiguous(&all);
    conn.send(&HubFrame::Ack {
        seq: *all.last().unwrap(),
    })
    .await;
    // Wait until the ack is surely processed: the next sample arrives after it.
    let after_ack = read_samples(&mut conn, 1).await[0].seq;
    drop(conn);

    // B dropped the link: the next attempt goes to A (refused), then back to B.
    let (mut conn, _) = hub_b.accept_hello().await;
    let AgentFrame::Batch { samples: replay } = conn.frame().await else {
        panic!("the backlog must come as a batch")
    };
    assert_eq!(
        replay[0].seq, after_ack,
        "only unacked samples are replayed"
    );
    let log = agent.log();
    assert!(log.contains("cannot connect"), "{log}");
    assert!(
        log.contains(&format!("next_hub={}", hub_b.url())),
        "the log names the hub it moves to: {log}"
    );
    let status = agent.terminate(Duration::from_secs(5));
    assert!(status.success(), "{status:?}\n{}", agent.log());
}

/// A first hub that is down at start costs one attempt: the agent connects to the
/// next one (hubs given by repeating `--server-url`).
#[tokio::test]
async fn starts_on_the_next_hub_when_the_first_is_down() {
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let hub = FakeHub::bind().await;
    let agent = AgentProcess::start(
        &[
            "--server-url",
            &down,
            "--server-url",
            &hub.url(),
            "--api-key",
            "lsk_test_key",
            "--interval",
            "100ms",
        ],
        &[("LUNASENTRI_AGENT_TOP_PROCESSES", "0")],
    );
    let (mut conn, hello) = hub.accept_hello().await;
    assert_eq!(hello.interval_ms, 100);
    let samples = read_samples(&mut conn, 3).await;
    assert_contiguous(&seqs(&samples));
    let log = agent.log();
    assert!(
        log.contains("cannot connect") && log.contains(&down),
        "the failed hub is named: {log}"
    );
}

/// On SIGTERM the agent delivers what is unacked, closes the link and exits 0.
#[tokio::test]
async fn sigterm_flushes_and_exits_0() {
    let hub = FakeHub::bind().await;
    let mut agent = fast_agent(&hub.url(), &[]);
    let mut conn = hub.accept_ws().await;
    assert!(matches!(conn.frame().await, AgentFrame::Hello(_)));
    let got = read_samples(&mut conn, 3).await;

    let killer = tokio::task::spawn_blocking(move || {
        let status = agent.terminate(Duration::from_secs(5));
        (status, agent)
    });
    // Ack whatever arrives until the agent closes: it must wait for our acks.
    let mut last = got.last().unwrap().seq;
    conn.send(&HubFrame::Ack { seq: last }).await;
    use futures_util::StreamExt;
    let mut closed_cleanly = false;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(5), conn.ws.next()).await
    {
        match msg {
            tokio_tungstenite::tungstenite::Message::Text(t) => {
                if let Ok(AgentFrame::Sample(s)) = serde_json::from_str(&t) {
                    last = s.seq;
                    conn.send(&HubFrame::Ack { seq: last }).await;
                }
            }
            tokio_tungstenite::tungstenite::Message::Close(_) => {
                closed_cleanly = true;
                break;
            }
            _ => {}
        }
    }
    let (status, agent) = killer.await.unwrap();
    assert!(status.success(), "{status:?}\n{}", agent.log());
    assert!(
        closed_cleanly,
        "the agent should send a close frame\n{}",
        agent.log()
    );
    assert!(
        agent.log().contains("every sample was delivered"),
        "{}",
        agent.log()
    );
}

/// A 401 before the upgrade is logged as a bad key and retried slowly, never in a spin.
#[tokio::test]
async fn rejected_key_is_logged_and_retried_slowly() {
    let hub = FakeHub::bind().await;
    let agent = fast_agent(&hub.url(), &[]);
    let headers = hub.refuse_ws(401).await;
    assert_eq!(headers["authorization"], "Bearer lsk_test_key");
    assert!(
        !hub.connects_within(Duration::from_secs(3)).await,
        "the agent retried a rejected key within 3 s"
    );
    let log = agent.log();
    assert!(log.contains("rejected the API key"), "{log}");
    assert!(
        !log.contains("lsk_test_key"),
        "the key must never be logged: {log}"
    );
}

/// With `http_fallback: always` samples are posted to `/agent/metrics` as
/// `{samples:[...]}`; accepted samples are not posted again.
#[tokio::test]
async fn http_fallback_posts_samples() {
    let hub = FakeHub::bind().await;
    let _agent = fast_agent(&hub.url(), &[("LUNASENTRI_AGENT_HTTP_FALLBACK", "always")]);

    let req = hub.accept_http().await;
    assert!(
        req.head.starts_with("POST /agent/metrics HTTP/1.1"),
        "{}",
        req.head
    );
    assert_eq!(
        req.header("authorization").as_deref(),
        Some("Bearer lsk_test_key")
    );
    assert_eq!(req.header("x-lunasentri-protocol").as_deref(), Some("1"));
    #[derive(serde::Deserialize)]
    struct Body {
        samples: Vec<Sample>,
    }
    let first: Body = serde_json::from_slice(&req.body).unwrap();
    assert!(!first.samples.is_empty());
    let n = first.samples.len();
    req.respond(202, &format!("{{\"accepted\":{n}}}")).await;

    // A refused post is retried with the same samples, then more.
    let req = hub.accept_http().await;
    let second: Body = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(second.samples[0].seq, first.samples.last().unwrap().seq + 1);
    req.respond(
        503,
        "{\"error\":{\"code\":\"unavailable\",\"message\":\"busy\"}}",
    )
    .await;
    let req = hub.accept_http().await;
    let third: Body = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        third.samples[0].seq, second.samples[0].seq,
        "refused samples must be re-sent"
    );
    req.respond(202, "{\"accepted\":1}").await;
}

/// With a spool file, unacked samples and the seq counter survive a restart: the new
/// process replays the old samples with their original seqs and continues numbering.
#[tokio::test]
async fn spool_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("agent.spool");
    let spool_env = [("LUNASENTRI_AGENT_SPOOL_PATH", spool.to_str().unwrap())];
    let hub = FakeHub::bind().await;

    let mut agent = fast_agent(&hub.url(), &spool_env);
    let mut conn = hub.accept_ws().await;
    assert!(matches!(conn.frame().await, AgentFrame::Hello(_)));
    let first = read_samples(&mut conn, 4).await;
    conn.send(&HubFrame::Ack { seq: first[1].seq }).await;
    // Wait until the ack is surely processed: the next sample arrives after it.
    read_samples(&mut conn, 1).await;
    drop(conn);
    let status = tokio::task::spawn_blocking(move || agent.terminate(Duration::from_secs(6)))
        .await
        .unwrap();
    assert!(status.success());

    let _agent = fast_agent(&hub.url(), &spool_env);
    let (mut conn, _) = hub.accept_hello().await;
    let AgentFrame::Batch { samples: replay } = conn.frame().await else {
        panic!("the spooled backlog must come as a batch")
    };
    assert_eq!(
        replay[0].seq, first[2].seq,
        "replay starts after the acked samples"
    );
    assert_contiguous(&seqs(&replay));
    let live = read_samples(&mut conn, 2).await;
    assert!(
        live[0].seq > replay.last().unwrap().seq,
        "numbering continues after a restart"
    );
}
