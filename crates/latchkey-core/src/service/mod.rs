//! The product's use cases, one verb per step (`register_init` /
//! `register_complete`, `challenge` / `verify`, ...). Each takes the org as a
//! required argument, reads `now` once from the clock, calls the verifier and
//! hands the store one commit. HTTP handlers call exactly one of these.

mod assertion;
mod authentication;
mod cache;
mod credentials;
mod invitations;
mod keys;
mod options;
mod orgs;
mod registration;
mod sessions;
mod views;

use std::sync::Arc;

pub use authentication::{ChallengeInput, TokenGrant, TokenType};
pub use invitations::InvitationView;
pub use keys::SigningKeyView;
pub use orgs::{CreatedInvitation, CreatedOrg, NewInvitation, NewOrg};
pub use registration::{RegisterAuth, RegisterInit};
pub use views::{AuthenticatorView, CredentialView, OrgView, UserView};

use crate::clock::{Clock, Timestamp};
use crate::error::{Error, ErrorCode, Result};
use crate::ids::{OrgId, SessionId, UserId};
use crate::keys::{KeyRing, MasterKey};
use crate::model::{Org, Role};
use crate::sealed::CeremonySeal;
use crate::store::Store;
use crate::webauthn::AttestationPolicy;

/// Settings of the core that are not per-organisation.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// The public base URL (`iss` of tokens, base of enrolment links).
    pub public_url: String,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            public_url: "http://localhost:8080".into(),
        }
    }
}

/// The start of a ceremony: its id and the options for `navigator.credentials`.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CeremonyStart {
    pub ceremony_id: String,
    pub public_key: serde_json::Value,
}

/// An authenticated caller, established from a session token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub role: Role,
    pub session_id: SessionId,
}

impl Principal {
    pub fn require_admin(&self) -> Result<()> {
        if self.role.is_admin() {
            Ok(())
        } else {
            Err(Error::new(
                ErrorCode::Forbidden,
                "this needs an organisation admin",
            ))
        }
    }
}

/// The core service, shared by every request.
pub struct Latchkey {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    keys: KeyRing,
    /// Seals ceremonies into their ids (see [`crate::sealed`]).
    seal: CeremonySeal,
    config: CoreConfig,
    /// Vendor roots for attestation formats; per-org policy is layered on top.
    vendor_roots: AttestationPolicy,
    orgs: cache::OrgCache,
}

impl Latchkey {
    pub async fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        master_key: MasterKey,
        config: CoreConfig,
    ) -> Result<Self> {
        let salt = store.ceremony_salt(&crate::random::bytes::<32>()).await?;
        let seal = CeremonySeal::new(&master_key, &salt)?;
        let keys = KeyRing::load(store.as_ref(), master_key, clock.now()).await?;
        let vendor_roots = AttestationPolicy::with_vendor_roots();
        Ok(Latchkey {
            store,
            clock,
            keys,
            seal,
            config,
            vendor_roots,
            orgs: cache::OrgCache::default(),
        })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn config(&self) -> &CoreConfig {
        &self.config
    }

    pub fn jwks(&self) -> serde_json::Value {
        self.keys.jwks()
    }

    async fn org(&self, id: &OrgId) -> Result<Arc<Org>> {
        let now = self.now();
        if let Some(org) = self.orgs.get(id, now) {
            return Ok(org);
        }
        let org = Arc::new(
            self.store
                .get_org(id)
                .await?
                .ok_or_else(|| Error::new(ErrorCode::OrgNotFound, "no such organisation"))?,
        );
        self.orgs.put(&org, now);
        Ok(org)
    }

    /// The organisation's public view.
    pub async fn get_org(&self, id: &OrgId) -> Result<OrgView> {
        Ok(OrgView::from(&*self.org(id).await?))
    }
}
