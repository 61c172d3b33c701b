//! Export, import and online backup on SQLite. The export reads inside one
//! `BEGIN IMMEDIATE` transaction on the writer (a consistent snapshot no
//! write can change), streaming rows to the async side through a bounded
//! channel; the import runs in one `BEGIN IMMEDIATE` transaction that spans
//! the import's batches, holding the writer throughout.

use std::io::{BufRead, Write};
use std::path::Path;

use async_trait::async_trait;
use latchkey_core::{Error, ErrorCode, Result};
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, TransactionBehavior};
use tokio::sync::{mpsc, OwnedMutexGuard};

use super::{count, SqliteStore, MIGRATOR};
use crate::error::DbResultExt;
use crate::transfer::{self, refused_row, Counts, Line, Sink, Table, Val, Writer};
use crate::Database;

/// Tables in export order (parents first).
const TABLES: [Table; 7] = [
    Table::SigningKeys,
    Table::Orgs,
    Table::Users,
    Table::Invitations,
    Table::Credentials,
    Table::Sessions,
    Table::AuditEvents,
];

/// Rows in flight between the reading thread and the writing task.
const IN_FLIGHT: usize = 256;

fn value(v: Val) -> Value {
    match v {
        Val::Text(v) => Value::Text(v),
        Val::OptText(v) => v.map_or(Value::Null, Value::Text),
        Val::Int(v) => Value::Integer(v),
        Val::OptInt(v) => v.map_or(Value::Null, Value::Integer),
        Val::Bool(v) => Value::Integer(i64::from(v)),
        Val::Bytes(v) => Value::Blob(v),
        Val::OptBytes(v) => v.map_or(Value::Null, Value::Blob),
        // Compact text, as sqlx's `Json` stored it.
        Val::Json(v) => Value::Text(v.to_string()),
    }
}

/// The import's write transaction: the writer's guard, moved into each
/// blocking call and back out, so the transaction spans the whole import.
struct SqliteSink {
    conn: Option<OwnedMutexGuard<Connection>>,
}

impl SqliteSink {
    async fn run<T, F>(&mut self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let conn = self
            .conn
            .take()
            .ok_or_else(|| Error::internal("the import's connection was lost"))?;
        let (conn, out) = tokio::task::spawn_blocking(move || {
            let out = f(&conn);
            (conn, out)
        })
        .await
        .map_err(Error::internal)?;
        self.conn = Some(conn);
        out
    }
}

#[async_trait]
impl Sink for SqliteSink {
    async fn is_empty(&mut self) -> Result<bool> {
        let rows = self
            .run(|conn| {
                count(
                    conn,
                    "SELECT (SELECT COUNT(*) FROM signing_keys) + (SELECT COUNT(*) FROM orgs) \
                     + (SELECT COUNT(*) FROM users)",
                    [],
                )
            })
            .await?;
        // Every other exported table references orgs or users, so these three decide.
        Ok(rows == 0)
    }

    async fn insert(&mut self, table: Table, rows: Vec<Vec<Val>>) -> Result<()> {
        self.run(move |conn| {
            let columns = table.columns().split(',').count();
            let sql = format!(
                "INSERT INTO {} ({}) VALUES ({})",
                table.name(),
                table.columns(),
                vec!["?"; columns].join(", ")
            );
            let mut stmt = conn.prepare_cached(&sql).db()?;
            for row in rows {
                stmt.execute(params_from_iter(row.into_iter().map(value)))
                    .map_err(|e| refused_row(table, e))?;
            }
            Ok(())
        })
        .await
    }
}

fn latest_schema() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or_default()
}

/// Reads every table in one transaction, sending each row's line.
fn read_all(conn: &mut Connection, send: &mpsc::Sender<(Table, Line)>) -> Result<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .db()?;
    for table in TABLES {
        let mut stmt = tx.prepare(table.select()).db()?;
        let mut rows = stmt.query([]).db()?;
        while let Some(row) = rows.next().db()? {
            let line = table.line_from_rusqlite(row).db()?;
            // Fails only when the writing side stopped; it reports why.
            if send.blocking_send((table, line)).is_err() {
                return Ok(());
            }
        }
    }
    // Dropping `tx` rolls back: the export changed nothing.
    Ok(())
}

#[async_trait]
impl Database for SqliteStore {
    async fn export_to(&self, out: &mut (dyn Write + Send)) -> Result<Counts> {
        let mut w = Writer::start(out, "sqlite", latest_schema())?;
        let (send, mut recv) = mpsc::channel::<(Table, Line)>(IN_FLIGHT);
        let reading = self.conns.exclusive(move |conn| read_all(conn, &send));
        let writing = async {
            while let Some((table, line)) = recv.recv().await {
                w.row(table, &line)?;
            }
            Ok::<_, Error>(())
        };
        let (read, written) = tokio::join!(reading, writing);
        written?;
        read?;
        w.finish()
    }

    async fn import_from(&self, input: &mut (dyn BufRead + Send)) -> Result<Counts> {
        let mut sink = SqliteSink {
            conn: Some(self.conns.lock_writer().await),
        };
        sink.run(|conn| conn.execute_batch("BEGIN IMMEDIATE").db())
            .await?;
        let counts = match transfer::import_lines(input, &mut sink).await {
            Ok(counts) => counts,
            Err(e) => {
                sink.run(|conn| conn.execute_batch("ROLLBACK").db()).await?;
                return Err(e);
            }
        };
        // A failed COMMIT leaves the transaction open; the writer rolls it
        // back before its next use.
        sink.run(|conn| conn.execute_batch("COMMIT").db()).await?;
        Ok(counts)
    }

    async fn backup_to(&self, out: &Path) -> Result<()> {
        if out.exists() {
            return Err(Error::new(
                ErrorCode::InvalidRequest,
                format!("{} exists; back up to a new file", out.display()),
            ));
        }
        let path = out
            .to_str()
            .ok_or_else(|| Error::new(ErrorCode::InvalidRequest, "the backup path must be UTF-8"))?
            .to_owned();
        // VACUUM INTO writes a consistent, compacted copy from a read
        // snapshot: writers carry on, and the copy is a plain database file.
        self.conns
            .snapshot(move |conn| {
                conn.execute("VACUUM INTO ?", [&path]).map_err(|e| {
                    Error::new(
                        ErrorCode::Internal,
                        format!("cannot back up to {path}: {e}"),
                    )
                })?;
                Ok(())
            })
            .await
    }
}
