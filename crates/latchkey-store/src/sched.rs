//! `SCHED_BATCH` for the calling thread: the policy the SQLite writer asks
//! for (see `sqlite/writer.rs`), and that `latchkey serve` sets on its main
//! thread for the whole process. One place for the system call, which both
//! need.

/// Puts the calling thread, and every thread it starts from now on, under
/// `SCHED_BATCH`: same share of the CPU, but its wake-ups don't preempt
/// the running thread. False if the system refused (or isn't Linux); the
/// default policy then stays, which is correct, only slower under load.
pub fn batch_this_thread() -> bool {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: pid 0 is the calling thread; `param` outlives the call,
        // which only reads it.
        unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}
