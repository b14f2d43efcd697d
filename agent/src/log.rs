//! Log output: a small `tracing` subscriber writing one line per event to stderr, as text
//! (`2026-01-02T03:04:05.678901Z  WARN message key=value`) or as JSON objects
//! (`{"timestamp":…,"level":"WARN","message":…,"key":value}`), the same lines
//! tracing-subscriber's formatter writes. systemd's journal captures stderr as it is.
//!
//! The agent logs a few dozen kinds of events, opens no spans and runs one thread, so a
//! general-purpose formatter (registry, span storage, layers) is not worth its weight in
//! a binary that ships to every server.

use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

use crate::config::LogFormat;

/// Installs the process-wide subscriber for events at `max_level` and more severe.
/// Returns `false` if one was already set.
pub fn init(max_level: Level, format: LogFormat) -> bool {
    tracing::subscriber::set_global_default(StderrLogger::new(max_level, format)).is_ok()
}

/// Writes events at `max_level` and more severe to stderr.
#[derive(Debug)]
pub struct StderrLogger {
    max_level: Level,
    format: LogFormat,
    next_span: AtomicU64,
}

impl StderrLogger {
    /// A logger for events at `max_level` or more severe.
    pub fn new(max_level: Level, format: LogFormat) -> Self {
        Self {
            max_level,
            format,
            next_span: AtomicU64::new(1),
        }
    }

    /// The line (with its newline) that `event`'s level and fields make at `now`.
    pub fn line(
        &self,
        level: &Level,
        now: SystemTime,
        record: impl FnOnce(&mut dyn Visit),
    ) -> String {
        let mut line = String::with_capacity(160);
        let micros = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        match self.format {
            LogFormat::Text => {
                write_timestamp(&mut line, micros);
                let _ = write!(line, " {level:>5} ");
                let mut fields = TextFields {
                    message: String::new(),
                    rest: String::new(),
                };
                record(&mut fields);
                line.push_str(&fields.message);
                if fields.message.is_empty() && !fields.rest.is_empty() {
                    line.push_str(&fields.rest[1..]);
                } else {
                    line.push_str(&fields.rest);
                }
            }
            LogFormat::Json => {
                line.push_str("{\"timestamp\":\"");
                write_timestamp(&mut line, micros);
                let _ = write!(line, "\",\"level\":\"{level}\"");
                let mut fields = JsonFields { out: &mut line };
                record(&mut fields);
                line.push('}');
            }
        }
        line.push('\n');
        line
    }
}

impl Subscriber for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        // Level ordering in tracing: TRACE > DEBUG > … > ERROR ("more verbose is greater").
        *metadata.level() <= self.max_level
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(self.max_level.into())
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed))
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let line = self.line(event.metadata().level(), SystemTime::now(), |v| {
            event.record(v)
        });
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

/// Text fields: the message, then ` key=value` for each other field. Strings are quoted
/// (as `Debug` writes them), `%value` fields are written with `Display`, `?value` fields
/// with `Debug`.
struct TextFields {
    message: String,
    rest: String,
}

impl Visit for TextFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.rest, " {}={:?}", field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={:?}", field.name(), value);
        }
    }
}

/// JSON fields: `,"key":value` each; numbers and booleans as JSON numbers and booleans,
/// everything else as strings.
struct JsonFields<'a> {
    out: &'a mut String,
}

impl JsonFields<'_> {
    fn key(&mut self, field: &Field) {
        self.out.push(',');
        json_string(self.out, field.name());
        self.out.push(':');
    }
}

impl Visit for JsonFields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field);
        if value.is_finite() {
            let _ = write!(self.out, "{value}");
        } else {
            self.out.push_str("null");
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        let _ = write!(self.out, "{value}");
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field);
        let _ = write!(self.out, "{value}");
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        let _ = write!(self.out, "{value}");
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field);
        json_string(self.out, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.key(field);
        json_string(self.out, &format!("{value:?}"));
    }
}

/// Appends `s` as a JSON string literal.
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `micros` (microseconds since the epoch) as RFC 3339 UTC,
/// `2026-01-02T03:04:05.678901Z`.
pub fn write_timestamp(out: &mut String, micros: i64) {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{frac:06}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tracing::field::FieldSet;
    use tracing::metadata::Kind;
    use tracing::subscriber::Interest;
    use tracing::{Value, callsite};

    use super::*;

    /// Only the first subscriber is installed; a second call reports that.
    #[test]
    fn installs_once() {
        init(Level::INFO, LogFormat::Text);
        assert!(!init(Level::INFO, LogFormat::Json));
        assert_eq!(
            tracing::level_filters::LevelFilter::current(),
            tracing::level_filters::LevelFilter::INFO
        );
    }

    /// Timestamps are RFC 3339 UTC with microseconds, including leap days and the epoch.
    #[test]
    fn timestamps() {
        let fmt = |us| {
            let mut s = String::new();
            write_timestamp(&mut s, us);
            s
        };
        assert_eq!(fmt(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(fmt(951_782_400_123_456), "2000-02-29T00:00:00.123456Z");
        assert_eq!(fmt(1_767_323_045_678_901), "2026-01-02T03:04:05.678901Z");
    }

    /// Levels more verbose than the configured one are disabled.
    #[test]
    fn level_filter() {
        let l = StderrLogger::new(Level::INFO, LogFormat::Text);
        assert_eq!(
            l.max_level_hint(),
            Some(tracing::level_filters::LevelFilter::INFO)
        );
    }

    struct Cs;
    impl callsite::Callsite for Cs {
        fn set_interest(&self, _: Interest) {}
        fn metadata(&self) -> &Metadata<'_> {
            &META
        }
    }
    static CS: Cs = Cs;
    static META: Metadata<'static> = Metadata::new(
        "test",
        "test",
        Level::WARN,
        None,
        None,
        None,
        FieldSet::new(
            &["message", "hub", "count", "ok", "error", "why"],
            callsite::Identifier(&CS),
        ),
        Kind::EVENT,
    );

    /// One event with a message and fields of every kind the agent logs, as a line.
    fn render(format: LogFormat) -> String {
        let logger = StderrLogger::new(Level::INFO, format);
        let at = UNIX_EPOCH + Duration::from_micros(1_767_323_045_678_901);
        let fields = META.fields();
        let f = |name| fields.field(name).unwrap();
        let message = format_args!("cannot connect");
        let error = "refused \"now\"\n".to_owned();
        let values: [(&Field, Option<&dyn Value>); 6] = [
            (&f("message"), Some(&message as &dyn Value)),
            (&f("hub"), Some(&"https://a" as &dyn Value)),
            (&f("count"), Some(&3u64 as &dyn Value)),
            (&f("ok"), Some(&true as &dyn Value)),
            (
                &f("error"),
                Some(&tracing::field::display(&error) as &dyn Value),
            ),
            (
                &f("why"),
                Some(&tracing::field::debug(Some(1)) as &dyn Value),
            ),
        ];
        let set = fields.value_set(&values);
        logger.line(&Level::WARN, at, |v| set.record(v))
    }

    /// The text line: timestamp, padded level, message, then `key=value` with strings
    /// quoted and `%` fields as written.
    #[test]
    fn text_lines() {
        assert_eq!(
            render(LogFormat::Text),
            "2026-01-02T03:04:05.678901Z  WARN cannot connect hub=\"https://a\" count=3 \
             ok=true error=refused \"now\"\n why=Some(1)\n"
        );
    }

    /// The JSON line: one object, numbers and booleans typed, strings escaped.
    #[test]
    fn json_lines() {
        let line = render(LogFormat::Json);
        assert_eq!(
            line,
            "{\"timestamp\":\"2026-01-02T03:04:05.678901Z\",\"level\":\"WARN\",\
             \"message\":\"cannot connect\",\"hub\":\"https://a\",\"count\":3,\"ok\":true,\
             \"error\":\"refused \\\"now\\\"\\n\",\"why\":\"Some(1)\"}\n"
        );
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["count"], 3);
        assert_eq!(v["error"], "refused \"now\"\n");
    }
}
