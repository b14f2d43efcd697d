//! The live progress line on stderr (indicatif): connection counts while ramping, then
//! the measured time with the current rate in and out and the p99 of the last second.
//! Hidden when stderr is not a terminal or with `--quiet`.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The progress display of a run.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    pub fn new(enabled: bool) -> Self {
        let target = if enabled {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Self { bar }
    }

    /// A setup or ramp step.
    pub fn step(&self, msg: &str) {
        self.bar.set_message(msg.to_owned());
    }

    /// Switches to the measured time: a bar of `secs` seconds.
    pub fn start_measure(&self, secs: u64) {
        self.bar.set_length(secs.max(1));
        self.bar.set_position(0);
        self.bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} s {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    }

    /// One second of the measured time.
    pub fn tick(&self, elapsed_s: u64, in_per_s: f64, out_per_s: f64, p99_ms: f64, errors: u64) {
        self.bar.set_position(elapsed_s);
        self.bar.set_message(format!(
            "in {in_per_s:.0}/s  out {out_per_s:.0}/s  p99 {p99_ms:.2} ms  errors {errors}"
        ));
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
