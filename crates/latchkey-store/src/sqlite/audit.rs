//! Appending audit events inside the caller's transaction: each event takes
//! the next sequence number of its org (bumping `orgs.audit_seq`) and extends
//! the org's hash chain.

use latchkey_core::audit::AuditEvent;
use latchkey_core::ids::AuditId;
use latchkey_core::{Error, Result};
use sqlx::types::Json;
use sqlx::SqliteConnection;

use crate::chain::event_hash;
use crate::error::DbResultExt;

pub(super) async fn append(conn: &mut SqliteConnection, events: &[AuditEvent]) -> Result<()> {
    for event in events {
        append_one(conn, event).await?;
    }
    Ok(())
}

async fn append_one(conn: &mut SqliteConnection, event: &AuditEvent) -> Result<()> {
    let head: Option<(i64, Option<Vec<u8>>)> = sqlx::query_as(
        "UPDATE orgs SET audit_seq = audit_seq + 1 WHERE id = ? RETURNING audit_seq, audit_head",
    )
    .bind(event.org_id.as_str())
    .fetch_optional(&mut *conn)
    .await
    .db()?;
    let Some((seq, prev)) = head else {
        return Err(Error::internal(format!(
            "audit event for unknown org {}",
            event.org_id
        )));
    };
    let hash = event_hash(prev.as_deref(), seq, event);
    sqlx::query(
        "INSERT INTO audit_events \
         (id, org_id, seq, at, kind, actor, subject, data, prev_hash, hash) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(AuditId::generate().as_str())
    .bind(event.org_id.as_str())
    .bind(seq)
    .bind(event.at.millis())
    .bind(event.kind.as_str())
    .bind(event.actor.as_ref().map(|a| a.as_str()))
    .bind(event.subject.as_str())
    .bind(Json(&event.data))
    .bind(prev.as_deref())
    .bind(hash.as_slice())
    .execute(&mut *conn)
    .await
    .db()?;
    sqlx::query("UPDATE orgs SET audit_head = ? WHERE id = ?")
        .bind(hash.as_slice())
        .bind(event.org_id.as_str())
        .execute(&mut *conn)
        .await
        .db()?;
    Ok(())
}
