//! Reading the hub's `/metrics` (Prometheus / OpenMetrics text): the counters loadgen
//! compares before and after a run, and the histograms of the live path's stages.

/// The hub metrics a report uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HubSnapshot {
    pub samples_received: f64,
    pub samples_persisted: f64,
    pub samples_duplicate: f64,
    pub samples_rejected: f64,
    pub frames_dropped: f64,
    pub agents_connected: f64,
    pub browser_sessions: f64,
    pub writer_queue_depth: f64,
    pub writer_flush_sum_s: f64,
    pub writer_flush_count: f64,
    /// Cumulative fan-out latency buckets: upper bound (s) → count.
    pub fanout_buckets: Vec<(f64, f64)>,
    /// Cumulative buckets of the time from a live frame's hand-off to a browser session
    /// until its socket write.
    pub outbox_buckets: Vec<(f64, f64)>,
    /// Cumulative buckets of live samples' age (hub clock minus `ts`) once written.
    pub sample_age_buckets: Vec<(f64, f64)>,
}

/// Splits a sample line into name, labels and value.
fn parse_line(line: &str) -> Option<(&str, &str, f64)> {
    if line.starts_with('#') || line.trim().is_empty() {
        return None;
    }
    let (head, value) = line.rsplit_once(' ')?;
    let value: f64 = match value.trim() {
        "+Inf" => f64::INFINITY,
        v => v.parse().ok()?,
    };
    let (name, labels) = match head.find('{') {
        Some(i) => (&head[..i], head[i..].trim()),
        None => (head.trim(), ""),
    };
    Some((name, labels, value))
}

fn label<'a>(labels: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("{key}=\"");
    let start = labels.find(&pat)? + pat.len();
    let end = labels[start..].find('"')? + start;
    Some(&labels[start..end])
}

/// Parses what the report needs out of the exposition text.
pub fn parse(text: &str) -> HubSnapshot {
    let mut s = HubSnapshot::default();
    for (name, labels, v) in text.lines().filter_map(parse_line) {
        match name {
            "lunasentri_samples_received_total" => s.samples_received = v,
            "lunasentri_samples_persisted_total" => s.samples_persisted = v,
            "lunasentri_samples_duplicate_total" => s.samples_duplicate = v,
            "lunasentri_samples_rejected_total" => s.samples_rejected += v,
            "lunasentri_frames_dropped_total" => s.frames_dropped = v,
            "lunasentri_agents_connected" => s.agents_connected = v,
            "lunasentri_browser_sessions" => s.browser_sessions = v,
            "lunasentri_writer_queue_depth" => s.writer_queue_depth = v,
            "lunasentri_writer_flush_seconds_sum" => s.writer_flush_sum_s = v,
            "lunasentri_writer_flush_seconds_count" => s.writer_flush_count = v,
            "lunasentri_fanout_latency_seconds_bucket" => bucket(&mut s.fanout_buckets, labels, v),
            "lunasentri_outbox_wait_seconds_bucket" => bucket(&mut s.outbox_buckets, labels, v),
            "lunasentri_live_sample_age_seconds_bucket" => {
                bucket(&mut s.sample_age_buckets, labels, v)
            }
            _ => {}
        }
    }
    for b in [
        &mut s.fanout_buckets,
        &mut s.outbox_buckets,
        &mut s.sample_age_buckets,
    ] {
        b.sort_by(|x, y| x.0.total_cmp(&y.0));
    }
    s
}

/// Adds one histogram bucket line (`le` label → cumulative count).
fn bucket(buckets: &mut Vec<(f64, f64)>, labels: &str, v: f64) {
    if let Some(le) = label(labels, "le") {
        let le = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse().unwrap_or(f64::INFINITY)
        };
        buckets.push((le, v));
    }
}

/// The `q` quantile (upper bucket bound, in seconds) of what one histogram (`buckets`
/// picks it) observed between two snapshots; `None` when nothing was observed.
pub fn quantile(
    before: &HubSnapshot,
    after: &HubSnapshot,
    buckets: fn(&HubSnapshot) -> &[(f64, f64)],
    q: f64,
) -> Option<f64> {
    bucket_quantile(buckets(before), buckets(after), q)
}

fn bucket_quantile(before: &[(f64, f64)], after: &[(f64, f64)], q: f64) -> Option<f64> {
    let delta: Vec<(f64, f64)> = after
        .iter()
        .map(|(le, n)| {
            let prev = before
                .iter()
                .find(|(l, _)| l == le)
                .map(|(_, c)| *c)
                .unwrap_or(0.0);
            (*le, n - prev)
        })
        .collect();
    let total = delta.last()?.1;
    if total <= 0.0 {
        return None;
    }
    delta
        .iter()
        .find(|(_, n)| *n >= q * total)
        .map(|(le, _)| *le)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP lunasentri_samples_persisted Samples newly committed to storage.
# TYPE lunasentri_samples_persisted counter
lunasentri_samples_persisted_total 1200
lunasentri_samples_rejected_total{reason="malformed"} 2
lunasentri_samples_rejected_total{reason="rate_limited"} 3
lunasentri_agents_connected 10
lunasentri_fanout_latency_seconds_sum 0.5
lunasentri_fanout_latency_seconds_count 100
lunasentri_fanout_latency_seconds_bucket{le="0.0001"} 50
lunasentri_fanout_latency_seconds_bucket{le="0.001"} 98
lunasentri_fanout_latency_seconds_bucket{le="+Inf"} 100
lunasentri_outbox_wait_seconds_bucket{le="0.0001"} 10
lunasentri_outbox_wait_seconds_bucket{le="0.01"} 20
lunasentri_outbox_wait_seconds_bucket{le="+Inf"} 20
lunasentri_live_sample_age_seconds_bucket{le="0.004"} 3
lunasentri_live_sample_age_seconds_bucket{le="0.008"} 4
lunasentri_live_sample_age_seconds_bucket{le="+Inf"} 4
# EOF
"#;

    /// Counters, labelled families and histogram buckets are read.
    #[test]
    fn exposition_parses() {
        let s = parse(TEXT);
        assert_eq!(s.samples_persisted, 1200.0);
        assert_eq!(s.samples_rejected, 5.0);
        assert_eq!(s.agents_connected, 10.0);
        assert_eq!(s.fanout_buckets.len(), 3);
    }

    /// Quantiles come from bucket deltas between two scrapes.
    #[test]
    fn quantiles() {
        let after = parse(TEXT);
        let before = HubSnapshot::default();
        let fanout: fn(&HubSnapshot) -> &[(f64, f64)] = |s| &s.fanout_buckets;
        assert_eq!(quantile(&before, &after, fanout, 0.5), Some(0.0001));
        assert_eq!(quantile(&before, &after, fanout, 0.9), Some(0.001));
        assert_eq!(quantile(&before, &after, fanout, 0.99), Some(f64::INFINITY));
        assert_eq!(quantile(&after, &after, fanout, 0.5), None);
        let outbox: fn(&HubSnapshot) -> &[(f64, f64)] = |s| &s.outbox_buckets;
        assert_eq!(quantile(&before, &after, outbox, 0.5), Some(0.0001));
        assert_eq!(quantile(&before, &after, outbox, 0.99), Some(0.01));
        let age: fn(&HubSnapshot) -> &[(f64, f64)] = |s| &s.sample_age_buckets;
        assert_eq!(quantile(&before, &after, age, 0.5), Some(0.004));
        assert_eq!(quantile(&before, &after, age, 0.99), Some(0.008));
    }
}
