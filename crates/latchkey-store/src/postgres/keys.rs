//! Token-signing keys on PostgreSQL. Not org-owned: one key set per deployment.

use async_trait::async_trait;
use latchkey_core::clock::Timestamp;
use latchkey_core::model::SigningKeyRecord;
use latchkey_core::store::KeyStore;
use latchkey_core::Result;
use sqlx::types::Json;

use super::PgStore;
use crate::error::DbResultExt;
use crate::rows::{convert_all, SigningKeyRow};

#[async_trait]
impl KeyStore for PgStore {
    async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>> {
        let rows: Vec<SigningKeyRow> = sqlx::query_as(concat!(
            "SELECT ",
            signing_key_columns!(),
            " FROM signing_keys ORDER BY created_at, kid"
        ))
        .fetch_all(&self.pool)
        .await
        .db()?;
        convert_all(rows)
    }

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<()> {
        // DO NOTHING: nodes starting together may all try to insert the first key.
        sqlx::query(concat!(
            "INSERT INTO signing_keys (",
            signing_key_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kid) DO NOTHING"
        ))
        .bind(key.kid.as_str())
        .bind(key.alg.as_str())
        .bind(key.private_key_encrypted.as_slice())
        .bind(Json(&key.public_jwk))
        .bind(key.created_at.millis())
        .bind(key.retired_at.map(|t| t.millis()))
        .execute(&self.pool)
        .await
        .db()?;
        Ok(())
    }

    async fn retire_signing_key(&self, kid: &str, now: Timestamp) -> Result<bool> {
        // Conditional, so a second retirement keeps the first one's time.
        let done = sqlx::query(
            "UPDATE signing_keys SET retired_at = $1 WHERE kid = $2 AND retired_at IS NULL",
        )
        .bind(now.millis())
        .bind(kid)
        .execute(&self.pool)
        .await
        .db()?;
        Ok(done.rows_affected() == 1)
    }

    async fn purge_retired_signing_keys(&self, before: Timestamp) -> Result<u64> {
        let done = sqlx::query("DELETE FROM signing_keys WHERE retired_at < $1")
            .bind(before.millis())
            .execute(&self.pool)
            .await
            .db()?;
        Ok(done.rows_affected())
    }

    async fn ceremony_salt(&self, fresh: &[u8]) -> Result<Vec<u8>> {
        // Nodes starting together may all offer one; the first stays.
        sqlx::query("INSERT INTO ceremony_salt (id, salt) VALUES (1, $1) ON CONFLICT DO NOTHING")
            .bind(fresh)
            .execute(&self.pool)
            .await
            .db()?;
        sqlx::query_scalar("SELECT salt FROM ceremony_salt WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .db()
    }
}
