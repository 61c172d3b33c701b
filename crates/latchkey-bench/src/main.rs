//! `latchkey-bench`: a load generator for passkey servers that speak
//! Latchkey's four ceremony routes (Latchkey itself, or the peer under
//! `bench/peers/`). Software authenticators from `latchkey-testkit` produce
//! real ES256 / EdDSA responses, so the server does all of its real work.
//!
//! A run: optionally enrol the org's super admin (`--enrol-token`), register
//! `--users` users, optionally leave `--abandoned` challenges pending, run `--scenario` for `--warmup` unmeasured and then
//! `--duration` measured, print ceremonies/s, latency percentiles of whole
//! ceremonies and errors by kind, and end with one `RESULT {json}` line that
//! `bench/run.sh` parses. See `bench/README.md`.

mod api;
mod args;
mod report;
mod scenario;

use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;

use crate::api::Api;
use crate::args::{Args, Scenario};

/// mimalloc, as in the server: with glibc's malloc, allocation was ~15 % of
/// the load generator's CPU (JSON values, request and response buffers).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    let api = Api::new(
        &args.target,
        &args.org,
        args.origin(),
        args.concurrency,
        args.timeout,
    )?;
    // A fresh id per run keeps usernames unique when runs share a server.
    let run_id = format!("{:08x}", rand::random::<u32>());

    if let Some(token) = &args.enrol_token {
        scenario::enrol_admin(&api, token, &args.authenticator_config()).await?;
    }
    // The register scenario creates its own users; the others need a pool.
    let users = if args.scenario == Scenario::Register {
        Vec::new()
    } else {
        let began = Instant::now();
        let users = scenario::register_users(&api, &args, &run_id).await?;
        eprintln!("{}", scenario::describe_setup(users.len(), began.elapsed()));
        users
    };

    if args.abandoned > 0 {
        let began = Instant::now();
        scenario::abandon_challenges(&api, args.abandoned, args.concurrency).await?;
        eprintln!(
            "setup: {} challenges started and abandoned in {:.1}s",
            args.abandoned,
            began.elapsed().as_secs_f64()
        );
    }
    eprintln!(
        "running {:?} against {} (org {}): concurrency {}, warmup {:?}, duration {:?}",
        args.scenario, args.target, args.org, args.concurrency, args.warmup, args.duration
    );
    let stats = scenario::run(&api, &args, users, &run_id).await?;
    stats.print(&args, args.duration);
    if let Some(path) = &args.latency_log {
        stats
            .write_timeline(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
