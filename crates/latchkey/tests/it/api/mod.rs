//! In-process API tests: every route, happy and failing paths, with a
//! software authenticator making real signatures.

mod authentication;
mod credentials;
mod input;
mod registration;
mod sessions;
mod stale;
pub mod support;
