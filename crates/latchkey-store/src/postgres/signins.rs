//! The sign-ins of one completion batch, written together: one statement
//! spends every ceremony, one moves every credential's counter, one inserts
//! every session, each over arrays (`unnest`). Run one by one, a sign-in
//! cost three round trips inside the batch's transaction, and under load
//! the completion workers' backends sat `idle in transaction` waiting for
//! them; now a batch of any size costs three, and a fourth between the
//! spend and the counters reads the passkeys with their owners for
//! [`AuthenticationCommit::recheck`].
//!
//! Each sign-in still gets its own answer, as if run alone in batch order:
//! only the first spend of a ceremony wins (the others are
//! `ceremony_already_used`, and write nothing more), and a sign-in whose
//! recheck refuses it (its passkey gone, its owner suspended, its counter
//! reached by an earlier sign-in) gets that refusal with its ceremony spent
//! and no session (as a failed attempt spends it anyway). A database error
//! is the whole batch's; the caller runs its jobs again alone.

use std::collections::{HashMap, HashSet};

use latchkey_core::model::User;
use latchkey_core::store::AuthenticationCommit;
use latchkey_core::Result;
use sqlx::PgConnection;

use super::credentials::credential_not_found;
use super::{ceremonies, column, joins};
use crate::error::{ceremony_already_used, DbResultExt};

/// Writes `commits` in the caller's transaction: each one's own result
/// (`Err` outside: a database error, the transaction is lost).
pub(super) async fn authentications_in(
    conn: &mut PgConnection,
    commits: &[&AuthenticationCommit],
) -> Result<Vec<Result<User>>> {
    let mut results: Vec<Result<()>> = commits.iter().map(|_| Ok(())).collect();
    spend(conn, commits, &mut results).await?;
    let owners = recheck(conn, commits, &mut results).await?;
    count(conn, commits, &mut results).await?;
    insert_sessions(conn, commits, &results).await?;
    Ok(results
        .into_iter()
        .zip(owners)
        .map(|(result, owner)| result.and_then(|()| owner.ok_or_else(credential_not_found)))
        .collect())
}

/// Rechecks the sign-ins still standing against their passkeys and owners
/// as read now, in batch order: a later sign-in of a passkey is checked
/// against the counter an earlier one of the batch moved. Each one's owner.
async fn recheck(
    conn: &mut PgConnection,
    commits: &[&AuthenticationCommit],
    results: &mut [Result<()>],
) -> Result<Vec<Option<User>>> {
    let ids: Vec<&[u8]> = commits
        .iter()
        .zip(results.iter())
        .filter(|(_, r)| r.is_ok())
        .map(|(c, _)| c.credential_id.as_slice())
        .collect();
    let mut fresh = match ids.is_empty() {
        true => HashMap::new(),
        false => joins::subjects_in(conn, &ids).await?,
    };
    let mut owners = vec![None; commits.len()];
    let standing = commits
        .iter()
        .zip(results.iter_mut())
        .zip(owners.iter_mut());
    for ((c, result), owner) in standing.filter(|((_, r), _)| r.is_ok()) {
        let key = (c.org_id.as_str().to_owned(), c.credential_id.clone());
        let subject = fresh.get_mut(&key);
        if let Err(refused) = c.recheck(subject.as_ref().map(|s| (&s.0, &s.1))) {
            *result = Err(refused);
        } else if let Some((credential, user)) = subject {
            credential.sign_count = credential.sign_count.max(c.sign_count);
            *owner = Some(user.clone());
        }
    }
    Ok(owners)
}

/// Spends the ceremonies; a sign-in whose ceremony was spent before, or by
/// an earlier sign-in of this batch, is refused.
async fn spend(
    conn: &mut PgConnection,
    commits: &[&AuthenticationCommit],
    results: &mut [Result<()>],
) -> Result<()> {
    let spending: Vec<_> = commits
        .iter()
        .zip(results.iter_mut())
        .filter_map(|(c, r)| Some((c.ceremony.as_ref()?, r)))
        .collect();
    let spent: Vec<_> = spending.iter().map(|(s, _)| *s).collect();
    let won = ceremonies::spend_all(conn, &spent).await?;
    for ((_, result), won) in spending.into_iter().zip(won) {
        if !won {
            *result = Err(ceremony_already_used());
        }
    }
    Ok(())
}

/// A credential's new values, several sign-ins of it merged as if applied
/// in order: the highest counter (never moved back), the last flags.
struct Counter<'a> {
    org_id: &'a str,
    id: &'a [u8],
    sign_count: i64,
    backup_eligible: bool,
    backup_state: bool,
    used_at: i64,
}

/// Moves the counters and flags of the sign-ins still standing; those
/// whose credential is gone are refused. (`id = ANY`: the primary key's
/// index even before the table has statistics; the join alone was planned
/// as a scan of the whole table, dead rows of every earlier update
/// included.)
async fn count(
    conn: &mut PgConnection,
    commits: &[&AuthenticationCommit],
    results: &mut [Result<()>],
) -> Result<()> {
    let counters = merged_counters(commits, results);
    if counters.is_empty() {
        return Ok(());
    }
    let found: Vec<(String, Vec<u8>)> = sqlx::query_as(
        "UPDATE credentials AS c SET sign_count = GREATEST(c.sign_count, v.sign_count), \
         backup_eligible = v.be, backup_state = v.bs, last_used_at = v.at \
         FROM unnest($1::text[], $2::bytea[], $3::bigint[], $4::bool[], $5::bool[], \
         $6::bigint[]) AS v (org_id, id, sign_count, be, bs, at) \
         WHERE c.org_id = v.org_id AND c.id = v.id AND c.id = ANY($2::bytea[]) \
         RETURNING c.org_id, c.id",
    )
    .bind(column(&counters, |c| c.org_id))
    .bind(column(&counters, |c| c.id))
    .bind(column(&counters, |c| c.sign_count))
    .bind(column(&counters, |c| c.backup_eligible))
    .bind(column(&counters, |c| c.backup_state))
    .bind(column(&counters, |c| c.used_at))
    .fetch_all(&mut *conn)
    .await
    .db()?;
    let found: HashSet<(String, Vec<u8>)> = found.into_iter().collect();
    for (c, result) in commits.iter().zip(results.iter_mut()) {
        let key = (c.org_id.as_str().to_owned(), c.credential_id.clone());
        if result.is_ok() && !found.contains(&key) {
            *result = Err(credential_not_found());
        }
    }
    Ok(())
}

/// One [`Counter`] per credential among the sign-ins still standing.
fn merged_counters<'a>(
    commits: &[&'a AuthenticationCommit],
    results: &[Result<()>],
) -> Vec<Counter<'a>> {
    let mut counters: Vec<Counter> = Vec::new();
    let mut at: HashMap<(&str, &[u8]), usize> = HashMap::new();
    let standing = commits.iter().zip(results).filter(|(_, r)| r.is_ok());
    for (c, _) in standing {
        let next = Counter {
            org_id: c.org_id.as_str(),
            id: &c.credential_id,
            sign_count: i64::from(c.sign_count),
            backup_eligible: c.backup_eligible,
            backup_state: c.backup_state,
            used_at: c.now.millis(),
        };
        match at.get(&(next.org_id, next.id)) {
            Some(&i) => {
                let highest = counters[i].sign_count.max(next.sign_count);
                counters[i] = Counter {
                    sign_count: highest,
                    ..next
                };
            }
            None => {
                at.insert((next.org_id, next.id), counters.len());
                counters.push(next);
            }
        }
    }
    counters
}

/// Inserts the sessions of the sign-ins still standing.
async fn insert_sessions(
    conn: &mut PgConnection,
    commits: &[&AuthenticationCommit],
    results: &[Result<()>],
) -> Result<()> {
    let sessions: Vec<_> = commits
        .iter()
        .zip(results)
        .filter(|(_, r)| r.is_ok())
        .filter_map(|(c, _)| c.session.as_ref())
        .collect();
    if sessions.is_empty() {
        return Ok(());
    }
    sqlx::query(concat!(
        "INSERT INTO sessions (",
        session_columns!(),
        ") SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], \
         $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::text[])"
    ))
    .bind(column(&sessions, |s| s.id.as_str()))
    .bind(column(&sessions, |s| s.org_id.as_str()))
    .bind(column(&sessions, |s| s.user_id.as_str()))
    .bind(column(&sessions, |s| s.credential_id.as_slice()))
    .bind(column(&sessions, |s| s.created_at.millis()))
    .bind(column(&sessions, |s| s.expires_at.millis()))
    .bind(column(&sessions, |s| s.last_seen_at.millis()))
    .bind(column(&sessions, |s| s.revoked_at.map(|t| t.millis())))
    .bind(column(&sessions, |s| s.user_agent.as_deref()))
    .execute(conn)
    .await
    .db()?;
    Ok(())
}
