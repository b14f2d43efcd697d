//! Log output: a minimal `tracing` subscriber writing one line per event to stderr,
//! `2026-01-02T03:04:05.678Z WARN message key=value …`.
//!
//! The agent logs a handful of events and opens no spans, so the general-purpose
//! formatter (a twentieth of the binary) is not worth its weight here. systemd's journal
//! captures stderr as it is.

use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Writes events at `max_level` and more severe to stderr.
#[derive(Debug)]
pub struct StderrLogger {
    max_level: Level,
    next_span: AtomicU64,
}

impl StderrLogger {
    /// A logger for events at `max_level` or more severe.
    pub fn new(max_level: Level) -> Self {
        Self {
            max_level,
            next_span: AtomicU64::new(1),
        }
    }

    /// Installs the logger for the whole process. Returns `false` if one was already set.
    pub fn install(self) -> bool {
        tracing::subscriber::set_global_default(self).is_ok()
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
        let mut line = String::with_capacity(160);
        write_timestamp(&mut line, crate::collector::now_ms());
        let _ = write!(line, " {:>5} ", event.metadata().level());
        let mut fields = Fields {
            message: String::new(),
            rest: String::new(),
        };
        event.record(&mut fields);
        line.push_str(&fields.message);
        line.push_str(&fields.rest);
        line.push('\n');
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

struct Fields {
    message: String,
    rest: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else if value.contains([' ', '"', '=']) || value.is_empty() {
            let _ = write!(self.rest, " {}={:?}", field.name(), value);
        } else {
            let _ = write!(self.rest, " {}={}", field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let text = format!("{value:?}");
            self.record_str(field, &text);
        }
    }
}

/// Appends `ms` (epoch milliseconds) as RFC 3339 UTC, `2026-01-02T03:04:05.678Z`.
pub fn write_timestamp(out: &mut String, ms: i64) {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
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
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Timestamps are RFC 3339 UTC, including leap days and the epoch.
    #[test]
    fn timestamps() {
        let fmt = |ms| {
            let mut s = String::new();
            write_timestamp(&mut s, ms);
            s
        };
        assert_eq!(fmt(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(fmt(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(fmt(1_767_323_045_678), "2026-01-02T03:04:05.678Z");
    }

    /// Levels more verbose than the configured one are disabled.
    #[test]
    fn level_filter() {
        let l = StderrLogger::new(Level::INFO);
        assert_eq!(
            l.max_level_hint(),
            Some(tracing::level_filters::LevelFilter::INFO)
        );
    }
}
