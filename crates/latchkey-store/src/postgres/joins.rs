//! The reads of a sign-in, each one statement (a JOIN) instead of two: the
//! start's user with their passkeys, the completion's passkey with its owner
//! (when its ceremony didn't seal it), and the commit's recheck of a whole
//! batch's passkeys with their owners. On PostgreSQL every statement is a
//! round trip and a wake-up of a backend, and a sign-in's reads were four of
//! its statements.

use std::collections::HashMap;
use std::sync::LazyLock;

use latchkey_core::ids::OrgId;
use latchkey_core::model::{Credential, Page, User};
use latchkey_core::Result;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};

use crate::error::DbResultExt;
use crate::rows::{qualified, CredentialRow, UserRow};

/// Where the credential's columns start in a joined row: after the user's,
/// counted once from the same list the SELECT names.
static CREDENTIALS_AT: LazyLock<usize> = LazyLock::new(|| user_columns!().split(',').count());

static WITH_CREDENTIALS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {}, {} FROM users u LEFT JOIN credentials c \
         ON c.org_id = u.org_id AND c.user_id = u.id WHERE u.org_id = $1 AND u.username = $2 \
         ORDER BY c.created_at DESC, c.id DESC LIMIT $3",
        qualified("u", user_columns!()),
        qualified("c", credential_columns!()),
    )
});

static SUBJECTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {}, {} FROM credentials c JOIN users u \
         ON u.org_id = c.org_id AND u.id = c.user_id WHERE c.id = ANY($1::bytea[])",
        qualified("u", user_columns!()),
        qualified("c", credential_columns!()),
    )
});

/// The passkeys of these ids with their owners, in one statement, by
/// (org, id): a caller looking one up by its own org finds no other org's.
/// By id alone, the primary key: the (org, id) pairs of an `unnest` were
/// planned as a scan of the whole table while it had no statistics yet.
pub(super) async fn subjects_in(
    conn: &mut PgConnection,
    ids: &[&[u8]],
) -> Result<HashMap<(String, Vec<u8>), (Credential, User)>> {
    let rows = sqlx::query(SUBJECTS.as_str())
        .bind(ids)
        .fetch_all(conn)
        .await
        .db()?;
    rows.iter()
        .map(|row| {
            let (credential, user) = (credential_at(row)?, user_at(row)?);
            let key = (credential.org_id.to_string(), credential.id.clone());
            Ok((key, (credential, user)))
        })
        .collect()
}

/// The user of that name with their passkeys, newest first (as many as a
/// page holds), or `None`.
pub(super) async fn user_with_credentials(
    pool: &PgPool,
    org: &OrgId,
    username: &str,
) -> Result<Option<(User, Vec<Credential>)>> {
    let rows = sqlx::query(WITH_CREDENTIALS.as_str())
        .bind(org.as_str())
        .bind(username)
        .bind(i64::from(Page::MAX_PER_PAGE))
        .fetch_all(pool)
        .await
        .db()?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let user = user_at(first)?;
    // A user without passkeys is one row of NULL credential columns.
    let no_credentials = first
        .try_get::<Option<Vec<u8>>, _>(*CREDENTIALS_AT)
        .db()?
        .is_none();
    let credentials = if no_credentials {
        Vec::new()
    } else {
        rows.iter().map(credential_at).collect::<Result<_>>()?
    };
    Ok(Some((user, credentials)))
}

/// The passkey with its owner, or `None` when either is missing.
pub(super) async fn assertion_subject(
    pool: &PgPool,
    org: &OrgId,
    credential_id: &[u8],
) -> Result<Option<(Credential, User)>> {
    let mut conn = pool.acquire().await.db()?;
    let mut found = subjects_in(&mut conn, &[credential_id]).await?;
    Ok(found.remove(&(org.to_string(), credential_id.to_vec())))
}

fn user_at(row: &PgRow) -> Result<User> {
    User::try_from(UserRow::from_pg_at(row, 0).db()?)
}

fn credential_at(row: &PgRow) -> Result<Credential> {
    Credential::try_from(CredentialRow::from_pg_at(row, *CREDENTIALS_AT).db()?)
}
