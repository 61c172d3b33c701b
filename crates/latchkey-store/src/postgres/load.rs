//! `ceremony_load` on PostgreSQL (migration 0005): an org's pending
//! ceremonies counted by 10-second bucket of their expiry, so the cap on
//! pending ceremonies costs the same with ten or ten thousand pending.
//!
//! Every start and completion goes through the completion workers
//! ([`super::completions`]), whose batches would all lock the same bucket
//! row of a busy org if each job wrote its own change. So a job only notes
//! its change ([`Load`]); a batch adds up the changes of the jobs that
//! succeeded and writes them in one statement, rows in key order, just
//! before its audit append and commit.

use std::collections::BTreeMap;

use latchkey_core::clock::Timestamp;
use latchkey_core::Result;
use sqlx::PgConnection;

pub(super) use crate::ceremony_load::{bucket, BUCKET_MS};
use crate::error::DbResultExt;

/// Changes to `ceremony_load` not yet written: pending ceremonies added
/// (+1) or consumed (-1), by org and bucket.
#[derive(Debug, Default)]
pub(super) struct Load(BTreeMap<(String, i64), i64>);

impl Load {
    /// Counts a ceremony in (`delta` 1) or out of (-1) its expiry's bucket.
    pub fn add(&mut self, org: &str, expires_at: Timestamp, delta: i64) {
        *self
            .0
            .entry((org.to_owned(), bucket(expires_at)))
            .or_default() += delta;
    }

    /// Takes in the changes of a job that succeeded.
    pub fn absorb(&mut self, job: Load) {
        for (key, delta) in job.0 {
            *self.0.entry(key).or_default() += delta;
        }
    }

    /// The change to the org's buckets after `after`, which the cap adds
    /// to what is already written.
    pub fn pending_after(&self, org: &str, after: i64) -> i64 {
        self.0
            .range((org.to_owned(), after.saturating_add(1))..)
            .take_while(|((o, _), _)| o == org)
            .map(|(_, delta)| delta)
            .sum()
    }

    /// Writes the changes in one statement, in key order (so two batches
    /// lock the rows they share in the same order); nothing when they
    /// cancel out.
    pub async fn write(&self, conn: &mut PgConnection) -> Result<()> {
        let mut orgs = Vec::with_capacity(self.0.len());
        let mut buckets = Vec::with_capacity(self.0.len());
        let mut deltas = Vec::with_capacity(self.0.len());
        for ((org, bucket), delta) in self.0.iter().filter(|(_, d)| **d != 0) {
            orgs.push(org.as_str());
            buckets.push(*bucket);
            deltas.push(*delta);
        }
        if orgs.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO ceremony_load (org_id, bucket, pending) \
             SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bigint[]) \
             ON CONFLICT (org_id, bucket) \
             DO UPDATE SET pending = ceremony_load.pending + excluded.pending",
        )
        .bind(orgs)
        .bind(buckets)
        .bind(deltas)
        .execute(conn)
        .await
        .db()?;
        Ok(())
    }
}
