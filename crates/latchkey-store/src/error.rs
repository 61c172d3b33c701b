//! sqlx and rusqlite errors into the core's one error. Unique violations a caller can
//! cause become their domain code (`username_taken`,
//! `credential_already_registered`, …); everything else is `internal`, its
//! detail logged by `Error::internal` and never returned.

use latchkey_core::{Error, ErrorCode, Result};

/// `.db()` turns any sqlx failure into `internal`.
pub(crate) trait DbResultExt<T> {
    fn db(self) -> Result<T>;
}

impl<T> DbResultExt<T> for std::result::Result<T, sqlx::Error> {
    fn db(self) -> Result<T> {
        self.map_err(Error::internal)
    }
}

impl<T> DbResultExt<T> for std::result::Result<T, rusqlite::Error> {
    fn db(self) -> Result<T> {
        self.map_err(Error::internal)
    }
}

/// A driver error that may be a unique violation: PostgreSQL (sqlx) and
/// SQLite (rusqlite) share the domain mapping below.
pub(crate) trait UniqueViolation: std::fmt::Display {
    /// Which constraint a unique violation names: PostgreSQL reports the
    /// constraint (`users_org_username_key`), SQLite only a message naming the
    /// columns (`UNIQUE constraint failed: users.org_id, users.username`).
    fn unique_violation(&self) -> Option<String>;
}

impl UniqueViolation for sqlx::Error {
    fn unique_violation(&self) -> Option<String> {
        match self {
            sqlx::Error::Database(db) if db.is_unique_violation() => Some(
                db.constraint()
                    .map_or_else(|| db.message().to_owned(), str::to_owned),
            ),
            _ => None,
        }
    }
}

impl UniqueViolation for rusqlite::Error {
    fn unique_violation(&self) -> Option<String> {
        use rusqlite::ffi::{SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE};
        match self {
            // The same two extended codes sqlx treats as unique violations.
            rusqlite::Error::SqliteFailure(e, message)
                if e.extended_code == SQLITE_CONSTRAINT_UNIQUE
                    || e.extended_code == SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                Some(message.clone().unwrap_or_default())
            }
            _ => None,
        }
    }
}

/// Maps a unique violation whose constraint text contains `needle` to `code`;
/// any other failure is `internal`.
pub(crate) fn on_unique<E: UniqueViolation>(
    e: E,
    needle: &str,
    code: ErrorCode,
    message: &str,
) -> Error {
    match e.unique_violation() {
        Some(which) if which.contains(needle) => Error::new(code, message),
        _ => Error::internal(e),
    }
}

pub(crate) fn username_taken<E: UniqueViolation>(e: E) -> Error {
    on_unique(
        e,
        "username",
        ErrorCode::UsernameTaken,
        "that username is already taken in this organization",
    )
}

pub(crate) fn credential_taken<E: UniqueViolation>(e: E) -> Error {
    on_unique(
        e,
        "credentials",
        ErrorCode::CredentialAlreadyRegistered,
        "this passkey is already registered",
    )
}

pub(crate) fn not_found(code: ErrorCode, what: &str) -> Error {
    Error::new(code, format!("{what} not found"))
}

/// Why a conditional invitation consume matched nothing, from a read of its
/// `used_at`: no row (unknown here), used, or (unused, so) expired.
pub(crate) fn invitation_refusal(used_at: Option<Option<i64>>) -> Error {
    match used_at {
        None => Error::new(ErrorCode::InvitationInvalid, "invitation not found"),
        Some(Some(_)) => Error::new(
            ErrorCode::InvitationAlreadyUsed,
            "this invitation has already been used",
        ),
        Some(None) => Error::new(ErrorCode::InvitationExpired, "this invitation has expired"),
    }
}

/// The refusal for a ceremony that was spent before.
pub(crate) fn ceremony_already_used() -> Error {
    Error::new(
        ErrorCode::CeremonyAlreadyUsed,
        "this ceremony has already been used",
    )
}
