//! The buckets of `ceremony_load` (SQLite migration 0004, PostgreSQL 0005),
//! the same on both backends: an org's pending ceremonies are counted by
//! 10-second bucket of their expiry, and the migrations that fill the table
//! compute `expires_at / 10000` alike.

use latchkey_core::clock::Timestamp;

/// Width of a bucket.
pub(crate) const BUCKET_MS: i64 = 10_000;

/// The bucket of an expiry time.
pub(crate) fn bucket(at: Timestamp) -> i64 {
    at.millis().div_euclid(BUCKET_MS)
}
