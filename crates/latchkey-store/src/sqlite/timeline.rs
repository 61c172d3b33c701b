//! Trace events that line the SQLite threads' work up with a load
//! generator's latency log (`bench/lib/timeline.py`): writer batches that
//! took at least [`SLOW_BATCH_US`] and every checkpointer pass, each with
//! its start on CLOCK_MONOTONIC, the clock of the load generator's
//! `MEASURE start` line. Off unless `LATCHKEY_LOG` enables the
//! `latchkey::timeline` target at TRACE; then each batch costs three clock
//! reads. This is how the tick-long writer stalls behind a third of the
//! p99 tail were found (bench/RESULTS.md, 2026-12-04, thirteenth session).

/// Writer batches shorter than this are left out (a batch of a few jobs
/// takes ~0.1–0.5 ms; one of 32 sign-ins ~1.6 ms).
const SLOW_BATCH_US: i64 = 1000;

/// Now on CLOCK_MONOTONIC, in microseconds, if the timeline is traced.
pub(super) fn start() -> Option<i64> {
    tracing::enabled!(target: "latchkey::timeline", tracing::Level::TRACE).then(now)
}

/// A writer batch that began at `started`, committed at `committed` and
/// then finished its checkpoint work (a WAL rewind takes milliseconds).
pub(super) fn batch(started: i64, committed: i64, jobs: usize) {
    let ended = now();
    if ended - started >= SLOW_BATCH_US {
        tracing::trace!(
            target: "latchkey::timeline",
            start_us = started,
            batch_us = committed - started,
            after_us = ended - committed,
            jobs,
            "writer batch"
        );
    }
}

/// A checkpointer pass that began at `started`; `frames` the WAL's frames
/// then (None if it failed).
pub(super) fn pass(started: i64, rewind: bool, frames: Option<i64>) {
    tracing::trace!(
        target: "latchkey::timeline",
        start_us = started,
        pass_us = now() - started,
        rewind,
        frames = frames.unwrap_or(-1),
        "checkpoint pass"
    );
}

/// Now on CLOCK_MONOTONIC, in microseconds.
pub(super) fn now() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration;
    // CLOCK_MONOTONIC always exists on the platforms we build for.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec * 1_000_000 + ts.tv_nsec / 1000
}
