//! WebAuthn Level 3 relying-party verification: our own thin layer on
//! `ring` (signatures), `ciborium` (CBOR, COSE keys) and
//! `x509-parser` (attestation certificates). Pure functions: no storage, no
//! clock reads, no randomness. The ceremony modules (`registration`,
//! `authentication`) open with the numbered steps of the spec they implement.

pub mod json;

mod attestation;
mod auth_data;
mod authentication;
mod cbor;
mod client_data;
mod cose;
mod registration;
mod signature;

pub use attestation::{pem_to_der, vendor_roots};
pub use authentication::{
    verify_authentication, verify_sign_count, AssertionCheck, VerifiedAssertion,
};
pub use registration::{
    verify_registration, AttestationPolicy, AttestationType, RegistrationCheck,
    VerifiedRegistration,
};

/// COSE algorithm identifiers we offer, in order of preference.
pub const ALG_ES256: i64 = -7;
pub const ALG_EDDSA: i64 = -8;
pub const ALG_RS256: i64 = -257;
pub const OFFERED_ALGS: [i64; 3] = [ALG_ES256, ALG_EDDSA, ALG_RS256];
