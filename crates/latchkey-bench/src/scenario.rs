//! Setup (enrol the admin, register the user pool) and the measured loop.
//!
//! Each of the `--concurrency` workers runs ceremonies back to back (a closed
//! loop: the next starts when the last ends, as a pool of busy clients would)
//! and owns a disjoint slice of the users, so no authenticator is ever in two
//! ceremonies at once: its sign counter then always reaches the server in
//! order, as a real authenticator's does. A ceremony counts when it *ends*
//! inside the measured window, which keeps the rate exact in steady state.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use latchkey_testkit::{Config, SoftAuthenticator};
use serde_json::json;
use tokio::task::JoinSet;

use crate::api::{Api, Failure};
use crate::args::{Args, Scenario};
use crate::report::Stats;

/// A registered user and the authenticator holding their passkey.
pub struct User {
    pub username: String,
    pub authn: SoftAuthenticator,
}

/// What one ceremony of the loop is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Register,
    ByUsername,
    Usernameless,
}

impl Step {
    /// The `n`th ceremony of a worker. The mix is a fixed cycle of 20
    /// (2 registrations, 9 by username, 9 usernameless) rather than random
    /// draws, so every run of the mix does exactly the same work.
    fn nth(scenario: Scenario, n: u64) -> Step {
        match (scenario, n % 20) {
            (Scenario::Register, _) => Step::Register,
            (Scenario::AuthUsername, _) => Step::ByUsername,
            (Scenario::AuthUsernameless, _) => Step::Usernameless,
            (Scenario::Mix, 0..=1) => Step::Register,
            (Scenario::Mix, 2..=10) => Step::ByUsername,
            (Scenario::Mix, _) => Step::Usernameless,
        }
    }
}

/// Enrols the org's super admin with its one-time token, which activates
/// passkeys for the org. A token already used is reported, not fatal, so the
/// same command can be re-run against a set-up server.
pub async fn enrol_admin(api: &Api, token: &str, config: &Config) -> Result<()> {
    let admin = SoftAuthenticator::with_config(config.clone());
    match api
        .register(&admin, &json!({ "invitationToken": token }))
        .await
    {
        Ok(()) => Ok(()),
        Err(Failure(kind)) if kind.starts_with("register/init: HTTP 4") => {
            eprintln!("note: admin enrolment refused ({kind}); assuming it was done before");
            Ok(())
        }
        Err(e) => bail!("enrolling the admin failed: {e}"),
    }
}

/// Registers `args.users()` users by open registration, `concurrency` at a time.
pub async fn register_users(api: &Api, args: &Args, run_id: &str) -> Result<Vec<User>> {
    let total = args.users();
    let mut tasks = JoinSet::new();
    for w in 0..args.concurrency {
        let (api, config, run_id) = (api.clone(), args.authenticator_config(), run_id.to_owned());
        let stride = args.concurrency;
        tasks.spawn(async move {
            let mut mine = Vec::new();
            for i in (w..total).step_by(stride) {
                let username = format!("u-{run_id}-{i}@bench.example");
                let authn = SoftAuthenticator::with_config(config.clone());
                let init = json!({"username": username, "displayName": format!("User {i}")});
                api.register(&authn, &init)
                    .await
                    .map_err(|e| anyhow::anyhow!("registering {username}: {e}"))?;
                mine.push((i, User { username, authn }));
            }
            Ok::<_, anyhow::Error>(mine)
        });
    }
    let mut users = Vec::with_capacity(total);
    while let Some(done) = tasks.join_next().await {
        users.extend(done.context("a setup task panicked")??);
    }
    users.sort_by_key(|(i, _)| *i);
    Ok(users.into_iter().map(|(_, u)| u).collect())
}

/// Starts `count` challenges that are never completed, `concurrency` at a time.
pub async fn abandon_challenges(api: &Api, count: usize, concurrency: usize) -> Result<()> {
    let mut tasks = JoinSet::new();
    for w in 0..concurrency.min(count) {
        let api = api.clone();
        tasks.spawn(async move {
            for _ in (w..count).step_by(concurrency) {
                api.abandon_challenge()
                    .await
                    .map_err(|e| anyhow::anyhow!("starting an abandoned challenge: {e}"))?;
            }
            Ok::<_, anyhow::Error>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.context("a setup task panicked")??;
    }
    Ok(())
}

/// Runs the workers for warmup + duration and returns the merged stats.
pub async fn run(api: &Api, args: &Args, users: Vec<User>, run_id: &str) -> Result<Stats> {
    let users = Arc::new(users);
    let start = Instant::now();
    let measure_from = start + args.warmup;
    let end = measure_from + args.duration;
    // Markers on stdout let bench/run.sh sample the server's CPU time over
    // exactly the measured window, leaving out setup and warmup.
    tokio::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        // The clock `perf record -k CLOCK_MONOTONIC` stamps its events
        // with, and this process, so a `--latency-log` can be lined up with
        // a trace (bench/lib/stalls.py).
        let pid = std::process::id();
        println!("MEASURE start monotonic={:.6} pid={pid}", monotonic_secs());
        tokio::time::sleep_until(end.into()).await;
        println!("MEASURE end");
    });
    let mut tasks = JoinSet::new();
    for w in 0..args.concurrency {
        let worker = Worker {
            id: w,
            api: api.clone(),
            users: users.clone(),
            stride: args.concurrency,
            scenario: args.scenario,
            config: args.authenticator_config(),
            run_id: run_id.to_owned(),
            timeline: args.latency_log.is_some(),
        };
        tasks.spawn(async move { worker.run(measure_from, end).await });
    }
    let mut stats = Stats::with_timeline(args.latency_log.is_some());
    while let Some(done) = tasks.join_next().await {
        stats.merge(done.context("a worker panicked")?);
    }
    Ok(stats)
}

struct Worker {
    id: usize,
    api: Api,
    users: Arc<Vec<User>>,
    stride: usize,
    scenario: Scenario,
    config: Config,
    run_id: String,
    timeline: bool,
}

impl Worker {
    async fn run(self, measure_from: Instant, end: Instant) -> Stats {
        let mut stats = Stats::with_timeline(self.timeline);
        let mine: Vec<&User> = self
            .users
            .iter()
            .skip(self.id)
            .step_by(self.stride)
            .collect();
        let mut n: u64 = 0;
        while Instant::now() < end {
            let began = Instant::now();
            let outcome = match Step::nth(self.scenario, n) {
                Step::Register => self.register_new(n).await,
                Step::ByUsername => self.authenticate(&mine, n, true).await,
                Step::Usernameless => self.authenticate(&mine, n, false).await,
            };
            let ended = Instant::now();
            if ended >= measure_from && ended <= end {
                stats.record_at(outcome, ended - began, ended - measure_from);
            }
            n += 1;
        }
        stats
    }

    async fn register_new(&self, n: u64) -> Result<(), Failure> {
        let username = format!("r-{}-{}-{n}@bench.example", self.run_id, self.id);
        let authn = SoftAuthenticator::with_config(self.config.clone());
        let init = json!({"username": username, "displayName": "Bench"});
        self.api.register(&authn, &init).await
    }

    async fn authenticate(&self, mine: &[&User], n: u64, by_name: bool) -> Result<(), Failure> {
        let Some(user) = mine.get((n as usize) % mine.len().max(1)) else {
            return Err(Failure("setup: worker has no users".to_owned()));
        };
        let username = by_name.then_some(user.username.as_str());
        self.api.authenticate(&user.authn, username).await
    }
}

/// CLOCK_MONOTONIC in seconds (std's `Instant` reads it but doesn't show it).
fn monotonic_secs() -> f64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec for the call's duration.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    if rc != 0 {
        return f64::NAN;
    }
    now.tv_sec as f64 + now.tv_nsec as f64 / 1e9
}

/// How long setup took, for the log.
pub fn describe_setup(users: usize, took: Duration) -> String {
    format!(
        "setup: {users} users registered in {:.1}s",
        took.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_is_one_tenth_registrations_and_the_rest_split_evenly() {
        let steps: Vec<Step> = (0..20).map(|n| Step::nth(Scenario::Mix, n)).collect();
        let count = |s: Step| steps.iter().filter(|&&x| x == s).count();
        assert_eq!(count(Step::Register), 2);
        assert_eq!(count(Step::ByUsername), 9);
        assert_eq!(count(Step::Usernameless), 9);
    }
}
