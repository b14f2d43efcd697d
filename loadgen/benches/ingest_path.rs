//! CPU the hub spends on one agent sample before any socket or database work: parsing
//! the agent's frame, checking it, serialising the live frame once for every watcher,
//! and turning it into the row the writer stores. Samples come from loadgen's host
//! model, so they have the size and shape loadgen sends (four cores, three disks, two
//! interfaces, two sensors, five top processes). Prints nanoseconds per sample per step.
//!
//! `cargo bench -p lunasentri-loadgen --bench ingest_path [-- SAMPLES]` (release
//! profile). Wall time on a shared VM varies by a third between runs; to compare two
//! builds, count instructions instead: run the bench binary under
//! `valgrind --tool=callgrind` with a few thousand samples and read each `step_*`
//! function's inclusive count (`callgrind_annotate --inclusive=yes`), which is the same
//! on every run.

use std::hint::black_box;
use std::time::Instant;

use lunasentri_hub::actors::machine::sample_frame;
use lunasentri_hub::db::metrics::MetricRow;
use lunasentri_hub::validate;
use lunasentri_loadgen::sample::HostModel;
use lunasentri_schema::{AgentFrame, Sample};

const SAMPLES: usize = 20_000;
const ROUNDS: usize = 5;
const NOW_MS: i64 = 1_750_000_000_000;

#[inline(never)]
fn step_parse(frames: &[String]) {
    for f in frames {
        black_box(parse(f));
    }
}

#[inline(never)]
fn step_validate(samples: &[Sample]) {
    for s in samples {
        validate::sample(s, NOW_MS).expect("loadgen's samples are valid");
    }
}

#[inline(never)]
fn step_live_frame(samples: &[Sample]) {
    for s in samples {
        black_box(sample_frame(1, s));
    }
}

#[inline(never)]
fn step_stored_row(samples: &[Sample]) {
    for s in samples {
        black_box(MetricRow::from_sample(1, s));
    }
}

fn parse(frame: &str) -> Sample {
    match AgentFrame::from_json(frame) {
        Ok(AgentFrame::Sample(s)) => s,
        other => panic!("not a sample frame: {other:?}"),
    }
}

fn main() {
    let n = match std::env::args().nth(1).filter(|a| a != "--bench") {
        Some(arg) => match arg.parse() {
            Ok(n) if n > 0 => n,
            _ => panic!("SAMPLES must be a whole number above 0, not {arg:?}"),
        },
        None => SAMPLES,
    };
    let frames: Vec<String> = (0..n)
        .map(|i| {
            let s = HostModel::new(7, i).next(1, NOW_MS - 1000, 1.0);
            serde_json::to_string(&AgentFrame::Sample(s)).expect("a sample serialises")
        })
        .collect();
    let samples: Vec<Sample> = frames.iter().map(|f| parse(f)).collect();
    let mean = frames.iter().map(String::len).sum::<usize>() / n;
    println!("{n} agent frames of {mean} bytes on average, best of {ROUNDS} rounds");
    let steps: [(&str, &dyn Fn()); 4] = [
        ("parse the agent frame", &|| step_parse(&frames)),
        ("validate", &|| step_validate(&samples)),
        ("serialise the live frame", &|| step_live_frame(&samples)),
        ("build the stored row", &|| step_stored_row(&samples)),
    ];
    let mut total = 0.0;
    for (name, step) in steps {
        let best = (0..ROUNDS)
            .map(|_| {
                let t = Instant::now();
                step();
                t.elapsed().as_nanos() as f64 / n as f64
            })
            .fold(f64::INFINITY, f64::min);
        total += best;
        println!("{name:<28} {best:>8.0} ns/sample");
    }
    println!("{:<28} {total:>8.0} ns/sample", "all four");
}
