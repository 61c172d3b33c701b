//! Appending audit events inside the caller's transaction: each event takes
//! the next sequence number of its org (`orgs.audit_seq`) and extends the
//! org's hash chain. Every SQLite write runs in a `BEGIN IMMEDIATE`
//! transaction (the writer thread's batch), which holds the database's one
//! write lock until its commit, so reading the head and then moving it can't
//! interleave with another append.

use latchkey_core::audit::AuditEvent;
use latchkey_core::ids::AuditId;
use latchkey_core::{Error, Result};
use rusqlite::{params, Connection};

use super::{exec, json, one};
use crate::chain::event_hash;
use crate::error::DbResultExt;

pub(super) fn append(conn: &Connection, events: &[AuditEvent]) -> Result<()> {
    // Consecutive events of one org share one head read and one head update
    // (a sign-in writes two events).
    let mut rest = events;
    while let Some(first) = rest.first() {
        let n = rest.iter().take_while(|e| e.org_id == first.org_id).count();
        let (batch, tail) = rest.split_at(n);
        append_batch(conn, batch)?;
        rest = tail;
    }
    Ok(())
}

/// Appends events of one org: read the org's chain head, chain the events
/// in memory, insert them, and move the head once. The inserts are one
/// cached statement each: with rusqlite a statement costs no thread
/// hand-off, so a multi-row INSERT gains nothing.
fn append_batch(conn: &Connection, batch: &[AuditEvent]) -> Result<()> {
    let Some(first) = batch.first() else {
        return Ok(());
    };
    let org = first.org_id.as_str();
    let head: Option<(i64, Option<Vec<u8>>)> = one(
        conn,
        "SELECT audit_seq, audit_head FROM orgs WHERE id = ?",
        [org],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let Some((mut seq, mut prev)) = head else {
        return Err(Error::internal(format!(
            "audit event for unknown org {org}"
        )));
    };
    for event in batch {
        seq += 1;
        let hash = event_hash(prev.as_deref(), seq, event);
        exec(
            conn,
            "INSERT INTO audit_events \
             (id, org_id, seq, at, kind, actor, subject, data, prev_hash, hash) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                AuditId::generate_at(event.at).as_str(),
                org,
                seq,
                event.at.millis(),
                event.kind.as_str(),
                event.actor.as_ref().map(|a| a.as_str()),
                event.subject.as_str(),
                json(&event.data)?,
                prev.as_deref(),
                hash.as_slice(),
            ],
        )
        .db()?;
        prev = Some(hash);
    }
    exec(
        conn,
        "UPDATE orgs SET audit_seq = ?, audit_head = ? WHERE id = ?",
        params![seq, prev.as_deref(), org],
    )
    .db()?;
    Ok(())
}
