//! The one domain error. Every failure the product reports carries a stable
//! snake_case code (clients branch on it) and a class that the HTTP layer maps
//! to a status in exactly one place. Messages are for humans and never carry
//! internals: storage and crypto failures become `internal` with the detail
//! logged, not returned.

use std::fmt;

/// How a failure is classified; the HTTP layer maps each class to one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    Gone,
    PayloadTooLarge,
    TooManyRequests,
    Unavailable,
    Internal,
}

macro_rules! error_codes {
    ($($variant:ident => ($code:literal, $class:ident)),* $(,)?) => {
        /// The closed list of stable error codes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $($variant),* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code),* }
            }

            pub fn class(self) -> ErrorClass {
                match self { $(ErrorCode::$variant => ErrorClass::$class),* }
            }
        }
    };
}

error_codes! {
    // Request shape
    InvalidRequest => ("invalid_request", BadRequest),
    InvalidJson => ("invalid_json", BadRequest),
    InvalidBase64 => ("invalid_base64", BadRequest),
    PayloadTooLarge => ("payload_too_large", PayloadTooLarge),
    UnsupportedMediaType => ("unsupported_media_type", BadRequest),
    // Tenancy and identity
    OrgNotFound => ("org_not_found", NotFound),
    UserNotFound => ("user_not_found", NotFound),
    UsernameTaken => ("username_taken", Conflict),
    UserSuspended => ("user_suspended", Forbidden),
    PasskeysInactive => ("passkeys_inactive", Forbidden),
    RegistrationClosed => ("registration_closed", Forbidden),
    InvitationInvalid => ("invitation_invalid", Unauthorized),
    InvitationExpired => ("invitation_expired", Gone),
    InvitationAlreadyUsed => ("invitation_already_used", Conflict),
    // Ceremonies
    CeremonyNotFound => ("ceremony_not_found", NotFound),
    CeremonyExpired => ("ceremony_expired", Gone),
    CeremonyAlreadyUsed => ("ceremony_already_used", Conflict),
    CeremonyPurposeMismatch => ("ceremony_purpose_mismatch", BadRequest),
    RateLimited => ("rate_limited", TooManyRequests),
    // WebAuthn verification (client data)
    MalformedClientData => ("malformed_client_data", BadRequest),
    TypeMismatch => ("type_mismatch", BadRequest),
    ChallengeMismatch => ("challenge_mismatch", BadRequest),
    OriginMismatch => ("origin_mismatch", BadRequest),
    CrossOriginNotAllowed => ("cross_origin_not_allowed", BadRequest),
    TokenBindingUnsupported => ("token_binding_unsupported", BadRequest),
    // WebAuthn verification (authenticator data and keys)
    MalformedAuthenticatorData => ("malformed_authenticator_data", BadRequest),
    MalformedAttestationObject => ("malformed_attestation_object", BadRequest),
    RpIdMismatch => ("rp_id_mismatch", BadRequest),
    UserPresenceRequired => ("user_presence_required", BadRequest),
    UserVerificationRequired => ("user_verification_required", BadRequest),
    InvalidBackupFlags => ("invalid_backup_flags", BadRequest),
    RawIdMismatch => ("raw_id_mismatch", BadRequest),
    InvalidPublicKey => ("invalid_public_key", BadRequest),
    UnsupportedAlgorithm => ("unsupported_algorithm", BadRequest),
    BadSignature => ("bad_signature", BadRequest),
    // Attestation
    UnsupportedAttestationFormat => ("unsupported_attestation_format", BadRequest),
    InvalidAttestationStatement => ("invalid_attestation_statement", BadRequest),
    UntrustedCertificateChain => ("untrusted_certificate_chain", BadRequest),
    AaguidMismatch => ("aaguid_mismatch", BadRequest),
    AuthenticatorNotAllowed => ("authenticator_not_allowed", Forbidden),
    AttestationRequired => ("attestation_required", BadRequest),
    // Credentials
    CredentialAlreadyRegistered => ("credential_already_registered", Conflict),
    CredentialNotFound => ("credential_not_found", NotFound),
    CredentialNotAllowed => ("credential_not_allowed", BadRequest),
    CredentialUserMismatch => ("credential_user_mismatch", BadRequest),
    UserHandleMismatch => ("user_handle_mismatch", BadRequest),
    SignCountRegression => ("sign_count_regression", Forbidden),
    CredentialPossiblyCloned => ("credential_possibly_cloned", Forbidden),
    LastCredential => ("last_credential", Conflict),
    // Tokens and sessions
    Unauthenticated => ("unauthenticated", Unauthorized),
    InvalidToken => ("invalid_token", Unauthorized),
    TokenExpired => ("token_expired", Unauthorized),
    SessionRevoked => ("session_revoked", Unauthorized),
    WrongOrganization => ("wrong_organization", Forbidden),
    Forbidden => ("forbidden", Forbidden),
    // Routing and server
    NotFound => ("not_found", NotFound),
    MethodNotAllowed => ("method_not_allowed", BadRequest),
    ServiceUnavailable => ("service_unavailable", Unavailable),
    Internal => ("internal", Internal),
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure with its stable code and a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
        }
    }

    /// An internal failure: the detail is logged here and never returned.
    pub fn internal(detail: impl fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Error::new(ErrorCode::Internal, "internal error")
    }

    pub fn class(&self) -> ErrorClass {
        self.code.class()
    }
}

/// Shorthand for `Err(Error::new(code, message))`.
pub fn fail<T>(code: ErrorCode, message: impl Into<String>) -> Result<T> {
    Err(Error::new(code, message))
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn error_codes_are_unique_snake_case() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{s}"
            );
        }
    }
}
