//! Token-signing keys as operators and the janitor see them: rotation (a new
//! key signs from now on; the old ones stay in the JWKS until their tokens
//! have expired), the periodic refresh every node runs so it picks up a
//! rotation made elsewhere, and the listing. Key material itself lives in
//! `crate::keys`; this module only orchestrates it.

use serde::Serialize;

use super::Latchkey;
use crate::error::Result;
use crate::keys;
use crate::model::SigningKeyRecord;

/// A signing key without its private half.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningKeyView {
    pub kid: String,
    pub alg: String,
    pub created_at: String,
    pub retired_at: Option<String>,
    /// Whether this key signs new tokens.
    pub active: bool,
}

impl SigningKeyView {
    fn new(record: &SigningKeyRecord, active: bool) -> Self {
        SigningKeyView {
            kid: record.kid.clone(),
            alg: record.alg.clone(),
            created_at: record.created_at.to_rfc3339(),
            retired_at: record.retired_at.map(|t| t.to_rfc3339()),
            active,
        }
    }
}

impl Latchkey {
    /// Generates a new signing key and retires the previous one. Tokens
    /// already issued keep verifying; other nodes switch at their next
    /// refresh (or at once, when they meet a token signed by the new key).
    pub async fn rotate_signing_key(&self) -> Result<SigningKeyView> {
        let fresh = self.keys.rotate(self.store.as_ref(), self.now()).await?;
        Ok(SigningKeyView::new(&fresh, true))
    }

    /// Re-reads the signing keys from the store; the serve janitor calls this
    /// periodically so every node signs with the newest key and publishes
    /// every live one.
    pub async fn refresh_keys(&self) -> Result<()> {
        self.keys.refresh(self.store.as_ref(), self.now()).await
    }

    /// Every stored signing key, oldest first, marking the one that signs.
    pub async fn signing_keys(&self) -> Result<Vec<SigningKeyView>> {
        let records = self.store.list_signing_keys().await?;
        let active = keys::signer(&records).map(|r| r.kid.clone());
        Ok(records
            .iter()
            .map(|r| SigningKeyView::new(r, active.as_deref() == Some(r.kid.as_str())))
            .collect())
    }
}
