//! Row shapes shared by both backends, and their conversion into the core's
//! records. The structs hold only portable column types (`String`, `i64`,
//! `bool`, bytes, JSON), so one `FromRow` derive serves PostgreSQL (sqlx) and
//! one `rusqlite_row!` line SQLite (rusqlite) and PostgreSQL JOINs;
//! enum columns are snake_case text, converted here and nowhere else. A value
//! the core doesn't know is a corrupt row: `internal`, never a panic.

use latchkey_core::clock::Timestamp;
use latchkey_core::ids::{InvitationId, OrgId, SessionId, UserId};
use latchkey_core::model::{
    Credential, Invitation, InvitationKind, Org, OrgSettings, PasskeyStatus, Role, Session,
    SigningKeyRecord, User, UserKind, UserStatus,
};
use latchkey_core::{Error, Result};
use sqlx::types::Json;

/// A column value read by position from a rusqlite row (the SQLite backend).
/// Implemented per column type rather than for every `FromSql` type, so
/// sqlx's `Json` (foreign to rusqlite) can join in: stored JSON is text,
/// exactly as sqlx encodes it.
pub(crate) trait Col: Sized {
    fn get(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self>;
}

macro_rules! col_from_sql {
    ($($t:ty),*) => {$(
        impl Col for $t {
            fn get(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
                row.get(index)
            }
        }
    )*};
}
col_from_sql!(
    String,
    Option<String>,
    i64,
    Option<i64>,
    bool,
    Vec<u8>,
    Option<Vec<u8>>
);

impl<T: serde::de::DeserializeOwned> Col for Json<T> {
    fn get(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
        let bytes = row.get_ref(index)?.as_bytes()?;
        serde_json::from_slice(bytes).map(Json).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(
                index,
                rusqlite::types::Type::Text,
                Box::new(e),
            )
        })
    }
}

/// `from_rusqlite`: reads a row struct whose fields are listed in the order
/// of its SELECT's columns (the column macros below), by position.
macro_rules! rusqlite_row {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        impl $ty {
            pub(crate) fn from_rusqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                let mut index = 0usize;
                $(
                    let $field = $crate::rows::Col::get(row, index)?;
                    index += 1;
                )*
                let _ = index;
                Ok($ty { $($field),* })
            }

            /// The same fields from a PostgreSQL row, by position from `at`:
            /// for a JOIN, whose two tables share column names.
            #[allow(dead_code)]
            pub(crate) fn from_pg_at(row: &sqlx::postgres::PgRow, at: usize) -> sqlx::Result<Self> {
                use sqlx::Row as _;
                let mut index = at;
                $(
                    let $field = row.try_get(index)?;
                    index += 1;
                )*
                let _ = index;
                Ok($ty { $($field),* })
            }
        }
    };
}

fn corrupt(column: &str, value: &str) -> Error {
    Error::internal(format!("stored {column} has unknown value {value:?}"))
}

pub(crate) fn passkey_status_str(s: PasskeyStatus) -> &'static str {
    match s {
        PasskeyStatus::Inactive => "inactive",
        PasskeyStatus::Active => "active",
    }
}

fn parse_passkey_status(s: &str) -> Result<PasskeyStatus> {
    match s {
        "inactive" => Ok(PasskeyStatus::Inactive),
        "active" => Ok(PasskeyStatus::Active),
        other => Err(corrupt("passkey_status", other)),
    }
}

pub(crate) fn user_status_str(s: UserStatus) -> &'static str {
    match s {
        UserStatus::Invited => "invited",
        UserStatus::Active => "active",
        UserStatus::Suspended => "suspended",
    }
}

fn parse_user_status(s: &str) -> Result<UserStatus> {
    match s {
        "invited" => Ok(UserStatus::Invited),
        "active" => Ok(UserStatus::Active),
        "suspended" => Ok(UserStatus::Suspended),
        other => Err(corrupt("status", other)),
    }
}

pub(crate) fn user_kind_str(k: UserKind) -> &'static str {
    match k {
        UserKind::Human => "human",
        UserKind::Api => "api",
    }
}

fn parse_user_kind(s: &str) -> Result<UserKind> {
    match s {
        "human" => Ok(UserKind::Human),
        "api" => Ok(UserKind::Api),
        other => Err(corrupt("kind", other)),
    }
}

pub(crate) fn invitation_kind_str(k: InvitationKind) -> &'static str {
    match k {
        InvitationKind::Enrolment => "enrolment",
        InvitationKind::Invitation => "invitation",
    }
}

fn parse_invitation_kind(s: &str) -> Result<InvitationKind> {
    match s {
        "enrolment" => Ok(InvitationKind::Enrolment),
        "invitation" => Ok(InvitationKind::Invitation),
        other => Err(corrupt("invitation kind", other)),
    }
}

/// `u32` sign counters are stored as 64-bit integers.
pub(crate) fn sign_count_from_db(v: i64) -> Result<u32> {
    u32::try_from(v).map_err(|_| corrupt("sign_count", &v.to_string()))
}

#[derive(sqlx::FromRow)]
pub(crate) struct OrgRow {
    id: String,
    name: String,
    passkey_status: String,
    settings: Json<OrgSettings>,
    created_at: i64,
}

impl TryFrom<OrgRow> for Org {
    type Error = Error;
    fn try_from(r: OrgRow) -> Result<Org> {
        Ok(Org {
            id: OrgId::from_stored(r.id),
            name: r.name,
            passkey_status: parse_passkey_status(&r.passkey_status)?,
            settings: r.settings.0,
            created_at: Timestamp(r.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: String,
    org_id: String,
    username: String,
    display_name: String,
    role: String,
    kind: String,
    status: String,
    user_handle: Vec<u8>,
    created_at: i64,
}

impl TryFrom<UserRow> for User {
    type Error = Error;
    fn try_from(r: UserRow) -> Result<User> {
        Ok(User {
            id: UserId::from_stored(r.id),
            org_id: OrgId::from_stored(r.org_id),
            username: r.username,
            display_name: r.display_name,
            role: Role::parse(&r.role).ok_or_else(|| corrupt("role", &r.role))?,
            kind: parse_user_kind(&r.kind)?,
            status: parse_user_status(&r.status)?,
            user_handle: r.user_handle,
            created_at: Timestamp(r.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct InvitationRow {
    id: String,
    org_id: String,
    user_id: String,
    kind: String,
    token_hash: Vec<u8>,
    created_by: Option<String>,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
}

impl TryFrom<InvitationRow> for Invitation {
    type Error = Error;
    fn try_from(r: InvitationRow) -> Result<Invitation> {
        Ok(Invitation {
            id: InvitationId::from_stored(r.id),
            org_id: OrgId::from_stored(r.org_id),
            user_id: UserId::from_stored(r.user_id),
            kind: parse_invitation_kind(&r.kind)?,
            token_hash: r.token_hash,
            created_by: r.created_by.map(UserId::from_stored),
            created_at: Timestamp(r.created_at),
            expires_at: Timestamp(r.expires_at),
            used_at: r.used_at.map(Timestamp),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CredentialRow {
    id: Vec<u8>,
    org_id: String,
    user_id: String,
    name: String,
    public_key_cose: Vec<u8>,
    alg: i64,
    sign_count: i64,
    aaguid: Vec<u8>,
    transports: Json<Vec<String>>,
    attestation_format: String,
    backup_eligible: bool,
    backup_state: bool,
    uv_initialized: bool,
    possibly_cloned: bool,
    created_at: i64,
    last_used_at: Option<i64>,
}

impl TryFrom<CredentialRow> for Credential {
    type Error = Error;
    fn try_from(r: CredentialRow) -> Result<Credential> {
        let aaguid: [u8; 16] = r
            .aaguid
            .as_slice()
            .try_into()
            .map_err(|_| corrupt("aaguid", &format!("{} bytes", r.aaguid.len())))?;
        Ok(Credential {
            id: r.id,
            org_id: OrgId::from_stored(r.org_id),
            user_id: UserId::from_stored(r.user_id),
            name: r.name,
            public_key_cose: r.public_key_cose,
            alg: r.alg,
            sign_count: sign_count_from_db(r.sign_count)?,
            aaguid,
            transports: r.transports.0,
            attestation_format: r.attestation_format,
            backup_eligible: r.backup_eligible,
            backup_state: r.backup_state,
            uv_initialized: r.uv_initialized,
            possibly_cloned: r.possibly_cloned,
            created_at: Timestamp(r.created_at),
            last_used_at: r.last_used_at.map(Timestamp),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    id: String,
    org_id: String,
    user_id: String,
    credential_id: Vec<u8>,
    created_at: i64,
    expires_at: i64,
    last_seen_at: i64,
    revoked_at: Option<i64>,
    user_agent: Option<String>,
}

impl TryFrom<SessionRow> for Session {
    type Error = Error;
    fn try_from(r: SessionRow) -> Result<Session> {
        Ok(Session {
            id: SessionId::from_stored(r.id),
            org_id: OrgId::from_stored(r.org_id),
            user_id: UserId::from_stored(r.user_id),
            credential_id: r.credential_id,
            created_at: Timestamp(r.created_at),
            expires_at: Timestamp(r.expires_at),
            last_seen_at: Timestamp(r.last_seen_at),
            revoked_at: r.revoked_at.map(Timestamp),
            user_agent: r.user_agent,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SigningKeyRow {
    kid: String,
    alg: String,
    private_key_encrypted: Vec<u8>,
    public_jwk: Json<serde_json::Value>,
    created_at: i64,
    retired_at: Option<i64>,
}

impl TryFrom<SigningKeyRow> for SigningKeyRecord {
    type Error = Error;
    fn try_from(r: SigningKeyRow) -> Result<SigningKeyRecord> {
        Ok(SigningKeyRecord {
            kid: r.kid,
            alg: r.alg,
            private_key_encrypted: r.private_key_encrypted,
            public_jwk: r.public_jwk.0,
            created_at: Timestamp(r.created_at),
            retired_at: r.retired_at.map(Timestamp),
        })
    }
}

rusqlite_row!(OrgRow {
    id,
    name,
    passkey_status,
    settings,
    created_at
});
rusqlite_row!(UserRow {
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
rusqlite_row!(InvitationRow {
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
rusqlite_row!(CredentialRow {
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
rusqlite_row!(SessionRow {
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
rusqlite_row!(SigningKeyRow {
    kid,
    alg,
    private_key_encrypted,
    public_jwk,
    created_at,
    retired_at
});

/// Converts fetched rows, failing on the first corrupt one.
pub(crate) fn convert_all<R, T>(rows: Vec<R>) -> Result<Vec<T>>
where
    T: TryFrom<R, Error = Error>,
{
    rows.into_iter().map(T::try_from).collect()
}

// Column lists, so every SELECT/RETURNING reads exactly what the row structs
// expect. Macros (not consts) so `concat!` can build `&'static str` queries.
macro_rules! org_columns {
    () => {
        "id, name, passkey_status, settings, created_at"
    };
}
macro_rules! user_columns {
    () => {
        "id, org_id, username, display_name, role, kind, status, user_handle, created_at"
    };
}
macro_rules! invitation_columns {
    () => {
        "id, org_id, user_id, kind, token_hash, created_by, created_at, expires_at, used_at"
    };
}
macro_rules! credential_columns {
    () => {
        "id, org_id, user_id, name, public_key_cose, alg, sign_count, aaguid, transports, \
         attestation_format, backup_eligible, backup_state, uv_initialized, possibly_cloned, \
         created_at, last_used_at"
    };
}
macro_rules! session_columns {
    () => {
        "id, org_id, user_id, credential_id, created_at, expires_at, last_seen_at, revoked_at, \
         user_agent"
    };
}
macro_rules! signing_key_columns {
    () => {
        "kid, alg, private_key_encrypted, public_jwk, created_at, retired_at"
    };
}

/// A column list with each column qualified by a table alias (`c.id, c.org_id,
/// …`), for a JOIN read back with `from_pg_at`.
pub(crate) fn qualified(alias: &str, columns: &str) -> String {
    let qualify = |column: &str| format!("{alias}.{}", column.trim());
    columns
        .split(',')
        .map(qualify)
        .collect::<Vec<_>>()
        .join(", ")
}

/// LIMIT for a page request: `per_page` capped at [`Page::MAX_PER_PAGE`].
pub(crate) fn page_limit(page: latchkey_core::model::Page) -> i64 {
    i64::from(page.per_page.min(latchkey_core::model::Page::MAX_PER_PAGE))
}
