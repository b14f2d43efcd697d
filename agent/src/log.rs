//! Log output: tracing-subscriber's formatter on stderr, one line per event, as text
//! (`2026-01-02T03:04:05.678Z  WARN message key=value`) or as JSON objects. systemd's
//! journal captures stderr as it is.

use crate::config::LogFormat;

/// Installs the process-wide subscriber for events at `max_level` and more severe.
/// Returns `false` if one was already set.
pub fn init(max_level: tracing::Level, format: LogFormat) -> bool {
    let builder = tracing_subscriber::fmt()
        .with_max_level(max_level)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(false);
    match format {
        LogFormat::Text => builder.try_init().is_ok(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init()
            .is_ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only the first subscriber is installed; a second call reports that.
    #[test]
    fn installs_once() {
        init(tracing::Level::INFO, LogFormat::Text);
        assert!(!init(tracing::Level::INFO, LogFormat::Json));
        assert_eq!(
            tracing::level_filters::LevelFilter::current(),
            tracing::level_filters::LevelFilter::INFO
        );
    }
}
