//! The lines of an export file: one struct per table holding every column
//! exactly as stored (ids, the audit chain's sequence numbers and hashes, the
//! orgs' chain heads, encrypted key material), so an import recreates the
//! rows bit for bit. Byte columns are base64url text; timestamps are the
//! stored unix milliseconds. The structs read from PostgreSQL with one
//! `FromRow` derive, from SQLite with `rusqlite_row!` (by column position),
//! and write back through [`Val`], so the backends share everything but the
//! reading and the placeholder syntax.

use serde::{Deserialize, Serialize};
use sqlx::types::Json;

use super::Counts;

/// A column value to bind, typed even when NULL (PostgreSQL needs the type).
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    Bool(bool),
    Bytes(Vec<u8>),
    OptBytes(Option<Vec<u8>>),
    Json(serde_json::Value),
}

/// The file's first line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Header {
    pub format: String,
    pub version: u32,
    /// The backend exported from, for the operator's information.
    pub source: String,
    /// The newest migration the source had applied.
    pub schema: i64,
}

/// One line of the file. The tables appear in this order (parents before
/// children), each sorted by primary key, between a header and an end line.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub(crate) enum Line {
    Header(Header),
    SigningKey(SigningKeyLine),
    Org(OrgLine),
    User(UserLine),
    Invitation(InvitationLine),
    Credential(CredentialLine),
    Session(SessionLine),
    AuditEvent(AuditLine),
    /// The last line: how many rows of each table precede it, so a truncated
    /// file is refused rather than half imported.
    End(Counts),
}

mod b64 {
    use latchkey_core::webauthn::json::{b64url_decode, b64url_encode};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&b64url_encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        b64url_decode("a byte column", &text).map_err(serde::de::Error::custom)
    }
}

mod b64_opt {
    use latchkey_core::webauthn::json::{b64url_decode, b64url_encode};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(bytes) => s.serialize_some(&b64url_encode(bytes)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| b64url_decode("a byte column", &text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
#[serde(deny_unknown_fields)]
pub(crate) struct SigningKeyLine {
    pub kid: String,
    pub alg: String,
    /// Still sealed under the master key: the target needs the same key.
    #[serde(with = "b64")]
    pub private_key_encrypted: Vec<u8>,
    pub public_jwk: Json<serde_json::Value>,
    pub created_at: i64,
    pub retired_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrgLine {
    pub id: String,
    pub name: String,
    pub passkey_status: String,
    pub settings: Json<serde_json::Value>,
    pub created_at: i64,
    pub audit_seq: i64,
    #[serde(with = "b64_opt")]
    pub audit_head: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserLine {
    pub id: String,
    pub org_id: String,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub kind: String,
    pub status: String,
    #[serde(with = "b64")]
    pub user_handle: Vec<u8>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
#[serde(deny_unknown_fields)]
pub(crate) struct InvitationLine {
    pub id: String,
    pub org_id: String,
    pub user_id: String,
    pub kind: String,
    #[serde(with = "b64")]
    pub token_hash: Vec<u8>,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
#[serde(deny_unknown_fields)]
pub(crate) struct CredentialLine {
    #[serde(with = "b64")]
    pub id: Vec<u8>,
    pub org_id: String,
    pub user_id: String,
    pub name: String,
    #[serde(with = "b64")]
    pub public_key_cose: Vec<u8>,
    pub alg: i64,
    pub sign_count: i64,
    #[serde(with = "b64")]
    pub aaguid: Vec<u8>,
    pub transports: Json<serde_json::Value>,
    pub attestation_format: String,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub uv_initialized: bool,
    pub possibly_cloned: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
#[serde(deny_unknown_fields)]
pub(crate) struct SessionLine {
    pub id: String,
    pub org_id: String,
    pub user_id: String,
    #[serde(with = "b64")]
    pub credential_id: Vec<u8>,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_seen_at: i64,
    pub revoked_at: Option<i64>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditLine {
    pub id: String,
    pub org_id: String,
    pub seq: i64,
    pub at: i64,
    pub kind: String,
    pub actor: Option<String>,
    pub subject: String,
    pub data: Json<serde_json::Value>,
    #[serde(with = "b64_opt")]
    pub prev_hash: Option<Vec<u8>>,
    #[serde(with = "b64")]
    pub hash: Vec<u8>,
}

// The SQLite backend reads lines with rusqlite, by position in `select`.
rusqlite_row!(SigningKeyLine {
    kid,
    alg,
    private_key_encrypted,
    public_jwk,
    created_at,
    retired_at
});
rusqlite_row!(OrgLine {
    id,
    name,
    passkey_status,
    settings,
    created_at,
    audit_seq,
    audit_head
});
rusqlite_row!(UserLine {
    id,
    org_id,
    username,
    display_name,
    role,
    kind,
    status,
    user_handle,
    created_at
});
rusqlite_row!(InvitationLine {
    id,
    org_id,
    user_id,
    kind,
    token_hash,
    created_by,
    created_at,
    expires_at,
    used_at
});
rusqlite_row!(CredentialLine {
    id,
    org_id,
    user_id,
    name,
    public_key_cose,
    alg,
    sign_count,
    aaguid,
    transports,
    attestation_format,
    backup_eligible,
    backup_state,
    uv_initialized,
    possibly_cloned,
    created_at,
    last_used_at
});
rusqlite_row!(SessionLine {
    id,
    org_id,
    user_id,
    credential_id,
    created_at,
    expires_at,
    last_seen_at,
    revoked_at,
    user_agent
});
rusqlite_row!(AuditLine {
    id,
    org_id,
    seq,
    at,
    kind,
    actor,
    subject,
    data,
    prev_hash,
    hash
});

/// A table of the export: its place in the file, its SQL and its columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Table {
    SigningKeys,
    Orgs,
    Users,
    Invitations,
    Credentials,
    Sessions,
    AuditEvents,
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::SigningKeys => "signing_keys",
            Table::Orgs => "orgs",
            Table::Users => "users",
            Table::Invitations => "invitations",
            Table::Credentials => "credentials",
            Table::Sessions => "sessions",
            Table::AuditEvents => "audit_events",
        }
    }

    /// The columns, in the order [`Line::values`] gives them.
    pub fn columns(self) -> &'static str {
        match self {
            Table::SigningKeys => signing_key_columns!(),
            Table::Orgs => "id, name, passkey_status, settings, created_at, audit_seq, audit_head",
            Table::Users => user_columns!(),
            Table::Invitations => invitation_columns!(),
            Table::Credentials => credential_columns!(),
            Table::Sessions => session_columns!(),
            Table::AuditEvents => {
                "id, org_id, seq, at, kind, actor, subject, data, prev_hash, hash"
            }
        }
    }

    /// Every row, by primary key (audit events by org and sequence).
    pub fn select(self) -> &'static str {
        match self {
            Table::SigningKeys => concat!(
                "SELECT ",
                signing_key_columns!(),
                " FROM signing_keys ORDER BY kid"
            ),
            Table::Orgs => {
                "SELECT id, name, passkey_status, settings, created_at, audit_seq, audit_head \
                 FROM orgs ORDER BY id"
            }
            Table::Users => concat!("SELECT ", user_columns!(), " FROM users ORDER BY id"),
            Table::Invitations => concat!(
                "SELECT ",
                invitation_columns!(),
                " FROM invitations ORDER BY id"
            ),
            Table::Credentials => concat!(
                "SELECT ",
                credential_columns!(),
                " FROM credentials ORDER BY id"
            ),
            Table::Sessions => concat!("SELECT ", session_columns!(), " FROM sessions ORDER BY id"),
            Table::AuditEvents => {
                "SELECT id, org_id, seq, at, kind, actor, subject, data, prev_hash, hash \
                 FROM audit_events ORDER BY org_id, seq"
            }
        }
    }
}

impl Table {
    /// One row of [`Table::select`] read with rusqlite, as its line.
    pub fn line_from_rusqlite(self, row: &rusqlite::Row<'_>) -> rusqlite::Result<Line> {
        Ok(match self {
            Table::SigningKeys => Line::SigningKey(SigningKeyLine::from_rusqlite(row)?),
            Table::Orgs => Line::Org(OrgLine::from_rusqlite(row)?),
            Table::Users => Line::User(UserLine::from_rusqlite(row)?),
            Table::Invitations => Line::Invitation(InvitationLine::from_rusqlite(row)?),
            Table::Credentials => Line::Credential(CredentialLine::from_rusqlite(row)?),
            Table::Sessions => Line::Session(SessionLine::from_rusqlite(row)?),
            Table::AuditEvents => Line::AuditEvent(AuditLine::from_rusqlite(row)?),
        })
    }
}

impl Line {
    /// The table a row line belongs to; `None` for the header and end lines.
    pub fn table(&self) -> Option<Table> {
        Some(match self {
            Line::Header(_) | Line::End(_) => return None,
            Line::SigningKey(_) => Table::SigningKeys,
            Line::Org(_) => Table::Orgs,
            Line::User(_) => Table::Users,
            Line::Invitation(_) => Table::Invitations,
            Line::Credential(_) => Table::Credentials,
            Line::Session(_) => Table::Sessions,
            Line::AuditEvent(_) => Table::AuditEvents,
        })
    }

    /// The row's values in [`Table::columns`] order.
    pub fn into_values(self) -> Vec<Val> {
        use Val::*;
        match self {
            Line::Header(_) | Line::End(_) => Vec::new(),
            Line::SigningKey(k) => vec![
                Text(k.kid),
                Text(k.alg),
                Bytes(k.private_key_encrypted),
                Json(k.public_jwk.0),
                Int(k.created_at),
                OptInt(k.retired_at),
            ],
            Line::Org(o) => vec![
                Text(o.id),
                Text(o.name),
                Text(o.passkey_status),
                Json(o.settings.0),
                Int(o.created_at),
                Int(o.audit_seq),
                OptBytes(o.audit_head),
            ],
            Line::User(u) => vec![
                Text(u.id),
                Text(u.org_id),
                Text(u.username),
                Text(u.display_name),
                Text(u.role),
                Text(u.kind),
                Text(u.status),
                Bytes(u.user_handle),
                Int(u.created_at),
            ],
            Line::Invitation(i) => vec![
                Text(i.id),
                Text(i.org_id),
                Text(i.user_id),
                Text(i.kind),
                Bytes(i.token_hash),
                OptText(i.created_by),
                Int(i.created_at),
                Int(i.expires_at),
                OptInt(i.used_at),
            ],
            Line::Credential(c) => vec![
                Bytes(c.id),
                Text(c.org_id),
                Text(c.user_id),
                Text(c.name),
                Bytes(c.public_key_cose),
                Int(c.alg),
                Int(c.sign_count),
                Bytes(c.aaguid),
                Json(c.transports.0),
                Text(c.attestation_format),
                Bool(c.backup_eligible),
                Bool(c.backup_state),
                Bool(c.uv_initialized),
                Bool(c.possibly_cloned),
                Int(c.created_at),
                OptInt(c.last_used_at),
            ],
            Line::Session(s) => vec![
                Text(s.id),
                Text(s.org_id),
                Text(s.user_id),
                Bytes(s.credential_id),
                Int(s.created_at),
                Int(s.expires_at),
                Int(s.last_seen_at),
                OptInt(s.revoked_at),
                OptText(s.user_agent),
            ],
            Line::AuditEvent(a) => vec![
                Text(a.id),
                Text(a.org_id),
                Int(a.seq),
                Int(a.at),
                Text(a.kind),
                OptText(a.actor),
                Text(a.subject),
                Json(a.data.0),
                OptBytes(a.prev_hash),
                Bytes(a.hash),
            ],
        }
    }
}
