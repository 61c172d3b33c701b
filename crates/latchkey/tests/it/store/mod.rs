//! Storage tests: the store traits on SQLite and PostgreSQL, every test on
//! both (see [`support`]). They prove the rules `latchkey_core::store` states:
//! tenant isolation, single use under concurrency, one transaction per
//! change with its audit events.

pub mod records;
pub mod support;

mod ceremonies;
mod completion;
mod credentials;
mod lifecycle;
mod migrations;
mod orgs_users;
mod sessions_keys;
mod transfer;
