//! Export and import on PostgreSQL. The export reads inside one REPEATABLE
//! READ, READ ONLY transaction (one snapshot, consistent while nodes keep
//! writing); the import runs in one transaction that first locks every table
//! against writers, so a node started too early can't slip a row in.
//! Backups are `pg_dump`'s job, not ours.

use std::io::{BufRead, Write};
use std::path::Path;

use async_trait::async_trait;
use latchkey_core::{Error, ErrorCode, Result};
use sqlx::query_builder::Separated;
use sqlx::{Postgres, QueryBuilder, Transaction};

use super::{PgStore, MIGRATOR};
use crate::error::DbResultExt;
use crate::transfer::{self, refused_row, wrap, Counts, Sink, Table, Val, Writer};
use crate::Database;

fn bind(row: &mut Separated<'_, Postgres, &'static str>, value: Val) {
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

struct PgSink {
    tx: Transaction<'static, Postgres>,
}

#[async_trait]
impl Sink for PgSink {
    async fn is_empty(&mut self) -> Result<bool> {
        sqlx::query(
            "LOCK TABLE signing_keys, orgs, users, invitations, credentials, sessions, \
             audit_events IN SHARE ROW EXCLUSIVE MODE",
        )
        .execute(&mut *self.tx)
        .await
        .db()?;
        let rows: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM signing_keys) + (SELECT COUNT(*) FROM orgs) \
             + (SELECT COUNT(*) FROM users)",
        )
        .fetch_one(&mut *self.tx)
        .await
        .db()?;
        // Every other table references orgs or users, so these four decide.
        Ok(rows == 0)
    }

    async fn insert(&mut self, table: Table, rows: Vec<Vec<Val>>) -> Result<()> {
        let mut q = QueryBuilder::<Postgres>::new(format!(
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
impl Database for PgStore {
    async fn export_to(&self, out: &mut (dyn Write + Send)) -> Result<Counts> {
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await
            .db()?;
        let mut w = Writer::start(out, "postgres", latest_schema())?;
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
        let mut sink = PgSink {
            tx: self.begin_write().await?,
        };
        let counts = transfer::import_lines(input, &mut sink).await?;
        sink.tx.commit().await.db()?;
        Ok(counts)
    }

    async fn backup_to(&self, _out: &Path) -> Result<()> {
        Err(Error::new(
            ErrorCode::InvalidRequest,
            "`latchkey backup` copies a SQLite database; back up PostgreSQL with \
             pg_dump (see docs/operations.md)",
        ))
    }
}
