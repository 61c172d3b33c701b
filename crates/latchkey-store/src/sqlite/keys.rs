//! Token-signing keys on SQLite. Not org-owned: one key set per deployment.

use async_trait::async_trait;
use latchkey_core::clock::Timestamp;
use latchkey_core::model::SigningKeyRecord;
use latchkey_core::store::KeyStore;
use latchkey_core::{Error, Result};
use rusqlite::params;

use super::{all, exec, json, one, SqliteStore};
use crate::error::DbResultExt;
use crate::rows::{convert_all, SigningKeyRow};

#[async_trait]
impl KeyStore for SqliteStore {
    async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>> {
        self.conns
            .read(|conn| {
                convert_all(all(
                    conn,
                    concat!(
                        "SELECT ",
                        signing_key_columns!(),
                        " FROM signing_keys ORDER BY created_at, kid"
                    ),
                    [],
                    SigningKeyRow::from_rusqlite,
                )?)
            })
            .await
    }

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<()> {
        let (key, jwk) = (key.clone(), json(&key.public_jwk)?);
        self.conns
            .write(move |conn| {
                // DO NOTHING: nodes starting together may all try to insert the first key.
                exec(
                    conn,
                    concat!(
                        "INSERT INTO signing_keys (",
                        signing_key_columns!(),
                        ") VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (kid) DO NOTHING"
                    ),
                    params![
                        key.kid.as_str(),
                        key.alg.as_str(),
                        key.private_key_encrypted.as_slice(),
                        jwk,
                        key.created_at.millis(),
                        key.retired_at.map(|t| t.millis()),
                    ],
                )
                .db()
            })
            .await?;
        Ok(())
    }

    async fn retire_signing_key(&self, kid: &str, now: Timestamp) -> Result<bool> {
        let kid = kid.to_owned();
        let retired = self
            .conns
            .write(move |conn| {
                // Conditional, so a second retirement keeps the first one's time.
                exec(
                    conn,
                    "UPDATE signing_keys SET retired_at = ? WHERE kid = ? AND retired_at IS NULL",
                    params![now.millis(), kid],
                )
                .db()
            })
            .await?;
        Ok(retired == 1)
    }

    async fn purge_retired_signing_keys(&self, before: Timestamp) -> Result<u64> {
        self.conns
            .write(move |conn| {
                exec(
                    conn,
                    "DELETE FROM signing_keys WHERE retired_at < ?",
                    [before.millis()],
                )
                .db()
            })
            .await
    }

    async fn ceremony_salt(&self, fresh: &[u8]) -> Result<Vec<u8>> {
        let fresh = fresh.to_vec();
        self.conns
            .write(move |conn| {
                exec(
                    conn,
                    "INSERT INTO ceremony_salt (id, salt) VALUES (1, ?) ON CONFLICT DO NOTHING",
                    [fresh.as_slice()],
                )
                .db()?;
                one(
                    conn,
                    "SELECT salt FROM ceremony_salt WHERE id = 1",
                    [],
                    |r| r.get(0),
                )?
                .ok_or_else(|| Error::internal("the ceremony salt is missing"))
            })
            .await
    }
}
