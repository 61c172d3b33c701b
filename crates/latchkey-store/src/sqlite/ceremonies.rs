//! Pending WebAuthn ceremonies on SQLite. Insertion is capped per org: the
//! count comes from `ceremony_load` (pending ceremonies by expiry bucket,
//! migration 0004), kept by every insert and consumption, so a start costs
//! the same with ten or ten thousand pending. Taking is one conditional
//! UPDATE … RETURNING, so of any number of concurrent takes exactly one sees
//! a row. Sealed (sign-in) ceremonies are only recorded once spent, by an
//! INSERT that exactly one of any number of concurrent spends makes.

use async_trait::async_trait;
use latchkey_core::clock::Timestamp;
use latchkey_core::ids::{CeremonyId, OrgId};
use latchkey_core::model::Ceremony;
use latchkey_core::store::{CeremonyStore, SpentCeremony};
use latchkey_core::{Error, ErrorCode, Result};
use rusqlite::{params, Connection};

use super::{count, exec, json, one, SqliteStore};
use crate::ceremony_load::{bucket, BUCKET_MS};
use crate::error::{ceremony_refusal, DbResultExt};
use crate::rows::CeremonyRow;

#[async_trait]
impl CeremonyStore for SqliteStore {
    async fn insert_ceremony(
        &self,
        ceremony: &Ceremony,
        max_pending: i64,
        now: Timestamp,
    ) -> Result<()> {
        let (c, state) = (ceremony.clone(), json(&ceremony.state)?);
        self.conns
            .write(move |conn| {
                // One job: the writer thread runs it inside its write
                // transaction, so no other start can slip in between the
                // count and the insert.
                let org = c.org_id.as_str();
                if pending_count(conn, org, now)? >= max_pending {
                    return Err(Error::new(
                        ErrorCode::TooManyPendingCeremonies,
                        "too many pending ceremonies for this organization; try again later",
                    ));
                }
                exec(
                    conn,
                    "INSERT INTO ceremonies \
                     (id, org_id, purpose, user_id, challenge, payload_hash, state, created_at, \
                      expires_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    params![
                        c.id.as_str(),
                        org,
                        c.purpose.as_str(),
                        c.user_id.as_ref().map(|u| u.as_str()),
                        c.challenge.as_slice(),
                        c.payload_hash.as_deref(),
                        state,
                        c.created_at.millis(),
                        c.expires_at.millis(),
                    ],
                )
                .db()?;
                add_load(conn, org, c.expires_at, 1)
            })
            .await
    }

    async fn get_ceremony(&self, org: &OrgId, id: &CeremonyId) -> Result<Ceremony> {
        let (org, id) = (org.clone(), id.clone());
        self.conns
            .read(move |conn| pending_on(conn, &org, &id))
            .await
    }

    async fn take_ceremony(
        &self,
        org: &OrgId,
        id: &CeremonyId,
        now: Timestamp,
    ) -> Result<Ceremony> {
        let (org, id) = (org.clone(), id.clone());
        self.conns
            .write(move |conn| {
                let taken = one(
                    conn,
                    concat!(
                        "UPDATE ceremonies SET consumed_at = ? \
                         WHERE id = ? AND org_id = ? AND consumed_at IS NULL RETURNING ",
                        ceremony_columns!()
                    ),
                    params![now.millis(), id.as_str(), org.as_str()],
                    CeremonyRow::from_rusqlite,
                )?;
                if let Some(row) = taken {
                    let ceremony = Ceremony::try_from(row)?;
                    add_load(conn, org.as_str(), ceremony.expires_at, -1)?;
                    return Ok(ceremony);
                }
                // Nothing taken: tell "never existed here" from "someone
                // took it". Same connection, so no second hand-off.
                let matching = count(
                    conn,
                    "SELECT COUNT(*) FROM ceremonies WHERE id = ? AND org_id = ?",
                    [id.as_str(), org.as_str()],
                )?;
                Err(ceremony_refusal(matching > 0))
            })
            .await
    }

    async fn spend_ceremony(&self, spent: &SpentCeremony) -> Result<()> {
        let spent = spent.clone();
        self.conns.write(move |conn| spend_on(conn, &spent)).await
    }

    async fn purge_ceremonies(&self, before: Timestamp) -> Result<u64> {
        let purged = self
            .purge_in_chunks(
                "DELETE FROM ceremonies WHERE id IN \
                 (SELECT id FROM ceremonies WHERE expires_at < ? LIMIT ?)",
                before,
            )
            .await?
            + self
                .purge_in_chunks(
                    "DELETE FROM spent_ceremonies WHERE (expires_at, id) IN \
                     (SELECT expires_at, id FROM spent_ceremonies WHERE expires_at < ? LIMIT ?)",
                    before,
                )
                .await?;
        // Buckets wholly before `before` can't hold a pending ceremony.
        self.conns
            .write(move |conn| {
                exec(
                    conn,
                    "DELETE FROM ceremony_load WHERE bucket < ?",
                    [bucket(before)],
                )
                .db()
            })
            .await?;
        Ok(purged)
    }
}

/// A pending ceremony of the org; `ceremony_not_found` or `ceremony_already_used`.
fn pending_on(conn: &Connection, org: &OrgId, id: &CeremonyId) -> Result<Ceremony> {
    let found = one(
        conn,
        concat!(
            "SELECT ",
            ceremony_columns!(),
            ", consumed_at IS NOT NULL FROM ceremonies WHERE id = ? AND org_id = ?"
        ),
        [id.as_str(), org.as_str()],
        // The flag follows the row's nine columns.
        |r| Ok((r.get::<_, bool>(9)?, CeremonyRow::from_rusqlite(r)?)),
    )?;
    match found {
        Some((false, row)) => Ceremony::try_from(row),
        Some((true, _)) => Err(ceremony_refusal(true)),
        None => Err(ceremony_refusal(false)),
    }
}

/// Consumes a pending ceremony read earlier, inside the caller's
/// transaction: `ceremony_already_used` when another request got there first.
pub(super) fn consume_on(
    conn: &Connection,
    org: &OrgId,
    id: &CeremonyId,
    now: Timestamp,
) -> Result<()> {
    let expires_at = one(
        conn,
        "UPDATE ceremonies SET consumed_at = ? \
         WHERE id = ? AND org_id = ? AND consumed_at IS NULL RETURNING expires_at",
        params![now.millis(), id.as_str(), org.as_str()],
        |r| r.get::<_, i64>(0),
    )?;
    match expires_at {
        Some(at) => add_load(conn, org.as_str(), Timestamp(at), -1),
        None => Err(ceremony_refusal(true)),
    }
}

/// Records a sealed ceremony as spent, inside the caller's transaction:
/// `ceremony_already_used` when it was spent before.
pub(super) fn spend_on(conn: &Connection, spent: &SpentCeremony) -> Result<()> {
    let inserted = exec(
        conn,
        "INSERT INTO spent_ceremonies (expires_at, id, org_id) VALUES (?, ?, ?) \
         ON CONFLICT DO NOTHING",
        params![
            spent.expires_at.millis(),
            spent.id.as_str(),
            spent.org_id.as_str()
        ],
    )
    .db()?;
    if inserted == 0 {
        return Err(ceremony_refusal(true));
    }
    Ok(())
}

/// The org's ceremonies that are neither consumed nor expired at `now`:
/// the counts of the buckets that expire wholly after now's bucket, plus
/// the live rows of now's own bucket (a few seconds' worth of starts, read
/// through the pending index). Exact, and independent of how many are pending.
fn pending_count(conn: &Connection, org: &str, now: Timestamp) -> Result<i64> {
    let now_bucket = bucket(now);
    let later = count(
        conn,
        "SELECT COALESCE(SUM(pending), 0) FROM ceremony_load WHERE org_id = ? AND bucket > ?",
        params![org, now_bucket],
    )?;
    let ending = count(
        conn,
        "SELECT COUNT(*) FROM ceremonies \
         WHERE org_id = ? AND consumed_at IS NULL AND expires_at > ? AND expires_at < ?",
        params![org, now.millis(), (now_bucket + 1) * BUCKET_MS],
    )?;
    Ok(later + ending)
}

/// Counts a ceremony in (`delta` 1) or out of (-1) its expiry's bucket.
fn add_load(conn: &Connection, org: &str, expires_at: Timestamp, delta: i64) -> Result<()> {
    exec(
        conn,
        "INSERT INTO ceremony_load (org_id, bucket, pending) VALUES (?, ?, ?) \
         ON CONFLICT (org_id, bucket) DO UPDATE SET pending = pending + excluded.pending",
        params![org, bucket(expires_at), delta],
    )
    .db()?;
    Ok(())
}
