//! Export, import and online backup on SQLite. The export reads inside one
//! read transaction (a WAL snapshot), so it is consistent while a server
//! keeps writing; the import runs in one `BEGIN IMMEDIATE` transaction.

use std::io::{BufRead, Write};
use std::path::Path;

use async_trait::async_trait;
use latchkey_core::{Error, ErrorCode, Result};
use sqlx::query_builder::Separated;
use sqlx::{QueryBuilder, Sqlite, Transaction};

use super::{SqliteStore, MIGRATOR};
use crate::error::DbResultExt;
use crate::transfer::{self, refused_row, wrap, Counts, Sink, Table, Val, Writer};
use crate::Database;

fn bind(row: &mut Separated<'_, Sqlite, &'static str>, value: Val) {
    match value {
        Val::Text(v) => row.push_bind(v),
        Val::OptText(v) => row.push_bind(v),
        Val::Int(v) => row.push_bind(v),
        Val::OptInt(v) => row.push_bind(v),
        Val::Bool(v) => row.push_bind(v),
        Val::Bytes(v) => row.push_bind(v),
        Val::OptBytes(v) => row.push_bind(v),
        Val::Json(v) => row.push_bind(sqlx::types::Json(v)),
    };
}

struct SqliteSink {
    tx: Transaction<'static, Sqlite>,
}

#[async_trait]
impl Sink for SqliteSink {
    async fn is_empty(&mut self) -> Result<bool> {
        let rows: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM signing_keys) + (SELECT COUNT(*) FROM orgs) \
             + (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM ceremonies)",
        )
        .fetch_one(&mut *self.tx)
        .await
        .db()?;
        // Every other table references orgs or users, so these four decide.
        Ok(rows == 0)
    }

    async fn insert(&mut self, table: Table, rows: Vec<Vec<Val>>) -> Result<()> {
        let mut q = QueryBuilder::<Sqlite>::new(format!(
            "INSERT INTO {} ({}) ",
            table.name(),
            table.columns()
        ));
        q.push_values(rows, |mut row, values| {
            for v in values {
                bind(&mut row, v);
            }
        });
        q.build()
            .execute(&mut *self.tx)
            .await
            .map_err(|e| refused_row(table, e))?;
        Ok(())
    }
}

fn latest_schema() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or_default()
}

#[async_trait]
impl Database for SqliteStore {
    async fn export_to(&self, out: &mut (dyn Write + Send)) -> Result<Counts> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await.db()?;
        let mut w = Writer::start(out, "sqlite", latest_schema())?;
        macro_rules! table {
            ($table:expr, $wrap:expr) => {
                w.table(
                    $table,
                    sqlx::query_as($table.select()).fetch(&mut *tx),
                    $wrap,
                )
                .await?
            };
        }
        table!(Table::SigningKeys, wrap::signing_key);
        table!(Table::Orgs, wrap::org);
        table!(Table::Users, wrap::user);
        table!(Table::Invitations, wrap::invitation);
        table!(Table::Credentials, wrap::credential);
        table!(Table::Sessions, wrap::session);
        table!(Table::AuditEvents, wrap::audit_event);
        tx.rollback().await.db()?;
        w.finish()
    }

    async fn import_from(&self, input: &mut (dyn BufRead + Send)) -> Result<Counts> {
        let mut sink = SqliteSink {
            tx: self.begin_write().await?,
        };
        let counts = transfer::import_lines(input, &mut sink).await?;
        sink.tx.commit().await.db()?;
        Ok(counts)
    }

    async fn backup_to(&self, out: &Path) -> Result<()> {
        if out.exists() {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                format!("{} exists; back up to a new file", out.display()),
            ));
        }
        let path = out.to_str().ok_or_else(|| {
            Error::new(ErrorCode::InvalidRequest, "the backup path must be UTF-8")
        })?;
        // VACUUM INTO writes a consistent, compacted copy from a read
        // snapshot: writers carry on, and the copy is a plain database file.
        sqlx::query("VACUUM INTO ?")
            .bind(path)
            .execute(&self.pool)
            .await
            .map_err(|e| {
                Error::new(
                    ErrorCode::Internal,
                    format!("cannot back up to {}: {e}", out.display()),
                )
            })?;
        Ok(())
    }
}
