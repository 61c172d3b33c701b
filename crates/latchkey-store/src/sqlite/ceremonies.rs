//! Spent ceremonies on SQLite. Ceremonies are sealed into their ids, not
//! stored (see `latchkey_core::sealed`); a ceremony is recorded once spent,
//! by an INSERT that exactly one of any number of concurrent spends makes,
//! and kept until it expires.

use async_trait::async_trait;
use latchkey_core::clock::Timestamp;
use latchkey_core::store::{CeremonyStore, SpentCeremony};
use latchkey_core::Result;
use rusqlite::{params, Connection};

use super::{exec, SqliteStore};
use crate::error::{ceremony_already_used, DbResultExt};

#[async_trait]
impl CeremonyStore for SqliteStore {
    async fn spend_ceremony(&self, spent: &SpentCeremony) -> Result<()> {
        let spent = spent.clone();
        self.conns.write(move |conn| spend_on(conn, &spent)).await
    }

    async fn purge_ceremonies(&self, before: Timestamp) -> Result<u64> {
        self.purge_in_chunks(
            "DELETE FROM spent_ceremonies WHERE (expires_at, id) IN \
             (SELECT expires_at, id FROM spent_ceremonies WHERE expires_at < ? LIMIT ?)",
            before,
        )
        .await
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
        return Err(ceremony_already_used());
    }
    Ok(())
}
