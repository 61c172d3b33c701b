//! Pending WebAuthn ceremonies on SQLite. Insertion is capped per org by one
//! conditional INSERT … SELECT; taking is one conditional UPDATE … RETURNING,
//! so of any number of concurrent takes exactly one sees a row.

use async_trait::async_trait;
use latchkey_core::clock::Timestamp;
use latchkey_core::ids::{CeremonyId, OrgId};
use latchkey_core::model::Ceremony;
use latchkey_core::store::CeremonyStore;
use latchkey_core::{Error, ErrorCode, Result};
use rusqlite::{params, Connection};

use super::{count, exec, json, one, SqliteStore};
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
        let inserted = self
            .conns
            .write(move |conn| {
                // One statement: SQLite takes the write lock when the
                // statement starts, so the count and the insert see the same
                // state and no other writer can slip in between. No explicit
                // transaction is needed.
                exec(
                    conn,
                    "INSERT INTO ceremonies \
                     (id, org_id, purpose, user_id, challenge, payload_hash, state, created_at, \
                      expires_at) \
                     SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? \
                     WHERE (SELECT COUNT(*) FROM ceremonies \
                            WHERE org_id = ? AND consumed_at IS NULL AND expires_at > ?) < ?",
                    params![
                        c.id.as_str(),
                        c.org_id.as_str(),
                        c.purpose.as_str(),
                        c.user_id.as_ref().map(|u| u.as_str()),
                        c.challenge.as_slice(),
                        c.payload_hash.as_deref(),
                        state,
                        c.created_at.millis(),
                        c.expires_at.millis(),
                        c.org_id.as_str(),
                        now.millis(),
                        max_pending,
                    ],
                )
                .db()
            })
            .await?;
        if inserted == 0 {
            return Err(Error::new(
                ErrorCode::TooManyPendingCeremonies,
                "too many pending ceremonies for this organization; try again later",
            ));
        }
        Ok(())
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
                    return Ceremony::try_from(row);
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

    async fn purge_ceremonies(&self, before: Timestamp) -> Result<u64> {
        self.purge_in_chunks(
            "DELETE FROM ceremonies WHERE id IN \
             (SELECT id FROM ceremonies WHERE expires_at < ? LIMIT ?)",
            before,
        )
        .await
    }
}

/// A pending ceremony of the org; `ceremony_not_found` or `ceremony_already_used`.
pub(super) fn pending_on(conn: &Connection, org: &OrgId, id: &CeremonyId) -> Result<Ceremony> {
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
    let consumed = exec(
        conn,
        "UPDATE ceremonies SET consumed_at = ? \
         WHERE id = ? AND org_id = ? AND consumed_at IS NULL",
        params![now.millis(), id.as_str(), org.as_str()],
    )
    .db()?;
    if consumed == 0 {
        return Err(ceremony_refusal(true));
    }
    Ok(())
}
