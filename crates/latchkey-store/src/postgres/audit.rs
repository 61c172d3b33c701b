//! Appending audit events inside the caller's transaction: each event takes
//! the next sequence number of its org (bumping `orgs.audit_seq`) and extends
//! the org's hash chain. The head is reserved last in the caller's
//! transaction and held until its commit, so appends of one org serialize.

use latchkey_core::audit::AuditEvent;
use latchkey_core::ids::AuditId;
use latchkey_core::{Error, Result};
use sqlx::types::Json;
use sqlx::PgConnection;

use crate::chain::event_hash;
use crate::error::DbResultExt;

pub(super) async fn append(conn: &mut PgConnection, events: &[AuditEvent]) -> Result<()> {
    // Consecutive events of one org share one reservation: three statements
    // per batch instead of three per event (a sign-in writes two events).
    let mut rest = events;
    while let Some(first) = rest.first() {
        let n = rest.iter().take_while(|e| e.org_id == first.org_id).count();
        let (batch, tail) = rest.split_at(n);
        append_batch(conn, batch).await?;
        rest = tail;
    }
    Ok(())
}

/// Appends events of one org: lock the org's chain head until commit, chain
/// the events in memory, insert them, and move the head with ONE update:
/// every update of the org row leaves a dead row version behind, and under
/// load that single row was updated thousands of times a second.
async fn append_batch(conn: &mut PgConnection, batch: &[AuditEvent]) -> Result<()> {
    let Some(first) = batch.first() else {
        return Ok(());
    };
    let org = first.org_id.as_str();
    let n = i64::try_from(batch.len()).map_err(Error::internal)?;
    // NO KEY UPDATE: it doesn't conflict with the KEY SHARE locks that
    // foreign keys to this org take.
    let head: Option<(i64, Option<Vec<u8>>)> =
        sqlx::query_as("SELECT audit_seq, audit_head FROM orgs WHERE id = $1 FOR NO KEY UPDATE")
            .bind(org)
            .fetch_optional(&mut *conn)
            .await
            .db()?;
    let Some((seq_before, mut prev)) = head else {
        return Err(Error::internal(format!(
            "audit event for unknown org {org}"
        )));
    };
    let mut rows = Vec::with_capacity(batch.len());
    for (i, event) in batch.iter().enumerate() {
        let seq = seq_before + 1 + i64::try_from(i).map_err(Error::internal)?;
        let hash = event_hash(prev.as_deref(), seq, event);
        rows.push((seq, event, prev.replace(hash.clone()), hash));
    }
    let mut insert = sqlx::QueryBuilder::<sqlx::Postgres>::new(
        "INSERT INTO audit_events (id, org_id, seq, at, kind, actor, subject, data, prev_hash, hash) ",
    );
    insert.push_values(&rows, |mut b, (seq, event, prev_hash, hash)| {
        b.push_bind(AuditId::generate_at(event.at).as_str().to_owned())
            .push_bind(org)
            .push_bind(*seq)
            .push_bind(event.at.millis())
            .push_bind(event.kind.as_str())
            .push_bind(event.actor.as_ref().map(|a| a.as_str().to_owned()))
            .push_bind(event.subject.as_str())
            .push_bind(Json(&event.data))
            .push_bind(prev_hash.clone())
            .push_bind(hash.clone());
    });
    insert.build().execute(&mut *conn).await.db()?;
    sqlx::query("UPDATE orgs SET audit_seq = $1, audit_head = $2 WHERE id = $3")
        .bind(seq_before + n)
        .bind(prev.as_deref())
        .bind(org)
        .execute(&mut *conn)
        .await
        .db()?;
    Ok(())
}
