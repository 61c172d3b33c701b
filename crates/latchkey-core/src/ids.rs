//! Prefixed id newtypes (`org_…`, `usr_…`). A prefix makes an id's kind
//! visible in logs and URLs, and parsing checks it so a user id can never be
//! passed where an org id is expected.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode, Result};
use crate::random;

macro_rules! prefixed_id {
    ($name:ident, $prefix:literal, $missing:ident) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn generate() -> Self {
                $name(format!("{}{}", $prefix, random::id_tail()))
            }

            /// A new id that sorts after those made earlier (see
            /// [`random::sortable_id_tail`]).
            pub fn generate_at(at: crate::clock::Timestamp) -> Self {
                $name(format!(
                    "{}{}",
                    $prefix,
                    random::sortable_id_tail(at.millis())
                ))
            }

            /// Accepts only ids with the right prefix and a sane tail.
            pub fn parse(s: &str) -> Result<Self> {
                let ok = s.len() <= 64
                    && s.strip_prefix($prefix).is_some_and(|t| {
                        !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    });
                if ok {
                    Ok($name(s.to_owned()))
                } else {
                    Err(Error::new(
                        ErrorCode::$missing,
                        format!(
                            "not a valid {} id: expected prefix {}",
                            stringify!($name),
                            $prefix
                        ),
                    ))
                }
            }

            /// Wraps a value read back from our own storage.
            pub fn from_stored(s: String) -> Self {
                $name(s)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

prefixed_id!(OrgId, "org_", OrgNotFound);
prefixed_id!(UserId, "usr_", UserNotFound);
prefixed_id!(CeremonyId, "cer_", CeremonyNotFound);
prefixed_id!(SessionId, "ses_", InvalidToken);
prefixed_id!(InvitationId, "inv_", InvitationInvalid);
prefixed_id!(AuditId, "aud_", NotFound);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_foreign_prefixes() {
        let org = OrgId::generate();
        assert_eq!(OrgId::parse(org.as_str()).ok(), Some(org.clone()));
        assert!(UserId::parse(org.as_str()).is_err());
        assert!(OrgId::parse("org_").is_err());
        assert!(OrgId::parse("org_a/b").is_err());
    }
}
