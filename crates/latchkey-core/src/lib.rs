//! Latchkey's domain core: organisations, users, passkey ceremonies, WebAuthn
//! verification, tokens and the storage traits. It knows nothing of HTTP or
//! SQL; time comes from a [`clock::Clock`] and randomness from [`random`].

pub mod audit;
pub mod clock;
pub mod error;
pub mod ids;
pub mod model;
pub mod random;
pub mod store;
pub mod webauthn;

pub use error::{Error, ErrorCode, Result};
pub mod aaguid;
pub mod challenge;
pub mod keys;
pub mod sealed;
pub mod service;
pub mod tokens;

pub use service::{CoreConfig, Latchkey, Principal};
