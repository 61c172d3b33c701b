//! What a run measured and how it is printed. Each worker fills its own
//! [`Stats`] (no locks on the measured path); they are merged once at the end.
//! Latency is recorded in microseconds in an HDR histogram, so p99 is exact
//! to three significant digits however long the run.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use clap::ValueEnum;
use hdrhistogram::Histogram;
use serde_json::{json, Value};

use crate::api::Failure;
use crate::args::Args;

/// Highest latency the histogram can hold: a minute, far beyond any timeout.
const MAX_MICROS: u64 = 60_000_000;

pub struct Stats {
    /// Whole-ceremony latency of successful ceremonies, µs.
    pub latency: Histogram<u64>,
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
    /// Each successful ceremony's (end, latency) in µs, the end counted from
    /// the start of the measured window; kept only for `--latency-log`.
    pub timeline: Option<Vec<(u64, u64)>>,
}

impl Stats {
    pub fn new() -> Self {
        Stats {
            // Constant, valid bounds: construction cannot fail.
            latency: Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid histogram bounds"),
            ok: 0,
            errors: BTreeMap::new(),
            timeline: None,
        }
    }

    /// Stats that also keep the timeline of their ceremonies, if asked.
    pub fn with_timeline(keep: bool) -> Self {
        Stats {
            timeline: keep.then(Vec::new),
            ..Stats::new()
        }
    }

    /// Records a ceremony that ended `at` into the measured window.
    pub fn record_at(&mut self, outcome: Result<(), Failure>, took: Duration, at: Duration) {
        if let (Ok(()), Some(timeline)) = (&outcome, &mut self.timeline) {
            timeline.push((micros(at), micros(took)));
        }
        self.record(outcome, took);
    }

    pub fn record(&mut self, outcome: Result<(), Failure>, took: Duration) {
        match outcome {
            Ok(()) => {
                self.ok += 1;
                self.latency
                    .saturating_record(micros(took).clamp(1, MAX_MICROS));
            }
            Err(Failure(kind)) => *self.errors.entry(kind).or_default() += 1,
        }
    }

    pub fn merge(&mut self, other: Stats) {
        self.ok += other.ok;
        // Same bounds on both sides, so adding can't fail.
        let _ = self.latency.add(&other.latency);
        for (kind, n) in other.errors {
            *self.errors.entry(kind).or_default() += n;
        }
        if let (Some(mine), Some(theirs)) = (&mut self.timeline, other.timeline) {
            mine.extend(theirs);
        }
    }

    /// Writes the timeline as CSV, in order of ending (the run's last use
    /// of its stats).
    pub fn write_timeline(self, path: &Path) -> std::io::Result<()> {
        let mut rows = self.timeline.unwrap_or_default();
        rows.sort_unstable();
        let mut out = BufWriter::new(File::create(path)?);
        writeln!(out, "end_ms,latency_ms")?;
        for (end, latency) in rows {
            writeln!(
                out,
                "{:.3},{:.3}",
                end as f64 / 1000.0,
                latency as f64 / 1000.0
            )?;
        }
        out.flush()
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    fn millis_at(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }

    /// The machine-readable summary printed after `RESULT `.
    pub fn result_json(&self, args: &Args, measured: Duration) -> Value {
        let secs = measured.as_secs_f64().max(f64::EPSILON);
        json!({
            "label": args.label,
            "target": args.target,
            "scenario": value_name(args.scenario),
            "concurrency": args.concurrency,
            "users": args.users(),
            "alg": value_name(args.alg),
            "attestation": value_name(args.attestation),
            "durationSecs": round3(secs),
            "ceremonies": self.ok,
            "errors": self.error_count(),
            "ceremoniesPerSec": round3(self.ok as f64 / secs),
            "latencyMs": {
                "p50": round3(self.millis_at(0.50)),
                "p90": round3(self.millis_at(0.90)),
                "p99": round3(self.millis_at(0.99)),
                "max": round3(self.latency.max() as f64 / 1000.0),
                "mean": round3(self.latency.mean() / 1000.0),
            },
            "errorKinds": self.errors,
        })
    }

    /// The human summary, then the one `RESULT` line.
    pub fn print(&self, args: &Args, measured: Duration) {
        let result = self.result_json(args, measured);
        println!(
            "{} ceremonies in {:.1}s at concurrency {}: {:.1}/s",
            self.ok,
            measured.as_secs_f64(),
            args.concurrency,
            result["ceremoniesPerSec"].as_f64().unwrap_or_default()
        );
        println!(
            "latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
            self.millis_at(0.50),
            self.millis_at(0.90),
            self.millis_at(0.99),
            self.latency.max() as f64 / 1000.0
        );
        if self.errors.is_empty() {
            println!("errors: none");
        } else {
            println!("errors: {}", self.error_count());
            for (kind, n) in &self.errors {
                println!("  {n:>8}  {kind}");
            }
        }
        println!("RESULT {result}");
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(MAX_MICROS)
}

/// The flag spelling of an enum value (`auth-username`), as the user typed it.
fn value_name(value: impl ValueEnum) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default()
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_stats_count_successes_and_errors_by_kind() {
        let mut a = Stats::new();
        a.record(Ok(()), Duration::from_millis(2));
        a.record(
            Err(Failure("verify: HTTP 400 bad_signature".into())),
            Duration::ZERO,
        );
        let mut b = Stats::new();
        b.record(Ok(()), Duration::from_millis(4));
        b.record(
            Err(Failure("verify: HTTP 400 bad_signature".into())),
            Duration::ZERO,
        );
        a.merge(b);
        assert_eq!(a.ok, 2);
        assert_eq!(a.errors["verify: HTTP 400 bad_signature"], 2);
        assert_eq!(a.latency.len(), 2);
        assert!(a.millis_at(1.0) >= 3.9);
        assert!(a.timeline.is_none());
    }

    #[test]
    fn the_timeline_keeps_successes_in_order_of_ending() {
        let ms = Duration::from_millis;
        let mut a = Stats::with_timeline(true);
        a.record_at(Ok(()), ms(5), ms(30));
        a.record_at(Err(Failure("challenge: timeout".into())), ms(9), ms(31));
        let mut b = Stats::with_timeline(true);
        b.record_at(Ok(()), Duration::from_micros(2_500), ms(10));
        a.merge(b);
        assert_eq!(a.ok, 2);
        assert_eq!(a.error_count(), 1);
        let path = std::env::temp_dir().join(format!("latency-{}.csv", std::process::id()));
        a.write_timeline(&path).unwrap();
        let csv = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(csv, "end_ms,latency_ms\n10.000,2.500\n30.000,5.000\n");
    }
}
