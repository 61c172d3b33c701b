//! WebAuthn conformance corpus: written by the verifier work.
