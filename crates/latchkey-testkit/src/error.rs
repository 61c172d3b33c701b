//! The authenticator's one error type. Its kinds mirror the `DOMException`
//! names a browser would reject `navigator.credentials.create()/.get()` with,
//! so a test can assert "the authenticator refused" the way a front end would
//! see it. Deliberately small and dependency-free: this is test code.

use std::fmt;

/// Why the software authenticator (or the client half of it) refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The options were malformed (missing challenge, bad base64url, ...): a `TypeError` in a browser.
    BadOptions,
    /// An excluded credential is already present on this authenticator.
    InvalidState,
    /// None of the requested algorithms is supported.
    NotSupported,
    /// No usable credential for this request (`NotAllowedError`).
    NotAllowed,
}

impl ErrorKind {
    /// The `DOMException` / JS error name a browser would report.
    pub fn dom_name(self) -> &'static str {
        match self {
            ErrorKind::BadOptions => "TypeError",
            ErrorKind::InvalidState => "InvalidStateError",
            ErrorKind::NotSupported => "NotSupportedError",
            ErrorKind::NotAllowed => "NotAllowedError",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatorError {
    pub kind: ErrorKind,
    pub message: String,
}

impl AuthenticatorError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        AuthenticatorError {
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn bad_options(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadOptions, message)
    }
}

impl fmt::Display for AuthenticatorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.dom_name(), self.message)
    }
}

impl std::error::Error for AuthenticatorError {}

pub type Result<T> = std::result::Result<T, AuthenticatorError>;
