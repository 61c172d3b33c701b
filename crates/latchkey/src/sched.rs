//! The scheduling policy `latchkey serve` runs under.
//!
//! On a busy core the server's threads take turns: the request threads
//! (tokio's workers), the SQLite writer and its checkpointer. Under
//! Linux's default policy a thread that wakes can preempt the one running,
//! and a request thread woken by the network preempted the writer in the
//! middle of a batch: the writer then waited for the request thread's
//! slice to run out at the next tick (4 ms at `HZ=250`) while every
//! ceremony in its batch waited with it. Traced on the benchmark VM
//! (bench/RESULTS.md, 2026-12-04, thirteenth session): 42 such stalls in
//! 20 s of sign-ins, each ~3.3 ms, behind ~400 of the ~1,300 ceremonies
//! at or above the p99. Under `SCHED_BATCH` no thread of the server
//! preempts another on wake-up (each still gets its fair share of the
//! CPU, and an idle core runs a woken thread at once), so a batch runs to
//! its end. The stalls went from 42 to 2; in alternated full runs every
//! scenario's p99 fell against the peer's (by username 0.37–0.41× to
//! 0.34–0.35×) and sign-ins' p99/p50 came down to the peer's (~1.7).
//!
//! The policy is set on the main thread before the runtime exists, so
//! every thread the server starts inherits it. The cost: on a machine
//! shared with latency-sensitive processes, Latchkey's threads no longer
//! preempt them either; `scheduling = "normal"` keeps the default.

use crate::config::Scheduling;

/// Applies `policy` to the calling thread, and so to every thread it
/// starts from now on; false if the system refused (the default policy
/// stays, which is correct, only slower under load).
pub fn apply(policy: Scheduling) -> bool {
    match policy {
        Scheduling::Normal => true,
        Scheduling::Batch => latchkey_store::sched::batch_this_thread(),
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn policy() -> i32 {
        // SAFETY: reads the calling thread's policy; no pointers involved.
        unsafe { libc::sched_getscheduler(0) }
    }

    #[test]
    fn batch_is_inherited_by_the_threads_started_after_it() {
        // On a thread of its own, so the test harness's threads keep theirs.
        let seen = std::thread::spawn(|| {
            assert!(apply(Scheduling::Batch));
            let own = policy();
            let child = std::thread::spawn(policy).join().unwrap();
            (own, child)
        })
        .join()
        .unwrap();
        assert_eq!(seen, (libc::SCHED_BATCH, libc::SCHED_BATCH));
    }

    #[test]
    fn normal_leaves_the_policy_alone() {
        // Whatever the test runner runs under (`chrt -b cargo test` too).
        let before = policy();
        let seen = std::thread::spawn(|| {
            assert!(apply(Scheduling::Normal));
            policy()
        })
        .join()
        .unwrap();
        assert_eq!(seen, before);
    }
}
