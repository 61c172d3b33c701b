//! Test and load-generation support for Latchkey.
//!
//! The centrepiece is [`SoftAuthenticator`], a software WebAuthn
//! authenticator *and* client: it takes the options JSON the server issues
//! and returns the WebAuthn Level 3 response JSON a browser would post back,
//! with real ES256 / EdDSA signatures, so the server's verifier runs exactly
//! as in production. [`Tamper`] bends one ingredient at a time for negative
//! tests.
//!
//! ```
//! use latchkey_testkit::{SoftAuthenticator, Tamper};
//! use serde_json::json;
//!
//! let authn = SoftAuthenticator::new();
//! let creation = json!({
//!     "rp": {"id": "example.com", "name": "Example"},
//!     "user": {"id": "dXNlci0x", "name": "ada", "displayName": "Ada"},
//!     "challenge": "Y2hhbGxlbmdlLTE",
//!     "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
//! });
//! let registration = authn.register(&creation, "https://example.com").unwrap();
//! let request = json!({"challenge": "Y2hhbGxlbmdlLTI", "rpId": "example.com"});
//! let assertion = authn.authenticate(&request, "https://example.com").unwrap();
//! assert_eq!(registration["id"], assertion["id"]);
//!
//! // A negative test: same request, broken signature.
//! let bad = Tamper { corrupt_signature: true, ..Tamper::default() };
//! let _rejected_by_server = authn.authenticate_with(&request, "https://example.com", &bad).unwrap();
//! ```

mod authdata;
mod authenticator;
mod config;
mod error;
mod keys;
mod options;
mod tamper;

#[cfg(test)]
mod tests;

pub use authdata::{Flags, DEFAULT_AAGUID, FLAG_AT, FLAG_BE, FLAG_BS, FLAG_ED, FLAG_UP, FLAG_UV};
pub use authenticator::{response_credential_id, SoftAuthenticator};
pub use config::{Attestation, Config, CounterMode, Credential};
pub use error::{AuthenticatorError, ErrorKind, Result};
pub use keys::{Alg, CredentialKey};
pub use options::origin_host;
pub use tamper::Tamper;
