//! Group commit for ceremony completions on PostgreSQL. A completion
//! appends audit events, which takes the org's chain head (`orgs.audit_seq`) and
//! holds its row lock until commit, WAL flush included: measured under load,
//! nine in ten busy backends were waiting for that lock, and sign-ins of
//! one org ran one commit at a time. So a node sends its completions to
//! [`WORKERS`] tasks; each takes every completion waiting (up to
//! [`MAX_BATCH`]) and commits them in one transaction. The batch's sign-ins
//! go first, all together, four statements whatever their number (see
//! [`super::signins`]; a refused one leaves at most its ceremony spent, as
//! any failed attempt does, so none needs a savepoint).
//! Every other completion runs in its own savepoint (sqlx's nested
//! transaction), so one that fails undoes only its own writes. Then the
//! audit events of those that succeeded are written together, in a fixed
//! order, just before the commit: the head is held for one write and one
//! flush per batch, while the other workers' batches do their own writes
//! meanwhile. Callers are answered after the commit.
//!
//! Batches touch rows in orders no other node knows, so two nodes' batches
//! can deadlock (PostgreSQL then aborts one). A completion that fails with an
//! internal error inside a batch, or whose batch fails to commit, is
//! therefore run again alone, in a transaction of its own, whose result
//! stands. Domain refusals (a ceremony already used, a credential already
//! registered) are final.

use std::sync::Arc;

use latchkey_core::audit::AuditEvent;
use latchkey_core::model::User;
use latchkey_core::store::{AuthenticationCommit, RegistrationCommit};
use latchkey_core::{Error, ErrorCode, Result};
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::{mpsc, oneshot, Mutex};

use super::credentials::registration_in;
use super::{audit, signins};
use crate::error::DbResultExt;

/// Batches in flight per node.
const WORKERS: usize = 4;
/// Completions per transaction at most: PostgreSQL keeps 64 subtransactions
/// per backend in shared memory before other sessions' snapshots slow down.
const MAX_BATCH: usize = 32;

/// What a completion commits.
#[derive(Debug, Clone)]
pub(super) enum Completion {
    Authentication(AuthenticationCommit),
    Registration(RegistrationCommit),
}

impl Completion {
    fn audit(&self) -> &[AuditEvent] {
        match self {
            Completion::Authentication(c) => &c.audit,
            Completion::Registration(c) => &c.audit,
        }
    }
}

/// A completion's answer: the owner, for a sign-in.
type Done = Result<Option<User>>;

struct Job {
    what: Completion,
    reply: oneshot::Sender<Done>,
}

/// The node's side of the completion workers.
#[derive(Debug, Clone)]
pub(super) struct Completions {
    jobs: mpsc::UnboundedSender<Job>,
}

impl Completions {
    /// Starts the workers; they end when the last store clone is dropped.
    pub fn start(pool: PgPool) -> Completions {
        let (jobs, queue) = mpsc::unbounded_channel();
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..WORKERS {
            tokio::spawn(run(pool.clone(), queue.clone()));
        }
        Completions { jobs }
    }

    /// Commits `what` (with others waiting), answering after the commit.
    pub async fn commit(&self, what: Completion) -> Done {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { what, reply })
            .map_err(|_| Error::internal("the completion workers have stopped"))?;
        answer
            .await
            .map_err(|_| Error::internal("the completion workers dropped a commit"))?
    }
}

async fn run(pool: PgPool, queue: Arc<Mutex<mpsc::UnboundedReceiver<Job>>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else {
                return;
            };
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
        }
        let results = commit_batch(&pool, &batch).await;
        // A batch of one already ran alone: its result stands.
        let shared = batch.len() > 1;
        for (job, result) in batch.drain(..).zip(results) {
            let result = match result {
                Err(e) if shared && e.code == ErrorCode::Internal => alone(&pool, &job.what).await,
                other => other,
            };
            // The caller may have gone (its request was cancelled).
            let _ = job.reply.send(result);
        }
    }
}

/// One transaction for the whole batch; each job's result, with every
/// job's result an internal error when the commit itself failed.
async fn commit_batch(pool: &PgPool, batch: &[Job]) -> Vec<Done> {
    if let [job] = batch {
        // Alone, it needs no savepoint.
        return vec![alone(pool, &job.what).await];
    }
    let mut tx = match pool.begin().await.db() {
        Ok(tx) => tx,
        Err(e) => return batch.iter().map(|_| Err(e.clone())).collect(),
    };
    let mut results = match signins_of(&mut tx, batch).await {
        Ok(results) => results,
        Err(e) => return batch.iter().map(|_| Err(e.clone())).collect(),
    };
    for (job, result) in batch.iter().zip(results.iter_mut()) {
        if result.is_some() {
            continue;
        }
        let mine = match Connection::begin(&mut *tx).await.db() {
            Ok(mut savepoint) => match apply(&mut savepoint, &job.what).await {
                Ok(done) => savepoint.commit().await.db().map(|()| done),
                // Dropping the savepoint rolls it back.
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        *result = Some(mine);
    }
    let results: Vec<Done> = results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(Error::internal("a completion never ran"))))
        .collect();
    // Orgs in a fixed order, so workers never wait for each other's heads
    // crosswise; within an org, the completions' order.
    let mut events: Vec<&AuditEvent> = batch
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.is_ok())
        .flat_map(|(job, _)| job.what.audit())
        .collect();
    events.sort_by(|a, b| a.org_id.cmp(&b.org_id));
    let events: Vec<AuditEvent> = events.into_iter().cloned().collect();
    // Without its events nothing commits (dropping `tx` rolls back).
    let committed = async {
        audit::append(&mut tx, &events).await?;
        tx.commit().await.db()
    }
    .await;
    if let Err(e) = committed {
        return results.into_iter().map(|_| Err(e.clone())).collect();
    }
    results
}

/// The batch's sign-ins, written together (see `signins`); `None` for
/// every other job, which the caller runs in a savepoint of its own.
async fn signins_of(conn: &mut PgConnection, batch: &[Job]) -> Result<Vec<Option<Done>>> {
    let commits: Vec<&AuthenticationCommit> = batch
        .iter()
        .filter_map(|job| match &job.what {
            Completion::Authentication(commit) => Some(commit),
            _ => None,
        })
        .collect();
    let mut theirs = signins::authentications_in(conn, &commits)
        .await?
        .into_iter();
    Ok(batch
        .iter()
        .map(|job| match job.what {
            Completion::Authentication(_) => theirs.next().map(|r| r.map(Some)),
            _ => None,
        })
        .collect())
}

/// Runs a completion again on its own.
async fn alone(pool: &PgPool, what: &Completion) -> Done {
    let mut tx = pool.begin().await.db()?;
    let done = apply(&mut tx, what).await?;
    audit::append(&mut tx, what.audit()).await?;
    tx.commit().await.db()?;
    Ok(done)
}

/// Runs a completion's writes but its audit events, which the caller writes.
async fn apply(conn: &mut PgConnection, what: &Completion) -> Done {
    match what {
        Completion::Authentication(commit) => {
            let mut done = signins::authentications_in(conn, &[commit]).await?;
            done.pop()
                .unwrap_or_else(|| Err(Error::internal("a sign-in got no answer")))
                .map(Some)
        }
        Completion::Registration(commit) => registration_in(conn, commit).await.map(|()| None),
    }
}
