//! Moving an installation between databases (SQLite to PostgreSQL, or a
//! database to a fresh one of the same kind) without losing a credential.
//!
//! [`export`] writes every table of a store as versioned JSON Lines: a header
//! line (`{"kind":"header","data":{"format":"latchkey-export","version":1,…}}`),
//! one line per row (`{"kind":"org","data":{…}}`), tables in foreign-key order
//! (signing keys, orgs, users, invitations, credentials, sessions, audit
//! events), and an end line with the row counts. It reads one consistent
//! snapshot, so it may run against a live server. Signing keys stay sealed
//! under the master key: the target installation needs the same key.
//! Spent ceremonies are not exported; they live for minutes.
//!
//! [`import`] loads such a file into an EMPTY store in one transaction,
//! refusing a non-empty store, an unknown format version, rows out of order,
//! a file without its end line or with different counts, an audit trail
//! whose hash chain doesn't verify, and a user handle twice in one org.
//! Nothing is written unless all of it is.

mod lines;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};

use async_trait::async_trait;
use futures::{Stream, TryStreamExt};
use latchkey_core::{Error, ErrorCode, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::chain::{field, stored_event_hash, StoredEvent};
use crate::Database;
pub(crate) use lines::{AuditLine, Line, Table, Val};
use lines::{
    CredentialLine, Header, InvitationLine, OrgLine, SessionLine, SigningKeyLine, UserLine,
};

/// The `format` of the header line.
pub const FORMAT: &str = "latchkey-export";
/// The version of the line format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Rows per INSERT: well under both databases' bound-parameter limits.
const BATCH: usize = 500;

/// How many rows of each table an export wrote or an import loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    pub signing_keys: u64,
    pub orgs: u64,
    pub users: u64,
    pub invitations: u64,
    pub credentials: u64,
    pub sessions: u64,
    pub audit_events: u64,
}

impl Counts {
    fn add(&mut self, table: Table) {
        let n = match table {
            Table::SigningKeys => &mut self.signing_keys,
            Table::Orgs => &mut self.orgs,
            Table::Users => &mut self.users,
            Table::Invitations => &mut self.invitations,
            Table::Credentials => &mut self.credentials,
            Table::Sessions => &mut self.sessions,
            Table::AuditEvents => &mut self.audit_events,
        };
        *n += 1;
    }
}

/// Writes every table of `db` to `out` (see the module docs).
pub async fn export(db: &dyn Database, out: &mut (dyn Write + Send)) -> Result<Counts> {
    db.export_to(out).await
}

/// Loads an export into `db`, which must be empty (see the module docs).
pub async fn import(db: &dyn Database, input: &mut (dyn BufRead + Send)) -> Result<Counts> {
    db.import_from(input).await
}

fn bad_file(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidRequest, message)
}

/// A row the database refused (a constraint): the operator needs the reason.
pub(crate) fn refused_row(table: Table, e: impl std::fmt::Display) -> Error {
    bad_file(format!(
        "the database refused a row of {}: {e}",
        table.name()
    ))
}

fn io_error(what: &str, e: std::io::Error) -> Error {
    Error::new(ErrorCode::Internal, format!("{what}: {e}"))
}

/// The export side: backends stream each table's rows through it.
pub(crate) struct Writer<'a> {
    out: &'a mut (dyn Write + Send),
    counts: Counts,
}

impl<'a> Writer<'a> {
    /// Writes the header line.
    pub fn start(out: &'a mut (dyn Write + Send), source: &str, schema: i64) -> Result<Self> {
        let mut writer = Writer {
            out,
            counts: Counts::default(),
        };
        writer.line(&Line::Header(Header {
            format: FORMAT.to_owned(),
            version: FORMAT_VERSION,
            source: source.to_owned(),
            schema,
        }))?;
        Ok(writer)
    }

    fn line(&mut self, line: &Line) -> Result<()> {
        serde_json::to_writer(&mut *self.out, line).map_err(Error::internal)?;
        self.out
            .write_all(b"\n")
            .map_err(|e| io_error("cannot write the export", e))
    }

    /// Writes one table's rows, read as `R` and wrapped into lines by `wrap`.
    pub async fn table<R, S>(
        &mut self,
        table: Table,
        mut rows: S,
        wrap: fn(R) -> Line,
    ) -> Result<()>
    where
        S: Stream<Item = std::result::Result<R, sqlx::Error>> + Unpin,
    {
        while let Some(row) = rows.try_next().await.map_err(Error::internal)? {
            self.line(&wrap(row))?;
            self.counts.add(table);
        }
        Ok(())
    }

    /// Writes one row's line (for backends that read rows without a stream).
    pub fn row(&mut self, table: Table, line: &Line) -> Result<()> {
        self.line(line)?;
        self.counts.add(table);
        Ok(())
    }

    /// Writes the end line and flushes.
    pub fn finish(mut self) -> Result<Counts> {
        let counts = self.counts;
        self.line(&Line::End(counts))?;
        self.out
            .flush()
            .map_err(|e| io_error("cannot write the export", e))?;
        Ok(counts)
    }
}

/// The wrappers [`Writer::table`] takes, one per table.
pub(crate) mod wrap {
    use super::*;

    pub fn signing_key(r: SigningKeyLine) -> Line {
        Line::SigningKey(r)
    }
    pub fn org(r: OrgLine) -> Line {
        Line::Org(r)
    }
    pub fn user(r: UserLine) -> Line {
        Line::User(r)
    }
    pub fn invitation(r: InvitationLine) -> Line {
        Line::Invitation(r)
    }
    pub fn credential(r: CredentialLine) -> Line {
        Line::Credential(r)
    }
    pub fn session(r: SessionLine) -> Line {
        Line::Session(r)
    }
    pub fn audit_event(r: AuditLine) -> Line {
        Line::AuditEvent(r)
    }
}

/// Where an import writes: a backend's open write transaction.
#[async_trait]
pub(crate) trait Sink: Send {
    /// Whether every exported table is empty.
    async fn is_empty(&mut self) -> Result<bool>;
    /// Inserts rows of one table, values in [`Table::columns`] order.
    async fn insert(&mut self, table: Table, rows: Vec<Vec<Val>>) -> Result<()>;
}

/// Reads an export line by line into `sink`, checking everything the module
/// docs promise. The caller commits only when this returns `Ok`.
pub(crate) async fn import_lines(
    input: &mut (dyn BufRead + Send),
    sink: &mut dyn Sink,
) -> Result<Counts> {
    if !sink.is_empty().await? {
        return Err(Error::new(
            ErrorCode::InvalidRequest,
            "the target database is not empty: import only into a freshly created database",
        ));
    }
    let mut reader = LineReader { input, number: 0 };
    let first = reader
        .next()
        .map_err(|e| bad_file(format!("not a Latchkey export: {}", e.message)))?;
    check_header(first)?;
    let mut counts = Counts::default();
    let mut chains = Chains::default();
    let mut handles = Handles::default();
    let mut batch: Vec<Vec<Val>> = Vec::new();
    let mut current = Table::SigningKeys;
    loop {
        let line = reader.next()?.ok_or_else(|| {
            bad_file("the file ends without its end line: it is truncated or not an export")
        })?;
        let Some(table) = line.table() else {
            flush(sink, current, &mut batch).await?;
            return finish(&mut reader, line, counts, &chains);
        };
        if table < current {
            return Err(bad_file(format!(
                "line {}: {} rows must come before {} rows",
                reader.number,
                current.name(),
                table.name()
            )));
        }
        if table != current {
            flush(sink, current, &mut batch).await?;
            current = table;
        }
        chains
            .observe(&line)
            .and_then(|()| handles.observe(&line))
            .map_err(|e| at_line(reader.number, e))?;
        counts.add(table);
        batch.push(line.into_values());
        if batch.len() >= BATCH {
            flush(sink, current, &mut batch).await?;
        }
    }
}

fn at_line(number: usize, e: Error) -> Error {
    bad_file(format!("line {number}: {}", e.message))
}

fn check_header(first: Option<Line>) -> Result<()> {
    match first {
        Some(Line::Header(h)) if h.format == FORMAT && h.version == FORMAT_VERSION => Ok(()),
        Some(Line::Header(h)) if h.format == FORMAT => Err(bad_file(format!(
            "this export has format version {}; this build reads version {FORMAT_VERSION}",
            h.version
        ))),
        _ => Err(bad_file(
            "not a Latchkey export: the first line is not its header",
        )),
    }
}

async fn flush(sink: &mut dyn Sink, table: Table, batch: &mut Vec<Vec<Val>>) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    sink.insert(table, std::mem::take(batch)).await
}

/// After the end line: the counts must match, nothing may follow, and every
/// org's chain head must be the last event read.
fn finish(
    reader: &mut LineReader<'_>,
    end: Line,
    counts: Counts,
    chains: &Chains,
) -> Result<Counts> {
    let Line::End(expected) = end else {
        return Err(bad_file(format!(
            "line {}: a second header line",
            reader.number
        )));
    };
    if expected != counts {
        return Err(bad_file(format!(
            "the end line counts {expected:?} but the file holds {counts:?}"
        )));
    }
    if reader.next()?.is_some() {
        return Err(bad_file(format!(
            "line {}: data after the end line",
            reader.number
        )));
    }
    chains.check_heads()?;
    Ok(counts)
}

struct LineReader<'a> {
    input: &'a mut (dyn BufRead + Send),
    number: usize,
}

impl LineReader<'_> {
    /// The next non-blank line, parsed; `None` at the end of the input.
    fn next(&mut self) -> Result<Option<Line>> {
        let mut text = String::new();
        loop {
            text.clear();
            let read = self
                .input
                .read_line(&mut text)
                .map_err(|e| io_error("cannot read the export", e))?;
            if read == 0 {
                return Ok(None);
            }
            self.number += 1;
            if !text.trim().is_empty() {
                break;
            }
        }
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| bad_file(format!("line {}: {e}", self.number)))
    }
}

/// Each user handle once per org. The databases don't index handles (the
/// core makes them of 16 random bytes and looks nobody up by one), so a file
/// repeating one is refused here: two users with one handle would share
/// their passkeys' slot in every authenticator. Each (org, handle) is kept
/// as its SHA-256: about 40 MiB for a million users.
#[derive(Default)]
struct Handles(HashSet<[u8; 32]>);

impl Handles {
    fn observe(&mut self, line: &Line) -> Result<()> {
        let Line::User(u) = line else {
            return Ok(());
        };
        let mut key = Sha256::new();
        field(&mut key, u.org_id.as_bytes());
        field(&mut key, &u.user_handle);
        if self.0.insert(key.finalize().into()) {
            Ok(())
        } else {
            Err(bad_file(format!(
                "user {} has the user handle of another user of org {}",
                u.id, u.org_id
            )))
        }
    }
}

/// Verifies each org's audit hash chain as its events stream past: sequence
/// numbers 1, 2, 3 …, each `prev_hash` the previous `hash`, each `hash`
/// recomputed; and at the end, each org's stored head is its last event.
#[derive(Default)]
struct Chains {
    /// Per org: the head the org row claims, and the last event seen.
    orgs: HashMap<String, (i64, Option<Vec<u8>>)>,
    seen: HashMap<String, (i64, Vec<u8>)>,
}

impl Chains {
    fn observe(&mut self, line: &Line) -> Result<()> {
        match line {
            Line::Org(o) => {
                self.orgs
                    .insert(o.id.clone(), (o.audit_seq, o.audit_head.clone()));
                Ok(())
            }
            Line::AuditEvent(a) => self.event(a),
            _ => Ok(()),
        }
    }

    fn event(&mut self, a: &AuditLine) -> Result<()> {
        let (last_seq, last_hash) = match self.seen.get(&a.org_id) {
            Some((seq, hash)) => (*seq, Some(hash.as_slice())),
            None => (0, None),
        };
        if a.seq != last_seq + 1 || a.prev_hash.as_deref() != last_hash {
            return Err(bad_file(format!(
                "audit event {} of org {} does not follow event {last_seq}",
                a.seq, a.org_id
            )));
        }
        let event = StoredEvent {
            org_id: &a.org_id,
            at: a.at,
            kind: &a.kind,
            actor: a.actor.as_deref(),
            subject: &a.subject,
            data: &a.data.0,
        };
        if stored_event_hash(last_hash, a.seq, &event) != a.hash {
            return Err(bad_file(format!(
                "audit event {} of org {} does not match its hash: the trail was altered",
                a.seq, a.org_id
            )));
        }
        self.seen.insert(a.org_id.clone(), (a.seq, a.hash.clone()));
        Ok(())
    }

    fn check_heads(&self) -> Result<()> {
        for (org, (seq, head)) in &self.orgs {
            let seen = self.seen.get(org);
            let last_seq = seen.map_or(0, |(s, _)| *s);
            let last_hash = seen.map(|(_, h)| h);
            if *seq != last_seq || head.as_ref() != last_hash {
                return Err(bad_file(format!(
                    "org {org} records audit event {seq} as its last, but the file ends its trail at {last_seq}"
                )));
            }
        }
        match self.seen.keys().find(|org| !self.orgs.contains_key(*org)) {
            Some(org) => Err(bad_file(format!("audit events of an unknown org {org}"))),
            None => Ok(()),
        }
    }
}
